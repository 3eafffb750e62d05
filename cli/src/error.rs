//! What can go wrong, each with the exit code scripts rely on.

use plgov_shared::ports::{ErrorKind, PortError};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad input: nothing was written. Exit 2.
    #[error("{0}")]
    Invalid(String),
    /// Refused on purpose (the rule exists, or an explicit flag is needed). Exit 3.
    #[error("{0}")]
    Refused(String),
    /// An AWS call failed. Exit 1. `detail` (the whole cause chain) is printed with `-v`.
    #[error("{message}")]
    Aws {
        message: String,
        detail: Option<String>,
    },
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Aws { .. } => 1,
            CliError::Invalid(_) => 2,
            CliError::Refused(_) => 3,
        }
    }

    pub fn invalid(message: impl std::fmt::Display) -> Self {
        CliError::Invalid(message.to_string())
    }

    pub fn aws(message: impl std::fmt::Display) -> Self {
        CliError::Aws {
            message: message.to_string(),
            detail: None,
        }
    }

    /// The whole cause chain, for `-v`.
    pub fn detail(&self) -> Option<&str> {
        match self {
            CliError::Aws { detail, .. } => detail.as_deref(),
            _ => None,
        }
    }
}

impl From<PortError> for CliError {
    fn from(err: PortError) -> Self {
        let hint = match err.kind {
            ErrorKind::NotFound | ErrorKind::Other => {
                "\nhint: check the target (--stack, or the table flags) and the region"
            }
            _ => "",
        };
        CliError::Aws {
            message: format!("{err}{hint}"),
            detail: err.detail,
        }
    }
}
