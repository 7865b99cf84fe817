//! Keys and certificates in PKCS#11 tokens (smart cards, HSMs, SoftHSM), named by RFC 7512 URIs:
//! the backend compiled in with the `pkcs11` feature.
//!
//! The search follows the official helper, which follows the IETF draft on certificate best
//! practice (draft-woodhouse-cert-best-practice, section 8):
//!
//! 1. Load the module (`--pkcs11-lib`, else the URI's `module-path`, else p11-kit's proxy, which
//!    exposes every module registered with p11-kit).
//! 2. Look for certificates matching the URI in every matching token without logging in; if none
//!    is found and exactly one token matches, log in to it and look again (private certificates).
//!    More than one match is an error listing the candidates.
//! 3. Find the private key: with the `--private-key` URI when given, otherwise with the
//!    certificate's `CKA_ID` and label, then its `CKA_ID` alone, then any key in the token, each
//!    time keeping only the keys whose public half is the certificate's.
//! 4. Sign inside the token: `CKM_SHA{256,384,512}_RSA_PKCS` for RSA; `CKM_ECDSA` over our own
//!    digest for EC, converting the token's raw `r || s` to DER.
//!
//! PINs come from the URI (`pin-value`, `pin-source`), then [`PIN_ENV`], then a prompt on the
//! terminal. They live in `Pin` (zeroized on drop, never printed) and are kept only as long as
//! the signer, for `--reuse-pin`, for keys with `CKA_ALWAYS_AUTHENTICATE`, and to log in again
//! without prompting when the session is lost and the signer finds its key again.
//!
//! The parts: `device` (the module and its tokens), `search` (certificates and keys in a token),
//! `login` (PINs and logging in), `sign` (the signer, signing and reconnecting), `describe`
//! (return values as messages), `uri` (RFC 7512).

mod describe;
mod device;
mod login;
mod operation;
mod pin;
mod search;
mod sign;
// The product's only unsafe code: one C_Sign call (see its documentation).
#[allow(unsafe_code)]
mod single_sign;
mod uri;

use std::path::{Path, PathBuf};

use self::device::Device;
use self::sign::Pkcs11Key;
use self::uri::Uri;
use crate::identity::certificate::{read_certificates, Certificate, PublicKey};
use crate::identity::error::{Error, Result};
use crate::identity::{Digest, Signer, SourceArgs, X509Signer};

/// The environment variable holding the token PIN on unattended hosts (kept out of `ps`).
pub const PIN_ENV: &str = "AWS_SIGNING_HELPER_PKCS11_PIN";

/// The module loaded when neither `--pkcs11-lib` nor `module-path` names one.
#[cfg(target_os = "macos")]
const DEFAULT_MODULE: &str = "p11-kit-proxy.dylib";

#[cfg(windows)]
const DEFAULT_MODULE: &str = "p11-kit-proxy.dll";

#[cfg(not(any(target_os = "macos", windows)))]
const DEFAULT_MODULE: &str = "p11-kit-proxy.so";

/// Where the certificate comes from when the key is in a token.
#[derive(Clone, Debug)]
pub enum CertificateSource {
    /// A certificate object in a token.
    Token(Box<Uri>),
    /// A certificate file (the hybrid mode): its first certificate is the leaf.
    File(PathBuf),
}

/// The PKCS#11 flags, parsed: what [`crate::identity::Source::Pkcs11`] holds.
#[derive(Clone, Debug)]
pub struct Pkcs11Source {
    /// `--certificate`.
    pub certificate: Option<CertificateSource>,
    /// `--private-key`, when it is a URI; otherwise the key is looked for beside the certificate.
    pub private_key: Option<Uri>,
    /// `--intermediates`; without it a token certificate's chain comes from the same token.
    pub intermediates: Option<PathBuf>,
    /// `--pkcs11-lib`.
    pub module: Option<String>,
    /// `--reuse-pin`.
    pub reuse_pin: bool,
}

impl Pkcs11Source {
    /// The certificate and intermediates files, when the certificate is a file (the key alone
    /// being in the token).
    pub fn certificate_files(&self) -> Option<(&Path, Option<&Path>)> {
        match &self.certificate {
            Some(CertificateSource::File(path)) => Some((path, self.intermediates.as_deref())),
            _ => None,
        }
    }

    /// Whether the official helper's PKCS#11 signer knows its public key: only when the
    /// certificate comes from the token by URI (or no key URI is given, the key then being found
    /// beside that certificate). `sign-string` leaves the public-key suffix out of its fixed
    /// string otherwise, as the official helper does.
    pub fn knows_public_key(&self) -> bool {
        self.private_key.is_none() || matches!(self.certificate, Some(CertificateSource::Token(_)))
    }

    /// Parses the flags when `--certificate` or `--private-key` is a `pkcs11:` URI.
    ///
    /// # Errors
    /// A URI that does not parse, or a combination the official helper cannot use either.
    /// Without `need_certificate`, a key URI on its own is enough (`sign-string`).
    pub fn from_args(args: SourceArgs, need_certificate: bool) -> Result<Pkcs11Source> {
        let certificate = match args.certificate {
            Some(c) if c.starts_with("pkcs11:") => {
                Some(CertificateSource::Token(Box::new(parse(&c)?)))
            }
            Some(c) => Some(CertificateSource::File(PathBuf::from(c))),
            None => None,
        };
        let private_key = match args.private_key {
            Some(k) if k.starts_with("pkcs11:") => Some(parse(&k)?),
            Some(k) => return Err(Error::Pkcs11KeyFile { key: k }),
            None => None,
        };
        if certificate.is_none() && need_certificate {
            return Err(Error::Pkcs11NoCertificate);
        }
        Ok(Pkcs11Source {
            certificate,
            private_key,
            intermediates: args.intermediates.map(PathBuf::from),
            module: args.pkcs11_lib,
            reuse_pin: args.reuse_pin,
        })
    }

    /// What identifies this identity in the credential cache's key: the certificate's
    /// SHA-256 (read from the token without logging in when it is there), the key's URI
    /// (PIN blanked) and the module. Nothing secret.
    ///
    /// # Errors
    /// When the certificate cannot be read.
    pub fn cache_identity(&self) -> Result<String> {
        let mut parts = Vec::new();
        match &self.certificate {
            Some(CertificateSource::File(path)) => {
                parts.push(format!(
                    "certificate={}",
                    crate::identity::file::fingerprint(path)?
                ));
            }
            Some(CertificateSource::Token(uri)) => {
                let mut device = Device::open(self.module.as_deref(), uri, (**uri).clone())?;
                for found in device.find_certificates(uri)? {
                    parts.push(format!(
                        "certificate={}",
                        crate::identity::file::sha256_hex(found.certificate.der())
                    ));
                }
                parts.push(format!("certificate_uri={uri}"));
            }
            None => {}
        }
        if let Some(key) = &self.private_key {
            parts.push(format!("key={key}"));
        }
        if let Some(path) = &self.intermediates {
            parts.push(format!(
                "intermediates={}",
                crate::identity::file::fingerprint(path)?
            ));
        }
        parts.push(format!(
            "module={}",
            self.module.as_deref().unwrap_or_default()
        ));
        Ok(parts.join("\n"))
    }

    /// Loads the module, finds the certificate and its key, and logs in.
    ///
    /// # Errors
    /// Module, URI, search, PIN and token failures, each with its own message.
    pub fn open(&self) -> Result<Box<dyn X509Signer>> {
        if self.certificate.is_none() {
            return Err(Error::Pkcs11NoCertificate);
        }
        let (found, key) = self.open_parts()?;
        let (certificate, chain) = found.ok_or(Error::Pkcs11NoCertificate)?;
        Ok(Box::new(Pkcs11Signer {
            certificate,
            chain,
            key,
        }))
    }

    /// Loads the module and finds the key (checking it against the certificate when one was
    /// named), for commands that only sign.
    ///
    /// # Errors
    /// As [`Pkcs11Source::open`]; also when a key URI alone matches several keys.
    pub fn open_key(&self) -> Result<Box<dyn Signer>> {
        let (found, key) = self.open_parts()?;
        Ok(match found {
            Some((certificate, chain)) => Box::new(Pkcs11Signer {
                certificate,
                chain,
                key,
            }),
            None => Box::new(key),
        })
    }

    fn open_parts(&self) -> Result<(Option<Identity>, Pkcs11Key)> {
        let cert_uri = match &self.certificate {
            Some(CertificateSource::Token(uri)) => Some(uri.as_ref()),
            _ => None,
        };
        // The URI that names the module and carries the PIN: the key's when given (as the
        // official helper reads `pin-value` from the key URI first), else the certificate's.
        let main_uri = self
            .private_key
            .as_ref()
            .or(cert_uri)
            .ok_or(Error::Pkcs11NoCertificate)?;
        let pin_uri = [self.private_key.as_ref(), cert_uri]
            .into_iter()
            .flatten()
            .find(|u| u.pin_value.is_some() || u.pin_source.is_some())
            .unwrap_or(main_uri)
            .clone();
        let mut device = Device::open(self.module.as_deref(), main_uri, pin_uri)?;

        let (certificate, cert_token) = match &self.certificate {
            None => (None, None),
            Some(CertificateSource::File(path)) => {
                let mut certificates = read_certificates(path)?.into_iter();
                let leaf = certificates
                    .next()
                    .ok_or_else(|| Error::NoCertificate { path: path.clone() })?;
                let chain = match &self.intermediates {
                    Some(p) => read_certificates(p)?,
                    None => certificates.collect(),
                };
                (Some((leaf, chain, None)), None)
            }
            Some(CertificateSource::Token(uri)) => {
                let mut found = device.find_certificates(uri)?;
                if found.len() > 1 {
                    return Err(Error::Pkcs11Ambiguous {
                        count: found.len(),
                        what: "certificates",
                        uri: uri.to_string(),
                        candidates: found
                            .iter()
                            .map(|c| device.object_uri(c.token, &c.id, &c.label, "cert"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                let Some(cert) = found.pop() else {
                    return Err(device.not_found("certificate", uri));
                };
                crate::debug!(
                    "PKCS#11: certificate {}",
                    device.object_uri(cert.token, &cert.id, &cert.label, "cert")
                );
                let chain = match &self.intermediates {
                    Some(p) => read_certificates(p)?,
                    None => device.chain(cert.token, &cert.certificate)?,
                };
                let token = cert.token;
                (
                    Some((cert.certificate, chain, Some((cert.id, cert.label)))),
                    Some(token),
                )
            }
        };

        let cert_key = match &certificate {
            Some((leaf, _, _)) => Some(
                leaf.public_key()
                    .map_err(|what| Error::Pkcs11NotFound {
                        what: "usable certificate",
                        uri: main_uri.to_string(),
                        detail: format!(
                            ": the certificate holds a {what} key, which Roles Anywhere cannot use"
                        ),
                    })?
                    .clone(),
            ),
            None => None,
        };
        let key_uri = match &self.private_key {
            Some(uri) => uri.clone(),
            // Look beside the certificate: same token, then the search below by its CKA_ID.
            None => main_uri.token_part(),
        };
        let token = device.key_token(&key_uri, cert_token)?;
        device.login(token)?;

        // The searches to try, in order (draft-woodhouse-cert-best-practice, section 8.2).
        let mut searches: Vec<LabelAndId> = Vec::new();
        match (&self.private_key, &certificate) {
            (Some(uri), _) => searches.push((uri.object.clone(), uri.id.clone())),
            (None, Some((_, _, Some((id, label))))) => {
                let had_label = cert_uri.is_some_and(|u| u.object.is_some());
                if had_label && !label.is_empty() {
                    searches.push((Some(label.clone()), Some(id.clone())));
                }
                searches.push((None, Some(id.clone())));
                // When IDs differ, the public key decides.
                searches.push((None, None));
            }
            (None, _) => searches.push((None, None)),
        }
        if key_uri
            .object_type
            .is_some_and(|t| t != uri::ObjectType::Private)
        {
            searches.clear();
        }
        let mut candidates_seen = 0;
        for (label, id) in searches {
            let mut keys = device.private_keys(token, label.as_deref(), id.as_deref())?;
            candidates_seen += keys.len();
            // When several keys could be the certificate's, try first those that sign without a
            // PIN at every signature, as the official helper prefers them (a stable sort keeps
            // the token's order otherwise).
            keys.sort_by_key(|k| k.always_auth);
            let Some(cert_key) = &cert_key else {
                // No certificate to compare with: the URI must name exactly one key.
                if keys.len() > 1 {
                    return Err(Error::Pkcs11Ambiguous {
                        count: keys.len(),
                        what: "private keys",
                        uri: key_uri.to_string(),
                        candidates: keys
                            .iter()
                            .map(|k| k.uri.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                if let Some(key) = keys.into_iter().next() {
                    let public_key = device.public_key_of(token, &key)?;
                    return Ok((
                        None,
                        device.into_key(token, key, public_key, &key_uri, self.reuse_pin),
                    ));
                }
                continue;
            };
            for key in keys {
                if device.key_matches(token, &key, cert_key, self.reuse_pin)? {
                    crate::debug!("PKCS#11: private key {}", key.uri);
                    let (leaf, chain, _) =
                        certificate.expect("a certificate key implies a certificate");
                    let key =
                        device.into_key(token, key, cert_key.clone(), &key_uri, self.reuse_pin);
                    return Ok((Some((leaf, chain)), key));
                }
            }
        }
        let detail = match (candidates_seen, &certificate) {
            (0, _) => format!(" in token {}", device.tokens[token].name()),
            (n, _) => format!(
                ": {n} private key(s) in token {} but none belongs to the certificate",
                device.tokens[token].name()
            ),
        };
        Err(Error::Pkcs11NotFound {
            what: "private key",
            uri: key_uri.to_string(),
            detail,
        })
    }
}

/// Every certificate matching `uri`, as `read-certificate-data --certificate pkcs11:...` lists.
///
/// # Errors
/// Module, URI and token failures.
pub fn list_certificates(uri: &str, module: Option<&str>) -> Result<Vec<(String, Certificate)>> {
    let uri = parse(uri)?;
    let mut device = Device::open(module, &uri, uri.clone())?;
    let found = device.find_certificates(&uri)?;
    Ok(found
        .into_iter()
        .map(|c| {
            (
                device.object_uri(c.token, &c.id, &c.label, "cert"),
                c.certificate,
            )
        })
        .collect())
}

fn parse(text: &str) -> Result<Uri> {
    Uri::parse(text).map_err(|detail| Error::Pkcs11Uri {
        uri: uri::redact(text),
        detail,
    })
}

/// A leaf certificate and its chain.
type Identity = (Certificate, Vec<Certificate>);

/// `CKA_LABEL` and `CKA_ID` to search for; `None` matches any.
type LabelAndId = (Option<Vec<u8>>, Option<Vec<u8>>);

/// A certificate and a private key, the key in a token.
#[derive(Debug)]
pub struct Pkcs11Signer {
    certificate: Certificate,
    chain: Vec<Certificate>,
    key: Pkcs11Key,
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        self.key.sign(message, digest)
    }
}

impl X509Signer for Pkcs11Signer {
    fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    fn chain(&self) -> &[Certificate] {
        &self.chain
    }
}

/// The fuzzing entry point for URIs (see `identity::fuzzing`): whatever `text` is, messages
/// never show a `pin-value`, and an object's URI as the helper writes it parses back to the same
/// object.
#[doc(hidden)]
pub fn fuzz_uri(text: &str) {
    let redacted = uri::redact(text);
    for (at, _) in redacted.match_indices("pin-value=") {
        let value = &redacted[at + "pin-value=".len()..];
        assert!(
            value.starts_with("***") || value.is_empty() || value.starts_with([';', '&', '?']),
            "a pin-value shown: {redacted:?}"
        );
    }
    let Ok(parsed) = Uri::parse(text) else {
        return;
    };
    if parsed.pin_value.is_some() {
        let shown = parsed.to_string();
        assert!(
            !shown.contains("pin-value=") || shown.contains("***"),
            "{shown}"
        );
    }
    let labels = uri::TokenLabels {
        label: parsed.token.as_deref().unwrap_or_default(),
        manufacturer: parsed.manufacturer.as_deref().unwrap_or_default(),
        model: parsed.model.as_deref().unwrap_or_default(),
        serial: parsed.serial.as_deref().unwrap_or_default(),
    };
    let id = parsed.id.clone().unwrap_or_default();
    let label = parsed.object.clone().unwrap_or_default();
    let written = uri::format(&labels, &id, &label, "cert");
    let again = Uri::parse(&written).expect("a URI the helper writes parses");
    assert_eq!(again.id.unwrap_or_default(), id, "{written}");
    assert_eq!(again.object.unwrap_or_default(), label, "{written}");
}
