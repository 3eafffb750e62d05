//! Findings against the local emulator: each situation built, the findings read back from
//! Security Hub, fixing the situation archives them on the next run; allowed principals kept in
//! sync with the allowlist; the endpoints' findings of the cost reporter.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::VpcEndpointType;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingFilters, RecordState, StringFilter, StringFilterComparison,
};
use plgov_integration_tests::*;
use plgov_shared::domain::EndpointId;
use plgov_shared::domain::cost::CostTotals;
use plgov_shared::domain::hour::Hour;
use plgov_shared::domain::publishing::{HourRecord, Ledger};
use plgov_shared::events::FindingsRequest;
use plgov_shared::ports::CostLedger;
use plgov_shared::tables::CostTable;
use serde_json::json;

/// A findings run invoked directly, without the schedule's time.
const UNDATED: FindingsRequest = FindingsRequest { fired_at: None };

/// An hour well inside what the functions accept, whatever the day the tests run.
fn now() -> i64 {
    Hour::parse("2026-11-15T10:00:00Z").unwrap().end() + 600
}

async fn enable_security_hub(provider: &Provider) -> aws_sdk_securityhub::Client {
    let hub = aws_sdk_securityhub::Client::new(&provider.sdk);
    hub.enable_security_hub()
        .send()
        .await
        .expect("enable Security Hub");
    hub
}

/// (type, resource, archived) of every finding of `generator` Security Hub holds.
async fn held(
    hub: &aws_sdk_securityhub::Client,
    generator: &str,
) -> BTreeMap<(String, String), bool> {
    let filter = StringFilter::builder()
        .value(generator)
        .comparison(StringFilterComparison::Equals)
        .build();
    let out = hub
        .get_findings()
        .filters(
            AwsSecurityFindingFilters::builder()
                .generator_id(filter)
                .build(),
        )
        .send()
        .await
        .expect("GetFindings");
    out.findings()
        .iter()
        .map(|f| {
            let fields = f.product_fields().unwrap();
            (
                (
                    fields["plgov/type"].clone(),
                    fields["plgov/resource"].clone(),
                ),
                f.record_state() == Some(&RecordState::Archived),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_services_situations_are_found_in_security_hub_and_archived_once_fixed() {
    let provider = Provider::new().await;
    let hub = enable_security_hub(&provider).await;
    let service = create_service(&provider.account, false).await;
    let ec2 = aws_sdk_ec2::Client::new(&provider.sdk);
    ec2.modify_vpc_endpoint_service_permissions()
        .service_id(&service)
        .add_allowed_principals("*")
        .send()
        .await
        .unwrap();
    let approver = provider.approver(&[]);
    let s = approver.findings(UNDATED, now()).await.unwrap();
    let generator = "privatelink-governor/endpoint-services";
    let expected: BTreeMap<(String, String), bool> = [
        "AcceptanceNotRequired",
        "PrincipalsWiderThanAllowlist",
        "NoConnectionNotification",
    ]
    .iter()
    .map(|t| (((*t).to_owned(), service.clone()), false))
    .collect();
    assert_eq!(held(&hub, generator).await, expected);
    assert_eq!((s.findings.imported, s.findings.archived), (3, 0));

    // Unchanged: nothing imported; one call per service beyond the two for all of them.
    let ops = [
        "BatchImportFindings",
        "DescribeVpcEndpointServicePermissions",
        "DescribeVpcEndpointServiceConfigurations",
        "DescribeVpcEndpointConnectionNotifications",
    ];
    let before = ops.map(|op| approver.calls().count(op));
    let again = approver.findings(UNDATED, now() + 3_600).await.unwrap();
    assert_eq!(again.findings.security_hub, "unchanged");
    let delta = ops
        .map(|op| approver.calls().count(op))
        .iter()
        .zip(before)
        .map(|(a, b)| a - b)
        .collect::<Vec<_>>();
    assert_eq!(delta, [0, 1, 1, 1], "{ops:?}");

    // Fixed: acceptance on, `*` removed, a notification to the stack's topic.
    ec2.modify_vpc_endpoint_service_configuration()
        .service_id(&service)
        .acceptance_required(true)
        .send()
        .await
        .unwrap();
    ec2.modify_vpc_endpoint_service_permissions()
        .service_id(&service)
        .remove_allowed_principals("*")
        .send()
        .await
        .unwrap();
    let sns = aws_sdk_sns::Client::new(&provider.sdk);
    let topic = sns
        .create_topic()
        .name("plgov-connections")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    assert_eq!(topic, provider.topic_arn());
    ec2.create_vpc_endpoint_connection_notification()
        .service_id(&service)
        .connection_notification_arn(&topic)
        .connection_events("Connect")
        .send()
        .await
        .unwrap();
    let fixed = approver.findings(UNDATED, now() + 7_200).await.unwrap();
    assert!(
        fixed.findings.findings.is_empty(),
        "{:?}",
        fixed.findings.findings
    );
    assert_eq!(fixed.findings.archived, 3);
    assert!(
        held(&hub, generator)
            .await
            .values()
            .all(|archived| *archived)
    );
}

#[tokio::test]
async fn allowed_principals_follow_the_allowlist_a_deny_only_removes() {
    let provider = Provider::new().await;
    let service = create_service(&provider.account, true).await;
    let ec2 = aws_sdk_ec2::Client::new(&provider.sdk);
    let principals = || async {
        let mut p: Vec<String> = ec2
            .describe_vpc_endpoint_service_permissions()
            .service_id(&service)
            .send()
            .await
            .unwrap()
            .allowed_principals()
            .iter()
            .filter_map(|p| p.principal().map(str::to_owned))
            .collect();
        p.sort();
        p
    };
    let (a, b) = (random_account(), random_account());
    provider.put_rule(&service, &a, "allow").await;
    provider.put_rule(&service, &b, "allow").await;
    let approver = provider.approver(&[
        ("SYNC_ALLOWED_PRINCIPALS", "true"),
        ("FINDINGS_TO_SECURITY_HUB", "off"),
    ]);
    let s = approver.findings(UNDATED, now()).await.unwrap();
    let mut want = vec![
        format!("arn:aws:iam::{a}:root"),
        format!("arn:aws:iam::{b}:root"),
    ];
    want.sort();
    assert_eq!(principals().await, want);
    assert_eq!(s.principal_changes.len(), 1);
    assert_eq!(
        approver
            .calls()
            .count("ModifyVpcEndpointServicePermissions"),
        1
    );
    // A deny for b (the allow stays): b is removed, nothing added.
    provider.put_rule("*", &b, "deny").await;
    approver.findings(UNDATED, now() + 3_600).await.unwrap();
    assert_eq!(principals().await, [format!("arn:aws:iam::{a}:root")]);
    // Removing a's rule removes it; in sync afterwards, no call.
    provider.delete_item(&service, &a).await;
    approver.findings(UNDATED, now() + 7_200).await.unwrap();
    assert!(principals().await.is_empty());
    approver.findings(UNDATED, now() + 10_800).await.unwrap();
    assert_eq!(
        approver
            .calls()
            .count("ModifyVpcEndpointServicePermissions"),
        3
    );
}

#[tokio::test]
async fn the_cost_reporter_finds_idle_wasteful_single_az_and_default_policy_endpoints() {
    let provider = Provider::new().await;
    provider.create_cost_table().await;
    let hub = enable_security_hub(&provider).await;
    let service = create_service(&provider.account, false).await;
    let name = format!("com.amazonaws.vpce.{REGION}.{service}");
    let idle = provider
        .create_own_endpoint(VpcEndpointType::Interface, &name, 2)
        .await;
    let thin = provider
        .create_own_endpoint(VpcEndpointType::Interface, &name, 2)
        .await;
    let one_az = provider
        .create_own_endpoint(VpcEndpointType::Interface, &name, 1)
        .await;
    let sqs = provider
        .create_own_endpoint(
            VpcEndpointType::Interface,
            &format!("com.amazonaws.{REGION}.sqs"),
            2,
        )
        .await;
    // The emulator's CloudFormation endpoints take no policy (VpcEndpointPolicySupported false):
    // its default policy is nothing to narrow.
    let cfn = provider
        .create_own_endpoint(
            VpcEndpointType::Interface,
            &format!("com.amazonaws.{REGION}.cloudformation"),
            2,
        )
        .await;
    let last = Hour::parse("2026-11-15T10:00:00Z").unwrap();
    let week_ago = last.plus(-200).start();
    provider.backdate(
        &[
            idle.clone(),
            thin.clone(),
            one_az.clone(),
            sqs.clone(),
            cfn.clone(),
        ],
        week_ago,
    );
    // Seven days of priced hours in the cost table: `thin` moved 0.1 GB an hour (17 GB a week,
    // far below the 417 GB a month that pays for two AZs), `one_az` and `sqs` plenty.
    let table = CostTable::new(provider.dynamodb.clone(), COST_TABLE);
    for k in 1..168 {
        let hour = last.plus(-k);
        let gib = 1_073_741_824.0;
        let record = HourRecord {
            hour,
            version: 1,
            priced_at: hour.end() + 600,
            interface_gb: 0.0,
            totals: CostTotals::default(),
            endpoints: 5,
            unpriced: 0,
            bytes: BTreeMap::from([
                (EndpointId::parse(&thin).unwrap(), 0.1 * gib),
                (EndpointId::parse(&one_az).unwrap(), 50.0 * gib),
                (EndpointId::parse(&sqs).unwrap(), 50.0 * gib),
                (EndpointId::parse(&cfn).unwrap(), 50.0 * gib),
            ]),
            ledger: Ledger::default(),
        };
        assert!(table.write_hour(REGION, &record, None, true).await.unwrap());
    }
    for e in [&one_az, &sqs, &thin, &cfn] {
        provider
            .put_bytes_processed(
                e,
                if *e == thin { 0.1 } else { 50.0 } * 1_073_741_824.0,
                last.start(),
            )
            .await;
    }
    let reporter = provider.reporter(&[]);
    let event = json!({"hour": last.to_string()});
    let s = reporter.handle(&event, now(), "run-1").await.unwrap();
    let f = s.findings.unwrap();
    let found: BTreeMap<(String, String), bool> = f
        .findings
        .iter()
        .map(|x| {
            (
                (x.kind.as_str().to_owned(), x.resource.id().to_owned()),
                false,
            )
        })
        .collect();
    let expected: BTreeMap<(String, String), bool> = [
        ("IdleEndpoint", &idle),
        ("NegativeSavings", &thin),
        ("SingleAzEndpoint", &one_az),
        ("DefaultEndpointPolicy", &sqs),
    ]
    .iter()
    .map(|(t, e)| (((*t).to_owned(), (*e).clone()), false))
    .collect();
    assert_eq!(found, expected);
    assert_eq!(
        held(&hub, "privatelink-governor/vpc-endpoints").await,
        expected
    );
    // 2 AZ x $0.01 x 730 h idle; `thin`: 14.60 + 0.43 a month against 1.96 through NAT.
    let idle_waste = f
        .findings
        .iter()
        .find(|x| x.kind.as_str() == "IdleEndpoint")
        .unwrap();
    assert!((idle_waste.monthly_waste_usd.unwrap() - 14.6).abs() < 1e-9);
    // Again, unchanged: nothing imported.
    let again = reporter.handle(&event, now() + 60, "run-2").await.unwrap();
    assert_eq!(again.findings.unwrap().security_hub, "unchanged");
    assert_eq!(reporter.calls().count("BatchImportFindings"), 1);
    // Whether sqs and cloudformation take policies: one call a run.
    assert_eq!(reporter.calls().count("DescribeVpcEndpointServices"), 2);
    // The idle one deleted: its finding archived on the next run.
    aws_sdk_ec2::Client::new(&provider.sdk)
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&idle)
        .send()
        .await
        .unwrap();
    let after = reporter.handle(&event, now() + 120, "run-3").await.unwrap();
    assert_eq!(after.findings.unwrap().archived, 1);
    assert!(
        held(&hub, "privatelink-governor/vpc-endpoints").await
            [&("IdleEndpoint".to_owned(), idle.clone())]
    );
}
