//! The organization's cost pool (a hub's `COST_POOL_TABLE`): each account's interface-endpoint
//! GB per region and hour, so that every member prices the per-GB tiers on the organization's
//! month-to-date total (consolidated billing makes the organization one payer).
//!
//! | attribute | value |
//! |---|---|
//! | `pk` | `<account>#<region>#<YYYY-MM>` (a member writes under its own account only: `dynamodb:LeadingKeys`) |
//! | `sk` | the hour, `YYYY-MM-DDTHH:00:00Z` |
//! | `pool` | `<region>#<YYYY-MM>`, the partition key of the index `by-pool` (every account's hours of a month) |
//! | `account`, `gb` (N), `expires_at` (N, the TTL: 62 days after the month) |
//!
//! Pricing an hour again puts its item again: it replaces, never adds. Without a pool table
//! (a standalone stack) nothing is read or written and each account counts its own GB.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::dynamo::attribute_map;
use super::{RawItem, RawValue};
use crate::adapters::port_error;
use crate::domain::AccountId;
use crate::domain::hour::Hour;
use crate::ports::{PortError, TierPool};

/// The index over every account's hours of a region and month.
pub const POOL_INDEX: &str = "by-pool";
/// Days an hour stays in the pool after its month ends (a month is priced again at most that late).
const KEPT_DAYS_AFTER_MONTH: i64 = 62;

fn month_of(hour: Hour) -> String {
    hour.month_start().to_string()[..7].to_owned()
}

pub struct CostPool {
    /// The client and table (name or ARN), when the stack has a pool.
    table: Option<(aws_sdk_dynamodb::Client, String)>,
    account: AccountId,
}

impl CostPool {
    pub fn new(table: Option<(aws_sdk_dynamodb::Client, String)>, account: AccountId) -> Self {
        Self { table, account }
    }

    /// One hour of this account as stored.
    pub fn encode(&self, region: &str, hour: Hour, gb: f64) -> RawItem {
        let month = month_of(hour);
        let n = |v: String| RawValue::N(v);
        RawItem::from([
            (
                "pk".to_owned(),
                RawValue::S(format!("{}#{region}#{month}", self.account)),
            ),
            ("sk".to_owned(), RawValue::S(hour.to_string())),
            ("pool".to_owned(), RawValue::S(format!("{region}#{month}"))),
            ("account".to_owned(), RawValue::S(self.account.to_string())),
            ("gb".to_owned(), n(gb.to_string())),
            (
                "expires_at".to_owned(),
                n((hour.month_start().plus(24 * 31).month_start().start()
                    + KEPT_DAYS_AFTER_MONTH * 86_400)
                    .to_string()),
            ),
        ])
    }
}

/// One item of the pool read back: whose hour, and its GB. An item that does not read is an
/// error: a tier figure that cannot be read must not be taken as zero.
fn decode(
    item: &std::collections::HashMap<String, AttributeValue>,
) -> Result<(String, Hour, f64), String> {
    let text = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| format!("`{k}` is missing or not S"))
    };
    let account = text("account")?.clone();
    let hour = Hour::parse(text("sk")?).map_err(|e| format!("`sk`: {e}"))?;
    let gb = item
        .get("gb")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|g| g.is_finite() && *g >= 0.0)
        .ok_or("`gb` is missing or not a number of GB")?;
    Ok((account, hour, gb))
}

impl TierPool for CostPool {
    async fn others(&self, region: &str, month: Hour) -> Result<BTreeMap<Hour, f64>, PortError> {
        let Some((client, table)) = &self.table else {
            return Ok(BTreeMap::new());
        };
        let mut pages = client
            .query()
            .table_name(table)
            .index_name(POOL_INDEX)
            .key_condition_expression("#pool = :pool")
            .expression_attribute_names("#pool", "pool")
            .expression_attribute_values(
                ":pool",
                AttributeValue::S(format!("{region}#{}", month_of(month))),
            )
            .into_paginator()
            .send();
        let mut out: BTreeMap<Hour, f64> = BTreeMap::new();
        while let Some(page) = pages.next().await {
            for item in page.map_err(|e| port_error("Query", e))?.items() {
                let (account, hour, gb) = decode(item).map_err(|problem| PortError {
                    operation: "Query",
                    code: Some("UnreadableItem".into()),
                    message: format!("cost pool item {:?}: {problem}", item.get("pk")),
                    retryable: false,
                    kind: crate::ports::ErrorKind::Other,
                    detail: None,
                })?;
                if account != self.account.as_str() {
                    *out.entry(hour).or_default() += gb;
                }
            }
        }
        Ok(out)
    }

    async fn put(&self, region: &str, hours: &[(Hour, f64)]) -> Result<(), PortError> {
        let Some((client, table)) = &self.table else {
            return Ok(());
        };
        for (hour, gb) in hours {
            client
                .put_item()
                .table_name(table)
                .set_item(Some(attribute_map(&self.encode(region, *hour, *gb))))
                .send()
                .await
                .map_err(|e| port_error("PutItem", e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_hour_is_kept_under_its_account_region_and_month() {
        let pool = CostPool::new(None, AccountId::parse("333333333333").unwrap());
        let hour = Hour::parse("2026-11-28T10:00:00Z").unwrap();
        let item = pool.encode("us-west-2", hour, 12.5);
        assert_eq!(
            item["pk"],
            RawValue::S("333333333333#us-west-2#2026-11".into())
        );
        assert_eq!(item["pool"], RawValue::S("us-west-2#2026-11".into()));
        assert_eq!(item["sk"], RawValue::S("2026-11-28T10:00:00Z".into()));
        assert_eq!(item["gb"], RawValue::N("12.5".into()));
        // Kept 62 days after the month: from 2026-12-01 plus 62 days.
        let expires = Hour::parse("2026-12-01T00:00:00Z").unwrap().start() + 62 * 86_400;
        assert_eq!(item["expires_at"], RawValue::N(expires.to_string()));
    }
}
