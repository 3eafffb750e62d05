//! Allowlist rules and service policies: what decides a connection request.
//!
//! The items of the allowlist table are decoded strictly by `tables::allowlist`. An item that
//! is not well-formed becomes a [`MalformedItem`]: it is never matched, and it *holds* every
//! connection it might have matched, because it may have been a deny. Skipping it would widen
//! access; holding leaves the connection pending until someone fixes the item.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::ids::{AccountId, IdError, OrgUnitId, OrganizationId, ServiceId};
use super::organization::Place;

/// The sort key of a service's policy item.
pub const POLICY_SORT_KEY: &str = "#policy";
/// The key value meaning "every service" (pk) or "every account" (sk).
pub const WILDCARD: &str = "*";

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

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whom a rule is about (its `sk`): every account, one account, every account below an
/// organizational unit (at any depth), or every account of an organization.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Consumers {
    Any,
    Account(AccountId),
    Unit(OrgUnitId),
    Organization(OrganizationId),
}

impl Consumers {
    /// `*`, a 12-digit account id, `ou-...` or `o-...`; the error names what was expected.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        if value == WILDCARD {
            Ok(Self::Any)
        } else if value.starts_with("ou-") {
            OrgUnitId::parse(value).map(Self::Unit)
        } else if value.starts_with("o-") {
            OrganizationId::parse(value).map(Self::Organization)
        } else {
            AccountId::parse(value).map(Self::Account)
        }
    }

    /// Whether matching needs the account's place in AWS Organizations.
    pub fn needs_place(&self) -> bool {
        matches!(self, Self::Unit(_) | Self::Organization(_))
    }

    /// Whether `account`, at `place`, is among them; `None` when that depends on a place that
    /// could not be read.
    pub fn contain(&self, account: &AccountId, place: &Place) -> Option<bool> {
        match self {
            Self::Any => Some(true),
            Self::Account(a) => Some(a == account),
            Self::Unit(unit) => place.is_below(unit),
            Self::Organization(org) => place.is_in(org),
        }
    }
}

impl fmt::Display for Consumers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str(WILDCARD),
            Self::Account(a) => a.fmt(f),
            Self::Unit(u) => u.fmt(f),
            Self::Organization(o) => o.fmt(f),
        }
    }
}

impl Serialize for Consumers {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One allowlist rule: who (accounts) may or may not connect to what (service).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub service: Scope<ServiceId>,
    pub account: Consumers,
    pub effect: Effect,
    /// Epoch seconds; the rule is ignored from this instant on.
    pub expires_at: Option<i64>,
}

impl Rule {
    pub fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }

    /// Whether the rule applies to `account` (at `place`) on `service` at `now`; `None` when
    /// that depends on a place in AWS Organizations that could not be read.
    pub fn applies(
        &self,
        service: &ServiceId,
        account: &AccountId,
        place: &Place,
        now: i64,
    ) -> Option<bool> {
        if !self.is_live(now) || !self.service.matches(service) {
            return Some(false);
        }
        self.account.contain(account, place)
    }

    /// [`Rule::applies`] known to be true without any place in AWS Organizations: rules of
    /// organizations and OUs never match here.
    pub fn matches(&self, service: &ServiceId, account: &AccountId, now: i64) -> bool {
        self.applies(service, account, &Place::not_looked_up(), now) == Some(true)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match &self.account {
            Consumers::Unit(u) => format!("accounts below {u}"),
            Consumers::Organization(o) => format!("accounts of {o}"),
            other => format!("account {other}"),
        };
        write!(f, "{} rule (service {}, {who})", self.effect, self.service)
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
    /// The exact spelling only: `reject` or `leave`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "reject" => Some(Self::Reject),
            "leave" => Some(Self::Leave),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reject => "reject",
            Self::Leave => "leave",
        }
    }
}

impl fmt::Display for UnmatchedAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A service's policy item; every setting is optional in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyItem {
    pub unmatched: Option<UnmatchedAction>,
    pub revoke: Option<bool>,
    pub dry_run: Option<bool>,
}

/// The policy in force for a service: its policy item over the deployment's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
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

/// The keys of a stored item exactly as stored (they need not be valid ids).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(pk {:?}, sk {:?})", self.pk, self.sk)
    }
}

/// An item that is not well-formed, and what it might have matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MalformedItem {
    pub key: ItemKey,
    /// What is wrong, naming the attribute.
    pub problem: String,
    /// The services it might have applied to: its `pk` when that reads as a service id,
    /// otherwise every service.
    pub services: Scope<ServiceId>,
    /// The accounts it might have applied to: its `sk` when that reads as an account id,
    /// otherwise every account.
    pub accounts: Scope<AccountId>,
    /// It was (or looks like) a service's policy item: its whole service is held.
    pub is_policy: bool,
}

impl MalformedItem {
    pub fn could_apply(&self, service: &ServiceId, account: &AccountId) -> bool {
        self.services.matches(service) && (self.is_policy || self.accounts.matches(account))
    }
}

impl fmt::Display for MalformedItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed allowlist item {}: {}", self.key, self.problem)
    }
}

/// Every item of the allowlist table, decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allowlist {
    pub rules: Vec<Rule>,
    pub policies: BTreeMap<ServiceId, PolicyItem>,
    pub malformed: Vec<MalformedItem>,
}

/// A service's policy as the table has it.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyState {
    /// No policy item: the deployment's defaults apply.
    Default,
    Set(PolicyItem),
    /// The policy item is malformed: the service's settings are unknown, so nothing in it
    /// is changed (it may have asked for a dry run).
    Malformed(MalformedItem),
}

/// What applies to one service: the rules of its scope and `*`, its policy, and the malformed
/// items that might apply to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRules {
    pub service: ServiceId,
    pub rules: Vec<Rule>,
    pub policy: PolicyState,
    /// Malformed rule items of its scope (or of every service): they hold matching accounts.
    pub holds: Vec<MalformedItem>,
}

impl ServiceRules {
    /// The policy in force, or `None` when the policy item is malformed.
    pub fn effective_policy(&self, defaults: ServicePolicy) -> Option<ServicePolicy> {
        match &self.policy {
            PolicyState::Default => Some(ServicePolicy::resolve(None, defaults)),
            PolicyState::Set(item) => Some(ServicePolicy::resolve(Some(item), defaults)),
            PolicyState::Malformed(_) => None,
        }
    }

    /// The first malformed item that could apply to `account`, if any.
    pub fn hold_for(&self, account: &AccountId) -> Option<&MalformedItem> {
        self.holds
            .iter()
            .find(|m| m.could_apply(&self.service, account))
    }
}

impl Allowlist {
    /// What applies to `service`.
    pub fn for_service(&self, service: &ServiceId) -> ServiceRules {
        let rules = self
            .rules
            .iter()
            .filter(|r| r.service.matches(service))
            .cloned()
            .collect();
        let malformed_policy = self
            .malformed
            .iter()
            .find(|m| m.is_policy && m.services.matches(service));
        let policy = match (malformed_policy, self.policies.get(service)) {
            (Some(m), _) => PolicyState::Malformed(m.clone()),
            (None, Some(item)) => PolicyState::Set(*item),
            (None, None) => PolicyState::Default,
        };
        let holds = self
            .malformed
            .iter()
            .filter(|m| !m.is_policy && m.services.matches(service))
            .cloned()
            .collect();
        ServiceRules {
            service: service.clone(),
            rules,
            policy,
            holds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(n: u8) -> ServiceId {
        ServiceId::parse(&format!("vpce-svc-0{n}")).unwrap()
    }

    fn acct(n: u8) -> AccountId {
        AccountId::parse(&format!("{:012}", 100_000_000_000u64 + u64::from(n))).unwrap()
    }

    fn broken(
        services: Scope<ServiceId>,
        accounts: Scope<AccountId>,
        is_policy: bool,
    ) -> MalformedItem {
        MalformedItem {
            key: ItemKey {
                pk: services.to_string(),
                sk: accounts.to_string(),
            },
            problem: "broken".into(),
            services,
            accounts,
            is_policy,
        }
    }

    #[test]
    fn a_service_sees_its_rules_and_the_wildcard_ones_its_policy_and_what_may_hold_it() {
        let rule = |service: Scope<ServiceId>| Rule {
            service,
            account: Consumers::Any,
            effect: Effect::Allow,
            expires_at: None,
        };
        let allowlist = Allowlist {
            rules: vec![
                rule(Scope::One(svc(1))),
                rule(Scope::One(svc(2))),
                rule(Scope::Any),
            ],
            policies: BTreeMap::from([(
                svc(1),
                PolicyItem {
                    revoke: Some(true),
                    ..Default::default()
                },
            )]),
            malformed: vec![
                broken(Scope::One(svc(2)), Scope::One(acct(1)), false),
                broken(Scope::Any, Scope::One(acct(2)), false),
                broken(Scope::One(svc(3)), Scope::Any, true),
            ],
        };
        let one = allowlist.for_service(&svc(1));
        assert_eq!(one.rules, vec![rule(Scope::One(svc(1))), rule(Scope::Any)]);
        assert_eq!(
            one.policy,
            PolicyState::Set(PolicyItem {
                revoke: Some(true),
                ..Default::default()
            })
        );
        assert_eq!(one.holds.len(), 1, "only the `*` item can hold service 1");
        assert!(one.hold_for(&acct(2)).is_some());
        assert!(one.hold_for(&acct(1)).is_none());
        assert!(
            one.effective_policy(ServicePolicy::default())
                .is_some_and(|p| p.revoke)
        );
        let two = allowlist.for_service(&svc(2));
        assert_eq!(two.holds.len(), 2);
        assert_eq!(two.policy, PolicyState::Default);
        let three = allowlist.for_service(&svc(3));
        assert!(matches!(three.policy, PolicyState::Malformed(_)));
        assert_eq!(three.effective_policy(ServicePolicy::default()), None);
    }

    #[test]
    fn a_malformed_policy_item_applies_to_every_account_of_its_services() {
        let policy = broken(Scope::One(svc(1)), Scope::Any, true);
        assert!(policy.could_apply(&svc(1), &acct(7)));
        assert!(!policy.could_apply(&svc(2), &acct(7)));
        let rule = broken(Scope::Any, Scope::One(acct(1)), false);
        assert!(rule.could_apply(&svc(9), &acct(1)));
        assert!(!rule.could_apply(&svc(9), &acct(2)));
    }

    #[test]
    fn a_policy_item_overrides_defaults_but_never_lifts_a_dry_run() {
        let defaults = ServicePolicy {
            unmatched: UnmatchedAction::Reject,
            revoke: false,
            dry_run: true,
        };
        let item = PolicyItem {
            unmatched: Some(UnmatchedAction::Leave),
            revoke: Some(true),
            dry_run: Some(false),
        };
        assert_eq!(
            ServicePolicy::resolve(Some(&item), defaults),
            ServicePolicy {
                unmatched: UnmatchedAction::Leave,
                revoke: true,
                dry_run: true
            }
        );
        assert_eq!(ServicePolicy::resolve(None, defaults), defaults);
    }
}
