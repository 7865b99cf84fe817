//! Keys and certificates in PKCS#11 tokens. With the `pkcs11` cargo feature (the default) the
//! backend is `enabled/`, built on `cryptoki`; without it, `disabled.rs` has the same items and
//! answers every `pkcs11:` URI with one line saying this build lacks the feature. No `cfg`
//! anywhere else.

#[cfg(feature = "pkcs11")]
#[path = "enabled/mod.rs"]
mod imp;

#[cfg(not(feature = "pkcs11"))]
#[path = "disabled.rs"]
mod imp;

#[doc(hidden)]
pub use imp::fuzz_uri;
pub use imp::{list_certificates, Pkcs11Source};
