//! `serve`: a local credentials endpoint speaking IMDSv2 (what the AWS SDKs query on EC2) and
//! the container credentials protocol (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
//!
//! [`app`] is the whole HTTP surface as an axum `Router`, so it can be tested without a socket;
//! [`run`] binds it (to 127.0.0.1 unless told otherwise, or on a socket systemd passed: see
//! [`listen`]) and keeps the credentials fresh in a background task ([`refresh::keep_fresh`]
//! over the credential source), telling systemd when it is ready ([`crate::systemd`]). Handlers only read the latest
//! credentials from a `watch` channel, so a slow refresh never blocks a client; when the last
//! credentials expired and no refresh succeeded, they answer 503 rather than hand out expired
//! credentials. The container endpoint's token is [`ContainerToken`]; IMDSv2 session tokens
//! prove themselves ([`tokens`]), so none is stored. Each credential set's documents are built
//! once, when it arrives ([`Served`]), and every response shares them. What a client may cost
//! (connections, timeouts, header sizes) is [`connections`].
//!
//! `serve --config FILE` serves several roles from one process, each behind its own path and
//! token: [`config`] reads the file, [`roles`] runs the roles, [`multi`] is its HTTP surface
//! (which reuses this module's IMDSv2 handlers for the role that answers them).

pub mod config;
pub mod connections;
mod container_token;
mod documents;
pub mod listen;
pub mod multi;
pub mod roles;
pub mod tokens;

pub use container_token::{ContainerToken, TokenFile};
pub use documents::Served;
pub use listen::{Listen, DEFAULT_HOP_LIMIT, NON_LOOPBACK_HOP_LIMIT};

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Path, Request, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use base64::Engine;
use bytes::Bytes;
use rand::RngCore;
use serde::Serialize;
use tokio::sync::watch;
use zeroize::Zeroizing;

use tokens::TokenKey;

use crate::error::{Error, Result};
use rolesanywhere_credentials::config::Options;
use rolesanywhere_credentials::credentials::Issued;
use rolesanywhere_credentials::pipeline;
use rolesanywhere_credentials::pipeline::refresh::{self, Deliver};
use rolesanywhere_credentials::pipeline::Reload;

/// Address `serve` listens on by default, as the official helper always does (`--address`).
pub const LISTEN_ADDRESS: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// Default `--port`.
pub const DEFAULT_PORT: u16 = 9911;
/// Longest session token lifetime a client may ask for (six hours), also the default.
pub const MAX_TOKEN_TTL_SECONDS: u64 = 21_600;

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

/// Generated container tokens are this many characters of base64 (75 random bytes).
const GENERATED_TOKEN_BYTES: usize = 75;

/// The shared state of the handlers.
pub struct State {
    role_name: Bytes,
    role_arn: String,
    region: Option<String>,
    tokens: Arc<TokenKey>,
    credentials: watch::Receiver<Option<Arc<Served>>>,
    container_token: ContainerToken,
}

impl State {
    /// State for a role, credentials published through `credentials` (see [`Served::new`]),
    /// and the token container clients must present.
    pub fn new(
        role_arn: &str,
        credentials: watch::Receiver<Option<Arc<Served>>>,
        container_token: ContainerToken,
    ) -> State {
        State {
            role_name: Bytes::copy_from_slice(role_name(role_arn).as_bytes()),
            role_arn: role_arn.to_string(),
            region: None,
            tokens: Arc::new(TokenKey::generate()),
            credentials,
            container_token,
        }
    }

    /// Checks and issues IMDSv2 session tokens with `key` (several roles' states share one).
    pub fn with_token_key(mut self, key: Arc<TokenKey>) -> State {
        self.tokens = key;
        self
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
    // The first CreateSession may be retried for --start-timeout (a throttled fleet).
    let (patience, attempt) = (options.patience, options.http.timeout);
    let mut source = pipeline::build(options, Reload::OnChange, None)?;
    let first = crate::systemd::starting(source.fetch(), patience, attempt).await?;
    let first = Arc::new(first);
    let served = Served::new(Arc::clone(&first), &role_arn);
    let (publish, credentials) = watch::channel(Some(Arc::new(served)));
    let state = Arc::new(State::new(&role_arn, credentials, container_token).with_region(&region));
    announce(address, &state.container_token, &region);
    crate::systemd::ready(&serving_status(address, &first));

    let refresher = tokio::spawn(async move {
        let mut delivery = Publish {
            publish,
            address,
            role_arn,
        };
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

/// Refreshed credentials go to the handlers through the `watch` channel, their documents built
/// once here.
struct Publish {
    publish: watch::Sender<Option<Arc<Served>>>,
    address: SocketAddr,
    role_arn: String,
}

impl Deliver for Publish {
    type Error = Error;

    fn deliver(&mut self, issued: &Arc<Issued>) -> Result<()> {
        let served = Served::new(Arc::clone(issued), &self.role_arn);
        self.publish.send_replace(Some(Arc::new(served)));
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
pub(crate) enum Refusal {
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

async fn put_token(AxumState(state): AxumState<Arc<State>>, request: Request) -> Response {
    match issue_token(&state.tokens, request.headers()) {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    }
}

/// `PUT /latest/api/token`: a session token for the TTL asked for.
pub(crate) fn issue_token(tokens: &TokenKey, headers: &HeaderMap) -> Result<Response, Refusal> {
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
    let token = tokens.issue(Duration::from_secs(ttl));
    Ok(([(ttl_header(), HeaderValue::from(ttl))], token.to_string()).into_response())
}

async fn role_list(AxumState(state): AxumState<Arc<State>>, request: Request) -> Response {
    answer(|| {
        let ttl = check_token(&state.tokens, request.headers())?;
        Ok((ttl_headers(ttl), text_type(), state.role_name.clone()).into_response())
    })
}

/// `GET /latest/meta-data/placement/region`: the region credentials are issued in.
async fn region(AxumState(state): AxumState<Arc<State>>, request: Request) -> Response {
    answer(|| {
        let ttl = check_token(&state.tokens, request.headers())?;
        let region = state.region.clone().ok_or(Refusal::NotFound)?;
        Ok((ttl_headers(ttl), region).into_response())
    })
}

/// `GET /latest/meta-data/placement/availability-zone`: the region's first zone, since the
/// helper runs in no zone at all; clients only take the region from it.
async fn availability_zone(AxumState(state): AxumState<Arc<State>>, request: Request) -> Response {
    answer(|| {
        let ttl = check_token(&state.tokens, request.headers())?;
        let region = state.region.as_deref().ok_or(Refusal::NotFound)?;
        Ok((ttl_headers(ttl), format!("{region}a")).into_response())
    })
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
async fn identity_document(AxumState(state): AxumState<Arc<State>>, request: Request) -> Response {
    answer(|| {
        let ttl = check_token(&state.tokens, request.headers())?;
        let region = state.region.as_deref().ok_or(Refusal::NotFound)?;
        // arn:aws:iam::ACCOUNT:role/NAME
        let account_id = state.role_arn.split(':').nth(4).unwrap_or_default();
        let body = json(&IdentityDocument {
            account_id,
            availability_zone: format!("{region}a"),
            region,
            version: "2017-09-30",
        });
        Ok((ttl_headers(ttl), json_type(), body).into_response())
    })
}

/// What `GET /healthz` answers.
#[derive(Serialize)]
pub(crate) struct Health<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<&'a str>,
    #[serde(rename = "lastUpdated", skip_serializing_if = "Option::is_none")]
    last_updated: Option<&'a str>,
}

impl<'a> Health<'a> {
    /// The health of a server whose latest credentials are `latest`, and whether they are
    /// valid now.
    pub(crate) fn of(latest: Option<&'a Served>) -> (Health<'a>, bool) {
        let valid = latest.is_some_and(|served| served.valid_at(SystemTime::now()));
        let health = Health {
            status: if valid { "ok" } else { "no valid credentials" },
            expiration: latest.map(|s| s.issued.credentials.expiration.as_str()),
            last_updated: latest.map(|s| s.last_updated.as_str()),
        };
        (health, valid)
    }
}

/// `GET /healthz`: for container probes and load balancers, so without a token. 200 while the
/// credentials served are valid, 503 once none are; the body says which and until when (times
/// only, never the credentials).
async fn health(AxumState(state): AxumState<Arc<State>>) -> Response {
    let latest = state.credentials.borrow().clone();
    let (health, valid) = Health::of(latest.as_deref());
    let status = if valid {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, json_type(), json(&health)).into_response()
}

async fn role_credentials(
    AxumState(state): AxumState<Arc<State>>,
    Path(role): Path<String>,
    request: Request,
) -> Response {
    answer(|| {
        let ttl = check_token(&state.tokens, request.headers())?;
        if role.as_bytes() != state.role_name {
            return Err(Refusal::UnknownRole);
        }
        let served = state.current()?;
        Ok((ttl_headers(ttl), json_type(), served.imds.clone()).into_response())
    })
}

async fn container_credentials(
    AxumState(state): AxumState<Arc<State>>,
    request: Request,
) -> Response {
    answer(|| {
        check_authorization(&state.container_token, request.headers())?;
        let served = state.current()?;
        Ok((json_type(), served.container.clone()).into_response())
    })
}

impl State {
    /// The latest credentials, if still valid.
    fn current(&self) -> Result<Arc<Served>, Refusal> {
        self.credentials
            .borrow()
            .as_ref()
            .filter(|served| served.valid_at(SystemTime::now()))
            .cloned()
            .ok_or(Refusal::NoCredentials)
    }
}

/// A handler's answer, or its refusal.
fn answer(handle: impl FnOnce() -> Result<Response, Refusal>) -> Response {
    handle().unwrap_or_else(IntoResponse::into_response)
}

/// Whether the request's `Authorization` is `token`.
pub(crate) fn check_authorization(
    token: &ContainerToken,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(Refusal::MissingAuthorization)?;
    token.check(presented.as_bytes())
}

/// The whole seconds left on the request's session token.
pub(crate) fn check_token(tokens: &TokenKey, headers: &HeaderMap) -> Result<u64, Refusal> {
    let token = headers
        .get(TOKEN_HEADER)
        .filter(|v| !v.is_empty() && v.to_str().is_ok())
        .ok_or(Refusal::MissingToken)?;
    let left = tokens
        .check(token.as_bytes())
        .map_err(|_| Refusal::InvalidToken)?;
    Ok(left.as_secs())
}

pub(crate) fn json(value: &impl Serialize) -> String {
    // Serialising borrowed strings cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

fn ttl_header() -> HeaderName {
    HeaderName::from_static(TOKEN_TTL_HEADER)
}

/// The TTL header of a response to a request with a session token.
pub(crate) fn ttl_headers(ttl: u64) -> [(HeaderName, HeaderValue); 1] {
    [(ttl_header(), HeaderValue::from(ttl))]
}

/// What a `String` body says of itself, for the same text as shared bytes.
fn text_type() -> [(HeaderName, HeaderValue); 1] {
    [(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    )]
}

pub(crate) fn json_type() -> [(HeaderName, HeaderValue); 1] {
    [(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )]
}

/// A fresh random container token: 100 characters of base64.
fn generate_token() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; GENERATED_TOKEN_BYTES]);
    rand::thread_rng().fill_bytes(bytes.as_mut());
    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(bytes.as_ref()))
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
    fn generated_container_tokens_are_100_characters() {
        assert_eq!(generate_token().len(), 100);
        assert_ne!(*generate_token(), *generate_token());
    }

    #[test]
    fn token_check_reports_remaining_seconds() {
        let key = TokenKey::generate();
        let token = key.issue(Duration::from_secs(60));
        let mut headers = HeaderMap::new();
        assert!(matches!(
            check_token(&key, &headers),
            Err(Refusal::MissingToken)
        ));
        headers.insert(TOKEN_HEADER, HeaderValue::from_static("nope"));
        assert!(matches!(
            check_token(&key, &headers),
            Err(Refusal::InvalidToken)
        ));
        headers.insert(TOKEN_HEADER, HeaderValue::from_str(&token).unwrap());
        let left = check_token(&key, &headers).unwrap();
        assert!((58..=60).contains(&left), "{left}");
    }
}
