//! The cost reporter: a schedule (or a backfill hour) in, the priced hours out.
//! `main.rs` only wires it up; tests drive `Reporter::handle` directly.

use aws_config::SdkConfig;
use lambda_runtime::Diagnostic;
use plgov_shared::adapters::{
    CallCounter, CloudWatchMetrics, CloudWatchUsage, CountedClients, Ec2Endpoints, PriceListApi,
    SecurityHubFindings, dynamodb_for, pricing_client, securityhub_client,
};
use plgov_shared::config::CostConfig;
use plgov_shared::events::{EventError, parse_cost_event};
use plgov_shared::tables::{CostPool, CostTable};
use plgov_shared::usecases::cost::{CostError, CostReporter, CostSummary};
use plgov_shared::usecases::findings::FindingsError;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ReporterError {
    #[error(transparent)]
    InvalidEvent(#[from] EventError),
    #[error(transparent)]
    Cost(#[from] CostError),
}

impl From<ReporterError> for Diagnostic {
    fn from(err: ReporterError) -> Self {
        let error_type = match &err {
            ReporterError::InvalidEvent(_) => "InvalidEvent",
            ReporterError::Cost(CostError::NotPriceable(_)) => "HourNotPriceable",
            ReporterError::Cost(CostError::Pricing(_) | CostError::MissingRates(_)) => {
                "MissingPrice"
            }
            ReporterError::Cost(CostError::Findings(FindingsError::SecurityHubNotEnabled)) => {
                "SecurityHubNotEnabled"
            }
            ReporterError::Cost(e) if e.retryable() => "RetryableAwsError",
            ReporterError::Cost(_) => "AwsError",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: err.to_string(),
        }
    }
}

/// Clients and configuration, built once in the init phase.
pub struct Reporter {
    config: CostConfig,
    prices: PriceListApi,
    hub: SecurityHubFindings,
    inventory: Ec2Endpoints,
    usage: CloudWatchUsage,
    ledger: CostTable,
    pool: CostPool,
    metrics: CloudWatchMetrics,
    calls: CallCounter,
}

impl Reporter {
    pub fn new(sdk: &SdkConfig, config: CostConfig) -> Self {
        let calls = CallCounter::new();
        let CountedClients {
            ec2,
            dynamodb,
            cloudwatch,
        } = CountedClients::new(sdk, &calls);
        Self {
            prices: PriceListApi::new(pricing_client(sdk, &calls, &config.settings.region)),
            hub: SecurityHubFindings::new(
                securityhub_client(sdk, &calls),
                config.account_id.clone(),
                &config.settings.region,
            ),
            inventory: Ec2Endpoints::new(ec2),
            usage: CloudWatchUsage::new(cloudwatch.clone()),
            // A hub's pool by ARN, through its region's endpoint.
            pool: CostPool::new(
                config
                    .cost_pool_table
                    .as_ref()
                    .map(|t| (dynamodb_for(&dynamodb, t), t.clone())),
                config.account_id.clone(),
            ),
            ledger: CostTable::new(dynamodb, &config.cost_table),
            metrics: CloudWatchMetrics::new(cloudwatch, &config.metrics_namespace),
            config,
            calls,
        }
    }

    /// AWS calls made so far by this reporter's clients, per `service:Operation`.
    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    /// Handles one event at epoch second `now`; `run` names this run in the cost table's
    /// ledger (the Lambda request id: a retry of the same invocation keeps it).
    pub async fn handle(
        &self,
        event: &Value,
        now: i64,
        run: &str,
    ) -> Result<CostSummary, ReporterError> {
        let request = parse_cost_event(event, now)
            .inspect_err(|err| tracing::error!(error = %err, "event rejected"))?;
        let reporter = CostReporter {
            prices: &self.prices,
            pool: &self.pool,
            hub: &self.hub,
            inventory: &self.inventory,
            usage: &self.usage,
            ledger: &self.ledger,
            metrics: &self.metrics,
            settings: &self.config.settings,
        };
        let result = reporter.run(request, now, run).await;
        tracing::info!(ok = result.is_ok(), aws_calls = ?self.calls.snapshot(), "cost run finished");
        Ok(result.inspect_err(|err| tracing::error!(error = %err, "not priced"))?)
    }
}
