//! Temporary AWS credentials and the `credential_process` JSON document.

use std::fmt;

use serde::Serialize;
use zeroize::Zeroizing;

/// Temporary credentials. The secret and token are wiped when dropped and never printed by
/// `Debug`.
#[derive(Clone)]
pub struct Credentials {
    /// `ASIA...`.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Zeroizing<String>,
    /// The session token.
    pub session_token: Zeroizing<String>,
    /// Expiry, ISO 8601 UTC as the service returned it (e.g. `2025-01-02T04:04:05Z`).
    pub expiration: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &"** redacted **")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// The `credential_process` output, field for field and in the official order.
#[derive(Serialize)]
struct ProcessOutput<'a> {
    #[serde(rename = "Version")]
    version: u8,
    #[serde(rename = "AccessKeyId")]
    access_key_id: &'a str,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: &'a str,
    #[serde(rename = "SessionToken")]
    session_token: &'a str,
    #[serde(rename = "Expiration")]
    expiration: &'a str,
}

impl Credentials {
    /// The JSON document a `credential_process` prints (no trailing newline, as the official
    /// helper). The buffer is wiped when dropped.
    pub fn to_process_json(&self) -> Zeroizing<String> {
        let output = ProcessOutput {
            version: 1,
            access_key_id: &self.access_key_id,
            secret_access_key: &self.secret_access_key,
            session_token: &self.session_token,
            expiration: &self.expiration,
        };
        // Serialising borrowed strings into a String cannot fail.
        Zeroizing::new(serde_json::to_string(&output).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Zeroizing::new("s3cr3t".into()),
            session_token: Zeroizing::new("t0k3n".into()),
            expiration: "2025-01-02T04:04:05Z".into(),
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let text = format!("{:?}", sample());
        assert!(text.contains("ASIAEXAMPLE"));
        assert!(!text.contains("s3cr3t") && !text.contains("t0k3n"));
    }

    #[test]
    fn process_json_has_the_official_shape() {
        assert_eq!(
            *sample().to_process_json(),
            r#"{"Version":1,"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"s3cr3t","SessionToken":"t0k3n","Expiration":"2025-01-02T04:04:05Z"}"#
        );
    }
}
