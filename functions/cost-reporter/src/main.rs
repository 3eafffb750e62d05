//! Lambda entry point of the cost reporter: tracing, config, clients, run.

use cost_reporter::Reporter;
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use plgov_shared::adapters::epoch_now;
use plgov_shared::config::CostConfig;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // A bad setting stops the function here, at init, naming the variable.
    let config = CostConfig::from_env()?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let reporter = Reporter::new(&sdk, config);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let reporter = &reporter;
        async move {
            reporter
                .handle(&event.payload, epoch_now(), &event.context.request_id)
                .await
        }
    }))
    .await
}
