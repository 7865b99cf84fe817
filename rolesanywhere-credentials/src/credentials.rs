//! Temporary AWS credentials, and the trait of everything that hands them out.
//!
//! A [`CredentialSource`] hands out [`Issued`] credentials: the first source of every pipeline
//! calls CreateSession with the certificate's key ([`crate::pipeline::RolesAnywhere`]), and
//! further sources (an sts:AssumeRole hop, the on-disk cache) wrap another source. This module
//! holds only the data and the trait, so that every layer above can use them.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::Result;

/// A source of temporary credentials.
///
/// # Contract
/// * [`fetch`](Self::fetch) returns credentials valid now, with their parsed expiry; it does its
///   own retries, so an error is final for this attempt (a caller that runs for long tries again
///   later, with backoff).
/// * Sources that wrap another fetch from it in turn; nothing else is shared.
pub trait CredentialSource: Send {
    /// Gets fresh credentials.
    fn fetch(&mut self) -> Pin<Box<dyn Future<Output = Result<Issued>> + Send + '_>>;

    /// Asks that the next [`fetch`](Self::fetch) read its identity again even if its files did
    /// not change (SIGHUP). Sources that wrap another pass it on; the default does nothing.
    fn reload(&mut self) {}
}

/// Credentials with their parsed lifetime.
#[derive(Clone, Debug)]
pub struct Issued {
    /// What the service returned.
    pub credentials: Credentials,
    /// `credentials.expiration`, parsed.
    pub expires_at: SystemTime,
    /// When we received them.
    pub last_updated: SystemTime,
}

impl Issued {
    /// Whether the credentials are still valid at `now`.
    pub fn valid_at(&self, now: SystemTime) -> bool {
        now < self.expires_at
    }
}

/// `2025-01-02T03:04:05Z` as a time, `None` when unparsable.
pub fn parse_expiration(text: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok().map(Into::into)
}

/// A time as ISO 8601 UTC to the second, as IMDS writes them.
pub fn iso8601(at: SystemTime) -> String {
    let at = OffsetDateTime::from(at)
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    // Formatting a whole-second UTC time as RFC 3339 cannot fail.
    at.format(&Rfc3339).unwrap_or_default()
}

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
        let mut json = secret_json(
            &[
                &self.access_key_id,
                &self.secret_access_key,
                &self.session_token,
                &self.expiration,
            ],
            &output,
        );
        // The buffer moves into the string (serde_json writes UTF-8): no copy is made.
        Zeroizing::new(String::from_utf8(std::mem::take(&mut *json)).unwrap_or_default())
    }
}

/// `value` as JSON, in a wiped buffer with room for it whole: sized from the strings it holds
/// (`fields`; no byte takes more than 6 escaped, and 256 for the rest), so the buffer never
/// grows, and no copy of a secret is left in a freed one.
pub(crate) fn secret_json(fields: &[&str], value: &impl Serialize) -> Zeroizing<Vec<u8>> {
    let room = 256 + 6 * fields.iter().map(|f| f.len()).sum::<usize>();
    let mut json = Zeroizing::new(Vec::with_capacity(room));
    // Serialising strings into a vector cannot fail.
    if serde_json::to_writer(&mut *json, value).is_err() {
        json.clear();
    }
    json
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
    fn expirations_round_trip() {
        let at = parse_expiration("2025-01-02T03:04:05Z").unwrap();
        assert_eq!(iso8601(at), "2025-01-02T03:04:05Z");
        assert!(parse_expiration("tomorrow").is_none());
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
