//! Where findings go: every run's result and log lines, a `Findings` metric per type, and AWS
//! Security Hub when it is wanted. Security Hub gets only what is new, changed or resolved
//! (compared with what it holds of this product), so a steady state imports nothing.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::findings::{Finding, ImportPlan, plan_import};
use crate::domain::metrics::{MetricPoint, Unit};
use crate::ports::{FindingsHub, Metrics, PortError};

/// `FindingsToSecurityHub`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HubMode {
    /// Import when Security Hub is enabled; otherwise say so and go on.
    #[default]
    Auto,
    /// Import; Security Hub not enabled is an error.
    On,
    Off,
}

impl HubMode {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "auto" => Some(Self::Auto),
            "on" => Some(Self::On),
            "off" => Some(Self::Off),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    #[error(
        "Security Hub is not enabled in this account and region, and FindingsToSecurityHub is `on`: enable it (aws securityhub enable-security-hub) or set the parameter to `auto`"
    )]
    SecurityHubNotEnabled,
    #[error(transparent)]
    Port(#[from] PortError),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingsSummary {
    pub findings: Vec<Finding>,
    /// Per type, how many.
    pub counts: BTreeMap<&'static str, usize>,
    /// USD a month wasted, over the waste findings.
    pub monthly_waste_usd: f64,
    /// `imported`, `unchanged`, `off` or why nothing went there.
    pub security_hub: String,
    pub imported: usize,
    pub archived: usize,
}

/// Whether a run at epoch second `now`, one every `interval_hours`, is the day's first: the
/// one that publishes the `Findings` metric. A custom metric is billed by the hours it has data
/// in, so a daily count costs a 24th of an hourly one; the dashboard reads it per day.
pub fn first_run_of_day(now: i64, interval_hours: u32) -> bool {
    now.rem_euclid(86_400) < i64::from(interval_hours.max(1)) * 3_600
}

/// Reports `found` (the findings of one side, from `generator`) at epoch second `now`; the
/// `Findings` metric only when `daily_metric` (the day's first run).
pub async fn report_findings<H: FindingsHub, M: Metrics>(
    hub: &H,
    metrics: &M,
    mode: HubMode,
    generator: &str,
    found: Vec<Finding>,
    now: i64,
    daily_metric: bool,
) -> Result<FindingsSummary, FindingsError> {
    for f in &found {
        tracing::warn!(finding_type = f.kind.as_str(), resource = f.resource.id(), severity = f.severity.as_str(),
            monthly_waste_usd = f.monthly_waste_usd, title = %f.title, "finding");
    }
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for f in &found {
        *counts.entry(f.kind.as_str()).or_default() += 1;
    }
    // One metric per type that has findings: a type without any costs nothing.
    let points: Vec<MetricPoint> = counts
        .iter()
        .filter(|_| daily_metric)
        .map(|(kind, n)| MetricPoint {
            name: "Findings",
            dimensions: vec![("Type", (*kind).to_owned())],
            value: *n as f64,
            unit: Unit::Count,
            timestamp: now,
        })
        .collect();
    if !points.is_empty() {
        metrics.publish(&points).await?;
    }
    let mut summary = FindingsSummary {
        monthly_waste_usd: found.iter().filter_map(|f| f.monthly_waste_usd).sum(),
        counts,
        ..Default::default()
    };
    summary.security_hub = match mode {
        HubMode::Off => "off".into(),
        // Boxed: Security Hub's futures are large.
        HubMode::Auto | HubMode::On => match Box::pin(hub.held(generator)).await? {
            None if mode == HubMode::On => return Err(FindingsError::SecurityHubNotEnabled),
            None => {
                tracing::info!(
                    "Security Hub is not enabled in this account and region: findings are in this result and the log only"
                );
                "not enabled in this account and region: findings in the result and the log only"
                    .into()
            }
            Some(held) => {
                let plan: ImportPlan = plan_import(&found, &held);
                if plan.items.is_empty() {
                    "unchanged".into()
                } else {
                    Box::pin(hub.import(generator, &plan, now)).await?;
                    summary.imported = plan.imported();
                    summary.archived = plan.archived();
                    "imported".into()
                }
            }
        },
    };
    summary.findings = found;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metric_is_published_by_the_first_run_of_each_day() {
        let midnight = 1_795_046_400; // 2026-11-19T00:00:00Z
        assert!(first_run_of_day(midnight + 600, 1));
        assert!(!first_run_of_day(midnight + 3_600 + 600, 1));
        assert!(
            first_run_of_day(midnight + 3 * 3_600, 4),
            "every 4 hours: the run before 04:00"
        );
        assert!(!first_run_of_day(midnight - 600, 1));
    }
}
