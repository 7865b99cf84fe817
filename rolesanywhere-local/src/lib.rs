//! `rolesanywhere-local`: an offline IAM Roles Anywhere endpoint (plus a minimal STS) for
//! loopback, verifying requests as strictly as the real service, so the credential helper can be
//! demonstrated and tested without an AWS account.
//!
//! * `config` — the TOML configuration: region, account, trust anchors, profiles, roles.
//! * [`verify`] — AWS4-X509 request and certificate-path verification (pure; clock passed in).
//! * `sigv4`, `sts` — SigV4 (HMAC) verification and `GetCallerIdentity`/`AssumeRole`.
//! * `session` — minting and remembering temporary credentials.
//! * `quota` — the per-account rate limit ([`RateLimit`], a token bucket per account and API)
//!   and the traffic counts ([`Stats`], `GET /_stats`).
//! * `server` — loopback-only HTTP(S) serving, fault injection, shutdown.
//! * `calls` — the call log ([`CallRecord`]s on stderr and at `GET /_local/calls`).
//! * [`pki`] — throwaway demo PKI and the endpoint's TLS certificate (rcgen).
//!
//! This crate does not depend on `aws_signing_helper`, so the compiler keeps it from using the
//! product's signing code: the verifier is an independent implementation, and a bug in the client
//! cannot be mirrored by the endpoint.
//!
//! Embedding (as the `demo` command does):
//!
//! ```no_run
//! # async fn demo() -> Result<(), rolesanywhere_local::Error> {
//! use rolesanywhere_local::{pki, serve, Config, ServeOptions};
//!
//! let dir = std::env::temp_dir().join("ra-demo");
//! let demo = pki::generate_demo(&dir)?;
//! let config = Config::load(&demo.config)?;
//! let server = serve(config, ServeOptions { log: false, ..ServeOptions::default() }).await?;
//! println!("endpoint {} trusts CA:\n{}", server.url(), server.ca_pem().unwrap_or_default());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

// No unsafe code in this crate (as in the product); FFI, where needed, stays inside audited
// dependencies.
#![forbid(unsafe_code)]

mod arn;
mod calls;
mod canonical;
mod clock;
mod config;
pub mod demo;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod mldsa;
pub mod pki;
mod quota;
mod server;
mod session;
mod sigv4;
mod sts;
mod totp;
pub mod verify;

pub use calls::CallRecord;
pub use clock::{parse_amz_date, Clock};
pub use config::{Config, DEFAULT_DURATION_SECONDS, MAX_DURATION_SECONDS, MIN_DURATION_SECONDS};
pub use error::{ApiError, ApiErrorKind, Error};
pub use quota::{ApiStats, ParseRateLimitError, RateLimit, Stats};
pub use server::{serve, Faults, RunningServer, ServeOptions, TlsMode};

/// Converts Unix seconds to a [`std::time::SystemTime`] (for [`Clock::fixed`]).
pub fn unix_time(secs: i64) -> std::time::SystemTime {
    clock::system_time(secs)
}
