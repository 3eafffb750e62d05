//! `plgov cost estimate` and `plgov cost rates`: the rates the cost reporter would use (the AWS
//! Price List when it can be read, else the built-in table, saying which) and its cost model.

use plgov_shared::adapters::{CallCounter, PriceListApi, epoch_now, pricing_client};
use plgov_shared::domain::cost::{HOURS_PER_MONTH, MonthlyEstimate, monthly_estimate};
use plgov_shared::domain::price_list::{RateSource, RatesUsed};
use plgov_shared::domain::pricing::{PricingOverrides, RegionRates};
use plgov_shared::usecases::rates::{ResolvedRates, resolve_rates};
use serde::Serialize;

use crate::error::CliError;
use crate::output;

/// The region's rates from the same sources, in the same order, as the cost reporter.
async fn region_rates(region: &str, overrides: Option<&str>) -> Result<ResolvedRates, CliError> {
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(CliError::invalid(format!(
            "--region: {region:?} is not a region name (e.g. sa-east-1)"
        )));
    }
    let overrides = match overrides.filter(|s| !s.trim().is_empty()) {
        Some(json) => PricingOverrides::parse(json).map_err(CliError::invalid)?,
        None => PricingOverrides::default(),
    };
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let prices = PriceListApi::new(pricing_client(&sdk, &CallCounter::new(), region));
    resolve_rates(&prices, region, None, &overrides, epoch_now())
        .await
        .map_err(CliError::invalid)
}

/// One line saying where the rates came from.
fn source_line(used: &RatesUsed) -> String {
    let what = match used.source {
        RateSource::PriceList | RateSource::PriceListCache => format!(
            "the AWS Price List (read {})",
            used.fetched_at.as_deref().unwrap_or("now")
        ),
        RateSource::BuiltIn => "the built-in table".to_owned(),
        RateSource::Overrides => "PRICING_OVERRIDES only".to_owned(),
    };
    let mut line = format!("rates from {what}");
    if used.overridden {
        line.push_str(", some replaced by PRICING_OVERRIDES");
    }
    if let Some(why) = &used.fallback_reason {
        line.push_str(&format!(" (the Price List was not used: {why})"));
    }
    line
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EstimateOutput<'a> {
    #[serde(flatten)]
    estimate: &'a MonthlyEstimate,
    rates: &'a RatesUsed,
}

pub async fn estimate(
    json: bool,
    region: &str,
    azs: u32,
    gb_per_month: f64,
    overrides: Option<&str>,
) -> Result<(), CliError> {
    if azs == 0 {
        return Err(CliError::invalid(
            "--azs: an interface endpoint is in at least one AZ",
        ));
    }
    if !gb_per_month.is_finite() || gb_per_month < 0.0 {
        return Err(CliError::invalid(format!(
            "--gb-per-month: {gb_per_month} is not a non-negative number"
        )));
    }
    let resolved = region_rates(region, overrides).await?;
    let e =
        monthly_estimate(&resolved.rates, region, azs, gb_per_month).map_err(CliError::invalid)?;
    if json {
        output::json(&EstimateOutput {
            estimate: &e,
            rates: &resolved.used,
        });
        return Ok(());
    }
    let usd = |v: f64| format!("{}${:.2}", if v < 0.0 { "-" } else { "" }, v.abs());
    println!(
        "Interface endpoint in {region}, {azs} AZ(s), {gb_per_month} GB per month ({HOURS_PER_MONTH} hours):"
    );
    println!("  endpoint hours      {:>12}", usd(e.endpoint_hourly_cost));
    println!("  endpoint data       {:>12}", usd(e.endpoint_data_cost));
    println!("  endpoint total      {:>12}", usd(e.endpoint_cost));
    println!("  same GB via NAT     {:>12}", usd(e.nat_equivalent_cost));
    println!("  NAT savings         {:>12}", usd(e.nat_savings));
    match e.break_even_gb_per_month {
        Some(gb) => println!("  break-even at {gb:.1} GB per month"),
        None => println!("  never cheaper than NAT at these rates"),
    }
    println!("{}", source_line(&resolved.used));
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RatesOutput<'a> {
    region: &'a str,
    rates: &'a RegionRates,
    source: &'a RatesUsed,
}

pub async fn rates(json: bool, region: &str, overrides: Option<&str>) -> Result<(), CliError> {
    let resolved = region_rates(region, overrides).await?;
    let r = &resolved.rates;
    if json {
        output::json(&RatesOutput {
            region,
            rates: r,
            source: &resolved.used,
        });
        return Ok(());
    }
    let rate = |v: Option<f64>| v.map_or_else(|| "(no rate)".to_owned(), |v| format!("${v}"));
    println!("Rates in {region} (USD):");
    println!(
        "  interface endpoint, per AZ-hour   {}",
        rate(r.endpoint_az_hour)
    );
    let mut from = 0.0;
    for t in &r.data_tiers {
        let range = match t.up_to_gb {
            Some(to) => format!("{from} to {to} GB"),
            None => format!("over {from} GB"),
        };
        println!("  data processed, {range:<22} ${} per GB", t.usd_per_gb);
        from = t.up_to_gb.unwrap_or(from);
    }
    println!(
        "  Gateway Load Balancer endpoint    {} per hour, {} per GB",
        rate(r.gwlb_endpoint_hour),
        rate(r.gwlb_gb)
    );
    println!(
        "  NAT Gateway                       {} per hour, {} per GB",
        rate(r.nat_hour),
        rate(r.nat_gb)
    );
    println!(
        "  (data tiers count the month's GB of all interface endpoints in the region; GB = 2^30 bytes)"
    );
    println!("{}", source_line(&resolved.used));
    Ok(())
}
