//! The shared credentials file on disk: which file a path really names, how it is locked, and
//! how it is replaced, for `update`.
//!
//! * **What is written to.** A symlink is followed to its target (relative links from the
//!   link's directory, up to 40 hops; a loop is an error); the target must be a regular file, or
//!   not exist yet. Devices, FIFOs, sockets and directories are refused before anything is
//!   opened, so `/dev/null` stays a device. A dangling symlink is taken as the user's choice of
//!   where the file goes: its target is created, in its directory, which must exist.
//! * **Directories.** A missing directory of the file (not of a symlink's target) is created
//!   with mode 0700. A directory every user can write to, without the sticky bit, is refused:
//!   anyone could replace the file there.
//! * **Locking.** The credentials file itself is locked (`flock`, released by the OS if we
//!   die), so no lock file is left beside it. A lock held by another process is waited for at
//!   most [`LOCK_WAIT`], saying so once. Because a replaced file is a new inode, a lock taken on
//!   the old one is checked against the path and taken again.
//! * **Replacing.** A file with one name is replaced atomically (a temporary file in the same
//!   directory, fsync, rename, fsync of the directory), keeping its owner's permission bits and,
//!   where the system lets us, its owner and group; group and other bits are dropped (a file
//!   holding credentials is its owner's alone: 0644 becomes 0600, with a line saying so), and a
//!   new file is 0600. A file with several hard links, or whose
//!   owner we cannot give to a new file, is rewritten in place instead (truncated and written
//!   under the lock), so that every name and the owner keep seeing one file; a reader that does
//!   not lock can then see it half-written for an instant, as with the official helper.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::Rng;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use rolesanywhere_credentials::input::{self, ReadError};

/// Longest wait for another process's lock on the credentials file.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Largest credentials file `update` edits; a real one is a few KiB even with many profiles.
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Most symlinks followed from the path to the file, as the kernel allows.
const MAX_HOPS: usize = 40;

/// Replaces the text of the credentials file at `path` by what `edit` makes of it (`""` when
/// the file does not exist yet), under the file's lock.
///
/// # Errors
/// Whatever `edit` returns, or an error naming `path` when it cannot be read or written; the
/// file is then unchanged.
pub fn rewrite(path: &Path, edit: impl FnOnce(&str) -> Result<Zeroizing<String>>) -> Result<()> {
    rewrite_waiting(path, LOCK_WAIT, edit)
}

fn rewrite_waiting(
    path: &Path,
    lock_wait: Duration,
    edit: impl FnOnce(&str) -> Result<Zeroizing<String>>,
) -> Result<()> {
    let io = |source| Error::WriteCredentials {
        path: path.to_path_buf(),
        source,
    };
    let target = target_of(path).map_err(io)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    prepare_dir(path, &dir, target != path)?;
    let locked = Locked::open(path, &target, lock_wait)?;

    let old = input::read_open(&locked.file, MAX_FILE_BYTES).map_err(|e| match e {
        ReadError::TooLarge(limit) => Error::CredentialsTooLarge {
            path: path.to_path_buf(),
            limit,
        },
        ReadError::NotRegular(kind) => not_regular(path, &target, kind),
        ReadError::Io(e) => io(e),
    })?;
    let old = std::str::from_utf8(&old).map_err(|_| Error::CredentialsNotText {
        path: path.to_path_buf(),
    })?;
    let new = edit(old)?;

    // Hard links share the inode, so only writing into it reaches every name.
    let replaced = if locked.existed && links(&locked.meta) > 1 {
        false
    } else {
        replace(&dir, &target, &locked, &new).map_err(io)?
    };
    if !replaced {
        // Private before the new credentials go in (another user's file may refuse: that it
        // was open is said below).
        if let Err(e) = keep_mode(&locked.file, &locked) {
            rolesanywhere_credentials::debug!(
                "cannot change the mode of {}: {e}",
                target.display()
            );
        }
        write_in_place(&locked.file, new.as_bytes()).map_err(io)?;
    }
    // Said once it is written: a write that fails is one line, the error, and nothing else.
    warn_if_readable(path, &locked);
    Ok(())
}

/// The file `path` names: itself, or the end of its chain of symlinks (which may not exist).
fn target_of(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_HOPS {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let next = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if next.is_relative() => dir.join(next),
                    _ => next,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "more than {MAX_HOPS} symbolic links (a loop?) lead from it"
    )))
}

/// Creates the file's directory when the path names it directly, and refuses directories that
/// anyone may write to.
fn prepare_dir(path: &Path, dir: &Path, through_symlink: bool) -> Result<()> {
    let io = |source| Error::WriteCredentials {
        path: path.to_path_buf(),
        source,
    };
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(io(io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        )))),
        Ok(meta) if writable_by_anyone(&meta) => Err(Error::CredentialsDirUnsafe {
            dir: dir.to_path_buf(),
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound && through_symlink => {
            Err(io(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "it is a symlink to {}, whose directory does not exist",
                    dir.display()
                ),
            )))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_private_dir(dir).map_err(io),
        Err(e) => Err(io(e)),
    }
}

/// The credentials file, open for reading and writing, locked by us.
struct Locked {
    file: File,
    meta: fs::Metadata,
    /// Whether it existed before we opened it (otherwise we just created it, empty).
    existed: bool,
}

impl Locked {
    fn open(path: &Path, target: &Path, lock_wait: Duration) -> Result<Locked> {
        let io = |source| Error::WriteCredentials {
            path: path.to_path_buf(),
            source,
        };
        let deadline = Instant::now() + lock_wait;
        let mut said = false;
        loop {
            // Looked at before it is opened: a device or FIFO is never opened at all.
            let existed = match fs::metadata(target) {
                Ok(meta) => {
                    input::regular(&meta).map_err(|e| match e {
                        ReadError::NotRegular(kind) => not_regular(path, target, kind),
                        other => io(io::Error::other(other.to_string())),
                    })?;
                    true
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => false,
                Err(e) => return Err(io(e)),
            };
            let file = open_options().open(target).map_err(io)?;
            let meta = file.metadata().map_err(io)?;
            if let Err(ReadError::NotRegular(kind)) = input::regular(&meta) {
                return Err(not_regular(path, target, kind));
            }
            loop {
                match file.try_lock() {
                    Ok(()) => break,
                    Err(fs::TryLockError::WouldBlock) => {
                        if Instant::now() >= deadline {
                            return Err(Error::CredentialsLocked {
                                path: path.to_path_buf(),
                                waited: lock_wait.as_secs_f64().ceil() as u64,
                            });
                        }
                        if !said {
                            rolesanywhere_credentials::notice!(
                                "waiting for another process to release its lock on {} (up to {} s)",
                                path.display(),
                                lock_wait.as_secs_f64().ceil()
                            );
                            said = true;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(fs::TryLockError::Error(e)) => return Err(io(e)),
                }
            }
            // Whoever held the lock may have replaced the file: then ours is an old inode,
            // and the lock to take is the new file's.
            match fs::metadata(target) {
                Ok(now) if same_file(&now, &meta) => {
                    return Ok(Locked {
                        file,
                        meta,
                        existed,
                    })
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e)),
            }
        }
    }
}

/// Replaces `target` by a new file holding `text`, with the old file's mode and owner.
/// Returns false, having changed nothing, when the owner cannot be kept.
fn replace(dir: &Path, target: &Path, old: &Locked, text: &str) -> io::Result<bool> {
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?
        .to_string_lossy()
        .into_owned();
    let temp = dir.join(format!(
        ".{name}.{}.{:08x}.tmp",
        std::process::id(),
        rand::thread_rng().gen::<u32>()
    ));
    let written = write_new(&temp, old, text.as_bytes()).and_then(|kept| {
        if kept {
            fs::rename(&temp, target)?;
        }
        Ok(kept)
    });
    if !matches!(written, Ok(true)) {
        let _ = fs::remove_file(&temp);
    }
    let kept = written?;
    if kept {
        // Make the rename itself durable; not every platform can open a directory.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(kept)
}

/// Creates `path` like `old` (mode, owner) and writes `data`; false if the owner cannot be kept.
fn write_new(path: &Path, old: &Locked, data: &[u8]) -> io::Result<bool> {
    let mut file = new_private(OpenOptions::new().write(true).create_new(true)).open(path)?;
    if !same_owner(&file, old)? {
        return Ok(false);
    }
    keep_mode(&file, old)?;
    file.write_all(data)?;
    file.sync_all()?;
    Ok(true)
}

fn write_in_place(mut file: &File, data: &[u8]) -> io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(data)?;
    file.sync_all()
}

fn not_regular(path: &Path, target: &Path, kind: &'static str) -> Error {
    Error::CredentialsFileKind {
        path: path.to_path_buf(),
        target: (target != path).then(|| target.to_path_buf()),
        kind,
    }
}

#[cfg(unix)]
fn open_options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    // A new credentials file is readable by its owner only. O_NOFOLLOW: the target was
    // resolved; a symlink put in its place since must not redirect the write. O_NONBLOCK and
    // O_NOCTTY: a FIFO or terminal swapped in must not block or be adopted (see crate::input).
    options
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    options
}

#[cfg(not(unix))]
fn open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    options
}

#[cfg(unix)]
fn new_private(options: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    options.mode(0o600)
}

#[cfg(not(unix))]
fn new_private(options: &mut OpenOptions) -> &mut OpenOptions {
    options
}

#[cfg(unix)]
fn keep_mode(file: &File, old: &Locked) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // An existing file keeps its owner's read and write bits (0400 stays 0400); group and
    // other bits are dropped, whatever the official helper keeps. A new one is 0600, whatever
    // the umask.
    let mode = if old.existed {
        private_mode(old.meta.permissions().mode())
    } else {
        0o600
    };
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn keep_mode(_file: &File, _old: &Locked) -> io::Result<()> {
    Ok(())
}

/// The mode a rewritten file gets from its old `mode`: the owner's read and write bits, and
/// at least owner read and write when the owner could not read it.
fn private_mode(mode: u32) -> u32 {
    let owner = mode & 0o600;
    if owner & 0o400 == 0 {
        0o600
    } else {
        owner
    }
}

/// Says once per process when the old file let other users in (its new mode does not).
#[cfg(unix)]
fn warn_if_readable(path: &Path, old: &Locked) {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    static SAID: AtomicBool = AtomicBool::new(false);
    let mode = old.meta.permissions().mode() & 0o777;
    if old.existed && mode & 0o077 != 0 && !SAID.swap(true, Ordering::Relaxed) {
        rolesanywhere_credentials::notice!(
            "{} was open to other users (mode {mode:04o}); it is written with mode {:04o}, as a file holding credentials must be",
            path.display(),
            private_mode(mode)
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable(_path: &Path, _old: &Locked) {}

#[cfg(unix)]
fn same_owner(file: &File, old: &Locked) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let new = file.metadata()?;
    if !old.existed || (new.uid(), new.gid()) == (old.meta.uid(), old.meta.gid()) {
        return Ok(true);
    }
    match std::os::unix::fs::fchown(file, Some(old.meta.uid()), Some(old.meta.gid())) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn same_owner(_file: &File, _old: &Locked) -> io::Result<bool> {
    Ok(true)
}

#[cfg(unix)]
fn links(meta: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(meta)
}

#[cfg(not(unix))]
fn links(_meta: &fs::Metadata) -> u64 {
    1
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_a: &fs::Metadata, _b: &fs::Metadata) -> bool {
    true
}

#[cfg(unix)]
fn writable_by_anyone(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode();
    // World-writable without the sticky bit (/tmp has it: others cannot replace our files).
    mode & 0o002 != 0 && mode & 0o1000 == 0
}

#[cfg(not(unix))]
fn writable_by_anyone(_meta: &fs::Metadata) -> bool {
    false
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // A new ~/.aws is private to its owner: 0o700.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    fn put(text: &str) -> impl FnOnce(&str) -> Result<Zeroizing<String>> + '_ {
        move |old| Ok(Zeroizing::new(format!("{old}{text}")))
    }

    #[test]
    fn symlinks_are_followed_and_the_target_kept_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::write(&real, "a\n").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link");
        symlink("real", &link).unwrap();
        rewrite(&link, put("b\n")).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "a\nb\n");
        // The owner's bits are kept, the group's dropped.
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // No lock file, no temporary file.
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["link", "real"]);
    }

    #[test]
    fn a_dangling_symlink_gets_its_target_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        symlink(dir.path().join("later"), &link).unwrap();
        rewrite(&link, put("x\n")).unwrap();
        let meta = fs::metadata(dir.path().join("later")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        // Into a directory that does not exist: refused, nothing created.
        let far = dir.path().join("far");
        symlink(dir.path().join("no/such/dir/file"), &far).unwrap();
        let e = rewrite(&far, put("x\n")).unwrap_err().report();
        assert!(e.contains("whose directory does not exist"), "{e}");
        assert!(!dir.path().join("no").exists());
    }

    #[test]
    fn devices_fifos_directories_and_loops_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let null = dir.path().join("null");
        symlink("/dev/null", &null).unwrap();
        let e = rewrite(&null, put("x")).unwrap_err().report();
        assert!(e.contains("character device"), "{e}");
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let e = rewrite(&fifo, put("x")).unwrap_err().report();
        assert!(e.contains("FIFO"), "{e}");
        let e = rewrite(dir.path(), put("x")).unwrap_err().report();
        assert!(e.contains("directory"), "{e}");
        let a = dir.path().join("a");
        symlink(dir.path().join("b"), &a).unwrap();
        symlink(&a, dir.path().join("b")).unwrap();
        let e = rewrite(&a, put("x")).unwrap_err().report();
        assert!(e.contains("symbolic links"), "{e}");
        // /dev/null is still the device.
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn hard_linked_files_are_rewritten_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one");
        let two = dir.path().join("two");
        fs::write(&one, "a\n").unwrap();
        fs::hard_link(&one, &two).unwrap();
        let inode = fs::metadata(&one).unwrap().ino();
        rewrite(&one, put("b\n")).unwrap();
        assert_eq!(fs::read_to_string(&two).unwrap(), "a\nb\n");
        assert_eq!(fs::metadata(&one).unwrap().ino(), inode);
    }

    #[test]
    fn single_files_are_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        fs::write(&file, "a\n").unwrap();
        let inode = fs::metadata(&file).unwrap().ino();
        rewrite(&file, put("b\n")).unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "a\nb\n");
        assert_ne!(fs::metadata(&file).unwrap().ino(), inode);
    }

    #[test]
    fn the_owner_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        fs::write(&file, "a\n").unwrap();
        if fs::metadata(&file).unwrap().uid() != 0 {
            // Giving a file to another user takes root (CI runs as root).
            return;
        }
        std::os::unix::fs::chown(&file, Some(4321), Some(4321)).unwrap();
        rewrite(&file, put("b\n")).unwrap();
        let meta = fs::metadata(&file).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (4321, 4321));
        assert_eq!(fs::read_to_string(&file).unwrap(), "a\nb\n");
    }

    #[test]
    fn a_world_writable_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let e = rewrite(&dir.path().join("c"), put("x"))
            .unwrap_err()
            .report();
        assert!(e.contains("writable by every user"), "{e}");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        rewrite(&dir.path().join("c"), put("x")).unwrap();
    }

    #[test]
    fn a_held_lock_is_waited_for_then_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("credentials");
        fs::write(&file, "a\n").unwrap();
        let holder = File::open(&file).unwrap();
        holder.lock().unwrap();
        let started = Instant::now();
        let wait = Duration::from_millis(300);
        let e = rewrite_waiting(&file, wait, put("b\n")).unwrap_err();
        assert!(started.elapsed() >= wait);
        assert!(e.report().contains("still locked"), "{}", e.report());
        assert_eq!(fs::read_to_string(&file).unwrap(), "a\n");
    }
}
