//! Where certificates and private keys come from, behind one trait.
//!
//! [`X509Signer`] is the seam between "where the key lives" and everything that signs: the
//! AWS4-X509 request signer, `sign-string`, `serve` and `update`. File-based keys
//! ([`file::FileSigner`]) and keys in PKCS#11 tokens ([`pkcs11::Pkcs11Signer`]) implement it; a
//! TPM key will too, and callers will not change. [`Source`] turns the official helper's flags
//! into the right backend,
//! sniffing values the way the official helper does (`pkcs11:` URIs, `handle:` TPM handles,
//! `TSS2 PRIVATE KEY` PEM, PKCS#12 when no key is given).

mod certificate;
pub mod file;
mod key;
mod pem;
pub mod pkcs11;
mod pkcs12;

use std::fmt::Debug;
use std::path::PathBuf;

use zeroize::Zeroizing;

pub use certificate::{ecdsa_raw_to_der, read_certificates, Certificate, Curve, PublicKey};

use crate::error::{Error, Result};

/// A SHA-2 digest to sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Digest {
    /// SHA-256: what AWS4-X509 uses for every key type.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

/// A private key, wherever it lives, that can sign.
///
/// # Contract
/// * [`sign`](Self::sign) receives the *unhashed* message. The implementation hashes it with
///   `digest` and returns a PKCS#1 v1.5 signature for RSA keys, or a DER `ECDSA-Sig-Value` for EC
///   keys (backends that produce raw `r || s` convert with [`ecdsa_raw_to_der`]).
/// * Signing is fallible because tokens and TPMs can refuse (PIN, removal, policy).
pub trait Signer: Debug + Send + Sync {
    /// The public half of the key.
    fn public_key(&self) -> &PublicKey;

    /// Signs `message` after hashing it with `digest`.
    ///
    /// # Errors
    /// When the key (or the device holding it) refuses or fails to sign.
    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>>;
}

/// A certificate with its private key: what CreateSession needs.
///
/// # Contract
/// * [`certificate`](Self::certificate) is the end-entity certificate whose public key is
///   [`Signer::public_key`]; implementations check this when they are built, before anything is
///   signed or sent.
/// * [`chain`](Self::chain) holds the intermediates to send in `X-Amz-X509-Chain`, leaf excluded,
///   possibly empty.
pub trait X509Signer: Signer {
    /// The end-entity certificate.
    fn certificate(&self) -> &Certificate;

    /// Intermediate certificates, leaf excluded.
    fn chain(&self) -> &[Certificate];
}

/// A password or PIN, wiped from memory when dropped.
pub type Secret = Zeroizing<String>;

/// The key-source flags shared by every command that signs (`--certificate`, `--private-key`,
/// `--intermediates`, `--pkcs8-password`, ...), still unvalidated.
#[derive(Debug, Default)]
pub struct SourceArgs {
    /// `--certificate`: a certificate file, a PKCS#12 bundle or a PKCS#11 URI.
    pub certificate: Option<String>,
    /// `--private-key`: a key file, a PKCS#11 URI or a TPM handle.
    pub private_key: Option<String>,
    /// `--intermediates`: a PEM bundle of intermediate CA certificates.
    pub intermediates: Option<String>,
    /// `--pkcs8-password`: unlocks an encrypted PKCS#8 key or a PKCS#12 bundle.
    pub password: Option<Secret>,
    /// `--pkcs11-lib`.
    pub pkcs11_lib: Option<String>,
    /// `--tpm-key-password` / `--no-tpm-key-password` were given.
    pub tpm: bool,
    /// `--cert-selector` was given.
    pub cert_selector: Option<String>,
    /// `--reuse-pin`.
    pub reuse_pin: bool,
}

/// Where the signing identity comes from, decided once from the flags. Cloneable so `serve` and
/// `update` can open it again at each refresh and pick up renewed files.
#[derive(Clone, Debug)]
pub enum Source {
    /// Certificate (and maybe chain) and key in files.
    Files(file::FileSource),
    /// A key (and maybe its certificate) in a PKCS#11 token.
    Pkcs11(Box<pkcs11::Pkcs11Source>),
    /// A key in a TPM 2.0.
    Tpm,
    /// A platform certificate store (`--cert-selector`).
    CertStore,
}

impl Source {
    /// Chooses the backend from the flags, as the official helper does.
    ///
    /// # Errors
    /// When the flags name no identity, or one this build cannot open.
    pub fn from_args(args: SourceArgs) -> Result<Source> {
        let is_pkcs11 = |v: &Option<String>| v.as_deref().is_some_and(|v| v.starts_with("pkcs11:"));
        if is_pkcs11(&args.certificate) || is_pkcs11(&args.private_key) {
            return pkcs11::Pkcs11Source::from_args(args).map(|p| Source::Pkcs11(Box::new(p)));
        }
        if args
            .private_key
            .as_deref()
            .is_some_and(|k| k.starts_with("handle:"))
        {
            return Ok(Source::Tpm);
        }
        let Some(certificate) = args.certificate else {
            if args.cert_selector.is_some() {
                return Ok(Source::CertStore);
            }
            return Err(Error::Usage(
                "no certificate given; pass --certificate (a PEM/DER certificate or a PKCS#12 bundle) and --private-key".into(),
            ));
        };
        Ok(Source::Files(file::FileSource {
            certificate: PathBuf::from(certificate),
            private_key: args.private_key.map(PathBuf::from),
            intermediates: args.intermediates.map(PathBuf::from),
            password: args.password,
        }))
    }

    /// Opens the identity: reads files, logs in to tokens, and checks that the key matches the
    /// certificate before anything is signed or sent.
    ///
    /// # Errors
    /// Any read, parse, password or mismatch failure, with a message naming the file.
    pub fn open(self) -> Result<Box<dyn X509Signer>> {
        match self {
            Source::Files(files) => Ok(Box::new(files.open()?)),
            Source::Pkcs11(token) => Ok(Box::new(token.open()?)),
            Source::Tpm => Err(Error::Unsupported(
                "TPM 2.0 keys are not supported by this build yet; use a private key file".into(),
            )),
            Source::CertStore => Err(Error::Unsupported(
                "--cert-selector selects from the macOS Keychain or Windows certificate store, which this platform does not have; use --certificate and --private-key".into(),
            )),
        }
    }
}
