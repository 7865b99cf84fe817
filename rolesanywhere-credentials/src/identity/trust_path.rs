//! The path from a certificate to a trust anchor, checked locally as IAM Roles Anywhere checks
//! it, for `validate`.
//!
//! * [`PathCheck::verify_path`]: real path validation from the leaf through the intermediates
//!   to a CA of the trust anchor's bundle, by `rustls-webpki` (names, signatures, validity, CA
//!   flags, path length, name constraints, critical extensions), plus what the trust model adds
//!   for CA certificates (keyCertSign; the anchor itself valid and a CA).
//! * [`PathCheck::check_revocation`]: the path again with CRLs, as a trust anchor uses the CRLs
//!   imported into it (any age, signed by the issuer).
//!
//! rustls-webpki rather than our own path search: it is audited, already in the tree (rustls
//! uses it), builds paths through unordered intermediates, and checks CRLs. It ignores keyUsage
//! on CA certificates and never looks at the anchor's own dates, so those checks are added here.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use super::certificate::Certificate;
use super::error::{Error, Result};
use super::pem;

use super::signatures::SUPPORTED;
use super::trust_rules::{iso8601, signature_algorithm, Verdict};

/// Reads a trust anchor's CA bundle (PEM with one or more certificates, or one DER
/// certificate), as a trust anchor is created from it.
///
/// # Errors
/// When the file cannot be read or holds no certificate.
pub fn read_bundle(path: &Path) -> Result<Vec<Certificate>> {
    super::certificate::read_certificates(path)
}

/// A certificate revocation list, read and parsed.
#[derive(Clone, Debug)]
pub struct Crl {
    path: PathBuf,
    der: Vec<u8>,
}

impl Crl {
    /// Reads a CRL in PEM (`X509 CRL`) or DER.
    ///
    /// # Errors
    /// When the file cannot be read or is not a CRL.
    pub fn read(path: &Path) -> Result<Crl> {
        let data = super::read::read_file(path, "a certificate revocation list")?;
        let der = if pem::is_pem(&data) {
            let blocks = pem::parse(&data).map_err(|detail| Error::pem(path, detail))?;
            blocks
                .into_iter()
                .find(|b| b.label == "X509 CRL")
                .map(|b| b.der.to_vec())
                .ok_or_else(|| Error::Crl {
                    path: path.to_path_buf(),
                    detail: "no X509 CRL block".into(),
                })?
        } else {
            data.to_vec()
        };
        let crl = Crl {
            path: path.to_path_buf(),
            der,
        };
        crl.parsed().map_err(|detail| Error::Crl {
            path: path.to_path_buf(),
            detail,
        })?;
        webpki::BorrowedCertRevocationList::from_der(&crl.der).map_err(|e| Error::Crl {
            path: path.to_path_buf(),
            detail: format!("{e:?}"),
        })?;
        Ok(crl)
    }

    fn parsed(&self) -> std::result::Result<CertificateRevocationList<'_>, String> {
        match CertificateRevocationList::from_der(&self.der) {
            Ok(([], crl)) => Ok(crl),
            Ok(_) => Err("trailing data after the CRL".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A certificate, the intermediates offered with it and the trust anchor's CA certificates: what
/// [`PathCheck::verify_path`] and [`PathCheck::check_revocation`] judge.
#[derive(Debug)]
pub struct PathCheck<'a> {
    leaf: &'a Certificate,
    intermediates: &'a [Certificate],
    anchors: &'a [Certificate],
    now: SystemTime,
}

impl<'a> PathCheck<'a> {
    /// Validates paths from `leaf` through `intermediates` (any order, unrelated ones ignored)
    /// to one of `anchors`, every certificate of the path (the anchor's too) valid at `now`.
    pub fn new(
        leaf: &'a Certificate,
        intermediates: &'a [Certificate],
        anchors: &'a [Certificate],
        now: SystemTime,
    ) -> PathCheck<'a> {
        PathCheck {
            leaf,
            intermediates,
            anchors,
            now,
        }
    }

    /// The path from the leaf to an anchor, as subject names leaf first, or why there is none.
    pub fn verify_path(&self) -> Verdict {
        self.run(None)
    }

    /// The path again with `crls`: whether a certificate of it is revoked.
    ///
    /// `Err` says which certificate is revoked (and when, and why), or why the CRLs cannot
    /// vouch for the leaf: none is issued by its issuer, or one does not verify.
    pub fn check_revocation(&self, crls: &[Crl]) -> Verdict {
        let leaf_issuer = self.leaf.issuer().to_string();
        let mut covering = None;
        for crl in crls {
            let parsed = crl
                .parsed()
                .map_err(|e| format!("{}: {e}", crl.path.display()))?;
            if parsed.issuer().to_string() == leaf_issuer {
                covering = Some((crl, parsed));
            }
        }
        let Some((crl, parsed)) = covering else {
            return Err(format!(
                "no CRL given is issued by the certificate's issuer '{leaf_issuer}', so its \
                 revocation cannot be checked"
            ));
        };
        match self.run_inner(Some(crls)) {
            Ok(_) => {}
            Err((Some(webpki::Error::CertRevoked), _)) => return Err(self.revoked(crls)),
            Err((_, why)) => return Err(why),
        }
        let next = parsed
            .next_update()
            .map(|t| {
                let at = t.timestamp();
                if at < unix(self.now) {
                    format!(
                        "; its nextUpdate, {}, has passed: import a fresh CRL",
                        iso8601(at)
                    )
                } else {
                    format!(", next update {}", iso8601(at))
                }
            })
            .unwrap_or_default();
        Ok(format!(
            "serial {} is not in the CRL of '{leaf_issuer}' ({}, issued {}{next})",
            self.leaf.serial_hex(),
            crl.path.display(),
            iso8601(parsed.last_update().timestamp())
        ))
    }

    /// Which certificate of the path a CRL revokes, when, and why.
    fn revoked(&self, crls: &[Crl]) -> String {
        let path = std::iter::once(self.leaf).chain(self.intermediates);
        for cert in path {
            for crl in crls {
                let Ok(parsed) = crl.parsed() else { continue };
                if parsed.issuer().to_string() != cert.issuer() {
                    continue;
                }
                let found = parsed
                    .iter_revoked_certificates()
                    .find(|r| super::certificate::serial_hex(r.raw_serial()) == cert.serial_hex());
                if let Some(revoked) = found {
                    let reason = revoked
                        .reason_code()
                        .map(|(_, r)| format!(" ({r})"))
                        .unwrap_or_default();
                    return format!(
                        "'{}' (serial {}) was revoked on {}{reason}, says the CRL {}",
                        cert.subject(),
                        cert.serial_hex(),
                        iso8601(revoked.revocation_date.timestamp()),
                        crl.path.display()
                    );
                }
            }
        }
        "a certificate of the path is revoked".into()
    }

    fn run(&self, crls: Option<&[Crl]>) -> Verdict {
        self.run_inner(crls).map_err(|(_, why)| why)
    }

    /// The path, or webpki's verdict (when it made one) and what it means.
    fn run_inner(
        &self,
        crls: Option<&[Crl]>,
    ) -> std::result::Result<String, (Option<webpki::Error>, String)> {
        let anchors_der: Vec<CertificateDer<'_>> = self
            .anchors
            .iter()
            .map(|c| CertificateDer::from(c.der()))
            .collect();
        let mut anchors = Vec::new();
        for (der, cert) in anchors_der.iter().zip(self.anchors) {
            match webpki::anchor_from_trusted_cert(der) {
                Ok(anchor) => anchors.push(anchor),
                Err(e) => {
                    let why = format!(
                        "the CA certificate '{}' cannot be a trust anchor: {}",
                        cert.subject(),
                        describe(&e)
                    );
                    return Err((Some(e), why));
                }
            }
        }
        let intermediates: Vec<CertificateDer<'_>> = self
            .intermediates
            .iter()
            .map(|c| CertificateDer::from(c.der()))
            .collect();
        let leaf_der = CertificateDer::from(self.leaf.der());
        let leaf = webpki::EndEntityCert::try_from(&leaf_der).map_err(|e| {
            let why = format!("the certificate cannot be validated: {}", describe(&e));
            (Some(e), why)
        })?;

        let borrowed: Vec<webpki::CertRevocationList<'_>> = match crls {
            None => Vec::new(),
            Some(crls) => crls
                .iter()
                .map(|c| {
                    webpki::BorrowedCertRevocationList::from_der(&c.der)
                        .map(Into::into)
                        .map_err(|e| {
                            let why = format!("{}: {}", c.path.display(), describe(&e));
                            (Some(e), why)
                        })
                })
                .collect::<std::result::Result<_, _>>()?,
        };
        let refs: Vec<&webpki::CertRevocationList<'_>> = borrowed.iter().collect();
        let revocation = match webpki::RevocationOptionsBuilder::new(&refs) {
            Ok(builder) => Some(
                builder
                    .with_depth(webpki::RevocationCheckDepth::Chain)
                    .with_status_policy(webpki::UnknownStatusPolicy::Allow)
                    .with_expiration_policy(webpki::ExpirationPolicy::Ignore)
                    .build(),
            ),
            Err(_) => None,
        };

        // Our own refusal of a path webpki accepted, kept to explain the failure.
        let refused: RefCell<Option<String>> = RefCell::new(None);
        let extra = |path: &webpki::VerifiedPath<'_>| -> std::result::Result<(), webpki::Error> {
            match self.trust_model_ca_rules(path) {
                Ok(()) => Ok(()),
                Err(why) => {
                    *refused.borrow_mut() = Some(why);
                    Err(webpki::Error::UnknownIssuer)
                }
            }
        };
        let time = UnixTime::since_unix_epoch(
            self.now
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default(),
        );
        let verified = leaf.verify_for_usage(
            SUPPORTED,
            &anchors,
            &intermediates,
            time,
            AnyKeyPurpose,
            revocation,
            Some(&extra),
        );
        match verified {
            Ok(path) => {
                let mut names = vec![self.leaf.subject().to_string()];
                for cert in path.intermediate_certificates() {
                    names.push(subject_of(cert.der().as_ref()));
                }
                names.push(anchor_name(path.anchor(), self.anchors));
                Ok(names.join(" <- "))
            }
            Err(e) => match refused.into_inner() {
                Some(why) if matches!(e, webpki::Error::UnknownIssuer) => Err((None, why)),
                _ => {
                    let why = describe(&e);
                    Err((Some(e), why))
                }
            },
        }
    }

    /// What the trust model adds to webpki for the CA certificates of a path: each
    /// intermediate allows keyCertSign and is valid now; the anchor certificate is a CA, allows
    /// keyCertSign and is valid now, and its own signature is SHA-256 or stronger.
    fn trust_model_ca_rules(
        &self,
        path: &webpki::VerifiedPath<'_>,
    ) -> std::result::Result<(), String> {
        for cert in path.intermediate_certificates() {
            let der = cert.der();
            let (_, parsed) = X509Certificate::from_der(der.as_ref())
                .map_err(|e| format!("an intermediate cannot be parsed ({e})"))?;
            self.ca_rules(&parsed, "intermediate")?;
        }
        let anchor = path.anchor();
        let Some(cert) = self.anchors.iter().find(|c| is_anchor(c, anchor)) else {
            return Ok(());
        };
        let (_, parsed) = X509Certificate::from_der(cert.der())
            .map_err(|e| format!("a CA certificate cannot be parsed ({e})"))?;
        match parsed.basic_constraints() {
            Ok(Some(bc)) if bc.value.ca => {}
            _ => {
                return Err(format!(
                    "the CA certificate '{}' is not a CA (basicConstraints CA:TRUE missing); a \
                     trust anchor's certificates must be CAs",
                    parsed.subject()
                ))
            }
        }
        self.ca_rules(&parsed, "CA")?;
        signature_algorithm(&parsed)
            .map(drop)
            .map_err(|why| format!("the CA certificate '{}' is {why}", parsed.subject()))
    }

    fn ca_rules(&self, ca: &X509Certificate<'_>, role: &str) -> std::result::Result<(), String> {
        let now = unix(self.now);
        let validity = ca.validity();
        if now < validity.not_before.timestamp() || now > validity.not_after.timestamp() {
            return Err(format!(
                "the {role} certificate '{}' is not valid now (valid {} to {})",
                ca.subject(),
                iso8601(validity.not_before.timestamp()),
                iso8601(validity.not_after.timestamp())
            ));
        }
        match ca.key_usage() {
            Ok(Some(ku)) if !ku.value.key_cert_sign() => Err(format!(
                "the {role} certificate '{}' has keyUsage {} without keyCertSign, so it may not \
                 issue certificates",
                ca.subject(),
                ku.value
            )),
            Err(e) => Err(format!(
                "the {role} certificate '{}' has a malformed keyUsage ({e})",
                ca.subject()
            )),
            _ => Ok(()),
        }
    }
}

fn is_anchor(cert: &Certificate, anchor: &TrustAnchor<'_>) -> bool {
    let der = CertificateDer::from(cert.der());
    webpki::anchor_from_trusted_cert(&der).is_ok_and(|a| {
        a.subject.as_ref() == anchor.subject.as_ref()
            && a.subject_public_key_info.as_ref() == anchor.subject_public_key_info.as_ref()
    })
}

fn anchor_name(anchor: &TrustAnchor<'_>, anchors: &[Certificate]) -> String {
    anchors
        .iter()
        .find(|c| is_anchor(c, anchor))
        .map(|c| format!("{} (trust anchor)", c.subject()))
        .unwrap_or_else(|| "(trust anchor)".into())
}

fn subject_of(der: &[u8]) -> String {
    X509Certificate::from_der(der)
        .map(|(_, c)| c.subject().to_string())
        .unwrap_or_default()
}

/// Roles Anywhere names no extended key usage; any (or none) is accepted.
struct AnyKeyPurpose;

impl webpki::ExtendedKeyUsageValidator for AnyKeyPurpose {
    fn validate(
        &self,
        iter: webpki::KeyPurposeIdIter<'_, '_>,
    ) -> std::result::Result<(), webpki::Error> {
        for purpose in iter {
            purpose?;
        }
        Ok(())
    }
}

/// webpki's verdicts as sentences.
fn describe(e: &webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => "no path to a CA of the trust anchor bundle: no certificate given \
                             (intermediates or bundle) issued it; pass the intermediates with \
                             --intermediates or a fullchain --certificate"
            .into(),
        E::CertExpired { not_after, .. } => format!(
            "a certificate of the path expired on {}",
            iso8601(secs(not_after))
        ),
        E::CertNotValidYet { not_before, .. } => format!(
            "a certificate of the path is not valid until {}",
            iso8601(secs(not_before))
        ),
        E::InvalidSignatureForPublicKey => {
            "a certificate's signature does not verify with its issuer's key".into()
        }
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate of the path is signed with an algorithm that is refused (SHA-1, MD5, \
             or an RSA key under 2048 bits)"
                .into()
        }
        E::CaUsedAsEndEntity => "the certificate is a CA (CA:TRUE), not an end entity".into(),
        E::EndEntityUsedAsCa => {
            "an issuer of the path is not a CA (basicConstraints CA:TRUE missing)".into()
        }
        E::PathLenConstraintViolated => {
            "an issuer's pathLenConstraint allows fewer intermediates below it".into()
        }
        E::NameConstraintViolation => "a name violates an issuer's name constraints".into(),
        E::UnsupportedCriticalExtension => {
            "a certificate of the path has a critical extension that is not understood".into()
        }
        E::UnsupportedCertVersion => "the certificate is not X.509 v3".into(),
        E::CertRevoked => "a certificate of the path is revoked".into(),
        E::InvalidCrlSignatureForPublicKey => {
            "a CRL's signature does not verify with its issuer's key: it is not that CA's CRL"
                .into()
        }
        E::IssuerNotCrlSigner => "a CRL's issuer lacks the cRLSign key usage".into(),
        E::UnsupportedCrlVersion => "a CRL is not version 2".into(),
        E::UnsupportedDeltaCrl => "delta CRLs are not supported".into(),
        E::UnsupportedIndirectCrl => "indirect CRLs are not supported".into(),
        E::MaximumPathDepthExceeded | E::MaximumPathBuildCallsExceeded => {
            "the path is too long".into()
        }
        other => format!("{other:?}"),
    }
}

fn secs(t: &UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
