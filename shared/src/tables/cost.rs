//! The cost table: what the cost reporter keeps between runs, and its one DynamoDB adapter.
//!
//! Every item of a region shares the partition `cost#<region>`, so a run reads what it needs in
//! two Queries:
//!
//! | sort key | holds |
//! |---|---|
//! | `hour#<ISO hour>` | an hour's latest pricing (totals, interface GB for the month-to-date tiers, endpoint counts), its publishing ledger (`published`, `pending`), `version`, `bytes_chunks` |
//! | `bytes#<ISO hour>#<NNN>` | `BytesProcessed` of the endpoints with traffic in the hour, as last queried (`bytes`: id to number) |
//! | `inventory` | when the inventory was last looked at (`confirmed_at`), the endpoints gone since with their last provisioned sighting (`departed`), `chunks` |
//! | `inventory#<NNN>` | the endpoints provisioned at the last look (`endpoints`) |
//! | `rates` | the region's rates as last read from the Price List (`rates`: JSON of `RegionRates`), `fetched_at` |
//!
//! An hour record is written only if its `version` is still the one read, so two runs pricing
//! the same hour never interleave their ledgers. Records expire through the table's TTL
//! (`expires_at`): hours after 100 days, byte chunks after 8 days (the findings read the last 7), the
//! rates after 30 (past their day they serve only when the Price List cannot be read).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::dynamo::query_partition;
use crate::adapters::port_error;
use crate::domain::EndpointId;
use crate::domain::cost::{CostTotals, EndpointKind};
use crate::domain::hour::Hour;
use crate::domain::inventory::{Endpoint, InventoryRecord, Sighting};
use crate::domain::price_list::CachedRates;
use crate::domain::pricing::RegionRates;
use crate::domain::publishing::{HourRecord, Ledger, MetricKey, Pending};
use crate::ports::{CostLedger, LedgerRead, PortError};

const HOUR_KEPT_SECS: i64 = 100 * 86_400;
/// Eight days: the consumer findings look back over seven.
const BYTES_KEPT_SECS: i64 = 8 * 86_400;
const RATES_KEPT_SECS: i64 = 30 * 86_400;
/// Entries per chunk item, well inside DynamoDB's 400 KB item limit.
const BYTES_PER_CHUNK: usize = 6_000;
const ENDPOINTS_PER_CHUNK: usize = 2_000;
/// The metric names a ledger may hold (stored keys are read back only as these).
const METRIC_NAMES: [&str; 3] = ["EndpointCost", "NatEquivalentCost", "UnpricedEndpoints"];
const DIMENSION_NAMES: [&str; 1] = ["VpcEndpointId"];

type Item = HashMap<String, AttributeValue>;

/// The cost table in DynamoDB.
#[derive(Debug, Clone)]
pub struct CostTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl CostTable {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn query(&self, pk: &str, from: &str, to: &str) -> Result<Vec<Item>, PortError> {
        query_partition(&self.client, &self.table, pk, Some((from, to))).await
    }

    async fn put(
        &self,
        item: Item,
        condition: Option<(&str, Vec<(&str, AttributeValue)>)>,
    ) -> Result<bool, PortError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        if let Some((expression, values)) = condition {
            put = put.condition_expression(expression);
            for (name, value) in values {
                put = put.expression_attribute_values(name, value);
            }
        }
        match put.send().await {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(port_error("PutItem", err)),
        }
    }
}

fn partition(region: &str) -> String {
    format!("cost#{region}")
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn unreadable(what: &str, problem: impl std::fmt::Display) -> PortError {
    PortError {
        operation: "Query",
        code: Some("UnreadableCostRecord".into()),
        message: format!("cost table: {what} does not read: {problem}"),
        retryable: false,
        kind: crate::ports::ErrorKind::Other,
        detail: None,
    }
}

fn num(item: &Item, name: &str) -> Result<f64, String> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{name}` is not a number"))
}

fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str, String> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| format!("`{name}` is not a string"))
}

fn map<'a>(item: &'a Item, name: &str) -> Result<&'a HashMap<String, AttributeValue>, String> {
    item.get(name)
        .and_then(|v| v.as_m().ok())
        .ok_or_else(|| format!("`{name}` is not a map"))
}

/// `EndpointCost` or `EndpointCost|VpcEndpointId=vpce-...`.
fn key_text(key: &MetricKey) -> String {
    let mut out = key.name.to_owned();
    for (k, v) in &key.dimensions {
        out.push_str(&format!("|{k}={v}"));
    }
    out
}

fn key_from(text: &str) -> Result<MetricKey, String> {
    let mut parts = text.split('|');
    let name = parts.next().unwrap_or_default();
    let name = METRIC_NAMES
        .into_iter()
        .find(|n| *n == name)
        .ok_or_else(|| format!("unknown metric {name:?}"))?;
    let mut dimensions = Vec::new();
    for part in parts {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("bad dimension {part:?}"))?;
        let k = DIMENSION_NAMES
            .into_iter()
            .find(|d| *d == k)
            .ok_or_else(|| format!("unknown dimension {k:?}"))?;
        dimensions.push((k, v.to_owned()));
    }
    Ok(MetricKey { name, dimensions })
}

fn values_map(values: &BTreeMap<MetricKey, f64>) -> AttributeValue {
    AttributeValue::M(values.iter().map(|(k, v)| (key_text(k), n(v))).collect())
}

fn values_from(m: &HashMap<String, AttributeValue>) -> Result<BTreeMap<MetricKey, f64>, String> {
    m.iter()
        .map(|(k, v)| {
            let value = v
                .as_n()
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| format!("`{k}` is not a number"))?;
            Ok((key_from(k)?, value))
        })
        .collect()
}

const TOTALS: [&str; 7] = [
    "bytes",
    "gb",
    "hourly_cost",
    "data_cost",
    "cost",
    "nat_equivalent_cost",
    "nat_savings",
];

fn totals_map(t: &CostTotals) -> AttributeValue {
    let values = [
        t.bytes,
        t.gb,
        t.hourly_cost,
        t.data_cost,
        t.cost,
        t.nat_equivalent_cost,
        t.nat_savings,
    ];
    AttributeValue::M(
        TOTALS
            .iter()
            .zip(values)
            .map(|(k, v)| ((*k).to_owned(), n(v)))
            .collect(),
    )
}

fn totals_from(m: &Item) -> Result<CostTotals, String> {
    Ok(CostTotals {
        bytes: num(m, "bytes")?,
        gb: num(m, "gb")?,
        hourly_cost: num(m, "hourly_cost")?,
        data_cost: num(m, "data_cost")?,
        cost: num(m, "cost")?,
        nat_equivalent_cost: num(m, "nat_equivalent_cost")?,
        nat_savings: num(m, "nat_savings")?,
    })
}

fn hour_summary(region: &str, r: &HourRecord, chunks: usize) -> Item {
    let mut item = HashMap::from([
        ("pk".to_owned(), s(partition(region))),
        ("sk".to_owned(), s(format!("hour#{}", r.hour))),
        ("version".to_owned(), n(r.version)),
        ("priced_at".to_owned(), n(r.priced_at)),
        ("interface_gb".to_owned(), n(r.interface_gb)),
        ("totals".to_owned(), totals_map(&r.totals)),
        ("endpoints".to_owned(), n(r.endpoints)),
        ("unpriced".to_owned(), n(r.unpriced)),
        ("bytes_chunks".to_owned(), n(chunks)),
        ("published".to_owned(), values_map(&r.ledger.published)),
        ("expires_at".to_owned(), n(r.hour.start() + HOUR_KEPT_SECS)),
    ]);
    if let Some(p) = &r.ledger.pending {
        item.insert(
            "pending".to_owned(),
            AttributeValue::M(HashMap::from([
                ("id".to_owned(), s(&p.id)),
                ("at".to_owned(), n(p.at)),
                ("deltas".to_owned(), values_map(&p.deltas)),
            ])),
        );
    }
    item
}

fn hour_from(item: &Item) -> Result<(HourRecord, usize), String> {
    let hour = text(item, "sk")?
        .strip_prefix("hour#")
        .ok_or("not an hour record")
        .and_then(|h| Hour::parse(h).map_err(|_| "bad hour"))?;
    let pending = match item.get("pending") {
        None => None,
        Some(v) => {
            let m = v.as_m().map_err(|_| "`pending` is not a map")?;
            Some(Pending {
                id: text(m, "id")?.to_owned(),
                at: num(m, "at")? as i64,
                deltas: values_from(map(m, "deltas")?)?,
            })
        }
    };
    let record = HourRecord {
        hour,
        version: num(item, "version")? as u64,
        priced_at: num(item, "priced_at")? as i64,
        interface_gb: num(item, "interface_gb")?,
        totals: totals_from(map(item, "totals")?)?,
        endpoints: num(item, "endpoints")? as usize,
        unpriced: num(item, "unpriced")? as usize,
        bytes: BTreeMap::new(),
        ledger: Ledger {
            published: values_from(map(item, "published")?)?,
            pending,
        },
    };
    Ok((record, num(item, "bytes_chunks")? as usize))
}

fn endpoint_map(e: &Endpoint) -> AttributeValue {
    let mut m = HashMap::from([
        ("id".to_owned(), s(e.id.as_str())),
        ("kind".to_owned(), s(e.kind.as_str())),
        ("service_name".to_owned(), s(&e.service_name)),
        ("vpc_id".to_owned(), s(&e.vpc_id)),
        ("azs".to_owned(), n(e.azs)),
    ]);
    if let Some(at) = e.created_at {
        m.insert("created_at".to_owned(), n(at));
    }
    AttributeValue::M(m)
}

fn endpoint_from(v: &AttributeValue) -> Result<Endpoint, String> {
    let m = v.as_m().map_err(|_| "an endpoint is not a map")?;
    Ok(Endpoint {
        id: EndpointId::parse(text(m, "id")?).map_err(|e| e.to_string())?,
        kind: EndpointKind::parse(text(m, "kind")?),
        service_name: text(m, "service_name")?.to_owned(),
        vpc_id: text(m, "vpc_id")?.to_owned(),
        azs: num(m, "azs")? as u32,
        created_at: m
            .get("created_at")
            .map(|_| num(m, "created_at").map(|v| v as i64))
            .transpose()?,
    })
}

impl CostTable {
    /// The hour records from `first` to `last`, with their endpoints' bytes from `bytes_first` on.
    async fn hour_records(
        &self,
        pk: &str,
        first: Hour,
        bytes_first: Hour,
        last: Hour,
    ) -> Result<BTreeMap<Hour, HourRecord>, PortError> {
        let mut hours: BTreeMap<Hour, HourRecord> = BTreeMap::new();
        let mut chunks: BTreeMap<Hour, usize> = BTreeMap::new();
        for item in self
            .query(pk, &format!("hour#{first}"), &format!("hour#{last}"))
            .await?
        {
            let (record, count) = hour_from(&item).map_err(|e| unreadable("an hour record", e))?;
            chunks.insert(record.hour, count);
            hours.insert(record.hour, record);
        }
        for item in self
            .query(
                pk,
                &format!("bytes#{bytes_first}"),
                &format!("bytes#{last}#~"),
            )
            .await?
        {
            let sk = text(&item, "sk").map_err(|e| unreadable("a bytes chunk", e))?;
            let mut parts = sk.splitn(3, '#').skip(1);
            let (Some(hour), Some(no)) = (parts.next(), parts.next()) else {
                return Err(unreadable("a bytes chunk", sk));
            };
            let hour = Hour::parse(hour).map_err(|e| unreadable("a bytes chunk", e))?;
            let no: usize = no.parse().map_err(|e| unreadable("a bytes chunk", e))?;
            let (Some(record), Some(count)) = (hours.get_mut(&hour), chunks.get(&hour)) else {
                continue; // left by a pricing that never got its record written
            };
            if no >= *count {
                continue; // left from a pricing with more endpoints
            }
            for (id, v) in map(&item, "bytes").map_err(|e| unreadable("a bytes chunk", e))? {
                let id = EndpointId::parse(id).map_err(|e| unreadable("a bytes chunk", e))?;
                let b = v.as_n().ok().and_then(|v| v.parse::<f64>().ok());
                record.bytes.insert(
                    id,
                    b.ok_or_else(|| unreadable("a bytes chunk", "not a number"))?,
                );
            }
        }
        Ok(hours)
    }
}

impl CostLedger for CostTable {
    async fn read(
        &self,
        region: &str,
        month_first: Hour,
        window_first: Hour,
        last: Hour,
    ) -> Result<LedgerRead, PortError> {
        let pk = partition(region);
        let mut out = LedgerRead {
            hours: self
                .hour_records(&pk, month_first, window_first, last)
                .await?,
            ..Default::default()
        };
        // The inventory's items and the rates item sort next to each other: one Query.
        let inventory = self.query(&pk, "inventory", "rates").await?;
        if let Some(item) = inventory.iter().find(|i| text(i, "sk") == Ok("rates")) {
            match rates_from(item) {
                Ok(rates) => out.rates = Some(rates),
                // Only a cache: a later read of the Price List writes it anew.
                Err(e) => {
                    tracing::warn!(region, problem = %e, "the kept rates are unreadable: not used")
                }
            }
        }
        if let Some(header) = inventory.iter().find(|i| text(i, "sk") == Ok("inventory")) {
            let read = || -> Result<InventoryRecord, String> {
                let count = num(header, "chunks")? as usize;
                let mut record = InventoryRecord {
                    confirmed_at: num(header, "confirmed_at")? as i64,
                    ..Default::default()
                };
                for d in header
                    .get("departed")
                    .and_then(|v| v.as_l().ok())
                    .ok_or("`departed` is not a list")?
                {
                    let m = d.as_m().map_err(|_| "a departed entry is not a map")?;
                    record.departed.push(Sighting {
                        endpoint: endpoint_from(m.get("endpoint").ok_or("`endpoint` is missing")?)?,
                        provisioned: true,
                        seen_at: num(m, "seen_at")? as i64,
                    });
                }
                for chunk in &inventory {
                    let Some(no) = text(chunk, "sk")?.strip_prefix("inventory#") else {
                        continue;
                    };
                    if no.parse::<usize>().map_err(|e| e.to_string())? >= count {
                        continue;
                    }
                    for e in chunk
                        .get("endpoints")
                        .and_then(|v| v.as_l().ok())
                        .ok_or("`endpoints` is not a list")?
                    {
                        record.provisioned.push(endpoint_from(e)?);
                    }
                }
                Ok(record)
            };
            out.inventory = read().map_err(|e| unreadable("the inventory record", e))?;
        }
        Ok(out)
    }

    async fn write_hour(
        &self,
        region: &str,
        record: &HourRecord,
        expected: Option<u64>,
        bytes_changed: bool,
    ) -> Result<bool, PortError> {
        let pk = partition(region);
        let entries: Vec<(&EndpointId, &f64)> = record.bytes.iter().collect();
        let chunks = entries.chunks(BYTES_PER_CHUNK).count();
        if bytes_changed {
            for (no, chunk) in entries.chunks(BYTES_PER_CHUNK).enumerate() {
                let item = HashMap::from([
                    ("pk".to_owned(), s(&pk)),
                    ("sk".to_owned(), s(format!("bytes#{}#{no:03}", record.hour))),
                    (
                        "bytes".to_owned(),
                        AttributeValue::M(
                            chunk.iter().map(|(id, b)| (id.to_string(), n(b))).collect(),
                        ),
                    ),
                    (
                        "expires_at".to_owned(),
                        n(record.hour.start() + BYTES_KEPT_SECS),
                    ),
                ]);
                self.put(item, None).await?;
            }
        }
        let condition = match expected {
            None => ("attribute_not_exists(pk)", vec![]),
            Some(v) => ("version = :expected", vec![(":expected", n(v))]),
        };
        self.put(hour_summary(region, record, chunks), Some(condition))
            .await
    }

    async fn write_inventory(
        &self,
        region: &str,
        record: &InventoryRecord,
        endpoints_changed: bool,
    ) -> Result<(), PortError> {
        let pk = partition(region);
        let chunks: Vec<&[Endpoint]> = record.provisioned.chunks(ENDPOINTS_PER_CHUNK).collect();
        if endpoints_changed {
            for (no, chunk) in chunks.iter().enumerate() {
                let item = HashMap::from([
                    ("pk".to_owned(), s(&pk)),
                    ("sk".to_owned(), s(format!("inventory#{no:03}"))),
                    (
                        "endpoints".to_owned(),
                        AttributeValue::L(chunk.iter().map(endpoint_map).collect()),
                    ),
                ]);
                self.put(item, None).await?;
            }
        }
        let departed = record
            .departed
            .iter()
            .map(|d| {
                AttributeValue::M(HashMap::from([
                    ("endpoint".to_owned(), endpoint_map(&d.endpoint)),
                    ("seen_at".to_owned(), n(d.seen_at)),
                ]))
            })
            .collect();
        let header = HashMap::from([
            ("pk".to_owned(), s(&pk)),
            ("sk".to_owned(), s("inventory")),
            ("confirmed_at".to_owned(), n(record.confirmed_at)),
            ("chunks".to_owned(), n(chunks.len())),
            ("departed".to_owned(), AttributeValue::L(departed)),
        ]);
        self.put(header, None).await.map(|_| ())
    }

    async fn recorded(
        &self,
        region: &str,
        first: Hour,
        last: Hour,
    ) -> Result<(BTreeMap<EndpointId, f64>, Vec<Hour>), PortError> {
        let hours = self
            .hour_records(&partition(region), first, first, last)
            .await?;
        let mut bytes = BTreeMap::new();
        for record in hours.values() {
            for (id, b) in &record.bytes {
                *bytes.entry(id.clone()).or_insert(0.0) += b;
            }
        }
        Ok((bytes, hours.keys().copied().collect()))
    }

    async fn write_rates(&self, region: &str, rates: &CachedRates) -> Result<(), PortError> {
        self.put(rates_item(region, rates), None).await.map(|_| ())
    }
}

fn rates_item(region: &str, rates: &CachedRates) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(partition(region))),
        ("sk".to_owned(), s("rates")),
        (
            "rates".to_owned(),
            s(serde_json::to_string(&rates.rates).expect("rates serialize")),
        ),
        ("fetched_at".to_owned(), n(rates.fetched_at)),
        (
            "expires_at".to_owned(),
            n(rates.fetched_at + RATES_KEPT_SECS),
        ),
    ])
}

fn rates_from(item: &Item) -> Result<CachedRates, String> {
    let rates: RegionRates =
        serde_json::from_str(text(item, "rates")?).map_err(|e| format!("`rates`: {e}"))?;
    Ok(CachedRates {
        rates,
        fetched_at: num(item, "fetched_at")? as i64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_keys_read_back_and_unknown_ones_are_refused() {
        let key = MetricKey {
            name: "EndpointCost",
            dimensions: vec![("VpcEndpointId", "vpce-0a".into())],
        };
        assert_eq!(key_text(&key), "EndpointCost|VpcEndpointId=vpce-0a");
        assert_eq!(key_from(&key_text(&key)), Ok(key));
        assert_eq!(
            key_from("NatEquivalentCost"),
            Ok(MetricKey::region("NatEquivalentCost"))
        );
        assert!(key_from("Bogus").unwrap_err().contains("unknown metric"));
        assert!(
            key_from("EndpointCost|Service=x")
                .unwrap_err()
                .contains("unknown dimension")
        );
    }

    #[test]
    fn an_hour_record_reads_back_as_written() {
        let record = HourRecord {
            hour: Hour::parse("2026-11-27T08:00:00Z").unwrap(),
            version: 3,
            priced_at: 1_795_770_600,
            interface_gb: 12.5,
            totals: CostTotals {
                bytes: 1.0,
                gb: 2.0,
                hourly_cost: 3.0,
                data_cost: 4.0,
                cost: 7.0,
                nat_equivalent_cost: 9.0,
                nat_savings: 2.0,
            },
            endpoints: 4,
            unpriced: 1,
            bytes: BTreeMap::new(),
            ledger: Ledger {
                published: BTreeMap::from([(MetricKey::region("EndpointCost"), 6.5)]),
                pending: Some(Pending {
                    id: "run-1".into(),
                    at: 1_795_770_601,
                    deltas: BTreeMap::from([(MetricKey::region("EndpointCost"), 0.5)]),
                }),
            },
        };
        let item = hour_summary("us-east-1", &record, 2);
        assert_eq!(hour_from(&item), Ok((record, 2)));
    }

    #[test]
    fn rates_read_back_as_written_and_unknown_fields_are_refused() {
        let rates = CachedRates {
            rates: crate::domain::pricing::PriceBook::builtin()
                .rates("us-east-1")
                .unwrap()
                .clone(),
            fetched_at: 1_795_770_600,
        };
        let mut item = rates_item("us-east-1", &rates);
        assert_eq!(rates_from(&item), Ok(rates));
        assert_eq!(
            item.get("expires_at"),
            Some(&n(1_795_770_600 + 30 * 86_400))
        );
        item.insert(
            "rates".into(),
            s(
                r#"{"endpointAzHour": 0.01, "dataTiers": [], "natHour": null, "natGb": null,
                "gwlbEndpointHour": null, "gwlbGb": null, "cheap": true}"#,
            ),
        );
        assert!(
            rates_from(&item)
                .unwrap_err()
                .contains("unknown field `cheap`")
        );
    }
}
