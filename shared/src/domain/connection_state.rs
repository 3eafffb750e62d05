//! The state of an endpoint connection, as the EC2 API sends it.
//!
//! The wire strings are camelCase (`pendingAcceptance`), and the Rust SDK's `State`
//! enum matches only PascalCase, so the SDK hands us `State::Unknown(..)` for the
//! most important state (aws-sdk-rust#619). States are therefore parsed here from
//! the raw string, case-insensitively, and never from the SDK enum's variants.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    PendingAcceptance,
    Pending,
    Available,
    Deleting,
    Deleted,
    Rejected,
    Failed,
    Expired,
    Partial,
    /// A state this version does not know, kept as sent. It is never acted on.
    Unknown(String),
}

impl ConnectionState {
    /// Every state this version knows.
    pub const KNOWN: [ConnectionState; 9] = [
        ConnectionState::PendingAcceptance,
        ConnectionState::Pending,
        ConnectionState::Available,
        ConnectionState::Deleting,
        ConnectionState::Deleted,
        ConnectionState::Rejected,
        ConnectionState::Failed,
        ConnectionState::Expired,
        ConnectionState::Partial,
    ];

    /// Parses a wire string; anything unrecognised becomes `Unknown`, never an error,
    /// so a new AWS state cannot break a sweep (it is simply not decided).
    pub fn parse(value: &str) -> Self {
        Self::KNOWN
            .iter()
            .find(|state| state.as_wire_str().eq_ignore_ascii_case(value))
            .map_or_else(|| Self::Unknown(value.to_owned()), Clone::clone)
    }

    /// The camelCase wire form (an unknown state as it was sent).
    pub fn as_wire_str(&self) -> &str {
        match self {
            Self::PendingAcceptance => "pendingAcceptance",
            Self::Pending => "pending",
            Self::Available => "available",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Partial => "partial",
            Self::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_wire_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_wire_strings_parse() {
        let cases = [
            ("pendingAcceptance", ConnectionState::PendingAcceptance),
            ("pending", ConnectionState::Pending),
            ("available", ConnectionState::Available),
            ("deleting", ConnectionState::Deleting),
            ("deleted", ConnectionState::Deleted),
            ("rejected", ConnectionState::Rejected),
            ("failed", ConnectionState::Failed),
            ("expired", ConnectionState::Expired),
            ("partial", ConnectionState::Partial),
        ];
        for (wire, state) in cases {
            assert_eq!(ConnectionState::parse(wire), state);
            assert_eq!(state.as_wire_str(), wire, "round trip");
        }
    }

    #[test]
    fn parsing_ignores_case() {
        for wire in [
            "PendingAcceptance",
            "PENDINGACCEPTANCE",
            "pendingacceptance",
        ] {
            assert_eq!(
                ConnectionState::parse(wire),
                ConnectionState::PendingAcceptance
            );
        }
        assert_eq!(
            ConnectionState::parse("Available"),
            ConnectionState::Available
        );
    }

    #[test]
    fn anything_else_is_kept_as_unknown() {
        for raw in ["", "pending-acceptance", "accepted", " available"] {
            let state = ConnectionState::parse(raw);
            assert_eq!(state, ConnectionState::Unknown(raw.to_owned()));
            assert_eq!(state.to_string(), raw);
        }
    }
}
