//! Attempts and pacing for one remote call (CreateSession today, STS next), as the AWS SDK for Go
//! v2 (the official helper's) does them: how many attempts, how long to wait between them, which
//! failures are worth another attempt, the retry quota, and adaptive mode's client-side rate
//! limiting.
//!
//! [`Policy`] is the configuration (`AWS_RETRY_MODE`, `AWS_MAX_ATTEMPTS`, else the active
//! profile's `retry_mode` / `max_attempts` in the shared config file, else standard mode with 3
//! attempts); [`Policy::from_settings`] is pure and [`Policy::load`] reads the environment and
//! the file. [`Retryer`] is a policy with the state the SDK keeps per client: the retry quota and,
//! in adaptive mode, the send-rate limiter. One lives as long as the HTTP client it paces.
//!
//! Beyond the SDK, a retryer may be given *patience* for its first call ([`Retryer::patient`]):
//! `serve` and `update` at start-up (`--start-timeout`) and the cache's single flight, whose
//! callers would otherwise exit or fail in step with the rest of a fleet that the per-account
//! quota is throttling. Until the first success, and for as long as the patience lasts,
//! retryable failures are retried whatever the attempts and the retry quota say, after a wait
//! drawn with full jitter ([`full_jitter`]), each one reported on one line.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

pub use crate::error::Setting;
use crate::error::{Error, Result};

/// The SDK's retry modes (`legacy` is not one in the Go SDK, and not here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Client-side send-rate limiting after throttling, on top of standard.
    Adaptive,
    /// Jittered exponential backoff and a retry quota.
    Standard,
}

/// How a call is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Standard or adaptive.
    pub mode: Mode,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

/// Where a setting came from, for messages.
const ENV_MODE: &str = "AWS_RETRY_MODE";
const ENV_ATTEMPTS: &str = "AWS_MAX_ATTEMPTS";

/// No retry waits longer than this (the SDK's `DefaultMaxBackoff`).
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);
/// The retry quota's size, and what a retry, a retry after a timeout, and a first-attempt success
/// take from or give back to it (the SDK's `DefaultRetryRateTokens`, `DefaultRetryCost`,
/// `DefaultRetryTimeoutCost`, `DefaultNoRetryIncrement`).
const QUOTA: u32 = 500;
const RETRY_COST: u32 = 5;
const TIMEOUT_COST: u32 = 10;
const SUCCESS_REFUND: u32 = 1;

impl Policy {
    /// The SDKs' default: standard mode, 3 attempts.
    pub const STANDARD: Policy = Policy {
        mode: Mode::Standard,
        max_attempts: 3,
    };

    /// The policy the official helper's SDK would use, from the environment and the shared config
    /// file (`AWS_CONFIG_FILE`, else `~/.aws/config`), the profile being `AWS_PROFILE`, else
    /// `AWS_DEFAULT_PROFILE`, else `default`. A missing or unreadable file is no file, as for the
    /// SDK.
    ///
    /// # Errors
    /// [`Error::RetryMode`] or [`Error::MaxAttempts`] for a value that is not a mode or a number
    /// of attempts.
    pub fn load() -> Result<Policy> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let path = env("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| env("HOME").map(|home| Path::new(&home).join(".aws").join("config")));
        let text = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok());
        let profile = env("AWS_PROFILE")
            .or_else(|| env("AWS_DEFAULT_PROFILE"))
            .unwrap_or_else(|| "default".to_string());
        let file = match (&path, &text) {
            (Some(path), Some(text)) => Some(ConfigFile {
                path,
                text,
                profile: &profile,
            }),
            _ => None,
        };
        Policy::from_settings(&env, file)
    }

    /// The policy from the environment (`env` answers a variable's non-empty value) and, for the
    /// settings the environment leaves unset, the config file's profile.
    ///
    /// # Errors
    /// [`Error::RetryMode`] or [`Error::MaxAttempts`] for a value that is not a mode or a number
    /// of attempts.
    pub fn from_settings(
        env: &dyn Fn(&str) -> Option<String>,
        file: Option<ConfigFile<'_>>,
    ) -> Result<Policy> {
        let from_file = |key: &'static str| {
            file.as_ref()
                .and_then(|f| f.value(key).map(|v| (v, file_setting(key, f))))
        };
        let mode = match env(ENV_MODE) {
            Some(v) => Some((v, env_setting(ENV_MODE))),
            None => from_file("retry_mode"),
        };
        let attempts = match env(ENV_ATTEMPTS) {
            Some(v) => Some((v, env_setting(ENV_ATTEMPTS))),
            None => from_file("max_attempts"),
        };
        let mut policy = Policy::STANDARD;
        if let Some((value, origin)) = mode {
            policy.mode = match value.to_ascii_lowercase().as_str() {
                "standard" => Mode::Standard,
                "adaptive" => Mode::Adaptive,
                _ => {
                    return Err(Error::RetryMode {
                        setting: origin,
                        value,
                    })
                }
            }
        }
        if let Some((value, origin)) = attempts {
            // 0 keeps the default, as the SDK's.
            match value.trim().parse::<u32>() {
                Ok(0) => {}
                Ok(n) => policy.max_attempts = n,
                Err(_) => {
                    return Err(Error::MaxAttempts {
                        setting: origin,
                        value,
                    })
                }
            }
        }
        Ok(policy)
    }

    /// The wait after attempt `attempt` (1 for the first) failed, as the SDK's
    /// `ExponentialJitterBackoff`: a uniformly random time below `2^attempt` seconds, and
    /// [`MAX_BACKOFF`] once `2^attempt` seconds would pass it (from the 5th retry on).
    pub fn delay(&self, attempt: u32) -> Duration {
        // floor(log2(20)) = 4: attempts 1..=4 wait below 2, 4, 8, 16 s; later ones 20 s.
        let full_from = MAX_BACKOFF.as_secs().ilog2();
        if attempt > full_from {
            return MAX_BACKOFF;
        }
        let ceiling = f64::from(1u32 << attempt);
        Duration::from_secs_f64(rand::thread_rng().gen_range(0.0..1.0) * ceiling)
    }
}

/// The wait after attempt `attempt` (1 for the first) failed, for a patient retryer: "full
/// jitter", `draw` (in `[0, 1)`) times the SDK's ceiling, below `2^attempt` seconds and
/// [`MAX_BACKOFF`]. Unlike [`Policy::delay`], which waits [`MAX_BACKOFF`] exactly from the 5th
/// retry on, the wait stays random at the cap: processes throttled together must not come back
/// together.
pub fn full_jitter(attempt: u32, draw: f64) -> Duration {
    let ceiling = MAX_BACKOFF.min(Duration::from_secs(1u64 << attempt.min(16)));
    ceiling.mul_f64(draw.clamp(0.0, 1.0))
}

/// A shared config file's text and the profile whose settings apply.
#[derive(Clone, Copy, Debug)]
pub struct ConfigFile<'a> {
    /// The file, for messages.
    pub path: &'a Path,
    /// Its content.
    pub text: &'a str,
    /// The profile: `default` is `[default]` (or `[profile default]`), others `[profile NAME]`.
    pub profile: &'a str,
}

impl ConfigFile<'_> {
    /// The profile's value for `key`, the last one if repeated; INI as the SDK reads it
    /// (`#` and `;` comments, keys case-insensitive, spaces around `=` and in the brackets).
    fn value(&self, key: &str) -> Option<String> {
        let mut inside = false;
        let mut found = None;
        for line in self.text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let name = rest.split(']').next().unwrap_or("").trim();
                inside = self.is_profile_section(name);
                continue;
            }
            if !inside {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case(key) {
                found = Some(strip_comment(v).to_string());
            }
        }
        found
    }

    fn is_profile_section(&self, name: &str) -> bool {
        let named = name
            .strip_prefix("profile")
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map(str::trim);
        match named {
            Some(n) => n == self.profile,
            None => self.profile == "default" && name == "default",
        }
    }
}

fn env_setting(key: &'static str) -> Setting {
    Setting { key, place: None }
}

fn file_setting(key: &'static str, file: &ConfigFile<'_>) -> Setting {
    Setting {
        key,
        place: Some(format!(
            "in profile {} of {}",
            file.profile,
            file.path.display()
        )),
    }
}

/// A value without a comment that follows it after a space (`2 ; two`).
fn strip_comment(value: &str) -> &str {
    let value = value.trim();
    let cut = value
        .char_indices()
        .find(|&(i, c)| (c == '#' || c == ';') && value[..i].ends_with(char::is_whitespace))
        .map_or(value.len(), |(i, _)| i);
    value[..cut].trim_end()
}

/// Whether a service error type is one of the SDK's throttling codes (`DefaultThrottleErrorCodes`).
pub fn is_throttling(error_type: &str) -> bool {
    const CODES: &[&str] = &[
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    ];
    CODES.contains(&error_type)
}

/// Whether a service error type is one of the SDK's transient codes (`DefaultRetryableErrorCodes`).
pub fn is_transient(error_type: &str) -> bool {
    matches!(error_type, "RequestTimeout" | "RequestTimeoutException")
}

/// One failed attempt.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub error: Error,
    /// Whether another attempt may succeed (throttling, 5xx, a lost connection).
    pub retryable: bool,
    /// Whether the service throttled us (adaptive mode slows down).
    pub throttled: bool,
    /// Whether the attempt timed out (a retry costs the quota more).
    pub timed_out: bool,
}

impl Failure {
    /// A failure worth another attempt.
    pub fn retry(error: Error) -> Failure {
        Failure {
            error,
            retryable: true,
            throttled: false,
            timed_out: false,
        }
    }

    /// The service throttled the attempt: retried, and slows adaptive mode down.
    pub fn throttled(error: Error) -> Failure {
        Failure {
            throttled: true,
            ..Failure::retry(error)
        }
    }

    /// The attempt timed out: retried, at a higher cost to the quota.
    pub fn timed_out(error: Error) -> Failure {
        Failure {
            timed_out: true,
            ..Failure::retry(error)
        }
    }

    /// A failure another attempt would repeat.
    pub fn fatal(error: Error) -> Failure {
        Failure {
            retryable: false,
            ..Failure::retry(error)
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

/// A [`Policy`] with the state the SDK keeps per client.
#[derive(Debug)]
pub struct Retryer {
    policy: Policy,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The retry quota's tokens.
    quota: u32,
    /// Adaptive mode's send-rate limiter.
    limiter: Option<RateLimiter>,
    /// Where the first call's patience stands.
    patience: Patience,
}

/// A retryer's patience for its first call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Patience {
    /// This long, counted from the first attempt, which has not been made yet.
    Unused(Duration),
    /// Retryable failures are retried until then.
    Until(Instant),
    /// None given, or the first call succeeded: the policy alone decides.
    Spent,
}

impl Retryer {
    /// A retryer with a full quota (and, in adaptive mode, an unrestricted send rate).
    pub fn new(policy: Policy) -> Retryer {
        let limiter = (policy.mode == Mode::Adaptive).then(|| RateLimiter::new(Instant::now()));
        Retryer {
            policy,
            state: Mutex::new(State {
                quota: QUOTA,
                limiter,
                patience: Patience::Spent,
            }),
        }
    }

    /// This retryer, patient with its first call: until that call succeeds, and for `patience`
    /// from its first attempt, a retryable failure (throttling, 5xx, a time-out, a lost
    /// connection) is retried after a [`full_jitter`] wait (cut short so that the last attempt
    /// is made as the patience ends) whatever the policy's attempts and the retry quota say, and
    /// each such retry is reported on one line (a `warning!`). Then the policy decides, as for
    /// any other call. Zero is no patience: the policy alone, as the SDK.
    #[must_use]
    pub fn patient(self, patience: Duration) -> Retryer {
        if !patience.is_zero() {
            self.state().patience = Patience::Unused(patience);
        }
        self
    }

    /// The policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is numbers updated in one step each: a panic elsewhere cannot leave it
        // half-written, so a poisoned lock is still good.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until adaptive mode lets an attempt be sent.
    async fn send_token(&self) {
        loop {
            let wait = match self.state().limiter.as_mut() {
                None => return,
                Some(limiter) => match limiter.acquire(Instant::now()) {
                    None => return,
                    Some(wait) => wait,
                },
            };
            crate::debug!(
                "adaptive retry mode: waiting {} ms to send",
                wait.as_millis()
            );
            tokio::time::sleep(wait).await;
        }
    }

    fn record(&self, throttled: bool) {
        if let Some(limiter) = self.state().limiter.as_mut() {
            limiter.update(throttled, Instant::now());
        }
    }

    /// Starts counting the patience down at the first attempt.
    fn start_patience(&self) {
        let mut state = self.state();
        if let Patience::Unused(patience) = state.patience {
            // A patience too long for the clock is no limit at all.
            state.patience = Instant::now()
                .checked_add(patience)
                .map_or(Patience::Spent, Patience::Until);
        }
    }

    /// The wait before retrying `failure` (after attempt `made`) out of patience, if the
    /// retryer is still patient: a [`full_jitter`] draw, cut short so that the next attempt
    /// starts before the patience ends. The retry is reported on one line.
    fn patient_retry(&self, failure: &Failure, made: u32) -> Option<Duration> {
        let Patience::Until(until) = self.state().patience else {
            return None;
        };
        if !failure.retryable {
            return None;
        }
        let left = until
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())?;
        let delay = full_jitter(made, rand::thread_rng().gen_range(0.0..1.0)).min(left);
        crate::warning!(
            "{}; attempt {made} failed, retrying in {:.1} s (gives up {} s from now)",
            failure.error.report(),
            delay.as_secs_f64(),
            left.as_secs()
        );
        Some(delay)
    }

    /// Runs `attempt` until it succeeds, fails fatally, the policy runs out of attempts, or the
    /// retry quota runs dry (a patient retryer's first call: see [`Retryer::patient`]).
    ///
    /// # Errors
    /// The last failure, with the number of attempts made.
    pub async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, GaveUp>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut made = 1;
        let mut held = None;
        loop {
            self.send_token().await;
            self.start_patience();
            let outcome = attempt().await;
            self.record(matches!(&outcome, Err(f) if f.throttled));
            let failure = match outcome {
                Ok(value) => {
                    let mut state = self.state();
                    state.quota = QUOTA.min(state.quota + held.unwrap_or(SUCCESS_REFUND));
                    state.patience = Patience::Spent;
                    return Ok(value);
                }
                Err(failure) => failure,
            };
            if let Some(delay) = self.patient_retry(&failure, made) {
                tokio::time::sleep(delay).await;
                made += 1;
                continue;
            }
            let cost = if failure.timed_out {
                TIMEOUT_COST
            } else {
                RETRY_COST
            };
            let can_retry = failure.retryable && made < self.policy.max_attempts;
            let paid = can_retry && {
                let mut state = self.state();
                let enough = state.quota >= cost;
                if enough {
                    state.quota -= cost;
                } else {
                    crate::debug!(
                        "retry quota exhausted ({} left, {cost} needed): not retrying",
                        state.quota
                    );
                }
                enough
            };
            if !paid {
                return Err(GaveUp {
                    error: failure.error,
                    attempts: made,
                });
            }
            held = Some(cost);
            let delay = self.policy.delay(made);
            crate::debug!(
                "attempt {made} failed ({}); retrying in {} ms",
                failure.error.report(),
                delay.as_millis()
            );
            tokio::time::sleep(delay).await;
            made += 1;
        }
    }
}

/// Runs `attempt` under `policy` with a retryer of its own (a full quota, no shared rate
/// limiter): for calls that have no client-long [`Retryer`] to share.
///
/// # Errors
/// As [`Retryer::run`].
pub async fn run<T, F, Fut>(policy: &Policy, attempt: F) -> Result<T, GaveUp>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    Retryer::new(*policy).run(attempt).await
}

/// Adaptive mode's client-side send-rate limiter: a token bucket whose fill rate follows CUBIC
/// congestion control on the measured send rate, as the SDK's (`adaptive_ratelimit.go`):
/// unrestricted until the first throttling answer, then cut to 70 % of the rate measured, and
/// grown back along a cubic curve with each success.
#[derive(Debug)]
struct RateLimiter {
    /// The clock's zero; times are seconds since then.
    epoch: Instant,
    enabled: bool,
    fill_rate: f64,
    capacity: f64,
    tokens: f64,
    last_refill: Option<f64>,
    calculated_rate: f64,
    measured_rate: f64,
    last_rate_bucket: f64,
    request_count: u64,
    last_max_rate: f64,
    last_throttle: f64,
    time_window: f64,
}

/// CUBIC's constants, as the SDK's.
const SMOOTH: f64 = 0.8;
const BETA: f64 = 0.7;
const SCALE: f64 = 0.4;
const MIN_FILL_RATE: f64 = 0.5;
const MIN_CAPACITY: f64 = 1.0;

impl RateLimiter {
    fn new(now: Instant) -> RateLimiter {
        RateLimiter {
            epoch: now,
            enabled: false,
            fill_rate: 0.0,
            capacity: MIN_CAPACITY,
            tokens: 0.0,
            last_refill: None,
            calculated_rate: 0.0,
            measured_rate: 0.0,
            last_rate_bucket: 0.0,
            request_count: 0,
            last_max_rate: 0.0,
            last_throttle: 0.0,
            time_window: 0.0,
        }
    }

    fn seconds(&self, now: Instant) -> f64 {
        now.duration_since(self.epoch).as_secs_f64()
    }

    /// Takes a send token; `Some(wait)` when there is none yet.
    fn acquire(&mut self, now: Instant) -> Option<Duration> {
        if !self.enabled {
            return None;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return None;
        }
        Some(Duration::from_secs_f64(
            (1.0 - self.tokens) / self.fill_rate,
        ))
    }

    /// Records an attempt's outcome.
    fn update(&mut self, throttled: bool, now: Instant) {
        let t = self.seconds(now);
        self.measure(t);
        if throttled {
            let rate = if self.enabled {
                self.measured_rate.min(self.fill_rate)
            } else {
                self.measured_rate
            };
            self.last_max_rate = rate;
            self.compute_time_window();
            self.last_throttle = t;
            self.calculated_rate = rate * BETA;
            self.enabled = true;
        } else {
            self.compute_time_window();
            self.calculated_rate =
                SCALE * (t - self.last_throttle - self.time_window).powi(3) + self.last_max_rate;
        }
        let rate = self.calculated_rate.min(2.0 * self.measured_rate);
        self.refill(now);
        self.fill_rate = rate.max(MIN_FILL_RATE);
        self.capacity = rate.max(MIN_CAPACITY);
        self.tokens = self.tokens.min(self.capacity);
    }

    fn compute_time_window(&mut self) {
        self.time_window = (self.last_max_rate * (1.0 - BETA) / SCALE).cbrt();
    }

    /// The send rate, measured over half-second buckets and smoothed.
    fn measure(&mut self, t: f64) {
        let bucket = (t * 2.0).floor() / 2.0;
        self.request_count += 1;
        if bucket > self.last_rate_bucket {
            let current = self.request_count as f64 / (bucket - self.last_rate_bucket);
            self.measured_rate = current * SMOOTH + self.measured_rate * (1.0 - SMOOTH);
            self.request_count = 0;
            self.last_rate_bucket = bucket;
        }
    }

    fn refill(&mut self, now: Instant) {
        let t = self.seconds(now);
        if let Some(last) = self.last_refill {
            self.tokens = (self.tokens + (t - last) * self.fill_rate).min(self.capacity);
        }
        self.last_refill = Some(t);
    }
}

#[cfg(test)]
mod tests;
