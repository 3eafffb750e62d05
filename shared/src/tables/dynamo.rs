//! What the table modules share: attribute maps to and from [`RawItem`]s, and paged reads.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{RawItem, RawValue};
use crate::adapters::port_error;
use crate::ports::PortError;

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

pub(super) fn raw_item(item: &HashMap<String, AttributeValue>) -> RawItem {
    item.iter()
        .map(|(k, v)| (k.clone(), raw_value(v)))
        .collect()
}

/// The attribute map of an item. `Other` values cannot be written (nothing here writes them).
pub(super) fn attribute_map(item: &RawItem) -> HashMap<String, AttributeValue> {
    item.iter()
        .filter_map(|(k, v)| {
            let value = match v {
                RawValue::S(s) => AttributeValue::S(s.clone()),
                RawValue::N(n) => AttributeValue::N(n.clone()),
                RawValue::Bool(b) => AttributeValue::Bool(*b),
                RawValue::Other("NULL") => AttributeValue::Null(true),
                RawValue::Other("L") => AttributeValue::L(Vec::new()),
                RawValue::Other("M") => AttributeValue::M(HashMap::new()),
                RawValue::Other(_) => return None,
            };
            Some((k.clone(), value))
        })
        .collect()
}

/// Every item of a table: one consistent Scan, all pages.
pub(super) async fn scan_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<HashMap<String, AttributeValue>>, PortError> {
    let mut pages = client
        .scan()
        .table_name(table)
        // A rule changed a moment ago must count: read what was last written.
        .consistent_read(true)
        .into_paginator()
        .send();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        items.extend(
            page.map_err(|e| port_error("Scan", e))?
                .items()
                .iter()
                .cloned(),
        );
    }
    Ok(items)
}

/// Every item of one partition (only the sort keys from `sk_between.0` to `.1` when given): one
/// consistent Query, all pages.
pub(super) async fn query_partition(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    pk: &str,
    sk_between: Option<(&str, &str)>,
) -> Result<Vec<HashMap<String, AttributeValue>>, PortError> {
    let mut query = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
        .consistent_read(true);
    if let Some((from, to)) = sk_between {
        query = query
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":from", AttributeValue::S(from.to_owned()))
            .expression_attribute_values(":to", AttributeValue::S(to.to_owned()));
    }
    let mut pages = query.into_paginator().send();
    let mut items = Vec::new();
    while let Some(page) = pages.next().await {
        items.extend(
            page.map_err(|e| port_error("Query", e))?
                .items()
                .iter()
                .cloned(),
        );
    }
    Ok(items)
}

/// The SDK's async sleep, so this crate needs no runtime of its own.
pub(super) async fn sleep(duration: Duration) {
    aws_smithy_async::rt::sleep::AsyncSleep::sleep(
        &aws_smithy_async::rt::sleep::TokioSleep::new(),
        duration,
    )
    .await;
}
