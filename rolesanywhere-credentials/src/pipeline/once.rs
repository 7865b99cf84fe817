//! One fetch and done: what `credential-process` runs, on the calling thread.
//!
//! A process that asks for one set of credentials and exits pays for everything it sets up,
//! every time it starts. So without a proxy, CreateSession goes over a connection of its own on
//! the calling thread ([`crate::net::blocking`]) rather than through reqwest, and the runtime
//! that drives the pipeline (the cache's waits, the retries' pauses) has a timer only; an I/O
//! driver is added when something needs it: `--assume-role` hops (STS through reqwest, MFA
//! commands) or `--with-proxy` (CreateSession through reqwest too).

use super::cache::CacheDir;
use super::{build_with, First, Reload};
use crate::config::Options;
use crate::credentials::Issued;
use crate::error::{Error, Result};

/// Fetches credentials once, as [`build`](super::build) with [`Reload::Never`] and one
/// [`fetch`](crate::credentials::CredentialSource::fetch) would, blocking the calling thread
/// until they are had or the last attempt failed. With `cache`, a fresh entry answers first.
///
/// Call it from synchronous code: it starts a runtime of its own, which cannot be done from
/// within another one.
///
/// # Errors
/// Whatever building the pipeline or the fetch failed with; [`Error::Runtime`] when the runtime
/// cannot start.
pub fn fetch_once(options: Options, cache: Option<&CacheDir>) -> Result<Issued> {
    let needs_io = !options.chain.is_empty() || options.http.with_proxy;
    let first = if options.http.with_proxy {
        First::Client
    } else {
        First::Blocking
    };
    let mut source = build_with(options, Reload::Never, cache, first)?;
    let mut runtime = tokio::runtime::Builder::new_current_thread();
    runtime.enable_time();
    if needs_io {
        runtime.enable_io();
    }
    let runtime = runtime.build().map_err(Error::Runtime)?;
    runtime.block_on(source.fetch())
}
