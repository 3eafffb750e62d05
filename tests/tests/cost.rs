//! The cost reporter against the local emulator: inventory, traffic (recently active endpoints,
//! several hours per query), the cost table's ledger, and what CloudWatch ends up holding.
//! The clock is an input: every test prices 2026-11-15, whatever the day it runs.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::VpcEndpointType;
use plgov_integration_tests::*;
use plgov_shared::domain::cost::{CostTotals, EndpointCost};
use plgov_shared::domain::hour::Hour;
use plgov_shared::domain::price_list::RateSource;
use plgov_shared::domain::publishing::{HourRecord, Ledger};
use plgov_shared::ports::CostLedger;
use plgov_shared::tables::CostTable;
use plgov_shared::usecases::cost::CostSummary;
use serde_json::{Value, json};

const GIB: f64 = 1_073_741_824.0;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The hour priced, whatever the day the tests run: the endpoints are backdated to before it,
/// and the functions are told the clock reads ten minutes past its end.
fn priced_hour() -> Hour {
    Hour::parse("2026-11-15T10:00:00Z").unwrap()
}

fn now() -> i64 {
    priced_hour().end() + 600
}

fn scheduled(at: i64) -> Value {
    json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {},
           "time": plgov_shared::domain::hour::format_utc(at)})
}

fn row<'a>(summary: &'a CostSummary, id: &str) -> &'a EndpointCost {
    summary
        .endpoints
        .iter()
        .find(|r| r.id.as_str() == id)
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
    for (endpoint, gib) in [(&f.one_az, 10.0), (&f.three_az, 500.0), (&f.gwlb, 20.0)] {
        f.provider
            .put_bytes_processed(endpoint, gib * GIB, hour.start())
            .await;
    }
    let reporter = f.provider.reporter(&[]);
    let summary = reporter
        .handle(&scheduled(now()), now(), "run-1")
        .await
        .unwrap();
    assert_eq!(summary.hour.as_deref(), Some("2026-11-15T10:00:00Z"));

    // Month-to-date 0 GB, so all 510 interface GB are in the first tier ($0.01/GB); NAT $0.045/GB.
    // 1 AZ, 10 GB:  0.01 + 10 x 0.01 = 0.11;  NAT 10 x 0.045 = 0.45;  saves 0.34
    let a = &row(&summary, &f.one_az).figures;
    assert!(
        close(a.hourly_cost, 0.01) && close(a.data_cost, 0.10) && close(a.cost, 0.11),
        "{a:?}"
    );
    assert!(close(a.nat_equivalent_cost, 0.45) && close(a.nat_savings, 0.34));
    // 2 AZ, no data: 2 x 0.01 = 0.02; saves -0.02 (costs more than it saves)
    let b = &row(&summary, &f.two_az).figures;
    assert!(close(b.cost, 0.02) && close(b.nat_savings, -0.02), "{b:?}");
    // 3 AZ, 500 GB: 0.03 + 5.00 = 5.03; NAT 22.50; saves 17.47
    let c = &row(&summary, &f.three_az).figures;
    assert!(
        close(c.cost, 5.03) && close(c.nat_equivalent_cost, 22.5) && close(c.nat_savings, 17.47),
        "{c:?}"
    );
    // Gateway Load Balancer endpoint, 20 GB: 0.01 + 20 x 0.0035 = 0.08; NAT 0.90; saves 0.82
    let g = &row(&summary, &f.gwlb).figures;
    assert!(close(g.cost, 0.08) && close(g.nat_savings, 0.82), "{g:?}");
    assert!(close(row(&summary, &f.gateway).figures.cost, 0.0));
    // Region: 0.11 + 0.02 + 5.03 + 0.08 = 5.24; NAT 0.45 + 22.5 + 0.9 = 23.85; saves 18.61
    assert!(close(summary.total.cost, 5.24) && close(summary.total.nat_equivalent_cost, 23.85));
    assert!(close(summary.total.nat_savings, 18.61));
    assert_eq!(
        summary.endpoints[0].id.as_str(),
        f.three_az,
        "sorted by cost"
    );
    // Only the endpoints with traffic were queried, once for every hour priced.
    assert_eq!(summary.traffic.queried, 3);
    assert_eq!(reporter.calls().count("GetMetricData"), 1);
    assert_eq!(reporter.calls().count("ListMetrics"), 1);
    // The rates were read from the Price List: endpoint products and NAT Gateway, one page each.
    assert_eq!(
        summary.rates.as_ref().unwrap().source,
        RateSource::PriceList
    );
    assert_eq!(reporter.calls().count("GetProducts"), 2);

    // The region's figures were published for the hour; no per-endpoint metrics by default.
    let metric = |name, endpoint| f.provider.cost_metric(name, endpoint, hour.start());
    assert!(close(metric("EndpointCost", None).await.unwrap(), 5.24));
    assert!(close(
        metric("NatEquivalentCost", None).await.unwrap(),
        23.85
    ));
    assert!(metric("EndpointCost", Some(&f.three_az)).await.is_none());
    assert!(
        metric("NatSavings", None).await.is_none(),
        "savings are metric math on the dashboard"
    );
}

#[tokio::test]
async fn pricing_again_never_adds_and_a_new_month_starts_from_zero() {
    let f = fleet().await;
    let hour = priced_hour();
    f.provider
        .put_bytes_processed(&f.three_az, 500.0 * GIB, hour.start())
        .await;
    let reporter = f.provider.reporter(&[]);
    let event = json!({"hour": hour.to_string()});
    let first = reporter.handle(&event, now(), "run-1").await.unwrap();
    let second = reporter.handle(&event, now() + 60, "run-2").await.unwrap();
    assert_eq!(first.total, second.total);
    assert!(!second.hours[0].changed);
    assert_eq!(
        second.metrics_published, 0,
        "nothing new, nothing published"
    );
    assert!(close(
        f.provider
            .cost_metric("EndpointCost", None, hour.start())
            .await
            .unwrap(),
        first.total.cost
    ));
    // The next hour counts it once; the first hour of the next month starts from zero.
    let next = hour.plus(1);
    let later = reporter
        .handle(&json!({"hour": next.to_string()}), now() + 3600, "run-3")
        .await
        .unwrap();
    assert!(
        close(later.month_to_date_gb_before, 500.0),
        "{}",
        later.month_to_date_gb_before
    );
    let december = Hour::parse("2026-12-01T00:00:00Z").unwrap();
    let dec = reporter
        .handle(
            &json!({"hour": december.to_string()}),
            december.end() + 600,
            "run-4",
        )
        .await
        .unwrap();
    assert!(
        close(dec.month_to_date_gb_before, 0.0),
        "a new month starts from zero"
    );
}

#[tokio::test]
async fn an_hour_crossing_the_1_pb_boundary_is_priced_at_both_tiers() {
    let f = fleet().await;
    let hour = priced_hour();
    // Earlier this month: 1,048,476 GB, 100 GB below the 1 PB boundary (recorded an hour before).
    let earlier = HourRecord {
        hour: hour.plus(-1),
        version: 1,
        priced_at: hour.start(),
        interface_gb: 1_048_476.0,
        totals: CostTotals::default(),
        endpoints: 0,
        unpriced: 0,
        bytes: BTreeMap::new(),
        ledger: Ledger::default(),
    };
    let table = CostTable::new(f.provider.dynamodb.clone(), COST_TABLE);
    assert!(
        table
            .write_hour(REGION, &earlier, None, false)
            .await
            .unwrap()
    );
    f.provider
        .put_bytes_processed(&f.three_az, 300.0 * GIB, hour.start())
        .await;
    let summary = f
        .provider
        .reporter(&[])
        .handle(&json!({"hour": hour.to_string()}), now(), "run-1")
        .await
        .unwrap();
    assert!(close(summary.month_to_date_gb_before, 1_048_476.0));
    // 100 GB at $0.01 + 200 GB at $0.006 = 1.00 + 1.20 = 2.20
    let c = &row(&summary, &f.three_az).figures;
    assert!(close(c.data_cost, 2.2), "{c:?}");
    assert!(close(c.cost, 0.03 + 2.2));
}

#[tokio::test]
async fn two_thousand_endpoints_in_few_calls_with_opt_in_per_endpoint_metrics() {
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
    let reporter = provider.reporter(&[("PER_ENDPOINT_METRICS", "25")]);
    let summary = reporter
        .handle(&scheduled(now()), now(), "run-1")
        .await
        .unwrap();
    assert_eq!(summary.endpoints.len(), 2000);
    assert_eq!(
        summary.traffic.queried, 30,
        "the 1,970 idle endpoints need no query"
    );
    // Two region metrics and two per endpoint for the 25 most expensive, for the newest hour;
    // the hours before it (nothing else existed) only hold AZ-hours.
    assert!(
        summary.metrics_published >= 2 + 25 * 2,
        "{}",
        summary.metrics_published
    );
    println!(
        "2000 endpoints, top 25: calls {:?}",
        reporter.calls().snapshot()
    );
    assert_eq!(reporter.calls().count("GetMetricData"), 1);
    assert_eq!(reporter.calls().count("PutMetricData"), 1);
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
}

#[tokio::test]
async fn unknown_region_bad_override_or_malformed_event_publish_nothing() {
    let f = fleet().await;
    let hour = priced_hour();
    let unknown = f.provider.reporter(&[("AWS_REGION", "mars-east-1")]);
    let err = unknown
        .handle(&json!({"hour": hour.to_string()}), now(), "run")
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "no prices for region mars-east-1: the Price List could not be used (Price List mars-east-1 VpcEndpoint-Hours: no record)"
        ),
        "{err}"
    );
    assert_eq!(
        lambda_runtime::Diagnostic::from(err).error_type,
        "MissingPrice"
    );
    assert_eq!(
        unknown.calls().count("PutMetricData") + unknown.calls().count("PutItem"),
        0
    );

    // eu-west-1 lists no Gateway Load Balancer endpoint rate: that endpoint cannot be priced, so
    // nothing is priced or published (only the rates read are kept).
    let no_gwlb = f.provider.reporter(&[("AWS_REGION", "eu-west-1")]);
    let err = no_gwlb
        .handle(&json!({"hour": hour.to_string()}), now(), "run")
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no gwlbEndpointHour rate for region eu-west-1"),
        "{err}"
    );
    assert_eq!(no_gwlb.calls().count("PutMetricData"), 0);
    assert_eq!(no_gwlb.calls().count("PutItem"), 1, "the rates only");

    let reporter = f.provider.reporter(&[]);
    for (event, error_type) in [
        (json!({"hour": "2026-11-27T08:15:00Z"}), "InvalidEvent"),
        (json!({"detail-type": "Nope"}), "InvalidEvent"),
        (json!([1]), "InvalidEvent"),
        // Older than CloudWatch takes data points for, or not over yet: refused before anything.
        (json!({"hour": "2026-10-01T00:00:00Z"}), "HourNotPriceable"),
        (json!({"hour": "2026-11-15T11:00:00Z"}), "HourNotPriceable"),
    ] {
        let err = reporter.handle(&event, now(), "run").await.unwrap_err();
        assert_eq!(
            lambda_runtime::Diagnostic::from(err).error_type,
            error_type,
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

#[tokio::test]
async fn late_data_and_a_short_lived_endpoint_are_priced_for_their_hour() {
    let f = fleet().await;
    let hour = priced_hour();
    f.provider
        .put_bytes_processed(&f.one_az, 10.0 * GIB, hour.start())
        .await;
    // An endpoint created and deleted inside the hour: AWS lists it as deleted.
    let name = format!(
        "com.amazonaws.vpce.{REGION}.{}",
        create_service(&f.provider.account, false).await
    );
    let brief = f
        .provider
        .create_own_endpoint(VpcEndpointType::Interface, &name, 1)
        .await;
    f.provider
        .backdate(std::slice::from_ref(&brief), hour.start() + 300);
    aws_sdk_ec2::Client::new(&f.provider.sdk)
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&brief)
        .send()
        .await
        .unwrap();
    let reporter = f.provider.reporter(&[]);
    let first = reporter
        .handle(&scheduled(now()), now(), "run-1")
        .await
        .unwrap();
    assert!(
        first.endpoints.iter().any(|r| r.id.as_str() == brief),
        "created and deleted inside the hour"
    );
    let shown = |at| f.provider.cost_metric("EndpointCost", None, at);
    let before = shown(hour.start()).await.unwrap();
    // Two hours later, a late data point for 10:00 arrives; the next scheduled run counts it.
    f.provider
        .put_bytes_processed(&f.one_az, 20.0 * GIB, hour.start())
        .await;
    let later = now() + 2 * 3600;
    let second = reporter
        .handle(&scheduled(later), later, "run-2")
        .await
        .unwrap();
    assert!(
        second
            .hours
            .iter()
            .any(|h| h.hour == hour.to_string() && h.changed)
    );
    let after = shown(hour.start()).await.unwrap();
    // 10 + 20 GB: 20 GB more at $0.01.
    assert!(close(after - before, 0.20), "{before} -> {after}");
}

#[tokio::test]
async fn a_publish_lost_after_the_cost_table_write_is_settled_from_cloudwatch_never_doubled() {
    let f = fleet().await;
    let hour = priced_hour();
    f.provider
        .put_bytes_processed(&f.three_az, 100.0 * GIB, hour.start())
        .await;
    let reporter = f.provider.reporter(&[]);
    let event = json!({"hour": hour.to_string()});
    let shown = || f.provider.cost_metric("EndpointCost", None, hour.start());
    let first = reporter.handle(&event, now(), "run-1").await.unwrap();
    // Late data, then a pricing whose PutMetricData fails every attempt, after the table write.
    f.provider
        .put_bytes_processed(&f.three_az, 50.0 * GIB, hour.start())
        .await;
    arm_fault(
        json!({"operation": "PutMetricData", "service": "cloudwatch",
                     "account": f.provider.account, "count": 3}),
    );
    let failed = reporter.handle(&event, now() + 60, "run-2").await;
    disarm_faults(&f.provider.account);
    assert!(failed.is_err());
    assert!(
        close(shown().await.unwrap(), first.total.cost),
        "nothing reached CloudWatch"
    );
    // A retry a minute later leaves the unconfirmed publish alone...
    let retry = reporter.handle(&event, now() + 120, "run-3").await.unwrap();
    assert!(retry.hours[0].deferred.is_some());
    assert!(close(shown().await.unwrap(), first.total.cost));
    // ...and a run after the settle time reads CloudWatch and publishes the latest pricing once.
    let settled = reporter
        .handle(&event, now() + 60 * 20, "run-4")
        .await
        .unwrap();
    assert!(close(shown().await.unwrap(), settled.total.cost));
    assert!(
        close(settled.total.cost - first.total.cost, 0.50),
        "50 GB more at $0.01"
    );
    let again = reporter
        .handle(&event, now() + 60 * 40, "run-5")
        .await
        .unwrap();
    assert_eq!(again.metrics_published, 0);
    assert!(close(shown().await.unwrap(), settled.total.cost));
}

#[tokio::test]
async fn a_region_the_builtin_table_lacks_is_priced_from_the_price_list_and_kept_a_day() {
    let f = fleet().await;
    let hour = priced_hour();
    f.provider
        .put_bytes_processed(&f.three_az, 100.0 * GIB, hour.start())
        .await;
    f.provider
        .put_bytes_processed(&f.gwlb, 20.0 * GIB, hour.start())
        .await;
    // ap-southeast-5: endpoint $0.0117 per AZ-hour, data $0.01/GB, GWLB endpoint $0.0117/h and
    // $0.0035/GB, NAT $0.05015 per hour and per GB (the Price List records of the emulator).
    let reporter = f.provider.reporter(&[("AWS_REGION", "ap-southeast-5")]);
    let event = json!({"hour": hour.to_string()});
    let first = reporter.handle(&event, now(), "run-1").await.unwrap();
    assert_eq!(first.rates.as_ref().unwrap().source, RateSource::PriceList);
    assert_eq!(reporter.calls().count("GetProducts"), 2);
    // 3 AZ, 100 GB: 3 x 0.0117 + 100 x 0.01 = 1.0351; NAT 100 x 0.05015 = 5.015
    let c = &row(&first, &f.three_az).figures;
    assert!(
        close(c.cost, 1.0351) && close(c.nat_equivalent_cost, 5.015),
        "{c:?}"
    );
    // GWLB, 20 GB: 0.0117 + 20 x 0.0035 = 0.0817
    assert!(close(row(&first, &f.gwlb).figures.cost, 0.0817));
    assert!(close(row(&first, &f.one_az).figures.cost, 0.0117));

    // The same day: the rates kept in the cost table, no Price List call.
    let second = reporter
        .handle(&event, now() + 3_600, "run-2")
        .await
        .unwrap();
    assert_eq!(reporter.calls().count("GetProducts"), 2);
    let used = second.rates.as_ref().unwrap();
    assert_eq!(used.source, RateSource::PriceListCache);
    assert_eq!(
        used.fetched_at.as_deref(),
        Some(plgov_shared::domain::hour::format_utc(now()).as_str())
    );
    assert_eq!(second.total, first.total);

    // Two days later the Price List cannot be reached: the rates it gave last, and why.
    arm_fault(
        json!({"operation": "GetProducts", "account": f.provider.account,
        "error": "ThrottlingException", "count": 100}),
    );
    let later = reporter.handle(&event, now() + 2 * 86_400, "run-3").await;
    disarm_faults(&f.provider.account);
    let later = later.unwrap();
    let used = later.rates.as_ref().unwrap();
    assert_eq!(used.source, RateSource::PriceListCache);
    assert!(
        used.fallback_reason
            .as_deref()
            .unwrap()
            .contains("ThrottlingException"),
        "{used:?}"
    );
    assert_eq!(later.total, first.total);
}

#[tokio::test]
async fn without_the_price_list_the_builtin_table_prices_or_the_error_is_clear() {
    let f = fleet().await;
    let hour = priced_hour();
    let event = json!({"hour": hour.to_string()});
    arm_fault(
        json!({"operation": "GetProducts", "account": f.provider.account,
        "error": "AccessDeniedException", "status": 400, "count": 100}),
    );
    // us-east-1 is in the built-in table: priced from it, and the result says why.
    let reporter = f.provider.reporter(&[]);
    let s = reporter.handle(&event, now(), "run-1").await;
    // A region it lacks: nothing priced, an error that says what was tried.
    let lacking = f.provider.reporter(&[("AWS_REGION", "eu-west-2")]);
    let err = lacking.handle(&event, now(), "run-2").await;
    disarm_faults(&f.provider.account);
    let s = s.unwrap();
    let used = s.rates.as_ref().unwrap();
    assert_eq!(used.source, RateSource::BuiltIn);
    assert!(
        used.fallback_reason
            .as_deref()
            .unwrap()
            .contains("AccessDeniedException"),
        "{used:?}"
    );
    assert!(close(row(&s, &f.two_az).figures.cost, 0.02));
    let err = err.unwrap_err().to_string();
    assert!(
        err.starts_with("no prices for region eu-west-2: the Price List could not be used (GetProducts failed: access denied: the identity in use may not call GetProducts (AccessDeniedException"),
        "{err}"
    );
    assert!(err.contains("the built-in table does not have it"), "{err}");
    assert_eq!(
        lacking.calls().count("PutItem") + lacking.calls().count("PutMetricData"),
        0
    );
}
