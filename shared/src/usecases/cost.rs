//! Price UTC hours: which endpoints existed (the inventory now and what earlier runs saw), their
//! traffic, the month-to-date tiers, the cost model, and publishing each hour's figures so the
//! dashboard shows its latest pricing once.
//!
//! A scheduled run prices the last full hour and prices again the hours before it that new data
//! may have changed (late `BytesProcessed` data points, up to three hours late, are counted).
//! Traffic is queried for the endpoints that had data in the past three hours only (an idle
//! endpoint costs its AZ-hours and needs no query), once for all those hours. When there are so
//! many endpoints that querying them every hour would cost more than the budget, they are queried
//! every N hours and the runs in between only keep the inventory's record.
//!
//! Nothing is written or published unless every endpoint could be priced: a missing rate, an
//! unknown region or an hour that cannot be priced is an error naming it. Why publishing an hour
//! again never changes what the dashboard shows beyond replacing it with the latest pricing: see
//! `domain::publishing`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::domain::cost::{
    CostTotals, EndpointCost, EndpointUsage, HourCosts, price_hour, repriced_hours,
    traffic_interval_hours,
};
use crate::domain::findings::{
    EndpointWeek, Finding, WEEK_HOURS, consumer_findings, default_policy_on_aws_service,
};
use crate::domain::hour::{Hour, check_priceable};
use crate::domain::ids::EndpointId;
use crate::domain::inventory::{Endpoint, Sighting, is_provisioned};
use crate::domain::price_list::RatesUsed;
use crate::domain::pricing::{BYTES_PER_GB, PricingError, PricingOverrides, RegionRates};
use crate::domain::publishing::{HourRecord, MetricKey, PendingCheck, points};
use crate::events::CostRequest;
use crate::ports::{
    CostLedger, EndpointInventory, EndpointRecord, FindingsHub, LedgerRead, Metrics, PortError,
    PriceList, TierPool, UsageSource,
};
use crate::usecases::findings::{
    FindingsError, FindingsSummary, HubMode, first_run_of_day, report_findings,
};
use crate::usecases::rates::resolve_rates;

/// The generator of the consumer-side findings in Security Hub.
pub const CONSUMER_GENERATOR: &str = "privatelink-governor/vpc-endpoints";

/// The most endpoints that may get metrics of their own (each is a custom metric).
pub const MAX_PER_ENDPOINT_METRICS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct CostSettings {
    pub region: String,
    /// `PRICING_OVERRIDES`: rates that win over the Price List and the built-in table.
    pub pricing_overrides: PricingOverrides,
    /// How many of the most expensive endpoints get metrics of their own (default none).
    pub per_endpoint_metrics: usize,
    /// USD a month the traffic queries (`GetMetricData`) may cost.
    pub traffic_budget_usd: f64,
    /// `FindingsToSecurityHub`.
    pub security_hub: HubMode,
}

#[derive(Debug, thiserror::Error)]
pub enum CostError {
    #[error(transparent)]
    Pricing(#[from] PricingError),
    #[error("endpoints not priced, nothing written or published: {}", .0.iter().map(|(id, why)| format!("{id}: {why}")).collect::<Vec<_>>().join("; "))]
    MissingRates(Vec<(EndpointId, String)>),
    #[error("{0}; nothing written or published")]
    NotPriceable(String),
    #[error(transparent)]
    Port(#[from] PortError),
    /// The hours were priced and published; the findings could not be reported.
    #[error("hours priced, findings not reported: {0}")]
    Findings(#[from] FindingsError),
}

impl CostError {
    /// Whether a retry may succeed (a failed call may; a missing price will not).
    pub fn retryable(&self) -> bool {
        matches!(self, CostError::Port(e) | CostError::Findings(FindingsError::Port(e)) if e.retryable)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnpricedEndpoint {
    pub id: EndpointId,
    pub reason: String,
}

/// One hour this run priced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HourSummary {
    pub hour: String,
    pub total: CostTotals,
    pub endpoints: usize,
    /// Its figures differ from the last pricing (or it was never priced).
    pub changed: bool,
    /// Metrics whose published value changed.
    pub deltas_published: usize,
    /// Why its publishing was left to a later run, if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deferred: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficSummary {
    /// Every how many hours traffic is queried, so its cost stays within the budget.
    pub interval_hours: u32,
    /// Endpoints whose `BytesProcessed` had data in the past three hours.
    pub recently_active: usize,
    /// Endpoints queried (one metric each, over every hour priced).
    pub queried: usize,
    /// Why this run priced nothing, if it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// The function result: the newest hour priced with one row per endpoint (most expensive
/// first), every hour priced, and what was queried and published.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostSummary {
    pub region: String,
    /// The newest hour priced (none when this run was not a traffic turn).
    pub hour: Option<String>,
    pub month_to_date_gb_before: f64,
    pub total: CostTotals,
    pub endpoints: Vec<EndpointCost>,
    pub unpriced: Vec<UnpricedEndpoint>,
    /// Every hour priced, oldest first.
    pub hours: Vec<HourSummary>,
    pub traffic: TrafficSummary,
    pub metrics_published: usize,
    /// Where the rates came from (none when nothing was priced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rates: Option<RatesUsed>,
    /// The consumer-side findings of the endpoints (none when nothing was priced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<FindingsSummary>,
}

pub struct CostReporter<'a, I, U, L, M, P, H, Q> {
    pub prices: &'a P,
    /// The organization's cost pool (a member's or hub's); empty for a standalone stack.
    pub pool: &'a Q,
    pub hub: &'a H,
    pub inventory: &'a I,
    pub usage: &'a U,
    pub ledger: &'a L,
    pub metrics: &'a M,
    pub settings: &'a CostSettings,
}

/// An hour priced by this run, before anything is written.
struct Priced {
    hour: Hour,
    before_gb: f64,
    costs: HourCosts,
    bytes: BTreeMap<EndpointId, f64>,
}

impl<
    I: EndpointInventory,
    U: UsageSource,
    L: CostLedger,
    M: Metrics,
    P: PriceList,
    H: FindingsHub,
    Q: TierPool,
> CostReporter<'_, I, U, L, M, P, H, Q>
{
    /// Prices what `request` asks for at epoch second `now`; `run` names this run in the ledger.
    pub async fn run(
        &self,
        request: CostRequest,
        now: i64,
        run: &str,
    ) -> Result<CostSummary, CostError> {
        let region = self.settings.region.as_str();
        // A scheduled run acts as of when the schedule fired, if that is later than the clock
        // (only a test dates an event ahead; AWS delivers events after their time).
        let now = match request {
            CostRequest::Scheduled { at } => now.max(at),
            CostRequest::Hour(_) => now,
        };
        // When the schedule fired decides whether this is the day's first run, also for a run
        // delivered or retried later; a backfill goes by the clock.
        let fired_at = match request {
            CostRequest::Scheduled { at } => at,
            CostRequest::Hour(_) => now,
        };
        let backfill = match request {
            CostRequest::Hour(hour) => {
                check_priceable(hour, now).map_err(CostError::NotPriceable)?;
                Some(hour)
            }
            CostRequest::Scheduled { .. } => None,
        };
        let last = match request {
            CostRequest::Hour(hour) => hour,
            CostRequest::Scheduled { at } => {
                let last = Hour::last_full_before(at);
                check_priceable(last, now).map_err(CostError::NotPriceable)?;
                last
            }
        };

        let listed = self.inventory.endpoints().await?;
        let current: Vec<(Endpoint, bool)> = listed
            .iter()
            .map(|r| (r.endpoint.clone(), is_provisioned(&r.state)))
            .collect();
        let active = match backfill {
            Some(_) => BTreeSet::new(),
            None => self.usage.recently_active().await?,
        };
        let interval = match backfill {
            Some(_) => 1,
            None => traffic_interval_hours(active.len(), self.settings.traffic_budget_usd),
        };
        let first = match backfill {
            Some(hour) => hour,
            None => last.plus(1 - i64::from(repriced_hours(interval))),
        };
        let read = self
            .ledger
            .read(region, first.month_start(), first, last)
            .await?;

        // The inventory's record is kept at every run that prices or skips its turn (not at one
        // that fails), so a deletion between two runs is known.
        let record = read.inventory.after_look(&current, now);
        let endpoints_changed = record.provisioned != read.inventory.provisioned;
        let mut traffic = TrafficSummary {
            interval_hours: interval,
            recently_active: active.len(),
            ..Default::default()
        };
        if backfill.is_none() && last.index().rem_euclid(i64::from(interval)) != 0 {
            let next = (0..i64::from(interval))
                .map(|k| last.plus(k + 1))
                .find(|h| h.index().rem_euclid(i64::from(interval)) == 0)
                .unwrap_or(last);
            traffic.skipped = Some(format!(
                "traffic is queried every {interval} hours to stay within the budget; the next query prices up to {next}"
            ));
            self.ledger
                .write_inventory(region, &record, endpoints_changed)
                .await?;
            tracing::info!(
                region,
                interval,
                recently_active = active.len(),
                "not a traffic turn: nothing priced"
            );
            return Ok(CostSummary {
                region: region.to_owned(),
                hour: None,
                month_to_date_gb_before: 0.0,
                total: CostTotals::default(),
                endpoints: Vec::new(),
                unpriced: Vec::new(),
                hours: Vec::new(),
                traffic,
                metrics_published: 0,
                rates: None,
                findings: None,
            });
        }

        // The rates, before anything is priced or written: a region without any is an error.
        let resolved = resolve_rates(
            self.prices,
            region,
            read.rates.as_ref(),
            &self.settings.pricing_overrides,
            now,
        )
        .await?;
        if let Some(fetched) = &resolved.fetched {
            self.ledger.write_rates(region, fetched).await?;
        }
        let rates = &resolved.rates;
        tracing::info!(region, source = ?resolved.used.source, overridden = resolved.used.overridden, "rates");

        // Who existed in each hour: the inventory now, and what departed since earlier looks.
        let sightings: Vec<Sighting> = current
            .iter()
            .map(|(e, provisioned)| Sighting {
                endpoint: e.clone(),
                provisioned: *provisioned,
                seen_at: now,
            })
            .chain(record.departed.iter().cloned())
            .collect();
        let hours: Vec<Hour> = (0..=(last.index() - first.index()))
            .map(|k| first.plus(k))
            .collect();
        let existing: BTreeMap<Hour, Vec<Endpoint>> = hours
            .iter()
            .map(|&hour| (hour, existed_during(&sightings, hour)))
            .collect();

        // One query per endpoint with traffic, for every hour at once.
        let metered: BTreeMap<&EndpointId, &Endpoint> = existing
            .values()
            .flatten()
            .filter(|e| e.kind.has_traffic_metrics())
            .map(|e| (&e.id, e))
            .collect();
        let query: Vec<Endpoint> = metered
            .values()
            .filter(|e| backfill.is_some() || active.contains(&e.id))
            .map(|e| (*e).clone())
            .collect();
        traffic.queried = query.len();
        let fresh = if query.is_empty() {
            BTreeMap::new()
        } else {
            self.usage.bytes_processed(&query, first, last).await?
        };
        let queried: BTreeSet<&EndpointId> = query.iter().map(|e| &e.id).collect();

        // The other accounts of the organization: their GB per hour of each month priced.
        let mut others: BTreeMap<Hour, f64> = BTreeMap::new();
        for month in hours
            .iter()
            .map(|h| h.month_start())
            .collect::<BTreeSet<_>>()
        {
            others.extend(self.pool.others(region, month).await?);
        }
        // Price every hour, oldest first, the month-to-date tier count growing as it goes. All
        // of them before anything is written: a missing rate writes nothing.
        let mut month_gb: BTreeMap<Hour, f64> = read
            .hours
            .iter()
            .map(|(h, r)| (*h, r.interface_gb))
            .collect();
        let mut priced = Vec::new();
        for &hour in &hours {
            let known = read.hours.get(&hour).map(|r| &r.bytes);
            let mut bytes = BTreeMap::new();
            let rows: Vec<EndpointUsage> = existing[&hour]
                .iter()
                .map(|e| {
                    // A queried endpoint's figure is fresh; one not queried keeps what was known.
                    let b = if queried.contains(&e.id) {
                        fresh.get(&(e.id.clone(), hour)).copied().unwrap_or(0.0)
                    } else {
                        known.and_then(|k| k.get(&e.id)).copied().unwrap_or(0.0)
                    };
                    if b > 0.0 {
                        bytes.insert(e.id.clone(), b);
                    }
                    EndpointUsage {
                        endpoint: e.clone(),
                        bytes: b,
                    }
                })
                .collect();
            let before_gb: f64 = month_gb
                .range(hour.month_start()..hour)
                .chain(others.range(hour.month_start()..hour))
                .map(|(_, gb)| gb)
                .sum();
            let costs = price_hour(&rows, rates, region, before_gb);
            if !costs.missing_rates.is_empty() {
                return Err(CostError::MissingRates(costs.missing_rates));
            }
            month_gb.insert(hour, costs.interface_gb);
            priced.push(Priced {
                hour,
                before_gb,
                costs,
                bytes,
            });
        }

        // The pool first: if it cannot be written, nothing is, and the next run prices the hours
        // again (a put replaces an hour's figure, never adds to it).
        let mine: Vec<(Hour, f64)> = priced
            .iter()
            .map(|p| (p.hour, p.costs.interface_gb))
            .collect();
        self.pool.put(region, &mine).await?;
        self.ledger
            .write_inventory(region, &record, endpoints_changed)
            .await?;
        let (summaries, published) = self.record_and_publish(&read, &priced, now, run).await?;
        let findings = self
            .findings(&listed, rates, last, (now, fired_at), interval)
            .await?;
        let newest = priced.last().expect("at least one hour");
        tracing::info!(region, hour = %newest.hour, hours = priced.len(), interval, queried = traffic.queried,
            recently_active = active.len(), metrics = published, cost = newest.costs.totals.cost, "hours priced");
        Ok(CostSummary {
            region: region.to_owned(),
            hour: Some(newest.hour.to_string()),
            month_to_date_gb_before: newest.before_gb,
            total: newest.costs.totals.clone(),
            endpoints: newest.costs.endpoints.clone(),
            unpriced: newest
                .costs
                .unpriced
                .iter()
                .map(|(id, reason)| UnpricedEndpoint {
                    id: id.clone(),
                    reason: reason.clone(),
                })
                .collect(),
            hours: summaries,
            traffic,
            metrics_published: published,
            rates: Some(resolved.used),
            findings: Some(findings),
        })
    }

    /// Writes each hour whose pricing changed, with a pending publish of the differences, then
    /// publishes them all in one call, then confirms them. Returns the hours and how many data
    /// points went out.
    async fn record_and_publish(
        &self,
        read: &LedgerRead,
        priced: &[Priced],
        now: i64,
        run: &str,
    ) -> Result<(Vec<HourSummary>, usize), CostError> {
        let region = self.settings.region.as_str();
        let mut summaries = Vec::new();
        let mut started: Vec<HourRecord> = Vec::new();
        for p in priced {
            let stored = read.hours.get(&p.hour);
            let mut record = HourRecord {
                hour: p.hour,
                version: stored.map_or(1, |r| r.version + 1),
                priced_at: now,
                interface_gb: p.costs.interface_gb,
                totals: p.costs.totals.clone(),
                endpoints: p.costs.endpoints.len(),
                unpriced: p.costs.unpriced.len(),
                bytes: p.bytes.clone(),
                ledger: stored.map(|r| r.ledger.clone()).unwrap_or_default(),
            };
            let changed = stored.is_none_or(|s| !same_pricing(s, &record));
            if changed {
                self.log_rows(p, stored);
            }
            let mut summary = HourSummary {
                hour: p.hour.to_string(),
                total: p.costs.totals.clone(),
                endpoints: p.costs.endpoints.len(),
                changed,
                deltas_published: 0,
                deferred: None,
            };
            match record.ledger.check_pending(now) {
                PendingCheck::Clear => {}
                PendingCheck::Wait { started_at } => {
                    summary.deferred = Some(format!(
                        "a publish started at {} is not confirmed yet; a later run settles it",
                        crate::domain::hour::format_utc(started_at)
                    ));
                }
                PendingCheck::Read(keys) => {
                    let held = self.metrics.hour_sums(&keys, p.hour).await?;
                    tracing::warn!(region, hour = %p.hour, "an unconfirmed publish settled from what CloudWatch holds");
                    record.ledger.settle(held);
                }
            }
            let deltas = if summary.deferred.is_some() {
                BTreeMap::new()
            } else {
                record.ledger.deltas(&self.desired(&p.costs))
            };
            if !changed && deltas.is_empty() && stored.is_some_and(|s| s.ledger == record.ledger) {
                summaries.push(summary);
                continue; // nothing new: nothing written
            }
            if !deltas.is_empty() {
                summary.deltas_published = deltas.len();
                record.ledger.start(run, now, deltas);
            }
            let bytes_changed = stored.is_none_or(|s| s.bytes != record.bytes);
            if self
                .ledger
                .write_hour(region, &record, stored.map(|s| s.version), bytes_changed)
                .await?
            {
                if record.ledger.pending.as_ref().is_some_and(|p| p.id == run) {
                    started.push(record);
                }
            } else {
                summary.deferred = Some("another run wrote this hour first".into());
                summary.deltas_published = 0;
            }
            summaries.push(summary);
        }
        let points: Vec<_> = started
            .iter()
            .flat_map(|r| {
                r.ledger
                    .pending
                    .as_ref()
                    .map(|p| points(r.hour, &p.deltas))
                    .unwrap_or_default()
            })
            .collect();
        if !points.is_empty() {
            // If this fails, the hours keep their pending publish: a later run settles it.
            self.metrics.publish(&points).await?;
        }
        for mut record in started {
            let expected = record.version;
            record.ledger.confirm(run);
            record.version += 1;
            if !self
                .ledger
                .write_hour(region, &record, Some(expected), false)
                .await?
            {
                tracing::warn!(region, hour = %record.hour, "publish confirmed by another run's write first; a later run settles it");
            }
        }
        Ok((summaries, points.len()))
    }

    /// The consumer-side findings of the provisioned endpoints over the seven days up to `last`.
    async fn findings(
        &self,
        listed: &[EndpointRecord],
        rates: &RegionRates,
        last: Hour,
        (now, fired_at): (i64, i64),
        interval: u32,
    ) -> Result<FindingsSummary, CostError> {
        let region = self.settings.region.as_str();
        let first = last.plus(1 - i64::from(WEEK_HOURS));
        let (bytes, recorded) = self.ledger.recorded(region, first, last).await?;
        let provisioned = listed.iter().filter(|r| is_provisioned(&r.state));
        let ask: Vec<String> = provisioned
            .clone()
            .filter(|r| default_policy_on_aws_service(&r.endpoint, r.policy.as_deref()))
            .map(|r| r.endpoint.service_name.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // One call, and only when an endpoint has the default policy on an AWS service. If it
        // fails, the finding is reported rather than missed.
        let supported = if ask.is_empty() {
            BTreeMap::new()
        } else {
            self.inventory.policy_support(&ask).await.unwrap_or_else(|e| {
                tracing::warn!(region, error = %e, "could not tell which services take endpoint policies; default policies reported on all");
                BTreeMap::new()
            })
        };
        let found: Vec<Finding> = provisioned
            .flat_map(|r| {
                let week = EndpointWeek {
                    endpoint: r.endpoint.clone(),
                    gb: bytes.get(&r.endpoint.id).copied().unwrap_or(0.0) / BYTES_PER_GB,
                    recorded_hours: recorded
                        .iter()
                        .filter(|h| r.endpoint.created_at.is_none_or(|c| c <= h.start()))
                        .count() as u32,
                    policy: r.policy.clone(),
                    policy_supported: supported.get(&r.endpoint.service_name).copied(),
                };
                consumer_findings(&week, rates, region)
            })
            .collect();
        Ok(report_findings(
            self.hub,
            self.metrics,
            self.settings.security_hub,
            CONSUMER_GENERATOR,
            found,
            now,
            first_run_of_day(fired_at, interval),
        )
        .await?)
    }

    /// The figures the dashboard must show for the hour: the region's cost and NAT-equivalent
    /// cost, the count of endpoints with no price, and (opt-in) the most expensive endpoints'.
    fn desired(&self, costs: &HourCosts) -> BTreeMap<MetricKey, f64> {
        let mut out = BTreeMap::from([
            (MetricKey::region("EndpointCost"), costs.totals.cost),
            (
                MetricKey::region("NatEquivalentCost"),
                costs.totals.nat_equivalent_cost,
            ),
        ]);
        if !costs.unpriced.is_empty() {
            out.insert(
                MetricKey::region("UnpricedEndpoints"),
                costs.unpriced.len() as f64,
            );
        }
        let top = self
            .settings
            .per_endpoint_metrics
            .min(MAX_PER_ENDPOINT_METRICS);
        for row in costs.endpoints.iter().take(top) {
            let dims = vec![("VpcEndpointId", row.id.to_string())];
            out.insert(
                MetricKey {
                    name: "EndpointCost",
                    dimensions: dims.clone(),
                },
                row.figures.cost,
            );
            out.insert(
                MetricKey {
                    name: "NatEquivalentCost",
                    dimensions: dims,
                },
                row.figures.nat_equivalent_cost,
            );
        }
        out
    }

    /// One structured log line per endpoint whose figures for the hour are new or changed (the
    /// dashboard's per-endpoint table reads these, latest per hour and endpoint), and one per
    /// endpoint that has no price.
    fn log_rows(&self, p: &Priced, stored: Option<&HourRecord>) {
        let region = self.settings.region.as_str();
        let before = stored.map(|s| &s.bytes);
        let new_hour = stored.is_none_or(|s| s.endpoints != p.costs.endpoints.len());
        for row in &p.costs.endpoints {
            let was = before.and_then(|b| b.get(&row.id)).copied().unwrap_or(0.0);
            if !new_hour && (was - row.figures.bytes).abs() < 0.5 {
                continue;
            }
            let f = &row.figures;
            tracing::info!(
                region, hour = %p.hour, endpoint = %row.id, endpoint_type = row.kind.as_str(),
                service_name = %row.service_name, vpc_id = %row.vpc_id, azs = row.azs, gb = f.gb,
                hourly_cost = f.hourly_cost, data_cost = f.data_cost, cost = f.cost,
                nat_equivalent_cost = f.nat_equivalent_cost, nat_savings = f.nat_savings,
                "endpoint priced"
            );
        }
        for (id, reason) in &p.costs.unpriced {
            tracing::warn!(region, hour = %p.hour, endpoint = %id, reason = %reason, "endpoint not priced");
        }
    }
}

/// The endpoints the sightings show existed during `hour`, each once (the freshest sighting).
fn existed_during(sightings: &[Sighting], hour: Hour) -> Vec<Endpoint> {
    let mut seen = BTreeSet::new();
    sightings
        .iter()
        .filter(|s| s.existed_during(hour))
        .filter(|s| seen.insert(s.endpoint.id.clone()))
        .map(|s| s.endpoint.clone())
        .collect()
}

/// Whether two pricings of an hour are the same (rounding aside).
fn same_pricing(a: &HourRecord, b: &HourRecord) -> bool {
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
    let (t, u) = (&a.totals, &b.totals);
    a.endpoints == b.endpoints
        && a.unpriced == b.unpriced
        && close(a.interface_gb, b.interface_gb)
        && close(t.cost, u.cost)
        && close(t.nat_equivalent_cost, u.nat_equivalent_cost)
        && close(t.bytes, u.bytes)
        && a.bytes.len() == b.bytes.len()
        && a.bytes
            .iter()
            .all(|(k, v)| b.bytes.get(k).is_some_and(|w| close(*v, *w)))
}

#[cfg(test)]
#[path = "cost_tests.rs"]
mod tests;
