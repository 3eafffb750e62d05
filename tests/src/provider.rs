//! A provider account of its own, with the stack's tables, functions configured as the stack
//! configures them, and readers of what they published.

use aws_config::SdkConfig;
use aws_sdk_ec2::types::VpcEndpointType;
use plgov_shared::adapters::epoch_now;
use plgov_shared::domain::allowlist::ItemKey;
use plgov_shared::domain::audit::AuditRecord;
use plgov_shared::tables::{AllowlistTable, AuditTable, RawItem, RawValue};

use crate::REGION;
use crate::accounts::{config_for, random_account};
use crate::endpoints::create_endpoint_with;

fn s(value: &str) -> RawValue {
    RawValue::S(value.to_owned())
}

/// Creates an on-demand table keyed `pk` (hash) and `sk` (range), both strings, as the stack's tables are.
async fn create_keyed_table(dynamodb: &aws_sdk_dynamodb::Client, table: &str) {
    create_table(dynamodb, table, None, None).await;
}

/// A pay-per-request table keyed by `pk` and `sk` (strings), with a resource policy and a
/// global secondary index (`(name, partition attribute)`, sorted by `sk`) when given; its ARN.
pub async fn create_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    policy: Option<String>,
    index: Option<(&str, &str)>,
) -> String {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType,
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let mut request = dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(string("pk"))
        .attribute_definitions(string("sk"))
        .set_resource_policy(policy);
    if let Some((name, partition)) = index {
        request = request
            .attribute_definitions(string(partition))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .key_schema(key(partition, KeyType::Hash))
                    .key_schema(key("sk", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            );
    }
    request
        .send()
        .await
        .expect("create table")
        .table_description
        .and_then(|t| t.table_arn)
        .expect("table arn")
}

pub const COST_TABLE: &str = "plgov-cost";

/// A provider account of its own with the allowlist and audit tables, as the stack creates them.
pub struct Provider {
    pub account: String,
    pub sdk: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

pub const ALLOWLIST_TABLE: &str = "plgov-allowlist";
pub const AUDIT_TABLE: &str = "plgov-audit";

impl Provider {
    pub async fn new() -> Self {
        Self::in_account(random_account()).await
    }

    /// A provider in `account` (an account of an organization the test built), with its tables.
    pub async fn in_account(account: String) -> Self {
        let sdk = config_for(&account).await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        for table in [ALLOWLIST_TABLE, AUDIT_TABLE] {
            create_keyed_table(&dynamodb, table).await;
        }
        Self {
            account,
            sdk,
            dynamodb,
        }
    }

    /// The allowlist table of this account, through its one owner.
    pub fn allowlist(&self) -> AllowlistTable {
        AllowlistTable::new(self.dynamodb.clone(), ALLOWLIST_TABLE)
    }

    /// The audit table of this account, through its one owner.
    pub fn audit_table(&self) -> AuditTable {
        AuditTable::new(
            self.dynamodb.clone(),
            AUDIT_TABLE,
            plgov_shared::tables::audit::Provider {
                account: plgov_shared::domain::AccountId::parse(&self.account).expect("account id"),
                region: REGION.to_owned(),
            },
        )
    }

    /// Writes a well-formed rule, as an operator would by hand.
    pub async fn put_rule(&self, pk: &str, sk: &str, effect: &str) {
        self.put_raw(&[("pk", s(pk)), ("sk", s(sk)), ("effect", s(effect))])
            .await;
    }

    /// Writes an item exactly as given, well-formed or not (a hand-written item).
    pub async fn put_raw(&self, attributes: &[(&str, RawValue)]) {
        let item: RawItem = attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        self.allowlist()
            .put_raw(&item)
            .await
            .expect("put allowlist item");
    }

    pub async fn delete_item(&self, pk: &str, sk: &str) {
        self.allowlist()
            .delete(&ItemKey {
                pk: pk.to_owned(),
                sk: sk.to_owned(),
            })
            .await
            .expect("delete allowlist item");
    }

    /// Every audit record, read back through the table's owner.
    pub async fn audit_records(&self) -> Vec<AuditRecord> {
        self.audit_table()
            .records(None)
            .await
            .expect("read audit")
            .into_iter()
            .map(|r| r.expect("every audit item reads as a record"))
            .collect()
    }

    /// Every decision record, as (service, endpoint, decision, dry_run), sorted.
    pub async fn audit(&self) -> Vec<(String, String, String, bool)> {
        let mut rows: Vec<_> = self
            .audit_records()
            .await
            .into_iter()
            .filter_map(|r| match r {
                AuditRecord::Decision(d) => Some((
                    d.service_id.to_string(),
                    d.endpoint_id.to_string(),
                    d.decision.to_string(),
                    d.dry_run,
                )),
                AuditRecord::Outcome(_) => None,
            })
            .collect();
        rows.sort();
        rows
    }

    /// The SNS topic the stack's connection notifications go to (named, not created).
    pub fn topic_arn(&self) -> String {
        format!("arn:aws:sns:{REGION}:{}:plgov-connections", self.account)
    }

    /// The approver as the stack configures it, for this account, with `env` on top of the tables.
    pub fn approver(&self, env: &[(&str, &str)]) -> connection_approver::Approver {
        self.approver_via(&self.sdk, env)
    }

    /// The same, with its AWS calls going through `sdk` (e.g. another endpoint URL).
    pub fn approver_via(
        &self,
        sdk: &SdkConfig,
        env: &[(&str, &str)],
    ) -> connection_approver::Approver {
        let topic = self.topic_arn();
        let mut vars: std::collections::HashMap<String, String> = [
            ("ALLOWLIST_TABLE", ALLOWLIST_TABLE),
            ("AUDIT_TABLE", AUDIT_TABLE),
            ("ACCOUNT_ID", self.account.as_str()),
            ("CONNECTION_TOPIC_ARN", topic.as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
        vars.extend(env.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        let config = plgov_shared::config::ApproverConfig::from_lookup(|n| vars.get(n).cloned())
            .expect("valid config");
        connection_approver::Approver::new(sdk, config)
    }

    /// Sum of a decision metric for a service over the last hour, read back from CloudWatch.
    pub async fn metric(&self, name: &str, service: &str) -> f64 {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
        let now = epoch_now();
        let query = MetricDataQuery::builder()
            .id("m")
            .metric_stat(
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("PrivateLinkGovernor")
                            .metric_name(name)
                            .dimensions(
                                Dimension::builder()
                                    .name("ServiceId")
                                    .value(service)
                                    .build(),
                            )
                            .build(),
                    )
                    .period(7200)
                    .stat("Sum")
                    .build(),
            )
            .build();
        let out = aws_sdk_cloudwatch::Client::new(&self.sdk)
            .get_metric_data()
            .start_time(DateTime::from_secs(now - 3600))
            .end_time(DateTime::from_secs(now + 3600))
            .metric_data_queries(query)
            .send()
            .await
            .expect("get metric data");
        out.metric_data_results()
            .iter()
            .flat_map(|r| r.values())
            .sum()
    }

    pub async fn create_cost_table(&self) {
        create_keyed_table(&self.dynamodb, COST_TABLE).await;
    }

    /// The cost reporter as the stack configures it, for this account, with `env` on top.
    pub fn reporter(&self, env: &[(&str, &str)]) -> cost_reporter::Reporter {
        let mut vars: std::collections::HashMap<String, String> = [
            ("COST_TABLE", COST_TABLE),
            ("AWS_REGION", REGION),
            ("ACCOUNT_ID", self.account.as_str()),
        ]
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
        vars.extend(env.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        let config = plgov_shared::config::CostConfig::from_lookup(|n| vars.get(n).cloned())
            .expect("valid config");
        cost_reporter::Reporter::new(&self.sdk, config)
    }

    /// Makes the emulator report `endpoints` as created at epoch second `at`, so a test can price
    /// an hour of its choosing, whatever the wall clock says.
    pub fn backdate(&self, endpoints: &[String], at: i64) {
        let body = serde_json::json!({"account": self.account, "region": REGION,
            "endpoints": endpoints, "createdAt": at});
        let (status, text) = crate::http("POST", "/_plgov/endpoint-times", &body.to_string());
        assert_eq!(status, 200, "backdating endpoints failed: {text}");
    }

    /// Creates an endpoint of `kind` in this account with `azs` subnets; returns its id.
    pub async fn create_own_endpoint(
        &self,
        kind: VpcEndpointType,
        service_name: &str,
        azs: usize,
    ) -> String {
        create_endpoint_with(&self.sdk, kind, service_name, azs).await
    }

    /// Puts `BytesProcessed` for an endpoint into `AWS/PrivateLinkEndpoints` with the dimension
    /// set CloudWatch uses, as two data points inside the hour starting at `hour_start`.
    pub async fn put_bytes_processed(&self, endpoint_id: &str, bytes: f64, hour_start: i64) {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
        let ec2 = aws_sdk_ec2::Client::new(&self.sdk);
        let out = ec2
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(endpoint_id)
            .send()
            .await
            .expect("describe endpoint");
        let e = &out.vpc_endpoints()[0];
        let dims: Vec<Dimension> = [
            ("Endpoint Type", e.vpc_endpoint_type().unwrap().as_str()),
            ("Service Name", e.service_name().unwrap()),
            ("VPC Endpoint Id", endpoint_id),
            ("VPC Id", e.vpc_id().unwrap()),
        ]
        .into_iter()
        .map(|(n, v)| Dimension::builder().name(n).value(v).build())
        .collect();
        let data = [(60, bytes / 4.0), (1800, bytes * 3.0 / 4.0)].map(|(offset, value)| {
            MetricDatum::builder()
                .metric_name("BytesProcessed")
                .set_dimensions(Some(dims.clone()))
                .timestamp(DateTime::from_secs(hour_start + offset))
                .value(value)
                .build()
        });
        aws_sdk_cloudwatch::Client::new(&self.sdk)
            .put_metric_data()
            .namespace("AWS/PrivateLinkEndpoints")
            .set_metric_data(Some(data.to_vec()))
            .send()
            .await
            .expect("put BytesProcessed");
    }

    /// Sum of a metric of the product's namespace at `hour_start`, for one endpoint or (None) the region.
    pub async fn cost_metric(
        &self,
        name: &str,
        endpoint: Option<&str>,
        hour_start: i64,
    ) -> Option<f64> {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
        let metric = Metric::builder()
            .namespace("PrivateLinkGovernor")
            .metric_name(name)
            .set_dimensions(
                endpoint.map(|e| vec![Dimension::builder().name("VpcEndpointId").value(e).build()]),
            )
            .build();
        let query = MetricDataQuery::builder()
            .id("m")
            .metric_stat(
                MetricStat::builder()
                    .metric(metric)
                    .period(3600)
                    .stat("Sum")
                    .build(),
            )
            .build();
        let out = aws_sdk_cloudwatch::Client::new(&self.sdk)
            .get_metric_data()
            .start_time(DateTime::from_secs(hour_start))
            .end_time(DateTime::from_secs(hour_start + 3600))
            .metric_data_queries(query)
            .send()
            .await
            .expect("get metric data");
        let values: Vec<f64> = out
            .metric_data_results()
            .iter()
            .flat_map(|r| r.values().to_vec())
            .collect();
        if values.is_empty() {
            None
        } else {
            Some(values.iter().sum())
        }
    }
}
