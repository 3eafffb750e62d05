//! `plgov explain` and `plgov connections`: the approver's own decision function, run on the
//! same allowlist read the same way, so "what would happen" and "what happens" cannot disagree.
//! Nothing is changed.

use plgov_shared::adapters::Ec2Connections;
use plgov_shared::domain::ConnectionState;
use plgov_shared::domain::allowlist::PolicyState;
use plgov_shared::domain::decision::{Connection, decide};
use plgov_shared::domain::{EndpointId, ServiceId};
use plgov_shared::ports::Connections;
use plgov_shared::usecases::reconcile::Governed;
use serde_json::json;

use super::{Context, account_id, service_id};
use crate::error::CliError;
use crate::output;

pub async fn explain(ctx: &Context, service: &str, account: &str) -> Result<(), CliError> {
    let service = service_id(service)?;
    let owner = account_id(account)?;
    let (defaults, _) = ctx.target.defaults_or_builtin();
    let rules = ctx.service_rules(&service).await?;
    let policy = rules.effective_policy(defaults);
    let hypothetical = |state| Connection {
        service: service.clone(),
        endpoint: EndpointId::parse("vpce-0").expect("valid id"),
        owner: owner.clone(),
        state,
    };
    let pending = decide(
        &hypothetical(ConnectionState::PendingAcceptance),
        &rules,
        defaults,
        ctx.now,
    );
    let established = decide(
        &hypothetical(ConnectionState::Available),
        &rules,
        defaults,
        ctx.now,
    );
    let malformed_policy = matches!(rules.policy, PolicyState::Malformed(_));
    if ctx.json {
        output::json(&json!({
            "service": service, "account": owner, "decision": pending.action, "reason": pending.reason.to_string(),
            "ifEstablished": {"decision": established.action, "reason": established.reason.to_string()},
            "policy": policy, "policyMalformed": malformed_policy, "dryRun": policy.is_none_or(|p| p.dry_run),
            "malformedItemsThatMayApply": rules.holds.iter().filter(|h| h.could_apply(&service, &owner)).count(),
        }));
    } else {
        println!(
            "A connection request from {owner} to {service} would be: {}",
            pending.action.as_str().to_uppercase()
        );
        println!("  because: {}", pending.reason);
        println!(
            "  an established connection would be: {} ({})",
            established.action, established.reason
        );
        match policy {
            Some(p) => println!(
                "  policy: unmatched={} revoke={} dry_run={}",
                p.unmatched, p.revoke, p.dry_run
            ),
            None => println!("  policy: MALFORMED: `plgov policy show` shows it"),
        }
        let may_apply = rules
            .holds
            .iter()
            .filter(|h| h.could_apply(&service, &owner))
            .count();
        if may_apply > 0 {
            println!(
                "  {may_apply} malformed allowlist item(s) may apply and hold it: `plgov rules list` shows them"
            );
        }
    }
    Ok(())
}

pub async fn connections(
    ctx: &Context,
    service: Option<&str>,
    state: Option<&str>,
) -> Result<(), CliError> {
    let ec2 = Ec2Connections::new(aws_sdk_ec2::Client::new(&ctx.sdk));
    let states: Vec<ConnectionState> = match state {
        None => ConnectionState::KNOWN.to_vec(),
        Some(s) => match ConnectionState::parse(s) {
            ConnectionState::Unknown(raw) => {
                return Err(CliError::invalid(format!(
                    "--state: unknown state {raw:?} (one of: {})",
                    ConnectionState::KNOWN
                        .iter()
                        .map(ConnectionState::as_wire_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            known => vec![known],
        },
    };
    let (defaults, governed) = ctx.target.defaults_or_builtin();
    let services: Vec<ServiceId> = match (service, &governed) {
        (Some(s), _) => vec![service_id(s)?],
        (None, Governed::These(ids)) => ids.iter().cloned().collect(),
        (None, Governed::All) => ec2.list_services().await?,
    };
    let allowlist = ctx.load_allowlist().await?;
    let mut rows = Vec::new();
    for service in &services {
        let rules = allowlist.for_service(service);
        let dry_run = rules.effective_policy(defaults).is_none_or(|p| p.dry_run);
        let listed = ec2.connections(service, &states).await?;
        for conn in &listed.connections {
            let d = decide(conn, &rules, defaults, ctx.now);
            rows.push(json!({
                "service": conn.service, "endpoint": conn.endpoint, "owner": conn.owner, "state": conn.state.to_string(),
                "decision": d.action, "reason": d.reason.to_string(), "dryRun": dry_run,
            }));
        }
    }
    if ctx.json {
        output::json(&rows);
    } else {
        output::rows(
            &[
                ("SERVICE", "service"),
                ("ENDPOINT", "endpoint"),
                ("OWNER", "owner"),
                ("STATE", "state"),
                ("WOULD", "decision"),
                ("REASON", "reason"),
            ],
            &rows,
        );
    }
    Ok(())
}
