//! CreateSession over HTTPS: build the request the official helper sends, sign it with
//! AWS4-X509, retry what is worth retrying, and turn the answer into [`Credentials`] or an error
//! that says what to check.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::connection::{blocking_failure, cut_off, transport};
use super::retry::{self, Failure, Retryer};
use super::shape;
use crate::arn::Arn;
use crate::credentials::Credentials;
use crate::error::{Error, Operation, Result, ServiceHint};
use crate::identity::X509Signer;
use crate::net::blocking;
use crate::net::endpoint::Endpoint;
use crate::net::http::{read_limited, BodyError};
use crate::signing::{self, header, uri_encode, Request};

/// Larger answers are not CreateSession responses (a real one is about 2 KiB: a session token
/// of up to about 1 KiB and a few short fields).
pub const MAX_RESPONSE_BYTES: usize = 64 << 10;

/// One CreateSession call's parameters.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionRequest {
    /// `--trust-anchor-arn`.
    pub trust_anchor: Arn,
    /// `--profile-arn`.
    pub profile: Arn,
    /// `--role-arn`.
    pub role: Arn,
    /// `--session-duration`.
    pub duration_seconds: u32,
    /// `--role-session-name`.
    pub role_session_name: Option<String>,
    /// Where to send it and which region to sign for.
    pub endpoint: Endpoint,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "durationSeconds")]
    duration_seconds: u32,
    #[serde(rename = "roleSessionName", skip_serializing_if = "Option::is_none")]
    role_session_name: Option<&'a str>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(rename = "credentialSet", default)]
    credential_set: Vec<CredentialResponse>,
}

#[derive(Deserialize)]
struct CredentialResponse {
    credentials: Option<WireCredentials>,
}

#[derive(Deserialize)]
struct WireCredentials {
    #[serde(rename = "accessKeyId")]
    access_key_id: String,
    #[serde(rename = "secretAccessKey")]
    secret_access_key: Zeroizing<String>,
    #[serde(rename = "sessionToken")]
    session_token: Zeroizing<String>,
    expiration: String,
}

/// Calls CreateSession, retrying throttling, server errors and connection failures with jittered
/// exponential backoff; authentication and validation errors are returned at once.
///
/// # Errors
/// The service's error with a hint, or the transport failure after the last attempt.
pub async fn create_session(
    client: &reqwest::Client,
    signer: &dyn X509Signer,
    request: &SessionRequest,
    timeout: Duration,
    retryer: &Retryer,
) -> Result<Credentials> {
    create_session_via(Via::Client(client), signer, request, timeout, retryer).await
}

/// What CreateSession goes over.
#[derive(Clone, Copy)]
pub(crate) enum Via<'a> {
    /// reqwest's client (connection pool, proxies).
    Client(&'a reqwest::Client),
    /// One connection per attempt, on the calling thread ([`crate::net::blocking`]).
    Blocking(&'a blocking::Client),
}

/// [`create_session`] over either client.
pub(crate) async fn create_session_via(
    via: Via<'_>,
    signer: &dyn X509Signer,
    request: &SessionRequest,
    timeout: Duration,
    retryer: &Retryer,
) -> Result<Credentials> {
    retryer
        .run(|| async move {
            match via {
                Via::Client(client) => attempt_once(client, signer, request, timeout).await,
                Via::Blocking(client) => attempt_blocking(client, signer, request, timeout),
            }
        })
        .await
        .map_err(|gave_up| with_hint(gave_up.error, signer, request, gave_up.attempts))
}

/// One attempt's signed request.
struct Prepared {
    /// `host:port`, for messages.
    host_port: String,
    /// The URL without its query, for messages.
    shown: String,
    /// The path and query.
    target: String,
    /// The JSON body.
    body: Vec<u8>,
    /// Every header, `Host` and `Authorization` included.
    headers: Vec<(String, String)>,
}

/// Builds and signs the request (the signature covers the time, so each attempt signs anew).
fn prepare(
    signer: &dyn X509Signer,
    request: &SessionRequest,
) -> std::result::Result<Prepared, Failure> {
    let endpoint = &request.endpoint;
    let host = endpoint.host_header();
    let host_port = endpoint.host_port();
    let path = endpoint.path("/sessions");
    let query = vec![
        (
            "profileArn".to_string(),
            request.profile.as_str().to_string(),
        ),
        ("roleArn".to_string(), request.role.as_str().to_string()),
        (
            "trustAnchorArn".to_string(),
            request.trust_anchor.as_str().to_string(),
        ),
    ];
    // The URL carries exactly the canonical query, so what is sent is what was signed.
    let query_string = query
        .iter()
        .map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    // Messages name the URL without its query, which only repeats the ARN flags.
    let shown = format!("{}://{host}{path}", endpoint.scheme());
    // A number and an optional string always serialise.
    let body = serde_json::to_vec(&Body {
        duration_seconds: request.duration_seconds,
        role_session_name: request.role_session_name.as_deref(),
    })
    .expect("the body serialises");

    let headers = vec![
        (
            header::CONTENT_TYPE.to_string(),
            "application/json".to_string(),
        ),
        (header::HOST.to_string(), host),
    ];
    let signed = signing::sign(
        signer,
        &request.endpoint.signing_region,
        SystemTime::now(),
        &Request {
            method: "POST",
            path: &path,
            query: &query,
            headers: &headers,
            body: &body,
        },
    )
    .map_err(|e| Failure::fatal(e.into()))?;
    crate::debug!("POST {shown}?{query_string}");
    crate::debug!("canonical request:\n{}", signed.canonical_request);
    crate::debug!("string to sign:\n{}", signed.string_to_sign);
    for (name, value) in &signed.headers {
        crate::debug!("request header {name}: {value}");
    }
    Ok(Prepared {
        host_port,
        shown,
        target: format!("{path}?{query_string}"),
        body,
        headers: signed.headers,
    })
}

async fn attempt_once(
    client: &reqwest::Client,
    signer: &dyn X509Signer,
    request: &SessionRequest,
    timeout: Duration,
) -> std::result::Result<Credentials, Failure> {
    // The whole attempt, body included, ends by then (the client's own timeout says the same;
    // this one does not depend on how the client was built).
    let deadline = Instant::now() + timeout;
    let Prepared {
        host_port,
        shown,
        target,
        body,
        headers,
    } = prepare(signer, request)?;
    let url = format!(
        "{}://{}{target}",
        request.endpoint.scheme(),
        request.endpoint.host_header(),
    );
    // One request per connection: a one-shot run exits right after, and a refresh an hour later
    // would not find the connection alive anyway.
    let mut builder = client
        .post(&url)
        .header(reqwest::header::CONNECTION, "close")
        .body(body);
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = builder
        .send()
        .await
        .map_err(|e| transport(&host_port, &shown, e, timeout))?;
    let status = response.status().as_u16();
    let error_type_header = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    refuse_redirect(
        status,
        response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| v.as_bytes()),
        &shown,
    )?;
    let body = read_answer(
        response,
        Answer {
            operation: Operation::CreateSession,
            success: (200..300).contains(&status),
            limit: MAX_RESPONSE_BYTES,
            host: &host_port,
            url: &shown,
            timeout,
            deadline,
        },
    )
    .await?;
    judge(status, error_type_header.as_deref(), &body, &shown)
}

/// [`attempt_once`] over [`crate::net::blocking`]: the same request, the same checks of the
/// answer, the same failures.
fn attempt_blocking(
    client: &blocking::Client,
    signer: &dyn X509Signer,
    request: &SessionRequest,
    timeout: Duration,
) -> std::result::Result<Credentials, Failure> {
    let deadline = std::time::Instant::now() + timeout;
    let prepared = prepare(signer, request)?;
    let Prepared {
        host_port, shown, ..
    } = &prepared;
    let response = client
        .post(
            &prepared.target,
            &prepared.headers,
            &prepared.body,
            deadline,
        )
        .map_err(|e| blocking_failure(host_port, shown, e, timeout))?;
    let status = response.status;
    let error_type_header = response
        .header("x-amzn-errortype")
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::to_string);
    refuse_redirect(status, response.header("location"), shown)?;
    let success = (200..300).contains(&status);
    let body = match response.read_limited(MAX_RESPONSE_BYTES) {
        Ok(body) => body,
        Err(blocking::BodyFailed::TooLarge { limit }) => {
            too_large(Operation::CreateSession, success, limit, shown)?
        }
        Err(blocking::BodyFailed::TimedOut) => {
            return Err(Failure::timed_out(Error::Timeout {
                host: host_port.clone(),
                seconds: timeout.as_secs(),
            }))
        }
        Err(blocking::BodyFailed::Broken(detail)) => {
            return Err(Failure::retry(Error::Truncated {
                url: shown.clone(),
                detail,
            }))
        }
    };
    judge(status, error_type_header.as_deref(), &body, shown)
}

/// Redirects are not followed (a signed request must go where it was signed for).
fn refuse_redirect(
    status: u16,
    location: Option<&[u8]>,
    shown: &str,
) -> std::result::Result<(), Failure> {
    if !(300..400).contains(&status) {
        return Ok(());
    }
    let location = location
        .map(shown_header)
        .unwrap_or_else(|| "nowhere".into());
    Err(Failure::fatal(Error::BadResponse {
        url: shown.to_string(),
        detail: format!(
            "a redirect (HTTP {status}) to {location}, which is not followed; give --endpoint the URL that answers"
        ),
    }))
}

/// The credentials of a success, or the failure an error status and body make.
fn judge(
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
    shown: &str,
) -> std::result::Result<Credentials, Failure> {
    crate::debug!("response: HTTP {status} {}", redacted(body));
    if (200..300).contains(&status) {
        return parse_success(shown, body).map_err(Failure::fatal);
    }
    let (error_type, message) = parse_error(error_type_header, body);
    let throttled = retry::is_throttling(&error_type);
    let retryable = matches!(status, 429 | 500 | 502 | 503 | 504)
        || throttled
        || retry::is_transient(&error_type);
    let error = Error::Service {
        operation: Operation::CreateSession,
        status,
        error_type,
        message,
        hint: None,
    };
    Err(match (throttled, retryable) {
        (true, _) => Failure::throttled(error),
        (false, true) => Failure::retry(error),
        (false, false) => Failure::fatal(error),
    })
}

/// What [`read_answer`] needs to know of the call whose answer it reads.
pub(crate) struct Answer<'a> {
    /// The call, for messages.
    pub operation: Operation,
    /// Whether the status is a success (2xx).
    pub success: bool,
    /// The largest body of such an answer.
    pub limit: usize,
    /// `host:port`, for connection errors.
    pub host: &'a str,
    /// The URL without its query, for messages.
    pub url: &'a str,
    /// The attempt's time limit, for messages.
    pub timeout: Duration,
    /// When the attempt, body included, must be over.
    pub deadline: Instant,
}

/// Reads an answer's body with [`read_limited`]. A success larger than any answer of its
/// kind is refused; an error status says enough on its own (a proxy's big error page, say), so
/// its oversized body is dropped and the status classifies it. A body that stops coming in
/// time is a timeout, one cut off a lost connection (both retried).
///
/// # Errors
/// The [`Failure`] to report or retry.
pub(crate) async fn read_answer(
    response: reqwest::Response,
    answer: Answer<'_>,
) -> std::result::Result<Zeroizing<Vec<u8>>, Failure> {
    match read_limited(response, answer.limit, answer.deadline).await {
        Ok(body) => Ok(body),
        Err(BodyError::TooLarge { limit }) => {
            too_large(answer.operation, answer.success, limit, answer.url)
        }
        Err(BodyError::TimedOut) => Err(Failure::timed_out(Error::Timeout {
            host: answer.host.to_string(),
            seconds: answer.timeout.as_secs(),
        })),
        Err(BodyError::Transport(e)) => Err(cut_off(answer.host, answer.url, e, answer.timeout)),
    }
}

/// A body over its limit: refused for a success, larger than any answer of its kind; dropped
/// for an error status, which says enough on its own.
fn too_large(
    operation: Operation,
    success: bool,
    limit: usize,
    url: &str,
) -> std::result::Result<Zeroizing<Vec<u8>>, Failure> {
    if !success {
        return Ok(Zeroizing::new(Vec::new()));
    }
    Err(Failure::fatal(Error::BadResponse {
        url: url.to_string(),
        detail: format!(
            "a body larger than {} KiB, more than any {operation} answer",
            limit >> 10
        ),
    }))
}

pub(crate) fn parse_success(url: &str, body: &[u8]) -> Result<Credentials> {
    let response: Response = serde_json::from_slice(body).map_err(|e| Error::BadResponse {
        url: url.to_string(),
        detail: format!("invalid JSON ({e})"),
    })?;
    let Some(wire) = response
        .credential_set
        .into_iter()
        .find_map(|c| c.credentials)
    else {
        return Err(Error::BadResponse {
            url: url.to_string(),
            detail: "unable to obtain temporary security credentials from CreateSession (empty credentialSet)"
                .into(),
        });
    };
    let credentials = Credentials {
        access_key_id: wire.access_key_id,
        secret_access_key: wire.secret_access_key,
        session_token: wire.session_token,
        expiration: wire.expiration,
    };
    // Before anything prints, writes or serves them.
    shape::check(&credentials, SystemTime::now()).map_err(|detail| Error::InvalidCredentials {
        url: url.to_string(),
        detail,
    })?;
    Ok(credentials)
}

/// A header value from the endpoint, as it may be shown: one line of printable text, shortened.
fn shown_header(value: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(value)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    format!("'{text}'")
}

/// The error type (from `X-Amzn-ErrorType`, else the body's `__type` / `code`) and message.
pub(crate) fn parse_error(header: Option<&str>, body: &[u8]) -> (String, String) {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| json.get(*n).and_then(|v| v.as_str()))
            .map(str::to_string)
    };
    // "AccessDeniedException:http://internal.amazon.com/..." and "aws.protocol#Code" forms.
    let sanitize = |t: &str| {
        let t = t.split(':').next().unwrap_or(t);
        t.rsplit('#').next().unwrap_or(t).to_string()
    };
    let error_type = header
        .map(sanitize)
        .or_else(|| field(&["__type", "code", "Code"]).map(|t| sanitize(&t)))
        .unwrap_or_else(|| "UnknownError".into());
    let message = field(&["message", "Message"]).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        if text.trim().is_empty() {
            "(no message)".into()
        } else {
            text.chars().take(200).collect()
        }
    });
    let one_line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect();
    (error_type, one_line)
}

/// Chooses what to check after a final error.
fn with_hint(
    error: Error,
    signer: &dyn X509Signer,
    request: &SessionRequest,
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
    let cert = signer.certificate();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let lower = message.to_ascii_lowercase();
    let denied = error_type.contains("AccessDenied");
    let hint = if status == 429 || error_type.contains("Throttling") {
        Some(ServiceHint::Throttled { attempts })
    } else if status >= 500 {
        Some(ServiceHint::ServerFailed { attempts })
    } else if denied && cert.not_after() < now {
        Some(ServiceHint::CertificateExpired {
            at: format_time(cert.not_after()),
        })
    } else if denied && cert.not_before() > now {
        Some(ServiceHint::CertificateNotYetValid {
            from: format_time(cert.not_before()),
        })
    } else if lower.contains("skew") || lower.contains("date") || lower.contains("expired") {
        Some(ServiceHint::Clock)
    } else if denied && (lower.contains("untrusted") || lower.contains("certificate")) {
        Some(ServiceHint::UntrustedChain)
    } else if denied && lower.contains("disabled") {
        Some(ServiceHint::Disabled)
    } else if denied && lower.contains("region") {
        Some(ServiceHint::WrongRegion)
    } else if denied && lower.contains("role") {
        Some(ServiceHint::RoleNotInProfile)
    } else if denied {
        Some(ServiceHint::AccessDenied)
    } else if error_type.contains("ResourceNotFound") {
        Some(ServiceHint::NotFound {
            region: request.endpoint.signing_region.clone(),
        })
    } else if error_type.contains("Validation") {
        Some(ServiceHint::Validation)
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

fn format_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// A response body for `--debug`, with secrets replaced by their length.
pub(crate) fn redacted(body: &[u8]) -> String {
    fn scrub(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    let lower = key.to_ascii_lowercase();
                    if lower.contains("secret") || lower.contains("token") {
                        if let serde_json::Value::String(s) = v {
                            *v =
                                serde_json::Value::String(format!("<redacted, {} chars>", s.len()));
                            continue;
                        }
                    }
                    scrub(v);
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(scrub),
            _ => {}
        }
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            scrub(&mut value);
            value.to_string()
        }
        Err(_) => format!("({} bytes, not JSON)", body.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_types_are_sanitised_like_the_sdk() {
        let (t, m) = parse_error(
            Some("AccessDeniedException:http://internal.amazon.com/coral/"),
            br#"{"message":"Untrusted\nsigning certificate"}"#,
        );
        assert_eq!(
            (t.as_str(), m.as_str()),
            ("AccessDeniedException", "Untrusted signing certificate")
        );
        let (t, _) = parse_error(
            None,
            br#"{"__type":"com.amazon#ValidationException","Message":"x"}"#,
        );
        assert_eq!(t, "ValidationException");
        let (t, m) = parse_error(None, b"<html>bad gateway</html>");
        assert_eq!(
            (t.as_str(), m.as_str()),
            ("UnknownError", "<html>bad gateway</html>")
        );
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let body = br#"{"credentialSet":[{"credentials":{"accessKeyId":"ASIA1","secretAccessKey":"SECRET","sessionToken":"TOKEN","expiration":"x"}}]}"#;
        let text = redacted(body);
        assert!(text.contains("ASIA1"));
        assert!(
            !text.contains("SECRET") && !text.contains("TOKEN"),
            "{text}"
        );
    }
}
