//! Findings in AWS Security Hub, in ASFF: `BatchImportFindings` (100 a call) to import and to
//! archive, `GetFindings` to read back what this product imported.
//!
//! What Security Hub requires and does (its user guide, "BatchImportFindings for finding
//! providers"): the product ARN of an account's own findings is
//! `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`; a finding is
//! identified by that ARN and its `Id`, and importing it again with a later `UpdatedAt` updates it
//! in place (an equal or earlier one is ignored, so `UpdatedAt` is the run's time, and never the
//! same twice for one finding: see `updated_at`); `RecordState` `ARCHIVED` resolves it. There is no
//! resource type for a VPC endpoint, so an endpoint is `Other` with its ARN.
//! Everything the product needs to read a finding back is in `ProductFields` under `plgov/`.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, Partition, RecordState, Resource,
    Severity as AsffSeverity, SeverityLabel, StringFilter, StringFilterComparison,
};

use super::port_error;
use crate::domain::findings::{
    Finding, FindingResource, FindingType, ImportPlan, Severity, StoredFinding,
};
use crate::domain::hour::format_utc;
use crate::domain::{AccountId, EndpointId, ServiceId};
use crate::ports::{FindingsHub, PortError};

const BATCH: usize = 100;
const FIELD: &str = "plgov/";

#[derive(Debug, Clone)]
pub struct SecurityHubFindings {
    client: aws_sdk_securityhub::Client,
    account: AccountId,
    region: String,
}

impl SecurityHubFindings {
    pub fn new(
        client: aws_sdk_securityhub::Client,
        account: AccountId,
        region: impl Into<String>,
    ) -> Self {
        Self {
            client,
            account,
            region: region.into(),
        }
    }

    fn product_arn(&self) -> String {
        format!(
            "arn:aws:securityhub:{}:{}:product/{}/default",
            self.region, self.account, self.account
        )
    }

    fn resource(&self, r: &FindingResource) -> Resource {
        let (kind, arn) = match r {
            FindingResource::EndpointService(s) => (
                "AwsEc2VpcEndpointService",
                format!(
                    "arn:aws:ec2:{}:{}:vpc-endpoint-service/{s}",
                    self.region, self.account
                ),
            ),
            FindingResource::Endpoint(e) => (
                "Other",
                format!(
                    "arn:aws:ec2:{}:{}:vpc-endpoint/{e}",
                    self.region, self.account
                ),
            ),
        };
        Resource::builder()
            .r#type(kind)
            .id(arn)
            .partition(Partition::Aws)
            .region(&self.region)
            .build()
    }

    fn asff(
        &self,
        generator: &str,
        f: &Finding,
        active: bool,
        created_at: &str,
        updated_at: &str,
    ) -> AwsSecurityFinding {
        let label = match f.severity {
            Severity::Low => SeverityLabel::Low,
            Severity::Medium => SeverityLabel::Medium,
            Severity::High => SeverityLabel::High,
        };
        let mut fields: HashMap<String, String> = HashMap::from([
            (format!("{FIELD}type"), f.kind.as_str().to_owned()),
            (format!("{FIELD}resource"), f.resource.id().to_owned()),
            (format!("{FIELD}fingerprint"), f.fingerprint()),
        ]);
        if let Some(w) = f.monthly_waste_usd {
            fields.insert(format!("{FIELD}monthlyWasteUsd"), format!("{w:.2}"));
        }
        for (k, v) in &f.evidence {
            fields.insert(
                format!("{FIELD}evidence/{k}"),
                v.chars().take(2048).collect(),
            );
        }
        let mut types = vec![format!(
            "Software and Configuration Checks/AWS Security Best Practices/{}",
            f.kind.as_str()
        )];
        if f.kind == FindingType::PrincipalsWiderThanAllowlist {
            types.push("Effects/Data Exposure".into());
        }
        AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id(format!("{generator}/{}", f.key()))
            .product_arn(self.product_arn())
            .generator_id(generator)
            .aws_account_id(self.account.as_str())
            .set_types(Some(types))
            .created_at(created_at)
            .updated_at(updated_at)
            .severity(AsffSeverity::builder().label(label).build())
            .title(f.title.chars().take(256).collect::<String>())
            .description(f.description.chars().take(1024).collect::<String>())
            .resources(self.resource(&f.resource))
            .set_product_fields(Some(fields))
            .record_state(if active {
                RecordState::Active
            } else {
                RecordState::Archived
            })
            .build()
    }
}

/// A finding this product imported, read back from its product fields; `None` for one that does
/// not read (left as it is).
fn stored(raw: &AwsSecurityFinding) -> Option<StoredFinding> {
    let fields = raw.product_fields()?;
    let get = |k: &str| fields.get(&format!("{FIELD}{k}"));
    let kind = FindingType::parse(get("type")?)?;
    let id = get("resource")?;
    let resource = if kind.is_provider_side() {
        FindingResource::EndpointService(ServiceId::parse(id).ok()?)
    } else {
        FindingResource::Endpoint(EndpointId::parse(id).ok()?)
    };
    let severity = match raw.severity()?.label()? {
        SeverityLabel::High | SeverityLabel::Critical => Severity::High,
        SeverityLabel::Medium => Severity::Medium,
        _ => Severity::Low,
    };
    let evidence: BTreeMap<String, String> = fields
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix(&format!("{FIELD}evidence/"))?.to_owned(),
                v.clone(),
            ))
        })
        .collect();
    Some(StoredFinding {
        finding: Finding {
            kind,
            resource,
            severity,
            title: raw.title()?.to_owned(),
            description: raw.description()?.to_owned(),
            evidence,
            monthly_waste_usd: get("monthlyWasteUsd").and_then(|w| w.parse().ok()),
        },
        fingerprint: get("fingerprint")?.clone(),
        active: raw.record_state() != Some(&RecordState::Archived),
        created_at: raw.created_at()?.to_owned(),
    })
}

fn equals(value: &str) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(StringFilterComparison::Equals)
        .build()
}

/// `now` as ISO time: a run imports a finding at most once, so each update is dated later than
/// the one before unless two runs fall in the same second (the second is then ignored).
fn updated_at(now: i64) -> String {
    format_utc(now)
}

impl FindingsHub for SecurityHubFindings {
    async fn held(&self, generator: &str) -> Result<Option<Vec<StoredFinding>>, PortError> {
        // Active ones only: an archived finding that comes back is imported again as new.
        let filters = AwsSecurityFindingFilters::builder()
            .product_arn(equals(&self.product_arn()))
            .generator_id(equals(generator))
            .record_state(equals("ACTIVE"))
            .build();
        let mut pages = self
            .client
            .get_findings()
            .filters(filters)
            .max_results(100)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = Box::pin(pages.next()).await {
            let page = match page {
                Ok(page) => page,
                // Security Hub not enabled in this account and region.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_invalid_access_exception()) =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(port_error("GetFindings", e)),
            };
            for raw in page.findings() {
                match stored(raw) {
                    Some(s) => out.push(s),
                    None => tracing::warn!(
                        id = raw.id().unwrap_or_default(),
                        "a finding of this product that does not read: left as it is"
                    ),
                }
            }
        }
        Ok(Some(out))
    }

    async fn import(&self, generator: &str, plan: &ImportPlan, now: i64) -> Result<(), PortError> {
        let at = updated_at(now);
        let findings: Vec<AwsSecurityFinding> = plan
            .items
            .iter()
            .map(|i| {
                self.asff(
                    generator,
                    &i.finding,
                    i.active,
                    i.created_at.as_deref().unwrap_or(&at),
                    &at,
                )
            })
            .collect();
        for batch in findings.chunks(BATCH) {
            // Boxed: ASFF types are large, and the call's future with them.
            let call = self
                .client
                .batch_import_findings()
                .set_findings(Some(batch.to_vec()))
                .send();
            let out = Box::pin(call)
                .await
                .map_err(|e| port_error("BatchImportFindings", e))?;
            if let Some(failed) = out.failed_findings().first() {
                return Err(PortError {
                    operation: "BatchImportFindings",
                    code: failed.error_code().map(str::to_owned),
                    message: format!(
                        "{} of {} findings not imported, first {}: {}",
                        out.failed_count().unwrap_or(0),
                        batch.len(),
                        failed.id().unwrap_or_default(),
                        failed.error_message().unwrap_or_default()
                    ),
                    retryable: false,
                    kind: crate::ports::ErrorKind::Other,
                    detail: None,
                });
            }
        }
        Ok(())
    }
}
