//! Noticing that a file changed on disk: its modification time, size and (on Unix) inode, so
//! that a file replaced by a rename is seen even when the new one has the same size and a time
//! stamp in the same granule. Used for renewed certificates and keys, and for `serve`'s
//! container token file.

use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What a file looked like when it was last looked at; `None` fields when it did not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStamp {
    path: PathBuf,
    seen: Option<(Option<SystemTime>, u64, u64)>,
}

impl FileStamp {
    /// Looks at `path` now.
    pub fn of(path: &Path) -> FileStamp {
        FileStamp {
            path: path.to_path_buf(),
            seen: std::fs::metadata(path).ok().map(|m| Self::facts(&m)),
        }
    }

    /// The stamp of a file whose metadata was just read.
    pub fn from_metadata(path: &Path, meta: &Metadata) -> FileStamp {
        FileStamp {
            path: path.to_path_buf(),
            seen: Some(Self::facts(meta)),
        }
    }

    fn facts(meta: &Metadata) -> (Option<SystemTime>, u64, u64) {
        (meta.modified().ok(), meta.len(), inode(meta))
    }
}

/// The stamps of several files, in order.
pub fn stamps<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Vec<FileStamp> {
    paths.into_iter().map(FileStamp::of).collect()
}

#[cfg(unix)]
fn inode(meta: &Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(meta)
}

#[cfg(not(unix))]
fn inode(_meta: &Metadata) -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_file_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let missing = FileStamp::of(&path);
        std::fs::write(&path, "one").unwrap();
        let first = FileStamp::of(&path);
        assert_ne!(missing, first);
        assert_eq!(first, FileStamp::of(&path));
        // Same size, replaced by a rename: a new inode.
        let next = dir.path().join("g");
        std::fs::write(&next, "two").unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_ne!(first, FileStamp::of(&path));
    }
}
