//! SDK errors turned into `PortError`s: the kind of failure a person acts on, AWS's code and
//! short message, whether a retry may help, and the whole cause chain kept as detail.

use std::error::Error;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::ports::{ErrorKind, PortError};

const RETRYABLE_CODES: [&str; 8] = [
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
];

/// The kind of a service error, from its code (the codes the services document).
pub fn kind_of_code(code: &str) -> ErrorKind {
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "UnauthorizedException" => ErrorKind::AccessDenied,
        "ExpiredToken"
        | "ExpiredTokenException"
        | "RequestExpired"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch"
        | "AuthFailure"
        | "InvalidSignatureException"
        | "IncompleteSignature" => ErrorKind::BadCredentials,
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "ProvisionedThroughputExceededException" => ErrorKind::Throttled,
        "ResourceNotFoundException" | "NotFoundException" | "AccountNotFoundException" => {
            ErrorKind::NotFound
        }
        c if c.ends_with(".NotFound") || c.ends_with("NotFound") => ErrorKind::NotFound,
        _ => ErrorKind::Other,
    }
}

/// Whether a credentials error is somewhere in the cause chain (the SDK reports a missing or
/// unloadable identity as a dispatch failure).
fn credentials_error<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a CredentialsError> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<CredentialsError>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// A failed SDK call as a [`PortError`].
pub fn port_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> PortError
where
    E: Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    let code = err.code().map(str::to_owned);
    let (kind, message, retryable) = match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            (
                kind_of_code(code),
                service.err().message().unwrap_or("no message").to_owned(),
                RETRYABLE_CODES.contains(&code),
            )
        }
        SdkError::DispatchFailure(failure) => match credentials_error(&err) {
            Some(CredentialsError::CredentialsNotLoaded(_)) => (
                ErrorKind::NoCredentials,
                "no credentials in the chain".to_owned(),
                false,
            ),
            Some(other) => (
                ErrorKind::BadCredentials,
                format!("the credentials could not be loaded: {other}"),
                false,
            ),
            None if failure.is_io() || failure.is_timeout() => (
                ErrorKind::Unreachable,
                if failure.is_timeout() {
                    "timed out".to_owned()
                } else {
                    "connection failed".to_owned()
                },
                true,
            ),
            None => (
                ErrorKind::Other,
                "the request was not sent".to_owned(),
                true,
            ),
        },
        SdkError::TimeoutError(_) => (ErrorKind::Unreachable, "timed out".to_owned(), true),
        SdkError::ResponseError(_) => (
            ErrorKind::Other,
            "the response could not be read".to_owned(),
            true,
        ),
        _ => (ErrorKind::Other, detail.clone(), false),
    };
    tracing::debug!(operation, detail = %detail, "AWS call failed");
    PortError {
        operation,
        code,
        message,
        retryable,
        kind,
        detail: Some(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_their_kind() {
        for (code, kind) in [
            ("AccessDeniedException", ErrorKind::AccessDenied),
            ("UnauthorizedOperation", ErrorKind::AccessDenied),
            ("ExpiredTokenException", ErrorKind::BadCredentials),
            ("AuthFailure", ErrorKind::BadCredentials),
            ("RequestLimitExceeded", ErrorKind::Throttled),
            ("ThrottlingException", ErrorKind::Throttled),
            ("ResourceNotFoundException", ErrorKind::NotFound),
            ("InvalidVpcEndpointServiceId.NotFound", ErrorKind::NotFound),
            ("ValidationException", ErrorKind::Other),
        ] {
            assert_eq!(kind_of_code(code), kind, "{code}");
        }
    }

    #[test]
    fn each_kind_reads_as_one_sentence_naming_what_to_do() {
        let err = |kind, code: &str| PortError {
            operation: "Scan",
            code: Some(code.into()),
            message: "User: arn:aws:sts::1:assumed-role/x is not authorized".into(),
            retryable: false,
            kind,
            detail: Some("a long cause chain".into()),
        };
        let denied = err(ErrorKind::AccessDenied, "AccessDeniedException").to_string();
        assert!(denied.starts_with("Scan failed: access denied"), "{denied}");
        assert!(!denied.contains("cause chain"), "detail only on demand");
        for (kind, code, says) in [
            (ErrorKind::NoCredentials, "", "AWS_ACCESS_KEY_ID"),
            (ErrorKind::Throttled, "ThrottlingException", "try again"),
            (ErrorKind::Unreachable, "", "AWS_ENDPOINT_URL"),
            (
                ErrorKind::BadCredentials,
                "ExpiredTokenException",
                "expired",
            ),
        ] {
            let sentence = err(kind, code).to_string();
            assert!(sentence.contains(says), "{sentence}");
        }
    }
}
