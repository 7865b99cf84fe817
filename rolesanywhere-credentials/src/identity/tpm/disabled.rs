//! The TPM backend of a build without the `tpm` feature: the same items as `enabled/`, each
//! answering that this build lacks it.

use std::path::Path;

use super::TpmAuth;
use crate::identity::error::{Error, Result};
use crate::identity::Signer;

fn not_in_this_build(what: &'static str) -> Error {
    Error::NotInThisBuild {
        what,
        feature: "tpm",
    }
}

/// Refuses: this build has no TPM support.
///
/// # Errors
/// Always [`Error::NotInThisBuild`].
pub(crate) fn open_handle(_handle: &str, _auth: &TpmAuth) -> Result<Box<dyn Signer>> {
    Err(not_in_this_build("a TPM key (--private-key handle:...)"))
}

/// Refuses: this build has no TPM support.
///
/// # Errors
/// Always [`Error::NotInThisBuild`].
pub(crate) fn open_key_file(_path: &Path, _der: &[u8], _auth: &TpmAuth) -> Result<Box<dyn Signer>> {
    Err(not_in_this_build("a TPM key file (TSS2 PRIVATE KEY)"))
}

/// Nothing to quiet: no TPM library is linked.
pub fn quiet_library_logs() {}
