//! Reading the files an identity is made of: through [`crate::input`] (a regular file only,
//! never blocking on a FIFO, up to a size), into a buffer wiped when dropped, with errors naming
//! the file and what it should hold.

use std::path::Path;

use zeroize::Zeroizing;

use super::error::{Error, Result};
use crate::input::ReadError;

/// Largest file we read as a certificate, key or bundle; anything bigger is a mistake.
const MAX_FILE_BYTES: u64 = 16 << 20;

/// Reads a whole file, refusing anything but a regular file (without blocking on a FIFO or
/// opening a device), empty files and absurdly large ones. The bytes are wiped when dropped.
pub(crate) fn read_file(path: &Path, expected: &'static str) -> Result<Zeroizing<Vec<u8>>> {
    let data = crate::input::read(path, MAX_FILE_BYTES).map_err(|e| match e {
        ReadError::NotRegular(kind) => Error::NotAFile {
            path: path.to_path_buf(),
            kind,
            expected,
        },
        ReadError::TooLarge(limit) => Error::FileTooLarge {
            path: path.to_path_buf(),
            limit,
            expected,
        },
        ReadError::Io(e) => Error::read(path, e),
    })?;
    if data.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyFile {
            path: path.to_path_buf(),
            expected,
        });
    }
    Ok(data)
}
