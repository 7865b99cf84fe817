//! `serve`: validate the flags, then run the credentials endpoint until a signal stops it.

use std::net::SocketAddr;

use crate::cli::ServeArgs;
use crate::error::{Error, Result};
use crate::serve::{self, Listen};
use rolesanywhere_credentials::config::Options;

/// Runs `serve`.
pub(super) fn run(args: ServeArgs) -> Result<()> {
    set_log_level(args.credentials.identity.debug, args.log.log_level);
    // Before any thread starts: taking the socket removes LISTEN_FDS from the environment.
    let listen = match crate::systemd::inherited_listener().map_err(Error::SocketActivation)? {
        Some(listener) => Listen::Inherited(listener),
        None => Listen::Bind(SocketAddr::new(args.address, args.port)),
    };
    let options = Options::from_args(args.credentials.into_engine())?;
    // One thread is plenty: handlers only read shared state, and the refresh is mostly waiting.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(serve::run(
        options,
        listen,
        args.hop_limit,
        args.allow_non_loopback,
    ))
}

/// `--debug` wins over `--log-level`, so existing command lines keep their debug output.
pub(super) fn set_log_level(debug: bool, level: crate::cli::LogLevel) {
    rolesanywhere_credentials::log::set_level(if debug {
        rolesanywhere_credentials::log::Level::Debug
    } else {
        level.into()
    });
}
