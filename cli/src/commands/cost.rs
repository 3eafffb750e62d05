//! `plgov cost estimate`: the price book and cost model of the cost reporter, for one endpoint-month.

use plgov_shared::domain::cost::{HOURS_PER_MONTH, monthly_estimate};
use plgov_shared::domain::pricing::PriceBook;

use crate::error::CliError;
use crate::output;

pub fn estimate(
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
    let mut book = PriceBook::builtin();
    if let Some(json) = overrides.filter(|s| !s.trim().is_empty()) {
        book = book.with_overrides(json).map_err(CliError::invalid)?;
    }
    let rates = book.rates(region).map_err(CliError::invalid)?;
    let e = monthly_estimate(rates, region, azs, gb_per_month).map_err(CliError::invalid)?;
    if json {
        output::json(&e);
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
    Ok(())
}
