//! What IAM Roles Anywhere requires of a signing certificate, checked locally, for `validate`.
//!
//! * [`end_entity_rules`]: the trust model's rules for end-entity certificates, read strictly:
//!   X.509 v3, basicConstraints present with CA:FALSE, keyUsage present with digitalSignature, a
//!   certificate signature of SHA-256 or stronger, and an RSA or EC P-256/P-384/P-521 key.
//! * [`PathCheck::verify_path`]: real path validation from the leaf through the intermediates
//!   to a CA of the trust anchor's bundle, by `rustls-webpki` (names, signatures, validity, CA
//!   flags, path length, name constraints, critical extensions), plus what the trust model adds
//!   for CA certificates (keyCertSign; the anchor itself valid and a CA).
//! * [`PathCheck::check_revocation`]: the path again with CRLs, as a trust anchor uses the CRLs
//!   imported into it (any age, signed by the issuer).
//! * [`signature_verifies`]: whether a signature made through the signer abstraction verifies
//!   with a certificate's public key (the proof that a key is the certificate's).
//!
//! rustls-webpki rather than our own path search: it is audited, already in the tree (rustls
//! uses it), builds paths through unordered intermediates, and checks CRLs. It ignores keyUsage
//! on CA certificates and never looks at the anchor's own dates, so those checks are added here.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rustls_pki_types::{
    alg_id, AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
    TrustAnchor, UnixTime,
};
use sha2::Digest as _;
use x509_parser::prelude::{FromDer, X509Certificate, X509Version};
use x509_parser::revocation_list::CertificateRevocationList;

use super::certificate::{Certificate, Curve, MlDsaLevel, PublicKey};
use super::error::{Error, Result};
use super::pem;

/// Smallest RSA key the official helper signs with (Go refuses smaller); below 2048 bits is
/// accepted but called weak.
const RSA_MIN_BITS: usize = 1024;
/// RSA keys below this size are reported as weak.
const RSA_STRONG_BITS: usize = 2048;
/// Largest RSA key the helper loads.
const RSA_MAX_BITS: usize = 16384;

/// One end-entity rule of the trust model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The certificate is X.509 v3.
    Version,
    /// basicConstraints is present and says CA:FALSE.
    BasicConstraints,
    /// keyUsage is present and includes digitalSignature.
    KeyUsage,
    /// The certificate is signed with SHA-256 or stronger, RSA or ECDSA.
    SignatureAlgorithm,
    /// The key is RSA or EC on a curve the service accepts.
    PublicKey,
}

impl Rule {
    /// The rule's name, as `validate` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Version => "version",
            Rule::BasicConstraints => "basic-constraints",
            Rule::KeyUsage => "key-usage",
            Rule::SignatureAlgorithm => "signature-algorithm",
            Rule::PublicKey => "public-key",
        }
    }
}

/// A check's result: what was found when it passed, why it failed otherwise.
pub type Verdict = std::result::Result<String, String>;

/// Judges `certificate` by each end-entity rule, in order.
pub fn end_entity_rules(certificate: &Certificate) -> Vec<(Rule, Verdict)> {
    let parsed = match X509Certificate::from_der(certificate.der()) {
        Ok((_, parsed)) => parsed,
        // Unreachable: a `Certificate` is made from DER that parsed.
        Err(e) => {
            let why = format!("cannot be parsed: {e}");
            return [
                Rule::Version,
                Rule::BasicConstraints,
                Rule::KeyUsage,
                Rule::SignatureAlgorithm,
                Rule::PublicKey,
            ]
            .into_iter()
            .map(|rule| (rule, Err(why.clone())))
            .collect();
        }
    };
    vec![
        (Rule::Version, version(&parsed)),
        (Rule::BasicConstraints, basic_constraints(&parsed)),
        (Rule::KeyUsage, key_usage(&parsed)),
        (Rule::SignatureAlgorithm, signature_algorithm(&parsed)),
        (Rule::PublicKey, public_key(certificate)),
    ]
}

fn version(cert: &X509Certificate<'_>) -> Verdict {
    match cert.version() {
        X509Version::V3 => Ok("X.509 v3".into()),
        X509Version(v) => Err(format!(
            "X.509 v{}; IAM Roles Anywhere accepts only v3 certificates (with extensions)",
            v + 1
        )),
    }
}

fn basic_constraints(cert: &X509Certificate<'_>) -> Verdict {
    match cert.basic_constraints() {
        Err(e) => Err(format!("the basicConstraints extension is malformed ({e})")),
        Ok(None) => Err(
            "no basicConstraints extension; IAM Roles Anywhere requires basicConstraints with \
             CA:FALSE in a signing certificate"
                .into(),
        ),
        Ok(Some(bc)) if bc.value.ca => Err(
            "basicConstraints says CA:TRUE; the signing certificate must be an end-entity \
             certificate (CA:FALSE)"
                .into(),
        ),
        Ok(Some(bc)) => Ok(format!(
            "CA:FALSE{}",
            if bc.critical { " (critical)" } else { "" }
        )),
    }
}

fn key_usage(cert: &X509Certificate<'_>) -> Verdict {
    match cert.key_usage() {
        Err(e) => Err(format!("the keyUsage extension is malformed ({e})")),
        Ok(None) => Err(
            "no keyUsage extension; IAM Roles Anywhere requires keyUsage with digitalSignature \
             (certmonger adds it with `-u digitalSignature`)"
                .into(),
        ),
        Ok(Some(ku)) if !ku.value.digital_signature() => Err(format!(
            "keyUsage is {} without digitalSignature; IAM Roles Anywhere requires \
             digitalSignature",
            ku.value
        )),
        Ok(Some(ku)) => Ok(ku.value.to_string()),
    }
}

/// Names of the certificate signature algorithms, and whether the trust model accepts them.
fn signature_algorithm(cert: &X509Certificate<'_>) -> Verdict {
    use x509_parser::signature_algorithm::SignatureAlgorithm;

    let oid = cert.signature_algorithm.algorithm.to_id_string();
    let strong = |name: &str| Ok(name.to_string());
    let weak = |name: &str| {
        Err(format!(
            "signed with {name}; IAM Roles Anywhere requires SHA-256 or stronger (MD5 and SHA-1 \
             are refused)"
        ))
    };
    match oid.as_str() {
        "1.2.840.113549.1.1.11" => strong("sha256WithRSAEncryption"),
        "1.2.840.113549.1.1.12" => strong("sha384WithRSAEncryption"),
        "1.2.840.113549.1.1.13" => strong("sha512WithRSAEncryption"),
        "1.2.840.10045.4.3.2" => strong("ecdsa-with-SHA256"),
        "1.2.840.10045.4.3.3" => strong("ecdsa-with-SHA384"),
        "1.2.840.10045.4.3.4" => strong("ecdsa-with-SHA512"),
        // ML-DSA (FIPS 204, RFC 9881) has no separate digest; parameters must be absent.
        "2.16.840.1.101.3.4.3.17" | "2.16.840.1.101.3.4.3.18" | "2.16.840.1.101.3.4.3.19"
            if cert.signature_algorithm.parameters.is_some() =>
        {
            Err("signed with ML-DSA with algorithm parameters, which RFC 9881 forbids".into())
        }
        "2.16.840.1.101.3.4.3.17" => strong("ML-DSA-44"),
        "2.16.840.1.101.3.4.3.18" => strong("ML-DSA-65"),
        "2.16.840.1.101.3.4.3.19" => strong("ML-DSA-87"),
        "1.2.840.113549.1.1.10" => match SignatureAlgorithm::try_from(&cert.signature_algorithm) {
            Ok(SignatureAlgorithm::RSASSA_PSS(params)) => {
                match params.hash_algorithm_oid().to_id_string().as_str() {
                    "2.16.840.1.101.3.4.2.1" => strong("RSASSA-PSS with SHA-256"),
                    "2.16.840.1.101.3.4.2.2" => strong("RSASSA-PSS with SHA-384"),
                    "2.16.840.1.101.3.4.2.3" => strong("RSASSA-PSS with SHA-512"),
                    other => weak(&format!("RSASSA-PSS with hash {other}")),
                }
            }
            _ => Err("RSASSA-PSS with malformed parameters".into()),
        },
        "1.2.840.113549.1.1.4" => weak("md5WithRSAEncryption"),
        "1.2.840.113549.1.1.5" => weak("sha1WithRSAEncryption"),
        "1.2.840.10045.4.1" => weak("ecdsa-with-SHA1"),
        "1.2.840.10040.4.3" => weak("dsa-with-SHA1"),
        "1.2.840.113549.1.1.14" => weak("sha224WithRSAEncryption"),
        "1.2.840.10045.4.3.1" => weak("ecdsa-with-SHA224"),
        "1.3.101.112" => Err(
            "signed with Ed25519; IAM Roles Anywhere accepts RSA and ECDSA certificate \
             signatures"
                .into(),
        ),
        other => Err(format!(
            "signed with algorithm {other}, which IAM Roles Anywhere does not accept (RSA or \
             ECDSA with SHA-256 or stronger, or ML-DSA)"
        )),
    }
}

fn public_key(certificate: &Certificate) -> Verdict {
    match certificate.public_key() {
        Err(what) => Err(format!(
            "unsupported key type {what}; IAM Roles Anywhere accepts RSA, EC P-256, P-384 or \
             P-521, and ML-DSA-44, -65 or -87 keys"
        )),
        Ok(key @ PublicKey::Rsa { .. }) => match key.bits() {
            bits if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) => Err(format!(
                "RSA-{bits}; use an RSA key of {RSA_STRONG_BITS} to {RSA_MAX_BITS} bits or an EC \
                 key"
            )),
            bits if bits < RSA_STRONG_BITS => Ok(format!(
                "RSA-{bits} (accepted as the official helper does, but weak: use \
                 {RSA_STRONG_BITS} bits or more)"
            )),
            _ => Ok(key.to_string()),
        },
        Ok(key) => Ok(key.to_string()),
    }
}

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
        let data = super::file::read_file(path, "a certificate revocation list")?;
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
                let found = parsed.iter_revoked_certificates().find(|r| {
                    r.serial()
                        .to_str_radix(16)
                        .eq_ignore_ascii_case(cert.serial_hex())
                });
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

/// The certificate signatures accepted on a path: RSA (PKCS#1 v1.5 and PSS, 2048 to 8192 bits)
/// and ECDSA P-256/P-384 (ring), ECDSA P-521 (RustCrypto, which ring lacks); SHA-256 or
/// stronger only, so SHA-1 and MD5 signatures fail as the trust model wants.
static SUPPORTED: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    &P521 {
        hash: alg_id::ECDSA_SHA256,
    },
    &P521 {
        hash: alg_id::ECDSA_SHA384,
    },
    &P521 {
        hash: alg_id::ECDSA_SHA512,
    },
    &MlDsa(MlDsaLevel::MlDsa44),
    &MlDsa(MlDsaLevel::MlDsa65),
    &MlDsa(MlDsaLevel::MlDsa87),
];

/// ML-DSA certificate signatures (pure, empty context: RFC 9881), for webpki, with RustCrypto's
/// `ml-dsa`; the key and the signature name the same parameter set.
#[derive(Debug)]
struct MlDsa(MlDsaLevel);

impl SignatureVerificationAlgorithm for MlDsa {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> std::result::Result<(), InvalidSignature> {
        if super::mldsa::signature_verifies(self.0, public_key, message, signature) {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.signature_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        match self.0 {
            MlDsaLevel::MlDsa44 => alg_id::ML_DSA_44,
            MlDsaLevel::MlDsa65 => alg_id::ML_DSA_65,
            MlDsaLevel::MlDsa87 => alg_id::ML_DSA_87,
        }
    }
}

/// ECDSA P-521 certificate signatures, for webpki, with RustCrypto's `p521`.
#[derive(Debug)]
struct P521 {
    hash: AlgorithmIdentifier,
}

impl SignatureVerificationAlgorithm for P521 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> std::result::Result<(), InvalidSignature> {
        let digest = if self.hash == alg_id::ECDSA_SHA256 {
            sha2::Sha256::digest(message).to_vec()
        } else if self.hash == alg_id::ECDSA_SHA384 {
            sha2::Sha384::digest(message).to_vec()
        } else {
            sha2::Sha512::digest(message).to_vec()
        };
        let key = PublicKey::ec(Curve::P521, public_key).ok_or(InvalidSignature)?;
        if p521_verifies_prehash(&key, &digest, signature) {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.hash
    }
}

/// Whether `signature` (PKCS#1 v1.5 for RSA, DER `ECDSA-Sig-Value` for EC, over SHA-256 of
/// `message`; pure ML-DSA over `message` itself) verifies with `public`: how a key made to sign through the signer abstraction
/// proves it is the certificate's.
pub fn signature_verifies(public: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;

    let digest = sha2::Sha256::digest(message);
    match public {
        PublicKey::Rsa { modulus, exponent } => rsa::RsaPublicKey::new_unchecked(
            rsa::BigUint::from_bytes_be(modulus),
            rsa::BigUint::from_bytes_be(exponent),
        )
        .verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, signature)
        .is_ok(),
        PublicKey::Ec { curve, point } => match curve {
            Curve::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .ok()
                .zip(p256::ecdsa::Signature::from_der(signature).ok())
                .is_some_and(|(k, s)| k.verify_prehash(&digest, &s).is_ok()),
            Curve::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .ok()
                .zip(p384::ecdsa::Signature::from_der(signature).ok())
                .is_some_and(|(k, s)| k.verify_prehash(&digest, &s).is_ok()),
            Curve::P521 => p521_verifies_prehash(public, &digest, signature),
        },
        // ML-DSA signs the message itself (see `Signer`).
        PublicKey::MlDsa { level, key } => {
            super::mldsa::signature_verifies(*level, key, message, signature)
        }
    }
}

/// ECDSA P-521 over a digest: the `ecdsa` crate wants at least half the field, so a shorter
/// digest is left-padded with zeros, which is the same integer ECDSA derives from it.
fn p521_verifies_prehash(public: &PublicKey, digest: &[u8], signature: &[u8]) -> bool {
    use p521::ecdsa::signature::hazmat::PrehashVerifier;

    const FIELD_BYTES: usize = 66;
    let PublicKey::Ec { point, .. } = public else {
        return false;
    };
    let mut padded = [0u8; FIELD_BYTES];
    let Some(start) = FIELD_BYTES.checked_sub(digest.len()) else {
        return false;
    };
    padded[start..].copy_from_slice(digest);
    p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
        .ok()
        .zip(p521::ecdsa::Signature::from_der(signature).ok())
        .is_some_and(|(k, s)| k.verify_prehash(&padded, &s).is_ok())
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

/// Seconds since the epoch as `2025-01-02T03:04:05Z`.
pub fn iso8601(secs: i64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
