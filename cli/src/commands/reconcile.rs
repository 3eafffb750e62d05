//! `plgov reconcile`: the approver's reconcile use case, run now by an operator.

use std::collections::BTreeSet;

use plgov_shared::adapters::{CloudWatchMetrics, DynamoAllowlist, DynamoAudit, Ec2Connections};
use plgov_shared::config::DEFAULT_AUDIT_RETENTION_DAYS;
use plgov_shared::domain::trigger::{ServiceSelection, Trigger, TriggerKind};
use plgov_shared::usecases::reconcile::{ReconcileSettings, Reconciler};

use super::{Context, service_id};
use crate::error::CliError;
use crate::output;

pub async fn run(ctx: &Context, services: &[String], dry_run: bool) -> Result<(), CliError> {
    let named = services
        .iter()
        .map(|s| service_id(s))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let dynamodb = ctx.dynamodb();
    let settings = ReconcileSettings {
        governed: ctx.target.governed.clone(),
        defaults: ctx.target.defaults,
        audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
    };
    let reconciler = Reconciler {
        connections: &Ec2Connections::new(aws_sdk_ec2::Client::new(&ctx.sdk)),
        allowlist: &DynamoAllowlist::new(dynamodb.clone(), ctx.target.allowlist_table()?),
        audit: &DynamoAudit::new(dynamodb, ctx.target.audit_table()?),
        metrics: &CloudWatchMetrics::new(
            aws_sdk_cloudwatch::Client::new(&ctx.sdk),
            &ctx.target.namespace,
        ),
        settings: &settings,
    };
    let trigger = Trigger {
        kind: TriggerKind::Direct,
        services: if named.is_empty() {
            ServiceSelection::AllGoverned
        } else {
            ServiceSelection::These(named)
        },
        dry_run,
    };
    let summary = reconciler.run(&trigger, ctx.now).await;
    if ctx.json {
        output::json(&summary);
    } else {
        let cells: Vec<Vec<String>> = summary
            .decisions
            .iter()
            .map(|d| {
                vec![
                    d.service_id.clone(),
                    d.endpoint_id.clone(),
                    d.owner.clone(),
                    d.decision.to_string(),
                    d.reason.clone(),
                ]
            })
            .collect();
        output::table(
            &["SERVICE", "ENDPOINT", "OWNER", "DECISION", "REASON"],
            &cells,
        );
        println!(
            "{}services {}, accepted {}, rejected {}, left pending {}, revoked {}, errors {}",
            if summary.dry_run {
                "DRY RUN (nothing changed): "
            } else {
                ""
            },
            summary.services_reconciled,
            summary.accepted.len(),
            summary.rejected.len(),
            summary.left_pending.len(),
            summary.revoked.len(),
            summary.errors.len()
        );
        for e in &summary.errors {
            eprintln!(
                "error: {} {} {}",
                e.service_id.as_deref().unwrap_or(""),
                e.endpoint_id.as_deref().unwrap_or(""),
                e.message
            );
        }
    }
    if summary.errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::Aws(format!(
            "{} error(s) while reconciling; the next sweep retries them",
            summary.errors.len()
        )))
    }
}
