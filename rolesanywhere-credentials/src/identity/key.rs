//! Private keys held in memory (read from files or PKCS#12 bundles) and how they sign.
//!
//! `ring` signs wherever it supports the key and digest (RSA 2048–4096 bits with any SHA-2,
//! ECDSA P-256 with SHA-256 and P-384 with SHA-384). RustCrypto's `rsa`, `p256`, `p384` and
//! `p521` cover the rest: RSA 1024 and over 4096 bits, P-384 with SHA-256 (what AWS4-X509 uses for
//! every curve), P-521, and the other `sign-string --digest` combinations. ML-DSA keys (FIPS 204)
//! are RustCrypto's `ml-dsa`; see [`mldsa`](super::mldsa) for the key encodings.

use std::fmt;

use pkcs8::der::Decode;
use sha2::Digest as _;
use zeroize::Zeroizing;

use super::certificate::{curve_name, Curve, MlDsaLevel, PublicKey};
pub(crate) use super::error::KeyError;
use super::mldsa::MlDsaKey;
use super::{Digest, Signer};

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";

/// Smallest RSA modulus we sign with: the official helper (Go's crypto/rsa) refuses smaller.
const RSA_MIN_BITS: usize = 1024;
/// Largest RSA modulus we accept; matches what the `rsa` crate will load.
const RSA_MAX_BITS: usize = 16384;

/// The private key kinds we can tell apart from PEM labels or DER structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyFormat {
    /// `PRIVATE KEY`: PKCS#8 `PrivateKeyInfo` (RFC 5208 / 5958).
    Pkcs8,
    /// `RSA PRIVATE KEY`: PKCS#1 `RSAPrivateKey`.
    Pkcs1,
    /// `EC PRIVATE KEY`: SEC1 `ECPrivateKey`.
    Sec1,
}

/// A private key in memory, ready to sign.
pub(crate) struct SoftwareKey {
    inner: Inner,
    public: PublicKey,
}

enum Inner {
    /// RSA 2048..=4096 bits: ring.
    RingRsa(ring::signature::RsaKeyPair),
    /// RSA sizes ring does not sign with.
    Rsa(Box<rsa::RsaPrivateKey>),
    /// EC keys. Signing keys are built when needed: a cold `credential-process` signs once, and
    /// building a key costs a scalar multiplication.
    Ec {
        curve: Curve,
        secret: Zeroizing<Vec<u8>>,
        /// P-256 with SHA-256 (every AWS4-X509 request): ring, validated at load time.
        p256_ring: Option<ring::signature::EcdsaKeyPair>,
    },
    /// ML-DSA-44, -65 or -87 (zeroized on drop by `ml-dsa`).
    MlDsa(MlDsaKey),
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Only the public half: key structs never print secrets.
        write!(f, "SoftwareKey({})", self.public)
    }
}

impl SoftwareKey {
    /// Parses an unencrypted private key of the given format.
    pub(crate) fn from_der(format: KeyFormat, der: &[u8]) -> Result<SoftwareKey, KeyError> {
        match format {
            KeyFormat::Pkcs1 => Self::rsa_from_pkcs1(der),
            KeyFormat::Sec1 => Self::ec_from_sec1(der, None),
            KeyFormat::Pkcs8 => {
                let info = pkcs8::PrivateKeyInfo::from_der(der)
                    .map_err(|e| KeyError::Malformed(format!("not PKCS#8: {e}")))?;
                let oid = info.algorithm.oid.to_string();
                match oid.as_str() {
                    OID_RSA => Self::rsa_from_pkcs1(info.private_key),
                    OID_EC => {
                        let curve = info
                            .algorithm
                            .parameters_oid()
                            .map(|o| o.to_string())
                            .unwrap_or_default();
                        Self::ec_from_sec1(info.private_key, Some(curve))
                    }
                    other => match MlDsaLevel::from_oid(other) {
                        Some(level) => Self::ml_dsa_from_pkcs8(level, &info),
                        None => Err(KeyError::Unsupported(algorithm_name(other))),
                    },
                }
            }
        }
    }

    /// Guesses the format of a DER key (no PEM label to go by).
    pub(crate) fn sniff_der(der: &[u8]) -> Result<SoftwareKey, KeyError> {
        if pkcs8::PrivateKeyInfo::from_der(der).is_ok() {
            return Self::from_der(KeyFormat::Pkcs8, der);
        }
        if rsa::pkcs1::RsaPrivateKey::from_der(der).is_ok() {
            return Self::from_der(KeyFormat::Pkcs1, der);
        }
        if sec1::EcPrivateKey::from_der(der).is_ok() {
            return Self::from_der(KeyFormat::Sec1, der);
        }
        Err(KeyError::Malformed(
            "not a PKCS#8, PKCS#1 or SEC1 private key".into(),
        ))
    }

    fn ml_dsa_from_pkcs8(
        level: MlDsaLevel,
        info: &pkcs8::PrivateKeyInfo<'_>,
    ) -> Result<SoftwareKey, KeyError> {
        if info.algorithm.parameters.is_some() {
            return Err(KeyError::Malformed(format!(
                "{level} key with algorithm parameters (RFC 9881 forbids them)"
            )));
        }
        let key = MlDsaKey::from_private_key(level, info.private_key)?;
        if let Some(stored) = info.public_key {
            if stored != key.public_key() {
                return Err(KeyError::Malformed(format!(
                    "the public key stored with the {level} private key is not its public key"
                )));
            }
        }
        let public = PublicKey::MlDsa {
            level,
            key: key.public_key().to_vec(),
        };
        Ok(SoftwareKey {
            inner: Inner::MlDsa(key),
            public,
        })
    }

    fn rsa_from_pkcs1(der: &[u8]) -> Result<SoftwareKey, KeyError> {
        // Structure first (cheap), so sizes are checked before any big-number work.
        let parsed = rsa::pkcs1::RsaPrivateKey::from_der(der)
            .map_err(|e| KeyError::Malformed(format!("not a PKCS#1 RSA key: {e}")))?;
        let public = PublicKey::rsa(parsed.modulus.as_bytes(), parsed.public_exponent.as_bytes());
        let bits = public.bits();
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(KeyError::Unsupported(format!(
                "RSA-{bits} (RSA keys must be {RSA_MIN_BITS} to {RSA_MAX_BITS} bits)"
            )));
        }
        // ring checks sizes and ranges but signs with the CRT values as given, and only then
        // refuses its own result: a key whose values disagree must be refused here, once.
        if !crt_consistent(&parsed) {
            return Err(KeyError::Malformed(
                "inconsistent RSA key: its values (modulus, exponents, primes, CRT coefficients) \
                 do not agree with each other"
                    .into(),
            ));
        }
        // ring validates the rest itself; it refuses sizes outside 2048..=4096 bits and unusual
        // exponents, which the RustCrypto implementation then handles.
        if let Ok(pair) = ring::signature::RsaKeyPair::from_der(der) {
            return Ok(SoftwareKey {
                inner: Inner::RingRsa(pair),
                public,
            });
        }
        use rsa::pkcs1::DecodeRsaPrivateKey;
        let key = rsa::RsaPrivateKey::from_pkcs1_der(der)
            .map_err(|e| KeyError::Malformed(format!("not a PKCS#1 RSA key: {e}")))?;
        key.validate()
            .map_err(|e| KeyError::Malformed(format!("inconsistent RSA key: {e}")))?;
        Ok(SoftwareKey {
            inner: Inner::Rsa(Box::new(key)),
            public,
        })
    }

    fn ec_from_sec1(der: &[u8], curve_oid: Option<String>) -> Result<SoftwareKey, KeyError> {
        let sec1_key = sec1::EcPrivateKey::from_der(der)
            .map_err(|e| KeyError::Malformed(format!("not a SEC1 EC key: {e}")))?;
        let oid = curve_oid
            .or_else(|| {
                sec1_key
                    .parameters
                    .and_then(|p| p.named_curve())
                    .map(|o| o.to_string())
            })
            .unwrap_or_default();
        let curve = Curve::from_oid(&oid)
            .ok_or_else(|| KeyError::Unsupported(format!("EC curve {}", curve_name(&oid))))?;
        let secret = Zeroizing::new(sec1_key.private_key.to_vec());
        let bad = |e: &dyn fmt::Display| KeyError::Malformed(format!("invalid {curve} key: {e}"));
        // OpenSSL always stores the public point; derive it only when it is missing.
        let point = match sec1_key.public_key {
            Some(point) => {
                PublicKey::ec(curve, point).ok_or_else(|| bad(&"invalid public point"))?
            }
            None => PublicKey::Ec {
                curve,
                point: derive_point(curve, &secret)
                    .map_err(|_| bad(&"the private scalar is out of range"))?,
            },
        };
        let PublicKey::Ec { point: raw, .. } = &point else {
            unreachable!("PublicKey::ec builds EC keys")
        };
        let p256_ring = match curve {
            // Checks that the secret and the point belong together.
            Curve::P256 => Some(
                ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                    &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    &secret,
                    raw,
                    &ring::rand::SystemRandom::new(),
                )
                .map_err(|e| bad(&e))?,
            ),
            _ => None,
        };
        // The other curves sign with the secret alone, so a stored point that is not the
        // secret's (or a secret out of range) would only show when signing.
        match curve {
            Curve::P256 => {}
            Curve::P384 => {
                ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                    &ring::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                    &secret,
                    raw,
                    &ring::rand::SystemRandom::new(),
                )
                .map_err(|_| bad(&"the public point is not the private key's"))?;
            }
            Curve::P521 => {
                let derived = derive_point(curve, &secret)
                    .map_err(|_| bad(&"the private scalar is out of range"))?;
                if derived != *raw {
                    return Err(bad(&"the public point is not the private key's"));
                }
            }
        }
        Ok(SoftwareKey {
            inner: Inner::Ec {
                curve,
                secret,
                p256_ring,
            },
            public: point,
        })
    }
}

impl Signer for SoftwareKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8], digest: Digest) -> super::Result<Vec<u8>> {
        self.sign_inner(message, digest).map_err(super::Error::Sign)
    }
}

impl SoftwareKey {
    /// Signs `message` (unhashed): PKCS#1 v1.5 for RSA, DER `ECDSA-Sig-Value` for EC, and for
    /// ML-DSA the message itself (no digest), deterministically with an empty context.
    fn sign_inner(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>, String> {
        use ring::signature as rs;
        let rng = ring::rand::SystemRandom::new();
        match &self.inner {
            Inner::MlDsa(key) => key.sign(message),
            Inner::RingRsa(pair) => {
                let padding: &'static dyn rs::RsaEncoding = match digest {
                    Digest::Sha256 => &rs::RSA_PKCS1_SHA256,
                    Digest::Sha384 => &rs::RSA_PKCS1_SHA384,
                    Digest::Sha512 => &rs::RSA_PKCS1_SHA512,
                };
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(padding, &rng, message, &mut signature)
                    .map_err(|_| "RSA signing failed".to_string())?;
                Ok(signature)
            }
            Inner::Rsa(key) => {
                let scheme = match digest {
                    Digest::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    Digest::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    Digest::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                key.sign_with_rng(&mut rand::rngs::OsRng, scheme, &digest.hash(message))
                    .map_err(|e| format!("RSA signing failed: {e}"))
            }
            Inner::Ec {
                p256_ring: Some(ring),
                ..
            } if digest == Digest::Sha256 => ring
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ECDSA signing failed".to_string()),
            Inner::Ec { curve, secret, .. } => {
                let failed = |e: &dyn fmt::Display| format!("ECDSA signing failed: {e}");
                let prehash = field_sized(&digest.hash(message), curve.field_bytes());
                match curve {
                    Curve::P256 => {
                        let key =
                            p256::ecdsa::SigningKey::from_slice(secret).map_err(|e| failed(&e))?;
                        sign_prehash::<p256::ecdsa::Signature>(&key, &prehash)
                    }
                    Curve::P384 if digest == Digest::Sha384 => {
                        let PublicKey::Ec { point, .. } = &self.public else {
                            return Err("not an EC key".into());
                        };
                        let pair = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                            &ring::signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                            secret,
                            point,
                            &rng,
                        )
                        .map_err(|e| failed(&e))?;
                        pair.sign(&rng, message)
                            .map(|s| s.as_ref().to_vec())
                            .map_err(|e| failed(&e))
                    }
                    Curve::P384 => {
                        let key =
                            p384::ecdsa::SigningKey::from_slice(secret).map_err(|e| failed(&e))?;
                        sign_prehash::<p384::ecdsa::Signature>(&key, &prehash)
                    }
                    Curve::P521 => {
                        let key =
                            p521::ecdsa::SigningKey::from_slice(secret).map_err(|e| failed(&e))?;
                        let signature: p521::ecdsa::Signature =
                            p256::ecdsa::signature::hazmat::RandomizedPrehashSigner::sign_prehash_with_rng(
                                &key,
                                &mut rand::rngs::OsRng,
                                &prehash,
                            )
                            .map_err(|e| failed(&e))?;
                        Ok(signature.to_der().as_bytes().to_vec())
                    }
                }
            }
        }
    }
}

/// The uncompressed public point of an EC secret scalar (which it also validates).
fn derive_point(curve: Curve, secret: &[u8]) -> Result<Vec<u8>, String> {
    let bad = |e: &dyn fmt::Display| e.to_string();
    Ok(match curve {
        Curve::P256 => p256::ecdsa::SigningKey::from_slice(secret)
            .map_err(|e| bad(&e))?
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::P384 => p384::ecdsa::SigningKey::from_slice(secret)
            .map_err(|e| bad(&e))?
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec(),
        Curve::P521 => {
            let key = p521::ecdsa::SigningKey::from_slice(secret).map_err(|e| bad(&e))?;
            p521::ecdsa::VerifyingKey::from(&key)
                .to_encoded_point(false)
                .as_bytes()
                .to_vec()
        }
    })
}

fn sign_prehash<S>(
    key: &impl p256::ecdsa::signature::hazmat::RandomizedPrehashSigner<S>,
    prehash: &[u8],
) -> Result<Vec<u8>, String>
where
    S: p256::ecdsa::signature::SignatureEncoding,
    S: ToDer,
{
    let signature = key
        .sign_prehash_with_rng(&mut rand::rngs::OsRng, prehash)
        .map_err(|e| format!("ECDSA signing failed: {e}"))?;
    Ok(signature.to_der_bytes())
}

/// DER encoding for the ECDSA signature types of each curve crate.
trait ToDer {
    fn to_der_bytes(&self) -> Vec<u8>;
}

impl ToDer for p256::ecdsa::Signature {
    fn to_der_bytes(&self) -> Vec<u8> {
        self.to_der().as_bytes().to_vec()
    }
}

impl ToDer for p384::ecdsa::Signature {
    fn to_der_bytes(&self) -> Vec<u8> {
        self.to_der().as_bytes().to_vec()
    }
}

/// Fits a digest to the curve's field size as ECDSA prescribes (FIPS 186-5, 6.4.1): a longer
/// digest keeps its leftmost bytes; a shorter one is the same integer, so it is left-padded with
/// zeros. (The `ecdsa` crate refuses digests shorter than half the field, e.g. SHA-256 on P-521.)
fn field_sized(digest: &[u8], field_bytes: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(vec![0u8; field_bytes]);
    if digest.len() >= field_bytes {
        out.copy_from_slice(&digest[..field_bytes]);
    } else {
        out[field_bytes - digest.len()..].copy_from_slice(digest);
    }
    out
}

impl Digest {
    /// Hashes `message` with this digest.
    pub fn hash(self, message: &[u8]) -> Vec<u8> {
        match self {
            Digest::Sha256 => sha2::Sha256::digest(message).to_vec(),
            Digest::Sha384 => sha2::Sha384::digest(message).to_vec(),
            Digest::Sha512 => sha2::Sha512::digest(message).to_vec(),
        }
    }
}

fn algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.10040.4.1" => "DSA".into(),
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.3.101.110" => "X25519".into(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS".into(),
        other => format!("with algorithm OID {other}"),
    }
}

/// Whether a PKCS#1 key's values agree, as a CRT signature needs them to: `n = p*q`,
/// `e*exponent1 = 1 mod (p-1)`, `e*exponent2 = 1 mod (q-1)`, `coefficient*q = 1 mod p`, and the
/// CRT exponents are the private exponent's (`exponent1 = d mod (p-1)`, `exponent2 = d mod
/// (q-1)`). A few big-number products and reductions (microseconds); every intermediate holding
/// private values is wiped.
fn crt_consistent(key: &rsa::pkcs1::RsaPrivateKey<'_>) -> bool {
    use rsa::BigUint;
    use zeroize::Zeroize;
    let int = |u: rsa::pkcs1::UintRef<'_>| BigUint::from_bytes_be(u.as_bytes());
    let one = BigUint::from(1u8);
    let (n, e) = (int(key.modulus), int(key.public_exponent));
    let mut values = [
        int(key.prime1),
        int(key.prime2),
        int(key.private_exponent),
        int(key.exponent1),
        int(key.exponent2),
        int(key.coefficient),
    ];
    let [p, q, d, dp, dq, qinv] = &values;
    let consistent = *p > one && *q > one && {
        let (p1, q1) = (p - &one, q - &one);
        let mut checks = [
            p * q,
            (&e * dp) % &p1,
            (&e * dq) % &q1,
            (qinv * q) % p,
            d % &p1,
            d % &q1,
        ];
        let ok = checks[0] == n
            && checks[1] == one
            && checks[2] == one
            && checks[3] == one
            && checks[4] == *dp
            && checks[5] == *dq;
        checks.iter_mut().for_each(Zeroize::zeroize);
        ok
    };
    values.iter_mut().for_each(Zeroize::zeroize);
    consistent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_fitted_to_the_field() {
        assert_eq!(&field_sized(&[1, 2], 4)[..], &[0, 0, 1, 2]);
        assert_eq!(&field_sized(&[1, 2, 3, 4, 5], 4)[..], &[1, 2, 3, 4]);
    }
}
