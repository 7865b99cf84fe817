//! One function per subcommand; [`run`] dispatches to them.

mod clear_cache;
mod credential_process;
mod read_certificate_data;
mod serve;
mod sign_string;
mod update;
mod validate;

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::error::{Error, Result};

/// This helper's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The official `aws_signing_helper` release whose commands, flags and outputs this one matches.
pub const COMPATIBLE_WITH: &str = "1.8.0";

/// What `version` (and `--version`) prints: one line whose first word is this helper's plain
/// version, as the official helper's whole line is its version, so scripts that take the first
/// word (`awk '{print $1}'`, `cut -d' ' -f1`) keep working.
pub fn version_line() -> String {
    format!("{VERSION} (compatible with aws_signing_helper {COMPATIBLE_WITH})")
}

/// Runs the parsed command line.
///
/// # Errors
/// Whatever the command failed with; the caller prints it and exits non-zero.
pub fn run(cli: Cli) -> Result<()> {
    // Before any thread starts: it sets an environment variable.
    rolesanywhere_credentials::identity::quiet_tpm_library_logs();
    if cli.version {
        let mut out = std::io::stdout().lock();
        return writeln!(out, "{}", version_line()).map_err(Error::Output);
    }
    match cli.command {
        None => {
            // The official helper prints its help and succeeds when given no command.
            Cli::command().print_help().map_err(Error::Output)?;
            Ok(())
        }
        Some(Command::Version) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", version_line()).map_err(Error::Output)
        }
        Some(Command::SignString(args)) => sign_string::run(args),
        Some(Command::ReadCertificateData(args)) => read_certificate_data::run(args),
        Some(Command::CredentialProcess(args)) => credential_process::run(args),
        Some(Command::Serve(args)) => serve::run(args),
        Some(Command::Update(args)) => update::run(args),
        Some(Command::Validate(args)) => validate::run(args),
        Some(Command::ClearCache(args)) => clear_cache::run(args),
    }
}
