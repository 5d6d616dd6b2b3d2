//! Typed identifiers, checked against the formats the AgentCore and EC2 APIs accept.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An identifier that does not have the format the API accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid {kind} id: expected {expected}")]
pub struct IdError {
    /// What kind of id was expected (`VPC`, `subnet`, …).
    pub kind: &'static str,
    /// The rejected text.
    pub value: String,
    /// The accepted format, in words.
    pub expected: &'static str,
}

/// `prefix-` followed by 8 to 17 ASCII letters or digits, the pattern of the AgentCore API model
/// (`subnet-[0-9a-zA-Z]{8,17}`, `sg-[0-9a-zA-Z]{8,17}`; EC2 uses the same shape for VPC ids).
fn is_resource_id(value: &str, prefix: &str) -> bool {
    value
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|rest| (8..=17).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// An AZ id such as `use1-az1` or `usgw1-az2`: a lower-case region code with digits, `-az`, digits.
fn is_az_id(value: &str) -> bool {
    let Some((region, zone)) = value.split_once("-az") else {
        return false;
    };
    let letters = region.bytes().take_while(u8::is_ascii_lowercase).count();
    letters > 0
        && region[letters..].bytes().all(|b| b.is_ascii_digit())
        && !zone.is_empty()
        && zone.bytes().all(|b| b.is_ascii_digit())
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $expected:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `value` against the API's format.
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                let check: fn(&str) -> bool = $check;
                if check(&value) {
                    Ok(Self(value))
                } else {
                    Err(IdError { kind: $kind, value, expected: $expected })
                }
            }

            /// The id as the API writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

typed_id!(
    /// A VPC id, `vpc-` and 8 to 17 letters or digits.
    VpcId, "VPC", "`vpc-` followed by 8 to 17 letters or digits, e.g. vpc-0123456789abcdef0",
    |s| is_resource_id(s, "vpc")
);
typed_id!(
    /// A subnet id, `subnet-` and 8 to 17 letters or digits.
    SubnetId, "subnet", "`subnet-` followed by 8 to 17 letters or digits, e.g. subnet-0123456789abcdef0",
    |s| is_resource_id(s, "subnet")
);
typed_id!(
    /// A security group id, `sg-` and 8 to 17 letters or digits.
    SecurityGroupId, "security group", "`sg-` followed by 8 to 17 letters or digits, e.g. sg-0123456789abcdef0",
    |s| is_resource_id(s, "sg")
);
typed_id!(
    /// An availability-zone *id* (`use1-az1`), which names the same physical zone in every account,
    /// unlike zone names (`us-east-1a`).
    AzId, "availability zone", "a zone id such as use1-az1 (not a zone name such as us-east-1a)",
    is_az_id
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_formats_aws_uses() {
        for ok in ["subnet-0123456789abcdef0", "subnet-12345678", "subnet-0123456789ABCDEFa"] {
            SubnetId::new(ok).unwrap();
        }
        SecurityGroupId::new("sg-0aff12345678").unwrap();
        VpcId::new("vpc-0123456789abcdef0").unwrap();
        for ok in ["use1-az1", "usgw1-az3", "apse5-az2"] {
            AzId::new(ok).unwrap();
        }
    }

    #[test]
    fn rejects_near_misses_with_a_message_naming_the_format() {
        for bad in ["subnet-1234567", "subnet-0123456789abcdef01", "sg-12345678", "subnet_12345678", "subnet-1234567!"]
        {
            let err = SubnetId::new(bad).unwrap_err();
            assert!(err.to_string().contains("subnet-0123456789abcdef0"), "{err}");
        }
        assert!(SecurityGroupId::new("subnet-12345678").is_err());
        for bad in ["us-east-1a", "use1-az", "-az1", "use1az1", "USE1-az1"] {
            assert!(AzId::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_checks_the_format_too() {
        let id: SubnetId = serde_json::from_str("\"subnet-0123456789abcdef0\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"subnet-0123456789abcdef0\"");
        assert!(serde_json::from_str::<SubnetId>("\"subnet-x\"").is_err());
    }
}
