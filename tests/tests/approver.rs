//! The connection approver against the local emulator: SDK adapters, real calls, real state.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::Filter;
use connection_approver::Approver;
use plgov_integration_tests::*;
use plgov_shared::adapters::epoch_now;
use plgov_shared::domain::ConnectionState;
use plgov_shared::tables::RawValue;
use serde_json::{Value, json};

const FIXTURE_SERVICE: &str = "vpce-svc-0123456789abcdef0";

async fn states(provider: &Provider, service: &str) -> BTreeMap<String, ConnectionState> {
    let ec2 = aws_sdk_ec2::Client::new(&provider.sdk);
    let mut out = BTreeMap::new();
    let mut pages = ec2
        .describe_vpc_endpoint_connections()
        .filters(Filter::builder().name("service-id").values(service).build())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for c in page.unwrap().vpc_endpoint_connections() {
            let state = ConnectionState::parse(c.vpc_endpoint_state().unwrap().as_str());
            out.insert(c.vpc_endpoint_id().unwrap().to_owned(), state);
        }
    }
    out
}

async fn sweep(approver: &Approver) -> plgov_shared::usecases::reconcile::ReconcileSummary {
    approver
        .handle(
            &json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
            epoch_now(),
        )
        .await
        .unwrap()
}

/// Typed ids as the strings the harness uses.
fn ids(list: &[plgov_shared::domain::EndpointId]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

fn calls(approver: &Approver, operation: &str) -> u64 {
    approver.calls().count(operation)
}

struct Scenario {
    provider: Provider,
    service: String,
    accounts: [String; 4],
    endpoints: Vec<(usize, String)>,
}

/// 7 pending connections from 4 accounts; allow A1 (service), allow A2 (`*`), deny A3 (`*`,
/// which also has an allow), nothing live for A4 (an expired allow).
async fn scenario() -> Scenario {
    let provider = Provider::new().await;
    let service = create_service(&provider.account, true).await;
    let accounts = [
        random_account(),
        random_account(),
        random_account(),
        random_account(),
    ];
    let mut endpoints = Vec::new();
    for owner in [0, 0, 1, 1, 2, 3, 3] {
        endpoints.push((owner, create_endpoint(&accounts[owner], &service, 1).await));
    }
    provider.put_rule(&service, &accounts[0], "allow").await;
    provider.put_rule("*", &accounts[1], "allow").await;
    provider.put_rule("*", &accounts[2], "deny").await;
    provider.put_rule(&service, &accounts[2], "allow").await;
    provider
        .put_raw(&[
            ("pk", RawValue::S(service.clone())),
            ("sk", RawValue::S(accounts[3].clone())),
            ("effect", RawValue::S("allow".into())),
            ("expires_at", RawValue::N((epoch_now() - 60).to_string())),
        ])
        .await;
    Scenario {
        provider,
        service,
        accounts,
        endpoints,
    }
}

#[tokio::test]
async fn a_sweep_decides_the_scenario_with_one_accept_and_one_reject_call() {
    let s = scenario().await;
    let approver = s.provider.approver(&[("GOVERNED_SERVICES", &s.service)]);
    let summary = sweep(&approver).await;
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    assert_eq!(calls(&approver, "AcceptVpcEndpointConnections"), 1);
    assert_eq!(calls(&approver, "RejectVpcEndpointConnections"), 1);

    let now = states(&s.provider, &s.service).await;
    for (owner, endpoint) in &s.endpoints {
        let expected = if *owner < 2 {
            ConnectionState::Available
        } else {
            ConnectionState::Rejected
        };
        assert_eq!(now[endpoint], expected, "endpoint of A{}", owner + 1);
    }
    assert_eq!(summary.accepted.len(), 4);
    assert_eq!(summary.rejected.len(), 3);
    let audit = s.provider.audit().await;
    assert_eq!(audit.len(), 7);
    assert_eq!(audit.iter().filter(|(_, _, d, _)| d == "accept").count(), 4);
    assert!(
        audit
            .iter()
            .all(|(svc, _, _, dry)| svc == &s.service && !dry)
    );
    assert_eq!(
        s.provider.metric("ConnectionsAccepted", &s.service).await,
        4.0
    );
    assert_eq!(
        s.provider.metric("ConnectionsRejected", &s.service).await,
        3.0
    );
    assert_eq!(calls(&approver, "PutMetricData"), 1);
    let deny = summary
        .decisions
        .iter()
        .find(|d| d.owner.as_str() == s.accounts[2])
        .unwrap();
    assert_eq!(
        deny.reason,
        format!("deny rule (service *, account {})", s.accounts[2])
    );

    // The same sweep again changes nothing: no Accept/Reject, no new audit record.
    let before = approver.calls().snapshot();
    let again = sweep(&approver).await;
    assert!(again.accepted.is_empty() && again.rejected.is_empty() && again.errors.is_empty());
    let after = approver.calls().snapshot();
    let delta =
        |op: &str| after.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0);
    assert_eq!(
        delta("ec2:AcceptVpcEndpointConnections") + delta("ec2:RejectVpcEndpointConnections"),
        0
    );
    assert_eq!(delta("dynamodb:TransactWriteItems"), 0);
    assert_eq!(s.provider.audit().await.len(), 7);
}

#[tokio::test]
async fn unmatched_leave_keeps_a4_pending_and_dry_run_changes_nothing() {
    let s = scenario().await;
    s.provider
        .put_raw(&[
            ("pk", RawValue::S(s.service.clone())),
            ("sk", RawValue::S("#policy".into())),
            ("unmatched", RawValue::S("leave".into())),
        ])
        .await;
    let dry = s
        .provider
        .approver(&[("GOVERNED_SERVICES", &s.service), ("DRY_RUN", "true")]);
    let summary = sweep(&dry).await;
    assert!(summary.dry_run);
    assert_eq!(
        (
            summary.accepted.len(),
            summary.rejected.len(),
            summary.left_pending.len()
        ),
        (4, 1, 2)
    );
    assert_eq!(
        calls(&dry, "AcceptVpcEndpointConnections") + calls(&dry, "RejectVpcEndpointConnections"),
        0
    );
    assert!(
        states(&s.provider, &s.service)
            .await
            .values()
            .all(|st| *st == ConnectionState::PendingAcceptance)
    );
    let audit = s.provider.audit().await;
    assert_eq!(audit.len(), 5);
    assert!(audit.iter().all(|(_, _, _, dry)| *dry));

    let live = s.provider.approver(&[("GOVERNED_SERVICES", &s.service)]);
    let summary = sweep(&live).await;
    assert_eq!(summary.left_pending.len(), 2);
    let now = states(&s.provider, &s.service).await;
    for (owner, endpoint) in s.endpoints.iter().filter(|(o, _)| *o == 3) {
        assert_eq!(
            now[endpoint],
            ConnectionState::PendingAcceptance,
            "A{} left pending",
            owner + 1
        );
    }
}

#[tokio::test]
async fn revoke_rejects_an_established_connection_whose_rule_was_deleted() {
    let s = scenario().await;
    let approver = s.provider.approver(&[("GOVERNED_SERVICES", &s.service)]);
    sweep(&approver).await;
    let a1 = s.endpoints[0].1.clone();
    assert_eq!(
        states(&s.provider, &s.service).await[&a1],
        ConnectionState::Available
    );

    s.provider.delete_item(&s.service, &s.accounts[0]).await;
    let kept = sweep(&approver).await;
    assert!(kept.revoked.is_empty(), "revoke is off by default");
    s.provider
        .put_raw(&[
            ("pk", RawValue::S(s.service.clone())),
            ("sk", RawValue::S("#policy".into())),
            ("revoke", RawValue::Bool(true)),
        ])
        .await;
    let summary = sweep(&approver).await;
    let mut revoked: Vec<String> = summary.revoked.iter().map(ToString::to_string).collect();
    revoked.sort();
    let mut expected: Vec<String> = s
        .endpoints
        .iter()
        .filter(|(o, _)| *o == 0)
        .map(|(_, e)| e.clone())
        .collect();
    expected.sort();
    assert_eq!(revoked, expected);
    let now = states(&s.provider, &s.service).await;
    assert_eq!(now[&a1], ConnectionState::Rejected);
    assert_eq!(
        now[&s.endpoints[2].1],
        ConnectionState::Available,
        "A2 is still allowed"
    );
    assert!(
        s.provider
            .audit()
            .await
            .iter()
            .any(|(_, e, d, _)| e == &a1 && d == "revoke")
    );
    assert_eq!(
        s.provider.metric("ConnectionsRevoked", &s.service).await,
        2.0
    );
}

#[tokio::test]
async fn a_connections_listing_fault_decides_nothing_and_the_next_sweep_decides_all() {
    let provider = Provider::new().await;
    let first = create_service(&provider.account, true).await;
    let second = create_service(&provider.account, true).await;
    let consumer = random_account();
    let first_endpoint = create_endpoint(&consumer, &first, 1).await;
    let second_endpoint = create_endpoint(&consumer, &second, 1).await;
    provider.put_rule("*", &consumer, "allow").await;
    arm_fault(
        json!({"operation": "DescribeVpcEndpointConnections", "service": "ec2", "account": provider.account,
               "error": "InternalError", "status": 500, "count": -1}),
    );
    let approver = provider.approver(&[("GOVERNED_SERVICES", &format!("{first},{second}"))]);
    let summary = sweep(&approver).await;
    disarm_faults(&provider.account);
    for (service, endpoint) in [(&first, &first_endpoint), (&second, &second_endpoint)] {
        assert_eq!(
            states(&provider, service).await[endpoint],
            ConnectionState::PendingAcceptance
        );
    }
    assert!(summary.accepted.is_empty());
    assert_eq!(summary.errors.len(), 1);
    assert!(
        summary.errors[0]
            .message
            .contains("DescribeVpcEndpointConnections failed"),
        "{}",
        summary.errors[0].message
    );
    // One listing names both services; the next sweep decides them in it.
    let again = sweep(&approver).await;
    assert_eq!(
        ids(&again.accepted).into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([first_endpoint, second_endpoint])
    );
}

#[tokio::test]
async fn an_allowlist_read_fault_decides_nothing_anywhere() {
    let provider = Provider::new().await;
    let service = create_service(&provider.account, true).await;
    let consumer = random_account();
    let endpoint = create_endpoint(&consumer, &service, 1).await;
    provider.put_rule("*", &consumer, "allow").await;
    arm_fault(
        json!({"operation": "Scan", "service": "dynamodb", "account": provider.account,
               "error": "InternalServerError", "status": 500, "count": -1}),
    );
    let approver = provider.approver(&[]);
    let summary = sweep(&approver).await;
    disarm_faults(&provider.account);
    assert_eq!(
        states(&provider, &service).await[&endpoint],
        ConnectionState::PendingAcceptance
    );
    assert!(summary.accepted.is_empty());
    assert_eq!(summary.services_reconciled, 0);
    assert!(
        summary
            .errors
            .iter()
            .all(|e| e.message.contains("Scan failed")),
        "{:?}",
        summary.errors
    );
    assert_eq!(calls(&approver, "DescribeVpcEndpointConnections"), 0);
}

#[tokio::test]
async fn a_sweep_of_2500_pending_connections_paginates_and_batches() {
    let provider = Provider::new().await;
    let service = create_service(&provider.account, true).await;
    let (allowed, other) = (random_account(), random_account());
    let consumers = [allowed.clone(), other];
    let mut created = 0;
    for (i, consumer) in consumers.iter().enumerate() {
        let n = if i == 0 { 1500 } else { 1000 };
        created += create_endpoints(consumer, &service, n).await;
    }
    assert_eq!(created, 2500);
    provider.put_rule(&service, &allowed, "allow").await;
    let approver = provider.approver(&[("GOVERNED_SERVICES", &service)]);
    let summary = sweep(&approver).await;
    assert!(
        summary.errors.is_empty(),
        "{:?}",
        &summary.errors[..summary.errors.len().min(3)]
    );
    assert_eq!(
        (summary.accepted.len(), summary.rejected.len()),
        (1500, 1000)
    );
    let batch = plgov_shared::usecases::reconcile::MAX_IDS_PER_CALL as u64;
    let (accepts, rejects) = (
        calls(&approver, "AcceptVpcEndpointConnections"),
        calls(&approver, "RejectVpcEndpointConnections"),
    );
    println!(
        "2500 connections: {accepts} Accept calls, {rejects} Reject calls, calls by operation {:?}",
        approver.calls().snapshot()
    );
    assert_eq!(accepts, 1500u64.div_ceil(batch));
    assert_eq!(rejects, 1000u64.div_ceil(batch));
    assert_eq!(
        calls(&approver, "DescribeVpcEndpointConnections"),
        3,
        "pages of 1,000"
    );
    // Decision records, then outcome records, in transactions of up to 100 conditional puts.
    assert_eq!(
        calls(&approver, "TransactWriteItems"),
        2 * 2500u64.div_ceil(100)
    );
    assert_eq!(calls(&approver, "Scan"), 1, "the allowlist is read once");
    let now = states(&provider, &service).await;
    assert_eq!(
        now.values()
            .filter(|s| **s == ConnectionState::Available)
            .count(),
        1500
    );
    assert_eq!(
        now.values()
            .filter(|s| **s == ConnectionState::Rejected)
            .count(),
        1000
    );
}

fn fixture(path: &str, service: &str) -> Value {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../functions/connection-approver/fixtures/"
    );
    let text = std::fs::read_to_string(format!("{dir}{path}")).expect("fixture");
    serde_json::from_str(&text.replace(FIXTURE_SERVICE, service)).expect("fixture is JSON")
}

#[tokio::test]
async fn each_trigger_shape_reconciles_the_right_services() {
    let provider = Provider::new().await;
    let named = create_service(&provider.account, true).await;
    let bystander = create_service(&provider.account, true).await;
    provider.put_rule("*", "*", "allow").await;
    let consumer = random_account();
    let approver = provider.approver(&[]); // GOVERNED_SERVICES=all
    for (file, reaches_bystander) in [
        ("connection-request.json", false),
        ("cloudtrail-create-vpc-endpoint.json", false),
        ("sns-connection-notification.json", false),
        ("direct-reconcile.json", false),
        ("schedule.json", true),
    ] {
        let on_named = create_endpoint(&consumer, &named, 1).await;
        let on_bystander = create_endpoint(&consumer, &bystander, 1).await;
        let summary = approver
            .handle(&fixture(file, &named), epoch_now())
            .await
            .expect(file);
        assert!(
            ids(&summary.accepted).contains(&on_named),
            "{file}: {summary:?}"
        );
        assert_eq!(
            ids(&summary.accepted).contains(&on_bystander),
            reaches_bystander,
            "{file}"
        );
        let expected = if reaches_bystander {
            ConnectionState::Available
        } else {
            ConnectionState::PendingAcceptance
        };
        assert_eq!(
            states(&provider, &bystander).await[&on_bystander],
            expected,
            "{file}"
        );
        if !reaches_bystander {
            sweep(&approver).await; // settle the bystander before the next shape
        }
    }
}

#[tokio::test]
async fn a_malformed_event_of_each_kind_is_refused_and_changes_nothing() {
    let provider = Provider::new().await;
    let service = create_service(&provider.account, true).await;
    provider.put_rule("*", "*", "allow").await;
    let endpoint = create_endpoint(&random_account(), &service, 1).await;
    let approver = provider.approver(&[]);
    for (file, names) in [
        ("schedule.json", "\"Scheduled Events\""),
        ("connection-request.json", "detail.serviceId"),
        (
            "cloudtrail-create-vpc-endpoint.json",
            "\"DeleteVpcEndpoints\"",
        ),
        ("sns-connection-notification.json", "Records[0].Sns.Message"),
        ("direct-reconcile.json", "serviceIds[1]"),
    ] {
        let err = approver
            .handle(
                &fixture(&format!("malformed/{file}"), &service),
                epoch_now(),
            )
            .await
            .expect_err(file);
        assert!(err.to_string().contains(names), "{file}: {err}");
        let diagnostic = lambda_runtime::Diagnostic::from(err);
        assert_eq!(diagnostic.error_type, "InvalidEvent");
    }
    assert_eq!(approver.calls().total(), 0, "nothing was called");
    assert_eq!(
        states(&provider, &service).await[&endpoint],
        ConnectionState::PendingAcceptance
    );
}

#[tokio::test]
async fn a_replayed_trigger_keeps_the_first_decision_record_and_a_failed_accept_leaves_its_error() {
    use plgov_shared::domain::audit::{AuditRecord, Outcome};
    let provider = Provider::new().await;
    let service = create_service(&provider.account, true).await;
    let consumer = random_account();
    let endpoint = create_endpoint(&consumer, &service, 1).await;
    provider.put_rule(&service, &consumer, "allow").await;
    let approver = provider.approver(&[]);
    let notification = fixture("sns-connection-notification.json", &service);
    // Every attempt of the first Accept is throttled (the SDK tries three times).
    arm_fault(
        json!({"operation": "AcceptVpcEndpointConnections", "account": provider.account,
                     "error": "RequestLimitExceeded", "count": 3}),
    );
    let (t1, t2, t3) = (1_900_000_000, 1_900_000_300, 1_900_000_600);
    let first = approver.handle(&notification, t1).await.unwrap();
    assert!(first.accepted.is_empty());
    assert!(
        first.errors[0].message.starts_with("RequestLimitExceeded"),
        "{:?}",
        first.errors
    );
    let records = provider.audit_records().await;
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records.iter().any(|r| matches!(r, AuditRecord::Outcome(o)
        if matches!(&o.outcome, Outcome::Failed { code, .. } if code == "RequestLimitExceeded"))));

    // The notification is delivered again: the same decision, now carried out.
    let replay = approver.handle(&notification, t2).await.unwrap();
    assert_eq!(ids(&replay.accepted), std::slice::from_ref(&endpoint));
    // And once more: nothing left to decide, nothing written.
    let again = approver.handle(&notification, t3).await.unwrap();
    assert!(again.accepted.is_empty() && again.errors.is_empty());

    let records = provider.audit_records().await;
    let decisions: Vec<_> = records
        .iter()
        .filter_map(|r| match r {
            AuditRecord::Decision(d) => Some(d),
            AuditRecord::Outcome(_) => None,
        })
        .collect();
    assert_eq!(decisions.len(), 1, "no second decision record: {records:?}");
    assert_eq!(
        decisions[0].decided_at, t1,
        "the first record's time stands"
    );
    let mut outcomes: Vec<(i64, String)> = records
        .iter()
        .filter_map(|r| match r {
            AuditRecord::Outcome(o) => Some((o.attempted_at, o.outcome.to_string())),
            AuditRecord::Decision(_) => None,
        })
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            (t1, "failed: RequestLimitExceeded".to_owned()),
            (t2, "changed".to_owned())
        ]
    );
    assert_eq!(
        states(&provider, &service).await[&endpoint],
        ConnectionState::Available
    );
}
