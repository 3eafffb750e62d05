//! Accounts of the emulator: fresh ids, and credentials assumed into any of them.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::REGION;
use crate::emulator::emulator_url;

/// A fresh 12-digit account id, unique within this process and very likely across runs.
pub fn random_account() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(SEQ.fetch_add(1, Ordering::Relaxed));
    format!("{}", 200_000_000_000 + hasher.finish() % 700_000_000_000)
}

async fn base_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(emulator_url())
        .region(Region::new(REGION))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "plgov-tests",
        ))
        .load()
        .await
}

/// Credentials of `account`, assumed through the emulator's STS.
async fn assume(base: &SdkConfig, account: &str) -> aws_sdk_sts::types::Credentials {
    aws_sdk_sts::Client::new(base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/plgov-test"))
        .role_session_name("plgov-test")
        .send()
        .await
        .expect("assume role in the emulator")
        .credentials
        .expect("assumed credentials")
}

/// SDK config whose credentials belong to `account`.
pub async fn config_for(account: &str) -> SdkConfig {
    let base = base_config().await;
    let creds = assume(&base, account).await;
    base.into_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            aws_sdk_sts::config::Credentials::new(
                creds.access_key_id,
                creds.secret_access_key,
                Some(creds.session_token),
                None,
                "assumed",
            ),
        ))
        .build()
}

/// Environment variables that give a separate process (`plgov`, a function binary) the
/// credentials of `account` in the emulator.
pub async fn credentials_env(account: &str) -> Vec<(String, String)> {
    let creds = assume(&base_config().await, account).await;
    vec![
        ("AWS_ACCESS_KEY_ID".into(), creds.access_key_id),
        ("AWS_SECRET_ACCESS_KEY".into(), creds.secret_access_key),
        ("AWS_SESSION_TOKEN".into(), creds.session_token),
        ("AWS_ENDPOINT_URL".into(), emulator_url()),
        ("AWS_REGION".into(), REGION.into()),
    ]
}
