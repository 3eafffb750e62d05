//! `plgov audit`: recent decisions, newest first, each with what AWS answered when it was
//! carried out.

use std::collections::BTreeMap;

use plgov_shared::domain::audit::{AuditRecord, DecisionRecord, OutcomeRecord};
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
    let service = service.map(service_id).transpose()?;
    let records = ctx.audit().await?.records(service.as_ref()).await?;
    let mut decisions: Vec<DecisionRecord> = Vec::new();
    let mut outcomes: BTreeMap<(String, String, String), Vec<OutcomeRecord>> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for record in records {
        match record {
            Ok(AuditRecord::Decision(d)) => decisions.push(d),
            Ok(AuditRecord::Outcome(o)) => outcomes
                .entry((
                    o.service_id.to_string(),
                    o.endpoint_id.to_string(),
                    o.decision.to_string(),
                ))
                .or_default()
                .push(o),
            Err(item) => unreadable.push(item),
        }
    }
    decisions.retain(|d| d.decided_at >= since);
    decisions.sort_by_key(|d| std::cmp::Reverse(d.decided_at));
    let rows: Vec<serde_json::Value> = decisions
        .iter()
        .map(|d| {
            let mut answers: Vec<&OutcomeRecord> = if d.dry_run {
                Vec::new()
            } else {
                outcomes
                    .get(&(
                        d.service_id.to_string(),
                        d.endpoint_id.to_string(),
                        d.decision.to_string(),
                    ))
                    .map(|v| v.iter().collect())
                    .unwrap_or_default()
            };
            answers.sort_by_key(|o| o.attempted_at);
            json!({
                "decidedAt": format_utc(d.decided_at), "service": d.service_id, "endpoint": d.endpoint_id,
                "owner": d.owner, "decision": d.decision, "reason": d.reason, "trigger": d.trigger,
                "dryRun": d.dry_run,
                "outcome": answers.iter().map(|o| o.outcome.to_string()).collect::<Vec<_>>().join("; "),
                "outcomes": answers.iter().map(|o| json!({"at": format_utc(o.attempted_at), "outcome": o.outcome})).collect::<Vec<_>>(),
            })
        })
        .collect();
    for item in &unreadable {
        eprintln!(
            "warning: audit item (pk {:?}, sk {:?}) does not read as a record: {}",
            item.pk, item.sk, item.problem
        );
    }
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
                ("OUTCOME", "outcome"),
                ("TRIGGER", "trigger"),
                ("DRY RUN", "dryRun"),
                ("REASON", "reason"),
            ],
            &rows,
        );
    }
    Ok(())
}
