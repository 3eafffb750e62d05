//! One module per command group; each prints its result and returns an error with its exit code.

pub mod audit;
pub mod cost;
pub mod decide;
pub mod policy;
pub mod reconcile;
pub mod rules;

use aws_config::SdkConfig;
use plgov_shared::domain::allowlist::{RawItem, ServiceRules, WILDCARD};
use plgov_shared::domain::{AccountId, ServiceId};
use plgov_shared::ports::AllowlistStore;

use crate::error::CliError;
use crate::target::Target;

pub struct Context {
    pub sdk: SdkConfig,
    pub target: Target,
    pub json: bool,
    pub now: i64,
}

impl Context {
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    /// The rules and policy that apply to `service`: its items and the `*` items, as the approver reads them.
    pub async fn service_rules(&self, service: &ServiceId) -> Result<ServiceRules, CliError> {
        let store = plgov_shared::adapters::DynamoAllowlist::new(
            self.dynamodb(),
            self.target.allowlist_table()?,
        );
        let own = store.items(service.as_str()).await?;
        let wildcard: Vec<RawItem> = store.items(WILDCARD).await?;
        Ok(ServiceRules::from_items(
            service,
            own.iter().chain(wildcard.iter()),
        ))
    }
}

pub fn service_id(value: &str) -> Result<ServiceId, CliError> {
    ServiceId::parse(value.trim()).map_err(|e| CliError::invalid(format!("--service: {e}")))
}

pub fn account_id(value: &str) -> Result<AccountId, CliError> {
    AccountId::from_principal(value).map_err(|e| {
        CliError::invalid(format!(
            "--account: {e} (or an IAM principal ARN like arn:aws:iam::123456789012:root)"
        ))
    })
}
