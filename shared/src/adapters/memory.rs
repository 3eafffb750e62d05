//! In-memory port implementations for unit tests: they keep state, record calls and
//! fail on request, like the real systems seen through the SDK.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use crate::domain::allowlist::Allowlist;
use crate::domain::audit::{AuditRecord, DecisionRecord, OutcomeRecord};
use crate::domain::decision::Connection;
use crate::domain::hour::Hour;
use crate::domain::inventory::{Endpoint, InventoryRecord};
use crate::domain::metrics::MetricPoint;
use crate::domain::publishing::{HourRecord, MetricKey};
use crate::domain::{ConnectionState, EndpointId, ServiceId};
use crate::ports::{
    AllowlistStore, AuditLog, ConnectionList, Connections, CostLedger, EndpointInventory,
    EndpointRecord, LedgerRead, Metrics, PortError, Unsuccessful, UsageSource,
};
use crate::tables::{RawItem, RawValue, allowlist, audit};

fn injected(operation: &'static str) -> PortError {
    PortError {
        operation,
        code: Some("InjectedFailure".into()),
        message: "injected failure".into(),
        retryable: true,
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
        service: &ServiceId,
        states: &[ConnectionState],
    ) -> Result<ConnectionList, PortError> {
        self.check("DescribeVpcEndpointConnections", Some(service), 0)?;
        let connections = self
            .connections
            .lock()
            .unwrap()
            .iter()
            .filter(|c| &c.service == service && states.contains(&c.state))
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
        if *self.failing.lock().unwrap() {
            return Err(injected("TransactWriteItems"));
        }
        let mut stored = self.records.lock().unwrap();
        for r in records {
            stored.entry(audit::key(r)).or_insert_with(|| r.clone());
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

/// The account's endpoints, as DescribeVpcEndpoints lists them.
#[derive(Debug, Default)]
pub struct MemoryInventory {
    pub endpoints: Mutex<Vec<EndpointRecord>>,
}

impl EndpointInventory for MemoryInventory {
    async fn endpoints(&self) -> Result<Vec<EndpointRecord>, PortError> {
        Ok(self.endpoints.lock().unwrap().clone())
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
}
