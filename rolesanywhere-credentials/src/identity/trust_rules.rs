//! What IAM Roles Anywhere requires of a signing certificate on its own: the trust model's rules
//! for end-entity certificates ([`end_entity_rules`]), read strictly: X.509 v3, basicConstraints
//! present with CA:FALSE, keyUsage present with digitalSignature, a certificate signature of
//! SHA-256 or stronger, and an RSA or EC P-256/P-384/P-521 (or ML-DSA) key. The path to a trust
//! anchor is [`super::trust_path`]'s; signatures are [`super::signatures`]'.

use std::time::{Duration, SystemTime};

use x509_parser::prelude::{FromDer, X509Certificate, X509Version};

use super::certificate::{Certificate, PublicKey};

/// Smallest RSA key the official helper signs with (Go refuses smaller); below 2048 bits is
/// accepted but called weak.
const RSA_MIN_BITS: usize = 1024;
/// RSA keys below this size are reported as weak.
const RSA_STRONG_BITS: usize = 2048;
/// Largest RSA key the helper loads.
const RSA_MAX_BITS: usize = 16384;

/// One end-entity rule of the trust model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
pub(crate) fn signature_algorithm(cert: &X509Certificate<'_>) -> Verdict {
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

/// Seconds since the epoch as `2025-01-02T03:04:05Z`.
pub fn iso8601(secs: i64) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
