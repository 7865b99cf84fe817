//! PKCS#12 (`.p12` / `.pfx`) bundles: OpenSSL 3 defaults (PBES2, AES-256-CBC, HMAC-SHA-256 MAC)
//! and legacy ones (RC2 / 3DES, SHA-1 MAC), with or without a password.
//!
//! The official helper only opens bundles with an empty password; we also open protected ones,
//! with the password from `--pkcs8-password` (or the terminal).

use std::path::Path;

use p12_keystore::Pkcs12Archive;

use super::certificate::Certificate;
use super::error::{Error, Result};
use super::file::prompt_until;
use super::key::{KeyError, KeyFormat, SoftwareKey};
use super::{Secret, Signer};

/// What a bundle holds: the leaf first, then the other certificates, and the leaf's key.
pub(crate) struct Bundle {
    pub(crate) certificates: Vec<Certificate>,
    pub(crate) key: SoftwareKey,
}

/// Opens the bundle in `data` (read from `path`).
pub(crate) fn open(path: &Path, data: &[u8], password: Option<&Secret>) -> Result<Bundle> {
    let archive = match password {
        Some(password) => parse(path, data, password)?,
        // The official helper's case: no password. If that fails for a protected bundle, ask.
        None => match parse(path, data, "") {
            Err(Error::Pkcs12Password { .. }) => prompt_until(
                path,
                "Please enter your PKCS#12 bundle password:",
                |password| parse(path, data, password),
            )?,
            other => other?,
        },
    };
    let mut keys = archive.keys.iter();
    let key_bag = keys.next().ok_or_else(|| Error::Pkcs12 {
        path: path.to_path_buf(),
        detail: "it holds no private key".into(),
    })?;
    if keys.next().is_some() {
        return Err(Error::Pkcs12 {
            path: path.to_path_buf(),
            detail: "it holds more than one private key; export a bundle with one identity".into(),
        });
    }
    let key =
        SoftwareKey::from_der(KeyFormat::Pkcs8, key_bag.key.as_der()).map_err(|e| match e {
            KeyError::Malformed(detail) => Error::Pkcs12 {
                path: path.to_path_buf(),
                detail,
            },
            KeyError::Unsupported(what) => Error::unsupported_key(path, what),
        })?;

    let mut certificates = Vec::new();
    for (i, bag) in archive.certs.iter().enumerate() {
        let cert =
            Certificate::from_der(bag.cert.as_der()).map_err(|detail| Error::Certificate {
                path: path.to_path_buf(),
                index: i + 1,
                detail,
            })?;
        certificates.push(cert);
    }
    // The leaf is the certificate whose public key is the key's; the rest is the chain.
    let leaf = certificates
        .iter()
        .position(|c| c.public_key().ok() == Some(key.public_key()))
        .ok_or_else(|| Error::Pkcs12 {
            path: path.to_path_buf(),
            detail: "no certificate in it matches its private key".into(),
        })?;
    let leaf = certificates.remove(leaf);
    certificates.insert(0, leaf);
    Ok(Bundle { certificates, key })
}

fn parse(path: &Path, data: &[u8], password: &str) -> Result<Pkcs12Archive> {
    Pkcs12Archive::from_pkcs12(data, password).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => Error::Pkcs12Password {
            path: path.to_path_buf(),
        },
        other => Error::Pkcs12 {
            path: path.to_path_buf(),
            detail: format!("{other}; is it a PKCS#12 file?"),
        },
    })
}
