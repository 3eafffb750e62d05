//! SDK errors turned into `PortError`s that keep the cause chain and say whether a retry may help.

use std::error::Error;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::ports::PortError;

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

pub(crate) fn port_error<E, R>(operation: &'static str, err: SdkError<E, R>) -> PortError
where
    E: Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => true,
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|c| RETRYABLE_CODES.contains(&c)),
        SdkError::ResponseError(_) => true,
        _ => false,
    };
    let code = err.code().map(str::to_owned);
    let prefix = code
        .as_deref()
        .map(|c| format!("{c}: "))
        .unwrap_or_default();
    PortError {
        operation,
        code,
        message: format!("{prefix}{}", DisplayErrorContext(&err)),
        retryable,
    }
}
