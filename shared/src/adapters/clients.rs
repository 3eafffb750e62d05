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
