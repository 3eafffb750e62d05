//! Metric data points, independent of CloudWatch's types.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    None,
    Bytes,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    pub name: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
    pub value: f64,
    pub unit: Unit,
    /// Epoch seconds.
    pub timestamp: i64,
}
