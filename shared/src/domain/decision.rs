//! The one function that decides an endpoint connection.
//!
//! 1. Rules of the service or `*`, for the owner or `*`, not expired, are considered.
//! 2. A matching deny rejects. 3. Else a matching allow accepts.
//! 4. Else the service policy's `unmatched` action (reject, or leave pending).
//! 5. Only `pendingAcceptance` is accepted or rejected; an `available` connection whose
//!    owner is no longer allowed is revoked when the policy says `revoke`.

use std::fmt;

use serde::Serialize;

use super::allowlist::{Effect, Rule, ServicePolicy, UnmatchedAction};
use super::connection_state::ConnectionState;
use super::ids::{AccountId, EndpointId, ServiceId};

/// A connection as the provider sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub service: ServiceId,
    pub endpoint: EndpointId,
    pub owner: AccountId,
    pub state: ConnectionState,
}

/// What is done to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Accept,
    Reject,
    /// Left in `pendingAcceptance`.
    Leave,
    /// An established connection rejected because its owner is no longer allowed.
    Revoke,
    /// Nothing to do (an allowed established connection, or a state that is not decided).
    Keep,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Leave => "leave",
            Action::Revoke => "revoke",
            Action::Keep => "keep",
        }
    }

    /// Whether carrying it out changes the connection (and so is audited).
    pub fn changes_connection(self) -> bool {
        matches!(self, Action::Accept | Action::Reject | Action::Revoke)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which rule or policy decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    DenyRule(Rule),
    AllowRule(Rule),
    Unmatched(UnmatchedAction),
    /// Established, revocation on, and no live allow rule any more.
    NoLongerAllowed,
    /// Established and still allowed.
    StillAllowed,
    /// Established and the service does not revoke.
    RevocationOff,
    /// A state this function never acts on.
    StateNotDecided(ConnectionState),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::DenyRule(rule) | Reason::AllowRule(rule) => rule.fmt(f),
            Reason::Unmatched(action) => {
                write!(f, "no rule matches; service policy unmatched={action}")
            }
            Reason::NoLongerAllowed => {
                f.write_str("no live allow rule any more; service policy revoke=true")
            }
            Reason::StillAllowed => f.write_str("established and still allowed"),
            Reason::RevocationOff => f.write_str("established; service policy revoke=false"),
            Reason::StateNotDecided(state) => write!(f, "state {state} is not decided"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub reason: Reason,
}

fn first_match<'a>(
    rules: &'a [Rule],
    effect: Effect,
    conn: &Connection,
    now: i64,
) -> Option<&'a Rule> {
    rules
        .iter()
        .find(|r| r.effect == effect && r.matches(&conn.service, &conn.owner, now))
}

/// Decides `conn` from `rules` (already narrowed to its service and `*`, but checked again
/// here) under `policy` at epoch second `now`.
pub fn decide(conn: &Connection, rules: &[Rule], policy: &ServicePolicy, now: i64) -> Decision {
    let deny = first_match(rules, Effect::Deny, conn, now);
    let allow = first_match(rules, Effect::Allow, conn, now);
    let (action, reason) = match &conn.state {
        ConnectionState::PendingAcceptance => match (deny, allow) {
            (Some(rule), _) => (Action::Reject, Reason::DenyRule(rule.clone())),
            (None, Some(rule)) => (Action::Accept, Reason::AllowRule(rule.clone())),
            (None, None) => match policy.unmatched {
                UnmatchedAction::Reject => {
                    (Action::Reject, Reason::Unmatched(UnmatchedAction::Reject))
                }
                UnmatchedAction::Leave => {
                    (Action::Leave, Reason::Unmatched(UnmatchedAction::Leave))
                }
            },
        },
        ConnectionState::Available if !policy.revoke => (Action::Keep, Reason::RevocationOff),
        ConnectionState::Available => match (deny, allow) {
            (Some(rule), _) => (Action::Revoke, Reason::DenyRule(rule.clone())),
            (None, Some(_)) => (Action::Keep, Reason::StillAllowed),
            (None, None) => (Action::Revoke, Reason::NoLongerAllowed),
        },
        other => (Action::Keep, Reason::StateNotDecided(other.clone())),
    };
    Decision { action, reason }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::allowlist::{RawItem, RawValue, Scope, ServiceRules};

    const NOW: i64 = 1_800_000_000;

    fn svc(n: u8) -> ServiceId {
        ServiceId::parse(&format!("vpce-svc-{n:02x}")).unwrap()
    }

    fn acct(n: u8) -> AccountId {
        AccountId::parse(&format!("{:012}", 100_000_000_000u64 + u64::from(n))).unwrap()
    }

    fn conn(service: u8, owner: u8, state: ConnectionState) -> Connection {
        Connection {
            service: svc(service),
            endpoint: EndpointId::parse(&format!("vpce-{service:02x}{owner:02x}")).unwrap(),
            owner: acct(owner),
            state,
        }
    }

    fn rule(
        service: Option<u8>,
        account: Option<u8>,
        effect: Effect,
        expires_at: Option<i64>,
    ) -> Rule {
        Rule {
            service: service.map_or(Scope::Any, |n| Scope::One(svc(n))),
            account: account.map_or(Scope::Any, |n| Scope::One(acct(n))),
            effect,
            expires_at,
        }
    }

    fn policy(unmatched: UnmatchedAction, revoke: bool) -> ServicePolicy {
        ServicePolicy {
            unmatched,
            revoke,
            dry_run: false,
        }
    }

    use ConnectionState::{Available, PendingAcceptance};

    #[test]
    fn the_issue_scenario() {
        // allow A1 on the service, allow A2 on `*`, deny A3 on `*` (A3 also allowed), expired allow for A4.
        let rules = vec![
            rule(Some(1), Some(1), Effect::Allow, None),
            rule(None, Some(2), Effect::Allow, None),
            rule(None, Some(3), Effect::Deny, None),
            rule(Some(1), Some(3), Effect::Allow, None),
            rule(Some(1), Some(4), Effect::Allow, Some(NOW - 1)),
        ];
        let p = policy(UnmatchedAction::Reject, false);
        let expected = [
            (1, Action::Accept),
            (2, Action::Accept),
            (3, Action::Reject),
            (4, Action::Reject),
        ];
        for (owner, action) in expected {
            assert_eq!(
                decide(&conn(1, owner, PendingAcceptance), &rules, &p, NOW).action,
                action,
                "A{owner}"
            );
        }
        assert_eq!(
            decide(&conn(1, 3, PendingAcceptance), &rules, &p, NOW)
                .reason
                .to_string(),
            "deny rule (service *, account 100000000003)"
        );
        let leave = policy(UnmatchedAction::Leave, false);
        let d = decide(&conn(1, 4, PendingAcceptance), &rules, &leave, NOW);
        assert_eq!(d.action, Action::Leave);
        assert_eq!(
            d.reason.to_string(),
            "no rule matches; service policy unmatched=leave"
        );
    }

    #[test]
    fn revocation_only_with_revoke_on() {
        let allowed = vec![rule(Some(1), Some(1), Effect::Allow, None)];
        let on = policy(UnmatchedAction::Reject, true);
        let off = policy(UnmatchedAction::Reject, false);
        assert_eq!(
            decide(&conn(1, 1, Available), &allowed, &on, NOW).action,
            Action::Keep
        );
        assert_eq!(
            decide(&conn(1, 1, Available), &[], &on, NOW).action,
            Action::Revoke
        );
        assert_eq!(
            decide(&conn(1, 1, Available), &[], &off, NOW).action,
            Action::Keep
        );
        let denied = vec![allowed[0].clone(), rule(None, Some(1), Effect::Deny, None)];
        assert_eq!(
            decide(&conn(1, 1, Available), &denied, &on, NOW).action,
            Action::Revoke
        );
        let expired = vec![rule(Some(1), Some(1), Effect::Allow, Some(NOW))];
        assert_eq!(
            decide(&conn(1, 1, Available), &expired, &on, NOW).action,
            Action::Revoke
        );
    }

    #[test]
    fn other_states_are_never_decided() {
        let rules = vec![rule(None, None, Effect::Allow, None)];
        for state in [
            "pending", "rejected", "deleted", "failed", "expired", "partial", "deleting", "weird",
        ] {
            let d = decide(
                &conn(1, 1, ConnectionState::parse(state)),
                &rules,
                &policy(UnmatchedAction::Reject, true),
                NOW,
            );
            assert_eq!(d.action, Action::Keep, "{state}");
        }
    }

    #[test]
    fn a_rule_for_another_service_or_account_does_not_match() {
        let rules = vec![
            rule(Some(2), Some(1), Effect::Allow, None),
            rule(Some(1), Some(2), Effect::Allow, None),
        ];
        let d = decide(
            &conn(1, 1, PendingAcceptance),
            &rules,
            &policy(UnmatchedAction::Reject, false),
            NOW,
        );
        assert_eq!(d.action, Action::Reject);
    }

    fn arb_rule() -> impl Strategy<Value = Rule> {
        (
            proptest::option::of(0u8..3),
            proptest::option::of(0u8..4),
            prop_oneof![Just(Effect::Allow), Just(Effect::Deny)],
            proptest::option::of(NOW - 5..NOW + 5),
        )
            .prop_map(|(s, a, e, x)| rule(s, a, e, x))
    }

    fn arb_state() -> impl Strategy<Value = ConnectionState> {
        prop_oneof![
            Just(PendingAcceptance),
            Just(Available),
            Just(ConnectionState::Pending),
            Just(ConnectionState::Rejected)
        ]
    }

    fn arb_policy() -> impl Strategy<Value = ServicePolicy> {
        (any::<bool>(), any::<bool>()).prop_map(|(leave, revoke)| {
            policy(
                if leave {
                    UnmatchedAction::Leave
                } else {
                    UnmatchedAction::Reject
                },
                revoke,
            )
        })
    }

    fn live_match(rules: &[Rule], c: &Connection, effect: Effect) -> bool {
        rules
            .iter()
            .any(|r| r.effect == effect && r.matches(&c.service, &c.owner, NOW))
    }

    proptest! {
        #[test]
        fn no_accept_without_a_live_matching_allow_and_no_deny(
            rules in proptest::collection::vec(arb_rule(), 0..8),
            service in 0u8..3, owner in 0u8..4, state in arb_state(), p in arb_policy(),
        ) {
            let c = conn(service, owner, state.clone());
            let d = decide(&c, &rules, &p, NOW);
            if d.action == Action::Accept {
                prop_assert!(live_match(&rules, &c, Effect::Allow));
                prop_assert!(!live_match(&rules, &c, Effect::Deny));
                prop_assert_eq!(&state, &PendingAcceptance);
            }
            if d.action == Action::Keep && state == Available && p.revoke {
                prop_assert!(live_match(&rules, &c, Effect::Allow) && !live_match(&rules, &c, Effect::Deny));
            }
        }

        #[test]
        fn any_live_matching_deny_rejects_or_revokes(
            rules in proptest::collection::vec(arb_rule(), 0..8),
            service in 0u8..3, owner in 0u8..4, p in arb_policy(),
        ) {
            let pending = conn(service, owner, PendingAcceptance);
            if live_match(&rules, &pending, Effect::Deny) {
                prop_assert_eq!(decide(&pending, &rules, &p, NOW).action, Action::Reject);
                let established = conn(service, owner, Available);
                let expected = if p.revoke { Action::Revoke } else { Action::Keep };
                prop_assert_eq!(decide(&established, &rules, &p, NOW).action, expected);
            }
        }

        #[test]
        fn expired_rules_never_count(
            rules in proptest::collection::vec(arb_rule(), 0..8),
            service in 0u8..3, owner in 0u8..4, state in arb_state(), p in arb_policy(),
        ) {
            let c = conn(service, owner, state);
            let live: Vec<Rule> = rules.iter().filter(|r| r.is_live(NOW)).cloned().collect();
            prop_assert_eq!(decide(&c, &rules, &p, NOW).action, decide(&c, &live, &p, NOW).action);
        }

        #[test]
        fn a_malformed_item_never_changes_a_decision(
            rules in proptest::collection::vec(arb_rule(), 0..6),
            junk in proptest::collection::vec(arb_malformed_item(), 1..4),
            owner in 0u8..4, state in arb_state(), p in arb_policy(),
        ) {
            let c = conn(1, owner, state);
            let good: Vec<RawItem> = rules.iter().map(rule_item).collect();
            let with_junk: Vec<RawItem> = good.iter().cloned().chain(junk.clone()).collect();
            let clean = ServiceRules::from_items(&c.service, &good);
            let dirty = ServiceRules::from_items(&c.service, &with_junk);
            prop_assert_eq!(dirty.invalid.len(), junk.len());
            prop_assert_eq!(
                decide(&c, &clean.rules, &p, NOW).action,
                decide(&c, &dirty.rules, &p, NOW).action
            );
        }
    }

    fn rule_item(r: &Rule) -> RawItem {
        let mut item = RawItem::new();
        item.insert("pk".into(), RawValue::S(r.service.to_string()));
        item.insert("sk".into(), RawValue::S(r.account.to_string()));
        item.insert("effect".into(), RawValue::S(r.effect.to_string()));
        if let Some(at) = r.expires_at {
            item.insert("expires_at".into(), RawValue::N(at.to_string()));
        }
        item
    }

    /// Items that look like rules for service 1 but are broken in one way each.
    fn arb_malformed_item() -> impl Strategy<Value = RawItem> {
        let svc1 = svc(1).to_string();
        (0usize..6, 0u8..4, "[a-zA-Z0-9 *-]{0,14}").prop_map(move |(kind, owner, text)| {
            let mut item = RawItem::new();
            item.insert("pk".into(), RawValue::S(svc1.clone()));
            item.insert("sk".into(), RawValue::S(acct(owner).to_string()));
            match kind {
                0 => {
                    item.insert("effect".into(), RawValue::S(format!("x{text}")));
                }
                1 => {
                    item.insert("expires_at".into(), RawValue::S(text));
                }
                2 => {
                    item.insert("sk".into(), RawValue::S(format!("{text}x")));
                }
                3 => {
                    item.insert("pk".into(), RawValue::S(format!("svc-{text}")));
                }
                4 => {
                    item.insert("effect".into(), RawValue::Bool(true));
                }
                _ => {
                    item.remove("sk");
                }
            }
            item
        })
    }
}
