//! [`RolesAnywhereCredentialsProvider`]: IAM Roles Anywhere credentials for a Rust program, with
//! no child process and no files.
//!
//! The provider is the command line's `serve` without the server: the settings are those of
//! `credential-process` (set one by one on the [`Builder`], or given as the flags themselves to
//! [`RolesAnywhereCredentialsProvider::from_args`]), checked when it is built; the identity is
//! opened at the first call and kept (a PKCS#11 login or a TPM context is not redone at every
//! refresh); a renewed certificate or key on disk is picked up at the next refresh exactly as
//! `serve` picks it up, and a broken renewal is never used. Credentials are kept and handed out
//! again until their refresh is due, at a random point of their refresh range (15 to 5 minutes
//! before expiry for one hour; `pipeline::refresh::refresh_range`), so that processes started
//! together do not refresh together; concurrent callers then share one CreateSession. A refresh
//! that fails while the credentials in hand are still good hands those out again and is retried
//! after a backoff (1 s, doubling to 60 s, jittered).
//!
//! The AWS SDK's identity cache asks a provider again only 10 to 15 s before the expiry it was
//! given, which would make every process refresh at expiry in step whatever the provider does.
//! So the SDK is told that the credentials expire [`SDK_CACHE_BUFFER`] after their refresh is
//! due (never later than they really do): its cache then asks at the refresh point.
//! [`RolesAnywhereCredentialsProvider::issued`] gives the real expiry.
//!
//! With the `sdk` feature (on by default) the provider implements the AWS SDK for Rust's
//! `ProvideCredentials`, so `aws_config` takes it as it is; failures come back as
//! `CredentialsError`s whose source is a [`ReportedError`]: the same one line the command line
//! prints. Without the feature, [`RolesAnywhereCredentialsProvider::credentials`] gives the same
//! credentials to any caller.

use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::config::{CacheArgs, CredentialArgs, Options};
use crate::credentials::{CredentialSource, Credentials, Issued};
use crate::error::{Error, Result};
use crate::pipeline::cache::CacheDir;
use crate::pipeline::refresh::{refresh_delay, Backoff};
use crate::pipeline::{self, Reload};
use crate::session::mfa::MfaCallback;

/// The name the AWS SDK records as the credentials' provider.
pub const PROVIDER_NAME: &str = "RolesAnywhere";

/// IAM Roles Anywhere credentials, kept fresh, for the AWS SDK for Rust or any caller.
///
/// Cloning is cheap: clones share the identity, the credentials and the refreshes.
///
/// # Example
/// ```
/// # let endpoint = test_support::Endpoint::start(
/// #     test_support::local_binary(),
/// #     &test_support::standard::config(&test_support::testdata("pki/ca/root.pem")),
/// #     &["--plain-http"],
/// # );
/// # let (cert, key) = (test_support::pki("rsa-2048", "fullchain.pem"), test_support::pki("rsa-2048", "key-pkcs8.pem"));
/// # let (ta, profile, role) = (test_support::standard::TRUST_ANCHOR, test_support::standard::PROFILE, test_support::ROLE);
/// # let url = endpoint.url();
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use rolesanywhere_credentials::RolesAnywhereCredentialsProvider;
///
/// // The flags of a profile's credential_process line, unchanged.
/// let provider = RolesAnywhereCredentialsProvider::from_args([
///     "--certificate", &cert, "--private-key", &key,
///     "--trust-anchor-arn", ta, "--profile-arn", profile, "--role-arn", role,
///     "--session-duration", "900",
/// #   "--endpoint", &url,
/// ])?;
/// let credentials = provider.credentials().await?;
/// assert!(credentials.access_key_id.starts_with("ASIA"));
/// # Ok::<(), rolesanywhere_credentials::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct RolesAnywhereCredentialsProvider {
    shared: Arc<Shared>,
}

struct Shared {
    /// What is handed out until its refresh is due. A plain mutex: it is held only to copy an
    /// `Arc` in or out, never across an await.
    current: Mutex<Option<Held>>,
    /// The pipeline, behind an async mutex: whoever holds it fetches, and everyone else waits for
    /// that one fetch (single flight).
    pipeline: tokio::sync::Mutex<Pipeline>,
    /// Refresh this long before expiry at the latest.
    window: Duration,
    /// For `Debug`.
    described: String,
}

/// The credential pipeline, built at the first call (opening the identity), then kept.
enum Pipeline {
    Unopened(Box<Options>, Option<CacheDir>),
    Open(Box<dyn CredentialSource>),
}

impl RolesAnywhereCredentialsProvider {
    /// A builder, to set the settings one by one.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A provider from the flags of `aws_signing_helper credential-process` (without the program
    /// and command names), so that a profile's `credential_process` line moves into code
    /// unchanged. Every flag of `credential-process` is accepted, including the cache
    /// (`--cache`, `--cache-dir`), the PKCS#11 and TPM flags and `--debug` (which turns on debug
    /// lines on stderr for the whole process).
    ///
    /// # Errors
    /// A flag that `credential-process` does not accept, or a value it would refuse: the same
    /// one line (see [`Error::report`]).
    pub fn from_args<I, T>(args: I) -> Result<RolesAnywhereCredentialsProvider>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let (credentials, cache) = crate::config::args::parse(args)?;
        Builder {
            args: credentials,
            cache,
            mfa: None,
        }
        .build()
    }

    /// Credentials valid now: the ones in hand while their refresh is not due, else fresh ones
    /// (opening the identity at the first call).
    ///
    /// # Errors
    /// When the identity cannot be opened, or CreateSession (or a hop) fails, after the SDKs'
    /// retries. Credentials that are due for a refresh but still valid are handed out again
    /// when a refresh fails, as `serve` keeps serving them.
    pub async fn credentials(&self) -> Result<Credentials> {
        self.issued().await.map(|issued| issued.credentials.clone())
    }

    /// The credentials with their parsed expiry; see [`credentials`](Self::credentials).
    ///
    /// # Errors
    /// As [`credentials`](Self::credentials).
    pub async fn issued(&self) -> Result<Arc<Issued>> {
        self.held().await.map(|held| held.issued)
    }

    /// The credentials and when their refresh is due.
    async fn held(&self) -> Result<Held> {
        if let Some(held) = self.shared.fresh(SystemTime::now()) {
            return Ok(held);
        }
        let mut pipeline = self.shared.pipeline.lock().await;
        // Another caller may have refreshed while this one waited for the lock.
        if let Some(held) = self.shared.fresh(SystemTime::now()) {
            return Ok(held);
        }
        let fetched = match pipeline.source().await {
            Ok(source) => source.fetch().await,
            Err(e) => Err(e),
        };
        let mut current = self.shared.lock_current();
        match fetched {
            Ok(issued) => {
                let draw = rand::thread_rng().gen_range(0.0..1.0);
                let held = Held::new(Arc::new(issued), self.shared.window, draw);
                *current = Some(held.clone());
                Ok(held)
            }
            Err(e) => {
                // The last good credentials, while they last: a failed refresh does not take
                // away what still works; it is tried again after a backoff.
                let now = SystemTime::now();
                match current
                    .as_mut()
                    .filter(|held| held.issued.valid_at(now + MIN_LEFT))
                {
                    Some(held) => {
                        let retry_in = held.backoff.next_delay();
                        held.retry_after(now, retry_in);
                        crate::warning!(
                            "cannot refresh credentials: {}; the previous ones, which expire at {}, are still used; retrying in {} s",
                            e.report(),
                            held.issued.credentials.expiration,
                            retry_in.as_secs().max(1)
                        );
                        Ok(held.clone())
                    }
                    None => Err(e),
                }
            }
        }
    }
}

/// Credentials with less than this left are not handed out again after a failed refresh.
const MIN_LEFT: Duration = Duration::from_secs(10);

/// The AWS SDK for Rust's identity cache asks its provider again 10 to 15 s before the expiry
/// it was given (`aws-smithy-runtime`'s lazy cache: a 10 s buffer, jittered by up to half):
/// the SDK is told the credentials expire this long after their refresh is due.
pub const SDK_CACHE_BUFFER: Duration = Duration::from_secs(15);

/// Credentials in hand, and when to refresh them.
#[derive(Clone, Debug)]
struct Held {
    issued: Arc<Issued>,
    /// When they are no longer handed out without trying to refresh them.
    due: SystemTime,
    /// Spaces out the retries of a refresh that keeps failing.
    backoff: Backoff,
}

impl Held {
    /// `issued`, due for a refresh at the point of its refresh range (`window` before expiry at
    /// the latest) that `draw` picks.
    fn new(issued: Arc<Issued>, window: Duration, draw: f64) -> Held {
        let due = issued.last_updated
            + refresh_delay(issued.expires_at, issued.last_updated, window, draw);
        Held {
            issued,
            due,
            backoff: Backoff::default(),
        }
    }

    /// After a failed refresh at `now`: due again in `retry_in`, while they last.
    fn retry_after(&mut self, now: SystemTime, retry_in: Duration) {
        let last = self.issued.expires_at.checked_sub(MIN_LEFT).unwrap_or(now);
        self.due = (now + retry_in).min(last).max(now);
    }

    /// The expiry the AWS SDK's cache is told: [`SDK_CACHE_BUFFER`] after the refresh is due, so
    /// that it asks again then, never later than the real one.
    #[cfg_attr(not(feature = "sdk"), allow(dead_code))]
    fn sdk_expiry(&self) -> SystemTime {
        (self.due + SDK_CACHE_BUFFER).min(self.issued.expires_at)
    }
}

impl Shared {
    /// The credentials in hand, when their refresh is not due at `now`.
    fn fresh(&self, now: SystemTime) -> Option<Held> {
        let current = self.lock_current().clone()?;
        (now < current.due && current.issued.valid_at(now)).then_some(current)
    }

    fn lock_current(&self) -> std::sync::MutexGuard<'_, Option<Held>> {
        // A panic while holding this lock cannot leave the Option half-written.
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Pipeline {
    /// The pipeline, built now if it is not yet (the identity is opened on a blocking thread: it
    /// reads files and may talk to a token or a TPM).
    async fn source(&mut self) -> Result<&mut Box<dyn CredentialSource>> {
        if let Pipeline::Unopened(options, cache) = self {
            // The settings stay here until the pipeline is built: a failure (a key that does
            // not load yet) is tried again at the next call.
            let (options, cache) = (options.clone(), cache.clone());
            let built = tokio::task::spawn_blocking(move || {
                pipeline::build(*options, Reload::OnChange, cache.as_ref())
            })
            .await
            .map_err(|e| Error::Usage(format!("opening the identity stopped: {e}")))?;
            *self = Pipeline::Open(built?);
        }
        match self {
            Pipeline::Open(source) => Ok(source),
            Pipeline::Unopened(..) => unreachable!("the pipeline was built just above"),
        }
    }
}

impl fmt::Debug for RolesAnywhereCredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RolesAnywhereCredentialsProvider")
            .field("session", &self.shared.described)
            .field("refresh_window", &self.shared.window)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RolesAnywhereCredentialsProvider`]. Each setter is a flag of `credential-process`;
/// what is not set keeps the flag's default.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    args: CredentialArgs,
    cache: CacheArgs,
    mfa: Option<MfaCallbackHolder>,
}

/// An [`MfaCallback`] with a `Debug` that shows nothing of it.
#[derive(Clone)]
struct MfaCallbackHolder(MfaCallback);

impl fmt::Debug for MfaCallbackHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fn(serial) -> code")
    }
}

/// A path as the settings take it: non-UTF-8 paths are refused when the provider is built.
fn path_text(path: &Path) -> String {
    path.to_str().map_or_else(
        || format!("\u{fffd}{}", path.to_string_lossy()),
        str::to_string,
    )
}

impl Builder {
    /// `--certificate`: a certificate file (PEM, DER or PKCS#12), or a `pkcs11:` URI.
    pub fn certificate(mut self, certificate: impl AsRef<Path>) -> Self {
        self.args.identity.certificate = Some(path_text(certificate.as_ref()));
        self
    }

    /// `--private-key`: a key file (PEM, DER, PKCS#8, PKCS#1, SEC1, TSS2), a `pkcs11:` URI, or a
    /// TPM `handle:`.
    pub fn private_key(mut self, private_key: impl AsRef<Path>) -> Self {
        self.args.identity.private_key = Some(path_text(private_key.as_ref()));
        self
    }

    /// `--intermediates`: the intermediate CA certificates, sent with the leaf.
    pub fn intermediates(mut self, intermediates: impl AsRef<Path>) -> Self {
        self.args.intermediates = Some(path_text(intermediates.as_ref()));
        self
    }

    /// `--pkcs8-password`: the password of an encrypted key or PKCS#12 bundle.
    pub fn pkcs8_password(mut self, password: impl Into<String>) -> Self {
        self.args.identity.pkcs8_password = Some(password.into());
        self
    }

    /// `--pkcs11-lib`: the PKCS#11 module (default: p11-kit-proxy.so).
    pub fn pkcs11_lib(mut self, module: impl AsRef<Path>) -> Self {
        self.args.identity.pkcs11_lib = Some(path_text(module.as_ref()));
        self
    }

    /// `--reuse-pin`: log in to `CKA_ALWAYS_AUTHENTICATE` keys with the token's PIN.
    pub fn reuse_pin(mut self, reuse: bool) -> Self {
        self.args.identity.reuse_pin = reuse;
        self
    }

    /// `--tpm-key-password`: the TPM key's password.
    pub fn tpm_key_password(mut self, password: impl Into<String>) -> Self {
        self.args.identity.tpm_key_password = Some(password.into());
        self
    }

    /// `--no-tpm-key-password`: the TPM key has no password.
    pub fn no_tpm_key_password(mut self, none: bool) -> Self {
        self.args.identity.no_tpm_key_password = none;
        self
    }

    /// `--trust-anchor-arn`.
    pub fn trust_anchor_arn(mut self, arn: impl Into<String>) -> Self {
        self.args.trust_anchor_arn = Some(arn.into());
        self
    }

    /// `--profile-arn`.
    pub fn profile_arn(mut self, arn: impl Into<String>) -> Self {
        self.args.profile_arn = Some(arn.into());
        self
    }

    /// `--role-arn`.
    pub fn role_arn(mut self, arn: impl Into<String>) -> Self {
        self.args.role_arn = Some(arn.into());
        self
    }

    /// `--region`: the region to sign for (default: the trust anchor ARN's).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.args.region = Some(region.into());
        self
    }

    /// `--endpoint`: the CreateSession endpoint's URL (default: the region's, or
    /// `AWS_ENDPOINT_URL_ROLESANYWHERE` / `AWS_ENDPOINT_URL`).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.args.endpoint = Some(url.into());
        self
    }

    /// `--session-duration`, whole seconds of it (900 to 43200; default one hour).
    pub fn session_duration(mut self, duration: Duration) -> Self {
        self.args.session_duration = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        self
    }

    /// `--role-session-name` (the profile must accept custom names).
    pub fn role_session_name(mut self, name: impl Into<String>) -> Self {
        self.args.role_session_name = Some(name.into());
        self
    }

    /// `--assume-role`: then assume this role with sts:AssumeRole, with the session before it;
    /// call once per hop, in order. See [`AssumeRole`] for the hop's fields (a role ARN alone, as
    /// a string, is a hop too).
    pub fn assume_role(mut self, hop: impl Into<AssumeRole>) -> Self {
        self.args.assume_role.push(hop.into().to_flag());
        self
    }

    /// `--sts-endpoint`: where the hops' AssumeRole calls go (default: the region's STS, or
    /// `AWS_ENDPOINT_URL_STS` / `AWS_ENDPOINT_URL`).
    pub fn sts_endpoint(mut self, url: impl Into<String>) -> Self {
        self.args.sts_endpoint = Some(url.into());
        self
    }

    /// `--sts-region`: the region of the STS endpoint (default: the signing region).
    pub fn sts_region(mut self, region: impl Into<String>) -> Self {
        self.args.sts_region = Some(region.into());
        self
    }

    /// Where MFA codes come from for hops that name an MFA device: `codes` gets the device's
    /// serial number (or ARN) and returns the current 6-digit code, or `None`. It may block; it
    /// is asked before `--mfa-command`, `AWS_SIGNING_HELPER_MFA_CODE` and the terminal.
    pub fn mfa_codes(
        mut self,
        codes: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.mfa = Some(MfaCallbackHolder(Arc::new(codes)));
        self
    }

    /// `--mfa-command`: a command (run by `/bin/sh`) that prints the MFA code.
    pub fn mfa_command(mut self, command: impl Into<String>) -> Self {
        self.args.mfa_command = Some(command.into());
        self
    }

    /// `--no-verify-ssl`: do not verify the endpoint's TLS certificate (test endpoints only).
    pub fn no_verify_ssl(mut self, skip: bool) -> Self {
        self.args.no_verify_ssl = skip;
        self
    }

    /// `--with-proxy`: go through the proxy `HTTPS_PROXY` names (and `NO_PROXY`).
    pub fn with_proxy(mut self, proxy: bool) -> Self {
        self.args.with_proxy = proxy;
        self
    }

    /// `--cache`: keep credentials in the per-user on-disk cache that `credential-process
    /// --cache` uses, so that processes share them.
    pub fn cache(mut self, cache: bool) -> Self {
        self.cache.cache = cache;
        self
    }

    /// `--cache-dir`: the on-disk cache's directory (implies [`cache`](Self::cache)).
    pub fn cache_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cache.cache_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Checks the settings as `credential-process` checks its flags, and builds the provider.
    /// Nothing is opened or sent yet: the identity is opened at the first call.
    ///
    /// # Errors
    /// The first setting at fault, as one line naming the flag (see [`Error::report`]).
    pub fn build(self) -> Result<RolesAnywhereCredentialsProvider> {
        for (flag, value) in [
            ("--certificate", &self.args.identity.certificate),
            ("--private-key", &self.args.identity.private_key),
            ("--intermediates", &self.args.intermediates),
            ("--pkcs11-lib", &self.args.identity.pkcs11_lib),
        ] {
            if value.as_deref().is_some_and(|v| v.starts_with('\u{fffd}')) {
                return Err(Error::Usage(format!(
                    "{flag} is not a UTF-8 path; rename the file or link to it from a UTF-8 path"
                )));
            }
        }
        if self.args.identity.debug {
            crate::log::set_enabled(true);
        }
        let mut options = Options::from_args(self.args)?;
        options.mfa.callback = self.mfa.map(|holder| holder.0);
        let cache = if self.cache.enabled() {
            Some(CacheDir::open(CacheDir::locate(self.cache.cache_dir)?)?)
        } else {
            None
        };
        let request = &options.request;
        let described = format!(
            "trust anchor {}, profile {}, role {}{}",
            request.trust_anchor.as_str(),
            request.profile.as_str(),
            request.role.as_str(),
            options
                .chain
                .iter()
                .map(|hop| format!(" -> {}", hop.role.as_str()))
                .collect::<String>()
        );
        let window = options.refresh_window;
        Ok(RolesAnywhereCredentialsProvider {
            shared: Arc::new(Shared {
                current: Mutex::new(None),
                pipeline: tokio::sync::Mutex::new(Pipeline::Unopened(Box::new(options), cache)),
                window,
                described,
            }),
        })
    }
}

/// One sts:AssumeRole hop for [`Builder::assume_role`]: the same fields as `--assume-role`'s,
/// checked as STS would when the provider is built.
#[derive(Clone, Debug)]
pub struct AssumeRole {
    role_arn: String,
    fields: Vec<(&'static str, String)>,
}

impl AssumeRole {
    /// A hop into `role_arn`.
    pub fn new(role_arn: impl Into<String>) -> AssumeRole {
        AssumeRole {
            role_arn: role_arn.into(),
            fields: Vec::new(),
        }
    }

    /// `role_session_name=` (default `aws_signing_helper-<unix time>`).
    pub fn session_name(self, name: impl Into<String>) -> Self {
        self.field("role_session_name", name.into())
    }

    /// `duration_seconds=`, whole seconds of it (900 to 3600 for a chained role).
    pub fn duration(self, duration: Duration) -> Self {
        self.field("duration_seconds", duration.as_secs().to_string())
    }

    /// `external_id=`, when the role's trust policy asks for one.
    pub fn external_id(self, id: impl Into<String>) -> Self {
        self.field("external_id", id.into())
    }

    /// `mfa_serial=`: the MFA device's serial number or ARN; the code comes from
    /// [`Builder::mfa_codes`] (or `--mfa-command`, `AWS_SIGNING_HELPER_MFA_CODE`, the terminal).
    pub fn mfa_serial(self, serial: impl Into<String>) -> Self {
        self.field("mfa_serial", serial.into())
    }

    fn field(mut self, name: &'static str, value: String) -> Self {
        self.fields.push((name, value));
        self
    }

    /// The hop as `--assume-role` spells it.
    fn to_flag(&self) -> String {
        let mut flag = self.role_arn.clone();
        for (name, value) in &self.fields {
            flag.push_str(&format!(",{name}={value}"));
        }
        flag
    }
}

impl From<&str> for AssumeRole {
    fn from(role_arn: &str) -> Self {
        AssumeRole::new(role_arn)
    }
}

impl From<String> for AssumeRole {
    fn from(role_arn: String) -> Self {
        AssumeRole::new(role_arn)
    }
}

/// A failure of the provider as the AWS SDK sees it: its `Display` is the one line the command
/// line prints (what failed, why, what to do), and [`error`](Self::error) is the typed
/// [`Error`]. It is the `source()` of the SDK's `CredentialsError`.
#[derive(Debug)]
pub struct ReportedError {
    line: String,
    error: Error,
}

impl ReportedError {
    /// The failure.
    pub fn error(&self) -> &Error {
        &self.error
    }
}

impl From<Error> for ReportedError {
    fn from(error: Error) -> Self {
        ReportedError {
            line: error.report(),
            error,
        }
    }
}

impl fmt::Display for ReportedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

// The line already holds the whole chain of causes; a source would repeat it.
impl std::error::Error for ReportedError {}

#[cfg(feature = "sdk")]
mod sdk {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::{future, ProvideCredentials};

    use super::{ReportedError, RolesAnywhereCredentialsProvider, PROVIDER_NAME};
    use crate::error::Error;

    impl ProvideCredentials for RolesAnywhereCredentialsProvider {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            future::ProvideCredentials::new(async move {
                let held = self.held().await.map_err(to_sdk)?;
                let c = &held.issued.credentials;
                Ok(aws_credential_types::Credentials::new(
                    c.access_key_id.as_str(),
                    c.secret_access_key.as_str(),
                    Some(c.session_token.to_string()),
                    // So that the SDK's cache asks again when the refresh is due.
                    Some(held.sdk_expiry()),
                    PROVIDER_NAME,
                ))
            })
        }
    }

    /// Our error as the SDK's: settings and identities that cannot work are the provider's
    /// configuration; everything else failed while loading.
    fn to_sdk(error: Error) -> CredentialsError {
        let configuration = matches!(
            error,
            Error::Identity(_)
                | Error::Usage(_)
                | Error::Environment { .. }
                | Error::RetryMode { .. }
                | Error::MaxAttempts { .. }
                | Error::CaBundle { .. }
                | Error::NoCacheDir
                | Error::CacheDirUnsafe { .. }
        );
        let reported = ReportedError::from(error);
        if configuration {
            CredentialsError::invalid_configuration(reported)
        } else {
            CredentialsError::provider_error(reported)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::options::REFRESH_WINDOW;

    const MIN: Duration = Duration::from_secs(60);

    fn issued(lifetime: Duration) -> Arc<Issued> {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        Arc::new(Issued {
            credentials: Credentials {
                access_key_id: "ASIA".into(),
                secret_access_key: Default::default(),
                session_token: Default::default(),
                expiration: String::new(),
            },
            expires_at: now + lifetime,
            last_updated: now,
        })
    }

    /// The refresh is due at the point of the range the draw picks, and the SDK's cache is told
    /// to ask again then: 15 s later, which its 10-15 s buffer brings back to the due point.
    #[test]
    fn the_sdk_is_told_to_ask_again_when_the_refresh_is_due() {
        let hour = issued(60 * MIN);
        let start = hour.last_updated;
        for (draw, due) in [(0.0, 55 * MIN), (0.5, 50 * MIN), (1.0, 45 * MIN)] {
            let held = Held::new(Arc::clone(&hour), REFRESH_WINDOW, draw);
            assert_eq!(held.due, start + due);
            assert_eq!(held.sdk_expiry(), start + due + SDK_CACHE_BUFFER);
        }
        // Never later than the credentials really expire.
        let short = issued(Duration::from_secs(12));
        let held = Held::new(Arc::clone(&short), REFRESH_WINDOW, 0.0);
        assert!(held.due < short.expires_at);
        assert_eq!(held.sdk_expiry(), short.expires_at);
    }

    /// After a failed refresh the set in hand is due again after the backoff, but never past
    /// the last moment it may be handed out.
    #[test]
    fn a_failed_refresh_is_retried_after_the_backoff_while_the_set_lasts() {
        let hour = issued(60 * MIN);
        let mut held = Held::new(Arc::clone(&hour), REFRESH_WINDOW, 0.0);
        let now = held.due + Duration::from_secs(1);
        held.retry_after(now, Duration::from_secs(30));
        assert_eq!(held.due, now + Duration::from_secs(30));
        let late = hour.expires_at - Duration::from_secs(20);
        held.retry_after(late, Duration::from_secs(60));
        assert_eq!(held.due, hour.expires_at - MIN_LEFT);
    }
}
