//! Verification of a Roles Anywhere `CreateSession` request, as strictly as the real service:
//! request shape, the AWS4-X509 signature (independently implemented: RSA PKCS#1 v1.5 with the
//! `rsa` crate, ECDSA with the `p256`/`p384`/`p521` crates, always over SHA-256; ML-DSA with the
//! `fips204` crate over the string to sign itself, see [`crate::mldsa`]), the certificate path to
//! an enabled trust anchor (RSA, ECDSA and ML-DSA issuers), and the profile's rules.
//!
//! [`verify_create_session`] is pure: the configuration, the request as received and the time
//! are passed in, so the OpenSSL-signed vectors (dated in the past) can be checked with a fixed
//! clock. The checks, in order, and the exception each failure produces:
//!
//! 1. Parameters (query or JSON body; both must agree): present and well-formed ARNs,
//!    `durationSeconds` in 900..=43200, `roleSessionName` of 2-64 `[\w+=,.@-]` →
//!    `ValidationException`.
//! 2. The trust anchor and profile exist in this region and account → `ResourceNotFoundException`;
//!    are enabled → `AccessDeniedException`.
//! 3. `Authorization` syntax → `ValidationException`; missing, unsupported algorithm, required
//!    headers (`host`, `x-amz-date`, `x-amz-x509`, and `x-amz-x509-chain` when sent) not signed or
//!    signed headers absent → `AccessDeniedException`.
//! 4. `X-Amz-Date` well-formed (`ValidationException`) and within 5 minutes of now; scope date,
//!    region, service `rolesanywhere` and terminator `aws4_request` → `AccessDeniedException`.
//! 5. `X-Amz-X509` is a DER certificate, the credential serial (decimal) is its serial, the
//!    algorithm matches its key type, and the signature over the rebuilt string to sign verifies
//!    with its key → `AccessDeniedException`.
//! 6. The leaf is valid now and follows the trust model's end-entity rules (X.509 v3;
//!    basicConstraints present, CA:FALSE; keyUsage present, with digitalSignature; signed with
//!    SHA-256 or stronger: `path::check_leaf`); the leaf plus `X-Amz-X509-Chain` lead to a CA certificate of the trust anchor, every signature
//!    verifying (SHA-1/MD5 signatures refused), every issuer valid now, a CA, allowed to sign
//!    certificates and within its path length; no certificate of the path listed in a CRL
//!    imported into the trust anchor (`revocation`) → `AccessDeniedException`.
//! 7. The role is one of the profile's → `AccessDeniedException`; the duration is within the
//!    profile's maximum and a session name is only given if the profile accepts one →
//!    `ValidationException`.

mod key;
mod path;
mod revocation;

pub use key::Algorithm;

use std::collections::HashMap;
use std::time::SystemTime;

use axum::http::HeaderMap;
use base64::Engine;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{ASN1Time, FromDer, X509Certificate};

use key::LeafKey;
use path::{check_leaf, PathSearch};

use crate::arn::{self, Arn, Kind};
use crate::canonical::{self, Authorization};
use crate::clock::{iso8601, parse_amz_date, unix_seconds};
use crate::config::{
    Config, Profile, TrustAnchor, DEFAULT_DURATION_SECONDS, MAX_DURATION_SECONDS,
    MIN_DURATION_SECONDS,
};
use crate::error::ApiError;

/// How far `X-Amz-Date` may be from the server clock, in seconds.
pub const MAX_SKEW_SECONDS: i64 = 300;
/// Most intermediates accepted in `X-Amz-X509-Chain`.
const MAX_CHAIN_CERTS: usize = 10;

/// A request as received by the endpoint.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The raw (still percent-encoded) path.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// All request headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: &'a [u8],
}

/// A request that passed every check: what the endpoint may now issue credentials for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The trust anchor the certificate chained to.
    pub trust_anchor_arn: String,
    /// The profile used.
    pub profile_arn: String,
    /// The role to assume.
    pub role_arn: String,
    /// The role's name (last segment of its ARN).
    pub role_name: String,
    /// The granted session length.
    pub duration_seconds: u32,
    /// The accepted `roleSessionName`, if the request carried one.
    pub role_session_name: Option<String>,
    /// The signing algorithm.
    pub algorithm: Algorithm,
    /// The leaf certificate's serial number in decimal.
    pub serial: String,
    /// The leaf certificate's serial number in lowercase hex without leading zeros (the
    /// default role session name, like Go's `big.Int.Text(16)`).
    pub serial_hex: String,
    /// The leaf certificate's subject common name, or the whole subject if it has none.
    pub source_identity: String,
    /// A stable id for the leaf's subject (UUID-shaped hash of the subject DN).
    pub subject_id: String,
    /// The headers the client signed.
    pub signed_headers: Vec<String>,
}

/// What the `Authorization` header claims, parsed leniently for logging even when the request
/// is rejected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Claimed {
    pub(crate) algorithm: Option<String>,
    pub(crate) credential: Option<String>,
    pub(crate) signed_headers: Vec<String>,
}

/// Extracts what the `Authorization` header claims, without judging it.
pub(crate) fn claimed(headers: &HeaderMap) -> Claimed {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Claimed::default();
    };
    match canonical::parse_authorization(value) {
        Ok(auth) => Claimed {
            algorithm: Some(auth.algorithm.to_string()),
            credential: Some(auth.credential.to_string()),
            signed_headers: auth.signed_headers.iter().map(|s| s.to_string()).collect(),
        },
        Err(_) => Claimed {
            algorithm: value.split_whitespace().next().map(str::to_string),
            ..Claimed::default()
        },
    }
}

/// The CreateSession JSON body, each member type-checked so errors can name it.
#[derive(Default)]
struct Body {
    duration_seconds: Option<i64>,
    role_session_name: Option<String>,
    profile_arn: Option<String>,
    role_arn: Option<String>,
    trust_anchor_arn: Option<String>,
}

impl Body {
    fn parse(bytes: &[u8]) -> Result<Body, ApiError> {
        use serde_json::Value;

        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body::default());
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::validation(format!("request body is not valid JSON: {e}")))?;
        let Value::Object(members) = value else {
            return Err(ApiError::validation("request body must be a JSON object"));
        };
        let wrong_type = |name: &str, what: &str| {
            ApiError::validation(format!(
                "1 validation error detected: Value at '{name}' failed to satisfy constraint: \
                 Member must be {what}"
            ))
        };
        let string = |name: &str| match members.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(wrong_type(name, "a string")),
        };
        let duration_seconds = match members.get("durationSeconds") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_i64()
                    .ok_or_else(|| wrong_type("durationSeconds", "an integer"))?,
            ),
            Some(_) => return Err(wrong_type("durationSeconds", "an integer")),
        };
        // Accepted for shape compatibility with the SDK's CreateSessionInput; not used.
        string("sessionName")?;
        match members.get("instanceProperties") {
            None | Some(Value::Null) => {}
            Some(Value::Object(props)) if props.values().all(Value::is_string) => {}
            Some(_) => {
                return Err(wrong_type(
                    "instanceProperties",
                    "a map of strings to strings",
                ))
            }
        }
        Ok(Body {
            duration_seconds,
            role_session_name: string("roleSessionName")?,
            profile_arn: string("profileArn")?,
            role_arn: string("roleArn")?,
            trust_anchor_arn: string("trustAnchorArn")?,
        })
    }
}

/// Verifies a `CreateSession` request against `config` at time `now`.
///
/// # Errors
/// The [`ApiError`] the real service would return; see the module documentation for which
/// check produces which exception.
pub fn verify_create_session(
    config: &Config,
    request: &Request<'_>,
    now: SystemTime,
) -> Result<Verified, ApiError> {
    // 1. Parameters.
    let params = Params::parse(request)?;
    let anchor_arn =
        Arn::parse(Kind::TrustAnchor, &params.trust_anchor_arn).map_err(ApiError::validation)?;
    let profile_arn =
        Arn::parse(Kind::Profile, &params.profile_arn).map_err(ApiError::validation)?;
    let role_arn = Arn::parse(Kind::Role, &params.role_arn).map_err(ApiError::validation)?;
    if anchor_arn.region != profile_arn.region {
        return Err(ApiError::validation(format!(
            "trust anchor {anchor_arn} and profile {profile_arn} are in different regions"
        )));
    }
    if let Some(d) = params.duration_seconds {
        if !(i64::from(MIN_DURATION_SECONDS)..=i64::from(MAX_DURATION_SECONDS)).contains(&d) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy \
                 constraint: Member must have value between {MIN_DURATION_SECONDS} and \
                 {MAX_DURATION_SECONDS}"
            )));
        }
    }
    if let Some(name) = &params.role_session_name {
        if !arn::valid_session_name(name) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{name}' at 'roleSessionName' failed to \
                 satisfy constraint: Member must be 2-64 characters matching [\\w+=,.@-]*"
            )));
        }
    }

    // 2. Resources.
    let anchor = find_anchor(config, &anchor_arn)?;
    let profile = find_profile(config, &profile_arn)?;

    // 3. Authorization header.
    let auth_value = request
        .headers
        .get("authorization")
        .ok_or_else(|| {
            ApiError::access_denied("Missing Authorization header: the request is not signed")
        })?
        .to_str()
        .map_err(|_| ApiError::validation("the Authorization header is not ASCII"))?;
    let auth = canonical::parse_authorization(auth_value).map_err(ApiError::validation)?;
    let algorithm = Algorithm::from_name(auth.algorithm).ok_or_else(|| {
        ApiError::access_denied(format!(
            "Unsupported signing algorithm '{}': Roles Anywhere accepts AWS4-X509-RSA-SHA256, \
             AWS4-X509-ECDSA-SHA256 and AWS4-X509-MLDSA",
            auth.algorithm
        ))
    })?;
    let scope = canonical::parse_scope(auth.credential).map_err(ApiError::validation)?;
    check_signed_headers(request.headers, &auth)?;

    // 4. Date and scope.
    let amz_date = header_str(request.headers, "x-amz-date")?;
    let request_time = parse_amz_date(amz_date).ok_or_else(|| {
        ApiError::validation(format!(
            "X-Amz-Date '{amz_date}' is not in the form YYYYMMDD'T'HHMMSS'Z'"
        ))
    })?;
    let server_time = unix_seconds(now);
    if (request_time - server_time).abs() > MAX_SKEW_SECONDS {
        return Err(ApiError::access_denied(format!(
            "Request date is outside the allowed skew: X-Amz-Date {amz_date} is {} seconds {} the \
             server time {} (at most {MAX_SKEW_SECONDS} seconds allowed)",
            (request_time - server_time).abs(),
            if request_time < server_time {
                "behind"
            } else {
                "ahead of"
            },
            iso8601(server_time)
        )));
    }
    if scope.date != &amz_date[..8] {
        return Err(ApiError::access_denied(format!(
            "Credential scope date {} does not match X-Amz-Date {amz_date}",
            scope.date
        )));
    }
    if scope.region != config.region {
        return Err(ApiError::access_denied(format!(
            "Credential scope region '{}' is wrong: this endpoint serves region '{}'",
            scope.region, config.region
        )));
    }
    if scope.service != "rolesanywhere" {
        return Err(ApiError::access_denied(format!(
            "Credential scope service '{}' is wrong: expected 'rolesanywhere'",
            scope.service
        )));
    }
    if scope.terminator != "aws4_request" {
        return Err(ApiError::access_denied(format!(
            "Credential scope must end in 'aws4_request', not '{}'",
            scope.terminator
        )));
    }

    // 5. The signing certificate and the signature.
    let leaf_der = decode_cert(header_str(request.headers, "x-amz-x509")?).ok_or_else(|| {
        ApiError::access_denied("X-Amz-X509 is not a base64-encoded DER X.509 certificate")
    })?;
    let leaf = parse_cert(&leaf_der).ok_or_else(|| {
        ApiError::access_denied("X-Amz-X509 is not a base64-encoded DER X.509 certificate")
    })?;
    let serial = leaf.tbs_certificate.serial.to_str_radix(10);
    if scope.id != serial {
        return Err(ApiError::access_denied(format!(
            "Credential serial number {} does not match the signing certificate's serial number \
             {serial} (the Credential must carry the leaf serial in decimal)",
            scope.id
        )));
    }
    let key = LeafKey::from_spki(leaf.public_key()).map_err(|kind| {
        ApiError::access_denied(format!(
            "Signing certificate's key type ({kind}) is not supported: use an RSA key, an EC \
             key on P-256, P-384 or P-521, or an ML-DSA-44, -65 or -87 key"
        ))
    })?;
    if key.algorithm() != algorithm {
        return Err(ApiError::access_denied(format!(
            "Signing algorithm {} does not match the signing certificate's {} key (expected {})",
            algorithm.name(),
            key.describe(),
            key.algorithm().name()
        )));
    }
    let canonical_request = build_canonical_request(request, &auth)?;
    let string_to_sign =
        canonical::string_to_sign(auth.algorithm, amz_date, &scope.line(), &canonical_request);
    if !key.verify(string_to_sign.as_bytes(), &auth.signature) {
        return Err(ApiError::access_denied(format!(
            "Signature verification failed: the signature does not match the request as received \
             with the {} key of certificate serial {serial}; the string to sign was {:?}",
            key.describe(),
            string_to_sign
        )));
    }

    // 6. Certificate validity and path to the trust anchor.
    let at = ASN1Time::from_timestamp(server_time)
        .map_err(|_| ApiError::access_denied("server time is out of range"))?;
    check_leaf(&leaf, server_time, at)?;
    let chain_der = match request.headers.get("x-amz-x509-chain") {
        None => Vec::new(),
        Some(_) => decode_chain(header_str(request.headers, "x-amz-x509-chain")?)?,
    };
    let chain = chain_der
        .iter()
        .enumerate()
        .map(|(i, der)| {
            parse_cert(der).ok_or_else(|| {
                ApiError::access_denied(format!(
                    "X-Amz-X509-Chain certificate {} is not a DER X.509 certificate",
                    i + 1
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let anchors = anchor
        .ca_certs
        .iter()
        .filter_map(|der| parse_cert(der))
        .collect::<Vec<_>>();
    let mut path = PathSearch {
        chain: &chain,
        anchors: &anchors,
        used: vec![false; chain.len()],
        at,
        problem: None,
    };
    if !path.extend(&leaf, 0) {
        let detail = path.problem.map(|p| format!(": {p}")).unwrap_or_else(|| {
            format!(
                ": no certificate in X-Amz-X509-Chain or the trust anchor is the issuer \
                     '{}'",
                leaf.issuer()
            )
        });
        return Err(ApiError::access_denied(format!(
            "Untrusted signing certificate: no valid path from '{}' to a CA certificate of trust \
             anchor {}{detail}",
            leaf.subject(),
            anchor.arn
        )));
    }
    if !anchor.crls.is_empty() {
        let mut on_path = vec![&leaf];
        on_path.extend(
            chain
                .iter()
                .zip(&path.used)
                .filter(|(_, u)| **u)
                .map(|(c, _)| c),
        );
        let issuers: Vec<&X509Certificate<'_>> = chain.iter().chain(&anchors).collect();
        if let Some(why) = revocation::revoked(&on_path, &issuers, &anchor.crls) {
            return Err(ApiError::access_denied(why));
        }
    }

    // 7. Profile rules.
    if !profile.role_arns.iter().any(|r| r == &role_arn) {
        return Err(ApiError::access_denied(format!(
            "Role {role_arn} is not one of the roles of profile {}",
            profile.arn
        )));
    }
    let duration_seconds = match params.duration_seconds {
        // Range-checked in step 1.
        Some(d) => u32::try_from(d).unwrap_or(MAX_DURATION_SECONDS),
        None => DEFAULT_DURATION_SECONDS.min(profile.duration_seconds),
    };
    if duration_seconds > profile.duration_seconds {
        return Err(ApiError::validation(format!(
            "durationSeconds {duration_seconds} exceeds the maximum session duration of profile \
             {} ({} seconds)",
            profile.arn, profile.duration_seconds
        )));
    }
    if params.role_session_name.is_some() && !profile.accept_role_session_name {
        return Err(ApiError::validation(format!(
            "roleSessionName is not allowed: profile {} does not accept role session names \
             (set accept_role_session_name = true)",
            profile.arn
        )));
    }

    let source_identity = leaf
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| leaf.subject().to_string());
    Ok(Verified {
        trust_anchor_arn: anchor.arn.to_string(),
        profile_arn: profile.arn.to_string(),
        role_arn: role_arn.to_string(),
        role_name: role_arn.name.clone(),
        duration_seconds,
        role_session_name: params.role_session_name,
        algorithm,
        serial,
        serial_hex: leaf.tbs_certificate.serial.to_str_radix(16),
        source_identity,
        subject_id: uuid_from(&Sha256::digest(leaf.subject().as_raw())),
        signed_headers: auth.signed_headers.iter().map(|s| s.to_string()).collect(),
    })
}

/// The CreateSession parameters, merged from the query string and the JSON body.
struct Params {
    trust_anchor_arn: String,
    profile_arn: String,
    role_arn: String,
    duration_seconds: Option<i64>,
    role_session_name: Option<String>,
}

impl Params {
    fn parse(request: &Request<'_>) -> Result<Params, ApiError> {
        let pairs = canonical::parse_pairs(request.query.unwrap_or(""))
            .map_err(|e| ApiError::validation(format!("malformed query string: {e}")))?;
        let mut query: HashMap<String, String> = HashMap::new();
        for (name, value) in pairs {
            let (Ok(name), Ok(value)) = (String::from_utf8(name), String::from_utf8(value)) else {
                return Err(ApiError::validation("query string is not UTF-8"));
            };
            if query.contains_key(&name) {
                return Err(ApiError::validation(format!(
                    "query parameter '{name}' appears more than once"
                )));
            }
            query.insert(name, value);
        }
        let body = Body::parse(request.body)?;
        let merge = |name: &str, from_body: Option<String>| -> Result<String, ApiError> {
            match (query.get(name), from_body) {
                (Some(q), Some(b)) if *q != b => Err(ApiError::validation(format!(
                    "{name} is given in both the query string ('{q}') and the body ('{b}') with \
                     different values"
                ))),
                (Some(q), _) => Ok(q.clone()),
                (None, Some(b)) => Ok(b),
                (None, None) => Err(ApiError::validation(format!(
                    "1 validation error detected: Value null at '{name}' failed to satisfy \
                     constraint: Member must not be null"
                ))),
            }
        };
        Ok(Params {
            trust_anchor_arn: merge("trustAnchorArn", body.trust_anchor_arn)?,
            profile_arn: merge("profileArn", body.profile_arn)?,
            role_arn: merge("roleArn", body.role_arn)?,
            duration_seconds: body.duration_seconds,
            role_session_name: body.role_session_name,
        })
    }
}

fn find_anchor<'c>(config: &'c Config, arn: &Arn) -> Result<&'c TrustAnchor, ApiError> {
    let anchor = config.trust_anchor(arn.as_str()).ok_or_else(|| {
        ApiError::not_found(format!(
            "Trust anchor {arn} not found{}",
            elsewhere(config, arn)
        ))
    })?;
    if !anchor.enabled {
        return Err(ApiError::access_denied(format!(
            "Trust anchor {arn} is disabled"
        )));
    }
    Ok(anchor)
}

fn find_profile<'c>(config: &'c Config, arn: &Arn) -> Result<&'c Profile, ApiError> {
    let profile = config.profile(arn.as_str()).ok_or_else(|| {
        ApiError::not_found(format!("Profile {arn} not found{}", elsewhere(config, arn)))
    })?;
    if !profile.enabled {
        return Err(ApiError::access_denied(format!(
            "Profile {arn} is disabled"
        )));
    }
    Ok(profile)
}

/// Explains a lookup miss caused by asking the wrong region or account.
fn elsewhere(config: &Config, arn: &Arn) -> String {
    if arn.region != config.region {
        format!(
            " (it is in region {}; this endpoint serves region {})",
            arn.region, config.region
        )
    } else if arn.account != config.account {
        format!(
            " (it is in account {}; this endpoint plays account {})",
            arn.account, config.account
        )
    } else {
        String::new()
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, ApiError> {
    headers
        .get(name)
        .ok_or_else(|| ApiError::access_denied(format!("Missing required header {name}")))?
        .to_str()
        .map_err(|_| ApiError::validation(format!("header {name} is not ASCII")))
}

fn check_signed_headers(headers: &HeaderMap, auth: &Authorization<'_>) -> Result<(), ApiError> {
    let mut required = vec!["host", "x-amz-date", "x-amz-x509"];
    if headers.contains_key("x-amz-x509-chain") {
        required.push("x-amz-x509-chain");
    }
    for name in required {
        if !auth.signed_headers.contains(&name) {
            return Err(ApiError::access_denied(format!(
                "SignedHeaders must include {name}"
            )));
        }
    }
    for name in &auth.signed_headers {
        if !headers.contains_key(*name) {
            return Err(ApiError::access_denied(format!(
                "Signed header {name} is not present in the request"
            )));
        }
    }
    Ok(())
}

fn build_canonical_request(
    request: &Request<'_>,
    auth: &Authorization<'_>,
) -> Result<Vec<u8>, ApiError> {
    let pairs = canonical::parse_pairs(request.query.unwrap_or(""))
        .map_err(|e| ApiError::validation(format!("malformed query string: {e}")))?;
    let headers =
        canonical::canonical_headers(request.headers, &auth.signed_headers).map_err(|name| {
            ApiError::access_denied(format!(
                "Signed header {name} is not present in the request"
            ))
        })?;
    Ok(canonical::canonical_request(
        request.method,
        &canonical::uri_encode(request.path.as_bytes(), true),
        &canonical::canonical_query(&pairs),
        &headers,
        &auth.signed_headers,
        &canonical::hex_sha256(request.body),
    ))
}

fn decode_cert(b64: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
}

fn decode_chain(value: &str) -> Result<Vec<Vec<u8>>, ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::validation(
            "X-Amz-X509-Chain is present but empty; omit the header when there are no \
             intermediates",
        ));
    }
    let parts: Vec<&str> = value.split(',').collect();
    if parts.len() > MAX_CHAIN_CERTS {
        return Err(ApiError::validation(format!(
            "X-Amz-X509-Chain has {} certificates; at most {MAX_CHAIN_CERTS} are accepted",
            parts.len()
        )));
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            decode_cert(part)
                .filter(|der| !der.is_empty())
                .ok_or_else(|| {
                    ApiError::access_denied(format!(
                        "X-Amz-X509-Chain entry {} is not base64-encoded DER",
                        i + 1
                    ))
                })
        })
        .collect()
}

/// Parses DER that must be exactly one certificate.
fn parse_cert(der: &[u8]) -> Option<X509Certificate<'_>> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Some(cert),
        _ => None,
    }
}

/// Formats the first 16 bytes of `hash` as a version-4-shaped UUID.
pub(crate) fn uuid_from(hash: &[u8]) -> String {
    let mut b = [0u8; 16];
    let n = hash.len().min(16);
    b[..n].copy_from_slice(&hash[..n]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
