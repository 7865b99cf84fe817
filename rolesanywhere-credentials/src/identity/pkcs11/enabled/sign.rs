//! The signer: one logged-in session kept for the process, signing inside the token, and
//! finding the token and key again when the session is lost.

use std::fmt;
use std::sync::Mutex;

use cryptoki::context::Pkcs11;
use cryptoki::error::RvError;
use cryptoki::session::Session;

use super::describe::{describe, describe_rv};
use super::device::{initialize, Device, FoundKey};
use super::login::Auth;
use super::operation::{lost, sign_in, Failed};
use super::uri::Uri;
use crate::identity::certificate::PublicKey;
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

impl Device {
    /// Turns the search state into a signer, keeping the key's logged-in session; `key_uri`
    /// names the token to find again if the session is lost.
    pub(super) fn into_key(
        mut self,
        token: usize,
        key: FoundKey,
        public_key: PublicKey,
        key_uri: &Uri,
        reuse_pin: bool,
    ) -> Pkcs11Key {
        let session = self.sessions[token]
            .take()
            .expect("the key was found through this session");
        let again = FindAgain {
            module: self.module.clone(),
            token: key_uri.token_part(),
            id: key.id.clone(),
            label: key.label.clone(),
            public_key: public_key.clone(),
        };
        Pkcs11Key {
            uri: key.uri.clone(),
            state: Mutex::new(State {
                context: self.context.clone(),
                live: Some(Live { session, key }),
                auth: Auth {
                    user_pin: self.user_pin.take(),
                    context_pin: self.context_pin.take(),
                    reuse_pin,
                    pin_refused: false,
                    context_refused: false,
                },
            }),
            public_key,
            again,
        }
    }
}
