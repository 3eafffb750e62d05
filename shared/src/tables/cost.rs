//! The cost table: what the cost reporter keeps between runs.
//!
//! Month-to-date interface traffic: one item per priced hour (`pk` = `mtd#<region>#<YYYY-MM>`,
//! `sk` = the ISO hour, `gb`, `expires_at`), so pricing an hour twice replaces its figure.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::adapters::port_error;
use crate::ports::PortError;

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
                            code: None,
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
