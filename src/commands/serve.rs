//! `serve`: validate the flags, then run the credentials endpoint until a signal stops it.

use crate::cli::ServeArgs;
use crate::error::{Error, Result};
use crate::options::Options;
use crate::serve;

/// Runs `serve`.
pub(super) fn run(args: ServeArgs) -> Result<()> {
    crate::log::set_enabled(args.credentials.identity.debug);
    let options = Options::from_args(args.credentials)?;
    // One thread is plenty: handlers only read shared state, and the refresh is mostly waiting.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(serve::run(options, args.port, args.hop_limit))
}
