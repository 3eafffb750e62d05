//! Price one UTC hour: inventory, traffic, month-to-date tiers, cost model, metrics.
//!
//! Nothing is published unless every billed endpoint could be priced: a missing rate or an
//! unknown region is an error naming it, so no dashboard ever shows a guessed or partial total.

use serde::Serialize;

use crate::domain::cost::{CostTotals, EndpointCost, EndpointKind, EndpointUsage, price_hour};
use crate::domain::hour::Hour;
use crate::domain::metrics::{MetricPoint, Unit};
use crate::domain::pricing::{PriceBook, PricingError};
use crate::ports::{
    EndpointInventory, EndpointRecord, Metrics, MonthToDateStore, PortError, UsageSource,
};

/// How many endpoints get per-endpoint metrics (each costs money per month).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerEndpointMetrics {
    Top(usize),
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CostSettings {
    pub region: String,
    pub price_book: PriceBook,
    pub per_endpoint_metrics: PerEndpointMetrics,
}

#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error(transparent)]
    Pricing(#[from] PricingError),
    #[error("endpoints not priced, nothing published: {}", .0.iter().map(|(id, why)| format!("{id}: {why}")).collect::<Vec<_>>().join("; "))]
    MissingRates(Vec<(String, String)>),
    #[error(transparent)]
    Port(#[from] PortError),
}

impl CostError {
    /// Whether a retry may succeed (a failed call may; a missing price will not).
    pub fn retryable(&self) -> bool {
        matches!(self, CostError::Port(e) if e.retryable)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnpricedEndpoint {
    pub id: String,
    pub reason: String,
}

/// The function result: the hour, the region total and one row per endpoint, by cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostSummary {
    pub hour: String,
    pub region: String,
    pub month_to_date_gb_before: f64,
    pub total: CostTotals,
    pub endpoints: Vec<EndpointCost>,
    pub unpriced: Vec<UnpricedEndpoint>,
    pub endpoints_with_metrics: usize,
    pub metrics_published: usize,
}

/// States in which an endpoint is provisioned, and so billed, whether accepted or not.
fn is_billed(record: &EndpointRecord, hour: Hour) -> bool {
    let state = record.state.to_ascii_lowercase();
    let provisioned = !matches!(
        state.as_str(),
        "deleted" | "deleting" | "failed" | "expired"
    );
    provisioned && record.created_at.is_none_or(|at| at < hour.end())
}

fn has_traffic_metrics(kind: &EndpointKind) -> bool {
    matches!(
        kind,
        EndpointKind::Interface | EndpointKind::GatewayLoadBalancer
    )
}

pub struct CostReporter<'a, I, U, T, M> {
    pub inventory: &'a I,
    pub usage: &'a U,
    pub month_to_date: &'a T,
    pub metrics: &'a M,
    pub settings: &'a CostSettings,
}

impl<I: EndpointInventory, U: UsageSource, T: MonthToDateStore, M: Metrics>
    CostReporter<'_, I, U, T, M>
{
    pub async fn run(&self, hour: Hour) -> Result<CostSummary, CostError> {
        let region = self.settings.region.as_str();
        let rates = self.settings.price_book.rates(region)?;
        let billed: Vec<EndpointRecord> = self
            .inventory
            .endpoints()
            .await?
            .into_iter()
            .filter(|e| is_billed(e, hour))
            .collect();
        let metered: Vec<EndpointRecord> = billed
            .iter()
            .filter(|e| has_traffic_metrics(&EndpointKind::parse(&e.kind)))
            .cloned()
            .collect();
        let bytes = if metered.is_empty() {
            Vec::new()
        } else {
            self.usage.bytes_processed(&metered, hour.start()).await?
        };
        let usage: Vec<EndpointUsage> = billed
            .iter()
            .map(|e| {
                let kind = EndpointKind::parse(&e.kind);
                let traffic = metered
                    .iter()
                    .position(|m| m.id == e.id)
                    .map_or(0.0, |i| bytes[i]);
                // A Gateway Load Balancer endpoint sits in one AZ; interface endpoints in one per subnet.
                let azs = if kind == EndpointKind::GatewayLoadBalancer {
                    1
                } else {
                    e.subnet_count
                };
                EndpointUsage {
                    id: e.id.clone(),
                    kind,
                    service_name: e.service_name.clone(),
                    vpc_id: e.vpc_id.clone(),
                    azs,
                    bytes: traffic,
                }
            })
            .collect();

        let before = self
            .month_to_date
            .total_before(region, hour.start())
            .await?;
        let priced = price_hour(&usage, rates, region, before);
        if !priced.missing_rates.is_empty() {
            return Err(CostError::MissingRates(priced.missing_rates));
        }
        self.month_to_date
            .record(region, hour.start(), priced.interface_gb)
            .await?;

        for row in &priced.endpoints {
            tracing::info!(
                hour = %hour, endpoint = %row.id, endpoint_type = %row.kind, service_name = %row.service_name, azs = row.azs,
                gb = row.gb, hourly_cost = row.hourly_cost, data_cost = row.data_cost, cost = row.cost,
                nat_equivalent_cost = row.nat_equivalent_cost, nat_savings = row.nat_savings, "endpoint priced"
            );
        }
        let with_metrics = match self.settings.per_endpoint_metrics {
            PerEndpointMetrics::All => priced.endpoints.len(),
            PerEndpointMetrics::Top(n) => n.min(priced.endpoints.len()),
        };
        // Rows are sorted by cost, so the first ones are the most expensive.
        let mut points: Vec<MetricPoint> = priced.endpoints[..with_metrics]
            .iter()
            .flat_map(|row| {
                cost_points(&row.figures, vec![("VpcEndpointId", row.id.clone())], hour)
            })
            .collect();
        points.extend(cost_points(&priced.totals, vec![], hour));
        self.metrics.publish(&points).await?;
        tracing::info!(hour = %hour, region, cost = priced.totals.cost, nat_savings = priced.totals.nat_savings,
            endpoints = priced.endpoints.len(), metrics = points.len(), "hour priced");

        Ok(CostSummary {
            hour: hour.to_string(),
            region: region.to_owned(),
            month_to_date_gb_before: before,
            total: priced.totals,
            endpoints: priced.endpoints,
            unpriced: priced
                .unpriced
                .into_iter()
                .map(|(id, reason)| UnpricedEndpoint { id, reason })
                .collect(),
            endpoints_with_metrics: with_metrics,
            metrics_published: points.len(),
        })
    }
}

/// The six cost metrics of an endpoint (dimension `VpcEndpointId`) or of the region (no dimension).
pub fn cost_points(
    t: &CostTotals,
    dimensions: Vec<(&'static str, String)>,
    hour: Hour,
) -> Vec<MetricPoint> {
    [
        ("EndpointHourlyCost", t.hourly_cost, Unit::None),
        ("EndpointDataCost", t.data_cost, Unit::None),
        ("EndpointCost", t.cost, Unit::None),
        ("NatEquivalentCost", t.nat_equivalent_cost, Unit::None),
        ("NatSavings", t.nat_savings, Unit::None),
        ("BytesProcessed", t.bytes, Unit::Bytes),
    ]
    .into_iter()
    .map(|(name, value, unit)| MetricPoint {
        name,
        dimensions: dimensions.clone(),
        value,
        unit,
        timestamp: hour.start(),
    })
    .collect()
}
