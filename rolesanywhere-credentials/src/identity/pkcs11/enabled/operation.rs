//! One signature in a logged-in session: the mechanism for the key type (RSA hashes in the
//! token, EC signs our digest with raw `CKM_ECDSA`), the per-signature login of
//! `CKA_ALWAYS_AUTHENTICATE` keys, the raw `r || s` turned into DER, and which failures mean the
//! session was lost.

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::KeyType;
use cryptoki::session::Session;
use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::describe::describe;
use super::device::FoundKey;
use super::login::{context_login, Auth};
use super::single_sign::{self, SignError};
use crate::identity::certificate::ecdsa_raw_to_der;
use crate::identity::error::{Error, Result};
use crate::identity::Digest;

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
