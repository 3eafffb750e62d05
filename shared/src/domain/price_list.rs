//! A region's rates read from AWS Price List records (the JSON documents `GetProducts` returns),
//! validated before they are trusted.
//!
//! What was checked against the API's documentation and records (README, "Prices"): endpoint
//! hours and data are service `AmazonVPC`, product family `VpcEndpoint`, usage types
//! `<prefix>-VpcEndpoint-Hours` and `<prefix>-VpcEndpoint-Bytes` (the latter tiered in GB of 2^30
//! bytes: 0-1,048,576, 1,048,576-5,242,880, over 5,242,880), Gateway Load Balancer endpoints
//! `<prefix>-VpcEndpoint-GWLBE-Hours` and `-Bytes`; the NAT Gateway is service `AmazonEC2`,
//! product family `NAT Gateway`, `<prefix>-NatGateway-Hours` and `-Bytes`, without a prefix in
//! us-east-1. Usage types are matched exactly after the region prefix: `RegionalNatGateway-Hours`
//! or `VpcEndpoint-Resource-Hours` are other products that end alike.

use serde::Serialize;
use serde_json::Value;

use super::pricing::{RegionRates, Tier};

/// One priced product of a region: its usage type and its on-demand price dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceListProduct {
    pub usage_type: String,
    pub region_code: String,
    pub dimensions: Vec<PriceDimension>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PriceDimension {
    /// GB (or hours) from which this price applies.
    pub begin: f64,
    /// Up to which; `None`: without limit (`Inf`).
    pub end: Option<f64>,
    pub usd: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Price List {what}: {problem}")]
pub struct PriceListError {
    pub what: String,
    pub problem: String,
}

fn error(what: impl Into<String>, problem: impl Into<String>) -> PriceListError {
    PriceListError {
        what: what.into(),
        problem: problem.into(),
    }
}

fn number(value: &Value, what: &str, field: &str) -> Result<f64, PriceListError> {
    let text = value
        .as_str()
        .ok_or_else(|| error(what, format!("`{field}` is missing")))?;
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| {
            error(
                what,
                format!("`{field}` {text:?} is not a non-negative number"),
            )
        })
}

/// Reads one record as `GetProducts` returns it (one element of `PriceList`, a JSON document).
pub fn parse_record(document: &str) -> Result<PriceListProduct, PriceListError> {
    let record: Value =
        serde_json::from_str(document).map_err(|e| error("record", format!("not JSON: {e}")))?;
    let attributes = &record["product"]["attributes"];
    let usage_type = attributes["usagetype"]
        .as_str()
        .ok_or_else(|| error("record", "`product.attributes.usagetype` is missing"))?
        .to_owned();
    let what = format!("record {usage_type}");
    let region_code = attributes["regionCode"]
        .as_str()
        .ok_or_else(|| error(&what, "`product.attributes.regionCode` is missing"))?
        .to_owned();
    let terms = record["terms"]["OnDemand"]
        .as_object()
        .ok_or_else(|| error(&what, "no `terms.OnDemand`"))?;
    if terms.len() != 1 {
        return Err(error(
            &what,
            format!("{} on-demand terms, expected one", terms.len()),
        ));
    }
    let term = terms.values().next().expect("one term");
    let dimensions = term["priceDimensions"]
        .as_object()
        .ok_or_else(|| error(&what, "no `priceDimensions`"))?
        .values()
        .map(|d| {
            Ok(PriceDimension {
                begin: number(&d["beginRange"], &what, "beginRange")?,
                end: match d["endRange"].as_str() {
                    Some("Inf") => None,
                    _ => Some(number(&d["endRange"], &what, "endRange")?),
                },
                usd: number(&d["pricePerUnit"]["USD"], &what, "pricePerUnit.USD")?,
            })
        })
        .collect::<Result<Vec<_>, PriceListError>>()?;
    if dimensions.is_empty() {
        return Err(error(&what, "no price dimension"));
    }
    Ok(PriceListProduct {
        usage_type,
        region_code,
        dimensions,
    })
}

/// Whether `usage_type` is exactly `kind` after an optional region prefix (`USE1-`, `EU-`, ...).
pub fn is_usage_type(usage_type: &str, kind: &str) -> bool {
    usage_type == kind
        || usage_type.strip_suffix(kind).is_some_and(|prefix| {
            prefix.strip_suffix('-').is_some_and(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            })
        })
}

/// The one product of `kind` among `products`, if there is one; two is an error.
fn one<'a>(
    products: &'a [PriceListProduct],
    kind: &str,
) -> Result<Option<&'a PriceListProduct>, PriceListError> {
    let found: Vec<&PriceListProduct> = products
        .iter()
        .filter(|p| is_usage_type(&p.usage_type, kind))
        .collect();
    match found[..] {
        [] => Ok(None),
        [p] => Ok(Some(p)),
        _ => Err(error(
            kind,
            format!("{} records, expected one", found.len()),
        )),
    }
}

/// A product with a single price (an hourly rate, a flat per-GB rate).
fn flat(p: &PriceListProduct) -> Result<f64, PriceListError> {
    match p.dimensions[..] {
        [
            PriceDimension {
                begin: 0.0,
                end: None,
                usd,
            },
        ] => Ok(usd),
        _ => Err(error(
            &p.usage_type,
            "expected one price from 0 without limit",
        )),
    }
}

/// Tiers ordered from 0, each starting where the one before ends, the last without limit.
fn tiers(p: &PriceListProduct) -> Result<Vec<Tier>, PriceListError> {
    let mut dims = p.dimensions.clone();
    dims.sort_by(|a, b| a.begin.total_cmp(&b.begin));
    let mut expected_begin = 0.0;
    let mut out = Vec::new();
    for (i, d) in dims.iter().enumerate() {
        if d.begin != expected_begin {
            return Err(error(
                &p.usage_type,
                format!(
                    "tier {} begins at {} GB, expected {expected_begin}",
                    i + 1,
                    d.begin
                ),
            ));
        }
        let last = i + 1 == dims.len();
        match (d.end, last) {
            (None, true) => {}
            (None, false) => {
                return Err(error(&p.usage_type, "a tier without limit is not the last"));
            }
            (Some(_), true) => return Err(error(&p.usage_type, "the last tier has a limit")),
            (Some(end), false) if end <= d.begin => {
                return Err(error(
                    &p.usage_type,
                    format!("tier {} ends before it begins", i + 1),
                ));
            }
            (Some(end), false) => expected_begin = end,
        }
        out.push(Tier {
            up_to_gb: d.end,
            usd_per_gb: d.usd,
        });
    }
    Ok(out)
}

/// The rates of `region` from its `AmazonVPC` `VpcEndpoint` and `AmazonEC2` `NAT Gateway` products.
/// Endpoint hours, data tiers, NAT hours and NAT GB must all be there and valid; Gateway Load
/// Balancer endpoint rates are taken when the region lists them.
pub fn region_rates(
    region: &str,
    products: &[PriceListProduct],
) -> Result<RegionRates, PriceListError> {
    if let Some(other) = products.iter().find(|p| p.region_code != region) {
        return Err(error(
            &other.usage_type,
            format!("is for {}, not {region}", other.region_code),
        ));
    }
    let required = |kind: &str| {
        one(products, kind)?.ok_or_else(|| error(format!("{region} {kind}"), "no record"))
    };
    let endpoint_hour = flat(required("VpcEndpoint-Hours")?)?;
    let data_tiers = tiers(required("VpcEndpoint-Bytes")?)?;
    let nat_hour = flat(required("NatGateway-Hours")?)?;
    let nat_gb = flat(required("NatGateway-Bytes")?)?;
    let gwlb_hour = one(products, "VpcEndpoint-GWLBE-Hours")?
        .map(flat)
        .transpose()?;
    let gwlb_gb = one(products, "VpcEndpoint-GWLBE-Bytes")?
        .map(flat)
        .transpose()?;
    Ok(RegionRates {
        endpoint_az_hour: Some(endpoint_hour),
        data_tiers,
        nat_hour: Some(nat_hour),
        nat_gb: Some(nat_gb),
        gwlb_endpoint_hour: gwlb_hour,
        gwlb_gb,
    })
}

/// A region's rates from every record the Price List answered for it (both products).
pub fn rates_from_records(
    region: &str,
    documents: &[String],
) -> Result<RegionRates, PriceListError> {
    let products = documents
        .iter()
        .map(|d| parse_record(d))
        .collect::<Result<Vec<_>, _>>()?;
    region_rates(region, &products)
}

/// How long rates read from the Price List are used without asking again.
pub const CACHE_FRESH_SECS: i64 = 86_400;

/// A region's rates as last read from the Price List, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedRates {
    pub rates: RegionRates,
    pub fetched_at: i64,
}

impl CachedRates {
    /// Read less than a day before `now` (and not dated ahead of it by a skewed clock).
    pub fn is_fresh(&self, now: i64) -> bool {
        (0..CACHE_FRESH_SECS).contains(&(now - self.fetched_at))
    }
}

/// Where the rates a run used came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RateSource {
    /// Read from the Price List by this run.
    PriceList,
    /// Read from the Price List by an earlier run, kept in the cost table.
    PriceListCache,
    /// The built-in table.
    BuiltIn,
    /// Only `PRICING_OVERRIDES` had the region.
    Overrides,
}

/// What a result says of its rates: the source, when they were read, why a fallback was used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RatesUsed {
    pub source: RateSource,
    /// When the Price List was read (ISO time), for rates from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<String>,
    /// Why the Price List's own answer was not used, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// `PRICING_OVERRIDES` set some of the region's rates.
    pub overridden: bool,
}

/// Records in the shape `GetProducts` answers, for tests.
#[cfg(test)]
pub(crate) mod samples {
    use serde_json::{Value, json};

    /// A record as `GetProducts` returns it, with price dimensions (begin, end, USD).
    pub fn record(usage_type: &str, region: &str, dims: &[(&str, &str, &str)]) -> String {
        let dimensions: serde_json::Map<String, Value> = dims
            .iter()
            .enumerate()
            .map(|(i, (begin, end, usd))| {
                (
                    format!("SKU.JRTCKXETXF.RATE{i}"),
                    json!({"beginRange": begin, "endRange": end, "unit": "GB",
                        "pricePerUnit": {"USD": usd}, "description": "d", "appliesTo": []}),
                )
            })
            .collect();
        json!({
            "product": {"productFamily": "VpcEndpoint", "sku": "SKU",
                "attributes": {"usagetype": usage_type, "regionCode": region}},
            "serviceCode": "AmazonVPC",
            "terms": {"OnDemand": {"SKU.JRTCKXETXF": {"priceDimensions": dimensions}}},
        })
        .to_string()
    }

    pub fn flat_record(usage_type: &str, region: &str, usd: &str) -> String {
        record(usage_type, region, &[("0", "Inf", usd)])
    }

    pub const TIERS: [(&str, &str, &str); 3] = [
        ("0", "1048576", "0.0100000000"),
        ("1048576", "5242880", "0.0060000000"),
        ("5242880", "Inf", "0.0040000000"),
    ];

    /// Every record a region needs: endpoint hour `endpoint_hour`, the standard tiers, NAT
    /// 0.093 per hour and per GB.
    pub fn complete(prefix: &str, region: &str, endpoint_hour: &str) -> Vec<String> {
        vec![
            flat_record(&format!("{prefix}VpcEndpoint-Hours"), region, endpoint_hour),
            record(&format!("{prefix}VpcEndpoint-Bytes"), region, &TIERS),
            flat_record(&format!("{prefix}NatGateway-Hours"), region, "0.0930000000"),
            flat_record(&format!("{prefix}NatGateway-Bytes"), region, "0.0930000000"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::samples::{TIERS, complete as complete_at, flat_record, record};
    use super::*;

    fn complete(prefix: &str, region: &str) -> Vec<String> {
        complete_at(prefix, region, "0.0150000000")
    }
    use crate::domain::pricing::{BYTES_PER_GB, PriceBook};

    const VPC_FIXTURE: &str =
        include_str!("../../../dev/emulator/plgov_emulator/fixtures/pricelist/AmazonVPC.json");
    const NAT_FIXTURE: &str =
        include_str!("../../../dev/emulator/plgov_emulator/fixtures/pricelist/AmazonEC2-nat.json");

    #[test]
    fn tiers_are_read_with_their_1_pb_and_5_pb_boundaries() {
        let rates = rates_from_records("sa-east-1", &complete("SAE1-", "sa-east-1")).unwrap();
        assert_eq!(
            rates.data_tiers,
            vec![
                Tier {
                    up_to_gb: Some(1_048_576.0),
                    usd_per_gb: 0.01
                },
                Tier {
                    up_to_gb: Some(5_242_880.0),
                    usd_per_gb: 0.006
                },
                Tier {
                    up_to_gb: None,
                    usd_per_gb: 0.004
                },
            ]
        );
        // GB of 2^30 bytes: the first boundary is 1 PiB, the second 5 PiB.
        assert_eq!(1_048_576.0 * BYTES_PER_GB, 2f64.powi(50));
        assert_eq!(5_242_880.0 * BYTES_PER_GB, 5.0 * 2f64.powi(50));
        assert_eq!(
            (rates.endpoint_az_hour, rates.nat_hour, rates.nat_gb),
            (Some(0.015), Some(0.093), Some(0.093))
        );
        assert_eq!(
            (rates.gwlb_endpoint_hour, rates.gwlb_gb),
            (None, None),
            "not listed"
        );
        // The dimensions' order in the record does not matter.
        let shuffled = [TIERS[2], TIERS[0], TIERS[1]];
        let mut docs = complete("SAE1-", "sa-east-1");
        docs[1] = record("SAE1-VpcEndpoint-Bytes", "sa-east-1", &shuffled);
        assert_eq!(rates_from_records("sa-east-1", &docs).unwrap(), rates);
    }

    #[test]
    fn usage_types_match_exactly_after_a_region_prefix() {
        for (usage, kind, expected) in [
            ("VpcEndpoint-Hours", "VpcEndpoint-Hours", true),
            ("USE1-VpcEndpoint-Hours", "VpcEndpoint-Hours", true),
            ("EU-VpcEndpoint-Bytes", "VpcEndpoint-Bytes", true),
            ("APS7-NatGateway-Bytes", "NatGateway-Bytes", true),
            ("NatGateway-Hours", "NatGateway-Hours", true),
            ("RegionalNatGateway-Hours", "NatGateway-Hours", false),
            ("EUW2-RegionalNatGateway-Hours", "NatGateway-Hours", false),
            (
                "USE1-VpcEndpoint-Resource-Hours",
                "VpcEndpoint-Hours",
                false,
            ),
            ("USE1-VpcEndpoint-GWLBE-Hours", "VpcEndpoint-Hours", false),
            ("use1-VpcEndpoint-Hours", "VpcEndpoint-Hours", false),
            ("-VpcEndpoint-Hours", "VpcEndpoint-Hours", false),
            ("USE1VpcEndpoint-Hours", "VpcEndpoint-Hours", false),
        ] {
            assert_eq!(is_usage_type(usage, kind), expected, "{usage} as {kind}");
        }
        // Decoys that end alike are other products: they neither count nor collide.
        let mut docs = complete("", "us-east-1");
        docs.push(flat_record("RegionalNatGateway-Hours", "us-east-1", "0.5"));
        docs.push(flat_record(
            "USE1-VpcEndpoint-Resource-Hours",
            "us-east-1",
            "0.02",
        ));
        assert_eq!(
            rates_from_records("us-east-1", &docs).unwrap().nat_hour,
            Some(0.093)
        );
    }

    #[test]
    fn a_record_with_a_missing_or_bad_dimension_is_refused() {
        let region = "sa-east-1";
        let with_bytes = |dims: &[(&str, &str, &str)]| {
            let mut docs = complete("SAE1-", region);
            docs[1] = record("SAE1-VpcEndpoint-Bytes", region, dims);
            rates_from_records(region, &docs).unwrap_err().to_string()
        };
        for (dims, expected) in [
            (
                &[TIERS[0], TIERS[2]][..],
                "tier 2 begins at 5242880 GB, expected 1048576",
            ),
            (
                &[TIERS[1], TIERS[2]][..],
                "tier 1 begins at 1048576 GB, expected 0",
            ),
            (&[TIERS[0], TIERS[1]][..], "the last tier has a limit"),
            (&[][..], "no price dimension"),
            (&[("0", "Inf", "-0.01")][..], "not a non-negative number"),
            (&[("0", "Inf", "NaN")][..], "not a non-negative number"),
            (
                &[
                    ("0", "1048576", "0.01"),
                    ("1048576", "1048576", "0.006"),
                    ("1048576", "Inf", "0.004"),
                ][..],
                "tier 2 ends before it begins",
            ),
        ] {
            let err = with_bytes(dims);
            assert!(err.contains(expected), "{err} should say {expected}");
            assert!(
                err.contains("SAE1-VpcEndpoint-Bytes"),
                "{err} names the record"
            );
        }
        // A price without its USD figure.
        let mut doc: Value = serde_json::from_str(&complete("SAE1-", region)[0]).unwrap();
        let dims = doc["terms"]["OnDemand"]["SKU.JRTCKXETXF"]["priceDimensions"]
            .as_object_mut()
            .unwrap();
        dims.values_mut()
            .for_each(|d| d["pricePerUnit"] = json!({"CNY": "1"}));
        let err = parse_record(&doc.to_string()).unwrap_err().to_string();
        assert!(err.contains("`pricePerUnit.USD` is missing"), "{err}");
        // A whole rate missing: no NAT GB record.
        let mut docs = complete("SAE1-", region);
        docs.pop();
        let err = rates_from_records(region, &docs).unwrap_err().to_string();
        assert_eq!(err, "Price List sa-east-1 NatGateway-Bytes: no record");
        // An hourly rate with tiers, two records of one rate, a record of another region.
        let mut docs = complete("SAE1-", region);
        docs[0] = record("SAE1-VpcEndpoint-Hours", region, &TIERS);
        assert!(
            rates_from_records(region, &docs)
                .unwrap_err()
                .to_string()
                .contains("expected one price")
        );
        let mut docs = complete("SAE1-", region);
        docs.push(docs[2].clone());
        assert!(
            rates_from_records(region, &docs)
                .unwrap_err()
                .to_string()
                .contains("2 records, expected one")
        );
        let mut docs = complete("SAE1-", region);
        docs.push(flat_record("USE1-VpcEndpoint-Hours", "us-east-1", "0.01"));
        assert!(
            rates_from_records(region, &docs)
                .unwrap_err()
                .to_string()
                .contains("is for us-east-1, not sa-east-1")
        );
        assert!(
            parse_record("{")
                .unwrap_err()
                .to_string()
                .contains("not JSON")
        );
    }

    #[test]
    fn a_cache_is_fresh_for_a_day() {
        let cached = CachedRates {
            rates: PriceBook::builtin().rates("us-east-1").unwrap().clone(),
            fetched_at: 1_000_000,
        };
        assert!(cached.is_fresh(1_000_000));
        assert!(cached.is_fresh(1_000_000 + CACHE_FRESH_SECS - 1));
        assert!(!cached.is_fresh(1_000_000 + CACHE_FRESH_SECS));
        assert!(!cached.is_fresh(999_000), "dated ahead of the clock");
    }

    /// The fixture's records of `region`, each as the JSON text `GetProducts` answers.
    fn fixture_records(region: &str) -> Vec<String> {
        [VPC_FIXTURE, NAT_FIXTURE]
            .iter()
            .flat_map(|text| serde_json::from_str::<Vec<Value>>(text).unwrap())
            .filter(|r| r["product"]["attributes"]["regionCode"] == region)
            .map(|r| r.to_string())
            .collect()
    }

    #[test]
    fn the_builtin_table_equals_the_price_list_records_of_the_fixture() {
        let book = PriceBook::builtin();
        let regions: Vec<&str> = book.regions().map(|(r, _)| r).collect();
        assert!(regions.len() >= 7, "{regions:?}");
        for (region, builtin) in book.regions() {
            let read = rates_from_records(region, &fixture_records(region))
                .unwrap_or_else(|e| panic!("{region}: {e}"));
            assert_eq!(&read, builtin, "{region}: built-in and Price List differ");
        }
    }
}
