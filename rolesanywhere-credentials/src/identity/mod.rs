//! Where certificates and private keys come from, behind one trait.
//!
//! [`X509Signer`] is the seam between "where the key lives" and everything that signs: the
//! AWS4-X509 request signer, `sign-string`, `serve` and `update`. File-based keys
//! ([`file::FileSigner`]), keys in PKCS#11 tokens ([`pkcs11`]) and TPM 2.0 keys (`tpm`)
//! implement it.
//!
//! This module is the only place that picks a backend: [`Source::from_args`] (and
//! [`Source::key_from_args`] for a key on its own) sniffs the flags as the official helper does
//! (`pkcs11:` URIs, `handle:` TPM handles, `TSS2 PRIVATE KEY` PEM, PKCS#12 when no key is given),
//! [`Source::open`] and [`Source::open_key`] open it, and [`certificates`] lists what a
//! certificate argument names. Backends that need system libraries are cargo features with an
//! enabled/disabled pair of modules (`pkcs11`, on by default; `tpm`, off by default): a build
//! without one answers a key of that kind with [`Error::NotInThisBuild`].

mod cert_selector;
mod certificate;
mod error;
pub mod file;
#[doc(hidden)]
pub mod fuzzing;
mod key;
mod legacy_pem;
mod mldsa;
mod pbe;
mod pem;
pub mod pkcs11;
mod pkcs12;
mod prompt;
mod read;
pub mod signatures;
mod source;
mod tpm;
pub mod trust_path;
pub mod trust_rules;

use std::fmt::Debug;

use zeroize::Zeroizing;

pub use cert_selector::{CertSelector, SelectorError};
pub use certificate::{
    ecdsa_raw_to_der, read_certificates, Certificate, Curve, MlDsaLevel, PublicKey,
};
pub use error::{Error, Result};
pub use source::{certificates, Certificates, Input, Source, SourceArgs};
pub use tpm::{quiet_library_logs as quiet_tpm_library_logs, TpmAuth, TpmHandleSource};

/// A SHA-2 digest to sign with, for the keys that hash the message first (RSA, ECDSA).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
/// * [`sign`](Self::sign) receives the *unhashed* message.
/// * RSA and EC keys hash it with `digest` and return a PKCS#1 v1.5 signature (RSA) or a DER
///   `ECDSA-Sig-Value` (EC; backends that produce raw `r || s` convert with
///   [`ecdsa_raw_to_der`]).
/// * ML-DSA keys ([`PublicKey::hashes_message`] is false) have no digest to choose: they sign the
///   message itself with pure ML-DSA (FIPS 204), an empty context and the deterministic variant,
///   and return the raw FIPS 204 signature; `digest` does not apply to them. This is what the
///   official helper does (AWS4-X509-MLDSA signs the string to sign, and `sign-string --digest`
///   makes no difference), and it keeps every caller's `sign(message, Digest::Sha256)` right for
///   every key type.
/// * Signing is fallible because tokens and TPMs can refuse (PIN, removal, policy).
pub trait Signer: Debug + Send + Sync {
    /// The public half of the key.
    fn public_key(&self) -> &PublicKey;

    /// Signs `message`: after hashing it with `digest` (RSA, EC), or as it is (ML-DSA).
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
