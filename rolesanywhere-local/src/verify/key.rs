//! The signing certificate's public key and the AWS4-X509 [`Algorithm`] it signs with, as
//! independent verifiers of request signatures (the `rsa`, `p256`, `p384` and `p521` crates, and
//! `fips204` for ML-DSA: never the product's signing code).

use sha2::{Digest, Sha256};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_NIST_EC_P521,
    OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519,
};
use x509_parser::prelude::SubjectPublicKeyInfo;
use x509_parser::public_key::PublicKey as ParsedKey;

/// Largest RSA modulus accepted for a request signature, in bits.
const MAX_RSA_BITS: usize = 16_384;

/// The AWS4-X509 signing algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// `AWS4-X509-ECDSA-SHA256`: EC keys on P-256, P-384 or P-521.
    Ecdsa,
    /// `AWS4-X509-MLDSA`: ML-DSA-44, -65 or -87 keys, pure ML-DSA over the string to sign.
    MlDsa,
    /// `AWS4-X509-RSA-SHA256`: RSA keys, PKCS#1 v1.5 signatures.
    Rsa,
}

impl Algorithm {
    /// The algorithm's name in the `Authorization` header.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ecdsa => "AWS4-X509-ECDSA-SHA256",
            Algorithm::MlDsa => "AWS4-X509-MLDSA",
            Algorithm::Rsa => "AWS4-X509-RSA-SHA256",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "AWS4-X509-ECDSA-SHA256" => Some(Algorithm::Ecdsa),
            "AWS4-X509-MLDSA" => Some(Algorithm::MlDsa),
            "AWS4-X509-RSA-SHA256" => Some(Algorithm::Rsa),
            _ => None,
        }
    }
}

/// The public key of a signing certificate, in a form that can verify request signatures.
pub(crate) enum LeafKey {
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    P521(p521::ecdsa::VerifyingKey),
    Rsa(rsa::RsaPublicKey),
    MlDsa(crate::mldsa::MlDsaKey),
}

impl LeafKey {
    /// The key, or a description of its unsupported type.
    pub(crate) fn from_spki(spki: &SubjectPublicKeyInfo<'_>) -> Result<LeafKey, String> {
        if let Some(key) = crate::mldsa::MlDsaKey::from_spki(spki) {
            return key.map(LeafKey::MlDsa);
        }
        let alg = &spki.algorithm.algorithm;
        if *alg == OID_PKCS1_RSAENCRYPTION {
            let Ok(ParsedKey::RSA(rsa_key)) = spki.parsed() else {
                return Err("malformed RSA".into());
            };
            let n = rsa::BigUint::from_bytes_be(rsa_key.modulus);
            let e = rsa::BigUint::from_bytes_be(rsa_key.exponent);
            return rsa::RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS)
                .map(LeafKey::Rsa)
                .map_err(|e| format!("RSA ({e})"));
        }
        if *alg == OID_KEY_TYPE_EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            let point = spki.subject_public_key.data.as_ref();
            let malformed = |_| "malformed EC".to_string();
            return match curve {
                Some(c) if c == OID_EC_P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                    .map(LeafKey::P256)
                    .map_err(malformed),
                Some(c) if c == OID_NIST_EC_P384 => {
                    p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map(LeafKey::P384)
                        .map_err(malformed)
                }
                Some(c) if c == OID_NIST_EC_P521 => {
                    p521::ecdsa::VerifyingKey::from_sec1_bytes(point)
                        .map(LeafKey::P521)
                        .map_err(malformed)
                }
                Some(c) => Err(format!("EC on curve {c}")),
                None => Err("EC with explicit curve parameters".into()),
            };
        }
        if *alg == OID_SIG_ED25519 {
            return Err("Ed25519".into());
        }
        Err(format!("public key algorithm {alg}"))
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            LeafKey::Rsa(_) => Algorithm::Rsa,
            LeafKey::P256(_) | LeafKey::P384(_) | LeafKey::P521(_) => Algorithm::Ecdsa,
            LeafKey::MlDsa(_) => Algorithm::MlDsa,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            LeafKey::P256(_) => "EC P-256".into(),
            LeafKey::P384(_) => "EC P-384".into(),
            LeafKey::P521(_) => "EC P-521".into(),
            LeafKey::MlDsa(k) => k.describe().into(),
            LeafKey::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                format!("RSA-{}", k.n().bits())
            }
        }
    }

    /// Verifies `signature` over SHA-256(`message`): PKCS#1 v1.5 for RSA, a DER
    /// `ECDSA-Sig-Value` for EC (SHA-256 on every curve, as the AWS4-X509 algorithms specify);
    /// over `message` itself for ML-DSA.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;

        if let LeafKey::MlDsa(key) = self {
            return key.verify(message, signature);
        }
        let digest = Sha256::digest(message);
        match self {
            LeafKey::Rsa(key) => key
                .verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
                .is_ok(),
            LeafKey::P256(key) => p256::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify_prehash(&digest, &sig).is_ok()),
            LeafKey::P384(key) => p384::ecdsa::Signature::from_der(signature)
                .is_ok_and(|sig| key.verify_prehash(&digest, &sig).is_ok()),
            LeafKey::P521(key) => verify_p521_prehash(key, &digest, signature),
            // Verified above, without a digest.
            LeafKey::MlDsa(_) => false,
        }
    }
}

/// ECDSA P-521 over a digest shorter than the curve: the `ecdsa` crate refuses digests under
/// half the field size, so left-pad with zeros to the 66-byte field. That is the same integer the
/// ECDSA standard derives from a short digest (no truncation applies below 521 bits).
pub(crate) fn verify_p521_prehash(
    key: &p521::ecdsa::VerifyingKey,
    digest: &[u8],
    signature: &[u8],
) -> bool {
    use p521::ecdsa::signature::hazmat::PrehashVerifier;

    const FIELD_BYTES: usize = 66;
    let Ok(sig) = p521::ecdsa::Signature::from_der(signature) else {
        return false;
    };
    let mut padded = [0u8; FIELD_BYTES];
    let Some(start) = FIELD_BYTES.checked_sub(digest.len()) else {
        return false;
    };
    padded[start..].copy_from_slice(digest);
    key.verify_prehash(&padded, &sig).is_ok()
}
