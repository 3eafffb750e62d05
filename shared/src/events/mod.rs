//! Trigger events in, typed requests out; the edge where the functions' input is checked.
//!
//! The envelopes AWS delivers (EventBridge, SNS) are read with `aws_lambda_events`' types, and
//! AWS may add fields to them. Our own shapes (the direct invoke, the `Endpoint Connection
//! Request` detail, the cost reporter's backfill) refuse any field they do not know: a misspelt
//! `dry_run` must not quietly run live. An event that cannot be read is an [`EventError`] that
//! names what was wrong; it is never retried and never decides anything.

mod approver;
mod cost;

pub use approver::{FindingsRequest, parse_findings_request, parse_trigger};
pub use cost::{CostRequest, parse_cost_event};

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Why an event was not understood: the field and the value, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid event: {0}")]
pub struct EventError(String);

impl EventError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message without the `invalid event: ` prefix.
    pub fn message(&self) -> &str {
        &self.0
    }
}

fn err<T>(message: impl Into<String>) -> Result<T, EventError> {
    Err(EventError::new(message))
}

/// Deserializes `value` as `T`, naming the path of the first field that does not fit.
fn read<T: DeserializeOwned>(value: &Value, what: &str) -> Result<T, EventError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            EventError::new(format!("{what}: {inner}"))
        } else {
            EventError::new(format!("{what}: `{path}`: {inner}"))
        }
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
