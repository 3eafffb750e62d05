//! Identifier newtypes, validated once at the edge so the rest of the code can trust them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid identifier. Every variant names the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("invalid endpoint service id {value:?}: expected `vpce-svc-` followed by hex digits")]
    ServiceId { value: String },
    #[error("invalid VPC endpoint id {value:?}: expected `vpce-` followed by hex digits")]
    EndpointId { value: String },
    #[error("invalid AWS account id {value:?}: expected exactly 12 digits")]
    AccountId { value: String },
    #[error(
        "invalid organizational unit id {value:?}: expected `ou-`, 4 to 32 lower-case letters or digits, `-`, then 8 to 32 more"
    )]
    OrgUnitId { value: String },
    #[error(
        "invalid organization id {value:?}: expected `o-` followed by 10 to 32 lower-case letters or digits"
    )]
    OrganizationId { value: String },
}

/// `min..=max` lower-case ASCII letters or digits (AWS Organizations ids).
fn is_lower_alnum(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

/// Lower-case hex after `prefix`. Length is not checked: AWS ids have 17 hex digits,
/// the local emulator's have 8.
fn is_prefixed_hex(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident, $valid:expr, $err:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, IdError> {
                let valid: fn(&str) -> bool = $valid;
                if valid(value) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(IdError::$err { value: value.to_owned() })
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(value: &str) -> Result<Self, IdError> {
                Self::parse(value)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_newtype!(
    /// An endpoint service id, `vpce-svc-` + hex.
    ServiceId,
    |v| is_prefixed_hex(v, "vpce-svc-"),
    ServiceId
);
id_newtype!(
    /// A VPC endpoint id, `vpce-` + hex (never a service id).
    EndpointId,
    |v| is_prefixed_hex(v, "vpce-"),
    EndpointId
);
id_newtype!(
    /// A 12-digit AWS account id.
    AccountId,
    |v| v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()),
    AccountId
);

id_newtype!(
    /// An organizational unit id of AWS Organizations, `ou-<root part>-<unit part>`.
    OrgUnitId,
    |v| v
        .strip_prefix("ou-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(root, unit)| is_lower_alnum(root, 4, 32) && is_lower_alnum(unit, 8, 32)),
    OrgUnitId
);
id_newtype!(
    /// An organization id of AWS Organizations, `o-` + 10 to 32 lower-case letters or digits.
    OrganizationId,
    |v| v.strip_prefix("o-").is_some_and(|rest| is_lower_alnum(rest, 10, 32)),
    OrganizationId
);

impl ServiceId {
    /// Every `vpce-svc-<hex>` in free text (an SNS message, a service name, a CloudTrail
    /// field), not glued to a word before it.
    pub fn find_all(text: &str) -> std::collections::BTreeSet<ServiceId> {
        const PREFIX: &str = "vpce-svc-";
        let mut found = std::collections::BTreeSet::new();
        let mut rest = text;
        while let Some(at) = rest.find(PREFIX) {
            let after = &rest[at + PREFIX.len()..];
            let hex_len = after
                .bytes()
                .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
                .count();
            let preceded_by_word = rest[..at]
                .bytes()
                .last()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-');
            if hex_len > 0
                && !preceded_by_word
                && let Ok(id) = ServiceId::parse(&rest[at..at + PREFIX.len() + hex_len])
            {
                found.insert(id);
            }
            rest = &after[hex_len..];
        }
        found
    }
}

impl AccountId {
    /// An account id, or the account of an IAM principal ARN such as
    /// `arn:aws:iam::123456789012:root` (what endpoint service permissions list).
    pub fn from_principal(value: &str) -> Result<Self, IdError> {
        let value = value.trim();
        if let Some(rest) = value.strip_prefix("arn:") {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            if let [partition, "iam", "", account, resource] = parts[..]
                && !partition.is_empty()
                && !resource.is_empty()
            {
                return Self::parse(account).map_err(|_| IdError::AccountId {
                    value: value.to_owned(),
                });
            }
            return Err(IdError::AccountId {
                value: value.to_owned(),
            });
        }
        Self::parse(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_give_their_account() {
        for (value, account) in [
            ("123456789012", "123456789012"),
            ("arn:aws:iam::123456789012:root", "123456789012"),
            ("arn:aws-us-gov:iam::123456789012:role/x", "123456789012"),
            (" 123456789012 ", "123456789012"),
        ] {
            assert_eq!(AccountId::from_principal(value).unwrap().as_str(), account);
        }
        for bad in [
            "arn:aws:iam::12345:root",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::123456789012",
            "root",
        ] {
            let err = AccountId::from_principal(bad).unwrap_err();
            assert!(err.to_string().contains(bad.trim()), "{err}");
        }
    }

    #[test]
    fn valid_ids_parse_and_display_unchanged() {
        for v in ["vpce-svc-0123456789abcdef0", "vpce-svc-1a2b3c4d"] {
            assert_eq!(ServiceId::parse(v).unwrap().to_string(), v);
        }
        for v in ["vpce-0123456789abcdef0", "vpce-1a2b3c4d"] {
            assert_eq!(EndpointId::parse(v).unwrap().as_str(), v);
        }
        assert_eq!(
            AccountId::parse("123456789012").unwrap().as_str(),
            "123456789012"
        );
        assert_eq!(
            AccountId::parse("000000000000").unwrap().as_str(),
            "000000000000"
        );
    }

    #[test]
    fn service_id_rejects_each_kind_of_bad_value() {
        for bad in [
            "",
            "vpce-svc-",
            "vpce-svc-XYZ",
            "vpce-svc-0123ABCD",
            "vpce-0123abcd",
            "svc-0123abcd",
            " vpce-svc-0123abcd",
            "vpce-svc-0123abcd ",
            "*",
        ] {
            let err = ServiceId::parse(bad).unwrap_err();
            assert_eq!(
                err,
                IdError::ServiceId {
                    value: bad.to_owned()
                }
            );
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn endpoint_id_rejects_each_kind_of_bad_value() {
        for bad in [
            "",
            "vpce-",
            "vpce-svc-0123abcd",
            "vpce-0123abcg",
            "vpc-0123abcd",
            "VPCE-0123abcd",
        ] {
            assert_eq!(
                EndpointId::parse(bad).unwrap_err(),
                IdError::EndpointId {
                    value: bad.to_owned()
                }
            );
        }
    }

    #[test]
    fn account_id_rejects_each_kind_of_bad_value() {
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            "-12345678901",
            "*",
            "１２３４５６７８９０１２",
        ] {
            let err = AccountId::parse(bad).unwrap_err();
            assert_eq!(
                err,
                IdError::AccountId {
                    value: bad.to_owned()
                }
            );
            assert!(err.to_string().contains("12 digits"));
        }
    }

    #[test]
    fn serde_validates_too() {
        let ok: ServiceId = serde_json::from_str("\"vpce-svc-0abc\"").unwrap();
        assert_eq!(ok.as_str(), "vpce-svc-0abc");
        let err = serde_json::from_str::<AccountId>("\"12\"").unwrap_err();
        assert!(err.to_string().contains("\"12\""), "{err}");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"vpce-svc-0abc\"");
    }
}
