//! Which rates price a region. The Price List is asked at most once a day per region (its
//! answer is kept in the cost table); when it cannot be reached or answers something that does
//! not validate, the rates it gave last are used, else the built-in table, and the result says
//! which and why. `PRICING_OVERRIDES` wins over all of them. A region none of them has is an
//! error, never a guess.

use crate::domain::hour::format_utc;
use crate::domain::price_list::{CachedRates, RateSource, RatesUsed, rates_from_records};
use crate::domain::pricing::{PriceBook, PricingError, PricingOverrides, RegionRates};
use crate::ports::PriceList;

#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedRates {
    pub rates: RegionRates,
    pub used: RatesUsed,
    /// Rates this call read from the Price List: the caller keeps them for the next day.
    pub fetched: Option<CachedRates>,
}

/// The rates of `region` at epoch second `now`; `cached` is what the cost table keeps (none
/// for the command line, which has no table).
pub async fn resolve_rates<P: PriceList>(
    prices: &P,
    region: &str,
    cached: Option<&CachedRates>,
    overrides: &PricingOverrides,
    now: i64,
) -> Result<ResolvedRates, PricingError> {
    let from_cache = |c: &CachedRates, fallback_reason: Option<String>| RatesUsed {
        source: RateSource::PriceListCache,
        fetched_at: Some(format_utc(c.fetched_at)),
        fallback_reason,
        overridden: false,
    };
    let (base, mut used, fetched) = match cached.filter(|c| c.is_fresh(now)) {
        Some(c) => (Some(c.rates.clone()), from_cache(c, None), None),
        None => {
            let answer = prices
                .region_records(region)
                .await
                .map_err(|e| e.to_string())
                .and_then(|records| {
                    rates_from_records(region, &records).map_err(|e| e.to_string())
                });
            match answer {
                Ok(rates) => {
                    let used = RatesUsed {
                        source: RateSource::PriceList,
                        fetched_at: Some(format_utc(now)),
                        fallback_reason: None,
                        overridden: false,
                    };
                    let fetched = CachedRates {
                        rates: rates.clone(),
                        fetched_at: now,
                    };
                    (Some(rates), used, Some(fetched))
                }
                Err(why) => {
                    let (base, used) = fallback(region, cached, overrides, &why, from_cache)?;
                    tracing::warn!(region, source = ?used.source, reason = %why, "Price List not used: rates from a fallback");
                    (base, used, None)
                }
            }
        }
    };
    used.overridden = overrides.has(region);
    let rates = overrides
        .apply(region, base)
        .expect("a region without a source was refused above");
    Ok(ResolvedRates {
        rates,
        used,
        fetched,
    })
}

/// The rates to use when the Price List gave none: the last it gave, the built-in table, or
/// the overrides alone.
fn fallback(
    region: &str,
    cached: Option<&CachedRates>,
    overrides: &PricingOverrides,
    why: &str,
    from_cache: impl Fn(&CachedRates, Option<String>) -> RatesUsed,
) -> Result<(Option<RegionRates>, RatesUsed), PricingError> {
    let reason = Some(why.to_owned());
    if let Some(c) = cached {
        return Ok((Some(c.rates.clone()), from_cache(c, reason)));
    }
    let used = |source| RatesUsed {
        source,
        fetched_at: None,
        fallback_reason: reason.clone(),
        overridden: false,
    };
    if let Ok(rates) = PriceBook::builtin().rates(region) {
        return Ok((Some(rates.clone()), used(RateSource::BuiltIn)));
    }
    if overrides.has(region) {
        return Ok((None, used(RateSource::Overrides)));
    }
    Err(PricingError::UnknownRegion {
        region: region.to_owned(),
        why: format!(
            "the Price List could not be used ({why}) and the built-in table does not have it"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::MemoryPriceList;
    use crate::domain::price_list::samples::complete;

    const NOW: i64 = 1_795_000_000;

    fn book_rates(region: &str) -> RegionRates {
        PriceBook::builtin().rates(region).unwrap().clone()
    }

    #[tokio::test]
    async fn the_price_list_is_read_then_kept_a_day() {
        let prices = MemoryPriceList::new(complete("SAE1-", "sa-east-1", "0.015"));
        let none = PricingOverrides::default();
        let r = resolve_rates(&prices, "sa-east-1", None, &none, NOW)
            .await
            .unwrap();
        assert_eq!(r.used.source, RateSource::PriceList);
        assert_eq!(r.rates.endpoint_az_hour, Some(0.015));
        let kept = r.fetched.clone().expect("to keep");
        assert_eq!(kept.fetched_at, NOW);
        // Within the day the kept rates are used without asking.
        let again = resolve_rates(&prices, "sa-east-1", Some(&kept), &none, NOW + 86_399)
            .await
            .unwrap();
        assert_eq!(
            (again.used.source, again.fetched),
            (RateSource::PriceListCache, None)
        );
        assert_eq!(again.rates, r.rates);
        assert_eq!(prices.calls(), 1);
        // A day later it asks again.
        let later = resolve_rates(&prices, "sa-east-1", Some(&kept), &none, NOW + 86_400)
            .await
            .unwrap();
        assert_eq!(later.used.source, RateSource::PriceList);
        assert_eq!(prices.calls(), 2);
    }

    #[tokio::test]
    async fn an_unreachable_price_list_falls_back_and_says_why() {
        let prices = MemoryPriceList::failing();
        let none = PricingOverrides::default();
        // Stale rates it gave before win over the built-in table.
        let stale = CachedRates {
            rates: RegionRates {
                endpoint_az_hour: Some(0.0099),
                ..book_rates("us-east-1")
            },
            fetched_at: NOW - 5 * 86_400,
        };
        let r = resolve_rates(&prices, "us-east-1", Some(&stale), &none, NOW)
            .await
            .unwrap();
        assert_eq!(r.used.source, RateSource::PriceListCache);
        assert_eq!(r.rates.endpoint_az_hour, Some(0.0099));
        assert!(
            r.used
                .fallback_reason
                .as_deref()
                .unwrap()
                .contains("GetProducts failed"),
            "{:?}",
            r.used
        );
        assert_eq!(r.fetched, None, "nothing new to keep");
        // Nothing kept: the built-in table.
        let r = resolve_rates(&prices, "us-east-1", None, &none, NOW)
            .await
            .unwrap();
        assert_eq!(
            (r.used.source, r.rates),
            (RateSource::BuiltIn, book_rates("us-east-1"))
        );
        // A region the table lacks: the clear error.
        let err = resolve_rates(&prices, "sa-east-1", None, &none, NOW)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("no prices for region sa-east-1: the Price List could not be used (GetProducts failed"), "{err}");
        assert!(err.contains("the built-in table does not have it"), "{err}");
    }

    #[tokio::test]
    async fn an_answer_that_does_not_validate_is_not_used() {
        let prices = MemoryPriceList::new(complete("EU-", "eu-west-1", "0.011"));
        prices.drop_records_ending("NatGateway-Bytes");
        let none = PricingOverrides::default();
        let r = resolve_rates(&prices, "eu-west-1", None, &none, NOW)
            .await
            .unwrap();
        assert_eq!(r.used.source, RateSource::BuiltIn);
        assert_eq!(
            r.used.fallback_reason.as_deref(),
            Some("Price List eu-west-1 NatGateway-Bytes: no record")
        );
        assert_eq!(r.fetched, None, "an invalid answer is never kept");
    }

    #[tokio::test]
    async fn overrides_win_over_every_source() {
        let o = PricingOverrides::parse(
            r#"{"sa-east-1": {"natGb": 0.1}, "ap-south-2": {"endpointAzHour": 0.02}}"#,
        )
        .unwrap();
        let prices = MemoryPriceList::new(complete("SAE1-", "sa-east-1", "0.015"));
        let r = resolve_rates(&prices, "sa-east-1", None, &o, NOW)
            .await
            .unwrap();
        assert_eq!(
            (r.rates.nat_gb, r.rates.endpoint_az_hour, r.used.overridden),
            (Some(0.1), Some(0.015), true)
        );
        let kept = r.fetched.unwrap();
        assert_eq!(
            kept.rates.nat_gb,
            Some(0.093),
            "the Price List's own rates are kept, not the overrides"
        );
        // Only the overrides have the region: their rates, the others missing (an error when used).
        let r = resolve_rates(&MemoryPriceList::failing(), "ap-south-2", None, &o, NOW)
            .await
            .unwrap();
        assert_eq!(
            (r.used.source, r.rates.endpoint_az_hour, r.rates.nat_gb),
            (RateSource::Overrides, Some(0.02), None)
        );
    }
}
