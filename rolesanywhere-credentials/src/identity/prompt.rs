//! Asking for a password or PIN on the controlling terminal, for every backend.
//!
//! The official helper prompts when a secret is needed and not given. Prompts read `/dev/tty`
//! (through `rpassword`), never stdin: the SDKs run `credential_process` with stdout and stderr
//! captured, and the terminal is the only place a person can answer. Without a terminal (cron,
//! CI, a service) the caller gets [`Prompted::NoTerminal`] and says how to give the secret
//! instead.

use std::path::Path;

use super::error::{Error, Result};
use super::Secret;

/// How many times a secret is asked for before giving up.
pub(crate) const ATTEMPTS: usize = 3;

/// What became of a prompt that did not end in success.
#[derive(Debug)]
pub(crate) enum Prompted<E> {
    /// There is no terminal to ask on.
    NoTerminal,
    /// Every secret typed was wrong.
    Rejected,
    /// Trying a secret failed for a reason another secret would not change.
    Failed(E),
}

/// The outcome of trying one typed secret.
pub(crate) enum Try<T, E> {
    /// It worked.
    Accepted(T),
    /// It was wrong; ask again.
    Wrong,
    /// Something else failed; stop.
    Failed(E),
}

/// Asks for a secret with `prompt` until `attempt` accepts one, at most [`ATTEMPTS`] times.
/// After a wrong one, `wrong_note` (if any) is shown on the terminal's stderr, as the official
/// helper says "Incorrect PIN.".
pub(crate) fn ask<T, E>(
    prompt: &str,
    wrong_note: Option<&str>,
    mut attempt: impl FnMut(Secret) -> Try<T, E>,
) -> Result<T, Prompted<E>> {
    for tried in 0..ATTEMPTS {
        let Ok(secret) = rpassword::prompt_password(prompt).map(Secret::new) else {
            // The terminal went away after a wrong secret: that secret is the news.
            return Err(if tried == 0 {
                Prompted::NoTerminal
            } else {
                Prompted::Rejected
            });
        };
        match attempt(secret) {
            Try::Accepted(value) => return Ok(value),
            Try::Wrong => {
                if let Some(note) = wrong_note {
                    eprintln!("{note}");
                }
            }
            Try::Failed(e) => return Err(Prompted::Failed(e)),
        }
    }
    Err(Prompted::Rejected)
}

/// Asks for a password on the controlling terminal, as the official helper does, and retries
/// while it is wrong. Without a terminal (cron, CI, an SDK's credential_process) the caller gets
/// [`Error::PasswordRequired`], which says to use `--pkcs8-password`.
pub(crate) fn prompt_until<T>(
    path: &Path,
    prompt: &str,
    attempt: impl Fn(&str) -> Result<T>,
) -> Result<T> {
    // The last refusal is the error once the tries run out (PKCS#8 and PKCS#12 say it apart).
    let refused = std::cell::RefCell::new(None);
    let asked = ask(prompt, None, |password| match attempt(&password) {
        Ok(value) => Try::Accepted(value),
        Err(e @ (Error::WrongPassword { .. } | Error::Pkcs12Password { .. })) => {
            *refused.borrow_mut() = Some(e);
            Try::Wrong
        }
        Err(e) => Try::Failed(e),
    });
    asked.map_err(|e| match e {
        Prompted::NoTerminal => Error::PasswordRequired {
            path: path.to_path_buf(),
        },
        Prompted::Rejected => refused.take().unwrap_or_else(|| Error::WrongPassword {
            path: path.to_path_buf(),
        }),
        Prompted::Failed(e) => e,
    })
}
