//! `make bench`: the figures the issues ask for, measured against the local AWS emulator with
//! the release binaries of both functions run under a minimal Lambda Runtime API.
//!
//! - approver sweep: 1,000 pending connections over 5 services, 4 of 5 accounts allowed, then
//!   the same sweep again (nothing to do): wall time, AWS calls by operation, calls per connection;
//! - cost run: 10,000 endpoints with traffic: wall time, AWS calls by operation, peak RSS;
//! - cold start: process start until the first request for an event, for each function and a
//!   hello-world `lambda_runtime` binary built the same way; peak RSS after one invocation;
//! - size of each function zipped as `cargo lambda build --release --arm64` builds it.
//!
//! AWS calls are counted by the emulator, per account (each scenario has accounts of its own).

mod runtime_api;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use plgov_integration_tests::*;
use runtime_api::Signal;
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

struct Run {
    cold_start: Duration,
    invocation: Option<Duration>,
    response: Option<Value>,
    peak_rss_mb: f64,
}

/// Starts `binary` with `env` under the runtime API, optionally gives it `event`, measures.
fn run_function(binary: &PathBuf, env: &[(String, String)], event: Option<&Value>) -> Run {
    let api = runtime_api::start(event.map(Value::to_string));
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", format!("http://{}", api.address))
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start function");
    let first = match api.signals.recv_timeout(Duration::from_secs(60)) {
        Ok(Signal::FirstNext(at)) => at,
        _ => panic!("{} never asked for an event", binary.display()),
    };
    let (mut invocation, mut response) = (None, None);
    if event.is_some() {
        match api.signals.recv_timeout(Duration::from_secs(1800)) {
            Ok(Signal::Done(body, true)) => {
                invocation = Some(first.elapsed());
                response = Some(serde_json::from_str(&body).expect("JSON response"));
            }
            Ok(Signal::Done(body, false)) => panic!("{} failed: {body}", binary.display()),
            _ => panic!("{} gave no response", binary.display()),
        }
    }
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let peak_kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    let _ = child.kill();
    let _ = child.wait();
    Run {
        cold_start: first - started,
        invocation,
        response,
        peak_rss_mb: peak_kb / 1024.0,
    }
}

fn calls_of(account: &str) -> BTreeMap<String, u64> {
    let (status, body) = http("GET", &format!("/_plgov/calls?account={account}"), "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["calls"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn stats(samples: &mut [f64]) -> Value {
    samples.sort_by(f64::total_cmp);
    json!({"min": samples[0], "median": samples[samples.len() / 2], "max": samples[samples.len() - 1], "runs": samples.len()})
}

async fn approver_scenario(p: &Paths) -> (Value, f64) {
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
    ]);
    let sweep = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    let mut figures = Vec::new();
    let mut peak = 0.0;
    for label in ["sweep", "repeated sweep (nothing to do)"] {
        let before = calls_of(&provider.account);
        let run = run_function(&p.approver, &env, Some(&sweep));
        let calls = delta(&before, &calls_of(&provider.account));
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
    (json!(figures), peak)
}

async fn cost_scenario(p: &Paths) -> Value {
    eprintln!(
        "[bench] cost: 10,000 endpoints with an hour of traffic (setting up takes a few minutes)"
    );
    let provider = Provider::new().await;
    provider.create_cost_table().await;
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
    for i in 0..10_000usize {
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
        if tasks.len() >= 16 || i == 9_999 {
            while let Some(id) = tasks.join_next().await {
                ids.push(id.unwrap());
            }
        }
    }
    let hour = epoch_hour();
    let cw = aws_sdk_cloudwatch::Client::new(&provider.sdk);
    for (chunk_no, chunk) in ids.chunks(1000).enumerate() {
        let data: Vec<MetricDatum> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let gib = ((chunk_no * 1000 + i) % 97 + 1) as f64;
                let dims = [
                    ("Endpoint Type", "Interface"),
                    ("Service Name", name.as_str()),
                    ("VPC Endpoint Id", id.as_str()),
                    ("VPC Id", vpc.as_str()),
                ]
                .into_iter()
                .map(|(n, v)| Dimension::builder().name(n).value(v).build())
                .collect();
                MetricDatum::builder()
                    .metric_name("BytesProcessed")
                    .set_dimensions(Some(dims))
                    .timestamp(DateTime::from_secs(hour + 120))
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
    let mut env = credentials_env(&provider.account).await;
    env.extend([("COST_TABLE".into(), COST_TABLE.into())]);
    let hour_text = plgov_shared_hour(hour);
    let before = calls_of(&provider.account);
    let run = run_function(&p.reporter, &env, Some(&json!({"hour": hour_text})));
    let calls = delta(&before, &calls_of(&provider.account));
    let summary = run.response.unwrap();
    json!({
        "endpoints": summary["endpoints"].as_array().map_or(0, Vec::len), "hour": hour_text,
        "wallMs": ms(run.invocation.unwrap()), "callsByOperation": calls, "totalCalls": calls.values().sum::<u64>(),
        "peakRssMb": run.peak_rss_mb, "metricsPublished": summary["metricsPublished"],
    })
}

fn epoch_hour() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now / 3600 * 3600
}

fn plgov_shared_hour(start: i64) -> String {
    plgov_shared::domain::hour::Hour::containing(start).to_string()
}

async fn cold_starts(p: &Paths) -> Value {
    eprintln!("[bench] cold start: 10 starts of each binary");
    let env = vec![
        ("ALLOWLIST_TABLE".to_owned(), "t".to_owned()),
        ("AUDIT_TABLE".to_owned(), "t".to_owned()),
        ("COST_TABLE".to_owned(), "t".to_owned()),
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

fn zip_size(path: &PathBuf) -> u64 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len()
}

#[tokio::main]
async fn main() {
    let p = paths();
    let cold = cold_starts(&p).await;
    let (approver, approver_peak) = approver_scenario(&p).await;
    let cost = cost_scenario(&p).await;
    let sizes = json!({"connection-approver": zip_size(&p.approver_zip), "cost-reporter": zip_size(&p.reporter_zip)});
    let results = json!({
        "approver": approver, "approverPeakRssMbAfterInvocation": approver_peak, "cost": cost,
        "coldStartMs": cold, "zippedArm64Bytes": sizes,
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
    let c = &r["cost"];
    println!(
        "\n{:<44} {:>10.1} {:>8}  peak RSS {:.1} MB  {}",
        format!("cost run ({} endpoints)", c["endpoints"]),
        c["wallMs"].as_f64().unwrap(),
        c["totalCalls"],
        c["peakRssMb"].as_f64().unwrap(),
        c["callsByOperation"]
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
        r["cost"]["peakRssMb"].as_f64().unwrap()
    );
    println!(
        "zipped arm64 bootstrap: connection-approver {:.2} MB, cost-reporter {:.2} MB",
        r["zippedArm64Bytes"]["connection-approver"]
            .as_f64()
            .unwrap()
            / 1_048_576.0,
        r["zippedArm64Bytes"]["cost-reporter"].as_f64().unwrap() / 1_048_576.0
    );
}
