//! AWS4-X509: Signature Version 4 with an X.509 certificate's key instead of a secret access key,
//! as the IAM Roles Anywhere signing-process documentation defines it.
//!
//! Each stage is a value whose `Display` is its exact wire text ([`CanonicalRequest`],
//! [`StringToSign`]), so tests compare stages with vectors produced by other tools. Nothing here
//! reads the clock or does I/O: the time is a parameter, and the only effect is the signer's.

use std::fmt;
use std::time::SystemTime;

use time::OffsetDateTime;

use crate::identity::{Digest, PublicKey, Result, X509Signer};

/// The signing name of IAM Roles Anywhere.
pub const SERVICE: &str = "rolesanywhere";

/// Header names this module sets or signs.
pub mod header {
    /// Request time, `YYYYMMDDTHHMMSSZ`.
    pub const X_AMZ_DATE: &str = "X-Amz-Date";
    /// Base64 DER end-entity certificate.
    pub const X_AMZ_X509: &str = "X-Amz-X509";
    /// Comma-separated base64 DER intermediates; never sent empty.
    pub const X_AMZ_X509_CHAIN: &str = "X-Amz-X509-Chain";
    /// The signature.
    pub const AUTHORIZATION: &str = "Authorization";
    /// The host (and port, when not the scheme's default).
    pub const HOST: &str = "Host";
    /// Body media type.
    pub const CONTENT_TYPE: &str = "Content-Type";
}

/// The signature algorithm, chosen by the key type. RSA and ECDSA hash the string to sign with
/// SHA-256, whatever the curve; ML-DSA signs the string to sign itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSA keys: PKCS#1 v1.5 with SHA-256.
    RsaSha256,
    /// EC keys: ECDSA with SHA-256, DER-encoded.
    EcdsaSha256,
    /// ML-DSA-44, -65 and -87 keys: pure ML-DSA over the string to sign, empty context,
    /// deterministic (as the official helper v1.8 signs).
    MlDsa,
}

impl Algorithm {
    /// The algorithm a key signs requests with.
    pub fn for_key(key: &PublicKey) -> Algorithm {
        match key {
            PublicKey::Rsa { .. } => Algorithm::RsaSha256,
            PublicKey::Ec { .. } => Algorithm::EcdsaSha256,
            PublicKey::MlDsa { .. } => Algorithm::MlDsa,
        }
    }

    /// The name used in the string to sign and the Authorization header.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RsaSha256 => "AWS4-X509-RSA-SHA256",
            Algorithm::EcdsaSha256 => "AWS4-X509-ECDSA-SHA256",
            Algorithm::MlDsa => "AWS4-X509-MLDSA",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signing time, formatted the two ways SigV4 needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningTime {
    /// `YYYYMMDDTHHMMSSZ`, for `X-Amz-Date`.
    pub amz_date: String,
    /// `YYYYMMDD`, for the credential scope.
    pub date: String,
}

impl From<SystemTime> for SigningTime {
    fn from(time: SystemTime) -> Self {
        let t = OffsetDateTime::from(time);
        let date = format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day());
        let amz_date = format!("{date}T{:02}{:02}{:02}Z", t.hour(), t.minute(), t.second());
        SigningTime { amz_date, date }
    }
}

/// The request parts that are signed. Header names may be in any case; values are sent as given.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// Absolute path, already URI-encoded, e.g. `/sessions`.
    pub path: &'a str,
    /// Query parameters, unencoded, in any order.
    pub query: &'a [(String, String)],
    /// Headers to sign (name, value).
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
}

/// The canonical request: the text whose SHA-256 goes into the string to sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalRequest {
    text: String,
    signed_headers: String,
}

impl CanonicalRequest {
    /// Builds the canonical request for `request`.
    pub fn new(request: &Request<'_>) -> CanonicalRequest {
        let mut query: Vec<(String, String)> = request
            .query
            .iter()
            .map(|(k, v)| (uri_encode(k), uri_encode(v)))
            .collect();
        query.sort();
        let canonical_query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");

        let mut headers: Vec<(String, String)> = Vec::new();
        for (name, value) in request.headers {
            let name = name.to_ascii_lowercase();
            let value = collapse_spaces(value);
            match headers.iter_mut().find(|(n, _)| *n == name) {
                // Repeated headers are joined with commas, in the order they appear.
                Some((_, existing)) => {
                    existing.push(',');
                    existing.push_str(&value);
                }
                None => headers.push((name, value)),
            }
        }
        headers.sort_by(|a, b| a.0.cmp(&b.0));
        let signed_headers = headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();

        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            request.method,
            request.path,
            canonical_query,
            canonical_headers,
            signed_headers,
            sha256_hex(request.body),
        );
        CanonicalRequest {
            text,
            signed_headers,
        }
    }

    /// The `SignedHeaders` value: lower-case names joined by `;`.
    pub fn signed_headers(&self) -> &str {
        &self.signed_headers
    }
}

impl fmt::Display for CanonicalRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `YYYYMMDD/<region>/rolesanywhere/aws4_request`.
pub fn credential_scope(time: &SigningTime, region: &str) -> String {
    format!("{}/{region}/{SERVICE}/aws4_request", time.date)
}

/// The string the key signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringToSign {
    algorithm: Algorithm,
    amz_date: String,
    scope: String,
    hashed_request: String,
}

impl StringToSign {
    /// Builds the string to sign for a canonical request.
    pub fn new(
        algorithm: Algorithm,
        time: &SigningTime,
        region: &str,
        request: &CanonicalRequest,
    ) -> StringToSign {
        StringToSign {
            algorithm,
            amz_date: time.amz_date.clone(),
            scope: credential_scope(time, region),
            hashed_request: sha256_hex(request.text.as_bytes()),
        }
    }
}

impl fmt::Display for StringToSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n{}\n{}\n{}",
            self.algorithm, self.amz_date, self.scope, self.hashed_request
        )
    }
}

/// The `Authorization` header value.
pub fn authorization(
    algorithm: Algorithm,
    serial_decimal: &str,
    scope: &str,
    signed_headers: &str,
    signature: &[u8],
) -> String {
    format!(
        "{algorithm} Credential={serial_decimal}/{scope}, SignedHeaders={signed_headers}, Signature={}",
        hex::encode(signature)
    )
}

/// Everything a signed CreateSession request needs, and the intermediate stages for `--debug`.
#[derive(Clone, Debug)]
pub struct Signed {
    /// Headers to add to the request, in addition to those that were signed.
    pub headers: Vec<(String, String)>,
    /// The canonical request, for debugging.
    pub canonical_request: CanonicalRequest,
    /// The string to sign, for debugging.
    pub string_to_sign: StringToSign,
}

/// Signs a request with `signer` at `time` for `region`.
///
/// `request.headers` must already hold `Host` and any `Content-Type`; this adds `X-Amz-Date`,
/// `X-Amz-X509`, `X-Amz-X509-Chain` (only when there are intermediates), signs all of them, and
/// returns the complete header list including `Authorization`.
///
/// # Errors
/// When the signer fails.
pub fn sign(
    signer: &dyn X509Signer,
    region: &str,
    time: SystemTime,
    request: &Request<'_>,
) -> Result<Signed> {
    let time = SigningTime::from(time);
    let algorithm = Algorithm::for_key(signer.public_key());
    let mut headers = request.headers.to_vec();
    headers.push((header::X_AMZ_DATE.into(), time.amz_date.clone()));
    headers.push((header::X_AMZ_X509.into(), signer.certificate().to_base64()));
    if !signer.chain().is_empty() {
        let chain = signer
            .chain()
            .iter()
            .map(|c| c.to_base64())
            .collect::<Vec<_>>()
            .join(",");
        headers.push((header::X_AMZ_X509_CHAIN.into(), chain));
    }
    let request = Request {
        headers: &headers,
        ..request.clone()
    };
    let canonical_request = CanonicalRequest::new(&request);
    let string_to_sign = StringToSign::new(algorithm, &time, region, &canonical_request);
    // SHA-256 for RSA and ECDSA; ML-DSA keys sign the string itself (see `identity::Signer`).
    let signature = signer.sign(string_to_sign.to_string().as_bytes(), Digest::Sha256)?;
    headers.push((
        header::AUTHORIZATION.into(),
        authorization(
            algorithm,
            signer.certificate().serial_decimal(),
            &credential_scope(&time, region),
            canonical_request.signed_headers(),
            &signature,
        ),
    ));
    Ok(Signed {
        headers,
        canonical_request,
        string_to_sign,
    })
}

/// SigV4 URI encoding: unreserved characters stay, every other byte becomes `%XX` (upper case).
pub fn uri_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Trims a header value and collapses runs of spaces to one, as SigV4 canonicalisation requires.
fn collapse_spaces(value: &str) -> String {
    // Printable ASCII with single inner spaces is already canonical: the certificates' base64
    // (kilobytes on every call) takes this path.
    let bytes = value.as_bytes();
    let canonical = bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
        && bytes.iter().all(|&b| b.is_ascii_graphic() || b == b' ')
        && !value.contains("  ");
    if canonical {
        return value.to_string();
    }
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lower-case hex SHA-256, with ring's assembly (the canonical request carries the base64
/// certificates, a few kilobytes to hash on every call).
fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_collapse_as_split_whitespace_does() {
        for value in [
            "plain",
            "a b c",
            " lead",
            "trail ",
            "a  b",
            "a\tb",
            "a\nb",
            "",
            " ",
            "MIIB+/=",
            "non\u{a0}breaking",
            "\u{3000}wide",
        ] {
            let expected = value.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(collapse_spaces(value), expected, "{value:?}");
        }
    }
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_signing_time() {
        // 2025-01-02T03:04:05Z
        let t = SigningTime::from(UNIX_EPOCH + Duration::from_secs(1_735_787_045));
        assert_eq!(t.amz_date, "20250102T030405Z");
        assert_eq!(t.date, "20250102");
    }

    #[test]
    fn encodes_like_sigv4() {
        assert_eq!(
            uri_encode("arn:aws:iam::1:role/a b+c~d"),
            "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b%2Bc~d"
        );
    }

    #[test]
    fn canonicalises_headers_and_query() {
        let query = vec![
            ("b".to_string(), "2".to_string()),
            ("a".into(), "1 1".into()),
        ];
        let headers = vec![
            ("X-Amz-Date".to_string(), "d".to_string()),
            ("Host".into(), "  h   x ".into()),
        ];
        let request = Request {
            method: "POST",
            path: "/sessions",
            query: &query,
            headers: &headers,
            body: b"",
        };
        let canonical = CanonicalRequest::new(&request);
        assert_eq!(
            canonical.to_string(),
            "POST\n/sessions\na=1%201&b=2\nhost:h x\nx-amz-date:d\n\nhost;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
