//! Return values as messages: `CKR_...` as the standard spells them, with what to do about the
//! ones a user can act on.

use cryptoki::error::{Error as CkError, RvError};

/// A cryptoki error as `CKR_...` (or the loader's message), on one line, with what to do about
/// the return values a user can act on.
pub(super) fn describe(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, _) => describe_rv(*rv) + advice(*rv),
        other => one_line(&other.to_string()),
    }
}

/// A return value as the standard spells it: `CKR_...`.
pub(super) fn describe_rv(rv: RvError) -> String {
    let name = format!("{rv:?}");
    let mut out = String::from("CKR");
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// What to do about a return value, starting with its separator; empty when there is no advice.
pub(super) fn advice(rv: RvError) -> &'static str {
    match rv {
        RvError::PinLocked => " (the PIN is locked: unlock it with the security officer PIN, e.g. `pkcs11-tool --login --login-type so --init-pin`)",
        RvError::PinExpired => " (the PIN has expired: change it, e.g. `pkcs11-tool --login --change-pin`)",
        RvError::DeviceRemoved | RvError::TokenNotPresent | RvError::SessionClosed | RvError::SessionHandleInvalid => {
            " (the token went away: check that it is inserted; the helper looks for it again at the next signature)"
        }
        RvError::KeyFunctionNotPermitted => " (the key may not sign: its CKA_SIGN is false; use a signing key)",
        _ => "",
    }
}

pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_values_read_like_the_standard() {
        let e = CkError::Pkcs11(RvError::PinIncorrect, cryptoki::context::Function::Login);
        assert_eq!(describe(&e), "CKR_PIN_INCORRECT");
    }

    #[test]
    fn return_values_users_can_act_on_say_what_to_do() {
        let e = CkError::Pkcs11(RvError::PinLocked, cryptoki::context::Function::Login);
        assert!(describe(&e).starts_with("CKR_PIN_LOCKED (the PIN is locked: unlock it"));
        let e = CkError::Pkcs11(RvError::DeviceRemoved, cryptoki::context::Function::Sign);
        assert!(describe(&e).contains("check that it is inserted"));
    }
}
