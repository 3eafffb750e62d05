//! What can go wrong, each with the exit code scripts rely on.

use plgov_shared::ports::PortError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input: nothing was written. Exit 2.
    #[error("{0}")]
    Invalid(String),
    /// Refused on purpose (the rule exists, or an explicit flag is needed). Exit 3.
    #[error("{0}")]
    Refused(String),
    /// An AWS call failed. Exit 1.
    #[error("{0}")]
    Aws(String),
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Aws(_) => 1,
            CliError::Invalid(_) => 2,
            CliError::Refused(_) => 3,
        }
    }

    pub fn invalid(message: impl std::fmt::Display) -> Self {
        CliError::Invalid(message.to_string())
    }
}

impl From<PortError> for CliError {
    fn from(err: PortError) -> Self {
        CliError::Aws(format!(
            "{err}\nhint: check the target (--stack or the table flags), your AWS credentials and region"
        ))
    }
}
