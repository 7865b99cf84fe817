//! CreateSession over HTTPS: build the request the official helper sends, sign it with
//! AWS4-X509, retry what is worth retrying, and turn the answer into [`Credentials`] or an error
//! that says what to check.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use rand::Rng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::arn::Arn;
use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::identity::X509Signer;
use crate::sigv4x509::{self, header, uri_encode, Request};

/// Attempts per CreateSession call, as the AWS SDKs' standard retry mode.
const MAX_ATTEMPTS: u32 = 3;
/// First retry waits up to this long; each further retry doubles it (full jitter).
const BACKOFF_BASE: Duration = Duration::from_millis(200);
/// No retry waits longer than this.
const BACKOFF_CAP: Duration = Duration::from_secs(5);
/// Default limit for one attempt, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Limit for establishing the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Larger answers are not CreateSession responses.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// How to talk HTTP.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// `--no-verify-ssl`.
    pub no_verify_ssl: bool,
    /// `--with-proxy`: use `HTTPS_PROXY` / `NO_PROXY`; otherwise never use a proxy.
    pub with_proxy: bool,
    /// `AWS_CA_BUNDLE`.
    pub ca_bundle: Option<PathBuf>,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

/// Builds the HTTP client once; reuse it for every call (serve, update). With `pin`, the
/// endpoint's name is resolved now and the addresses are kept for the client's lifetime.
///
/// # Errors
/// When TLS cannot be set up (unreadable `AWS_CA_BUNDLE`, ...).
pub fn http_client(config: &HttpConfig, pin: Option<&Endpoint>) -> Result<reqwest::Client> {
    let tls = crate::tls::client_config(config.no_verify_ssl, config.ca_bundle.as_deref())?;
    let mut builder = reqwest::Client::builder();
    // Resolve the endpoint's name here, on this thread: reqwest's default resolver runs
    // getaddrinfo on a new thread, which a one-shot credential_process pays for at start and
    // exit. Long-running callers pass no `pin`, so address changes are followed. Names that do
    // not resolve are left to reqwest, which reports them properly. A proxy resolves names itself.
    if let Some(endpoint) = pin.filter(|_| !config.with_proxy) {
        if let Some((host, addrs)) = resolve(&endpoint.base_url) {
            builder = builder.resolve_to_addrs(&host, &addrs);
        }
    }
    let mut builder = builder
        .use_preconfigured_tls(tls)
        .http1_only()
        .tcp_nodelay(true)
        .connect_timeout(CONNECT_TIMEOUT.min(config.timeout))
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(format!(
            "CredHelper/{} (rust; {}; {})",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        ));
    if !config.with_proxy {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| Error::Unsupported(format!("cannot set up the HTTP client: {e}")))
}

/// The addresses of the URL's host, when it is a name that resolves.
fn resolve(url: &str) -> Option<(String, Vec<std::net::SocketAddr>)> {
    use std::net::ToSocketAddrs;
    let url = reqwest::Url::parse(url).ok()?;
    let host = url.host_str()?;
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    let port = url.port_or_known_default()?;
    let addrs: Vec<_> = (host, port).to_socket_addrs().ok()?.collect();
    (!addrs.is_empty()).then(|| (host.to_string(), addrs))
}

/// One CreateSession call's parameters.
#[derive(Clone, Debug)]
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
) -> Result<Credentials> {
    let mut attempt = 1;
    loop {
        match attempt_once(client, signer, request, timeout).await {
            Ok(credentials) => return Ok(credentials),
            Err(failure) if failure.retryable && attempt < MAX_ATTEMPTS => {
                let cap = BACKOFF_CAP.min(BACKOFF_BASE * 2u32.pow(attempt));
                let delay = cap.mul_f64(rand::thread_rng().gen_range(0.5..=1.0));
                crate::debug!(
                    "attempt {attempt} failed ({}); retrying in {} ms",
                    failure.error,
                    delay.as_millis()
                );
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(failure) => return Err(with_hint(failure.error, signer, request, attempt)),
        }
    }
}

struct Failure {
    error: Error,
    retryable: bool,
}

impl Failure {
    fn retry(error: Error) -> Failure {
        Failure {
            error,
            retryable: true,
        }
    }

    fn fatal(error: Error) -> Failure {
        Failure {
            error,
            retryable: false,
        }
    }
}

async fn attempt_once(
    client: &reqwest::Client,
    signer: &dyn X509Signer,
    request: &SessionRequest,
    timeout: Duration,
) -> std::result::Result<Credentials, Failure> {
    let base = reqwest::Url::parse(&request.endpoint.base_url)
        .map_err(|e| Failure::fatal(Error::Usage(format!("bad endpoint URL: {e}"))))?;
    let host = match (base.host_str(), base.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => {
            return Err(Failure::fatal(Error::Usage(
                "endpoint URL has no host".into(),
            )))
        }
    };
    let path = format!("{}/sessions", base.path().trim_end_matches('/'));
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
    let url = format!("{}://{host}{path}?{query_string}", base.scheme());
    let body = serde_json::to_vec(&Body {
        duration_seconds: request.duration_seconds,
        role_session_name: request.role_session_name.as_deref(),
    })
    .map_err(|e| Failure::fatal(Error::Usage(e.to_string())))?;

    let headers = vec![
        (
            header::CONTENT_TYPE.to_string(),
            "application/json".to_string(),
        ),
        (header::HOST.to_string(), host),
    ];
    let signed = sigv4x509::sign(
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
    .map_err(Failure::fatal)?;
    crate::debug!("POST {url}");
    crate::debug!("canonical request:\n{}", signed.canonical_request);
    crate::debug!("string to sign:\n{}", signed.string_to_sign);

    // One request per connection: a one-shot run exits right after, and a refresh an hour later
    // would not find the connection alive anyway.
    let mut builder = client
        .post(&url)
        .header(reqwest::header::CONNECTION, "close")
        .body(body);
    for (name, value) in &signed.headers {
        crate::debug!("request header {name}: {value}");
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = builder
        .send()
        .await
        .map_err(|e| transport(&url, e, timeout))?;
    let status = response.status().as_u16();
    let error_type_header = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response
        .bytes()
        .await
        .map_err(|e| transport(&url, e, timeout))?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(Failure::fatal(Error::BadResponse {
            url,
            detail: format!("{} bytes is too large", bytes.len()),
        }));
    }
    let body = Zeroizing::new(bytes.to_vec());
    crate::debug!("response: HTTP {status} {}", redacted(&body));

    if (200..300).contains(&status) {
        return parse_success(&url, &body).map_err(Failure::fatal);
    }
    let (error_type, message) = parse_error(error_type_header.as_deref(), &body);
    let retryable = matches!(status, 429 | 500 | 502 | 503 | 504)
        || error_type.contains("Throttling")
        || error_type.contains("TooManyRequests");
    let error = Error::Service {
        status,
        error_type,
        message,
        hint: String::new(),
    };
    Err(Failure { error, retryable })
}

fn transport(url: &str, error: reqwest::Error, timeout: Duration) -> Failure {
    if error.is_timeout() {
        return Failure::retry(Error::Timeout {
            url: url.to_string(),
            seconds: timeout.as_secs(),
        });
    }
    // The outermost message is reqwest's "error sending request"; the cause says why.
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    Failure::retry(Error::Connect {
        url: url.to_string(),
        detail,
    })
}

fn parse_success(url: &str, body: &[u8]) -> Result<Credentials> {
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
    Ok(Credentials {
        access_key_id: wire.access_key_id,
        secret_access_key: wire.secret_access_key,
        session_token: wire.session_token,
        expiration: wire.expiration,
    })
}

/// The error type (from `X-Amzn-ErrorType`, else the body's `__type` / `code`) and message.
fn parse_error(header: Option<&str>, body: &[u8]) -> (String, String) {
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

/// Adds what to check to a final error.
fn with_hint(
    error: Error,
    signer: &dyn X509Signer,
    request: &SessionRequest,
    attempts: u32,
) -> Error {
    let Error::Service {
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
    let hint = if status == 429 || error_type.contains("Throttling") {
        format!("; still throttled after {attempts} attempts: try again later")
    } else if status >= 500 {
        format!("; the service failed {attempts} times: try again later")
    } else if error_type.contains("AccessDenied") && cert.not_after() < now {
        format!(
            "; the certificate expired on {}: renew it",
            format_time(cert.not_after())
        )
    } else if error_type.contains("AccessDenied") && cert.not_before() > now {
        format!(
            "; the certificate is not valid until {}: check this machine's clock",
            format_time(cert.not_before())
        )
    } else if lower.contains("skew") || lower.contains("date") || lower.contains("expired") {
        "; check this machine's clock: it must be within 5 minutes of AWS time".into()
    } else if error_type.contains("AccessDenied") {
        "; check that the certificate chains to the trust anchor (pass --intermediates if an \
         intermediate CA issued it), that the trust anchor and profile are enabled, that the \
         profile lists the role, and that the role's trust policy trusts \
         rolesanywhere.amazonaws.com for this certificate"
            .into()
    } else if error_type.contains("ResourceNotFound") {
        format!(
            "; check that the trust anchor and profile exist in {} (see --region and --endpoint)",
            request.endpoint.signing_region
        )
    } else if error_type.contains("Validation") {
        "; check the ARNs, --session-duration (900 up to the profile's limit) and \
         --role-session-name (only accepted when the profile allows it)"
            .into()
    } else {
        String::new()
    };
    Error::Service {
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
fn redacted(body: &[u8]) -> String {
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
