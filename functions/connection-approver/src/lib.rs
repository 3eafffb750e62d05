//! The connection approver: any trigger in, the reconcile summary out.
//! `main.rs` only wires it up; tests drive `Approver::handle` directly.

use aws_config::SdkConfig;
use lambda_runtime::Diagnostic;
use plgov_shared::adapters::{CallCounter, CloudWatchMetrics, CountedClients, Ec2Connections};
use plgov_shared::config::ApproverConfig;
use plgov_shared::events::{EventError, parse_trigger};
use plgov_shared::tables::{AllowlistTable, AuditTable};
use plgov_shared::usecases::reconcile::{ReconcileSummary, Reconciler};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ApproverError {
    /// The event is not one of the trigger shapes: retrying it cannot help, so the stack sends
    /// it straight to the dead-letter queue (no retries of asynchronous invocations).
    #[error(transparent)]
    InvalidEvent(#[from] EventError),
}

impl From<ApproverError> for Diagnostic {
    fn from(err: ApproverError) -> Self {
        let error_type = match err {
            ApproverError::InvalidEvent(_) => "InvalidEvent",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: err.to_string(),
        }
    }
}

/// Clients and configuration, built once in the init phase.
pub struct Approver {
    config: ApproverConfig,
    connections: Ec2Connections,
    allowlist: AllowlistTable,
    audit: AuditTable,
    metrics: CloudWatchMetrics,
    calls: CallCounter,
}

impl Approver {
    pub fn new(sdk: &SdkConfig, config: ApproverConfig) -> Self {
        let calls = CallCounter::new();
        let CountedClients {
            ec2,
            dynamodb,
            cloudwatch,
        } = CountedClients::new(sdk, &calls);
        Self {
            connections: Ec2Connections::new(ec2),
            allowlist: AllowlistTable::new(dynamodb.clone(), &config.allowlist_table),
            audit: AuditTable::new(dynamodb, &config.audit_table),
            metrics: CloudWatchMetrics::new(cloudwatch, &config.metrics_namespace),
            config,
            calls,
        }
    }

    /// AWS calls made so far by this approver's clients, per `service:Operation`.
    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    /// Handles one event at epoch second `now`.
    pub async fn handle(&self, event: &Value, now: i64) -> Result<ReconcileSummary, ApproverError> {
        let trigger = parse_trigger(event)
            .inspect_err(|err| tracing::error!(error = %err, "event rejected"))?;
        let before = self.calls.snapshot();
        let reconciler = Reconciler {
            connections: &self.connections,
            allowlist: &self.allowlist,
            audit: &self.audit,
            metrics: &self.metrics,
            settings: &self.config.reconcile,
        };
        let summary = reconciler.run(&trigger, now).await;
        let calls: std::collections::BTreeMap<_, _> = self
            .calls
            .snapshot()
            .into_iter()
            .map(|(op, n)| {
                let earlier = before.get(&op).copied().unwrap_or(0);
                (op, n - earlier)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        tracing::info!(
            trigger = trigger.kind.name(),
            services = summary.services_reconciled,
            accepted = summary.accepted.len(),
            rejected = summary.rejected.len(),
            left_pending = summary.left_pending.len(),
            revoked = summary.revoked.len(),
            held = summary.held.len(),
            errors = summary.errors.len(),
            dry_run = summary.dry_run,
            aws_calls = ?calls,
            "reconciled"
        );
        Ok(summary)
    }
}
