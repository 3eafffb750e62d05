//! Fault drills: throttled accepts, DynamoDB failing mid-sweep, CloudWatch failing on publish,
//! and the AWS endpoint going away between two sweeps. After each fault clears, one more sweep
//! leaves every connection decided exactly as without the fault, with no duplicate audit record
//! and nothing accepted that should not be.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;
use connection_approver::Approver;
use plgov_integration_tests::*;
use plgov_shared::adapters::epoch_now;
use plgov_shared::usecases::reconcile::ReconcileSummary;
use serde_json::json;

/// Two services, each with three pending requests from an allowed account and two from an unmatched one.
struct Drill {
    provider: Provider,
    services: [String; 2],
    allowed: Vec<String>,
    unmatched: Vec<String>,
}

async fn drill() -> Drill {
    let provider = Provider::new().await;
    let services = [
        create_service(&provider.account, true).await,
        create_service(&provider.account, true).await,
    ];
    let (good, other) = (random_account(), random_account());
    provider.put_rule("*", &good, "allow").await;
    let (mut allowed, mut unmatched) = (Vec::new(), Vec::new());
    for service in &services {
        for _ in 0..3 {
            allowed.push(create_endpoint(&good, service, 1).await);
        }
        for _ in 0..2 {
            unmatched.push(create_endpoint(&other, service, 1).await);
        }
    }
    Drill {
        provider,
        services,
        allowed,
        unmatched,
    }
}

impl Drill {
    fn approver(&self) -> Approver {
        self.provider
            .approver(&[("GOVERNED_SERVICES", &self.services.join(","))])
    }

    async fn sweep(&self, approver: &Approver) -> ReconcileSummary {
        approver
            .handle(
                &json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
                epoch_now(),
            )
            .await
            .unwrap()
    }

    async fn states(&self) -> BTreeMap<String, String> {
        let ec2 = aws_sdk_ec2::Client::new(&self.provider.sdk);
        let mut out = BTreeMap::new();
        for service in &self.services {
            let page = ec2
                .describe_vpc_endpoint_connections()
                .filters(Filter::builder().name("service-id").values(service).build())
                .send()
                .await
                .unwrap();
            for c in page.vpc_endpoint_connections() {
                out.insert(
                    c.vpc_endpoint_id().unwrap().to_owned(),
                    c.vpc_endpoint_state().unwrap().as_str().to_owned(),
                );
            }
        }
        out
    }

    /// Nothing accepted that should not be, at any point.
    async fn never_wrongly_accepted(&self) {
        let states = self.states().await;
        for e in &self.unmatched {
            assert_ne!(states[e], "available", "{e} must never be accepted");
        }
    }

    /// The state a fault-free sweep reaches, with exactly one audit record per decision.
    async fn as_without_the_fault(&self) {
        let states = self.states().await;
        assert!(
            self.allowed.iter().all(|e| states[e] == "available"),
            "{states:?}"
        );
        assert!(
            self.unmatched.iter().all(|e| states[e] == "rejected"),
            "{states:?}"
        );
        let audit = self.provider.audit().await;
        assert_eq!(
            audit.len(),
            self.allowed.len() + self.unmatched.len(),
            "one record per decision: {audit:?}"
        );
        for (_, endpoint, decision, dry) in &audit {
            let expected = if self.allowed.contains(endpoint) {
                "accept"
            } else {
                "reject"
            };
            assert_eq!((decision.as_str(), *dry), (expected, false));
        }
    }
}

#[tokio::test]
async fn throttled_accepts_are_retried_reported_and_finished_by_the_next_sweep() {
    let d = drill().await;
    // The SDK's three attempts for the first service's Accept are all throttled; the second
    // service's first attempt is, and its retry goes through (services run side by side, so
    // each fault names its service).
    arm_fault(
        json!({"operation": "AcceptVpcEndpointConnections", "error": "RequestLimitExceeded",
               "count": 3, "account": d.provider.account, "body_contains": d.services[0]}),
    );
    arm_fault(
        json!({"operation": "AcceptVpcEndpointConnections", "error": "RequestLimitExceeded",
               "count": 1, "account": d.provider.account, "body_contains": d.services[1]}),
    );
    let approver = d.approver();
    let first = d.sweep(&approver).await;
    assert_eq!(
        first.accepted.len(),
        3,
        "the second service's accept went through on retry"
    );
    assert_eq!(
        first.errors.len(),
        3,
        "each of the first service's three ids is reported: {:?}",
        first.errors
    );
    assert!(
        first
            .errors
            .iter()
            .all(|e| e.message.contains("RequestLimitExceeded"))
    );
    assert_eq!(approver.calls().count("AcceptVpcEndpointConnections"), 5);
    d.never_wrongly_accepted().await;

    let second = d.sweep(&approver).await;
    assert!(second.errors.is_empty(), "{:?}", second.errors);
    assert_eq!(second.accepted.len(), 3);
    d.as_without_the_fault().await;
}

#[tokio::test]
async fn dynamodb_failing_mid_sweep_changes_nothing_it_cannot_record_and_the_next_sweep_finishes() {
    let d = drill().await;
    // The allowlist cannot be read (every SDK attempt fails): nothing is decided anywhere...
    arm_fault(
        json!({"operation": "Scan", "service": "dynamodb", "account": d.provider.account,
               "error": "InternalServerError", "status": 500, "count": 3}),
    );
    let approver = d.approver();
    let first = d.sweep(&approver).await;
    assert_eq!(first.services_reconciled, 0);
    assert_eq!(first.errors.len(), 1, "{:?}", first.errors);
    assert!(first.accepted.is_empty() && first.rejected.is_empty());
    d.never_wrongly_accepted().await;
    // ...then the audit write fails for good for one service: nothing is carried out for it.
    arm_fault(
        json!({"operation": "TransactWriteItems", "service": "dynamodb", "account": d.provider.account,
               "error": "ProvisionedThroughputExceededException", "count": -1,
               "body_contains": d.services[0]}),
    );
    let second = d.sweep(&approver).await;
    disarm_faults(&d.provider.account);
    assert_eq!(second.errors.len(), 1, "{:?}", second.errors);
    assert!(second.errors[0].message.contains("TransactWriteItems"));
    assert_eq!(
        (second.accepted.len(), second.rejected.len()),
        (3, 2),
        "only the other service was carried out"
    );
    d.never_wrongly_accepted().await;

    let third = d.sweep(&approver).await;
    assert!(third.errors.is_empty(), "{:?}", third.errors);
    d.as_without_the_fault().await;
}

#[tokio::test]
async fn a_cloudwatch_failure_is_reported_and_blocks_no_decision() {
    let d = drill().await;
    arm_fault(
        json!({"operation": "PutMetricData", "service": "cloudwatch", "account": d.provider.account,
                     "status": 500, "count": 3}),
    );
    let approver = d.approver();
    let first = d.sweep(&approver).await;
    assert_eq!(first.errors.len(), 1);
    assert!(
        first.errors[0]
            .message
            .starts_with("metrics: PutMetricData failed"),
        "{:?}",
        first.errors
    );
    assert_eq!(
        (first.accepted.len(), first.rejected.len()),
        (6, 4),
        "decisions carried out regardless"
    );
    d.as_without_the_fault().await;
    let second = d.sweep(&approver).await;
    assert!(second.errors.is_empty() && second.accepted.is_empty() && second.rejected.is_empty());
    d.as_without_the_fault().await;
}

#[tokio::test]
async fn the_aws_endpoint_going_away_between_two_sweeps_changes_nothing_until_it_is_back() {
    let d = drill().await;
    let proxy = FlakyProxy::start().await;
    let through_proxy = d
        .provider
        .sdk
        .clone()
        .into_builder()
        .endpoint_url(&proxy.url)
        .build();
    let approver = d.provider.approver_via(
        &through_proxy,
        &[("GOVERNED_SERVICES", &d.services.join(","))],
    );
    // A first trigger decides the first service only.
    let first = approver
        .handle(
            &json!({"action": "reconcile", "serviceIds": [d.services[0]]}),
            epoch_now(),
        )
        .await
        .unwrap();
    assert_eq!((first.accepted.len(), first.rejected.len()), (3, 2));

    proxy.set_up(false);
    let during = d.sweep(&approver).await;
    assert_eq!(during.services_reconciled, 0);
    assert!(!during.errors.is_empty());
    assert!(during.accepted.is_empty() && during.rejected.is_empty());
    d.never_wrongly_accepted().await;

    proxy.set_up(true);
    let after = d.sweep(&approver).await;
    assert!(after.errors.is_empty(), "{:?}", after.errors);
    assert_eq!((after.accepted.len(), after.rejected.len()), (3, 2));
    d.as_without_the_fault().await;
}
