//! When to get credentials again, for `serve`, `update` and the provider: [`refresh_delay`] is a
//! pure function of the expiry, the clock, the refresh window and a random draw; [`Backoff`]
//! spaces out attempts after failures; [`keep_fresh`] runs the loop and hands each new set to a
//! [`Deliver`]y, and refreshes at once when woken ([`Wake`], which SIGHUP pulls).
//!
//! The refresh point is random, so that a fleet of helpers that started together (a reboot, a
//! configuration push restarting every unit) drifts apart from its first refresh on instead of
//! asking for credentials in the same second every hour, against one per-account quota. It is
//! drawn uniformly from the *refresh range*: from the window before expiry (5 minutes, where the
//! official helper refreshes; later than that is inside more SDKs' own refresh windows, and never
//! happens) back by a sixth of the credentials' life. For a one-hour session that is 15 to 5
//! minutes before expiry; for 15 minutes, 7.5 to 5; each round adds its own draw, so the spread
//! grows from round to round.

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

/// How long to wait before refreshing credentials that expire at `expires_at`: the point of
/// [`refresh_range`] that `draw` (in `[0, 1)`, uniformly random) picks, `0` its late edge (the
/// `window` before expiry) and `1` its early edge. Never less than a second.
pub fn refresh_delay(
    expires_at: SystemTime,
    now: SystemTime,
    window: Duration,
    draw: f64,
) -> Duration {
    let (early, late) = refresh_range(expires_at, now, window);
    let delay = late.saturating_sub((late - early).mul_f64(draw.clamp(0.0, 1.0)));
    delay.max(MIN_REFRESH_INTERVAL)
}

/// The earliest and latest delays, from `now`, at which to refresh credentials that expire at
/// `expires_at` and have just arrived, refreshing `window` before expiry at the latest.
///
/// The range ends `window` before expiry and starts earlier by a sixth of the time left
/// ([`SPREAD_DIVISOR`]), but never before halfway to its end: a window set close to the
/// session's length (as tests set it) still means "refresh soon, not at once".
///
/// Credentials that arrive well inside the window (an endpoint granting less than the window,
/// or a window set longer than the session) are refreshed between a third and a half of the
/// time they have left, not at once: an endpoint that keeps issuing short sessions is then
/// called ever so often, rather than every second. "Well inside" allows 10 s (`WINDOW_SLACK`)
/// for the rounding and latency between the endpoint's clock and ours, so that a window set a
/// second or two short of the session (as tests do) still means "refresh almost at once".
pub fn refresh_range(
    expires_at: SystemTime,
    now: SystemTime,
    window: Duration,
) -> (Duration, Duration) {
    let left = expires_at.duration_since(now).unwrap_or_default();
    if left + WINDOW_SLACK >= window {
        let late = left.saturating_sub(window);
        let spread = (left / SPREAD_DIVISOR).min(late / 2);
        (late - spread, late)
    } else {
        (left / 3, left / 2)
    }
}

/// The refresh range spans this fraction (one over it) of the time the credentials have left
/// when they arrive: 10 minutes of a one-hour session.
pub const SPREAD_DIVISOR: u32 = 6;

/// How far inside the refresh window fresh credentials may be and still count as at its edge.
const WINDOW_SLACK: Duration = Duration::from_secs(10);

/// Exponential backoff with jitter between failed refreshes.
#[derive(Clone, Debug, Default)]
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

/// Refreshes credentials at a random point of their [`refresh_range`] (`window` before they
/// expire at the latest), forever, keeping the last good ones when
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
        let draw = rand::thread_rng().gen_range(0.0..1.0);
        let delay = refresh_delay(current.expires_at, SystemTime::now(), window, draw);
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

    const MIN: Duration = Duration::from_secs(60);

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    /// One hour: between 15 and 5 minutes before expiry, the late edge where the official
    /// helper refreshes; 15 minutes: 7.5 to 5.
    #[test]
    fn the_refresh_range_is_a_sixth_of_the_life_before_the_window() {
        let now = at(0);
        let hour = at(3600);
        assert_eq!(
            refresh_range(hour, now, REFRESH_WINDOW),
            (45 * MIN, 55 * MIN)
        );
        assert_eq!(refresh_delay(hour, now, REFRESH_WINDOW, 0.0), 55 * MIN);
        assert_eq!(refresh_delay(hour, now, REFRESH_WINDOW, 0.5), 50 * MIN);
        assert_eq!(refresh_delay(hour, now, REFRESH_WINDOW, 1.0), 45 * MIN);
        let quarter = at(900);
        assert_eq!(
            refresh_range(quarter, now, REFRESH_WINDOW),
            (Duration::from_secs(450), 10 * MIN)
        );
        // Twelve hours: 2 h 5 min to 5 min before expiry.
        let long = at(12 * 3600);
        assert_eq!(
            refresh_range(long, now, REFRESH_WINDOW),
            (9 * 60 * MIN + 55 * MIN, 11 * 60 * MIN + 55 * MIN)
        );
        // The window (AWS_SIGNING_HELPER_REFRESH_WINDOW) moves the late edge.
        assert_eq!(
            refresh_range(hour, now, Duration::from_secs(600)),
            (40 * MIN, 50 * MIN)
        );
    }

    /// Whatever the draw, the refresh falls inside the range, never later than the window
    /// before expiry, and never in a busy loop.
    #[test]
    fn every_draw_lands_in_the_range() {
        let now = at(0);
        for (expires, window) in [
            (at(3600), REFRESH_WINDOW),
            (at(900), REFRESH_WINDOW),
            (at(43_200), REFRESH_WINDOW),
            (at(60), Duration::from_secs(5)),
            (at(900), Duration::from_secs(898)),
            (at(120), REFRESH_WINDOW),
            (at(1), REFRESH_WINDOW),
        ] {
            let (early, late) = refresh_range(expires, now, window);
            assert!(early <= late, "{expires:?} {window:?}");
            for i in 0..=1000 {
                let draw = f64::from(i) / 1000.0;
                let delay = refresh_delay(expires, now, window, draw);
                assert!(
                    delay >= early.max(MIN_REFRESH_INTERVAL)
                        && delay <= late.max(MIN_REFRESH_INTERVAL),
                    "{delay:?} outside {early:?}..{late:?}"
                );
            }
        }
        // Draws out of range are clamped.
        assert_eq!(refresh_delay(at(3600), now, REFRESH_WINDOW, 9.0), 45 * MIN);
        assert_eq!(refresh_delay(at(3600), now, REFRESH_WINDOW, -1.0), 55 * MIN);
    }

    /// Helpers that got their credentials within the same second refresh spread over the
    /// whole range: no second of it gets more than a few times its share.
    #[test]
    fn a_fleet_that_started_together_spreads_out() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(22);
        let now = at(0);
        let mut per_second = std::collections::BTreeMap::<u64, u32>::new();
        for _ in 0..6000 {
            let delay = refresh_delay(at(3600), now, REFRESH_WINDOW, rng.gen_range(0.0..1.0));
            *per_second.entry(delay.as_secs()).or_default() += 1;
        }
        // 6,000 over the 600 s of the range: 10 a second on average.
        assert!(per_second.len() >= 590, "{} seconds", per_second.len());
        assert!(per_second.keys().all(|s| (2700..=3300).contains(s)));
        let peak = per_second.values().max().copied().unwrap_or_default();
        assert!(peak <= 30, "{peak} refreshes in one second");
    }

    #[test]
    fn credentials_inside_the_window_are_refreshed_a_third_to_half_way() {
        let now = at(0);
        // Already inside the window: a third to half of what is left, never in a busy loop.
        assert_eq!(
            refresh_range(at(120), now, REFRESH_WINDOW),
            (Duration::from_secs(40), Duration::from_secs(60))
        );
        assert_eq!(
            refresh_delay(at(1), now, REFRESH_WINDOW, 0.0),
            MIN_REFRESH_INTERVAL
        );
        assert_eq!(
            refresh_delay(now, now, REFRESH_WINDOW, 0.5),
            MIN_REFRESH_INTERVAL
        );
        // Just outside it, as the tests that shorten the window rely on: soon, within the 2 s
        // to the late edge; and just inside it (rounding and latency): at once.
        assert_eq!(
            refresh_range(at(3600), now, Duration::from_secs(3598)),
            (Duration::from_secs(1), Duration::from_secs(2))
        );
        assert_eq!(
            refresh_delay(at(3600), now, Duration::from_secs(3601), 0.0),
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
