//! TPM 2.0 keys: `TSS2 PRIVATE KEY` files (the TCG key-file format that tpm2-openssl,
//! tpm2tss-genkey and GnuTLS write) and persistent handles (`--private-key handle:0x81000001`).
//!
//! With the `tpm` cargo feature the backend is `enabled/`, built on `tss-esapi` over the
//! system's tpm2-tss; without it, `disabled.rs` has the same items and answers every TPM key with
//! one line saying this build lacks the feature. No `cfg` anywhere else.
//!
//! What both builds share lives here: the `handle:` prefix, how the key's password is given
//! ([`TpmAuth`]), and the source of a key at a handle with its certificate files
//! ([`TpmHandleSource`]), which checks that the key is the certificate's.

#[cfg(feature = "tpm")]
#[path = "enabled/mod.rs"]
mod imp;

#[cfg(not(feature = "tpm"))]
#[path = "disabled.rs"]
mod imp;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub(crate) use imp::open_key_file;
pub use imp::quiet_library_logs;

/// Whether this build has TPM support (the `tpm` feature).
pub(crate) const ENABLED: bool = cfg!(feature = "tpm");

use super::certificate::{read_certificates, Certificate, PublicKey};
use super::error::{Error, Result};
use super::{Digest, Secret, Signer, X509Signer};

/// `--private-key` values starting with this name a persistent TPM handle.
pub(crate) const HANDLE_PREFIX: &str = "handle:";

/// How the TPM key's password is given.
///
/// The official helper's rules: a key file says itself whether it has a password (`emptyAuth`);
/// a key at a handle has one unless `--no-tpm-key-password` says otherwise. A password that is
/// needed and not given is asked for on the terminal. One typed at the prompt is kept here (for
/// as long as the process runs, wiped on exit) so that `serve` and `update` can open a renewed
/// key file without asking again; every clone of a [`super::Source`] shares it.
#[derive(Clone, Default)]
pub struct TpmAuth {
    /// `--tpm-key-password`.
    pub password: Option<Secret>,
    /// `--no-tpm-key-password`: the key has no password.
    pub no_password: bool,
    /// The password typed at the prompt, once the TPM accepted it.
    typed: Arc<Mutex<Option<Secret>>>,
}

impl std::fmt::Debug for TpmAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password itself.
        f.debug_struct("TpmAuth")
            .field(
                "password",
                &self.password.as_ref().map(|_| "** redacted **"),
            )
            .field("no_password", &self.no_password)
            .finish_non_exhaustive()
    }
}

impl TpmAuth {
    /// The password from the flags.
    pub fn new(password: Option<Secret>, no_password: bool) -> TpmAuth {
        TpmAuth {
            password,
            no_password,
            typed: Arc::default(),
        }
    }

    /// The password typed earlier, if any.
    pub fn typed(&self) -> Option<Secret> {
        self.typed.lock().ok().and_then(|typed| typed.clone())
    }

    /// Keeps a password the TPM accepted at the prompt.
    pub fn remember(&self, password: &Secret) {
        if let Ok(mut typed) = self.typed.lock() {
            *typed = Some(password.clone());
        }
    }
}

/// A key at a persistent TPM handle and, for commands that need one, its certificate files.
#[derive(Clone, Debug)]
pub struct TpmHandleSource {
    /// `--private-key`, as given (`handle:0x81000001`).
    pub handle: String,
    /// `--certificate`.
    pub certificate: Option<PathBuf>,
    /// `--intermediates`; without it, the certificates after the first in `--certificate`.
    pub intermediates: Option<PathBuf>,
    /// The key's password.
    pub auth: TpmAuth,
}

impl TpmHandleSource {
    /// Reads the certificate, opens the key in the TPM and checks that they belong together.
    ///
    /// # Errors
    /// Certificate, TPM, password and mismatch failures, each with its own message.
    pub fn open(&self) -> Result<Box<dyn X509Signer>> {
        let cert_path = self.certificate.as_ref().ok_or(Error::NoCertificateGiven)?;
        let mut certificates = read_certificates(cert_path)?.into_iter();
        let certificate = certificates.next().ok_or_else(|| Error::NoCertificate {
            path: cert_path.clone(),
        })?;
        let mut chain = match &self.intermediates {
            Some(path) => read_certificates(path)?,
            None => certificates.collect(),
        };
        chain.retain(|c| c.der() != certificate.der());
        let leaf_key = certificate
            .public_key()
            .map_err(|what| Error::unsupported_key(cert_path, what))?
            .clone();
        let key = imp::open_handle(&self.handle, &self.auth)?;
        if key.public_key() != &leaf_key {
            return Err(Error::KeyMismatch {
                key: PathBuf::from(&self.handle),
                certificate: cert_path.clone(),
            });
        }
        Ok(Box::new(HandleSigner {
            certificate,
            chain,
            key,
        }))
    }

    /// Opens the key, with its certificate when one was named, for commands that only sign.
    ///
    /// # Errors
    /// As [`TpmHandleSource::open`].
    pub fn open_key(&self) -> Result<Box<dyn Signer>> {
        if self.certificate.is_some() {
            let signer: Box<dyn Signer> = self.open()?;
            return Ok(signer);
        }
        imp::open_handle(&self.handle, &self.auth)
    }

    /// The certificate files, to notice when they are renewed.
    pub fn files(&self) -> Vec<&std::path::Path> {
        [self.certificate.as_deref(), self.intermediates.as_deref()]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// A certificate from files and its key at a TPM handle.
#[derive(Debug)]
struct HandleSigner {
    certificate: Certificate,
    chain: Vec<Certificate>,
    key: Box<dyn Signer>,
}

impl Signer for HandleSigner {
    fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        self.key.sign(message, digest)
    }
}

impl X509Signer for HandleSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let auth = TpmAuth::new(Some(Secret::new("s3cret".into())), false);
        auth.remember(&Secret::new("typed".into()));
        let shown = format!("{auth:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("typed"),
            "{shown}"
        );
        assert!(shown.contains("redacted"), "{shown}");
    }
}
