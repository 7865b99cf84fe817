//! Signatures checked locally: the certificate signature algorithms a path may use
//! (`SUPPORTED`: ring's, and P-521 and ML-DSA verifiers of ours), and
//! [`signature_verifies`], whether a signature made through the signer abstraction verifies
//! with a certificate's public key (the proof that a key is the certificate's).

use rustls_pki_types::{
    alg_id, AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm,
};
use sha2::Digest as _;

use super::certificate::{Curve, MlDsaLevel, PublicKey};

/// The certificate signatures accepted on a path: RSA (PKCS#1 v1.5 and PSS, 2048 to 8192 bits)
/// and ECDSA P-256/P-384 (ring), ECDSA P-521 (RustCrypto, which ring lacks); SHA-256 or
/// stronger only, so SHA-1 and MD5 signatures fail as the trust model wants.
pub(crate) static SUPPORTED: &[&dyn SignatureVerificationAlgorithm] = &[
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
