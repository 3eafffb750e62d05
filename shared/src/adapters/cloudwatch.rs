//! Metrics published to CloudWatch.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, RecentlyActive, StandardUnit,
};

use super::sdk_error::port_error;
use crate::domain::EndpointId;
use crate::domain::hour::Hour;
use crate::domain::inventory::Endpoint;
use crate::domain::metrics::{MetricPoint, Unit};
use crate::domain::publishing::MetricKey;
use crate::ports::{Metrics, PortError, UsageSource};

/// PutMetricData takes at most 1,000 metrics per call.
pub const PUT_METRIC_DATA_MAX: usize = 1000;

#[derive(Debug, Clone)]
pub struct CloudWatchMetrics {
    client: aws_sdk_cloudwatch::Client,
    namespace: String,
}

impl CloudWatchMetrics {
    pub fn new(client: aws_sdk_cloudwatch::Client, namespace: impl Into<String>) -> Self {
        Self {
            client,
            namespace: namespace.into(),
        }
    }
}

fn datum(point: &MetricPoint) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(point.name)
        .set_dimensions(Some(
            point
                .dimensions
                .iter()
                .map(|(n, v)| Dimension::builder().name(*n).value(v).build())
                .collect(),
        ))
        .value(point.value)
        .unit(match point.unit {
            Unit::Count => StandardUnit::Count,
            Unit::Bytes => StandardUnit::Bytes,
            Unit::None => StandardUnit::None,
        })
        .timestamp(DateTime::from_secs(point.timestamp))
        .build()
}

impl Metrics for CloudWatchMetrics {
    async fn publish(&self, points: &[MetricPoint]) -> Result<(), PortError> {
        for batch in points.chunks(PUT_METRIC_DATA_MAX) {
            self.client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(batch.iter().map(datum).collect()))
                .send()
                .await
                .map_err(|e| port_error("PutMetricData", e))?;
        }
        Ok(())
    }

    async fn hour_sums(
        &self,
        keys: &[MetricKey],
        hour: Hour,
    ) -> Result<BTreeMap<MetricKey, f64>, PortError> {
        let mut out: BTreeMap<MetricKey, f64> = keys.iter().map(|k| (k.clone(), 0.0)).collect();
        for batch in keys.chunks(GET_METRIC_DATA_MAX_QUERIES) {
            let queries = batch
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let dims = k.dimensions.iter().map(|(n, v)| (*n, v.as_str()));
                    hourly_sum_query(i, &self.namespace, k.name, dims)
                })
                .collect();
            let results = get_metric_data(&self.client, queries, hour.start(), hour.end()).await?;
            for (i, values) in results {
                if let Some(key) = batch.get(i) {
                    *out.entry(key.clone()).or_default() +=
                        values.iter().map(|(_, v)| v).sum::<f64>();
                }
            }
        }
        Ok(out)
    }
}

/// A query for the hourly `Sum` of one metric; its id is `m<index>` (ids must match
/// `^[a-z][A-Za-z0-9_]*$`, so not an endpoint id).
fn hourly_sum_query<'a>(
    index: usize,
    namespace: &str,
    name: &str,
    dimensions: impl Iterator<Item = (&'a str, &'a str)>,
) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(format!("m{index}"))
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(namespace)
                        .metric_name(name)
                        .set_dimensions(Some(
                            dimensions
                                .map(|(n, v)| Dimension::builder().name(n).value(v).build())
                                .collect(),
                        ))
                        .build(),
                )
                .period(3600)
                .stat("Sum")
                .build(),
        )
        .return_data(true)
        .build()
}

/// Runs the queries over `[start, end)`, all pages; per query index, its (timestamp, value) pairs.
async fn get_metric_data(
    client: &aws_sdk_cloudwatch::Client,
    queries: Vec<MetricDataQuery>,
    start: i64,
    end: i64,
) -> Result<BTreeMap<usize, Vec<(i64, f64)>>, PortError> {
    let count = queries.len();
    let mut pages = client
        .get_metric_data()
        .start_time(DateTime::from_secs(start))
        .end_time(DateTime::from_secs(end))
        .set_metric_data_queries(Some(queries))
        .into_paginator()
        .send();
    let mut out: BTreeMap<usize, Vec<(i64, f64)>> = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| port_error("GetMetricData", e))?;
        for result in page.metric_data_results() {
            let index = result
                .id()
                .and_then(|id| id.get(1..))
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|i| *i < count);
            let Some(index) = index else {
                tracing::warn!(id = ?result.id(), "GetMetricData result with an unknown id ignored");
                continue;
            };
            let entry = out.entry(index).or_default();
            for (t, v) in result.timestamps().iter().zip(result.values()) {
                entry.push((t.secs(), *v));
            }
        }
    }
    Ok(out)
}

/// GetMetricData takes at most 500 queries per call.
pub const GET_METRIC_DATA_MAX_QUERIES: usize = 500;
const ENDPOINT_NAMESPACE: &str = "AWS/PrivateLinkEndpoints";
const BYTES_PROCESSED: &str = "BytesProcessed";
/// The dimensions CloudWatch publishes per endpoint (names contain spaces); a second set adds
/// `Subnet Id`, which is not queried.
const ENDPOINT_DIMENSIONS: [&str; 4] =
    ["Endpoint Type", "Service Name", "VPC Endpoint Id", "VPC Id"];

/// Endpoint traffic from `AWS/PrivateLinkEndpoints` `BytesProcessed`.
#[derive(Debug, Clone)]
pub struct CloudWatchUsage {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchUsage {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }
}

impl UsageSource for CloudWatchUsage {
    /// `ListMetrics` with `RecentlyActive=PT3H` (requests are cheap; no metric is requested).
    async fn recently_active(&self) -> Result<BTreeSet<EndpointId>, PortError> {
        let mut pages = self
            .client
            .list_metrics()
            .namespace(ENDPOINT_NAMESPACE)
            .metric_name(BYTES_PROCESSED)
            .recently_active(RecentlyActive::Pt3H)
            .into_paginator()
            .send();
        let mut active = BTreeSet::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("ListMetrics", e))?;
            for metric in page.metrics() {
                let names: BTreeSet<&str> = metric
                    .dimensions()
                    .iter()
                    .filter_map(|d| d.name())
                    .collect();
                if names != ENDPOINT_DIMENSIONS.into_iter().collect() {
                    continue; // the per-subnet set repeats the same traffic
                }
                let id = metric
                    .dimensions()
                    .iter()
                    .find(|d| d.name() == Some("VPC Endpoint Id"))
                    .and_then(|d| d.value())
                    .map(EndpointId::parse);
                match id {
                    Some(Ok(id)) => {
                        active.insert(id);
                    }
                    other => {
                        tracing::warn!(id = ?other, "BytesProcessed metric without a readable endpoint id ignored")
                    }
                }
            }
        }
        Ok(active)
    }

    async fn bytes_processed(
        &self,
        endpoints: &[Endpoint],
        first: Hour,
        last: Hour,
    ) -> Result<BTreeMap<(EndpointId, Hour), f64>, PortError> {
        let mut bytes = BTreeMap::new();
        for batch in endpoints.chunks(GET_METRIC_DATA_MAX_QUERIES) {
            let queries = batch
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let dims = ENDPOINT_DIMENSIONS.into_iter().zip([
                        e.kind.as_str(),
                        e.service_name.as_str(),
                        e.id.as_str(),
                        e.vpc_id.as_str(),
                    ]);
                    hourly_sum_query(i, ENDPOINT_NAMESPACE, BYTES_PROCESSED, dims)
                })
                .collect();
            let results = get_metric_data(&self.client, queries, first.start(), last.end()).await?;
            for (i, values) in results {
                for (t, v) in values {
                    *bytes
                        .entry((batch[i].id.clone(), Hour::containing(t)))
                        .or_insert(0.0) += v;
                }
            }
        }
        Ok(bytes)
    }
}
