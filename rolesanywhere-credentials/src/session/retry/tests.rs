//! The retry policy and its waits: settings, modes, backoff, the quota, patience.

use super::*;

fn env_of(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

fn file<'a>(text: &'a str, profile: &'a str) -> Option<ConfigFile<'a>> {
    Some(ConfigFile {
        path: Path::new("/cfg"),
        text,
        profile,
    })
}

#[test]
fn settings_come_from_the_environment_then_the_profile() {
    let none = env_of(&[]);
    assert_eq!(
        Policy::from_settings(&none, None).unwrap(),
        Policy::STANDARD
    );
    let env = env_of(&[("AWS_RETRY_MODE", "Adaptive"), ("AWS_MAX_ATTEMPTS", "10")]);
    assert_eq!(
        Policy::from_settings(&env, None).unwrap(),
        Policy {
            mode: Mode::Adaptive,
            max_attempts: 10
        }
    );
    let text = "[default]\nmax_attempts = 2 ; two\nretry_mode=adaptive\n[profile ra]\nmax_attempts = 7\n[ra]\nmax_attempts = 9\n";
    assert_eq!(
        Policy::from_settings(&none, file(text, "default")).unwrap(),
        Policy {
            mode: Mode::Adaptive,
            max_attempts: 2
        }
    );
    assert_eq!(
        Policy::from_settings(&none, file(text, "ra")).unwrap(),
        Policy {
            mode: Mode::Standard,
            max_attempts: 7
        }
    );
    let env = env_of(&[("AWS_MAX_ATTEMPTS", "1")]);
    assert_eq!(
        Policy::from_settings(&env, file(text, "default"))
            .unwrap()
            .max_attempts,
        1
    );
    let zero = env_of(&[("AWS_MAX_ATTEMPTS", "0")]);
    assert_eq!(
        Policy::from_settings(&zero, None).unwrap(),
        Policy::STANDARD
    );
}

#[test]
fn invalid_settings_say_where_they_came_from() {
    let env = env_of(&[("AWS_RETRY_MODE", "legacy")]);
    let e = Policy::from_settings(&env, None).unwrap_err().to_string();
    assert!(
        e.contains("invalid AWS_RETRY_MODE value") && e.contains("legacy"),
        "{e}"
    );
    let env = env_of(&[("AWS_MAX_ATTEMPTS", "-1")]);
    let e = Policy::from_settings(&env, None).unwrap_err().to_string();
    assert!(e.contains("AWS_MAX_ATTEMPTS=-1"), "{e}");
    let none = env_of(&[]);
    let e = Policy::from_settings(&none, file("[default]\nmax_attempts = x\n", "default"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("max_attempts=x (in profile default of /cfg)"),
        "{e}"
    );
}

#[test]
fn delays_follow_the_sdk_jitter_backoff() {
    let policy = Policy::STANDARD;
    for attempt in 1..=4 {
        for _ in 0..50 {
            let delay = policy.delay(attempt);
            assert!(
                delay < Duration::from_secs(1 << attempt),
                "{attempt}: {delay:?}"
            );
        }
    }
    assert_eq!(policy.delay(5), MAX_BACKOFF);
    assert_eq!(policy.delay(30), MAX_BACKOFF);
}

#[test]
fn full_jitter_stays_below_the_ceiling_and_is_random_at_the_cap() {
    for attempt in 1..=4 {
        let ceiling = Duration::from_secs(1 << attempt);
        assert_eq!(full_jitter(attempt, 0.0), Duration::ZERO);
        assert_eq!(full_jitter(attempt, 0.5), ceiling / 2);
        assert!(full_jitter(attempt, 0.999_999) < ceiling);
    }
    // From the 5th retry on the SDK waits 20 s exactly; a patient retryer anywhere below.
    for attempt in [5, 6, 31, 32, 1000, u32::MAX] {
        assert_eq!(full_jitter(attempt, 0.25), MAX_BACKOFF / 4, "{attempt}");
        assert!(full_jitter(attempt, 0.999_999) < MAX_BACKOFF);
    }
    // Draws out of range are clamped rather than trusted.
    assert_eq!(full_jitter(3, 7.0), Duration::from_secs(8));
    assert_eq!(full_jitter(3, -1.0), Duration::ZERO);
}

fn throttled() -> Failure {
    Failure::throttled(Error::Usage("throttled".into()))
}

/// Patience outlasts the policy's 3 attempts and the retry quota: a first call that times
/// out 55 times (54 retries at 10 tokens each, more than the quota's 500) still gets
/// through.
#[tokio::test(start_paused = true)]
async fn a_patient_first_call_outlasts_the_attempts_and_the_quota() {
    let retryer = Retryer::new(Policy::STANDARD).patient(Duration::from_secs(3600));
    let started = Instant::now();
    let mut calls = 0;
    let value = retryer
        .run(|| {
            calls += 1;
            let outcome = if calls <= 55 {
                Err(Failure::timed_out(Error::Usage("timed out".into())))
            } else {
                Ok(calls)
            };
            async move { outcome }
        })
        .await
        .expect("patience outlasts 55 failed attempts");
    assert_eq!(value, 56);
    // Each wait is below 20 s, and on average half of it.
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(55 * 20), "{waited:?}");
    assert!(waited > Duration::from_secs(55 * 2), "{waited:?}");

    // The patience was for the first call only: the next one has the SDK's 3 attempts.
    let mut calls = 0;
    let gave_up = retryer
        .run(|| {
            calls += 1;
            async { Err::<(), _>(throttled()) }
        })
        .await
        .unwrap_err();
    assert_eq!((calls, gave_up.attempts), (3, 3));
}

/// A patient first call makes its last attempt as its patience ends, then gives up; and it
/// does not retry a failure no retry can fix.
#[tokio::test(start_paused = true)]
async fn patience_ends_and_fatal_failures_are_not_retried() {
    let patience = Duration::from_secs(120);
    let retryer = Retryer::new(Policy::STANDARD).patient(patience);
    let started = Instant::now();
    let mut sent = Vec::new();
    let gave_up = retryer
        .run(|| {
            sent.push(started.elapsed());
            async { Err::<(), _>(throttled()) }
        })
        .await
        .unwrap_err();
    // The last attempt is made when the patience ends, not after, nor long before.
    let last = *sent.last().expect("attempts");
    assert!(last <= patience, "an attempt after the patience: {last:?}");
    assert!(
        last > patience - Duration::from_secs(1),
        "gave up with {:?} of patience left",
        patience - last
    );
    assert_eq!(gave_up.attempts as usize, sent.len());
    assert!(sent.len() > 3, "{sent:?}");

    let retryer = Retryer::new(Policy::STANDARD).patient(patience);
    let mut calls = 0;
    let gave_up = retryer
        .run(|| {
            calls += 1;
            async { Err::<(), _>(Failure::fatal(Error::Usage("denied".into()))) }
        })
        .await
        .unwrap_err();
    assert_eq!((calls, gave_up.attempts), (1, 1));

    // No patience: the SDK's attempts, as before.
    let retryer = Retryer::new(Policy::STANDARD).patient(Duration::ZERO);
    let mut calls = 0;
    let _ = retryer
        .run(|| {
            calls += 1;
            async { Err::<(), _>(throttled()) }
        })
        .await;
    assert_eq!(calls, 3);
}

#[tokio::test(start_paused = true)]
async fn retryable_failures_are_retried_until_the_attempts_run_out() {
    let retryer = Retryer::new(Policy::STANDARD);
    let mut calls = 0;
    let gave_up = retryer
        .run(|| {
            calls += 1;
            async { Err::<(), _>(Failure::retry(Error::Usage("x".into()))) }
        })
        .await
        .unwrap_err();
    assert_eq!((calls, gave_up.attempts), (3, 3));

    let mut calls = 0;
    let gave_up = retryer
        .run(|| {
            calls += 1;
            async { Err::<(), _>(Failure::fatal(Error::Usage("x".into()))) }
        })
        .await
        .unwrap_err();
    assert_eq!((calls, gave_up.attempts), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn the_retry_quota_limits_retries_and_successes_refill_it() {
    let retryer = Retryer::new(Policy {
        mode: Mode::Standard,
        max_attempts: 1000,
    });
    let mut calls = 0;
    let gave_up = retryer
        .run(|| {
            calls += 1;
            async { Err::<(), _>(Failure::timed_out(Error::Usage("x".into()))) }
        })
        .await
        .unwrap_err();
    // 500 tokens at 10 per retry after a timeout: 50 retries, 51 attempts.
    assert_eq!((calls, gave_up.attempts), (51, 51));
    for _ in 0..5 {
        retryer
            .run(|| async { Ok::<_, Failure>(()) })
            .await
            .unwrap();
    }
    let mut calls = 0;
    let _ = retryer
        .run(|| {
            calls += 1;
            async { Err::<(), _>(Failure::retry(Error::Usage("x".into()))) }
        })
        .await;
    assert_eq!(calls, 2, "5 tokens back: one more retry");
}

#[tokio::test(start_paused = true)]
async fn adaptive_mode_slows_sending_after_throttling() {
    let retryer = Retryer::new(Policy {
        mode: Mode::Adaptive,
        max_attempts: 4,
    });
    let mut sent = Vec::new();
    let started = Instant::now();
    let _ = retryer
        .run(|| {
            sent.push(started.elapsed());
            async { Err::<(), _>(Failure::throttled(Error::Usage("x".into()))) }
        })
        .await;
    assert_eq!(sent.len(), 4);
    // After a throttle the bucket holds nothing and fills at 0.5 tokens a second, so each
    // send waits about 2 s beyond its backoff; standard mode's backoff alone is below 2 s
    // for the first retry.
    let gap = sent[1] - sent[0];
    assert!(gap >= Duration::from_millis(1900), "{gap:?}");
}

#[test]
fn the_limiter_is_unrestricted_until_throttled_and_recovers() {
    let start = Instant::now();
    let mut limiter = RateLimiter::new(start);
    for i in 0..100 {
        let now = start + Duration::from_millis(i * 10);
        assert_eq!(limiter.acquire(now), None);
        limiter.update(false, now);
    }
    let now = start + Duration::from_secs(1);
    limiter.update(true, now);
    assert!(limiter.enabled);
    let throttled_rate = limiter.fill_rate;
    // Successes long after the throttle raise the rate again (cubic growth).
    let later = now + Duration::from_secs(30);
    limiter.update(false, later);
    assert!(limiter.calculated_rate > throttled_rate, "{limiter:?}");
}
