//! The price book: per region the rates of VPC endpoints, their tiered data processing and
//! the NAT Gateway they replace. The cost reporter reads a region's rates from the AWS Price
//! List (`domain::price_list`); the built-in table below is its offline fallback, with the same
//! figures as the Price List records in the emulator's fixture (a unit test holds them equal).
//! `PRICING_OVERRIDES` can replace any rate or add a region. A rate that is not known is `None`
//! and pricing with it is an error naming the region and the rate: never a guess.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// GB in the binary sense the price list uses: 2^30 bytes.
pub const BYTES_PER_GB: f64 = 1_073_741_824.0;

/// One data processing tier: this rate applies up to `up_to_gb` of the month's region total
/// (`None`: without limit).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tier {
    pub up_to_gb: Option<f64>,
    pub usd_per_gb: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegionRates {
    /// Interface endpoint, per endpoint per AZ per hour.
    pub endpoint_az_hour: Option<f64>,
    /// Interface endpoint data processing, tiered on the region's month-to-date total.
    pub data_tiers: Vec<Tier>,
    pub nat_hour: Option<f64>,
    pub nat_gb: Option<f64>,
    /// Gateway Load Balancer endpoint, per endpoint hour (one AZ) and per GB.
    pub gwlb_endpoint_hour: Option<f64>,
    pub gwlb_gb: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("no prices for region {region}: {why}; set them in PRICING_OVERRIDES")]
    UnknownRegion { region: String, why: String },
    #[error("no {rate} rate for region {region}: set it in PRICING_OVERRIDES")]
    MissingRate { region: String, rate: &'static str },
    #[error("PRICING_OVERRIDES: {0}")]
    InvalidOverride(String),
}

/// Data processing tiers seen in every region: first 1 PB $0.01/GB, next 4 PB $0.006/GB,
/// over 5 PB $0.004/GB (price list bounds 1,048,576 and 5,242,880 GB).
fn standard_tiers() -> Vec<Tier> {
    vec![
        Tier {
            up_to_gb: Some(1_048_576.0),
            usd_per_gb: 0.01,
        },
        Tier {
            up_to_gb: Some(5_242_880.0),
            usd_per_gb: 0.006,
        },
        Tier {
            up_to_gb: None,
            usd_per_gb: 0.004,
        },
    ]
}

fn region(endpoint: f64, nat: Option<f64>) -> RegionRates {
    RegionRates {
        endpoint_az_hour: Some(endpoint),
        data_tiers: standard_tiers(),
        // NAT Gateway: the same figure per hour and per GB in every region listed.
        nat_hour: nat,
        nat_gb: nat,
        gwlb_endpoint_hour: None,
        gwlb_gb: None,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceBook {
    regions: BTreeMap<String, RegionRates>,
}

impl PriceBook {
    /// The built-in rates (USD, from the Price List records of `AmazonVPC` `*-VpcEndpoint-Hours`/
    /// `-Bytes` and `AmazonEC2` `NAT Gateway`; see the emulator fixture's SOURCES.md).
    pub fn builtin() -> Self {
        let mut regions = BTreeMap::new();
        let mut us_east_1 = region(0.010, Some(0.045));
        // Gateway Load Balancer endpoints: only where their records were confirmed.
        us_east_1.gwlb_endpoint_hour = Some(0.01);
        us_east_1.gwlb_gb = Some(0.0035);
        regions.insert("us-east-1".to_owned(), us_east_1);
        regions.insert("us-east-2".to_owned(), region(0.010, Some(0.045)));
        regions.insert("us-west-2".to_owned(), region(0.010, Some(0.045)));
        regions.insert("eu-west-1".to_owned(), region(0.011, Some(0.048)));
        regions.insert("eu-central-1".to_owned(), region(0.012, Some(0.052)));
        let mut ap_southeast_1 = region(0.013, Some(0.059));
        ap_southeast_1.gwlb_endpoint_hour = Some(0.013);
        regions.insert("ap-southeast-1".to_owned(), ap_southeast_1);
        regions.insert("ap-northeast-1".to_owned(), region(0.014, Some(0.062)));
        Self { regions }
    }

    pub fn rates(&self, region: &str) -> Result<&RegionRates, PricingError> {
        self.regions
            .get(region)
            .ok_or_else(|| PricingError::UnknownRegion {
                region: region.to_owned(),
                why: "the built-in table does not have it".into(),
            })
    }

    /// The regions it has.
    pub fn regions(&self) -> impl Iterator<Item = (&str, &RegionRates)> {
        self.regions.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// One region's rates given in `PRICING_OVERRIDES`: each one set wins over every source.
#[derive(Debug, Clone, Default, PartialEq)]
struct RegionOverride {
    endpoint_az_hour: Option<f64>,
    nat_hour: Option<f64>,
    nat_gb: Option<f64>,
    gwlb_endpoint_hour: Option<f64>,
    gwlb_gb: Option<f64>,
    data_tiers: Option<Vec<Tier>>,
}

/// `PRICING_OVERRIDES`, parsed and validated once: `{"<region>": {"endpointAzHour": 0.01,
/// "natHour": .., "natGb": .., "gwlbEndpointHour": .., "gwlbGb": .., "dataTiers": [{"upToGb":
/// 1048576, "usdPerGb": 0.01}, .., {"upToGb": null, "usdPerGb": 0.004}]}}`. A rate it sets wins
/// over the Price List and the built-in table; the rates it leaves out come from them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PricingOverrides {
    regions: BTreeMap<String, RegionOverride>,
}

impl PricingOverrides {
    pub fn parse(json: &str) -> Result<Self, PricingError> {
        let invalid = |m: String| PricingError::InvalidOverride(m);
        let value: Value =
            serde_json::from_str(json).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
        let Value::Object(regions) = value else {
            return Err(invalid(
                "expected an object of regions, e.g. {\"us-east-1\": {\"natGb\": 0.045}}".into(),
            ));
        };
        let mut out = Self::default();
        for (name, fields) in regions {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(invalid(format!("{name:?} is not a region name")));
            }
            let Value::Object(fields) = fields else {
                return Err(invalid(format!("{name}: expected an object of rates")));
            };
            let mut o = RegionOverride::default();
            for (field, v) in fields {
                let path = format!("{name}.{field}");
                match field.as_str() {
                    "endpointAzHour" => o.endpoint_az_hour = Some(rate(&path, &v)?),
                    "natHour" => o.nat_hour = Some(rate(&path, &v)?),
                    "natGb" => o.nat_gb = Some(rate(&path, &v)?),
                    "gwlbEndpointHour" => o.gwlb_endpoint_hour = Some(rate(&path, &v)?),
                    "gwlbGb" => o.gwlb_gb = Some(rate(&path, &v)?),
                    "dataTiers" => o.data_tiers = Some(tiers(&path, &v)?),
                    _ => {
                        return Err(invalid(format!(
                            "{path}: unknown rate (expected endpointAzHour, natHour, natGb, gwlbEndpointHour, gwlbGb or dataTiers)"
                        )));
                    }
                }
            }
            out.regions.insert(name, o);
        }
        Ok(out)
    }

    /// Whether it sets any rate of `region`.
    pub fn has(&self, region: &str) -> bool {
        self.regions.contains_key(region)
    }

    /// `rates` with the region's overrides applied; `None` when neither has the region. A
    /// region known only here gets the data tiers AWS states for every region (AWS facts 3)
    /// unless it sets its own, and no other rate it does not set.
    pub fn apply(&self, region: &str, rates: Option<RegionRates>) -> Option<RegionRates> {
        let Some(o) = self.regions.get(region) else {
            return rates;
        };
        let mut r = rates.unwrap_or_else(|| RegionRates {
            endpoint_az_hour: None,
            data_tiers: standard_tiers(),
            nat_hour: None,
            nat_gb: None,
            gwlb_endpoint_hour: None,
            gwlb_gb: None,
        });
        let set = |value: Option<f64>, into: &mut Option<f64>| {
            if value.is_some() {
                *into = value;
            }
        };
        set(o.endpoint_az_hour, &mut r.endpoint_az_hour);
        set(o.nat_hour, &mut r.nat_hour);
        set(o.nat_gb, &mut r.nat_gb);
        set(o.gwlb_endpoint_hour, &mut r.gwlb_endpoint_hour);
        set(o.gwlb_gb, &mut r.gwlb_gb);
        if let Some(t) = &o.data_tiers {
            r.data_tiers = t.clone();
        }
        Some(r)
    }
}

fn rate(path: &str, value: &Value) -> Result<f64, PricingError> {
    match value.as_f64() {
        Some(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(PricingError::InvalidOverride(format!(
            "{path} must be a non-negative number of USD, found {value}"
        ))),
    }
}

fn tiers(path: &str, value: &Value) -> Result<Vec<Tier>, PricingError> {
    let invalid = |m: String| PricingError::InvalidOverride(m);
    let Value::Array(items) = value else {
        return Err(invalid(format!("{path} must be a list of tiers")));
    };
    let mut out: Vec<Tier> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let usd_per_gb = rate(
            &format!("{at}.usdPerGb"),
            item.get("usdPerGb").unwrap_or(&Value::Null),
        )?;
        let up_to_gb = match item.get("upToGb") {
            None | Some(Value::Null) => None,
            Some(v) => Some(rate(&format!("{at}.upToGb"), v)?),
        };
        if let Some(prev) = out.last() {
            match (prev.up_to_gb, up_to_gb) {
                (None, _) => {
                    return Err(invalid(format!(
                        "{at}: no tier can follow an unlimited one"
                    )));
                }
                (Some(p), Some(u)) if u <= p => {
                    return Err(invalid(format!(
                        "{at}.upToGb must be above the previous tier's"
                    )));
                }
                _ => {}
            }
        }
        out.push(Tier {
            up_to_gb,
            usd_per_gb,
        });
    }
    if out.last().is_none_or(|t| t.up_to_gb.is_some()) {
        return Err(invalid(format!(
            "{path} must end with an unlimited tier (upToGb null)"
        )));
    }
    Ok(out)
}

impl RegionRates {
    pub fn require(
        value: Option<f64>,
        region: &str,
        rate: &'static str,
    ) -> Result<f64, PricingError> {
        value.ok_or_else(|| PricingError::MissingRate {
            region: region.to_owned(),
            rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rates_match_the_facts() {
        let book = PriceBook::builtin();
        let us = book.rates("us-east-1").unwrap();
        assert_eq!(
            (us.endpoint_az_hour, us.nat_gb, us.gwlb_gb),
            (Some(0.01), Some(0.045), Some(0.0035))
        );
        assert_eq!(
            book.rates("ap-northeast-1").unwrap().endpoint_az_hour,
            Some(0.014)
        );
        assert_eq!(
            book.rates("sa-east-1").unwrap_err().to_string(),
            "no prices for region sa-east-1: the built-in table does not have it; set them in PRICING_OVERRIDES"
        );
    }

    #[test]
    fn overrides_replace_and_add() {
        let o = PricingOverrides::parse(r#"{"eu-central-1": {"natHour": 0.06, "natGb": 0.061}, "sa-east-1": {"endpointAzHour": 0.015, "natGb": 0.093,
                "dataTiers": [{"upToGb": 100, "usdPerGb": 0.02}, {"upToGb": null, "usdPerGb": 0.01}]}}"#)
            .unwrap();
        let book = PriceBook::builtin();
        let eu = o
            .apply("eu-central-1", book.rates("eu-central-1").ok().cloned())
            .unwrap();
        assert_eq!(eu.nat_gb, Some(0.061));
        assert_eq!(eu.endpoint_az_hour, Some(0.012), "kept");
        let sa = o.apply("sa-east-1", None).unwrap();
        assert_eq!(sa.data_tiers.len(), 2);
        assert_eq!((sa.endpoint_az_hour, sa.nat_hour), (Some(0.015), None));
        assert!(o.has("sa-east-1") && !o.has("us-east-1"));
        assert_eq!(o.apply("ap-south-1", None), None, "nowhere: none");
        let us = book.rates("us-east-1").unwrap().clone();
        assert_eq!(
            o.apply("us-east-1", Some(us.clone())),
            Some(us),
            "not overridden"
        );
    }

    #[test]
    fn invalid_overrides_name_the_field() {
        let cases = [
            ("not json", "not valid JSON"),
            ("[]", "expected an object of regions"),
            (
                r#"{"us-east-1": {"natGb": -0.1}}"#,
                "us-east-1.natGb must be a non-negative number of USD, found -0.1",
            ),
            (
                r#"{"us-east-1": {"endpointAzHour": "cheap"}}"#,
                "us-east-1.endpointAzHour must be a non-negative number",
            ),
            (
                r#"{"us-east-1": {"natgb": 1}}"#,
                "us-east-1.natgb: unknown rate",
            ),
            (r#"{"US EAST": {}}"#, "\"US EAST\" is not a region name"),
            (
                r#"{"us-east-1": 5}"#,
                "us-east-1: expected an object of rates",
            ),
            (
                r#"{"us-east-1": {"dataTiers": [{"upToGb": 10, "usdPerGb": 0.01}]}}"#,
                "must end with an unlimited tier",
            ),
            (
                r#"{"us-east-1": {"dataTiers": [{"upToGb": 10, "usdPerGb": 0.01}, {"upToGb": 5, "usdPerGb": 0.01}, {"usdPerGb": 0}]}}"#,
                "dataTiers[1].upToGb must be above",
            ),
            (
                r#"{"us-east-1": {"dataTiers": [{"upToGb": null}]}}"#,
                "dataTiers[0].usdPerGb must be",
            ),
        ];
        for (json, expected) in cases {
            let err = PricingOverrides::parse(json).unwrap_err().to_string();
            assert!(err.starts_with("PRICING_OVERRIDES: "), "{err}");
            assert!(err.contains(expected), "{err} should contain {expected}");
        }
    }
}

#[cfg(test)]
mod edge_properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Any override text is accepted only with non-negative finite rates, never panics.
        #[test]
        fn arbitrary_overrides_never_panic_or_go_negative(text in "\\PC{0,80}", n in proptest::num::f64::ANY, field in
            prop_oneof![Just("endpointAzHour"), Just("natGb"), Just("natHour"), Just("gwlbGb"), Just("bogus")]) {
            let _ = PricingOverrides::parse(&text);
            let json = format!(r#"{{"us-east-1": {{"{field}": {}}}}}"#, serde_json::to_string(&n).unwrap_or_else(|_| "null".into()));
            if let Ok(o) = PricingOverrides::parse(&json) {
                let r = o.apply("us-east-1", PriceBook::builtin().rates("us-east-1").ok().cloned()).unwrap();
                for rate in [r.endpoint_az_hour, r.nat_gb, r.nat_hour, r.gwlb_gb].into_iter().flatten() {
                    prop_assert!(rate.is_finite() && rate >= 0.0);
                }
            }
        }
    }
}
