//! Reconcile: decide every pending (and, with revocation, established) connection of
//! each service a trigger names, carry the decisions out in batches, audit and count.
//!
//! Fail closed: an error reading a service's rules or connections decides nothing for
//! that service; an Accept that fails or lists an id as `Unsuccessful` is reported, never
//! assumed. Decisions are audited *before* they are carried out, and a service whose audit
//! records cannot be written changes nothing: no connection changes without a record. The
//! record's key is the connection and the decision, so the retry a later sweep makes after a
//! failed call writes the same record again, never a second one. Errors of one service do
//! not stop the others; the next sweep retries.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::domain::allowlist::{RawItem, ServicePolicy, ServiceRules, WILDCARD};
use crate::domain::audit::AuditRecord;
use crate::domain::decision::{Action, Connection, Decision, decide};
use crate::domain::metrics::{MetricPoint, Unit};
use crate::domain::trigger::{ServiceSelection, Trigger};
use crate::domain::{ConnectionState, EndpointId, ServiceId};
use crate::ports::{AllowlistStore, AuditLog, Connections, Metrics, PortError, Unsuccessful};

/// Endpoint ids per Accept or Reject call. AWS documents no maximum; this stays well
/// inside any plausible one while keeping 1,000 connections to ten calls.
pub const MAX_IDS_PER_CALL: usize = 100;

/// Which services this deployment governs (`GOVERNED_SERVICES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Governed {
    All,
    These(BTreeSet<ServiceId>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileSettings {
    pub governed: Governed,
    /// `UNMATCHED_ACTION` and `DRY_RUN`, under every service's own policy item.
    pub defaults: ServicePolicy,
    pub audit_retention_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionEntry {
    pub service_id: String,
    pub endpoint_id: String,
    pub owner: String,
    pub state: String,
    pub decision: Action,
    pub reason: String,
    pub dry_run: bool,
}

/// The function result (design.md, "Function results").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileSummary {
    pub services_reconciled: usize,
    pub accepted: Vec<String>,
    pub rejected: Vec<String>,
    pub left_pending: Vec<String>,
    pub revoked: Vec<String>,
    pub errors: Vec<ErrorEntry>,
    pub dry_run: bool,
    pub invalid_allowlist_items: usize,
    /// Services the trigger named that this deployment does not govern: left alone.
    pub ignored_services: Vec<String>,
    pub decisions: Vec<DecisionEntry>,
}

/// Per-service counts behind the metrics.
#[derive(Debug, Default)]
struct Counts {
    accepted: usize,
    rejected: usize,
    left_pending: usize,
    revoked: usize,
    errors: usize,
    invalid_items: usize,
    dry_run: bool,
}

pub struct Reconciler<'a, C, A, L, M> {
    pub connections: &'a C,
    pub allowlist: &'a A,
    pub audit: &'a L,
    pub metrics: &'a M,
    pub settings: &'a ReconcileSettings,
}

impl<C: Connections, A: AllowlistStore, L: AuditLog, M: Metrics> Reconciler<'_, C, A, L, M> {
    /// Reconciles what `trigger` names at epoch second `now`.
    pub async fn run(&self, trigger: &Trigger, now: i64) -> ReconcileSummary {
        let mut summary = ReconcileSummary {
            dry_run: self.settings.defaults.dry_run || trigger.dry_run,
            ..Default::default()
        };
        let services = match self.services_for(trigger, &mut summary).await {
            Ok(services) => services,
            Err(err) => {
                summary
                    .errors
                    .push(error_entry(None, None, err.to_string()));
                self.publish(&[], 1, now, &mut summary).await;
                return summary;
            }
        };
        // The `*` rules apply to every service: read once per invocation.
        let wildcard = if services.is_empty() {
            Ok(Vec::new())
        } else {
            self.allowlist.items(WILDCARD).await
        };
        let mut per_service = Vec::new();
        for service in &services {
            let mut counts = Counts::default();
            match self
                .reconcile_service(service, &wildcard, trigger, now, &mut counts, &mut summary)
                .await
            {
                Ok(()) => summary.services_reconciled += 1,
                Err(err) => {
                    tracing::error!(service = %service, error = %err, "service not reconciled; nothing decided for it");
                    counts.errors += 1;
                    summary
                        .errors
                        .push(error_entry(Some(service), None, err.to_string()));
                }
            }
            per_service.push((service.clone(), counts));
        }
        let mut points: Vec<MetricPoint> = per_service
            .iter()
            .flat_map(|(service, counts)| service_points(service, counts, now))
            .collect();
        // Totals without dimensions, for alarms and the dashboard (dry runs excluded).
        let mut totals = Counts::default();
        for (_, c) in per_service.iter().filter(|(_, c)| !c.dry_run) {
            totals.accepted += c.accepted;
            totals.rejected += c.rejected;
            totals.left_pending += c.left_pending;
            totals.revoked += c.revoked;
            totals.errors += c.errors;
            totals.invalid_items += c.invalid_items;
        }
        points.extend(count_points(&totals, &[], now));
        self.publish(&points, 0, now, &mut summary).await;
        summary
    }

    async fn services_for(
        &self,
        trigger: &Trigger,
        summary: &mut ReconcileSummary,
    ) -> Result<Vec<ServiceId>, PortError> {
        Ok(match (&trigger.services, &self.settings.governed) {
            (ServiceSelection::AllGoverned, Governed::All) => {
                self.connections.list_services().await?
            }
            (ServiceSelection::AllGoverned, Governed::These(governed)) => {
                governed.iter().cloned().collect()
            }
            (ServiceSelection::These(named), Governed::All) => named.iter().cloned().collect(),
            (ServiceSelection::These(named), Governed::These(governed)) => {
                for ignored in named.difference(governed) {
                    tracing::warn!(service = %ignored, "trigger names a service that is not governed; left alone");
                    summary.ignored_services.push(ignored.to_string());
                }
                named.intersection(governed).cloned().collect()
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn reconcile_service(
        &self,
        service: &ServiceId,
        wildcard: &Result<Vec<RawItem>, PortError>,
        trigger: &Trigger,
        now: i64,
        counts: &mut Counts,
        summary: &mut ReconcileSummary,
    ) -> Result<(), PortError> {
        let wildcard = wildcard.as_ref().map_err(Clone::clone)?;
        let own = self.allowlist.items(service.as_str()).await?;
        let rules = ServiceRules::from_items(service, own.iter().chain(wildcard.iter()));
        for invalid in &rules.invalid {
            tracing::warn!(service = %service, error = %invalid, "invalid allowlist item skipped");
        }
        counts.invalid_items = rules.invalid.len();
        summary.invalid_allowlist_items += rules.invalid.len();
        let mut defaults = self.settings.defaults;
        defaults.dry_run |= trigger.dry_run;
        let policy = ServicePolicy::resolve(rules.policy.as_ref(), defaults);
        counts.dry_run = policy.dry_run;

        let mut states = vec![ConnectionState::PendingAcceptance];
        if policy.revoke {
            states.push(ConnectionState::Available);
        }
        let listed = self.connections.connections(service, &states).await?;
        for malformed in &listed.malformed {
            counts.errors += 1;
            summary
                .errors
                .push(error_entry(Some(service), None, malformed.clone()));
        }

        let mut to_accept = Vec::new();
        let mut to_reject = Vec::new();
        let mut decided = Vec::new();
        for conn in &listed.connections {
            let decision = decide(conn, &rules.rules, &policy, now);
            tracing::info!(
                service = %conn.service, endpoint = %conn.endpoint, owner = %conn.owner, state = %conn.state,
                decision = %decision.action, reason = %decision.reason, dry_run = policy.dry_run, trigger = trigger.kind.as_str(),
                "decision"
            );
            match decision.action {
                Action::Accept | Action::Reject | Action::Revoke => decided.push((conn, decision)),
                Action::Leave => {
                    counts.left_pending += 1;
                    summary.left_pending.push(conn.endpoint.to_string());
                    summary
                        .decisions
                        .push(decision_entry(conn, &decision, policy.dry_run));
                }
                Action::Keep => {}
            }
        }
        if decided.is_empty() {
            return Ok(());
        }
        // The record first: if it cannot be written, nothing is carried out.
        let records: Vec<AuditRecord> = decided
            .iter()
            .map(|(conn, decision)| {
                AuditRecord::new(
                    conn,
                    decision,
                    trigger.kind,
                    policy.dry_run,
                    now,
                    self.settings.audit_retention_days,
                )
            })
            .collect();
        self.audit.write(&records).await.inspect_err(|err| {
            tracing::error!(service = %service, error = %err, decisions = records.len(), "audit records not written; nothing carried out");
        })?;
        for (conn, decision) in decided {
            summary
                .decisions
                .push(decision_entry(conn, &decision, policy.dry_run));
            if decision.action == Action::Accept {
                to_accept.push((conn, decision));
            } else {
                to_reject.push((conn, decision));
            }
        }

        let accepted = self
            .carry_out(service, &to_accept, policy.dry_run, true, counts, summary)
            .await;
        let rejected = self
            .carry_out(service, &to_reject, policy.dry_run, false, counts, summary)
            .await;
        for (conn, decision) in accepted.into_iter().chain(rejected) {
            let (count, list) = match decision.action {
                Action::Accept => (&mut counts.accepted, &mut summary.accepted),
                Action::Revoke => (&mut counts.revoked, &mut summary.revoked),
                _ => (&mut counts.rejected, &mut summary.rejected),
            };
            *count += 1;
            list.push(conn.endpoint.to_string());
        }
        Ok(())
    }

    /// Accepts (or rejects) the decided connections in batches; returns those that took effect
    /// (all of them in a dry run, where nothing is called).
    async fn carry_out<'d>(
        &self,
        service: &ServiceId,
        decided: &'d [(&'d Connection, Decision)],
        dry_run: bool,
        accept: bool,
        counts: &mut Counts,
        summary: &mut ReconcileSummary,
    ) -> Vec<(&'d Connection, &'d Decision)> {
        if dry_run {
            return decided.iter().map(|(c, d)| (*c, d)).collect();
        }
        let mut done = Vec::new();
        for batch in decided.chunks(MAX_IDS_PER_CALL) {
            let ids: Vec<EndpointId> = batch.iter().map(|(c, _)| c.endpoint.clone()).collect();
            let result = if accept {
                self.connections.accept(service, &ids).await
            } else {
                self.connections.reject(service, &ids).await
            };
            let failed: Vec<Unsuccessful> = match result {
                Ok(unsuccessful) => unsuccessful,
                Err(err) => {
                    tracing::error!(service = %service, error = %err, endpoints = ids.len(), "batch not carried out");
                    ids.iter()
                        .map(|id| Unsuccessful {
                            endpoint: id.to_string(),
                            code: "CallFailed".into(),
                            message: err.to_string(),
                        })
                        .collect()
                }
            };
            for f in &failed {
                tracing::error!(service = %service, endpoint = %f.endpoint, code = %f.code, message = %f.message, "unsuccessful");
                counts.errors += 1;
                summary.errors.push(ErrorEntry {
                    service_id: Some(service.to_string()),
                    endpoint_id: Some(f.endpoint.clone()),
                    message: format!("{}: {}", f.code, f.message),
                });
            }
            let failed_ids: BTreeSet<&str> = failed.iter().map(|f| f.endpoint.as_str()).collect();
            done.extend(
                batch
                    .iter()
                    .filter(|(c, _)| !failed_ids.contains(c.endpoint.as_str()))
                    .map(|(c, d)| (*c, d)),
            );
        }
        done
    }

    /// One PutMetricData for the whole invocation (the adapter splits past 1,000 points).
    async fn publish(
        &self,
        points: &[MetricPoint],
        extra_errors: usize,
        now: i64,
        summary: &mut ReconcileSummary,
    ) {
        let mut points = points.to_vec();
        if extra_errors > 0 {
            points.push(MetricPoint {
                name: "DecisionErrors",
                dimensions: vec![],
                value: extra_errors as f64,
                unit: Unit::Count,
                timestamp: now,
            });
        }
        if points.is_empty() {
            return; // nothing happened: no call, no cost
        }
        if let Err(err) = self.metrics.publish(&points).await {
            tracing::error!(error = %err, "decision metrics not published");
            summary
                .errors
                .push(error_entry(None, None, format!("metrics: {err}")));
        }
    }
}

fn decision_entry(conn: &Connection, decision: &Decision, dry_run: bool) -> DecisionEntry {
    DecisionEntry {
        service_id: conn.service.to_string(),
        endpoint_id: conn.endpoint.to_string(),
        owner: conn.owner.to_string(),
        state: conn.state.to_string(),
        decision: decision.action,
        reason: decision.reason.to_string(),
        dry_run,
    }
}

fn error_entry(service: Option<&ServiceId>, endpoint: Option<&str>, message: String) -> ErrorEntry {
    ErrorEntry {
        service_id: service.map(ToString::to_string),
        endpoint_id: endpoint.map(str::to_owned),
        message,
    }
}

/// The non-zero counts of a service. Zero is not published: CloudWatch reads a missing
/// value as no data, and every call and data point costs money.
fn service_points(service: &ServiceId, counts: &Counts, now: i64) -> Vec<MetricPoint> {
    let mut dimensions = vec![("ServiceId", service.to_string())];
    if counts.dry_run {
        dimensions.push(("DryRun", "true".to_owned()));
    }
    count_points(counts, &dimensions, now)
}

fn count_points(
    counts: &Counts,
    dimensions: &[(&'static str, String)],
    now: i64,
) -> Vec<MetricPoint> {
    [
        ("ConnectionsAccepted", counts.accepted),
        ("ConnectionsRejected", counts.rejected),
        ("ConnectionsLeftPending", counts.left_pending),
        ("ConnectionsRevoked", counts.revoked),
        ("DecisionErrors", counts.errors),
        ("InvalidAllowlistItems", counts.invalid_items),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(name, n)| MetricPoint {
        name,
        dimensions: dimensions.to_vec(),
        value: n as f64,
        unit: Unit::Count,
        timestamp: now,
    })
    .collect()
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
