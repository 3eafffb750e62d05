//! Harness for the integration tests: SDK configs for any account of the local AWS
//! emulator (via STS assume-role, as a real cross-account setup would), helpers that
//! build providers and consumers, and the emulator's control endpoints.
//!
//! Every test works in accounts of its own (`random_account`), so tests running in
//! parallel never see each other's services, endpoints, tables, metrics or faults.

mod accounts;
mod emulator;
mod endpoints;
mod provider;

pub use accounts::{config_for, credentials_env, random_account};
pub use emulator::{FlakyProxy, arm_fault, disarm_faults, emulator_url, http};
pub use endpoints::{
    cloudwatch_client, create_endpoint, create_endpoint_with, create_endpoints, create_service,
    create_service_with, ec2_client,
};
pub use provider::{ALLOWLIST_TABLE, AUDIT_TABLE, COST_TABLE, Provider, create_table};

pub const REGION: &str = "us-east-1";
