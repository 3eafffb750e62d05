//! The one function that decides an endpoint connection.
//!
//! 1. Rules of the service or `*`, for the owner or `*`, not expired, are considered.
//! 2. A matching deny rejects.
//! 3. Else, if a malformed item might apply (its scope covers the service and the owner), the
//!    connection is held: left pending, never accepted (the item may have been a deny).
//! 4. Else a matching allow accepts.
//! 5. Else the service policy's `unmatched` action (reject, or leave pending).
//! 6. Only `pendingAcceptance` is accepted or rejected; an `available` connection whose owner is
//!    no longer allowed is revoked when the policy says `revoke` (a held one is never revoked).
//! 7. A malformed policy item holds its whole service: its settings are unknown.
//! 8. A rule of an organization or OU matches by the owner's place in AWS Organizations. When that
//!    place could not be read, such a rule neither matches nor fails to match: a connection it
//!    might decide is held (a deny may be among them; an allow is not known to hold).

use std::fmt;

use serde::Serialize;

use super::allowlist::{
    Effect, MalformedItem, PolicyState, Rule, ServicePolicy, ServiceRules, UnmatchedAction,
};
use super::connection_state::ConnectionState;
use super::ids::{AccountId, EndpointId, ServiceId};
use super::organization::Place;

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
    /// Left in `pendingAcceptance` by the service policy (`unmatched=leave`).
    Leave,
    /// An established connection rejected because its owner is no longer allowed.
    Revoke,
    /// Nothing to do (an allowed established connection, or a state that is not decided).
    Keep,
    /// Left as it is because a malformed allowlist item might apply: reported and alarmed on.
    Hold,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Accept,
        Action::Reject,
        Action::Leave,
        Action::Revoke,
        Action::Keep,
        Action::Hold,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Leave => "leave",
            Action::Revoke => "revoke",
            Action::Keep => "keep",
            Action::Hold => "hold",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
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

/// Which rule, policy or item decided.
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
    /// A malformed rule item might apply to this owner.
    Held(MalformedItem),
    /// The service's policy item is malformed.
    PolicyMalformed(MalformedItem),
    /// A rule of an organization or OU might apply, and the owner's place in AWS Organizations
    /// could not be read: why.
    PlaceUnknown(Rule, String),
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
            Reason::Held(item) => write!(
                f,
                "held: malformed allowlist item {} might apply ({})",
                item.key, item.problem
            ),
            Reason::PolicyMalformed(item) => write!(
                f,
                "held: the service's policy item {} is malformed ({})",
                item.key, item.problem
            ),
            Reason::PlaceUnknown(rule, why) => write!(
                f,
                "held: the {rule} needs the account's place in AWS Organizations, which could not be read ({why})"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub reason: Reason,
}

/// The first rule of `effect` that applies, and the first that might (its place unknown).
fn first_match<'a>(
    rules: &'a [Rule],
    effect: Effect,
    conn: &Connection,
    place: &Place,
    now: i64,
) -> (Option<&'a Rule>, Option<&'a Rule>) {
    let of_effect = || rules.iter().filter(|r| r.effect == effect);
    let with = |answer: Option<bool>| {
        of_effect().find(|r| r.applies(&conn.service, &conn.owner, place, now) == answer)
    };
    (with(Some(true)), with(None))
}

/// Decides `conn` from what applies to its service (`rules`, checked again here) under the
/// deployment's `defaults` at epoch second `now`; `place` is the owner's place in AWS
/// Organizations (read only when a rule of an organization or OU applies to the service).
pub fn decide(
    conn: &Connection,
    rules: &ServiceRules,
    defaults: ServicePolicy,
    place: &Place,
    now: i64,
) -> Decision {
    let decision = |action, reason| Decision { action, reason };
    let policy = match &rules.policy {
        PolicyState::Malformed(item) => {
            let action = if conn.state == ConnectionState::PendingAcceptance {
                Action::Hold
            } else {
                Action::Keep
            };
            return decision(action, Reason::PolicyMalformed(item.clone()));
        }
        PolicyState::Set(item) => ServicePolicy::resolve(Some(item), defaults),
        PolicyState::Default => ServicePolicy::resolve(None, defaults),
    };
    let (deny, deny_unknown) = first_match(&rules.rules, Effect::Deny, conn, place, now);
    let (allow, allow_unknown) = first_match(&rules.rules, Effect::Allow, conn, place, now);
    let place_unknown = |rule: &Rule| {
        let why = match place {
            Place::Unknown(why) => why.clone(),
            Place::Known { .. } => String::new(),
        };
        decision(Action::Hold, Reason::PlaceUnknown(rule.clone(), why))
    };
    let hold = || {
        rules
            .holds
            .iter()
            .find(|m| m.could_apply(&conn.service, &conn.owner))
    };
    if let (None, Some(rule)) = (deny, deny_unknown)
        && (conn.state == ConnectionState::PendingAcceptance
            || conn.state == ConnectionState::Available && policy.revoke)
    {
        return place_unknown(rule);
    }
    match &conn.state {
        ConnectionState::PendingAcceptance => match (deny, hold(), allow) {
            (Some(rule), _, _) => decision(Action::Reject, Reason::DenyRule(rule.clone())),
            (None, Some(item), _) => decision(Action::Hold, Reason::Held(item.clone())),
            (None, None, Some(rule)) => decision(Action::Accept, Reason::AllowRule(rule.clone())),
            (None, None, None) if allow_unknown.is_some() => {
                place_unknown(allow_unknown.expect("checked"))
            }
            (None, None, None) => match policy.unmatched {
                UnmatchedAction::Reject => {
                    decision(Action::Reject, Reason::Unmatched(UnmatchedAction::Reject))
                }
                UnmatchedAction::Leave => {
                    decision(Action::Leave, Reason::Unmatched(UnmatchedAction::Leave))
                }
            },
        },
        ConnectionState::Available if !policy.revoke => {
            decision(Action::Keep, Reason::RevocationOff)
        }
        ConnectionState::Available => match (deny, allow, hold()) {
            (Some(rule), _, _) => decision(Action::Revoke, Reason::DenyRule(rule.clone())),
            (None, Some(_), _) => decision(Action::Keep, Reason::StillAllowed),
            (None, None, _) if allow_unknown.is_some() => {
                place_unknown(allow_unknown.expect("checked"))
            }
            (None, None, Some(item)) => decision(Action::Hold, Reason::Held(item.clone())),
            (None, None, None) => decision(Action::Revoke, Reason::NoLongerAllowed),
        },
        other => decision(Action::Keep, Reason::StateNotDecided(other.clone())),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::allowlist::{Consumers, ItemKey, Scope};

    /// `decide` over plain rules and a resolved policy, with no malformed items.
    fn decide_with(conn: &Connection, rules: &[Rule], p: &ServicePolicy, now: i64) -> Decision {
        decide_held(conn, rules, &[], p, now)
    }

    fn decide_held(
        conn: &Connection,
        rules: &[Rule],
        holds: &[MalformedItem],
        p: &ServicePolicy,
        now: i64,
    ) -> Decision {
        let view = ServiceRules {
            service: conn.service.clone(),
            rules: rules.to_vec(),
            policy: PolicyState::Default,
            holds: holds.to_vec(),
        };
        decide(conn, &view, *p, &Place::not_looked_up(), now)
    }

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
            account: account.map_or(Consumers::Any, |n| Consumers::Account(acct(n))),
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

    const OU: &str = "ou-ab12-cdefgh34";
    const ORG: &str = "o-abcdef1234";

    fn unit_rule(effect: Effect) -> Rule {
        Rule {
            service: Scope::Any,
            account: Consumers::parse(OU).unwrap(),
            effect,
            expires_at: None,
        }
    }

    fn below(units: &[&str]) -> Place {
        Place::Known {
            organization: Some(crate::domain::OrganizationId::parse(ORG).unwrap()),
            units: units
                .iter()
                .map(|u| crate::domain::OrgUnitId::parse(u).unwrap())
                .collect(),
        }
    }

    fn decide_at(conn: &Connection, rules: &[Rule], p: &ServicePolicy, place: &Place) -> Decision {
        let view = ServiceRules {
            service: conn.service.clone(),
            rules: rules.to_vec(),
            policy: PolicyState::Default,
            holds: vec![],
        };
        decide(conn, &view, *p, place, NOW)
    }

    #[test]
    fn an_ou_rule_matches_the_accounts_below_it_at_any_depth_and_holds_when_the_place_is_unknown() {
        let p = policy(UnmatchedAction::Reject, true);
        let allow = [unit_rule(Effect::Allow)];
        let pending = conn(1, 1, PendingAcceptance);
        let deep = below(&["ou-ab12-zzzzzzzz", OU]);
        assert_eq!(
            decide_at(&pending, &allow, &p, &deep).action,
            Action::Accept
        );
        assert_eq!(
            decide_at(&pending, &allow, &p, &below(&["ou-ab12-zzzzzzzz"])).action,
            Action::Reject,
            "not below it: unmatched"
        );
        let unknown = Place::Unknown("AccessDenied".into());
        let held = decide_at(&pending, &allow, &p, &unknown);
        assert_eq!(held.action, Action::Hold);
        assert!(
            held.reason.to_string().contains("AccessDenied"),
            "{}",
            held.reason
        );
        // An OU deny over an account allow: below it, rejected (or revoked); unknown, held.
        let rules = [
            unit_rule(Effect::Deny),
            rule(None, Some(1), Effect::Allow, None),
        ];
        assert_eq!(
            decide_at(&pending, &rules, &p, &deep).action,
            Action::Reject
        );
        assert_eq!(
            decide_at(&pending, &rules, &p, &below(&[])).action,
            Action::Accept
        );
        assert_eq!(
            decide_at(&pending, &rules, &p, &unknown).action,
            Action::Hold
        );
        let established = conn(1, 1, Available);
        assert_eq!(
            decide_at(&established, &rules, &p, &deep).action,
            Action::Revoke
        );
        assert_eq!(
            decide_at(&established, &rules, &p, &unknown).action,
            Action::Hold
        );
        // An organization rule: its accounts, and not an account outside it.
        let org = [Rule {
            account: Consumers::parse(ORG).unwrap(),
            ..unit_rule(Effect::Allow)
        }];
        assert_eq!(
            decide_at(&pending, &org, &p, &below(&[])).action,
            Action::Accept
        );
        let outside = Place::Known {
            organization: None,
            units: vec![],
        };
        assert_eq!(
            decide_at(&pending, &org, &p, &outside).action,
            Action::Reject
        );
        assert_eq!(
            decide_at(&pending, &allow, &p, &deep).reason.to_string(),
            format!("allow rule (service *, accounts below {OU})")
        );
    }

    proptest! {
        /// With the place unknown, a connection an OU deny might decide is never accepted, an OU
        /// allow never accepts, and only a rule that matches without the place revokes.
        #[test]
        fn an_unknown_place_never_accepts_what_an_ou_rule_might_decide(
            rules in proptest::collection::vec(arb_rule(), 0..6),
            deny_by_ou in any::<bool>(), owner in 0u8..4, state in arb_state(), p in arb_policy(),
        ) {
            let mut rules = rules;
            rules.push(unit_rule(if deny_by_ou { Effect::Deny } else { Effect::Allow }));
            let c = conn(1, owner, state.clone());
            let d = decide_at(&c, &rules, &p, &Place::Unknown("throttled".into()));
            if deny_by_ou {
                prop_assert_ne!(d.action, Action::Accept);
            } else if d.action == Action::Accept {
                // Only by a rule that matches without the place.
                prop_assert!(live_match(&rules, &c, Effect::Allow));
            }
            if d.action == Action::Revoke {
                prop_assert!(live_match(&rules, &c, Effect::Deny));
            }
            if deny_by_ou && state == PendingAcceptance && !live_match(&rules, &c, Effect::Deny) {
                prop_assert_eq!(d.action, Action::Hold);
            }
        }
    }

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
                decide_with(&conn(1, owner, PendingAcceptance), &rules, &p, NOW).action,
                action,
                "A{owner}"
            );
        }
        assert_eq!(
            decide_with(&conn(1, 3, PendingAcceptance), &rules, &p, NOW)
                .reason
                .to_string(),
            "deny rule (service *, account 100000000003)"
        );
        let leave = policy(UnmatchedAction::Leave, false);
        let d = decide_with(&conn(1, 4, PendingAcceptance), &rules, &leave, NOW);
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
            decide_with(&conn(1, 1, Available), &allowed, &on, NOW).action,
            Action::Keep
        );
        assert_eq!(
            decide_with(&conn(1, 1, Available), &[], &on, NOW).action,
            Action::Revoke
        );
        assert_eq!(
            decide_with(&conn(1, 1, Available), &[], &off, NOW).action,
            Action::Keep
        );
        let denied = vec![allowed[0].clone(), rule(None, Some(1), Effect::Deny, None)];
        assert_eq!(
            decide_with(&conn(1, 1, Available), &denied, &on, NOW).action,
            Action::Revoke
        );
        let expired = vec![rule(Some(1), Some(1), Effect::Allow, Some(NOW))];
        assert_eq!(
            decide_with(&conn(1, 1, Available), &expired, &on, NOW).action,
            Action::Revoke
        );
    }

    #[test]
    fn other_states_are_never_decided() {
        let rules = vec![rule(None, None, Effect::Allow, None)];
        for state in [
            "pending", "rejected", "deleted", "failed", "expired", "partial", "deleting", "weird",
        ] {
            let d = decide_with(
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
        let d = decide_with(
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
            let d = decide_with(&c, &rules, &p, NOW);
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
                prop_assert_eq!(decide_with(&pending, &rules, &p, NOW).action, Action::Reject);
                let established = conn(service, owner, Available);
                let expected = if p.revoke { Action::Revoke } else { Action::Keep };
                prop_assert_eq!(decide_with(&established, &rules, &p, NOW).action, expected);
            }
        }

        #[test]
        fn expired_rules_never_count(
            rules in proptest::collection::vec(arb_rule(), 0..8),
            service in 0u8..3, owner in 0u8..4, state in arb_state(), p in arb_policy(),
        ) {
            let c = conn(service, owner, state);
            let live: Vec<Rule> = rules.iter().filter(|r| r.is_live(NOW)).cloned().collect();
            prop_assert_eq!(decide_with(&c, &rules, &p, NOW).action, decide_with(&c, &live, &p, NOW).action);
        }

        #[test]
        fn a_malformed_item_that_could_apply_never_lets_a_connection_be_accepted_or_revoked(
            rules in proptest::collection::vec(arb_rule(), 0..6),
            holds in proptest::collection::vec(arb_hold(), 1..3),
            owner in 0u8..4, state in arb_state(), p in arb_policy(),
        ) {
            let c = conn(1, owner, state.clone());
            let held = decide_held(&c, &rules, &holds, &p, NOW);
            let plain = decide_with(&c, &rules, &p, NOW);
            let applies = holds.iter().any(|h| h.could_apply(&c.service, &c.owner));
            if !applies {
                // An item that cannot apply to this connection changes nothing.
                prop_assert_eq!(&held, &plain);
            } else if live_match(&rules, &c, Effect::Deny) {
                // A well-formed live deny still decides.
                prop_assert_eq!(held.action, plain.action);
            } else {
                prop_assert!(!matches!(held.action, Action::Accept | Action::Revoke | Action::Reject), "{held:?}");
            }
        }
    }

    /// Malformed items of service 1 or every service, for one account or every account.
    fn arb_hold() -> impl Strategy<Value = MalformedItem> {
        (any::<bool>(), proptest::option::of(0u8..4)).prop_map(|(any_service, account)| {
            MalformedItem {
                key: ItemKey {
                    pk: "x".into(),
                    sk: "y".into(),
                },
                problem: "broken".into(),
                services: if any_service {
                    Scope::Any
                } else {
                    Scope::One(svc(1))
                },
                accounts: account.map_or(Scope::Any, |a| Scope::One(acct(a))),
                is_policy: false,
            }
        })
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;
    use crate::domain::allowlist::{Consumers, ItemKey, PolicyItem, Scope};

    #[test]
    fn a_malformed_policy_holds_every_pending_connection_of_its_service_even_a_denied_one() {
        let service = ServiceId::parse("vpce-svc-0a").unwrap();
        let owner = AccountId::parse("111122223333").unwrap();
        let broken = MalformedItem {
            key: ItemKey {
                pk: service.to_string(),
                sk: "#policy".into(),
            },
            problem: "`dry_run` must be a boolean (BOOL), found S".into(),
            services: Scope::One(service.clone()),
            accounts: Scope::Any,
            is_policy: true,
        };
        let deny = Rule {
            service: Scope::Any,
            account: Consumers::Account(owner.clone()),
            effect: Effect::Deny,
            expires_at: None,
        };
        let mut view = ServiceRules {
            service: service.clone(),
            rules: vec![deny],
            policy: PolicyState::Malformed(broken.clone()),
            holds: vec![],
        };
        let conn = |state| Connection {
            service: service.clone(),
            endpoint: EndpointId::parse("vpce-01").unwrap(),
            owner: owner.clone(),
            state,
        };
        let pending = decide(
            &conn(ConnectionState::PendingAcceptance),
            &view,
            ServicePolicy::default(),
            &Place::not_looked_up(),
            0,
        );
        assert_eq!(pending.action, Action::Hold);
        assert!(
            pending.reason.to_string().contains("policy item"),
            "{}",
            pending.reason
        );
        let established = decide(
            &conn(ConnectionState::Available),
            &view,
            ServicePolicy {
                revoke: true,
                ..Default::default()
            },
            &Place::not_looked_up(),
            0,
        );
        assert_eq!(established.action, Action::Keep);
        // The same service with a well-formed policy: the deny rejects.
        view.policy = PolicyState::Set(PolicyItem::default());
        let decided = decide(
            &conn(ConnectionState::PendingAcceptance),
            &view,
            ServicePolicy::default(),
            &Place::not_looked_up(),
            0,
        );
        assert_eq!(decided.action, Action::Reject);
    }
}
