//! The HTTP client every remote call uses: rustls (see [`crate::tls`]), HTTP/1.1, no redirects,
//! no proxy unless `--with-proxy`, and time limits for connecting and for each attempt.

use std::path::PathBuf;
use std::time::Duration;

use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// Default limit for one attempt, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Limit for establishing the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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
pub fn client(config: &HttpConfig, pin: Option<&Endpoint>) -> Result<reqwest::Client> {
    let tls = crate::tls::client_config(config.no_verify_ssl, config.ca_bundle.as_deref())?;
    let mut builder = reqwest::Client::builder();
    // Resolve the endpoint's name here, on this thread: reqwest's default resolver runs
    // getaddrinfo on a new thread, which a one-shot credential_process pays for at start and
    // exit. Long-running callers pass no `pin`, so address changes are followed. Names that do
    // not resolve are left to reqwest, which reports them properly. A proxy resolves names itself.
    if let Some(endpoint) = pin.filter(|_| !config.with_proxy) {
        if let Some((host, addrs)) = resolve(endpoint) {
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
    builder.build().map_err(Error::HttpClient)
}

/// The addresses of the endpoint's host, when it is a name that resolves.
fn resolve(endpoint: &Endpoint) -> Option<(String, Vec<std::net::SocketAddr>)> {
    use std::net::ToSocketAddrs;
    let url = reqwest::Url::parse(endpoint.base_url()).ok()?;
    let host = url.host_str()?;
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        return None;
    }
    let port = url.port_or_known_default()?;
    let addrs: Vec<_> = (host, port).to_socket_addrs().ok()?.collect();
    (!addrs.is_empty()).then(|| (host.to_string(), addrs))
}
