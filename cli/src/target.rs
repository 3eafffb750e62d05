//! Which deployment the commands act on: from the stack's outputs and parameters, or from flags.

use std::collections::HashMap;

use aws_config::SdkConfig;
use plgov_shared::config::parse_governed;
use plgov_shared::domain::allowlist::{ServicePolicy, UnmatchedAction};
use plgov_shared::usecases::reconcile::Governed;

use crate::args::TargetArgs;
use crate::error::CliError;

#[derive(Debug, Clone)]
pub struct Target {
    pub allowlist_table: Option<String>,
    pub audit_table: Option<String>,
    pub namespace: String,
    /// The approver's defaults (stack parameters UnmatchedAction and DryRun).
    pub defaults: ServicePolicy,
    pub governed: Governed,
}

impl Target {
    pub fn allowlist_table(&self) -> Result<&str, CliError> {
        self.allowlist_table.as_deref().ok_or_else(|| {
            CliError::invalid("no allowlist table: give --stack NAME (or --allowlist-table, or PLGOV_STACK / PLGOV_ALLOWLIST_TABLE)")
        })
    }

    pub fn audit_table(&self) -> Result<&str, CliError> {
        self.audit_table.as_deref().ok_or_else(|| {
            CliError::invalid("no audit table: give --stack NAME (or --audit-table, or PLGOV_STACK / PLGOV_AUDIT_TABLE)")
        })
    }
}

pub async fn resolve(args: &TargetArgs, sdk: &SdkConfig) -> Result<Target, CliError> {
    let mut target = Target {
        allowlist_table: args.allowlist_table.clone(),
        audit_table: args.audit_table.clone(),
        namespace: args
            .namespace
            .clone()
            .unwrap_or_else(|| plgov_shared::config::DEFAULT_NAMESPACE.to_owned()),
        defaults: ServicePolicy::default(),
        governed: Governed::All,
    };
    let Some(stack) = &args.stack else {
        return Ok(target);
    };
    let described = aws_sdk_cloudformation::Client::new(sdk)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            CliError::Aws(format!(
                "cannot read stack {stack:?}: {}\nhint: check the stack name and region",
                aws_sdk_cloudformation::error::DisplayErrorContext(&e)
            ))
        })?;
    let Some(found) = described.stacks().first() else {
        return Err(CliError::invalid(format!("no stack named {stack:?}")));
    };
    let outputs: HashMap<&str, &str> = found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?, o.output_value()?)))
        .collect();
    let parameters: HashMap<&str, &str> = found
        .parameters()
        .iter()
        .filter_map(|p| Some((p.parameter_key()?, p.parameter_value()?)))
        .collect();
    let output = |key: &str| outputs.get(key).map(|v| (*v).to_owned());
    target.allowlist_table = args
        .allowlist_table
        .clone()
        .or_else(|| output("AllowlistTableName"));
    target.audit_table = args
        .audit_table
        .clone()
        .or_else(|| output("AuditTableName"));
    target.namespace = args
        .namespace
        .clone()
        .or_else(|| output("MetricsNamespace"))
        .unwrap_or(target.namespace);
    if let Some(action) = parameters.get("UnmatchedAction") {
        target.defaults.unmatched = UnmatchedAction::parse(action).unwrap_or_default();
    }
    target.defaults.dry_run = parameters
        .get("DryRun")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    target.governed =
        parse_governed(parameters.get("GovernedServices").copied()).map_err(CliError::invalid)?;
    Ok(target)
}
