//! Unit tests of the cost use case over the in-memory ports, with the clock as an input.

use super::*;
use crate::adapters::memory::{
    MemoryHub, MemoryInventory, MemoryLedger, MemoryMetrics, MemoryPool, MemoryPriceList,
    MemoryUsage,
};
use crate::domain::cost::EndpointKind;
use crate::domain::pricing::BYTES_PER_GB;
use crate::ports::EndpointRecord;
use crate::usecases::findings::HubMode;

const GIB: f64 = BYTES_PER_GB;

fn hour(text: &str) -> Hour {
    Hour::parse(text).unwrap()
}

/// 2026-11-15T10:00:00Z, priced at ten past eleven.
fn h10() -> Hour {
    hour("2026-11-15T10:00:00Z")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[derive(Default)]
struct World {
    /// Answers no records: the built-in table prices (see the Price List tests below).
    prices: MemoryPriceList,
    /// The organization's other accounts (none: a standalone stack).
    pool: MemoryPool,
    hub: MemoryHub,
    inventory: MemoryInventory,
    usage: MemoryUsage,
    ledger: MemoryLedger,
    metrics: MemoryMetrics,
}

impl World {
    fn endpoint(
        &self,
        id: &str,
        kind: EndpointKind,
        azs: u32,
        created_at: i64,
        state: &str,
    ) -> EndpointId {
        let id = EndpointId::parse(id).unwrap();
        self.inventory
            .endpoints
            .lock()
            .unwrap()
            .push(EndpointRecord {
                endpoint: Endpoint {
                    id: id.clone(),
                    kind,
                    service_name: "com.amazonaws.vpce.us-east-1.vpce-svc-0a".into(),
                    vpc_id: "vpc-1".into(),
                    azs,
                    created_at: Some(created_at),
                },
                state: state.into(),
                policy: None,
            });
        id
    }

    /// An interface endpoint in `azs` AZs, there since the day before 10:00, that moved `gib` in
    /// the 10:00 hour.
    fn busy_since_yesterday(&self, id: &str, azs: u32, gib: f64) -> EndpointId {
        let e = self.endpoint(
            id,
            EndpointKind::Interface,
            azs,
            h10().start() - 86_400,
            "available",
        );
        self.traffic(&e, h10(), gib);
        e
    }

    fn set_state(&self, id: &EndpointId, state: &str) {
        for r in self.inventory.endpoints.lock().unwrap().iter_mut() {
            if &r.endpoint.id == id {
                r.state = state.into();
            }
        }
    }

    fn forget(&self, id: &EndpointId) {
        self.inventory
            .endpoints
            .lock()
            .unwrap()
            .retain(|r| &r.endpoint.id != id);
    }

    /// Traffic in `hour`, which CloudWatch then reports as recently active.
    fn traffic(&self, id: &EndpointId, hour: Hour, gib: f64) {
        self.usage
            .bytes
            .lock()
            .unwrap()
            .insert((id.clone(), hour), gib * GIB);
        self.usage
            .recently_active
            .lock()
            .unwrap()
            .insert(id.clone());
    }

    async fn run_with(
        &self,
        settings: &CostSettings,
        request: CostRequest,
        now: i64,
        run: &str,
    ) -> Result<CostSummary, CostError> {
        CostReporter {
            prices: &self.prices,
            pool: &self.pool,
            hub: &self.hub,
            inventory: &self.inventory,
            usage: &self.usage,
            ledger: &self.ledger,
            metrics: &self.metrics,
            settings,
        }
        .run(request, now, run)
        .await
    }

    async fn run(
        &self,
        request: CostRequest,
        now: i64,
        run: &str,
    ) -> Result<CostSummary, CostError> {
        self.run_with(&settings(), request, now, run).await
    }

    /// What the dashboard's hourly `Sum` of a region metric shows for `hour`.
    fn shown(&self, name: &'static str, hour: Hour) -> f64 {
        self.metrics.hour_sum(&MetricKey::region(name), hour)
    }
}

fn settings() -> CostSettings {
    CostSettings {
        region: "us-east-1".into(),
        pricing_overrides: PricingOverrides::default(),
        security_hub: HubMode::Auto,
        per_endpoint_metrics: 0,
        traffic_budget_usd: 20.0,
    }
}

/// The schedule firing ten minutes after `hour` ended.
fn scheduled_after(hour: Hour) -> (CostRequest, i64) {
    let at = hour.end() + 600;
    (CostRequest::Scheduled { at }, at)
}

#[tokio::test]
async fn an_hour_by_hand_and_only_two_region_metrics_published() {
    let w = World::default();
    let long_ago = h10().start() - 86_400;
    let one = w.endpoint("vpce-01", EndpointKind::Interface, 1, long_ago, "available");
    let two = w.endpoint(
        "vpce-02",
        EndpointKind::Interface,
        2,
        long_ago,
        "pendingAcceptance",
    );
    let three = w.endpoint("vpce-03", EndpointKind::Interface, 3, long_ago, "rejected");
    w.endpoint("vpce-04", EndpointKind::Gateway, 0, long_ago, "available");
    let lb = w.endpoint(
        "vpce-05",
        EndpointKind::GatewayLoadBalancer,
        1,
        long_ago,
        "available",
    );
    w.traffic(&one, h10(), 10.0);
    w.traffic(&three, h10(), 500.0);
    w.traffic(&lb, h10(), 20.0);
    let (request, now) = scheduled_after(h10());
    let s = w.run(request, now, "run-1").await.unwrap();
    assert_eq!(s.hour.as_deref(), Some("2026-11-15T10:00:00Z"));
    // 0.11 + 0.02 + 5.03 + 0.08 (+ 0 for the gateway endpoint); NAT 0.45 + 22.5 + 0.9.
    assert!(close(s.total.cost, 5.24), "{:?}", s.total);
    assert!(close(s.total.nat_equivalent_cost, 23.85));
    let two_row = s.endpoints.iter().find(|r| r.id == two).unwrap();
    assert!(
        close(two_row.figures.nat_savings, -0.02),
        "a rejected endpoint is billed too"
    );
    assert!(close(w.shown("EndpointCost", h10()), 5.24));
    assert!(close(w.shown("NatEquivalentCost", h10()), 23.85));
    let names: BTreeSet<&str> = w
        .metrics
        .published
        .lock()
        .unwrap()
        .iter()
        .flatten()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, BTreeSet::from(["EndpointCost", "NatEquivalentCost"]));
    assert_eq!(
        s.traffic.queried, 3,
        "only the endpoints with recent traffic are queried"
    );
    assert_eq!(
        w.usage.queries.lock().unwrap().as_slice(),
        [3],
        "one query for every hour"
    );
}

#[tokio::test]
async fn pricing_an_hour_again_in_every_way_shows_it_once() {
    let w = World::default();
    let e = w.busy_since_yesterday("vpce-0a", 2, 100.0);
    let (request, now) = scheduled_after(h10());
    // 2 x 0.01 + 100 x 0.01 = 1.02
    w.run(request, now, "run-1").await.unwrap();
    w.run(request, now + 30, "run-2").await.unwrap(); // a replay
    w.run(CostRequest::Hour(h10()), now + 60, "run-3")
        .await
        .unwrap(); // a backfill
    assert!(close(w.shown("EndpointCost", h10()), 1.02));

    // Late data, and the publish fails after the ledger was written: CloudWatch got nothing.
    w.traffic(&e, h10(), 200.0);
    *w.metrics.failing.lock().unwrap() = true;
    assert!(
        w.run(CostRequest::Hour(h10()), now + 120, "run-4")
            .await
            .is_err()
    );
    *w.metrics.failing.lock().unwrap() = false;
    assert!(close(w.shown("EndpointCost", h10()), 1.02));
    // A retry a minute later does not guess: the unconfirmed publish is left for later.
    let retry = w
        .run(CostRequest::Hour(h10()), now + 180, "run-5")
        .await
        .unwrap();
    assert!(retry.hours[0].deferred.is_some(), "{:?}", retry.hours);
    assert!(close(w.shown("EndpointCost", h10()), 1.02));
    // After the settle time, CloudWatch is read and the latest pricing published once.
    w.run(CostRequest::Hour(h10()), now + 120 + SETTLE, "run-6")
        .await
        .unwrap();
    assert!(
        close(w.shown("EndpointCost", h10()), 2.02),
        "{}",
        w.shown("EndpointCost", h10())
    );

    // Now the publish reaches CloudWatch but its answer is lost (the run dies after it).
    w.traffic(&e, h10(), 300.0);
    *w.metrics.lost_reply.lock().unwrap() = true;
    assert!(
        w.run(CostRequest::Hour(h10()), now + 2 * SETTLE, "run-7")
            .await
            .is_err()
    );
    *w.metrics.lost_reply.lock().unwrap() = false;
    assert!(close(w.shown("EndpointCost", h10()), 3.02));
    w.run(CostRequest::Hour(h10()), now + 4 * SETTLE, "run-8")
        .await
        .unwrap();
    w.run(CostRequest::Hour(h10()), now + 5 * SETTLE, "run-9")
        .await
        .unwrap();
    assert!(
        close(w.shown("EndpointCost", h10()), 3.02),
        "settled, not added again"
    );
    let ledger = w.ledger.hours.lock().unwrap()[&h10()].ledger.clone();
    assert!(ledger.pending.is_none());
}

const SETTLE: i64 = crate::domain::publishing::SETTLE_SECS + 1;

#[tokio::test]
async fn late_data_within_three_hours_is_counted_and_quiet_endpoints_keep_their_figures() {
    let w = World::default();
    let created = h10().start() - 86_400;
    let busy = w.endpoint("vpce-0b", EndpointKind::Interface, 1, created, "available");
    let quiet = w.endpoint("vpce-0c", EndpointKind::Interface, 1, created, "available");
    w.traffic(&busy, h10(), 10.0);
    w.traffic(&quiet, h10(), 50.0);
    let (request, now) = scheduled_after(h10());
    w.run(request, now, "run-1").await.unwrap();
    assert!(close(w.shown("EndpointCost", h10()), 0.02 + 0.6));
    // Hours later: a late data point for 10:00 arrives for `busy`; `quiet` had no data since.
    w.usage.recently_active.lock().unwrap().remove(&quiet);
    w.traffic(&busy, h10(), 12.0);
    let (request, now) = scheduled_after(h10().plus(2));
    let s = w.run(request, now, "run-2").await.unwrap();
    assert_eq!(s.traffic.queried, 1);
    assert!(
        s.hours
            .iter()
            .any(|h| h.hour == h10().to_string() && h.changed)
    );
    // 2 x 0.01 + (12 + 50) x 0.01: the quiet endpoint's 50 GB kept, the late 2 GB counted.
    assert!(
        close(w.shown("EndpointCost", h10()), 0.64),
        "{}",
        w.shown("EndpointCost", h10())
    );
    // The newer hours were priced too: only AZ-hours.
    assert!(close(w.shown("EndpointCost", h10().plus(2)), 0.02));
}

#[tokio::test]
async fn every_endpoint_that_existed_during_the_hour_is_priced_and_none_deleted_before() {
    let w = World::default();
    let before = h10().start() - 86_400;
    let stays = w.endpoint("vpce-01", EndpointKind::Interface, 1, before, "available");
    let gone = w.endpoint("vpce-02", EndpointKind::Interface, 1, before, "available");
    let deleted_before = w.endpoint("vpce-03", EndpointKind::Interface, 1, before, "deleted");
    let brief = w.endpoint(
        "vpce-04",
        EndpointKind::Interface,
        1,
        h10().start() + 300,
        "deleted",
    );
    // The run for 09:00 (at 10:10) sees vpce-02 provisioned; then it is deleted and AWS stops
    // listing it before the run for 10:00.
    let (request, now) = scheduled_after(h10().plus(-1));
    w.run(request, now, "run-1").await.unwrap();
    w.forget(&gone);
    let (request, now) = scheduled_after(h10());
    let s = w.run(request, now, "run-2").await.unwrap();
    let priced: BTreeSet<&EndpointId> = s.endpoints.iter().map(|r| &r.id).collect();
    assert_eq!(
        priced,
        BTreeSet::from([&stays, &gone, &brief]),
        "{priced:?}"
    );
    assert!(!priced.contains(&deleted_before));
    // The hour after: vpce-02 was last seen at 10:10, so not priced for 11:00.
    w.set_state(&stays, "deleting");
    let (request, now) = scheduled_after(h10().plus(1));
    let next = w.run(request, now, "run-3").await.unwrap();
    let priced: BTreeSet<&EndpointId> = next.endpoints.iter().map(|r| &r.id).collect();
    assert_eq!(priced, BTreeSet::from([&stays]));
}

#[tokio::test]
async fn resource_endpoints_are_reported_unpriced_with_a_metric() {
    let w = World::default();
    let r = w.endpoint(
        "vpce-0d",
        EndpointKind::parse("Resource"),
        1,
        h10().start() - 86_400,
        "available",
    );
    let (request, now) = scheduled_after(h10());
    let s = w.run(request, now, "run-1").await.unwrap();
    assert_eq!(s.unpriced.len(), 1);
    assert_eq!(s.unpriced[0].id, r);
    assert!(
        s.unpriced[0]
            .reason
            .contains("Resource endpoints have no known rate")
    );
    assert!(close(w.shown("UnpricedEndpoints", h10()), 1.0));
    w.forget(&r);
    w.run(CostRequest::Hour(h10()), now + 60, "run-2")
        .await
        .unwrap();
    assert!(
        close(w.shown("UnpricedEndpoints", h10()), 1.0),
        "it existed in the hour: still counted"
    );
}

#[tokio::test]
async fn a_backfill_too_old_or_not_yet_ended_is_refused_before_anything_is_written() {
    let w = World::default();
    w.endpoint(
        "vpce-0a",
        EndpointKind::Interface,
        1,
        h10().start() - 86_400,
        "available",
    );
    for (hour, now, says) in [
        (h10(), h10().end() - 1, "has not ended"),
        (
            h10(),
            h10().start() + 15 * 86_400,
            "more than two weeks old",
        ),
    ] {
        let err = w
            .run(CostRequest::Hour(hour), now, "run")
            .await
            .unwrap_err();
        assert!(matches!(err, CostError::NotPriceable(_)));
        assert!(err.to_string().contains(says), "{err}");
    }
    assert_eq!(*w.ledger.writes.lock().unwrap(), 0);
    assert!(w.ledger.inventory.lock().unwrap().provisioned.is_empty());
    assert!(w.metrics.published.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_rate_writes_and_publishes_nothing() {
    let w = World::default();
    w.endpoint(
        "vpce-0a",
        EndpointKind::Interface,
        1,
        h10().start() - 86_400,
        "available",
    );
    // A region only the overrides have, without a NAT rate.
    let mut south = settings();
    south.region = "ap-south-2".into();
    south.pricing_overrides =
        PricingOverrides::parse(r#"{"ap-south-2": {"endpointAzHour": 0.01}}"#).unwrap();
    let (request, now) = scheduled_after(h10());
    let err = w.run_with(&south, request, now, "run").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("no natGb rate for region ap-south-2"),
        "{err}"
    );
    assert_eq!(*w.ledger.writes.lock().unwrap(), 0);
    assert!(w.metrics.published.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_large_fleet_is_queried_every_few_hours_within_the_budget() {
    let w = World::default();
    for i in 0..40 {
        let e = w.endpoint(
            &format!("vpce-{i:04x}"),
            EndpointKind::Interface,
            1,
            h10().start() - 86_400,
            "available",
        );
        w.traffic(&e, h10(), 1.0);
    }
    // 40 endpoints hourly cost 40 x 730 x $0.00001 = $0.29 a month; a $0.10 budget makes it 3 hours.
    let mut tight = settings();
    tight.traffic_budget_usd = 0.10;
    let mut queried_runs = 0;
    for k in 0..6 {
        let (request, now) = scheduled_after(h10().plus(k));
        let s = w
            .run_with(&tight, request, now, &format!("run-{k}"))
            .await
            .unwrap();
        assert_eq!(s.traffic.interval_hours, 3);
        if s.traffic.skipped.is_none() {
            queried_runs += 1;
            assert_eq!(
                s.hours.len(),
                9,
                "the hours since the last query and the late-data ones"
            );
        }
    }
    assert_eq!(queried_runs, 2);
    assert_eq!(w.usage.queries.lock().unwrap().as_slice(), [40, 40]);
    assert!(close(w.shown("EndpointCost", h10()), 40.0 * (0.01 + 0.01)));
}

#[tokio::test]
async fn per_endpoint_metrics_follow_the_most_expensive_and_leave_when_they_drop_out() {
    let w = World::default();
    let created = h10().start() - 86_400;
    let a = w.endpoint("vpce-0a", EndpointKind::Interface, 1, created, "available");
    let b = w.endpoint("vpce-0b", EndpointKind::Interface, 1, created, "available");
    w.traffic(&a, h10(), 10.0);
    w.traffic(&b, h10(), 5.0);
    let mut one = settings();
    one.per_endpoint_metrics = 1;
    let (request, now) = scheduled_after(h10());
    w.run_with(&one, request, now, "run-1").await.unwrap();
    let per = |id: &EndpointId| {
        w.metrics.hour_sum(
            &MetricKey {
                name: "EndpointCost",
                dimensions: vec![("VpcEndpointId", id.to_string())],
            },
            h10(),
        )
    };
    assert!(close(per(&a), 0.11) && close(per(&b), 0.0));
    w.traffic(&b, h10(), 50.0);
    w.run_with(&one, CostRequest::Hour(h10()), now + 60, "run-2")
        .await
        .unwrap();
    assert!(
        close(per(&a), 0.0),
        "no longer in the top one: brought back to zero"
    );
    assert!(close(per(&b), 0.51));
}

#[tokio::test]
async fn another_run_writing_the_hour_first_leaves_it_to_that_run() {
    let w = World::default();
    let e = w.endpoint(
        "vpce-0a",
        EndpointKind::Interface,
        1,
        h10().start() - 86_400,
        "available",
    );
    w.traffic(&e, h10(), 1.0);
    let (request, now) = scheduled_after(h10());
    w.run(request, now, "run-1").await.unwrap();
    // Someone else's write bumps the version between this run's read and write.
    w.traffic(&e, h10(), 2.0);
    let bumped = {
        let mut hours = w.ledger.hours.lock().unwrap();
        let r = hours.get_mut(&h10()).unwrap();
        r.version += 10;
        r.version
    };
    let reporter = CostReporter {
        prices: &w.prices,
        pool: &w.pool,
        hub: &w.hub,
        inventory: &w.inventory,
        usage: &w.usage,
        ledger: &RacingLedger {
            inner: &w.ledger,
            bump_to: bumped,
        },
        metrics: &w.metrics,
        settings: &settings(),
    };
    let s = reporter
        .run(CostRequest::Hour(h10()), now + 60, "run-2")
        .await
        .unwrap();
    assert_eq!(
        s.hours[0].deferred.as_deref(),
        Some("another run wrote this hour first")
    );
    assert!(
        close(w.shown("EndpointCost", h10()), 0.02),
        "nothing published by the loser"
    );
}

/// A ledger whose reads come back one version behind: the write that follows loses the race.
struct RacingLedger<'a> {
    inner: &'a MemoryLedger,
    bump_to: u64,
}

impl CostLedger for RacingLedger<'_> {
    async fn read(
        &self,
        region: &str,
        month_first: Hour,
        window_first: Hour,
        last: Hour,
    ) -> Result<LedgerRead, PortError> {
        let mut read = self
            .inner
            .read(region, month_first, window_first, last)
            .await?;
        for r in read.hours.values_mut() {
            r.version = self.bump_to - 1;
        }
        Ok(read)
    }

    async fn write_hour(
        &self,
        region: &str,
        record: &HourRecord,
        expected: Option<u64>,
        bytes_changed: bool,
    ) -> Result<bool, PortError> {
        self.inner
            .write_hour(region, record, expected, bytes_changed)
            .await
    }

    async fn write_inventory(
        &self,
        region: &str,
        record: &crate::domain::inventory::InventoryRecord,
        changed: bool,
    ) -> Result<(), PortError> {
        self.inner.write_inventory(region, record, changed).await
    }

    async fn recorded(
        &self,
        region: &str,
        first: Hour,
        last: Hour,
    ) -> Result<(BTreeMap<EndpointId, f64>, Vec<Hour>), PortError> {
        self.inner.recorded(region, first, last).await
    }

    async fn write_rates(
        &self,
        region: &str,
        rates: &crate::domain::price_list::CachedRates,
    ) -> Result<(), PortError> {
        self.inner.write_rates(region, rates).await
    }
}

#[tokio::test]
async fn a_week_idle_endpoint_is_found_once_then_archived_when_it_moves_data() {
    let w = World::default();
    let start = h10().plus(-200);
    let idle = w.endpoint(
        "vpce-0c",
        EndpointKind::Interface,
        2,
        start.start() - 86_400,
        "available",
    );
    let busy = w.endpoint(
        "vpce-0b",
        EndpointKind::Interface,
        2,
        start.start() - 86_400,
        "available",
    );
    let mut last = None;
    for k in 0..=170 {
        let hour = start.plus(k);
        w.traffic(&busy, hour, 100.0);
        let (request, now) = scheduled_after(hour);
        last = Some(w.run(request, now, &format!("run-{k}")).await.unwrap());
    }
    let s = last.unwrap();
    let f = s.findings.as_ref().unwrap();
    assert_eq!(f.counts, BTreeMap::from([("IdleEndpoint", 1)]), "{f:?}");
    assert_eq!(f.findings[0].resource.id(), idle.as_str());
    // 2 AZ x $0.01 x 730 h.
    assert!(close(f.monthly_waste_usd, 14.6));
    assert_eq!(
        f.security_hub, "unchanged",
        "imported once, when the week was complete"
    );
    assert_eq!(w.hub.imports.lock().unwrap().as_slice(), [1]);
    // It moves a GB: no longer idle (archived), and now it costs more than NAT would.
    w.traffic(&idle, start.plus(171), 1.0);
    let (request, now) = scheduled_after(start.plus(171));
    let s = w.run(request, now, "run-171").await.unwrap();
    let f = s.findings.unwrap();
    assert_eq!(f.counts, BTreeMap::from([("NegativeSavings", 1)]));
    assert_eq!((f.imported, f.archived), (1, 1));
    let held = w.hub.held.lock().unwrap();
    assert!(!held[&format!("IdleEndpoint/{idle}")].active);
    assert!(held[&format!("NegativeSavings/{idle}")].active);
}

#[tokio::test]
async fn the_daily_findings_count_goes_by_when_the_schedule_fired_not_when_it_was_delivered() {
    let findings_published = |w: &World| {
        w.metrics
            .published
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .filter(|p| p.name == "Findings")
            .map(|p| (p.dimensions[0].1.clone(), p.value))
            .collect::<Vec<_>>()
    };
    let midnight = hour("2026-11-16T00:00:00Z");
    let w = World::default();
    w.endpoint(
        "vpce-0c",
        EndpointKind::Interface,
        1,
        midnight.start() - 30 * 86_400,
        "available",
    );
    // The 01:00 run delivered at 02:30: not the day's first, no count.
    let at = midnight.plus(1).start() + 30;
    w.run(CostRequest::Scheduled { at }, at + 5_400, "run-1")
        .await
        .unwrap();
    assert_eq!(findings_published(&w), []);
    // The 00:00 run retried at 02:30: the day's first, counted.
    let at = midnight.start() + 30;
    w.run(CostRequest::Scheduled { at }, at + 9_000, "run-2")
        .await
        .unwrap();
    assert_eq!(
        findings_published(&w),
        [("SingleAzEndpoint".to_owned(), 1.0)]
    );
}

#[tokio::test]
async fn findings_without_security_hub_are_in_the_result_and_on_fails() {
    let w = World::default();
    w.endpoint(
        "vpce-0a",
        EndpointKind::Interface,
        1,
        h10().start() - 86_400,
        "available",
    );
    *w.hub.enabled.lock().unwrap() = false;
    let (request, now) = scheduled_after(h10());
    let s = w.run(request, now, "run-1").await.unwrap();
    let f = s.findings.unwrap();
    assert_eq!(f.counts, BTreeMap::from([("SingleAzEndpoint", 1)]));
    assert!(
        f.security_hub.starts_with("not enabled"),
        "{}",
        f.security_hub
    );
    let mut on = settings();
    on.security_hub = HubMode::On;
    let err = w
        .run_with(&on, request, now + 60, "run-2")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Security Hub is not enabled"),
        "{err}"
    );
    assert!(!err.retryable());
}

#[tokio::test]
async fn only_services_that_take_policies_are_found_with_the_default_one_asked_once_a_run() {
    let w = World::default();
    let full = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
    let narrowed = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#;
    let created = h10().start() - 86_400;
    for (id, service, policy) in [
        ("vpce-0a", "com.amazonaws.us-east-1.sqs", full),
        ("vpce-0b", "com.amazonaws.us-east-1.sqs", full),
        ("vpce-0c", "com.amazonaws.us-east-1.cloudformation", full),
        ("vpce-0d", "com.amazonaws.us-east-1.s3", narrowed),
        ("vpce-0e", "com.amazonaws.vpce.us-east-1.vpce-svc-0a", full),
    ] {
        let id = w.endpoint(id, EndpointKind::Interface, 2, created, "available");
        for r in w.inventory.endpoints.lock().unwrap().iter_mut() {
            if r.endpoint.id == id {
                r.endpoint.service_name = service.into();
                r.policy = Some(policy.into());
            }
        }
    }
    w.inventory
        .without_policies
        .lock()
        .unwrap()
        .insert("com.amazonaws.us-east-1.cloudformation".into());
    let (request, now) = scheduled_after(h10());
    let s = w.run(request, now, "run-1").await.unwrap();
    let f = s.findings.unwrap();
    let found: Vec<&str> = f.findings.iter().map(|x| x.resource.id()).collect();
    assert_eq!(found, ["vpce-0a", "vpce-0b"], "{f:?}");
    // Distinct names of default-policy endpoints to AWS services, in one call.
    assert_eq!(
        w.inventory.policy_queries.lock().unwrap().as_slice(),
        [vec![
            "com.amazonaws.us-east-1.cloudformation".to_owned(),
            "com.amazonaws.us-east-1.sqs".to_owned()
        ]]
    );
    // No default policy left on an AWS service: no call at all.
    for r in w.inventory.endpoints.lock().unwrap().iter_mut() {
        r.policy = Some(narrowed.into());
    }
    let (request, now) = scheduled_after(h10().plus(1));
    w.run(request, now, "run-2").await.unwrap();
    assert_eq!(w.inventory.policy_queries.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_organizations_pool_counts_toward_the_tiers_and_takes_this_accounts_hours() {
    let w = World::default();
    let e = w.busy_since_yesterday("vpce-0a", 1, 10.0);
    // Other accounts of the organization moved 2 PB (2,097,152 GB) earlier this month: past the
    // first tier (1 PB at $0.01), this account's 10 GB cost $0.006 each.
    w.pool
        .others
        .lock()
        .unwrap()
        .insert(h10().plus(-5), 2_097_152.0);
    // An hour of the month after does not count.
    w.pool
        .others
        .lock()
        .unwrap()
        .insert(h10().month_start().plus(24 * 40), 9e9);
    let (request, now) = scheduled_after(h10());
    let s = w.run(request, now, "run-1").await.unwrap();
    assert!(
        close(s.month_to_date_gb_before, 2_097_152.0),
        "{}",
        s.month_to_date_gb_before
    );
    assert!(close(s.total.data_cost, 10.0 * 0.006), "{:?}", s.total);
    // Every hour priced, those without traffic too (a figure corrected to zero must replace).
    let mine = w.pool.mine.lock().unwrap().clone();
    assert_eq!(mine[&h10()], 10.0);
    assert!(
        mine.iter().all(|(h, gb)| *h == h10() || *gb == 0.0),
        "{mine:?}"
    );
    // The hour again, with corrected traffic: its pool figure replaced, not added to.
    w.traffic(&e, h10(), 4.0);
    let s = w
        .run(CostRequest::Hour(h10()), now + 60, "run-2")
        .await
        .unwrap();
    assert!(close(s.total.data_cost, 4.0 * 0.006), "{:?}", s.total);
    assert_eq!(w.pool.mine.lock().unwrap()[&h10()], 4.0);
}

#[tokio::test]
async fn an_unreadable_pool_prices_nothing_and_writes_nothing() {
    let w = World::default();
    w.busy_since_yesterday("vpce-0a", 1, 10.0);
    *w.pool.failing.lock().unwrap() = true;
    let (request, now) = scheduled_after(h10());
    let err = w.run(request, now, "run-1").await.unwrap_err();
    assert!(err.to_string().contains("Query"), "{err}");
    assert!(err.retryable());
    assert!(w.metrics.published.lock().unwrap().is_empty());
    // Back: the same hour is priced by the next run.
    *w.pool.failing.lock().unwrap() = false;
    let s = w.run(request, now + 60, "run-2").await.unwrap();
    assert_eq!(s.hour.as_deref(), Some(h10().to_string().as_str()));
}
