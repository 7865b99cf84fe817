//! Getting credentials again and again, for `serve` and `update`: one [`Issuer`] holds the
//! identity, the HTTP client and the CreateSession parameters; [`refresh_delay`] says when to
//! call it next and [`Backoff`] how long to wait after a failure.
//!
//! The certificate, chain and key files are opened again before each refresh whose files changed
//! on disk, so a renewed certificate is picked up without a restart. A renewal that cannot be
//! loaded (half-written, wrong key, ...) is reported on stderr and the previous material is kept.
//! Unchanged files are not re-read, so an encrypted key whose password was typed at start-up is
//! not asked for again at every refresh.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::Rng;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::identity::{Source, X509Signer};
use crate::options::Options;
use crate::session::{self, SessionRequest};

/// Credentials are refreshed this long before they expire, as the official helper does.
pub const REFRESH_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Overrides [`REFRESH_WINDOW`], in seconds. Meant for tests, which cannot wait ten minutes for
/// a 15-minute session to need refreshing; also useful where clocks drift a lot.
pub const REFRESH_WINDOW_ENV: &str = "AWS_SIGNING_HELPER_REFRESH_WINDOW";

/// Never refresh more often than this, whatever lifetime the service grants.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// First retry after a failed refresh waits up to this long; each further one doubles it.
const RETRY_BASE: Duration = Duration::from_secs(1);
/// No retry waits longer than this.
const RETRY_CAP: Duration = Duration::from_secs(60);

/// Credentials with their parsed lifetime.
#[derive(Clone, Debug)]
pub struct Issued {
    /// What CreateSession returned.
    pub credentials: Credentials,
    /// `credentials.expiration`, parsed.
    pub expires_at: SystemTime,
    /// When we received them.
    pub last_updated: SystemTime,
}

impl Issued {
    /// Whether the credentials are still valid at `now`.
    pub fn valid_at(&self, now: SystemTime) -> bool {
        now < self.expires_at
    }
}

/// Calls CreateSession with a (possibly reloaded) identity.
pub struct Issuer {
    source: Source,
    signer: Arc<dyn X509Signer>,
    stamp: Vec<FileStamp>,
    client: reqwest::Client,
    request: SessionRequest,
    timeout: Duration,
}

impl Issuer {
    /// Opens the identity (checking the key against the certificate) and builds the HTTP client.
    ///
    /// # Errors
    /// When the identity cannot be opened or TLS cannot be set up: fatal at start-up.
    pub fn new(options: Options) -> Result<Issuer> {
        let stamp = stamp(&options.source);
        let signer: Arc<dyn X509Signer> = Arc::from(options.source.clone().open()?);
        let client = session::http_client(&options.http, None)?;
        Ok(Issuer {
            source: options.source,
            signer,
            stamp,
            client,
            request: options.request,
            timeout: options.http.timeout,
        })
    }

    /// The CreateSession parameters.
    pub fn request(&self) -> &SessionRequest {
        &self.request
    }

    /// Reloads the identity if its files changed, then calls CreateSession (with its own
    /// retries).
    ///
    /// # Errors
    /// The CreateSession failure, or an expiration that is not an ISO 8601 time.
    pub async fn issue(&mut self) -> Result<Issued> {
        self.reload().await;
        let credentials = session::create_session(
            &self.client,
            self.signer.as_ref(),
            &self.request,
            self.timeout,
        )
        .await?;
        let expires_at =
            parse_expiration(&credentials.expiration).ok_or_else(|| Error::BadResponse {
                url: self.request.endpoint.base_url.clone(),
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

    /// Opens the identity again when its files changed; keeps the current one if that fails.
    async fn reload(&mut self) {
        let stamp = stamp(&self.source);
        if stamp == self.stamp {
            return;
        }
        let source = self.source.clone();
        let opened = tokio::task::spawn_blocking(move || source.open()).await;
        match opened {
            Ok(Ok(signer)) => {
                crate::debug!("certificate or key files changed; reloaded them");
                self.signer = Arc::from(signer);
                self.stamp = stamp;
            }
            Ok(Err(e)) => {
                // Reported once per change: the stamp is recorded so an unchanged broken file is
                // not reported again at every retry.
                eprintln!(
                    "aws_signing_helper: cannot reload the certificate or key ({e}); still using the ones loaded before"
                );
                self.stamp = stamp;
            }
            Err(e) => eprintln!("aws_signing_helper: cannot reload the certificate or key: {e}"),
        }
    }
}

/// How long to wait before refreshing credentials that expire at `expires_at`.
pub fn refresh_delay(expires_at: SystemTime, now: SystemTime) -> Duration {
    let refresh_at = expires_at
        .checked_sub(refresh_window())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    refresh_at
        .duration_since(now)
        .unwrap_or_default()
        .max(MIN_REFRESH_INTERVAL)
}

fn refresh_window() -> Duration {
    std::env::var(REFRESH_WINDOW_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(REFRESH_WINDOW, Duration::from_secs)
}

/// Exponential backoff with jitter between failed refreshes.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The wait before the next attempt: up to 1 s, 2 s, 4 s, ... capped at 60 s, with the
    /// lower half jittered so that many helpers do not retry in step.
    pub fn next_delay(&mut self) -> Duration {
        let cap = RETRY_CAP.min(RETRY_BASE.saturating_mul(2u32.saturating_pow(self.failures)));
        self.failures = self.failures.saturating_add(1);
        cap.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

/// `2025-01-02T03:04:05Z` as a time, `None` when unparsable.
pub fn parse_expiration(text: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok().map(Into::into)
}

/// A time as ISO 8601 UTC to the second, as IMDS writes them.
pub fn iso8601(at: SystemTime) -> String {
    let at = OffsetDateTime::from(at)
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    // Formatting a whole-second UTC time as RFC 3339 cannot fail.
    at.format(&Rfc3339).unwrap_or_default()
}

/// What the identity files looked like: path, modification time and size of each.
#[derive(Debug, PartialEq, Eq)]
struct FileStamp {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
}

fn stamp(source: &Source) -> Vec<FileStamp> {
    let Source::Files(files) = source else {
        return Vec::new();
    };
    [
        Some(&files.certificate),
        files.private_key.as_ref(),
        files.intermediates.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|path| FileStamp {
        path: path.clone(),
        seen: std::fs::metadata(path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len()))),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expirations_round_trip() {
        let at = parse_expiration("2025-01-02T03:04:05Z").unwrap();
        assert_eq!(iso8601(at), "2025-01-02T03:04:05Z");
        assert!(parse_expiration("tomorrow").is_none());
    }

    #[test]
    fn refresh_happens_five_minutes_before_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let expires = now + Duration::from_secs(3600);
        assert_eq!(refresh_delay(expires, now), Duration::from_secs(3300));
        // Already inside the window: soon, but not in a busy loop.
        assert_eq!(
            refresh_delay(now + Duration::from_secs(10), now),
            MIN_REFRESH_INTERVAL
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut backoff = Backoff::default();
        let first = backoff.next_delay();
        assert!(first <= RETRY_BASE && first >= RETRY_BASE / 2);
        for _ in 0..20 {
            assert!(backoff.next_delay() <= RETRY_CAP);
        }
        assert!(backoff.next_delay() >= RETRY_CAP / 2);
    }
}
