//! Where a consumer account sits in AWS Organizations: what organization and OU rules match on.

use super::ids::{OrgUnitId, OrganizationId};

/// An account's place in AWS Organizations, as far as the approver could read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Its organization (`None`: it is in none the reader can see) and every OU above it,
    /// nearest first.
    Known {
        organization: Option<OrganizationId>,
        units: Vec<OrgUnitId>,
    },
    /// It could not be read: why. Organization and OU rules neither match nor fail to match.
    Unknown(String),
}

impl Place {
    /// For decisions that need no place (no organization or OU rule applies).
    pub fn not_looked_up() -> Self {
        Self::Unknown("not looked up".into())
    }

    /// Whether the account is below `unit` (at any depth): `None` when the place is unknown.
    pub fn is_below(&self, unit: &OrgUnitId) -> Option<bool> {
        match self {
            Self::Known { units, .. } => Some(units.contains(unit)),
            Self::Unknown(_) => None,
        }
    }

    /// Whether the account is in `organization`: `None` when the place is unknown.
    pub fn is_in(&self, organization: &OrganizationId) -> Option<bool> {
        match self {
            Self::Known {
                organization: found,
                ..
            } => Some(found.as_ref() == Some(organization)),
            Self::Unknown(_) => None,
        }
    }
}
