//! Every failure a user can see, one variant each.
//!
//! A message is one line: what went wrong, the file or flag it concerns, and what to do about it.
//! Messages never contain key material, passwords or credentials: a bad key file is reported by
//! its path (and PEM block number), never by its contents.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Shorthand used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A user-visible failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read {}: {source}; check the path and its permissions", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },

    /// A file we need is empty.
    #[error("{} is empty; expected {expected}", path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
        /// What should have been in it.
        expected: &'static str,
    },

    /// PEM armor is damaged (unterminated block, bad base64, ...).
    #[error("{} is not valid PEM: {detail}; re-export the file or check that it was not truncated", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it (never its contents).
        detail: String,
    },

    /// A file that should hold a certificate holds none.
    #[error("{} contains no certificate; pass a PEM or DER X.509 certificate", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },

    /// A certificate could not be parsed.
    #[error("{}: certificate {index} cannot be parsed ({detail}); the file may be corrupt", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// 1-based position of the certificate within the file.
        index: usize,
        /// Parser message.
        detail: String,
    },

    /// A file that should hold a private key holds none.
    #[error("{} contains no private key; pass a PEM or DER PKCS#1, SEC1 or PKCS#8 key with --private-key", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },

    /// A private key could not be parsed.
    #[error("{}: the private key cannot be parsed ({detail}); the file may be corrupt", path.display())]
    PrivateKey {
        /// The file.
        path: PathBuf,
        /// Parser message (never key bytes).
        detail: String,
    },

    /// An encrypted key or bundle and no way to get its password.
    #[error("{} is encrypted and no password was given; pass it with --pkcs8-password", path.display())]
    PasswordRequired {
        /// The file.
        path: PathBuf,
    },

    /// The password does not decrypt the key or bundle.
    #[error("{}: wrong password (or unsupported encryption); check --pkcs8-password", path.display())]
    WrongPassword {
        /// The file.
        path: PathBuf,
    },

    /// A key or certificate of a type IAM Roles Anywhere cannot use.
    #[error("{}: unsupported key type {what}; IAM Roles Anywhere accepts RSA and EC P-256, P-384 or P-521 keys", path.display())]
    UnsupportedKey {
        /// The file.
        path: PathBuf,
        /// The key type or curve found.
        what: String,
    },

    /// The private key does not belong to the certificate.
    #[error("the private key in {} does not match the certificate in {}; pass the key that was used to request that certificate", key.display(), certificate.display())]
    KeyMismatch {
        /// Where the key came from.
        key: PathBuf,
        /// Where the certificate came from.
        certificate: PathBuf,
    },

    /// A PKCS#12 bundle could not be opened.
    #[error("{}: cannot open PKCS#12 bundle ({detail})", path.display())]
    Pkcs12 {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },

    /// No PKCS#11 module could be loaded.
    #[error("cannot load the PKCS#11 module {module} ({how}): {detail}; install it, or pass the module's path with --pkcs11-lib")]
    Pkcs11Module {
        /// The module path or name we tried.
        module: String,
        /// Where that name came from.
        how: &'static str,
        /// The loader's or C_Initialize's message.
        detail: String,
    },

    /// A PKCS#11 URI that does not parse.
    #[error(
        "invalid PKCS#11 URI {uri}: {detail}; see RFC 7512, e.g. pkcs11:token=NAME;object=LABEL"
    )]
    Pkcs11Uri {
        /// The URI, PIN blanked out.
        uri: String,
        /// What is wrong with it.
        detail: String,
    },

    /// Nothing in the tokens matches a URI.
    #[error("no {what} matches {uri}{detail}; list the objects with `p11tool --list-all` or `pkcs11-tool -O` and fix the URI")]
    Pkcs11NotFound {
        /// `"certificate"`, `"private key"`, `"token"`, ...
        what: &'static str,
        /// The URI, PIN blanked out.
        uri: String,
        /// Where we looked, starting with its own separator.
        detail: String,
    },

    /// Several tokens or objects match a URI that must name one.
    #[error("{count} {what} match {uri}: {candidates}; add attributes (id=, object=, token=) to pick one")]
    Pkcs11Ambiguous {
        /// How many matched.
        count: usize,
        /// `"certificates"`, `"private keys"` or `"tokens"`.
        what: &'static str,
        /// The URI, PIN blanked out.
        uri: String,
        /// The candidates' URIs, comma-separated.
        candidates: String,
    },

    /// A token needs its PIN and nothing provides it.
    #[error("token {token} needs its PIN and there is no terminal to ask for it; add pin-source=FILE to the URI or set AWS_SIGNING_HELPER_PKCS11_PIN")]
    Pkcs11PinRequired {
        /// The token.
        token: String,
    },

    /// The token refused the PIN.
    #[error(
        "wrong PIN for token {token} (from {from}); check it: tokens lock after a few failures"
    )]
    Pkcs11WrongPin {
        /// The token.
        token: String,
        /// Where the PIN came from (never the PIN).
        from: String,
    },

    /// A key asks for its PIN at every signature and nothing provides it.
    #[error("private key {key} asks for its PIN at every signature (CKA_ALWAYS_AUTHENTICATE) and there is no terminal to ask for it; pass --reuse-pin if it is the token's PIN")]
    Pkcs11ContextPinRequired {
        /// The key's URI.
        key: String,
    },

    /// A key asks for its PIN at every signature and refused the token's PIN (`--reuse-pin`).
    #[error("private key {key} asks for its PIN at every signature (CKA_ALWAYS_AUTHENTICATE) and refused the token's PIN given by --reuse-pin; its own PIN can only be typed: run the helper from a terminal")]
    Pkcs11ContextPinRefused {
        /// The key's URI.
        key: String,
    },

    /// The session or token went away and the key could not be found again.
    #[error("signing with {key} failed ({cause}) and finding the key again failed: {detail}; check that the token is inserted: the helper tries again at the next signature")]
    Pkcs11Reconnect {
        /// The key's URI as found at start.
        key: String,
        /// The return value that lost the session, as `CKR_...`.
        cause: String,
        /// Why finding it again failed.
        detail: String,
    },

    /// A PKCS#11 call failed.
    #[error("PKCS#11 {call} failed: {detail}")]
    Pkcs11 {
        /// The call and the token.
        call: String,
        /// The return value, as `CKR_...`.
        detail: String,
    },

    /// Something the user asked for needs a capability this build does not have.
    #[error("{0}")]
    Unsupported(String),

    /// Flags that do not make sense together, or a missing flag.
    #[error("{0}")]
    Usage(String),

    /// The key refused to sign.
    #[error("signing failed: {0}")]
    Sign(String),

    /// The Roles Anywhere (or STS) endpoint answered with an error.
    #[error("CreateSession failed: {error_type} (HTTP {status}): {message}{hint}")]
    Service {
        /// HTTP status.
        status: u16,
        /// The service's error type, e.g. `AccessDeniedException`.
        error_type: String,
        /// The service's message, on one line.
        message: String,
        /// `"; "` and what to check, or empty.
        hint: String,
    },

    /// The endpoint could not be reached.
    #[error("cannot reach {url}: {detail}; check --endpoint, the network and, behind a proxy, --with-proxy")]
    Connect {
        /// Where we tried to connect.
        url: String,
        /// What failed (DNS, refused, TLS, ...).
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

    /// Writing output failed.
    #[error("cannot write output: {0}")]
    Output(#[source] io::Error),

    /// `serve` cannot listen because something else already does on that port.
    #[error("port {} on {} is in use; stop the other process or pass another --port", address.port(), address.ip())]
    PortInUse {
        /// The address `serve` tried to bind.
        address: SocketAddr,
    },

    /// `serve` cannot listen for another reason (permission, no loopback interface, ...).
    #[error(
        "cannot listen on {address}: {source}; pass another --port (ports below 1024 need root)"
    )]
    Listen {
        /// The address `serve` tried to bind.
        address: SocketAddr,
        /// Why binding failed.
        source: io::Error,
    },

    /// The server stopped with an I/O error after it started.
    #[error("the server on {address} stopped: {source}; start serve again")]
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
    #[error("cannot write the credentials file {}: {source}; check that its directory is writable, or set AWS_SHARED_CREDENTIALS_FILE to another file", path.display())]
    WriteCredentials {
        /// The credentials file.
        path: PathBuf,
        /// Why writing failed.
        source: io::Error,
    },

    /// The async runtime could not be started (out of threads or file descriptors).
    #[error("cannot start the async runtime: {0}; check the process limits (ulimit -n, -u)")]
    Runtime(#[source] io::Error),
}

impl Error {
    /// Builds a [`Error::ReadFile`] for `path`.
    pub fn read(path: &Path, source: io::Error) -> Self {
        Error::ReadFile {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Builds a [`Error::Pem`] for `path`.
    pub fn pem(path: &Path, detail: impl fmt::Display) -> Self {
        Error::Pem {
            path: path.to_path_buf(),
            detail: detail.to_string(),
        }
    }

    /// Builds a [`Error::PrivateKey`] for `path`.
    pub fn private_key(path: &Path, detail: impl fmt::Display) -> Self {
        Error::PrivateKey {
            path: path.to_path_buf(),
            detail: detail.to_string(),
        }
    }

    /// Builds a [`Error::UnsupportedKey`] for `path`.
    pub fn unsupported_key(path: &Path, what: impl fmt::Display) -> Self {
        Error::UnsupportedKey {
            path: path.to_path_buf(),
            what: what.to_string(),
        }
    }
}
