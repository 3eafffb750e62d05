//! `plgov policy set` and `plgov policy show`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use plgov_shared::adapters::DynamoAllowlistAdmin;
use plgov_shared::adapters::dynamodb::raw_item;
use plgov_shared::domain::allowlist::{
    AllowlistItem, POLICY_SORT_KEY, PolicyItem, ServicePolicy, parse_item,
};
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
) -> Result<(), CliError> {
    let service = service_id(service)?;
    if unmatched.is_none() && revoke.is_none() && dry_run.is_none() {
        return Err(CliError::invalid(
            "nothing to set: give --unmatched, --revoke and/or --dry-run",
        ));
    }
    let admin = DynamoAllowlistAdmin::new(ctx.dynamodb(), ctx.target.allowlist_table()?);
    let existing = admin.list(Some(service.as_str())).await?;
    let mut item: HashMap<String, AttributeValue> = existing
        .into_iter()
        .find(|i| {
            i.get("sk").and_then(|v| v.as_s().ok()).map(String::as_str) == Some(POLICY_SORT_KEY)
        })
        .unwrap_or_default();
    item.insert("pk".into(), AttributeValue::S(service.to_string()));
    item.insert("sk".into(), AttributeValue::S(POLICY_SORT_KEY.into()));
    if let Some(u) = unmatched {
        let value = match u {
            Unmatched::Reject => "reject",
            Unmatched::Leave => "leave",
        };
        item.insert("unmatched".into(), AttributeValue::S(value.into()));
    }
    if let Some(r) = revoke {
        item.insert("revoke".into(), AttributeValue::Bool(r.is_on()));
    }
    if let Some(d) = dry_run {
        item.insert("dry_run".into(), AttributeValue::Bool(d.is_on()));
    }
    let policy = match parse_item(&raw_item(&item)) {
        Ok(AllowlistItem::Policy { policy, .. }) => policy,
        _ => {
            return Err(CliError::invalid(format!(
                "the existing policy item of {service} is malformed; remove it first"
            )));
        }
    };
    admin.put(item, true).await?;
    print_policies(ctx, &[(service.to_string(), policy)]);
    Ok(())
}

pub async fn show(ctx: &Context, service: Option<&str>) -> Result<(), CliError> {
    let admin = DynamoAllowlistAdmin::new(ctx.dynamodb(), ctx.target.allowlist_table()?);
    let items = match service {
        Some(s) => admin.list(Some(service_id(s)?.as_str())).await?,
        None => admin.list(None).await?,
    };
    let mut policies = Vec::new();
    for item in &items {
        if let Ok(AllowlistItem::Policy { service, policy }) = parse_item(&raw_item(item)) {
            policies.push((service.to_string(), policy));
        }
    }
    if let (Some(s), true) = (service, policies.is_empty()) {
        policies.push((service_id(s)?.to_string(), PolicyItem::default()));
    }
    policies.sort_by(|a, b| a.0.cmp(&b.0));
    print_policies(ctx, &policies);
    Ok(())
}

fn print_policies(ctx: &Context, policies: &[(String, PolicyItem)]) {
    let rows: Vec<serde_json::Value> = policies
        .iter()
        .map(|(service, item)| {
            let effective = ServicePolicy::resolve(Some(item), ctx.target.defaults);
            json!({"service": service, "set": item, "effective": effective})
        })
        .collect();
    if ctx.json {
        output::json(&rows);
        return;
    }
    let show = |v: Option<String>, effective: String| {
        v.unwrap_or_else(|| format!("({effective}, default)"))
    };
    let cells: Vec<Vec<String>> = policies
        .iter()
        .map(|(service, item)| {
            let e = ServicePolicy::resolve(Some(item), ctx.target.defaults);
            vec![
                service.clone(),
                show(
                    item.unmatched.map(|u| u.to_string()),
                    e.unmatched.to_string(),
                ),
                show(item.revoke.map(|r| r.to_string()), e.revoke.to_string()),
                show(item.dry_run.map(|d| d.to_string()), e.dry_run.to_string()),
            ]
        })
        .collect();
    output::table(&["SERVICE", "UNMATCHED", "REVOKE", "DRY RUN"], &cells);
}
