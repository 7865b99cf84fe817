//! The first link of every credential pipeline: CreateSession with the certificate's key.
//!
//! [`RolesAnywhere`] holds the identity, the HTTP client and the CreateSession parameters. When
//! it watches its files (`serve`, `update`), the certificate, chain and key are opened again
//! before each fetch whose files changed on disk, and at the fetch after
//! [`CredentialSource::reload`] (SIGHUP) whether they changed or not, so a renewed certificate is
//! picked up without a restart, even one of another key type. Unchanged files are not re-read,
//! so an encrypted key whose password was typed at start-up is not asked for again at every
//! refresh.
//!
//! Renewals are not atomic: certmonger truncates and rewrites the key, then the certificate, so
//! for a moment the files are empty, half-written or a new key with the old certificate. A
//! reload that fails right after a change is therefore a renewal in progress: it is tried again
//! every [`RENEWAL_RETRY`] for up to the renewal grace ([`RENEWAL_GRACE`]); meanwhile the last
//! good credentials keep flowing (the fetch waits; the deliveries keep what they have). A new
//! pair counts as loaded only if the certificate is valid now and follows the trust model's
//! end-entity rules (`identity::validate`). A pair that still fails then is reported once, on
//! one line, and never used: fetches go on with the previous identity until the files change
//! again or a SIGHUP asks for another try.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::config::Options;
use crate::credentials::{parse_expiration, CredentialSource, Issued};
use crate::error::{Error, Result};
use crate::filestamp::{stamps, FileStamp};
use crate::identity::{Source, X509Signer};
use crate::session::create_session::{create_session, SessionRequest};
use crate::session::retry::Retryer;

/// Whether the identity's files are watched for renewals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reload {
    /// One call and done (`credential-process`): nothing is watched, and the endpoint's address
    /// is resolved once, up front.
    Never,
    /// Long-running (`serve`, `update`): files are re-read when they change.
    OnChange,
}

/// How long a reload that fails after a change is retried before the renewal counts as broken.
pub const RENEWAL_GRACE: Duration = Duration::from_secs(10);
/// Overrides [`RENEWAL_GRACE`], in seconds (tests; hosts whose renewals are slow to write).
pub const RENEWAL_GRACE_ENV: &str = "AWS_SIGNING_HELPER_RENEWAL_GRACE";
/// Pause between two tries of a renewal in progress.
pub const RENEWAL_RETRY: Duration = Duration::from_millis(200);

/// CreateSession as a [`CredentialSource`].
pub struct RolesAnywhere {
    source: Source,
    signer: Arc<dyn X509Signer>,
    reload: Reload,
    /// The files' stamps when the current identity was read (or when a broken renewal was
    /// given up on, so that it is not tried again until the files change).
    stamps: Vec<FileStamp>,
    /// A reload was asked for (SIGHUP): reopen at the next fetch even if nothing changed.
    forced: bool,
    grace: Duration,
    client: reqwest::Client,
    request: SessionRequest,
    timeout: Duration,
    /// Paces CreateSession attempts; its quota and rate limiter last as long as the client.
    retryer: Retryer,
}

impl RolesAnywhere {
    /// Opens the identity (checking the key against the certificate) and builds the HTTP client.
    ///
    /// # Errors
    /// When the identity cannot be opened or TLS cannot be set up: fatal at start-up.
    pub fn new(options: Options, reload: Reload) -> Result<RolesAnywhere> {
        // Stamped before reading, so that a change made while the files are read is noticed.
        let stamps = watched(&options.source, reload);
        let signer: Arc<dyn X509Signer> = Arc::from(options.source.open()?);
        // Long-running deliveries say what the service will refuse, as they would refuse a
        // renewal like it; a one-shot call just tries (the answer says it all).
        if reload == Reload::OnChange {
            warn_at_start(signer.as_ref());
        }
        let mut source = Self::with_signer(options, signer, reload)?;
        source.stamps = stamps;
        Ok(source)
    }

    /// Like [`RolesAnywhere::new`], with the identity already opened from `options.source`
    /// (`validate --live`, which has checked it first).
    ///
    /// # Errors
    /// When TLS cannot be set up.
    pub fn with_signer(
        options: Options,
        signer: Arc<dyn X509Signer>,
        reload: Reload,
    ) -> Result<RolesAnywhere> {
        let stamps = watched(&options.source, reload);
        let pin = (reload == Reload::Never).then_some(&options.request.endpoint);
        let client = crate::net::http::client(&options.http, pin)?;
        Ok(RolesAnywhere {
            source: options.source,
            signer,
            reload,
            stamps,
            forced: false,
            grace: grace_from_env(),
            client,
            request: options.request,
            timeout: options.http.timeout,
            retryer: Retryer::new(options.retry),
        })
    }

    /// The CreateSession parameters.
    pub fn request(&self) -> &SessionRequest {
        &self.request
    }

    async fn issue(&mut self) -> Result<Issued> {
        if self.reload == Reload::OnChange {
            self.reload_changed().await;
        }
        let credentials = create_session(
            &self.client,
            self.signer.as_ref(),
            &self.request,
            self.timeout,
            &self.retryer,
        )
        .await?;
        let expires_at =
            parse_expiration(&credentials.expiration).ok_or_else(|| Error::BadResponse {
                url: self.request.endpoint.base_url().to_string(),
                detail: format!(
                    "the expiration '{}' is not an ISO 8601 time",
                    credentials.expiration
                ),
            })?;
        Ok(Issued {
            credentials,
            expires_at,
            last_updated: SystemTime::now(),
        })
    }

    /// Opens the identity again when its files changed or a reload was asked for, retrying a
    /// renewal in progress; keeps the current identity if the new one does not load.
    async fn reload_changed(&mut self) {
        let forced = std::mem::take(&mut self.forced);
        if !forced && stamps(self.source.files()) == self.stamps {
            return;
        }
        let started = Instant::now();
        loop {
            let before = stamps(self.source.files());
            let source = self.source.clone();
            let opened = tokio::task::spawn_blocking(move || source.open()).await;
            let error = match opened {
                // Files that changed again while they were read may be a mix: read them again.
                Ok(Ok(_)) if stamps(self.source.files()) != before => None,
                Ok(Ok(signer)) => match vet(signer.as_ref()) {
                    Ok(()) => {
                        self.stamps = before;
                        self.adopt(Arc::from(signer), forced);
                        return;
                    }
                    Err(why) => Some(why),
                },
                Ok(Err(e)) => Some(e.report()),
                Err(e) => Some(format!("the reload task failed: {e}")),
            };
            if started.elapsed() >= self.grace {
                let error = error.unwrap_or_else(|| "the files keep changing".into());
                let current = self.signer.certificate();
                crate::notice!(
                    "cannot reload the certificate or key ({error}) {} s after they changed; \
                     still using the previous ones (serial {}, valid until {}): fix the files, \
                     then send SIGHUP",
                    self.grace.as_secs(),
                    current.serial_hex(),
                    crate::identity::trust_rules::iso8601(current.not_after())
                );
                // Given up on until the files change again (or SIGHUP).
                self.stamps = before;
                return;
            }
            crate::debug!(
                "certificate or key not loadable yet, retrying (renewal in progress?): {}",
                error.as_deref().unwrap_or("files changed while being read")
            );
            tokio::time::sleep(RENEWAL_RETRY).await;
        }
    }

    /// Switches to a newly opened identity, saying so when it is another certificate.
    fn adopt(&mut self, signer: Arc<dyn X509Signer>, forced: bool) {
        let (old, new) = (self.signer.certificate(), signer.certificate());
        if old.der() != new.der() {
            crate::notice!(
                "loaded the renewed certificate: serial {}, {} key, valid until {}",
                new.serial_hex(),
                signer.public_key().to_string(),
                crate::identity::trust_rules::iso8601(new.not_after())
            );
        } else if forced {
            crate::notice!(
                "reloaded the certificate and key (unchanged: serial {})",
                new.serial_hex()
            );
        } else {
            crate::debug!("certificate or key files changed; reloaded them");
        }
        self.signer = signer;
    }
}

/// Whether a renewed identity is one IAM Roles Anywhere can accept, as far as can be told
/// without its trust anchor: valid now and following the trust model's end-entity rules. One
/// that is not would only get refusals, while the previous one may still work.
fn vet(signer: &dyn X509Signer) -> std::result::Result<(), String> {
    let cert = signer.certificate();
    match problems(cert).into_iter().next() {
        Some(problem) => Err(format!(
            "the new certificate (serial {}) {problem}",
            cert.serial_hex()
        )),
        None => Ok(()),
    }
}

/// Says, one line each, what IAM Roles Anywhere will refuse in the certificate a long-running
/// delivery starts with (it is used anyway: the operator may know better, and the service has
/// the last word), as a renewal like it would be refused.
fn warn_at_start(signer: &dyn X509Signer) {
    let cert = signer.certificate();
    for problem in problems(cert) {
        crate::warning!(
            "the certificate (serial {}) {problem}: IAM Roles Anywhere will refuse it, and a \
             renewal like it would not be adopted; check it with aws_signing_helper validate",
            cert.serial_hex()
        );
    }
}

/// What IAM Roles Anywhere would refuse in `cert` without looking at its trust anchor: a
/// validity period that does not hold now, and each end-entity rule it breaks, named.
fn problems(cert: &crate::identity::Certificate) -> Vec<String> {
    use crate::identity::trust_rules::{end_entity_rules, iso8601};

    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut problems = Vec::new();
    if now < cert.not_before() || now > cert.not_after() {
        problems.push(format!(
            "is valid only from {} to {}",
            iso8601(cert.not_before()),
            iso8601(cert.not_after())
        ));
    }
    for (rule, verdict) in end_entity_rules(cert) {
        if let Err(why) = verdict {
            problems.push(format!("breaks the {} rule: {why}", rule.name()));
        }
    }
    problems
}

/// The stamps of the files `source` is read from, when they are watched.
fn watched(source: &Source, reload: Reload) -> Vec<FileStamp> {
    match reload {
        Reload::Never => Vec::new(),
        Reload::OnChange => stamps(source.files()),
    }
}

/// [`RENEWAL_GRACE_ENV`] when it holds a number of seconds, else [`RENEWAL_GRACE`].
fn grace_from_env() -> Duration {
    std::env::var(RENEWAL_GRACE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(RENEWAL_GRACE, Duration::from_secs)
}

impl CredentialSource for RolesAnywhere {
    fn fetch(&mut self) -> Pin<Box<dyn Future<Output = Result<Issued>> + Send + '_>> {
        Box::pin(self.issue())
    }

    fn reload(&mut self) {
        if self.reload == Reload::OnChange {
            self.forced = true;
        }
    }
}
