//! Lambda entry point of the connection approver: tracing, config, clients, run.

use std::time::Instant;

use connection_approver::{Approver, start_waves_until};
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use plgov_shared::adapters::epoch_now;
use plgov_shared::config::ApproverConfig;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // A bad setting stops the function here, at init, naming the variable.
    let config = ApproverConfig::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let approver = Approver::new(&sdk, config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let approver = &approver;
        async move {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let until = start_waves_until(event.context.deadline, now_ms, Instant::now());
            approver
                .respond_until(&event.payload, epoch_now(), Some(until))
                .await
        }
    }))
    .await
}
