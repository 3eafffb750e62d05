//! `plgov allow add`, `plgov deny add`, `plgov rules list`, `plgov rules remove`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use plgov_shared::adapters::dynamodb::raw_item;
use plgov_shared::adapters::{DynamoAllowlistAdmin, Written};
use plgov_shared::domain::allowlist::{
    AllowlistItem, Effect, POLICY_SORT_KEY, WILDCARD, parse_item,
};
use plgov_shared::domain::hour::format_utc;
use serde_json::json;

use super::{Context, account_id, service_id};
use crate::args::RuleArgs;
use crate::error::CliError;
use crate::expiry::parse_instant;
use crate::output;

fn scope_or_wildcard<T>(
    value: &str,
    parse: impl Fn(&str) -> Result<T, CliError>,
) -> Result<Option<T>, CliError> {
    if value.trim() == WILDCARD {
        Ok(None)
    } else {
        parse(value).map(Some)
    }
}

async fn caller(ctx: &Context) -> Result<String, CliError> {
    let who = aws_sdk_sts::Client::new(&ctx.sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            CliError::Aws(format!(
                "cannot tell who you are (sts:GetCallerIdentity): {}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            ))
        })?;
    Ok(who.arn().unwrap_or("unknown").to_owned())
}

pub async fn add(ctx: &Context, effect: Effect, args: &RuleArgs) -> Result<(), CliError> {
    let service = scope_or_wildcard(&args.service, super::service_id)?;
    let account = scope_or_wildcard(&args.account, super::account_id)?;
    if effect == Effect::Allow
        && service.is_none()
        && account.is_none()
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
    let pk = service
        .as_ref()
        .map_or_else(|| WILDCARD.to_owned(), ToString::to_string);
    let sk = account
        .as_ref()
        .map_or_else(|| WILDCARD.to_owned(), ToString::to_string);
    let table = ctx.target.allowlist_table()?;
    let created_by = caller(ctx).await?;
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let mut item = HashMap::from([
        ("pk".to_owned(), s(&pk)),
        ("sk".to_owned(), s(&sk)),
        ("effect".to_owned(), s(&effect.to_string())),
        ("created_by".to_owned(), s(&created_by)),
        ("created_at".to_owned(), s(&format_utc(ctx.now))),
    ]);
    if let Some(at) = expires_at {
        item.insert("expires_at".to_owned(), AttributeValue::N(at.to_string()));
    }
    if let Some(note) = &args.note {
        item.insert("note".to_owned(), s(note));
    }
    let admin = DynamoAllowlistAdmin::new(ctx.dynamodb(), table);
    let written = admin.put(item, args.replace).await?;
    let described = format!("{effect} rule (service {pk}, account {sk})");
    if written == Written::AlreadyExists {
        return Err(CliError::Refused(format!(
            "a rule for service {pk} and account {sk} exists already; nothing written.\nhint: `plgov rules list --service {pk}` shows it; add --replace to overwrite it"
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
            "expiresAt": expires_at.map(format_utc), "createdBy": created_by, "table": table}),
        );
    } else {
        let until = expires_at
            .map(|at| format!(", until {}", format_utc(at)))
            .unwrap_or_default();
        println!("{verb} {described}{until}");
    }
    Ok(())
}

pub async fn list(ctx: &Context, service: Option<&str>) -> Result<(), CliError> {
    let admin = DynamoAllowlistAdmin::new(ctx.dynamodb(), ctx.target.allowlist_table()?);
    let mut items = Vec::new();
    match service {
        Some(s) => {
            let id = service_id(s)?;
            items.extend(admin.list(Some(id.as_str())).await?);
            items.extend(admin.list(Some(WILDCARD)).await?);
        }
        None => items.extend(admin.list(None).await?),
    }
    let text = |item: &HashMap<String, AttributeValue>, k: &str| {
        item.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    for item in &items {
        if text(item, "sk") == POLICY_SORT_KEY {
            continue;
        }
        let (effect, expires, state) = match parse_item(&raw_item(item)) {
            Ok(AllowlistItem::Rule(rule)) => (
                rule.effect.to_string(),
                rule.expires_at.map(format_utc).unwrap_or_default(),
                if rule.is_live(ctx.now) {
                    "live".to_owned()
                } else {
                    "expired".to_owned()
                },
            ),
            Ok(AllowlistItem::Policy { .. }) => continue,
            Err(err) => (
                String::new(),
                String::new(),
                format!("INVALID (ignored): {}", err.problem),
            ),
        };
        rows.push(json!({
            "service": text(item, "pk"), "account": text(item, "sk"), "effect": effect, "expiresAt": expires,
            "status": state, "note": text(item, "note"), "createdBy": text(item, "created_by"), "createdAt": text(item, "created_at"),
        }));
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

pub async fn remove(ctx: &Context, service: &str, account: &str) -> Result<(), CliError> {
    let pk = if service.trim() == WILDCARD {
        WILDCARD.to_owned()
    } else {
        service_id(service)?.to_string()
    };
    let sk = if account.trim() == WILDCARD {
        WILDCARD.to_owned()
    } else {
        account_id(account)?.to_string()
    };
    let admin = DynamoAllowlistAdmin::new(ctx.dynamodb(), ctx.target.allowlist_table()?);
    match admin.delete(&pk, &sk).await? {
        Some(_) => {
            if ctx.json {
                output::json(&json!({"result": "removed", "service": pk, "account": sk}));
            } else {
                println!("removed the rule for service {pk}, account {sk}");
            }
            Ok(())
        }
        None => Err(CliError::invalid(format!(
            "no rule for service {pk} and account {sk}; nothing removed"
        ))),
    }
}
