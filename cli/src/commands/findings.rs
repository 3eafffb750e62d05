//! `plgov findings`: the active findings both functions imported into Security Hub.

use plgov_shared::adapters::{CallCounter, SecurityHubFindings, securityhub_client};
use plgov_shared::domain::findings::{Finding, FindingType};
use plgov_shared::ports::FindingsHub;
use plgov_shared::usecases::cost::CONSUMER_GENERATOR;
use plgov_shared::usecases::service_findings::PROVIDER_GENERATOR;

use super::Context;
use crate::error::CliError;
use crate::output;

pub async fn list(ctx: &Context, kind: Option<&str>) -> Result<(), CliError> {
    let kind = kind
        .map(|k| {
            FindingType::parse(k).ok_or_else(|| {
                CliError::invalid(format!(
                    "--type: {k:?} is not a finding type; one of {}",
                    FindingType::ALL.map(FindingType::as_str).join(", ")
                ))
            })
        })
        .transpose()?;
    let (account, region) = ctx.caller_account().await?;
    let hub = SecurityHubFindings::new(
        securityhub_client(&ctx.sdk, &CallCounter::new()),
        account,
        &region,
    );
    let mut found: Vec<Finding> = Vec::new();
    for generator in [PROVIDER_GENERATOR, CONSUMER_GENERATOR] {
        let Some(held) = hub.held(generator).await? else {
            return Err(CliError::aws(format!(
                "Security Hub is not enabled in {region}: the findings are only in the functions' results and logs (the dashboard's Findings widgets)"
            )));
        };
        found.extend(
            held.into_iter()
                .filter(|s| s.active && kind.is_none_or(|k| s.finding.kind == k))
                .map(|s| s.finding),
        );
    }
    found.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.key().cmp(&b.key()))
    });
    if ctx.json {
        output::json(&found);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|f| {
            vec![
                f.severity.as_str().to_owned(),
                f.kind.as_str().to_owned(),
                f.resource.id().to_owned(),
                f.monthly_waste_usd
                    .map_or_else(String::new, |w| format!("${w:.2}")),
                f.title.clone(),
            ]
        })
        .collect();
    output::table(
        &["severity", "type", "resource", "waste/month", "finding"],
        &rows,
    );
    Ok(())
}
