//! Findings: what the governor cannot govern or what is open too wide (provider side, per
//! governed endpoint service), and what wastes money or availability (consumer side, per VPC
//! endpoint). Each has a type, the resource, the evidence and, for waste, dollars a month.
//!
//! A finding is identified by its type and resource, so one run after another updates it in
//! place; its fingerprint (everything a reader sees, waste rounded to whole dollars) tells
//! whether it changed, so a steady state imports nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::allowlist::{Consumers, Effect, ServiceRules};
use super::cost::{EndpointKind, HOURS_PER_MONTH, monthly_estimate};
use super::inventory::Endpoint;
use super::organization::Place;
use super::pricing::RegionRates;
use super::{AccountId, ServiceId};

/// Hours of recorded traffic the consumer findings look back over: seven days.
pub const WEEK_HOURS: u32 = 168;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum FindingType {
    /// The service accepts every connection itself: the approver never sees them.
    AcceptanceNotRequired,
    /// Allowed principals include `*` or accounts the allowlist does not allow.
    PrincipalsWiderThanAllowlist,
    /// No connection notification to the stack's topic: requests wait for the next sweep.
    NoConnectionNotification,
    /// No traffic through the endpoint for seven days of recorded hours.
    IdleEndpoint,
    /// The endpoint cost more than the NAT Gateway traffic it replaced over seven days.
    NegativeSavings,
    /// The endpoint sits in one AZ: an availability finding.
    SingleAzEndpoint,
    /// An interface endpoint to an AWS service with the default full-access policy.
    DefaultEndpointPolicy,
}

impl FindingType {
    pub const ALL: [FindingType; 7] = [
        Self::AcceptanceNotRequired,
        Self::PrincipalsWiderThanAllowlist,
        Self::NoConnectionNotification,
        Self::IdleEndpoint,
        Self::NegativeSavings,
        Self::SingleAzEndpoint,
        Self::DefaultEndpointPolicy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AcceptanceNotRequired => "AcceptanceNotRequired",
            Self::PrincipalsWiderThanAllowlist => "PrincipalsWiderThanAllowlist",
            Self::NoConnectionNotification => "NoConnectionNotification",
            Self::IdleEndpoint => "IdleEndpoint",
            Self::NegativeSavings => "NegativeSavings",
            Self::SingleAzEndpoint => "SingleAzEndpoint",
            Self::DefaultEndpointPolicy => "DefaultEndpointPolicy",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }

    /// Provider-side types come from the approver, the others from the cost reporter.
    pub fn is_provider_side(self) -> bool {
        matches!(
            self,
            Self::AcceptanceNotRequired
                | Self::PrincipalsWiderThanAllowlist
                | Self::NoConnectionNotification
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum FindingResource {
    EndpointService(ServiceId),
    Endpoint(crate::domain::EndpointId),
}

impl FindingResource {
    pub fn id(&self) -> &str {
        match self {
            Self::EndpointService(s) => s.as_str(),
            Self::Endpoint(e) => e.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    #[serde(rename = "type")]
    pub kind: FindingType,
    pub resource: FindingResource,
    pub severity: Severity,
    pub title: String,
    pub description: String,
    /// What was seen, as names and values.
    pub evidence: BTreeMap<String, String>,
    /// USD a month the situation wastes, for waste findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_waste_usd: Option<f64>,
}

impl Finding {
    /// Stable across runs: the type and the resource.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.resource.id())
    }

    /// Everything a reader of the finding sees, waste in whole dollars: equal fingerprints, no
    /// import. FNV-1a, written as hex: stable across builds and platforms.
    pub fn fingerprint(&self) -> String {
        let mut text = format!(
            "{}|{}|{}|{}|{}",
            self.key(),
            self.severity.as_str(),
            self.title,
            self.description,
            self.monthly_waste_usd.map_or(-1, |w| w.round() as i64)
        );
        for (k, v) in &self.evidence {
            let _ = write!(text, "|{k}={v}");
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

/// One governed endpoint service as the sweep sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSetup {
    pub service: ServiceId,
    pub acceptance_required: bool,
    /// `AllowedPrincipals` as EC2 lists them: ARNs or `*`.
    pub allowed_principals: Vec<String>,
    /// The SNS topics its connection notifications go to.
    pub notification_topics: Vec<String>,
}

/// Whether the allowlist plainly allows `account` on the service: a live allow matches, no live
/// deny matches, and no malformed item could apply.
fn plainly_allowed(rules: &ServiceRules, account: &AccountId, now: i64) -> bool {
    let matching = || {
        rules
            .rules
            .iter()
            .filter(|r| r.matches(&rules.service, account, now))
    };
    matching().any(|r| r.effect == Effect::Allow)
        && !matching().any(|r| r.effect == Effect::Deny)
        && rules.hold_for(account).is_none()
}

/// The provider-side findings of one governed service. `topic` is the stack's notification
/// topic; `revoke` whether the approver revokes what the allowlist does not allow.
pub fn provider_findings(
    setup: &ServiceSetup,
    rules: &ServiceRules,
    topic: &str,
    revoke: bool,
    now: i64,
) -> Vec<Finding> {
    let service = &setup.service;
    let resource = FindingResource::EndpointService(service.clone());
    let mut out = Vec::new();
    if !setup.acceptance_required {
        let consequence = if revoke {
            "The approver still revokes, at its next sweep, what the allowlist does not allow; until then such a consumer is connected."
        } else {
            "Nothing the allowlist says is enforced: with revoke off, a consumer the allowlist does not allow stays connected."
        };
        out.push(Finding {
            kind: FindingType::AcceptanceNotRequired,
            resource: resource.clone(),
            severity: Severity::High,
            title: format!("{service} accepts every connection without the approver"),
            description: format!(
                "AcceptanceRequired is false: AWS accepts each connection request itself and the approver never decides it. {consequence} Turn acceptance on: aws ec2 modify-vpc-endpoint-service-configuration --service-id {service} --acceptance-required"
            ),
            evidence: BTreeMap::from([
                ("acceptanceRequired".into(), "false".into()),
                ("revoke".into(), revoke.to_string()),
            ]),
            monthly_waste_usd: None,
        });
    }
    let wider: Vec<&String> = setup
        .allowed_principals
        .iter()
        .filter(|p| {
            p.as_str() == "*"
                || AccountId::from_principal(p).is_err()
                || !plainly_allowed(rules, &AccountId::from_principal(p).expect("checked"), now)
        })
        .collect();
    if !wider.is_empty() {
        let star = wider.iter().any(|p| p.as_str() == "*");
        out.push(Finding {
            kind: FindingType::PrincipalsWiderThanAllowlist,
            resource: resource.clone(),
            severity: if star { Severity::High } else { Severity::Medium },
            title: format!(
                "{service} lets {} create endpoints the allowlist does not allow",
                if star { "every AWS account" } else { "principals" }
            ),
            description: format!(
                "Allowed principals the allowlist does not plainly allow: {}. They can create endpoints and ask to connect; narrow them (aws ec2 modify-vpc-endpoint-service-permissions --service-id {service} --remove-allowed-principals ...) or turn on SyncAllowedPrincipals.",
                wider.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
            ),
            evidence: BTreeMap::from([(
                "principalsNotAllowed".into(),
                wider
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            )]),
            monthly_waste_usd: None,
        });
    }
    if !setup.notification_topics.iter().any(|t| t == topic) {
        out.push(Finding {
            kind: FindingType::NoConnectionNotification,
            resource,
            severity: Severity::Low,
            title: format!("{service} does not notify the approver of connection requests"),
            description: format!(
                "No connection notification of the service goes to the stack's topic {topic}: a request waits for the next sweep. aws ec2 create-vpc-endpoint-connection-notification --service-id {service} --connection-notification-arn {topic} --connection-events Connect Accept Reject Delete"
            ),
            evidence: BTreeMap::from([(
                "notificationTopics".into(),
                setup.notification_topics.join(","),
            )]),
            monthly_waste_usd: None,
        });
    }
    out
}

/// The principals to add to and remove from a service so that they equal what the allowlist
/// plainly allows (`arn:aws:iam::<account>:root` each). A deny or a malformed item only ever
/// removes; a rule for every account (`*`) adds nothing (it cannot be listed) and keeps `*`.
pub fn principal_changes(
    setup: &ServiceSetup,
    rules: &ServiceRules,
    now: i64,
) -> (Vec<String>, Vec<String>) {
    let root = |a: &AccountId| format!("arn:aws:iam::{a}:root");
    let open_to_all = rules
        .rules
        .iter()
        .any(|r| r.is_live(now) && r.effect == Effect::Allow && r.account == Consumers::Any)
        && rules.holds.is_empty();
    // Which accounts an organization or OU holds is not listed here: an account principal
    // such a rule may allow stays unless a deny or a malformed item could apply to it.
    let allowed_by_organization = rules
        .rules
        .iter()
        .any(|r| r.is_live(now) && r.effect == Effect::Allow && r.account.needs_place());
    let kept_for_organization = |a: &AccountId| {
        allowed_by_organization
            && rules.hold_for(a).is_none()
            && !rules.rules.iter().any(|r| {
                r.effect == Effect::Deny
                    && r.applies(&rules.service, a, &Place::not_looked_up(), now) != Some(false)
            })
    };
    let wanted: Vec<String> = rules
        .rules
        .iter()
        .filter(|r| r.is_live(now) && r.effect == Effect::Allow)
        .filter_map(|r| match &r.account {
            Consumers::Account(a) if plainly_allowed(rules, a, now) => Some(root(a)),
            _ => None,
        })
        .collect();
    let add: Vec<String> = wanted
        .iter()
        .filter(|w| !setup.allowed_principals.contains(w))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let remove: Vec<String> = setup
        .allowed_principals
        .iter()
        .filter(|p| match AccountId::from_principal(p) {
            _ if p.as_str() == "*" => !open_to_all,
            Ok(a) => !plainly_allowed(rules, &a, now) && !kept_for_organization(&a),
            Err(_) => true,
        })
        .cloned()
        .collect();
    (add, remove)
}

/// One VPC endpoint of the account with its last seven days from the cost table.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointWeek {
    pub endpoint: Endpoint,
    /// GB (2^30 bytes) it processed over the hours recorded.
    pub gb: f64,
    /// Hours of the last seven days the cost table priced while the endpoint existed.
    pub recorded_hours: u32,
    /// Its policy document, as EC2 returns it.
    pub policy: Option<String>,
    /// Whether its service takes endpoint policies (DescribeVpcEndpointServices); `None`: not
    /// known, and a default policy is reported rather than missed.
    pub policy_supported: Option<bool>,
}

/// Whether `policy` is the full-access policy AWS attaches by default: one statement allowing
/// every principal every action on every resource, without a condition.
pub fn is_default_policy(policy: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        Value::Array(s) => s.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => return false,
    };
    let any = |v: &Value| match v {
        Value::String(s) => s == "*",
        Value::Array(items) => items.iter().any(|i| i == "*"),
        Value::Object(m) => m
            .get("AWS")
            .is_some_and(|a| a == "*" || a.as_array().is_some_and(|l| l.iter().any(|i| i == "*"))),
        _ => false,
    };
    statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && any(&s["Principal"])
            && any(&s["Action"])
            && any(&s["Resource"])
            && s.get("Condition").is_none()
    })
}

/// Whether the endpoint has the default policy on an interface endpoint to an AWS service: the
/// services to ask whether they take endpoint policies at all.
pub fn default_policy_on_aws_service(endpoint: &Endpoint, policy: Option<&str>) -> bool {
    endpoint.kind == EndpointKind::Interface
        && is_aws_service(&endpoint.service_name)
        && policy.is_some_and(is_default_policy)
}

/// Whether the endpoint is to an AWS service, not to an endpoint service of an account
/// (`com.amazonaws.vpce.<region>.vpce-svc-...`).
fn is_aws_service(service_name: &str) -> bool {
    service_name.starts_with("com.amazonaws.") && !service_name.starts_with("com.amazonaws.vpce.")
        || service_name.starts_with("aws.")
}

/// The consumer-side findings of one endpoint.
pub fn consumer_findings(week: &EndpointWeek, rates: &RegionRates, region: &str) -> Vec<Finding> {
    let e = &week.endpoint;
    let resource = FindingResource::Endpoint(e.id.clone());
    let mut out = Vec::new();
    if e.kind != EndpointKind::Interface {
        return out;
    }
    let base = BTreeMap::from([
        ("serviceName".to_owned(), e.service_name.clone()),
        ("vpcId".to_owned(), e.vpc_id.clone()),
        ("azs".to_owned(), e.azs.to_string()),
    ]);
    let complete_week = week.recorded_hours >= WEEK_HOURS;
    let gb_per_month = week.gb * HOURS_PER_MONTH / f64::from(WEEK_HOURS);
    if let Ok(m) = monthly_estimate(rates, region, e.azs, gb_per_month) {
        if complete_week && week.gb == 0.0 {
            let mut evidence = base.clone();
            evidence.insert("recordedHours".into(), week.recorded_hours.to_string());
            out.push(Finding {
                kind: FindingType::IdleEndpoint,
                resource: resource.clone(),
                severity: Severity::Low,
                title: format!("{} moved no data for seven days", e.id),
                description: format!(
                    "No BytesProcessed in the last {WEEK_HOURS} recorded hours. It costs about ${:.0} a month ({} AZ(s) x {HOURS_PER_MONTH} hours); delete it if nothing uses it.",
                    m.endpoint_hourly_cost, e.azs
                ),
                evidence,
                monthly_waste_usd: Some(m.endpoint_hourly_cost),
            });
        } else if complete_week && m.nat_savings < 0.0 {
            let mut evidence = base.clone();
            evidence.insert("gbLast7Days".into(), format!("{:.1}", week.gb));
            evidence.insert(
                "breakEvenGbPerMonth".into(),
                m.break_even_gb_per_month
                    .map_or_else(|| "never".to_owned(), |g| format!("{g:.0}")),
            );
            out.push(Finding {
                kind: FindingType::NegativeSavings,
                resource: resource.clone(),
                severity: Severity::Low,
                title: format!("{} costs more than the NAT Gateway traffic it replaces", e.id),
                description: format!(
                    "Over the last seven days it processed {:.1} GB, about {:.0} GB a month: the endpoint costs about ${:.0} a month, the same traffic through a NAT Gateway ${:.0}. It pays for itself from {} GB a month.",
                    week.gb,
                    gb_per_month,
                    m.endpoint_cost,
                    m.nat_equivalent_cost,
                    m.break_even_gb_per_month
                        .map_or_else(|| "no volume".to_owned(), |g| format!("{g:.0}"))
                ),
                evidence,
                monthly_waste_usd: Some(-m.nat_savings),
            });
        }
    }
    if e.azs == 1 {
        out.push(Finding {
            kind: FindingType::SingleAzEndpoint,
            resource: resource.clone(),
            severity: Severity::Medium,
            title: format!("{} is in a single Availability Zone", e.id),
            description: "An outage of its one AZ cuts every client of the endpoint off the service; add a subnet in a second AZ.".into(),
            evidence: base.clone(),
            monthly_waste_usd: None,
        });
    }
    if default_policy_on_aws_service(e, week.policy.as_deref())
        && week.policy_supported != Some(false)
    {
        out.push(Finding {
            kind: FindingType::DefaultEndpointPolicy,
            resource,
            severity: Severity::Medium,
            title: format!("{} allows every principal every action", e.id),
            description: format!(
                "The endpoint to {} has the default full-access policy: any principal in the VPC reaches any resource of the service through it, other accounts' too. Attach a policy naming the resources and principals that need it.",
                e.service_name
            ),
            evidence: base,
            monthly_waste_usd: None,
        });
    }
    out
}

/// A finding as Security Hub holds it (read back from its product fields), its fingerprint, whether
/// it is active, and when it was first found (ISO time, kept through updates).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFinding {
    pub finding: Finding,
    pub fingerprint: String,
    pub active: bool,
    pub created_at: String,
}

/// One finding to import: active (new or changed) or archived (resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportItem {
    pub finding: Finding,
    pub active: bool,
    /// When it was first found; `None`: now.
    pub created_at: Option<String>,
}

/// What one run imports: findings new or changed, and those resolved (active in Security Hub,
/// not found any more), archived.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportPlan {
    pub items: Vec<ImportItem>,
}

impl ImportPlan {
    pub fn imported(&self) -> usize {
        self.items.iter().filter(|i| i.active).count()
    }

    pub fn archived(&self) -> usize {
        self.items.iter().filter(|i| !i.active).count()
    }
}

/// Compares this run's findings with what Security Hub holds (of the same side).
pub fn plan_import(found: &[Finding], stored: &[StoredFinding]) -> ImportPlan {
    let held: BTreeMap<String, &StoredFinding> =
        stored.iter().map(|s| (s.finding.key(), s)).collect();
    let mut items: Vec<ImportItem> = found
        .iter()
        .filter_map(|f| match held.get(&f.key()) {
            Some(s) if s.active && s.fingerprint == f.fingerprint() => None,
            Some(s) => Some(ImportItem {
                finding: f.clone(),
                active: true,
                created_at: Some(s.created_at.clone()),
            }),
            None => Some(ImportItem {
                finding: f.clone(),
                active: true,
                created_at: None,
            }),
        })
        .collect();
    let current: std::collections::BTreeSet<String> = found.iter().map(Finding::key).collect();
    items.extend(
        stored
            .iter()
            .filter(|s| s.active && !current.contains(&s.finding.key()))
            .map(|s| ImportItem {
                finding: s.finding.clone(),
                active: false,
                created_at: Some(s.created_at.clone()),
            }),
    );
    ImportPlan { items }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EndpointId;
    use crate::domain::allowlist::{Allowlist, ItemKey, MalformedItem, Rule, Scope};
    use crate::domain::pricing::PriceBook;

    const NOW: i64 = 1_795_000_000;
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:plgov-connections";

    fn svc() -> ServiceId {
        ServiceId::parse("vpce-svc-0123456789abcdef0").unwrap()
    }

    fn acct(n: u64) -> AccountId {
        AccountId::parse(&format!("{:012}", 111_111_111_000 + n)).unwrap()
    }

    fn rule(account: Consumers, effect: Effect) -> Rule {
        Rule {
            service: Scope::One(svc()),
            account,
            effect,
            expires_at: None,
        }
    }

    fn rules(list: Vec<Rule>) -> ServiceRules {
        Allowlist {
            rules: list,
            ..Default::default()
        }
        .for_service(&svc())
    }

    fn setup(acceptance: bool, principals: &[&str], topics: &[&str]) -> ServiceSetup {
        ServiceSetup {
            service: svc(),
            acceptance_required: acceptance,
            allowed_principals: principals.iter().map(|s| (*s).to_owned()).collect(),
            notification_topics: topics.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn kinds(found: &[Finding]) -> Vec<FindingType> {
        found.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn a_well_set_service_has_no_finding() {
        let r = rules(vec![rule(Consumers::Account(acct(1)), Effect::Allow)]);
        let s = setup(true, &["arn:aws:iam::111111111001:root"], &[TOPIC]);
        assert_eq!(provider_findings(&s, &r, TOPIC, false, NOW), vec![]);
    }

    #[test]
    fn acceptance_off_wide_principals_and_no_notification_are_found() {
        let r = rules(vec![
            rule(Consumers::Account(acct(1)), Effect::Allow),
            rule(Consumers::Account(acct(2)), Effect::Deny),
        ]);
        let s = setup(
            false,
            &[
                "*",
                "arn:aws:iam::111111111001:root",
                "arn:aws:iam::111111111002:role/x",
                "arn:aws:iam::111111111003:root",
            ],
            &["arn:aws:sns:us-east-1:123456789012:other"],
        );
        let found = provider_findings(&s, &r, TOPIC, true, NOW);
        assert_eq!(
            kinds(&found),
            [
                FindingType::AcceptanceNotRequired,
                FindingType::PrincipalsWiderThanAllowlist,
                FindingType::NoConnectionNotification
            ]
        );
        assert_eq!(found[0].severity, Severity::High);
        assert!(
            found[0].description.contains("still revokes"),
            "{}",
            found[0].description
        );
        assert!(
            provider_findings(&s, &r, TOPIC, false, NOW)[0]
                .description
                .contains("stays connected")
        );
        assert_eq!(found[1].severity, Severity::High, "`*` is every account");
        assert_eq!(
            found[1].evidence["principalsNotAllowed"],
            "*,arn:aws:iam::111111111002:role/x,arn:aws:iam::111111111003:root",
            "the allowed account is not listed; the denied and the unknown are"
        );
        let narrow = setup(true, &["arn:aws:iam::111111111003:root"], &[TOPIC]);
        let found = provider_findings(&narrow, &r, TOPIC, false, NOW);
        assert_eq!(kinds(&found), [FindingType::PrincipalsWiderThanAllowlist]);
        assert_eq!(found[0].severity, Severity::Medium);
    }

    #[test]
    fn principal_changes_add_the_allowed_and_remove_the_rest_never_adding_for_a_deny_or_a_hold() {
        let mut list = vec![
            rule(Consumers::Account(acct(1)), Effect::Allow),
            rule(Consumers::Account(acct(2)), Effect::Allow),
            rule(Consumers::Account(acct(2)), Effect::Deny),
            rule(Consumers::Account(acct(4)), Effect::Allow),
        ];
        list.push(Rule {
            expires_at: Some(NOW - 1),
            ..rule(Consumers::Account(acct(5)), Effect::Allow)
        });
        let mut allowlist = Allowlist {
            rules: list,
            ..Default::default()
        };
        allowlist.malformed.push(MalformedItem {
            key: ItemKey {
                pk: svc().to_string(),
                sk: acct(4).to_string(),
            },
            problem: "`effect` is missing".into(),
            services: Scope::One(svc()),
            accounts: Scope::One(acct(4)),
            is_policy: false,
        });
        let r = allowlist.for_service(&svc());
        let s = setup(
            true,
            &[
                "*",
                "arn:aws:iam::111111111002:root",
                "arn:aws:iam::111111111001:root",
            ],
            &[TOPIC],
        );
        let (add, remove) = principal_changes(&s, &r, NOW);
        assert_eq!(
            add,
            Vec::<String>::new(),
            "1 is there; 2 denied; 4 held; 5 expired"
        );
        assert_eq!(remove, ["*", "arn:aws:iam::111111111002:root"]);
        let empty = setup(true, &[], &[TOPIC]);
        assert_eq!(
            principal_changes(&empty, &r, NOW).0,
            ["arn:aws:iam::111111111001:root"]
        );
        // A rule for every account keeps `*`, and still removes a denied account.
        let open = rules(vec![
            rule(Consumers::Any, Effect::Allow),
            rule(Consumers::Account(acct(2)), Effect::Deny),
        ]);
        let (add, remove) = principal_changes(&s, &open, NOW);
        assert!(add.is_empty());
        assert_eq!(remove, ["arn:aws:iam::111111111002:root"]);
    }

    fn endpoint(azs: u32, service_name: &str) -> Endpoint {
        Endpoint {
            id: EndpointId::parse("vpce-0aaaaaaaaaaaaaaaa").unwrap(),
            kind: EndpointKind::Interface,
            service_name: service_name.into(),
            vpc_id: "vpc-1".into(),
            azs,
            created_at: Some(NOW - 30 * 86_400),
        }
    }

    fn week(azs: u32, gb: f64, hours: u32) -> EndpointWeek {
        EndpointWeek {
            endpoint: endpoint(azs, "com.amazonaws.vpce.us-east-1.vpce-svc-0a"),
            gb,
            recorded_hours: hours,
            policy: None,
            policy_supported: None,
        }
    }

    fn us() -> RegionRates {
        PriceBook::builtin().rates("us-east-1").unwrap().clone()
    }

    #[test]
    fn idle_and_negative_savings_need_a_recorded_week_and_carry_their_dollars() {
        let idle = consumer_findings(&week(2, 0.0, WEEK_HOURS), &us(), "us-east-1");
        assert_eq!(kinds(&idle), [FindingType::IdleEndpoint]);
        // 2 AZ x $0.01 x 730 h = $14.60 a month.
        assert!((idle[0].monthly_waste_usd.unwrap() - 14.6).abs() < 1e-9);
        assert!(
            consumer_findings(&week(2, 0.0, WEEK_HOURS - 1), &us(), "us-east-1").is_empty(),
            "not a week yet"
        );
        // 20 GB a week = 86.9 GB a month: endpoint 14.60 + 0.87, NAT 3.91: wastes 11.56.
        let low = consumer_findings(&week(2, 20.0, WEEK_HOURS), &us(), "us-east-1");
        assert_eq!(kinds(&low), [FindingType::NegativeSavings]);
        let gb_month = 20.0 * 730.0 / 168.0;
        let waste = 14.6 + gb_month * 0.01 - gb_month * 0.045;
        assert!((low[0].monthly_waste_usd.unwrap() - waste).abs() < 1e-9);
        assert_eq!(low[0].evidence["breakEvenGbPerMonth"], "417");
        // 200 GB a week pays for itself.
        assert!(consumer_findings(&week(2, 200.0, WEEK_HOURS), &us(), "us-east-1").is_empty());
    }

    #[test]
    fn one_az_and_the_default_policy_on_an_aws_service_are_found() {
        let one = consumer_findings(&week(1, 500.0, WEEK_HOURS), &us(), "us-east-1");
        assert_eq!(kinds(&one), [FindingType::SingleAzEndpoint]);
        let default = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
        let mut w = week(2, 500.0, WEEK_HOURS);
        w.endpoint.service_name = "com.amazonaws.us-east-1.sqs".into();
        w.policy = Some(default.into());
        assert_eq!(
            kinds(&consumer_findings(&w, &us(), "us-east-1")),
            [FindingType::DefaultEndpointPolicy]
        );
        // Known to take policies: found; known not to: nothing to narrow, no finding.
        w.policy_supported = Some(true);
        assert_eq!(
            kinds(&consumer_findings(&w, &us(), "us-east-1")),
            [FindingType::DefaultEndpointPolicy]
        );
        let mut no_policies = w.clone();
        no_policies.policy_supported = Some(false);
        assert!(consumer_findings(&no_policies, &us(), "us-east-1").is_empty());
        // To an endpoint service of an account: no finding; a narrowed policy: none either.
        let mut svc_endpoint = w.clone();
        svc_endpoint.endpoint.service_name = "com.amazonaws.vpce.us-east-1.vpce-svc-0a".into();
        assert!(consumer_findings(&svc_endpoint, &us(), "us-east-1").is_empty());
        for narrowed in [
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}"#,
            "not json",
        ] {
            assert!(!is_default_policy(narrowed), "{narrowed}");
        }
        assert!(is_default_policy(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["*"],"Resource":"*"}}"#
        ));
    }

    #[test]
    fn a_steady_state_imports_nothing_and_a_fixed_situation_is_archived() {
        let r = rules(vec![]);
        let found = provider_findings(&setup(false, &[], &[TOPIC]), &r, TOPIC, false, NOW);
        let held = |active: bool| -> Vec<StoredFinding> {
            found
                .iter()
                .map(|f| StoredFinding {
                    finding: f.clone(),
                    fingerprint: f.fingerprint(),
                    active,
                    created_at: "2026-11-01T00:00:00Z".into(),
                })
                .collect()
        };
        let stored = held(true);
        assert_eq!(plan_import(&found, &stored), ImportPlan::default());
        let new = plan_import(&found, &[]);
        assert_eq!((new.imported(), new.archived()), (found.len(), 0));
        assert!(new.items.iter().all(|i| i.created_at.is_none()));
        let mut changed = found.clone();
        changed[0].evidence.insert("revoke".into(), "true".into());
        let update = plan_import(&changed, &stored);
        assert_eq!(update.imported(), 1);
        assert_eq!(
            update.items[0].created_at.as_deref(),
            Some("2026-11-01T00:00:00Z"),
            "first seen kept"
        );
        let fixed = plan_import(&[], &stored);
        assert_eq!(fixed.archived(), found.len());
        assert_eq!(
            fixed.items[0].finding.key(),
            format!("AcceptanceNotRequired/{}", svc())
        );
        // An archived finding that comes back is imported again (active); gone, it stays archived.
        assert_eq!(plan_import(&found, &held(false)).imported(), found.len());
        assert_eq!(plan_import(&[], &held(false)), ImportPlan::default());
        // Waste within the same dollar is not a change.
        let mut a = consumer_findings(&week(2, 0.0, WEEK_HOURS), &us(), "us-east-1");
        let print = a[0].fingerprint();
        a[0].monthly_waste_usd = Some(14.7);
        assert_eq!(a[0].fingerprint(), print);
    }
}
