//! `plgov allow add`, `plgov deny add`, `plgov rules list`, `plgov rules remove`.

use plgov_shared::domain::allowlist::{Consumers, Effect, ItemKey, Rule, Scope, WILDCARD};
use plgov_shared::domain::hour::format_utc;
use plgov_shared::tables::allowlist::{Entry, Metadata, StoredRule, Written, rule_key};
use serde_json::json;

use super::{Context, consumers, service_id};
use crate::args::RuleArgs;
use crate::error::CliError;
use crate::expiry::parse_instant;
use crate::output;

fn scope_or_wildcard<T>(
    value: &str,
    parse: impl Fn(&str) -> Result<T, CliError>,
) -> Result<Scope<T>, CliError> {
    if value.trim() == WILDCARD {
        Ok(Scope::Any)
    } else {
        parse(value).map(Scope::One)
    }
}

pub async fn add(ctx: &Context, effect: Effect, args: &RuleArgs) -> Result<(), CliError> {
    let service = scope_or_wildcard(&args.service, service_id)?;
    let account = consumers(&args.account)?;
    if effect == Effect::Allow
        && service == Scope::Any
        && account == Consumers::Any
        && !args.all_accounts_all_services
    {
        return Err(CliError::Refused(
            "refusing to allow every account on every service: that accepts any connection request.\n\
             hint: name a service or an account, or add --all-accounts-all-services if you mean it"
                .into(),
        ));
    }
    let expires_at = match &args.expires {
        None => None,
        Some(text) => {
            let at = parse_instant(text, ctx.now, 1)
                .map_err(|e| CliError::invalid(format!("--expires: {e}")))?;
            if at <= ctx.now {
                return Err(CliError::invalid(format!(
                    "--expires: {text:?} is in the past"
                )));
            }
            Some(at)
        }
    };
    // The input first, then whether the service exists (a call to EC2).
    if let Scope::One(id) = &service {
        super::existing_services(ctx, &[id], args.not_yet_created).await?;
    }
    let table = ctx.allowlist()?;
    let created_by = ctx.caller().await?;
    let stored = StoredRule {
        rule: Rule {
            service,
            account,
            effect,
            expires_at,
        },
        meta: Metadata {
            note: args.note.clone(),
            created_by: Some(created_by.clone()),
            created_at: Some(ctx.now),
        },
    };
    let ItemKey { pk, sk } = rule_key(&stored.rule);
    let written = table.put_rule(&stored, args.replace).await?;
    if written == Written::AlreadyExists {
        return Err(CliError::Refused(format!(
            "a rule for service {pk} and account {sk} exists already; nothing written.\nhint: `plgov {} rules list --service {pk}` shows it; add --replace to overwrite it",
            ctx.target.flags
        )));
    }
    let verb = if written == Written::Replaced {
        "replaced"
    } else {
        "added"
    };
    if ctx.json {
        output::json(
            &json!({"result": verb, "service": pk, "account": sk, "effect": effect,
            "expiresAt": expires_at.map(format_utc), "createdBy": created_by, "table": table.name()}),
        );
    } else {
        let until = expires_at
            .map(|at| format!(", until {}", format_utc(at)))
            .unwrap_or_default();
        println!("{verb} {}{until}", stored.rule);
    }
    Ok(())
}

pub async fn list(ctx: &Context, service: Option<&str>) -> Result<(), CliError> {
    let service = service.map(service_id).transpose()?;
    let entries = ctx.allowlist()?.entries().await?;
    let mut rows = Vec::new();
    for entry in &entries {
        let key = entry.key();
        let row = match entry {
            // Policies, well-formed or not, are `plgov policy show`'s.
            Entry::Policy(_) => continue,
            Entry::Malformed(item) if item.is_policy => continue,
            Entry::Rule(stored) => {
                if let Some(s) = &service
                    && !stored.rule.service.matches(s)
                {
                    continue;
                }
                let status = if stored.rule.is_live(ctx.now) {
                    "live"
                } else {
                    "expired"
                };
                json!({
                    "service": key.pk, "account": key.sk, "effect": stored.rule.effect,
                    "expiresAt": stored.rule.expires_at.map(format_utc).unwrap_or_default(),
                    "status": status, "note": stored.meta.note.clone().unwrap_or_default(),
                    "createdBy": stored.meta.created_by.clone().unwrap_or_default(),
                    "createdAt": stored.meta.created_at.map(format_utc).unwrap_or_default(),
                })
            }
            Entry::Malformed(item) => {
                if let Some(s) = &service
                    && !item.services.matches(s)
                {
                    continue;
                }
                json!({
                    "service": key.pk, "account": key.sk, "effect": "", "expiresAt": "",
                    "status": format!("MALFORMED, holds service {} account {}: {}", item.services,
                        if item.is_policy { "*".to_owned() } else { item.accounts.to_string() }, item.problem),
                    "malformed": true, "problem": item.problem, "note": "", "createdBy": "", "createdAt": "",
                })
            }
        };
        rows.push(row);
    }
    rows.sort_by_key(|r| {
        (
            r["service"].as_str().unwrap_or("").to_owned(),
            r["account"].as_str().unwrap_or("").to_owned(),
        )
    });
    if ctx.json {
        output::json(&rows);
    } else {
        output::rows(
            &[
                ("SERVICE", "service"),
                ("ACCOUNT", "account"),
                ("EFFECT", "effect"),
                ("EXPIRES", "expiresAt"),
                ("STATUS", "status"),
                ("NOTE", "note"),
                ("CREATED BY", "createdBy"),
            ],
            &rows,
        );
    }
    Ok(())
}

pub async fn remove(
    ctx: &Context,
    service: &str,
    account: &str,
    exact: bool,
) -> Result<(), CliError> {
    let key = if exact {
        ItemKey {
            pk: service.to_owned(),
            sk: account.to_owned(),
        }
    } else {
        let rule = Rule {
            service: scope_or_wildcard(service, service_id)?,
            account: consumers(account)?,
            effect: Effect::Deny,
            expires_at: None,
        };
        rule_key(&rule)
    };
    match ctx.allowlist()?.delete(&key).await? {
        Some(_) => {
            if ctx.json {
                output::json(&json!({"result": "removed", "service": key.pk, "account": key.sk}));
            } else {
                println!(
                    "removed the item for service {:?}, account {:?}",
                    key.pk, key.sk
                );
            }
            Ok(())
        }
        None => Err(CliError::invalid(format!(
            "no rule for service {:?} and account {:?}; nothing removed",
            key.pk, key.sk
        ))),
    }
}
