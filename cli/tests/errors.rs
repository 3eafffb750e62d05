//! Each kind of AWS failure reads as a sentence a person can act on; `-v` adds the whole chain.
//! The failures come from the emulator's fault injection, a missing stack, no credentials and a
//! port nobody listens on.

use std::process::{Command, Output};

use plgov_integration_tests::*;
use serde_json::json;

/// `plgov` with `env` only (plus PATH and HOME): a fresh shell, nothing inherited.
fn plgov(env: &[(String, String)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plgov"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/plgov-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/plgov-credentials",
        )
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run plgov")
}

/// Its stderr, checked to be short: one or two sentences, no SDK dump.
fn said(out: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{err}");
    let first = err.lines().next().unwrap_or_default().to_owned();
    assert!(first.len() < 400, "too long: {first}");
    for internal in [
        "DispatchFailure",
        "ConnectorError",
        "ServiceError {",
        "raw: Response",
    ] {
        assert!(!err.contains(internal), "SDK internals shown: {err}");
    }
    err
}

fn tables() -> [&'static str; 4] {
    [
        "--allowlist-table",
        ALLOWLIST_TABLE,
        "--audit-table",
        AUDIT_TABLE,
    ]
}

#[tokio::test]
async fn access_denied_throttled_and_expired_credentials_each_say_what_to_do() {
    let provider = Provider::new().await;
    let env = credentials_env(&provider.account).await;
    let mut args = tables().to_vec();
    args.extend(["rules", "list"]);
    for (error, expected) in [
        (
            "AccessDeniedException",
            "access denied: the identity in use may not call Scan",
        ),
        (
            "ThrottlingException",
            "AWS throttled the call (ThrottlingException)",
        ),
        (
            "ExpiredTokenException",
            "AWS refused the credentials (ExpiredTokenException",
        ),
    ] {
        // Every attempt the SDK makes fails.
        arm_fault(
            json!({"operation": "Scan", "service": "dynamodb", "account": provider.account,
            "error": error, "status": 400, "count": -1}),
        );
        let out = plgov(&env, &args);
        disarm_faults(&provider.account);
        let err = said(&out, 1);
        assert!(
            err.starts_with(&format!("plgov: Scan failed: {expected}")),
            "{err}"
        );
        assert!(err.contains("-v shows the whole error"), "{err}");
        // With -v, the whole chain follows.
        arm_fault(
            json!({"operation": "Scan", "service": "dynamodb", "account": provider.account,
            "error": error, "status": 400, "count": -1}),
        );
        let mut verbose = args.clone();
        verbose.push("-v");
        let out = plgov(&env, &verbose);
        disarm_faults(&provider.account);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("\ndetail: ") && err.contains(error), "{err}");
    }
}

#[tokio::test]
async fn a_missing_stack_no_credentials_and_no_endpoint_read_as_one_sentence() {
    let provider = Provider::new().await;
    let env = credentials_env(&provider.account).await;
    let out = plgov(&env, &["--stack", "nosuch", "rules", "list"]);
    let err = said(&out, 1);
    assert!(
        err.starts_with("plgov: no stack named \"nosuch\" in us-east-1: deploy it"),
        "{err}"
    );

    // No credentials anywhere: not the environment, no profile, no instance metadata.
    let bare: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| {
            !k.starts_with("AWS_ACCESS_KEY")
                && !k.starts_with("AWS_SECRET")
                && k != "AWS_SESSION_TOKEN"
        })
        .cloned()
        .collect();
    let mut args = tables().to_vec();
    args.extend(["rules", "list"]);
    let err = said(&plgov(&bare, &args), 1);
    assert!(
        err.starts_with("plgov: Scan failed: no AWS credentials were found"),
        "{err}"
    );

    // An endpoint nobody answers on.
    let mut closed = env.clone();
    for (k, v) in closed.iter_mut() {
        if k == "AWS_ENDPOINT_URL" {
            *v = "http://127.0.0.1:9".into();
        }
    }
    let err = said(&plgov(&closed, &args), 1);
    assert!(
        err.starts_with("plgov: Scan failed: the AWS endpoint does not answer"),
        "{err}"
    );
    assert!(err.contains("make local-aws"), "{err}");
}
