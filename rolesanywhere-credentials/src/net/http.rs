//! The HTTP client every remote call uses: rustls (see [`crate::net::tls`]), HTTP/1.1, no redirects,
//! no proxy unless `--with-proxy`, and time limits for connecting and for each attempt; and
//! [`read_limited`], the one way a response body is read, so that no peer can make us hold more
//! than a fixed number of bytes.
//!
//! Header blocks are bounded by hyper's HTTP/1 client: about 400 KiB of buffered head and at
//! most 100 header fields, beyond which the response is an error (reqwest has no knob to change
//! either).

use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::net::endpoint::Endpoint;

/// Default limit for one attempt, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Limit for establishing the TCP connection.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to talk HTTP.
#[derive(Clone, Debug)]
#[non_exhaustive]
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
    let tls = crate::net::tls::client_config(config.no_verify_ssl, config.ca_bundle.as_deref())?;
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
        .user_agent(user_agent());
    if !config.with_proxy {
        builder = builder.no_proxy();
    }
    builder.build().map_err(Error::HttpClient)
}

/// The `User-Agent` of every request.
pub(crate) fn user_agent() -> String {
    format!(
        "CredHelper/{} (rust; {}; {})",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
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

/// Why a response body could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is larger than the limit (by its `Content-Length`, or by what arrived).
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The body did not arrive before the deadline.
    TimedOut,
    /// The connection failed while the body was read.
    Transport(reqwest::Error),
}

/// Reads `response`'s body, at most `limit` bytes and no later than `deadline`.
///
/// A declared `Content-Length` above the limit is refused before anything is read; otherwise
/// (chunked bodies, bodies read until the connection closes) chunks are taken as they come and
/// reading stops as soon as the total passes the limit, so a peer that never stops sending costs
/// at most `limit` bytes and the time to the deadline. The buffer is wiped when dropped, and
/// when it grows the old one is wiped too (bodies carry secret keys and session tokens).
///
/// # Errors
/// [`BodyError`]: too large, too late, or the connection failed.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
    deadline: Instant,
) -> std::result::Result<Zeroizing<Vec<u8>>, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(BodyError::TooLarge { limit });
    }
    let expected = response
        .content_length()
        .map_or(0, |length| length as usize);
    let mut body = LimitedBody::new(expected, limit);
    loop {
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Err(_) => return Err(BodyError::TimedOut),
            Ok(Err(e)) if e.is_timeout() => return Err(BodyError::TimedOut),
            Ok(Err(e)) => return Err(BodyError::Transport(e)),
            Ok(Ok(None)) => return Ok(body.into_inner()),
            Ok(Ok(Some(chunk))) => chunk,
        };
        body.push(&chunk)
            .map_err(|TooLarge { limit }| BodyError::TooLarge { limit })?;
    }
}

/// A body that grew past its limit.
pub(crate) struct TooLarge {
    /// The limit, in bytes.
    pub(crate) limit: usize,
}

/// A body read chunk by chunk, refused as soon as it passes its limit; every buffer it outgrows
/// is wiped rather than freed with its bytes, and so is the last one when dropped.
pub(crate) struct LimitedBody {
    bytes: Zeroizing<Vec<u8>>,
    limit: usize,
}

impl LimitedBody {
    /// An empty body with room for `expected` bytes (at most `limit`).
    pub(crate) fn new(expected: usize, limit: usize) -> LimitedBody {
        LimitedBody {
            bytes: Zeroizing::new(Vec::with_capacity(expected.min(limit))),
            limit,
        }
    }

    /// Appends `chunk`, unless the body would then pass its limit.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> std::result::Result<(), TooLarge> {
        let total = self.bytes.len().saturating_add(chunk.len());
        if total > self.limit {
            return Err(TooLarge { limit: self.limit });
        }
        if total > self.bytes.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(
                total.max(self.bytes.capacity() * 2).min(self.limit),
            ));
            bigger.extend_from_slice(&self.bytes);
            self.bytes = bigger;
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The bytes read.
    pub(crate) fn into_inner(self) -> Zeroizing<Vec<u8>> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_stop_at_the_limit_and_the_deadline() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let n = socket.read(&mut request).await.unwrap();
                    let path = String::from_utf8_lossy(&request[..n]).into_owned();
                    let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                    socket.write_all(head.as_bytes()).await.unwrap();
                    let chunk = format!("1000\r\n{}\r\n", "x".repeat(0x1000));
                    for _ in 0..if path.contains("/small") { 2 } else { u32::MAX } {
                        if socket.write_all(chunk.as_bytes()).await.is_err() {
                            return;
                        }
                        if path.contains("/slow") {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    let _ = socket.write_all(b"0\r\n\r\n").await;
                });
            }
        });
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(format!("http://{address}{path}")).send();
        let soon = || Instant::now() + Duration::from_secs(10);

        let small = read_limited(get("/small").await.unwrap(), 1 << 20, soon()).await;
        assert_eq!(small.unwrap().len(), 0x2000);
        let endless = read_limited(get("/endless").await.unwrap(), 1 << 20, soon()).await;
        assert!(matches!(
            endless,
            Err(BodyError::TooLarge { limit: 0x100000 })
        ));
        let deadline = Instant::now() + Duration::from_millis(300);
        let slow = read_limited(get("/slow").await.unwrap(), 1 << 30, deadline).await;
        assert!(matches!(slow, Err(BodyError::TimedOut)));
    }
}
