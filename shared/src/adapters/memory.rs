//! In-memory port implementations for unit tests: they keep state, record calls and
//! fail on request, like the real systems seen through the SDK.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use crate::domain::allowlist::Allowlist;
use crate::domain::audit::{AuditRecord, DecisionRecord, OutcomeRecord};
use crate::domain::decision::Connection;
use crate::domain::findings::{ImportPlan, ServiceSetup, StoredFinding};
use crate::domain::hour::Hour;
use crate::domain::inventory::{Endpoint, InventoryRecord};
use crate::domain::metrics::MetricPoint;
use crate::domain::organization::Place;
use crate::domain::price_list::CachedRates;
use crate::domain::publishing::{HourRecord, MetricKey};
use crate::domain::{AccountId, ConnectionState, EndpointId, ServiceId};
use crate::ports::{
    AllowlistStore, AuditLog, ConnectionList, Connections, CostLedger, EndpointInventory,
    EndpointRecord, FindingsHub, LedgerRead, Metrics, Organization, PortError, PriceList, TierPool,
    Unsuccessful, UsageSource,
};
use crate::tables::{RawItem, RawValue, allowlist, audit};

fn injected(operation: &'static str) -> PortError {
    PortError {
        operation,
        code: Some("InjectedFailure".into()),
        message: "injected failure".into(),
        retryable: true,
        kind: crate::ports::ErrorKind::Other,
        detail: None,
    }
}

#[derive(Debug, Default)]
pub struct MemoryConnections {
    pub services: Mutex<Vec<ServiceId>>,
    pub connections: Mutex<Vec<Connection>>,
    /// Operation names called, in order, with the number of ids for Accept/Reject.
    pub calls: Mutex<Vec<(&'static str, usize)>>,
    /// (operation, service) pairs that fail; a `None` service fails for every service.
    pub failing: Mutex<Vec<(&'static str, Option<ServiceId>)>>,
    /// Each service's acceptance, allowed principals and notification topics.
    pub setups: Mutex<Vec<ServiceSetup>>,
}

impl MemoryConnections {
    pub fn calls_of(&self, operation: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, _)| *op == operation)
            .count()
    }

    pub fn state_of(&self, endpoint: &EndpointId) -> Option<ConnectionState> {
        self.connections
            .lock()
            .unwrap()
            .iter()
            .find(|c| &c.endpoint == endpoint)
            .map(|c| c.state.clone())
    }

    fn check(
        &self,
        operation: &'static str,
        service: Option<&ServiceId>,
        ids: usize,
    ) -> Result<(), PortError> {
        self.calls.lock().unwrap().push((operation, ids));
        let fails = self
            .failing
            .lock()
            .unwrap()
            .iter()
            .any(|(op, s)| *op == operation && (s.is_none() || s.as_ref() == service));
        if fails {
            Err(injected(operation))
        } else {
            Ok(())
        }
    }

    fn transition(
        &self,
        service: &ServiceId,
        ids: &[EndpointId],
        from: &[ConnectionState],
        to: ConnectionState,
    ) -> Vec<Unsuccessful> {
        let mut conns = self.connections.lock().unwrap();
        let mut failed = Vec::new();
        for id in ids {
            match conns
                .iter_mut()
                .find(|c| &c.endpoint == id && &c.service == service)
            {
                Some(c) if from.contains(&c.state) => c.state = to.clone(),
                Some(c) => failed.push(Unsuccessful {
                    endpoint: id.clone(),
                    code: "InvalidState".into(),
                    message: format!("state {}", c.state),
                }),
                None => failed.push(Unsuccessful {
                    endpoint: id.clone(),
                    code: "InvalidVpcEndpointId.NotFound".into(),
                    message: "not found".into(),
                }),
            }
        }
        failed
    }
}

impl Connections for MemoryConnections {
    async fn list_services(&self) -> Result<Vec<ServiceId>, PortError> {
        self.check("DescribeVpcEndpointServiceConfigurations", None, 0)?;
        Ok(self.services.lock().unwrap().clone())
    }

    async fn connections(
        &self,
        services: Option<&[ServiceId]>,
        states: &[ConnectionState],
    ) -> Result<ConnectionList, PortError> {
        // A failure armed for one service fails a listing that includes it.
        match services {
            None => self.check("DescribeVpcEndpointConnections", None, 0)?,
            Some(named) => {
                self.check("DescribeVpcEndpointConnections", None, 0)?;
                let failing = self.failing.lock().unwrap();
                if named.iter().any(|s| {
                    failing.iter().any(|(op, f)| {
                        *op == "DescribeVpcEndpointConnections" && f.as_ref() == Some(s)
                    })
                }) {
                    return Err(injected("DescribeVpcEndpointConnections"));
                }
            }
        }
        let connections = self
            .connections
            .lock()
            .unwrap()
            .iter()
            .filter(|c| {
                services.is_none_or(|named| named.contains(&c.service)) && states.contains(&c.state)
            })
            .cloned()
            .collect();
        Ok(ConnectionList {
            connections,
            malformed: vec![],
        })
    }

    async fn accept(
        &self,
        service: &ServiceId,
        endpoints: &[EndpointId],
    ) -> Result<Vec<Unsuccessful>, PortError> {
        self.check(
            "AcceptVpcEndpointConnections",
            Some(service),
            endpoints.len(),
        )?;
        Ok(self.transition(
            service,
            endpoints,
            &[ConnectionState::PendingAcceptance],
            ConnectionState::Available,
        ))
    }

    async fn reject(
        &self,
        service: &ServiceId,
        endpoints: &[EndpointId],
    ) -> Result<Vec<Unsuccessful>, PortError> {
        self.check(
            "RejectVpcEndpointConnections",
            Some(service),
            endpoints.len(),
        )?;
        Ok(self.transition(
            service,
            endpoints,
            &[
                ConnectionState::PendingAcceptance,
                ConnectionState::Available,
            ],
            ConnectionState::Rejected,
        ))
    }

    async fn service_setups(
        &self,
        services: Option<&[ServiceId]>,
    ) -> Result<Vec<ServiceSetup>, PortError> {
        self.check("DescribeVpcEndpointServiceConfigurations", None, 0)?;
        let setups: Vec<ServiceSetup> = self
            .setups
            .lock()
            .unwrap()
            .iter()
            .filter(|s| services.is_none_or(|wanted| wanted.contains(&s.service)))
            .cloned()
            .collect();
        for s in &setups {
            self.check("DescribeVpcEndpointServicePermissions", Some(&s.service), 0)?;
        }
        Ok(setups)
    }

    async fn change_principals(
        &self,
        service: &ServiceId,
        add: &[String],
        remove: &[String],
    ) -> Result<(), PortError> {
        self.check(
            "ModifyVpcEndpointServicePermissions",
            Some(service),
            add.len() + remove.len(),
        )?;
        for s in self.setups.lock().unwrap().iter_mut() {
            if &s.service == service {
                s.allowed_principals.retain(|p| !remove.contains(p));
                s.allowed_principals.extend(add.iter().cloned());
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct MemoryAllowlist {
    /// The table's items as stored, decoded by the same schema as the DynamoDB adapter.
    pub items: Mutex<Vec<RawItem>>,
    pub failing: Mutex<bool>,
    pub loads: Mutex<usize>,
}

impl MemoryAllowlist {
    /// Adds an item from (attribute, string value) pairs; `expires_at` becomes a number.
    pub fn add(&self, pairs: &[(&str, &str)]) {
        let item = pairs
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    if *k == "expires_at" {
                        RawValue::N((*v).to_owned())
                    } else {
                        RawValue::S((*v).to_owned())
                    },
                )
            })
            .collect();
        self.add_raw(item);
    }

    /// Adds an item as given, well-formed or not.
    pub fn add_raw(&self, item: RawItem) {
        self.items.lock().unwrap().push(item);
    }
}

impl AllowlistStore for MemoryAllowlist {
    async fn load(&self) -> Result<Allowlist, PortError> {
        *self.loads.lock().unwrap() += 1;
        if *self.failing.lock().unwrap() {
            return Err(injected("Scan"));
        }
        Ok(allowlist::allowlist(
            self.items.lock().unwrap().iter().map(allowlist::decode),
        ))
    }
}

/// The audit table: keyed like the table, and append-only like it (a key written once stays).
#[derive(Debug, Default)]
pub struct MemoryAudit {
    pub records: Mutex<BTreeMap<(String, String), AuditRecord>>,
    pub appends: Mutex<usize>,
    pub failing: Mutex<bool>,
    /// Every append holding a record of this service fails (a hot partition, say).
    pub failing_for: Mutex<Option<ServiceId>>,
}

impl MemoryAudit {
    pub fn decisions(&self) -> Vec<DecisionRecord> {
        self.records
            .lock()
            .unwrap()
            .values()
            .filter_map(|r| match r {
                AuditRecord::Decision(d) => Some(d.clone()),
                AuditRecord::Outcome(_) => None,
            })
            .collect()
    }

    pub fn outcomes(&self) -> Vec<OutcomeRecord> {
        self.records
            .lock()
            .unwrap()
            .values()
            .filter_map(|r| match r {
                AuditRecord::Outcome(o) => Some(o.clone()),
                AuditRecord::Decision(_) => None,
            })
            .collect()
    }
}

impl AuditLog for MemoryAudit {
    async fn append(&self, records: &[AuditRecord]) -> Result<(), PortError> {
        *self.appends.lock().unwrap() += 1;
        let failing_for = self.failing_for.lock().unwrap().clone();
        if *self.failing.lock().unwrap()
            || records
                .iter()
                .any(|r| Some(r.service_id()) == failing_for.as_ref())
        {
            return Err(injected("TransactWriteItems"));
        }
        let mut stored = self.records.lock().unwrap();
        for r in records {
            stored
                .entry((audit::service_of(r).to_string(), audit::sort_key(r)))
                .or_insert_with(|| r.clone());
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
pub struct MemoryMetrics {
    /// One entry per publish call that reached CloudWatch.
    pub published: Mutex<Vec<Vec<MetricPoint>>>,
    /// The call fails and CloudWatch gets nothing.
    pub failing: Mutex<bool>,
    /// The call reaches CloudWatch but its answer is lost: the caller sees a failure.
    pub lost_reply: Mutex<bool>,
}

impl MemoryMetrics {
    fn points(&self) -> Vec<MetricPoint> {
        self.published
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect()
    }

    /// The value published for `name` with `service` as its ServiceId dimension, summed over calls.
    pub fn value(&self, name: &str, service: &ServiceId) -> f64 {
        self.points()
            .iter()
            .filter(|p| {
                p.name == name
                    && p.dimensions
                        .iter()
                        .any(|(k, v)| *k == "ServiceId" && v == service.as_str())
            })
            .map(|p| p.value)
            .sum()
    }

    /// The value published for `name` without dimensions, summed over calls.
    pub fn total(&self, name: &str) -> f64 {
        self.points()
            .iter()
            .filter(|p| p.name == name && p.dimensions.is_empty())
            .map(|p| p.value)
            .sum()
    }

    /// What a `Sum` over `hour` of the metric shows: every data point received, added up.
    pub fn hour_sum(&self, key: &MetricKey, hour: Hour) -> f64 {
        self.points()
            .iter()
            .filter(|p| {
                p.name == key.name
                    && p.dimensions == key.dimensions
                    && (hour.start()..hour.end()).contains(&p.timestamp)
            })
            .map(|p| p.value)
            .sum()
    }
}

impl Metrics for MemoryMetrics {
    async fn publish(&self, points: &[MetricPoint]) -> Result<(), PortError> {
        if *self.failing.lock().unwrap() {
            return Err(injected("PutMetricData"));
        }
        self.published.lock().unwrap().push(points.to_vec());
        if *self.lost_reply.lock().unwrap() {
            return Err(injected("PutMetricData"));
        }
        Ok(())
    }

    async fn hour_sums(
        &self,
        keys: &[MetricKey],
        hour: Hour,
    ) -> Result<BTreeMap<MetricKey, f64>, PortError> {
        Ok(keys
            .iter()
            .map(|k| (k.clone(), self.hour_sum(k, hour)))
            .collect())
    }
}

/// AWS Organizations: each account's place (an account not listed is in no organization).
#[derive(Debug, Default)]
pub struct MemoryOrganization {
    pub places: Mutex<BTreeMap<AccountId, Place>>,
    /// Every lookup fails (AccessDenied, as with a role missing).
    pub failing: Mutex<bool>,
    /// Accounts looked up, in order.
    pub lookups: Mutex<Vec<AccountId>>,
}

impl Organization for MemoryOrganization {
    async fn place(&self, account: &AccountId) -> Result<Place, PortError> {
        self.lookups.lock().unwrap().push(account.clone());
        if *self.failing.lock().unwrap() {
            return Err(PortError {
                operation: "ListParents",
                code: Some("AccessDeniedException".into()),
                message:
                    "AccessDeniedException: not authorized to perform organizations:ListParents"
                        .into(),
                retryable: false,
                kind: crate::ports::ErrorKind::AccessDenied,
                detail: None,
            });
        }
        Ok(self
            .places
            .lock()
            .unwrap()
            .get(account)
            .cloned()
            .unwrap_or(Place::Known {
                organization: None,
                units: vec![],
            }))
    }
}

/// The organization's cost pool: the other accounts' GB per hour, and this account's.
#[derive(Debug, Default)]
pub struct MemoryPool {
    pub others: Mutex<BTreeMap<Hour, f64>>,
    pub mine: Mutex<BTreeMap<Hour, f64>>,
    pub failing: Mutex<bool>,
}

impl TierPool for MemoryPool {
    async fn others(&self, _region: &str, month: Hour) -> Result<BTreeMap<Hour, f64>, PortError> {
        if *self.failing.lock().unwrap() {
            return Err(injected("Query"));
        }
        let next = month.month_start().plus(24 * 31).month_start();
        Ok(self
            .others
            .lock()
            .unwrap()
            .range(month.month_start()..next)
            .map(|(h, g)| (*h, *g))
            .collect())
    }

    async fn put(&self, _region: &str, hours: &[(Hour, f64)]) -> Result<(), PortError> {
        if *self.failing.lock().unwrap() {
            return Err(injected("PutItem"));
        }
        self.mine.lock().unwrap().extend(hours.iter().copied());
        Ok(())
    }
}

/// The account's endpoints, as DescribeVpcEndpoints lists them.
#[derive(Debug, Default)]
pub struct MemoryInventory {
    pub endpoints: Mutex<Vec<EndpointRecord>>,
    /// AWS services that take no endpoint policy; every other name takes one.
    pub without_policies: Mutex<BTreeSet<String>>,
    /// The service names asked about, per call.
    pub policy_queries: Mutex<Vec<Vec<String>>>,
}

impl EndpointInventory for MemoryInventory {
    async fn endpoints(&self) -> Result<Vec<EndpointRecord>, PortError> {
        Ok(self.endpoints.lock().unwrap().clone())
    }

    async fn policy_support(
        &self,
        service_names: &[String],
    ) -> Result<BTreeMap<String, bool>, PortError> {
        self.policy_queries
            .lock()
            .unwrap()
            .push(service_names.to_vec());
        let without = self.without_policies.lock().unwrap();
        Ok(service_names
            .iter()
            .map(|n| (n.clone(), !without.contains(n)))
            .collect())
    }
}

/// `AWS/PrivateLinkEndpoints` `BytesProcessed`: data per endpoint and hour, and which endpoints
/// are recently active; it counts the metrics each query requests.
#[derive(Debug, Default)]
pub struct MemoryUsage {
    pub bytes: Mutex<BTreeMap<(EndpointId, Hour), f64>>,
    pub recently_active: Mutex<BTreeSet<EndpointId>>,
    /// Endpoints (metrics) requested, per call.
    pub queries: Mutex<Vec<usize>>,
}

impl UsageSource for MemoryUsage {
    async fn recently_active(&self) -> Result<BTreeSet<EndpointId>, PortError> {
        Ok(self.recently_active.lock().unwrap().clone())
    }

    async fn bytes_processed(
        &self,
        endpoints: &[Endpoint],
        first: Hour,
        last: Hour,
    ) -> Result<BTreeMap<(EndpointId, Hour), f64>, PortError> {
        self.queries.lock().unwrap().push(endpoints.len());
        let ids: BTreeSet<&EndpointId> = endpoints.iter().map(|e| &e.id).collect();
        Ok(self
            .bytes
            .lock()
            .unwrap()
            .iter()
            .filter(|((id, hour), _)| ids.contains(id) && first <= *hour && *hour <= last)
            .map(|(k, v)| (k.clone(), *v))
            .collect())
    }
}

/// The cost table: hour records with versions, the inventory record; it can fail writes.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    pub hours: Mutex<BTreeMap<Hour, HourRecord>>,
    pub inventory: Mutex<InventoryRecord>,
    pub rates: Mutex<Option<CachedRates>>,
    pub writes: Mutex<usize>,
    pub failing_writes: Mutex<bool>,
}

impl CostLedger for MemoryLedger {
    async fn read(
        &self,
        _region: &str,
        month_first: Hour,
        window_first: Hour,
        last: Hour,
    ) -> Result<LedgerRead, PortError> {
        Ok(LedgerRead {
            hours: self
                .hours
                .lock()
                .unwrap()
                .range(month_first..=last)
                .map(|(h, r)| {
                    let mut r = r.clone();
                    if *h < window_first {
                        r.bytes.clear(); // as the table: bytes of the window only
                    }
                    (*h, r)
                })
                .collect(),
            inventory: self.inventory.lock().unwrap().clone(),
            rates: self.rates.lock().unwrap().clone(),
        })
    }

    async fn write_hour(
        &self,
        _region: &str,
        record: &HourRecord,
        expected: Option<u64>,
        _bytes_changed: bool,
    ) -> Result<bool, PortError> {
        *self.writes.lock().unwrap() += 1;
        if *self.failing_writes.lock().unwrap() {
            return Err(injected("PutItem"));
        }
        let mut hours = self.hours.lock().unwrap();
        if hours.get(&record.hour).map(|r| r.version) != expected {
            return Ok(false);
        }
        hours.insert(record.hour, record.clone());
        Ok(true)
    }

    async fn write_inventory(
        &self,
        _region: &str,
        record: &InventoryRecord,
        _endpoints_changed: bool,
    ) -> Result<(), PortError> {
        *self.inventory.lock().unwrap() = record.clone();
        Ok(())
    }

    async fn recorded(
        &self,
        _region: &str,
        first: Hour,
        last: Hour,
    ) -> Result<(BTreeMap<EndpointId, f64>, Vec<Hour>), PortError> {
        let hours = self.hours.lock().unwrap();
        let mut bytes = BTreeMap::new();
        for r in hours.range(first..=last).map(|(_, r)| r) {
            for (id, b) in &r.bytes {
                *bytes.entry(id.clone()).or_insert(0.0) += b;
            }
        }
        Ok((bytes, hours.range(first..=last).map(|(h, _)| *h).collect()))
    }

    async fn write_rates(&self, _region: &str, rates: &CachedRates) -> Result<(), PortError> {
        *self.rates.lock().unwrap() = Some(rates.clone());
        Ok(())
    }
}

/// The Price List: the records it answers for any region, or a failure; counts the calls.
#[derive(Debug, Default)]
pub struct MemoryPriceList {
    pub records: Mutex<Vec<String>>,
    pub failing: Mutex<bool>,
    calls: Mutex<usize>,
}

impl MemoryPriceList {
    pub fn new(records: Vec<String>) -> Self {
        Self {
            records: Mutex::new(records),
            ..Default::default()
        }
    }

    pub fn failing() -> Self {
        Self {
            failing: Mutex::new(true),
            ..Default::default()
        }
    }

    /// Forgets the records whose usage type ends with `suffix`.
    pub fn drop_records_ending(&self, suffix: &str) {
        let quoted = format!("{suffix}\"");
        self.records
            .lock()
            .unwrap()
            .retain(|r| !r.contains(&quoted));
    }

    pub fn calls(&self) -> usize {
        *self.calls.lock().unwrap()
    }
}

impl PriceList for MemoryPriceList {
    async fn region_records(&self, _region: &str) -> Result<Vec<String>, PortError> {
        *self.calls.lock().unwrap() += 1;
        if *self.failing.lock().unwrap() {
            return Err(injected("GetProducts"));
        }
        Ok(self.records.lock().unwrap().clone())
    }
}

/// Security Hub: the findings imported, by key (`None` in `enabled`: not enabled).
#[derive(Debug)]
pub struct MemoryHub {
    pub enabled: Mutex<bool>,
    pub held: Mutex<BTreeMap<String, StoredFinding>>,
    /// Findings per import call.
    pub imports: Mutex<Vec<usize>>,
}

impl Default for MemoryHub {
    fn default() -> Self {
        Self {
            enabled: Mutex::new(true),
            held: Mutex::default(),
            imports: Mutex::default(),
        }
    }
}

impl FindingsHub for MemoryHub {
    async fn held(&self, _generator: &str) -> Result<Option<Vec<StoredFinding>>, PortError> {
        if !*self.enabled.lock().unwrap() {
            return Ok(None);
        }
        Ok(Some(self.held.lock().unwrap().values().cloned().collect()))
    }

    async fn import(&self, _generator: &str, plan: &ImportPlan, now: i64) -> Result<(), PortError> {
        self.imports.lock().unwrap().push(plan.items.len());
        let mut held = self.held.lock().unwrap();
        for item in &plan.items {
            held.insert(
                item.finding.key(),
                StoredFinding {
                    finding: item.finding.clone(),
                    fingerprint: item.finding.fingerprint(),
                    active: item.active,
                    created_at: item
                        .created_at
                        .clone()
                        .unwrap_or_else(|| crate::domain::hour::format_utc(now)),
                },
            );
        }
        Ok(())
    }
}
