//! The PKCS#11 backend of a build without the `pkcs11` feature: the same items as `enabled/`,
//! each answering that this build lacks it.

use crate::identity::certificate::Certificate;
use crate::identity::error::{Error, Result};
use crate::identity::{Signer, SourceArgs, X509Signer};

/// Never built: parsing the flags already fails.
#[derive(Clone, Debug)]
pub enum Pkcs11Source {}

fn not_in_this_build() -> Error {
    Error::NotInThisBuild {
        what: "the pkcs11: URI given",
        feature: "pkcs11",
    }
}

impl Pkcs11Source {
    /// Refuses: this build has no PKCS#11 support.
    ///
    /// # Errors
    /// Always [`Error::NotInThisBuild`].
    pub fn from_args(_args: SourceArgs, _need_certificate: bool) -> Result<Pkcs11Source> {
        Err(not_in_this_build())
    }

    /// Unreachable: no value of this type exists.
    ///
    /// # Errors
    /// None.
    pub fn open(&self) -> Result<Box<dyn X509Signer>> {
        match *self {}
    }

    /// Unreachable: no value of this type exists.
    ///
    /// # Errors
    /// None.
    pub fn open_key(&self) -> Result<Box<dyn Signer>> {
        match *self {}
    }

    /// Unreachable: no value of this type exists.
    ///
    /// # Errors
    /// None.
    pub fn cache_identity(&self) -> Result<String> {
        match *self {}
    }

    /// Unreachable: no value of this type exists.
    pub fn knows_public_key(&self) -> bool {
        match *self {}
    }

    /// Unreachable: no value of this type exists.
    pub fn certificate_files(&self) -> Option<(&std::path::Path, Option<&std::path::Path>)> {
        match *self {}
    }
}

/// Refuses: this build has no PKCS#11 support.
///
/// # Errors
/// Always [`Error::NotInThisBuild`].
pub fn list_certificates(_uri: &str, _module: Option<&str>) -> Result<Vec<(String, Certificate)>> {
    Err(not_in_this_build())
}

/// Nothing to parse URIs with in this build (the fuzzing entry point of `enabled/`).
#[doc(hidden)]
pub fn fuzz_uri(_text: &str) {}
