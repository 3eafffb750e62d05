//! Property test of the approver's promise, over arbitrary allowlist items: a connection is
//! accepted only if a well-formed, live allow matches it, no live deny matches it, and no
//! malformed item could apply to it; and a connection a malformed item could apply to is
//! rejected only by a well-formed live deny (a malformed policy holds everything in its service).
//!
//! The items are generated from a description the oracle keeps (intact, or broken in one known
//! way), so the oracle does not use the decoder it checks.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::super::*;
use crate::adapters::memory::{
    MemoryAllowlist, MemoryAudit, MemoryConnections, MemoryMetrics, MemoryOrganization,
};
use crate::domain::decision::Connection;
use crate::domain::trigger::TriggerKind;
use crate::domain::{AccountId, ConnectionState};
use crate::tables::{RawItem, RawValue};

const NOW: i64 = 1_800_000_000;
const SERVICES: u8 = 2;
const ACCOUNTS: u8 = 3;

fn svc(n: u8) -> ServiceId {
    ServiceId::parse(&format!("vpce-svc-0{n}")).unwrap()
}

fn acct(n: u8) -> AccountId {
    AccountId::parse(&format!("{:012}", 100_000_000_000u64 + u64::from(n))).unwrap()
}

/// How an item is broken, if it is.
#[derive(Debug, Clone)]
enum Breakage {
    Intact,
    /// An attribute name no schema knows (capitalised: every known name is lower case).
    UnknownAttribute(String),
    /// `effect` written as `Effect` (and so missing).
    CapitalisedEffectName,
    /// `effect` spelt in another case (`Allow`, `DENY`).
    EffectCase(String),
    /// `effect` missing.
    NoEffect,
    /// `effect` of another type.
    EffectType(RawValue),
    /// `expires_at` as a string, in milliseconds, as a fraction or an exponent.
    Expiry(RawValue),
    /// `pk` in upper case (it still names its service).
    UpperCasePk,
    /// `sk` with spaces around it (it still names its account).
    SpacedSk,
    /// `sk` that is no account at all.
    JunkSk(String),
    /// An attribute of a type no schema uses (a list or a map).
    OtherType(&'static str),
}

/// A generated item: what it says and how it is broken.
#[derive(Debug, Clone)]
struct ItemSpec {
    service: Option<u8>,
    account: Option<u8>,
    deny: bool,
    expires_at: Option<i64>,
    breakage: Breakage,
}

/// A generated policy item for a service, intact or broken.
#[derive(Debug, Clone)]
struct PolicySpec {
    service: u8,
    unmatched_leave: Option<bool>,
    revoke: Option<bool>,
    dry_run: Option<bool>,
    broken: Option<(String, RawValue)>,
}

fn s(v: impl Into<String>) -> RawValue {
    RawValue::S(v.into())
}

impl ItemSpec {
    fn intact(&self) -> bool {
        matches!(self.breakage, Breakage::Intact)
    }

    fn pk(&self) -> String {
        self.service.map_or("*".into(), |n| svc(n).to_string())
    }

    fn sk(&self) -> String {
        self.account.map_or("*".into(), |n| acct(n).to_string())
    }

    fn raw(&self) -> RawItem {
        let mut item = RawItem::new();
        item.insert("pk".into(), s(self.pk()));
        item.insert("sk".into(), s(self.sk()));
        item.insert("effect".into(), s(if self.deny { "deny" } else { "allow" }));
        if let Some(at) = self.expires_at {
            item.insert("expires_at".into(), RawValue::N(at.to_string()));
        }
        match &self.breakage {
            Breakage::Intact => {}
            Breakage::UnknownAttribute(name) => {
                item.insert(name.clone(), s("x"));
            }
            Breakage::CapitalisedEffectName => {
                let effect = item.remove("effect").unwrap();
                item.insert("Effect".into(), effect);
            }
            Breakage::EffectCase(text) => {
                item.insert("effect".into(), s(text.clone()));
            }
            Breakage::NoEffect => {
                item.remove("effect");
            }
            Breakage::EffectType(value) => {
                item.insert("effect".into(), value.clone());
            }
            Breakage::Expiry(value) => {
                item.insert("expires_at".into(), value.clone());
            }
            Breakage::UpperCasePk => {
                item.insert("pk".into(), s(self.pk().to_uppercase()));
            }
            Breakage::SpacedSk => {
                item.insert("sk".into(), s(format!(" {} ", self.sk())));
            }
            Breakage::JunkSk(junk) => {
                item.insert("sk".into(), s(junk.clone()));
            }
            Breakage::OtherType(kind) => {
                item.insert("note".into(), RawValue::Other(kind));
            }
        }
        item
    }

    /// Whether this item, read as intended, is a live rule of `effect` matching the connection.
    fn live_match(&self, service: u8, account: u8, deny: bool) -> bool {
        self.deny == deny
            && self.service.is_none_or(|s| s == service)
            && self.account.is_none_or(|a| a == account)
            && self.expires_at.is_none_or(|at| NOW < at)
    }

    /// Whether a broken item could apply: its service when `pk` still names one (every
    /// service otherwise), its account when `sk` still names one (every account otherwise).
    fn could_apply(&self, service: u8, account: u8) -> bool {
        let services = self.service.is_none_or(|s| s == service);
        let accounts = match self.breakage {
            Breakage::JunkSk(_) => true,
            _ => self.account.is_none_or(|a| a == account),
        };
        services && accounts
    }
}

impl PolicySpec {
    fn raw(&self) -> RawItem {
        let mut item = RawItem::new();
        item.insert("pk".into(), s(svc(self.service).to_string()));
        item.insert("sk".into(), s("#policy"));
        if let Some(leave) = self.unmatched_leave {
            item.insert(
                "unmatched".into(),
                s(if leave { "leave" } else { "reject" }),
            );
        }
        if let Some(r) = self.revoke {
            item.insert("revoke".into(), RawValue::Bool(r));
        }
        if let Some(d) = self.dry_run {
            item.insert("dry_run".into(), RawValue::Bool(d));
        }
        if let Some((name, value)) = &self.broken {
            item.insert(name.clone(), value.clone());
        }
        item
    }
}

fn arb_breakage() -> impl Strategy<Value = Breakage> {
    prop_oneof![
        4 => Just(Breakage::Intact),
        1 => "[A-Z][A-Za-z_]{0,8}".prop_map(Breakage::UnknownAttribute),
        1 => Just(Breakage::CapitalisedEffectName),
        1 => prop_oneof![Just("Allow"), Just("ALLOW"), Just("Deny"), Just("DENY"), Just(" allow"), Just("")]
            .prop_map(|t| Breakage::EffectCase(t.to_owned())),
        1 => Just(Breakage::NoEffect),
        1 => prop_oneof![Just(RawValue::Bool(true)), Just(RawValue::N("1".into())), Just(RawValue::Other("L"))]
            .prop_map(Breakage::EffectType),
        1 => prop_oneof![
            (NOW - 100..NOW + 100).prop_map(|at| RawValue::S(at.to_string())),
            (NOW - 100..NOW + 100).prop_map(|at| RawValue::N((at * 1000).to_string())),
            Just(RawValue::N("1.8e9".into())),
            Just(RawValue::N("1800000000.5".into())),
            Just(RawValue::N("-1".into())),
            Just(RawValue::Bool(false)),
        ].prop_map(Breakage::Expiry),
        1 => Just(Breakage::UpperCasePk),
        1 => Just(Breakage::SpacedSk),
        1 => "[a-z#][a-z0-9 -]{0,10}".prop_map(Breakage::JunkSk),
        1 => prop_oneof![Just("L"), Just("M"), Just("NULL")].prop_map(Breakage::OtherType),
    ]
}

fn arb_item() -> impl Strategy<Value = ItemSpec> {
    (
        proptest::option::of(0..SERVICES),
        proptest::option::of(0..ACCOUNTS),
        any::<bool>(),
        proptest::option::of(NOW - 10..NOW + 10),
        arb_breakage(),
    )
        .prop_map(|(service, account, deny, expires_at, breakage)| {
            // An upper-case `*` or a spaced `*` is still `*`: break a named key instead.
            let breakage = match (&breakage, service, account) {
                (Breakage::UpperCasePk, None, _) | (Breakage::SpacedSk, _, None) => {
                    Breakage::NoEffect
                }
                _ => breakage,
            };
            ItemSpec {
                service,
                account,
                deny,
                expires_at,
                breakage,
            }
        })
}

fn arb_policy() -> impl Strategy<Value = PolicySpec> {
    (
        0..SERVICES,
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
        proptest::option::of(any::<bool>()),
        prop_oneof![
            3 => Just(None),
            1 => Just(Some(("dry_run".to_owned(), RawValue::S("true".into())))),
            1 => Just(Some(("revoke".to_owned(), RawValue::S("false".into())))),
            1 => Just(Some(("unmatched".to_owned(), RawValue::S("Leave".into())))),
            1 => "[A-Z][a-z]{0,6}".prop_map(|n| Some((n, RawValue::Bool(true)))),
        ],
    )
        .prop_map(
            |(service, unmatched_leave, revoke, dry_run, broken)| PolicySpec {
                service,
                unmatched_leave,
                revoke,
                dry_run,
                broken,
            },
        )
}

/// One pending connection per (service, account), one established per (service, account).
fn world(items: &[ItemSpec], policies: &[PolicySpec]) -> (MemoryConnections, MemoryAllowlist) {
    let connections = MemoryConnections::default();
    for service in 0..SERVICES {
        connections.services.lock().unwrap().push(svc(service));
        for account in 0..ACCOUNTS {
            for (n, state) in [
                (0, ConnectionState::PendingAcceptance),
                (1, ConnectionState::Available),
            ] {
                connections.connections.lock().unwrap().push(Connection {
                    service: svc(service),
                    endpoint: EndpointId::parse(&format!("vpce-{service}{account}{n}")).unwrap(),
                    owner: acct(account),
                    state,
                });
            }
        }
    }
    let allowlist = MemoryAllowlist::default();
    for item in items {
        allowlist.add_raw(item.raw());
    }
    // One policy item per service at most (the table's keys are unique).
    let mut seen = BTreeSet::new();
    for policy in policies {
        if seen.insert(policy.service) {
            allowlist.add_raw(policy.raw());
        }
    }
    (connections, allowlist)
}

fn run(connections: &MemoryConnections, allowlist: &MemoryAllowlist) -> ReconcileSummary {
    let audit = MemoryAudit::default();
    let metrics = MemoryMetrics::default();
    let settings = ReconcileSettings {
        governed: Governed::All,
        defaults: ServicePolicy::default(),
        audit_retention_days: 30,
    };
    let organization = MemoryOrganization::default();
    let reconciler = Reconciler {
        connections,
        organization: &organization,
        allowlist,
        audit: &audit,
        metrics: &metrics,
        settings: &settings,
        start_waves_until: None,
    };
    let trigger = Trigger {
        kind: TriggerKind::Schedule,
        services: ServiceSelection::AllGoverned,
        dry_run: false,
    };
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(reconciler.run(&trigger, NOW))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn accepts_only_what_is_plainly_allowed_and_holds_what_a_malformed_item_might_match(
        items in proptest::collection::vec(arb_item(), 0..8),
        policies in proptest::collection::vec(arb_policy(), 0..3),
    ) {
        let (connections, allowlist) = world(&items, &policies);
        let before: Vec<Connection> = connections.connections.lock().unwrap().clone();
        let summary = run(&connections, &allowlist);
        let first_policy = |service: u8| policies.iter().find(|p| p.service == service);
        for conn in &before {
            let service = (0..SERVICES).find(|n| svc(*n) == conn.service).unwrap();
            let account = (0..ACCOUNTS).find(|n| acct(*n) == conn.owner).unwrap();
            let intact_allow = items.iter().any(|i| i.intact() && i.live_match(service, account, false));
            let intact_deny = items.iter().any(|i| i.intact() && i.live_match(service, account, true));
            let broken_applies = items.iter().any(|i| !i.intact() && i.could_apply(service, account));
            let policy_broken = first_policy(service).is_some_and(|p| p.broken.is_some());
            let after = connections.state_of(&conn.endpoint).unwrap();
            let changed = after != conn.state;
            if conn.state == ConnectionState::PendingAcceptance && after == ConnectionState::Available {
                prop_assert!(intact_allow, "{conn:?} accepted without an intact live allow");
                prop_assert!(!intact_deny, "{conn:?} accepted although a deny matches");
                prop_assert!(!broken_applies, "{conn:?} accepted although a malformed item could apply");
                prop_assert!(!policy_broken, "{conn:?} accepted in a service with a malformed policy");
            }
            if policy_broken {
                prop_assert!(!changed, "{conn:?} changed in a service whose policy is malformed");
            } else if broken_applies && changed {
                prop_assert!(intact_deny, "{conn:?} held by a malformed item was changed without a deny");
            }
            if broken_applies && conn.state == ConnectionState::PendingAcceptance && !intact_deny {
                prop_assert!(
                    summary.held.iter().any(|h| h.endpoint_id == conn.endpoint),
                    "{conn:?} should be reported as held"
                );
            }
        }
        let broken_policies = (0..SERVICES)
            .filter(|s| first_policy(*s).is_some_and(|p| p.broken.is_some()))
            .count();
        let malformed = items.iter().filter(|i| !i.intact()).count() + broken_policies;
        prop_assert_eq!(summary.invalid_allowlist_items, malformed);
    }
}
