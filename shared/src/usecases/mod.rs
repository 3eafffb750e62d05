//! Use cases: domain decisions carried out through the ports.

pub mod cost;
pub mod findings;
pub mod rates;
pub mod reconcile;
pub mod service_findings;
