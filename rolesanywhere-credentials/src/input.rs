//! The one way input files are read: certificates, keys, bundles, CA bundles, PIN files, the
//! container token file and the shared credentials file.
//!
//! A path given to the helper may name anything: a FIFO (whose `open` waits for a writer, and
//! whose reads never end), a device (`/dev/zero` never ends; opening a tape or watchdog device
//! does something), a directory, a socket, or a file of any size. So a file is looked at before
//! it is opened (`stat`, which opens nothing and follows symlinks; a symlink loop is an error of
//! its own), refused unless it is a regular file, opened without blocking and without becoming a
//! controlling terminal, looked at again through the open descriptor (so that swapping the path
//! in between changes nothing), and read up to a limit suited to what it should hold. The bytes
//! read are wiped when dropped: most of these files hold secrets.

use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

use zeroize::Zeroizing;

/// Why a file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// It is not a regular file; the payload says what it is ("a FIFO", "a directory", ...).
    NotRegular(&'static str),
    /// It is larger than the limit, in bytes.
    TooLarge(u64),
    /// The system refused (missing, permissions, a symlink loop, an I/O error).
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            ReadError::TooLarge(limit) => write!(f, "it is larger than {}", size(*limit)),
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

/// Reads all of the regular file at `path`, refusing anything larger than `limit` bytes.
///
/// # Errors
/// [`ReadError`]: not a regular file, too large, or the system refused.
pub fn read(path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let file = open(path, OpenOptions::new().read(true))?;
    read_open(&file, limit)
}

/// Opens the regular file at `path` with `options`, after checking (without opening it) that it
/// is one, and again through the descriptor.
///
/// # Errors
/// [`ReadError::NotRegular`] for anything but a regular file (a missing file is left to
/// `options`: created if they say so), or the system's error.
pub fn open(path: &Path, options: &mut OpenOptions) -> Result<File, ReadError> {
    match std::fs::metadata(path) {
        Ok(meta) => regular(&meta)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let file = non_blocking(options).open(path)?;
    regular(&file.metadata()?)?;
    Ok(file)
}

/// Reads an open file to its end, at most `limit` bytes.
///
/// # Errors
/// [`ReadError::TooLarge`] past the limit, or the system's error.
pub fn read_open(file: &File, limit: u64) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let size = file.metadata()?.len();
    if size > limit {
        return Err(ReadError::TooLarge(limit));
    }
    // Room for the whole file and one byte more, so that reading it never reallocates (which
    // would leave a copy of the bytes behind) unless it grows while being read.
    let mut data = Zeroizing::new(Vec::with_capacity(size as usize + 1));
    file.take(limit + 1).read_to_end(&mut data)?;
    if data.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(data)
}

/// `Ok` for a regular file; what else it is, otherwise.
pub fn regular(meta: &Metadata) -> Result<(), ReadError> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    Err(ReadError::NotRegular(if kind.is_dir() {
        "a directory"
    } else {
        special_kind(&kind)
    }))
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn special_kind(_kind: &std::fs::FileType) -> &'static str {
    "not a file"
}

#[cfg(unix)]
fn non_blocking(options: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    // A FIFO swapped in after the check must not make open() wait for a writer, and a terminal
    // must not become our controlling terminal. Neither flag changes anything for regular files.
    options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
}

#[cfg(not(unix))]
fn non_blocking(options: &mut OpenOptions) -> &mut OpenOptions {
    options
}

/// `16 MiB`, `64 KiB`, `100 bytes`.
pub fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(&read(&path, 10).unwrap()[..], b"0123456789");
        assert!(matches!(read(&path, 9), Err(ReadError::TooLarge(9))));
        assert!(matches!(
            read(dir.path(), 10),
            Err(ReadError::NotRegular("a directory"))
        ));
        assert!(matches!(
            read(&dir.path().join("missing"), 10),
            Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound
        ));
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // No writer: a plain open() would wait forever.
        assert!(matches!(read(&fifo, 10), Err(ReadError::NotRegular(k)) if k.contains("FIFO")));
        assert!(matches!(
            read(Path::new("/dev/zero"), 10),
            Err(ReadError::NotRegular("a character device"))
        ));
        let loop_a = dir.path().join("a");
        std::os::unix::fs::symlink(dir.path().join("b"), &loop_a).unwrap();
        std::os::unix::fs::symlink(&loop_a, dir.path().join("b")).unwrap();
        assert!(matches!(read(&loop_a, 10), Err(ReadError::Io(_))));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(16 << 20), "16 MiB");
        assert_eq!(size(64 << 10), "64 KiB");
        assert_eq!(size(100), "100 bytes");
    }
}
