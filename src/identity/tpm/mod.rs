//! TPM 2.0 keys: persistent handles (`--private-key handle:0x81000001`) and `TSS2 PRIVATE KEY`
//! files. The backend is still to be written; until then each such key gets one line saying so.
//! It will follow the PKCS#11 pattern: a `tpm` cargo feature choosing an `enabled.rs` or a
//! `disabled.rs` with the same functions.

use std::path::Path;

use super::error::{Error, Result};
use super::X509Signer;

/// `--private-key` values starting with this name a persistent TPM handle.
pub(crate) const HANDLE_PREFIX: &str = "handle:";

/// Opens the key at a persistent handle.
pub(crate) fn open_handle() -> Result<Box<dyn X509Signer>> {
    Err(Error::TpmHandle)
}

/// Opens a `TSS2 PRIVATE KEY` file.
pub(crate) fn open_key_file<T>(path: &Path) -> Result<T> {
    Err(Error::TpmKeyFile {
        path: path.to_path_buf(),
    })
}
