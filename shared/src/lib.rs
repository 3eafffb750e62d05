//! PrivateLink Governor's library: the pure domain, the ports it needs from the
//! outside world, the AWS SDK adapters that implement them, the stored formats of its
//! tables, the events it reads, and the use cases.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod events;
pub mod ports;
pub mod tables;
pub mod usecases;
