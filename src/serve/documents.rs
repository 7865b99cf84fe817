//! What `serve` answers with, built once per credential set rather than once per request: the
//! IMDS credentials document and the container credentials document, as bytes that every
//! response shares (a reference count, no copy) and that are wiped when the last response
//! holding them is gone.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use serde::Serialize;
use zeroize::Zeroizing;

use rolesanywhere_credentials::credentials::{iso8601, Issued};

/// A credential set and the documents that serve it.
pub struct Served {
    /// The credentials.
    pub issued: Arc<Issued>,
    /// `GET .../security-credentials/<role>` (IMDS).
    pub imds: Bytes,
    /// `GET /creds` (container credentials), whose `RoleArn` is the served role's.
    pub container: Bytes,
    /// When the set was obtained, as the health documents show it.
    pub last_updated: String,
}

impl Served {
    /// The documents for `issued`, served for `role_arn`.
    pub fn new(issued: Arc<Issued>, role_arn: &str) -> Served {
        let c = &issued.credentials;
        let last_updated = iso8601(issued.last_updated);
        // Room for either document: the values, the names and the punctuation, twice over.
        let room = 2
            * (c.access_key_id.len()
                + c.secret_access_key.len()
                + c.session_token.len()
                + c.expiration.len()
                + last_updated.len()
                + role_arn.len())
            + 256;
        let imds = secret_json(
            room,
            &ImdsCredentials {
                code: "Success",
                last_updated: &last_updated,
                kind: "AWS-HMAC",
                access_key_id: &c.access_key_id,
                secret_access_key: &c.secret_access_key,
                token: &c.session_token,
                expiration: &c.expiration,
            },
        );
        let container = secret_json(
            room,
            &ContainerCredentials {
                access_key_id: &c.access_key_id,
                secret_access_key: &c.secret_access_key,
                token: &c.session_token,
                expiration: &c.expiration,
                role_arn,
            },
        );
        Served {
            issued,
            imds,
            container,
            last_updated,
        }
    }

    /// Whether the credentials are still valid at `now`.
    pub fn valid_at(&self, now: SystemTime) -> bool {
        self.issued.valid_at(now)
    }
}

/// The IMDS credentials document.
#[derive(Serialize)]
struct ImdsCredentials<'a> {
    #[serde(rename = "Code")]
    code: &'static str,
    #[serde(rename = "LastUpdated")]
    last_updated: &'a str,
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(rename = "AccessKeyId")]
    access_key_id: &'a str,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: &'a str,
    #[serde(rename = "Token")]
    token: &'a str,
    #[serde(rename = "Expiration")]
    expiration: &'a str,
}

/// The container credentials document.
#[derive(Serialize)]
struct ContainerCredentials<'a> {
    #[serde(rename = "AccessKeyId")]
    access_key_id: &'a str,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: &'a str,
    #[serde(rename = "Token")]
    token: &'a str,
    #[serde(rename = "Expiration")]
    expiration: &'a str,
    #[serde(rename = "RoleArn")]
    role_arn: &'a str,
}

/// Bytes whose memory is wiped when the last [`Bytes`] sharing them is dropped.
struct Wiped(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for Wiped {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// `value` as JSON in wiped memory of `room` bytes.
fn secret_json(room: usize, value: &impl Serialize) -> Bytes {
    // Sized up front so that the buffer is never reallocated, which would leave a copy behind:
    // the values are AWS-shaped (checked when issued), so JSON escapes none of their characters.
    let mut buffer = Zeroizing::new(Vec::with_capacity(room));
    // Serialising borrowed strings into a vector cannot fail.
    let _ = serde_json::to_writer(&mut *buffer, value);
    Bytes::from_owner(Wiped(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rolesanywhere_credentials::Credentials;
    use std::time::Duration;

    fn issued() -> Arc<Issued> {
        Arc::new(Issued {
            credentials: Credentials {
                access_key_id: "ASIAEXAMPLEEXAMPLE00".into(),
                secret_access_key: Zeroizing::new("secret/key".into()),
                session_token: Zeroizing::new("session+token".into()),
                expiration: "2030-01-01T00:00:00Z".into(),
            },
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000),
            last_updated: SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_452_400),
        })
    }

    #[test]
    fn documents_have_the_protocols_shapes() {
        let served = Served::new(issued(), "arn:aws:iam::123456789012:role/r");
        assert_eq!(
            std::str::from_utf8(&served.imds).unwrap(),
            r#"{"Code":"Success","LastUpdated":"2029-12-31T23:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAEXAMPLEEXAMPLE00","SecretAccessKey":"secret/key","Token":"session+token","Expiration":"2030-01-01T00:00:00Z"}"#
        );
        assert_eq!(
            std::str::from_utf8(&served.container).unwrap(),
            r#"{"AccessKeyId":"ASIAEXAMPLEEXAMPLE00","SecretAccessKey":"secret/key","Token":"session+token","Expiration":"2030-01-01T00:00:00Z","RoleArn":"arn:aws:iam::123456789012:role/r"}"#
        );
        assert_eq!(served.last_updated, "2029-12-31T23:00:00Z");
    }
}
