//! Which deployment the commands act on: from the stack's outputs and parameters, or from flags.
//!
//! The approver's settings are read strictly: a stack parameter that is missing or does not
//! read is an error, never a default, so `plgov reconcile` acts exactly as the deployment does.

use std::collections::HashMap;

use aws_config::SdkConfig;
use plgov_shared::adapters::port_error;
use plgov_shared::config::{Env, parse_governed};
use plgov_shared::domain::allowlist::{ServicePolicy, UnmatchedAction};
use plgov_shared::usecases::reconcile::{Governed, ReconcileSettings};

use crate::args::TargetArgs;
use crate::error::CliError;

/// The approver's settings for `reconcile`, `explain` and `connections`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub settings: ReconcileSettings,
    /// Where they came from, for messages: `stack plgov` or `flags`.
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub allowlist_table: Option<String>,
    pub audit_table: Option<String>,
    /// The metrics namespace, when the stack or a flag gave it.
    pub namespace: Option<String>,
    /// The approver's settings, or why they are not known.
    pub deployment: Result<Deployment, String>,
    /// The role that reads AWS Organizations for organization and OU rules (`None`: the
    /// caller's own credentials).
    pub organizations_role: Option<String>,
    /// The target flags as given (`--stack plgov`), for hints that work as printed.
    pub flags: String,
}

/// `args` written back as flags, quoted where the shell needs it.
fn flags_of(args: &TargetArgs) -> String {
    let quote = |v: &str| {
        if v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
        {
            v.to_owned()
        } else {
            format!("'{v}'")
        }
    };
    [
        ("--stack", &args.stack),
        ("--allowlist-table", &args.allowlist_table),
        ("--audit-table", &args.audit_table),
    ]
    .iter()
    .filter_map(|(flag, v)| v.as_deref().map(|v| format!("{flag} {}", quote(v))))
    .collect::<Vec<_>>()
    .join(" ")
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

    /// The approver's settings, required (reconcile acts with them).
    pub fn deployment(&self) -> Result<&Deployment, CliError> {
        self.deployment
            .as_ref()
            .map_err(|why| CliError::invalid(why.clone()))
    }

    /// The approver's defaults where known; otherwise the built-in ones, said on stderr.
    pub fn defaults_or_builtin(&self) -> (ServicePolicy, Governed) {
        match &self.deployment {
            Ok(d) => (d.settings.defaults, d.settings.governed.clone()),
            Err(why) => {
                eprintln!(
                    "note: the deployment's settings are not known ({why}); assuming UnmatchedAction=reject, DryRun=false, every service"
                );
                (ServicePolicy::default(), Governed::All)
            }
        }
    }
}

const SETTING_FLAGS: [&str; 4] = [
    "--governed-services",
    "--unmatched-action",
    "--deployment-dry-run",
    "--audit-retention-days",
];

fn setting_flags(args: &TargetArgs) -> [Option<&str>; 4] {
    [
        args.governed_services.as_deref(),
        args.unmatched_action.as_deref(),
        args.deployment_dry_run.as_deref(),
        args.audit_retention_days.as_deref(),
    ]
}

/// The approver's settings from the four values (stack parameters or flags), strictly.
fn deployment(
    values: [Option<&str>; 4],
    names: [&str; 4],
    source: String,
) -> Result<Deployment, String> {
    let missing: Vec<&str> = values
        .iter()
        .zip(names)
        .filter(|(v, _)| v.is_none())
        .map(|(_, n)| n)
        .collect();
    if !missing.is_empty() {
        return Err(format!("{source} does not give {}", missing.join(", ")));
    }
    let [governed, unmatched, dry_run, retention] = values.map(Option::unwrap_or_default);
    let bad = |name: &str, value: &str, expected: &str| {
        format!("{source}: {name} is {value:?}, expected {expected}")
    };
    let governed =
        parse_governed(Some(governed)).map_err(|e| format!("{source}: {}", e.problem))?;
    let unmatched = UnmatchedAction::parse(unmatched)
        .ok_or_else(|| bad(names[1], unmatched, "`reject` or `leave`"))?;
    let dry_run = match dry_run {
        "true" => true,
        "false" => false,
        other => return Err(bad(names[2], other, "`true` or `false`")),
    };
    let audit_retention_days = retention
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=36_500).contains(d))
        .ok_or_else(|| {
            bad(
                names[3],
                retention,
                "a whole number of days from 1 to 36500",
            )
        })?;
    Ok(Deployment {
        settings: ReconcileSettings {
            governed,
            defaults: ServicePolicy {
                unmatched,
                revoke: false,
                dry_run,
            },
            audit_retention_days,
        },
        source,
    })
}

pub async fn resolve(args: &TargetArgs, sdk: &SdkConfig) -> Result<Target, CliError> {
    let Some(stack) = &args.stack else {
        let namespace = args.namespace.clone();
        let mut from_flags = deployment(setting_flags(args), SETTING_FLAGS, "the flags".into());
        if namespace.is_none() {
            from_flags = from_flags.and(Err("the flags do not give --namespace".to_owned()));
        }
        return Ok(Target {
            flags: flags_of(args),
            organizations_role: args.organizations_role.clone(),
            allowlist_table: args.allowlist_table.clone(),
            audit_table: args.audit_table.clone(),
            namespace,
            deployment: from_flags.map_err(|why| {
                format!(
                    "{why}: give --stack NAME, or every approver setting ({}, --namespace)",
                    SETTING_FLAGS.join(", ")
                )
            }),
        });
    };
    if let Some(flag) = setting_flags(args)
        .iter()
        .zip(SETTING_FLAGS)
        .find_map(|(v, n)| v.map(|_| n))
    {
        return Err(CliError::invalid(format!(
            "{flag} comes from the stack's parameters with --stack; drop the flag"
        )));
    }
    let described = aws_sdk_cloudformation::Client::new(sdk)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            let err = port_error("DescribeStacks", e);
            // CloudFormation says a stack is missing with a ValidationError.
            if err.code.as_deref() == Some("ValidationError") && err.message.contains("does not exist") {
                let region = sdk.region().map_or("the default region".to_owned(), |r| r.to_string());
                CliError::Aws {
                    message: format!(
                        "no stack named {stack:?} in {region}: deploy it (`make local-deploy` for the local emulator, `sam deploy` in AWS), or name another with --stack"
                    ),
                    detail: err.detail,
                }
            } else {
                CliError::from(err)
            }
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
    let names = [
        "GovernedServices",
        "UnmatchedAction",
        "DryRun",
        "AuditRetentionDays",
    ];
    // A hub names its reader role in its outputs; a member or standalone stack in a parameter.
    let organizations_role = args
        .organizations_role
        .clone()
        .or_else(|| output("OrganizationsRoleArn"))
        .or_else(|| {
            parameters
                .get("OrganizationsRoleArn")
                .map(|v| (*v).to_owned())
        })
        .filter(|v| !v.trim().is_empty());
    Ok(Target {
        flags: flags_of(args),
        organizations_role,
        allowlist_table: args
            .allowlist_table
            .clone()
            .or_else(|| output("AllowlistTableName")),
        audit_table: args
            .audit_table
            .clone()
            .or_else(|| output("AuditTableName")),
        namespace: args
            .namespace
            .clone()
            .or_else(|| output("MetricsNamespace")),
        deployment: deployment(
            names.map(|n| parameters.get(n).copied()),
            names,
            format!("stack {stack:?}"),
        ),
    })
}

/// Checks a namespace the way the functions do.
pub fn namespace(value: &str) -> Result<String, CliError> {
    Env(|_: &str| Some(value.to_owned()))
        .namespace("--namespace")
        .map_err(CliError::invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = ["G", "U", "D", "R"];

    #[test]
    fn settings_read_strictly_and_name_what_is_wrong() {
        let ok = deployment(
            [Some("vpce-svc-0a"), Some("leave"), Some("true"), Some("30")],
            NAMES,
            "stack \"x\"".into(),
        )
        .unwrap();
        assert!(ok.settings.defaults.dry_run);
        assert_eq!(ok.settings.defaults.unmatched, UnmatchedAction::Leave);
        assert_eq!(ok.settings.audit_retention_days, 30);
        for (values, expected) in [
            (
                [None, Some("leave"), None, Some("30")],
                "does not give G, D",
            ),
            (
                [Some("all"), Some("Leave"), Some("true"), Some("30")],
                "U is \"Leave\"",
            ),
            (
                [Some("all"), Some("leave"), Some("yes"), Some("30")],
                "D is \"yes\"",
            ),
            (
                [Some("all"), Some("leave"), Some("true"), Some("0")],
                "R is \"0\"",
            ),
            (
                [Some("svc"), Some("leave"), Some("true"), Some("1")],
                "invalid endpoint service id",
            ),
        ] {
            let err = deployment(values, NAMES, "stack \"x\"".into()).unwrap_err();
            assert!(err.contains(expected), "{err} should contain {expected}");
        }
    }
}
