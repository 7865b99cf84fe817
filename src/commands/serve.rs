//! `serve`: validate the flags, then run the credentials endpoint until a signal stops it.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use crate::cli::ServeArgs;
use crate::error::{Error, Result};
use crate::serve::{self, Listen};
use rolesanywhere_credentials::config::Options;

/// Runs `serve`.
pub(super) fn run(args: ServeArgs) -> Result<()> {
    set_log_level(args.credentials.identity.debug, args.log.log_level);
    if let Some(path) = &args.config {
        return run_config(
            path,
            args.print_env.as_deref(),
            args.credentials.identity.debug,
            args.log.log_level,
        );
    }
    // Before any thread starts: taking the socket removes LISTEN_FDS from the environment.
    let listen = match crate::systemd::inherited_listener().map_err(Error::SocketActivation)? {
        Some(listener) => Listen::Inherited(listener),
        None => Listen::Bind(SocketAddr::new(args.address, args.port)),
    };
    let mut options = Options::from_args(args.credentials.into_engine())?;
    options.patience = args.start.start_timeout;
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

/// `serve --config FILE`: the roles the file describes, or with `--print-env ROLE` the
/// variables a workload needs to reach one of them.
fn run_config(
    path: &Path,
    print_env: Option<&str>,
    debug: bool,
    level: crate::cli::LogLevel,
) -> Result<()> {
    let config = serve::config::load(path)?;
    if let Some(role) = print_env {
        let text = serve::config::print_env(&config, role)?;
        let mut out = std::io::stdout().lock();
        return out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(Error::Output);
    }
    // The file's log-level, else the command line's.
    let cli_level = log_level(debug, level);
    rolesanywhere_credentials::log::set_level(config.log_level.map_or(cli_level, Into::into));
    // Before any thread starts: taking the socket removes LISTEN_FDS from the environment.
    let listen = match crate::systemd::inherited_listener().map_err(Error::SocketActivation)? {
        Some(listener) => Listen::Inherited(listener),
        None => Listen::Bind(SocketAddr::new(config.listen.address, config.listen.port)),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    runtime.block_on(serve::multi::run(config, listen, cli_level))
}

/// `--debug` wins over `--log-level`, so existing command lines keep their debug output.
pub(super) fn set_log_level(debug: bool, level: crate::cli::LogLevel) {
    rolesanywhere_credentials::log::set_level(log_level(debug, level));
}

fn log_level(debug: bool, level: crate::cli::LogLevel) -> rolesanywhere_credentials::log::Level {
    if debug {
        rolesanywhere_credentials::log::Level::Debug
    } else {
        level.into()
    }
}
