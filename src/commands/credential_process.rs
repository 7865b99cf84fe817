//! `credential-process`: one CreateSession call, the credential_process JSON on stdout.

use std::io::Write;

use crate::cli::CredentialArgs;
use crate::credentials::rolesanywhere::{Reload, RolesAnywhere};
use crate::credentials::CredentialSource;
use crate::error::{Error, Result};
use crate::options::Options;

/// Runs `credential-process`.
pub(super) fn run(args: CredentialArgs) -> Result<()> {
    crate::log::set_enabled(args.identity.debug);
    let options = Options::from_args(args)?;
    // The key is checked against the certificate here, before anything is sent.
    let mut source = RolesAnywhere::new(options, Reload::Never)?;
    // One request: a single-threaded runtime with sockets and timers only (no signal driver and
    // its socket pair) starts fastest.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(Error::Runtime)?;
    let issued = runtime.block_on(source.fetch())?;
    let json = issued.credentials.to_process_json();
    let mut out = std::io::stdout().lock();
    out.write_all(json.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}
