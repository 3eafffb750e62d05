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
    let ec2 = aws_sdk_ec2::Client::new(&config_for(account).await);
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
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .set_subnet_ids(Some(subnets))
        .service_name(format!("com.amazonaws.vpce.{REGION}.{service_id}"))
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
