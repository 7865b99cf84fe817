//! `credential-process`: one CreateSession call, the credential_process JSON on stdout.

use std::io::Write;

use crate::cli::CredentialArgs;
use crate::error::{Error, Result};
use crate::options::Options;
use crate::session;

/// Runs `credential-process`.
pub(super) fn run(args: CredentialArgs) -> Result<()> {
    crate::log::set_enabled(args.identity.debug);
    let options = Options::from_args(args)?;
    // The key is checked against the certificate here, before anything is sent.
    let signer = options.source.open()?;
    let client = session::http_client(&options.http, Some(&options.request.endpoint))?;
    // One request: a single-threaded runtime with sockets and timers only (no signal driver and
    // its socket pair) starts fastest.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(Error::Runtime)?;
    let credentials = runtime.block_on(session::create_session(
        &client,
        signer.as_ref(),
        &options.request,
        options.http.timeout,
    ))?;
    let json = credentials.to_process_json();
    let mut out = std::io::stdout().lock();
    out.write_all(json.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}
