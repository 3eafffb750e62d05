//! `plgov explain` and `plgov connections`: the approver's own decision function, run on the
//! same allowlist read the same way, so "what would happen" and "what happens" cannot disagree.
//! Nothing is changed.

use plgov_shared::adapters::Ec2Connections;
use plgov_shared::domain::ConnectionState;
use std::collections::BTreeMap;

use plgov_shared::domain::allowlist::{PolicyState, ServiceRules};
use plgov_shared::domain::decision::{Connection, decide};
use plgov_shared::domain::organization::Place;
use plgov_shared::domain::{AccountId, EndpointId, ServiceId};
use plgov_shared::ports::{Connections, Organization};
use plgov_shared::usecases::reconcile::Governed;
use serde_json::json;

use super::{Context, account_id, service_id};
use crate::error::CliError;
use crate::output;

/// The owner's place in AWS Organizations when a live rule of an organization or OU applies to
/// the service (read once per owner), as the approver reads it.
async fn place_for(
    ctx: &Context,
    rules: &ServiceRules,
    owner: &AccountId,
    places: &mut BTreeMap<AccountId, Place>,
) -> Place {
    if !rules
        .rules
        .iter()
        .any(|r| r.is_live(ctx.now) && r.account.needs_place())
    {
        return Place::not_looked_up();
    }
    if let Some(place) = places.get(owner) {
        return place.clone();
    }
    let place = ctx
        .organization()
        .place(owner)
        .await
        .unwrap_or_else(|e| Place::Unknown(e.to_string()));
    places.insert(owner.clone(), place.clone());
    place
}

/// "in o-... below ou-a, ou-b", for `explain`.
fn describe(place: &Place) -> String {
    match place {
        Place::Known {
            organization: None, ..
        } => "in no organization the reader can see".into(),
        Place::Known {
            organization: Some(org),
            units,
        } if units.is_empty() => format!("in {org}, at its root"),
        Place::Known {
            organization: Some(org),
            units,
        } => format!(
            "in {org} below {}",
            units
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Place::Unknown(why) => format!("not known: {why}"),
    }
}

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
    let place = place_for(ctx, &rules, &owner, &mut BTreeMap::new()).await;
    let pending = decide(
        &hypothetical(ConnectionState::PendingAcceptance),
        &rules,
        defaults,
        &place,
        ctx.now,
    );
    let established = decide(
        &hypothetical(ConnectionState::Available),
        &rules,
        defaults,
        &place,
        ctx.now,
    );
    let looked_up = place != Place::not_looked_up();
    let malformed_policy = matches!(rules.policy, PolicyState::Malformed(_));
    if ctx.json {
        output::json(&json!({
            "service": service, "account": owner, "decision": pending.action, "reason": pending.reason.to_string(),
            "ifEstablished": {"decision": established.action, "reason": established.reason.to_string()},
            "policy": policy, "policyMalformed": malformed_policy, "dryRun": policy.is_none_or(|p| p.dry_run),
            "malformedItemsThatMayApply": rules.holds.iter().filter(|h| h.could_apply(&service, &owner)).count(),
            "organization": looked_up.then(|| describe(&place)),
        }));
    } else {
        println!(
            "A connection request from {owner} to {service} would be: {}",
            pending.action.as_str().to_uppercase()
        );
        println!("  because: {}", pending.reason);
        if looked_up {
            println!("  account {owner} is {}", describe(&place));
        }
        println!(
            "  an established connection would be: {} ({})",
            established.action, established.reason
        );
        match policy {
            Some(p) => println!(
                "  policy: unmatched={} revoke={} dry_run={}",
                p.unmatched, p.revoke, p.dry_run
            ),
            None => println!(
                "  policy: MALFORMED: `plgov {} policy show --service {service}` shows it",
                ctx.target.flags
            ),
        }
        let may_apply = rules
            .holds
            .iter()
            .filter(|h| h.could_apply(&service, &owner))
            .count();
        if may_apply > 0 {
            println!(
                "  {may_apply} malformed allowlist item(s) may apply and hold it: `plgov {} rules list --service {service}` shows them",
                ctx.target.flags
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
    let services: Option<Vec<ServiceId>> = match (service, &governed) {
        (Some(s), _) => Some(vec![service_id(s)?]),
        (None, Governed::These(ids)) => Some(ids.iter().cloned().collect()),
        (None, Governed::All) => None,
    };
    let allowlist = ctx.load_allowlist().await?;
    let listed = ec2.connections(services.as_deref(), &states).await?;
    let mut rows = Vec::new();
    let mut places = BTreeMap::new();
    for conn in &listed.connections {
        let rules = allowlist.for_service(&conn.service);
        let dry_run = rules.effective_policy(defaults).is_none_or(|p| p.dry_run);
        let place = place_for(ctx, &rules, &conn.owner, &mut places).await;
        let d = decide(conn, &rules, defaults, &place, ctx.now);
        rows.push(json!({
            "service": conn.service, "endpoint": conn.endpoint, "owner": conn.owner, "state": conn.state.to_string(),
            "decision": d.action, "reason": d.reason.to_string(), "dryRun": dry_run,
        }));
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
