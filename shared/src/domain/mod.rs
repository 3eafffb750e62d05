//! Pure, synchronous, AWS-free domain code.

pub mod connection_state;
pub mod ids;

pub use connection_state::ConnectionState;
pub use ids::{AccountId, EndpointId, IdError, ServiceId};
