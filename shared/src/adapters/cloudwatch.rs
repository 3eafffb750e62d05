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
