//! The provider-side findings (the approver's hourly `{"action": "findings"}`): each governed
//! endpoint service's acceptance, allowed principals and connection notifications against the
//! allowlist; with `SyncAllowedPrincipals` on, its allowed principals made equal to what the
//! allowlist plainly allows (a dry-run or held service only reports the change).
//!
//! Calls in steady state: one DescribeVpcEndpointServiceConfigurations and one
//! DescribeVpcEndpointConnectionNotifications for all services, one
//! DescribeVpcEndpointServicePermissions per service, one Scan of the allowlist, one GetFindings
//! page, and one PutMetricData when there are findings; nothing imported when nothing changed.

use serde::Serialize;

use crate::domain::ServiceId;
use crate::domain::findings::{principal_changes, provider_findings};
use crate::ports::{AllowlistStore, Connections, FindingsHub, Metrics};
use crate::usecases::findings::{
    FindingsError, FindingsSummary, HubMode, first_run_of_day, report_findings,
};
use crate::usecases::reconcile::{Governed, ReconcileSettings};

/// The generator of the provider-side findings in Security Hub.
pub const PROVIDER_GENERATOR: &str = "privatelink-governor/endpoint-services";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFindingsSettings {
    /// The stack's connection notification topic.
    pub topic: String,
    pub security_hub: HubMode,
    pub sync_principals: bool,
}

/// A change of a service's allowed principals, made or (dry run) only reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalChange {
    pub service_id: ServiceId,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Made (`false`: a dry run or a held service, reported only).
    pub applied: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceFindingsSummary {
    pub services: usize,
    #[serde(flatten)]
    pub findings: FindingsSummary,
    pub principal_changes: Vec<PrincipalChange>,
}

pub struct ServiceFindings<'a, C, A, H, M> {
    pub connections: &'a C,
    pub allowlist: &'a A,
    pub hub: &'a H,
    pub metrics: &'a M,
    pub reconcile: &'a ReconcileSettings,
    pub settings: &'a ServiceFindingsSettings,
}

impl<C: Connections, A: AllowlistStore, H: FindingsHub, M: Metrics>
    ServiceFindings<'_, C, A, H, M>
{
    /// The findings at epoch second `now`, of the run the schedule fired at `fired_at` (the
    /// day's first run publishes the daily count, even when delivered or retried later).
    pub async fn run(
        &self,
        now: i64,
        fired_at: i64,
    ) -> Result<ServiceFindingsSummary, FindingsError> {
        let services = match &self.reconcile.governed {
            Governed::All => None,
            Governed::These(set) => Some(set.iter().cloned().collect::<Vec<_>>()),
        };
        let setups = self.connections.service_setups(services.as_deref()).await?;
        let allowlist = self.allowlist.load().await?;
        let mut found = Vec::new();
        let mut changes = Vec::new();
        for setup in &setups {
            let rules = allowlist.for_service(&setup.service);
            let policy = rules.effective_policy(self.reconcile.defaults);
            let revoke = policy.is_some_and(|p| p.revoke);
            let mut seen = setup.clone();
            if self.settings.sync_principals {
                let (added, removed) = principal_changes(setup, &rules, now);
                if !added.is_empty() || !removed.is_empty() {
                    // A malformed policy may have asked for a dry run: nothing changes there.
                    let applied = matches!(policy, Some(p) if !p.dry_run);
                    if applied {
                        self.connections
                            .change_principals(&setup.service, &added, &removed)
                            .await?;
                        seen.allowed_principals.retain(|p| !removed.contains(p));
                        seen.allowed_principals.extend(added.iter().cloned());
                    }
                    tracing::info!(service = %setup.service, ?added, ?removed, applied, "allowed principals synced to the allowlist");
                    changes.push(PrincipalChange {
                        service_id: setup.service.clone(),
                        added,
                        removed,
                        applied,
                    });
                }
            }
            found.extend(provider_findings(
                &seen,
                &rules,
                &self.settings.topic,
                revoke,
                now,
            ));
        }
        let findings = report_findings(
            self.hub,
            self.metrics,
            self.settings.security_hub,
            PROVIDER_GENERATOR,
            found,
            now,
            first_run_of_day(fired_at, 1),
        )
        .await?;
        Ok(ServiceFindingsSummary {
            services: setups.len(),
            findings,
            principal_changes: changes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::memory::{MemoryAllowlist, MemoryConnections, MemoryHub, MemoryMetrics};
    use crate::domain::allowlist::ServicePolicy;
    use crate::domain::findings::{FindingType, ServiceSetup};
    use crate::tables::{RawItem, RawValue};

    const NOW: i64 = 1_795_050_000; // 2026-11-19T00:00:00Z + 3600: not a metric hour
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:plgov-connections";
    const SVC: &str = "vpce-svc-0123456789abcdef0";
    const ALLOWED: &str = "111111111111";
    const DENIED: &str = "222222222222";

    #[derive(Default)]
    struct World {
        connections: MemoryConnections,
        allowlist: MemoryAllowlist,
        hub: MemoryHub,
        metrics: MemoryMetrics,
    }

    impl World {
        fn with_service(acceptance: bool, principals: &[&str], topics: &[&str]) -> Self {
            let w = Self::default();
            w.connections.setups.lock().unwrap().push(ServiceSetup {
                service: ServiceId::parse(SVC).unwrap(),
                acceptance_required: acceptance,
                allowed_principals: principals.iter().map(|p| (*p).to_owned()).collect(),
                notification_topics: topics.iter().map(|p| (*p).to_owned()).collect(),
            });
            w.allowlist
                .add(&[("pk", SVC), ("sk", ALLOWED), ("effect", "allow")]);
            w.allowlist
                .add(&[("pk", SVC), ("sk", DENIED), ("effect", "deny")]);
            w
        }

        async fn run(&self, sync: bool, now: i64) -> Result<ServiceFindingsSummary, FindingsError> {
            self.run_fired(sync, now, now).await
        }

        async fn run_fired(
            &self,
            sync: bool,
            now: i64,
            fired_at: i64,
        ) -> Result<ServiceFindingsSummary, FindingsError> {
            ServiceFindings {
                connections: &self.connections,
                allowlist: &self.allowlist,
                hub: &self.hub,
                metrics: &self.metrics,
                reconcile: &ReconcileSettings {
                    governed: Governed::All,
                    defaults: ServicePolicy::default(),
                    audit_retention_days: 400,
                },
                settings: &ServiceFindingsSettings {
                    topic: TOPIC.into(),
                    security_hub: HubMode::Auto,
                    sync_principals: sync,
                },
            }
            .run(now, fired_at)
            .await
        }

        fn principals(&self) -> Vec<String> {
            self.connections.setups.lock().unwrap()[0]
                .allowed_principals
                .clone()
        }
    }

    fn root(account: &str) -> String {
        format!("arn:aws:iam::{account}:root")
    }

    #[tokio::test]
    async fn each_situation_is_found_imported_once_and_archived_when_fixed() {
        let w = World::with_service(false, &["*"], &[]);
        let s = w.run(false, NOW).await.unwrap();
        let kinds: Vec<FindingType> = s.findings.findings.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [
                FindingType::AcceptanceNotRequired,
                FindingType::PrincipalsWiderThanAllowlist,
                FindingType::NoConnectionNotification
            ]
        );
        assert_eq!((s.findings.imported, s.findings.archived), (3, 0));
        // Unchanged: nothing imported, and the calls of a steady state.
        let before = w.connections.calls.lock().unwrap().len();
        let again = w.run(false, NOW + 3_600).await.unwrap();
        assert_eq!(again.findings.security_hub, "unchanged");
        assert_eq!(w.hub.imports.lock().unwrap().len(), 1);
        assert_eq!(
            w.connections.calls.lock().unwrap().len() - before,
            2,
            "configurations + one service's permissions"
        );
        assert!(
            w.metrics.published.lock().unwrap().is_empty(),
            "the count is published once a day"
        );
        // Fixed: acceptance on, the notification made, principals narrowed: archived.
        {
            let mut setups = w.connections.setups.lock().unwrap();
            setups[0].acceptance_required = true;
            setups[0].notification_topics = vec![TOPIC.into()];
            setups[0].allowed_principals = vec![root(ALLOWED)];
        }
        let fixed = w.run(false, NOW + 7_200).await.unwrap();
        assert!(fixed.findings.findings.is_empty());
        assert_eq!((fixed.findings.imported, fixed.findings.archived), (0, 3));
        assert!(w.hub.held.lock().unwrap().values().all(|f| !f.active));
    }

    #[tokio::test]
    async fn the_days_first_scheduled_run_publishes_the_count_even_when_delivered_late() {
        let midnight = NOW - 3_600;
        let w = World::with_service(false, &["*"], &[]);
        // The 01:00 run, delivered at 02:00: not the day's first.
        w.run_fired(false, NOW + 3_600, NOW).await.unwrap();
        assert!(w.metrics.published.lock().unwrap().is_empty());
        // The 00:00 run, delivered (or retried) at 02:00: the day's first.
        w.run_fired(false, NOW + 3_600, midnight + 5).await.unwrap();
        let published = w.metrics.published.lock().unwrap().clone();
        assert_eq!(published.len(), 1, "{published:?}");
        let counts: Vec<(&str, String, f64)> = published[0]
            .iter()
            .map(|p| (p.name, p.dimensions[0].1.clone(), p.value))
            .collect();
        assert_eq!(
            counts,
            [
                ("Findings", "AcceptanceNotRequired".to_owned(), 1.0),
                ("Findings", "NoConnectionNotification".to_owned(), 1.0),
                ("Findings", "PrincipalsWiderThanAllowlist".to_owned(), 1.0),
            ]
        );
    }

    #[tokio::test]
    async fn sync_adds_the_allowed_and_removes_the_rest_and_a_dry_run_only_reports() {
        let w = World::with_service(true, &["*", &root(DENIED)], &[TOPIC]);
        let s = w.run(true, NOW).await.unwrap();
        assert_eq!(
            s.principal_changes,
            [PrincipalChange {
                service_id: ServiceId::parse(SVC).unwrap(),
                added: vec![root(ALLOWED)],
                removed: vec!["*".into(), root(DENIED)],
                applied: true
            }]
        );
        assert_eq!(w.principals(), [root(ALLOWED)]);
        assert!(
            s.findings.findings.is_empty(),
            "found after the change: nothing wider"
        );
        assert_eq!(
            w.connections
                .calls_of("ModifyVpcEndpointServicePermissions"),
            1
        );
        // In sync: no call.
        w.run(true, NOW + 3_600).await.unwrap();
        assert_eq!(
            w.connections
                .calls_of("ModifyVpcEndpointServicePermissions"),
            1
        );
        // A dry-run service: reported, not changed.
        w.allowlist.add_raw(RawItem::from([
            ("pk".to_owned(), RawValue::S(SVC.into())),
            ("sk".to_owned(), RawValue::S("#policy".into())),
            ("dry_run".to_owned(), RawValue::Bool(true)),
        ]));
        w.connections.setups.lock().unwrap()[0]
            .allowed_principals
            .push("*".into());
        let dry = w.run(true, NOW + 7_200).await;
        let dry = dry.unwrap();
        assert!(!dry.principal_changes[0].applied);
        assert_eq!(
            w.connections
                .calls_of("ModifyVpcEndpointServicePermissions"),
            1
        );
        assert_eq!(w.principals(), [root(ALLOWED), "*".to_owned()]);
    }

    #[tokio::test]
    async fn a_malformed_item_removes_and_never_adds() {
        let w = World::with_service(true, &[&root(ALLOWED)], &[TOPIC]);
        // A deny written by hand with a capitalised attribute: it may have been for anyone.
        w.allowlist
            .add(&[("pk", SVC), ("sk", "*"), ("Effect", "deny")]);
        let s = w.run(true, NOW).await.unwrap();
        assert_eq!(s.principal_changes[0].removed, [root(ALLOWED)]);
        assert!(s.principal_changes[0].added.is_empty());
        assert!(w.principals().is_empty());
    }
}
