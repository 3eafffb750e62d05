//! The outside systems the use cases need, one small trait each. SDK adapters
//! implement them in `adapters`; in-memory ones in `adapters::memory` serve unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use crate::domain::allowlist::Allowlist;
use crate::domain::audit::AuditRecord;
use crate::domain::decision::Connection;
use crate::domain::findings::{ImportPlan, ServiceSetup, StoredFinding};
use crate::domain::hour::Hour;
use crate::domain::inventory::{Endpoint, InventoryRecord};
use crate::domain::metrics::MetricPoint;
use crate::domain::organization::Place;
use crate::domain::price_list::CachedRates;
use crate::domain::publishing::{HourRecord, MetricKey};
use crate::domain::{AccountId, ConnectionState, EndpointId, ServiceId};

/// What kind of failure a call met, as a person acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorKind {
    /// No credentials anywhere in the chain (environment, profile, instance role).
    NoCredentials,
    /// Credentials found but refused: expired, or not valid.
    BadCredentials,
    /// The identity may not make this call.
    AccessDenied,
    /// The service throttled the call.
    Throttled,
    /// The endpoint did not answer (down, wrong URL or region, no network).
    Unreachable,
    /// The thing named does not exist.
    NotFound,
    #[default]
    Other,
}

/// A failed call to an outside system: the operation, what kind of failure, AWS's code and its
/// own short message. `detail` keeps the whole cause chain for `-v` and `RUST_LOG=debug`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {}", self.readable())]
pub struct PortError {
    pub operation: &'static str,
    /// The error code AWS answered with (`RequestLimitExceeded`, ...), when there was one.
    pub code: Option<String>,
    pub message: String,
    /// Throttling or a server error: the same call may succeed later.
    pub retryable: bool,
    pub kind: ErrorKind,
    pub detail: Option<String>,
}

impl PortError {
    /// One sentence a person can act on.
    pub fn readable(&self) -> String {
        let code = self.code.as_deref().unwrap_or("no code");
        match self.kind {
            ErrorKind::NoCredentials => "no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the local emulator takes `testing` for both)".into(),
            ErrorKind::BadCredentials => format!(
                "AWS refused the credentials ({code}: {}): they have expired or are not valid; renew them (a new session, `aws sso login`) and try again",
                self.message
            ),
            ErrorKind::AccessDenied => format!(
                "access denied: the identity in use may not call {} ({code}: {})",
                self.operation, self.message
            ),
            ErrorKind::Throttled => format!(
                "AWS throttled the call ({code}) after the SDK's retries; try again in a moment (the functions' next run retries by itself)"
            ),
            ErrorKind::Unreachable => format!(
                "the AWS endpoint does not answer ({}): check AWS_ENDPOINT_URL and AWS_REGION, or start the local emulator with `make local-aws`",
                self.message
            ),
            ErrorKind::NotFound => format!("not found ({code}: {})", self.message),
            ErrorKind::Other => match &self.code {
                Some(code) => format!("{code}: {}", self.message),
                None => self.message.clone(),
            },
        }
    }
}

/// One endpoint id an Accept or Reject call did not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsuccessful {
    pub endpoint: EndpointId,
    pub code: String,
    pub message: String,
}

/// Connections, and the entries that could not be read (never decided).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionList {
    pub connections: Vec<Connection>,
    pub malformed: Vec<String>,
}

pub trait Connections: Sync {
    /// Every endpoint service the account owns in the region.
    fn list_services(&self) -> impl Future<Output = Result<Vec<ServiceId>, PortError>> + Send;
    /// Every connection in one of `states` of `services` (`None`: of every endpoint service of
    /// the account), all pages: one call per 1,000 connections, whatever the number of services.
    fn connections(
        &self,
        services: Option<&[ServiceId]>,
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
    /// The setup of `services` (`None`: every endpoint service of the account): acceptance and
    /// connection notifications of all (one call each, all pages), and each one's allowed
    /// principals (one call a service). A service the account does not own is left out.
    fn service_setups(
        &self,
        services: Option<&[ServiceId]>,
    ) -> impl Future<Output = Result<Vec<ServiceSetup>, PortError>> + Send;
    /// One ModifyVpcEndpointServicePermissions call.
    fn change_principals(
        &self,
        service: &ServiceId,
        add: &[String],
        remove: &[String],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

pub trait Organization: Sync {
    /// Where `account` sits in AWS Organizations (`Place::Known`): its organization (`None`
    /// when it is in none the reader sees) and every OU above it, nearest first.
    fn place(&self, account: &AccountId) -> impl Future<Output = Result<Place, PortError>> + Send;
}

pub trait AllowlistStore: Sync {
    /// Every item of the allowlist, decoded: rules, policies and the malformed items
    /// (read as last written).
    fn load(&self) -> impl Future<Output = Result<Allowlist, PortError>> + Send;
}

/// Audit records one append writes in one call, all or nothing (DynamoDB's TransactWriteItems
/// takes 100 actions); a longer append takes several calls, each all or nothing.
pub const AUDIT_RECORDS_PER_CALL: usize = 100;

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
    /// The `Sum` CloudWatch holds for each metric over `hour` (0 for a metric without data).
    fn hour_sums(
        &self,
        keys: &[MetricKey],
        hour: Hour,
    ) -> impl Future<Output = Result<BTreeMap<MetricKey, f64>, PortError>> + Send;
}

/// A VPC endpoint as the inventory lists it (any type, any state).
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRecord {
    pub endpoint: Endpoint,
    /// Wire form, compared case-insensitively.
    pub state: String,
    /// Its policy document as EC2 returns it (interface and gateway endpoints).
    pub policy: Option<String>,
}

pub trait EndpointInventory: Sync {
    /// Every VPC endpoint of the account in the region, all pages.
    fn endpoints(&self) -> impl Future<Output = Result<Vec<EndpointRecord>, PortError>> + Send;
    /// Whether each of these AWS services takes endpoint policies (`VpcEndpointPolicySupported`),
    /// all pages of one DescribeVpcEndpointServices; a name EC2 does not list is left out.
    fn policy_support(
        &self,
        service_names: &[String],
    ) -> impl Future<Output = Result<BTreeMap<String, bool>, PortError>> + Send;
}

pub trait UsageSource: Sync {
    /// The endpoints whose `BytesProcessed` received data in the past three hours (an endpoint
    /// not among them moved nothing worth a query).
    fn recently_active(
        &self,
    ) -> impl Future<Output = Result<BTreeSet<EndpointId>, PortError>> + Send;
    /// `BytesProcessed` of each endpoint summed per hour, for every hour from `first` to `last`
    /// (one query per endpoint for the whole range); an hour without data is absent.
    fn bytes_processed(
        &self,
        endpoints: &[Endpoint],
        first: Hour,
        last: Hour,
    ) -> impl Future<Output = Result<BTreeMap<(EndpointId, Hour), f64>, PortError>> + Send;
}

/// What the cost table holds for a region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerRead {
    /// The records of the hours asked for (hours never priced are absent).
    pub hours: BTreeMap<Hour, HourRecord>,
    pub inventory: InventoryRecord,
    /// The region's rates as an earlier run read them from the Price List, if it did.
    pub rates: Option<CachedRates>,
}

pub trait CostLedger: Sync {
    /// The hour records of `region` from `month_first` to `last` (their endpoints' bytes from
    /// `window_first` on only: earlier hours are read for the month-to-date count), and its
    /// inventory record.
    fn read(
        &self,
        region: &str,
        month_first: Hour,
        window_first: Hour,
        last: Hour,
    ) -> impl Future<Output = Result<LedgerRead, PortError>> + Send;
    /// Writes an hour's record (its endpoints' bytes too when `bytes_changed`) if the stored one
    /// still has version `expected` (`None`: there is none). Returns false, writing nothing of
    /// the record, when another run wrote it first.
    fn write_hour(
        &self,
        region: &str,
        record: &HourRecord,
        expected: Option<u64>,
        bytes_changed: bool,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Replaces the inventory record (its list of provisioned endpoints too when
    /// `endpoints_changed`).
    fn write_inventory(
        &self,
        region: &str,
        record: &InventoryRecord,
        endpoints_changed: bool,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Per endpoint the bytes recorded for the hours from `first` to `last`, and the hours of
    /// that range the table holds a pricing of (for the findings of the last seven days).
    fn recorded(
        &self,
        region: &str,
        first: Hour,
        last: Hour,
    ) -> impl Future<Output = Result<(BTreeMap<EndpointId, f64>, Vec<Hour>), PortError>> + Send;
    /// Keeps the region's rates as read from the Price List.
    fn write_rates(
        &self,
        region: &str,
        rates: &CachedRates,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

pub trait TierPool: Sync {
    /// The GB of every other account of the organization per hour of `month`'s month in
    /// `region` (empty without a pool).
    fn others(
        &self,
        region: &str,
        month: Hour,
    ) -> impl Future<Output = Result<BTreeMap<Hour, f64>, PortError>> + Send;
    /// This account's GB for each of `hours`, replacing what it had for them.
    fn put(
        &self,
        region: &str,
        hours: &[(Hour, f64)],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

pub trait PriceList: Sync {
    /// The Price List records (each the JSON text `GetProducts` answers) of the VPC endpoint
    /// products (`AmazonVPC`, family `VpcEndpoint`) and the NAT Gateway (`AmazonEC2`, family
    /// `NAT Gateway`) in `region`, all pages.
    fn region_records(
        &self,
        region: &str,
    ) -> impl Future<Output = Result<Vec<String>, PortError>> + Send;
}

pub trait FindingsHub: Sync {
    /// The active findings of `generator` Security Hub holds (all pages); `None` when Security
    /// Hub is not enabled in the account and region.
    fn held(
        &self,
        generator: &str,
    ) -> impl Future<Output = Result<Option<Vec<StoredFinding>>, PortError>> + Send;
    /// Imports the plan's findings, dated `now` (100 a call).
    fn import(
        &self,
        generator: &str,
        plan: &ImportPlan,
        now: i64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
