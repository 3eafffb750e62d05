//! Unit tests of the reconcile use case over the in-memory ports.

use std::collections::BTreeSet;

use super::*;
use crate::adapters::memory::{
    MemoryAllowlist, MemoryAudit, MemoryConnections, MemoryMetrics, MemoryOrganization,
};
use crate::domain::allowlist::UnmatchedAction;
use crate::domain::decision::Connection;
use crate::domain::trigger::TriggerKind;
use crate::domain::{AccountId, ConnectionState};
use crate::tables::{RawItem, RawValue};

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
    organization: MemoryOrganization,
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

    /// Services numbered `numbers`, each with a pending connection of the allowed `A[0]` and
    /// one of `A[1]`, which no rule names.
    fn each_with_an_allowed_and_an_unknown_pending(
        numbers: std::ops::Range<u32>,
    ) -> (Self, Vec<ServiceId>) {
        let w = Self::default();
        w.rule("*", A[0], "allow");
        let services: Vec<ServiceId> = numbers.map(svc).collect();
        for (k, s) in services.iter().enumerate() {
            let n = 2 * k as u32;
            w.connect(s, A[0], n, PendingAcceptance);
            w.connect(s, A[1], n + 1, PendingAcceptance);
        }
        (w, services)
    }

    /// A well-formed rule.
    fn rule(&self, pk: &str, sk: &str, effect: &str) {
        self.allowlist
            .add(&[("pk", pk), ("sk", sk), ("effect", effect)]);
    }

    /// A reconciler over this world's ports.
    fn reconciler<'a>(
        &'a self,
        settings: &'a ReconcileSettings,
        start_waves_until: Option<std::time::Instant>,
    ) -> Reconciler<
        'a,
        MemoryConnections,
        MemoryAllowlist,
        MemoryAudit,
        MemoryMetrics,
        MemoryOrganization,
    > {
        Reconciler {
            connections: &self.connections,
            organization: &self.organization,
            allowlist: &self.allowlist,
            audit: &self.audit,
            metrics: &self.metrics,
            settings,
            start_waves_until,
        }
    }

    async fn run(&self, settings: &ReconcileSettings, trigger: &Trigger) -> ReconcileSummary {
        self.reconciler(settings, None).run(trigger, NOW).await
    }

    async fn sweep(&self, governed: &[&ServiceId], trigger_dry_run: bool) -> ReconcileSummary {
        let settings = ReconcileSettings {
            governed: Governed::These(governed.iter().map(|s| (*s).clone()).collect()),
            defaults: ServicePolicy::default(),
            audit_retention_days: 30,
        };
        let trigger = Trigger {
            kind: TriggerKind::Schedule,
            services: ServiceSelection::AllGoverned,
            dry_run: trigger_dry_run,
        };
        self.run(&settings, &trigger).await
    }

    fn state(&self, endpoint: &EndpointId) -> ConnectionState {
        self.connections.state_of(endpoint).unwrap()
    }
}

fn sorted(ids: &[EndpointId]) -> Vec<EndpointId> {
    ids.iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn raw(pairs: &[(&str, RawValue)]) -> RawItem {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn s(v: &str) -> RawValue {
    RawValue::S(v.to_owned())
}

use ConnectionState::{Available, PendingAcceptance, Rejected};

#[tokio::test]
async fn the_issue_scenario_batches_one_accept_and_one_reject() {
    let w = World::default();
    let s = svc(1);
    w.rule(s.as_str(), A[0], "allow");
    w.rule("*", A[1], "allow");
    w.rule("*", A[2], "deny");
    w.rule(s.as_str(), A[2], "allow");
    w.allowlist.add(&[
        ("pk", s.as_str()),
        ("sk", A[3]),
        ("effect", "allow"),
        ("expires_at", "1700000000"),
    ]);
    let owners = [0, 0, 1, 1, 2, 3, 3];
    let ids: Vec<_> = owners
        .iter()
        .enumerate()
        .map(|(i, o)| w.connect(&s, A[*o], i as u32, PendingAcceptance))
        .collect();

    let summary = w.sweep(&[&s], false).await;
    assert_eq!(sorted(&summary.accepted), sorted(&ids[..4]));
    assert_eq!(sorted(&summary.rejected), sorted(&ids[4..]));
    assert_eq!(w.connections.calls_of("AcceptVpcEndpointConnections"), 1);
    assert_eq!(w.connections.calls_of("RejectVpcEndpointConnections"), 1);
    assert_eq!(w.audit.decisions().len(), 7);
    let outcomes = w.audit.outcomes();
    assert_eq!(outcomes.len(), 7);
    assert!(outcomes.iter().all(|o| o.outcome == Outcome::Changed));
    assert_eq!(w.metrics.value("ConnectionsAccepted", &s), 4.0);
    assert_eq!(w.metrics.value("ConnectionsRejected", &s), 3.0);
    assert_eq!(
        w.metrics.published.lock().unwrap().len(),
        1,
        "one PutMetricData per invocation"
    );
    assert!(summary.errors.is_empty());
    assert_eq!(
        *w.allowlist.loads.lock().unwrap(),
        1,
        "the allowlist is read once"
    );
    assert_eq!(
        *w.audit.appends.lock().unwrap(),
        2,
        "decisions, then outcomes"
    );

    // Again: nothing is pending, so nothing is called, written or published.
    let again = w.sweep(&[&s], false).await;
    assert!(again.accepted.is_empty() && again.rejected.is_empty());
    assert_eq!(w.connections.calls_of("AcceptVpcEndpointConnections"), 1);
    assert_eq!(*w.audit.appends.lock().unwrap(), 2);
    assert_eq!(w.metrics.published.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn batches_are_bounded_by_the_batch_size() {
    let w = World::default();
    let s = svc(2);
    w.rule(s.as_str(), A[0], "allow");
    for i in 0..250 {
        w.connect(&s, A[i % 2], i as u32, PendingAcceptance);
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
async fn an_allowlist_read_failure_decides_nothing_anywhere() {
    let w = World::default();
    let (a, b) = (svc(3), svc(4));
    w.rule("*", "*", "allow");
    let first = w.connect(&a, A[0], 1, PendingAcceptance);
    let second = w.connect(&b, A[0], 2, PendingAcceptance);
    *w.allowlist.failing.lock().unwrap() = true;
    let summary = w.sweep(&[&a, &b], false).await;
    assert_eq!(w.state(&first), PendingAcceptance);
    assert_eq!(w.state(&second), PendingAcceptance);
    assert_eq!(summary.services_reconciled, 0);
    assert_eq!(summary.errors.len(), 1, "{:?}", summary.errors);
    assert!(summary.errors[0].message.contains("Scan"));
    assert_eq!(w.connections.calls_of("DescribeVpcEndpointConnections"), 0);
    assert_eq!(w.metrics.total("DecisionErrors"), 1.0);
}

#[tokio::test]
async fn a_connections_listing_failure_decides_nothing_anywhere() {
    let w = World::default();
    let (broken, fine) = (svc(3), svc(4));
    w.rule("*", "*", "allow");
    let first = w.connect(&broken, A[0], 1, PendingAcceptance);
    let second = w.connect(&fine, A[0], 2, PendingAcceptance);
    w.connections
        .failing
        .lock()
        .unwrap()
        .push(("DescribeVpcEndpointConnections", Some(broken.clone())));
    let summary = w.sweep(&[&broken, &fine], false).await;
    assert_eq!(w.state(&first), PendingAcceptance);
    assert_eq!(w.state(&second), PendingAcceptance);
    assert_eq!(summary.services_reconciled, 0);
    assert_eq!(summary.errors.len(), 1);
    assert_eq!(w.metrics.total("DecisionErrors"), 1.0);
    assert_eq!(w.audit.decisions().len(), 0);
}

/// Every service of the account governed, and the schedule's sweep of them all.
fn schedule_of_every_service() -> (ReconcileSettings, Trigger) {
    let settings = ReconcileSettings {
        governed: Governed::All,
        defaults: ServicePolicy::default(),
        audit_retention_days: 30,
    };
    let trigger = Trigger {
        kind: TriggerKind::Schedule,
        services: ServiceSelection::AllGoverned,
        dry_run: false,
    };
    (settings, trigger)
}

#[tokio::test]
async fn a_sweep_with_nothing_to_decide_costs_two_calls_whatever_the_number_of_services() {
    for services in [5u32, 200] {
        let w = World::default();
        w.rule("*", "*", "allow");
        let ids: Vec<ServiceId> = (0..services).map(svc).collect();
        *w.connections.services.lock().unwrap() = ids.clone();
        for s in &ids {
            w.connect(s, A[0], 1, Available);
        }
        let (settings, trigger) = schedule_of_every_service();
        let summary = w.run(&settings, &trigger).await;
        assert!(summary.errors.is_empty() && summary.decisions.is_empty());
        let calls = w.connections.calls.lock().unwrap().clone();
        assert_eq!(calls, [("DescribeVpcEndpointConnections", 0)], "{services}");
        assert_eq!(*w.allowlist.loads.lock().unwrap(), 1);
        assert!(w.metrics.published.lock().unwrap().is_empty());
        // One pending connection: its service alone is decided; still one listing.
        let pending = w.connect(&ids[3], A[0], 2, PendingAcceptance);
        let summary = w.run(&settings, &trigger).await;
        assert_eq!(summary.accepted, [pending]);
        assert_eq!(summary.services_reconciled, 1);
        assert_eq!(w.connections.calls_of("DescribeVpcEndpointConnections"), 2);
        assert_eq!(w.connections.calls_of("AcceptVpcEndpointConnections"), 1);
    }
}

#[tokio::test]
async fn a_failed_accept_is_an_error_with_an_outcome_record_and_the_retry_keeps_the_first_decision()
{
    let w = World::default();
    let s = svc(6);
    w.rule("*", "*", "allow");
    let a = w.connect(&s, A[0], 1, PendingAcceptance);
    w.connections
        .failing
        .lock()
        .unwrap()
        .push(("AcceptVpcEndpointConnections", Some(s.clone())));
    let summary = w.sweep(&[&s], false).await;
    assert!(summary.accepted.is_empty());
    assert_eq!(summary.errors.len(), 1);
    assert_eq!(summary.errors[0].endpoint_id.as_ref(), Some(&a));
    assert_eq!(w.state(&a), PendingAcceptance);
    assert!(matches!(
        &summary.decisions[0].outcome,
        Some(Outcome::Failed { code, .. }) if code == "InjectedFailure"
    ));
    let [decision] = &w.audit.decisions()[..] else {
        panic!("one decision record")
    };
    assert_eq!(decision.decided_at, NOW);
    let [failed] = &w.audit.outcomes()[..] else {
        panic!("one outcome record")
    };
    assert!(matches!(&failed.outcome, Outcome::Failed { code, .. } if code == "InjectedFailure"));
}

#[tokio::test]
async fn a_retried_decision_keeps_its_first_record_and_adds_the_new_answer() {
    let w = World::default();
    let s = svc(6);
    w.rule("*", "*", "allow");
    let a = w.connect(&s, A[0], 1, PendingAcceptance);
    w.connections
        .failing
        .lock()
        .unwrap()
        .push(("AcceptVpcEndpointConnections", Some(s.clone())));
    w.sweep(&[&s], false).await;
    w.connections.failing.lock().unwrap().clear();
    let settings = ReconcileSettings {
        governed: Governed::These(BTreeSet::from([s.clone()])),
        defaults: ServicePolicy::default(),
        audit_retention_days: 30,
    };
    let later = w.reconciler(&settings, None);
    let trigger = Trigger {
        kind: TriggerKind::Sns,
        services: ServiceSelection::AllGoverned,
        dry_run: false,
    };
    let retried = later.run(&trigger, NOW + 300).await;
    assert_eq!(retried.accepted, std::slice::from_ref(&a));
    let decisions = w.audit.decisions();
    assert_eq!(decisions.len(), 1, "no second decision record");
    assert_eq!(
        decisions[0].decided_at, NOW,
        "the first record's time stands"
    );
    assert_eq!(decisions[0].trigger, TriggerKind::Schedule);
    let answers: BTreeSet<String> = w
        .audit
        .outcomes()
        .iter()
        .map(|o| o.outcome.to_string())
        .collect();
    assert_eq!(
        answers,
        BTreeSet::from(["changed".to_owned(), "failed: InjectedFailure".to_owned()])
    );
}

#[tokio::test]
async fn an_audit_failure_changes_nothing_for_that_service() {
    let w = World::default();
    let s = svc(14);
    w.rule("*", A[0], "allow");
    let a = w.connect(&s, A[0], 1, PendingAcceptance);
    let b = w.connect(&s, A[1], 2, PendingAcceptance);
    *w.audit.failing.lock().unwrap() = true;
    let summary = w.sweep(&[&s], false).await;
    assert!(summary.accepted.is_empty() && summary.rejected.is_empty());
    assert_eq!(summary.errors.len(), 1);
    assert!(
        summary.errors[0].message.contains("TransactWriteItems"),
        "{:?}",
        summary.errors
    );
    assert_eq!(
        w.connections.calls_of("AcceptVpcEndpointConnections")
            + w.connections.calls_of("RejectVpcEndpointConnections"),
        0
    );
    assert_eq!(w.state(&a), PendingAcceptance);
    assert_eq!(w.state(&b), PendingAcceptance);
}

#[tokio::test]
async fn the_records_of_many_services_go_in_few_appends_and_one_failing_service_holds_only_itself()
{
    // 30 services, 2 decisions each (one accept, one reject): 60 decision records and 60
    // outcome records, one append each.
    let (w, services) = World::each_with_an_allowed_and_an_unknown_pending(100..130);
    let governed: Vec<&ServiceId> = services.iter().collect();
    let summary = w.sweep(&governed, false).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!((summary.accepted.len(), summary.rejected.len()), (30, 30));
    assert_eq!(
        *w.audit.appends.lock().unwrap(),
        2,
        "decisions, then outcomes"
    );
    assert_eq!(w.audit.decisions().len(), 60);
    assert_eq!(w.audit.outcomes().len(), 60);

    // 60 services: 120 records, two groups each way. One service's records cannot be written:
    // its group is tried service by service, and only that service is held.
    let (w, services) = World::each_with_an_allowed_and_an_unknown_pending(200..260);
    let bad = services[7].clone();
    *w.audit.failing_for.lock().unwrap() = Some(bad.clone());
    let governed: Vec<&ServiceId> = services.iter().collect();
    let summary = w.sweep(&governed, false).await;
    assert_eq!(summary.errors.len(), 1, "{:?}", summary.errors);
    assert_eq!(summary.errors[0].service_id.as_ref(), Some(&bad));
    assert_eq!(summary.services_reconciled, 59);
    assert_eq!((summary.accepted.len(), summary.rejected.len()), (59, 59));
    for conn in w.connections.connections.lock().unwrap().iter() {
        let expected = if conn.service == bad {
            PendingAcceptance
        } else if conn.owner.as_str() == A[0] {
            Available
        } else {
            Rejected
        };
        assert_eq!(conn.state, expected, "{conn:?}");
    }
    assert!(w.audit.decisions().iter().all(|d| d.service_id != bad));
    // Decisions: 2 groups, the first (50 services) again one by one; outcomes: 2 groups.
    assert_eq!(*w.audit.appends.lock().unwrap(), 2 + 50 + 2);
    assert_eq!(
        w.connections.calls_of("AcceptVpcEndpointConnections"),
        59,
        "nothing carried out for the held service"
    );
}

#[tokio::test]
async fn past_the_deadline_no_wave_starts_and_the_services_are_left_to_the_next_sweep() {
    let w = World::default();
    w.rule("*", A[0], "allow");
    let decided = svc(300);
    let accepted = w.connect(&decided, A[0], 1, PendingAcceptance);
    let rejected = w.connect(&decided, A[1], 2, PendingAcceptance);
    let (settings, trigger) = schedule_of_every_service();
    let reconciler = |until| w.reconciler(&settings, until);
    // The deadline has passed: nothing is written or changed, the service is reported deferred.
    let late = reconciler(Some(std::time::Instant::now()))
        .run(&trigger, NOW)
        .await;
    assert_eq!(late.deferred, std::slice::from_ref(&decided));
    assert_eq!(late.services_reconciled, 0);
    assert!(late.accepted.is_empty() && late.rejected.is_empty() && late.errors.is_empty());
    assert_eq!(*w.audit.appends.lock().unwrap(), 0);
    assert_eq!(w.connections.calls_of("AcceptVpcEndpointConnections"), 0);
    assert_eq!(w.state(&accepted), PendingAcceptance);
    assert_eq!(w.state(&rejected), PendingAcceptance);
    // The next sweep, in time, decides them.
    let next = reconciler(Some(
        std::time::Instant::now() + std::time::Duration::from_secs(3_600),
    ))
    .run(&trigger, NOW + 300)
    .await;
    assert!(next.deferred.is_empty());
    assert_eq!(
        (next.accepted, next.rejected),
        (vec![accepted.clone()], vec![rejected.clone()])
    );
    assert_eq!(w.state(&accepted), Available);
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
    let pending = w.connect(&s, A[3], 1, PendingAcceptance);
    let summary = w.sweep(&[&s], false).await;
    assert_eq!(summary.left_pending, std::slice::from_ref(&pending));
    assert_eq!(w.state(&pending), PendingAcceptance);
    assert_eq!(w.connections.calls_of("RejectVpcEndpointConnections"), 0);
    assert!(w.audit.records.lock().unwrap().is_empty());
    assert_eq!(w.metrics.value("ConnectionsLeftPending", &s), 1.0);
}

/// The reported cases, each in a service of its own, and a plainly allowed connection in the
/// same sweep: only the plain one is accepted; the held ones stay pending, reported with the
/// item that held them, counted and alarmed on; a well-formed deny still rejects.
#[tokio::test]
async fn malformed_items_hold_what_they_might_match_and_the_rest_is_decided() {
    let w = World::default();
    let [
        capitalised,
        string_expiry,
        dry_run_string,
        milliseconds,
        plain,
    ] = [21, 22, 23, 24, 25].map(svc);
    // `Effect: deny` with no `effect`: an allow for everyone else on that service.
    w.allowlist.add_raw(raw(&[
        ("pk", s(capitalised.as_str())),
        ("sk", s(A[0])),
        ("Effect", s("deny")),
    ]));
    w.rule(capitalised.as_str(), "*", "allow");
    // A deny whose `expires_at` is a string, under a `*` allow.
    w.allowlist.add_raw(raw(&[
        ("pk", s(string_expiry.as_str())),
        ("sk", s(A[0])),
        ("effect", s("deny")),
        ("expires_at", s("1900000000")),
    ]));
    w.rule(string_expiry.as_str(), "*", "allow");
    // A policy asking for a dry run with a string.
    w.allowlist.add_raw(raw(&[
        ("pk", s(dry_run_string.as_str())),
        ("sk", s("#policy")),
        ("dry_run", s("true")),
    ]));
    w.rule(dry_run_string.as_str(), "*", "allow");
    w.rule(dry_run_string.as_str(), A[1], "deny");
    // An allow that expired, in milliseconds.
    w.allowlist.add_raw(raw(&[
        ("pk", s(milliseconds.as_str())),
        ("sk", s(A[0])),
        ("effect", s("allow")),
        ("expires_at", RawValue::N("1700000000000".into())),
    ]));
    w.rule(plain.as_str(), A[0], "allow");
    // A well-formed deny on the first service for A[1]: it still rejects.
    w.rule(capitalised.as_str(), A[1], "deny");

    let held = [
        w.connect(&capitalised, A[0], 1, PendingAcceptance),
        w.connect(&string_expiry, A[0], 2, PendingAcceptance),
        w.connect(&dry_run_string, A[0], 3, PendingAcceptance),
        w.connect(&dry_run_string, A[1], 4, PendingAcceptance),
        w.connect(&milliseconds, A[0], 5, PendingAcceptance),
    ];
    let denied = w.connect(&capitalised, A[1], 6, PendingAcceptance);
    let allowed_elsewhere = w.connect(&string_expiry, A[2], 7, PendingAcceptance);
    let accepted = w.connect(&plain, A[0], 8, PendingAcceptance);
    let governed = [
        &capitalised,
        &string_expiry,
        &dry_run_string,
        &milliseconds,
        &plain,
    ];
    let summary = w.sweep(&governed, false).await;

    for id in &held {
        assert_eq!(w.state(id), PendingAcceptance, "{id} should be held");
        assert!(
            summary.held.iter().any(|h| &h.endpoint_id == id),
            "{id} should be reported held: {:?}",
            summary.held
        );
    }
    assert_eq!(w.state(&denied), ConnectionState::Rejected);
    assert_eq!(
        w.state(&allowed_elsewhere),
        Available,
        "the string-expiry deny names A[0] only"
    );
    assert_eq!(w.state(&accepted), Available);
    assert_eq!(summary.invalid_allowlist_items, 4);
    let by_policy = summary
        .held
        .iter()
        .find(|h| h.endpoint_id == held[3])
        .unwrap();
    assert_eq!(by_policy.held_by.sk, "#policy");
    assert!(by_policy.problem.contains("`dry_run` must be a boolean"));
    assert_eq!(w.metrics.total("ConnectionsHeld"), 5.0);
    assert_eq!(w.metrics.total("InvalidAllowlistItems"), 4.0);
    assert!(
        w.audit
            .decisions()
            .iter()
            .all(|d| [&denied, &allowed_elsewhere, &accepted].contains(&&d.endpoint_id)),
        "held connections are not audited: nothing changed"
    );
}

#[tokio::test]
async fn dry_run_changes_nothing_but_audits_and_reports() {
    let w = World::default();
    let s = svc(8);
    w.rule("*", A[0], "allow");
    let allowed = w.connect(&s, A[0], 1, PendingAcceptance);
    let other = w.connect(&s, A[1], 2, PendingAcceptance);
    let summary = w.sweep(&[&s], true).await;
    assert!(summary.dry_run);
    assert_eq!(summary.accepted, std::slice::from_ref(&allowed));
    assert_eq!(summary.rejected, [other]);
    assert_eq!(
        w.connections.calls_of("AcceptVpcEndpointConnections")
            + w.connections.calls_of("RejectVpcEndpointConnections"),
        0
    );
    assert_eq!(w.state(&allowed), PendingAcceptance);
    let decisions = w.audit.decisions();
    assert_eq!(decisions.len(), 2);
    assert!(decisions.iter().all(|r| r.dry_run));
    assert!(w.audit.outcomes().is_empty(), "nothing was called");
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
    w.allowlist.add_raw(raw(&[
        ("pk", RawValue::S(s.to_string())),
        ("sk", RawValue::S("#policy".into())),
        ("revoke", RawValue::Bool(true)),
    ]));
    w.rule(s.as_str(), A[1], "allow");
    let gone = w.connect(&s, A[0], 1, Available);
    let kept = w.connect(&s, A[1], 2, Available);
    let summary = w.sweep(&[&s], false).await;
    assert_eq!(summary.revoked, [gone]);
    assert_eq!(w.state(&kept), Available);
    assert_eq!(w.metrics.value("ConnectionsRevoked", &s), 1.0);
    assert_eq!(
        w.audit
            .decisions()
            .iter()
            .map(|r| r.decision)
            .collect::<Vec<_>>(),
        [Action::Revoke]
    );
}

#[tokio::test]
async fn a_malformed_item_never_lets_an_established_connection_be_revoked() {
    let w = World::default();
    let service = svc(15);
    w.allowlist.add_raw(raw(&[
        ("pk", s(service.as_str())),
        ("sk", s("#policy")),
        ("revoke", RawValue::Bool(true)),
    ]));
    // A hand-written item for A[0] that may have been an allow.
    w.allowlist.add_raw(raw(&[
        ("pk", s(service.as_str())),
        ("sk", s(A[0])),
        ("effect", s("Allow")),
    ]));
    let held = w.connect(&service, A[0], 1, Available);
    let gone = w.connect(&service, A[1], 2, Available);
    let summary = w.sweep(&[&service], false).await;
    assert_eq!(w.state(&held), Available);
    assert_eq!(summary.revoked, [gone]);
    assert_eq!(summary.held.len(), 1);
}

#[tokio::test]
async fn a_metrics_failure_is_reported_and_does_not_undo_decisions() {
    let w = World::default();
    let s = svc(10);
    w.rule("*", A[0], "allow");
    let e = w.connect(&s, A[0], 1, PendingAcceptance);
    *w.metrics.failing.lock().unwrap() = true;
    let summary = w.sweep(&[&s], false).await;
    assert_eq!(summary.accepted, std::slice::from_ref(&e));
    assert_eq!(w.state(&e), Available);
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
    let pending = w.connect(&foreign, A[0], 1, PendingAcceptance);
    let settings = ReconcileSettings {
        governed: Governed::These(BTreeSet::from([governed.clone()])),
        defaults: ServicePolicy {
            unmatched: UnmatchedAction::Reject,
            revoke: false,
            dry_run: false,
        },
        audit_retention_days: 30,
    };
    let trigger = Trigger {
        kind: TriggerKind::Direct,
        services: ServiceSelection::These(BTreeSet::from([foreign.clone()])),
        dry_run: false,
    };
    let summary = w.run(&settings, &trigger).await;
    assert_eq!(summary.ignored_services, [foreign]);
    assert_eq!(w.state(&pending), PendingAcceptance);
    assert_eq!(
        *w.allowlist.loads.lock().unwrap(),
        0,
        "nothing to decide: nothing read"
    );
}

#[tokio::test]
async fn an_operator_run_names_the_operator_in_its_records() {
    let w = World::default();
    let s = svc(16);
    w.rule("*", A[0], "allow");
    w.connect(&s, A[0], 1, PendingAcceptance);
    let settings = ReconcileSettings {
        governed: Governed::All,
        defaults: ServicePolicy::default(),
        audit_retention_days: 30,
    };
    let who = "arn:aws:sts::111122223333:assumed-role/ops/alice";
    let trigger = Trigger {
        kind: TriggerKind::Operator(who.into()),
        services: ServiceSelection::These(BTreeSet::from([s])),
        dry_run: false,
    };
    w.run(&settings, &trigger).await;
    let decisions = w.audit.decisions();
    assert_eq!(decisions[0].trigger, TriggerKind::Operator(who.into()));
    assert_eq!(decisions[0].trigger.to_string(), format!("operator:{who}"));
}

#[path = "reconcile_props.rs"]
mod props;

#[tokio::test]
async fn ou_rules_read_each_owners_place_once_and_an_unreadable_place_holds() {
    use crate::domain::organization::Place;
    use crate::domain::{OrgUnitId, OrganizationId};
    let w = World::default();
    let (s1, s2) = (svc(1), svc(2));
    let unit = "ou-ab12-cdefgh34";
    w.rule("*", unit, "allow");
    w.rule("*", A[2], "deny");
    w.organization.places.lock().unwrap().insert(
        AccountId::parse(A[0]).unwrap(),
        Place::Known {
            organization: Some(OrganizationId::parse("o-abcdef1234").unwrap()),
            units: vec![OrgUnitId::parse(unit).unwrap()],
        },
    );
    let inside = [
        w.connect(&s1, A[0], 1, PendingAcceptance),
        w.connect(&s2, A[0], 2, PendingAcceptance),
    ];
    let outside = w.connect(&s1, A[1], 3, PendingAcceptance);
    let denied = w.connect(&s2, A[2], 4, PendingAcceptance);
    let summary = w.sweep(&[&s1, &s2], false).await;
    assert_eq!(sorted(&summary.accepted), sorted(&inside));
    assert_eq!(sorted(&summary.rejected), sorted(&[outside, denied]));
    // Each owner looked up once, though A[0] has connections to two services (the deny of
    // A[2] decides without it... but the OU allow applies to every service, so A[2] is read too).
    let mut looked_up = w.organization.lookups.lock().unwrap().clone();
    looked_up.sort();
    assert_eq!(looked_up.len(), 3, "{looked_up:?}");
    looked_up.dedup();
    assert_eq!(looked_up.len(), 3);

    // The reader fails: what the OU rule might decide is held, never rejected or accepted.
    *w.organization.failing.lock().unwrap() = true;
    let pending = w.connect(&s1, A[3], 5, PendingAcceptance);
    let summary = w.sweep(&[&s1], false).await;
    assert!(summary.accepted.is_empty() && summary.rejected.is_empty());
    assert_eq!(summary.held.len(), 1);
    assert_eq!(summary.held[0].endpoint_id, pending);
    assert_eq!(summary.held[0].held_by.sk, unit);
    assert!(
        summary.held[0].problem.contains("ListParents"),
        "{}",
        summary.held[0].problem
    );
    assert_eq!(w.state(&pending), PendingAcceptance);
    assert_eq!(w.metrics.total("ConnectionsHeld"), 1.0);
}

#[tokio::test]
async fn without_organization_rules_no_place_is_read() {
    let w = World::default();
    let s = svc(1);
    w.rule("*", A[0], "allow");
    w.connect(&s, A[0], 1, PendingAcceptance);
    w.connect(&s, A[1], 2, PendingAcceptance);
    let summary = w.sweep(&[&s], false).await;
    assert_eq!((summary.accepted.len(), summary.rejected.len()), (1, 1));
    assert!(w.organization.lookups.lock().unwrap().is_empty());
}
