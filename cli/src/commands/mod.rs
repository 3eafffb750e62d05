//! One module per command group; each prints its result and returns an error with its exit code.
//! Every read and write of the tables goes through `plgov_shared::tables`, the one owner of
//! their item formats.

pub mod audit;
pub mod cost;
pub mod decide;
pub mod findings;
pub mod policy;
pub mod reconcile;
pub mod rules;

use aws_config::SdkConfig;
use plgov_shared::adapters::{
    CallCounter, Ec2Connections, OrganizationsReader, dynamodb_for, port_error,
};
use plgov_shared::domain::allowlist::{Allowlist, Consumers, ServiceRules, WILDCARD};
use plgov_shared::domain::{AccountId, ServiceId};
use plgov_shared::ports::AllowlistStore;
use plgov_shared::ports::Connections;
use plgov_shared::tables::audit::Provider;
use plgov_shared::tables::{AllowlistTable, AuditTable};

use crate::error::CliError;
use crate::target::Target;

pub struct Context {
    pub sdk: SdkConfig,
    pub target: Target,
    pub json: bool,
    pub now: i64,
}

impl Context {
    pub fn allowlist(&self) -> Result<AllowlistTable, CliError> {
        let table = self.target.allowlist_table()?;
        Ok(AllowlistTable::new(
            dynamodb_for(&aws_sdk_dynamodb::Client::new(&self.sdk), table),
            table,
        ))
    }

    /// The audit table, as the records of the caller's account (whose services they are) in the
    /// region of the AWS configuration.
    pub async fn audit(&self) -> Result<AuditTable, CliError> {
        let table = self.target.audit_table()?;
        let (account, region) = self.caller_account().await?;
        Ok(AuditTable::new(
            dynamodb_for(&aws_sdk_dynamodb::Client::new(&self.sdk), table),
            table,
            Provider { account, region },
        ))
    }

    /// AWS Organizations, read as the approver reads it (through the deployment's role).
    pub fn organization(&self) -> OrganizationsReader {
        OrganizationsReader::new(
            &self.sdk,
            &CallCounter::new(),
            self.target.organizations_role.as_deref(),
        )
    }

    /// The whole allowlist, as the approver reads it.
    pub async fn load_allowlist(&self) -> Result<Allowlist, CliError> {
        Ok(self.allowlist()?.load().await?)
    }

    /// What applies to `service`, as the approver reads it.
    pub async fn service_rules(&self, service: &ServiceId) -> Result<ServiceRules, CliError> {
        Ok(self.load_allowlist().await?.for_service(service))
    }

    /// The caller's account (from its identity) and the region of the AWS configuration.
    pub async fn caller_account(&self) -> Result<(AccountId, String), CliError> {
        let caller = self.caller().await?;
        let account = caller
            .split(':')
            .nth(4)
            .and_then(|a| AccountId::parse(a).ok())
            .ok_or_else(|| CliError::aws(format!("cannot read an account from {caller:?}")))?;
        let region = self.sdk.region().map(ToString::to_string).ok_or_else(|| {
            CliError::invalid("no AWS region: set AWS_REGION (or a profile's region)")
        })?;
        Ok((account, region))
    }

    /// The caller's identity (an IAM ARN), recorded with what they write.
    pub async fn caller(&self) -> Result<String, CliError> {
        let who = aws_sdk_sts::Client::new(&self.sdk)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| CliError::from(port_error("GetCallerIdentity", e)))?;
        Ok(who.arn().unwrap_or("unknown").to_owned())
    }
}

pub fn service_id(value: &str) -> Result<ServiceId, CliError> {
    ServiceId::parse(value.trim()).map_err(|e| CliError::invalid(format!("--service: {e}")))
}

/// Refuses a service that is not an endpoint service of the account and region, listing those
/// that are (a typo must not write a rule nobody reads), unless `not_yet_created` says so.
pub async fn existing_services(
    ctx: &Context,
    named: &[&ServiceId],
    not_yet_created: bool,
) -> Result<(), CliError> {
    if not_yet_created || named.is_empty() {
        return Ok(());
    }
    // One listing of the account's services, whatever the number named.
    let services = Ec2Connections::new(aws_sdk_ec2::Client::new(&ctx.sdk))
        .list_services()
        .await?;
    let Some(service) = named.iter().find(|s| !services.contains(s)) else {
        return Ok(());
    };
    let region = ctx
        .sdk
        .region()
        .map_or_else(|| "this region".to_owned(), ToString::to_string);
    let listed = if services.is_empty() {
        "it has none".to_owned()
    } else {
        format!(
            "its services: {}",
            services
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(CliError::invalid(format!(
        "--service: {service} is not an endpoint service of this account in {region} ({listed}).\nhint: add --not-yet-created for a service still to be created or of another account"
    )))
}

/// `*`, an account (id or IAM principal ARN), an organization `o-...` or an OU `ou-...` (the
/// accounts below it).
pub fn consumers(value: &str) -> Result<Consumers, CliError> {
    let value = value.trim();
    if value == WILDCARD || value.starts_with("o-") || value.starts_with("ou-") {
        Consumers::parse(value).map_err(|e| CliError::invalid(format!("--account: {e}")))
    } else {
        account_id(value).map(Consumers::Account)
    }
}

pub fn account_id(value: &str) -> Result<AccountId, CliError> {
    AccountId::from_principal(value).map_err(|e| {
        CliError::invalid(format!(
            "--account: {e} (or an IAM principal ARN like arn:aws:iam::123456789012:root)"
        ))
    })
}
