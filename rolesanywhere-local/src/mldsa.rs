//! ML-DSA (FIPS 204) for the verifier: request signatures made with AWS4-X509-MLDSA and
//! certificates signed by ML-DSA CAs, verified with the `fips204` crate, an implementation
//! independent of the product's (RustCrypto `ml-dsa`).
//!
//! AWS4-X509-MLDSA signs the string to sign itself (pure ML-DSA, no pre-hash) with an empty
//! context, as the official helper v1.8 does; a certificate signed with `id-ml-dsa-*` is a pure
//! ML-DSA signature over the DER TBSCertificate, also with an empty context (RFC 9881). Keys and
//! signature algorithm identifiers must have absent parameters (RFC 9881, section 2).

use fips204::traits::{SerDes, Verifier};
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::{SubjectPublicKeyInfo, X509Certificate};

/// `id-ml-dsa-44`, `-65`, `-87` (2.16.840.1.101.3.4.3.17/18/19), for keys and signatures alike.
const OIDS: [(&str, Level); 3] = [
    ("2.16.840.1.101.3.4.3.17", Level::MlDsa44),
    ("2.16.840.1.101.3.4.3.18", Level::MlDsa65),
    ("2.16.840.1.101.3.4.3.19", Level::MlDsa87),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    MlDsa44,
    MlDsa65,
    MlDsa87,
}

/// An ML-DSA public key that can verify (boxed: `fips204` keeps the expanded matrix, up to 8 KiB).
pub(crate) enum MlDsaKey {
    L44(Box<fips204::ml_dsa_44::PublicKey>),
    L65(Box<fips204::ml_dsa_65::PublicKey>),
    L87(Box<fips204::ml_dsa_87::PublicKey>),
}

fn level_of(oid: &Oid<'_>) -> Option<Level> {
    let dotted = oid.to_id_string();
    OIDS.iter()
        .find(|(o, _)| *o == dotted)
        .map(|(_, level)| *level)
}

/// Whether `oid` is one of the three ML-DSA signature algorithms.
pub(crate) fn is_signature_oid(oid: &Oid<'_>) -> bool {
    level_of(oid).is_some()
}

impl MlDsaKey {
    /// `None` when the SPKI is not ML-DSA; otherwise the key or what is wrong with it.
    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfo<'_>) -> Option<Result<MlDsaKey, String>> {
        let level = level_of(&spki.algorithm.algorithm)?;
        if spki.algorithm.parameters.is_some() {
            return Some(Err("ML-DSA with algorithm parameters".into()));
        }
        let bytes = spki.subject_public_key.data.as_ref();
        let malformed = |_| format!("malformed {} public key", name(level));
        Some(match level {
            Level::MlDsa44 => bytes
                .try_into()
                .map_err(|_| ())
                .and_then(|b| fips204::ml_dsa_44::PublicKey::try_from_bytes(b).map_err(|_| ()))
                .map(|k| MlDsaKey::L44(Box::new(k)))
                .map_err(malformed),
            Level::MlDsa65 => bytes
                .try_into()
                .map_err(|_| ())
                .and_then(|b| fips204::ml_dsa_65::PublicKey::try_from_bytes(b).map_err(|_| ()))
                .map(|k| MlDsaKey::L65(Box::new(k)))
                .map_err(malformed),
            Level::MlDsa87 => bytes
                .try_into()
                .map_err(|_| ())
                .and_then(|b| fips204::ml_dsa_87::PublicKey::try_from_bytes(b).map_err(|_| ()))
                .map(|k| MlDsaKey::L87(Box::new(k)))
                .map_err(malformed),
        })
    }

    fn level(&self) -> Level {
        match self {
            MlDsaKey::L44(_) => Level::MlDsa44,
            MlDsaKey::L65(_) => Level::MlDsa65,
            MlDsaKey::L87(_) => Level::MlDsa87,
        }
    }

    /// `"ML-DSA-44"`, `"ML-DSA-65"` or `"ML-DSA-87"`.
    pub(crate) fn describe(&self) -> &'static str {
        name(self.level())
    }

    /// Verifies a pure ML-DSA `signature` over `message` itself, with an empty context.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            MlDsaKey::L44(k) => signature
                .try_into()
                .is_ok_and(|sig| k.verify(message, sig, &[])),
            MlDsaKey::L65(k) => signature
                .try_into()
                .is_ok_and(|sig| k.verify(message, sig, &[])),
            MlDsaKey::L87(k) => signature
                .try_into()
                .is_ok_and(|sig| k.verify(message, sig, &[])),
        }
    }
}

fn name(level: Level) -> &'static str {
    match level {
        Level::MlDsa44 => "ML-DSA-44",
        Level::MlDsa65 => "ML-DSA-65",
        Level::MlDsa87 => "ML-DSA-87",
    }
}

/// For a certificate signed with an ML-DSA algorithm: whether `issuer`'s key (of that same
/// parameter set) verifies it. `None` when the certificate's signature is not ML-DSA.
pub(crate) fn verify_issued(
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> Option<bool> {
    let level = level_of(&cert.signature_algorithm.algorithm)?;
    if cert.signature_algorithm.parameters.is_some() {
        return Some(false);
    }
    let Some(Ok(key)) = MlDsaKey::from_spki(issuer.public_key()) else {
        return Some(false);
    };
    Some(
        key.level() == level
            && key.verify(cert.tbs_certificate.as_ref(), &cert.signature_value.data),
    )
}
