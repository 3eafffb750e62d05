//! The allowlist table: its item format (strict), and its one DynamoDB adapter.
//!
//! | item | attributes |
//! |---|---|
//! | rule | `pk` (service id or `*`), `sk` (account id, organization id `o-...`, OU id `ou-...` (the accounts below it, at any depth) or `*`), `effect` (`allow`/`deny`, required), `expires_at` (N, epoch seconds 2000-01-01..2200-01-01), `note`, `created_by`, `created_at` (S, ISO-8601 UTC) |
//! | policy | `pk` (service id), `sk` = `#policy`, `unmatched` (`reject`/`leave`), `revoke` (BOOL), `dry_run` (BOOL), `note`, `created_by`, `created_at` |
//!
//! An item is well-formed only if every attribute is one of these, with this type and this exact
//! spelling. Anything else decodes to a [`MalformedItem`] naming what is wrong, with the scope it
//! holds: its `pk` when that reads as a service id (else every service) and its `sk` when that
//! reads as an account id (else every account: an `o-`/`ou-` key too, since which accounts an
//! OU holds is not known without AWS Organizations).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::Serialize;

use super::dynamo::{attribute_map, raw_item, scan_all};
use super::{RawItem, RawValue};
use crate::adapters::port_error;
use crate::domain::allowlist::{
    Allowlist, Consumers, Effect, ItemKey, MalformedItem, POLICY_SORT_KEY, PolicyItem, Rule, Scope,
    UnmatchedAction, WILDCARD,
};
use crate::domain::hour::{format_utc, parse_utc};
use crate::domain::{AccountId, ServiceId};
use crate::ports::{AllowlistStore, PortError};

const RULE_ATTRIBUTES: [&str; 7] = [
    "pk",
    "sk",
    "effect",
    "expires_at",
    "note",
    "created_by",
    "created_at",
];
const POLICY_ATTRIBUTES: [&str; 8] = [
    "pk",
    "sk",
    "unmatched",
    "revoke",
    "dry_run",
    "note",
    "created_by",
    "created_at",
];
/// `expires_at` bounds: 2000-01-01 and 2200-01-01 (epoch seconds). Milliseconds fall outside.
pub const EXPIRES_AT_MIN: i64 = 946_684_800;
pub const EXPIRES_AT_MAX: i64 = 7_258_118_400;

/// Who wrote an item, when, and why (free text). Never decides anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub note: Option<String>,
    pub created_by: Option<String>,
    /// Epoch seconds.
    pub created_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    pub rule: Rule,
    pub meta: Metadata,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    pub service: ServiceId,
    pub policy: PolicyItem,
    pub meta: Metadata,
}

/// One item of the table, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Rule(StoredRule),
    Policy(StoredPolicy),
    Malformed(MalformedItem),
}

impl Entry {
    pub fn key(&self) -> ItemKey {
        match self {
            Entry::Rule(r) => rule_key(&r.rule),
            Entry::Policy(p) => policy_key(&p.service),
            Entry::Malformed(m) => m.key.clone(),
        }
    }
}

/// The keys a rule is stored under.
pub fn rule_key(rule: &Rule) -> ItemKey {
    ItemKey {
        pk: rule.service.to_string(),
        sk: rule.account.to_string(),
    }
}

/// The keys a service's policy is stored under.
pub fn policy_key(service: &ServiceId) -> ItemKey {
    ItemKey {
        pk: service.to_string(),
        sk: POLICY_SORT_KEY.to_owned(),
    }
}

/// Every decoded entry, sorted into what the approver decides with.
pub fn allowlist(entries: impl IntoIterator<Item = Entry>) -> Allowlist {
    let mut out = Allowlist::default();
    for entry in entries {
        match entry {
            Entry::Rule(r) => out.rules.push(r.rule),
            Entry::Policy(p) => {
                out.policies.insert(p.service, p.policy);
            }
            Entry::Malformed(m) => out.malformed.push(m),
        }
    }
    out
}

fn key_text(item: &RawItem, name: &str) -> String {
    match item.get(name) {
        Some(RawValue::S(s)) => s.clone(),
        Some(other) => format!("<{}>", other.type_name()),
        None => "<missing>".to_owned(),
    }
}

/// Decodes one item. Never fails: what is not well-formed is a [`MalformedItem`].
pub fn decode(item: &RawItem) -> Entry {
    let key = ItemKey {
        pk: key_text(item, "pk"),
        sk: key_text(item, "sk"),
    };
    match decode_strict(item) {
        Ok(entry) => entry,
        Err(problem) => Entry::Malformed(malformed(key, problem)),
    }
}

/// A malformed item with the scope it holds, read as leniently as its keys allow.
fn malformed(key: ItemKey, problem: String) -> MalformedItem {
    let pk = key.pk.trim().to_ascii_lowercase();
    let services = if pk == WILDCARD {
        Scope::Any
    } else {
        let named: Vec<ServiceId> = ServiceId::find_all(&pk).into_iter().collect();
        match <[ServiceId; 1]>::try_from(named) {
            Ok([one]) => Scope::One(one),
            Err(_) => Scope::Any,
        }
    };
    let sk = key.sk.trim();
    let accounts = match AccountId::from_principal(sk) {
        Ok(account) => Scope::One(account),
        Err(_) => Scope::Any,
    };
    let is_policy = sk.starts_with('#');
    MalformedItem {
        key,
        problem,
        services,
        accounts,
        is_policy,
    }
}

fn decode_strict(item: &RawItem) -> Result<Entry, String> {
    let pk = required_string(item, "pk")?;
    let sk = required_string(item, "sk")?;
    if sk == POLICY_SORT_KEY {
        only_known(item, &POLICY_ATTRIBUTES, "a policy")?;
        let service = ServiceId::parse(pk).map_err(|e| format!("`pk`: {e}"))?;
        let unmatched = match optional_string(item, "unmatched")? {
            None => None,
            Some(v) => Some(UnmatchedAction::parse(v).ok_or_else(|| {
                format!("`unmatched` must be exactly `reject` or `leave`, found {v:?}")
            })?),
        };
        return Ok(Entry::Policy(StoredPolicy {
            service,
            policy: PolicyItem {
                unmatched,
                revoke: optional_bool(item, "revoke")?,
                dry_run: optional_bool(item, "dry_run")?,
            },
            meta: metadata(item)?,
        }));
    }
    only_known(item, &RULE_ATTRIBUTES, "a rule")?;
    let service = if pk == WILDCARD {
        Scope::Any
    } else {
        Scope::One(ServiceId::parse(pk).map_err(|e| format!("`pk`: {e} (or `*`)"))?)
    };
    let account = Consumers::parse(sk).map_err(|e| {
        format!("`sk`: {e} (or `*`, an organization id `o-...`, an OU id `ou-...` or `#policy`)")
    })?;
    let effect = match optional_string(item, "effect")? {
        Some("allow") => Effect::Allow,
        Some("deny") => Effect::Deny,
        Some(other) => {
            return Err(format!(
                "`effect` must be exactly `allow` or `deny`, found {other:?}"
            ));
        }
        None => return Err("`effect` is required (`allow` or `deny`)".into()),
    };
    Ok(Entry::Rule(StoredRule {
        rule: Rule {
            service,
            account,
            effect,
            expires_at: expires_at(item)?,
        },
        meta: metadata(item)?,
    }))
}

fn only_known(item: &RawItem, known: &[&str], what: &str) -> Result<(), String> {
    match item.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(format!(
            "unknown attribute `{unknown}` ({what} has only {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

fn required_string<'a>(item: &'a RawItem, name: &str) -> Result<&'a str, String> {
    optional_string(item, name)?.ok_or_else(|| format!("`{name}` is missing"))
}

fn optional_string<'a>(item: &'a RawItem, name: &str) -> Result<Option<&'a str>, String> {
    match item.get(name) {
        None => Ok(None),
        Some(RawValue::S(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "`{name}` must be a string (S), found {}",
            other.type_name()
        )),
    }
}

fn optional_bool(item: &RawItem, name: &str) -> Result<Option<bool>, String> {
    match item.get(name) {
        None => Ok(None),
        Some(RawValue::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!(
            "`{name}` must be a boolean (BOOL), found {}",
            other.type_name()
        )),
    }
}

/// Whole epoch seconds in range. A number DynamoDB may hand back as `1800000000.0` is whole;
/// an exponent, a fraction or milliseconds are not what the contract says.
fn expires_at(item: &RawItem) -> Result<Option<i64>, String> {
    let text = match item.get("expires_at") {
        None => return Ok(None),
        Some(RawValue::N(n)) => n,
        Some(other) => {
            return Err(format!(
                "`expires_at` must be a number (N) of epoch seconds, found {}",
                other.type_name()
            ));
        }
    };
    let whole = match text.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b == b'0') => whole,
        Some(_) => text.as_str(),
        None => text.as_str(),
    };
    let seconds = whole
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| whole.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| format!("`expires_at` must be whole epoch seconds, found {text:?}"))?;
    if !(EXPIRES_AT_MIN..=EXPIRES_AT_MAX).contains(&seconds) {
        return Err(format!(
            "`expires_at` {text} is not epoch seconds between 2000-01-01 and 2200-01-01 (milliseconds?)"
        ));
    }
    Ok(Some(seconds))
}

fn metadata(item: &RawItem) -> Result<Metadata, String> {
    let created_at = match optional_string(item, "created_at")? {
        None => None,
        Some(text) => Some(parse_utc(text).map_err(|e| format!("`created_at`: {e}"))?),
    };
    Ok(Metadata {
        note: optional_string(item, "note")?.map(str::to_owned),
        created_by: optional_string(item, "created_by")?.map(str::to_owned),
        created_at,
    })
}

fn put_meta(item: &mut RawItem, meta: &Metadata) {
    if let Some(note) = &meta.note {
        item.insert("note".into(), RawValue::S(note.clone()));
    }
    if let Some(by) = &meta.created_by {
        item.insert("created_by".into(), RawValue::S(by.clone()));
    }
    if let Some(at) = meta.created_at {
        item.insert("created_at".into(), RawValue::S(format_utc(at)));
    }
}

pub fn encode_rule(stored: &StoredRule) -> RawItem {
    let key = rule_key(&stored.rule);
    let mut item = RawItem::from([
        ("pk".to_owned(), RawValue::S(key.pk)),
        ("sk".to_owned(), RawValue::S(key.sk)),
        (
            "effect".to_owned(),
            RawValue::S(stored.rule.effect.as_str().to_owned()),
        ),
    ]);
    if let Some(at) = stored.rule.expires_at {
        item.insert("expires_at".into(), RawValue::N(at.to_string()));
    }
    put_meta(&mut item, &stored.meta);
    item
}

pub fn encode_policy(stored: &StoredPolicy) -> RawItem {
    let key = policy_key(&stored.service);
    let mut item = RawItem::from([
        ("pk".to_owned(), RawValue::S(key.pk)),
        ("sk".to_owned(), RawValue::S(key.sk)),
    ]);
    if let Some(u) = stored.policy.unmatched {
        item.insert("unmatched".into(), RawValue::S(u.as_str().to_owned()));
    }
    if let Some(r) = stored.policy.revoke {
        item.insert("revoke".into(), RawValue::Bool(r));
    }
    if let Some(d) = stored.policy.dry_run {
        item.insert("dry_run".into(), RawValue::Bool(d));
    }
    put_meta(&mut item, &stored.meta);
    item
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Replaced,
    /// An item with the same keys exists and replacing was not asked for: nothing written.
    AlreadyExists,
}

/// The allowlist table in DynamoDB: the approver reads it whole; operators (`plgov`) write it.
#[derive(Debug, Clone)]
pub struct AllowlistTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl AllowlistTable {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.table
    }

    /// Every item of the table, decoded (one consistent Scan, all pages).
    pub async fn entries(&self) -> Result<Vec<Entry>, PortError> {
        let items = scan_all(&self.client, &self.table).await?;
        Ok(items.iter().map(|i| decode(&raw_item(i))).collect())
    }

    /// The item with these exact keys, decoded.
    pub async fn get(&self, key: &ItemKey) -> Result<Option<Entry>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.pk.clone()))
            .key("sk", AttributeValue::S(key.sk.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("GetItem", e))?;
        Ok(out.item().map(|i| decode(&raw_item(i))))
    }

    /// Writes a rule; without `replace` only if no item has its keys.
    pub async fn put_rule(&self, rule: &StoredRule, replace: bool) -> Result<Written, PortError> {
        self.put(encode_rule(rule), replace).await
    }

    /// Writes a service's policy item, replacing the one there.
    pub async fn put_policy(&self, policy: &StoredPolicy) -> Result<Written, PortError> {
        self.put(encode_policy(policy), true).await
    }

    /// Writes an item as given, well-formed or not: for tests that need a hand-written item.
    pub async fn put_raw(&self, item: &RawItem) -> Result<(), PortError> {
        self.put(item.clone(), true).await.map(|_| ())
    }

    async fn put(&self, item: RawItem, replace: bool) -> Result<Written, PortError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(attribute_map(&item)));
        put = if replace {
            put.return_values(ReturnValue::AllOld)
        } else {
            put.condition_expression("attribute_not_exists(pk)")
        };
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

    /// Deletes the item with these exact keys; returns what it was, if there was one.
    pub async fn delete(&self, key: &ItemKey) -> Result<Option<Entry>, PortError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.pk.clone()))
            .key("sk", AttributeValue::S(key.sk.clone()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| port_error("DeleteItem", e))?;
        Ok(out
            .attributes()
            .filter(|a| !a.is_empty())
            .map(|a: &HashMap<String, AttributeValue>| decode(&raw_item(a))))
    }
}

impl AllowlistStore for AllowlistTable {
    async fn load(&self) -> Result<Allowlist, PortError> {
        Ok(allowlist(self.entries().await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVC: &str = "vpce-svc-0abc";
    const ACCT: &str = "111122223333";

    fn item(pairs: &[(&str, RawValue)]) -> RawItem {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> RawValue {
        RawValue::S(v.to_owned())
    }

    fn malformed(raw: &RawItem) -> MalformedItem {
        match decode(raw) {
            Entry::Malformed(m) => m,
            other => panic!("{raw:?} should be malformed, decoded as {other:?}"),
        }
    }

    #[test]
    fn well_formed_rules_and_policies_decode() {
        let rule = decode(&item(&[
            ("pk", s("*")),
            ("sk", s(ACCT)),
            ("effect", s("deny")),
            ("expires_at", RawValue::N("1800000000".into())),
            ("note", s("offboarded")),
            ("created_by", s("arn:aws:iam::111122223333:user/ops")),
            ("created_at", s("2026-11-27T08:00:00Z")),
        ]));
        let Entry::Rule(stored) = rule else {
            panic!("{rule:?}")
        };
        assert_eq!(stored.rule.effect, Effect::Deny);
        assert_eq!(stored.rule.service, Scope::Any);
        assert_eq!(stored.rule.expires_at, Some(1_800_000_000));
        assert_eq!(stored.meta.created_at, Some(1_795_766_400));
        let policy = decode(&item(&[
            ("pk", s(SVC)),
            ("sk", s("#policy")),
            ("unmatched", s("leave")),
            ("revoke", RawValue::Bool(true)),
            ("dry_run", RawValue::Bool(false)),
        ]));
        assert_eq!(
            policy,
            Entry::Policy(StoredPolicy {
                service: ServiceId::parse(SVC).unwrap(),
                policy: PolicyItem {
                    unmatched: Some(UnmatchedAction::Leave),
                    revoke: Some(true),
                    dry_run: Some(false)
                },
                meta: Metadata::default(),
            })
        );
        // A whole number DynamoDB writes with a zero fraction is still whole seconds.
        let zero_fraction = decode(&item(&[
            ("pk", s(SVC)),
            ("sk", s(ACCT)),
            ("effect", s("allow")),
            ("expires_at", RawValue::N("1800000000.0".into())),
        ]));
        assert!(
            matches!(zero_fraction, Entry::Rule(r) if r.rule.expires_at == Some(1_800_000_000))
        );
    }

    /// The cases a new user ran into: each is malformed, named, and holds what it might match.
    #[test]
    fn the_reported_cases_are_malformed_and_hold_their_scope() {
        let capitalised = malformed(&item(&[
            ("pk", s(SVC)),
            ("sk", s(ACCT)),
            ("Effect", s("deny")),
        ]));
        assert!(
            capitalised.problem.contains("unknown attribute `Effect`"),
            "{}",
            capitalised.problem
        );
        assert_eq!(
            capitalised.services,
            Scope::One(ServiceId::parse(SVC).unwrap())
        );
        assert_eq!(
            capitalised.accounts,
            Scope::One(AccountId::parse(ACCT).unwrap())
        );
        let string_expiry = malformed(&item(&[
            ("pk", s(SVC)),
            ("sk", s(ACCT)),
            ("effect", s("deny")),
            ("expires_at", s("1800000000")),
        ]));
        assert!(
            string_expiry
                .problem
                .contains("`expires_at` must be a number (N)"),
            "{}",
            string_expiry.problem
        );
        let string_dry_run = malformed(&item(&[
            ("pk", s(SVC)),
            ("sk", s("#policy")),
            ("dry_run", s("true")),
        ]));
        assert!(string_dry_run.is_policy);
        assert!(
            string_dry_run
                .problem
                .contains("`dry_run` must be a boolean")
        );
        let milliseconds = malformed(&item(&[
            ("pk", s(SVC)),
            ("sk", s(ACCT)),
            ("effect", s("allow")),
            ("expires_at", RawValue::N("1700000000000".into())),
        ]));
        assert!(
            milliseconds
                .problem
                .contains("between 2000-01-01 and 2200-01-01"),
            "{}",
            milliseconds.problem
        );
        let no_effect = malformed(&item(&[("pk", s(SVC)), ("sk", s(ACCT))]));
        assert!(no_effect.problem.contains("`effect` is required"));
    }

    #[test]
    fn every_kind_of_malformed_item_names_its_problem() {
        let cases: Vec<(RawItem, &str)> = vec![
            (item(&[("sk", s(ACCT))]), "`pk` is missing"),
            (item(&[("pk", s(SVC))]), "`sk` is missing"),
            (
                item(&[("pk", RawValue::N("1".into())), ("sk", s(ACCT))]),
                "`pk` must be a string (S), found N",
            ),
            (
                item(&[("pk", s("svc-1")), ("sk", s(ACCT)), ("effect", s("allow"))]),
                "`pk`: invalid endpoint service id \"svc-1\"",
            ),
            (
                item(&[("pk", s(SVC)), ("sk", s("1234")), ("effect", s("allow"))]),
                "`sk`: invalid AWS account id \"1234\"",
            ),
            (
                item(&[("pk", s(SVC)), ("sk", s(ACCT)), ("effect", s("Allow"))]),
                "exactly `allow` or `deny`, found \"Allow\"",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(ACCT)),
                    ("effect", RawValue::Bool(true)),
                ]),
                "`effect` must be a string (S), found BOOL",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(ACCT)),
                    ("effect", s("allow")),
                    ("expires_at", RawValue::N("1.8e9".into())),
                ]),
                "whole epoch seconds",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(ACCT)),
                    ("effect", s("allow")),
                    ("expires_at", RawValue::N("1800000000.5".into())),
                ]),
                "whole epoch seconds",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(ACCT)),
                    ("effect", s("allow")),
                    ("note", RawValue::Other("L")),
                ]),
                "`note` must be a string (S), found L",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(ACCT)),
                    ("effect", s("allow")),
                    ("created_at", s("yesterday")),
                ]),
                "`created_at`: invalid hour \"yesterday\"",
            ),
            (
                item(&[("pk", s("*")), ("sk", s("#policy"))]),
                "`pk`: invalid endpoint service id \"*\"",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s("#policy")),
                    ("unmatched", s("Leave")),
                ]),
                "`unmatched` must be exactly `reject` or `leave`",
            ),
            (
                item(&[("pk", s(SVC)), ("sk", s("#policy")), ("effect", s("allow"))]),
                "unknown attribute `effect` (a policy has only",
            ),
        ];
        for (raw, expected) in cases {
            let m = malformed(&raw);
            assert!(
                m.problem.contains(expected),
                "{} should mention {expected}",
                m.problem
            );
            assert!(
                m.to_string().starts_with("malformed allowlist item (pk "),
                "{m}"
            );
        }
    }

    #[test]
    fn a_malformed_item_holds_what_its_keys_still_name_and_everything_else_they_do_not() {
        let svc = ServiceId::parse(SVC).unwrap();
        let acct = AccountId::parse(ACCT).unwrap();
        let broken = |pk: &str, sk: &str| {
            malformed(&item(&[
                ("pk", s(pk)),
                ("sk", s(sk)),
                ("effect", s("DENY")),
            ]))
        };
        let upper = broken("VPCE-SVC-0ABC", ACCT);
        assert_eq!(
            (upper.services, upper.accounts),
            (Scope::One(svc.clone()), Scope::One(acct.clone()))
        );
        let spaced = broken(SVC, " 111122223333 ");
        assert_eq!(spaced.accounts, Scope::One(acct.clone()));
        let arn = broken(SVC, "arn:aws:iam::111122223333:root");
        assert_eq!(arn.accounts, Scope::One(acct.clone()));
        let junk = broken("svc", "team-a");
        assert_eq!((junk.services, junk.accounts), (Scope::Any, Scope::Any));
        assert!(!junk.is_policy);
        let policy_like = broken(SVC, "#Policy");
        assert!(policy_like.is_policy);
        assert!(policy_like.could_apply(&svc, &AccountId::parse("999999999999").unwrap()));
        assert!(!policy_like.could_apply(&ServiceId::parse("vpce-svc-0b").unwrap(), &acct));
    }

    #[test]
    fn what_plgov_writes_reads_back_as_written() {
        let rule = StoredRule {
            rule: Rule {
                service: Scope::One(ServiceId::parse(SVC).unwrap()),
                account: Consumers::Any,
                effect: Effect::Allow,
                expires_at: Some(1_800_000_000),
            },
            meta: Metadata {
                note: Some("partner".into()),
                created_by: Some("arn:aws:iam::111122223333:user/ops".into()),
                created_at: Some(1_795_766_400),
            },
        };
        let encoded = encode_rule(&rule);
        assert_eq!(encoded.get("effect"), Some(&s("allow")));
        assert_eq!(encoded.get("created_at"), Some(&s("2026-11-27T08:00:00Z")));
        assert_eq!(decode(&encoded), Entry::Rule(rule));
        let policy = StoredPolicy {
            service: ServiceId::parse(SVC).unwrap(),
            policy: PolicyItem {
                unmatched: None,
                revoke: Some(false),
                dry_run: Some(true),
            },
            meta: Metadata::default(),
        };
        let encoded = encode_policy(&policy);
        assert_eq!(encoded.get("dry_run"), Some(&RawValue::Bool(true)));
        assert!(!encoded.contains_key("unmatched"));
        assert_eq!(decode(&encoded), Entry::Policy(policy));
    }
}

#[cfg(test)]
mod edge_properties {
    use proptest::prelude::*;

    use super::*;

    fn arb_value() -> impl Strategy<Value = RawValue> {
        prop_oneof![
            prop_oneof![
                Just("allow".to_owned()),
                Just("deny".to_owned()),
                Just("*".to_owned()),
                Just("#policy".to_owned()),
                Just("vpce-svc-0a".to_owned()),
                Just("111122223333".to_owned()),
                Just("leave".to_owned()),
                "\\PC{0,16}",
            ]
            .prop_map(RawValue::S),
            prop_oneof![Just("1800000000".to_owned()), "-?[0-9.eE+]{1,14}"].prop_map(RawValue::N),
            any::<bool>().prop_map(RawValue::Bool),
            prop_oneof![Just("L"), Just("M"), Just("NULL"), Just("SS")].prop_map(RawValue::Other),
        ]
    }

    fn arb_name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("pk".to_owned()),
            Just("sk".to_owned()),
            Just("effect".to_owned()),
            Just("expires_at".to_owned()),
            Just("note".to_owned()),
            Just("unmatched".to_owned()),
            Just("revoke".to_owned()),
            Just("dry_run".to_owned()),
            "[A-Za-z_]{1,10}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Any item decodes without panicking; what decodes as a rule or policy is written back
        /// as the very same attributes (nothing in a well-formed item is ignored); what does not
        /// names its problem.
        #[test]
        fn any_item_decodes_and_well_formed_ones_round_trip(
            raw in proptest::collection::btree_map(arb_name(), arb_value(), 0..7),
        ) {
            match decode(&raw) {
                Entry::Rule(rule) => {
                    let mut back = encode_rule(&rule);
                    // The encoder writes the canonical number form.
                    if let (Some(RawValue::N(_)), Some(RawValue::N(original))) = (back.get("expires_at"), raw.get("expires_at")) {
                        back.insert("expires_at".into(), RawValue::N(original.clone()));
                    }
                    prop_assert_eq!(back, raw);
                }
                Entry::Policy(policy) => prop_assert_eq!(encode_policy(&policy), raw),
                Entry::Malformed(m) => prop_assert!(!m.problem.is_empty()),
            }
        }
    }
}
