//! Every failure a user can see, one variant each.
//!
//! A message is one line: what went wrong, the file or flag it concerns, and what to do about it.
//! Errors whose cause is another error keep it as their `source()` and their advice in
//! [`Error::hint`]; [`Error::report`] puts the three together. Messages never contain key
//! material, passwords or credentials.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use crate::identity::Error as IdentityError;

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A user-visible failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The certificate or key could not be found, opened or used.
    #[error(transparent)]
    Identity(#[from] IdentityError),

    /// A flag's value is invalid, flags do not make sense together, or a flag is missing.
    #[error("{0}")]
    Usage(String),

    /// A setting read from the environment is invalid.
    #[error("{var}='{value}' {expected}")]
    Environment {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What it must be, e.g. "must be a whole number of seconds above 0".
        expected: &'static str,
    },

    /// The shared credentials file cannot be located.
    #[error("cannot find the credentials file: HOME is not set; set {var}")]
    NoHome {
        /// The variable that names the file instead.
        var: &'static str,
    },

    /// `AWS_CA_BUNDLE` holds a certificate rustls cannot use as a trust root.
    #[error("AWS_CA_BUNDLE {}: {detail}", path.display())]
    CaBundle {
        /// The bundle.
        path: PathBuf,
        /// What rustls said.
        detail: String,
    },

    /// TLS could not be set up.
    #[error("TLS setup failed: {0}")]
    Tls(String),

    /// No trust root can verify servers.
    #[error("no usable TLS trust roots: {0}")]
    TrustRoots(String),

    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client")]
    HttpClient(#[source] reqwest::Error),

    /// The Roles Anywhere (or STS) endpoint answered with an error.
    #[error("{operation} failed: {error_type} (HTTP {status}): {message}")]
    Service {
        /// The call that failed.
        operation: Operation,
        /// HTTP status.
        status: u16,
        /// The service's error type, e.g. `AccessDeniedException`.
        error_type: String,
        /// The service's message, on one line.
        message: String,
        /// What to check, chosen from the status, type and message.
        hint: Option<ServiceHint>,
    },

    /// The endpoint could not be reached.
    #[error("cannot reach {url}: {detail}; check --endpoint, the network and, behind a proxy, --with-proxy")]
    Connect {
        /// Where we tried to connect.
        url: String,
        /// What failed (DNS, refused, TLS, ...).
        detail: String,
    },

    /// The endpoint's TLS certificate was refused.
    #[error("the TLS certificate of {url} is not accepted: {detail}; {hint}")]
    ServerCertificate {
        /// Where we connected.
        url: String,
        /// rustls' verdict.
        detail: String,
        /// What to check for that verdict.
        hint: &'static str,
    },

    /// The endpoint's answer broke off before its end.
    #[error("the answer from {url} broke off: {detail}; check the network and, behind a proxy, --with-proxy")]
    Truncated {
        /// Where it came from.
        url: String,
        /// What the connection said.
        detail: String,
    },

    /// The endpoint did not answer in time.
    #[error("no answer from {url} within {seconds} s; check --endpoint and the network")]
    Timeout {
        /// Where we sent the request.
        url: String,
        /// The timeout.
        seconds: u64,
    },

    /// The endpoint answered with something that is not a CreateSession response.
    #[error("unexpected answer from {url}: {detail}; is --endpoint a Roles Anywhere endpoint?")]
    BadResponse {
        /// Where it came from.
        url: String,
        /// What is wrong with it.
        detail: String,
    },

    /// The endpoint issued credentials that cannot be used (malformed, expired, or about to).
    #[error("{url} issued unusable credentials: {detail}; the endpoint is at fault: check --endpoint, or tell whoever runs it")]
    InvalidCredentials {
        /// Where they came from.
        url: String,
        /// What is wrong with them (never the value of a secret).
        detail: crate::credentials::validate::Invalid,
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

    /// `update` cannot write the shared credentials file.
    #[error("cannot write the credentials file {}", path.display())]
    WriteCredentials {
        /// The credentials file.
        path: PathBuf,
        /// Why writing failed.
        source: io::Error,
    },

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
    #[error("{} is larger than {}, too large for a credentials file; check AWS_SHARED_CREDENTIALS_FILE", path.display(), crate::input::size(*limit))]
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
        detail: crate::credentials::validate::Invalid,
    },

    /// The async runtime could not be started (out of threads or file descriptors).
    #[error("cannot start the async runtime")]
    Runtime(#[source] io::Error),
}

/// The remote call an [`Error::Service`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// IAM Roles Anywhere `CreateSession`.
    CreateSession,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::CreateSession => "CreateSession",
        })
    }
}

/// What to check after a service error, chosen by the error's status, type and message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceHint {
    /// Throttled on every attempt.
    Throttled {
        /// Attempts made.
        attempts: u32,
    },
    /// 5xx on every attempt.
    ServerFailed {
        /// Attempts made.
        attempts: u32,
    },
    /// Access denied and the certificate has expired.
    CertificateExpired {
        /// Its notAfter, RFC 3339.
        at: String,
    },
    /// Access denied and the certificate is not valid yet.
    CertificateNotYetValid {
        /// Its notBefore, RFC 3339.
        from: String,
    },
    /// The service complained about the time.
    Clock,
    /// Access denied for another reason: trust, configuration or policy.
    AccessDenied,
    /// A resource does not exist in the region.
    NotFound {
        /// The region signed for.
        region: String,
    },
    /// A parameter was refused.
    Validation,
}

impl fmt::Display for ServiceHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceHint::Throttled { attempts } => {
                write!(f, "still throttled after {attempts} attempts: try again later")
            }
            ServiceHint::ServerFailed { attempts } => {
                write!(f, "the service failed {attempts} times: try again later")
            }
            ServiceHint::CertificateExpired { at } => {
                write!(f, "the certificate expired on {at}: renew it")
            }
            ServiceHint::CertificateNotYetValid { from } => write!(
                f,
                "the certificate is not valid until {from}: check this machine's clock"
            ),
            ServiceHint::Clock => f.write_str(
                "check this machine's clock: it must be within 5 minutes of AWS time",
            ),
            ServiceHint::AccessDenied => f.write_str(
                "check that the certificate chains to the trust anchor (pass --intermediates if \
                 an intermediate CA issued it), that the trust anchor and profile are enabled, \
                 that the profile lists the role, and that the role's trust policy trusts \
                 rolesanywhere.amazonaws.com for this certificate",
            ),
            ServiceHint::NotFound { region } => write!(
                f,
                "check that the trust anchor and profile exist in {region} (see --region and --endpoint)"
            ),
            ServiceHint::Validation => f.write_str(
                "check the ARNs, --session-duration (900 up to the profile's limit) and \
                 --role-session-name (only accepted when the profile allows it)",
            ),
        }
    }
}

impl Error {
    /// What to do about the failure, when the message does not say it itself.
    pub fn hint(&self) -> Option<String> {
        let text = match self {
            Error::Identity(e) => return e.hint().map(str::to_string),
            Error::Service { hint, .. } => return hint.as_ref().map(ToString::to_string),
            Error::Listen { .. } => "pass another --port (ports below 1024 need root)",
            Error::ServerStopped { .. } => "start serve again",
            Error::WriteCredentials { .. } => "check that its directory is writable, or set AWS_SHARED_CREDENTIALS_FILE to another file",
            Error::Runtime(_) => "check the process limits (ulimit -n, -u)",
            _ => return None,
        };
        Some(text.to_string())
    }

    /// The one line a user reads: what failed, its causes, and what to do.
    pub fn report(&self) -> String {
        crate::report::one_line(self, self.hint().as_deref())
    }

    /// Whether this is a closed pipe on output (`| head`), which is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
