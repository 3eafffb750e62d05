//! Reconcile: decide every pending (and, with revocation, established) connection of each
//! service a trigger names, carry the decisions out in batches, audit and count.
//!
//! Fail closed, and hold what is unclear:
//! - the allowlist is read once, whole (one consistent Scan), then the connections of every
//!   service named (or of the whole account) in one listing; if either cannot be read, nothing
//!   is decided anywhere;
//! - a malformed allowlist item holds (leaves pending, never accepts or revokes) every connection
//!   it might have matched; only a well-formed live deny still rejects such a connection; a
//!   malformed policy item holds its whole service (its settings, a dry run among them, are
//!   unknown, so nothing in it changes);
//! - an Accept that fails or lists an id as `Unsuccessful` is reported, never assumed.
//!
//! Idempotent: decisions are audited *before* they are carried out, with keys made of the
//! connection and the decision only (no time), written with conditional puts; a service whose
//! records cannot be written changes nothing. So a replayed trigger, or the sweep that retries a
//! failed call, finds the record there and keeps it (the first record's time and reason stand).
//! After each Accept/Reject call an outcome record says what AWS answered, keyed by the answer,
//! so a retried call that gets the same answer adds nothing either. Errors of one service do not
//! stop the others; the next sweep retries.
//!
//! Scale: a sweep costs the allowlist's Scan and one DescribeVpcEndpointConnections per 1,000
//! connections listed, whatever the number of services; only services with something listed
//! go on, in waves of about 100 decisions: a wave's decision records are written in one append
//! (one transaction, all or nothing, unless a single service has more than 100), then each of
//! its services' Accept/Reject calls run, a few services at a time, then its outcome records,
//! again one append. An append that fails is tried again service
//! by service, so a service whose records cannot be written holds only itself; a function
//! stopped part-way leaves at most the waves in flight without their outcome records.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

use crate::domain::allowlist::{Allowlist, ItemKey, PolicyState, ServicePolicy};
use crate::domain::audit::{AuditRecord, DecisionRecord, Outcome};
use crate::domain::decision::{Action, Connection, Decision, Reason, decide};
use crate::domain::metrics::{MetricPoint, Unit};
use crate::domain::organization::Place;
use crate::domain::trigger::{ServiceSelection, Trigger};
use crate::domain::{AccountId, ConnectionState, EndpointId, ServiceId};
use futures_util::StreamExt;

use crate::ports::{
    AUDIT_RECORDS_PER_CALL, AllowlistStore, AuditLog, Connections, Metrics, Organization,
    PortError, Unsuccessful,
};

/// Endpoint ids per Accept or Reject call. AWS documents no maximum; this stays well
/// inside any plausible one while keeping 1,000 connections to ten calls.
pub const MAX_IDS_PER_CALL: usize = 100;

/// Services reconciled at once. EC2 gives Accept and Reject a bucket of 10 calls each,
/// refilled at 1 a second, per account and region; the DynamoDB audit writes are the other
/// part of a service's time.
pub const SERVICES_IN_FLIGHT: usize = 8;

/// Waves (about one transaction of audit records each) reconciled at once; the services in
/// flight are shared between them.
const WAVES_IN_FLIGHT: usize = 2;

/// Which services this deployment governs (`GOVERNED_SERVICES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Governed {
    All,
    These(BTreeSet<ServiceId>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileSettings {
    pub governed: Governed,
    /// `UNMATCHED_ACTION` and `DRY_RUN`, under every service's own policy item.
    pub defaults: ServicePolicy,
    pub audit_retention_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<EndpointId>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionEntry {
    pub service_id: ServiceId,
    pub endpoint_id: EndpointId,
    pub owner: AccountId,
    pub state: String,
    pub decision: Action,
    pub reason: String,
    pub dry_run: bool,
    /// What AWS answered when it was carried out (none in a dry run, or when nothing was called).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// A connection left pending (or established, not revoked) because a malformed item might apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldEntry {
    pub service_id: ServiceId,
    pub endpoint_id: EndpointId,
    pub owner: AccountId,
    pub state: String,
    /// The keys of the item that held it.
    pub held_by: ItemKey,
    pub problem: String,
}

/// The function result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileSummary {
    pub services_reconciled: usize,
    pub accepted: Vec<EndpointId>,
    pub rejected: Vec<EndpointId>,
    pub left_pending: Vec<EndpointId>,
    pub revoked: Vec<EndpointId>,
    pub held: Vec<HeldEntry>,
    pub errors: Vec<ErrorEntry>,
    pub dry_run: bool,
    pub invalid_allowlist_items: usize,
    /// Services the trigger named that this deployment does not govern: left alone.
    pub ignored_services: Vec<ServiceId>,
    pub decisions: Vec<DecisionEntry>,
    /// Services with decisions not started before the invocation's deadline: nothing of them
    /// was written or changed, their connections stay pending for the next sweep.
    pub deferred: Vec<ServiceId>,
}

impl ReconcileSummary {
    /// Adds one service's part (its lists and count; the flags stay this summary's).
    fn absorb(&mut self, part: ReconcileSummary) {
        self.services_reconciled += part.services_reconciled;
        self.accepted.extend(part.accepted);
        self.rejected.extend(part.rejected);
        self.left_pending.extend(part.left_pending);
        self.revoked.extend(part.revoked);
        self.held.extend(part.held);
        self.errors.extend(part.errors);
        self.decisions.extend(part.decisions);
        self.deferred.extend(part.deferred);
    }
}

/// Per-service counts behind the metrics.
#[derive(Debug, Default)]
struct Counts {
    accepted: usize,
    rejected: usize,
    left_pending: usize,
    revoked: usize,
    held: usize,
    errors: usize,
    dry_run: bool,
}

/// One service's part of a reconcile: decided, then (records written) carried out.
struct ServiceRun {
    service: ServiceId,
    dry_run: bool,
    counts: Counts,
    part: ReconcileSummary,
    /// The connections to change, and the records written before any is changed.
    decided: Vec<(Connection, Decision)>,
    records: Vec<DecisionRecord>,
    /// AWS's answers to record.
    outcomes: Vec<AuditRecord>,
    /// Its records could not be written: nothing was carried out (the error is in `part`).
    failed: bool,
}

impl ServiceRun {
    fn new(service: ServiceId, dry_run: bool) -> Self {
        Self {
            service,
            dry_run,
            counts: Counts {
                dry_run,
                ..Default::default()
            },
            part: ReconcileSummary::default(),
            decided: Vec::new(),
            records: Vec::new(),
            outcomes: Vec::new(),
            failed: false,
        }
    }

    /// Left to the next sweep, if it had anything to change.
    fn defer(mut self) -> Self {
        if !self.decided.is_empty() {
            self.part.deferred.push(self.service.clone());
        }
        self
    }

    fn is_deferred(&self) -> bool {
        !self.part.deferred.is_empty()
    }

    /// Nothing of this service is carried out: reported as one error.
    fn fail(&mut self, error: String) {
        self.counts.errors += 1;
        self.part
            .errors
            .push(error_entry(Some(&self.service), None, error));
        self.failed = true;
    }
}

pub struct Reconciler<'a, C, A, L, M, O> {
    pub connections: &'a C,
    /// Where consumer accounts sit in AWS Organizations (read only for organization/OU rules).
    pub organization: &'a O,
    pub allowlist: &'a A,
    pub audit: &'a L,
    pub metrics: &'a M,
    pub settings: &'a ReconcileSettings,
    /// No wave is started after this instant (the invocation's deadline less the longest a wave
    /// takes), so a sweep larger than EC2's buckets allow in one invocation ends in time and the
    /// next sweep goes on, rather than being stopped part-way by its timeout.
    pub start_waves_until: Option<Instant>,
}

/// Consumer accounts' places in AWS Organizations, each read once an invocation.
type Places = Mutex<BTreeMap<AccountId, Place>>;

impl<C: Connections, A: AllowlistStore, L: AuditLog, M: Metrics, O: Organization>
    Reconciler<'_, C, A, L, M, O>
{
    /// Reconciles what `trigger` names at epoch second `now`.
    pub async fn run(&self, trigger: &Trigger, now: i64) -> ReconcileSummary {
        let mut summary = ReconcileSummary {
            dry_run: self.settings.defaults.dry_run || trigger.dry_run,
            ..Default::default()
        };
        let Some(named) = self.services_for(trigger, &mut summary) else {
            return summary; // the trigger names nothing this deployment governs
        };
        let mut defaults = self.settings.defaults;
        defaults.dry_run |= trigger.dry_run;
        // The whole allowlist, once: the `*` rules apply to every service, a malformed item
        // anywhere may hold connections of any service, and the policy items say which services
        // revoke (and so which states to list).
        let allowlist = match self.allowlist.load().await {
            Ok(allowlist) => allowlist,
            Err(err) => {
                tracing::error!(error = %err, "allowlist not read; nothing decided");
                summary
                    .errors
                    .push(error_entry(None, None, err.to_string()));
                self.publish(vec![errors_point(1, now)], &mut summary).await;
                return summary;
            }
        };
        for item in &allowlist.malformed {
            tracing::warn!(key = %item.key, problem = %item.problem, services = %item.services,
                accounts = %item.accounts, "malformed allowlist item: never matched, holds what it might match");
        }
        summary.invalid_allowlist_items = allowlist.malformed.len();
        let governed = |s: &ServiceId| match &self.settings.governed {
            Governed::All => true,
            Governed::These(ids) => ids.contains(s),
        };
        // Whether a service revokes, worked out once a service (not once a connection).
        let mut revoking: BTreeMap<ServiceId, bool> = BTreeMap::new();
        let mut revokes = |s: &ServiceId| {
            *revoking.entry(s.clone()).or_insert_with(|| {
                allowlist
                    .for_service(s)
                    .effective_policy(defaults)
                    .is_some_and(|p| p.revoke)
            })
        };
        let mut states = vec![ConnectionState::PendingAcceptance];
        if defaults.revoke || allowlist.policies.values().any(|p| p.revoke == Some(true)) {
            states.push(ConnectionState::Available);
        }
        // One listing for every service at once: a sweep with nothing to decide costs this call
        // and the allowlist's read, whatever the number of services.
        let listed = match self
            .connections
            .connections(named.as_deref(), &states)
            .await
        {
            Ok(listed) => listed,
            Err(err) => {
                tracing::error!(error = %err, "connections not listed; nothing decided");
                summary
                    .errors
                    .push(error_entry(None, None, err.to_string()));
                self.publish(vec![errors_point(1, now)], &mut summary).await;
                return summary;
            }
        };
        let mut per_service: BTreeMap<ServiceId, Vec<Connection>> = named
            .iter()
            .flatten()
            .map(|s| (s.clone(), Vec::new()))
            .collect();
        for conn in listed.connections {
            if governed(&conn.service)
                && (conn.state == ConnectionState::PendingAcceptance || revokes(&conn.service))
            {
                per_service
                    .entry(conn.service.clone())
                    .or_default()
                    .push(conn);
            }
        }
        let mut listing_errors = 0;
        for malformed in &listed.malformed {
            listing_errors += 1;
            summary
                .errors
                .push(error_entry(None, None, malformed.clone()));
        }
        let places = Places::default();
        // Each service decided on its own (a few at a time: an organization or OU rule may read
        // places), then the decision records of all of them written together, several services
        // a transaction; only a service whose records were written carries anything out.
        let runs: Vec<ServiceRun> = futures_util::stream::iter(per_service)
            .map(|(service, conns)| {
                let (allowlist, places) = (&allowlist, &places);
                async move {
                    self.decide_service(service, conns, allowlist, places, trigger, now)
                        .await
                }
            })
            .buffered(SERVICES_IN_FLIGHT)
            .collect()
            .await;
        // In waves of about one transaction of records: a wave's decisions written, then carried
        // out, then its outcomes written, so a function stopped part-way (its timeout) leaves at
        // most one wave's outcome records unwritten. Two waves in flight: one's writes overlap the
        // other's EC2 calls.
        let runs: Vec<ServiceRun> = futures_util::stream::iter(waves(runs))
            .map(|wave| async move {
                // Checked as the wave starts (`buffered` starts it only when there is room).
                if self
                    .start_waves_until
                    .is_some_and(|until| Instant::now() >= until)
                {
                    wave.into_iter().map(ServiceRun::defer).collect()
                } else {
                    self.reconcile_wave(wave, now).await
                }
            })
            .buffered(WAVES_IN_FLIGHT)
            .flat_map(futures_util::stream::iter)
            .collect()
            .await;
        let deferred = runs.iter().filter(|r| r.is_deferred()).count();
        if deferred > 0 {
            tracing::warn!(
                services = deferred,
                "the invocation's deadline came first: these services' decisions are left to the next sweep (their connections stay pending)"
            );
        }
        let mut per_service = Vec::new();
        for run in runs {
            let reconciled = !run.failed && !run.is_deferred();
            let mut part = run.part;
            part.services_reconciled = usize::from(reconciled);
            summary.absorb(part);
            per_service.push((run.service, run.counts));
        }
        let mut points: Vec<MetricPoint> = per_service
            .iter()
            .flat_map(|(service, counts)| service_points(service, counts, now))
            .collect();
        // Totals without dimensions, for alarms and the dashboard. Decisions of a dry run stay
        // out; held connections and errors count wherever they happen (they need a person).
        let mut totals = Counts {
            errors: listing_errors,
            ..Default::default()
        };
        for (_, c) in &per_service {
            if !c.dry_run {
                totals.accepted += c.accepted;
                totals.rejected += c.rejected;
                totals.left_pending += c.left_pending;
                totals.revoked += c.revoked;
            }
            totals.held += c.held;
            totals.errors += c.errors;
        }
        points.extend(count_points(&totals, &[], now));
        if !allowlist.malformed.is_empty() {
            points.push(MetricPoint {
                name: "InvalidAllowlistItems",
                dimensions: vec![],
                value: allowlist.malformed.len() as f64,
                unit: Unit::Count,
                timestamp: now,
            });
        }
        self.publish(points, &mut summary).await;
        summary
    }

    /// The services the trigger asks about: `Some(None)` every service of the account (one
    /// listing finds those with something to decide), `Some(Some(ids))` these, `None` nothing.
    fn services_for(
        &self,
        trigger: &Trigger,
        summary: &mut ReconcileSummary,
    ) -> Option<Option<Vec<ServiceId>>> {
        let named: Vec<ServiceId> = match (&trigger.services, &self.settings.governed) {
            (ServiceSelection::AllGoverned, Governed::All) => return Some(None),
            (ServiceSelection::AllGoverned, Governed::These(governed)) => {
                governed.iter().cloned().collect()
            }
            (ServiceSelection::These(named), Governed::All) => named.iter().cloned().collect(),
            (ServiceSelection::These(named), Governed::These(governed)) => {
                for ignored in named.difference(governed) {
                    tracing::warn!(service = %ignored, "trigger names a service that is not governed; left alone");
                    summary.ignored_services.push(ignored.clone());
                }
                named.intersection(governed).cloned().collect()
            }
        };
        (!named.is_empty()).then_some(Some(named))
    }

    /// One wave: the decision records of its services (one append), each service whose records
    /// were written carried out (a few at a time), then the outcome records (one append).
    async fn reconcile_wave(&self, mut runs: Vec<ServiceRun>, now: i64) -> Vec<ServiceRun> {
        let decisions: Vec<(ServiceId, Vec<AuditRecord>)> = runs
            .iter()
            .map(|r| {
                let records = r.records.iter().cloned().map(AuditRecord::Decision);
                (r.service.clone(), records.collect())
            })
            .collect();
        for (run, written) in runs.iter_mut().zip(self.append_grouped(decisions).await) {
            if let Err(err) = written {
                tracing::error!(service = %run.service, error = %err, decisions = run.records.len(),
                    "audit records not written; nothing carried out");
                run.fail(err.to_string());
            }
        }
        // Services side by side, a few at a time: their Accept/Reject calls share EC2's
        // per-account token buckets, so more in flight would only be throttled.
        futures_util::stream::iter(runs.iter_mut().filter(|r| !r.failed))
            .for_each_concurrent(SERVICES_IN_FLIGHT / WAVES_IN_FLIGHT, |run| {
                self.carry_out_service(run, now)
            })
            .await;
        let outcomes: Vec<(ServiceId, Vec<AuditRecord>)> = runs
            .iter_mut()
            .map(|r| (r.service.clone(), std::mem::take(&mut r.outcomes)))
            .collect();
        for (run, written) in runs.iter_mut().zip(self.append_grouped(outcomes).await) {
            if let Err(err) = written {
                // The connections changed; only the record of AWS's answer is missing.
                tracing::error!(service = %run.service, error = %err, "outcome records not written");
                run.counts.errors += 1;
                run.part.errors.push(error_entry(
                    Some(&run.service),
                    None,
                    format!("outcome records not written (the calls were made): {err}"),
                ));
            }
        }
        runs
    }

    /// Decides every listed connection of `service`; what is left pending or held is reported
    /// here, what changes is in the returned run's `decided`, with its records.
    async fn decide_service(
        &self,
        service: ServiceId,
        conns: Vec<Connection>,
        allowlist: &Allowlist,
        places: &Places,
        trigger: &Trigger,
        now: i64,
    ) -> ServiceRun {
        let rules = allowlist.for_service(&service);
        let mut defaults = self.settings.defaults;
        defaults.dry_run |= trigger.dry_run;
        let policy = rules.effective_policy(defaults);
        // With the policy unknown, nothing in the service changes: its dry-run flag counts as on.
        let dry_run = policy.is_none_or(|p| p.dry_run);
        let mut run = ServiceRun::new(service, dry_run);
        if let PolicyState::Malformed(item) = &rules.policy {
            tracing::error!(service = %run.service, key = %item.key, problem = %item.problem,
                "malformed policy item: the whole service is held");
        }
        // Places are read only when a live rule of an organization or OU could decide.
        let needs_place = rules
            .rules
            .iter()
            .any(|r| r.is_live(now) && r.account.needs_place());
        for conn in conns {
            let place = if needs_place {
                self.place_of(&conn.owner, places).await
            } else {
                Place::not_looked_up()
            };
            let decision = decide(&conn, &rules, defaults, &place, now);
            tracing::info!(
                service = %conn.service, endpoint = %conn.endpoint, owner = %conn.owner, state = %conn.state,
                decision = %decision.action, reason = %decision.reason, dry_run, trigger = %trigger.kind,
                "decision"
            );
            match decision.action {
                Action::Accept | Action::Reject | Action::Revoke => {
                    run.records.push(DecisionRecord::new(
                        &conn,
                        &decision,
                        &trigger.kind,
                        dry_run,
                        now,
                        self.settings.audit_retention_days,
                    ));
                    run.decided.push((conn, decision));
                }
                Action::Leave => {
                    run.counts.left_pending += 1;
                    run.part.left_pending.push(conn.endpoint.clone());
                    run.part
                        .decisions
                        .push(decision_entry(&conn, &decision, dry_run, None));
                }
                Action::Hold => {
                    run.counts.held += 1;
                    run.part.held.push(held_entry(&conn, &decision));
                    run.part
                        .decisions
                        .push(decision_entry(&conn, &decision, dry_run, None));
                }
                Action::Keep => {}
            }
        }
        run
    }

    /// Carries out a service's decisions, their records written; notes AWS's answers and the
    /// outcome records to write.
    async fn carry_out_service(&self, run: &mut ServiceRun, now: i64) {
        let outcomes = if run.dry_run {
            vec![None; run.decided.len()]
        } else {
            self.carry_out(&run.service, &run.decided).await
        };
        let service = &run.service;
        for (((conn, decision), record), outcome) in
            run.decided.iter().zip(&run.records).zip(outcomes)
        {
            run.part
                .decisions
                .push(decision_entry(conn, decision, run.dry_run, outcome.clone()));
            match outcome {
                Some(Outcome::Failed { code, message }) => {
                    tracing::error!(service = %service, endpoint = %conn.endpoint, code = %code, message = %message, "not carried out");
                    run.counts.errors += 1;
                    run.part.errors.push(error_entry(
                        Some(service),
                        Some(&conn.endpoint),
                        format!("{code}: {message}"),
                    ));
                    run.outcomes.push(AuditRecord::Outcome(
                        record.outcome(Outcome::Failed { code, message }, now),
                    ));
                    continue;
                }
                Some(Outcome::Changed) => {
                    run.outcomes
                        .push(AuditRecord::Outcome(record.outcome(Outcome::Changed, now)));
                }
                None => {} // dry run: nothing was called
            }
            let (count, list) = match decision.action {
                Action::Accept => (&mut run.counts.accepted, &mut run.part.accepted),
                Action::Revoke => (&mut run.counts.revoked, &mut run.part.revoked),
                _ => (&mut run.counts.rejected, &mut run.part.rejected),
            };
            *count += 1;
            list.push(conn.endpoint.clone());
        }
    }

    /// Writes each service's records, several services in one append (up to
    /// `AUDIT_RECORDS_PER_CALL` records: one call, all or nothing; a service with more has an
    /// append of its own, in several calls), a few appends at a time; returns each
    /// service's result, in order. An append that fails is tried again service by service, so
    /// one service's records that cannot be written hold only that service: never more calls
    /// than one append a service, plus one a group.
    async fn append_grouped(
        &self,
        parts: Vec<(ServiceId, Vec<AuditRecord>)>,
    ) -> Vec<Result<(), PortError>> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut filled = 0;
        for (i, (_, records)) in parts.iter().enumerate() {
            if records.is_empty() {
                continue;
            }
            match groups.last_mut() {
                Some(group) if filled + records.len() <= AUDIT_RECORDS_PER_CALL => {
                    group.push(i);
                    filled += records.len();
                }
                _ => {
                    groups.push(vec![i]);
                    filled = records.len();
                }
            }
        }
        let parts = &parts;
        let answers: Vec<Vec<(usize, Result<(), PortError>)>> =
            futures_util::stream::iter(groups)
                .map(|group| async move {
                    let records: Vec<AuditRecord> = group
                        .iter()
                        .flat_map(|&i| parts[i].1.iter().cloned())
                        .collect();
                    match self.audit.append(&records).await {
                        Ok(()) => group.into_iter().map(|i| (i, Ok(()))).collect(),
                        Err(err) if group.len() == 1 => vec![(group[0], Err(err))],
                        Err(err) => {
                            tracing::warn!(error = %err, services = group.len(),
                                "audit records of several services not written together; writing them service by service");
                            // Side by side: a wave in flight must not wait for each in turn.
                            futures_util::stream::iter(group)
                                .map(|i| async move { (i, self.audit.append(&parts[i].1).await) })
                                .buffered(SERVICES_IN_FLIGHT)
                                .collect()
                                .await
                        }
                    }
                })
                .buffered(SERVICES_IN_FLIGHT)
                .collect()
                .await;
        let mut results: Vec<Result<(), PortError>> = parts.iter().map(|_| Ok(())).collect();
        for (i, answer) in answers.into_iter().flatten() {
            results[i] = answer;
        }
        results
    }

    /// The owner's place, read once an invocation; a failure is kept as the reason it is unknown.
    async fn place_of(&self, account: &AccountId, places: &Places) -> Place {
        if let Some(place) = places.lock().expect("places lock").get(account) {
            return place.clone();
        }
        let place = match self.organization.place(account).await {
            Ok(place) => place,
            Err(err) => {
                tracing::error!(account = %account, error = %err, "place in AWS Organizations not read; organization and OU rules hold its connections");
                Place::Unknown(err.to_string())
            }
        };
        places
            .lock()
            .expect("places lock")
            .insert(account.clone(), place.clone());
        place
    }

    /// Carries the decisions out in batches: accepts with AcceptVpcEndpointConnections, the rest
    /// with RejectVpcEndpointConnections. Returns AWS's answer for each decision, in order.
    async fn carry_out(
        &self,
        service: &ServiceId,
        decided: &[(Connection, Decision)],
    ) -> Vec<Option<Outcome>> {
        let mut answers: BTreeMap<EndpointId, Outcome> = BTreeMap::new();
        for accept in [true, false] {
            let ids: Vec<EndpointId> = decided
                .iter()
                .filter(|(_, d)| (d.action == Action::Accept) == accept)
                .map(|(c, _)| c.endpoint.clone())
                .collect();
            for batch in ids.chunks(MAX_IDS_PER_CALL) {
                let result = if accept {
                    self.connections.accept(service, batch).await
                } else {
                    self.connections.reject(service, batch).await
                };
                let failed: Vec<Unsuccessful> = match result {
                    Ok(unsuccessful) => unsuccessful,
                    Err(err) => {
                        tracing::error!(service = %service, error = %err, endpoints = batch.len(), "batch not carried out");
                        batch
                            .iter()
                            .map(|id| Unsuccessful {
                                endpoint: id.clone(),
                                code: err.code.clone().unwrap_or_else(|| "CallFailed".into()),
                                message: err.to_string(),
                            })
                            .collect()
                    }
                };
                for id in batch {
                    answers.insert(id.clone(), Outcome::Changed);
                }
                for f in failed {
                    answers.insert(
                        f.endpoint,
                        Outcome::Failed {
                            code: f.code,
                            message: f.message,
                        },
                    );
                }
            }
        }
        decided
            .iter()
            .map(|(c, _)| answers.get(&c.endpoint).cloned())
            .collect()
    }

    /// One PutMetricData for the whole invocation (the adapter splits past 1,000 points).
    async fn publish(&self, points: Vec<MetricPoint>, summary: &mut ReconcileSummary) {
        if points.is_empty() {
            return; // nothing happened: no call, no cost
        }
        if let Err(err) = self.metrics.publish(&points).await {
            tracing::error!(error = %err, "decision metrics not published");
            summary
                .errors
                .push(error_entry(None, None, format!("metrics: {err}")));
        }
    }
}

/// The services in waves of consecutive services whose decision records fit one append
/// (a service with more records is a wave of its own).
fn waves(runs: Vec<ServiceRun>) -> Vec<Vec<ServiceRun>> {
    let mut waves: Vec<Vec<ServiceRun>> = Vec::new();
    let mut filled = 0;
    for run in runs {
        match waves.last_mut() {
            Some(wave) if filled + run.records.len() <= AUDIT_RECORDS_PER_CALL => {
                filled += run.records.len();
                wave.push(run);
            }
            _ => {
                filled = run.records.len();
                waves.push(vec![run]);
            }
        }
    }
    waves
}

fn decision_entry(
    conn: &Connection,
    decision: &Decision,
    dry_run: bool,
    outcome: Option<Outcome>,
) -> DecisionEntry {
    DecisionEntry {
        service_id: conn.service.clone(),
        endpoint_id: conn.endpoint.clone(),
        owner: conn.owner.clone(),
        state: conn.state.to_string(),
        decision: decision.action,
        reason: decision.reason.to_string(),
        dry_run,
        outcome,
    }
}

fn held_entry(conn: &Connection, decision: &Decision) -> HeldEntry {
    let (held_by, problem) = match &decision.reason {
        Reason::Held(item) | Reason::PolicyMalformed(item) => {
            (item.key.clone(), item.problem.clone())
        }
        Reason::PlaceUnknown(rule, why) => (
            ItemKey {
                pk: rule.service.to_string(),
                sk: rule.account.to_string(),
            },
            format!("the owner's place in AWS Organizations could not be read: {why}"),
        ),
        other => (
            ItemKey {
                pk: String::new(),
                sk: String::new(),
            },
            other.to_string(),
        ),
    };
    HeldEntry {
        service_id: conn.service.clone(),
        endpoint_id: conn.endpoint.clone(),
        owner: conn.owner.clone(),
        state: conn.state.to_string(),
        held_by,
        problem,
    }
}

fn error_entry(
    service: Option<&ServiceId>,
    endpoint: Option<&EndpointId>,
    message: String,
) -> ErrorEntry {
    ErrorEntry {
        service_id: service.cloned(),
        endpoint_id: endpoint.cloned(),
        message,
    }
}

fn errors_point(errors: usize, now: i64) -> MetricPoint {
    MetricPoint {
        name: "DecisionErrors",
        dimensions: vec![],
        value: errors as f64,
        unit: Unit::Count,
        timestamp: now,
    }
}

/// The non-zero counts of a service. Zero is not published: CloudWatch reads a missing
/// value as no data, and every call and data point costs money.
fn service_points(service: &ServiceId, counts: &Counts, now: i64) -> Vec<MetricPoint> {
    let mut dimensions = vec![("ServiceId", service.to_string())];
    if counts.dry_run {
        dimensions.push(("DryRun", "true".to_owned()));
    }
    count_points(counts, &dimensions, now)
}

fn count_points(
    counts: &Counts,
    dimensions: &[(&'static str, String)],
    now: i64,
) -> Vec<MetricPoint> {
    [
        ("ConnectionsAccepted", counts.accepted),
        ("ConnectionsRejected", counts.rejected),
        ("ConnectionsLeftPending", counts.left_pending),
        ("ConnectionsRevoked", counts.revoked),
        ("ConnectionsHeld", counts.held),
        ("DecisionErrors", counts.errors),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(name, n)| MetricPoint {
        name,
        dimensions: dimensions.to_vec(),
        value: n as f64,
        unit: Unit::Count,
        timestamp: now,
    })
    .collect()
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
