//! When to get credentials again, for `serve` and `update`: [`refresh_delay`] is a pure
//! function of the expiry, the clock and the refresh window; [`Backoff`] spaces out attempts
//! after failures; [`keep_fresh`] runs the loop and hands each new set to a [`Deliver`]y, and
//! refreshes at once when woken ([`Wake`], which SIGHUP pulls).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::Rng;
use tokio::sync::Notify;

#[cfg(test)]
use crate::config::options::REFRESH_WINDOW;
use crate::credentials::{CredentialSource, Issued};
use crate::error::Error;

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
    /// What a failed delivery says; a failed fetch is turned into one too, so that
    /// [`failed`](Self::failed) sees both.
    type Error: From<Error>;

    /// Hands over new credentials.
    ///
    /// # Errors
    /// When they cannot be delivered (a file that cannot be written): the refresh is then
    /// retried as if fetching had failed.
    fn deliver(&mut self, issued: &Arc<Issued>) -> Result<(), Self::Error>;

    /// Called before waiting `delay` for the next refresh of `current`.
    fn waiting(&mut self, _current: &Issued, _delay: Duration) {}

    /// Called when a refresh failed; `current` is what is still delivered, `retry_in` the wait.
    fn failed(&mut self, error: &Self::Error, current: &Issued, retry_in: Duration);

    /// Called when a reload was asked for (SIGHUP), before refreshing.
    fn reloading(&mut self) {
        crate::notice!("reload requested: reading the certificate and key again and refreshing");
    }
}

/// A request to reload the identity and refresh now, to [`keep_fresh`] (the command line pulls
/// it at every SIGHUP).
///
/// A request made while the loop is not waiting (in the middle of a refresh) is kept and served
/// as soon as it waits again, so none is lost; several requests before then count as one.
#[derive(Debug, Default)]
pub struct Wake(Notify);

impl Wake {
    /// Asks for a reload and a refresh now.
    pub fn request(&self) {
        self.0.notify_one();
    }

    /// Sleeps `delay`; `true` when woken by [`Wake::request`] first.
    async fn sleep(&self, delay: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(delay) => false,
            () = self.0.notified() => true,
        }
    }
}

/// Refreshes credentials `window` before they expire, forever, keeping the last good ones when
/// a refresh fails and retrying with [`Backoff`]. When `wake` is pulled, the source is told to
/// reload and the refresh happens at once (and a failing one is retried at once).
pub async fn keep_fresh<D: Deliver + ?Sized>(
    source: &mut dyn CredentialSource,
    mut current: Arc<Issued>,
    window: Duration,
    delivery: &mut D,
    wake: &Wake,
) {
    loop {
        let delay = refresh_delay(current.expires_at, SystemTime::now(), window);
        delivery.waiting(&current, delay);
        if wake.sleep(delay).await {
            delivery.reloading();
            source.reload();
        }
        let mut backoff = Backoff::default();
        loop {
            let attempt = match source.fetch().await {
                Ok(issued) => {
                    let issued = Arc::new(issued);
                    delivery.deliver(&issued).map(|()| issued)
                }
                Err(e) => Err(D::Error::from(e)),
            };
            match attempt {
                Ok(issued) => {
                    current = issued;
                    break;
                }
                Err(e) => {
                    let retry_in = backoff.next_delay();
                    delivery.failed(&e, &current, retry_in);
                    if wake.sleep(retry_in).await {
                        delivery.reloading();
                        source.reload();
                        backoff = Backoff::default();
                    }
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

    /// A wake during the long sleep refreshes at once; one pulled while a refresh is in flight
    /// is not lost: the next refresh follows as soon as that one is delivered.
    #[tokio::test(start_paused = true)]
    async fn a_wake_refreshes_at_once_even_when_pulled_during_a_refresh() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        struct Slow {
            fetches: Arc<AtomicUsize>,
            reloads: Arc<AtomicUsize>,
        }
        impl CredentialSource for Slow {
            fn fetch(
                &mut self,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = crate::error::Result<Issued>> + Send + '_>,
            > {
                Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    self.fetches.fetch_add(1, Ordering::SeqCst);
                    Ok(issued())
                })
            }
            fn reload(&mut self) {
                self.reloads.fetch_add(1, Ordering::SeqCst);
            }
        }
        struct Quiet;
        impl Deliver for Quiet {
            type Error = Error;
            fn deliver(&mut self, _: &Arc<Issued>) -> Result<(), Error> {
                Ok(())
            }
            fn failed(&mut self, _: &Error, _: &Issued, _: Duration) {}
            fn reloading(&mut self) {}
        }
        fn issued() -> Issued {
            let now = SystemTime::now();
            Issued {
                credentials: crate::credentials::Credentials {
                    access_key_id: "ASIA".into(),
                    secret_access_key: Default::default(),
                    session_token: Default::default(),
                    expiration: String::new(),
                },
                expires_at: now + Duration::from_secs(3600),
                last_updated: now,
            }
        }

        let (fetches, reloads) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut source = Slow {
            fetches: Arc::clone(&fetches),
            reloads: Arc::clone(&reloads),
        };
        let wake = Arc::new(Wake::default());
        let pulled = Arc::clone(&wake);
        tokio::spawn(async move {
            keep_fresh(
                &mut source,
                Arc::new(issued()),
                REFRESH_WINDOW,
                &mut Quiet,
                &pulled,
            )
            .await;
        });
        let count = || {
            (
                fetches.load(Ordering::SeqCst),
                reloads.load(Ordering::SeqCst),
            )
        };
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(count(), (0, 0), "the first refresh is 55 minutes away");
        wake.request();
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The refresh is in flight (it takes 10 s): a second request now must not be lost.
        assert_eq!(count(), (0, 1));
        wake.request();
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert_eq!(count(), (2, 2));
        // And then back to the normal schedule.
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(count(), (2, 2));
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
