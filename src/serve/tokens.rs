//! IMDSv2 session tokens that carry their own proof: nothing is stored, so no client can push
//! another's token out, a flood of token requests costs no memory, and checking one takes a
//! constant time without a lock.
//!
//! A token is 75 bytes, written as 100 characters of URL-safe base64 (no padding, so safe in a
//! header or a URL): a version byte, the expiry (milliseconds after the moment the process made
//! its key, so wall-clock jumps change nothing), 34 random bytes that make every token unique,
//! and an HMAC-SHA256 of those 43 bytes under a key drawn at random when the process starts.
//! The key never leaves the process, so a token is worthless elsewhere and after a restart, as
//! EC2's are after a reboot. The tag is checked in constant time before the expiry is read.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

/// Characters of a token as sent.
pub const TOKEN_CHARS: usize = 100;
/// Bytes of a token before base64.
const TOKEN_BYTES: usize = 75;
/// The version byte of the layout below.
const VERSION: u8 = 1;
/// Where the signed part ends and the tag starts.
const SIGNED: usize = 1 + 8 + NONCE_BYTES;
const NONCE_BYTES: usize = 34;
const TAG_BYTES: usize = 32;
const _: () = assert!(SIGNED + TAG_BYTES == TOKEN_BYTES && TOKEN_BYTES * 4 / 3 == TOKEN_CHARS);

/// Why a presented token is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Not a token this process made (or altered).
    Unknown,
    /// Made here, but its lifetime is over.
    Expired,
}

/// The per-process key tokens are made and checked with.
pub struct TokenKey {
    /// Wiped when the process drops it. The HMAC state is derived from it on the stack of each
    /// call, so no long-lived copy of that state exists either.
    key: Zeroizing<[u8; 32]>,
    /// Expiries count milliseconds from here.
    epoch: Instant,
}

impl TokenKey {
    /// A fresh random key.
    pub fn generate() -> TokenKey {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        TokenKey {
            key,
            epoch: Instant::now(),
        }
    }

    /// A token valid for `ttl` from now.
    pub fn issue(&self, ttl: Duration) -> Zeroizing<String> {
        let expires = self.millis(Instant::now() + ttl);
        let mut token = Zeroizing::new([0u8; TOKEN_BYTES]);
        token[0] = VERSION;
        token[1..9].copy_from_slice(&expires.to_be_bytes());
        rand::thread_rng().fill_bytes(&mut token[9..SIGNED]);
        let mut mac = self.mac();
        mac.update(&token[..SIGNED]);
        token[SIGNED..].copy_from_slice(&mac.finalize().into_bytes());
        Zeroizing::new(URL_SAFE_NO_PAD.encode(token.as_ref()))
    }

    /// How long `presented` has left, if this process made it and it has not expired.
    ///
    /// # Errors
    /// [`Invalid::Unknown`] for anything this process did not make, [`Invalid::Expired`] for one
    /// it made whose lifetime is over.
    pub fn check(&self, presented: &[u8]) -> Result<Duration, Invalid> {
        if presented.len() != TOKEN_CHARS {
            return Err(Invalid::Unknown);
        }
        let mut token = [0u8; TOKEN_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(presented, &mut token) {
            Ok(TOKEN_BYTES) => {}
            _ => return Err(Invalid::Unknown),
        }
        // The tag first, in constant time: nothing else is looked at in a forged token.
        let mut mac = self.mac();
        mac.update(&token[..SIGNED]);
        mac.verify_slice(&token[SIGNED..])
            .map_err(|_| Invalid::Unknown)?;
        if token[0] != VERSION {
            return Err(Invalid::Unknown);
        }
        let mut expires = [0u8; 8];
        expires.copy_from_slice(&token[1..9]);
        let expires = u64::from_be_bytes(expires);
        let now = self.millis(Instant::now());
        match expires.checked_sub(now) {
            Some(left) if left > 0 => Ok(Duration::from_millis(left)),
            _ => Err(Invalid::Expired),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        Hmac::<Sha256>::new_from_slice(self.key.as_ref()).expect("HMAC takes any key length")
    }

    /// Milliseconds from the key's epoch to `at` (saturating: nothing is issued before it).
    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_100_url_safe_characters_and_unique() {
        let key = TokenKey::generate();
        let (a, b) = (
            key.issue(Duration::from_secs(60)),
            key.issue(Duration::from_secs(60)),
        );
        assert_eq!(a.len(), TOKEN_CHARS);
        assert_ne!(*a, *b);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn a_token_reports_the_time_it_has_left() {
        let key = TokenKey::generate();
        let token = key.issue(Duration::from_secs(300));
        let left = key.check(token.as_bytes()).unwrap();
        assert!(
            left <= Duration::from_secs(300) && left > Duration::from_secs(298),
            "{left:?}"
        );
    }

    #[test]
    fn expired_tokens_are_refused() {
        let key = TokenKey::generate();
        let token = key.issue(Duration::ZERO);
        assert_eq!(key.check(token.as_bytes()), Err(Invalid::Expired));
    }

    #[test]
    fn altered_foreign_and_malformed_tokens_are_unknown() {
        let key = TokenKey::generate();
        let token = key.issue(Duration::from_secs(60));
        // Another process's key.
        assert_eq!(
            TokenKey::generate().check(token.as_bytes()),
            Err(Invalid::Unknown)
        );
        // Any character changed, including those of the expiry.
        for at in [0, 3, 10, 50, 99] {
            let mut altered = token.as_bytes().to_vec();
            altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
            assert_eq!(key.check(&altered), Err(Invalid::Unknown), "at {at}");
        }
        for bad in [&b""[..], b"made-up", &[b'='; 100], &token.as_bytes()[..99]] {
            assert_eq!(key.check(bad), Err(Invalid::Unknown));
        }
        let longer = format!("{}A", token.as_str());
        assert_eq!(key.check(longer.as_bytes()), Err(Invalid::Unknown));
    }

    /// The point of the design: issuing any number of tokens forgets none.
    #[test]
    fn issuing_many_tokens_keeps_every_earlier_one_valid() {
        let key = TokenKey::generate();
        let first = key.issue(Duration::from_secs(300));
        for _ in 0..10_000 {
            let _ = key.issue(Duration::from_secs(21_600));
        }
        assert!(key.check(first.as_bytes()).is_ok());
    }
}
