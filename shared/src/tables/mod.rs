//! The stored formats of the stack's DynamoDB tables, one owner each: the module that reads
//! a table's items also writes them, and nothing outside this folder builds or reads their
//! attribute maps (the functions, `plgov` and the tests all go through it).
//!
//! - [`allowlist`]: rules and service policies, strict (an unknown attribute, a wrong type or
//!   spelling makes an item malformed, and a malformed item holds what it might have matched);
//! - [`audit`]: append-only decision and outcome records (conditional puts only);
//! - [`cost`]: what the cost reporter keeps between runs;
//! - [`pool`]: an organization's GB per account, region and hour (a hub's cost pool).
//!
//! Items are decoded from [`RawItem`]s, a small AWS-free picture of an attribute map, so the
//! same decoder serves the DynamoDB adapters and the in-memory stores of the unit tests.

pub mod allowlist;
pub mod audit;
pub mod cost;
mod dynamo;
pub mod pool;

use std::collections::BTreeMap;

pub use allowlist::AllowlistTable;
pub use audit::AuditTable;
pub use cost::CostTable;
pub use pool::CostPool;

/// One attribute value, reduced to what the schemas check.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    S(String),
    N(String),
    Bool(bool),
    /// Any other DynamoDB type, by its type name (e.g. "L", "M", "NULL").
    Other(&'static str),
}

impl RawValue {
    /// The DynamoDB type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            RawValue::S(_) => "S",
            RawValue::N(_) => "N",
            RawValue::Bool(_) => "BOOL",
            RawValue::Other(t) => t,
        }
    }
}

/// An item: attribute name to value.
pub type RawItem = BTreeMap<String, RawValue>;
