//! Where consumer accounts sit in AWS Organizations: DescribeAccount (its organization, from the
//! account's ARN) and ListParents up to the root, through a role of the management or delegated
//! administrator account when one is configured.

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, future};
use aws_sdk_organizations::types::ParentType;

use super::CallCounter;
use super::sdk_error::port_error;
use crate::domain::organization::Place;
use crate::domain::{AccountId, OrgUnitId, OrganizationId};
use crate::ports::{Organization, PortError};

/// OU levels AWS Organizations allows below the root (five), with room to spare: a longer
/// chain is an error, not a loop.
const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone)]
pub struct OrganizationsReader {
    client: aws_sdk_organizations::Client,
}

impl OrganizationsReader {
    /// Calls AWS Organizations as the function itself, or, with `role_arn`, as that role
    /// (assumed with STS when first needed, renewed as it expires).
    pub fn new(sdk: &SdkConfig, counter: &CallCounter, role_arn: Option<&str>) -> Self {
        let mut config =
            aws_sdk_organizations::config::Builder::from(sdk).interceptor(counter.clone());
        if let Some(role) = role_arn {
            config = config.credentials_provider(AssumedRole {
                sts: aws_sdk_sts::Client::from_conf(
                    aws_sdk_sts::config::Builder::from(sdk)
                        .interceptor(counter.clone())
                        .build(),
                ),
                role_arn: role.to_owned(),
            });
        }
        Self {
            client: aws_sdk_organizations::Client::from_conf(config.build()),
        }
    }
}

/// Credentials of `role_arn` from STS AssumeRole; the client's identity cache keeps them until
/// they expire.
#[derive(Debug)]
struct AssumedRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let out = self
                .sts
                .assume_role()
                .role_arn(&self.role_arn)
                .role_session_name("privatelink-governor")
                .send()
                .await
                .map_err(provider::error::CredentialsError::provider_error)?;
            let c = out.credentials().ok_or_else(|| {
                provider::error::CredentialsError::unhandled("AssumeRole answered no credentials")
            })?;
            Ok(Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                std::time::SystemTime::try_from(*c.expiration()).ok(),
                "AssumeRole",
            ))
        })
    }
}

fn unreadable(operation: &'static str, message: String) -> PortError {
    PortError {
        operation,
        code: Some("UnreadableResponse".into()),
        message,
        retryable: false,
        kind: crate::ports::ErrorKind::Other,
        detail: None,
    }
}

impl Organization for OrganizationsReader {
    async fn place(&self, account: &AccountId) -> Result<Place, PortError> {
        let described = self
            .client
            .describe_account()
            .account_id(account.as_str())
            .send()
            .await;
        let arn = match described {
            Ok(out) => out
                .account()
                .and_then(|a| a.arn())
                .unwrap_or_default()
                .to_owned(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_account_not_found_exception()) =>
            {
                return Ok(Place::Known {
                    organization: None,
                    units: vec![],
                });
            }
            Err(e) => return Err(port_error("DescribeAccount", e)),
        };
        // arn:aws:organizations::<management>:account/o-<id>/<account>
        let organization = arn
            .split('/')
            .nth(1)
            .map(OrganizationId::parse)
            .transpose()
            .map_err(|e| unreadable("DescribeAccount", format!("account ARN {arn:?}: {e}")))?
            .ok_or_else(|| {
                unreadable(
                    "DescribeAccount",
                    format!("account ARN {arn:?} names no organization"),
                )
            })?;
        let mut units = Vec::new();
        let mut child = account.to_string();
        for _ in 0..MAX_DEPTH {
            let out = self
                .client
                .list_parents()
                .child_id(&child)
                .send()
                .await
                .map_err(|e| port_error("ListParents", e))?;
            let parent = out
                .parents()
                .first()
                .ok_or_else(|| unreadable("ListParents", format!("{child} has no parent")))?;
            let id = parent.id().unwrap_or_default();
            match parent.r#type() {
                Some(ParentType::Root) => {
                    return Ok(Place::Known {
                        organization: Some(organization),
                        units,
                    });
                }
                Some(ParentType::OrganizationalUnit) => {
                    units.push(
                        OrgUnitId::parse(id)
                            .map_err(|e| unreadable("ListParents", e.to_string()))?,
                    );
                    child = id.to_owned();
                }
                other => {
                    return Err(unreadable(
                        "ListParents",
                        format!("parent {id:?} of {child} is of type {other:?}"),
                    ));
                }
            }
        }
        Err(unreadable(
            "ListParents",
            format!("{account} is more than {MAX_DEPTH} levels below the root"),
        ))
    }
}
