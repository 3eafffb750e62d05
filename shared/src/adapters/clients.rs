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

/// The region of a table given by ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>`), whose
/// requests must go to that region's endpoint; `None` for a plain name (the function's region).
pub fn table_region(table: &str) -> Option<&str> {
    let rest = table.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, region) = (parts.next()?, parts.next()?, parts.next()?);
    (service == "dynamodb" && !region.is_empty()).then_some(region)
}

/// A DynamoDB client for `table`: `client` itself, or one like it in the region of a table given
/// by ARN in another region (a hub's table, read by a member elsewhere).
pub fn dynamodb_for(client: &aws_sdk_dynamodb::Client, table: &str) -> aws_sdk_dynamodb::Client {
    match table_region(table) {
        Some(region) if client.config().region().map(|r| r.as_ref()) != Some(region) => {
            aws_sdk_dynamodb::Client::from_conf(
                client
                    .config()
                    .to_builder()
                    .region(aws_sdk_dynamodb::config::Region::new(region.to_owned()))
                    .build(),
            )
        }
        _ => client.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_arn_names_its_region_and_a_name_none() {
        assert_eq!(
            table_region("arn:aws:dynamodb:us-west-2:222222222222:table/plgov-Allowlist"),
            Some("us-west-2")
        );
        assert_eq!(table_region("plgov-AllowlistTable-1X"), None);
        assert_eq!(table_region("arn:aws:s3:::bucket"), None);
    }
}
