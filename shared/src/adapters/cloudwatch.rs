//! Metrics published to CloudWatch.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

use super::sdk_error::port_error;
use crate::domain::metrics::{MetricPoint, Unit};
use crate::ports::{Metrics, PortError};

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
}

/// GetMetricData takes at most 500 queries per call.
pub const GET_METRIC_DATA_MAX_QUERIES: usize = 500;
const ENDPOINT_NAMESPACE: &str = "AWS/PrivateLinkEndpoints";

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

fn usage_query(
    index: usize,
    e: &crate::ports::EndpointRecord,
) -> aws_sdk_cloudwatch::types::MetricDataQuery {
    use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat};
    // The exact dimension set CloudWatch publishes per endpoint (names contain spaces).
    let dims = [
        ("Endpoint Type", e.kind.as_str()),
        ("Service Name", e.service_name.as_str()),
        ("VPC Endpoint Id", e.id.as_str()),
        ("VPC Id", e.vpc_id.as_str()),
    ];
    MetricDataQuery::builder()
        // Ids must match ^[a-z][A-Za-z0-9_]*$, so not the endpoint id itself.
        .id(format!("e{index}"))
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(ENDPOINT_NAMESPACE)
                        .metric_name("BytesProcessed")
                        .set_dimensions(Some(
                            dims.iter()
                                .map(|(n, v)| Dimension::builder().name(*n).value(*v).build())
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

impl crate::ports::UsageSource for CloudWatchUsage {
    async fn bytes_processed(
        &self,
        endpoints: &[crate::ports::EndpointRecord],
        hour_start: i64,
    ) -> Result<Vec<f64>, PortError> {
        let mut bytes = vec![0.0; endpoints.len()];
        for (batch_no, batch) in endpoints.chunks(GET_METRIC_DATA_MAX_QUERIES).enumerate() {
            let offset = batch_no * GET_METRIC_DATA_MAX_QUERIES;
            let mut pages = self
                .client
                .get_metric_data()
                .start_time(DateTime::from_secs(hour_start))
                .end_time(DateTime::from_secs(hour_start + 3600))
                .set_metric_data_queries(Some(
                    batch
                        .iter()
                        .enumerate()
                        .map(|(i, e)| usage_query(i, e))
                        .collect(),
                ))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| port_error("GetMetricData", e))?;
                for result in page.metric_data_results() {
                    let index = result
                        .id()
                        .and_then(|id| id.strip_prefix('e'))
                        .and_then(|n| n.parse::<usize>().ok());
                    match index.filter(|i| *i < batch.len()) {
                        Some(i) => bytes[offset + i] += result.values().iter().sum::<f64>(),
                        None => {
                            tracing::warn!(id = ?result.id(), "GetMetricData result with an unknown id ignored")
                        }
                    }
                }
            }
        }
        Ok(bytes)
    }
}
