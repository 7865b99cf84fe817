//! A PKCS#11 PIN as this backend holds it: wiped when dropped, never printed, not even by
//! `Debug`.

use std::fmt;

use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

/// A PIN: zeroized when dropped, never printed, not even by `Debug`.
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Wraps a PIN.
    pub fn new(pin: String) -> Pin {
        Pin(Zeroizing::new(pin))
    }

    /// Wraps a secret typed at a prompt.
    pub(super) fn from_secret(secret: crate::identity::Secret) -> Pin {
        Pin(secret)
    }

    /// The PIN itself, for the one call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub(super) fn auth(&self) -> AuthPin {
        AuthPin::from(self.expose())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}
