//! PKCS#12 (`.p12` / `.pfx`) bundles: OpenSSL 3 defaults (PBES2, AES-256-CBC, HMAC-SHA-256 MAC)
//! and legacy ones (RC2 / 3DES, SHA-1 MAC), with or without a password.
//!
//! The official helper only opens bundles with an empty password; we also open protected ones,
//! with the password from `--pkcs8-password` (or the terminal).
//!
//! The reader is ours (RFC 7292 over RustCrypto's DER decoder and ciphers) so that what a bundle
//! costs and holds stays under control: every key derivation is checked against the caps of
//! [`super::pbe`] before it runs, the MAC is verified before anything is decrypted, and
//! decrypted key bytes live only in buffers that are wiped when dropped (the crate used before
//! kept them in plain vectors). Only DER bundles are read, as OpenSSL writes them.

use std::path::Path;

use hmac::Mac;
use pkcs8::der::asn1::{AnyRef, ContextSpecific, ObjectIdentifier, OctetStringRef};
use pkcs8::der::{Decode, Encode, Reader, SliceReader, TagNumber};
use pkcs8::spki::AlgorithmIdentifierRef;
use zeroize::Zeroizing;

use super::certificate::Certificate;
use super::error::{Error, Result};
use super::key::{KeyError, KeyFormat, SoftwareKey};
use super::pbe::{self, Budget, Password, PbeError};
use super::prompt::prompt_until;
use super::{Secret, Signer};

const DATA: &str = "1.2.840.113549.1.7.1";
const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const X509_CERTIFICATE: &str = "1.2.840.113549.1.9.22.1";

/// What a bundle holds: the leaf first, then the other certificates, and the leaf's key.
pub(crate) struct Bundle {
    pub(crate) certificates: Vec<Certificate>,
    pub(crate) key: SoftwareKey,
}

/// Opens the bundle in `data` (read from `path`).
pub(crate) fn open(path: &Path, data: &[u8], password: Option<&Secret>) -> Result<Bundle> {
    let pfx = Pfx::parse(data).map_err(|detail| Error::Pkcs12 {
        path: path.to_path_buf(),
        detail: format!("{detail}; is it a DER PKCS#12 file?"),
    })?;
    let contents = match password {
        Some(password) => pfx.open(path, password)?,
        // The official helper's case: no password. If that fails for a protected bundle, ask.
        None => match pfx.open(path, "") {
            Err(Error::Pkcs12Password { .. }) => prompt_until(
                path,
                "Please enter your PKCS#12 bundle password:",
                |password| pfx.open(path, password),
            )?,
            other => other?,
        },
    };
    let mut keys = contents.keys.iter();
    let key_der = keys.next().ok_or_else(|| Error::Pkcs12 {
        path: path.to_path_buf(),
        detail: "it holds no private key".into(),
    })?;
    if keys.next().is_some() {
        return Err(Error::Pkcs12 {
            path: path.to_path_buf(),
            detail: "it holds more than one private key; export a bundle with one identity".into(),
        });
    }
    let key = SoftwareKey::from_der(KeyFormat::Pkcs8, key_der).map_err(|e| match e {
        KeyError::Malformed(detail) => Error::Pkcs12 {
            path: path.to_path_buf(),
            detail,
        },
        KeyError::Unsupported(what) => Error::unsupported_key(path, what),
    })?;

    let mut certificates = Vec::new();
    for (i, der) in contents.certificates.iter().enumerate() {
        let cert = Certificate::from_der(der).map_err(|detail| Error::Certificate {
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

/// What the bags of a bundle held, decrypted: PKCS#8 keys (wiped when dropped) and DER
/// certificates.
#[derive(Default)]
pub(crate) struct Contents {
    /// `PrivateKeyInfo` DER of each key.
    pub(crate) keys: Vec<Zeroizing<Vec<u8>>>,
    /// DER of each X.509 certificate.
    pub(crate) certificates: Vec<Vec<u8>>,
}

/// A parsed `PFX`: the authenticated safe's bytes and the MAC over them.
pub(crate) struct Pfx<'a> {
    auth_safe: &'a [u8],
    mac: Option<MacData<'a>>,
}

struct MacData<'a> {
    algorithm: ObjectIdentifier,
    digest: &'a [u8],
    salt: &'a [u8],
    iterations: u64,
}

/// `PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }`
impl<'a> Pfx<'a> {
    /// Parses the outer structure; nothing is decrypted or derived.
    ///
    /// # Errors
    /// What is wrong with it, for a message.
    pub(crate) fn parse(data: &'a [u8]) -> std::result::Result<Pfx<'a>, String> {
        let der = |e: pkcs8::der::Error| e.to_string();
        let mut reader = SliceReader::new(data).map_err(der)?;
        let pfx = reader
            .sequence(|r| {
                let version: u8 = r.decode()?;
                let (kind, content) = content_info(r)?;
                let mac = if r.is_finished() {
                    None
                } else {
                    Some(r.sequence(|m| {
                        let (algorithm, digest) = m.sequence(|d| {
                            let algorithm = AlgorithmIdentifierRef::decode(d)?;
                            let digest = OctetStringRef::decode(d)?;
                            Ok((algorithm.oid, digest.as_bytes()))
                        })?;
                        let salt = OctetStringRef::decode(m)?.as_bytes();
                        let iterations = if m.is_finished() { 1 } else { m.decode()? };
                        Ok(MacData {
                            algorithm,
                            digest,
                            salt,
                            iterations,
                        })
                    })?)
                };
                Ok((version, kind, content, mac))
            })
            .map_err(der)?;
        reader.finish(()).map_err(der)?;
        let (version, kind, content, mac) = pfx;
        if version != 3 {
            return Err(format!("version {version}, not 3"));
        }
        if kind.to_string() != DATA {
            return Err(format!(
                "its contents are {}, not password-protected data (public-key protected bundles are not supported)",
                oid_name(&kind)
            ));
        }
        let content = content.ok_or("its contents are missing")?;
        let auth_safe = content
            .decode_as::<OctetStringRef<'_>>()
            .map_err(der)?
            .as_bytes();
        Ok(Pfx { auth_safe, mac })
    }

    /// Checks the MAC with `password` and decrypts every bag.
    ///
    /// # Errors
    /// [`Error::Pkcs12Password`] when the MAC or a padding does not check out; otherwise what
    /// is wrong with the bundle.
    pub(crate) fn open(&self, path: &Path, password: &str) -> Result<Contents> {
        let mut budget = Budget::default();
        let password = self.password(path, password, &mut budget)?;
        let bad = |detail: String| Error::Pkcs12 {
            path: path.to_path_buf(),
            detail,
        };
        let pbe_error = |e: PbeError| pbe_error(path, e);
        let mut contents = Contents::default();
        let infos = authenticated_safe(self.auth_safe).map_err(|e| bad(e.to_string()))?;
        // The encrypted parts' derivations are checked and added up before the first runs.
        let mut cost = 0u64;
        for (kind, content) in &infos {
            if let (ENCRYPTED_DATA, Some(content)) = (kind.to_string().as_str(), content) {
                let (algorithm, _) = encrypted_data(*content).map_err(|e| bad(e.to_string()))?;
                cost = cost.saturating_add(pbe::cost(&algorithm).map_err(pbe_error)?);
            }
        }
        budget.check(cost).map_err(pbe_error)?;
        for (kind, content) in infos {
            let kind = kind.to_string();
            let content = content.ok_or_else(|| bad("a content without a value".into()))?;
            match kind.as_str() {
                DATA => {
                    let safe = content
                        .decode_as::<OctetStringRef<'_>>()
                        .map_err(|e| bad(e.to_string()))?;
                    safe_contents(safe.as_bytes(), &password, &mut budget, &mut contents)
                        .map_err(|e| bag_error(path, e))?;
                }
                ENCRYPTED_DATA => {
                    let (algorithm, ciphertext) =
                        encrypted_data(content).map_err(|e| bad(e.to_string()))?;
                    let plain = pbe::decrypt(&algorithm, &password, ciphertext, &mut budget)
                        .map_err(pbe_error)?;
                    safe_contents(&plain, &password, &mut budget, &mut contents)
                        .map_err(|e| bag_error(path, e))?;
                }
                other => {
                    return Err(bad(format!(
                        "a part protected as {}, which is not supported",
                        oid_name_str(other)
                    )))
                }
            }
        }
        Ok(contents)
    }

    /// The password in the encoding the MAC verifies with (an empty password is tried both
    /// as a NUL-terminated BMPString and as no bytes, as OpenSSL does).
    fn password(&self, path: &Path, password: &str, budget: &mut Budget) -> Result<Password> {
        let Some(mac) = &self.mac else {
            // No integrity: wrong passwords show as failed decryption.
            return Ok(Password::new(password, false));
        };
        let tries: &[bool] = if password.is_empty() {
            &[false, true]
        } else {
            &[false]
        };
        for &null in tries {
            let candidate = Password::new(password, null);
            if verify_mac(mac, &candidate, self.auth_safe, budget)
                .map_err(|e| pbe_error(path, e))?
            {
                return Ok(candidate);
            }
        }
        Err(Error::Pkcs12Password {
            path: path.to_path_buf(),
        })
    }
}

fn verify_mac(
    mac: &MacData<'_>,
    password: &Password,
    data: &[u8],
    budget: &mut Budget,
) -> std::result::Result<bool, PbeError> {
    pbe::charge_mac(mac.iterations, budget)?;
    let iterations = mac.iterations as u32;
    macro_rules! verify {
        ($digest:ty) => {{
            let key = pbe::kdf::<$digest>(
                password.bmp(),
                mac.salt,
                3,
                iterations,
                <$digest as sha2::Digest>::output_size(),
            );
            // HMAC takes keys of any length.
            let mut hmac = hmac::Hmac::<$digest>::new_from_slice(&key).expect("HMAC key");
            hmac.update(data);
            Ok(hmac.verify_slice(mac.digest).is_ok())
        }};
    }
    match mac.algorithm.to_string().as_str() {
        "1.3.14.3.2.26" => verify!(sha1::Sha1),
        "2.16.840.1.101.3.4.2.4" => verify!(sha2::Sha224),
        "2.16.840.1.101.3.4.2.1" => verify!(sha2::Sha256),
        "2.16.840.1.101.3.4.2.2" => verify!(sha2::Sha384),
        "2.16.840.1.101.3.4.2.3" => verify!(sha2::Sha512),
        other => Err(PbeError::Unsupported(format!(
            "integrity check (MAC {})",
            oid_name_str(other)
        ))),
    }
}

/// `ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY OPTIONAL }`.
fn content_info<'a, R: Reader<'a>>(
    reader: &mut R,
) -> pkcs8::der::Result<(ObjectIdentifier, Option<AnyRef<'a>>)> {
    reader.sequence(|r| {
        let kind: ObjectIdentifier = r.decode()?;
        let content =
            ContextSpecific::<AnyRef<'a>>::decode_explicit(r, TagNumber::N0)?.map(|c| c.value);
        Ok((kind, content))
    })
}

/// `AuthenticatedSafe ::= SEQUENCE OF ContentInfo`.
fn authenticated_safe(
    data: &[u8],
) -> pkcs8::der::Result<Vec<(ObjectIdentifier, Option<AnyRef<'_>>)>> {
    let mut reader = SliceReader::new(data)?;
    let infos = reader.sequence(|r| {
        let mut infos = Vec::new();
        while !r.is_finished() {
            infos.push(content_info(r)?);
        }
        Ok(infos)
    })?;
    reader.finish(infos)
}

/// `EncryptedData ::= SEQUENCE { version, EncryptedContentInfo ::= SEQUENCE { contentType,
/// contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL } }`.
fn encrypted_data(content: AnyRef<'_>) -> pkcs8::der::Result<(AlgorithmIdentifierRef<'_>, &[u8])> {
    content.sequence(|r| {
        let _version: u8 = r.decode()?;
        let info = r.sequence(|i| {
            let _kind: ObjectIdentifier = i.decode()?;
            let algorithm = AlgorithmIdentifierRef::decode(i)?;
            let ciphertext =
                ContextSpecific::<OctetStringRef<'_>>::decode_implicit(i, TagNumber::N0)?
                    .map_or(&[][..], |c| c.value.as_bytes());
            Ok((algorithm, ciphertext))
        })?;
        // unprotectedAttrs [1] IMPLICIT, if any, are not needed.
        while !r.is_finished() {
            let _: AnyRef<'_> = r.decode()?;
        }
        Ok(info)
    })
}

/// A failure inside the bags: of the structure, or of decrypting a key.
enum BagError {
    Der(pkcs8::der::Error),
    Pbe(PbeError),
}

/// `SafeContents ::= SEQUENCE OF SafeBag`; keys and certificates go into `contents`.
fn safe_contents(
    data: &[u8],
    password: &Password,
    budget: &mut Budget,
    contents: &mut Contents,
) -> std::result::Result<(), BagError> {
    let mut reader = SliceReader::new(data).map_err(BagError::Der)?;
    let bags = reader
        .sequence(|r| {
            let mut bags = Vec::new();
            while !r.is_finished() {
                bags.push(r.sequence(|b| {
                    let kind: ObjectIdentifier = b.decode()?;
                    let value = ContextSpecific::<AnyRef<'_>>::decode_explicit(b, TagNumber::N0)?
                        .map(|c| c.value);
                    // bagAttributes (friendly name, local key id) are not needed.
                    while !b.is_finished() {
                        let _: AnyRef<'_> = b.decode()?;
                    }
                    Ok((kind, value))
                })?);
            }
            Ok(bags)
        })
        .map_err(BagError::Der)?;
    reader.finish(()).map_err(BagError::Der)?;
    // Every shrouded key's derivation is checked and added up before the first one runs.
    let mut shrouded = Vec::new();
    let mut cost = 0u64;
    for (kind, value) in &bags {
        if let (SHROUDED_KEY_BAG, Some(value)) = (kind.to_string().as_str(), value) {
            let (algorithm, ciphertext) = value
                .sequence(|r| {
                    let algorithm = AlgorithmIdentifierRef::decode(r)?;
                    let ciphertext = OctetStringRef::decode(r)?.as_bytes();
                    Ok((algorithm, ciphertext))
                })
                .map_err(BagError::Der)?;
            cost = cost.saturating_add(pbe::cost(&algorithm).map_err(BagError::Pbe)?);
            shrouded.push((algorithm, ciphertext));
        }
    }
    budget.check(cost).map_err(BagError::Pbe)?;
    for (algorithm, ciphertext) in shrouded {
        let key = pbe::decrypt(&algorithm, password, ciphertext, budget).map_err(BagError::Pbe)?;
        contents.keys.push(key);
    }
    for (kind, value) in bags {
        let Some(value) = value else { continue };
        match kind.to_string().as_str() {
            // Re-encoding the key's DER allocates exactly once, straight into a wiped buffer.
            KEY_BAG => contents
                .keys
                .push(Zeroizing::new(value.to_der().map_err(BagError::Der)?)),
            CERT_BAG => {
                let certificate = value
                    .sequence(|r| {
                        let id: ObjectIdentifier = r.decode()?;
                        let der = ContextSpecific::<OctetStringRef<'_>>::decode_explicit(
                            r,
                            TagNumber::N0,
                        )?
                        .map(|c| c.value.as_bytes());
                        Ok((id.to_string() == X509_CERTIFICATE)
                            .then_some(der)
                            .flatten())
                    })
                    .map_err(BagError::Der)?;
                if let Some(der) = certificate {
                    contents.certificates.push(der.to_vec());
                }
            }
            // Shrouded keys are done above; CRLs, secrets and nested safe contents are not
            // needed.
            _ => {}
        }
    }
    Ok(())
}

fn bag_error(path: &Path, e: BagError) -> Error {
    match e {
        BagError::Der(e) => Error::Pkcs12 {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        BagError::Pbe(e) => pbe_error(path, e),
    }
}

/// How a key-derivation or decryption failure reads for a bundle.
fn pbe_error(path: &Path, e: PbeError) -> Error {
    match e {
        PbeError::Decrypt => Error::Pkcs12Password {
            path: path.to_path_buf(),
        },
        PbeError::TooCostly(_) | PbeError::OutOfMemory(_) => Error::KeyDerivation {
            path: path.to_path_buf(),
            detail: e.to_string(),
            convert: "openssl pkcs12 -export",
        },
        PbeError::Unsupported(_) | PbeError::Malformed(_) => Error::Pkcs12 {
            path: path.to_path_buf(),
            detail: format!(
                "{e}; re-export it with `openssl pkcs12 -export` (OpenSSL 3's defaults)"
            ),
        },
    }
}

fn oid_name(oid: &ObjectIdentifier) -> String {
    oid_name_str(&oid.to_string())
}

fn oid_name_str(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.7.2" => "signedData".into(),
        "1.2.840.113549.1.7.3" => "envelopedData".into(),
        other => pbe::name_of(other),
    }
}
