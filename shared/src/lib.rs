//! PrivateLink Governor's library: the pure domain, the ports it needs from the
//! outside world, the AWS SDK adapters that implement them, and the use cases.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod ports;
pub mod usecases;
