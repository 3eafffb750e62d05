//! One governance for an AWS Organization, against the emulator: the hub's allowlist and audit
//! tables (by ARN, under resource policies like the template's hub), an OU allow rule and an
//! account deny, and member approvers in two regions reading where consumers sit through a role
//! of the management account.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ec2::types::VpcEndpointType;
use connection_approver::Approver;
use plgov_integration_tests::*;
use plgov_shared::config::ApproverConfig;
use plgov_shared::domain::ConnectionState;
use serde_json::json;

const WEST: &str = "us-west-2";

async fn config_in(account: &str, region: &str) -> SdkConfig {
    config_for(account)
        .await
        .into_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

/// Management > Workloads (members 0 and 1) > Sandbox (member 2); the hub in the root.
struct Org {
    id: String,
    management: String,
    hub: String,
    members: [String; 3],
    workloads: String,
}

async fn build_organization() -> Org {
    let management = random_account();
    let orgs = aws_sdk_organizations::Client::new(&config_for(&management).await);
    let id = orgs
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization")
        .organization
        .and_then(|o| o.id)
        .expect("organization id");
    let root = orgs.list_roots().send().await.expect("roots").roots()[0]
        .id()
        .expect("root id")
        .to_owned();
    let unit = |parent: String, name: &'static str| {
        let orgs = orgs.clone();
        async move {
            orgs.create_organizational_unit()
                .parent_id(parent)
                .name(name)
                .send()
                .await
                .expect("create OU")
                .organizational_unit
                .and_then(|u| u.id)
                .expect("OU id")
        }
    };
    let workloads = unit(root.clone(), "Workloads").await;
    let sandbox = unit(workloads.clone(), "Sandbox").await;
    let mut accounts = Vec::new();
    for (i, parent) in [None, Some(&workloads), Some(&workloads), Some(&sandbox)]
        .into_iter()
        .enumerate()
    {
        let created = orgs
            .create_account()
            .email(format!("plgov-{i}-{}@example.com", random_account()))
            .account_name(format!("plgov-{i}"))
            .send()
            .await
            .expect("create account")
            .create_account_status
            .and_then(|s| s.account_id)
            .expect("account id");
        if let Some(parent) = parent {
            orgs.move_account()
                .account_id(&created)
                .source_parent_id(&root)
                .destination_parent_id(parent)
                .send()
                .await
                .expect("move account");
        }
        accounts.push(created);
    }
    Org {
        id,
        management,
        hub: accounts[0].clone(),
        members: [
            accounts[1].clone(),
            accounts[2].clone(),
            accounts[3].clone(),
        ],
        workloads,
    }
}

/// A table of the hub under `policy` (the template's hub statements), returning its ARN.
async fn hub_table(hub: &SdkConfig, name: &str, policy: serde_json::Value) -> String {
    create_table(
        &aws_sdk_dynamodb::Client::new(hub),
        name,
        Some(policy.to_string()),
        None,
    )
    .await
}

fn statement(org: &str, actions: &[&str], leading_keys: bool) -> serde_json::Value {
    let mut condition = json!({"StringEquals": {"aws:PrincipalOrgID": org}});
    if leading_keys {
        condition["ForAllValues:StringLike"] =
            json!({"dynamodb:LeadingKeys": ["${aws:PrincipalAccount}#*"]});
    }
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": actions, "Resource": "*",
        "Condition": condition}]})
}

async fn service_in(account: &str, region: &str) -> (SdkConfig, String) {
    let sdk = config_in(account, region).await;
    let service = create_service_with(&sdk, true).await;
    (sdk, service)
}

async fn endpoint_to(consumer: &str, region: &str, service: &str) -> String {
    create_endpoint_with(
        &config_in(consumer, region).await,
        VpcEndpointType::Interface,
        &format!("com.amazonaws.vpce.{region}.{service}"),
        1,
    )
    .await
}

async fn state_of(sdk: &SdkConfig, service: &str, endpoint: &str) -> ConnectionState {
    let page = aws_sdk_ec2::Client::new(sdk)
        .describe_vpc_endpoint_connections()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("service-id")
                .values(service)
                .build(),
        )
        .send()
        .await
        .expect("connections");
    let raw = page
        .vpc_endpoint_connections()
        .iter()
        .find(|c| c.vpc_endpoint_id() == Some(endpoint))
        .and_then(|c| c.vpc_endpoint_state())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    ConnectionState::parse(&raw)
}

#[tokio::test]
async fn an_ou_allow_and_an_account_deny_in_the_hub_decide_for_every_member_and_region() {
    let org = build_organization().await;
    let hub = config_in(&org.hub, REGION).await;
    let allowlist = hub_table(
        &hub,
        "plgov-hub-allowlist",
        statement(
            &org.id,
            &["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
            false,
        ),
    )
    .await;
    let audit = hub_table(
        &hub,
        "plgov-hub-audit",
        statement(
            &org.id,
            &["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"],
            true,
        ),
    )
    .await;
    // The hub's operator writes the rules: every account below Workloads may connect to any
    // service, except member 0, denied by account.
    let [m0, m1, m2] = org.members.clone();
    let rules = plgov_shared::tables::AllowlistTable::new(
        aws_sdk_dynamodb::Client::new(&hub),
        "plgov-hub-allowlist",
    );
    for (sk, effect) in [(org.workloads.as_str(), "allow"), (m0.as_str(), "deny")] {
        let item = [("pk", "*"), ("sk", sk), ("effect", effect)]
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    plgov_shared::tables::RawValue::S((*v).to_owned()),
                )
            })
            .collect();
        rules.put_raw(&item).await.expect("rule");
    }

    // Services of the three members in two regions, and who asks to connect to each.
    let outsider = random_account();
    let (m0_east, s0) = service_in(&m0, REGION).await;
    let (m1_west, s1) = service_in(&m1, WEST).await;
    let (m2_east, s2e) = service_in(&m2, REGION).await;
    let (m2_west, s2w) = service_in(&m2, WEST).await;
    let cases = [
        // (provider sdk, service, consumer, region, expected)
        (&m0_east, &s0, &m1, REGION, ConnectionState::Available), // m1 is in Workloads
        (&m1_west, &s1, &m2, WEST, ConnectionState::Available),   // m2 is two OUs down
        (&m2_east, &s2e, &m0, REGION, ConnectionState::Rejected), // m0: denied by account
        (&m2_west, &s2w, &outsider, WEST, ConnectionState::Rejected), // outside: no rule
    ];
    let mut endpoints = Vec::new();
    for (_, service, consumer, region, _) in &cases {
        endpoints.push(endpoint_to(consumer, region, service).await);
    }

    let role = format!(
        "arn:aws:iam::{}:role/plgov-organization-reader",
        org.management
    );
    let approver = |account: String, sdk: SdkConfig| {
        let vars: BTreeMap<&str, String> = BTreeMap::from([
            ("ALLOWLIST_TABLE", allowlist.clone()),
            ("AUDIT_TABLE", audit.clone()),
            ("ACCOUNT_ID", account.clone()),
            (
                "CONNECTION_TOPIC_ARN",
                format!("arn:aws:sns:us-east-1:{account}:plgov-connections"),
            ),
            ("ORGANIZATIONS_ROLE_ARN", role.clone()),
        ]);
        let config = ApproverConfig::from_lookup(|k| vars.get(k).cloned()).expect("member config");
        Approver::new(&sdk, config)
    };
    let sweep = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let mut looked_up = 0;
    for (account, sdk) in [
        (&m0, &m0_east),
        (&m1, &m1_west),
        (&m2, &m2_east),
        (&m2, &m2_west),
    ] {
        let member = approver(account.clone(), sdk.clone());
        let summary = member
            .handle(&sweep, plgov_shared::adapters::epoch_now())
            .await
            .expect("sweep");
        assert!(summary.errors.is_empty(), "{account}: {:?}", summary.errors);
        assert!(summary.held.is_empty(), "{account}: {:?}", summary.held);
        // Each consumer's place read once: DescribeAccount, then ListParents up to the root.
        looked_up += member.calls().count("DescribeAccount");
    }
    assert_eq!(looked_up, 4, "one owner per sweep");
    for ((sdk, service, consumer, region, expected), endpoint) in cases.iter().zip(&endpoints) {
        assert_eq!(
            &state_of(sdk, service, endpoint).await,
            expected,
            "{consumer} to {service} in {region}"
        );
    }

    // The hub's audit holds every decision, under the member's account, with its region.
    let items = aws_sdk_dynamodb::Client::new(&hub)
        .scan()
        .table_name("plgov-hub-audit")
        .send()
        .await
        .expect("scan audit")
        .items
        .unwrap_or_default();
    let text = |i: &std::collections::HashMap<String, AttributeValue>, k: &str| {
        i.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let decisions: BTreeSet<(String, String, String, String)> = items
        .iter()
        .filter(|i| text(i, "kind") == "decision")
        .map(|i| {
            (
                text(i, "pk"),
                text(i, "region"),
                text(i, "endpoint_id"),
                text(i, "decision"),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String, String, String)> = [
        (&m0, &s0, REGION, 0, "accept"),
        (&m1, &s1, WEST, 1, "accept"),
        (&m2, &s2e, REGION, 2, "reject"),
        (&m2, &s2w, WEST, 3, "reject"),
    ]
    .iter()
    .map(|(account, service, region, i, d)| {
        (
            format!("{account}#{service}"),
            (*region).to_owned(),
            endpoints[*i].clone(),
            (*d).to_owned(),
        )
    })
    .collect();
    assert_eq!(decisions, expected);

    // A member writes audit records under its own account only, and deletes none.
    let member = aws_sdk_dynamodb::Client::new(&m0_east);
    let put = |pk: String| {
        member
            .put_item()
            .table_name(&audit)
            .item("pk", AttributeValue::S(pk))
            .item("sk", AttributeValue::S("probe".into()))
            .send()
    };
    put(format!("{m0}#vpce-svc-0probe")).await.expect("own key");
    let refused = put(format!("{m1}#vpce-svc-0probe")).await.unwrap_err();
    assert_eq!(
        refused.into_service_error().meta().code(),
        Some("AccessDeniedException")
    );
    let delete = member
        .delete_item()
        .table_name(&audit)
        .key("pk", AttributeValue::S(format!("{m0}#vpce-svc-0probe")))
        .key("sk", AttributeValue::S("probe".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        delete.into_service_error().meta().code(),
        Some("AccessDeniedException")
    );
}

/// The hub's cost pool as the template makes it: keyed by account, region and month, with the
/// index `by-pool` over every account's hours of a month.
async fn hub_pool(hub: &SdkConfig, org: &str) -> String {
    let mut policy = statement(org, &["dynamodb:PutItem"], true);
    policy["Statement"].as_array_mut().unwrap().push(
        json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "dynamodb:Query",
            "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": org}}}),
    );
    create_table(
        &aws_sdk_dynamodb::Client::new(hub),
        "plgov-hub-pool",
        Some(policy.to_string()),
        Some((plgov_shared::tables::pool::POOL_INDEX, "pool")),
    )
    .await
}

#[tokio::test]
async fn two_members_push_the_pool_across_a_tier_and_both_price_on_the_organizations_total() {
    use plgov_shared::domain::hour::Hour;
    let org = build_organization().await;
    let hub = config_in(&org.hub, REGION).await;
    let pool = hub_pool(&hub, &org.id).await;
    let gib = 1_073_741_824.0;
    let last = Hour::parse("2026-11-15T10:00:00Z").unwrap();
    let mut members = Vec::new();
    for account in &org.members[..2] {
        let provider = Provider::in_account(account.clone()).await;
        provider.create_cost_table().await;
        let service = create_service(account, false).await;
        let endpoint = provider
            .create_own_endpoint(
                VpcEndpointType::Interface,
                &format!("com.amazonaws.vpce.{REGION}.{service}"),
                1,
            )
            .await;
        provider.backdate(std::slice::from_ref(&endpoint), last.plus(-48).start());
        members.push((provider, endpoint));
    }
    // Member 0 moves 600,000 GB in the hour before last-1, member 1 600,000 GB in last-1: the
    // organization passes the first tier (1,048,576 GB at $0.01) during member 1's hour.
    let (a, b) = (&members[0], &members[1]);
    a.0.put_bytes_processed(&a.1, 600_000.0 * gib, last.plus(-2).start())
        .await;
    b.0.put_bytes_processed(&b.1, 600_000.0 * gib, last.plus(-1).start())
        .await;
    a.0.put_bytes_processed(&a.1, 10.0 * gib, last.start())
        .await;
    let env = [("COST_POOL_TABLE", pool.as_str())];
    let price = |m: &(Provider, String), hour: Hour, run: &'static str| {
        let reporter = m.0.reporter(&env);
        async move {
            reporter
                .handle(&json!({"hour": hour.to_string()}), last.end() + 3600, run)
                .await
                .expect("priced")
        }
    };
    let first = price(a, last.plus(-2), "a-1").await;
    assert_eq!(first.month_to_date_gb_before, 0.0);
    assert!(
        (first.total.data_cost - 6_000.0).abs() < 1e-6,
        "{:?}",
        first.total
    );
    let crossing = price(b, last.plus(-1), "b-1").await;
    assert!((crossing.month_to_date_gb_before - 600_000.0).abs() < 1e-6);
    // 448,576 GB at $0.01, then 151,424 GB at $0.006.
    let expected = 448_576.0 * 0.01 + 151_424.0 * 0.006;
    assert!(
        (crossing.total.data_cost - expected).abs() < 1e-6,
        "{} != {expected}",
        crossing.total.data_cost
    );
    let after = price(a, last, "a-2").await;
    assert!((after.month_to_date_gb_before - 1_200_000.0).abs() < 1e-6);
    assert!((after.total.data_cost - 10.0 * 0.006).abs() < 1e-9);
    // Member 1's hour priced again: its pool figure replaced, not added to, so member 0 still
    // counts 1,200,000 GB before its hour.
    price(b, last.plus(-1), "b-2").await;
    let again = price(a, last, "a-3").await;
    assert!((again.month_to_date_gb_before - 1_200_000.0).abs() < 1e-6);
}
