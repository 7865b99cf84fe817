//! The flags that name a certificate and key, turned once into the backend that holds them.
//!
//! Sniffing follows the official helper: a `pkcs11:` URI in `--certificate` or `--private-key`
//! means a token; `--private-key handle:...` means a TPM; otherwise files, where the key file's
//! contents decide further (a `TSS2 PRIVATE KEY` is a TPM key; no `--private-key` means a
//! combined PEM or a PKCS#12 bundle).

use std::path::{Path, PathBuf};

use super::cert_selector::CertSelector;
use super::certificate::{read_certificates, Certificate};
use super::error::{Error, Result};
use super::file::FileSource;
use super::pkcs11::{self, Pkcs11Source};
use super::tpm::{self, TpmAuth, TpmHandleSource};
use super::{Secret, Signer, X509Signer};

/// The key-source flags shared by every command that signs (`--certificate`, `--private-key`,
/// `--intermediates`, `--pkcs8-password`, ...), still unvalidated.
#[derive(Debug, Default)]
#[non_exhaustive]
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
    /// `--cert-selector`, as given.
    pub cert_selector: Option<String>,
    /// `--reuse-pin`.
    pub reuse_pin: bool,
    /// `--tpm-key-password`.
    pub tpm_key_password: Option<Secret>,
    /// `--no-tpm-key-password`.
    pub no_tpm_key_password: bool,
    /// `--system-store-name`, when given (Windows only).
    pub system_store_name: Option<String>,
    /// `--use-latest-expiring-certificate` (certificate stores only).
    pub use_latest_expiring_certificate: bool,
}

/// Where the signing identity comes from, decided once from the flags. Cloneable so `serve` and
/// `update` can open it again and pick up renewed files.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Source {
    /// Certificate (and maybe chain) and key in files.
    Files(FileSource),
    /// A key (and maybe its certificate) in a PKCS#11 token.
    Pkcs11(Box<Pkcs11Source>),
    /// A key in a TPM 2.0, by persistent handle, and its certificate files.
    TpmHandle(Box<TpmHandleSource>),
    /// A platform certificate store (`--cert-selector`).
    CertStore,
}

impl Source {
    /// Chooses the backend for a certificate and its key, as the official helper does.
    ///
    /// # Errors
    /// When the flags name no certificate, or name one in a way no backend accepts.
    pub fn from_args(args: SourceArgs) -> Result<Source> {
        Source::sniff(args, true)
    }

    /// Like [`Source::from_args`], but a private key on its own is enough (`sign-string`).
    ///
    /// # Errors
    /// As [`Source::from_args`].
    pub fn key_from_args(args: SourceArgs) -> Result<Source> {
        Source::sniff(args, false)
    }

    fn sniff(args: SourceArgs, need_certificate: bool) -> Result<Source> {
        // The official helper parses the selector before anything else.
        let selector = match args.cert_selector.as_deref() {
            Some(s) if !s.is_empty() => Some(CertSelector::parse(s)?),
            _ => None,
        };
        // Flags that do nothing here say so rather than be ignored. With a selector, the
        // store's own refusal follows.
        if selector.is_none() {
            if args.system_store_name.is_some() {
                return Err(Error::StoreFlagWithoutSelector {
                    flag: "--system-store-name",
                    store: "Windows certificate store",
                });
            }
            if args.use_latest_expiring_certificate {
                return Err(Error::StoreFlagWithoutSelector {
                    flag: "--use-latest-expiring-certificate",
                    store: "macOS Keychain or a Windows certificate store",
                });
            }
        }
        if !tpm::ENABLED && (args.tpm_key_password.is_some() || args.no_tpm_key_password) {
            return Err(Error::NotInThisBuild {
                what: if args.no_tpm_key_password {
                    "--no-tpm-key-password"
                } else {
                    "--tpm-key-password"
                },
                feature: "tpm",
            });
        }
        let is_pkcs11 = |v: &Option<String>| v.as_deref().is_some_and(|v| v.starts_with("pkcs11:"));
        if is_pkcs11(&args.certificate) || is_pkcs11(&args.private_key) {
            return Pkcs11Source::from_args(args, need_certificate)
                .map(|p| Source::Pkcs11(Box::new(p)));
        }
        let tpm = TpmAuth::new(args.tpm_key_password, args.no_tpm_key_password);
        if let Some(handle) = args
            .private_key
            .as_deref()
            .filter(|k| k.starts_with(tpm::HANDLE_PREFIX))
        {
            if need_certificate && args.certificate.is_none() {
                return Err(Error::NoCertificateGiven);
            }
            return Ok(Source::TpmHandle(Box::new(TpmHandleSource {
                handle: handle.to_string(),
                certificate: args.certificate.map(PathBuf::from),
                intermediates: args.intermediates.map(PathBuf::from),
                auth: tpm,
            })));
        }
        if args.certificate.is_none() {
            if selector.is_some() {
                return Ok(Source::CertStore);
            }
            if need_certificate {
                return Err(Error::NoCertificateGiven);
            }
            if args.private_key.is_none() {
                return Err(Error::NoKeyGiven);
            }
        }
        Ok(Source::Files(FileSource {
            certificate: args.certificate.map(PathBuf::from),
            private_key: args.private_key.map(PathBuf::from),
            intermediates: args.intermediates.map(PathBuf::from),
            password: args.password,
            tpm,
        }))
    }

    /// Opens the identity: reads files, logs in to tokens, and checks that the key matches the
    /// certificate before anything is signed or sent.
    ///
    /// # Errors
    /// Any read, parse, password or mismatch failure, with a message naming the file.
    pub fn open(&self) -> Result<Box<dyn X509Signer>> {
        match self {
            Source::Files(files) => Ok(Box::new(files.open()?)),
            Source::Pkcs11(token) => token.open(),
            Source::TpmHandle(key) => key.open(),
            Source::CertStore => Err(Error::CertStore),
        }
    }

    /// Opens the private key, with its certificate when one was named (the key must then match
    /// it), for commands that only sign.
    ///
    /// # Errors
    /// As [`Source::open`].
    pub fn open_key(&self) -> Result<Box<dyn Signer>> {
        match self {
            Source::Files(files) if files.certificate.is_none() => files.open_key(),
            Source::Pkcs11(token) => token.open_key(),
            Source::TpmHandle(key) => key.open_key(),
            other => Ok(as_signer(other.open()?)),
        }
    }

    /// What identifies the identity in the credential cache's key, without opening the key (no
    /// password, no PIN): the SHA-256 of the certificate and chain files (a renewed certificate
    /// changes it), where the key is, and for tokens the certificate read from the token.
    /// Never a secret: a combined certificate-and-key file is only hashed.
    ///
    /// # Errors
    /// When the certificate cannot be read, and for sources that cannot be opened here.
    pub fn cache_identity(&self) -> Result<String> {
        match self {
            Source::Files(files) => {
                let mut parts = Vec::new();
                if let Some(path) = &files.certificate {
                    parts.push(format!("certificate={}", super::file::fingerprint(path)?));
                }
                if let Some(path) = &files.private_key {
                    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                    parts.push(format!("key={}", path.display()));
                }
                if let Some(path) = &files.intermediates {
                    parts.push(format!("intermediates={}", super::file::fingerprint(path)?));
                }
                Ok(parts.join("\n"))
            }
            Source::Pkcs11(token) => token.cache_identity(),
            Source::TpmHandle(key) => {
                let mut parts = vec![format!("tpm={}", key.handle)];
                for (name, path) in [
                    ("certificate", &key.certificate),
                    ("intermediates", &key.intermediates),
                ] {
                    if let Some(path) = path {
                        parts.push(format!("{name}={}", super::file::fingerprint(path)?));
                    }
                }
                Ok(parts.join("\n"))
            }
            Source::CertStore => Err(Error::CertStore),
        }
    }

    /// The files the identity is read from, to notice when they are renewed on disk; empty
    /// for keys that live in a device.
    pub fn files(&self) -> Vec<&Path> {
        match self {
            Source::Files(files) => [
                files.certificate.as_deref(),
                files.private_key.as_deref(),
                files.intermediates.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect(),
            Source::TpmHandle(key) => key.files(),
            _ => Vec::new(),
        }
    }
}

/// One of the inputs an identity is made of, to say which one a failure is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input {
    /// The certificate (a file, or in a token): without it nothing can be judged.
    Certificate,
    /// The private key (a file, a bundle and its password, a token, a TPM): the certificate can
    /// still be judged on its own.
    PrivateKey,
    /// The intermediates file: the path to the trust anchor cannot be checked.
    Intermediates,
}

impl Source {
    /// Which input a failure of [`Source::open`] is about, from the error's kind and the file it
    /// names. A file holding both the certificate and the key (a combined PEM, a PKCS#12 bundle)
    /// counts as the key: its certificate cannot be read without it.
    pub fn blame(&self, error: &Error) -> Input {
        let path = match error {
            Error::NoCertificateGiven => return Input::Certificate,
            Error::NoCertificate { path } | Error::Certificate { path, .. } => {
                let intermediates = matches!(self, Source::Files(f)
                    if f.intermediates.as_deref() == Some(path.as_path()));
                return if intermediates {
                    Input::Intermediates
                } else {
                    Input::Certificate
                };
            }
            Error::ReadFile { path, .. }
            | Error::EmptyFile { path, .. }
            | Error::Pem { path, .. }
            | Error::FileTooLarge { path, .. }
            | Error::UnsupportedKey { path, .. } => path,
            _ => return Input::PrivateKey,
        };
        let Source::Files(files) = self else {
            return Input::PrivateKey;
        };
        let is = |p: &Option<PathBuf>| p.as_deref() == Some(path.as_path());
        if is(&files.private_key) {
            Input::PrivateKey
        } else if is(&files.intermediates) {
            Input::Intermediates
        } else if is(&files.certificate) && files.private_key.is_some() {
            Input::Certificate
        } else {
            Input::PrivateKey
        }
    }

    /// The certificate and its chain (leaf excluded) read from their files without the key, to
    /// judge a certificate whose key does not open (the usual state of a renewal in progress).
    /// `None` when the certificate is not in a file of its own (it is in the token, or in a
    /// bundle with the key), or cannot be read; an unreadable
    /// intermediates file gives an empty chain.
    pub fn certificate_alone(&self) -> Option<(Certificate, Vec<Certificate>)> {
        let (certificate, intermediates) = match self {
            Source::Files(files) => (
                files.certificate.as_deref()?,
                files.intermediates.as_deref(),
            ),
            Source::TpmHandle(key) => (key.certificate.as_deref()?, key.intermediates.as_deref()),
            Source::Pkcs11(token) => token.certificate_files()?,
            Source::CertStore => return None,
        };
        let mut certificates = read_certificates(certificate).ok()?;
        let leaf = certificates.remove(0);
        let mut chain = match intermediates {
            Some(path) => read_certificates(path).unwrap_or_default(),
            None => certificates,
        };
        chain.retain(|c| c.der() != leaf.der());
        Some((leaf, chain))
    }

    /// Whether the official helper's signer for this source knows its public key before
    /// signing: always, but for a PKCS#11 key whose certificate does not come from the token
    /// (see [`Pkcs11Source::knows_public_key`]). `sign-string` leaves the public-key suffix
    /// out of its fixed string when it does not, as the official helper does.
    pub fn knows_public_key(&self) -> bool {
        match self {
            Source::Pkcs11(token) => token.knows_public_key(),
            _ => true,
        }
    }
}

fn as_signer(signer: Box<dyn X509Signer>) -> Box<dyn Signer> {
    signer
}

/// What a certificate argument names, for `read-certificate-data`.
pub enum Certificates {
    /// A certificate file: its first certificate, the leaf.
    File(Box<Certificate>),
    /// Every certificate matching a PKCS#11 URI, each with a URI naming exactly that object.
    Token(Vec<(String, Certificate)>),
}

/// Reads the certificate(s) that `certificate` (a file or a `pkcs11:` URI) names.
///
/// # Errors
/// When the file cannot be read, or the token cannot be searched.
pub fn certificates(certificate: &str, pkcs11_lib: Option<&str>) -> Result<Certificates> {
    if certificate.starts_with("pkcs11:") {
        return pkcs11::list_certificates(certificate, pkcs11_lib).map(Certificates::Token);
    }
    // The first certificate of the file is the leaf, as for credential-process.
    let leaf = read_certificates(Path::new(certificate))?.swap_remove(0);
    Ok(Certificates::File(Box::new(leaf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(certificate: Option<&str>, private_key: Option<&str>) -> SourceArgs {
        SourceArgs {
            certificate: certificate.map(str::to_string),
            private_key: private_key.map(str::to_string),
            ..SourceArgs::default()
        }
    }

    #[test]
    fn backends_are_sniffed_as_the_official_helper_does() {
        let kind = |s: Result<Source>| match s {
            Ok(Source::Files(f)) => format!("files cert={:?}", f.certificate.is_some()),
            Ok(Source::Pkcs11(_)) => "pkcs11".into(),
            Ok(Source::TpmHandle(_)) => "tpm".into(),
            Ok(Source::CertStore) => "store".into(),
            Err(e) => format!("error: {e}"),
        };
        let no_certificate = format!("error: {}", Error::NoCertificateGiven);
        let table: &[(Option<&str>, Option<&str>, bool, &str)] = &[
            (Some("c.pem"), Some("k.pem"), true, "files cert=true"),
            (Some("c.p12"), None, true, "files cert=true"),
            (Some("pkcs11:token=a"), None, true, "pkcs11"),
            (Some("c.pem"), Some("pkcs11:token=a"), true, "pkcs11"),
            (Some("c.pem"), Some("handle:0x81000001"), true, "tpm"),
            (None, Some("handle:0x81000001"), false, "tpm"),
            (None, Some("handle:0x81000001"), true, &no_certificate),
            (None, Some("k.pem"), false, "files cert=false"),
            (None, Some("pkcs11:token=a"), false, "pkcs11"),
        ];
        for (certificate, key, need, want) in table {
            let sniffed = Source::sniff(args(*certificate, *key), *need);
            assert_eq!(&kind(sniffed), want, "{certificate:?} {key:?}");
        }
        let store = SourceArgs {
            cert_selector: Some("Key=x509Subject,Value=CN=y".into()),
            ..SourceArgs::default()
        };
        assert_eq!(kind(Source::from_args(store)), "store");
        let none = Source::sniff(args(None, None), true);
        assert!(kind(none).starts_with("error: no certificate given"));
        let none = Source::sniff(args(None, None), false);
        assert!(kind(none).starts_with("error: no private key given"));
        let key_alone = Source::from_args(args(None, Some("k.pem")));
        assert!(kind(key_alone).starts_with("error: no certificate given"));
    }
}
