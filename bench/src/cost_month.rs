//! The cost reporter over a stretch of simulated hours with every endpoint moving traffic every
//! hour (the worst case for its bill): calls, wall time, memory, and what the emulator counted of
//! what AWS bills (GetMetricData metrics, custom metric hours, requests, log bytes, DynamoDB
//! units), per hour.

use std::path::PathBuf;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use plgov_integration_tests::*;
use plgov_shared::domain::hour::{Hour, format_utc};
use serde_json::{Value, json};

use crate::runner::{calls_of, delta, ms, run_function};
use crate::selfcost::HourlyUse;

/// Hours measured after one warm-up run (enough for two traffic turns every four hours).
const MEASURED_HOURS: i64 = 8;

fn usage_of(account: &str) -> Value {
    let (status, body) = http("GET", &format!("/_plgov/usage?account={account}"), "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn reset_usage(account: &str) {
    let (status, body) = http("DELETE", &format!("/_plgov/usage?account={account}"), "");
    assert_eq!(status, 200, "{body}");
}

async fn create_fleet(provider: &Provider, count: usize) -> (Vec<String>, String, String) {
    let service = create_service(&provider.account, false).await;
    let ec2 = aws_sdk_ec2::Client::new(&provider.sdk);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.9.0.0/20")
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();
    let name = format!("com.amazonaws.vpce.{REGION}.{service}");
    let mut ids = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let (ec2, vpc, subnet, name) = (ec2.clone(), vpc.clone(), subnet.clone(), name.clone());
        tasks.spawn(async move {
            ec2.create_vpc_endpoint()
                .vpc_id(vpc)
                .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
                .subnet_ids(subnet)
                .service_name(name)
                .send()
                .await
                .expect("create endpoint")
                .vpc_endpoint
                .and_then(|e| e.vpc_endpoint_id)
                .expect("id")
        });
        if tasks.len() >= 16 || i + 1 == count {
            while let Some(id) = tasks.join_next().await {
                ids.push(id.unwrap());
            }
        }
    }
    (ids, name, vpc)
}

/// An hour of traffic on every endpoint, as CloudWatch publishes it.
async fn traffic(provider: &Provider, ids: &[String], service: &str, vpc: &str, hour: Hour) {
    let cw = aws_sdk_cloudwatch::Client::new(&provider.sdk);
    for (chunk_no, chunk) in ids.chunks(1000).enumerate() {
        let data: Vec<MetricDatum> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let gib = ((chunk_no * 1000 + i) % 97 + 1) as f64;
                let dims = [
                    ("Endpoint Type", "Interface"),
                    ("Service Name", service),
                    ("VPC Endpoint Id", id.as_str()),
                    ("VPC Id", vpc),
                ]
                .into_iter()
                .map(|(n, v)| Dimension::builder().name(n).value(v).build())
                .collect();
                MetricDatum::builder()
                    .metric_name("BytesProcessed")
                    .set_dimensions(Some(dims))
                    .timestamp(DateTime::from_secs(hour.start() + 120))
                    .value(gib * 1_073_741_824.0)
                    .build()
            })
            .collect();
        cw.put_metric_data()
            .namespace("AWS/PrivateLinkEndpoints")
            .set_metric_data(Some(data))
            .send()
            .await
            .unwrap();
    }
}

/// Runs the reporter once an hour for `MEASURED_HOURS` simulated hours over `count` endpoints
/// that all move traffic every hour. Returns the figures and the use per hour.
pub async fn scenario(reporter: &PathBuf, count: usize) -> (Value, HourlyUse) {
    eprintln!(
        "[bench] cost: {count} endpoints, each with traffic every hour, priced hourly for {MEASURED_HOURS} hours"
    );
    let provider = Provider::new().await;
    provider.create_cost_table().await;
    let (ids, service, vpc) = create_fleet(&provider, count).await;
    // Findings are imported (once; a steady state imports nothing).
    aws_sdk_securityhub::Client::new(&provider.sdk)
        .enable_security_hub()
        .send()
        .await
        .expect("enable Security Hub");
    // Simulated hours well inside the two weeks CloudWatch takes: the endpoints exist since before.
    let start = Hour::last_full_before(plgov_shared::adapters::epoch_now()).plus(-24);
    provider.backdate(&ids, start.start() - 2 * 86_400);
    let mut env = credentials_env(&provider.account).await;
    env.extend([
        ("COST_TABLE".into(), COST_TABLE.into()),
        ("ACCOUNT_ID".into(), provider.account.clone()),
    ]);
    let event = |hour: Hour| {
        json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {},
               "time": format_utc(hour.end() + 600)})
    };
    // Warm-up: the first run prices every hour late data may still change (all of them new),
    // and reads the rates from the Price List.
    let at_start = calls_of(&provider.account);
    traffic(&provider, &ids, &service, &vpc, start).await;
    run_function(reporter, &env, Some(&event(start)));
    reset_usage(&provider.account);
    let before = calls_of(&provider.account);
    let (mut wall, mut lambda_seconds, mut log_bytes, mut peak) = (Vec::new(), 0.0, 0.0, 0.0f64);
    let mut queried_runs = 0;
    for k in 1..=MEASURED_HOURS {
        let hour = start.plus(k);
        traffic(&provider, &ids, &service, &vpc, hour).await;
        let run = run_function(reporter, &env, Some(&event(hour)));
        let took = run.invocation.unwrap();
        wall.push(ms(took));
        lambda_seconds += took.as_secs_f64();
        // CloudWatch Logs bills each event's message and 26 bytes.
        log_bytes += (run.log_bytes + 26 * run.log_lines) as f64;
        peak = peak.max(run.peak_rss_mb);
        let summary = run.response.unwrap();
        if summary["traffic"]["skipped"].is_null() {
            queried_runs += 1;
        }
    }
    let after = calls_of(&provider.account);
    let calls = delta(&before, &after);
    // GetProducts calls of the warm-up and the measured runs: two (one per product) a round.
    let price_list_calls: u64 = delta(&at_start, &after)
        .iter()
        .filter(|(k, _)| k.ends_with(":GetProducts"))
        .map(|(_, v)| v)
        .sum();
    let usage = usage_of(&provider.account);
    let hours = MEASURED_HOURS as f64;
    let api_requests = (calls.get("cloudwatch:PutMetricData").copied().unwrap_or(0)
        + calls.get("cloudwatch:ListMetrics").copied().unwrap_or(0)) as f64;
    let custom = &usage["cloudwatch"]["customMetrics"];
    let per_hour = HourlyUse {
        // Metric-hours of data, by the hour each data point is stamped with.
        custom_metrics_with_data: custom["metricHours"].as_f64().unwrap() / hours,
        get_metric_data_metrics: usage["cloudwatch"]["GetMetricData"]["metricsBilled"]
            .as_f64()
            .unwrap()
            / hours,
        api_requests: api_requests / hours,
        log_bytes: log_bytes / hours,
        lambda_seconds: lambda_seconds / hours,
        dynamodb_reads: usage["dynamodb"]["readRequestUnits"].as_f64().unwrap() / hours,
        dynamodb_writes: usage["dynamodb"]["writeRequestUnits"].as_f64().unwrap() / hours,
    };
    let figures = json!({
        "endpoints": count, "hoursMeasured": MEASURED_HOURS, "runsThatQueriedTraffic": queried_runs,
        "wallMsPerRun": wall, "peakRssMb": peak, "callsByOperation": calls,
        "callsPerRun": calls.values().sum::<u64>() as f64 / hours,
        "customMetrics": custom["count"], "getMetricDataMetricsPerHour": per_hour.get_metric_data_metrics,
        "logBytesPerHour": per_hour.log_bytes, "dynamodbReadUnitsPerHour": per_hour.dynamodb_reads,
        "dynamodbWriteUnitsPerHour": per_hour.dynamodb_writes,
        "priceListCallsInAllRuns": price_list_calls, "runs": MEASURED_HOURS + 1,
    });
    (figures, per_hour)
}
