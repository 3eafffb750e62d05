//! What the stack costs its user a month, at us-east-1 list prices, from what the emulator counted
//! during a simulated stretch of hours, next to the previous (naive) design.
//!
//! Prices (USD): CloudWatch custom metric $0.30 a month (prorated by the hour it has data),
//! GetMetricData $0.01 per 1,000 metrics requested, PutMetricData and ListMetrics $0.01 per 1,000
//! requests, alarm $0.10 a month, dashboard $3 a month (counted: most accounts already use their
//! three free ones), Logs ingestion $0.50 per GB; Lambda $0.20 per million requests and
//! $0.0000133334 per GB-second on arm64; DynamoDB on demand $0.625 per million write request units
//! and $0.125 per million read request units. Free tiers are not counted.

use serde_json::{Value, json};

pub const CUSTOM_METRIC_MONTH: f64 = 0.30;
pub const GET_METRIC_DATA_METRIC: f64 = 0.01 / 1000.0;
pub const API_REQUEST: f64 = 0.01 / 1000.0;
pub const ALARM_MONTH: f64 = 0.10;
pub const DASHBOARD_MONTH: f64 = 3.00;
pub const LOGS_PER_GB: f64 = 0.50;
pub const LAMBDA_REQUEST: f64 = 0.20 / 1_000_000.0;
pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
pub const DYNAMODB_WRITE_UNIT: f64 = 0.625 / 1_000_000.0;
pub const DYNAMODB_READ_UNIT: f64 = 0.125 / 1_000_000.0;
pub const HOURS_PER_MONTH: f64 = 730.0;
/// The stack's alarms (template.yaml).
pub const ALARMS: f64 = 4.0;
/// Sweeps a month at the default `rate(5 minutes)`.
pub const SWEEPS_PER_MONTH: f64 = 8_640.0;
/// Lambda memory of the cost reporter and the approver (template.yaml), in GB.
pub const REPORTER_GB: f64 = 0.25;
pub const APPROVER_GB: f64 = 0.125;
const GIB: f64 = 1_073_741_824.0;

/// What one stretch of cost runs used, per simulated hour.
#[derive(Debug, Clone, Default)]
pub struct HourlyUse {
    pub custom_metrics_with_data: f64,
    pub get_metric_data_metrics: f64,
    pub api_requests: f64,
    pub log_bytes: f64,
    pub lambda_seconds: f64,
    pub dynamodb_reads: f64,
    pub dynamodb_writes: f64,
}

/// What one no-op sweep of the approver uses.
#[derive(Debug, Clone, Default)]
pub struct SweepUse {
    pub log_bytes: f64,
    pub lambda_seconds: f64,
    pub dynamodb_reads: f64,
}

fn usd(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The monthly bill, line by line.
pub fn monthly(cost: &HourlyUse, sweep: &SweepUse) -> Value {
    let lines = [
        ("dashboard", DASHBOARD_MONTH),
        ("alarms", ALARMS * ALARM_MONTH),
        (
            "custom metrics",
            cost.custom_metrics_with_data * CUSTOM_METRIC_MONTH,
        ),
        (
            "GetMetricData",
            cost.get_metric_data_metrics * HOURS_PER_MONTH * GET_METRIC_DATA_METRIC,
        ),
        (
            "PutMetricData and ListMetrics requests",
            cost.api_requests * HOURS_PER_MONTH * API_REQUEST,
        ),
        (
            "logs ingested",
            (cost.log_bytes * HOURS_PER_MONTH + sweep.log_bytes * SWEEPS_PER_MONTH) / GIB
                * LOGS_PER_GB,
        ),
        (
            "Lambda",
            (HOURS_PER_MONTH + SWEEPS_PER_MONTH) * LAMBDA_REQUEST
                + (cost.lambda_seconds * HOURS_PER_MONTH * REPORTER_GB
                    + sweep.lambda_seconds * SWEEPS_PER_MONTH * APPROVER_GB)
                    * LAMBDA_GB_SECOND,
        ),
        (
            "DynamoDB",
            (cost.dynamodb_reads * HOURS_PER_MONTH + sweep.dynamodb_reads * SWEEPS_PER_MONTH)
                * DYNAMODB_READ_UNIT
                + cost.dynamodb_writes * HOURS_PER_MONTH * DYNAMODB_WRITE_UNIT,
        ),
    ];
    let total: f64 = lines.iter().map(|(_, v)| v).sum();
    json!({
        "lines": lines.iter().map(|(k, v)| json!({"item": k, "usd": usd(*v)})).collect::<Vec<_>>(),
        "total": usd(total),
    })
}

/// The design before: `PerEndpointMetrics` 25 with six metrics each and six for the region, and
/// every endpoint queried every hour; the rest as measured.
pub fn naive(endpoints: f64, measured: &Value) -> Value {
    let metrics = 25f64.min(endpoints) * 6.0 + 6.0;
    let replaced = ["custom metrics", "GetMetricData"];
    let rest: f64 = measured["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| !replaced.contains(&l["item"].as_str().unwrap()))
        .map(|l| l["usd"].as_f64().unwrap())
        .sum();
    let custom = metrics * CUSTOM_METRIC_MONTH;
    let queries = endpoints * HOURS_PER_MONTH * GET_METRIC_DATA_METRIC;
    json!({
        "customMetrics": metrics, "customMetricsUsd": usd(custom), "getMetricDataUsd": usd(queries),
        "total": usd(rest + custom + queries),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_naive_bill_at_100_endpoints_is_the_issues_figure() {
        // 156 custom metrics $46.80 and 100 x 730 x $0.00001 = $0.73, with a dashboard and alarms.
        let measured = monthly(&HourlyUse::default(), &SweepUse::default());
        let n = naive(100.0, &measured);
        assert_eq!(n["customMetrics"], 156.0);
        assert_eq!(n["getMetricDataUsd"], 0.73);
        assert!(
            (n["total"].as_f64().unwrap() - (3.0 + 0.4 + 46.8 + 0.73)).abs() < 0.005,
            "{n}"
        );
    }
}
