//! Adapters: one per outside system, over the AWS SDK, plus in-memory ones for unit tests.

pub mod call_counter;
mod clients;
pub mod cloudwatch;
pub mod dynamodb;
pub mod ec2;
pub mod memory;
mod sdk_error;

pub use call_counter::CallCounter;
pub use clients::CountedClients;
pub use cloudwatch::{CloudWatchMetrics, CloudWatchUsage};
pub use dynamodb::{
    DynamoAllowlist, DynamoAllowlistAdmin, DynamoAudit, DynamoMonthToDate, Written,
};
pub use ec2::{Ec2Connections, Ec2Endpoints};
