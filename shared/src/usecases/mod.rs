//! Use cases: domain decisions carried out through the ports.

pub mod cost;
pub mod reconcile;
