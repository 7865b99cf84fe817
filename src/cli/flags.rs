//! The command line's definitions, flag for flag as the official `aws_signing_helper` v1.8
//! spells them.
//!
//! These structs are deliberately dumb: clap fills them and nothing here does I/O. Turning them
//! into validated options happens in the engine (`rolesanywhere_credentials::config::Options`),
//! after [`super::convert`] hands the flags over. Boolean flags accept `--flag`, `--flag=true`
//! and `--flag=false`, as Go's pflag does, so existing `credential_process` lines keep working.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The credential helper: trades an X.509 certificate and its private key for temporary AWS
/// credentials through IAM Roles Anywhere.
#[derive(Debug, Parser)]
#[command(
    name = "aws_signing_helper",
    about = "The credential helper is a tool to retrieve temporary AWS credentials",
    long_about = "A tool that uses certificates and their private keys to sign requests to AWS IAM \
                  Roles Anywhere's CreateSession API and retrieve temporary AWS security \
                  credentials. Drop-in replacement for the official aws_signing_helper.",
    disable_version_flag = true
)]
pub struct Cli {
    /// The command to run; without one, help is printed.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Print the version number of the credential helper (as the `version` command)
    #[arg(short = 'V', long = "version")]
    pub version: bool,
}

/// The environment variables every credential command reads (`after_help` of
/// credential-process, serve and update). Each line stays under 80 columns, so that clap's
/// wrapping never breaks the layout.
macro_rules! credential_env {
    () => {
        "Environment:
  AWS_ENDPOINT_URL_ROLESANYWHERE, AWS_ENDPOINT_URL
      The CreateSession endpoint, when --endpoint is not given.
  AWS_USE_FIPS_ENDPOINT=true, AWS_USE_DUALSTACK_ENDPOINT=true
      The region's FIPS or dual-stack (IPv6) endpoint.
  AWS_CA_BUNDLE
      CA certificates to trust for the endpoint, tried before the system's.
  HTTPS_PROXY, NO_PROXY
      The proxy to use, with --with-proxy only.
  AWS_SIGNING_HELPER_HTTP_TIMEOUT
      Seconds each attempt of a call may take (default 30).
"
    };
}

/// The environment variables of commands that open a key.
macro_rules! key_env {
    () => {
        "  AWS_SIGNING_HELPER_PKCS11_PIN
      The PKCS#11 token's PIN, when the URI has no pin-value or pin-source.
"
    };
}

/// The environment variables of commands that keep credentials fresh.
macro_rules! refresh_env {
    () => {
        "  AWS_SIGNING_HELPER_REFRESH_WINDOW
      Refresh at the latest this many seconds before the credentials expire
      (default 300); each refresh is drawn at random from the sixth of their
      life before that.
"
    };
}

/// The environment variables of the long-running commands (`serve`, `update`).
macro_rules! daemon_env {
    () => {
        "  AWS_SIGNING_HELPER_LOG_LEVEL
      The --log-level, when the flag is not given.
  NOTIFY_SOCKET
      Where to send readiness notifications (set by systemd for Type=notify).
  JOURNAL_STREAM
      Set by systemd: log lines then carry their syslog priority.
"
    };
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Retrieve AWS credentials in the format external credential processes use
    #[command(
        long_about = "Retrieve AWS credentials in the JSON format the AWS CLI and SDKs expect \
                      from a credential_process (see \"Sourcing credentials with an external \
                      process\" in the AWS CLI user guide). stdout carries only that JSON.",
        after_help = concat!(credential_env!(), key_env!())
    )]
    CredentialProcess(CredentialProcessArgs),

    /// Sign a fixed test string with the private key, to check that it works
    #[command(
        long_about = "Sign a fixed test string with the private key (or the key referenced by \
                      a PKCS#11 URI) and print the signature. The string is \"AWS Roles Anywhere \
                      Credential Helper Signing Test\" || \"1\" || SHA256(\"IAM RA\" || public \
                      key), so a signature can be checked against the certificate's public key. \
                      A private key alone is enough; with --certificate it must match it.",
        after_help = concat!("Environment:\n", key_env!())
    )]
    SignString(SignStringArgs),

    /// Diagnostic command to read certificate data
    #[command(
        long_about = "Print, as JSON, what the helper reads from a certificate: key type, \
                      base64 DER, serial number (decimal) and supported signing algorithms. With \
                      a pkcs11: URI, list every certificate it matches, with a URI for each.",
        after_help = concat!("Environment:\n", key_env!())
    )]
    ReadCertificateData(ReadCertificateDataArgs),

    /// Serve credentials on a local IMDSv2-compatible endpoint
    #[command(
        long_about = "Serve credentials on 127.0.0.1:PORT, refreshing them before they expire, \
                      in two protocols the AWS SDKs and CLI read: IMDSv2 (point clients at it \
                      with AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:PORT/) and the \
                      container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI=\
                      http://127.0.0.1:PORT/creds with an authorization token). The addresses \
                      and the token to use are printed at start-up. Runs until SIGINT or \
                      SIGTERM. With --config FILE, serves each role the file describes at \
                      /roles/NAME/credentials, with a token of its own, and SIGHUP reads the \
                      file again.",
        after_help = concat!(
            credential_env!(),
            key_env!(),
            "  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
      A file holding the token container clients must send (re-read when it
      changes).
  AWS_CONTAINER_AUTHORIZATION_TOKEN
      The token, when no file is named (default: a random one, printed once).
",
            refresh_env!(),
            daemon_env!(),
            "  LISTEN_FDS, LISTEN_PID
      A listening socket passed by systemd (socket activation), used instead
      of --address and --port.
  AWS_SIGNING_HELPER_SERVE_CONFIG
      The --config file, when the flag is not given.
"
        )
    )]
    Serve(ServeArgs),

    /// Write credentials into the shared credentials file and keep them fresh
    #[command(
        long_about = "Write credentials into a profile of the shared credentials file, then keep \
                      running and rewrite them before they expire (--once writes once and \
                      exits). Only that profile's aws_access_key_id, aws_secret_access_key and \
                      aws_session_token change; every other line is kept. The file is replaced \
                      atomically with mode 0600.",
        after_help = concat!(
            credential_env!(),
            key_env!(),
            "  AWS_SHARED_CREDENTIALS_FILE
      The credentials file to write (default: ~/.aws/credentials).
",
            refresh_env!(),
            daemon_env!()
        )
    )]
    Update(UpdateArgs),

    /// Check a certificate and its key as IAM Roles Anywhere would (for renewal hooks)
    #[command(
        long_about = "Check a certificate and its key as IAM Roles Anywhere would: the \
                      end-entity rules of its trust model (X.509 v3, basicConstraints CA:FALSE, \
                      keyUsage digitalSignature, SHA-256 or stronger, RSA or EC key), validity \
                      and remaining lifetime, that the key is the certificate's (a test \
                      signature), the path to the trust anchor's CA bundle, revocation by CRL, \
                      and with --live one real CreateSession. One line per check on stdout (or \
                      JSON); the exit status says which class of check failed first: 2 the \
                      certificate, 3 the key, 4 the chain, 5 revocation, 6 validity, 7 the \
                      remaining lifetime, 8 the live call refused, 9 the live call not made (1 \
                      for usage errors and unreadable bundles or CRLs).",
        after_help = concat!(
            "Environment:\n",
            key_env!(),
            "  AWS_ENDPOINT_URL_ROLESANYWHERE, AWS_ENDPOINT_URL, AWS_CA_BUNDLE, HTTPS_PROXY
      With --live, as for credential-process (see its --help).
"
        )
    )]
    Validate(ValidateArgs),

    /// Print the version number of the credential helper
    #[command(
        long_about = "Print the version number of the credential helper, then, in parentheses, \
                      the official aws_signing_helper version whose commands, flags and outputs \
                      it matches. The first word is the plain version number."
    )]
    Version,

    /// Remove every credential cached by credential-process --cache
    ClearCache(ClearCacheArgs),
}

/// `credential-process` flags: the credential flags and the cache.
#[derive(Debug, Args, Default)]
pub struct CredentialProcessArgs {
    /// Shared credential flags.
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// The credential cache.
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// The credential cache of `credential-process`.
#[derive(Debug, Args, Default)]
pub struct CacheArgs {
    /// Answer from a per-user cache until shortly before expiry; concurrent calls share one
    /// request
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub cache: bool,

    /// Directory of the cache (implies --cache; default: $XDG_RUNTIME_DIR/aws_signing_helper,
    /// else ~/.cache/aws_signing_helper)
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<std::path::PathBuf>,
}

/// `clear-cache` flags.
#[derive(Debug, Args)]
pub struct ClearCacheArgs {
    /// Directory of the cache (default: $XDG_RUNTIME_DIR/aws_signing_helper, else
    /// ~/.cache/aws_signing_helper)
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<std::path::PathBuf>,
}

/// Flags shared by every command that obtains credentials (`credential-process`, `serve`,
/// `update`), declared once.
#[derive(Debug, Args, Default)]
pub struct CredentialArgs {
    /// Target role to assume
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,

    /// Profile to pull policies from
    #[arg(long, value_name = "ARN")]
    pub profile_arn: Option<String>,

    /// Trust anchor to use for authentication
    #[arg(long, value_name = "ARN")]
    pub trust_anchor_arn: Option<String>,

    /// Duration, in seconds, for the resulting session
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 3600,
        allow_negative_numbers = true
    )]
    pub session_duration: i64,

    /// Signing region (default: the trust anchor ARN's region)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Endpoint used to call CreateSession
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// To disable SSL verification
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub no_verify_ssl: bool,

    /// To make the CreateSession call with a proxy (HTTPS_PROXY, NO_PROXY)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub with_proxy: bool,

    /// An identifier of a role session
    #[arg(long, value_name = "NAME")]
    pub role_session_name: Option<String>,

    /// The certificate and key.
    #[command(flatten)]
    pub identity: IdentityArgs,

    /// Path to intermediate certificate bundle file
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cert_selector", "use_latest_expiring_certificate"])]
    pub intermediates: Option<String>,

    /// Then assume this role with sts:AssumeRole (repeat for each hop):
    /// ARN[,role_session_name=NAME][,duration_seconds=N][,external_id=ID][,mfa_serial=SERIAL]
    /// [,token_code=CODE]
    #[arg(long, value_name = "ARN[,FIELD=VALUE]...")]
    pub assume_role: Vec<String>,

    /// Endpoint used to call sts:AssumeRole (default: the region's STS endpoint)
    #[arg(long, value_name = "URL")]
    pub sts_endpoint: Option<String>,

    /// Region of the STS endpoint (default: --region, else the trust anchor ARN's region)
    #[arg(long, value_name = "REGION")]
    pub sts_region: Option<String>,

    /// Command printing the MFA code of a hop with mfa_serial= (run by /bin/sh; default:
    /// AWS_SIGNING_HELPER_MFA_CODE, else a prompt on the terminal)
    #[arg(long, value_name = "COMMAND")]
    pub mfa_command: Option<String>,
}

/// Flags naming the certificate and key, shared by the credential commands and `sign-string`.
#[derive(Debug, Args, Default)]
pub struct IdentityArgs {
    /// Path to certificate file (PEM, DER or PKCS#12), or a PKCS#11 URI
    #[arg(long, value_name = "FILE|URI", conflicts_with = "cert_selector")]
    pub certificate: Option<String>,

    /// Path to private key file, PKCS#11 URI or TPM handle
    #[arg(long, value_name = "FILE|URI", conflicts_with_all = ["cert_selector", "use_latest_expiring_certificate"])]
    pub private_key: Option<String>,

    /// Password for PKCS#8 key (or PKCS#12 bundle), if applicable
    #[arg(long, value_name = "PASSWORD", conflicts_with = "tpm_key_password")]
    pub pkcs8_password: Option<String>,

    /// JSON structure to identify a certificate from a certificate store. Can be passed in
    /// either as string or a file name (prefixed by "file://"). The stores are macOS's Keychain
    /// and Windows's: on Linux the selector is checked, then refused with one line
    #[arg(long, value_name = "SELECTOR", conflicts_with = "reuse_pin")]
    pub cert_selector: Option<String>,

    /// Name of the system store to search for within the CERT_SYSTEM_STORE_CURRENT_USER context
    /// (default MY). Windows only: an error on this platform
    #[arg(long, value_name = "NAME")]
    pub system_store_name: Option<String>,

    /// If multiple certificates match a given certificate selector, the one that expires the
    /// latest is chosen. Certificate stores only (macOS, Windows): an error on this platform
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", conflicts_with = "reuse_pin")]
    pub use_latest_expiring_certificate: bool,

    /// Library for smart card / cryptographic device (default: p11-kit-proxy.so)
    #[arg(long, value_name = "FILE")]
    pub pkcs11_lib: Option<String>,

    /// Use the CKU_USER PIN as the CKU_CONTEXT_SPECIFIC PIN for private key objects, when they
    /// are first used to sign
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub reuse_pin: bool,

    /// Password for TPM key, if applicable
    #[cfg_attr(
        not(feature = "tpm"),
        doc = "(this build has no TPM support: an error here; packaged builds have it)"
    )]
    #[arg(long, value_name = "PASSWORD", conflicts_with_all = ["cert_selector", "reuse_pin"])]
    pub tpm_key_password: Option<String>,

    /// Required if the TPM key has no password and a handle is used to refer to the key
    #[cfg_attr(
        not(feature = "tpm"),
        doc = "(this build has no TPM support: an error here; packaged builds have it)"
    )]
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL", conflicts_with_all = ["cert_selector", "tpm_key_password"])]
    pub no_tpm_key_password: bool,

    /// To print debug output (to stderr; secrets are never printed)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub debug: bool,
}

/// `sign-string` flags.
#[derive(Debug, Args)]
pub struct SignStringArgs {
    /// The key (and optional certificate).
    #[command(flatten)]
    pub identity: IdentityArgs,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,

    /// Digest to sign with
    #[arg(long, value_enum, default_value_t = DigestArg::Sha256)]
    pub digest: DigestArg,
}

/// `sign-string --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The hex signature as a JSON string.
    Json,
    /// The hex signature.
    Text,
    /// The raw signature bytes.
    Bin,
}

/// `sign-string --digest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DigestArg {
    /// SHA-256.
    #[value(name = "SHA256")]
    Sha256,
    /// SHA-384.
    #[value(name = "SHA384")]
    Sha384,
    /// SHA-512.
    #[value(name = "SHA512")]
    Sha512,
}

/// `read-certificate-data` flags.
#[derive(Debug, Args)]
pub struct ReadCertificateDataArgs {
    /// Path to certificate file (PEM or DER), or a PKCS#11 URI
    #[arg(long, value_name = "FILE|URI", conflicts_with = "cert_selector")]
    pub certificate: Option<String>,

    /// JSON structure to identify a certificate from a certificate store
    #[arg(long, value_name = "SELECTOR")]
    pub cert_selector: Option<String>,

    /// Name of the Windows system store to search (default MY). Windows only: an error on this
    /// platform
    #[arg(long, value_name = "NAME")]
    pub system_store_name: Option<String>,

    /// Library for smart card / cryptographic device (default: p11-kit-proxy.so)
    #[arg(long, value_name = "FILE")]
    pub pkcs11_lib: Option<String>,

    /// To print debug output
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub debug: bool,
}

/// `serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Shared credential flags.
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// The port used to run the local server
    #[arg(long, value_name = "PORT", default_value_t = crate::serve::DEFAULT_PORT)]
    pub port: u16,

    /// The IP TTL to set on responses (1 matches EC2's IMDSv2) [default: 64, or 1 with a
    /// non-loopback --address]
    #[arg(
        long,
        value_name = "HOPS",
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(u8).range(1..)
    )]
    pub hop_limit: Option<u8>,

    /// The IP address to listen on (IPv4 or IPv6); a loopback one unless
    /// --allow-non-loopback
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1", value_parser = parse_address)]
    pub address: std::net::IpAddr,

    /// Let --address be a non-loopback address, serving credentials to whoever can reach it
    /// (other containers, a pod network); the hop limit then defaults to 1
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub allow_non_loopback: bool,

    /// How long to retry the first CreateSession.
    #[command(flatten)]
    pub start: StartArgs,

    /// How much to log on stderr, one line per event (--debug is debug)
    #[command(flatten)]
    pub log: LogArgs,

    /// Serve the roles a TOML file describes, each at /roles/NAME/credentials with a token of
    /// its own; its keys are these flags' names (see docs/services.md)
    #[arg(
        long,
        value_name = "FILE",
        env = "AWS_SIGNING_HELPER_SERVE_CONFIG",
        hide_env = true,
        conflicts_with_all = [
            "role_arn", "profile_arn", "trust_anchor_arn", "session_duration", "region",
            "endpoint", "no_verify_ssl", "with_proxy", "role_session_name", "certificate",
            "private_key", "pkcs8_password", "cert_selector", "system_store_name",
            "use_latest_expiring_certificate", "pkcs11_lib", "reuse_pin", "tpm_key_password",
            "no_tpm_key_password", "intermediates", "assume_role", "sts_endpoint", "sts_region",
            "mfa_command", "port", "hop_limit", "address", "allow_non_loopback",
            "start_timeout",
        ]
    )]
    pub config: Option<std::path::PathBuf>,

    /// Print the variables a workload needs to get ROLE's credentials from --config's server
    /// (the URL and the token file), then exit
    #[arg(long, value_name = "ROLE", requires = "config")]
    pub print_env: Option<String>,
}

/// `--start-timeout`, for the long-running commands.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Retry a throttled first CreateSession this long (e.g. 5m, 300; 0: 3 attempts)
    ///
    /// At start-up, throttling (a fleet sharing one account's CreateSession quota), server
    /// errors, time-outs and connections that fail are retried with full-jitter backoff (a
    /// random wait below 2, 4, 8, 16, then 20 s), one line each, for up to this long after the
    /// first attempt; nothing is served or written and READY=1 is not sent meanwhile. Under
    /// systemd the start timeout (TimeoutStartSec=) is extended to match (EXTEND_TIMEOUT_USEC=).
    /// Refused certificates and other errors no retry can fix still end the command at once. 0
    /// gives up after the SDK's attempts (AWS_MAX_ATTEMPTS, default 3), as the official helper.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = DEFAULT_START_TIMEOUT,
        allow_negative_numbers = true,
        value_parser = parse_start_timeout
    )]
    pub start_timeout: std::time::Duration,
}

/// `--start-timeout`'s default: a few minutes, in which a thousand hosts starting together get
/// their first credentials from a quota of 10 CreateSession a second, with room to spare.
pub const DEFAULT_START_TIMEOUT: &str = "5m";

/// The longest `--start-timeout`.
const MAX_START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(86_400);

/// A `--start-timeout` value: a duration of at most a day.
fn parse_start_timeout(value: &str) -> Result<std::time::Duration, String> {
    let timeout = super::duration::parse(value).ok_or_else(|| {
        "not a duration: give one like 5m, 90s, 1h30m or a number of seconds (0: the SDK's \
         attempts only)"
            .to_string()
    })?;
    if timeout > MAX_START_TIMEOUT {
        return Err("longer than a day: give at most 24h".into());
    }
    Ok(timeout)
}

/// `--log-level`, for the long-running commands.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// How much to log on stderr, one line per event (--debug means debug)
    #[arg(
        long,
        value_enum,
        value_name = "LEVEL",
        env = "AWS_SIGNING_HELPER_LOG_LEVEL",
        default_value_t = LogLevel::Info,
        hide_env = true
    )]
    pub log_level: LogLevel,
}

/// `--log-level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Only errors that stop the command.
    Error,
    /// Also failures it recovers from (a refresh that failed).
    Warn,
    /// Also what it does: where it listens, each refresh, reloads.
    Info,
    /// Also debug lines, as --debug.
    Debug,
}

impl From<LogLevel> for rolesanywhere_credentials::log::Level {
    fn from(level: LogLevel) -> Self {
        match level {
            LogLevel::Error => rolesanywhere_credentials::log::Level::Error,
            LogLevel::Warn => rolesanywhere_credentials::log::Level::Warning,
            LogLevel::Info => rolesanywhere_credentials::log::Level::Info,
            LogLevel::Debug => rolesanywhere_credentials::log::Level::Debug,
        }
    }
}

/// An IP address, IPv6 with or without brackets (`::1`, `[::1]`).
fn parse_address(value: &str) -> Result<std::net::IpAddr, String> {
    let bare = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    bare.parse().map_err(|_| {
        "not an IP address (such as 127.0.0.1, ::1 or 0.0.0.0); host names are not accepted"
            .to_string()
    })
}

/// `update` flags.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Shared credential flags.
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// The aws profile to write credentials to
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub profile: String,

    /// Update the credentials file once and exit
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub once: bool,

    /// How long to retry the first CreateSession.
    #[command(flatten)]
    pub start: StartArgs,

    /// How much to log on stderr.
    #[command(flatten)]
    pub log: LogArgs,
}

/// `validate` flags.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The certificate, key and (for --live) the CreateSession flags.
    #[command(flatten)]
    pub credentials: CredentialArgs,

    /// CA certificates of the trust anchor (PEM or DER), e.g. /etc/ipa/ca.crt: the path from
    /// the certificate must end at one of them
    #[arg(long, value_name = "FILE")]
    pub trust_anchor_bundle: Option<String>,

    /// A certificate revocation list (PEM or DER) of the issuing CA, as imported into the trust
    /// anchor; repeatable
    #[arg(long, value_name = "FILE", requires = "trust_anchor_bundle")]
    pub crl: Vec<String>,

    /// Fail unless the certificate stays valid at least this long (e.g. 7d, 12h, 30m, 3600)
    #[arg(long, value_name = "DURATION")]
    pub min_remaining: Option<String>,

    /// Also call CreateSession once with the ARNs given, to prove the service accepts the
    /// certificate (the credentials are discarded)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    pub live: bool,

    /// Output: one line per check, or a JSON document
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// `validate --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One line per check.
    Text,
    /// A JSON document.
    Json,
}
