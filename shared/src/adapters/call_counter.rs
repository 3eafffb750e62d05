//! Counts the AWS calls a client makes, per operation, from inside the SDK.
//!
//! Added to a client as an interceptor, it counts each attempt sent over the wire
//! (a retried call counts once per attempt: every attempt is billed and throttled).
//! Functions log the counts per invocation; tests and benchmarks assert on them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls so far, keyed `service:Operation` (e.g. `ec2:AcceptVpcEndpointConnections`).
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().expect("call counter lock").clone()
    }

    /// Calls of one operation, by its name alone.
    pub fn count(&self, operation: &str) -> u64 {
        self.snapshot()
            .iter()
            .filter(|(key, _)| key.rsplit(':').next() == Some(operation))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    pub fn reset(&self) {
        self.counts.lock().expect("call counter lock").clear();
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = cfg.load::<Metadata>().map_or_else(
            || "unknown:unknown".to_owned(),
            |m| format!("{}:{}", m.service().to_ascii_lowercase(), m.name()),
        );
        *self
            .counts
            .lock()
            .expect("call counter lock")
            .entry(key)
            .or_default() += 1;
        Ok(())
    }
}
