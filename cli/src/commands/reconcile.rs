//! `plgov reconcile`: the approver's reconcile use case, run now by an operator, with exactly
//! the deployment's settings (from the stack, or every one given as a flag) and the operator's
//! identity in the audit records.

use std::collections::BTreeSet;

use plgov_shared::adapters::{CloudWatchMetrics, Ec2Connections};
use plgov_shared::domain::trigger::{ServiceSelection, Trigger, TriggerKind};
use plgov_shared::usecases::reconcile::Reconciler;

use super::{Context, service_id};
use crate::error::CliError;
use crate::output;

pub async fn run(ctx: &Context, services: &[String], dry_run: bool) -> Result<(), CliError> {
    let named = services
        .iter()
        .map(|s| service_id(s))
        .collect::<Result<BTreeSet<_>, _>>()?;
    super::existing_services(ctx, &named.iter().collect::<Vec<_>>(), false).await?;
    let deployment = ctx.target.deployment()?;
    let namespace = ctx.target.namespace.as_deref().ok_or_else(|| {
        CliError::invalid("no metrics namespace: give --stack NAME or --namespace")
    })?;
    let namespace = crate::target::namespace(namespace)?;
    let allowlist = ctx.allowlist()?;
    let audit = ctx.audit().await?;
    let operator = ctx.caller().await?;
    let reconciler = Reconciler {
        connections: &Ec2Connections::new(aws_sdk_ec2::Client::new(&ctx.sdk)),
        organization: &ctx.organization(),
        allowlist: &allowlist,
        audit: &audit,
        metrics: &CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(&ctx.sdk), namespace),
        settings: &deployment.settings,
        start_waves_until: None,
    };
    let trigger = Trigger {
        kind: TriggerKind::Operator(operator),
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
                    d.service_id.to_string(),
                    d.endpoint_id.to_string(),
                    d.owner.to_string(),
                    d.decision.to_string(),
                    d.outcome
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), ToString::to_string),
                    d.reason.clone(),
                ]
            })
            .collect();
        output::table(
            &[
                "SERVICE", "ENDPOINT", "OWNER", "DECISION", "OUTCOME", "REASON",
            ],
            &cells,
        );
        println!(
            "{}services {}, accepted {}, rejected {}, left pending {}, revoked {}, held {}, errors {} (settings from {})",
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
            summary.held.len(),
            summary.errors.len(),
            deployment.source,
        );
        for h in &summary.held {
            eprintln!(
                "held: {} {} by item {}: {}",
                h.service_id, h.endpoint_id, h.held_by, h.problem
            );
        }
        for e in &summary.errors {
            eprintln!(
                "error: {} {} {}",
                e.service_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                e.endpoint_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                e.message
            );
        }
    }
    if summary.errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::aws(format!(
            "{} error(s) while reconciling; the next sweep retries them",
            summary.errors.len()
        )))
    }
}
