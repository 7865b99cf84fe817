//! One function per subcommand; [`run`] dispatches to them.

mod read_certificate_data;
mod sign_string;

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, Command, IdentityArgs};
use crate::error::{Error, Result};
use crate::identity::{Secret, SourceArgs};

/// The version `version` prints.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the parsed command line.
///
/// # Errors
/// Whatever the command failed with; the caller prints it and exits non-zero.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => {
            // The official helper prints its help and succeeds when given no command.
            Cli::command().print_help().map_err(Error::Output)?;
            Ok(())
        }
        Some(Command::Version) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{VERSION}").map_err(Error::Output)
        }
        Some(Command::SignString(args)) => sign_string::run(args),
        Some(Command::ReadCertificateData(args)) => read_certificate_data::run(args),
        Some(Command::CredentialProcess(_)) | Some(Command::Serve(_)) | Some(Command::Update(_)) => {
            Err(Error::Unsupported(
                "this command is not available in this build yet".into(),
            ))
        }
    }
}

/// The identity flags as the key-source chooser wants them.
fn source_args(identity: IdentityArgs, intermediates: Option<String>) -> SourceArgs {
    SourceArgs {
        certificate: identity.certificate,
        private_key: identity.private_key,
        intermediates,
        password: identity.pkcs8_password.map(Secret::new),
        pkcs11_lib: identity.pkcs11_lib,
        tpm: identity.tpm_key_password.is_some() || identity.no_tpm_key_password,
        cert_selector: identity.cert_selector,
    }
}
