//! An opened identity (a certificate and its key) that follows renewals, and that several
//! CreateSession sources can share: cloning a [`SharedIdentity`] shares the one opened key (one
//! PKCS#11 login, one TPM context) and its reloads.
//!
//! When it watches its files ([`Reload::OnChange`]), the certificate, chain and key are opened
//! again before a signature whose files changed on disk, and at the first use after
//! [`SharedIdentity::reload`] (SIGHUP) whether they changed or not, so a renewed certificate is
//! picked up without a restart, even one of another key type. Unchanged files are not re-read,
//! so an encrypted key whose password was typed at start-up is not asked for again at every
//! refresh. Sources sharing the identity reopen it once: the others wait for that and use it.
//!
//! Renewals are not atomic: certmonger truncates and rewrites the key, then the certificate, so
//! for a moment the files are empty, half-written or a new key with the old certificate. A
//! reload that fails right after a change is therefore a renewal in progress: it is tried again
//! every [`RENEWAL_RETRY`] for up to the renewal grace ([`RENEWAL_GRACE`]); meanwhile the last
//! good credentials keep flowing (the fetch waits; the deliveries keep what they have). A new
//! pair counts as loaded only if the certificate is valid now and follows the trust model's
//! end-entity rules (`identity::trust_rules`). A pair that still fails then is reported once, on
//! one line, and never used: signatures go on with the previous identity until the files change
//! again or a reload asks for another try.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use super::Reload;
use crate::error::Result;
use crate::filestamp::{stamps, FileStamp};
use crate::identity::{Source, X509Signer};

/// How long a reload that fails after a change is retried before the renewal counts as broken.
pub const RENEWAL_GRACE: Duration = Duration::from_secs(10);
/// Overrides [`RENEWAL_GRACE`], in seconds (tests; hosts whose renewals are slow to write).
pub const RENEWAL_GRACE_ENV: &str = "AWS_SIGNING_HELPER_RENEWAL_GRACE";
/// Pause between two tries of a renewal in progress.
pub const RENEWAL_RETRY: Duration = Duration::from_millis(200);

/// An opened certificate and key, shared by its clones.
#[derive(Clone)]
pub struct SharedIdentity {
    inner: Arc<Inner>,
}

struct Inner {
    source: Source,
    reload: Reload,
    grace: Duration,
    /// The identity in use, and its files' stamps when it was read (or when a broken renewal
    /// was given up on, so that it is not tried again until the files change).
    current: Mutex<Current>,
    /// A reload was asked for: reopen at the next use even if nothing changed.
    forced: AtomicBool,
    /// Held while the files are opened again, so that sharers reopen them once.
    reopening: tokio::sync::Mutex<()>,
}

struct Current {
    signer: Arc<dyn X509Signer>,
    stamps: Vec<FileStamp>,
}

impl SharedIdentity {
    /// Opens the identity `source` names (checking the key against the certificate).
    ///
    /// # Errors
    /// When it cannot be opened: a missing or unreadable file, a wrong password or PIN, a key
    /// that is not the certificate's.
    pub fn open(source: Source, reload: Reload) -> Result<SharedIdentity> {
        // Stamped before reading, so that a change made while the files are read is noticed.
        let stamps = watched(&source, reload);
        let signer: Arc<dyn X509Signer> = Arc::from(source.open()?);
        // Long-running deliveries say what the service will refuse, as they would refuse a
        // renewal like it; a one-shot call just tries (the answer says it all).
        if reload == Reload::OnChange {
            warn_at_start(signer.as_ref());
        }
        let identity = SharedIdentity::with_signer(source, signer, reload);
        lock(&identity.inner.current).stamps = stamps;
        Ok(identity)
    }

    /// The identity `signer`, already opened from `source`.
    pub fn with_signer(
        source: Source,
        signer: Arc<dyn X509Signer>,
        reload: Reload,
    ) -> SharedIdentity {
        let stamps = watched(&source, reload);
        SharedIdentity {
            inner: Arc::new(Inner {
                source,
                reload,
                grace: grace_from_env(),
                current: Mutex::new(Current { signer, stamps }),
                forced: AtomicBool::new(false),
                reopening: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Asks for the files to be opened again at the next use, changed or not (SIGHUP). Nothing
    /// happens for an identity that does not watch its files.
    pub fn reload(&self) {
        if self.inner.reload == Reload::OnChange {
            self.inner.forced.store(true, Ordering::SeqCst);
        }
    }

    /// Whether the files changed since the identity in use was read from them (a renewal the
    /// next use will pick up).
    pub fn files_changed(&self) -> bool {
        self.inner.reload == Reload::OnChange
            && stamps(self.inner.source.files()) != lock(&self.inner.current).stamps
    }

    /// Whether the files are watched.
    pub fn reload_policy(&self) -> Reload {
        self.inner.reload
    }

    /// The identity in use now, without looking at the files.
    pub fn signer(&self) -> Arc<dyn X509Signer> {
        Arc::clone(&lock(&self.inner.current).signer)
    }

    /// The identity to sign with: opened again first when its files changed or a reload was
    /// asked for, retrying a renewal in progress; the current one if the new one does not load.
    pub(crate) async fn signer_for_use(&self) -> Arc<dyn X509Signer> {
        if self.inner.reload == Reload::Never {
            return self.signer();
        }
        let due = |forced: bool| forced || self.files_changed();
        if !due(self.inner.forced.load(Ordering::SeqCst)) {
            return self.signer();
        }
        let _reopening = self.inner.reopening.lock().await;
        // Whoever held the lock before may have reopened the files already.
        let forced = self.inner.forced.swap(false, Ordering::SeqCst);
        if due(forced) {
            self.reopen(forced).await;
        }
        self.signer()
    }

    /// Opens the files again, retrying a renewal in progress for up to the grace.
    async fn reopen(&self, forced: bool) {
        let inner = &self.inner;
        let started = Instant::now();
        loop {
            let before = stamps(inner.source.files());
            let source = inner.source.clone();
            let opened = tokio::task::spawn_blocking(move || source.open()).await;
            let error = match opened {
                // Files that changed again while they were read may be a mix: read them again.
                Ok(Ok(_)) if stamps(inner.source.files()) != before => None,
                Ok(Ok(signer)) => match vet(signer.as_ref()) {
                    Ok(()) => {
                        self.adopt(Arc::from(signer), before, forced);
                        return;
                    }
                    Err(why) => Some(why),
                },
                Ok(Err(e)) => Some(e.report()),
                Err(e) => Some(format!("the reload task failed: {e}")),
            };
            if started.elapsed() >= inner.grace {
                let error = error.unwrap_or_else(|| "the files keep changing".into());
                let mut current = lock(&inner.current);
                let certificate = current.signer.certificate();
                crate::notice!(
                    "cannot reload the certificate or key ({error}) {} s after they changed; \
                     still using the previous ones (serial {}, valid until {}): fix the files, \
                     then send SIGHUP",
                    inner.grace.as_secs(),
                    certificate.serial_hex(),
                    crate::identity::trust_rules::iso8601(certificate.not_after())
                );
                // Given up on until the files change again (or SIGHUP).
                current.stamps = before;
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
    fn adopt(&self, signer: Arc<dyn X509Signer>, stamps: Vec<FileStamp>, forced: bool) {
        let mut current = lock(&self.inner.current);
        let (old, new) = (current.signer.certificate(), signer.certificate());
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
        *current = Current { signer, stamps };
    }
}

impl std::fmt::Debug for SharedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedIdentity")
            .field("reload", &self.inner.reload)
            .field(
                "certificate_serial",
                &self.signer().certificate().serial_hex(),
            )
            .finish_non_exhaustive()
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding it; if something did, the value is still whole.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
