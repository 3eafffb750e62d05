//! The local AWS emulator, driven through the real Rust SDK clients the product uses.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, StandardUnit,
};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use plgov_integration_tests::*;
use plgov_shared::adapters::CallCounter;
use plgov_shared::domain::ConnectionState;

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Connection states as the provider sees them, read from the raw wire strings.
async fn provider_states(
    ec2: &aws_sdk_ec2::Client,
    service: &str,
) -> BTreeMap<String, ConnectionState> {
    let out = ec2
        .describe_vpc_endpoint_connections()
        .filters(filter("service-id", service))
        .send()
        .await
        .expect("describe connections");
    out.vpc_endpoint_connections()
        .iter()
        .map(|c| {
            let state = c
                .vpc_endpoint_state()
                .map(|s| s.as_str())
                .unwrap_or_default();
            (
                c.vpc_endpoint_id().unwrap().to_owned(),
                ConnectionState::parse(state),
            )
        })
        .collect()
}

#[tokio::test]
async fn connection_requests_from_other_accounts_wait_paginate_and_change_state() {
    let provider = random_account();
    let (consumer_a, consumer_b) = (random_account(), random_account());
    let service = create_service(&provider, true).await;
    let mut endpoints = Vec::new();
    for i in 0..7 {
        let consumer = if i % 2 == 0 { &consumer_a } else { &consumer_b };
        endpoints.push(create_endpoint(consumer, &service, 1 + i % 3).await);
    }

    let counter = CallCounter::new();
    let ec2 = ec2_client(&config_for(&provider).await, &counter, true);
    let pages: Vec<_> = ec2
        .describe_vpc_endpoint_connections()
        .filters(filter("service-id", &service))
        .filters(filter("vpc-endpoint-state", "pendingAcceptance"))
        .max_results(5)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("paginate connections");
    assert_eq!(
        pages
            .iter()
            .map(|p| p.vpc_endpoint_connections().len())
            .collect::<Vec<_>>(),
        [5, 2]
    );
    assert_eq!(counter.count("DescribeVpcEndpointConnections"), 2);
    let mut seen = BTreeSet::new();
    for conn in pages.iter().flat_map(|p| p.vpc_endpoint_connections()) {
        assert_eq!(conn.service_id(), Some(service.as_str()));
        let owner = conn.vpc_endpoint_owner().unwrap();
        assert!(owner == consumer_a || owner == consumer_b, "owner {owner}");
        // The SDK's enum cannot parse the camelCase wire string; the domain parser can.
        let raw = conn.vpc_endpoint_state().unwrap().as_str();
        assert_eq!(raw, "pendingAcceptance");
        assert_eq!(
            ConnectionState::parse(raw),
            ConnectionState::PendingAcceptance
        );
        assert!(conn.creation_timestamp().is_some());
        assert!(
            conn.vpc_endpoint_connection_id()
                .unwrap()
                .starts_with("vpce-con-")
        );
        seen.insert(conn.vpc_endpoint_id().unwrap().to_owned());
    }
    assert_eq!(seen, endpoints.iter().cloned().collect());

    let accepted = ec2
        .accept_vpc_endpoint_connections()
        .service_id(&service)
        .vpc_endpoint_ids(&endpoints[0])
        .send()
        .await
        .expect("accept");
    assert!(accepted.unsuccessful().is_empty());
    let rejected = ec2
        .reject_vpc_endpoint_connections()
        .service_id(&service)
        .vpc_endpoint_ids(&endpoints[1])
        .send()
        .await
        .expect("reject");
    assert!(rejected.unsuccessful().is_empty());
    assert_eq!(counter.count("AcceptVpcEndpointConnections"), 1);
    assert_eq!(counter.count("RejectVpcEndpointConnections"), 1);

    let states = provider_states(&ec2, &service).await;
    assert_eq!(states[&endpoints[0]], ConnectionState::Available);
    assert_eq!(states[&endpoints[1]], ConnectionState::Rejected);
    assert!(
        endpoints[2..]
            .iter()
            .all(|e| states[e] == ConnectionState::PendingAcceptance)
    );

    // The consumers see the same states on their own endpoints.
    for (consumer, endpoint, expected) in [
        (&consumer_a, &endpoints[0], ConnectionState::Available),
        (&consumer_b, &endpoints[1], ConnectionState::Rejected),
        (
            &consumer_a,
            &endpoints[2],
            ConnectionState::PendingAcceptance,
        ),
    ] {
        let own = aws_sdk_ec2::Client::new(&config_for(consumer).await)
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(endpoint)
            .send()
            .await
            .expect("consumer describe endpoints");
        let state = own.vpc_endpoints()[0].state().unwrap().as_str().to_owned();
        assert_eq!(
            ConnectionState::parse(&state),
            expected,
            "{endpoint} as seen by {consumer}"
        );
    }
}

#[tokio::test]
async fn a_service_without_acceptance_connects_at_once() {
    let provider = random_account();
    let service = create_service(&provider, false).await;
    let endpoint = create_endpoint(&random_account(), &service, 1).await;
    let ec2 = aws_sdk_ec2::Client::new(&config_for(&provider).await);
    assert_eq!(
        provider_states(&ec2, &service).await[&endpoint],
        ConnectionState::Available
    );
}

#[tokio::test]
async fn unknown_endpoint_ids_come_back_unsuccessful() {
    let provider = random_account();
    let service = create_service(&provider, true).await;
    let pending = create_endpoint(&random_account(), &service, 1).await;
    let ec2 = aws_sdk_ec2::Client::new(&config_for(&provider).await);
    let out = ec2
        .accept_vpc_endpoint_connections()
        .service_id(&service)
        .vpc_endpoint_ids(&pending)
        .vpc_endpoint_ids("vpce-0123456789abcdef0")
        .send()
        .await
        .expect("the call itself succeeds");
    let failures: Vec<_> = out
        .unsuccessful()
        .iter()
        .map(|u| {
            (
                u.resource_id().unwrap(),
                u.error().and_then(|e| e.code()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        failures,
        [("vpce-0123456789abcdef0", "InvalidVpcEndpointId.NotFound")]
    );
    assert_eq!(
        provider_states(&ec2, &service).await[&pending],
        ConnectionState::Available
    );
}

#[tokio::test]
async fn injected_throttling_reaches_the_sdk_as_request_limit_exceeded() {
    let provider = random_account();
    let service = create_service(&provider, true).await;
    let endpoint = create_endpoint(&random_account(), &service, 1).await;
    arm_fault(serde_json::json!({
        "operation": "AcceptVpcEndpointConnections", "error": "RequestLimitExceeded",
        "count": 1, "account": provider,
    }));
    let counter = CallCounter::new();
    let ec2 = ec2_client(&config_for(&provider).await, &counter, false);
    let err = ec2
        .accept_vpc_endpoint_connections()
        .service_id(&service)
        .vpc_endpoint_ids(&endpoint)
        .send()
        .await
        .expect_err("the fault fails the call");
    assert_eq!(err.code(), Some("RequestLimitExceeded"));
    assert_eq!(
        provider_states(&ec2, &service).await[&endpoint],
        ConnectionState::PendingAcceptance
    );
    // The fault was armed for one call: the next one goes through.
    ec2.accept_vpc_endpoint_connections()
        .service_id(&service)
        .vpc_endpoint_ids(&endpoint)
        .send()
        .await
        .unwrap();
    assert_eq!(
        provider_states(&ec2, &service).await[&endpoint],
        ConnectionState::Available
    );
    assert_eq!(counter.count("AcceptVpcEndpointConnections"), 2);
}

#[tokio::test]
async fn the_sdk_retries_injected_throttling_with_backoff() {
    let provider = random_account();
    let service = create_service(&provider, true).await;
    let endpoint = create_endpoint(&random_account(), &service, 1).await;
    arm_fault(serde_json::json!({
        "operation": "AcceptVpcEndpointConnections", "error": "RequestLimitExceeded",
        "count": 2, "account": provider,
    }));
    let counter = CallCounter::new();
    let ec2 = ec2_client(&config_for(&provider).await, &counter, true);
    ec2.accept_vpc_endpoint_connections()
        .service_id(&service)
        .vpc_endpoint_ids(&endpoint)
        .send()
        .await
        .unwrap();
    assert_eq!(
        counter.count("AcceptVpcEndpointConnections"),
        3,
        "two throttled attempts, then success"
    );
}

fn endpoint_dimensions(endpoint: &str) -> Vec<Dimension> {
    [
        ("Endpoint Type", "Interface"),
        ("Service Name", "com.amazonaws.vpce.us-east-1.vpce-svc-0abc"),
        ("VPC Endpoint Id", endpoint),
        ("VPC Id", "vpc-0abc"),
    ]
    .into_iter()
    .map(|(n, v)| Dimension::builder().name(n).value(v).build())
    .collect()
}

#[tokio::test]
async fn cloudwatch_metric_data_round_trips_over_cbor() {
    let counter = CallCounter::new();
    let cw = cloudwatch_client(&config_for(&random_account()).await, &counter);
    let hour = 1_795_766_400; // 2026-11-27T08:00:00Z
    let dims = endpoint_dimensions("vpce-0123abcd");
    let data: Vec<_> = [(60, 1_073_741_824.0), (120, 536_870_912.5), (3600, 99.0)]
        .into_iter()
        .map(|(offset, value)| {
            MetricDatum::builder()
                .metric_name("BytesProcessed")
                .set_dimensions(Some(dims.clone()))
                .timestamp(DateTime::from_secs(hour + offset))
                .value(value)
                .unit(StandardUnit::Bytes)
                .build()
        })
        .collect();
    cw.put_metric_data()
        .namespace("AWS/PrivateLinkEndpoints")
        .set_metric_data(Some(data))
        .send()
        .await
        .unwrap();

    let query = MetricDataQuery::builder()
        .id("q0")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace("AWS/PrivateLinkEndpoints")
                        .metric_name("BytesProcessed")
                        .set_dimensions(Some(dims.clone()))
                        .build(),
                )
                .period(3600)
                .stat("Sum")
                .build(),
        )
        .build();
    let out = cw
        .get_metric_data()
        .start_time(DateTime::from_secs(hour))
        .end_time(DateTime::from_secs(hour + 3600))
        .metric_data_queries(query)
        .send()
        .await
        .expect("get metric data");
    let [result] = out.metric_data_results() else {
        panic!("one result: {out:?}")
    };
    assert_eq!(result.id(), Some("q0"));
    assert_eq!(
        result.values(),
        [1_610_612_736.5],
        "the sum of the two data points inside the hour"
    );
    assert_eq!(result.timestamps(), [DateTime::from_secs(hour)]);

    let listed = cw
        .list_metrics()
        .namespace("AWS/PrivateLinkEndpoints")
        .send()
        .await
        .unwrap();
    assert!(listed.metrics().iter().any(|m| {
        m.dimensions()
            .iter()
            .any(|d| d.name() == Some("VPC Endpoint Id"))
    }));
    assert_eq!(counter.count("PutMetricData"), 1);
    assert_eq!(counter.count("GetMetricData"), 1);
}

#[tokio::test]
async fn cloudwatch_dashboards_alarms_and_errors_over_cbor() {
    let cw = cloudwatch_client(&config_for(&random_account()).await, &CallCounter::new());
    let body = r#"{"widgets":[]}"#;
    cw.put_dashboard()
        .dashboard_name("plgov-test")
        .dashboard_body(body)
        .send()
        .await
        .unwrap();
    let got = cw
        .get_dashboard()
        .dashboard_name("plgov-test")
        .send()
        .await
        .unwrap();
    assert_eq!(got.dashboard_body(), Some(body));
    let alarms = cw.describe_alarms().send().await.unwrap();
    assert!(alarms.metric_alarms().is_empty());
    let err = cw
        .get_dashboard()
        .dashboard_name("missing")
        .send()
        .await
        .expect_err("no such dashboard");
    assert!(
        err.code().unwrap_or_default().contains("ResourceNotFound"),
        "{err:?}"
    );
}

#[tokio::test]
async fn injected_cloudwatch_fault_reaches_the_sdk() {
    let account = random_account();
    arm_fault(serde_json::json!({
        "operation": "PutMetricData", "service": "cloudwatch", "status": 500, "count": -1, "account": account,
    }));
    let cw = cloudwatch_client(&config_for(&account).await, &CallCounter::new());
    let err = cw
        .put_metric_data()
        .namespace("PrivateLinkGovernor")
        .metric_data(
            MetricDatum::builder()
                .metric_name("DecisionErrors")
                .value(1.0)
                .build(),
        )
        .send()
        .await
        .expect_err("the fault fails the call");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
}
