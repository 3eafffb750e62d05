//! Audit records: one per decision that changed (or in a dry run would have changed) a connection.

use serde::Serialize;

use super::decision::{Action, Connection, Decision};
use super::trigger::TriggerKind;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub service_id: String,
    pub endpoint_id: String,
    pub owner: String,
    pub decision: Action,
    pub reason: String,
    pub trigger: TriggerKind,
    pub dry_run: bool,
    /// Epoch seconds.
    pub decided_at: i64,
    /// Epoch seconds after which DynamoDB's TTL may remove the record.
    pub expires_at: i64,
}

impl AuditRecord {
    pub fn new(
        conn: &Connection,
        decision: &Decision,
        trigger: TriggerKind,
        dry_run: bool,
        now: i64,
        retention_days: u32,
    ) -> Self {
        Self {
            service_id: conn.service.to_string(),
            endpoint_id: conn.endpoint.to_string(),
            owner: conn.owner.to_string(),
            decision: decision.action,
            reason: decision.reason.to_string(),
            trigger,
            dry_run,
            decided_at: now,
            expires_at: now + i64::from(retention_days) * 86_400,
        }
    }

    /// Partition key: the service, so one service's history is one Query.
    pub fn partition_key(&self) -> &str {
        &self.service_id
    }

    /// Sort key derived from the connection and the decision only (not the time), so a
    /// replayed trigger writes the same key again instead of a second record.
    pub fn sort_key(&self) -> String {
        let mode = if self.dry_run { "dry-run" } else { "live" };
        format!("{}#{}#{mode}", self.endpoint_id, self.decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::decision::Reason;
    use crate::domain::{AccountId, ConnectionState, EndpointId, ServiceId};

    #[test]
    fn the_key_ignores_time_and_trigger() {
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
        let a = AuditRecord::new(&conn, &d, TriggerKind::Schedule, false, 100, 30);
        let b = AuditRecord::new(&conn, &d, TriggerKind::Sns, false, 200, 30);
        assert_eq!(
            (a.partition_key(), a.sort_key()),
            (b.partition_key(), b.sort_key().clone())
        );
        assert_eq!(a.sort_key(), "vpce-0b#reject#live");
        assert_eq!(a.expires_at, 100 + 30 * 86_400);
        let dry = AuditRecord::new(&conn, &d, TriggerKind::Sns, true, 200, 30);
        assert_ne!(dry.sort_key(), a.sort_key());
    }
}
