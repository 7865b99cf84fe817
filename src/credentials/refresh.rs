//! When to get credentials again, for `serve` and `update`: [`refresh_delay`] is a pure
//! function of the expiry, the clock and the refresh window; [`Backoff`] spaces out attempts
//! after failures; [`keep_fresh`] runs the loop and hands each new set to a [`Deliver`]y.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::Rng;

use super::{CredentialSource, Issued};
use crate::error::Error;

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

/// How long to wait before refreshing credentials that expire at `expires_at`, `window` ahead
/// of expiry.
///
/// Credentials that arrive well inside the window (an endpoint granting less than the window,
/// or a window set longer than the session) are refreshed halfway through the time they have
/// left, not at once: an endpoint that keeps issuing short sessions is then called ever so
/// often, rather than every second. "Well inside" allows [`WINDOW_SLACK`] for the rounding
/// and latency between the endpoint's clock and ours, so that a window set a second or two
/// short of the session (as tests do) still means "refresh almost at once".
pub fn refresh_delay(expires_at: SystemTime, now: SystemTime, window: Duration) -> Duration {
    let left = expires_at.duration_since(now).unwrap_or_default();
    let delay = if left + WINDOW_SLACK >= window {
        left.saturating_sub(window)
    } else {
        left / 2
    };
    delay.max(MIN_REFRESH_INTERVAL)
}

/// How far inside the refresh window fresh credentials may be and still count as at its edge.
const WINDOW_SLACK: Duration = Duration::from_secs(10);

/// Longest refresh window [`REFRESH_WINDOW_ENV`] may set: the longest session.
const MAX_WINDOW_SECONDS: u64 = 43_200;

/// The refresh window: [`REFRESH_WINDOW_ENV`] when set, else [`REFRESH_WINDOW`].
///
/// # Errors
/// [`Error::Environment`] when the variable is set to anything but a whole number of seconds
/// from 0 to 43200, as for the HTTP timeout variable.
pub fn window_from_env() -> Result<Duration, Error> {
    let Ok(value) = std::env::var(REFRESH_WINDOW_ENV) else {
        return Ok(REFRESH_WINDOW);
    };
    match value.parse::<u64>() {
        Ok(seconds) if seconds <= MAX_WINDOW_SECONDS => Ok(Duration::from_secs(seconds)),
        _ => Err(Error::Environment {
            var: REFRESH_WINDOW_ENV,
            value,
            expected: "must be a whole number of seconds from 0 to 43200",
        }),
    }
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

/// Where refreshed credentials go, and what to say along the way.
pub trait Deliver: Send {
    /// Hands over new credentials.
    ///
    /// # Errors
    /// When they cannot be delivered (a file that cannot be written): the refresh is then
    /// retried as if fetching had failed.
    fn deliver(&mut self, issued: &Arc<Issued>) -> Result<(), Error>;

    /// Called before waiting `delay` for the next refresh of `current`.
    fn waiting(&mut self, _current: &Issued, _delay: Duration) {}

    /// Called when a refresh failed; `current` is what is still delivered, `retry_in` the wait.
    fn failed(&mut self, error: &Error, current: &Issued, retry_in: Duration);
}

/// Refreshes credentials `window` before they expire, forever, keeping the last good ones when
/// a refresh fails and retrying with [`Backoff`].
pub async fn keep_fresh(
    source: &mut dyn CredentialSource,
    mut current: Arc<Issued>,
    window: Duration,
    delivery: &mut dyn Deliver,
) {
    loop {
        let delay = refresh_delay(current.expires_at, SystemTime::now(), window);
        delivery.waiting(&current, delay);
        tokio::time::sleep(delay).await;
        let mut backoff = Backoff::default();
        loop {
            let attempt = match source.fetch().await {
                Ok(issued) => {
                    let issued = Arc::new(issued);
                    delivery.deliver(&issued).map(|()| issued)
                }
                Err(e) => Err(e),
            };
            match attempt {
                Ok(issued) => {
                    current = issued;
                    break;
                }
                Err(e) => {
                    let retry_in = backoff.next_delay();
                    delivery.failed(&e, &current, retry_in);
                    tokio::time::sleep(retry_in).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_happens_the_window_before_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let expires = now + Duration::from_secs(3600);
        assert_eq!(
            refresh_delay(expires, now, REFRESH_WINDOW),
            Duration::from_secs(3300)
        );
        assert_eq!(
            refresh_delay(expires, now, Duration::from_secs(600)),
            Duration::from_secs(3000)
        );
        // Already inside the window: halfway through what is left, and never in a busy loop.
        assert_eq!(
            refresh_delay(now + Duration::from_secs(120), now, REFRESH_WINDOW),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_delay(now + Duration::from_secs(1), now, REFRESH_WINDOW),
            MIN_REFRESH_INTERVAL
        );
        assert_eq!(
            refresh_delay(now, now, REFRESH_WINDOW),
            MIN_REFRESH_INTERVAL
        );
        // Just outside it, as the tests that shorten the window rely on, and just inside it
        // (rounding and latency): at once.
        assert_eq!(
            refresh_delay(expires, now, Duration::from_secs(3598)),
            Duration::from_secs(2)
        );
        assert_eq!(
            refresh_delay(expires, now, Duration::from_secs(3601)),
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
