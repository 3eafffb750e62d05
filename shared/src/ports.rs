//! The outside systems the use cases need, one small trait each. SDK adapters
//! implement them in `adapters`; in-memory ones in `adapters::memory` serve unit tests.

use std::future::Future;

use crate::domain::allowlist::RawItem;
use crate::domain::audit::AuditRecord;
use crate::domain::decision::Connection;
use crate::domain::metrics::MetricPoint;
use crate::domain::{ConnectionState, EndpointId, ServiceId};

/// A failed call to an outside system, with the operation and the cause chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct PortError {
    pub operation: &'static str,
    pub message: String,
    /// Throttling or a server error: the same call may succeed later.
    pub retryable: bool,
}

/// One endpoint id an Accept or Reject call did not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsuccessful {
    pub endpoint: String,
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
    /// Every item whose partition key is `partition` (a service id or `*`), all pages.
    fn items(
        &self,
        partition: &str,
    ) -> impl Future<Output = Result<Vec<RawItem>, PortError>> + Send;
}

pub trait AuditLog: Sync {
    /// Writes the records in as few calls as the store allows.
    fn write(&self, records: &[AuditRecord]) -> impl Future<Output = Result<(), PortError>> + Send;
}

pub trait Metrics: Sync {
    /// Publishes the points in as few calls as the service allows.
    fn publish(&self, points: &[MetricPoint])
    -> impl Future<Output = Result<(), PortError>> + Send;
}
