//! Adapters: one per outside system, over the AWS SDK, plus in-memory ones for unit tests.
//! The DynamoDB tables have theirs in `tables`, beside the item formats they own.

pub mod call_counter;
mod clients;
pub mod clock;
pub mod cloudwatch;
pub mod ec2;
pub mod memory;
pub mod organizations;
pub mod pricing;
mod sdk_error;
pub mod securityhub;

pub use call_counter::CallCounter;
pub use clients::{CountedClients, dynamodb_for, pricing_client, securityhub_client, table_region};
pub use clock::epoch_now;
pub use cloudwatch::{CloudWatchMetrics, CloudWatchUsage};
pub use ec2::{Ec2Connections, Ec2Endpoints};
pub use organizations::OrganizationsReader;
pub use pricing::PriceListApi;
pub use sdk_error::port_error;
pub use securityhub::SecurityHubFindings;
