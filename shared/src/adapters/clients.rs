//! The SDK clients a function builds once at init, each counting its calls.

use aws_config::SdkConfig;

use super::CallCounter;

#[derive(Debug, Clone)]
pub struct CountedClients {
    pub ec2: aws_sdk_ec2::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

impl CountedClients {
    pub fn new(sdk: &SdkConfig, counter: &CallCounter) -> Self {
        Self {
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(sdk)
                    .interceptor(counter.clone())
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(sdk)
                    .interceptor(counter.clone())
                    .build(),
            ),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
                aws_sdk_cloudwatch::config::Builder::from(sdk)
                    .interceptor(counter.clone())
                    .build(),
            ),
        }
    }
}

/// A Price List client at the Query API endpoint nearest to `region`, counting its calls.
pub fn pricing_client(
    sdk: &SdkConfig,
    counter: &CallCounter,
    region: &str,
) -> aws_sdk_pricing::Client {
    aws_sdk_pricing::Client::from_conf(
        aws_sdk_pricing::config::Builder::from(sdk)
            .region(aws_sdk_pricing::config::Region::new(
                super::pricing::price_list_region(region),
            ))
            .interceptor(counter.clone())
            .build(),
    )
}

/// A Security Hub client, counting its calls.
pub fn securityhub_client(sdk: &SdkConfig, counter: &CallCounter) -> aws_sdk_securityhub::Client {
    aws_sdk_securityhub::Client::from_conf(
        aws_sdk_securityhub::config::Builder::from(sdk)
            .interceptor(counter.clone())
            .build(),
    )
}
