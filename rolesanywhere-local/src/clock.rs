//! Time: the endpoint's injectable [`Clock`] and the two timestamp formats AWS uses
//! (`X-Amz-Date`'s `20250102T030405Z` and ISO-8601 `2025-01-02T03:04:05Z`).
//!
//! Everything that judges time (request skew, certificate validity, session expiry) reads the
//! clock through this type, so tests can pin it to the date of the OpenSSL-made vectors. Dates are
//! converted with the civil-from-days algorithm rather than a date crate: it is short, exact for
//! the proleptic Gregorian calendar and keeps the dependency list unchanged.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time source of a running endpoint: the system clock, or a settable fixed instant.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Arc<Mutex<Option<SystemTime>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock::default()
    }

    /// A clock stopped at `at` (tests: verify vectors signed in the past, expire sessions).
    pub fn fixed(at: SystemTime) -> Self {
        let clock = Clock::default();
        clock.set(at);
        clock
    }

    /// Stops the clock at `at`. Every clone of this clock (the running server's) sees it.
    pub fn set(&self, at: SystemTime) {
        *self.lock() = Some(at);
    }

    /// Moves a fixed clock forward by `by`; a system clock becomes fixed at `now + by`.
    pub fn advance(&self, by: Duration) {
        let mut fixed = self.lock();
        let now = fixed.unwrap_or_else(SystemTime::now);
        *fixed = Some(now + by);
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        self.lock().unwrap_or_else(SystemTime::now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<SystemTime>> {
        // The guarded value is a plain Option<SystemTime>; a panic while holding the lock cannot
        // leave it half-written, so a poisoned lock is still safe to use.
        self.fixed.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Seconds since the Unix epoch (negative before 1970).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// `2025-01-02T03:04:05Z`.
pub(crate) fn iso8601(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `20250102T030405Z`, the `X-Amz-Date` format.
pub(crate) fn amz_date(secs: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// Parses an `X-Amz-Date` value (`YYYYMMDD'T'HHMMSS'Z'`, exactly 16 characters).
pub fn parse_amz_date(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = value.get(range)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, mo, d) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (h, mi, s) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// A time from Unix seconds (for the fixed-clock command-line option and tests).
pub(crate) fn system_time(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day, hour, minute, second) of Unix seconds.
fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip() {
        let t = parse_amz_date("20250102T030405Z").expect("valid date");
        assert_eq!(t, 1_735_787_045);
        assert_eq!(amz_date(t), "20250102T030405Z");
        assert_eq!(iso8601(t + 3600), "2025-01-02T04:04:05Z");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            "20250102T030405",
            "2025-01-02T03:04:05Z",
            "20250230T030405Z",
            "20250102T240000Z",
            "2025010XT030405Z",
            "+0250102T030405Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn fixed_clock_is_shared_by_clones() {
        let clock = Clock::fixed(system_time(1000));
        let clone = clock.clone();
        clock.advance(Duration::from_secs(5));
        assert_eq!(unix_seconds(clone.now()), 1005);
    }
}
