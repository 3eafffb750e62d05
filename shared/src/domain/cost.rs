//! The cost model: what an endpoint costs for one hour, what the same traffic would have cost
//! through a NAT Gateway, and the volume at which an endpoint pays for itself.
//!
//! - hourly cost = AZs x the region's endpoint rate (a partial hour is billed as a full hour);
//! - data cost = GB x the tiered rate, tiers counted on the region's month-to-date total of all
//!   interface endpoints; an hour that crosses a tier boundary is split across the tiers and its
//!   cost shared among the hour's endpoints by their GB;
//! - NAT-equivalent cost = GB x the NAT Gateway per-GB rate; NAT savings = NAT-equivalent cost
//!   minus the endpoint's total cost (negative when the endpoint costs more: a finding).

use serde::Serialize;

use super::ids::EndpointId;
use super::inventory::Endpoint;
use super::pricing::{BYTES_PER_GB, PricingError, RegionRates, Tier};

/// Hours in AWS's billing month.
pub const HOURS_PER_MONTH: f64 = 730.0;
/// CloudWatch `GetMetricData`: USD per metric requested (list price, $0.01 per 1,000).
pub const GET_METRIC_DATA_USD_PER_METRIC: f64 = 0.00001;
/// The longest wait between two traffic queries, in hours.
pub const MAX_TRAFFIC_INTERVAL_HOURS: u32 = 24;
/// How late a `BytesProcessed` data point may arrive and still be counted, in hours.
pub const LATE_DATA_HOURS: u32 = 3;

/// Every how many hours the endpoints' traffic is queried so that `GetMetricData` costs at most
/// `budget_usd` a month with `active` endpoints to query: one query per endpoint covers every
/// hour since the last one (a metric costs the same for one hour as for a day), so querying every
/// N hours divides the cost by N, and the hours are priced N hours later at most.
pub fn traffic_interval_hours(active: usize, budget_usd: f64) -> u32 {
    let monthly = active as f64 * HOURS_PER_MONTH * GET_METRIC_DATA_USD_PER_METRIC;
    if budget_usd <= 0.0 || !budget_usd.is_finite() {
        return MAX_TRAFFIC_INTERVAL_HOURS;
    }
    let n = (monthly / budget_usd).ceil();
    if n.is_nan() || n < 1.0 {
        1
    } else {
        (n as u32).min(MAX_TRAFFIC_INTERVAL_HOURS)
    }
}

/// How many hours a traffic query every `interval` hours re-prices: the hours since the last
/// query, the ones before them that late data may still change, and one interval of margin for
/// when the interval itself changes.
pub fn repriced_hours(interval: u32) -> u32 {
    2 * interval + LATE_DATA_HOURS
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub enum EndpointKind {
    Interface,
    GatewayLoadBalancer,
    Gateway,
    /// Resource, ServiceNetwork or a type this version does not know: not priced.
    Other(String),
}

impl EndpointKind {
    pub fn parse(wire: &str) -> Self {
        match wire.to_ascii_lowercase().as_str() {
            "interface" => Self::Interface,
            "gatewayloadbalancer" => Self::GatewayLoadBalancer,
            "gateway" => Self::Gateway,
            _ => Self::Other(wire.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Interface => "Interface",
            Self::GatewayLoadBalancer => "GatewayLoadBalancer",
            Self::Gateway => "Gateway",
            Self::Other(s) => s,
        }
    }

    /// Whether CloudWatch publishes `BytesProcessed` for it (not for gateway endpoints).
    pub fn has_traffic_metrics(&self) -> bool {
        matches!(self, Self::Interface | Self::GatewayLoadBalancer)
    }
}

impl From<EndpointKind> for String {
    fn from(kind: EndpointKind) -> String {
        kind.as_str().to_owned()
    }
}

/// An endpoint that existed during the hour, with its traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointUsage {
    pub endpoint: Endpoint,
    /// `BytesProcessed` summed over the hour.
    pub bytes: f64,
}

/// A share of a volume billed at one tier's rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TierShare {
    pub gb: f64,
    pub usd_per_gb: f64,
}

/// Splits `gb` processed after `before_gb` of the month across `tiers`.
pub fn tier_split(before_gb: f64, gb: f64, tiers: &[Tier]) -> Vec<TierShare> {
    let mut shares = Vec::new();
    let mut floor = 0.0_f64;
    let (start, end) = (before_gb.max(0.0), before_gb.max(0.0) + gb.max(0.0));
    for tier in tiers {
        let ceiling = tier.up_to_gb.unwrap_or(f64::INFINITY);
        let overlap = end.min(ceiling) - start.max(floor);
        if overlap > 0.0 {
            shares.push(TierShare {
                gb: overlap,
                usd_per_gb: tier.usd_per_gb,
            });
        }
        floor = ceiling;
    }
    shares
}

pub fn tiered_cost(before_gb: f64, gb: f64, tiers: &[Tier]) -> f64 {
    tier_split(before_gb, gb, tiers)
        .iter()
        .map(|s| s.gb * s.usd_per_gb)
        .sum()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostTotals {
    pub bytes: f64,
    pub gb: f64,
    pub hourly_cost: f64,
    pub data_cost: f64,
    pub cost: f64,
    pub nat_equivalent_cost: f64,
    pub nat_savings: f64,
}

impl std::ops::AddAssign<&CostTotals> for CostTotals {
    fn add_assign(&mut self, other: &CostTotals) {
        self.bytes += other.bytes;
        self.gb += other.gb;
        self.hourly_cost += other.hourly_cost;
        self.data_cost += other.data_cost;
        self.cost += other.cost;
        self.nat_equivalent_cost += other.nat_equivalent_cost;
        self.nat_savings += other.nat_savings;
    }
}

/// One endpoint's hour: which endpoint, and its figures (the same figures as a region total).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointCost {
    pub id: EndpointId,
    #[serde(rename = "type")]
    pub kind: EndpointKind,
    pub service_name: String,
    pub vpc_id: String,
    pub azs: u32,
    #[serde(flatten)]
    pub figures: CostTotals,
}

/// One hour priced: a row per priced endpoint (most expensive first), the endpoints of types
/// with no price (not billed by this model), those whose region lacks a rate (an error), and
/// the totals of the priced rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HourCosts {
    pub endpoints: Vec<EndpointCost>,
    pub unpriced: Vec<(EndpointId, String)>,
    pub missing_rates: Vec<(EndpointId, String)>,
    pub totals: CostTotals,
    /// GB of interface endpoints this hour: what the month-to-date total grows by.
    pub interface_gb: f64,
}

/// Prices `endpoints` for one hour in `region`, with `month_to_date_gb` of interface traffic
/// already processed in the region this month before the hour.
pub fn price_hour(
    endpoints: &[EndpointUsage],
    rates: &RegionRates,
    region: &str,
    month_to_date_gb: f64,
) -> HourCosts {
    let gb_of = |e: &EndpointUsage| e.bytes.max(0.0) / BYTES_PER_GB;
    let interface_gb: f64 = endpoints
        .iter()
        .filter(|e| e.endpoint.kind == EndpointKind::Interface)
        .map(gb_of)
        .sum();
    // The whole hour's interface traffic is tiered once; each endpoint pays its share by GB.
    let interface_data_cost = tiered_cost(month_to_date_gb, interface_gb, &rates.data_tiers);
    let mut out = HourCosts {
        interface_gb,
        ..Default::default()
    };
    for e in endpoints {
        match price_endpoint(
            e,
            gb_of(e),
            rates,
            region,
            interface_gb,
            interface_data_cost,
        ) {
            Ok(Some(row)) => out.endpoints.push(row),
            Ok(None) => out.unpriced.push((
                e.endpoint.id.clone(),
                format!(
                    "{} endpoints have no known rate; not priced",
                    e.endpoint.kind.as_str()
                ),
            )),
            Err(err) => out
                .missing_rates
                .push((e.endpoint.id.clone(), err.to_string())),
        }
    }
    out.endpoints.sort_by(|a, b| {
        b.figures
            .cost
            .total_cmp(&a.figures.cost)
            .then_with(|| a.id.cmp(&b.id))
    });
    for row in &out.endpoints {
        out.totals += &row.figures;
    }
    out
}

fn price_endpoint(
    e: &EndpointUsage,
    gb: f64,
    rates: &RegionRates,
    region: &str,
    interface_gb: f64,
    interface_data_cost: f64,
) -> Result<Option<EndpointCost>, PricingError> {
    let (hourly_cost, data_cost, nat_gb) = match &e.endpoint.kind {
        EndpointKind::Interface => {
            let hour = RegionRates::require(rates.endpoint_az_hour, region, "endpointAzHour")?;
            let share = if interface_gb > 0.0 {
                interface_data_cost * gb / interface_gb
            } else {
                0.0
            };
            (
                f64::from(e.endpoint.azs) * hour,
                share,
                RegionRates::require(rates.nat_gb, region, "natGb")?,
            )
        }
        EndpointKind::GatewayLoadBalancer => {
            let hour = RegionRates::require(rates.gwlb_endpoint_hour, region, "gwlbEndpointHour")?;
            let per_gb = RegionRates::require(rates.gwlb_gb, region, "gwlbGb")?;
            (
                hour,
                gb * per_gb,
                RegionRates::require(rates.nat_gb, region, "natGb")?,
            )
        }
        // Gateway endpoints are free and publish no BytesProcessed.
        EndpointKind::Gateway => (0.0, 0.0, 0.0),
        EndpointKind::Other(_) => return Ok(None),
    };
    let cost = hourly_cost + data_cost;
    let nat_equivalent_cost = gb * nat_gb;
    Ok(Some(EndpointCost {
        id: e.endpoint.id.clone(),
        kind: e.endpoint.kind.clone(),
        service_name: e.endpoint.service_name.clone(),
        vpc_id: e.endpoint.vpc_id.clone(),
        azs: e.endpoint.azs,
        figures: CostTotals {
            bytes: e.bytes,
            gb,
            hourly_cost,
            data_cost,
            cost,
            nat_equivalent_cost,
            nat_savings: nat_equivalent_cost - cost,
        },
    }))
}

/// A month of one interface endpoint against the same traffic through a NAT Gateway.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyEstimate {
    pub region: String,
    pub azs: u32,
    pub gb_per_month: f64,
    pub endpoint_hourly_cost: f64,
    pub endpoint_data_cost: f64,
    pub endpoint_cost: f64,
    pub nat_equivalent_cost: f64,
    pub nat_savings: f64,
    /// GB per month from which the endpoint is cheaper; `None` when it never is.
    pub break_even_gb_per_month: Option<f64>,
}

/// Estimates a month (730 hours) of an interface endpoint in `azs` AZs moving `gb_per_month`,
/// tiered as if it were the region's only traffic.
pub fn monthly_estimate(
    rates: &RegionRates,
    region: &str,
    azs: u32,
    gb_per_month: f64,
) -> Result<MonthlyEstimate, PricingError> {
    let hour = RegionRates::require(rates.endpoint_az_hour, region, "endpointAzHour")?;
    let nat_gb = RegionRates::require(rates.nat_gb, region, "natGb")?;
    let endpoint_hourly_cost = f64::from(azs) * hour * HOURS_PER_MONTH;
    let endpoint_data_cost = tiered_cost(0.0, gb_per_month, &rates.data_tiers);
    let endpoint_cost = endpoint_hourly_cost + endpoint_data_cost;
    let nat_equivalent_cost = gb_per_month * nat_gb;
    Ok(MonthlyEstimate {
        region: region.to_owned(),
        azs,
        gb_per_month,
        endpoint_hourly_cost,
        endpoint_data_cost,
        endpoint_cost,
        nat_equivalent_cost,
        nat_savings: nat_equivalent_cost - endpoint_cost,
        break_even_gb_per_month: break_even(endpoint_hourly_cost, nat_gb, &rates.data_tiers),
    })
}

/// The monthly volume at which NAT-equivalent cost equals the endpoint's cost, walking the tiers
/// (a tier dearer than NAT adds to what the cheaper ones must pay back).
fn break_even(fixed: f64, nat_gb: f64, tiers: &[Tier]) -> Option<f64> {
    let (mut gb, mut remaining) = (0.0, fixed);
    for tier in tiers {
        let saving = nat_gb - tier.usd_per_gb;
        let width = tier.up_to_gb.map_or(f64::INFINITY, |ceiling| ceiling - gb);
        if saving > 0.0 && remaining <= saving * width {
            return Some(gb + remaining / saving);
        }
        if width.is_infinite() {
            return None;
        }
        remaining -= saving * width;
        gb += width;
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::pricing::{PriceBook, RegionRates};

    const GIB: f64 = BYTES_PER_GB;

    fn usage(id: &str, kind: EndpointKind, azs: u32, gb: f64) -> EndpointUsage {
        EndpointUsage {
            endpoint: Endpoint {
                id: EndpointId::parse(id).unwrap(),
                kind,
                service_name: "svc".into(),
                vpc_id: "vpc-1".into(),
                azs,
                created_at: None,
            },
            bytes: gb * GIB,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn an_hour_in_us_east_1_by_hand() {
        let book = PriceBook::builtin();
        let rates = book.rates("us-east-1").unwrap();
        let hour = price_hour(
            &[
                usage("vpce-0a", EndpointKind::Interface, 1, 10.0),
                usage("vpce-0b", EndpointKind::Interface, 2, 0.0),
                usage("vpce-0c", EndpointKind::Interface, 3, 500.0),
                usage("vpce-0e", EndpointKind::Gateway, 0, 0.0),
                usage("vpce-0f", EndpointKind::GatewayLoadBalancer, 1, 20.0),
            ],
            rates,
            "us-east-1",
            0.0,
        );
        let row = |id: &str| {
            hour.endpoints
                .iter()
                .find(|r| r.id.as_str() == id)
                .unwrap()
                .clone()
        };
        // a: 1 AZ x $0.01 + 10 GB x $0.01 = $0.11; NAT 10 x $0.045 = $0.45; saves $0.34.
        let a = row("vpce-0a");
        assert!(
            close(a.figures.hourly_cost, 0.01)
                && close(a.figures.data_cost, 0.10)
                && close(a.figures.cost, 0.11)
        );
        assert!(close(a.figures.nat_equivalent_cost, 0.45) && close(a.figures.nat_savings, 0.34));
        // b: 2 AZ x $0.01, no data: costs $0.02 and saves -$0.02 (a finding).
        assert!(
            close(row("vpce-0b").figures.cost, 0.02)
                && close(row("vpce-0b").figures.nat_savings, -0.02)
        );
        // c: 3 x $0.01 + 500 x $0.01 = $5.03; NAT 500 x 0.045 = $22.50.
        assert!(
            close(row("vpce-0c").figures.cost, 5.03)
                && close(row("vpce-0c").figures.nat_savings, 22.5 - 5.03)
        );
        // GWLB: $0.01 + 20 x $0.0035 = $0.08; NAT 20 x 0.045 = $0.90.
        assert!(
            close(row("vpce-0f").figures.cost, 0.08)
                && close(row("vpce-0f").figures.nat_equivalent_cost, 0.9)
        );
        assert!(close(row("vpce-0e").figures.cost, 0.0));
        assert_eq!(
            hour.endpoints[0].id.as_str(),
            "vpce-0c",
            "most expensive first"
        );
        assert!(close(hour.totals.cost, 0.11 + 0.02 + 5.03 + 0.08));
        assert!(close(hour.interface_gb, 510.0));
    }

    #[test]
    fn an_hour_crossing_the_1_pb_boundary_is_split() {
        let book = PriceBook::builtin();
        let rates = book.rates("us-east-1").unwrap();
        // 100 GB below the boundary before the hour, 300 GB in it: 100 at $0.01, 200 at $0.006.
        let split = tier_split(1_048_476.0, 300.0, &rates.data_tiers);
        assert_eq!(
            split,
            [
                TierShare {
                    gb: 100.0,
                    usd_per_gb: 0.01
                },
                TierShare {
                    gb: 200.0,
                    usd_per_gb: 0.006
                }
            ]
        );
        let hour = price_hour(
            &[
                usage("vpce-0a", EndpointKind::Interface, 1, 100.0),
                usage("vpce-0b", EndpointKind::Interface, 1, 200.0),
            ],
            rates,
            "us-east-1",
            1_048_476.0,
        );
        // Hour data cost 100 x 0.01 + 200 x 0.006 = 2.2, shared by GB: a 1/3, b 2/3.
        assert!(close(hour.totals.data_cost, 2.2));
        let a = hour
            .endpoints
            .iter()
            .find(|r| r.id.as_str() == "vpce-0a")
            .unwrap();
        assert!(close(a.figures.data_cost, 2.2 / 3.0));
    }

    #[test]
    fn missing_rates_are_errors_not_guesses() {
        let book = PriceBook::builtin();
        let no_nat_gb = RegionRates {
            nat_gb: None,
            ..book.rates("eu-central-1").unwrap().clone()
        };
        let hour = price_hour(
            &[usage("vpce-0a", EndpointKind::Interface, 1, 1.0)],
            &no_nat_gb,
            "eu-central-1",
            0.0,
        );
        assert!(hour.endpoints.is_empty());
        assert_eq!(
            hour.missing_rates[0].1,
            "no natGb rate for region eu-central-1: set it in PRICING_OVERRIDES"
        );
        let gwlb = price_hour(
            &[usage("vpce-0f", EndpointKind::GatewayLoadBalancer, 1, 1.0)],
            book.rates("us-west-2").unwrap(),
            "us-west-2",
            0.0,
        );
        assert!(gwlb.missing_rates[0].1.contains("gwlbEndpointHour"));
        let other = price_hour(
            &[usage("vpce-0d", EndpointKind::parse("Resource"), 1, 1.0)],
            book.rates("us-east-1").unwrap(),
            "us-east-1",
            0.0,
        );
        assert!(
            other.unpriced[0]
                .1
                .contains("Resource endpoints have no known rate")
        );
    }

    #[test]
    fn monthly_estimate_and_break_even_by_hand() {
        let book = PriceBook::builtin();
        let e = monthly_estimate(book.rates("us-east-1").unwrap(), "us-east-1", 2, 1000.0).unwrap();
        assert!(close(e.endpoint_hourly_cost, 2.0 * 0.01 * 730.0)); // 14.60
        assert!(close(e.endpoint_data_cost, 10.0));
        assert!(close(e.nat_equivalent_cost, 45.0));
        assert!(close(e.nat_savings, 45.0 - 24.6));
        // 14.60 / (0.045 - 0.01) = 417.142857...
        assert!(close(e.break_even_gb_per_month.unwrap(), 14.6 / 0.035));
        let one_az =
            monthly_estimate(book.rates("us-east-1").unwrap(), "us-east-1", 1, 0.0).unwrap();
        assert!(
            (one_az.break_even_gb_per_month.unwrap() - 208.57).abs() < 0.01,
            "the facts' ~209 GB"
        );
    }

    #[test]
    fn the_traffic_query_interval_keeps_get_metric_data_within_budget() {
        // 100 endpoints hourly: 100 x 730 x $0.00001 = $0.73 a month, within $20.
        assert_eq!(traffic_interval_hours(100, 20.0), 1);
        assert_eq!(traffic_interval_hours(0, 20.0), 1);
        // 10,000 hourly would be $73: every 4 hours is $18.25.
        let n = traffic_interval_hours(10_000, 20.0);
        assert_eq!(n, 4);
        let monthly =
            |n: u32| 10_000.0 * HOURS_PER_MONTH / f64::from(n) * GET_METRIC_DATA_USD_PER_METRIC;
        assert!(
            monthly(n) <= 20.0 && monthly(n - 1) > 20.0,
            "the smallest interval that fits"
        );
        assert_eq!(
            traffic_interval_hours(10_000_000, 20.0),
            MAX_TRAFFIC_INTERVAL_HOURS
        );
        assert_eq!(repriced_hours(1), 5);
    }

    fn tiers() -> Vec<Tier> {
        PriceBook::builtin()
            .rates("us-east-1")
            .unwrap()
            .data_tiers
            .clone()
    }

    proptest! {
        #[test]
        fn tier_split_sums_to_the_whole(before in 0.0..7_000_000.0f64, gb in 0.0..3_000_000.0f64) {
            let total: f64 = tier_split(before, gb, &tiers()).iter().map(|s| s.gb).sum();
            prop_assert!((total - gb).abs() <= 1e-6 * gb.max(1.0));
        }

        #[test]
        fn cost_is_never_negative_and_grows_with_bytes_and_azs(
            azs in 0u32..6, gb in 0.0..10_000.0f64, more in 0.0..10_000.0f64, before in 0.0..6_000_000.0f64,
        ) {
            let book = PriceBook::builtin();
            let rates = book.rates("us-east-1").unwrap();
            let cost = |azs: u32, gb: f64| price_hour(&[usage("vpce-0a", EndpointKind::Interface, azs, gb)], rates, "us-east-1", before).totals.cost;
            let base = cost(azs, gb);
            prop_assert!(base >= 0.0);
            prop_assert!(cost(azs, gb + more) >= base - 1e-12);
            prop_assert!(cost(azs + 1, gb) >= base);
        }

        #[test]
        fn endpoint_shares_add_up_to_the_hour(gbs in proptest::collection::vec(0.0..5_000.0f64, 1..8), before in 0.0..6_000_000.0f64) {
            let book = PriceBook::builtin();
            let rates = book.rates("us-east-1").unwrap();
            let endpoints: Vec<_> = gbs.iter().enumerate().map(|(i, gb)| usage(&format!("vpce-{i}"), EndpointKind::Interface, 1, *gb)).collect();
            let hour = price_hour(&endpoints, rates, "us-east-1", before);
            let whole = tiered_cost(before, gbs.iter().sum(), &rates.data_tiers);
            prop_assert!((hour.totals.data_cost - whole).abs() <= 1e-9 * whole.max(1.0));
        }
    }
}
