//! The per-account request quota (`--rate-limit`, `rate_limit` in the configuration) and the
//! traffic counts served at `GET /_stats`.
//!
//! Real IAM Roles Anywhere throttles `CreateSession` per account (about 10 a second), and STS
//! throttles per account too. Here each (API, account) pair gets a [`TokenBucket`] holding N
//! requests (at least one) that refills at N a second: a burst of one second's worth, then a
//! steady N a second. Which account is charged:
//!
//! * `CreateSession`: the account of the trust anchor and profile. The endpoint plays one
//!   account and the configuration keeps every trust anchor and profile in it, so this is always
//!   the configured `account`, known before the request is read: a flood is refused without
//!   parsing a byte of it.
//! * STS: the account the calling credentials belong to (the account of the session's role),
//!   which is the account AWS applies STS rate limits to. For credentials from a chained
//!   `AssumeRole` into another account, that is the other account. A call whose access key this
//!   endpoint never issued cannot be charged to anyone; it is refused by authentication anyway.
//!
//! The buckets run on a monotonic clock, not on the endpoint's [`crate::Clock`]: that clock can be
//! pinned (`--fixed-time`) to replay old requests, and a quota must keep refilling in real time.
//! [`TokenBucket::take`] gets the time passed in, so its tests need no sleeping.
//!
//! Counting is the same with or without a limit: per API, the calls the quota let through
//! (`accepted`, whatever their verdict then was), the calls it refused (`throttled`), and the
//! accepted calls per wall-clock Unix second, so a benchmark can find the peak and distribution.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Thousandths of a request per second: rates have at most three decimals.
const MILLIS: u64 = 1000;
/// Smallest rate, in thousandths of a request per second (0.001/s).
const MIN_MILLIS: u64 = 1;
/// Largest rate, in thousandths of a request per second (1,000,000/s: far beyond what this
/// endpoint can serve, so in practice no limit).
const MAX_MILLIS: u64 = 1_000_000 * MILLIS;
/// Bucket levels are kept in units of 1/(1000 * 10^9) request, so that refilling by `millis`
/// units per elapsed nanosecond is exact integer arithmetic.
const UNITS_PER_REQUEST: u128 = 1_000_000_000_000;
/// Most seconds kept in a `per_second` table (a day); the oldest are dropped first.
const MAX_SECONDS_KEPT: usize = 86_400;

/// A request rate: how many calls a second one account may make of one API.
///
/// Parsed from a positive number with at most three decimals, optionally suffixed `/s`:
/// `10`, `10/s`, `2.5/s`, `0.2`. Between 0.001 and 1000000.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Thousandths of a request per second, in `MIN_MILLIS..=MAX_MILLIS`.
    millis: u64,
}

impl RateLimit {
    /// Requests per second.
    pub fn per_second(self) -> f64 {
        // `millis` is at most 10^9, so it converts exactly and the division rounds correctly:
        // "0.2" gives the same f64 as the literal 0.2.
        self.millis as f64 / MILLIS as f64
    }

    /// The bucket's capacity: one second's worth, but at least one request (a rate below one a
    /// second must still let a request through now and then).
    fn capacity(self) -> u128 {
        u128::from(self.millis.max(MILLIS)) * (UNITS_PER_REQUEST / u128::from(MILLIS))
    }
}

impl fmt::Display for RateLimit {
    /// `10/s`, `2.5/s`, `0.125/s`: the form the flag takes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, fraction) = (self.millis / MILLIS, self.millis % MILLIS);
        if fraction == 0 {
            return write!(f, "{whole}/s");
        }
        let decimals = format!("{fraction:03}");
        write!(f, "{whole}.{}/s", decimals.trim_end_matches('0'))
    }
}

impl FromStr for RateLimit {
    type Err = ParseRateLimitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |problem| ParseRateLimitError {
            value: text.to_string(),
            problem,
        };
        let number = text.strip_suffix("/s").unwrap_or(text);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(fraction) || number.ends_with('.') {
            return Err(error(Problem::NotARate));
        }
        if fraction.len() > 3 {
            return Err(error(Problem::TooPrecise));
        }
        // More digits than any valid rate has would overflow below; they are out of range.
        let whole = whole.trim_start_matches('0');
        if whole.len() > 7 {
            return Err(error(Problem::OutOfRange));
        }
        let whole: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| error(Problem::NotARate))?
        };
        let fraction: u64 = format!("{fraction:0<3}")
            .parse()
            .map_err(|_| error(Problem::NotARate))?;
        let millis = whole * MILLIS + fraction;
        if !(MIN_MILLIS..=MAX_MILLIS).contains(&millis) {
            return Err(error(Problem::OutOfRange));
        }
        Ok(RateLimit { millis })
    }
}

/// Why a rate limit could not be parsed. `Display` names the value and how to fix it, but not
/// the flag or key it came from: the caller prefixes that.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseRateLimitError {
    value: String,
    problem: Problem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Problem {
    NotARate,
    OutOfRange,
    TooPrecise,
}

impl fmt::Display for ParseRateLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = &self.value;
        match self.problem {
            Problem::NotARate => write!(
                f,
                "'{value}' is not a rate: give requests per second per account as a positive \
                 number like 10, 2.5 or 10/s"
            ),
            Problem::OutOfRange => write!(
                f,
                "'{value}' is out of range: give between 0.001 and 1000000 requests per second"
            ),
            Problem::TooPrecise => write!(
                f,
                "'{value}' has more than 3 decimals: give a rate like 2.5 or 0.125/s"
            ),
        }
    }
}

impl std::error::Error for ParseRateLimitError {}

/// A token bucket: `limit.capacity()` when full, refilled continuously at the limit's rate, one
/// request's worth taken per admitted call. Time is a [`Duration`] since any fixed origin, passed
/// in by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TokenBucket {
    limit: RateLimit,
    /// Current content, in `UNITS_PER_REQUEST` per request.
    level: u128,
    /// When `level` was last brought up to date.
    updated: Duration,
}

impl TokenBucket {
    /// A full bucket at time `now`.
    pub(crate) fn full(limit: RateLimit, now: Duration) -> Self {
        TokenBucket {
            limit,
            level: limit.capacity(),
            updated: now,
        }
    }

    /// Refills for the time elapsed since the last call, then takes one request's worth if the
    /// bucket holds it. Returns whether the request may proceed. A `now` earlier than a previous
    /// one counts as no time elapsed.
    pub(crate) fn take(&mut self, now: Duration) -> bool {
        let elapsed = now.saturating_sub(self.updated);
        self.updated = self.updated.max(now);
        let refill = elapsed
            .as_nanos()
            .saturating_mul(u128::from(self.limit.millis));
        self.level = self.level.saturating_add(refill).min(self.limit.capacity());
        if self.level < UNITS_PER_REQUEST {
            return false;
        }
        self.level -= UNITS_PER_REQUEST;
        true
    }
}

/// The APIs the quota applies to, each with its own buckets and counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Api {
    /// Roles Anywhere `CreateSession` (`POST /sessions`).
    CreateSession,
    /// Every STS action (`GET|POST /`).
    Sts,
}

/// The quota of a running endpoint: its buckets (when limited) and its counts.
#[derive(Debug)]
pub(crate) struct Quota {
    limit: Option<RateLimit>,
    /// Origin of the buckets' time.
    start: Instant,
    state: Mutex<QuotaState>,
}

#[derive(Debug, Default)]
struct QuotaState {
    buckets: HashMap<(Api, String), TokenBucket>,
    create_session: ApiStats,
    sts: ApiStats,
}

impl QuotaState {
    fn stats_mut(&mut self, api: Api) -> &mut ApiStats {
        match api {
            Api::CreateSession => &mut self.create_session,
            Api::Sts => &mut self.sts,
        }
    }
}

impl Quota {
    /// A quota of `limit` calls a second per account and API; `None` admits everything (and
    /// still counts).
    pub(crate) fn new(limit: Option<RateLimit>) -> Self {
        Quota {
            limit,
            start: Instant::now(),
            state: Mutex::new(QuotaState::default()),
        }
    }

    /// Whether a call to `api` charged to `account` may proceed (`None`: a call that cannot be
    /// charged to an account, always admitted). Counts the decision either way.
    pub(crate) fn admit(&self, api: Api, account: Option<&str>) -> bool {
        let now = self.start.elapsed();
        let second = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            Err(_) => 0,
        };
        let mut state = self.lock();
        let admitted = match (self.limit, account) {
            (Some(limit), Some(account)) => state
                .buckets
                .entry((api, account.to_string()))
                .or_insert_with(|| TokenBucket::full(limit, now))
                .take(now),
            _ => true,
        };
        state.stats_mut(api).count(admitted, second);
        admitted
    }

    /// A snapshot of the counts.
    pub(crate) fn stats(&self) -> Stats {
        let state = self.lock();
        Stats {
            rate_limit_per_second: self.limit.map(RateLimit::per_second),
            create_session: state.create_session.clone(),
            sts: state.sts.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QuotaState> {
        // Every update under this lock is a few integer writes that cannot panic midway; a
        // poisoned lock still holds consistent counts.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The endpoint's traffic counts, as served at `GET /_stats` (JSON) and summed up on stderr
/// when the endpoint stops:
///
/// ```json
/// {
///   "rate_limit_per_second": 10.0,
///   "create_session": {"accepted": 25, "throttled": 75,
///                      "per_second": {"1735787045": 10, "1735787046": 10, "1735787047": 5}},
///   "sts": {"accepted": 3, "throttled": 0, "per_second": {"1735787046": 3}}
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// The rate limit per account and API (`null`: unlimited).
    pub rate_limit_per_second: Option<f64>,
    /// `POST /sessions`.
    pub create_session: ApiStats,
    /// STS (`GetCallerIdentity`, `AssumeRole` and any other action asked of `/`).
    pub sts: ApiStats,
}

/// The counts of one API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ApiStats {
    /// Calls the quota let through, whatever their verdict then was.
    pub accepted: u64,
    /// Calls the quota refused (429 `ThrottlingException`, or STS `Throttling`). Calls throttled
    /// by fault injection (`--throttle-first`) are not counted here: the quota accepted them.
    pub throttled: u64,
    /// Accepted calls per wall-clock Unix second (JSON keys are the seconds as strings). Seconds
    /// without accepted calls are absent; only the last day is kept.
    pub per_second: BTreeMap<i64, u64>,
}

impl ApiStats {
    /// The most calls accepted in one second (0 before any).
    pub fn peak_per_second(&self) -> u64 {
        self.per_second.values().copied().max().unwrap_or(0)
    }

    fn count(&mut self, admitted: bool, second: i64) {
        if !admitted {
            self.throttled += 1;
            return;
        }
        self.accepted += 1;
        *self.per_second.entry(second).or_insert(0) += 1;
        if self.per_second.len() > MAX_SECONDS_KEPT {
            self.per_second.pop_first();
        }
    }
}

impl Stats {
    /// The summary printed on stderr when the endpoint stops (one line):
    /// `create_session accepted=25 throttled=75 peak=10/s, sts accepted=3 throttled=0 peak=3/s
    /// (rate limit: 10/s per account)`.
    pub fn summary(&self) -> String {
        let api = |name: &str, s: &ApiStats| {
            format!(
                "{name} accepted={} throttled={} peak={}/s",
                s.accepted,
                s.throttled,
                s.peak_per_second()
            )
        };
        let limit = match self.rate_limit_per_second {
            Some(rate) => format!("rate limit: {rate}/s per account"),
            None => "no rate limit".to_string(),
        };
        format!(
            "{}, {} ({limit})",
            api("create_session", &self.create_session),
            api("sts", &self.sts)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(text: &str) -> RateLimit {
        text.parse().expect("valid rate")
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn rate_forms() {
        for (text, per_second, shown) in [
            ("10", 10.0, "10/s"),
            ("10/s", 10.0, "10/s"),
            ("2.5/s", 2.5, "2.5/s"),
            ("0.125", 0.125, "0.125/s"),
            ("007.50", 7.5, "7.5/s"),
            ("1000000", 1_000_000.0, "1000000/s"),
            ("0.001/s", 0.001, "0.001/s"),
        ] {
            let limit = rate(text);
            assert_eq!(limit.per_second(), per_second, "{text}");
            assert_eq!(limit.to_string(), shown, "{text}");
            assert_eq!(rate(shown), limit, "{shown} round-trips");
        }
    }

    #[test]
    fn bad_rates_say_what_to_give() {
        for (text, problem) in [
            ("", Problem::NotARate),
            ("/s", Problem::NotARate),
            ("abc", Problem::NotARate),
            ("-1", Problem::NotARate),
            ("+1", Problem::NotARate),
            ("1e3", Problem::NotARate),
            ("10/m", Problem::NotARate),
            ("10 /s", Problem::NotARate),
            (".5", Problem::NotARate),
            ("5.", Problem::NotARate),
            ("1.2.3", Problem::NotARate),
            ("0", Problem::OutOfRange),
            ("0.0/s", Problem::OutOfRange),
            ("1000000.001", Problem::OutOfRange),
            ("99999999999999999999999", Problem::OutOfRange),
            ("1.2345", Problem::TooPrecise),
        ] {
            let err = text.parse::<RateLimit>().expect_err(text);
            assert_eq!(err.problem, problem, "{text}");
            let message = err.to_string();
            assert!(message.contains(&format!("'{text}'")), "{message}");
            assert!(message.contains("give"), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn bucket_allows_a_burst_of_one_second_then_the_rate() {
        let mut bucket = TokenBucket::full(rate("10"), ms(0));
        let burst = (0..15).filter(|_| bucket.take(ms(0))).count();
        assert_eq!(burst, 10);
        // 1/10 s later exactly one more request's worth has come in.
        assert!(!bucket.take(ms(99)));
        assert!(bucket.take(ms(100)));
        assert!(!bucket.take(ms(100)));
        // Over 3 s, 30 more, whatever the spacing of the calls.
        let admitted = (1..=3000).filter(|t| bucket.take(ms(100 + t))).count();
        assert_eq!(admitted, 30);
    }

    #[test]
    fn bucket_never_holds_more_than_its_capacity() {
        let mut bucket = TokenBucket::full(rate("2.5/s"), ms(0));
        assert!(bucket.take(ms(0)));
        assert!(bucket.take(ms(0)));
        assert!(!bucket.take(ms(0)), "2.5 a second holds 2 whole requests");
        // An hour idle refills only to capacity: 2.5 requests, so 2 at once, the third 200 ms on.
        let hour = 3_600_000;
        assert!(bucket.take(ms(hour)));
        assert!(bucket.take(ms(hour)));
        assert!(!bucket.take(ms(hour + 199)));
        assert!(bucket.take(ms(hour + 200)));
    }

    #[test]
    fn slow_rates_still_admit_one_request() {
        let mut bucket = TokenBucket::full(rate("0.2"), ms(0));
        assert!(bucket.take(ms(0)));
        assert!(!bucket.take(ms(4_999)));
        assert!(bucket.take(ms(5_000)));
        assert!(!bucket.take(ms(5_000)));
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let mut bucket = TokenBucket::full(rate("1"), ms(10_000));
        assert!(bucket.take(ms(10_000)));
        assert!(!bucket.take(ms(0)));
        assert!(!bucket.take(ms(10_999)));
        assert!(bucket.take(ms(11_000)));
    }

    #[test]
    fn quota_keeps_a_bucket_per_api_and_account_and_counts() {
        // A rate this slow cannot refill during the test.
        let quota = Quota::new(Some(rate("0.001")));
        assert!(quota.admit(Api::CreateSession, Some("111111111111")));
        assert!(!quota.admit(Api::CreateSession, Some("111111111111")));
        assert!(quota.admit(Api::CreateSession, Some("222222222222")));
        assert!(quota.admit(Api::Sts, Some("111111111111")));
        assert!(!quota.admit(Api::Sts, Some("111111111111")));
        assert!(
            quota.admit(Api::Sts, None),
            "unattributed calls are not limited"
        );
        let stats = quota.stats();
        assert_eq!(stats.rate_limit_per_second, Some(0.001));
        assert_eq!(
            (
                stats.create_session.accepted,
                stats.create_session.throttled
            ),
            (2, 1)
        );
        assert_eq!((stats.sts.accepted, stats.sts.throttled), (2, 1));
        let counted: u64 = stats.create_session.per_second.values().sum();
        assert_eq!(counted, 2);
    }

    #[test]
    fn unlimited_quota_admits_and_counts_everything() {
        let quota = Quota::new(None);
        for _ in 0..100 {
            assert!(quota.admit(Api::CreateSession, Some("111111111111")));
        }
        let stats = quota.stats();
        assert_eq!(stats.rate_limit_per_second, None);
        assert_eq!(stats.create_session.accepted, 100);
        assert_eq!(stats.create_session.throttled, 0);
        assert!(
            stats.summary().ends_with("(no rate limit)"),
            "{}",
            stats.summary()
        );
    }

    #[test]
    fn stats_json_and_summary_shapes() {
        let mut stats = Stats {
            rate_limit_per_second: Some(10.0),
            create_session: ApiStats::default(),
            sts: ApiStats::default(),
        };
        stats.create_session.count(true, 1_735_787_045);
        stats.create_session.count(true, 1_735_787_045);
        stats.create_session.count(true, 1_735_787_046);
        stats.create_session.count(false, 1_735_787_046);
        let json = serde_json::to_value(&stats).expect("serializable");
        assert_eq!(
            json,
            serde_json::json!({
                "rate_limit_per_second": 10.0,
                "create_session": {
                    "accepted": 3,
                    "throttled": 1,
                    "per_second": {"1735787045": 2, "1735787046": 1}
                },
                "sts": {"accepted": 0, "throttled": 0, "per_second": {}}
            })
        );
        assert_eq!(
            stats.summary(),
            "create_session accepted=3 throttled=1 peak=2/s, sts accepted=0 throttled=0 \
             peak=0/s (rate limit: 10/s per account)"
        );
    }

    #[test]
    fn per_second_table_keeps_the_last_day() {
        let mut stats = ApiStats::default();
        for second in 0..(MAX_SECONDS_KEPT as i64 + 10) {
            stats.count(true, second);
        }
        assert_eq!(stats.per_second.len(), MAX_SECONDS_KEPT);
        assert_eq!(stats.per_second.keys().next(), Some(&10));
        assert_eq!(stats.accepted, MAX_SECONDS_KEPT as u64 + 10);
    }
}
