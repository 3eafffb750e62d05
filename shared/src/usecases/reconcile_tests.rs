//! Unit tests of the reconcile use case over the in-memory ports.

use std::collections::BTreeSet;

use super::*;
use crate::adapters::memory::{MemoryAllowlist, MemoryAudit, MemoryConnections, MemoryMetrics};
use crate::domain::allowlist::UnmatchedAction;
use crate::domain::decision::Connection;
use crate::domain::trigger::TriggerKind;
use crate::domain::{AccountId, ConnectionState};

const NOW: i64 = 1_800_000_000;
const A: [&str; 4] = [
    "111111111111",
    "222222222222",
    "333333333333",
    "444444444444",
];

fn svc(n: u32) -> ServiceId {
    ServiceId::parse(&format!("vpce-svc-{n:04x}")).unwrap()
}

#[derive(Default)]
struct World {
    connections: MemoryConnections,
    allowlist: MemoryAllowlist,
    audit: MemoryAudit,
    metrics: MemoryMetrics,
}

impl World {
    fn connect(
        &self,
        service: &ServiceId,
        owner: &str,
        n: u32,
        state: ConnectionState,
    ) -> EndpointId {
        let endpoint =
            EndpointId::parse(&format!("vpce-{}{n:04x}", &service.as_str()[9..])).unwrap();
        self.connections
            .connections
            .lock()
            .unwrap()
            .push(Connection {
                service: service.clone(),
                endpoint: endpoint.clone(),
                owner: AccountId::parse(owner).unwrap(),
                state,
            });
        endpoint
    }

    async fn sweep(&self, governed: &[&ServiceId], trigger_dry_run: bool) -> ReconcileSummary {
        let settings = ReconcileSettings {
            governed: Governed::These(governed.iter().map(|s| (*s).clone()).collect()),
            defaults: ServicePolicy::default(),
            audit_retention_days: 30,
        };
        let reconciler = Reconciler {
            connections: &self.connections,
            allowlist: &self.allowlist,
            audit: &self.audit,
            metrics: &self.metrics,
            settings: &settings,
        };
        let trigger = Trigger {
            kind: TriggerKind::Schedule,
            services: ServiceSelection::AllGoverned,
            dry_run: trigger_dry_run,
        };
        reconciler.run(&trigger, NOW).await
    }
}

fn sorted(ids: &[String]) -> Vec<String> {
    ids.iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[tokio::test]
async fn the_issue_scenario_batches_one_accept_and_one_reject() {
    let w = World::default();
    let s = svc(1);
    w.allowlist.add(&[("pk", s.as_str()), ("sk", A[0])]);
    w.allowlist.add(&[("pk", "*"), ("sk", A[1])]);
    w.allowlist
        .add(&[("pk", "*"), ("sk", A[2]), ("effect", "deny")]);
    w.allowlist.add(&[("pk", s.as_str()), ("sk", A[2])]);
    w.allowlist.add(&[
        ("pk", s.as_str()),
        ("sk", A[3]),
        ("expires_at", "1700000000"),
    ]);
    let owners = [0, 0, 1, 1, 2, 3, 3];
    let ids: Vec<_> = owners
        .iter()
        .enumerate()
        .map(|(i, o)| w.connect(&s, A[*o], i as u32, ConnectionState::PendingAcceptance))
        .collect();

    let summary = w.sweep(&[&s], false).await;
    assert_eq!(
        sorted(&summary.accepted),
        sorted(&ids[..4].iter().map(ToString::to_string).collect::<Vec<_>>())
    );
    assert_eq!(
        sorted(&summary.rejected),
        sorted(&ids[4..].iter().map(ToString::to_string).collect::<Vec<_>>())
    );
    assert_eq!(w.connections.calls_of("AcceptVpcEndpointConnections"), 1);
    assert_eq!(w.connections.calls_of("RejectVpcEndpointConnections"), 1);
    assert_eq!(w.audit.records.lock().unwrap().len(), 7);
    assert_eq!(w.metrics.value("ConnectionsAccepted", &s), 4.0);
    assert_eq!(w.metrics.value("ConnectionsRejected", &s), 3.0);
    assert_eq!(
        w.metrics.published.lock().unwrap().len(),
        1,
        "one PutMetricData per invocation"
    );
    assert!(summary.errors.is_empty());

    // Again: nothing is pending, so nothing is called, written or published.
    let again = w.sweep(&[&s], false).await;
    assert!(again.accepted.is_empty() && again.rejected.is_empty());
    assert_eq!(w.connections.calls_of("AcceptVpcEndpointConnections"), 1);
    assert_eq!(*w.audit.writes.lock().unwrap(), 1);
    assert_eq!(w.metrics.published.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn batches_are_bounded_by_the_batch_size() {
    let w = World::default();
    let s = svc(2);
    w.allowlist.add(&[("pk", s.as_str()), ("sk", A[0])]);
    for i in 0..250 {
        w.connect(&s, A[i % 2], i as u32, ConnectionState::PendingAcceptance);
    }
    let summary = w.sweep(&[&s], false).await;
    assert_eq!((summary.accepted.len(), summary.rejected.len()), (125, 125));
    let calls = w.connections.calls.lock().unwrap().clone();
    let accept_sizes: Vec<usize> = calls
        .iter()
        .filter(|(op, _)| *op == "AcceptVpcEndpointConnections")
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(accept_sizes, [100, 25]);
}

#[tokio::test]
async fn an_allowlist_failure_leaves_that_service_untouched() {
    let w = World::default();
    let (broken, fine) = (svc(3), svc(4));
    w.allowlist.add(&[("pk", "*"), ("sk", "*")]);
    let untouched = w.connect(&broken, A[0], 1, ConnectionState::PendingAcceptance);
    let decided = w.connect(&fine, A[0], 2, ConnectionState::PendingAcceptance);
    w.allowlist
        .failing_partitions
        .lock()
        .unwrap()
        .insert(broken.to_string());
    let summary = w.sweep(&[&broken, &fine], false).await;
    assert_eq!(
        w.connections.state_of(&untouched),
        Some(ConnectionState::PendingAcceptance)
    );
    assert_eq!(
        w.connections.state_of(&decided),
        Some(ConnectionState::Available)
    );
    assert_eq!(summary.services_reconciled, 1);
    assert_eq!(summary.errors.len(), 1);
    assert_eq!(
        summary.errors[0].service_id.as_deref(),
        Some(broken.as_str())
    );
    assert_eq!(w.metrics.value("DecisionErrors", &broken), 1.0);
}

#[tokio::test]
async fn a_wildcard_read_failure_decides_nothing_anywhere() {
    let w = World::default();
    let s = svc(5);
    w.allowlist.add(&[("pk", s.as_str()), ("sk", A[0])]);
    let pending = w.connect(&s, A[0], 1, ConnectionState::PendingAcceptance);
    w.allowlist
        .failing_partitions
        .lock()
        .unwrap()
        .insert("*".into());
    let summary = w.sweep(&[&s], false).await;
    assert_eq!(
        w.connections.state_of(&pending),
        Some(ConnectionState::PendingAcceptance)
    );
    assert_eq!(summary.errors.len(), 1);
}

#[tokio::test]
async fn unsuccessful_and_failed_calls_are_errors_not_accepts() {
    let w = World::default();
    let s = svc(6);
    w.allowlist.add(&[("pk", "*"), ("sk", "*")]);
    let a = w.connect(&s, A[0], 1, ConnectionState::PendingAcceptance);
    w.connections
        .failing
        .lock()
        .unwrap()
        .push(("AcceptVpcEndpointConnections", Some(s.clone())));
    let summary = w.sweep(&[&s], false).await;
    assert!(summary.accepted.is_empty());
    assert_eq!(summary.errors.len(), 1);
    assert_eq!(summary.errors[0].endpoint_id.as_deref(), Some(a.as_str()));
    assert_eq!(
        w.connections.state_of(&a),
        Some(ConnectionState::PendingAcceptance)
    );
    // The decision was recorded before the call; the retry writes the same record again.
    assert_eq!(w.audit.records.lock().unwrap().len(), 1);
    w.connections.failing.lock().unwrap().clear();
    let retried = w.sweep(&[&s], false).await;
    assert_eq!(retried.accepted, [a.to_string()]);
    assert_eq!(w.audit.records.lock().unwrap().len(), 1, "no second record");
}

#[tokio::test]
async fn an_audit_failure_changes_nothing_for_that_service() {
    let w = World::default();
    let s = svc(14);
    w.allowlist.add(&[("pk", "*"), ("sk", A[0])]);
    let a = w.connect(&s, A[0], 1, ConnectionState::PendingAcceptance);
    let b = w.connect(&s, A[1], 2, ConnectionState::PendingAcceptance);
    *w.audit.failing.lock().unwrap() = true;
    let summary = w.sweep(&[&s], false).await;
    assert!(summary.accepted.is_empty() && summary.rejected.is_empty());
    assert_eq!(summary.errors.len(), 1);
    assert!(
        summary.errors[0].message.contains("BatchWriteItem"),
        "{:?}",
        summary.errors
    );
    assert_eq!(
        w.connections.calls_of("AcceptVpcEndpointConnections")
            + w.connections.calls_of("RejectVpcEndpointConnections"),
        0
    );
    assert_eq!(
        w.connections.state_of(&a),
        Some(ConnectionState::PendingAcceptance)
    );
    assert_eq!(
        w.connections.state_of(&b),
        Some(ConnectionState::PendingAcceptance)
    );
}

#[tokio::test]
async fn unmatched_leave_leaves_pending_without_a_call_or_record() {
    let w = World::default();
    let s = svc(7);
    w.allowlist.add(&[
        ("pk", s.as_str()),
        ("sk", "#policy"),
        ("unmatched", "leave"),
    ]);
    let pending = w.connect(&s, A[3], 1, ConnectionState::PendingAcceptance);
    let summary = w.sweep(&[&s], false).await;
    assert_eq!(summary.left_pending, [pending.to_string()]);
    assert_eq!(
        w.connections.state_of(&pending),
        Some(ConnectionState::PendingAcceptance)
    );
    assert_eq!(w.connections.calls_of("RejectVpcEndpointConnections"), 0);
    assert!(w.audit.records.lock().unwrap().is_empty());
    assert_eq!(w.metrics.value("ConnectionsLeftPending", &s), 1.0);
}

#[tokio::test]
async fn a_malformed_policy_item_is_skipped_and_the_safe_default_applies() {
    let w = World::default();
    let s = svc(13);
    // `revoke` must be a boolean: the whole item is skipped, so `leave` does not apply either.
    w.allowlist.add(&[
        ("pk", s.as_str()),
        ("sk", "#policy"),
        ("unmatched", "leave"),
        ("revoke", "yes"),
    ]);
    let pending = w.connect(&s, A[3], 1, ConnectionState::PendingAcceptance);
    let summary = w.sweep(&[&s], false).await;
    assert_eq!(summary.invalid_allowlist_items, 1);
    assert_eq!(summary.rejected, [pending.to_string()]);
    assert_eq!(w.metrics.value("InvalidAllowlistItems", &s), 1.0);
}

#[tokio::test]
async fn dry_run_changes_nothing_but_audits_and_reports() {
    let w = World::default();
    let s = svc(8);
    w.allowlist.add(&[("pk", "*"), ("sk", A[0])]);
    let allowed = w.connect(&s, A[0], 1, ConnectionState::PendingAcceptance);
    let other = w.connect(&s, A[1], 2, ConnectionState::PendingAcceptance);
    let summary = w.sweep(&[&s], true).await;
    assert!(summary.dry_run);
    assert_eq!(summary.accepted, [allowed.to_string()]);
    assert_eq!(summary.rejected, [other.to_string()]);
    assert_eq!(
        w.connections.calls_of("AcceptVpcEndpointConnections")
            + w.connections.calls_of("RejectVpcEndpointConnections"),
        0
    );
    assert_eq!(
        w.connections.state_of(&allowed),
        Some(ConnectionState::PendingAcceptance)
    );
    let records = w.audit.records.lock().unwrap();
    assert_eq!(records.len(), 2);
    assert!(records.values().all(|r| r.dry_run));
    assert_eq!(
        w.metrics.total("ConnectionsAccepted"),
        0.0,
        "dry runs stay out of the totals"
    );
}

#[tokio::test]
async fn revocation_rejects_established_connections_no_longer_allowed() {
    let w = World::default();
    let s = svc(9);
    let policy = crate::domain::allowlist::RawItem::from([
        (
            "pk".to_owned(),
            crate::domain::allowlist::RawValue::S(s.to_string()),
        ),
        (
            "sk".to_owned(),
            crate::domain::allowlist::RawValue::S("#policy".into()),
        ),
        (
            "revoke".to_owned(),
            crate::domain::allowlist::RawValue::Bool(true),
        ),
    ]);
    w.allowlist.items.lock().unwrap().push(policy);
    w.allowlist.add(&[("pk", s.as_str()), ("sk", A[1])]);
    let gone = w.connect(&s, A[0], 1, ConnectionState::Available);
    let kept = w.connect(&s, A[1], 2, ConnectionState::Available);
    let summary = w.sweep(&[&s], false).await;
    assert_eq!(summary.revoked, [gone.to_string()]);
    assert_eq!(
        w.connections.state_of(&kept),
        Some(ConnectionState::Available)
    );
    assert_eq!(w.metrics.value("ConnectionsRevoked", &s), 1.0);
    let records = w.audit.records.lock().unwrap();
    assert_eq!(
        records.values().map(|r| r.decision).collect::<Vec<_>>(),
        [Action::Revoke]
    );
}

#[tokio::test]
async fn a_metrics_failure_is_reported_and_does_not_undo_decisions() {
    let w = World::default();
    let s = svc(10);
    w.allowlist.add(&[("pk", "*"), ("sk", A[0])]);
    let e = w.connect(&s, A[0], 1, ConnectionState::PendingAcceptance);
    *w.metrics.failing.lock().unwrap() = true;
    let summary = w.sweep(&[&s], false).await;
    assert_eq!(summary.accepted, [e.to_string()]);
    assert_eq!(w.connections.state_of(&e), Some(ConnectionState::Available));
    assert!(
        summary
            .errors
            .iter()
            .any(|err| err.message.starts_with("metrics:"))
    );
}

#[tokio::test]
async fn services_not_governed_are_ignored() {
    let w = World::default();
    let (governed, foreign) = (svc(11), svc(12));
    let pending = w.connect(&foreign, A[0], 1, ConnectionState::PendingAcceptance);
    let settings = ReconcileSettings {
        governed: Governed::These(BTreeSet::from([governed.clone()])),
        defaults: ServicePolicy {
            unmatched: UnmatchedAction::Reject,
            revoke: false,
            dry_run: false,
        },
        audit_retention_days: 30,
    };
    let r = Reconciler {
        connections: &w.connections,
        allowlist: &w.allowlist,
        audit: &w.audit,
        metrics: &w.metrics,
        settings: &settings,
    };
    let trigger = Trigger {
        kind: TriggerKind::Direct,
        services: ServiceSelection::These(BTreeSet::from([foreign.clone()])),
        dry_run: false,
    };
    let summary = r.run(&trigger, NOW).await;
    assert_eq!(summary.ignored_services, [foreign.to_string()]);
    assert_eq!(
        w.connections.state_of(&pending),
        Some(ConnectionState::PendingAcceptance)
    );
}
