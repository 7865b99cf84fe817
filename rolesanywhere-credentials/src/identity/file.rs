//! Certificates and keys in files: PEM or DER certificates (a lone leaf or a full chain), an
//! `--intermediates` bundle, PKCS#1 / SEC1 / PKCS#8 keys (PBES2-encrypted PKCS#8 too), a PEM file
//! holding both certificate and key, and PKCS#12 bundles.

use std::path::{Path, PathBuf};

use pkcs8::der::Decode;
use pkcs8::spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::certificate::{certificates_from_bytes, Certificate, PublicKey};
use super::error::{Error, Result};
use super::key::{KeyError, KeyFormat, SoftwareKey};
use super::pbe::{self, PbeError};
use super::prompt::prompt_until;
use super::read::read_file;
use super::tpm::{self, TpmAuth};
use super::{legacy_pem, pem, pkcs12, Digest, Secret, Signer, X509Signer};

/// File paths naming a certificate and its key, as given on the command line.
#[derive(Clone, Debug)]
pub struct FileSource {
    /// `--certificate`; absent when a key alone is enough (`sign-string`).
    pub certificate: Option<PathBuf>,
    /// `--private-key`; when absent the certificate file must also hold the key (combined PEM
    /// or PKCS#12).
    pub private_key: Option<PathBuf>,
    /// `--intermediates`.
    pub intermediates: Option<PathBuf>,
    /// `--pkcs8-password`.
    pub password: Option<Secret>,
    /// `--tpm-key-password`, `--no-tpm-key-password`: for a `TSS2 PRIVATE KEY`.
    pub tpm: TpmAuth,
}

/// A certificate, its chain and a private key, all loaded from files (the key maybe a TPM key
/// file, whose key stays in the TPM).
#[derive(Debug)]
pub struct FileSigner {
    certificate: Certificate,
    chain: Vec<Certificate>,
    key: Box<dyn Signer>,
}

impl X509Signer for FileSigner {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }
}

impl Signer for FileSigner {
    fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        self.key.sign(message, digest)
    }
}

impl FileSource {
    /// Opens the private key file on its own, for `sign-string` without a certificate.
    ///
    /// # Errors
    /// When the file cannot be read or holds no usable key.
    pub fn open_key(&self) -> Result<Box<dyn Signer>> {
        let Some(path) = &self.private_key else {
            return Err(Error::NoCertificateGiven);
        };
        // Key files are secrets, PEM text or DER alike: wiped once parsed.
        let data = Zeroizing::new(read_file(path, "a private key")?);
        read_key(path, &data, self.password.as_ref(), &self.tpm)
    }

    /// Reads and checks everything; see [`super::Source::open`].
    pub fn open(&self) -> Result<FileSigner> {
        let Some(cert_path) = &self.certificate else {
            return Err(Error::NoCertificateGiven);
        };
        // It may hold the key too (combined PEM, PKCS#12).
        let cert_data = Zeroizing::new(read_file(cert_path, "a certificate")?);
        let (certificates, key, key_path) = match &self.private_key {
            Some(key_path) => {
                let certificates = certificates_from_bytes(cert_path, &cert_data)?;
                let key_data = Zeroizing::new(read_file(key_path, "a private key")?);
                let key = read_key(key_path, &key_data, self.password.as_ref(), &self.tpm)?;
                (certificates, key, key_path.as_path())
            }
            None if pem::is_pem(&cert_data) => {
                // A PEM file holding the certificate and its key, as the official helper allows.
                let certificates = certificates_from_bytes(cert_path, &cert_data)?;
                let key = read_key(cert_path, &cert_data, self.password.as_ref(), &self.tpm)
                    .map_err(|e| match e {
                        Error::NoPrivateKey { .. } => Error::KeyNotGiven {
                            path: cert_path.clone(),
                            holds: "holds a certificate but no private key",
                        },
                        other => other,
                    })?;
                (certificates, key, cert_path.as_path())
            }
            None => {
                if Certificate::from_der(&cert_data).is_ok() {
                    return Err(Error::KeyNotGiven {
                        path: cert_path.clone(),
                        holds: "is a DER certificate",
                    });
                }
                if self.intermediates.is_some() {
                    return Err(Error::IntermediatesWithBundle);
                }
                let bundle = pkcs12::open(cert_path, &cert_data, self.password.as_ref())?;
                let key: Box<dyn Signer> = Box::new(bundle.key);
                (bundle.certificates, key, cert_path.as_path())
            }
        };

        let mut certificates = certificates.into_iter();
        let leaf = certificates.next().ok_or_else(|| Error::NoCertificate {
            path: cert_path.clone(),
        })?;
        let mut chain: Vec<Certificate> = match &self.intermediates {
            Some(path) => {
                let data = read_file(path, "intermediate CA certificates")?;
                certificates_from_bytes(path, &data)?
            }
            None => certificates.collect(),
        };
        // A bundle that repeats the leaf (a "fullchain" given as --intermediates) must not send
        // it twice.
        chain.retain(|c| c.der() != leaf.der());

        let leaf_key = leaf
            .public_key()
            .map_err(|what| Error::unsupported_key(cert_path, what))?;
        if leaf_key != key.public_key() {
            return Err(Error::KeyMismatch {
                key: key_path.to_path_buf(),
                certificate: cert_path.clone(),
            });
        }
        Ok(FileSigner {
            certificate: leaf,
            chain,
            key,
        })
    }
}

/// The SHA-256 of a file's contents in hex, for the credential cache's key: a renewed
/// certificate (or any change to the file) gives another key.
///
/// # Errors
/// When the file cannot be read.
pub(crate) fn fingerprint(path: &Path) -> Result<String> {
    Ok(sha256_hex(&read_file(path, "a certificate or chain")?))
}

/// SHA-256 in hex (ring's, which uses the CPU's SHA instructions: this runs on every cached
/// `credential-process` call).
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

/// Finds and decodes the private key in a PEM or DER file; a `TSS2 PRIVATE KEY` is opened in
/// the TPM.
pub(crate) fn read_key(
    path: &Path,
    data: &[u8],
    password: Option<&Secret>,
    tpm: &TpmAuth,
) -> Result<Box<dyn Signer>> {
    let boxed = |key: SoftwareKey| -> Box<dyn Signer> { Box::new(key) };
    let convert = |e: KeyError| match e {
        KeyError::Malformed(detail) => Error::private_key(path, detail),
        KeyError::Unsupported(what) => Error::unsupported_key(path, what),
    };
    if !pem::is_pem(data) {
        if encrypted_key_info(data).is_ok() {
            return decrypt(path, data, password).map(boxed);
        }
        if Certificate::from_der(data).is_ok() {
            return Err(Error::private_key(
                path,
                "it holds a certificate, not a private key",
            ));
        }
        if explicit_ec_parameters(data) {
            return Err(explicit_parameters(path));
        }
        return SoftwareKey::sniff_der(data).map(boxed).map_err(convert);
    }
    let blocks = pem::parse(data).map_err(|detail| Error::pem(path, detail))?;
    for block in &blocks {
        let format = match block.label.as_str() {
            "PRIVATE KEY" => KeyFormat::Pkcs8,
            "RSA PRIVATE KEY" => KeyFormat::Pkcs1,
            "EC PRIVATE KEY" => KeyFormat::Sec1,
            "ENCRYPTED PRIVATE KEY" => return decrypt(path, &block.der, password).map(boxed),
            "TSS2 PRIVATE KEY" => return tpm::open_key_file(path, &block.der, tpm),
            "DSA PRIVATE KEY" => return Err(Error::unsupported_key(path, "DSA")),
            "OPENSSH PRIVATE KEY" => {
                return Err(Error::private_key(
                    path,
                    "OpenSSH key format; convert it with `ssh-keygen -p -m PKCS8 -f FILE`",
                ))
            }
            _ => continue,
        };
        if block.legacy_encrypted {
            return decrypt_legacy(path, format, block, password).map(boxed);
        }
        if format != KeyFormat::Pkcs1 && explicit_ec_parameters(&block.der) {
            return Err(explicit_parameters(path));
        }
        return SoftwareKey::from_der(format, &block.der)
            .map(boxed)
            .map_err(convert);
    }
    Err(Error::NoPrivateKey {
        path: path.to_path_buf(),
    })
}

/// Decrypts a PKCS#1 or SEC1 block under OpenSSL's legacy PEM encryption (`Proc-Type:
/// 4,ENCRYPTED`), with `--pkcs8-password` or a password typed at the terminal.
fn decrypt_legacy(
    path: &Path,
    format: KeyFormat,
    block: &pem::Block,
    password: Option<&Secret>,
) -> Result<SoftwareKey> {
    let (cipher, iv) = legacy_pem::parse_dek_info(block.dek_info.as_deref()).map_err(|e| match e {
        legacy_pem::HeaderError::Malformed(what) => Error::private_key(
            path,
            format!("legacy OpenSSL PEM encryption, but {what}"),
        ),
        legacy_pem::HeaderError::Unsupported(_) => Error::ConvertKey {
            path: path.to_path_buf(),
            what: "uses a legacy OpenSSL PEM encryption other than AES-128/192/256-CBC or DES-EDE3-CBC",
            convert: "openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD -out NEW",
        },
    })?;
    let wrong = || Error::WrongPassword {
        path: path.to_path_buf(),
    };
    let attempt = |password: &str| -> Result<SoftwareKey> {
        let der = legacy_pem::decrypt(cipher, &iv, password, &block.der).ok_or_else(wrong)?;
        SoftwareKey::from_der(format, &der).map_err(|e| match e {
            // Garbage after a wrong password can survive the padding check.
            KeyError::Malformed(_) => wrong(),
            KeyError::Unsupported(what) => Error::unsupported_key(path, what),
        })
    };
    match password {
        Some(password) => attempt(password),
        None => prompt_until(
            path,
            "Please enter your PKCS#8 private key password:",
            attempt,
        ),
    }
}

/// Whether `der` is an EC key (PKCS#8 or SEC1) that spells out its curve's parameters instead
/// of naming the curve, as `openssl ecparam -param_enc explicit` writes it.
fn explicit_ec_parameters(der: &[u8]) -> bool {
    use pkcs8::der::asn1::{AnyRef, ContextSpecific, OctetStringRef};
    use pkcs8::der::{Reader, Tag, TagNumber, Tagged};
    if let Ok(info) = pkcs8::PrivateKeyInfo::from_der(der) {
        return info.algorithm.oid.to_string() == "1.2.840.10045.2.1"
            && info
                .algorithm
                .parameters
                .is_some_and(|p| p.tag() == Tag::Sequence);
    }
    // ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, parameters [0] ... }
    let Ok(mut reader) = pkcs8::der::SliceReader::new(der) else {
        return false;
    };
    let parameters = reader.sequence(|r| {
        let version: u8 = r.decode()?;
        let _key = OctetStringRef::decode(r)?;
        let parameters = ContextSpecific::<AnyRef<'_>>::decode_explicit(r, TagNumber::N0)?;
        while !r.is_finished() {
            let _: AnyRef<'_> = r.decode()?;
        }
        Ok((version, parameters.map(|p| p.value.tag())))
    });
    matches!(parameters, Ok((1, Some(Tag::Sequence))))
}

fn explicit_parameters(path: &Path) -> Error {
    Error::ConvertKey {
        path: path.to_path_buf(),
        what:
            "is an EC key with explicit curve parameters where a named curve belongs (unsupported)",
        convert: "openssl ec -in OLD -param_enc named_curve -out NEW",
    }
}

/// Decrypts an `EncryptedPrivateKeyInfo`: PBES2 with PBKDF2 (HMAC-SHA1/224/256/384/512) or
/// scrypt and AES-128/192/256-CBC, as the official helper; its key derivation within the caps
/// of [`pbe`]. PBES1, PKCS#12 PBE and PBES2 with DES are refused with the command that converts
/// them.
fn decrypt(path: &Path, der: &[u8], password: Option<&Secret>) -> Result<SoftwareKey> {
    let (algorithm, ciphertext) = encrypted_key_info(der)
        .map_err(|e| Error::private_key(path, format!("not an encrypted PKCS#8 key: {e}")))?;
    if !pbe::is_pbes2(&algorithm.oid) {
        return Err(Error::KeyEncryption {
            path: path.to_path_buf(),
            what: pbe::name_of(&algorithm.oid.to_string()),
        });
    }
    let attempt = |password: &str| -> Result<SoftwareKey> {
        let mut budget = pbe::Budget::default();
        let password = pbe::Password::new(password, false);
        let document =
            pbe::decrypt(&algorithm, &password, ciphertext, &mut budget).map_err(|e| match e {
                PbeError::Decrypt => Error::WrongPassword {
                    path: path.to_path_buf(),
                },
                PbeError::Unsupported(what) => Error::KeyEncryption {
                    path: path.to_path_buf(),
                    what,
                },
                PbeError::TooCostly(_) | PbeError::OutOfMemory(_) => Error::KeyDerivation {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                    convert: "openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD -out NEW",
                },
                PbeError::Malformed(_) => Error::private_key(path, e),
            })?;
        SoftwareKey::from_der(KeyFormat::Pkcs8, &document).map_err(|e| match e {
            // A key that decrypts to well-formed PKCS#8 was decrypted right: the key itself is bad
            // (an ML-DSA key whose halves disagree, say).
            KeyError::Malformed(detail) if pkcs8::PrivateKeyInfo::from_der(&document).is_ok() => {
                Error::private_key(path, detail)
            }
            // Garbage after a wrong password can survive the padding check.
            KeyError::Malformed(_) => Error::WrongPassword {
                path: path.to_path_buf(),
            },
            KeyError::Unsupported(what) => Error::unsupported_key(path, what),
        })
    };
    if let Some(password) = password {
        return attempt(password);
    }
    prompt_until(
        path,
        "Please enter your PKCS#8 private key password:",
        attempt,
    )
}

/// `EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier,
/// encryptedData OCTET STRING }`, whatever the algorithm (pkcs8's own type knows only PBES1
/// and PBES2 with AES, and cannot name what it does not know).
pub(crate) fn encrypted_key_info(
    der: &[u8],
) -> std::result::Result<(AlgorithmIdentifierRef<'_>, &[u8]), pkcs8::der::Error> {
    use pkcs8::der::Reader;
    let mut reader = pkcs8::der::SliceReader::new(der)?;
    let info = reader.sequence(|r| {
        let algorithm = AlgorithmIdentifierRef::decode(r)?;
        let data = pkcs8::der::asn1::OctetStringRef::decode(r)?;
        Ok((algorithm, data.as_bytes()))
    })?;
    reader.finish(info)
}
