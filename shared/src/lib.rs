//! PrivateLink Governor's library: the pure domain, the ports it needs from the
//! outside world, and the AWS SDK adapters that implement them.

pub mod adapters;
pub mod domain;
