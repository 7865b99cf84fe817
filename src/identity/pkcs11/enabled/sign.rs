//! The signer: one logged-in session kept for the process, signing inside the token, and
//! finding the token and key again when the session is lost.

use std::fmt;
use std::sync::Mutex;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::KeyType;
use cryptoki::session::Session;
use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::describe::{describe, describe_rv};
use super::device::{initialize, Device};
use super::login::{context_login, Auth};
use super::search::FoundKey;
use super::single_sign::{self, SignError};
use super::uri::Uri;
use crate::identity::certificate::{ecdsa_raw_to_der, PublicKey};
use crate::identity::error::{Error, Result};
use crate::identity::{Digest, Signer};

/// A private key in a token, with the logged-in session that uses it.
///
/// The session lasts as long as the signer, so one-shot commands log in once. When a signature
/// fails because the session, the token or the key's handle went away (see [`lost`]), the
/// signer finds the token again by the same URI, logs in with the PIN kept from the start (never
/// prompting), finds the same key again and signs once more: `serve` and `update` run for weeks
/// while cards are pulled and modules restarted.
pub struct Pkcs11Key {
    pub(super) state: Mutex<State>,
    pub(super) public_key: PublicKey,
    /// A URI naming the key as found at start, for `Debug`.
    pub(super) uri: String,
    /// What finding the key again needs.
    pub(super) again: FindAgain,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl Signer for Pkcs11Key {
    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        let mut state = self.state.lock().map_err(|_| {
            Error::Sign("the PKCS#11 session was poisoned by an earlier panic".into())
        })?;
        let state = &mut *state;
        let lost_by = match &state.live {
            Some(live) => match sign_in(
                &live.session,
                &self.again.module,
                &live.key,
                &mut state.auth,
                message,
                digest,
            ) {
                Ok(signature) => return Ok(signature),
                Err(Failed {
                    rv: Some(rv),
                    error,
                }) if lost(rv) => Some((rv, error)),
                Err(failed) => return Err(failed.error),
            },
            // An earlier reconnection failed: try again now, the token may be back.
            None => None,
        };
        self.reconnect(state, lost_by)?;
        let live = state
            .live
            .as_ref()
            .expect("a reconnection that succeeds leaves a session");
        Ok(sign_in(
            &live.session,
            &self.again.module,
            &live.key,
            &mut state.auth,
            message,
            digest,
        )?)
    }
}

impl Pkcs11Key {
    /// Replaces the lost session (`lost_by` the return value and error that lost it, `None`
    /// when an earlier reconnection failed) with a new one on the same key. The module is
    /// initialized again when it asks for that, or when the key cannot be found without it:
    /// SoftHSM2, like many modules, sees tokens that appeared later only after `C_Initialize`.
    pub(super) fn reconnect(
        &self,
        state: &mut State,
        lost_by: Option<(RvError, Error)>,
    ) -> Result<()> {
        // Close the old session before anything opens a new one: after `C_Initialize` the
        // module may hand out the same handle again, which dropping the old one would close.
        state.live = None;
        let rv = lost_by.as_ref().map(|(rv, _)| *rv);
        let mut found = match lost_by {
            Some((RvError::CryptokiNotInitialized, error)) => Err(error.to_string()),
            Some((_, error)) => {
                crate::debug!(
                    "PKCS#11: {}; finding the token and key again",
                    error.report()
                );
                self.again.find(&state.context, &mut state.auth)
            }
            None => self.again.find(&state.context, &mut state.auth),
        };
        if let Err(e) = &found {
            crate::debug!("PKCS#11: {e}; initializing the module again");
            // C_Finalize fails when the module already forgot us; C_Initialize decides.
            let _ = state.context.clone().finalize();
            found = initialize(&state.context)
                .map_err(|e| format!("C_Initialize failed: {}", describe(&e)))
                .and_then(|()| self.again.find(&state.context, &mut state.auth));
        }
        let cause = match rv {
            Some(rv) => describe_rv(rv),
            None => "the token or its session went away earlier".into(),
        };
        match found {
            Ok(live) => {
                crate::notice!("PKCS#11: reconnected to {} ({cause})", live.key.uri);
                state.live = Some(live);
                Ok(())
            }
            Err(e) => Err(Error::Pkcs11Reconnect {
                key: self.uri.clone(),
                cause,
                detail: e,
            }),
        }
    }
}

/// What a signer holds behind its mutex: one signature at a time, which tokens need anyway.
pub(super) struct State {
    pub(super) context: Pkcs11,
    /// The session and the key's handle in it; `None` after a reconnection failed.
    pub(super) live: Option<Live>,
    pub(super) auth: Auth,
}

/// A logged-in session and the key's handle, valid together.
pub(super) struct Live {
    pub(super) session: Session,
    pub(super) key: FoundKey,
}

/// How to find the key again: the token by the URI it was found with (not by slot or serial,
/// which change when a card is reinserted or re-provisioned), the key by its `CKA_ID` and
/// `CKA_LABEL` and then its public key, so that another key is refused.
pub(super) struct FindAgain {
    pub(super) module: String,
    pub(super) token: Uri,
    pub(super) id: Vec<u8>,
    pub(super) label: Vec<u8>,
    pub(super) public_key: PublicKey,
}

impl FindAgain {
    /// The key in a new logged-in session, or why it cannot be found (for
    /// [`Error::Pkcs11Reconnect`]).
    pub(super) fn find(
        &self,
        context: &Pkcs11,
        auth: &mut Auth,
    ) -> std::result::Result<Live, String> {
        let text = |e: Error| e.report();
        let mut device = Device::enumerate(context.clone(), self.module.clone(), Uri::default())
            .map_err(|e| format!("C_GetSlotList failed: {}", describe(&e)))?;
        let token = device.key_token(&self.token, None).map_err(text)?;
        device.login_again(token, auth).map_err(text)?;
        device.context_pin = auth.context_pin.clone();
        let nonempty = |v: &Vec<u8>| Some(v.clone()).filter(|v| !v.is_empty());
        let (label, id) = (nonempty(&self.label), nonempty(&self.id));
        let keys = device
            .private_keys(token, label.as_deref(), id.as_deref())
            .map_err(text)?;
        for key in keys {
            let matches = device.key_matches(token, &key, &self.public_key, auth.reuse_pin);
            if matches.map_err(text)? {
                if device.context_pin.is_some() {
                    auth.context_pin = device.context_pin.take();
                }
                let session = device.sessions[token]
                    .take()
                    .expect("the key was found through this session");
                return Ok(Live { session, key });
            }
        }
        Err(format!(
            "token {} holds no private key with the CKA_ID, label and public key found at start, and the helper signs with no other",
            device.tokens[token].name()
        ))
    }
}

/// Signs with `key` in `session`, logging in for the key again when it asks for that.
pub(super) fn sign_in(
    session: &Session,
    module: &str,
    key: &FoundKey,
    auth: &mut Auth,
    message: &[u8],
    digest: Digest,
) -> std::result::Result<Vec<u8>, Failed> {
    let failed = |call: &str, e: CkError| Failed {
        rv: match e {
            CkError::Pkcs11(rv, _) => Some(rv),
            _ => None,
        },
        error: Error::Sign(format!("{call} with {} failed: {}", key.uri, describe(&e))),
    };
    let rsa = key.key_type == KeyType::RSA;
    // RSA keys hash and sign in the token; EC keys sign our digest with raw CKM_ECDSA, the one
    // ECDSA mechanism every token offers (as the official helper).
    let (mechanism, data) = if rsa {
        (rsa_mechanism(digest), message.to_vec())
    } else {
        (Mechanism::Ecdsa, hash(message, digest))
    };
    let signature = if !key.always_auth {
        session
            .sign(&mechanism, key.handle, &data)
            .map_err(|e| failed("C_Sign", e))?
    } else {
        // The PIN must be given between C_SignInit and a single-part C_Sign, a sequence the
        // binding cannot make: `single_sign` makes the last call.
        session
            .sign_init(&mechanism, key.handle)
            .map_err(|e| failed("C_SignInit", e))?;
        if let Err(e) = context_login(session, key, auth) {
            // End the operation C_SignInit started, or the next one finds it still active: a
            // failing C_Sign terminates it (without the login, the key refuses to sign).
            let _ = single_sign::sign(session, module, &data);
            return Err(e.into());
        }
        match single_sign::sign(session, module, &data) {
            Ok(signature) => signature,
            Err(SignError::Sign(e)) => return Err(failed("C_Sign", e)),
            Err(SignError::Module(detail)) => {
                return Err(Failed::from(Error::Sign(format!(
                    "signing with {} needs the module's C_Sign: {detail}",
                    key.uri
                ))))
            }
        }
    };
    if rsa {
        Ok(signature)
    } else {
        Ok(ecdsa_der(&signature, &key.uri)?)
    }
}

/// Why a signature failed, with the token's return value when it gave one.
pub(super) struct Failed {
    pub(super) rv: Option<RvError>,
    pub(super) error: Error,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        Failed { rv: None, error }
    }
}

impl From<Failed> for Error {
    fn from(failed: Failed) -> Error {
        failed.error
    }
}

/// Whether a signature failed because the session, the token or the key's handle went away, so
/// that a new session on the token found again may succeed. Not in the set: PIN, mechanism and
/// data errors (a new session changes nothing) and `CKR_GENERAL_ERROR` / `CKR_FUNCTION_FAILED`
/// (too vague to be worth a login). The object handles are in it because SoftHSM2 keeps the
/// session of a token whose files were replaced and answers `CKR_OBJECT_HANDLE_INVALID`; the key
/// found again must still have the public key we started with. `CKR_OPERATION_ACTIVE` means a
/// failed signature left its operation behind in the session (not every module ends it when
/// C_SignFinal fails): a new session drops it.
pub(super) fn lost(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::CryptokiNotInitialized
            | RvError::DeviceError
            | RvError::DeviceRemoved
            | RvError::KeyHandleInvalid
            | RvError::ObjectHandleInvalid
            | RvError::OperationActive
            | RvError::SessionClosed
            | RvError::SessionHandleInvalid
            | RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::UserNotLoggedIn
    )
}

/// The DER `ECDSA-Sig-Value` for a token's raw `r || s` signature by the key at `key_uri`.
pub(super) fn ecdsa_der(raw: &[u8], key_uri: &str) -> Result<Vec<u8>> {
    // Two integers of the same length: anything else would become a signature that fails far
    // away, at the service, as a bare 403.
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(Error::Sign(format!(
            "the token returned a {}-byte ECDSA signature for {key_uri}, which is not r || s; check the PKCS#11 module's version or report it to its vendor",
            raw.len()
        )));
    }
    Ok(ecdsa_raw_to_der(raw))
}

pub(super) fn rsa_mechanism(digest: Digest) -> Mechanism<'static> {
    match digest {
        Digest::Sha256 => Mechanism::Sha256RsaPkcs,
        Digest::Sha384 => Mechanism::Sha384RsaPkcs,
        Digest::Sha512 => Mechanism::Sha512RsaPkcs,
    }
}

pub(super) fn hash(message: &[u8], digest: Digest) -> Vec<u8> {
    match digest {
        Digest::Sha256 => Sha256::digest(message).to_vec(),
        Digest::Sha384 => Sha384::digest(message).to_vec(),
        Digest::Sha512 => Sha512::digest(message).to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lost_sessions_tokens_and_handles_reconnect() {
        for rv in [
            RvError::SessionHandleInvalid,
            RvError::SessionClosed,
            RvError::DeviceRemoved,
            RvError::TokenNotPresent,
            RvError::ObjectHandleInvalid,
            RvError::CryptokiNotInitialized,
        ] {
            assert!(lost(rv), "{rv:?}");
        }
        // A new session would not change these, and a wrong PIN must not be tried again.
        for rv in [
            RvError::PinIncorrect,
            RvError::PinLocked,
            RvError::MechanismInvalid,
            RvError::KeyFunctionNotPermitted,
            RvError::GeneralError,
        ] {
            assert!(!lost(rv), "{rv:?}");
        }
    }

    #[test]
    fn malformed_ecdsa_signatures_from_the_token_are_refused() {
        for raw in [&[][..], &[1, 2, 3][..]] {
            let err = ecdsa_der(raw, "pkcs11:object=k").unwrap_err().to_string();
            assert!(
                err.contains("not r || s") && err.contains("object=k"),
                "{err}"
            );
        }
        assert_eq!(
            ecdsa_der(&[1, 2], "k").unwrap(),
            [0x30, 6, 2, 1, 1, 2, 1, 2]
        );
    }
}
