//! PINs and logging in: where the PIN comes from (URI, environment, terminal), logging in once,
//! logging in again after a reconnection without prompting, and the per-signature PIN of keys
//! with `CKA_ALWAYS_AUTHENTICATE`.

use std::path::Path;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};

use super::describe::describe;
use super::device::Device;
use super::device::FoundKey;
pub use super::pin::Pin;
use super::PIN_ENV;
use crate::identity::error::{Error, Result};
use crate::identity::prompt::{self, Prompted, Try};

/// The PINs a signer keeps: the user PIN for `--reuse-pin`, and the context-specific PIN of a
/// `CKA_ALWAYS_AUTHENTICATE` key once it worked.
#[derive(Debug)]
pub(super) struct Auth {
    pub(super) user_pin: Option<Pin>,
    pub(super) context_pin: Option<Pin>,
    pub(super) reuse_pin: bool,
    /// The token refused `user_pin` when reconnecting: never offer it again (tokens lock).
    pub(super) pin_refused: bool,
    /// The key refused the PIN we offered it (`context_pin`, or `user_pin` for `--reuse-pin`):
    /// never offer that again either.
    pub(super) context_refused: bool,
}

impl Device {
    pub(super) fn pin_available(&self) -> bool {
        self.pin_uri.pin_value.is_some()
            || self.pin_uri.pin_source.is_some()
            || std::env::var_os(PIN_ENV).is_some_and(|v| !v.is_empty())
            // The prompt reads the controlling terminal, as the official helper does.
            || std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .is_ok()
    }

    /// The PIN from the URI or the environment, and where it came from; `None` to prompt.
    pub(super) fn configured_pin(&self) -> Result<Option<(Pin, String)>> {
        if let Some(pin) = &self.pin_uri.pin_value {
            return Ok(Some((pin.clone(), "the URI's pin-value".into())));
        }
        if let Some(source) = &self.pin_uri.pin_source {
            let path = Path::new(
                source
                    .strip_prefix("file://")
                    .or(source.strip_prefix("file:"))
                    .unwrap_or(source),
            );
            let bytes = crate::identity::read::read_file(path, "a PIN")?;
            let text = std::str::from_utf8(&bytes).map_err(|_| Error::PinFileText {
                path: path.to_path_buf(),
            })?;
            let pin = text.trim_end_matches(['\n', '\r']).to_string();
            return Ok(Some((
                Pin::new(pin),
                format!("pin-source {}", path.display()),
            )));
        }
        if let Ok(pin) = std::env::var(PIN_ENV) {
            if !pin.is_empty() {
                return Ok(Some((Pin::new(pin), PIN_ENV.to_string())));
            }
        }
        Ok(None)
    }

    /// Logs in to `token` as the user, once.
    pub(super) fn login(&mut self, token: usize) -> Result<()> {
        if self.logged_in[token] {
            return Ok(());
        }
        let name = self.tokens[token].name();
        if self.tokens[token].info.protected_authentication_path() {
            // A PIN pad or biometric reader: the token asks the user itself.
            let result = self.session(token)?.login(UserType::User, None);
            return self.logged_in_after(token, result.map(|()| None), "the token's PIN pad");
        }
        if let Some((pin, from)) = self.configured_pin()? {
            crate::debug!("PKCS#11: logging in to token {name} with the PIN from {from}");
            let result = self
                .session(token)?
                .login(UserType::User, Some(&pin.auth()));
            return self.logged_in_after(token, result.map(|()| Some(pin)), &from);
        }
        let prompt = format!("Please enter your user PIN for token {name}:");
        let typed = prompt::ask(&prompt, Some("Incorrect PIN."), |secret| {
            let pin = Pin::from_secret(secret);
            let session = match self.session(token) {
                Ok(session) => session,
                Err(e) => return Try::Failed(e),
            };
            match session.login(UserType::User, Some(&pin.auth())) {
                Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => Try::Wrong,
                other => Try::Accepted(other.map(|()| Some(pin))),
            }
        });
        match typed {
            Ok(result) => self.logged_in_after(token, result, "the terminal"),
            Err(Prompted::NoTerminal) => Err(Error::Pkcs11PinRequired { token: name }),
            Err(Prompted::Rejected) => Err(Error::Pkcs11WrongPin {
                token: name,
                from: "the terminal".into(),
            }),
            Err(Prompted::Failed(e)) => Err(e),
        }
    }

    pub(super) fn logged_in_after(
        &mut self,
        token: usize,
        result: std::result::Result<Option<Pin>, CkError>,
        from: &str,
    ) -> Result<()> {
        match result {
            Ok(pin) => self.user_pin = pin,
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                return Err(Error::Pkcs11WrongPin {
                    token: self.tokens[token].name(),
                    from: from.to_string(),
                })
            }
            Err(e) => return Err(self.call_failed("C_Login", token, &e)),
        }
        self.logged_in[token] = true;
        Ok(())
    }

    /// Logs in to `token` after a reconnection with the PIN kept from the start: never from a
    /// prompt (nobody may be at the terminal of a helper that has run for weeks), and never
    /// again once the token refused it, so that retries cannot lock the token.
    pub(super) fn login_again(&mut self, token: usize, auth: &mut Auth) -> Result<()> {
        let name = self.tokens[token].name();
        let result = if self.tokens[token].info.protected_authentication_path() {
            self.session(token)?.login(UserType::User, None)
        } else {
            match (&auth.user_pin, auth.pin_refused) {
                (Some(pin), false) => self
                    .session(token)?
                    .login(UserType::User, Some(&pin.auth())),
                (Some(_), true) => {
                    return Err(Error::Pkcs11WrongPin {
                        token: name,
                        from: "the PIN given at start, refused earlier; restart the helper with the right one".into(),
                    })
                }
                // The token let us in without a PIN at start (already logged in).
                (None, _) => Ok(()),
            }
        };
        let pin = auth.user_pin.clone();
        let outcome = self.logged_in_after(token, result.map(|()| pin), "the PIN given at start");
        if let Err(Error::Pkcs11WrongPin { .. }) = &outcome {
            auth.pin_refused = true;
        }
        outcome
    }
}

/// Authenticates for one operation with a `CKA_ALWAYS_AUTHENTICATE` key: the PIN that worked
/// before, the user PIN with `--reuse-pin`, or a prompt.
pub(super) fn context_login(session: &Session, key: &FoundKey, auth: &mut Auth) -> Result<()> {
    let known = auth
        .context_pin
        .clone()
        .or_else(|| auth.user_pin.clone().filter(|_| auth.reuse_pin))
        .filter(|_| !auth.context_refused);
    if let Some(pin) = known {
        match session.login(UserType::ContextSpecific, Some(&pin.auth())) {
            Ok(()) => {
                auth.context_pin = Some(pin);
                return Ok(());
            }
            Err(e) => {
                crate::debug!("PKCS#11: re-authentication failed ({})", describe(&e));
                if let CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _) = e {
                    // Never offer it again: tokens lock after a few wrong PINs.
                    auth.context_refused = true;
                    auth.context_pin = None;
                }
            }
        }
    }
    let prompt = format!(
        "Please enter the context-specific PIN for private key {}:",
        key.uri
    );
    let asked = prompt::ask(&prompt, Some("Incorrect PIN."), |secret| {
        let typed = Pin::from_secret(secret);
        match session.login(UserType::ContextSpecific, Some(&typed.auth())) {
            Ok(()) => Try::Accepted(typed),
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => Try::Wrong,
            Err(e) => Try::Failed(Error::Sign(format!(
                "C_Login (context-specific) for {} failed: {}",
                key.uri,
                describe(&e)
            ))),
        }
    });
    match asked {
        Ok(typed) => {
            auth.context_pin = Some(typed);
            auth.context_refused = false;
            Ok(())
        }
        Err(Prompted::NoTerminal) => Err(no_context_pin(&key.uri, auth)),
        Err(Prompted::Rejected) => Err(Error::Sign(format!(
            "wrong context-specific PIN for {}",
            key.uri
        ))),
        Err(Prompted::Failed(e)) => Err(e),
    }
}

/// Why a `CKA_ALWAYS_AUTHENTICATE` key cannot sign when there is no terminal to ask for its PIN:
/// suggesting `--reuse-pin` only when it was not given, or the key had not refused it.
pub(super) fn no_context_pin(key_uri: &str, auth: &Auth) -> Error {
    let key = key_uri.to_string();
    if auth.reuse_pin && auth.context_refused {
        Error::Pkcs11ContextPinRefused { key }
    } else {
        Error::Pkcs11ContextPinRequired { key }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_pin_is_suggested_only_when_it_was_not_refused() {
        let key = "pkcs11:token=ra;id=%05;object=signing;type=private";
        let mut auth = Auth {
            user_pin: Some(Pin::new("1234".into())),
            context_pin: None,
            reuse_pin: false,
            pin_refused: false,
            context_refused: false,
        };
        let hint = |auth: &Auth| no_context_pin(key, auth).to_string();
        assert!(hint(&auth).contains("pass --reuse-pin"), "{}", hint(&auth));
        // Given and not yet refused (an earlier terminal PIN was): suggesting it is still fair.
        auth.reuse_pin = true;
        assert!(hint(&auth).contains("pass --reuse-pin"));
        auth.context_refused = true;
        let text = hint(&auth);
        assert!(!text.contains("pass --reuse-pin"), "{text}");
        assert!(
            text.contains("refused the token's PIN given by --reuse-pin"),
            "{text}"
        );
        assert!(text.contains("run the helper from a terminal"), "{text}");
        assert!(!text.contains("1234"), "{text}");
    }

    #[test]
    fn pins_do_not_print() {
        assert_eq!(format!("{:?}", Pin::new("1234".into())), "Pin(***)");
    }
}
