//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 6 digits, 30 s
//! steps, as virtual MFA devices make them, and the record of codes already used so that none
//! is accepted twice.

use std::collections::HashMap;
use std::sync::Mutex;

use ring::hmac;

/// Seconds per step.
const STEP: i64 = 30;
/// Steps accepted on either side of the current one (clock drift, a code typed late).
const WINDOW: i64 = 1;

/// The 6-digit HOTP value of `secret` at `counter` (RFC 4226 section 5.3).
pub(crate) fn hotp(secret: &[u8], counter: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[19] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    format!("{:06}", binary % 1_000_000)
}

/// Which step of `secret`, within one of `now`'s, shows `code`.
pub(crate) fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let current = now.div_euclid(STEP);
    (current - WINDOW..=current + WINDOW)
        .filter(|step| *step >= 0)
        .find(|step| same(&hotp(secret, *step as u64), code))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The steps each device has had a code accepted for.
#[derive(Debug, Default)]
pub(crate) struct UsedCodes {
    used: Mutex<HashMap<String, Vec<i64>>>,
}

impl UsedCodes {
    /// Records `step` for `serial`; `false` if it was used already.
    pub(crate) fn claim(&self, serial: &str, step: i64) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let steps = used.entry(serial.to_string()).or_default();
        // Steps out of the window can never match again.
        steps.retain(|s| *s >= step - 2 * WINDOW);
        if steps.contains(&step) {
            return false;
        }
        steps.push(step);
        true
    }
}

/// RFC 4648 base32 (case-insensitive, padding and spaces ignored).
pub(crate) fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.chars().filter(|c| !matches!(c, '=' | ' ')) {
        let value = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (secret "12345678901234567890"), last 6 of the 8 digits.
    #[test]
    fn rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(hotp(secret, time / 30), code, "{time}");
        }
    }

    #[test]
    fn codes_one_step_away_match_and_are_used_once() {
        let secret = b"12345678901234567890";
        assert_eq!(matching_step(secret, "287082", 59 + 30), Some(1));
        assert_eq!(matching_step(secret, "287082", 59 + 60), None);
        let used = UsedCodes::default();
        assert!(used.claim("d", 1));
        assert!(!used.claim("d", 1));
        assert!(used.claim("e", 1));
    }

    #[test]
    fn base32_is_rfc_4648() {
        assert_eq!(
            base32_decode("MZXW6YTBOI======").as_deref(),
            Some(&b"foobar"[..])
        );
        assert_eq!(base32_decode("mzxw6ytb").as_deref(), Some(&b"fooba"[..]));
        assert!(base32_decode("0189").is_none());
    }
}
