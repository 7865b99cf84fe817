//! `serve`: a local credentials endpoint speaking IMDSv2 (what the AWS SDKs query on EC2) and
//! the container credentials protocol (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
//!
//! [`app`] is the whole HTTP surface as an axum `Router`, so it can be tested without a socket;
//! [`run`] binds it (to 127.0.0.1 unless told otherwise, or on a socket systemd passed: see
//! [`listen`]) and keeps the credentials fresh in a background task ([`refresh::keep_fresh`]
//! over the credential source), telling systemd when it is ready ([`crate::systemd`]). Handlers only read the latest
//! credentials from a `watch` channel, so a slow refresh never blocks a client; when the last
//! credentials expired and no refresh succeeded, they answer 503 rather than hand out expired
//! credentials. The container endpoint's token is [`ContainerToken`]. What a client may cost
//! (connections, timeouts, header sizes) is [`connections`].

pub mod connections;
mod container_token;
pub mod listen;

pub use container_token::{ContainerToken, TokenFile};
pub use listen::{Listen, DEFAULT_HOP_LIMIT, NON_LOOPBACK_HOP_LIMIT};

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use base64::Engine;
use rand::RngCore;
use serde::Serialize;
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use rolesanywhere_credentials::config::Options;
use rolesanywhere_credentials::credentials::{iso8601, Issued};
use rolesanywhere_credentials::pipeline;
use rolesanywhere_credentials::pipeline::refresh::{self, Deliver};
use rolesanywhere_credentials::pipeline::Reload;

/// Address `serve` listens on by default, as the official helper always does (`--address`).
pub const LISTEN_ADDRESS: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// Default `--port`.
pub const DEFAULT_PORT: u16 = 9911;
/// Longest session token lifetime a client may ask for (six hours), also the default.
pub const MAX_TOKEN_TTL_SECONDS: u64 = 21_600;
/// Most session tokens remembered at once; beyond it the earliest-expiring one is forgotten.
pub const MAX_TOKENS: usize = 256;

/// `PUT` here for a session token.
pub const TOKEN_PATH: &str = "/latest/api/token";
/// `GET` here for the role name; append it for the role's credentials.
pub const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials";
/// `GET` here with `Authorization` for container credentials.
pub const CONTAINER_PATH: &str = "/creds";
/// `GET` here for the region (the Java and Rust SDKs read this).
pub const REGION_PATH: &str = "/latest/meta-data/placement/region";
/// `GET` here for the availability zone (botocore reads this and drops the last letter).
pub const ZONE_PATH: &str = "/latest/meta-data/placement/availability-zone";
/// `GET` here for the instance identity document (the Go SDK reads its `region`).
pub const IDENTITY_DOCUMENT_PATH: &str = "/latest/dynamic/instance-identity/document";
/// `GET` here, without a token, for probes: 200 while valid credentials are served, else 503.
pub const HEALTH_PATH: &str = "/healthz";

/// IMDSv2 session token request/response header.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// IMDSv2 session token lifetime header, in seconds.
pub const TOKEN_TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
/// Requests relayed by a proxy carry this; IMDSv2 refuses them to blunt SSRF.
const FORWARDED_FOR_HEADER: &str = "x-forwarded-for";

/// The container credentials token, when [`CONTAINER_TOKEN_FILE_ENV`] is not set.
pub const CONTAINER_TOKEN_ENV: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";
/// A file holding the container credentials token; wins over [`CONTAINER_TOKEN_ENV`], as in the
/// SDKs.
pub const CONTAINER_TOKEN_FILE_ENV: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE";

/// Session tokens are this many characters of base64 (75 random bytes).
const TOKEN_BYTES: usize = 75;

/// The shared state of the handlers.
pub struct State {
    role_name: String,
    role_arn: String,
    region: Option<String>,
    tokens: TokenStore,
    credentials: watch::Receiver<Option<Arc<Issued>>>,
    container_token: ContainerToken,
}

impl State {
    /// State for a role, credentials published through `credentials`, and the token container
    /// clients must present.
    pub fn new(
        role_arn: &str,
        credentials: watch::Receiver<Option<Arc<Issued>>>,
        container_token: ContainerToken,
    ) -> State {
        State {
            role_name: role_name(role_arn).to_string(),
            role_arn: role_arn.to_string(),
            region: None,
            tokens: TokenStore::default(),
            credentials,
            container_token,
        }
    }

    /// Answers the IMDS region documents with `region`, so SDKs reading credentials from
    /// `serve` need no `AWS_REGION` either.
    pub fn with_region(mut self, region: &str) -> State {
        self.region = Some(region.to_string());
        self
    }
}

/// The HTTP surface of `serve`.
pub fn app(state: Arc<State>) -> Router {
    let credentials = format!("{CREDENTIALS_PATH}/{{role}}");
    Router::new()
        .route(TOKEN_PATH, put(put_token))
        .route(&format!("{TOKEN_PATH}/"), put(put_token))
        .route(CREDENTIALS_PATH, get(role_list))
        .route(&format!("{CREDENTIALS_PATH}/"), get(role_list))
        .route(&credentials, get(role_credentials))
        .route(&format!("{credentials}/"), get(role_credentials))
        .route(CONTAINER_PATH, get(container_credentials))
        .route(REGION_PATH, get(region))
        .route(ZONE_PATH, get(availability_zone))
        .route(&format!("{ZONE_PATH}/"), get(availability_zone))
        .route(IDENTITY_DOCUMENT_PATH, get(identity_document))
        .route(HEALTH_PATH, get(health))
        .with_state(state)
}

/// Serves credentials until SIGINT or SIGTERM, on `listen` (see [`listen::bind`] for the hop
/// limit and the loopback rule). Tells systemd `READY=1` once the first credentials are in hand.
///
/// # Errors
/// When the identity cannot be opened, the first CreateSession fails, or the port cannot be
/// bound: all fatal, before anything is served.
pub async fn run(
    options: Options,
    listen: Listen,
    hop_limit: Option<u8>,
    allow_non_loopback: bool,
) -> Result<()> {
    // Bind first: a busy port is reported before anything is asked of the service.
    let bound = listen::bind(listen, hop_limit, allow_non_loopback).await?;
    let (listener, address, hop_limit) = (bound.listener, bound.address, bound.hop_limit);
    if bound.inherited {
        rolesanywhere_credentials::notice!(
            "listening on {address}, the socket passed by the service manager"
        );
    }

    // Installed before the first CreateSession: a SIGHUP's default action is to end the process.
    let wake = crate::signals::wake_on_sighup()?;
    let container_token = ContainerToken::from_env()?;
    // With --assume-role hops, the last hop's role is the one served.
    let role_arn = options
        .chain
        .last()
        .map_or(options.request.role.as_str(), |hop| hop.role.as_str())
        .to_string();
    let region = options.request.endpoint.signing_region.clone();
    let window = options.refresh_window;
    let mut source = pipeline::build(options, Reload::OnChange, None)?;
    let first = Arc::new(source.fetch().await?);
    let (publish, credentials) = watch::channel(Some(Arc::clone(&first)));
    let state = Arc::new(State::new(&role_arn, credentials, container_token).with_region(&region));
    announce(address, &state.container_token, &region);
    crate::systemd::ready(&serving_status(address, &first));

    let refresher = tokio::spawn(async move {
        let mut delivery = Publish { publish, address };
        refresh::keep_fresh(source.as_mut(), first, window, &mut delivery, &wake).await;
    });
    let stop = async {
        shutdown_signal().await;
        crate::systemd::stopping();
        rolesanywhere_credentials::notice!("stopping: signal received");
    };
    let served = connections::serve(listener, app(state), hop_limit, stop).await;
    refresher.abort();
    served.map_err(|source| Error::ServerStopped { address, source })
}

/// The role name in a role ARN: the last path segment of its resource.
pub fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit(['/', ':']).next().unwrap_or(role_arn)
}

/// The `STATUS=` line systemd shows for a server on `address` serving `issued`.
fn serving_status(address: SocketAddr, issued: &Issued) -> String {
    format!(
        "serving credentials on http://{address}; they expire at {}",
        issued.credentials.expiration
    )
}

fn announce(address: SocketAddr, token: &ContainerToken, region: &str) {
    // `SocketAddr` writes IPv6 addresses in brackets, as URLs want them.
    let base = format!("http://{address}");
    rolesanywhere_credentials::notice!("serving credentials on {base}");
    if !listen::is_loopback(address.ip()) {
        rolesanywhere_credentials::notice!(
            "{} is not a loopback address: anyone who can reach it gets these credentials",
            address.ip()
        );
    }
    // Some SDKs read the region from IMDS; botocore and the AWS CLI v1 do not.
    rolesanywhere_credentials::notice!(
        "for clients that need a region: export AWS_REGION={region} AWS_DEFAULT_REGION={region}"
    );
    rolesanywhere_credentials::notice!(
        "for SDKs reading IMDS: export AWS_EC2_METADATA_SERVICE_ENDPOINT={base}/"
    );
    rolesanywhere_credentials::notice!(
        "for SDKs reading container credentials: export AWS_CONTAINER_CREDENTIALS_FULL_URI={base}{CONTAINER_PATH}"
    );
    match token {
        ContainerToken::Generated(token) => {
            // Printed once, as the only way for the operator to learn it; set one of the
            // variables before starting `serve` to choose it instead.
            rolesanywhere_credentials::notice!(
                "  with export {CONTAINER_TOKEN_ENV}={} (generated; set it or {CONTAINER_TOKEN_FILE_ENV} before starting serve to choose your own)",
                token.as_str()
            );
        }
        ContainerToken::Fixed(_) => {
            rolesanywhere_credentials::notice!(
                "  with the {CONTAINER_TOKEN_ENV} this server was started with"
            )
        }
        ContainerToken::File(file) => rolesanywhere_credentials::notice!(
            "  with export {CONTAINER_TOKEN_FILE_ENV}={}",
            file.path.display()
        ),
    }
}

/// Refreshed credentials go to the handlers through the `watch` channel.
struct Publish {
    publish: watch::Sender<Option<Arc<Issued>>>,
    address: SocketAddr,
}

impl Deliver for Publish {
    type Error = Error;

    fn deliver(&mut self, issued: &Arc<Issued>) -> Result<()> {
        self.publish.send_replace(Some(Arc::clone(issued)));
        rolesanywhere_credentials::notice!(
            "credentials refreshed; they expire at {}",
            issued.credentials.expiration
        );
        // READY=1 again: it ends a reload systemd may be waiting for (RELOADING=1, sent when a
        // reload starts), and is ignored otherwise.
        crate::systemd::ready(&serving_status(self.address, issued));
        Ok(())
    }

    fn reloading(&mut self) {
        rolesanywhere_credentials::notice!(
            "reload requested: reading the certificate and key again and refreshing"
        );
        // systemd waits for the READY=1 that deliver() or failed() sends next.
        crate::systemd::reloading("reloading the certificate and key");
    }

    fn failed(&mut self, error: &Error, current: &Issued, retry_in: Duration) {
        let state = if current.valid_at(SystemTime::now()) {
            "still serving the previous ones, which expire at"
        } else {
            "no valid credentials to serve; the last ones expired at"
        };
        rolesanywhere_credentials::warning!(
            "cannot refresh credentials: {}; {state} {}; retrying in {} s",
            error.report(),
            current.credentials.expiration,
            retry_in.as_secs().max(1)
        );
        // Ends a reload systemd may be waiting for, with the failure as the status line.
        crate::systemd::ready(&format!(
            "refresh failed, retrying in {} s; {state} {}",
            retry_in.as_secs().max(1),
            current.credentials.expiration
        ));
    }
}

/// Resolves at the first SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Why a request was refused. The text is for the client; it never contains internals.
#[derive(Debug)]
enum Refusal {
    BadTtl,
    Forwarded,
    MissingToken,
    InvalidToken,
    UnknownRole,
    NotFound,
    MissingAuthorization,
    WrongAuthorization,
    NoCredentials,
    TokenFileUnreadable,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Refusal::BadTtl => (StatusCode::BAD_REQUEST, "invalid token TTL"),
            Refusal::Forwarded => (
                StatusCode::BAD_REQUEST,
                "requests carrying X-Forwarded-For are refused",
            ),
            Refusal::MissingToken => (StatusCode::UNAUTHORIZED, "no session token provided"),
            Refusal::InvalidToken => (StatusCode::UNAUTHORIZED, "session token unknown or expired"),
            Refusal::UnknownRole => (StatusCode::NOT_FOUND, "no such role"),
            Refusal::NotFound => (StatusCode::NOT_FOUND, "not found"),
            Refusal::MissingAuthorization => {
                (StatusCode::UNAUTHORIZED, "no authorization token provided")
            }
            Refusal::WrongAuthorization => (StatusCode::FORBIDDEN, "wrong authorization token"),
            Refusal::NoCredentials => (
                StatusCode::SERVICE_UNAVAILABLE,
                "no valid credentials: refreshing them failed; see the server's log",
            ),
            Refusal::TokenFileUnreadable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the authorization token file cannot be read; see the server's log",
            ),
        };
        (status, text).into_response()
    }
}

async fn put_token(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    if headers.contains_key(FORWARDED_FOR_HEADER) {
        return Err(Refusal::Forwarded);
    }
    // An empty header counts as absent, as in the official helper.
    let ttl = match headers.get(TOKEN_TTL_HEADER).filter(|v| !v.is_empty()) {
        None => MAX_TOKEN_TTL_SECONDS,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|v| (1..=MAX_TOKEN_TTL_SECONDS).contains(v))
            .ok_or(Refusal::BadTtl)?,
    };
    let token = generate_token();
    state
        .tokens
        .insert(token.to_string(), Instant::now() + Duration::from_secs(ttl));
    Ok(([(ttl_header(), HeaderValue::from(ttl))], token.to_string()).into_response())
}

async fn role_list(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let ttl = state.tokens.check(&headers)?;
    Ok((
        [(ttl_header(), HeaderValue::from(ttl))],
        state.role_name.clone(),
    )
        .into_response())
}

/// `GET /latest/meta-data/placement/region`: the region credentials are issued in.
async fn region(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let ttl = state.tokens.check(&headers)?;
    let region = state.region.clone().ok_or(Refusal::NotFound)?;
    Ok(([(ttl_header(), HeaderValue::from(ttl))], region).into_response())
}

/// `GET /latest/meta-data/placement/availability-zone`: the region's first zone, since the
/// helper runs in no zone at all; clients only take the region from it.
async fn availability_zone(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let ttl = state.tokens.check(&headers)?;
    let region = state.region.as_deref().ok_or(Refusal::NotFound)?;
    Ok((
        [(ttl_header(), HeaderValue::from(ttl))],
        format!("{region}a"),
    )
        .into_response())
}

/// The parts of the instance identity document that make sense off EC2.
#[derive(Serialize)]
struct IdentityDocument<'a> {
    #[serde(rename = "accountId")]
    account_id: &'a str,
    #[serde(rename = "availabilityZone")]
    availability_zone: String,
    region: &'a str,
    version: &'static str,
}

/// `GET /latest/dynamic/instance-identity/document`.
async fn identity_document(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let ttl = state.tokens.check(&headers)?;
    let region = state.region.as_deref().ok_or(Refusal::NotFound)?;
    // arn:aws:iam::ACCOUNT:role/NAME
    let account_id = state.role_arn.split(':').nth(4).unwrap_or_default();
    let body = json(&IdentityDocument {
        account_id,
        availability_zone: format!("{region}a"),
        region,
        version: "2017-09-30",
    });
    Ok((
        [
            (ttl_header(), HeaderValue::from(ttl)),
            (
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body,
    )
        .into_response())
}

/// What `GET /healthz` answers.
#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<&'a str>,
    #[serde(rename = "lastUpdated", skip_serializing_if = "Option::is_none")]
    last_updated: Option<String>,
}

/// `GET /healthz`: for container probes and load balancers, so without a token. 200 while the
/// credentials served are valid, 503 once none are; the body says which and until when (times
/// only, never the credentials).
async fn health(AxumState(state): AxumState<Arc<State>>) -> Response {
    let latest = state.credentials.borrow().clone();
    let valid = latest
        .as_ref()
        .is_some_and(|issued| issued.valid_at(SystemTime::now()));
    let body = json(&Health {
        status: if valid { "ok" } else { "no valid credentials" },
        expiration: latest.as_ref().map(|i| i.credentials.expiration.as_str()),
        last_updated: latest.as_ref().map(|i| iso8601(i.last_updated)),
    });
    let status = if valid {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The IMDS credentials document.
#[derive(Serialize)]
struct ImdsCredentials<'a> {
    #[serde(rename = "Code")]
    code: &'static str,
    #[serde(rename = "LastUpdated")]
    last_updated: String,
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

async fn role_credentials(
    AxumState(state): AxumState<Arc<State>>,
    Path(role): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let ttl = state.tokens.check(&headers)?;
    if role != state.role_name {
        return Err(Refusal::UnknownRole);
    }
    let issued = state.current()?;
    let c = &issued.credentials;
    let body = json(&ImdsCredentials {
        code: "Success",
        last_updated: iso8601(issued.last_updated),
        kind: "AWS-HMAC",
        access_key_id: &c.access_key_id,
        secret_access_key: &c.secret_access_key,
        token: &c.session_token,
        expiration: &c.expiration,
    });
    Ok((
        [
            (ttl_header(), HeaderValue::from(ttl)),
            (
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body,
    )
        .into_response())
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

async fn container_credentials(
    AxumState(state): AxumState<Arc<State>>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(Refusal::MissingAuthorization)?;
    state.container_token.check(presented.as_bytes())?;
    let issued = state.current()?;
    let c = &issued.credentials;
    let body = json(&ContainerCredentials {
        access_key_id: &c.access_key_id,
        secret_access_key: &c.secret_access_key,
        token: &c.session_token,
        expiration: &c.expiration,
        role_arn: &state.role_arn,
    });
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

impl State {
    /// The latest credentials, if still valid.
    fn current(&self) -> Result<Arc<Issued>, Refusal> {
        self.credentials
            .borrow()
            .as_ref()
            .filter(|issued| issued.valid_at(SystemTime::now()))
            .cloned()
            .ok_or(Refusal::NoCredentials)
    }
}

fn json(value: &impl Serialize) -> String {
    // Serialising borrowed strings cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

fn ttl_header() -> HeaderName {
    HeaderName::from_static(TOKEN_TTL_HEADER)
}

/// A fresh random token: 100 characters of base64.
fn generate_token() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
    rand::thread_rng().fill_bytes(bytes.as_mut());
    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(bytes.as_ref()))
}

/// Issued IMDSv2 session tokens and when each expires.
#[derive(Default)]
struct TokenStore {
    tokens: Mutex<HashMap<String, Instant>>,
}

impl TokenStore {
    /// Remembers `token`; forgets expired ones, and the earliest-expiring one when full.
    fn insert(&self, token: String, expires: Instant) {
        let now = Instant::now();
        let mut tokens = self.lock();
        tokens.retain(|_, at| *at > now);
        if tokens.len() >= MAX_TOKENS {
            let earliest = tokens
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(token, _)| token.clone());
            if let Some(earliest) = earliest {
                tokens.remove(&earliest);
            }
        }
        tokens.insert(token, expires);
    }

    /// The whole seconds left on the request's token.
    fn check(&self, headers: &HeaderMap) -> Result<u64, Refusal> {
        let token = headers
            .get(TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or(Refusal::MissingToken)?;
        let expires = *self.lock().get(token).ok_or(Refusal::InvalidToken)?;
        let left = expires
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or(Refusal::InvalidToken)?;
        Ok(left.as_secs())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // A panic while holding the lock cannot leave the map inconsistent; keep serving.
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_drop_the_path() {
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/test-role"),
            "test-role"
        );
        assert_eq!(role_name("arn:aws:iam::123456789012:role/a/b/deep"), "deep");
    }

    #[test]
    fn tokens_are_100_characters() {
        assert_eq!(generate_token().len(), 100);
        assert_ne!(*generate_token(), *generate_token());
    }

    #[test]
    fn token_store_evicts_the_earliest_expiring() {
        let store = TokenStore::default();
        let now = Instant::now();
        for i in 0..MAX_TOKENS {
            store.insert(format!("t{i}"), now + Duration::from_secs(100 + i as u64));
        }
        store.insert("t0-late".into(), now + Duration::from_secs(10_000));
        let tokens = store.lock();
        assert_eq!(tokens.len(), MAX_TOKENS);
        assert!(!tokens.contains_key("t0"));
        assert!(tokens.contains_key("t1") && tokens.contains_key("t0-late"));
    }

    #[test]
    fn token_check_reports_remaining_seconds() {
        let store = TokenStore::default();
        store.insert("abc".into(), Instant::now() + Duration::from_secs(60));
        let mut headers = HeaderMap::new();
        assert!(matches!(store.check(&headers), Err(Refusal::MissingToken)));
        headers.insert(TOKEN_HEADER, HeaderValue::from_static("nope"));
        assert!(matches!(store.check(&headers), Err(Refusal::InvalidToken)));
        headers.insert(TOKEN_HEADER, HeaderValue::from_static("abc"));
        let left = store.check(&headers).unwrap();
        assert!((58..=60).contains(&left), "{left}");
    }
}
