//! The cost reporter against the local emulator: inventory, traffic, month-to-date, metrics.

use aws_sdk_ec2::types::VpcEndpointType;
use plgov_integration_tests::*;
use plgov_shared::domain::hour::Hour;
use plgov_shared::ports::MonthToDateStore;
use plgov_shared::tables::DynamoMonthToDate;
use plgov_shared::usecases::cost::CostSummary;
use serde_json::json;

const GIB: f64 = 1_073_741_824.0;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The hour being priced, whatever the day the tests run: the endpoints are backdated to before
/// it, and the functions are told the clock reads ten minutes past its end.
fn priced_hour() -> Hour {
    Hour::parse("2026-11-15T10:00:00Z").unwrap()
}

fn now() -> i64 {
    priced_hour().end() + 600
}

fn row<'a>(summary: &'a CostSummary, id: &str) -> &'a plgov_shared::domain::cost::EndpointCost {
    summary
        .endpoints
        .iter()
        .find(|r| r.id == id)
        .unwrap_or_else(|| panic!("no row for {id}"))
}

struct Fleet {
    provider: Provider,
    one_az: String,
    two_az: String,
    three_az: String,
    gateway: String,
    gwlb: String,
}

/// Interface endpoints with 1, 2 and 3 AZs, a Gateway endpoint and a Gateway Load Balancer endpoint.
async fn fleet() -> Fleet {
    let provider = Provider::new().await;
    provider.create_cost_table().await;
    let service = create_service(&provider.account, false).await;
    let name = format!("com.amazonaws.vpce.{REGION}.{service}");
    let fleet = Fleet {
        one_az: provider
            .create_own_endpoint(VpcEndpointType::Interface, &name, 1)
            .await,
        two_az: provider
            .create_own_endpoint(VpcEndpointType::Interface, &name, 2)
            .await,
        three_az: provider
            .create_own_endpoint(VpcEndpointType::Interface, &name, 3)
            .await,
        gateway: provider
            .create_own_endpoint(VpcEndpointType::Gateway, "com.amazonaws.us-east-1.s3", 0)
            .await,
        gwlb: provider
            .create_own_endpoint(VpcEndpointType::GatewayLoadBalancer, &name, 1)
            .await,
        provider,
    };
    let all = [
        &fleet.one_az,
        &fleet.two_az,
        &fleet.three_az,
        &fleet.gateway,
        &fleet.gwlb,
    ];
    fleet
        .provider
        .backdate(&all.map(|e| e.to_string()), priced_hour().start() - 86_400);
    fleet
}

#[tokio::test]
async fn an_hour_in_us_east_1_equals_the_hand_computed_figures() {
    let f = fleet().await;
    let hour = priced_hour();
    f.provider
        .put_bytes_processed(&f.one_az, 10.0 * GIB, hour.start())
        .await;
    f.provider
        .put_bytes_processed(&f.three_az, 500.0 * GIB, hour.start())
        .await;
    f.provider
        .put_bytes_processed(&f.gwlb, 20.0 * GIB, hour.start())
        .await;
    let reporter = f.provider.reporter(&[]);
    let summary = reporter
        .handle(&json!({"hour": hour.to_string()}), now())
        .await
        .unwrap();
    assert_eq!(summary.hour, hour.to_string());

    // Month-to-date 0 GB, so all 510 interface GB are in the first tier ($0.01/GB); NAT $0.045/GB.
    // 1 AZ, 10 GB:  0.01 + 10 x 0.01 = 0.11;  NAT 10 x 0.045 = 0.45;  saves 0.34
    let a = row(&summary, &f.one_az);
    assert!(
        close(a.hourly_cost, 0.01) && close(a.data_cost, 0.10) && close(a.cost, 0.11),
        "{a:?}"
    );
    assert!(close(a.nat_equivalent_cost, 0.45) && close(a.nat_savings, 0.34));
    // 2 AZ, no data: 2 x 0.01 = 0.02; saves -0.02 (costs more than it saves)
    let b = row(&summary, &f.two_az);
    assert!(
        close(b.cost, 0.02) && close(b.data_cost, 0.0) && close(b.nat_savings, -0.02),
        "{b:?}"
    );
    // 3 AZ, 500 GB: 0.03 + 5.00 = 5.03; NAT 22.50; saves 17.47
    let c = row(&summary, &f.three_az);
    assert!(
        close(c.cost, 5.03) && close(c.nat_equivalent_cost, 22.5) && close(c.nat_savings, 17.47),
        "{c:?}"
    );
    // Gateway Load Balancer endpoint, 20 GB: 0.01 + 20 x 0.0035 = 0.08; NAT 0.90; saves 0.82
    let g = row(&summary, &f.gwlb);
    assert!(close(g.cost, 0.08) && close(g.nat_savings, 0.82), "{g:?}");
    assert!(
        close(row(&summary, &f.gateway).cost, 0.0),
        "gateway endpoints are free"
    );
    // Region: 0.11 + 0.02 + 5.03 + 0.08 = 5.24; NAT 0.45 + 22.5 + 0.9 = 23.85; saves 18.61
    assert!(close(summary.total.cost, 5.24) && close(summary.total.nat_equivalent_cost, 23.85));
    assert!(close(summary.total.nat_savings, 18.61));
    assert_eq!(summary.endpoints[0].id, f.three_az, "sorted by cost");

    // The same figures were published for the hour, per endpoint and for the region.
    let metric = |name, endpoint| f.provider.cost_metric(name, endpoint, hour.start());
    assert!(close(
        metric("EndpointCost", Some(&f.three_az)).await.unwrap(),
        5.03
    ));
    assert!(close(
        metric("NatSavings", Some(&f.two_az)).await.unwrap(),
        -0.02
    ));
    assert!(close(
        metric("EndpointDataCost", Some(&f.one_az)).await.unwrap(),
        0.10
    ));
    assert!(close(
        metric("BytesProcessed", Some(&f.gwlb)).await.unwrap(),
        20.0 * GIB
    ));
    assert!(close(metric("EndpointCost", None).await.unwrap(), 5.24));
    assert!(close(metric("NatSavings", None).await.unwrap(), 18.61));
    assert!(close(
        metric("EndpointHourlyCost", None).await.unwrap(),
        0.01 + 0.02 + 0.03 + 0.01
    ));
    assert_eq!(reporter.calls().count("PutMetricData"), 1);
    assert_eq!(reporter.calls().count("GetMetricData"), 1);
}

#[tokio::test]
async fn pricing_an_hour_twice_does_not_double_the_month_to_date() {
    let f = fleet().await;
    let hour = priced_hour();
    f.provider
        .put_bytes_processed(&f.three_az, 500.0 * GIB, hour.start())
        .await;
    let reporter = f.provider.reporter(&[]);
    let event = json!({"hour": hour.to_string()});
    let first = reporter.handle(&event, now()).await.unwrap();
    let second = reporter.handle(&event, now()).await.unwrap();
    assert_eq!(first, second);
    // The next hour counts it once; the first hour of the next month starts from zero.
    let next = Hour::containing(hour.end());
    let later = reporter
        .handle(&json!({"hour": next.to_string()}), now() + 3600)
        .await
        .unwrap();
    assert!(
        close(later.month_to_date_gb_before, 500.0),
        "{}",
        later.month_to_date_gb_before
    );
    let next_month = Hour::parse("2026-12-01T00:00:00Z").unwrap();
    let december = reporter
        .handle(
            &json!({"hour": next_month.to_string()}),
            next_month.end() + 600,
        )
        .await
        .unwrap();
    assert!(
        close(december.month_to_date_gb_before, 0.0),
        "a new month starts from zero"
    );
}

#[tokio::test]
async fn an_hour_crossing_the_1_pb_boundary_is_priced_at_both_tiers() {
    let f = fleet().await;
    let hour = priced_hour();
    // Earlier this month: 1,048,476 GB, 100 GB below the 1 PB boundary (recorded an hour before).
    let earlier = Hour::containing(hour.start() - 3600);
    DynamoMonthToDate::new(f.provider.dynamodb.clone(), COST_TABLE)
        .record(REGION, earlier.start(), 1_048_476.0)
        .await
        .unwrap();
    f.provider
        .put_bytes_processed(&f.three_az, 300.0 * GIB, hour.start())
        .await;
    let summary = f
        .provider
        .reporter(&[])
        .handle(&json!({"hour": hour.to_string()}), now())
        .await
        .unwrap();
    assert!(close(summary.month_to_date_gb_before, 1_048_476.0));
    // 100 GB at $0.01 + 200 GB at $0.006 = 1.00 + 1.20 = 2.20
    let c = row(&summary, &f.three_az);
    assert!(close(c.data_cost, 2.2), "{c:?}");
    assert!(close(c.cost, 0.03 + 2.2));
}

#[tokio::test]
async fn two_thousand_endpoints_in_few_calls_with_top_n_metrics() {
    let provider = Provider::new().await;
    provider.create_cost_table().await;
    let service = create_service(&provider.account, false).await;
    assert_eq!(
        create_endpoints(&provider.account, &service, 2000).await,
        2000
    );
    let hour = priced_hour();
    let ec2 = aws_sdk_ec2::Client::new(&provider.sdk);
    let mut ids: Vec<String> = ec2
        .describe_vpc_endpoints()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.vpc_endpoint_id)
        .collect();
    ids.sort();
    provider.backdate(&ids, hour.start() - 86_400);
    // Traffic on 30 endpoints, growing: the 25 busiest are the most expensive.
    for (i, id) in ids.iter().take(30).enumerate() {
        provider
            .put_bytes_processed(id, (i + 1) as f64 * GIB, hour.start())
            .await;
    }
    let event = json!({"hour": hour.to_string()});

    let top = provider.reporter(&[]);
    let summary = top.handle(&event, now()).await.unwrap();
    assert_eq!(summary.endpoints.len(), 2000);
    assert_eq!(summary.endpoints_with_metrics, 25);
    assert_eq!(summary.metrics_published, 25 * 6 + 6);
    println!("2000 endpoints, top 25: calls {:?}", top.calls().snapshot());
    assert_eq!(top.calls().count("GetMetricData"), 2000u64.div_ceil(500));
    assert_eq!(top.calls().count("PutMetricData"), 1);
    assert!(
        provider
            .cost_metric("EndpointCost", Some(&ids[29]), hour.start())
            .await
            .is_some(),
        "busiest has metrics"
    );
    assert!(
        provider
            .cost_metric("EndpointCost", Some(&ids[4]), hour.start())
            .await
            .is_none(),
        "26th busiest has none"
    );

    let all = provider.reporter(&[("PER_ENDPOINT_METRICS", "all")]);
    let summary = all.handle(&event, now()).await.unwrap();
    assert_eq!(summary.metrics_published, 2000 * 6 + 6);
    println!("2000 endpoints, all: calls {:?}", all.calls().snapshot());
    assert_eq!(all.calls().count("GetMetricData"), 4);
    assert_eq!(
        all.calls().count("PutMetricData"),
        (2000u64 * 6 + 6).div_ceil(1000)
    );
}

#[tokio::test]
async fn unknown_region_bad_override_or_malformed_event_publish_nothing() {
    let f = fleet().await;
    let hour = priced_hour();
    let unknown = f.provider.reporter(&[("AWS_REGION", "sa-east-1")]);
    let err = unknown
        .handle(&json!({"hour": hour.to_string()}), now())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no prices for region sa-east-1: add it to PRICING_OVERRIDES"
    );
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "MissingPrice"
    );
    assert_eq!(unknown.calls().total(), 0);

    // eu-central-1's NAT rate is not known: its endpoints are not priced and nothing is published.
    let no_nat = f.provider.reporter(&[("AWS_REGION", "eu-central-1")]);
    // (The SDK still talks to us-east-1 in the emulator; only the price book's region changes.)
    let err = no_nat
        .handle(&json!({"hour": hour.to_string()}), now())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no natGb rate for region eu-central-1"),
        "{err}"
    );
    assert_eq!(
        no_nat.calls().count("PutMetricData") + no_nat.calls().count("PutItem"),
        0
    );

    let bad = plgov_shared::config::CostConfig::from_lookup(|n| match n {
        "COST_TABLE" => Some("t".into()),
        "AWS_REGION" => Some(REGION.into()),
        "PRICING_OVERRIDES" => Some(r#"{"us-east-1": {"natGb": -1}}"#.into()),
        _ => None,
    });
    assert!(
        bad.unwrap_err()
            .to_string()
            .contains("PRICING_OVERRIDES: us-east-1.natGb must be a non-negative number")
    );

    let reporter = f.provider.reporter(&[]);
    for event in [
        json!({"hour": "2026-11-27T08:15:00Z"}),
        json!({"detail-type": "Nope"}),
        json!([1]),
    ] {
        let err = reporter.handle(&event, now()).await.unwrap_err();
        assert_eq!(
            lambda_runtime::Diagnostic::from(err).error_type,
            "InvalidEvent",
            "{event}"
        );
    }
    assert_eq!(reporter.calls().total(), 0);
    assert!(
        f.provider
            .cost_metric("EndpointCost", None, hour.start())
            .await
            .is_none()
    );
}
