//! A TPM key's public area: its public key in our normalised form, whether we can sign with it,
//! and the signing scheme and digest to give TPM2_Sign for a SHA-2 digest.

use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::structures::{EccScheme, HashScheme, Public, RsaScheme, SignatureScheme};

use crate::identity::certificate::{Curve, PublicKey};
use crate::identity::Digest;

/// How a key signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// RSASSA-PKCS1-v1_5; `fixed` when the key's public area pins the hash.
    Rsa { fixed: Option<Digest> },
    /// ECDSA on a curve of `bytes` bytes; `fixed` when the key pins the hash.
    Ec { bytes: usize, fixed: Option<Digest> },
}

/// The public key and signing kind of a public area, or what makes it unusable (completing
/// "... is ").
pub(super) fn inspect(public: &Public) -> Result<(PublicKey, Kind), String> {
    let attributes = public.object_attributes();
    if !attributes.sign_encrypt() {
        return Err("a key without the sign attribute (a storage or decryption key)".into());
    }
    if attributes.restricted() {
        return Err(
            "a restricted signing key (an attestation key), which signs only digests the TPM made"
                .into(),
        );
    }
    match public {
        Public::Rsa {
            parameters, unique, ..
        } => {
            let fixed = match parameters.rsa_scheme() {
                RsaScheme::Null => None,
                RsaScheme::RsaSsa(hash) => Some(digest_of(hash, "RSASSA")?),
                RsaScheme::RsaPss(_) => {
                    return Err("an RSA key bound to RSA-PSS, which IAM Roles Anywhere does not accept (it needs PKCS#1 v1.5)".into())
                }
                other => return Err(format!("an RSA key bound to {other:?}, which does not sign")),
            };
            let exponent = match parameters.exponent().value() {
                0 => 65537,
                e => e,
            };
            Ok((
                PublicKey::rsa(unique.value(), &exponent.to_be_bytes()),
                Kind::Rsa { fixed },
            ))
        }
        Public::Ecc {
            parameters, unique, ..
        } => {
            let (curve, bytes) = match parameters.ecc_curve() {
                EccCurve::NistP256 => (Curve::P256, 32),
                EccCurve::NistP384 => (Curve::P384, 48),
                EccCurve::NistP521 => (Curve::P521, 66),
                other => {
                    return Err(format!(
                        "an ECC key on {other:?}, which IAM Roles Anywhere does not accept"
                    ))
                }
            };
            let fixed = match parameters.ecc_scheme() {
                EccScheme::Null => None,
                EccScheme::EcDsa(hash) => Some(digest_of(hash, "ECDSA")?),
                other => {
                    return Err(format!(
                        "an ECC key bound to {other:?}, where IAM Roles Anywhere needs ECDSA"
                    ))
                }
            };
            let mut point = vec![0x04];
            for coordinate in [unique.x().value(), unique.y().value()] {
                if coordinate.len() > bytes {
                    return Err("an ECC key whose public point is malformed".into());
                }
                point.resize(point.len() + bytes - coordinate.len(), 0);
                point.extend_from_slice(coordinate);
            }
            Ok((PublicKey::Ec { curve, point }, Kind::Ec { bytes, fixed }))
        }
        _ => Err("not an RSA or ECC key".into()),
    }
}

fn digest_of(hash: HashScheme, scheme: &str) -> Result<Digest, String> {
    match hash.hashing_algorithm() {
        HashingAlgorithm::Sha256 => Ok(Digest::Sha256),
        HashingAlgorithm::Sha384 => Ok(Digest::Sha384),
        HashingAlgorithm::Sha512 => Ok(Digest::Sha512),
        other => Err(format!("a key bound to {scheme} with {other:?}")),
    }
}

fn bytes_of(digest: Digest) -> usize {
    match digest {
        Digest::Sha256 => 32,
        Digest::Sha384 => 48,
        Digest::Sha512 => 64,
    }
}

fn algorithm(digest: Digest) -> HashingAlgorithm {
    match digest {
        Digest::Sha256 => HashingAlgorithm::Sha256,
        Digest::Sha384 => HashingAlgorithm::Sha384,
        Digest::Sha512 => HashingAlgorithm::Sha512,
    }
}

/// The scheme and digest to give TPM2_Sign for `digest`, the hash of the message with `hash`;
/// or why this key cannot (completing "cannot sign ...").
///
/// RSA signs with RSASSA and the digest's own hash. ECDSA uses only the digest's value, so, as
/// the official helper does, the TPM is given the hash that fits the curve (SHA-256 for P-256,
/// SHA-384 for P-384, SHA-512 for P-521) and the digest shortened to the curve's size or padded
/// with leading zeros, which ECDSA reads as the same number: the signature is the one for the
/// digest asked for, and TPMs that pair curves with hashes accept it.
pub(super) fn plan(
    kind: Kind,
    hash: Digest,
    digest: &[u8],
) -> Result<(SignatureScheme, Vec<u8>), String> {
    match kind {
        Kind::Rsa { fixed } => match fixed {
            Some(fixed) if fixed != hash => Err(format!(
                "with {hash:?}: the key is bound to RSASSA with {fixed:?}"
            )),
            _ => Ok((
                SignatureScheme::RsaSsa {
                    hash_scheme: HashScheme::new(algorithm(hash)),
                },
                digest.to_vec(),
            )),
        },
        Kind::Ec { bytes, fixed } => {
            let tpm_hash = fixed.unwrap_or(match bytes {
                32 => Digest::Sha256,
                48 => Digest::Sha384,
                _ => Digest::Sha512,
            });
            let size = bytes_of(tpm_hash);
            // ECDSA reads the leftmost curve-size bytes of a digest as a number. Padding keeps
            // that number when the digest is no longer than the curve; cutting keeps it when
            // what remains is exactly the curve's size.
            let same_number = if digest.len() <= bytes {
                size >= digest.len() && size <= bytes
            } else {
                size == bytes
            };
            if !same_number {
                return Err(format!(
                    "with {hash:?}: the key is bound to ECDSA with {tpm_hash:?}"
                ));
            }
            let mut adjusted = vec![0; size.saturating_sub(digest.len())];
            adjusted.extend_from_slice(&digest[..digest.len().min(size)]);
            Ok((
                SignatureScheme::EcDsa {
                    hash_scheme: HashScheme::new(algorithm(tpm_hash)),
                },
                adjusted,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of_plan(kind: Kind, hash: Digest, digest: &[u8]) -> Result<Vec<u8>, String> {
        plan(kind, hash, digest).map(|(_, d)| d)
    }

    #[test]
    fn ecdsa_digests_fit_the_curve_and_keep_their_value() {
        let d32: Vec<u8> = (1..=32).collect();
        let d48: Vec<u8> = (1..=48).collect();
        let d64: Vec<u8> = (1..=64).collect();
        let p256 = Kind::Ec {
            bytes: 32,
            fixed: None,
        };
        let p384 = Kind::Ec {
            bytes: 48,
            fixed: None,
        };
        let p521 = Kind::Ec {
            bytes: 66,
            fixed: None,
        };
        // Shorter digests are padded on the left, longer ones cut to the curve's size.
        let mut padded = vec![0; 16];
        padded.extend(&d32);
        assert_eq!(digest_of_plan(p384, Digest::Sha256, &d32).unwrap(), padded);
        assert_eq!(digest_of_plan(p256, Digest::Sha384, &d48).unwrap(), d32);
        assert_eq!(digest_of_plan(p256, Digest::Sha512, &d64).unwrap(), d32);
        assert_eq!(digest_of_plan(p521, Digest::Sha512, &d64).unwrap(), d64);
        assert_eq!(
            digest_of_plan(p521, Digest::Sha256, &d32).unwrap().len(),
            64
        );
        // A key bound to a hash shorter than the digest and the curve cannot give the same
        // number; one bound to the digest's own hash can.
        let p384_sha256 = Kind::Ec {
            bytes: 48,
            fixed: Some(Digest::Sha256),
        };
        assert_eq!(
            digest_of_plan(p384_sha256, Digest::Sha256, &d32).unwrap(),
            d32
        );
        assert!(digest_of_plan(p384_sha256, Digest::Sha384, &d48).is_err());
        let rsa = Kind::Rsa {
            fixed: Some(Digest::Sha256),
        };
        assert!(plan(rsa, Digest::Sha256, &d32).is_ok());
        let err = plan(rsa, Digest::Sha512, &d64).unwrap_err();
        assert!(err.contains("bound to RSASSA"), "{err}");
    }
}
