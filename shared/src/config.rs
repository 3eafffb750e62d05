//! Configuration from environment variables, validated once at start.
//! A bad value is an error that names the variable and what it accepts.

use std::collections::BTreeSet;

use crate::domain::allowlist::{ServicePolicy, UnmatchedAction};
use crate::domain::pricing::PricingOverrides;
use crate::domain::{AccountId, ServiceId};
use crate::usecases::cost::{CostSettings, MAX_PER_ENDPOINT_METRICS};
use crate::usecases::findings::HubMode;
use crate::usecases::reconcile::{Governed, ReconcileSettings};
use crate::usecases::service_findings::ServiceFindingsSettings;

pub const DEFAULT_NAMESPACE: &str = "PrivateLinkGovernor";
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 400;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn problem<T>(variable: &'static str, problem: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError {
        variable,
        problem: problem.into(),
    })
}

/// Reads variables through `lookup` (the environment in production, a map in tests).
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name)
            .map_or_else(|| problem(name, "is required and not set"), Ok)
    }

    pub fn bool_or(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => problem(name, format!("must be `true` or `false`, found {other:?}")),
        }
    }

    pub fn namespace(&self, name: &'static str) -> Result<String, ConfigError> {
        let ns = self
            .get(name)
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        if ns.len() > 255 || ns.starts_with("AWS/") || ns.contains(':') {
            return problem(
                name,
                format!(
                    "{ns:?} is not a usable custom namespace (at most 255 characters, no `AWS/` prefix, no `:`)"
                ),
            );
        }
        Ok(ns)
    }
}

/// The connection approver's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApproverConfig {
    pub allowlist_table: String,
    pub audit_table: String,
    pub metrics_namespace: String,
    pub reconcile: ReconcileSettings,
    pub account_id: AccountId,
    pub findings: ServiceFindingsSettings,
    /// `ORGANIZATIONS_ROLE_ARN`: the role that reads where consumer accounts sit in AWS
    /// Organizations; `None`: the function's own credentials.
    pub organizations_role: Option<String>,
}

impl ApproverConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let unmatched = match env.get("UNMATCHED_ACTION") {
            None => UnmatchedAction::Reject,
            Some(v) => match UnmatchedAction::parse(&v) {
                Some(action) => action,
                None => {
                    return problem(
                        "UNMATCHED_ACTION",
                        format!("must be `reject` or `leave`, found {v:?}"),
                    );
                }
            },
        };
        let retention = match env.get("AUDIT_RETENTION_DAYS") {
            None => DEFAULT_AUDIT_RETENTION_DAYS,
            Some(v) => match v.parse::<u32>() {
                Ok(days) if (1..=36_500).contains(&days) => days,
                _ => {
                    return problem(
                        "AUDIT_RETENTION_DAYS",
                        format!("must be a whole number of days from 1 to 36500, found {v:?}"),
                    );
                }
            },
        };
        Ok(Self {
            allowlist_table: env.required("ALLOWLIST_TABLE")?,
            audit_table: env.required("AUDIT_TABLE")?,
            metrics_namespace: env.namespace("METRICS_NAMESPACE")?,
            reconcile: ReconcileSettings {
                governed: parse_governed(env.get("GOVERNED_SERVICES").as_deref())?,
                defaults: ServicePolicy {
                    unmatched,
                    revoke: false,
                    dry_run: env.bool_or("DRY_RUN", false)?,
                },
                audit_retention_days: retention,
            },
            account_id: account_id(&env)?,
            findings: ServiceFindingsSettings {
                topic: env.required("CONNECTION_TOPIC_ARN")?,
                security_hub: hub_mode(&env)?,
                sync_principals: env.bool_or("SYNC_ALLOWED_PRINCIPALS", false)?,
            },
            organizations_role: role_arn(&env, "ORGANIZATIONS_ROLE_ARN")?,
        })
    }
}

/// An optional IAM role ARN, `arn:<partition>:iam::<12 digits>:role/<path and name>`.
fn role_arn<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    name: &'static str,
) -> Result<Option<String>, ConfigError> {
    let Some(value) = env.get(name) else {
        return Ok(None);
    };
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    match parts[..] {
        ["arn", partition, "iam", "", account, role]
            if !partition.is_empty()
                && AccountId::parse(account).is_ok()
                && role.strip_prefix("role/").is_some_and(|n| !n.is_empty()) =>
        {
            Ok(Some(value))
        }
        _ => problem(
            name,
            format!(
                "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), found {value:?}"
            ),
        ),
    }
}

/// `ACCOUNT_ID`: the account the functions run in (findings name it).
fn account_id<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<AccountId, ConfigError> {
    let value = env.required("ACCOUNT_ID")?;
    AccountId::parse(&value).or_else(|e| problem("ACCOUNT_ID", e.to_string()))
}

/// `FINDINGS_TO_SECURITY_HUB`: `auto` (default), `on` or `off`.
fn hub_mode<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<HubMode, ConfigError> {
    match env.get("FINDINGS_TO_SECURITY_HUB") {
        None => Ok(HubMode::Auto),
        Some(v) => HubMode::parse(&v).map_or_else(
            || {
                problem(
                    "FINDINGS_TO_SECURITY_HUB",
                    format!("must be `auto`, `on` or `off`, found {v:?}"),
                )
            },
            Ok,
        ),
    }
}

/// The cost reporter's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct CostConfig {
    pub cost_table: String,
    /// `COST_POOL_TABLE`: the organization's cost pool (name or ARN); `None`: a standalone
    /// stack, whose tiers count its own account's GB.
    pub cost_pool_table: Option<String>,
    pub metrics_namespace: String,
    pub account_id: AccountId,
    pub settings: CostSettings,
}

/// Per-endpoint metrics cost $0.30 a month each: none unless asked for.
pub const DEFAULT_PER_ENDPOINT_METRICS: usize = 0;
/// USD a month the traffic queries may cost (`GetMetricData`, $0.01 per 1,000 metrics).
pub const DEFAULT_TRAFFIC_QUERY_BUDGET: f64 = 20.0;

impl CostConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let per_endpoint_metrics = match env.get("PER_ENDPOINT_METRICS") {
            None => DEFAULT_PER_ENDPOINT_METRICS,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n <= MAX_PER_ENDPOINT_METRICS => n,
                _ => {
                    return problem(
                        "PER_ENDPOINT_METRICS",
                        format!(
                            "must be a whole number from 0 to {MAX_PER_ENDPOINT_METRICS}, found {v:?}"
                        ),
                    );
                }
            },
        };
        let traffic_budget_usd = match env.get("TRAFFIC_QUERY_BUDGET") {
            None => DEFAULT_TRAFFIC_QUERY_BUDGET,
            Some(v) => match v.parse::<f64>() {
                Ok(b) if b.is_finite() && b > 0.0 => b,
                _ => {
                    return problem(
                        "TRAFFIC_QUERY_BUDGET",
                        format!("must be a positive number of USD a month, found {v:?}"),
                    );
                }
            },
        };
        let pricing_overrides = match env.get("PRICING_OVERRIDES") {
            None => PricingOverrides::default(),
            Some(json) => PricingOverrides::parse(&json).map_err(|e| ConfigError {
                variable: "PRICING_OVERRIDES",
                problem: e
                    .to_string()
                    .trim_start_matches("PRICING_OVERRIDES: ")
                    .to_owned(),
            })?,
        };
        let region = env
            .get("AWS_REGION")
            .or_else(|| env.get("AWS_DEFAULT_REGION"));
        let Some(region) = region else {
            return problem("AWS_REGION", "is required and not set (Lambda sets it)");
        };
        Ok(Self {
            cost_table: env.required("COST_TABLE")?,
            cost_pool_table: env.get("COST_POOL_TABLE"),
            metrics_namespace: env.namespace("METRICS_NAMESPACE")?,
            account_id: account_id(&env)?,
            settings: CostSettings {
                region,
                pricing_overrides,
                per_endpoint_metrics,
                traffic_budget_usd,
                security_hub: hub_mode(&env)?,
            },
        })
    }
}

/// `all` (or unset) or a comma-separated list of endpoint service ids.
pub fn parse_governed(value: Option<&str>) -> Result<Governed, ConfigError> {
    let value = value.unwrap_or("all").trim();
    if value.eq_ignore_ascii_case("all") {
        return Ok(Governed::All);
    }
    let ids = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            ServiceId::parse(s).map_err(|e| ConfigError {
                variable: "GOVERNED_SERVICES",
                problem: e.to_string(),
            })
        })
        .collect::<Result<BTreeSet<_>, _>>()?;
    if ids.is_empty() {
        return problem(
            "GOVERNED_SERVICES",
            "must be `all` or a comma-separated list of endpoint service ids",
        );
    }
    Ok(Governed::These(ids))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<ApproverConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ApproverConfig::from_lookup(|name| map.get(name).cloned())
    }

    const TABLES: [(&str, &str); 4] = [
        ("ALLOWLIST_TABLE", "allow"),
        ("AUDIT_TABLE", "audit"),
        ("ACCOUNT_ID", "123456789012"),
        (
            "CONNECTION_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:plgov",
        ),
    ];

    #[test]
    fn defaults_are_safe() {
        let c = config(&TABLES).unwrap();
        assert_eq!(c.metrics_namespace, "PrivateLinkGovernor");
        assert_eq!(c.reconcile.governed, Governed::All);
        assert_eq!(
            c.reconcile.defaults,
            ServicePolicy {
                unmatched: UnmatchedAction::Reject,
                revoke: false,
                dry_run: false
            }
        );
        assert_eq!(c.findings.security_hub, HubMode::Auto);
        assert!(!c.findings.sync_principals, "off unless asked for");
        assert_eq!(c.organizations_role, None);
    }

    #[test]
    fn the_organizations_role_is_an_iam_role_arn_or_empty() {
        let role = "arn:aws:iam::222222222222:role/plgov-hub-OrganizationReaderRole-1";
        let mut vars = TABLES.to_vec();
        vars.push(("ORGANIZATIONS_ROLE_ARN", role));
        assert_eq!(
            config(&vars).unwrap().organizations_role.as_deref(),
            Some(role)
        );
        vars.pop();
        vars.push(("ORGANIZATIONS_ROLE_ARN", ""));
        assert_eq!(config(&vars).unwrap().organizations_role, None);
        for bad in [
            "plgov-reader",
            "arn:aws:iam::2222:role/x",
            "arn:aws:iam::222222222222:user/x",
        ] {
            vars.pop();
            vars.push(("ORGANIZATIONS_ROLE_ARN", bad));
            let err = config(&vars).unwrap_err();
            assert_eq!(err.variable, "ORGANIZATIONS_ROLE_ARN");
            assert!(err.problem.contains(bad), "{}", err.problem);
        }
    }

    #[test]
    fn findings_settings_are_read_and_checked() {
        let mut vars = TABLES.to_vec();
        vars.extend([
            ("FINDINGS_TO_SECURITY_HUB", "on"),
            ("SYNC_ALLOWED_PRINCIPALS", "true"),
        ]);
        let c = config(&vars).unwrap();
        assert_eq!(
            (c.findings.security_hub, c.findings.sync_principals),
            (HubMode::On, true)
        );
        assert_eq!(c.account_id.as_str(), "123456789012");
        for (name, value, expected) in [
            (
                "FINDINGS_TO_SECURITY_HUB",
                "yes",
                "FINDINGS_TO_SECURITY_HUB: must be `auto`, `on` or `off`",
            ),
            ("ACCOUNT_ID", "12345", "ACCOUNT_ID: "),
            (
                "SYNC_ALLOWED_PRINCIPALS",
                "maybe",
                "SYNC_ALLOWED_PRINCIPALS",
            ),
        ] {
            let mut vars: Vec<(&str, &str)> =
                TABLES.iter().copied().filter(|(k, _)| *k != name).collect();
            vars.push((name, value));
            let err = config(&vars).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let without: Vec<(&str, &str)> = TABLES
            .iter()
            .copied()
            .filter(|(k, _)| *k != "ACCOUNT_ID")
            .collect();
        assert!(
            config(&without)
                .unwrap_err()
                .to_string()
                .contains("ACCOUNT_ID: is required")
        );
    }

    #[test]
    fn every_setting_is_read() {
        let mut vars = TABLES.to_vec();
        vars.extend([
            ("GOVERNED_SERVICES", "vpce-svc-0a, vpce-svc-0b"),
            ("DRY_RUN", "TRUE"),
            ("UNMATCHED_ACTION", "leave"),
            ("METRICS_NAMESPACE", "Custom/Ns"),
            ("AUDIT_RETENTION_DAYS", "30"),
        ]);
        let c = config(&vars).unwrap();
        assert_eq!(c.metrics_namespace, "Custom/Ns");
        assert!(matches!(&c.reconcile.governed, Governed::These(ids) if ids.len() == 2));
        assert!(c.reconcile.defaults.dry_run);
        assert_eq!(c.reconcile.defaults.unmatched, UnmatchedAction::Leave);
        assert_eq!(c.reconcile.audit_retention_days, 30);
    }

    fn cost_config(vars: &[(&str, &str)]) -> Result<CostConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        CostConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn cost_settings_are_read_and_checked() {
        let base = [
            ("COST_TABLE", "cost"),
            ("AWS_REGION", "us-east-1"),
            ("ACCOUNT_ID", "123456789012"),
        ];
        let c = cost_config(&base).unwrap();
        assert_eq!(c.settings.per_endpoint_metrics, 0);
        assert_eq!(c.settings.traffic_budget_usd, 20.0);
        assert_eq!(c.settings.region, "us-east-1");
        let mut all = base.to_vec();
        all.extend([
            ("PER_ENDPOINT_METRICS", "25"),
            ("TRAFFIC_QUERY_BUDGET", "7.5"),
            (
                "PRICING_OVERRIDES",
                r#"{"sa-east-1": {"endpointAzHour": 0.015}}"#,
            ),
        ]);
        let c = cost_config(&all).unwrap();
        assert_eq!(c.settings.per_endpoint_metrics, 25);
        assert_eq!(c.settings.traffic_budget_usd, 7.5);
        assert!(c.settings.pricing_overrides.has("sa-east-1"));
        for (name, value, expected) in [
            (
                "PER_ENDPOINT_METRICS",
                "ten",
                "PER_ENDPOINT_METRICS: must be a whole number from 0 to 1000",
            ),
            (
                "PER_ENDPOINT_METRICS",
                "1001",
                "PER_ENDPOINT_METRICS: must be a whole number from 0 to 1000",
            ),
            (
                "TRAFFIC_QUERY_BUDGET",
                "0",
                "TRAFFIC_QUERY_BUDGET: must be a positive number",
            ),
            (
                "PRICING_OVERRIDES",
                r#"{"us-east-1": {"natGb": "x"}}"#,
                "PRICING_OVERRIDES: us-east-1.natGb must be a non-negative number",
            ),
        ] {
            let mut vars = base.to_vec();
            vars.push((name, value));
            let err = cost_config(&vars).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        assert!(
            cost_config(&[("COST_TABLE", "c")])
                .unwrap_err()
                .to_string()
                .contains("AWS_REGION")
        );
        assert!(
            cost_config(&[("AWS_REGION", "us-east-1")])
                .unwrap_err()
                .to_string()
                .contains("COST_TABLE")
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let with = |name: &'static str, value: &'static str| {
            let mut vars = TABLES.to_vec();
            vars.push((name, value));
            vars
        };
        let cases = [
            (vec![("AUDIT_TABLE", "a")], "ALLOWLIST_TABLE: is required"),
            (vec![("ALLOWLIST_TABLE", "a")], "AUDIT_TABLE: is required"),
            (
                with("DRY_RUN", "yes"),
                "DRY_RUN: must be `true` or `false`, found \"yes\"",
            ),
            (
                with("UNMATCHED_ACTION", "accept"),
                "UNMATCHED_ACTION: must be `reject` or `leave`",
            ),
            (
                with("GOVERNED_SERVICES", "vpce-svc-0a,svc-b"),
                "GOVERNED_SERVICES: invalid endpoint service id \"svc-b\"",
            ),
            (
                with("GOVERNED_SERVICES", " , "),
                "GOVERNED_SERVICES: must be `all` or",
            ),
            (
                with("METRICS_NAMESPACE", "AWS/EC2"),
                "METRICS_NAMESPACE: \"AWS/EC2\" is not a usable",
            ),
            (
                with("AUDIT_RETENTION_DAYS", "0"),
                "AUDIT_RETENTION_DAYS: must be a whole number",
            ),
        ];
        for (vars, expected) in cases {
            let err = config(&vars).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should contain {expected}");
        }
    }
}
