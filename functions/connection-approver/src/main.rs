//! Lambda entry point of the connection approver: tracing, config, clients, run.

use connection_approver::Approver;
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
        async move { approver.respond(&event.payload, epoch_now()).await }
    }))
    .await
}
