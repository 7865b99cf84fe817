//! The loaded module and the tokens it shows: finding tokens by URI attributes, opening
//! sessions, reading attributes, and naming tokens and objects in messages.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::{Slot, SlotInfo, TokenInfo};

use super::describe::{describe, one_line};
use super::pin::Pin;
use super::uri::{self, Uri};
use super::DEFAULT_MODULE;
use crate::identity::error::{Error, Result};

/// A token the module shows, with its slot's description.
pub(super) struct Token {
    pub(super) slot: Slot,
    pub(super) info: TokenInfo,
    pub(super) slot_info: SlotInfo,
}

impl Token {
    pub(super) fn matches(&self, uri: &Uri) -> bool {
        let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        uri.slot_id.is_none_or(|id| id == self.slot.id())
            && same(&uri.token, self.info.label())
            && same(&uri.manufacturer, self.info.manufacturer_id())
            && same(&uri.model, self.info.model())
            && same(&uri.serial, self.info.serial_number())
            && same(&uri.slot_description, self.slot_info.slot_description())
            && same(&uri.slot_manufacturer, self.slot_info.manufacturer_id())
    }

    /// How messages name the token.
    pub(super) fn name(&self) -> String {
        format!(
            "'{}' ({} {}, serial {})",
            self.info.label(),
            self.info.manufacturer_id(),
            self.info.model(),
            self.info.serial_number()
        )
    }
}

/// The loaded module, its tokens, and the sessions we opened.
pub(super) struct Device {
    pub(super) context: Pkcs11,
    pub(super) module: String,
    pub(super) tokens: Vec<Token>,
    pub(super) sessions: Vec<Option<Session>>,
    pub(super) logged_in: Vec<bool>,
    /// The URI whose `pin-value` / `pin-source` give the PIN.
    pub(super) pin_uri: Uri,
    /// The PIN that logged us in, for `--reuse-pin`.
    pub(super) user_pin: Option<Pin>,
    /// The context-specific PIN that worked for the key's test signature.
    pub(super) context_pin: Option<Pin>,
}

impl Device {
    pub(super) fn open(module: Option<&str>, uri: &Uri, pin_uri: Uri) -> Result<Device> {
        let (path, how) = match (module, uri.module_path.as_deref()) {
            (Some(m), _) => (m.to_string(), "given with --pkcs11-lib"),
            (None, Some(m)) => (m.to_string(), "named by the URI's module-path"),
            (None, None) => (DEFAULT_MODULE.to_string(), "p11-kit's proxy, the default"),
        };
        let fail = |detail: String| Error::Pkcs11Module {
            module: path.clone(),
            how,
            detail,
        };
        let context = Pkcs11::new(&path).map_err(|e| fail(one_line(&e.to_string())))?;
        initialize(&context).map_err(|e| fail(format!("C_Initialize failed: {}", describe(&e))))?;
        crate::debug!("PKCS#11: loaded module {path}");
        Device::enumerate(context, path.clone(), pin_uri)
            .map_err(|e| fail(format!("C_GetSlotList failed: {}", describe(&e))))
    }

    /// The tokens `context` shows now.
    pub(super) fn enumerate(
        context: Pkcs11,
        module: String,
        pin_uri: Uri,
    ) -> std::result::Result<Device, CkError> {
        let slots = context.get_slots_with_token()?;
        let mut tokens = Vec::new();
        for slot in slots {
            match (context.get_token_info(slot), context.get_slot_info(slot)) {
                // A blank token (SoftHSM always shows one) holds nothing to find.
                (Ok(info), _) if !info.token_initialized() => {}
                (Ok(info), Ok(slot_info)) => tokens.push(Token {
                    slot,
                    info,
                    slot_info,
                }),
                (Err(e), _) | (_, Err(e)) => {
                    crate::debug!("PKCS#11: skipping slot {slot}: {}", describe(&e));
                }
            }
        }
        for token in &tokens {
            crate::debug!("PKCS#11: slot {} holds token {}", token.slot, token.name());
        }
        let count = tokens.len();
        Ok(Device {
            context,
            module,
            tokens,
            sessions: (0..count).map(|_| None).collect(),
            logged_in: vec![false; count],
            pin_uri,
            user_pin: None,
            context_pin: None,
        })
    }

    pub(super) fn session(&mut self, token: usize) -> Result<&Session> {
        if self.sessions[token].is_none() {
            let slot = self.tokens[token].slot;
            let session = self
                .context
                .open_ro_session(slot)
                .map_err(|e| self.call_failed("C_OpenSession", token, &e))?;
            self.sessions[token] = Some(session);
        }
        Ok(self.sessions[token]
            .as_ref()
            .expect("the session was opened just above"))
    }

    pub(super) fn attributes(
        &mut self,
        token: usize,
        object: ObjectHandle,
        wanted: &[AttributeType],
    ) -> Result<Vec<Attribute>> {
        let result = self.session(token)?.get_attributes(object, wanted);
        result.map_err(|e| self.call_failed("C_GetAttributeValue", token, &e))
    }

    pub(super) fn call_failed(&self, call: &str, token: usize, e: &CkError) -> Error {
        Error::Pkcs11 {
            call: format!("{call} on token {}", self.tokens[token].name()),
            detail: describe(e),
        }
    }

    pub(super) fn matching(&self, uri: &Uri) -> Vec<usize> {
        (0..self.tokens.len())
            .filter(|&t| self.tokens[t].matches(uri))
            .collect()
    }

    pub(super) fn not_found(&self, what: &'static str, uri: &Uri) -> Error {
        let tokens: Vec<String> = self.tokens.iter().map(Token::name).collect();
        let detail = match (what, tokens.len()) {
            (_, 0) => format!(": module {} shows no token", self.module),
            ("token", _) => format!(": the module's tokens are {}", tokens.join(", ")),
            _ => format!(" in {}", tokens.join(", ")),
        };
        Error::Pkcs11NotFound {
            what,
            uri: uri.to_string(),
            detail,
        }
    }

    pub(super) fn object_uri(
        &self,
        token: usize,
        id: &[u8],
        label: &[u8],
        object_type: &str,
    ) -> String {
        uri::format(&self.labels(token), id, label, object_type)
    }

    pub(super) fn token_uri(&self, token: usize) -> String {
        let full = uri::format(&self.labels(token), &[], &[], "");
        full.trim_end_matches(";type=").to_string()
    }

    pub(super) fn labels(&self, token: usize) -> uri::TokenLabels<'_> {
        let info = &self.tokens[token].info;
        uri::TokenLabels {
            label: info.label(),
            manufacturer: info.manufacturer_id(),
            model: info.model(),
            serial: info.serial_number(),
        }
    }
}

/// `C_Initialize` with OS locking; a module initialized already is fine.
pub(super) fn initialize(context: &Pkcs11) -> std::result::Result<(), CkError> {
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A private key object and what we learned about it.
#[derive(Clone, Debug)]
pub(super) struct FoundKey {
    pub(super) handle: ObjectHandle,
    pub(super) key_type: KeyType,
    pub(super) always_auth: bool,
    /// `CKA_ID` and `CKA_LABEL`: what finds the key again after the token comes back.
    pub(super) id: Vec<u8>,
    pub(super) label: Vec<u8>,
    /// A URI naming exactly this key, for messages and prompts.
    pub(super) uri: String,
}
