//! `credential-process`: the credential_process JSON on stdout, from CreateSession (and any
//! `--assume-role` hops), or from the cache with `--cache`.

use std::io::Write;

use crate::cli::CredentialProcessArgs;
use crate::error::{Error, Result};
use rolesanywhere_credentials::config::Options;
use rolesanywhere_credentials::pipeline;
use rolesanywhere_credentials::pipeline::cache::CacheDir;

/// Runs `credential-process`.
pub(super) fn run(args: CredentialProcessArgs) -> Result<()> {
    rolesanywhere_credentials::log::set_enabled(args.credentials.identity.debug);
    let options = Options::from_args(args.credentials.into_engine())?;
    let cache = if args.cache.cache || args.cache.cache_dir.is_some() {
        Some(CacheDir::open(CacheDir::locate(args.cache.cache_dir)?)?)
    } else {
        None
    };
    // Without the cache the key is checked against the certificate before anything is sent;
    // with it, only when the cache cannot answer. One fetch and done: the engine makes the call
    // on this thread, with the least set-up that call needs (`pipeline::fetch_once`).
    let issued = pipeline::fetch_once(options, cache.as_ref())?;
    let json = issued.credentials.to_process_json();
    let mut out = std::io::stdout().lock();
    out.write_all(json.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}
