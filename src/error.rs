//! Every failure of the command line, one variant each: the engine's errors
//! ([`rolesanywhere_credentials::Error`]) as they are, and those of what only the command line
//! does (usage, output, `serve`'s socket, `update`'s file, `validate`'s verdict).
//!
//! A message is one line: what went wrong, the file or flag it concerns, and what to do about it.
//! Errors whose cause is another error keep it as their `source()` and their advice in
//! [`Error::hint`]; [`Error::report`] puts the three together. Messages never contain key
//! material, passwords or credentials.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use rolesanywhere_credentials::error::{ConnectCause, Operation, ServiceHint};
pub use rolesanywhere_credentials::identity::Error as IdentityError;

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A user-visible failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Getting credentials failed: an identity, a setting, the endpoint, the cache.
    #[error(transparent)]
    Engine(#[from] rolesanywhere_credentials::Error),

    /// A flag's value is invalid, flags do not make sense together, or a flag is missing.
    #[error("{0}")]
    Usage(String),

    /// The shared credentials file cannot be located.
    #[error("cannot find the credentials file: HOME is not set; set {var}")]
    NoHome {
        /// The variable that names the file instead.
        var: &'static str,
    },

    /// Writing output failed.
    #[error("cannot write output")]
    Output(#[source] io::Error),

    /// `serve` cannot listen because something else already does on that port.
    #[error("port {} on {} is in use; stop the other process or pass another --port", address.port(), address.ip())]
    PortInUse {
        /// The address `serve` tried to bind.
        address: SocketAddr,
    },

    /// `serve` cannot listen for another reason (permission, no loopback interface, ...).
    #[error("cannot listen on {address}")]
    Listen {
        /// The address `serve` tried to bind.
        address: SocketAddr,
        /// Why binding failed.
        source: io::Error,
    },

    /// `serve` was asked to listen on a non-loopback address without `--allow-non-loopback`.
    #[error("{} is not {}a loopback address: serve would hand credentials to anyone who can reach it", if *inherited { format!("the socket passed by the service manager ({address})") } else { format!("--address {}", address.ip()) }, if *inherited { "on " } else { "" })]
    NonLoopback {
        /// The address.
        address: SocketAddr,
        /// Whether it is the socket the service manager passed (socket activation).
        inherited: bool,
    },

    /// The socket the service manager passed (socket activation) cannot be served on.
    #[error(transparent)]
    SocketActivation(crate::systemd::ActivationError),

    /// The server stopped with an I/O error after it started.
    #[error("the server on {address} stopped")]
    ServerStopped {
        /// The address it was serving.
        address: SocketAddr,
        /// What failed.
        source: io::Error,
    },

    /// `serve` was told to read the container authorization token from a file it cannot use.
    #[error("{var} names {}: {detail}; put the token in that file (one line) or unset {var}", path.display())]
    TokenFile {
        /// The variable naming the file.
        var: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its contents).
        detail: String,
    },

    /// `serve --config`'s file cannot be read, a value in it is refused, or a role it
    /// describes cannot be started (its key, its token file).
    #[error("{}: {detail}", path.display())]
    ServeConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the role and the key (never a secret's value).
        detail: String,
    },

    /// `update` cannot write the shared credentials file.
    #[error("cannot write the credentials file {}", path.display())]
    WriteCredentials {
        /// The credentials file.
        path: PathBuf,
        /// Why writing failed.
        source: io::Error,
    },

    /// `validate` found a check that fails; its report is on stdout.
    #[error("validation failed: {checks} (exit {code}: {class})")]
    ValidationFailed {
        /// The failed checks, comma-separated.
        checks: String,
        /// The class of the first failure, e.g. "key mismatch".
        class: &'static str,
        /// The exit status of that class.
        code: u8,
    },

    /// A signal handler (SIGHUP for reloads) could not be installed.
    #[error("cannot install the SIGHUP handler")]
    Signal(#[source] io::Error),

    /// The credentials file (or what its symlink leads to) is a device, FIFO, directory or socket.
    #[error("{}{} is {kind}, not a regular file; set AWS_SHARED_CREDENTIALS_FILE to a regular file (or a symlink to one)", path.display(), target.as_ref().map(|t| format!(" (a symlink to {})", t.display())).unwrap_or_default())]
    CredentialsFileKind {
        /// The credentials file as named.
        path: PathBuf,
        /// Where its symlinks lead, when it is one.
        target: Option<PathBuf>,
        /// What it is, e.g. "a character device".
        kind: &'static str,
    },

    /// The credentials file is larger than any credentials file.
    #[error("{} is larger than {}, too large for a credentials file; check AWS_SHARED_CREDENTIALS_FILE", path.display(), rolesanywhere_credentials::input::size(*limit))]
    CredentialsTooLarge {
        /// The credentials file.
        path: PathBuf,
        /// The limit, in bytes.
        limit: u64,
    },

    /// The credentials file is not text.
    #[error("{} is not UTF-8 text, so not a credentials file; check AWS_SHARED_CREDENTIALS_FILE", path.display())]
    CredentialsNotText {
        /// The credentials file.
        path: PathBuf,
    },

    /// The credentials file's directory can be written by anyone.
    #[error("{} is writable by every user, any of whom could replace the credentials file in it; run chmod o-w on it, or set AWS_SHARED_CREDENTIALS_FILE to a file in a private directory", dir.display())]
    CredentialsDirUnsafe {
        /// The directory.
        dir: PathBuf,
    },

    /// Another process holds the credentials file's lock for too long.
    #[error("{} is still locked by another process after {waited} s; check for a hung update or aws_signing_helper (e.g. with fuser), then try again", path.display())]
    CredentialsLocked {
        /// The credentials file.
        path: PathBuf,
        /// How long we waited, in seconds.
        waited: u64,
    },

    /// `update` refuses to write credentials whose values could change the file's syntax.
    #[error("refusing to write the credentials into {}: {detail}; the endpoint that issued them is misbehaving", path.display())]
    UnsafeCredentials {
        /// The credentials file.
        path: PathBuf,
        /// Which value is wrong, and how (never the value of a secret).
        detail: rolesanywhere_credentials::error::Invalid,
    },

    /// The async runtime could not be started (out of threads or file descriptors).
    #[error("cannot start the async runtime")]
    Runtime(#[source] io::Error),

    /// `clear-cache` could not remove the entries.
    #[error("cannot clear the cache in {}", path.display())]
    ClearCache {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl From<IdentityError> for Error {
    fn from(error: IdentityError) -> Self {
        Error::Engine(error.into())
    }
}

impl Error {
    /// What to do about the failure, when the message does not say it itself.
    pub fn hint(&self) -> Option<String> {
        let text = match self {
            Error::Engine(e) => return e.hint(),
            Error::Listen { .. } => "pass another --port (ports below 1024 need root)",
            Error::ServerStopped { .. } => "start serve again",
            Error::NonLoopback { inherited: false, .. } => "pass --allow-non-loopback too if that is intended (the hop limit then defaults to 1), or listen on 127.0.0.1 or ::1",
            Error::NonLoopback { inherited: true, .. } => "pass --allow-non-loopback if that is intended (the hop limit then defaults to 1), or make ListenStream= in the .socket unit a loopback address such as 127.0.0.1:9911",
            Error::SocketActivation(_) => "make the .socket unit list one TCP ListenStream=, such as 127.0.0.1:9911",
            Error::WriteCredentials { .. } => "check that its directory is writable, or set AWS_SHARED_CREDENTIALS_FILE to another file",
            Error::Runtime(_) => "check the process limits (ulimit -n, -u)",
            _ => return None,
        };
        Some(text.to_string())
    }

    /// The one line a user reads: what failed, its causes, and what to do.
    pub fn report(&self) -> String {
        rolesanywhere_credentials::report::one_line(self, self.hint().as_deref())
    }

    /// The exit status: 1, as the official helper, except for `validate`'s classes of failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::ValidationFailed { code, .. } => *code,
            _ => 1,
        }
    }

    /// Whether this is a closed pipe on output (`| head`), which is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
