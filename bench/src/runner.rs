//! Runs a function's release binary under the minimal Runtime API, and reads the emulator's
//! counters of calls.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{ChildStdout, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use plgov_integration_tests::http;
use serde_json::{Value, json};

use crate::runtime_api::{self, Signal};

/// Counts the bytes and lines a function writes (its log).
fn count_lines(out: ChildStdout) -> JoinHandle<(u64, u64)> {
    std::thread::spawn(move || {
        let (mut bytes, mut lines) = (0u64, 0u64);
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            bytes += line.len() as u64;
            lines += 1;
        }
        (bytes, lines)
    })
}

pub struct Run {
    pub cold_start: Duration,
    pub invocation: Option<Duration>,
    pub response: Option<Value>,
    pub peak_rss_mb: f64,
    /// Bytes and lines the function logged (what CloudWatch Logs would ingest).
    pub log_bytes: u64,
    pub log_lines: u64,
}

/// Starts `binary` with `env` under the runtime API, optionally gives it `event`, measures.
pub fn run_function(binary: &PathBuf, env: &[(String, String)], event: Option<&Value>) -> Run {
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
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start function");
    let logged = count_lines(child.stdout.take().expect("piped stdout"));
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
    let (log_bytes, log_lines) = logged.join().unwrap_or((0, 0));
    Run {
        log_bytes,
        log_lines,
        cold_start: first - started,
        invocation,
        response,
        peak_rss_mb: peak_kb / 1024.0,
    }
}

pub fn calls_of(account: &str) -> BTreeMap<String, u64> {
    let (status, body) = http("GET", &format!("/_plgov/calls?account={account}"), "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["calls"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

pub fn delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

pub fn stats(samples: &mut [f64]) -> Value {
    samples.sort_by(f64::total_cmp);
    json!({"min": samples[0], "median": samples[samples.len() / 2], "max": samples[samples.len() - 1], "runs": samples.len()})
}
