//! Verification of standard SigV4 (`AWS4-HMAC-SHA256`) signatures on STS calls, implemented
//! here from the specification (HMAC-SHA256 key derivation with `ring`), independent of any
//! signing code in this crate.
//!
//! Verification is split in two so the caller can look the access key up in between:
//! [`parse`] checks everything that needs no secret (header syntax, scope, date skew) and
//! [`verify_signature`] rebuilds the canonical request and compares the HMAC in constant time.
//!
//! Refusals are a [`Rejection`] of this module's own, which `sts.rs` turns into the STS error of
//! the same name: STS depends on SigV4, never the other way round.

use std::time::SystemTime;

use ring::hmac;

use crate::canonical::{self, Authorization, Scope};
use crate::clock::{amz_date, parse_amz_date, unix_seconds};
use crate::verify::{Request, MAX_SKEW_SECONDS};

/// The only algorithm STS accepts here.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Why a SigV4 signature was refused. Each variant is named after the STS error code it becomes
/// and carries the message for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// `IncompleteSignature` (400): the `Authorization` header, scope or date is malformed.
    IncompleteSignature(String),
    /// `MissingAuthenticationToken` (403): there is no `Authorization` header.
    MissingAuthentication(String),
    /// `SignatureDoesNotMatch` (403): the scope, date or signature does not check out.
    SignatureMismatch(String),
}

impl Rejection {
    fn incomplete_signature(message: impl Into<String>) -> Self {
        Rejection::IncompleteSignature(message.into())
    }

    fn signature_mismatch(message: impl Into<String>) -> Self {
        Rejection::SignatureMismatch(message.into())
    }
}

/// An STS request whose signature has been parsed but not yet checked.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub(crate) auth: Authorization<'a>,
    pub(crate) scope: Scope<'a>,
    pub(crate) amz_date: &'a str,
}

/// Checks the `Authorization` header, credential scope and request date.
pub(crate) fn parse<'a>(request: &Request<'a>, now: SystemTime) -> Result<Parsed<'a>, Rejection> {
    let value = request
        .headers
        .get("authorization")
        .ok_or_else(|| {
            Rejection::MissingAuthentication("Request is missing Authentication Token".into())
        })?
        .to_str()
        .map_err(|_| Rejection::incomplete_signature("the Authorization header is not ASCII"))?;
    let auth = canonical::parse_authorization(value).map_err(Rejection::incomplete_signature)?;
    if auth.algorithm != ALGORITHM {
        return Err(Rejection::incomplete_signature(format!(
            "Unsupported AWS 'algorithm': '{}' (STS accepts {ALGORITHM})",
            auth.algorithm
        )));
    }
    let scope = canonical::parse_scope(auth.credential).map_err(Rejection::incomplete_signature)?;
    for name in ["host", "x-amz-date"] {
        if !auth.signed_headers.contains(&name) {
            return Err(Rejection::signature_mismatch(format!(
                "SignedHeaders must include {name}"
            )));
        }
    }
    let date_value = request
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Rejection::incomplete_signature("X-Amz-Date header is missing"))?;
    let request_time = parse_amz_date(date_value).ok_or_else(|| {
        Rejection::incomplete_signature(format!(
            "X-Amz-Date '{date_value}' is not in the form YYYYMMDD'T'HHMMSS'Z'"
        ))
    })?;
    let server_time = unix_seconds(now);
    if request_time < server_time - MAX_SKEW_SECONDS {
        return Err(Rejection::signature_mismatch(format!(
            "Signature expired: {date_value} is now earlier than {} ({} - 5 min.)",
            amz_date(server_time - MAX_SKEW_SECONDS),
            amz_date(server_time)
        )));
    }
    if request_time > server_time + MAX_SKEW_SECONDS {
        return Err(Rejection::signature_mismatch(format!(
            "Signature not yet current: {date_value} is still later than {} ({} + 5 min.)",
            amz_date(server_time + MAX_SKEW_SECONDS),
            amz_date(server_time)
        )));
    }
    if scope.date != &date_value[..8] {
        return Err(Rejection::signature_mismatch(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{}' != '{}'",
            scope.date,
            &date_value[..8]
        )));
    }
    if scope.service != "sts" {
        return Err(Rejection::signature_mismatch(format!(
            "Credential should be scoped to correct service: 'sts', not '{}'",
            scope.service
        )));
    }
    if scope.terminator != "aws4_request" {
        return Err(Rejection::signature_mismatch(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'",
            scope.terminator
        )));
    }
    if scope.region.is_empty() {
        return Err(Rejection::signature_mismatch(
            "Credential scope region is empty",
        ));
    }
    Ok(Parsed {
        auth,
        scope,
        amz_date: date_value,
    })
}

/// Rebuilds the canonical request and checks the signature with `secret`.
pub(crate) fn verify_signature(
    request: &Request<'_>,
    parsed: &Parsed<'_>,
    secret: &str,
) -> Result<(), Rejection> {
    let mismatch = || {
        Rejection::signature_mismatch(
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        )
    };
    let body_hash = canonical::hex_sha256(request.body);
    let payload_hash = match request
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
    {
        // An unsigned payload would leave the form body (which carries Action and its
        // parameters) unauthenticated; STS does not allow it, so the body hash is always used.
        Some(claimed) if claimed != "UNSIGNED-PAYLOAD" => {
            if !claimed.eq_ignore_ascii_case(&body_hash) {
                return Err(Rejection::signature_mismatch(
                    "The x-amz-content-sha256 header does not match the SHA-256 of the body",
                ));
            }
            claimed.to_string()
        }
        _ => body_hash,
    };
    let pairs = canonical::parse_pairs(request.query.unwrap_or(""))
        .map_err(Rejection::incomplete_signature)?;
    let headers = canonical::canonical_headers(request.headers, &parsed.auth.signed_headers)
        .map_err(|name| {
            Rejection::signature_mismatch(format!(
                "Signed header {name} is not present in the request"
            ))
        })?;
    let path = if request.path.is_empty() {
        "/"
    } else {
        request.path
    };
    let canonical_request = canonical::canonical_request(
        request.method,
        &canonical::uri_encode(path.as_bytes(), true),
        &canonical::canonical_query(&pairs),
        &headers,
        &parsed.auth.signed_headers,
        &payload_hash,
    );
    let string_to_sign = canonical::string_to_sign(
        ALGORITHM,
        parsed.amz_date,
        &parsed.scope.line(),
        &canonical_request,
    );
    let key = signing_key(secret, &parsed.scope);
    hmac::verify(&key, string_to_sign.as_bytes(), &parsed.auth.signature).map_err(|_| mismatch())
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn signing_key(secret: &str, scope: &Scope<'_>) -> hmac::Key {
    let step = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let k_date = step(format!("AWS4{secret}").as_bytes(), scope.date);
    let k_region = step(k_date.as_ref(), scope.region);
    let k_service = step(k_region.as_ref(), scope.service);
    let k_signing = step(k_service.as_ref(), scope.terminator);
    hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signing-key example from the AWS SigV4 documentation ("Examples of how to derive a
    /// signing key"): secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215/us-east-1/iam.
    #[test]
    fn signing_key_matches_aws_documentation() {
        let scope = Scope {
            id: "AKIDEXAMPLE",
            date: "20120215",
            region: "us-east-1",
            service: "iam",
            terminator: "aws4_request",
        };
        let key = signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &scope);
        // HMAC(kSigning, "") lets us compare without exposing the key bytes.
        let expected_k_signing =
            hex::decode("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
                .expect("hex");
        let expected = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &expected_k_signing),
            b"probe",
        );
        assert!(hmac::verify(&key, b"probe", expected.as_ref()).is_ok());
    }
}
