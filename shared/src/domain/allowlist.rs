//! Allowlist rules and service policies, parsed from the items of the allowlist table.
//!
//! Items arrive as [`RawItem`]s (attribute name to a typed value, with no AWS types),
//! so parsing is pure and testable. An item that does not parse becomes an
//! [`ItemError`]: it is skipped, logged and counted, and never matched.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::ids::{AccountId, IdError, ServiceId};

/// The sort key of a service's policy item.
pub const POLICY_SORT_KEY: &str = "#policy";
/// The key value meaning "every service" (pk) or "every account" (sk).
pub const WILDCARD: &str = "*";

/// A DynamoDB attribute value, reduced to what the allowlist needs.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    S(String),
    N(String),
    Bool(bool),
    /// Any other DynamoDB type, by its type name (e.g. "L", "M", "NULL").
    Other(&'static str),
}

pub type RawItem = BTreeMap<String, RawValue>;

/// `*` or one specific value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum Scope<T> {
    #[serde(serialize_with = "serialize_wildcard")]
    Any,
    One(T),
}

fn serialize_wildcard<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(WILDCARD)
}

impl<T: PartialEq> Scope<T> {
    pub fn matches(&self, value: &T) -> bool {
        match self {
            Scope::Any => true,
            Scope::One(v) => v == value,
        }
    }
}

impl<T: fmt::Display> fmt::Display for Scope<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Any => f.write_str(WILDCARD),
            Scope::One(v) => v.fmt(f),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Allow,
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        })
    }
}

/// One allowlist rule: who (account) may or may not connect to what (service).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Rule {
    pub service: Scope<ServiceId>,
    pub account: Scope<AccountId>,
    pub effect: Effect,
    /// Epoch seconds; the rule is ignored from this instant on.
    pub expires_at: Option<i64>,
}

impl Rule {
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }

    pub fn matches(&self, service: &ServiceId, account: &AccountId, now: i64) -> bool {
        self.is_live(now) && self.service.matches(service) && self.account.matches(account)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rule (service {}, account {})",
            self.effect, self.service, self.account
        )
    }
}

/// What to do with a pending connection that no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnmatchedAction {
    #[default]
    Reject,
    Leave,
}

impl UnmatchedAction {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "reject" => Some(Self::Reject),
            "leave" => Some(Self::Leave),
            _ => None,
        }
    }
}

impl fmt::Display for UnmatchedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Reject => "reject",
            Self::Leave => "leave",
        })
    }
}

/// A service's policy item; every field is optional in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PolicyItem {
    pub unmatched: Option<UnmatchedAction>,
    pub revoke: Option<bool>,
    pub dry_run: Option<bool>,
}

/// The policy in force for a service: its policy item over the function's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ServicePolicy {
    pub unmatched: UnmatchedAction,
    pub revoke: bool,
    pub dry_run: bool,
}

impl ServicePolicy {
    /// `item` over `defaults`. A dry run asked for anywhere stays a dry run.
    pub fn resolve(item: Option<&PolicyItem>, defaults: ServicePolicy) -> Self {
        let item = item.copied().unwrap_or_default();
        Self {
            unmatched: item.unmatched.unwrap_or(defaults.unmatched),
            revoke: item.revoke.unwrap_or(defaults.revoke),
            dry_run: defaults.dry_run || item.dry_run.unwrap_or(false),
        }
    }
}

/// A parsed allowlist item.
#[derive(Debug, Clone, PartialEq)]
pub enum AllowlistItem {
    Rule(Rule),
    Policy {
        service: ServiceId,
        policy: PolicyItem,
    },
}

/// Why an allowlist item was skipped. Names the item's keys and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allowlist item (pk {pk:?}, sk {sk:?}) ignored: {problem}")]
pub struct ItemError {
    pub pk: String,
    pub sk: String,
    pub problem: String,
}

fn string_attr<'a>(item: &'a RawItem, name: &str) -> Result<Option<&'a str>, String> {
    match item.get(name) {
        None => Ok(None),
        Some(RawValue::S(s)) => Ok(Some(s)),
        Some(other) => Err(format!(
            "attribute `{name}` must be a string, found {}",
            type_name(other)
        )),
    }
}

fn bool_attr(item: &RawItem, name: &str) -> Result<Option<bool>, String> {
    match item.get(name) {
        None => Ok(None),
        Some(RawValue::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!(
            "attribute `{name}` must be a boolean, found {}",
            type_name(other)
        )),
    }
}

fn type_name(value: &RawValue) -> &'static str {
    match value {
        RawValue::S(_) => "S",
        RawValue::N(_) => "N",
        RawValue::Bool(_) => "BOOL",
        RawValue::Other(t) => t,
    }
}

fn parse_expiry(item: &RawItem) -> Result<Option<i64>, String> {
    match item.get("expires_at") {
        None => Ok(None),
        Some(RawValue::N(n)) => n.parse::<i64>().map(Some).map_err(|_| {
            format!("attribute `expires_at` must be whole epoch seconds, found {n:?}")
        }),
        Some(other) => Err(format!(
            "attribute `expires_at` must be a number, found {}",
            type_name(other)
        )),
    }
}

fn parse_service_scope(pk: &str) -> Result<Scope<ServiceId>, IdError> {
    if pk == WILDCARD {
        Ok(Scope::Any)
    } else {
        ServiceId::parse(pk).map(Scope::One)
    }
}

fn parse_account_scope(sk: &str) -> Result<Scope<AccountId>, IdError> {
    if sk == WILDCARD {
        Ok(Scope::Any)
    } else {
        AccountId::parse(sk).map(Scope::One)
    }
}

/// Parses one item of the allowlist table.
pub fn parse_item(item: &RawItem) -> Result<AllowlistItem, ItemError> {
    let key = |name: &str| match item.get(name) {
        Some(RawValue::S(s)) => s.clone(),
        Some(other) => format!("<{}>", type_name(other)),
        None => "<missing>".to_owned(),
    };
    let (pk, sk) = (key("pk"), key("sk"));
    parse_fields(item, &pk, &sk).map_err(|problem| ItemError { pk, sk, problem })
}

fn parse_fields(item: &RawItem, pk: &str, sk: &str) -> Result<AllowlistItem, String> {
    string_attr(item, "pk")?.ok_or("attribute `pk` is missing")?;
    string_attr(item, "sk")?.ok_or("attribute `sk` is missing")?;
    if sk == POLICY_SORT_KEY {
        let service = ServiceId::parse(pk).map_err(|e| e.to_string())?;
        let unmatched = match string_attr(item, "unmatched")? {
            None => None,
            Some(v) => Some(UnmatchedAction::parse(v).ok_or_else(|| {
                format!("attribute `unmatched` must be `reject` or `leave`, found {v:?}")
            })?),
        };
        let policy = PolicyItem {
            unmatched,
            revoke: bool_attr(item, "revoke")?,
            dry_run: bool_attr(item, "dry_run")?,
        };
        return Ok(AllowlistItem::Policy { service, policy });
    }
    let service = parse_service_scope(pk).map_err(|e| e.to_string())?;
    let account = parse_account_scope(sk).map_err(|e| e.to_string())?;
    let effect = match string_attr(item, "effect")? {
        None | Some("allow") => Effect::Allow,
        Some("deny") => Effect::Deny,
        Some(other) => {
            return Err(format!(
                "attribute `effect` must be `allow` or `deny`, found {other:?}"
            ));
        }
    };
    for text in ["note", "created_by", "created_at"] {
        string_attr(item, text)?;
    }
    Ok(AllowlistItem::Rule(Rule {
        service,
        account,
        effect,
        expires_at: parse_expiry(item)?,
    }))
}

/// The rules and policy that apply to one service, after parsing its items and the `*` items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceRules {
    pub rules: Vec<Rule>,
    pub policy: Option<PolicyItem>,
    pub invalid: Vec<ItemError>,
}

impl ServiceRules {
    /// Sorts parsed items of `service` (its own partition and the `*` partition) into rules,
    /// its policy and the items that were skipped. Items of other services are ignored.
    pub fn from_items<'a>(
        service: &ServiceId,
        items: impl IntoIterator<Item = &'a RawItem>,
    ) -> Self {
        let mut out = Self::default();
        for raw in items {
            match parse_item(raw) {
                Ok(AllowlistItem::Rule(rule)) => {
                    if matches!(&rule.service, Scope::One(s) if s != service) {
                        continue;
                    }
                    out.rules.push(rule);
                }
                Ok(AllowlistItem::Policy { service: s, policy }) if &s == service => {
                    out.policy = Some(policy)
                }
                Ok(AllowlistItem::Policy { .. }) => {}
                Err(err) => out.invalid.push(err),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn item(pairs: &[(&str, RawValue)]) -> RawItem {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> RawValue {
        RawValue::S(v.to_owned())
    }

    const SVC: &str = "vpce-svc-0abc";
    const ACCT: &str = "111122223333";

    #[test]
    fn a_minimal_item_is_an_allow_rule() {
        let parsed = parse_item(&item(&[("pk", s(SVC)), ("sk", s(ACCT))])).unwrap();
        let AllowlistItem::Rule(rule) = parsed else {
            panic!("rule expected")
        };
        assert_eq!(rule.effect, Effect::Allow);
        assert_eq!(rule.service, Scope::One(ServiceId::parse(SVC).unwrap()));
        assert_eq!(rule.account, Scope::One(AccountId::parse(ACCT).unwrap()));
        assert_eq!(rule.expires_at, None);
        assert_eq!(
            rule.to_string(),
            "allow rule (service vpce-svc-0abc, account 111122223333)"
        );
    }

    #[test]
    fn wildcards_deny_and_expiry_parse() {
        let parsed = parse_item(&item(&[
            ("pk", s("*")),
            ("sk", s("*")),
            ("effect", s("deny")),
            ("expires_at", RawValue::N("1800000000".into())),
            ("note", s("temporary block")),
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            AllowlistItem::Rule(Rule {
                service: Scope::Any,
                account: Scope::Any,
                effect: Effect::Deny,
                expires_at: Some(1_800_000_000)
            })
        );
    }

    #[test]
    fn policy_items_parse() {
        let parsed = parse_item(&item(&[
            ("pk", s(SVC)),
            ("sk", s(POLICY_SORT_KEY)),
            ("unmatched", s("leave")),
            ("revoke", RawValue::Bool(true)),
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            AllowlistItem::Policy {
                service: ServiceId::parse(SVC).unwrap(),
                policy: PolicyItem {
                    unmatched: Some(UnmatchedAction::Leave),
                    revoke: Some(true),
                    dry_run: None
                }
            }
        );
    }

    #[test]
    fn each_kind_of_malformed_item_names_its_problem() {
        let cases: Vec<(RawItem, &str)> = vec![
            (item(&[("sk", s(ACCT))]), "`pk` is missing"),
            (item(&[("pk", s(SVC))]), "`sk` is missing"),
            (
                item(&[("pk", RawValue::N("1".into())), ("sk", s(ACCT))]),
                "`pk` must be a string",
            ),
            (
                item(&[("pk", s("svc-1")), ("sk", s(ACCT))]),
                "invalid endpoint service id \"svc-1\"",
            ),
            (
                item(&[("pk", s(SVC)), ("sk", s("1234"))]),
                "invalid AWS account id \"1234\"",
            ),
            (
                item(&[("pk", s(SVC)), ("sk", s(ACCT)), ("effect", s("Allow"))]),
                "`effect` must be `allow` or `deny`",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(ACCT)),
                    ("effect", RawValue::Bool(true)),
                ]),
                "`effect` must be a string",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(ACCT)),
                    ("expires_at", s("tomorrow")),
                ]),
                "`expires_at` must be a number",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(ACCT)),
                    ("expires_at", RawValue::N("1.5e9".into())),
                ]),
                "whole epoch seconds",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(ACCT)),
                    ("note", RawValue::Other("L")),
                ]),
                "`note` must be a string",
            ),
            (
                item(&[("pk", s("*")), ("sk", s(POLICY_SORT_KEY))]),
                "invalid endpoint service id \"*\"",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(POLICY_SORT_KEY)),
                    ("unmatched", s("accept")),
                ]),
                "`unmatched` must be",
            ),
            (
                item(&[
                    ("pk", s(SVC)),
                    ("sk", s(POLICY_SORT_KEY)),
                    ("revoke", s("true")),
                ]),
                "`revoke` must be a boolean",
            ),
        ];
        for (raw, expected) in cases {
            let err = parse_item(&raw).unwrap_err();
            assert!(
                err.to_string().contains(expected),
                "{err} should mention {expected}"
            );
            assert!(err.to_string().starts_with("allowlist item (pk "), "{err}");
        }
    }

    #[test]
    fn policy_resolution_keeps_any_dry_run() {
        let defaults = ServicePolicy {
            unmatched: UnmatchedAction::Leave,
            revoke: false,
            dry_run: true,
        };
        let item = PolicyItem {
            unmatched: Some(UnmatchedAction::Reject),
            revoke: Some(true),
            dry_run: Some(false),
        };
        let resolved = ServicePolicy::resolve(Some(&item), defaults);
        assert_eq!(
            resolved,
            ServicePolicy {
                unmatched: UnmatchedAction::Reject,
                revoke: true,
                dry_run: true
            }
        );
        assert_eq!(ServicePolicy::resolve(None, defaults), defaults);
    }

    #[test]
    fn service_rules_keep_own_and_wildcard_items_only() {
        let svc = ServiceId::parse(SVC).unwrap();
        let items = [
            item(&[("pk", s(SVC)), ("sk", s(ACCT))]),
            item(&[("pk", s("*")), ("sk", s("*")), ("effect", s("deny"))]),
            item(&[("pk", s("vpce-svc-0def")), ("sk", s(ACCT))]),
            item(&[
                ("pk", s(SVC)),
                ("sk", s(POLICY_SORT_KEY)),
                ("revoke", RawValue::Bool(true)),
            ]),
            item(&[("pk", s(SVC)), ("sk", s("bad"))]),
        ];
        let rules = ServiceRules::from_items(&svc, &items);
        assert_eq!(rules.rules.len(), 2);
        assert_eq!(rules.policy.unwrap().revoke, Some(true));
        assert_eq!(rules.invalid.len(), 1);
    }

    #[test]
    fn expiry_is_exclusive() {
        let rule = Rule {
            service: Scope::Any,
            account: Scope::Any,
            effect: Effect::Allow,
            expires_at: Some(100),
        };
        assert!(rule.is_live(99));
        assert!(!rule.is_live(100));
    }
}

#[cfg(test)]
mod edge_properties {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::decision::{Action, Connection, decide};
    use crate::domain::{AccountId, ConnectionState, EndpointId};

    fn arb_value() -> impl Strategy<Value = RawValue> {
        prop_oneof![
            "\\PC{0,20}".prop_map(RawValue::S),
            prop_oneof![
                Just("allow".to_owned()),
                Just("deny".to_owned()),
                Just("*".to_owned()),
                Just("#policy".to_owned()),
                Just("vpce-svc-0a".to_owned()),
                Just("111122223333".to_owned())
            ]
            .prop_map(RawValue::S),
            "-?[0-9]{0,20}(\\.[0-9]{0,3})?".prop_map(RawValue::N),
            any::<bool>().prop_map(RawValue::Bool),
            Just(RawValue::Other("L")),
        ]
    }

    fn arb_item() -> impl Strategy<Value = RawItem> {
        let name = prop_oneof![
            Just("pk"),
            Just("sk"),
            Just("effect"),
            Just("expires_at"),
            Just("unmatched"),
            Just("revoke"),
            Just("dry_run"),
            Just("note")
        ];
        proptest::collection::btree_map(name.prop_map(str::to_owned), arb_value(), 0..7)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the table holds, parsing never panics, and a decision from items that are not
        /// a live allow for the connection is never an accept.
        #[test]
        fn arbitrary_items_never_panic_or_accept_without_an_allow(items in proptest::collection::vec(arb_item(), 0..6)) {
            let service = ServiceId::parse("vpce-svc-0a").unwrap();
            let rules = ServiceRules::from_items(&service, &items);
            let conn = Connection {
                service: service.clone(),
                endpoint: EndpointId::parse("vpce-01").unwrap(),
                owner: AccountId::parse("111122223333").unwrap(),
                state: ConnectionState::PendingAcceptance,
            };
            let policy = ServicePolicy::resolve(rules.policy.as_ref(), ServicePolicy::default());
            let decision = decide(&conn, &rules.rules, &policy, 1_800_000_000);
            if decision.action == Action::Accept {
                let allowed_by_an_item = items.iter().any(|i| {
                    matches!(parse_item(i), Ok(AllowlistItem::Rule(r)) if r.effect == Effect::Allow
                        && r.matches(&conn.service, &conn.owner, 1_800_000_000))
                });
                prop_assert!(allowed_by_an_item);
            }
        }
    }
}
