//! `plgov audit`: recent decisions, newest first.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use plgov_shared::adapters::DynamoAllowlistAdmin;
use plgov_shared::domain::hour::format_utc;
use serde_json::json;

use super::{Context, service_id};
use crate::error::CliError;
use crate::expiry::parse_instant;
use crate::output;

pub async fn list(
    ctx: &Context,
    service: Option<&str>,
    since: Option<&str>,
) -> Result<(), CliError> {
    let since = match since {
        None => i64::MIN,
        Some(text) => parse_instant(text, ctx.now, -1)
            .map_err(|e| CliError::invalid(format!("--since: {e}")))?,
    };
    // The audit table has the allowlist's key shape (pk = service), so the same reader serves.
    let table = DynamoAllowlistAdmin::new(ctx.dynamodb(), ctx.target.audit_table()?);
    let items = match service {
        Some(s) => table.list(Some(service_id(s)?.as_str())).await?,
        None => table.list(None).await?,
    };
    let text = |i: &HashMap<String, AttributeValue>, k: &str| {
        i.get(k)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let number = |i: &HashMap<String, AttributeValue>, k: &str| {
        i.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    let mut rows: Vec<(i64, serde_json::Value)> = items
        .iter()
        .filter_map(|i| {
            let at = number(i, "decided_at")?;
            (at >= since).then(|| {
                (at, json!({
                    "decidedAt": format_utc(at), "service": text(i, "service_id"), "endpoint": text(i, "endpoint_id"),
                    "owner": text(i, "owner"), "decision": text(i, "decision"), "reason": text(i, "reason"),
                    "trigger": text(i, "trigger"), "dryRun": i.get("dry_run").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
                }))
            })
        })
        .collect();
    rows.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let rows: Vec<serde_json::Value> = rows.into_iter().map(|(_, r)| r).collect();
    if ctx.json {
        output::json(&rows);
    } else {
        output::rows(
            &[
                ("DECIDED AT", "decidedAt"),
                ("SERVICE", "service"),
                ("ENDPOINT", "endpoint"),
                ("OWNER", "owner"),
                ("DECISION", "decision"),
                ("TRIGGER", "trigger"),
                ("DRY RUN", "dryRun"),
                ("REASON", "reason"),
            ],
            &rows,
        );
    }
    Ok(())
}
