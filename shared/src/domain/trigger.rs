//! What woke the approver, and which services it asks to reconcile. Events are read into
//! these by the `events` module; `plgov reconcile` builds one for its operator.

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use super::ids::ServiceId;

/// What asked for a reconcile; recorded in every audit record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TriggerKind {
    Schedule,
    ConnectionEvent,
    CloudTrail,
    Sns,
    Direct,
    /// `plgov reconcile`, with the operator's identity (their IAM ARN).
    Operator(String),
}

impl TriggerKind {
    const SIMPLE: [(TriggerKind, &'static str); 5] = [
        (TriggerKind::Schedule, "schedule"),
        (TriggerKind::ConnectionEvent, "connectionEvent"),
        (TriggerKind::CloudTrail, "cloudTrail"),
        (TriggerKind::Sns, "sns"),
        (TriggerKind::Direct, "direct"),
    ];
    const OPERATOR_PREFIX: &'static str = "operator:";

    /// The kind without the operator's identity, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            TriggerKind::Operator(_) => "operator",
            simple => Self::SIMPLE
                .iter()
                .find(|(k, _)| k == simple)
                .map_or("unknown", |(_, n)| n),
        }
    }

    /// Reads the stored form written by `Display`.
    pub fn parse(value: &str) -> Option<Self> {
        if let Some(who) = value.strip_prefix(Self::OPERATOR_PREFIX) {
            return (!who.is_empty()).then(|| TriggerKind::Operator(who.to_owned()));
        }
        Self::SIMPLE
            .iter()
            .find(|(_, n)| *n == value)
            .map(|(k, _)| k.clone())
    }
}

/// `schedule`, ..., or `operator:<identity>`.
impl fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TriggerKind::Operator(who) => write!(f, "{}{who}", Self::OPERATOR_PREFIX),
            simple => f.write_str(simple.name()),
        }
    }
}

impl Serialize for TriggerKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Which services a trigger asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceSelection {
    AllGoverned,
    These(BTreeSet<ServiceId>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub services: ServiceSelection,
    /// Asked for by the event; it can only add a dry run, never lift one.
    pub dry_run: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_forms_read_back() {
        for kind in [
            TriggerKind::Schedule,
            TriggerKind::ConnectionEvent,
            TriggerKind::CloudTrail,
            TriggerKind::Sns,
            TriggerKind::Direct,
            TriggerKind::Operator("arn:aws:iam::111122223333:user/ops".into()),
        ] {
            assert_eq!(TriggerKind::parse(&kind.to_string()), Some(kind));
        }
        assert_eq!(
            TriggerKind::Operator("arn:x".into()).to_string(),
            "operator:arn:x"
        );
        for bad in ["", "Schedule", "operator:", "cron"] {
            assert_eq!(TriggerKind::parse(bad), None, "{bad}");
        }
    }
}
