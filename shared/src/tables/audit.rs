//! The audit table: its item format and its one DynamoDB adapter. Append-only.
//!
//! | record | `pk` | `sk` |
//! |---|---|---|
//! | decision | `<provider account>#<service id>` | `<endpoint>#<decision>#<live or dry-run>` |
//! | outcome | `<provider account>#<service id>` | `<endpoint>#<decision>#live#outcome#<changed or error code>` |
//!
//! The partition key starts with the account that owns the service (and wrote the record), so
//! one audit table can serve a whole organization: a hub's resource policy lets each member
//! write only under its own account (`dynamodb:LeadingKeys` like `<its account>#*`).
//!
//! The keys hold no time, so a replayed trigger or a retried call makes the same key again, and
//! every write is conditional on the key being new: the first record of a decision, and the first
//! record of each distinct answer AWS gave to carrying it out, win and are never overwritten.
//! Other attributes: `kind` (`decision`/`outcome`), `account` and `region` (where the service
//! is), `service_id`, `endpoint_id`, `owner`,
//! `decision`, `reason`, `trigger`, `dry_run`, `decided_at` / `attempted_at` (N, epoch seconds),
//! `outcome` (`changed`/`failed`), `error_code`, `error_message`, `expires_at` (N, the TTL).

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::dynamo::{attribute_map, query_partition, raw_item, scan_all, sleep};
use super::{RawItem, RawValue};
use crate::adapters::port_error;
use crate::domain::audit::{AuditRecord, DecisionRecord, Outcome, OutcomeRecord};
use crate::domain::decision::Action;
use crate::domain::trigger::TriggerKind;
use crate::domain::{AccountId, EndpointId, ServiceId};
use crate::ports::{AUDIT_RECORDS_PER_CALL, AuditLog, PortError};

/// TransactWriteItems takes at most 100 actions.
const TRANSACTION_MAX: usize = AUDIT_RECORDS_PER_CALL;
/// Rounds of re-sending a cancelled transaction (conflicts, throttling) before giving up.
const TRANSACTION_ROUNDS: u32 = 5;

/// Whose records a table adapter writes and reads: the account that owns the services, and
/// their region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub account: AccountId,
    pub region: String,
}

impl Provider {
    /// The partition of one service's records.
    pub fn partition(&self, service: &ServiceId) -> String {
        format!("{}#{service}", self.account)
    }
}

/// The sort key of a record: the connection, the decision and, for an outcome, AWS's answer.
/// With the service, it identifies the record.
pub fn sort_key(record: &AuditRecord) -> String {
    match record {
        AuditRecord::Decision(d) => decision_sort_key(&d.endpoint_id, d.decision, d.dry_run),
        AuditRecord::Outcome(o) => {
            let answer = match &o.outcome {
                Outcome::Changed => "changed",
                Outcome::Failed { code, .. } => code.as_str(),
            };
            format!(
                "{}#outcome#{answer}",
                decision_sort_key(&o.endpoint_id, o.decision, false)
            )
        }
    }
}

pub fn service_of(record: &AuditRecord) -> &ServiceId {
    match record {
        AuditRecord::Decision(d) => &d.service_id,
        AuditRecord::Outcome(o) => &o.service_id,
    }
}

fn decision_sort_key(endpoint: &EndpointId, decision: Action, dry_run: bool) -> String {
    let mode = if dry_run { "dry-run" } else { "live" };
    format!("{endpoint}#{decision}#{mode}")
}

fn s(value: impl Into<String>) -> RawValue {
    RawValue::S(value.into())
}

fn n(value: i64) -> RawValue {
    RawValue::N(value.to_string())
}

pub fn encode(record: &AuditRecord, provider: &Provider) -> RawItem {
    let mut item = RawItem::from([
        ("pk".to_owned(), s(provider.partition(service_of(record)))),
        ("sk".to_owned(), s(sort_key(record))),
        ("account".to_owned(), s(provider.account.as_str())),
        ("region".to_owned(), s(provider.region.as_str())),
    ]);
    let mut put = |k: &str, v: RawValue| {
        item.insert(k.to_owned(), v);
    };
    match record {
        AuditRecord::Decision(d) => {
            put("kind", s("decision"));
            put("service_id", s(d.service_id.as_str()));
            put("endpoint_id", s(d.endpoint_id.as_str()));
            put("owner", s(d.owner.as_str()));
            put("decision", s(d.decision.as_str()));
            put("reason", s(d.reason.as_str()));
            put("trigger", s(d.trigger.to_string()));
            put("dry_run", RawValue::Bool(d.dry_run));
            put("decided_at", n(d.decided_at));
            put("expires_at", n(d.expires_at));
        }
        AuditRecord::Outcome(o) => {
            put("kind", s("outcome"));
            put("service_id", s(o.service_id.as_str()));
            put("endpoint_id", s(o.endpoint_id.as_str()));
            put("owner", s(o.owner.as_str()));
            put("decision", s(o.decision.as_str()));
            put("trigger", s(o.trigger.to_string()));
            put("dry_run", RawValue::Bool(false));
            put("attempted_at", n(o.attempted_at));
            put("expires_at", n(o.expires_at));
            match &o.outcome {
                Outcome::Changed => put("outcome", s("changed")),
                Outcome::Failed { code, message } => {
                    put("outcome", s("failed"));
                    put("error_code", s(code.as_str()));
                    put("error_message", s(message.as_str()));
                }
            }
        }
    }
    item
}

/// An audit item that does not read as a record (shown as such, never dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub pk: String,
    pub sk: String,
    pub problem: String,
}

fn text<'a>(item: &'a RawItem, name: &str) -> Result<&'a str, String> {
    match item.get(name) {
        Some(RawValue::S(v)) => Ok(v),
        Some(other) => Err(format!("`{name}` is {}, not S", other.type_name())),
        None => Err(format!("`{name}` is missing")),
    }
}

fn number(item: &RawItem, name: &str) -> Result<i64, String> {
    match item.get(name) {
        Some(RawValue::N(v)) => v
            .parse()
            .map_err(|_| format!("`{name}` {v:?} is not whole")),
        Some(other) => Err(format!("`{name}` is {}, not N", other.type_name())),
        None => Err(format!("`{name}` is missing")),
    }
}

pub fn decode(item: &RawItem) -> Result<AuditRecord, Unreadable> {
    let read = || -> Result<AuditRecord, String> {
        let service_id = ServiceId::parse(text(item, "service_id")?).map_err(|e| e.to_string())?;
        let endpoint_id =
            EndpointId::parse(text(item, "endpoint_id")?).map_err(|e| e.to_string())?;
        let owner = AccountId::parse(text(item, "owner")?).map_err(|e| e.to_string())?;
        let decision = Action::parse(text(item, "decision")?)
            .ok_or_else(|| "`decision` is not a decision".to_owned())?;
        let trigger = TriggerKind::parse(text(item, "trigger")?)
            .ok_or_else(|| "`trigger` is not a trigger".to_owned())?;
        let dry_run = match item.get("dry_run") {
            Some(RawValue::Bool(b)) => *b,
            _ => return Err("`dry_run` is not BOOL".into()),
        };
        let expires_at = number(item, "expires_at")?;
        let record = match text(item, "kind")? {
            "decision" => AuditRecord::Decision(DecisionRecord {
                service_id,
                endpoint_id,
                owner,
                decision,
                reason: text(item, "reason")?.to_owned(),
                trigger,
                dry_run,
                decided_at: number(item, "decided_at")?,
                expires_at,
            }),
            "outcome" => AuditRecord::Outcome(OutcomeRecord {
                service_id,
                endpoint_id,
                owner,
                decision,
                trigger,
                outcome: match text(item, "outcome")? {
                    "changed" => Outcome::Changed,
                    "failed" => Outcome::Failed {
                        code: text(item, "error_code")?.to_owned(),
                        message: text(item, "error_message")?.to_owned(),
                    },
                    other => return Err(format!("`outcome` {other:?} is not changed/failed")),
                },
                attempted_at: number(item, "attempted_at")?,
                expires_at,
            }),
            other => return Err(format!("`kind` {other:?} is not decision/outcome")),
        };
        Ok(record)
    };
    read().map_err(|problem| Unreadable {
        pk: text(item, "pk").unwrap_or("<missing>").to_owned(),
        sk: text(item, "sk").unwrap_or("<missing>").to_owned(),
        problem,
    })
}

/// The audit table in DynamoDB. Functions may only append to it; operators read it.
#[derive(Debug, Clone)]
pub struct AuditTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
    provider: Provider,
}

impl AuditTable {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        provider: Provider,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            provider,
        }
    }

    /// The records of one of the provider's services (one Query), or every record the table
    /// holds (a Scan: in a hub's table, every member's).
    pub async fn records(
        &self,
        service: Option<&ServiceId>,
    ) -> Result<Vec<Result<AuditRecord, Unreadable>>, PortError> {
        let items = match service {
            Some(s) => {
                query_partition(&self.client, &self.table, &self.provider.partition(s), None)
                    .await?
            }
            None => scan_all(&self.client, &self.table).await?,
        };
        Ok(items.iter().map(|i| decode(&raw_item(i))).collect())
    }

    /// One transaction of conditional puts. Returns the positions that were refused because the
    /// key exists (first record wins), or an error; a transaction cancelled for any other reason
    /// (a conflict, throttling) wrote nothing and is reported as retryable.
    async fn transact(&self, items: &[RawItem]) -> Result<Vec<usize>, (PortError, bool)> {
        let actions: Vec<TransactWriteItem> = items
            .iter()
            .map(|item| {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(attribute_map(item)))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .expect("table, item and condition are set");
                TransactWriteItem::builder().put(put).build()
            })
            .collect();
        let err = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await
        {
            Ok(_) => return Ok(Vec::new()),
            Err(err) => err,
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            err.as_service_error()
        {
            let reasons = cancelled.cancellation_reasons();
            let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
            let exists: Vec<usize> = codes
                .iter()
                .enumerate()
                .filter(|(_, c)| **c == "ConditionalCheckFailed")
                .map(|(i, _)| i)
                .collect();
            let other = codes
                .iter()
                .any(|c| *c != "ConditionalCheckFailed" && *c != "None");
            if !other && codes.len() == items.len() {
                return Ok(exists);
            }
            return Err((port_error("TransactWriteItems", err), true));
        }
        let retryable = matches!(
            err.as_service_error(),
            Some(TransactWriteItemsError::TransactionInProgressException(_))
        );
        Err((port_error("TransactWriteItems", err), retryable))
    }
}

impl AuditLog for AuditTable {
    /// Conditional puts in transactions of up to 100. When a transaction is cancelled because
    /// some keys exist, it is sent again without them (they are kept as they are); when it is
    /// cancelled for another reason it wrote nothing and is sent again after a pause.
    async fn append(&self, records: &[AuditRecord]) -> Result<(), PortError> {
        for batch in records.chunks(TRANSACTION_MAX) {
            let mut items: Vec<RawItem> = batch.iter().map(|r| encode(r, &self.provider)).collect();
            let mut round = 0;
            loop {
                match self.transact(&items).await {
                    Ok(exists) if exists.is_empty() => break,
                    Ok(exists) => {
                        let exists: BTreeSet<usize> = exists.into_iter().collect();
                        items = items
                            .into_iter()
                            .enumerate()
                            .filter(|(i, _)| !exists.contains(i))
                            .map(|(_, item)| item)
                            .collect();
                        if items.is_empty() {
                            break;
                        }
                    }
                    Err((err, retryable)) => {
                        round += 1;
                        if !retryable || round >= TRANSACTION_ROUNDS {
                            return Err(err);
                        }
                        sleep(Duration::from_millis(50 << round)).await;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ConnectionState;
    use crate::domain::decision::{Connection, Decision, Reason};

    fn decision(dry_run: bool, trigger: TriggerKind, now: i64) -> DecisionRecord {
        let conn = Connection {
            service: ServiceId::parse("vpce-svc-0a").unwrap(),
            endpoint: EndpointId::parse("vpce-0b").unwrap(),
            owner: AccountId::parse("111122223333").unwrap(),
            state: ConnectionState::PendingAcceptance,
        };
        let d = Decision {
            action: Action::Reject,
            reason: Reason::NoLongerAllowed,
        };
        DecisionRecord::new(&conn, &d, &trigger, dry_run, now, 30)
    }

    #[test]
    fn keys_hold_the_connection_and_decision_never_the_time_or_trigger() {
        let first = AuditRecord::Decision(decision(false, TriggerKind::Schedule, 100));
        let replay = AuditRecord::Decision(decision(false, TriggerKind::Sns, 200));
        let provider = Provider {
            account: AccountId::parse("111122223333").unwrap(),
            region: "us-east-1".into(),
        };
        let key = |r: &AuditRecord| {
            let item = encode(r, &provider);
            match (&item["pk"], &item["sk"]) {
                (RawValue::S(pk), RawValue::S(sk)) => (pk.clone(), sk.clone()),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(key(&first), key(&replay));
        assert_eq!(
            key(&first),
            (
                "111122223333#vpce-svc-0a".to_owned(),
                "vpce-0b#reject#live".to_owned()
            )
        );
        let dry = AuditRecord::Decision(decision(true, TriggerKind::Sns, 200));
        assert_eq!(key(&dry).1, "vpce-0b#reject#dry-run");
        let live = decision(false, TriggerKind::Schedule, 100);
        let changed = AuditRecord::Outcome(live.outcome(Outcome::Changed, 150));
        let throttled = AuditRecord::Outcome(live.outcome(
            Outcome::Failed {
                code: "RequestLimitExceeded".into(),
                message: "slow down".into(),
            },
            140,
        ));
        assert_eq!(key(&changed).1, "vpce-0b#reject#live#outcome#changed");
        assert_eq!(
            key(&throttled).1,
            "vpce-0b#reject#live#outcome#RequestLimitExceeded"
        );
    }

    #[test]
    fn records_read_back_as_written_and_anything_else_is_unreadable() {
        let d = decision(
            false,
            TriggerKind::Operator("arn:aws:iam::111122223333:user/ops".into()),
            100,
        );
        let records = [
            AuditRecord::Decision(d.clone()),
            AuditRecord::Outcome(d.outcome(Outcome::Changed, 101)),
            AuditRecord::Outcome(d.outcome(
                Outcome::Failed {
                    code: "InvalidState".into(),
                    message: "m".into(),
                },
                102,
            )),
        ];
        let provider = Provider {
            account: AccountId::parse("222222222222").unwrap(),
            region: "us-west-2".into(),
        };
        for record in records {
            let item = encode(&record, &provider);
            assert_eq!(
                item["pk"],
                RawValue::S(format!("222222222222#{}", d.service_id))
            );
            assert_eq!(item["region"], RawValue::S("us-west-2".into()));
            assert_eq!(decode(&item), Ok(record));
        }
        let mut item = encode(&AuditRecord::Decision(d), &provider);
        item.insert("decision".into(), RawValue::S("approve".into()));
        let unreadable = decode(&item).unwrap_err();
        assert_eq!(unreadable.sk, "vpce-0b#reject#live");
        assert!(
            unreadable.problem.contains("`decision`"),
            "{}",
            unreadable.problem
        );
        assert_eq!(d_expiry(), 100 + 30 * 86_400);
    }

    fn d_expiry() -> i64 {
        decision(false, TriggerKind::Schedule, 100).expires_at
    }
}
