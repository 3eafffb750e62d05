//! Publishing an hour's figures so that the dashboard shows the latest pricing of the hour, once,
//! whatever runs for that hour happen: repeats, retries after a failure part-way, backfills,
//! late data priced again.
//!
//! CloudWatch adds every data point it is given: publishing an hour's cost twice makes its `Sum`
//! twice the cost. So each hour has a ledger in the cost table: what has been published for each
//! metric, and what is on its way. A run publishes only the difference between the latest pricing
//! and what the ledger says is published, so the `Sum` of all that was ever published for the hour
//! equals the latest pricing. The order of each run is:
//!
//! 1. write the ledger with the new figures and a *pending* publish (an id, the time, the deltas);
//! 2. PutMetricData with the deltas;
//! 3. write the ledger: published += deltas, pending cleared (only if the pending is ours).
//!
//! A run that dies before 1 changed nothing. One that dies between 1 and 3 leaves a pending
//! publish of which nobody knows whether CloudWatch got it. The next run then does not guess: once
//! the pending publish is older than [`SETTLE_SECS`] (CloudWatch has long made what it received
//! readable), it reads what CloudWatch holds for the hour, takes that as published, and goes on
//! from there; before that, it leaves the hour's publishing for a later run.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::cost::CostTotals;
use super::hour::Hour;
use super::ids::EndpointId;
use super::metrics::{MetricPoint, Unit};

/// How long a pending publish is left alone before CloudWatch is asked what it received.
pub const SETTLE_SECS: i64 = 15 * 60;
/// Differences smaller than this are rounding, not news.
const EPSILON: f64 = 1e-9;

/// A metric of one hour: its name and dimensions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MetricKey {
    pub name: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
}

impl MetricKey {
    pub fn region(name: &'static str) -> Self {
        Self {
            name,
            dimensions: Vec::new(),
        }
    }
}

impl fmt::Display for MetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        for (k, v) in &self.dimensions {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

/// A publish that was started and not yet confirmed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// Which run started it.
    pub id: String,
    /// Epoch seconds when it was started.
    pub at: i64,
    pub deltas: BTreeMap<MetricKey, f64>,
}

/// What has been published for an hour, and what may be on its way.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ledger {
    pub published: BTreeMap<MetricKey, f64>,
    pub pending: Option<Pending>,
}

/// What the cost table keeps for one priced hour: its latest pricing and its publishing ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HourRecord {
    #[serde(serialize_with = "serialize_hour")]
    pub hour: Hour,
    /// Bumped by every write; a write expects the version it read (two runs never interleave).
    pub version: u64,
    /// Epoch seconds of the latest pricing.
    pub priced_at: i64,
    /// GB of interface endpoints in the hour: what the month-to-date tier count adds up.
    pub interface_gb: f64,
    pub totals: CostTotals,
    pub endpoints: usize,
    pub unpriced: usize,
    /// `BytesProcessed` of each endpoint that had traffic in the hour, as last queried.
    #[serde(skip)]
    pub bytes: BTreeMap<EndpointId, f64>,
    pub ledger: Ledger,
}

fn serialize_hour<S: serde::Serializer>(hour: &Hour, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(hour)
}

/// What to do about a pending publish before publishing anything new for the hour.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingCheck {
    /// Nothing pending: go on.
    Clear,
    /// Too recent to know: leave the hour's publishing to a later run.
    Wait { started_at: i64 },
    /// Old enough: read what CloudWatch holds for these metrics and take it as published.
    Read(Vec<MetricKey>),
}

impl Ledger {
    pub fn check_pending(&self, now: i64) -> PendingCheck {
        match &self.pending {
            None => PendingCheck::Clear,
            Some(p) if now - p.at < SETTLE_SECS => PendingCheck::Wait { started_at: p.at },
            Some(p) => {
                let mut keys: Vec<MetricKey> = self.published.keys().cloned().collect();
                keys.extend(p.deltas.keys().cloned());
                keys.sort();
                keys.dedup();
                PendingCheck::Read(keys)
            }
        }
    }

    /// What CloudWatch holds for the hour replaces the ledger's belief; nothing is pending.
    pub fn settle(&mut self, observed: BTreeMap<MetricKey, f64>) {
        self.published = observed
            .into_iter()
            .filter(|(_, v)| v.abs() > EPSILON)
            .collect();
        self.pending = None;
    }

    /// The differences that make what is published equal `desired`: a metric no longer desired
    /// is brought back to zero.
    pub fn deltas(&self, desired: &BTreeMap<MetricKey, f64>) -> BTreeMap<MetricKey, f64> {
        let mut keys: Vec<&MetricKey> = desired.keys().chain(self.published.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|k| {
                let want = desired.get(k).copied().unwrap_or(0.0);
                let have = self.published.get(k).copied().unwrap_or(0.0);
                let delta = want - have;
                (delta.abs() > EPSILON).then(|| (k.clone(), delta))
            })
            .collect()
    }

    /// Marks `deltas` as on their way, started by `id` at `now`.
    pub fn start(&mut self, id: &str, now: i64, deltas: BTreeMap<MetricKey, f64>) {
        self.pending = Some(Pending {
            id: id.to_owned(),
            at: now,
            deltas,
        });
    }

    /// CloudWatch accepted the pending deltas of run `id`.
    pub fn confirm(&mut self, id: &str) -> bool {
        match self.pending.take() {
            Some(p) if p.id == id => {
                for (k, d) in p.deltas {
                    let v = self.published.entry(k.clone()).or_insert(0.0);
                    *v += d;
                    if v.abs() <= EPSILON {
                        self.published.remove(&k);
                    }
                }
                true
            }
            other => {
                self.pending = other;
                false
            }
        }
    }
}

/// The data points that carry `deltas` for `hour` (stamped with the hour's start).
pub fn points(hour: Hour, deltas: &BTreeMap<MetricKey, f64>) -> Vec<MetricPoint> {
    deltas
        .iter()
        .map(|(k, d)| MetricPoint {
            name: k.name,
            dimensions: k.dimensions.clone(),
            value: *d,
            unit: if k.name.ends_with("Endpoints") {
                Unit::Count
            } else {
                Unit::None
            },
            timestamp: hour.start(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn desired(pairs: &[(&'static str, f64)]) -> BTreeMap<MetricKey, f64> {
        pairs
            .iter()
            .map(|(n, v)| (MetricKey::region(n), *v))
            .collect()
    }

    #[test]
    fn only_the_difference_is_published_and_a_dropped_metric_is_brought_back_to_zero() {
        let mut ledger = Ledger::default();
        let first = ledger.deltas(&desired(&[
            ("EndpointCost", 5.0),
            ("UnpricedEndpoints", 2.0),
        ]));
        ledger.start("run-1", 100, first.clone());
        assert!(ledger.confirm("run-1"));
        assert_eq!(ledger.published, first);
        // Priced again with late data: only the difference goes out.
        let second = ledger.deltas(&desired(&[("EndpointCost", 5.5)]));
        assert_eq!(
            second,
            desired(&[("EndpointCost", 0.5), ("UnpricedEndpoints", -2.0)])
        );
        // Priced again, unchanged: nothing to publish.
        ledger.start("run-2", 200, second);
        assert!(ledger.confirm("run-2"));
        assert!(ledger.deltas(&desired(&[("EndpointCost", 5.5)])).is_empty());
        assert!(
            !ledger
                .published
                .contains_key(&MetricKey::region("UnpricedEndpoints"))
        );
    }

    #[test]
    fn a_pending_publish_waits_then_is_settled_from_what_cloudwatch_holds() {
        let mut ledger = Ledger::default();
        ledger.start("run-1", 1000, desired(&[("EndpointCost", 3.0)]));
        assert_eq!(
            ledger.check_pending(1000 + 60),
            PendingCheck::Wait { started_at: 1000 }
        );
        assert_eq!(
            ledger.check_pending(1000 + SETTLE_SECS),
            PendingCheck::Read(vec![MetricKey::region("EndpointCost")])
        );
        assert!(
            !ledger.confirm("run-2"),
            "only its own run confirms a pending publish"
        );
        // The run died after PutMetricData: CloudWatch holds 3.0.
        ledger.settle(desired(&[("EndpointCost", 3.0)]));
        assert_eq!(ledger.check_pending(5000), PendingCheck::Clear);
        assert!(ledger.deltas(&desired(&[("EndpointCost", 3.0)])).is_empty());
    }

    proptest! {
        /// Whatever the sequence of pricings, confirmed publishes, publishes lost before or after
        /// reaching CloudWatch, and settlements, what CloudWatch holds ends equal to the latest
        /// pricing once a run completes.
        #[test]
        fn cloudwatch_ends_at_the_latest_pricing(
            runs in proptest::collection::vec((0.0..100.0f64, 0u8..3), 1..12),
        ) {
            let key = MetricKey::region("EndpointCost");
            let mut ledger = Ledger::default();
            let mut cloudwatch = 0.0; // the Sum of every data point CloudWatch received
            let mut now = 0;
            let mut last = 0.0;
            for (i, (value, fate)) in runs.iter().enumerate() {
                now += SETTLE_SECS + 1;
                if let PendingCheck::Read(_) = ledger.check_pending(now) {
                    ledger.settle(BTreeMap::from([(key.clone(), cloudwatch)]));
                }
                let want = BTreeMap::from([(key.clone(), *value)]);
                let deltas = ledger.deltas(&want);
                let id = format!("run-{i}");
                ledger.start(&id, now, deltas.clone());
                match fate {
                    0 => { // completes
                        cloudwatch += deltas.get(&key).copied().unwrap_or(0.0);
                        ledger.confirm(&id);
                    }
                    1 => { // dies after PutMetricData
                        cloudwatch += deltas.get(&key).copied().unwrap_or(0.0);
                    }
                    _ => {} // dies before PutMetricData
                }
                last = *value;
            }
            // One more run, which completes.
            now += SETTLE_SECS + 1;
            if let PendingCheck::Read(_) = ledger.check_pending(now) {
                ledger.settle(BTreeMap::from([(key.clone(), cloudwatch)]));
            }
            let deltas = ledger.deltas(&BTreeMap::from([(key.clone(), last)]));
            cloudwatch += deltas.get(&key).copied().unwrap_or(0.0);
            prop_assert!((cloudwatch - last).abs() < 1e-6, "{cloudwatch} != {last}");
        }
    }
}
