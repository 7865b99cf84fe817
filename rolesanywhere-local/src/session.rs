//! Temporary credentials: minting them (AWS shapes: `ASIA…` key ids, 40-character secrets,
//! opaque base64 session tokens) and remembering the ones issued, so STS can authenticate calls
//! made with them.
//!
//! Secrets and tokens are held in `Zeroizing` strings and [`Session`]'s `Debug` redacts them:
//! the endpoint logs every verdict and must never log a credential.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Seconds an expired session is remembered, so late callers get `ExpiredToken` rather than
/// `InvalidClientTokenId`.
const EXPIRED_RETENTION_SECONDS: i64 = 3600;

const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// One issued set of temporary credentials and who they belong to.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: Zeroizing<String>,
    pub(crate) session_token: Zeroizing<String>,
    pub(crate) account: String,
    pub(crate) role_arn: String,
    pub(crate) role_name: String,
    pub(crate) session_name: String,
    /// Unix seconds.
    pub(crate) expires_at: i64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &"** redacted **")
            .field("role_arn", &self.role_arn)
            .field("session_name", &self.session_name)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Session {
    /// `arn:<partition>:sts::<account>:assumed-role/<role name>/<session name>`.
    pub(crate) fn assumed_role_arn(&self, partition: &str) -> String {
        format!(
            "arn:{partition}:sts::{}:assumed-role/{}/{}",
            self.account, self.role_name, self.session_name
        )
    }

    /// `AROA…:<session name>`.
    pub(crate) fn assumed_role_id(&self) -> String {
        format!("{}:{}", role_id(&self.role_arn), self.session_name)
    }
}

/// The in-memory table of issued sessions, keyed by access key id.
#[derive(Debug, Default)]
pub(crate) struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
}

impl SessionStore {
    /// Mints and remembers fresh credentials for `role_arn`.
    pub(crate) fn issue(
        &self,
        account: &str,
        role_arn: &str,
        role_name: &str,
        session_name: &str,
        expires_at: i64,
        now: i64,
    ) -> Session {
        let mut rng = rand::thread_rng();
        let key_suffix: String = (0..16)
            .map(|_| char::from(KEY_ALPHABET[rng.gen_range(0..KEY_ALPHABET.len())]))
            .collect();
        let mut secret_bytes = Zeroizing::new([0u8; 30]);
        rng.fill(&mut secret_bytes[..]);
        let mut token_bytes = Zeroizing::new([0u8; 256]);
        rng.fill(&mut token_bytes[..]);
        let b64 = base64::engine::general_purpose::STANDARD;
        let session = Session {
            access_key_id: format!("ASIA{key_suffix}"),
            secret_access_key: Zeroizing::new(b64.encode(&secret_bytes[..])),
            session_token: Zeroizing::new(b64.encode(&token_bytes[..])),
            account: account.to_string(),
            role_arn: role_arn.to_string(),
            role_name: role_name.to_string(),
            session_name: session_name.to_string(),
            expires_at,
        };
        let mut sessions = self.lock();
        sessions.retain(|_, s| s.expires_at + EXPIRED_RETENTION_SECONDS > now);
        sessions.insert(session.access_key_id.clone(), session.clone());
        session
    }

    /// The session of `access_key_id`, if this endpoint issued it (and still remembers it).
    pub(crate) fn get(&self, access_key_id: &str) -> Option<Session> {
        self.lock().get(access_key_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // Entries are inserted whole; a panic elsewhere cannot leave one half-written.
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A stable `AROA` + 17 character unique id for a role, derived from its ARN.
pub(crate) fn role_id(role_arn: &str) -> String {
    let hash = Sha256::digest(role_arn.as_bytes());
    let suffix: String = hash
        .iter()
        .take(17)
        .map(|b| char::from(KEY_ALPHABET[usize::from(*b) % KEY_ALPHABET.len()]))
        .collect();
    format!("AROA{suffix}")
}

/// Constant-time string equality (session tokens).
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_credentials_have_aws_shapes() {
        let store = SessionStore::default();
        let s = store.issue(
            "123456789012",
            "arn:aws:iam::123456789012:role/r",
            "r",
            "sess",
            100,
            0,
        );
        assert_eq!(s.access_key_id.len(), 20);
        assert!(s.access_key_id.starts_with("ASIA"));
        assert!(s.access_key_id[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(s.secret_access_key.len(), 40);
        assert!(s.session_token.len() > 300);
        assert_eq!(
            s.assumed_role_arn("aws"),
            "arn:aws:sts::123456789012:assumed-role/r/sess"
        );
        assert!(s.assumed_role_id().starts_with("AROA"));
        assert_eq!(s.assumed_role_id().len(), 21 + ":sess".len());
        assert!(store.get(&s.access_key_id).is_some());
        let debug = format!("{s:?}");
        assert!(!debug.contains(s.secret_access_key.as_str()));
        assert!(!debug.contains(s.session_token.as_str()));
    }

    #[test]
    fn expired_sessions_are_pruned_after_retention() {
        let store = SessionStore::default();
        let old = store.issue(
            "123456789012",
            "arn:aws:iam::123456789012:role/r",
            "r",
            "a1",
            10,
            0,
        );
        let _new = store.issue(
            "123456789012",
            "arn:aws:iam::123456789012:role/r",
            "r",
            "a2",
            10_000,
            10 + EXPIRED_RETENTION_SECONDS,
        );
        assert!(store.get(&old.access_key_id).is_none());
    }
}
