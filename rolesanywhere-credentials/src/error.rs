//! Every failure of getting credentials, one variant each, with what failed and the input at
//! fault as data.
//!
//! A message is one line: what went wrong, the file, setting or flag it concerns, and what to do
//! about it. Errors whose cause is another error keep it as their `source()` and their advice in
//! [`Error::hint`]; [`Error::report`] puts the three together, as the `aws_signing_helper` command
//! line prints it. Messages never contain key material, passwords or credentials.

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use crate::identity::Error as IdentityError;

/// A result whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why credentials (or an identity, or a setting) could not be had.
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

    /// The retry mode (`AWS_RETRY_MODE` or the profile's `retry_mode`) is not one.
    #[error("invalid {setting} value '{value}': use standard or adaptive")]
    RetryMode {
        /// Where it was set.
        setting: Setting,
        /// Its value.
        value: String,
    },

    /// The number of attempts (`AWS_MAX_ATTEMPTS` or the profile's `max_attempts`) is not one.
    #[error("invalid value {}={value}{}: use a whole number of attempts, 1 or more", setting.key, setting.place.as_ref().map(|p| format!(" ({p})")).unwrap_or_default())]
    MaxAttempts {
        /// Where it was set.
        setting: Setting,
        /// Its value.
        value: String,
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

    /// The async runtime could not be started (out of threads or file descriptors).
    #[error("cannot start the async runtime")]
    Runtime(#[source] io::Error),

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

    /// The endpoint could not be reached. The full URL is shown by `--debug` only: it is long,
    /// and the host and the reason are what a reader needs.
    #[error("cannot reach {host}: {detail}")]
    Connect {
        /// `host:port` we tried to reach.
        host: String,
        /// What failed (DNS, refused, TLS, ...).
        detail: String,
        /// What the failure most likely means.
        cause: ConnectCause,
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
    #[error("no answer from {host} within {seconds} s; check --endpoint and the network")]
    Timeout {
        /// `host:port` we sent the request to.
        host: String,
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
        detail: Invalid,
    },

    /// `--cache` without `--cache-dir`, and no directory to put the cache in.
    #[error("no directory for the credential cache: none of XDG_RUNTIME_DIR, XDG_CACHE_HOME and HOME is set; pass --cache-dir")]
    NoCacheDir,

    /// The cache directory (or an entry's lock) cannot be created or used.
    #[error("cannot use the cache directory {}", path.display())]
    CacheDir {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },

    /// The cache directory could be changed by someone else, so credentials are not kept there.
    #[error("refusing the cache directory {}: it {problem}", path.display())]
    CacheDirUnsafe {
        /// The directory.
        path: PathBuf,
        /// What is wrong, e.g. "is writable by group or others (mode 777)".
        problem: String,
    },

    /// Another helper held the lock of the same cache entry for too long.
    #[error("another aws_signing_helper has held the cache lock {} for {seconds} s", path.display())]
    CacheBusy {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        seconds: u64,
    },

    /// A role-chain hop needs an MFA code and none was given, with no terminal to ask on.
    #[error("an MFA code from {serial} is needed, and there is no terminal to ask for it")]
    MfaCodeNeeded {
        /// The device's serial number or ARN.
        serial: String,
    },

    /// An MFA code that is not six digits (never shown).
    #[error("the MFA code from {origin} is not 6 digits")]
    MfaCodeFormat {
        /// Where it came from.
        origin: CodeOrigin,
    },

    /// `--mfa-command` failed (the command itself is never shown: it may hold a TOTP secret).
    #[error("--mfa-command failed: {detail}")]
    MfaCommand {
        /// What went wrong (never its output).
        detail: String,
    },

    /// A SigV4 signature for STS could not be made.
    #[error("cannot sign the STS request: {detail}")]
    Signing {
        /// What aws-sigv4 said.
        detail: String,
    },
}

/// What a connection failure most likely means, to say what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectCause {
    /// The server's certificate does not chain to a trusted CA.
    UntrustedCertificate,
    /// The server's certificate is for another name.
    WrongName,
    /// The server's certificate has expired or is not valid yet.
    CertificateExpired,
    /// The server's certificate is refused for another reason (revoked, bad signature, ...).
    BadCertificate,
    /// We spoke TLS to a server that answered in plain HTTP.
    NotTls,
    /// We spoke plain HTTP to a server that expects TLS.
    ExpectsTls,
    /// Nothing listens there.
    Refused,
    /// The name does not resolve.
    UnknownHost,
    /// Anything else.
    Other,
}

/// The remote call an [`Error::Service`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// IAM Roles Anywhere `CreateSession`.
    CreateSession,
    /// STS `AssumeRole` (a role-chain hop).
    AssumeRole,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::CreateSession => "CreateSession",
            Operation::AssumeRole => "AssumeRole",
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
    /// The service does not trust the certificate's chain.
    UntrustedChain,
    /// The role is not one of the profile's.
    RoleNotInProfile,
    /// The trust anchor or profile is disabled.
    Disabled,
    /// The request was signed for another region than the service's.
    WrongRegion,
    /// Access denied for another reason: trust, configuration or policy.
    AccessDenied,
    /// A resource does not exist in the region.
    NotFound {
        /// The region signed for.
        region: String,
    },
    /// A parameter was refused.
    Validation,
    /// AssumeRole was denied: the target's trust policy (or a condition in it) refused.
    TrustPolicy {
        /// The role to assume.
        role: String,
        /// The role whose session asked.
        caller: String,
        /// Whether an external ID was sent.
        external_id: bool,
        /// Whether an MFA code was sent.
        mfa: bool,
    },
    /// STS refused the MFA code.
    MfaRefused {
        /// Where the code came from.
        origin: Option<CodeOrigin>,
    },
    /// The duration is over what a chained session may last.
    ChainingLimit,
    /// The previous hop's credentials expired before STS saw them.
    PreviousExpired,
    /// STS does not accept the previous hop's credentials.
    PreviousInvalid,
    /// STS is not activated in the region.
    RegionDisabled {
        /// The STS region.
        region: String,
    },
    /// An AssumeRole parameter was refused.
    AssumeRoleValidation,
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
            ServiceHint::UntrustedChain => f.write_str(
                "check that the certificate chains to the trust anchor's CA (pass \
                 --intermediates if an intermediate CA issued it)",
            ),
            ServiceHint::RoleNotInProfile => f.write_str(
                "check that --role-arn names a role the profile lists, and that the role's trust \
                 policy trusts rolesanywhere.amazonaws.com",
            ),
            ServiceHint::Disabled => f.write_str("enable the trust anchor and the profile"),
            ServiceHint::WrongRegion => f.write_str(
                "sign for the region of the trust anchor and profile: leave --region out (it \
                 defaults to the trust anchor ARN's region) or make it theirs",
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
            ServiceHint::TrustPolicy {
                role,
                caller,
                external_id,
                mfa,
            } => {
                write!(
                    f,
                    "the trust policy of {role} must allow sts:AssumeRole for {caller}"
                )?;
                match (external_id, mfa) {
                    (false, false) => f.write_str(
                        "; if it asks for an external ID or MFA, add external_id= or \
                         mfa_serial= to --assume-role",
                    ),
                    (true, false) => f.write_str(", and the external ID must be the one it asks for"),
                    (false, true) => f.write_str(", with MFA"),
                    (true, true) => f.write_str(
                        ", with MFA, and the external ID must be the one it asks for",
                    ),
                }
            }
            ServiceHint::MfaRefused { origin } => {
                f.write_str(
                    "the MFA code is wrong, expired or already used, or mfa_serial is not the \
                     device's; give a fresh code",
                )?;
                if origin == &Some(CodeOrigin::Environment) {
                    f.write_str(
                        " (a code in AWS_SIGNING_HELPER_MFA_CODE works once: --mfa-command gives \
                         a new one each time)",
                    )?;
                }
                Ok(())
            }
            ServiceHint::ChainingLimit => f.write_str(
                "a role assumed with another role's session lasts at most 3600 seconds: lower \
                 duration_seconds",
            ),
            ServiceHint::PreviousExpired => f.write_str(
                "the previous hop's credentials expired: check this machine's clock, and run \
                 aws_signing_helper clear-cache if they came from the cache",
            ),
            ServiceHint::PreviousInvalid => f.write_str(
                "STS does not know the previous hop's credentials: check --sts-endpoint and \
                 that every role is in the same partition",
            ),
            ServiceHint::RegionDisabled { region } => write!(
                f,
                "STS is not activated in {region} for this account: activate it (IAM account \
                 settings) or pass another --sts-region"
            ),
            ServiceHint::AssumeRoleValidation => f.write_str(
                "check the --assume-role fields: the role ARN, role_session_name, \
                 duration_seconds (900 to 3600), external_id and mfa_serial",
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
            Error::Connect { cause, .. } => match cause {
                ConnectCause::UntrustedCertificate => "the endpoint's TLS certificate is not signed by a CA this machine trusts: set AWS_CA_BUNDLE to a PEM file holding that CA (or, for a test endpoint only, pass --no-verify-ssl)",
                ConnectCause::WrongName => "the endpoint's TLS certificate is for another host name: check --endpoint (or AWS_ENDPOINT_URL)",
                ConnectCause::CertificateExpired => "the endpoint's TLS certificate is outside its validity period: check this machine's clock, or have the endpoint's certificate renewed",
                ConnectCause::BadCertificate => "the endpoint's TLS certificate is refused: check the endpoint's certificate and AWS_CA_BUNDLE",
                ConnectCause::NotTls => "the endpoint answers in plain HTTP: use an http:// URL with --endpoint if that is intended",
                ConnectCause::ExpectsTls => "the endpoint expects HTTPS: use an https:// URL with --endpoint",
                ConnectCause::Refused => "nothing listens there: check --endpoint (or AWS_ENDPOINT_URL) and that the endpoint is running",
                ConnectCause::UnknownHost => "the host name does not resolve: check --endpoint, --region and DNS",
                ConnectCause::Other => "check --endpoint, the network and, behind a proxy, --with-proxy",
            },
            Error::Runtime(_) => "check the process limits (ulimit -n, -u)",
            Error::CacheDir { .. } => "pass another --cache-dir",
            Error::CacheDirUnsafe { .. } => {
                "make it yours and private (chown, chmod 700), as ssh requires of ~/.ssh, or pass another --cache-dir"
            }
            Error::CacheBusy { .. } => {
                "it may be waiting for an MFA code or a slow endpoint; try again, or run without --cache"
            }
            Error::MfaCodeNeeded { .. } => {
                "set AWS_SIGNING_HELPER_MFA_CODE, or pass --mfa-command with a command that prints a code (such as oathtool --totp or ykman oath accounts code)"
            }
            Error::MfaCodeFormat { .. } => "give the 6 digits the device shows",
            Error::MfaCommand { .. } => {
                "run the command by hand: it must print the 6-digit code on its first line"
            }
            _ => return None,
        };
        Some(text.to_string())
    }

    /// The one line a user reads: what failed, its causes, and what to do.
    pub fn report(&self) -> String {
        crate::report::one_line(self, self.hint().as_deref())
    }
}

/// Where a retry setting was read (`AWS_RETRY_MODE`, `AWS_MAX_ATTEMPTS`, or a key of the shared
/// config file), for [`Error::RetryMode`] and [`Error::MaxAttempts`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Setting {
    /// The variable or key.
    pub key: &'static str,
    /// For a key: `in profile NAME of FILE`.
    pub place: Option<String>,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            None => f.write_str(self.key),
            Some(place) => write!(f, "{} ({place})", self.key),
        }
    }
}

/// Where an MFA code came from, for messages about it (never the code itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeOrigin {
    /// `token_code=` of `--assume-role`.
    Hop,
    /// `--mfa-command`.
    Command,
    /// `AWS_SIGNING_HELPER_MFA_CODE`.
    Environment,
    /// Typed at the terminal.
    Terminal,
    /// A library caller's callback.
    Callback,
}

impl fmt::Display for CodeOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CodeOrigin::Hop => "token_code= of --assume-role",
            CodeOrigin::Command => "--mfa-command",
            CodeOrigin::Environment => "AWS_SIGNING_HELPER_MFA_CODE",
            CodeOrigin::Terminal => "the terminal",
            CodeOrigin::Callback => "the MFA callback",
        })
    }
}

/// What is wrong with a set of credentials an endpoint issued. The text names the field and the
/// rule, never the value of a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(pub(crate) String);

impl Invalid {
    /// A problem described by `text`, which must not contain a secret.
    pub fn new(text: impl Into<String>) -> Invalid {
        Invalid(text.into())
    }
}

impl std::error::Error for Invalid {}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
