//! The HTTP(S) side of the endpoint: binding (loopback only), TLS, routing, the rate limit and
//! fault injection, and graceful shutdown. Verdicts go to the call log (`calls`).
//!
//! Routes: `POST /sessions` (Roles Anywhere `CreateSession`), `GET|POST /` (STS),
//! `GET /_local/calls` (the call log, for tests) and `GET /_stats` (the traffic counts, see
//! `quota`; AWS paths never start with `/_`). Everything else is a 404
//! `UnknownOperationException`. The router is built by [`router`] apart from any socket, so the
//! listener (plain TCP or TLS) is a detail of [`serve`].
//!
//! With a rate limit, a call over its account's quota is refused first, before fault injection
//! and before any verification: CreateSession with 429 `ThrottlingException`
//! (`{"message":"Rate exceeded"}`), STS with 400 `Throttling` in STS's XML error shape.

use std::future::IntoFuture;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request as AxumRequest, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use rand::Rng;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::calls::{redacted_headers, CallLog, CallRecord};
use crate::clock::{iso8601, unix_seconds, Clock};
use crate::config::Config;
use crate::error::{ApiError, ApiErrorKind, Error};
use crate::pki;
use crate::quota::{Api, Quota, RateLimit, Stats};
use crate::session::SessionStore;
use crate::sts;
use crate::verify::{self, Request};

/// How long a client may take to complete the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for in-flight requests before cutting connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How the endpoint serves TLS.
#[derive(Clone, Debug, Default)]
pub enum TlsMode {
    /// Generate a throwaway CA and a server certificate for `localhost`, `127.0.0.1` and `::1`;
    /// the CA is available from [`RunningServer::ca_pem`].
    #[default]
    Generate,
    /// Use this PEM certificate chain and PEM private key.
    Files {
        /// Server certificate chain (leaf first).
        cert: PathBuf,
        /// Private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// Plain HTTP.
    Plain,
}

/// Failures to inject, for testing clients' retry behaviour. They apply to `CreateSession` calls
/// only, counted from the first the rate limit let through: calls `1..=fail_first` fail with
/// `fail_status`, the next `throttle_first` are throttled (429), the rest are served normally.
#[derive(Clone, Debug)]
pub struct Faults {
    /// How many calls fail with `fail_status`.
    pub fail_first: u64,
    /// The status of injected failures (400-599; default 500).
    pub fail_status: u16,
    /// How many calls (after the failures) get `429 ThrottlingException`.
    pub throttle_first: u64,
    /// How many STS `AssumeRole` calls get `Throttling` before any is served.
    pub throttle_assume_role_first: u64,
    /// Delay before every API response (not `/_local/` ones).
    pub latency: Duration,
    /// Accept `CreateSession` calls and never answer them (until shutdown).
    pub hang: bool,
    /// Issue sessions that expire this long after they are created, whatever duration was
    /// asked (at least 900 s otherwise): lets tests watch credentials expire.
    pub expire_after: Option<Duration>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            fail_first: 0,
            fail_status: 500,
            throttle_first: 0,
            throttle_assume_role_first: 0,
            latency: Duration::ZERO,
            hang: false,
            expire_after: None,
        }
    }
}

/// How to run the endpoint.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Listening address; must be loopback. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// TLS mode.
    pub tls: TlsMode,
    /// Failure injection.
    pub faults: Faults,
    /// The clock verdicts use (fixed in tests).
    pub clock: Clock,
    /// Write one line per verdict to stderr.
    pub log: bool,
    /// Calls a second each account may make of CreateSession, and of STS (a token bucket each;
    /// see [`RateLimit`]). Overrides the configuration's `rate_limit`; without either, no limit.
    pub rate_limit: Option<RateLimit>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: TlsMode::default(),
            faults: Faults::default(),
            clock: Clock::system(),
            log: true,
            rate_limit: None,
        }
    }
}

/// A running endpoint. Dropping it shuts the endpoint down without waiting.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    https: bool,
    ca_pem: Option<String>,
    state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base URL, e.g. `https://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// The PEM of the generated TLS CA (only with [`TlsMode::Generate`]).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// A copy of the call log.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.state.calls.snapshot()
    }

    /// The traffic counts so far (what `GET /_stats` serves).
    pub fn stats(&self) -> Stats {
        self.state.quota.stats()
    }

    /// Stops accepting connections, lets in-flight requests finish (a few seconds at most),
    /// waits for the server to stop, and returns the final traffic counts.
    ///
    /// # Errors
    /// The server's I/O error, if it failed.
    pub async fn shutdown(mut self) -> Result<Stats, Error> {
        // No receiver left only means the server already stopped.
        let _ = self.shutdown.send(true);
        if let Some(mut task) = self.task.take() {
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => {
                    return Err(Error::Listen {
                        addr: self.local_addr,
                        source: e,
                    })
                }
                // The task panicked or was cancelled: nothing left to stop.
                Ok(Err(_)) => {}
                Err(_) => task.abort(),
            }
        }
        Ok(self.stats())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Starts the endpoint and returns once it is listening.
///
/// # Errors
/// [`Error::NotLoopback`] for a non-loopback address, [`Error::Usage`] for an out-of-range
/// fault status, [`Error::Tls`]/[`Error::Io`] for TLS material problems, [`Error::Listen`] if
/// binding fails.
pub async fn serve(config: Config, options: ServeOptions) -> Result<RunningServer, Error> {
    if !options.listen.ip().is_loopback() {
        return Err(Error::NotLoopback(options.listen));
    }
    if !(400..=599).contains(&options.faults.fail_status) {
        return Err(Error::Usage(format!(
            "fail status {} must be an HTTP error status (400-599)",
            options.faults.fail_status
        )));
    }
    let (tls, ca_pem) = match &options.tls {
        TlsMode::Plain => (None, None),
        TlsMode::Generate => {
            let identity = pki::generate_tls()?;
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der));
            let config = tls_config(vec![CertificateDer::from(identity.cert_der)], key)?;
            (Some(config), Some(identity.ca_pem))
        }
        TlsMode::Files { cert, key } => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| Error::Tls(format!("certificate file {}: {e}", cert.display())))?;
            if chain.is_empty() {
                return Err(Error::Tls(format!(
                    "certificate file {} holds no certificates",
                    cert.display()
                )));
            }
            let key_der = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| Error::Tls(format!("private key file {}: {e}", key.display())))?;
            (Some(tls_config(chain, key_der)?), None)
        }
    };

    let listener = TcpListener::bind(options.listen)
        .await
        .map_err(|source| Error::Listen {
            addr: options.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: options.listen,
        source,
    })?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let quota = Quota::new(options.rate_limit.or(config.rate_limit()));
    let state = Arc::new(AppState {
        config,
        quota,
        clock: options.clock,
        faults: options.faults,
        store: SessionStore::default(),
        used_codes: crate::totp::UsedCodes::default(),
        session_calls: AtomicU64::new(0),
        assume_role_calls: AtomicU64::new(0),
        calls: CallLog::new(options.log),
        shutdown: shutdown_rx.clone(),
    });
    let app = router(Arc::clone(&state));
    let stop = stopped(shutdown_rx.clone());
    let https = tls.is_some();
    let task = match tls {
        Some(tls) => {
            let listener = TlsListener::start(listener, tls, shutdown_rx, local_addr);
            tokio::spawn(
                axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .into_future(),
            )
        }
        None => tokio::spawn(
            axum::serve(
                axum::serve::ListenerExt::tap_io(listener, |tcp| {
                    // See the TLS listener: avoid Nagle/delayed-ACK stalls.
                    let _ = tcp.set_nodelay(true);
                }),
                app,
            )
            .with_graceful_shutdown(stop)
            .into_future(),
        ),
    };
    Ok(RunningServer {
        local_addr,
        https,
        ca_pem,
        state,
        shutdown,
        task: Some(task),
    })
}

fn tls_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    // The router speaks HTTP/1.1 only (axum's default features).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Resolves once shutdown is requested (or the requester is gone).
async fn stopped(mut shutdown: watch::Receiver<bool>) {
    // An error means the sender was dropped, which also means "stop".
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Accepts TCP connections and completes TLS handshakes concurrently, handing finished streams
/// to axum. Doing the handshake inside `accept` would let one silent client stall all others.
struct TlsListener {
    streams: mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    fn start(
        listener: TcpListener,
        config: Arc<rustls::ServerConfig>,
        shutdown: watch::Receiver<bool>,
        local_addr: SocketAddr,
    ) -> TlsListener {
        let (tx, streams) = mpsc::channel(64);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stopped(shutdown.clone()) => break,
                    accepted = listener.accept() => accepted,
                };
                let Ok((tcp, peer)) = accepted else {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                // Answers are written in several pieces; without this, Nagle's algorithm and the
                // client's delayed ACK stall some of them by 40 ms.
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
                    if let Ok(Ok(stream)) = handshake.await {
                        // The receiver is gone only during shutdown.
                        let _ = tx.send((stream, peer)).await;
                    }
                });
            }
        });
        TlsListener {
            streams,
            local_addr,
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.streams.recv().await {
            Some(stream) => stream,
            // The acceptor stopped (shutdown): never yield; axum's shutdown future ends serving.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

#[derive(Debug)]
struct AppState {
    config: Config,
    /// The rate limit and the traffic counts.
    quota: Quota,
    clock: Clock,
    faults: Faults,
    store: SessionStore,
    /// MFA codes already accepted.
    used_codes: crate::totp::UsedCodes,
    /// `CreateSession` calls seen, for fault injection.
    session_calls: AtomicU64,
    /// STS `AssumeRole` calls seen, for fault injection.
    assume_role_calls: AtomicU64,
    calls: CallLog,
    shutdown: watch::Receiver<bool>,
}

/// The endpoint's routes over `state`.
fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/sessions", any(create_session))
        .route("/", any(sts_call))
        .route("/_local/calls", get(list_calls))
        .route("/_stats", get(stats))
        .fallback(unknown_operation)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            injected_latency,
        ))
        .with_state(state)
}

async fn injected_latency(
    State(state): State<Arc<AppState>>,
    request: AxumRequest,
    next: Next,
) -> Response {
    // Not for the endpoint's own pages (`/_local/calls`, `/_stats`).
    if !state.faults.latency.is_zero() && !request.uri().path().starts_with("/_") {
        tokio::time::sleep(state.faults.latency).await;
    }
    next.run(request).await
}

async fn unknown_operation(method: Method, uri: Uri) -> Response {
    ApiError::new(
        ApiErrorKind::UnknownOperation,
        format!("No operation matches {method} {}", uri.path()),
    )
    .into_response()
}

async fn list_calls(State(state): State<Arc<AppState>>) -> Json<Vec<CallRecord>> {
    Json(state.calls.snapshot())
}

async fn stats(State(state): State<Arc<AppState>>) -> Json<Stats> {
    Json(state.quota.stats())
}

async fn create_session(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return unknown_operation(method, uri).await;
    }
    let now = state.clock.now();
    let claimed = verify::claimed(&headers);
    let mut record = CallRecord {
        seq: 0,
        time: iso8601(unix_seconds(now)),
        kind: "create-session",
        ok: false,
        status: 0,
        error_type: None,
        message: None,
        algorithm: claimed.algorithm,
        serial: claimed
            .credential
            .as_deref()
            .and_then(|c| c.split('/').next())
            .map(str::to_string),
        signed_headers: claimed.signed_headers,
        action: None,
        access_key_id: None,
        region: claimed
            .credential
            .as_deref()
            .and_then(|c| c.split('/').nth(2))
            .map(str::to_string),
        role_arn: None,
        headers: redacted_headers(&headers),
    };

    // Every trust anchor and profile is in the one account this endpoint plays, so that account
    // is charged, before the request is read.
    if !state
        .quota
        .admit(Api::CreateSession, Some(&state.config.account))
    {
        let error = ApiError::new(ApiErrorKind::Throttling, "Rate exceeded");
        return reject(&state, record, error);
    }
    let n = state.session_calls.fetch_add(1, Ordering::SeqCst) + 1;
    if state.faults.hang {
        stopped(state.shutdown.clone()).await;
        return ApiError::new(
            ApiErrorKind::ServiceUnavailable,
            "rolesanywhere-local is shutting down (--hang)",
        )
        .into_response();
    }
    let faults = &state.faults;
    let injected = if n <= faults.fail_first {
        let status =
            StatusCode::from_u16(faults.fail_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let kind = match status {
            StatusCode::TOO_MANY_REQUESTS => ApiErrorKind::Throttling,
            StatusCode::SERVICE_UNAVAILABLE => ApiErrorKind::ServiceUnavailable,
            StatusCode::BAD_REQUEST => ApiErrorKind::Validation,
            StatusCode::FORBIDDEN => ApiErrorKind::AccessDenied,
            _ => ApiErrorKind::InternalServer,
        };
        Some(
            ApiError::new(
                kind,
                format!(
                    "Injected failure {n} of {} (--fail-first)",
                    faults.fail_first
                ),
            )
            .with_status(status),
        )
    } else if n <= faults.fail_first + faults.throttle_first {
        Some(ApiError::new(
            ApiErrorKind::Throttling,
            format!(
                "Rate exceeded (injected throttle {} of {}, --throttle-first)",
                n - faults.fail_first,
                faults.throttle_first
            ),
        ))
    } else {
        None
    };
    if let Some(error) = injected {
        return reject(&state, record, error);
    }

    let request = Request {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        headers: &headers,
        body: &body,
    };
    let verified = match verify::verify_create_session(&state.config, &request, now) {
        Ok(v) => v,
        Err(error) => return reject(&state, record, error),
    };

    let now_secs = unix_seconds(now);
    let session_name = verified
        .role_session_name
        .clone()
        .unwrap_or_else(|| verified.serial_hex.clone());
    let session = state.store.issue(
        &state.config.account,
        &verified.role_arn,
        &verified.role_name,
        &session_name,
        now_secs
            + state.faults.expire_after.map_or_else(
                || i64::from(verified.duration_seconds),
                |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            ),
        now_secs,
    );
    let partition = state.config.partition;
    let body = serde_json::json!({
        "credentialSet": [{
            "assumedRoleUser": {
                "arn": session.assumed_role_arn(partition),
                "assumedRoleId": session.assumed_role_id(),
            },
            "credentials": {
                "accessKeyId": session.access_key_id,
                "expiration": iso8601(session.expires_at),
                "secretAccessKey": session.secret_access_key.as_str(),
                "sessionToken": session.session_token.as_str(),
            },
            "packedPolicySize": 0,
            "roleArn": verified.role_arn,
            "sourceIdentity": verified.source_identity,
        }],
        "subjectArn": format!(
            "arn:{partition}:rolesanywhere:{}:{}:subject/{}",
            state.config.region, state.config.account, verified.subject_id
        ),
    });
    record.ok = true;
    record.status = StatusCode::CREATED.as_u16();
    record.algorithm = Some(verified.algorithm.name().to_string());
    record.serial = Some(verified.serial);
    record.access_key_id = Some(session.access_key_id.clone());
    record.role_arn = Some(verified.role_arn);
    record.message = Some(format!(
        "issued {}s session '{session_name}' via profile {} and trust anchor {}",
        verified.duration_seconds, verified.profile_arn, verified.trust_anchor_arn
    ));
    state.calls.record(record);
    (StatusCode::CREATED, Json(body)).into_response()
}

fn reject(state: &AppState, mut record: CallRecord, error: ApiError) -> Response {
    record.status = error.status().as_u16();
    record.error_type = Some(error.kind().type_name().to_string());
    record.message = Some(error.message().to_string());
    state.calls.record(record);
    error.into_response()
}

async fn sts_call(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST && method != Method::GET {
        return unknown_operation(method, uri).await;
    }
    let now = state.clock.now();
    let request_id = request_id();
    let request = Request {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        headers: &headers,
        body: &body,
    };
    // Throttling (the quota's, then the injected one) is decided before anything is checked or
    // spent (an MFA code, say). The quota charges the account of the calling credentials.
    let account = sts::caller_account(&state.store, &headers);
    let admitted = state.quota.admit(Api::Sts, account.as_deref());
    let assume_role = [
        uri.query().unwrap_or(""),
        std::str::from_utf8(&body).unwrap_or(""),
    ]
    .iter()
    .any(|form| form.split('&').any(|pair| pair == "Action=AssumeRole"));
    let throttled = admitted
        && assume_role
        && state.assume_role_calls.fetch_add(1, Ordering::SeqCst)
            < state.faults.throttle_assume_role_first;
    let call = if !admitted {
        sts::throttled_call(sts::claimed_action(uri.query(), &body), "Rate exceeded")
    } else if throttled {
        sts::throttled_call(
            Some("AssumeRole"),
            "Rate exceeded (injected, --throttle-assume-role-first)",
        )
    } else {
        sts::handle(
            &state.config,
            &state.store,
            &state.used_codes,
            &request,
            now,
            &request_id,
        )
    };
    let mut record = CallRecord {
        seq: 0,
        time: iso8601(unix_seconds(now)),
        kind: "sts",
        ok: call.result.is_ok(),
        status: 0,
        error_type: None,
        message: call.message,
        algorithm: verify::claimed(&headers).algorithm,
        serial: None,
        signed_headers: call.signed_headers,
        action: call.action,
        access_key_id: call.access_key_id,
        region: call.region,
        role_arn: call.caller_arn,
        headers: redacted_headers(&headers),
    };
    let response = match call.result {
        Ok(xml) => {
            record.status = StatusCode::OK.as_u16();
            sts::xml_response(StatusCode::OK, xml, &request_id)
        }
        Err(error) => {
            record.status = error.status.as_u16();
            record.error_type = Some(error.code.to_string());
            record.message = Some(error.message.clone());
            error.into_response(&request_id)
        }
    };
    state.calls.record(record);
    response
}

fn request_id() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    verify::uuid_from(&bytes)
}
