//! The system's trust roots: found where `rustls-native-certs` finds them, read faster.
//!
//! Without `AWS_CA_BUNDLE`, every cold `credential-process` needs the system roots, and reading
//! them through `rustls_native_certs::load_native_certs` (the PEM parser of `rustls-pki-types`,
//! which decodes in constant time, a cost worth paying for private keys but not for public
//! certificates) took 17 million instructions on Debian (its bundle and the 145 files of
//! `/etc/ssl/certs`): three times the rest of the run. This module looks in the same places, in
//! the same order, with the same rules (`SSL_CERT_FILE` and `SSL_CERT_DIR`, else what
//! `openssl-probe` finds; every file of each directory, symbolic links followed, each file read
//! once), and reads only the `CERTIFICATE` blocks, each distinct certificate kept once. It does
//! not use `identity::pem`, which reads every block of a user's file and refuses the file for a
//! broken one: a system store is read leniently, as every TLS client reads it.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use memchr::memmem;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

/// A file of the store larger than this is not a certificate file (the Mozilla bundle is about
/// 220 KB).
const MAX_FILE_BYTES: u64 = 16 << 20;

/// The system's roots. Unreadable files and certificates that do not parse are skipped, as
/// `rustls-native-certs` and every TLS client skip them.
pub(crate) fn system_roots() -> RootCertStore {
    let (file, dirs) = locations();
    roots_from(file.as_deref(), &dirs)
}

/// The certificates of `file`, then of every file of each of `dirs`.
fn roots_from(file: Option<&Path>, dirs: &[PathBuf]) -> RootCertStore {
    let mut reader = Reader::default();
    if let Some(file) = file {
        reader.file(file);
    }
    for dir in dirs {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            reader.file(&entry.path());
        }
    }
    // Most certificates are both in the bundle and in a file of their own.
    let mut certificates = reader.certificates;
    certificates.sort_unstable();
    certificates.dedup();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(certificates.into_iter().map(CertificateDer::from));
    roots
}

/// The bundle file and the directories to read: `SSL_CERT_FILE` and `SSL_CERT_DIR` (a list, as
/// `PATH` is) when either is set, else where `openssl-probe` finds the system's.
fn locations() -> (Option<PathBuf>, Vec<PathBuf>) {
    let file = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    let dirs: Vec<PathBuf> = std::env::var_os("SSL_CERT_DIR")
        .map(|dirs| {
            std::env::split_paths(&dirs)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if file.is_some() || !dirs.is_empty() {
        return (file, dirs);
    }
    let probed = openssl_probe::probe();
    (probed.cert_file, probed.cert_dir)
}

/// What has been read so far.
#[derive(Default)]
struct Reader {
    /// `(device, inode)` of every file read: a store's directory links to each certificate
    /// under several names, and often to the bundle too.
    files: HashSet<(u64, u64)>,
    /// The DER of every certificate read.
    certificates: Vec<Vec<u8>>,
}

impl Reader {
    /// Reads the certificates of `path`, unless it is not a regular file or was read already.
    fn file(&mut self, path: &Path) {
        use std::os::unix::fs::MetadataExt;
        // As every input file: a regular file (not a FIFO or a device), read up to a limit.
        let Ok(file) = crate::input::open(path, fs::OpenOptions::new().read(true)) else {
            return;
        };
        let Ok(metadata) = file.metadata() else {
            return;
        };
        if !self.files.insert((metadata.dev(), metadata.ino())) {
            return;
        }
        let Ok(data) = crate::input::read_open(&file, MAX_FILE_BYTES) else {
            return;
        };
        for body in certificate_bodies(&data) {
            if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(compact(body)) {
                self.certificates.push(der);
            }
        }
    }
}

/// The text between each `-----BEGIN CERTIFICATE-----` and the `-----END CERTIFICATE-----`
/// after it, in order; other blocks and the text around them are passed over.
fn certificate_bodies(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let (begin, end) = (memmem::Finder::new(BEGIN), memmem::Finder::new(END));
    let mut rest = data;
    std::iter::from_fn(move || {
        let start = begin.find(rest)? + BEGIN.len();
        let length = end.find(&rest[start..])?;
        let body = &rest[start..start + length];
        rest = &rest[start + length + END.len()..];
        Some(body)
    })
}

/// `body` without its line breaks and the white space at the ends of its lines (a block with
/// white space inside a line then fails to decode, and is skipped).
fn compact(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len())) {
        out.extend_from_slice(body[start..end].trim_ascii());
        start = end + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_found_whatever_surrounds_them() {
        let data =
            b"# a comment\n-----BEGIN CERTIFICATE-----\nQUJD\nREVG\n-----END CERTIFICATE-----\n\
                     -----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n\
                     text\r\n-----BEGIN CERTIFICATE-----\r\nR0hJ\r\n-----END CERTIFICATE-----";
        let bodies: Vec<Vec<u8>> = certificate_bodies(data).map(compact).collect();
        assert_eq!(bodies, vec![b"QUJDREVG".to_vec(), b"R0hJ".to_vec()]);
        assert_eq!(
            certificate_bodies(b"-----BEGIN CERTIFICATE-----\nQUJD").count(),
            0
        );
    }

    /// The trust anchors' subjects, sorted.
    fn subjects(roots: &RootCertStore) -> Vec<Vec<u8>> {
        let mut subjects: Vec<Vec<u8>> = roots
            .roots
            .iter()
            .map(|anchor| anchor.subject.as_ref().to_vec())
            .collect();
        subjects.sort();
        subjects
    }

    fn theirs(file: Option<&Path>, dir: Option<&Path>) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots
            .add_parsable_certificates(rustls_native_certs::load_certs_from_paths(file, dir).certs);
        roots
    }

    #[test]
    fn the_same_roots_as_rustls_native_certs() {
        // This machine's store, where openssl-probe finds it.
        let probed = openssl_probe::probe();
        let dirs: Vec<PathBuf> = probed.cert_dir.iter().take(1).cloned().collect();
        let ours = roots_from(probed.cert_file.as_deref(), &dirs);
        let reference = theirs(
            probed.cert_file.as_deref(),
            dirs.first().map(PathBuf::as_path),
        );
        assert_eq!(subjects(&ours), subjects(&reference));

        // A bundle and a directory holding it and more (testdata/pki/ca: the root, its
        // intermediates), with a file that is no certificate and one that is not there.
        let testdata = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/pki"));
        let (file, dir) = (testdata.join("ca/root.pem"), testdata.join("ca"));
        let ours = roots_from(Some(&file), &[dir.clone(), testdata.join("nonexistent")]);
        assert_eq!(subjects(&ours), subjects(&theirs(Some(&file), Some(&dir))));
        assert!(!ours.is_empty());
    }
}
