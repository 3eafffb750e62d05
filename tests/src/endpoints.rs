//! EC2 resources of the emulator: endpoint services and endpoints, and counted clients.

use aws_config::SdkConfig;
use aws_sdk_ec2::types::VpcEndpointType;
use plgov_shared::adapters::CallCounter;

use crate::REGION;
use crate::accounts::{config_for, random_account};

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
    create_service_with(&config_for(account).await, acceptance_required).await
}

/// Creates an endpoint service with `config` (its account and region).
pub async fn create_service_with(config: &SdkConfig, acceptance_required: bool) -> String {
    let region = config
        .region()
        .map_or(REGION.to_owned(), ToString::to_string);
    let ec2 = aws_sdk_ec2::Client::new(config);
    let vpc = create_vpc(&ec2, "10.0.0.0/16").await;
    let subnet = create_subnet(&ec2, &vpc, "10.0.1.0/24", &format!("{region}a")).await;
    let nlb = aws_sdk_elasticloadbalancingv2::Client::new(config)
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

/// Creates an endpoint of `kind` to `service_name` in a new VPC with one subnet per AZ (up to 3),
/// with `sdk` (its account and region).
pub async fn create_endpoint_with(
    sdk: &SdkConfig,
    kind: VpcEndpointType,
    service_name: &str,
    azs: usize,
) -> String {
    let region = sdk.region().map_or(REGION.to_owned(), ToString::to_string);
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let vpc = create_vpc(&ec2, "10.1.0.0/16").await;
    let mut subnets = Vec::new();
    for (i, az) in ["a", "b", "c"].iter().take(azs).enumerate() {
        subnets.push(
            create_subnet(
                &ec2,
                &vpc,
                &format!("10.1.{i}.0/24"),
                &format!("{region}{az}"),
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
