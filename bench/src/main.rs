//! `make bench`: the figures the issues ask for, measured against the local AWS emulator with
//! the release binaries of both functions run under a minimal Lambda Runtime API.
//!
//! - approver sweep: 1,000 pending connections over 5 services, 4 of 5 accounts allowed, then
//!   the same sweep again (nothing to do): wall time, AWS calls by operation, calls per connection;
//! - sweep scale: a sweep with nothing to decide over 5 and 1,000 services, and 1,000 services
//!   with 10 pending connections each, beside the per-service sweep of earlier versions;
//! - cost run: 10,000 endpoints with traffic: wall time, AWS calls by operation, peak RSS;
//! - cold start: process start until the first request for an event, for each function and a
//!   hello-world `lambda_runtime` binary built the same way; peak RSS after one invocation;
//! - size of each function zipped as `cargo lambda build --release --arm64` builds it.
//!
//! AWS calls are counted by the emulator, per account (each scenario has accounts of its own).

mod cost_month;
mod runner;
mod runtime_api;
mod selfcost;
mod sweep_scale;

use std::collections::BTreeMap;
use std::path::PathBuf;

use plgov_integration_tests::*;
use runner::{calls_of, delta, ms, run_function, stats};
use selfcost::SweepUse;
use serde_json::{Value, json};

struct Paths {
    approver: PathBuf,
    reporter: PathBuf,
    hello: PathBuf,
    approver_zip: PathBuf,
    reporter_zip: PathBuf,
    results: PathBuf,
}

fn paths() -> Paths {
    let mut args = std::env::args().skip(1);
    let mut map = BTreeMap::new();
    while let (Some(k), Some(v)) = (args.next(), args.next()) {
        map.insert(k, PathBuf::from(v));
    }
    let take = |k: &str| {
        map.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("missing {k} PATH (see bench/run.sh)"))
    };
    Paths {
        approver: take("--approver"),
        reporter: take("--reporter"),
        hello: take("--hello"),
        approver_zip: take("--approver-zip"),
        reporter_zip: take("--reporter-zip"),
        results: take("--results"),
    }
}

async fn approver_scenario(p: &Paths) -> (Value, f64, SweepUse) {
    eprintln!(
        "[bench] approver: 1,000 pending connections over 5 services, 5 accounts (4 allowed)"
    );
    let provider = Provider::new().await;
    let mut services = Vec::new();
    for _ in 0..5 {
        services.push(create_service(&provider.account, true).await);
    }
    let accounts: Vec<String> = (0..5).map(|_| random_account()).collect();
    for account in &accounts[..4] {
        provider.put_rule("*", account, "allow").await;
    }
    for service in &services {
        for account in &accounts {
            create_endpoints(account, service, 40).await;
        }
    }
    let mut env = credentials_env(&provider.account).await;
    env.extend([
        ("ALLOWLIST_TABLE".into(), ALLOWLIST_TABLE.into()),
        ("AUDIT_TABLE".into(), AUDIT_TABLE.into()),
        ("GOVERNED_SERVICES".into(), services.join(",")),
        ("ACCOUNT_ID".into(), provider.account.clone()),
        ("CONNECTION_TOPIC_ARN".into(), provider.topic_arn()),
    ]);
    let sweep = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let mut figures = Vec::new();
    let mut peak = 0.0;
    let mut noop = SweepUse::default();
    for label in ["sweep", "repeated sweep (nothing to do)"] {
        let (status, _) = http(
            "DELETE",
            &format!("/_plgov/usage?account={}", provider.account),
            "",
        );
        assert_eq!(status, 200);
        let before = calls_of(&provider.account);
        let run = run_function(&p.approver, &env, Some(&sweep));
        let calls = delta(&before, &calls_of(&provider.account));
        let (_, usage) = http(
            "GET",
            &format!("/_plgov/usage?account={}", provider.account),
            "",
        );
        let usage: Value = serde_json::from_str(&usage).unwrap();
        noop = SweepUse {
            log_bytes: (run.log_bytes + 26 * run.log_lines) as f64,
            lambda_seconds: run.invocation.unwrap().as_secs_f64(),
            dynamodb_reads: usage["dynamodb"]["readRequestUnits"].as_f64().unwrap(),
        };
        let total: u64 = calls.values().sum();
        let summary = run.response.unwrap();
        peak = run.peak_rss_mb;
        figures.push(json!({
            "label": label, "connections": 1000, "services": 5,
            "accepted": summary["accepted"].as_array().map_or(0, Vec::len),
            "rejected": summary["rejected"].as_array().map_or(0, Vec::len),
            "wallMs": ms(run.invocation.unwrap()), "callsByOperation": calls, "totalCalls": total,
            "callsPerConnection": total as f64 / 1000.0,
        }));
    }
    eprintln!("[bench] approver findings: the same 5 services, Security Hub enabled, two runs");
    aws_sdk_securityhub::Client::new(&provider.sdk)
        .enable_security_hub()
        .send()
        .await
        .expect("enable Security Hub");
    let findings_event = json!({"action": "findings"});
    for label in ["findings run", "findings run again (nothing changed)"] {
        let before = calls_of(&provider.account);
        let run = run_function(&p.approver, &env, Some(&findings_event));
        let calls = delta(&before, &calls_of(&provider.account));
        let total: u64 = calls.values().sum();
        let summary = run.response.unwrap();
        figures.push(json!({
            "label": label, "connections": 0, "services": 5,
            "findings": summary["findings"].as_array().map_or(0, Vec::len),
            "imported": summary["imported"], "wallMs": ms(run.invocation.unwrap()),
            "callsByOperation": calls, "totalCalls": total, "callsPerConnection": 0.0,
        }));
    }
    (json!(figures), peak, noop)
}

async fn cold_starts(p: &Paths) -> Value {
    eprintln!("[bench] cold start: 10 starts of each binary");
    let env = vec![
        ("ALLOWLIST_TABLE".to_owned(), "t".to_owned()),
        ("AUDIT_TABLE".to_owned(), "t".to_owned()),
        ("COST_TABLE".to_owned(), "t".to_owned()),
        ("ACCOUNT_ID".to_owned(), "123456789012".to_owned()),
        (
            "CONNECTION_TOPIC_ARN".to_owned(),
            "arn:aws:sns:us-east-1:123456789012:t".to_owned(),
        ),
        ("AWS_REGION".to_owned(), REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "testing".to_owned()),
        ("AWS_ENDPOINT_URL".to_owned(), emulator_url()),
    ];
    let mut out = serde_json::Map::new();
    // Interleaved, so a noisy moment hits every binary alike.
    let binaries = [
        ("hello-lambda", &p.hello),
        ("connection-approver", &p.approver),
        ("cost-reporter", &p.reporter),
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); binaries.len()];
    for _ in 0..10 {
        for (i, (_, binary)) in binaries.iter().enumerate() {
            samples[i].push(ms(run_function(binary, &env, None).cold_start));
        }
    }
    for ((name, _), s) in binaries.iter().zip(samples.iter_mut()) {
        out.insert((*name).to_owned(), stats(s));
    }
    let hello = run_function(&p.hello, &env, Some(&json!({"hello": "world"})));
    out.insert(
        "helloPeakRssMbAfterInvocation".into(),
        json!(hello.peak_rss_mb),
    );
    Value::Object(out)
}

/// The zipped function's size; `None` when the run did not build it (`BENCH_ARM64=0`).
fn zip_size(path: &PathBuf) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

#[tokio::main]
async fn main() {
    let p = paths();
    // BENCH_ONLY=sweep-scale: that scenario alone, printed, results.json left as it is.
    if std::env::var("BENCH_ONLY").as_deref() == Ok("sweep-scale") {
        let scale = sweep_scale::scenario(&p.approver).await;
        println!("{}", serde_json::to_string_pretty(&scale).unwrap());
        return;
    }
    let cold = cold_starts(&p).await;
    let (approver, approver_peak, sweep) = approver_scenario(&p).await;
    let scale = sweep_scale::scenario(&p.approver).await;
    let mut cost = serde_json::Map::new();
    let mut bills = serde_json::Map::new();
    for endpoints in [100usize, 10_000] {
        let (figures, per_hour) = cost_month::scenario(&p.reporter, endpoints).await;
        let bill = selfcost::monthly(&per_hour, &sweep);
        let naive = selfcost::naive(endpoints as f64, &bill);
        cost.insert(endpoints.to_string(), figures);
        bills.insert(
            endpoints.to_string(),
            json!({"measured": bill, "naive": naive}),
        );
    }
    let sizes = json!({"connection-approver": zip_size(&p.approver_zip), "cost-reporter": zip_size(&p.reporter_zip)});
    let results = json!({
        "approver": approver, "sweepScale": scale, "approverPeakRssMbAfterInvocation": approver_peak, "cost": cost,
        "selfCostPerMonthUsd": bills, "coldStartMs": cold, "zippedArm64Bytes": sizes,
    });
    std::fs::write(&p.results, serde_json::to_string_pretty(&results).unwrap())
        .expect("write results");
    print_table(&results);
}

fn print_table(r: &Value) {
    println!(
        "\nPrivateLink Governor benchmarks (local emulator; release binaries; wall times include the emulator)\n"
    );
    println!(
        "{:<44} {:>10} {:>8} {:>10}  calls by operation",
        "approver", "wall ms", "calls", "calls/conn"
    );
    for s in r["approver"].as_array().unwrap() {
        println!(
            "{:<44} {:>10.1} {:>8} {:>10.3}  {}",
            format!(
                "{} ({} conns, {} services)",
                s["label"].as_str().unwrap(),
                s["connections"],
                s["services"]
            ),
            s["wallMs"].as_f64().unwrap(),
            s["totalCalls"],
            s["callsPerConnection"].as_f64().unwrap(),
            s["callsByOperation"]
        );
    }
    println!(
        "\n{:<52} {:>10} {:>8} {:>20}  calls by operation",
        "sweep scale", "wall ms", "calls", "per-service design"
    );
    for s in r["sweepScale"].as_array().unwrap() {
        println!(
            "{:<52} {:>10.1} {:>8} {:>20}  {}",
            format!(
                "{} ({} services, {} conns)",
                s["label"].as_str().unwrap(),
                s["services"],
                s["connections"]
            ),
            s["wallMs"].as_f64().unwrap(),
            s["totalCalls"],
            s["perServiceDesignCalls"],
            s["callsByOperation"]
        );
    }
    println!(
        "\n{:<34} {:>12} {:>10} {:>12} {:>10}  calls by operation",
        "cost runs (all endpoints busy)", "wall ms/run", "calls/run", "peak RSS MB", "GMD/hour"
    );
    for (n, c) in r["cost"].as_object().unwrap() {
        let wall: Vec<f64> = c["wallMsPerRun"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        println!(
            "{:<34} {:>12.0} {:>10.1} {:>12.1} {:>10.0}  {}",
            format!(
                "{n} endpoints, {} hours ({} queried)",
                c["hoursMeasured"], c["runsThatQueriedTraffic"]
            ),
            wall.iter().copied().fold(0.0, f64::max),
            c["callsPerRun"].as_f64().unwrap(),
            c["peakRssMb"].as_f64().unwrap(),
            c["getMetricDataMetricsPerHour"].as_f64().unwrap(),
            c["callsByOperation"]
        );
    }
    for (n, c) in r["cost"].as_object().unwrap() {
        println!(
            "  Price List: {} GetProducts calls (two a round) in {} runs of {n} endpoints, one simulated day",
            c["priceListCallsInAllRuns"], c["runs"]
        );
    }
    let bills = &r["selfCostPerMonthUsd"];
    println!(
        "\nthe stack's own AWS bill a month (us-east-1 list prices; from what the emulator counted)"
    );
    println!(
        "{:<42} {:>14} {:>16}",
        "", "100 endpoints", "10,000 endpoints"
    );
    let lines = bills["100"]["measured"]["lines"].as_array().unwrap();
    for (i, line) in lines.iter().enumerate() {
        println!(
            "  {:<40} {:>14.2} {:>16.2}",
            line["item"].as_str().unwrap(),
            line["usd"].as_f64().unwrap(),
            bills["10000"]["measured"]["lines"][i]["usd"]
                .as_f64()
                .unwrap()
        );
    }
    println!(
        "  {:<40} {:>14.2} {:>16.2}   (budget: < $5 and < $40)",
        "total",
        bills["100"]["measured"]["total"].as_f64().unwrap(),
        bills["10000"]["measured"]["total"].as_f64().unwrap()
    );
    println!(
        "  {:<40} {:>14.2} {:>16.2}",
        "naive design (6 metrics x 25 + 6, hourly)",
        bills["100"]["naive"]["total"].as_f64().unwrap(),
        bills["10000"]["naive"]["total"].as_f64().unwrap()
    );
    println!("\ncold start: process start -> first request for an event (ms, 10 runs each)");
    for name in ["hello-lambda", "connection-approver", "cost-reporter"] {
        let s = &r["coldStartMs"][name];
        println!(
            "  {name:<22} median {:>7.2}  min {:>7.2}  max {:>7.2}",
            s["median"].as_f64().unwrap(),
            s["min"].as_f64().unwrap(),
            s["max"].as_f64().unwrap()
        );
    }
    println!(
        "peak RSS after one invocation: hello {:.1} MB, approver (no-op sweep) {:.1} MB, cost reporter (10,000 endpoints) {:.1} MB",
        r["coldStartMs"]["helloPeakRssMbAfterInvocation"]
            .as_f64()
            .unwrap(),
        r["approverPeakRssMbAfterInvocation"].as_f64().unwrap(),
        r["cost"]["10000"]["peakRssMb"].as_f64().unwrap()
    );
    let size = |name: &str| {
        r["zippedArm64Bytes"][name].as_f64().map_or_else(
            || "not built in this run".to_owned(),
            |b| format!("{:.2} MB", b / 1_048_576.0),
        )
    };
    println!(
        "zipped arm64 bootstrap: connection-approver {}, cost-reporter {}",
        size("connection-approver"),
        size("cost-reporter")
    );
}
