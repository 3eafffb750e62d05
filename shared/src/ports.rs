//! The outside systems the use cases need, one small trait each. SDK adapters
//! implement them in `adapters`; in-memory ones in `adapters::memory` serve unit tests.

use std::future::Future;

use crate::domain::allowlist::Allowlist;
use crate::domain::audit::AuditRecord;
use crate::domain::decision::Connection;
use crate::domain::metrics::MetricPoint;
use crate::domain::{ConnectionState, EndpointId, ServiceId};

/// A failed call to an outside system, with the operation and the cause chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct PortError {
    pub operation: &'static str,
    /// The error code AWS answered with (`RequestLimitExceeded`, ...), when there was one.
    pub code: Option<String>,
    pub message: String,
    /// Throttling or a server error: the same call may succeed later.
    pub retryable: bool,
}

/// One endpoint id an Accept or Reject call did not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsuccessful {
    pub endpoint: EndpointId,
    pub code: String,
    pub message: String,
}

/// Connections of one service, and the entries that could not be read (never decided).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionList {
    pub connections: Vec<Connection>,
    pub malformed: Vec<String>,
}

pub trait Connections: Sync {
    /// Every endpoint service the account owns in the region.
    fn list_services(&self) -> impl Future<Output = Result<Vec<ServiceId>, PortError>> + Send;
    /// Every connection of `service` in one of `states`, all pages.
    fn connections(
        &self,
        service: &ServiceId,
        states: &[ConnectionState],
    ) -> impl Future<Output = Result<ConnectionList, PortError>> + Send;
    /// One AcceptVpcEndpointConnections call.
    fn accept(
        &self,
        service: &ServiceId,
        endpoints: &[EndpointId],
    ) -> impl Future<Output = Result<Vec<Unsuccessful>, PortError>> + Send;
    /// One RejectVpcEndpointConnections call.
    fn reject(
        &self,
        service: &ServiceId,
        endpoints: &[EndpointId],
    ) -> impl Future<Output = Result<Vec<Unsuccessful>, PortError>> + Send;
}

pub trait AllowlistStore: Sync {
    /// Every item of the allowlist, decoded: rules, policies and the malformed items
    /// (read as last written).
    fn load(&self) -> impl Future<Output = Result<Allowlist, PortError>> + Send;
}

pub trait AuditLog: Sync {
    /// Appends the records in as few calls as the store allows. A record whose key is there
    /// already is left as it is: the first record wins, none is ever overwritten.
    fn append(&self, records: &[AuditRecord])
    -> impl Future<Output = Result<(), PortError>> + Send;
}

pub trait Metrics: Sync {
    /// Publishes the points in as few calls as the service allows.
    fn publish(&self, points: &[MetricPoint])
    -> impl Future<Output = Result<(), PortError>> + Send;
}

/// A VPC endpoint as the inventory lists it (any type, any state).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRecord {
    pub id: String,
    /// Wire form: `Interface`, `Gateway`, `GatewayLoadBalancer`, `Resource`, ...
    pub kind: String,
    pub service_name: String,
    pub vpc_id: String,
    pub subnet_count: u32,
    /// Wire form, compared case-insensitively.
    pub state: String,
    /// Epoch seconds, when known.
    pub created_at: Option<i64>,
}

pub trait EndpointInventory: Sync {
    /// Every VPC endpoint of the account in the region, all pages.
    fn endpoints(&self) -> impl Future<Output = Result<Vec<EndpointRecord>, PortError>> + Send;
}

pub trait UsageSource: Sync {
    /// `BytesProcessed` summed over the hour starting at `hour_start`, one figure per endpoint
    /// in the order given (0 where there is no data).
    fn bytes_processed(
        &self,
        endpoints: &[EndpointRecord],
        hour_start: i64,
    ) -> impl Future<Output = Result<Vec<f64>, PortError>> + Send;
}

pub trait MonthToDateStore: Sync {
    /// Interface GB processed in `region` in the month of `hour_start`, in the hours before it.
    fn total_before(
        &self,
        region: &str,
        hour_start: i64,
    ) -> impl Future<Output = Result<f64, PortError>> + Send;
    /// Records the hour's interface GB; recording the same hour again replaces, never adds.
    fn record(
        &self,
        region: &str,
        hour_start: i64,
        gb: f64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
