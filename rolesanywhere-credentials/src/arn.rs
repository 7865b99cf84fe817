//! The three ARNs CreateSession takes, checked locally so a typo gets a message naming the flag
//! instead of a round trip and a `ValidationException`.

use crate::error::{Error, Result};

/// Which ARN flag a value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArnKind {
    /// `--trust-anchor-arn`: `arn:<partition>:rolesanywhere:<region>:<account>:trust-anchor/<id>`.
    TrustAnchor,
    /// `--profile-arn`: `arn:<partition>:rolesanywhere:<region>:<account>:profile/<id>`.
    Profile,
    /// `--role-arn`: `arn:<partition>:iam::<account>:role/<path/name>`.
    Role,
    /// A role of `--assume-role` (a role-chain hop); the same shape as [`ArnKind::Role`].
    ChainedRole,
}

impl ArnKind {
    fn flag(self) -> &'static str {
        match self {
            ArnKind::TrustAnchor => "--trust-anchor-arn",
            ArnKind::Profile => "--profile-arn",
            ArnKind::Role => "--role-arn",
            ArnKind::ChainedRole => "--assume-role",
        }
    }

    fn example(self) -> &'static str {
        match self {
            ArnKind::TrustAnchor => {
                "arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/<trust-anchor-id>"
            }
            ArnKind::Profile => "arn:aws:rolesanywhere:us-east-1:111122223333:profile/<profile-id>",
            ArnKind::Role | ArnKind::ChainedRole => "arn:aws:iam::111122223333:role/<role-name>",
        }
    }
}

/// A validated ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arn {
    text: String,
    partition: String,
    region: String,
}

impl Arn {
    /// Validates `value` given for the flag of `kind`; a missing value is an error too.
    ///
    /// # Errors
    /// [`Error::Usage`] naming the flag, the value and the expected shape.
    pub fn parse(kind: ArnKind, value: Option<&str>) -> Result<Arn> {
        let flag = kind.flag();
        let Some(text) = value.filter(|v| !v.is_empty()) else {
            return Err(Error::Usage(format!(
                "{flag} is required (like {})",
                kind.example()
            )));
        };
        let bad = |why: &str| {
            Error::Usage(format!(
                "{flag} '{text}' is malformed: {why}; expected {}",
                kind.example()
            ))
        };
        let parts: Vec<&str> = text.splitn(6, ':').collect();
        let [prefix, partition, service, region, account, resource] = parts[..] else {
            return Err(bad("it needs six ':'-separated fields"));
        };
        if prefix != "arn" {
            return Err(bad("it must start with 'arn:'"));
        }
        if !matches!(
            partition,
            "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b" | "aws-iso-e" | "aws-iso-f"
        ) {
            return Err(bad(&format!("unknown partition '{partition}'")));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(&format!("the account ID '{account}' is not 12 digits")));
        }
        let (want_service, want_prefix) = match kind {
            ArnKind::TrustAnchor => ("rolesanywhere", "trust-anchor/"),
            ArnKind::Profile => ("rolesanywhere", "profile/"),
            ArnKind::Role | ArnKind::ChainedRole => ("iam", "role/"),
        };
        if service != want_service {
            return Err(bad(&format!(
                "the service is '{service}', not '{want_service}'"
            )));
        }
        match kind {
            ArnKind::Role | ArnKind::ChainedRole if !region.is_empty() => {
                return Err(bad("IAM role ARNs have an empty region field"))
            }
            ArnKind::TrustAnchor | ArnKind::Profile if !is_region(region) => {
                return Err(bad(&format!("'{region}' is not a region")))
            }
            _ => {}
        }
        let id = resource.strip_prefix(want_prefix).unwrap_or_default();
        if id.is_empty() {
            return Err(bad(&format!("the resource must be '{want_prefix}<id>'")));
        }
        Ok(Arn {
            text: text.to_string(),
            partition: partition.to_string(),
            region: region.to_string(),
        })
    }

    /// The ARN as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The partition (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The region (empty for IAM roles).
    pub fn region(&self) -> &str {
        &self.region
    }
}

/// Whether `s` looks like an AWS region name (`us-east-1`, `us-gov-west-1`, `cn-north-1`).
pub fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TA: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/abc";

    fn message(kind: ArnKind, value: &str) -> String {
        Arn::parse(kind, Some(value)).unwrap_err().to_string()
    }

    #[test]
    fn accepts_each_kind() {
        let ta = Arn::parse(ArnKind::TrustAnchor, Some(TA)).unwrap();
        assert_eq!((ta.partition(), ta.region()), ("aws", "us-east-1"));
        let p = "arn:aws-us-gov:rolesanywhere:us-gov-west-1:123456789012:profile/x";
        assert_eq!(
            Arn::parse(ArnKind::Profile, Some(p)).unwrap().region(),
            "us-gov-west-1"
        );
        let r = "arn:aws-cn:iam::123456789012:role/path/name";
        assert_eq!(Arn::parse(ArnKind::Role, Some(r)).unwrap().as_str(), r);
    }

    #[test]
    fn names_the_flag_and_the_problem() {
        let missing = Arn::parse(ArnKind::Role, None).unwrap_err().to_string();
        assert!(missing.starts_with("--role-arn is required"), "{missing}");
        let m = message(ArnKind::Profile, TA);
        assert!(
            m.contains("--profile-arn") && m.contains("profile/<id>"),
            "{m}"
        );
        let m = message(
            ArnKind::TrustAnchor,
            "arn:aws:rolesanywhere:us-east-1:1234:trust-anchor/a",
        );
        assert!(m.contains("not 12 digits"), "{m}");
        let m = message(ArnKind::Role, "arn:aws:iam:us-east-1:123456789012:role/a");
        assert!(m.contains("empty region"), "{m}");
        let m = message(ArnKind::Role, "arn:aws:sts::123456789012:role/a");
        assert!(m.contains("'sts'"), "{m}");
        let m = message(ArnKind::TrustAnchor, "nonsense");
        assert!(m.contains("six"), "{m}");
        let m = message(
            ArnKind::TrustAnchor,
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/",
        );
        assert!(m.contains("trust-anchor/<id>"), "{m}");
    }
}
