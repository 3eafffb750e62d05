//! Pure, synchronous, AWS-free domain code.

pub mod allowlist;
pub mod audit;
pub mod connection_state;
pub mod cost;
pub mod decision;
pub mod findings;
pub mod hour;
pub mod ids;
pub mod inventory;
pub mod metrics;
pub mod organization;
pub mod price_list;
pub mod pricing;
pub mod publishing;
pub mod trigger;

pub use connection_state::ConnectionState;
pub use ids::{AccountId, EndpointId, IdError, OrgUnitId, OrganizationId, ServiceId};
