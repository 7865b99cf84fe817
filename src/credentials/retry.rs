//! Attempts and backoff for one remote call (CreateSession today, STS next): how many attempts,
//! how long to wait between them, and which failures are worth another attempt.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::error::Error;

/// How a call is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first retry waits up to this long; each further one doubles it (full jitter).
    pub base: Duration,
    /// No retry waits longer than this.
    pub cap: Duration,
}

impl Policy {
    /// The AWS SDKs' standard mode: 3 attempts.
    pub const STANDARD: Policy = Policy {
        max_attempts: 3,
        base: Duration::from_millis(200),
        cap: Duration::from_secs(5),
    };

    /// The wait before attempt `attempt + 1`, after `attempt` failed: up to `base * 2^attempt`,
    /// capped, the lower half jittered so that many clients do not retry in step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .cap
            .min(self.base.saturating_mul(2u32.saturating_pow(attempt)));
        ceiling.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

/// One failed attempt.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub error: Error,
    /// Whether another attempt may succeed (throttling, 5xx, a lost connection).
    pub retryable: bool,
}

impl Failure {
    /// A failure worth another attempt.
    pub fn retry(error: Error) -> Failure {
        Failure {
            error,
            retryable: true,
        }
    }

    /// A failure another attempt would repeat.
    pub fn fatal(error: Error) -> Failure {
        Failure {
            error,
            retryable: false,
        }
    }
}

/// The last failure, after the attempts ran out or a fatal one.
#[derive(Debug)]
pub struct GaveUp {
    /// The last error.
    pub error: Error,
    /// Attempts made.
    pub attempts: u32,
}

/// Runs `attempt` until it succeeds, fails fatally, or `policy` runs out of attempts.
///
/// # Errors
/// The last failure, with the number of attempts made.
pub async fn run<T, F, Fut>(policy: &Policy, mut attempt: F) -> Result<T, GaveUp>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut made = 1;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(failure) if failure.retryable && made < policy.max_attempts => {
                let delay = policy.delay(made);
                crate::debug!(
                    "attempt {made} failed ({}); retrying in {} ms",
                    failure.error.report(),
                    delay.as_millis()
                );
                tokio::time::sleep(delay).await;
                made += 1;
            }
            Err(failure) => {
                return Err(GaveUp {
                    error: failure.error,
                    attempts: made,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_and_are_capped() {
        let policy = Policy::STANDARD;
        for attempt in 1..10 {
            let delay = policy.delay(attempt);
            let ceiling = policy.cap.min(policy.base * 2u32.pow(attempt));
            assert!(
                delay <= ceiling && delay >= ceiling / 2,
                "{attempt}: {delay:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retryable_failures_are_retried_until_the_attempts_run_out() {
        let mut calls = 0;
        let gave_up = run(&Policy::STANDARD, || {
            calls += 1;
            async { Err::<(), _>(Failure::retry(Error::Usage("x".into()))) }
        })
        .await
        .unwrap_err();
        assert_eq!((calls, gave_up.attempts), (3, 3));

        let mut calls = 0;
        let gave_up = run(&Policy::STANDARD, || {
            calls += 1;
            async { Err::<(), _>(Failure::fatal(Error::Usage("x".into()))) }
        })
        .await
        .unwrap_err();
        assert_eq!((calls, gave_up.attempts), (1, 1));
    }
}
