//! The token container-credentials clients must present, chosen as the SDKs choose what to
//! send (botocore's `ContainerProvider`): the file named by `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`
//! when that variable is set (read again whenever the file changes, as clients read it at each
//! request), else `AWS_CONTAINER_AUTHORIZATION_TOKEN`, else a generated token printed once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{generate_token, Refusal, CONTAINER_TOKEN_ENV, CONTAINER_TOKEN_FILE_ENV};
use crate::error::{Error, Result};
use rolesanywhere_credentials::filestamp::FileStamp;

/// Token files larger than this are refused (a token is a header value, not a document).
const MAX_TOKEN_FILE_BYTES: u64 = 16 * 1024;

/// Compares two secrets in time that depends only on their lengths' hashes, not on where they
/// first differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The token container-credentials clients must send in `Authorization`.
pub enum ContainerToken {
    /// From `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
    Fixed(Zeroizing<String>),
    /// Made up at start-up and printed once.
    Generated(Zeroizing<String>),
    /// From the file named by `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
    File(TokenFile),
}

impl ContainerToken {
    /// The token as the SDKs pick what to send: the file variable first, then the token
    /// variable; a generated token when neither is set (an empty variable counts as unset).
    ///
    /// # Errors
    /// When the file variable is set but the file cannot be read, is empty, too large or not
    /// a single line.
    pub fn from_env() -> Result<ContainerToken> {
        let set = |var| std::env::var_os(var).filter(|v| !v.is_empty());
        if let Some(path) = set(CONTAINER_TOKEN_FILE_ENV) {
            let path = PathBuf::from(path);
            let file = TokenFile::open(path.clone()).map_err(|detail| Error::TokenFile {
                var: CONTAINER_TOKEN_FILE_ENV,
                path,
                detail,
            })?;
            return Ok(ContainerToken::File(file));
        }
        Ok(match std::env::var(CONTAINER_TOKEN_ENV) {
            Ok(token) if !token.is_empty() => ContainerToken::Fixed(Zeroizing::new(token)),
            _ => ContainerToken::Generated(generate_token()),
        })
    }

    /// Whether `presented` is the token.
    pub(super) fn check(&self, presented: &[u8]) -> Result<(), Refusal> {
        let matches = match self {
            ContainerToken::Fixed(token) | ContainerToken::Generated(token) => {
                same_secret(presented, token.as_bytes())
            }
            ContainerToken::File(file) => {
                let token = file.current_or_report()?;
                same_secret(presented, token.as_bytes())
            }
        };
        if matches {
            Ok(())
        } else {
            Err(Refusal::WrongAuthorization)
        }
    }
}

/// A token file, read again when its modification time or size changes.
pub struct TokenFile {
    pub(super) path: PathBuf,
    cached: Mutex<Option<(FileStamp, Arc<Zeroizing<String>>)>>,
    /// The last problem logged, so a broken file is reported once, not at every request.
    reported: Mutex<Option<String>>,
}

impl TokenFile {
    /// The token file at `path`, which must hold a token now.
    ///
    /// # Errors
    /// What is wrong with the file (never its contents): unreadable, empty, too large, not a
    /// single line.
    pub(crate) fn open(path: PathBuf) -> std::result::Result<TokenFile, String> {
        let file = TokenFile {
            path,
            cached: Mutex::new(None),
            reported: Mutex::new(None),
        };
        file.current()?;
        Ok(file)
    }

    /// [`TokenFile::current`], logging a problem once (until it changes or is fixed).
    fn current_or_report(&self) -> Result<Arc<Zeroizing<String>>, Refusal> {
        let current = self.current();
        let mut reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
        match current {
            Ok(token) => {
                *reported = None;
                Ok(token)
            }
            Err(detail) => {
                if reported.as_deref() != Some(detail.as_str()) {
                    rolesanywhere_credentials::notice!(
                        "cannot read the container authorization token from {} ({detail}); refusing container credential requests until it is fixed",
                        self.path.display()
                    );
                    *reported = Some(detail);
                }
                Err(Refusal::TokenFileUnreadable)
            }
        }
    }

    /// The token now in the file. A single trailing line break is not part of it (botocore
    /// sends the file verbatim and refuses line breaks, other SDKs trim them).
    fn current(&self) -> std::result::Result<Arc<Zeroizing<String>>, String> {
        let meta = std::fs::metadata(&self.path).map_err(|e| e.to_string())?;
        rolesanywhere_credentials::input::regular(&meta).map_err(|e| e.to_string())?;
        let stamp = FileStamp::from_metadata(&self.path, &meta);
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seen, token)) = cached.as_ref() {
            if *seen == stamp {
                return Ok(Arc::clone(token));
            }
        }
        let bytes = rolesanywhere_credentials::input::read(&self.path, MAX_TOKEN_FILE_BYTES)
            .map_err(|e| e.to_string())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| "not UTF-8 text".to_string())?;
        let token = text
            .strip_suffix('\n')
            .map(|t| t.strip_suffix('\r').unwrap_or(t))
            .unwrap_or(text);
        if token.is_empty() {
            return Err("empty".into());
        }
        if token.contains(['\r', '\n']) {
            return Err("more than one line".into());
        }
        let token = Arc::new(Zeroizing::new(token.to_string()));
        *cached = Some((stamp, Arc::clone(&token)));
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_by_value() {
        assert!(same_secret(b"token", b"token"));
        assert!(!same_secret(b"token", b"tokem"));
        assert!(!same_secret(b"token", b"token2"));
    }
}
