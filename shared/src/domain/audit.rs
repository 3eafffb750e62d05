//! Audit records. A decision record is written, before anything is carried out, for each
//! decision that changes (or in a dry run would change) a connection; after the Accept or Reject
//! call an outcome record says what AWS answered. Records are appended, never overwritten: the
//! first record of a decision (and of each distinct answer) wins.

use std::fmt;

use serde::Serialize;

use super::decision::{Action, Connection, Decision};
use super::ids::{AccountId, EndpointId, ServiceId};
use super::trigger::TriggerKind;

/// A decision that changed (or, in a dry run, would have changed) a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    pub service_id: ServiceId,
    pub endpoint_id: EndpointId,
    pub owner: AccountId,
    pub decision: Action,
    pub reason: String,
    pub trigger: TriggerKind,
    pub dry_run: bool,
    /// Epoch seconds.
    pub decided_at: i64,
    /// Epoch seconds after which DynamoDB's TTL may remove the record.
    pub expires_at: i64,
}

impl DecisionRecord {
    pub fn new(
        conn: &Connection,
        decision: &Decision,
        trigger: &TriggerKind,
        dry_run: bool,
        now: i64,
        retention_days: u32,
    ) -> Self {
        Self {
            service_id: conn.service.clone(),
            endpoint_id: conn.endpoint.clone(),
            owner: conn.owner.clone(),
            decision: decision.action,
            reason: decision.reason.to_string(),
            trigger: trigger.clone(),
            dry_run,
            decided_at: now,
            expires_at: now + i64::from(retention_days) * 86_400,
        }
    }

    /// What AWS answered when the decision was carried out at `now`.
    pub fn outcome(&self, result: Outcome, now: i64) -> OutcomeRecord {
        OutcomeRecord {
            service_id: self.service_id.clone(),
            endpoint_id: self.endpoint_id.clone(),
            owner: self.owner.clone(),
            decision: self.decision,
            trigger: self.trigger.clone(),
            outcome: result,
            attempted_at: now,
            expires_at: now + (self.expires_at - self.decided_at),
        }
    }
}

/// What AWS answered to an Accept or Reject call, for one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum Outcome {
    /// The call changed the connection.
    Changed,
    /// The call failed, or listed the connection as `Unsuccessful`.
    Failed { code: String, message: String },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Changed => f.write_str("changed"),
            Outcome::Failed { code, .. } => write!(f, "failed: {code}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeRecord {
    pub service_id: ServiceId,
    pub endpoint_id: EndpointId,
    pub owner: AccountId,
    pub decision: Action,
    pub trigger: TriggerKind,
    pub outcome: Outcome,
    /// Epoch seconds of the call.
    pub attempted_at: i64,
    pub expires_at: i64,
}

/// One record of the audit table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum AuditRecord {
    Decision(DecisionRecord),
    Outcome(OutcomeRecord),
}

impl AuditRecord {
    pub fn service_id(&self) -> &ServiceId {
        match self {
            AuditRecord::Decision(d) => &d.service_id,
            AuditRecord::Outcome(o) => &o.service_id,
        }
    }

    /// When it happened: the decision, or the call.
    pub fn at(&self) -> i64 {
        match self {
            AuditRecord::Decision(d) => d.decided_at,
            AuditRecord::Outcome(o) => o.attempted_at,
        }
    }
}
