//! The on-disk credential cache (`credential-process --cache`): a [`CredentialSource`] wrapping
//! another, so that the many short-lived processes an SDK or Ansible starts share one set of
//! credentials instead of each calling the service.
//!
//! * **Where.** `--cache-dir`, else `$XDG_RUNTIME_DIR/aws_signing_helper` (a per-user tmpfs,
//!   gone at logout), else `$XDG_CACHE_HOME/aws_signing_helper`, else
//!   `~/.cache/aws_signing_helper`. The directory is created 0700; one that is not ours, or that
//!   group or others may write (or whose parents they may write, sticky directories such as
//!   `/tmp` aside), is refused, as ssh refuses such a `~/.ssh`.
//! * **What.** One entry per [`CacheKey`]: a SHA-256 over everything that changes the answer
//!   (the identity's fingerprint, ARNs, region, endpoint, duration, session name, every
//!   role-chain hop). The file name is that hash in hex: nothing secret, nothing readable.
//!   Entries are 0600 JSON files written atomically (temporary file, fsync, rename). One that
//!   cannot be read, does not parse, is not ours, belongs to another key or is not fresh is
//!   ignored and replaced; its contents are never printed.
//! * **Fresh.** [`fresh_enough`]: an entry is handed out only while more than
//!   [`SDK_REFRESH_MARGIN`] of it is left (botocore, whose window is the widest of the SDKs,
//!   re-runs the process below 15 minutes), or, for sessions too short for that, while more than
//!   half its lifetime is left.
//! * **Single flight.** A miss takes an exclusive lock (`flock`) on the entry's `.lock` file,
//!   looks again, and only then asks the wrapped source, patiently ([`FILL_PATIENCE`]: throttling
//!   is retried for up to a minute). Concurrent callers with the same key wait for the lock (at
//!   most [`LOCK_WAIT`]) and read what the first one wrote. The OS
//!   releases the lock when its holder exits, however it exits, so a killed holder wedges no one.

use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use rand::Rng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::credentials::{
    iso8601, parse_expiration, secret_json, CredentialSource, Credentials, Issued,
};
use crate::error::{Error, Result};

/// botocore refreshes process credentials with less than 15 minutes left (advisory; 10 minutes
/// mandatory), the widest window of the SDKs (JS v3 and Ruby: 5 minutes; Java v2: 15 s; Rust:
/// 5-10 s; Go v2: at expiry); five more minutes keep a handed-out set clear of it for a while.
pub const SDK_REFRESH_MARGIN: Duration = Duration::from_secs(20 * 60);

/// How long a caller waits for another process that holds the lock of the same entry (a
/// CreateSession with its retries takes at most about 100 s; an MFA prompt as long as a person).
pub const LOCK_WAIT: Duration = Duration::from_secs(120);

/// How long a miss keeps retrying throttling and server failures beyond the SDK's attempts
/// (`Retryer::patient`): the holder of the lock asks for everyone waiting on it, so giving up
/// after 3 attempts would fail them all, and each would then ask again. A retry starts no later
/// than this after the first attempt; with the attempt's own time limit (30 s by default) the
/// fill ends within [`LOCK_WAIT`].
pub const FILL_PATIENCE: Duration = Duration::from_secs(60);

/// The format of the entries; other versions are ignored.
const FORMAT: u32 = 1;

/// Larger files are not entries.
const MAX_ENTRY_BYTES: u64 = 64 << 10;

/// Whether an entry issued at `issued_at` and expiring at `expires_at` may be handed out at
/// `now`: more than [`SDK_REFRESH_MARGIN`] left, or more than half its lifetime for sessions
/// shorter than twice that margin.
pub fn fresh_enough(issued_at: SystemTime, expires_at: SystemTime, now: SystemTime) -> bool {
    let Ok(lifetime) = expires_at.duration_since(issued_at) else {
        return false;
    };
    // An entry from the future: the clock was set back, or the file is not what it claims.
    if issued_at > now + Duration::from_secs(300) {
        return false;
    }
    let needed = SDK_REFRESH_MARGIN.min(lifetime / 2);
    expires_at
        .duration_since(now)
        .is_ok_and(|left| left > needed)
}

/// What identifies one answer: fed field by field, then hashed (SHA-256).
#[derive(Clone)]
pub struct CacheKey {
    hasher: ring::digest::Context,
}

impl CacheKey {
    /// A key for a kind of credential source (`"rolesanywhere"`, `"assume-role"`).
    pub fn new(kind: &str) -> CacheKey {
        let mut key = CacheKey {
            hasher: ring::digest::Context::new(&ring::digest::SHA256),
        };
        key.field("format", &FORMAT.to_string());
        key.field("kind", kind);
        key
    }

    /// Adds a named field. Lengths are hashed too, so no two field lists collide.
    pub fn field(&mut self, name: &str, value: &str) -> &mut CacheKey {
        for part in [name, value] {
            self.hasher.update(&(part.len() as u64).to_be_bytes());
            self.hasher.update(part.as_bytes());
        }
        self
    }

    /// Adds an optional field (absent and empty differ).
    pub fn optional(&mut self, name: &str, value: Option<&str>) -> &mut CacheKey {
        match value {
            Some(v) => self.field(name, v),
            None => self.field(&format!("{name}?"), ""),
        }
    }

    /// The key of a source wrapping the one this key describes.
    pub fn wrapped(&self, kind: &str) -> CacheKey {
        let mut outer = CacheKey::new(kind);
        outer.field("inner", &self.hex());
        outer
    }

    /// The hash in hex: the entry's file name.
    pub fn hex(&self) -> String {
        hex::encode(self.hasher.clone().finish())
    }
}

/// A checked cache directory.
#[derive(Clone, Debug)]
pub struct CacheDir {
    path: PathBuf,
}

impl CacheDir {
    /// Where the cache is: `dir` (from `--cache-dir`), else the per-user default.
    ///
    /// # Errors
    /// [`Error::NoCacheDir`] when neither `XDG_RUNTIME_DIR`, `XDG_CACHE_HOME` nor `HOME` is set.
    pub fn locate(dir: Option<PathBuf>) -> Result<PathBuf> {
        if let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) {
            return Ok(dir);
        }
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                // The XDG specification ignores relative paths.
                .filter(|p| p.is_absolute())
        };
        let base = var("XDG_RUNTIME_DIR")
            .or_else(|| var("XDG_CACHE_HOME"))
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .ok_or(Error::NoCacheDir)?;
        Ok(base.join("aws_signing_helper"))
    }

    /// Creates the directory (0700) if needed and checks that only its owner, this user, can
    /// change what is in it.
    ///
    /// # Errors
    /// [`Error::CacheDirUnsafe`] for a directory that is not safe to keep credentials in,
    /// [`Error::CacheDir`] when it cannot be created or examined.
    pub fn open(path: PathBuf) -> Result<CacheDir> {
        let io_error = |source| Error::CacheDir {
            path: path.clone(),
            source,
        };
        create_private_dir(&path).map_err(io_error)?;
        let real = fs::canonicalize(&path).map_err(io_error)?;
        check_private_dir(&real).map_err(|problem| Error::CacheDirUnsafe {
            path: path.clone(),
            problem,
        })?;
        check_parents(&real).map_err(|problem| Error::CacheDirUnsafe {
            path: path.clone(),
            problem,
        })?;
        Ok(CacheDir { path: real })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes every entry (and leftover temporary file); returns how many entries went. Lock
    /// files stay: they are empty, and removing one that a running helper holds would let a
    /// second helper take a lock of its own.
    ///
    /// # Errors
    /// When the directory cannot be listed or an entry cannot be removed.
    pub fn clear(&self) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.path)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let is_entry = name.ends_with(".json");
            if is_entry || (name.starts_with('.') && name.ends_with(".tmp")) {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += usize::from(is_entry),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }
}

/// A [`CredentialSource`] answering from the cache while its entry is fresh, and asking `inner`
/// (once for all concurrent callers) when it is not.
pub struct Cached {
    dir: CacheDir,
    key: String,
    inner: Box<dyn CredentialSource>,
}

impl Cached {
    /// Caches what `inner` hands out under `key` in `dir`.
    pub fn new(dir: CacheDir, key: &CacheKey, inner: Box<dyn CredentialSource>) -> Cached {
        Cached {
            dir,
            key: key.hex(),
            inner,
        }
    }

    fn entry_path(&self) -> PathBuf {
        self.dir.path.join(format!("{}.json", self.key))
    }

    async fn get(&mut self) -> Result<Issued> {
        let entry = self.entry_path();
        if let Some(hit) = read_fresh(&entry, &self.key) {
            crate::debug!("cache: fresh entry {}", entry.display());
            return Ok(hit);
        }
        let lock_path = self.dir.path.join(format!("{}.lock", self.key));
        let _lock = lock(&lock_path).await?;
        // Whoever held the lock before us may just have written the entry.
        if let Some(hit) = read_fresh(&entry, &self.key) {
            crate::debug!("cache: entry {} written while we waited", entry.display());
            return Ok(hit);
        }
        crate::debug!("cache: no fresh entry in {}; fetching", entry.display());
        let issued = self.inner.fetch().await?;
        if let Err(e) = write_entry(&self.dir.path, &entry, &self.key, &issued) {
            // The credentials are good; only later calls lose. Say so where an operator looks.
            crate::notice!(
                "cannot write the cache entry {}: {e}; the credentials were not cached",
                entry.display()
            );
        }
        Ok(issued)
    }
}

impl CredentialSource for Cached {
    fn fetch(&mut self) -> Pin<Box<dyn Future<Output = Result<Issued>> + Send + '_>> {
        Box::pin(self.get())
    }

    fn reload(&mut self) {
        self.inner.reload();
    }
}

/// A source built on first use, so that a cache hit never opens the identity (no key
/// password, no PIN, no token) nor sets up TLS.
pub struct Deferred<F> {
    make: Option<F>,
    built: Option<Box<dyn CredentialSource>>,
}

impl<F> Deferred<F>
where
    F: FnOnce() -> Result<Box<dyn CredentialSource>> + Send,
{
    /// A source that `make` builds when it is first fetched from.
    pub fn new(make: F) -> Deferred<F> {
        Deferred {
            make: Some(make),
            built: None,
        }
    }
}

impl<F> CredentialSource for Deferred<F>
where
    F: FnOnce() -> Result<Box<dyn CredentialSource>> + Send,
{
    fn fetch(&mut self) -> Pin<Box<dyn Future<Output = Result<Issued>> + Send + '_>> {
        Box::pin(async move {
            if self.built.is_none() {
                // `make` is taken only here, and `built` set right after, so it is there.
                let make = self.make.take().expect("built once");
                self.built = Some(make()?);
            }
            let Some(source) = self.built.as_mut() else {
                unreachable!("built above")
            };
            source.fetch().await
        })
    }

    fn reload(&mut self) {
        // Not built yet: it will read everything afresh when it is.
        if let Some(source) = self.built.as_mut() {
            source.reload();
        }
    }
}

/// An entry as stored.
#[derive(Serialize, Deserialize)]
struct Entry {
    #[serde(rename = "Format")]
    format: u32,
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "AccessKeyId")]
    access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    secret_access_key: Zeroizing<String>,
    #[serde(rename = "SessionToken")]
    session_token: Zeroizing<String>,
    #[serde(rename = "Expiration")]
    expiration: String,
    #[serde(rename = "Issued")]
    issued: String,
}

/// The entry at `path`, if it is ours, for `key`, and fresh. Anything else is `None`: the
/// caller fetches and replaces it.
fn read_fresh(path: &Path, key: &str) -> Option<Issued> {
    let file = match open_entry(path) {
        Ok(file) => file,
        Err(e) => {
            if e.kind() != io::ErrorKind::NotFound {
                crate::debug!("cache: ignoring {}: {e}", path.display());
            }
            return None;
        }
    };
    // Into a buffer sized from the file, as every input is read: it does not grow, so no copy of
    // the credentials is left in a freed one (and a hit reads in two calls, not seven).
    let bytes = crate::input::read_open(&file, MAX_ENTRY_BYTES).ok()?;
    let issued = parse_entry(&bytes, key, SystemTime::now());
    if issued.is_none() {
        // Never the contents: they may be credentials.
        crate::debug!(
            "cache: ignoring {}: not a fresh entry for this key",
            path.display()
        );
    }
    issued
}

/// An entry's bytes as [`Issued`] credentials, if they are an entry of this format for `key`,
/// hold credentials of AWS's shape, and are [`fresh_enough`] at `now`.
pub(crate) fn parse_entry(bytes: &[u8], key: &str, now: SystemTime) -> Option<Issued> {
    let entry: Entry = serde_json::from_slice(bytes).ok()?;
    if entry.format != FORMAT || entry.key != key || !entry.access_key_id.starts_with("ASIA") {
        return None;
    }
    let expires_at = parse_expiration(&entry.expiration)?;
    let issued_at = parse_expiration(&entry.issued)?;
    if !fresh_enough(issued_at, expires_at, now) {
        return None;
    }
    let credentials = Credentials {
        access_key_id: entry.access_key_id,
        secret_access_key: entry.secret_access_key,
        session_token: entry.session_token,
        expiration: entry.expiration,
    };
    // Written by us from checked credentials; a file edited since is checked again.
    crate::session::shape::check_shape(&credentials).ok()?;
    Some(Issued {
        credentials,
        expires_at,
        last_updated: issued_at,
    })
}

/// Opens an entry for reading if it is a regular file of ours that nobody else can read.
fn open_entry(path: &Path) -> io::Result<File> {
    let unsafe_entry = |why: &str| io::Error::new(io::ErrorKind::PermissionDenied, why.to_string());
    let link = fs::symlink_metadata(path)?;
    if !link.file_type().is_file() {
        return Err(unsafe_entry("not a regular file"));
    }
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.len() > MAX_ENTRY_BYTES {
        return Err(unsafe_entry("too large to be an entry"));
    }
    owner_only(&meta).map_err(|why| unsafe_entry(&why))?;
    Ok(file)
}

/// Writes an entry atomically: a 0600 temporary file in the directory, fsync, rename.
fn write_entry(dir: &Path, path: &Path, key: &str, issued: &Issued) -> io::Result<()> {
    let c = &issued.credentials;
    let entry = Entry {
        format: FORMAT,
        key: key.to_string(),
        access_key_id: c.access_key_id.clone(),
        secret_access_key: c.secret_access_key.clone(),
        session_token: c.session_token.clone(),
        expiration: c.expiration.clone(),
        issued: iso8601(issued.last_updated),
    };
    let json = secret_json(
        &[
            key,
            &c.access_key_id,
            &c.secret_access_key,
            &c.session_token,
            &c.expiration,
            &entry.issued,
        ],
        &entry,
    );
    let temp = dir.join(format!(
        ".{key}.{}.{:08x}.tmp",
        std::process::id(),
        rand::thread_rng().gen::<u32>()
    ));
    let written = (|| {
        let mut file =
            private_options(OpenOptions::new().write(true).create_new(true)).open(&temp)?;
        file.write_all(&json)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// Takes the exclusive lock on `path`, waiting at most [`LOCK_WAIT`] for another holder.
async fn lock(path: &Path) -> Result<File> {
    let file = private_options(OpenOptions::new().create(true).truncate(false).write(true))
        .open(path)
        .map_err(|source| Error::CacheDir {
            path: path.to_path_buf(),
            source,
        })?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    let mut said = false;
    loop {
        match file.try_lock() {
            // Held until `file` is dropped (or the process ends, however it ends).
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(source)) => {
                return Err(Error::CacheDir {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
        if started.elapsed() >= LOCK_WAIT {
            return Err(Error::CacheBusy {
                path: path.to_path_buf(),
                seconds: LOCK_WAIT.as_secs(),
            });
        }
        if !said {
            crate::debug!("cache: waiting for the lock on {}", path.display());
            said = true;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

#[cfg(unix)]
fn private_options(options: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    // Entries hold credentials: readable and writable by their owner only.
    options.mode(0o600)
}

#[cfg(not(unix))]
fn private_options(options: &mut OpenOptions) -> &mut OpenOptions {
    options
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // Also succeeds for an existing directory, whose owner and mode are checked next.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// This process's effective user.
#[cfg(unix)]
fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(unix)]
fn owner_only(meta: &fs::Metadata) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if meta.uid() != my_uid() {
        return Err(format!("owned by uid {}, not by you", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "mode {:o}: group or others have access",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn owner_only(_meta: &fs::Metadata) -> std::result::Result<(), String> {
    Ok(())
}

/// The cache directory itself: a directory of ours that nobody else may write.
#[cfg(unix)]
fn check_private_dir(dir: &Path) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("is not a directory".into());
    }
    let me = my_uid();
    if meta.uid() != me {
        return Err(format!(
            "is owned by uid {}, not by you (uid {me})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "is writable by group or others (mode {:o})",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private_dir(_dir: &Path) -> std::result::Result<(), String> {
    Ok(())
}

/// Every parent must belong to root or to us, and be writable by nobody else unless it is
/// sticky (`/tmp`): otherwise someone else could swap the cache directory for their own.
#[cfg(unix)]
fn check_parents(dir: &Path) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = my_uid();
    for parent in dir.ancestors().skip(1) {
        let meta = fs::metadata(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let sticky = meta.mode() & 0o1000 != 0;
        if meta.uid() != 0 && meta.uid() != me {
            return Err(format!(
                "is inside {}, which is owned by uid {}",
                parent.display(),
                meta.uid()
            ));
        }
        if meta.mode() & 0o022 != 0 && !sticky {
            return Err(format!(
                "is inside {}, which group or others can write (mode {:o})",
                parent.display(),
                meta.mode() & 0o777
            ));
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_parents(_dir: &Path) -> std::result::Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn an_hour_is_handed_out_until_twenty_minutes_are_left() {
        let issued = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let expires = issued + 60 * MIN;
        assert!(fresh_enough(issued, expires, issued));
        assert!(fresh_enough(issued, expires, expires - 21 * MIN));
        assert!(!fresh_enough(issued, expires, expires - 20 * MIN));
        assert!(!fresh_enough(issued, expires, expires - 15 * MIN));
        assert!(!fresh_enough(issued, expires, expires + MIN));
    }

    #[test]
    fn short_sessions_are_handed_out_for_half_their_life() {
        let issued = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let expires = issued + 15 * MIN;
        assert!(fresh_enough(issued, expires, issued + 7 * MIN));
        assert!(!fresh_enough(issued, expires, issued + 8 * MIN));
    }

    #[test]
    fn entries_from_the_future_or_backwards_are_not_fresh() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(!fresh_enough(now + 60 * MIN, now + 120 * MIN, now));
        assert!(!fresh_enough(now, now - MIN, now));
    }

    #[test]
    fn keys_separate_fields() {
        let hex = |fields: &[(&str, &str)]| {
            let mut k = CacheKey::new("t");
            for (n, v) in fields {
                k.field(n, v);
            }
            k.hex()
        };
        assert_ne!(hex(&[("a", "bc")]), hex(&[("ab", "c")]));
        assert_ne!(hex(&[("a", "b"), ("c", "")]), hex(&[("a", "bc")]));
        assert_eq!(hex(&[("a", "b")]), hex(&[("a", "b")]));
        let mut none = CacheKey::new("t");
        none.optional("x", None);
        let mut empty = CacheKey::new("t");
        empty.optional("x", Some(""));
        assert_ne!(none.hex(), empty.hex());
        assert_eq!(hex(&[]).len(), 64);
    }
}
