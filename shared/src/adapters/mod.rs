//! Adapters: one per outside system, over the AWS SDK, plus in-memory ones for unit tests.
//! The DynamoDB tables have theirs in `tables`, beside the item formats they own.

pub mod call_counter;
mod clients;
pub mod clock;
pub mod cloudwatch;
pub mod ec2;
pub mod memory;
mod sdk_error;

pub use call_counter::CallCounter;
pub use clients::CountedClients;
pub use clock::epoch_now;
pub use cloudwatch::{CloudWatchMetrics, CloudWatchUsage};
pub use ec2::{Ec2Connections, Ec2Endpoints};
pub(crate) use sdk_error::port_error;
