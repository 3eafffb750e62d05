//! The allowlist and audit tables in DynamoDB.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

use super::sdk_error::port_error;
use crate::domain::allowlist::{RawItem, RawValue};
use crate::domain::audit::AuditRecord;
use crate::ports::{AllowlistStore, AuditLog, PortError};

/// BatchWriteItem takes at most 25 items.
const BATCH_WRITE_MAX: usize = 25;
/// Rounds of re-sending UnprocessedItems (throttled writes) before giving up.
const UNPROCESSED_ROUNDS: u32 = 5;

fn raw_value(value: &AttributeValue) -> RawValue {
    match value {
        AttributeValue::S(s) => RawValue::S(s.clone()),
        AttributeValue::N(n) => RawValue::N(n.clone()),
        AttributeValue::Bool(b) => RawValue::Bool(*b),
        AttributeValue::B(_) => RawValue::Other("B"),
        AttributeValue::Ss(_) => RawValue::Other("SS"),
        AttributeValue::Ns(_) => RawValue::Other("NS"),
        AttributeValue::Bs(_) => RawValue::Other("BS"),
        AttributeValue::L(_) => RawValue::Other("L"),
        AttributeValue::M(_) => RawValue::Other("M"),
        AttributeValue::Null(_) => RawValue::Other("NULL"),
        _ => RawValue::Other("unknown"),
    }
}

pub fn raw_item(item: &HashMap<String, AttributeValue>) -> RawItem {
    item.iter()
        .map(|(k, v)| (k.clone(), raw_value(v)))
        .collect()
}

#[derive(Debug, Clone)]
pub struct DynamoAllowlist {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoAllowlist {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

impl AllowlistStore for DynamoAllowlist {
    async fn items(&self, partition: &str) -> Result<Vec<RawItem>, PortError> {
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
            // A rule changed a moment ago must count: read what was last written.
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("Query", e))?;
            items.extend(page.items().iter().map(raw_item));
        }
        Ok(items)
    }
}

#[derive(Debug, Clone)]
pub struct DynamoAudit {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoAudit {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn audit_item(record: &AuditRecord) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    HashMap::from([
        ("pk".to_owned(), s(record.partition_key())),
        ("sk".to_owned(), s(&record.sort_key())),
        ("service_id".to_owned(), s(&record.service_id)),
        ("endpoint_id".to_owned(), s(&record.endpoint_id)),
        ("owner".to_owned(), s(&record.owner)),
        ("decision".to_owned(), s(record.decision.as_str())),
        ("reason".to_owned(), s(&record.reason)),
        ("trigger".to_owned(), s(record.trigger.as_str())),
        ("dry_run".to_owned(), AttributeValue::Bool(record.dry_run)),
        (
            "decided_at".to_owned(),
            AttributeValue::N(record.decided_at.to_string()),
        ),
        (
            "expires_at".to_owned(),
            AttributeValue::N(record.expires_at.to_string()),
        ),
    ])
}

impl AuditLog for DynamoAudit {
    async fn write(&self, records: &[AuditRecord]) -> Result<(), PortError> {
        for batch in records.chunks(BATCH_WRITE_MAX) {
            let mut requests: Vec<WriteRequest> = batch
                .iter()
                .map(|r| {
                    let put = PutRequest::builder()
                        .set_item(Some(audit_item(r)))
                        .build()
                        .expect("item is set");
                    WriteRequest::builder().put_request(put).build()
                })
                .collect();
            let mut round = 0;
            while !requests.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| port_error("BatchWriteItem", e))?;
                requests = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                round += 1;
                if !requests.is_empty() {
                    if round >= UNPROCESSED_ROUNDS {
                        return Err(PortError {
                            operation: "BatchWriteItem",
                            message: format!(
                                "{} audit records still unprocessed after {round} rounds",
                                requests.len()
                            ),
                            retryable: true,
                        });
                    }
                    tokio_sleep(Duration::from_millis(50 << round)).await;
                }
            }
        }
        Ok(())
    }
}

async fn tokio_sleep(duration: Duration) {
    // The SDK's async sleep, so this crate needs no runtime of its own.
    aws_smithy_async::rt::sleep::AsyncSleep::sleep(
        &aws_smithy_async::rt::sleep::TokioSleep::new(),
        duration,
    )
    .await;
}

/// The region's month-to-date interface traffic, one item per priced hour, so pricing an hour
/// twice replaces its figure instead of adding to it.
#[derive(Debug, Clone)]
pub struct DynamoMonthToDate {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoMonthToDate {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

/// Items of one region-month share a partition; the sort key is the ISO hour, which sorts in time order.
fn month_key(region: &str, hour_start: i64) -> (String, String) {
    let hour = crate::domain::hour::Hour::containing(hour_start);
    (format!("mtd#{region}#{}", hour.month()), hour.to_string())
}

/// Kept a little over three months, then removed by the table's TTL.
const MONTH_TO_DATE_TTL_SECS: i64 = 100 * 86_400;

impl crate::ports::MonthToDateStore for DynamoMonthToDate {
    async fn total_before(&self, region: &str, hour_start: i64) -> Result<f64, PortError> {
        let (pk, sk) = month_key(region, hour_start);
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk < :sk")
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(":sk", AttributeValue::S(sk))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut total = 0.0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| port_error("Query", e))?;
            for item in page.items() {
                let gb = item
                    .get("gb")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<f64>().ok());
                match gb {
                    Some(gb) if gb.is_finite() && gb >= 0.0 => total += gb,
                    _ => {
                        return Err(PortError {
                            operation: "Query",
                            message: format!(
                                "month-to-date item {:?} has no usable `gb`",
                                item.get("sk")
                            ),
                            retryable: false,
                        });
                    }
                }
            }
        }
        Ok(total)
    }

    async fn record(&self, region: &str, hour_start: i64, gb: f64) -> Result<(), PortError> {
        let (pk, sk) = month_key(region, hour_start);
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(pk))
            .item("sk", AttributeValue::S(sk))
            .item("gb", AttributeValue::N(format!("{gb}")))
            .item(
                "expires_at",
                AttributeValue::N((hour_start + MONTH_TO_DATE_TTL_SECS).to_string()),
            )
            .send()
            .await
            .map_err(|e| port_error("PutItem", e))?;
        Ok(())
    }
}

/// Writes and reads allowlist items for operators (the `plgov` command line). The approver
/// never gets this: it may only read the allowlist.
#[derive(Debug, Clone)]
pub struct DynamoAllowlistAdmin {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Replaced,
    /// An item with the same keys exists and replacing was not asked for: nothing written.
    AlreadyExists,
}

impl DynamoAllowlistAdmin {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Puts `item` (which holds `pk` and `sk`); without `replace` only if no item has those keys.
    pub async fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        replace: bool,
    ) -> Result<Written, PortError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        if !replace {
            put = put.condition_expression("attribute_not_exists(pk)");
        } else {
            put = put.return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld);
        }
        match put.send().await {
            Ok(out) => Ok(if out.attributes().is_some_and(|a| !a.is_empty()) {
                Written::Replaced
            } else {
                Written::Created
            }),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Written::AlreadyExists)
            }
            Err(err) => Err(port_error("PutItem", err)),
        }
    }

    /// Deletes the item with these keys; returns it if there was one.
    pub async fn delete(&self, pk: &str, sk: &str) -> Result<Option<RawItem>, PortError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| port_error("DeleteItem", e))?;
        Ok(out.attributes().filter(|a| !a.is_empty()).map(raw_item))
    }

    /// The items of one partition (Query), or of the whole table (Scan) without one.
    pub async fn list(
        &self,
        partition: Option<&str>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, PortError> {
        let mut items = Vec::new();
        match partition {
            Some(pk) => {
                let mut pages = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    items.extend(
                        page.map_err(|e| port_error("Query", e))?
                            .items()
                            .iter()
                            .cloned(),
                    );
                }
            }
            None => {
                let mut pages = self
                    .client
                    .scan()
                    .table_name(&self.table)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    items.extend(
                        page.map_err(|e| port_error("Scan", e))?
                            .items()
                            .iter()
                            .cloned(),
                    );
                }
            }
        }
        Ok(items)
    }
}
