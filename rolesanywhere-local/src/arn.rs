//! ARNs the endpoint deals in: Roles Anywhere trust anchors and profiles, IAM roles, and the STS
//! assumed-role ARNs it mints.
//!
//! Parsing is strict in the way the AWS API is (partition, service, 12-digit account, resource
//! type); the error is a sentence naming the offending value, used both for configuration errors
//! and for `ValidationException`s.

use std::fmt;

/// The resource types this endpoint knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Profile,
    Role,
    TrustAnchor,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Profile => "profile ARN",
            Kind::Role => "role ARN",
            Kind::TrustAnchor => "trust anchor ARN",
        }
    }
}

/// A parsed ARN of one of the [`Kind`]s.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Arn {
    pub(crate) partition: String,
    pub(crate) region: String,
    pub(crate) account: String,
    /// For roles: the name (last path segment). For Roles Anywhere resources: the id.
    pub(crate) name: String,
    text: String,
}

impl Arn {
    /// Parses `text` as an ARN of `kind`.
    pub(crate) fn parse(kind: Kind, text: &str) -> Result<Arn, String> {
        let bad = |why: &str| format!("'{text}' is not a valid {}: {why}", kind.describe());
        let mut parts = text.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(res)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad(
                "expected arn:<partition>:<service>:<region>:<account>:<resource>",
            ));
        };
        if !partition.starts_with("aws") {
            return Err(bad("the partition must be aws, aws-cn or aws-us-gov"));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the account must be 12 digits"));
        }
        let name = match kind {
            Kind::Role => {
                if service != "iam" || !region.is_empty() {
                    return Err(bad("expected arn:aws:iam::<account>:role/<name>"));
                }
                let Some(path_and_name) = res.strip_prefix("role/") else {
                    return Err(bad("the resource must be role/<name>"));
                };
                let name = path_and_name.rsplit('/').next().unwrap_or_default();
                if !valid_role_name(name) {
                    return Err(bad(
                        "the role name must be 1-64 characters of [A-Za-z0-9+=,.@_-]",
                    ));
                }
                name
            }
            Kind::Profile | Kind::TrustAnchor => {
                let prefix = if kind == Kind::Profile {
                    "profile/"
                } else {
                    "trust-anchor/"
                };
                if service != "rolesanywhere" || region.is_empty() {
                    return Err(bad(&format!(
                        "expected arn:aws:rolesanywhere:<region>:<account>:{prefix}<id>"
                    )));
                }
                let Some(id) = res.strip_prefix(prefix) else {
                    return Err(bad(&format!("the resource must be {prefix}<id>")));
                };
                if id.is_empty()
                    || id.len() > 64
                    || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(bad("the id must be 1-64 characters of [A-Za-z0-9-]"));
                }
                id
            }
        };
        Ok(Arn {
            partition: partition.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            name: name.to_string(),
            text: text.to_string(),
        })
    }

    /// The ARN as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The partition AWS uses for `region`.
pub(crate) fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// Whether `name` is a valid role session name: 2-64 characters of `[\w+=,.@-]`.
pub(crate) fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        let role = Arn::parse(
            Kind::Role,
            "arn:aws:iam::123456789012:role/path/to/test-role",
        )
        .expect("valid role");
        assert_eq!(role.name, "test-role");
        assert_eq!(role.account, "123456789012");
        let ta = Arn::parse(
            Kind::TrustAnchor,
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/6f9a2b1c-1111",
        )
        .expect("valid anchor");
        assert_eq!(
            (ta.region.as_str(), ta.name.as_str()),
            ("us-east-1", "6f9a2b1c-1111")
        );
        assert!(Arn::parse(
            Kind::Profile,
            "arn:aws:rolesanywhere:eu-west-1:123456789012:profile/abc"
        )
        .is_ok());
    }

    #[test]
    fn rejects_wrong_shapes() {
        for (kind, bad) in [
            (Kind::Role, "arn:aws:iam:us-east-1:123456789012:role/x"),
            (Kind::Role, "arn:aws:iam::12345678901:role/x"),
            (Kind::Role, "arn:aws:iam::123456789012:user/x"),
            (Kind::Role, "arn:aws:iam::123456789012:role/"),
            (
                Kind::TrustAnchor,
                "arn:aws:rolesanywhere:us-east-1:123456789012:profile/x",
            ),
            (
                Kind::TrustAnchor,
                "arn:aws:rolesanywhere::123456789012:trust-anchor/x",
            ),
            (
                Kind::Profile,
                "arn:aws:rolesanywhere:us-east-1:123456789012:profile/a/b",
            ),
            (Kind::Profile, "not-an-arn"),
            (
                Kind::Profile,
                "arn:gcp:rolesanywhere:us-east-1:123456789012:profile/x",
            ),
        ] {
            assert!(Arn::parse(kind, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn session_names() {
        assert!(valid_session_name("my-session_1+=,.@"));
        assert!(!valid_session_name("a"));
        assert!(!valid_session_name("has space"));
        assert!(!valid_session_name(&"x".repeat(65)));
    }
}
