//! `plgov policy set`, `plgov policy show`, `plgov policy remove`.

use plgov_shared::domain::ServiceId;
use plgov_shared::domain::allowlist::{
    MalformedItem, PolicyItem, Scope, ServicePolicy, UnmatchedAction,
};
use plgov_shared::tables::allowlist::{Entry, Metadata, StoredPolicy, policy_key};
use serde_json::json;

use super::{Context, service_id};
use crate::args::{OnOff, Unmatched};
use crate::error::CliError;
use crate::output;

pub async fn set(
    ctx: &Context,
    service: &str,
    unmatched: Option<Unmatched>,
    revoke: Option<OnOff>,
    dry_run: Option<OnOff>,
    not_yet_created: bool,
) -> Result<(), CliError> {
    let service = service_id(service)?;
    super::existing_services(ctx, &[&service], not_yet_created).await?;
    if unmatched.is_none() && revoke.is_none() && dry_run.is_none() {
        return Err(CliError::invalid(
            "nothing to set: give --unmatched, --revoke and/or --dry-run",
        ));
    }
    let table = ctx.allowlist()?;
    let mut policy = match table.get(&policy_key(&service)).await? {
        None => PolicyItem::default(),
        Some(Entry::Policy(stored)) => stored.policy,
        Some(Entry::Malformed(item)) => {
            return Err(CliError::Refused(format!(
                "the policy item of {service} is malformed ({}): it holds every connection of the service.\nhint: `plgov {} policy remove --service {service}` removes it; then set the policy again",
                item.problem, ctx.target.flags
            )));
        }
        Some(Entry::Rule(_)) => unreachable!("a #policy key never decodes as a rule"),
    };
    if let Some(u) = unmatched {
        policy.unmatched = Some(match u {
            Unmatched::Reject => UnmatchedAction::Reject,
            Unmatched::Leave => UnmatchedAction::Leave,
        });
    }
    if let Some(r) = revoke {
        policy.revoke = Some(r.is_on());
    }
    if let Some(d) = dry_run {
        policy.dry_run = Some(d.is_on());
    }
    let stored = StoredPolicy {
        service: service.clone(),
        policy,
        meta: Metadata {
            note: None,
            created_by: Some(ctx.caller().await?),
            created_at: Some(ctx.now),
        },
    };
    table.put_policy(&stored).await?;
    print_policies(ctx, &[Shown::Set(service, policy)]);
    Ok(())
}

pub async fn remove(ctx: &Context, service: &str) -> Result<(), CliError> {
    let service = service_id(service)?;
    match ctx.allowlist()?.delete(&policy_key(&service)).await? {
        Some(_) => {
            if ctx.json {
                output::json(&json!({"result": "removed", "service": service}));
            } else {
                println!("removed the policy of {service}; the deployment's defaults apply");
            }
            Ok(())
        }
        None => Err(CliError::invalid(format!(
            "{service} has no policy item; nothing removed"
        ))),
    }
}

/// A policy as shown: set, absent (defaults), or malformed.
enum Shown {
    Set(ServiceId, PolicyItem),
    Malformed(MalformedItem),
}

pub async fn show(ctx: &Context, service: Option<&str>) -> Result<(), CliError> {
    let service = service.map(service_id).transpose()?;
    let mut shown = Vec::new();
    for entry in ctx.allowlist()?.entries().await? {
        match entry {
            Entry::Policy(stored) if service.as_ref().is_none_or(|s| *s == stored.service) => {
                shown.push(Shown::Set(stored.service, stored.policy));
            }
            Entry::Malformed(item)
                if item.is_policy && service.as_ref().is_none_or(|s| item.services.matches(s)) =>
            {
                shown.push(Shown::Malformed(item));
            }
            _ => {}
        }
    }
    if let (Some(s), true) = (&service, shown.is_empty()) {
        shown.push(Shown::Set(s.clone(), PolicyItem::default()));
    }
    shown.sort_by_key(|s| match s {
        Shown::Set(service, _) => service.to_string(),
        Shown::Malformed(item) => item.key.pk.clone(),
    });
    print_policies(ctx, &shown);
    Ok(())
}

fn print_policies(ctx: &Context, shown: &[Shown]) {
    let (defaults, _) = ctx.target.defaults_or_builtin();
    let rows: Vec<serde_json::Value> = shown
        .iter()
        .map(|s| match s {
            Shown::Set(service, item) => json!({
                "service": service, "set": item,
                "effective": ServicePolicy::resolve(Some(item), defaults), "malformed": false,
            }),
            Shown::Malformed(item) => json!({
                "service": item.key.pk, "malformed": true, "problem": item.problem,
                "holds": match &item.services { Scope::Any => "every service".to_owned(), Scope::One(s) => s.to_string() },
            }),
        })
        .collect();
    if ctx.json {
        output::json(&rows);
        return;
    }
    let show = |v: Option<String>, effective: String| {
        v.unwrap_or_else(|| format!("({effective}, default)"))
    };
    let cells: Vec<Vec<String>> = shown
        .iter()
        .map(|s| match s {
            Shown::Set(service, item) => {
                let e = ServicePolicy::resolve(Some(item), defaults);
                vec![
                    service.to_string(),
                    show(
                        item.unmatched.map(|u| u.to_string()),
                        e.unmatched.to_string(),
                    ),
                    show(item.revoke.map(|r| r.to_string()), e.revoke.to_string()),
                    show(item.dry_run.map(|d| d.to_string()), e.dry_run.to_string()),
                    String::new(),
                ]
            }
            Shown::Malformed(item) => vec![
                item.key.pk.clone(),
                "?".into(),
                "?".into(),
                "?".into(),
                format!("MALFORMED (holds the whole service): {}", item.problem),
            ],
        })
        .collect();
    output::table(
        &["SERVICE", "UNMATCHED", "REVOKE", "DRY RUN", "STATUS"],
        &cells,
    );
}
