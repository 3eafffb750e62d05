//! The connection approver: any trigger in, the reconcile summary out.
//! `main.rs` only wires it up; tests drive `Approver::handle` directly.

use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use lambda_runtime::Diagnostic;
use plgov_shared::adapters::{
    CallCounter, CloudWatchMetrics, CountedClients, Ec2Connections, OrganizationsReader,
    SecurityHubFindings, dynamodb_for, securityhub_client,
};
use plgov_shared::config::ApproverConfig;
use plgov_shared::events::{EventError, FindingsRequest, parse_findings_request, parse_trigger};
use plgov_shared::tables::audit::Provider;
use plgov_shared::tables::{AllowlistTable, AuditTable};
use plgov_shared::usecases::findings::FindingsError;
use plgov_shared::usecases::reconcile::{ReconcileSummary, Reconciler};
use plgov_shared::usecases::service_findings::{ServiceFindings, ServiceFindingsSummary};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ApproverError {
    /// The event is not one of the trigger shapes: retrying it cannot help, so the stack sends
    /// it straight to the dead-letter queue (no retries of asynchronous invocations).
    #[error(transparent)]
    InvalidEvent(#[from] EventError),
    /// The findings run failed (an AWS call, or Security Hub required and not enabled).
    #[error(transparent)]
    Findings(#[from] FindingsError),
}

impl From<ApproverError> for Diagnostic {
    fn from(err: ApproverError) -> Self {
        let error_type = match &err {
            ApproverError::InvalidEvent(_) => "InvalidEvent",
            ApproverError::Findings(FindingsError::SecurityHubNotEnabled) => {
                "SecurityHubNotEnabled"
            }
            ApproverError::Findings(FindingsError::Port(e)) if e.retryable => "RetryableAwsError",
            ApproverError::Findings(FindingsError::Port(_)) => "AwsError",
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
    organization: OrganizationsReader,
    allowlist: AllowlistTable,
    audit: AuditTable,
    metrics: CloudWatchMetrics,
    hub: SecurityHubFindings,
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
            organization: OrganizationsReader::new(
                sdk,
                &calls,
                config.organizations_role.as_deref(),
            ),
            // A hub's tables by ARN, through their region's endpoint.
            allowlist: AllowlistTable::new(
                dynamodb_for(&dynamodb, &config.allowlist_table),
                &config.allowlist_table,
            ),
            audit: AuditTable::new(
                dynamodb_for(&dynamodb, &config.audit_table),
                &config.audit_table,
                Provider {
                    account: config.account_id.clone(),
                    region: sdk.region().map_or_else(String::new, ToString::to_string),
                },
            ),
            metrics: CloudWatchMetrics::new(cloudwatch, &config.metrics_namespace),
            hub: SecurityHubFindings::new(
                securityhub_client(sdk, &calls),
                config.account_id.clone(),
                sdk.region().map_or("us-east-1", |r| r.as_ref()),
            ),
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
        self.handle_until(event, now, None).await
    }

    /// Handles one event at epoch second `now`, starting no wave of decisions after `until`.
    pub async fn handle_until(
        &self,
        event: &Value,
        now: i64,
        until: Option<Instant>,
    ) -> Result<ReconcileSummary, ApproverError> {
        let trigger = parse_trigger(event)
            .inspect_err(|err| tracing::error!(error = %err, "event rejected"))?;
        let before = self.calls.snapshot();
        let reconciler = Reconciler {
            connections: &self.connections,
            organization: &self.organization,
            allowlist: &self.allowlist,
            audit: &self.audit,
            metrics: &self.metrics,
            settings: &self.config.reconcile,
            start_waves_until: until,
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

    /// The hourly findings run (`{"action": "findings", "time"?: …}`) at epoch second `now`.
    pub async fn findings(
        &self,
        request: FindingsRequest,
        now: i64,
    ) -> Result<ServiceFindingsSummary, ApproverError> {
        let run = ServiceFindings {
            connections: &self.connections,
            allowlist: &self.allowlist,
            hub: &self.hub,
            metrics: &self.metrics,
            reconcile: &self.config.reconcile,
            settings: &self.config.findings,
        };
        let summary = run
            .run(now, request.fired_at.unwrap_or(now))
            .await
            .inspect_err(|err| tracing::error!(error = %err, "findings not reported"))?;
        tracing::info!(services = summary.services, findings = summary.findings.findings.len(),
            security_hub = %summary.findings.security_hub, imported = summary.findings.imported,
            archived = summary.findings.archived, principal_changes = summary.principal_changes.len(),
            aws_calls = ?self.calls.snapshot(), "findings reported");
        Ok(summary)
    }

    /// Any event: the findings run for `{"action": "findings"}`, a reconcile otherwise.
    pub async fn respond(&self, event: &Value, now: i64) -> Result<Value, ApproverError> {
        self.respond_until(event, now, None).await
    }

    /// `respond`, a reconcile starting no wave of decisions after `until`.
    pub async fn respond_until(
        &self,
        event: &Value,
        now: i64,
        until: Option<Instant>,
    ) -> Result<Value, ApproverError> {
        let findings = parse_findings_request(event, now)
            .inspect_err(|err| tracing::error!(error = %err, "event rejected"))?;
        let result = match findings {
            Some(request) => serde_json::to_value(self.findings(request, now).await?),
            None => serde_json::to_value(self.handle_until(event, now, until).await?),
        };
        Ok(result.expect("summaries serialize"))
    }
}

/// The longest a wave of decisions takes: its two audit writes and its services' Accept and Reject
/// calls, throttled ones retried by the SDK with backoff.
pub const WAVE_TIME: Duration = Duration::from_secs(30);

/// The instant, `at` being epoch millisecond `now_ms`, after which no wave may start for it to end
/// before the invocation's deadline (epoch millisecond `deadline_ms`, from the Lambda context).
pub fn start_waves_until(deadline_ms: u64, now_ms: u64, at: Instant) -> Instant {
    at + Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(WAVE_TIME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waves_start_until_the_deadline_less_a_waves_time() {
        let at = Instant::now();
        let now_ms = 1_795_046_400_000;
        assert_eq!(
            start_waves_until(now_ms + 120_000, now_ms, at),
            at + Duration::from_secs(90)
        );
        // Less left than a wave takes: none starts.
        assert_eq!(start_waves_until(now_ms + 10_000, now_ms, at), at);
        assert_eq!(start_waves_until(now_ms - 1, now_ms, at), at);
    }
}
