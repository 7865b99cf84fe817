//! Role chaining: after CreateSession, `sts:AssumeRole` into further roles, each hop signed
//! with the credentials of the one before (the first with the Roles Anywhere session).
//!
//! A hop is one `--assume-role` value: the role ARN, then optional `,field=value` pairs
//! ([`Hop::parse`]). [`AssumeRole`] is the [`CredentialSource`] for one hop, wrapping the
//! previous one. Requests are the STS query protocol (form-encoded POST, XML answers), signed
//! with SigV4 by the `aws-sigv4` crate (the AWS SDK for Rust's own signer), sent to the
//! partition's regional STS endpoint ([`crate::net::endpoint::resolve_sts`]) and retried as
//! CreateSession is ([`super::retry`]). What AWS would refuse for certain (a chained session
//! over an hour, malformed names and IDs) is refused here first, naming the field.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

use super::mfa::{self, CodeOrigin, MfaCodes};
use super::retry::{Failure, Policy, Retryer};
use crate::arn::{Arn, ArnKind};
use crate::credentials::{parse_expiration, CredentialSource, Credentials, Issued};
use crate::error::{Error, Operation, Result, ServiceHint};
use crate::net::endpoint::Endpoint;
use crate::signing::uri_encode;

/// Shortest session STS issues.
pub const MIN_DURATION: u32 = 900;
/// Longest session of a role assumed with another role's session (role chaining), which every
/// hop here is: AWS refuses longer ones.
pub const CHAINED_MAX_DURATION: u32 = 3600;
/// The previous hop's credentials are used again (by `serve` and `update`) while this much of
/// them is left.
const REUSE_PREVIOUS_WHILE: Duration = Duration::from_secs(5 * 60);
/// Larger answers are not STS responses.
const MAX_RESPONSE_BYTES: usize = 64 << 10;

/// The fields of an `--assume-role` value after the role ARN.
const FIELDS: [&str; 5] = [
    "role_session_name",
    "duration_seconds",
    "external_id",
    "mfa_serial",
    "token_code",
];

/// One role-chain hop.
#[derive(Clone)]
pub struct Hop {
    /// The role to assume.
    pub role: Arn,
    /// `role_session_name=`; default `aws_signing_helper-<unix time>`.
    pub session_name: Option<String>,
    /// `duration_seconds=` (900 to 3600); default: STS's, one hour.
    pub duration_seconds: Option<u32>,
    /// `external_id=`, when the role's trust policy asks for one.
    pub external_id: Option<String>,
    /// `mfa_serial=`: the MFA device's serial number or ARN.
    pub mfa_serial: Option<String>,
    /// `token_code=`: a code given with the flag (for one-off commands); otherwise it is asked
    /// for when needed ([`MfaCodes`]).
    pub token_code: Option<Zeroizing<String>>,
}

impl fmt::Debug for Hop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hop")
            .field("role", &self.role.as_str())
            .field("session_name", &self.session_name)
            .field("duration_seconds", &self.duration_seconds)
            .field("external_id", &self.external_id)
            .field("mfa_serial", &self.mfa_serial)
            .field(
                "token_code",
                &self.token_code.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

impl Hop {
    /// Parses `ARN[,role_session_name=NAME][,duration_seconds=N][,external_id=ID]
    /// [,mfa_serial=SERIAL][,token_code=CODE]` (dashes for underscores are accepted too).
    ///
    /// A field starts at a comma followed by one of those names and `=`; any other comma is
    /// part of the value, since role names, session names and external IDs may hold commas.
    ///
    /// # Errors
    /// [`Error::Usage`] naming the field at fault. The token code is never repeated.
    pub fn parse(text: &str) -> Result<Hop> {
        let starts = field_starts(text);
        let arn_end = starts.first().map_or(text.len(), |&i| i);
        let role = Arn::parse(ArnKind::ChainedRole, Some(&text[..arn_end]))?;
        let mut hop = Hop {
            role,
            session_name: None,
            duration_seconds: None,
            external_id: None,
            mfa_serial: None,
            token_code: None,
        };
        for (n, &start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(text.len());
            // `start` is the comma; the field runs to the next field's comma.
            let field = &text[start + 1..end];
            let (name, value) = field.split_once('=').unwrap_or((field, ""));
            let name = name.replace('-', "_");
            let bad = |why: String| {
                Error::Usage(format!("--assume-role {}: {name} {why}", hop.role.as_str()))
            };
            let taken = match name.as_str() {
                "role_session_name" => hop.session_name.is_some(),
                "duration_seconds" => hop.duration_seconds.is_some(),
                "external_id" => hop.external_id.is_some(),
                "mfa_serial" => hop.mfa_serial.is_some(),
                _ => hop.token_code.is_some(),
            };
            if taken {
                return Err(bad("is given twice".into()));
            }
            match name.as_str() {
                "role_session_name" => {
                    if !valid_session_name(value) {
                        return Err(bad(format!(
                            "'{value}' is invalid: use 2 to 64 characters from A-Z a-z 0-9 and _+=,.@-"
                        )));
                    }
                    hop.session_name = Some(value.to_string());
                }
                "duration_seconds" => {
                    let seconds = value
                        .parse::<u32>()
                        .ok()
                        .filter(|s| (MIN_DURATION..=CHAINED_MAX_DURATION).contains(s));
                    let Some(seconds) = seconds else {
                        return Err(bad(format!(
                            "'{value}' is out of range: a role assumed with another role's \
                             session (role chaining) lasts {MIN_DURATION} to \
                             {CHAINED_MAX_DURATION} seconds"
                        )));
                    };
                    hop.duration_seconds = Some(seconds);
                }
                "external_id" => {
                    if !valid_external_id(value) {
                        return Err(bad(
                            "is invalid: use 2 to 1224 characters from A-Z a-z 0-9 and _+=,.@:/-"
                                .into(),
                        ));
                    }
                    hop.external_id = Some(value.to_string());
                }
                "mfa_serial" => {
                    if !valid_mfa_serial(value) {
                        return Err(bad(format!(
                            "'{value}' is invalid: give the device's serial number or ARN \
                             (9 to 256 characters from A-Z a-z 0-9 and _+=/:,.@-)"
                        )));
                    }
                    hop.mfa_serial = Some(value.to_string());
                }
                _ => {
                    // Never echo the code.
                    mfa::check_code(value, CodeOrigin::Hop)?;
                    hop.token_code = Some(Zeroizing::new(value.to_string()));
                }
            }
        }
        if hop.token_code.is_some() && hop.mfa_serial.is_none() {
            return Err(Error::Usage(format!(
                "--assume-role {}: token_code needs mfa_serial, the device it comes from",
                hop.role.as_str()
            )));
        }
        Ok(hop)
    }
}

/// Byte offsets of the commas that start a field.
fn field_starts(text: &str) -> Vec<usize> {
    text.match_indices(',')
        .map(|(i, _)| i)
        .filter(|&i| {
            let rest = &text[i + 1..];
            FIELDS.iter().any(|f| {
                [f.to_string(), f.replace('_', "-")].iter().any(|name| {
                    rest.strip_prefix(name.as_str())
                        .is_some_and(|r| r.starts_with('='))
                })
            })
        })
        .collect()
}

/// STS's `RoleSessionName`: 2 to 64 of `[\w+=,.@-]`.
fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// STS's `ExternalId`: 2 to 1224 of `[\w+=,.@:/-]`.
fn valid_external_id(id: &str) -> bool {
    (2..=1224).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b))
}

/// STS's `SerialNumber`: 9 to 256 of `[\w+=/:,.@-]`.
fn valid_mfa_serial(serial: &str) -> bool {
    (9..=256).contains(&serial.len())
        && serial
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=/:,.@-".contains(&b))
}

/// Where and how a hop's AssumeRole calls go.
pub struct StsClient {
    /// The STS endpoint.
    pub endpoint: Endpoint,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The per-attempt timeout.
    pub timeout: Duration,
    /// How calls are retried.
    pub retry: Policy,
    /// How long the first call keeps retrying beyond the policy (`Retryer::patient`).
    pub patience: Duration,
}

/// One hop as a [`CredentialSource`]: the previous hop's credentials sign an AssumeRole call.
pub struct AssumeRole {
    previous: Box<dyn CredentialSource>,
    previous_issued: Option<Issued>,
    hop: Hop,
    /// The role whose session calls AssumeRole, for hints.
    caller_role: String,
    endpoint: Endpoint,
    client: reqwest::Client,
    timeout: Duration,
    mfa: Arc<MfaCodes>,
    retryer: Retryer,
}

impl AssumeRole {
    /// The hop `hop`, called with the credentials `previous` hands out (those of the role
    /// `caller_role`), through `client` to `endpoint`.
    pub fn new(
        previous: Box<dyn CredentialSource>,
        caller_role: &str,
        hop: Hop,
        sts: StsClient,
        mfa: Arc<MfaCodes>,
    ) -> AssumeRole {
        AssumeRole {
            previous,
            previous_issued: None,
            hop,
            caller_role: caller_role.to_string(),
            endpoint: sts.endpoint,
            client: sts.client,
            timeout: sts.timeout,
            mfa,
            retryer: Retryer::new(sts.retry).patient(sts.patience),
        }
    }

    async fn issue(&mut self) -> Result<Issued> {
        let now = SystemTime::now();
        let reusable = self.previous_issued.as_ref().filter(|p| {
            p.expires_at
                .duration_since(now)
                .is_ok_and(|left| left > REUSE_PREVIOUS_WHILE)
        });
        let previous = match reusable {
            Some(p) => p.clone(),
            None => {
                let fresh = self.previous.fetch().await?;
                self.previous_issued = Some(fresh.clone());
                fresh
            }
        };
        let code = match (&self.hop.mfa_serial, &self.hop.token_code) {
            (None, _) => None,
            (Some(_), Some(code)) => Some((code.clone(), CodeOrigin::Hop)),
            (Some(serial), None) => Some(self.mfa.code(serial).await?),
        };
        let session_name = self.hop.session_name.clone().unwrap_or_else(|| {
            let secs = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            format!("aws_signing_helper-{secs}")
        });
        let call = Call {
            hop: &self.hop,
            session_name: &session_name,
            code: code.as_ref().map(|(c, _)| c.as_str()),
            previous: &previous.credentials,
            endpoint: &self.endpoint,
            client: &self.client,
            timeout: self.timeout,
        };
        let credentials = self
            .retryer
            .run(|| call.attempt())
            .await
            .map_err(|gave_up| {
                with_hint(
                    gave_up.error,
                    &self.hop,
                    &self.caller_role,
                    code.as_ref().map(|(_, origin)| *origin),
                    &self.endpoint,
                    gave_up.attempts,
                )
            })?;
        let expires_at =
            parse_expiration(&credentials.expiration).ok_or_else(|| Error::BadResponse {
                url: self.endpoint.base_url().to_string(),
                detail: format!(
                    "the expiration '{}' is not an ISO 8601 time",
                    credentials.expiration
                ),
            })?;
        Ok(Issued {
            credentials,
            expires_at,
            last_updated: SystemTime::now(),
        })
    }
}

impl CredentialSource for AssumeRole {
    fn fetch(&mut self) -> Pin<Box<dyn Future<Output = Result<Issued>> + Send + '_>> {
        Box::pin(self.issue())
    }

    fn reload(&mut self) {
        // The session kept from the hop before was made with the identity being reloaded.
        self.previous_issued = None;
        self.previous.reload();
    }
}

/// One AssumeRole request's inputs.
struct Call<'a> {
    hop: &'a Hop,
    session_name: &'a str,
    code: Option<&'a str>,
    previous: &'a Credentials,
    endpoint: &'a Endpoint,
    client: &'a reqwest::Client,
    timeout: Duration,
}

impl Call<'_> {
    /// The form body. It holds the token code, so it is wiped after use.
    fn body(&self) -> Zeroizing<String> {
        let mut params: Vec<(&str, &str)> = vec![
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", self.hop.role.as_str()),
            ("RoleSessionName", self.session_name),
        ];
        let duration = self.hop.duration_seconds.map(|d| d.to_string());
        if let Some(d) = &duration {
            params.push(("DurationSeconds", d));
        }
        if let Some(id) = &self.hop.external_id {
            params.push(("ExternalId", id));
        }
        if let (Some(serial), Some(code)) = (&self.hop.mfa_serial, self.code) {
            params.push(("SerialNumber", serial));
            params.push(("TokenCode", code));
        }
        let mut body = Zeroizing::new(String::new());
        for (i, (name, value)) in params.iter().enumerate() {
            if i > 0 {
                body.push('&');
            }
            body.push_str(name);
            body.push('=');
            body.push_str(&uri_encode(value));
        }
        body
    }

    async fn attempt(&self) -> std::result::Result<Credentials, Failure> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let url = format!("{}/", self.endpoint.base_url());
        let host = self.endpoint.host_header();
        let host_port = self.endpoint.host_port();
        let body = self.body();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let signed = sign(
            self.previous,
            &self.endpoint.signing_region,
            &url,
            &host,
            content_type,
            body.as_bytes(),
        )
        .map_err(Failure::fatal)?;
        crate::debug!(
            "POST {url} Action=AssumeRole RoleArn={} (signed with {})",
            self.hop.role.as_str(),
            self.previous.access_key_id
        );
        let mut builder = self
            .client
            .post(&url)
            .header(reqwest::header::CONNECTION, "close")
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body.as_bytes().to_vec());
        for (name, value) in signed.iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let shown = url.clone();
        let response = builder
            .send()
            .await
            .map_err(|e| super::connection::transport(&host_port, &shown, e, self.timeout))?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            // Redirects are not followed (a signed request must go where it was signed for).
            return Err(Failure::fatal(Error::BadResponse {
                url,
                detail: format!("a redirect (HTTP {status}), which is not followed; give --sts-endpoint the URL that answers"),
            }));
        }
        let success = (200..300).contains(&status);
        let bytes = super::create_session::read_answer(
            response,
            super::create_session::Answer {
                operation: Operation::AssumeRole,
                success,
                limit: MAX_RESPONSE_BYTES,
                host: &host_port,
                url: &shown,
                timeout: self.timeout,
                deadline,
            },
        )
        .await?;
        let text = Zeroizing::new(String::from_utf8_lossy(&bytes).into_owned());
        crate::debug!("AssumeRole response: HTTP {status} ({} bytes)", text.len());
        if success {
            let credentials = parse_credentials(&text).ok_or_else(|| {
                Failure::fatal(Error::BadResponse {
                    url: url.clone(),
                    detail: "no credentials in the AssumeRole response".into(),
                })
            })?;
            // Before anything prints, writes or serves them.
            super::shape::check(&credentials, SystemTime::now())
                .map_err(|detail| Failure::fatal(Error::InvalidCredentials { url, detail }))?;
            return Ok(credentials);
        }
        let code = xml_text(&text, "Code").unwrap_or_else(|| "UnknownError".into());
        let message = xml_text(&text, "Message")
            .map(|m| one_line(&m))
            .unwrap_or_else(|| "(no message)".into());
        crate::debug!("AssumeRole error: {code}: {message}");
        let retryable = matches!(status, 429 | 500 | 502 | 503 | 504)
            || code.contains("Throttling")
            || code == "RequestLimitExceeded";
        let throttled =
            status == 429 || code.contains("Throttling") || code == "RequestLimitExceeded";
        let error = Error::Service {
            operation: Operation::AssumeRole,
            status,
            error_type: code,
            message,
            hint: None,
        };
        Err(match (throttled, retryable) {
            (true, _) => Failure::throttled(error),
            (false, true) => Failure::retry(error),
            (false, false) => Failure::fatal(error),
        })
    }
}

/// The SigV4 headers for an STS POST, from `aws-sigv4` (`X-Amz-Date`, `X-Amz-Security-Token`,
/// `Authorization`).
fn sign(
    credentials: &Credentials,
    region: &str,
    url: &str,
    host: &str,
    content_type: &str,
    body: &[u8],
) -> Result<Vec<(String, String)>> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;

    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.to_string(),
        Some(credentials.session_token.to_string()),
        None,
        "aws_signing_helper",
    )
    .into();
    let failed = |detail: String| Error::Signing { detail };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| failed(e.to_string()))?
        .into();
    let headers = [("host", host), ("content-type", content_type)];
    let request = SignableRequest::new(
        "POST",
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| failed(e.to_string()))?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(request, &params)
        .map_err(|e| failed(e.to_string()))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect())
}

/// The credentials of an `AssumeRoleResponse`.
pub(crate) fn parse_credentials(xml: &str) -> Option<Credentials> {
    let block = element(xml, "Credentials")?;
    Some(Credentials {
        access_key_id: xml_text(block, "AccessKeyId")?,
        secret_access_key: Zeroizing::new(xml_text(block, "SecretAccessKey")?),
        session_token: Zeroizing::new(xml_text(block, "SessionToken")?),
        expiration: xml_text(block, "Expiration")?,
    })
}

/// The raw inside of the first `<name>...</name>` (the STS answers have no attributes or
/// namespaces on these elements).
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(&xml[start..end])
}

/// The text of the first `<name>` element, entities decoded.
pub(crate) fn xml_text(xml: &str, name: &str) -> Option<String> {
    let raw = element(xml, name)?;
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Some(out.trim().to_string())
}

pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect()
}

/// Chooses what to check after a final AssumeRole error.
fn with_hint(
    error: Error,
    hop: &Hop,
    caller_role: &str,
    code: Option<CodeOrigin>,
    endpoint: &Endpoint,
    attempts: u32,
) -> Error {
    let Error::Service {
        operation,
        status,
        error_type,
        message,
        ..
    } = error
    else {
        return error;
    };
    let lower = message.to_ascii_lowercase();
    let hint = if status == 429 || error_type.contains("Throttling") {
        Some(ServiceHint::Throttled { attempts })
    } else if status >= 500 {
        Some(ServiceHint::ServerFailed { attempts })
    } else if lower.contains("multifactorauthentication") || lower.contains("mfa") {
        Some(ServiceHint::MfaRefused { origin: code })
    } else if error_type == "AccessDenied" {
        Some(ServiceHint::TrustPolicy {
            role: hop.role.as_str().to_string(),
            caller: caller_role.to_string(),
            external_id: hop.external_id.is_some(),
            mfa: hop.mfa_serial.is_some(),
        })
    } else if lower.contains("role chaining") || lower.contains("durationseconds") {
        Some(ServiceHint::ChainingLimit)
    } else if error_type == "ExpiredToken" {
        Some(ServiceHint::PreviousExpired)
    } else if error_type == "RegionDisabledException" {
        Some(ServiceHint::RegionDisabled {
            region: endpoint.signing_region.clone(),
        })
    } else if error_type == "InvalidClientTokenId" {
        Some(ServiceHint::PreviousInvalid)
    } else if lower.contains("signature expired") || lower.contains("not yet current") {
        Some(ServiceHint::Clock)
    } else if error_type.contains("Validation") {
        Some(ServiceHint::AssumeRoleValidation)
    } else {
        None
    };
    Error::Service {
        operation,
        status,
        error_type,
        message,
        hint,
    }
}

#[cfg(test)]
mod tests;
