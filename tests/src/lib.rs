//! Harness for the integration tests: SDK configs for any account of the local AWS
//! emulator (via STS assume-role, as a real cross-account setup would), helpers that
//! build providers and consumers, and the emulator's fault switch.
//!
//! Every test works in accounts of its own (`random_account`), so tests running in
//! parallel never see each other's services, endpoints, tables, metrics or faults.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::types::VpcEndpointType;
use plgov_shared::adapters::CallCounter;

pub const REGION: &str = "us-east-1";
const DEFAULT_URL: &str = "http://127.0.0.1:4566";

/// The emulator's base URL: `PLGOV_EMULATOR_URL`, else `AWS_ENDPOINT_URL`, else the default.
pub fn emulator_url() -> String {
    std::env::var("PLGOV_EMULATOR_URL")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A fresh 12-digit account id, unique within this process and very likely across runs.
pub fn random_account() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(SEQ.fetch_add(1, Ordering::Relaxed));
    format!("{}", 200_000_000_000 + hasher.finish() % 700_000_000_000)
}

async fn base_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(emulator_url())
        .region(Region::new(REGION))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "plgov-tests",
        ))
        .load()
        .await
}

/// SDK config whose credentials belong to `account` (assumed through the emulator's STS).
pub async fn config_for(account: &str) -> SdkConfig {
    let base = base_config().await;
    let creds = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/plgov-test"))
        .role_session_name("plgov-test")
        .send()
        .await
        .expect("assume role in the emulator")
        .credentials
        .expect("assumed credentials");
    base.into_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            aws_sdk_sts::config::Credentials::new(
                creds.access_key_id,
                creds.secret_access_key,
                Some(creds.session_token),
                None,
                "assumed",
            ),
        ))
        .build()
}

/// An EC2 client that counts its calls, with the SDK's retries off when `retries` is false.
pub fn ec2_client(config: &SdkConfig, counter: &CallCounter, retries: bool) -> aws_sdk_ec2::Client {
    let mut builder = aws_sdk_ec2::config::Builder::from(config).interceptor(counter.clone());
    if !retries {
        builder = builder.retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled());
    }
    aws_sdk_ec2::Client::from_conf(builder.build())
}

pub fn cloudwatch_client(config: &SdkConfig, counter: &CallCounter) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::from(config)
            .interceptor(counter.clone())
            .build(),
    )
}

/// Creates an endpoint service (behind a new network load balancer) in `account`.
pub async fn create_service(account: &str, acceptance_required: bool) -> String {
    let config = config_for(account).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc = create_vpc(&ec2, "10.0.0.0/16").await;
    let subnet = create_subnet(&ec2, &vpc, "10.0.1.0/24", "us-east-1a").await;
    let nlb = aws_sdk_elasticloadbalancingv2::Client::new(&config)
        .create_load_balancer()
        .name(format!("nlb-{}", &random_account()[..8]))
        .r#type(aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum::Network)
        .subnets(subnet)
        .send()
        .await
        .expect("create load balancer");
    let nlb_arn = nlb.load_balancers()[0]
        .load_balancer_arn()
        .expect("nlb arn")
        .to_owned();
    ec2.create_vpc_endpoint_service_configuration()
        .network_load_balancer_arns(nlb_arn)
        .acceptance_required(acceptance_required)
        .send()
        .await
        .expect("create endpoint service")
        .service_configuration
        .and_then(|c| c.service_id)
        .expect("service id")
}

/// Creates an interface endpoint in `account` to `service_id`, with one subnet per AZ.
pub async fn create_endpoint(account: &str, service_id: &str, azs: usize) -> String {
    let name = format!("com.amazonaws.vpce.{REGION}.{service_id}");
    create_endpoint_with(
        &config_for(account).await,
        VpcEndpointType::Interface,
        &name,
        azs,
    )
    .await
}

/// Creates an endpoint of `kind` to `service_name` in a new VPC with one subnet per AZ (up to 3).
async fn create_endpoint_with(
    sdk: &SdkConfig,
    kind: VpcEndpointType,
    service_name: &str,
    azs: usize,
) -> String {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let vpc = create_vpc(&ec2, "10.1.0.0/16").await;
    let mut subnets = Vec::new();
    for (i, az) in ["a", "b", "c"].iter().take(azs).enumerate() {
        subnets.push(
            create_subnet(
                &ec2,
                &vpc,
                &format!("10.1.{i}.0/24"),
                &format!("{REGION}{az}"),
            )
            .await,
        );
    }
    ec2.create_vpc_endpoint()
        .vpc_id(vpc)
        .vpc_endpoint_type(kind)
        .set_subnet_ids(Some(subnets))
        .service_name(service_name)
        .send()
        .await
        .expect("create endpoint")
        .vpc_endpoint
        .and_then(|e| e.vpc_endpoint_id)
        .expect("endpoint id")
}

async fn create_vpc(ec2: &aws_sdk_ec2::Client, cidr: &str) -> String {
    ec2.create_vpc()
        .cidr_block(cidr)
        .send()
        .await
        .expect("create vpc")
        .vpc
        .and_then(|v| v.vpc_id)
        .expect("vpc id")
}

async fn create_subnet(ec2: &aws_sdk_ec2::Client, vpc: &str, cidr: &str, az: &str) -> String {
    ec2.create_subnet()
        .vpc_id(vpc)
        .cidr_block(cidr)
        .availability_zone(az)
        .send()
        .await
        .expect("create subnet")
        .subnet
        .and_then(|s| s.subnet_id)
        .expect("subnet id")
}

/// Arms a fault in the emulator (see dev/emulator/plgov_emulator/control.py).
pub fn arm_fault(fault: serde_json::Value) {
    let (status, body) = http("POST", "/_plgov/faults", &fault.to_string());
    assert_eq!(status, 200, "arming fault failed: {body}");
}

/// A minimal HTTP/1.1 exchange with the emulator's control endpoints: (status, body).
pub fn http(method: &str, path: &str, body: &str) -> (u16, String) {
    let url = emulator_url();
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("connect to the emulator");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Creates an on-demand table keyed `pk` (hash) and `sk` (range), both strings, as the stack's tables are.
async fn create_keyed_table(dynamodb: &aws_sdk_dynamodb::Client, table: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
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
    dynamodb
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(string("pk"))
        .attribute_definitions(string("sk"))
        .send()
        .await
        .expect("create table");
}

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
        let account = random_account();
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

    /// Writes an allowlist item: `pk`, `sk` and the given extra attributes.
    pub async fn put_item(
        &self,
        pk: &str,
        sk: &str,
        extra: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
    ) {
        use aws_sdk_dynamodb::types::AttributeValue;
        let mut put = self
            .dynamodb
            .put_item()
            .table_name(ALLOWLIST_TABLE)
            .item("pk", AttributeValue::S(pk.to_owned()))
            .item("sk", AttributeValue::S(sk.to_owned()));
        for (name, value) in extra {
            put = put.item(*name, value.clone());
        }
        put.send().await.expect("put allowlist item");
    }

    pub async fn delete_item(&self, pk: &str, sk: &str) {
        use aws_sdk_dynamodb::types::AttributeValue;
        self.dynamodb
            .delete_item()
            .table_name(ALLOWLIST_TABLE)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .send()
            .await
            .expect("delete allowlist item");
    }

    /// Every audit item, as (service, endpoint, decision, dry_run).
    pub async fn audit(&self) -> Vec<(String, String, String, bool)> {
        let out = self
            .dynamodb
            .scan()
            .table_name(AUDIT_TABLE)
            .send()
            .await
            .expect("scan audit");
        let s =
            |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
             k: &str| {
                item.get(k)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
        let mut rows: Vec<_> = out
            .items()
            .iter()
            .map(|i| {
                let dry = i
                    .get("dry_run")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
                    .unwrap_or(false);
                (
                    s(i, "service_id"),
                    s(i, "endpoint_id"),
                    s(i, "decision"),
                    dry,
                )
            })
            .collect();
        rows.sort();
        rows
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
        let mut vars: std::collections::HashMap<String, String> = [
            ("ALLOWLIST_TABLE", ALLOWLIST_TABLE),
            ("AUDIT_TABLE", AUDIT_TABLE),
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
        let now = connection_approver::epoch_now();
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
}

/// Creates `count` interface endpoints in `account` to `service_id` (one VPC and subnet for all);
/// returns how many were created.
pub async fn create_endpoints(account: &str, service_id: &str, count: usize) -> usize {
    let ec2 = aws_sdk_ec2::Client::new(&config_for(account).await);
    let vpc = create_vpc(&ec2, "10.2.0.0/16").await;
    let subnet = create_subnet(&ec2, &vpc, "10.2.0.0/24", "us-east-1a").await;
    let name = format!("com.amazonaws.vpce.{REGION}.{service_id}");
    for _ in 0..count {
        ec2.create_vpc_endpoint()
            .vpc_id(&vpc)
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .subnet_ids(&subnet)
            .service_name(&name)
            .send()
            .await
            .expect("create endpoint");
    }
    count
}

/// The cost table as the stack creates it, in `provider`'s account.
pub const COST_TABLE: &str = "plgov-cost";

impl Provider {
    pub async fn create_cost_table(&self) {
        create_keyed_table(&self.dynamodb, COST_TABLE).await;
    }

    /// The cost reporter as the stack configures it, for this account, with `env` on top.
    pub fn reporter(&self, env: &[(&str, &str)]) -> cost_reporter::Reporter {
        let mut vars: std::collections::HashMap<String, String> =
            [("COST_TABLE", COST_TABLE), ("AWS_REGION", REGION)]
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect();
        vars.extend(env.iter().map(|(k, v)| ((*k).into(), (*v).into())));
        let config = plgov_shared::config::CostConfig::from_lookup(|n| vars.get(n).cloned())
            .expect("valid config");
        cost_reporter::Reporter::new(&self.sdk, config)
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

/// Environment variables that give a separate process (`plgov`, a function binary) the
/// credentials of `account` in the emulator.
pub async fn credentials_env(account: &str) -> Vec<(String, String)> {
    let creds = aws_sdk_sts::Client::new(&base_config().await)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/plgov-test"))
        .role_session_name("plgov-cli-test")
        .send()
        .await
        .expect("assume role in the emulator")
        .credentials
        .expect("assumed credentials");
    vec![
        ("AWS_ACCESS_KEY_ID".into(), creds.access_key_id),
        ("AWS_SECRET_ACCESS_KEY".into(), creds.secret_access_key),
        ("AWS_SESSION_TOKEN".into(), creds.session_token),
        ("AWS_ENDPOINT_URL".into(), emulator_url()),
        ("AWS_REGION".into(), REGION.into()),
    ]
}

/// A TCP proxy in front of the emulator that can go away and come back, as an AWS endpoint
/// seen through a restart: while down, open connections are cut and new ones are closed at once.
/// The emulator keeps its state, as AWS does across such a restart.
pub struct FlakyProxy {
    pub url: String,
    up: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl FlakyProxy {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = emulator_url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let (tx, rx) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut state = rx.clone();
                if !*state.borrow() {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = state.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self {
            url,
            up: std::sync::Arc::new(tx),
        }
    }

    pub fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}
