//! ML-DSA private keys (FIPS 204): the three encodings of RFC 9881's `ML-DSA-xx-PrivateKey`
//! inside a PKCS#8 `privateKey`, and signing as AWS4-X509-MLDSA needs it.
//!
//! | form | DER inside the `privateKey` OCTET STRING | who writes it |
//! |---|---|---|
//! | seed | `[0] IMPLICIT OCTET STRING` (32 bytes): `80 20 ξ` | Python `cryptography`, RustCrypto, RFC 9881's preference |
//! | expanded | `OCTET STRING` (2560/4032/4896 bytes): `04 82 .. sk` | older tools |
//! | both | `SEQUENCE { OCTET STRING ξ, OCTET STRING sk }` | OpenSSL 3.5 by default; the only form the official helper v1.8 reads |
//!
//! Every form is checked before it is used: the seed and expanded key of "both" must be the same
//! key, and an expanded key must re-encode to itself and make a signature its own public key
//! verifies (its stored `tr` and `t0` are not otherwise tied to the public key). The official
//! helper reads only the seed of "both" and ignores the rest.
//!
//! Signing is pure ML-DSA (FIPS 204 Algorithm 2) over the whole message, with an empty context
//! and the deterministic variant (rnd = 0³²): exactly what the official helper signs (circl's
//! `SignTo(key, msg, nil, false, sig)`), so the same key and message give the same signature in
//! both, and other implementations' deterministic signatures are known answers. Key material
//! lives in `ml-dsa`'s types, which zeroize on drop; the buffers we copy it through are
//! `Zeroizing`.

use ml_dsa::{
    ExpandedSigningKey, ExpandedSigningKeyBytes, MlDsa44, MlDsa65, MlDsa87, MlDsaParams,
    SigningKey, VerifyingKey,
};
use zeroize::Zeroizing;

use super::certificate::MlDsaLevel;
use super::error::KeyError;

/// Length of an ML-DSA seed (ξ), for every parameter set.
const SEED_LEN: usize = 32;

/// A message signed once to check an expanded-only key against its own public key.
const SELF_TEST_MESSAGE: &[u8] = b"aws_signing_helper ML-DSA key check";

/// An ML-DSA private key of one of the three parameter sets, with its encoded public key.
pub(crate) struct MlDsaKey {
    key: LevelKey,
    public: Vec<u8>,
}

/// The key of each parameter set (boxed: the expanded key holds the matrix Â, up to 57 KiB).
enum LevelKey {
    L44(Box<ExpandedSigningKey<MlDsa44>>),
    L65(Box<ExpandedSigningKey<MlDsa65>>),
    L87(Box<ExpandedSigningKey<MlDsa87>>),
}

/// Which of RFC 9881's encodings a file holds, borrowed from the decoded PKCS#8.
enum Form<'a> {
    Seed(&'a [u8]),
    Expanded(&'a [u8]),
    Both { seed: &'a [u8], expanded: &'a [u8] },
}

impl MlDsaKey {
    /// Decodes the content of a PKCS#8 `privateKey` for `level` and checks it (see the module
    /// documentation).
    pub(crate) fn from_private_key(
        level: MlDsaLevel,
        private_key: &[u8],
    ) -> Result<MlDsaKey, KeyError> {
        let form = Form::parse(level, private_key).map_err(KeyError::Malformed)?;
        let loaded = match level {
            MlDsaLevel::MlDsa44 => {
                load::<MlDsa44>(level, &form).map(|(k, p)| (LevelKey::L44(k), p))
            }
            MlDsaLevel::MlDsa65 => {
                load::<MlDsa65>(level, &form).map(|(k, p)| (LevelKey::L65(k), p))
            }
            MlDsaLevel::MlDsa87 => {
                load::<MlDsa87>(level, &form).map(|(k, p)| (LevelKey::L87(k), p))
            }
        };
        let (key, public) =
            loaded.map_err(|what| KeyError::Malformed(format!("invalid {level} key: {what}")))?;
        Ok(MlDsaKey { key, public })
    }

    /// The encoded public key (`pkEncode`), as an ML-DSA SPKI carries it.
    pub(crate) fn public_key(&self) -> &[u8] {
        &self.public
    }

    /// Signs `message` itself: pure ML-DSA, empty context, deterministic.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let failed = |_| "ML-DSA signing failed".to_string();
        match &self.key {
            LevelKey::L44(k) => k
                .sign_deterministic(message, &[])
                .map(|s| s.encode().to_vec()),
            LevelKey::L65(k) => k
                .sign_deterministic(message, &[])
                .map(|s| s.encode().to_vec()),
            LevelKey::L87(k) => k
                .sign_deterministic(message, &[])
                .map(|s| s.encode().to_vec()),
        }
        .map_err(failed)
    }
}

/// Whether `signature` is a pure ML-DSA signature (empty context) of `message` under the encoded
/// public key `public` of `level`: how a key proves, through the signer abstraction, that it is
/// the certificate's.
pub(crate) fn signature_verifies(
    level: MlDsaLevel,
    public: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    fn verifies<P: MlDsaParams>(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let (Ok(public), Ok(signature)) = (
            ml_dsa::EncodedVerifyingKey::<P>::try_from(public),
            ml_dsa::EncodedSignature::<P>::try_from(signature),
        ) else {
            return false;
        };
        ml_dsa::Signature::<P>::decode(&signature).is_some_and(|signature| {
            ml_dsa::VerifyingKey::<P>::decode(&public).verify_with_context(message, &[], &signature)
        })
    }
    match level {
        MlDsaLevel::MlDsa44 => verifies::<MlDsa44>(public, message, signature),
        MlDsaLevel::MlDsa65 => verifies::<MlDsa65>(public, message, signature),
        MlDsaLevel::MlDsa87 => verifies::<MlDsa87>(public, message, signature),
    }
}

impl<'a> Form<'a> {
    /// Tells the three forms apart by their outer tag and checks their sizes for `level`.
    fn parse(level: MlDsaLevel, der: &'a [u8]) -> Result<Form<'a>, String> {
        let expanded_len = expanded_len(level);
        let (tag, content, rest) = tlv(der).ok_or("not DER")?;
        if !rest.is_empty() {
            return Err("trailing data after the key".into());
        }
        let expanded = |content: &'a [u8]| {
            if content.len() == expanded_len {
                Ok(content)
            } else {
                Err(format!(
                    "a {}-byte expanded {level} key (expected {expanded_len} bytes)",
                    content.len()
                ))
            }
        };
        let seed = |content: &'a [u8]| {
            if content.len() == SEED_LEN {
                Ok(content)
            } else {
                Err(format!(
                    "a {}-byte {level} seed (expected {SEED_LEN} bytes)",
                    content.len()
                ))
            }
        };
        match tag {
            0x80 => Ok(Form::Seed(seed(content)?)),
            0x04 => Ok(Form::Expanded(expanded(content)?)),
            0x30 => {
                let (t1, s, rest) = tlv(content).ok_or("not DER")?;
                let (t2, e, rest) = tlv(rest).ok_or("not DER")?;
                if t1 != 0x04 || t2 != 0x04 || !rest.is_empty() {
                    return Err(
                        "a SEQUENCE that is not { OCTET STRING seed, OCTET STRING expandedKey }"
                            .into(),
                    );
                }
                Ok(Form::Both {
                    seed: seed(s)?,
                    expanded: expanded(e)?,
                })
            }
            other => Err(format!(
                "tag 0x{other:02x} is none of RFC 9881's seed, expandedKey or both"
            )),
        }
    }
}

/// Builds and checks the key of parameter set `P`; returns it with its encoded public key.
fn load<P: MlDsaParams>(
    level: MlDsaLevel,
    form: &Form<'_>,
) -> Result<(Box<ExpandedSigningKey<P>>, Vec<u8>), String> {
    // KeyGen from a seed yields the public key too: taken from it rather than computed again
    // from the expanded key (t = A·s1 + s2, a quarter of a cold ML-DSA call's instructions).
    // `expanded_key` is public but undocumented in ml-dsa 0.1 (its own
    // `ExpandedSigningKey::from_seed` is this same clone); a release without it fails to build.
    let from_seed = |seed: &[u8]| {
        let seed = Zeroizing::new(ml_dsa::Seed::try_from(seed).map_err(|_| "seed size")?);
        let pair = SigningKey::<P>::from_seed(&seed);
        let public = AsRef::<VerifyingKey<P>>::as_ref(&pair).encode().to_vec();
        Ok::<_, String>((Box::new(pair.expanded_key().clone()), public))
    };
    match *form {
        Form::Seed(seed) => from_seed(seed),
        Form::Both { seed, expanded } => {
            let (key, public) = from_seed(seed)?;
            if !same_secret(&encode_expanded(&key), expanded) {
                return Err("its seed and its expanded key are not the same key".into());
            }
            Ok((key, public))
        }
        Form::Expanded(expanded) => {
            let bytes = Zeroizing::new(
                ExpandedSigningKeyBytes::<P>::try_from(expanded)
                    .map_err(|_| "expanded key size")?,
            );
            // skDecode takes any bits; FIPS 204 keys have s1 and s2 in [-η, η].
            if !secret_vectors_in_range(level, expanded) {
                return Err("its secret vectors s1, s2 are out of range".into());
            }
            #[allow(deprecated)] // The expanded form is deprecated, and still written by tools.
            let key = Box::new(ExpandedSigningKey::<P>::from_expanded(&bytes));
            let signature = key
                .sign_deterministic(SELF_TEST_MESSAGE, &[])
                .map_err(|_| "it cannot sign")?;
            let verifying = key.verifying_key();
            if !verifying.verify_with_context(SELF_TEST_MESSAGE, &[], &signature) {
                return Err("its signatures do not verify with its own public key".into());
            }
            let public = verifying.encode().to_vec();
            Ok((key, public))
        }
    }
}

/// Whether the polynomials of s1 || s2 in an expanded key (after ρ, K and tr) have every packed
/// coefficient `b` in 0..=2η, i.e. every coefficient η - b in [-η, η] (FIPS 204 skDecode).
fn secret_vectors_in_range(level: MlDsaLevel, expanded: &[u8]) -> bool {
    // (l + k polynomials, η), FIPS 204 Table 1.
    let (polys, eta) = match level {
        MlDsaLevel::MlDsa44 => (4 + 4, 2),
        MlDsaLevel::MlDsa65 => (5 + 6, 4),
        MlDsaLevel::MlDsa87 => (7 + 8, 2),
    };
    let bits = if eta == 2 { 3 } else { 4 };
    let start = 32 + 32 + 64;
    let len = polys * 256 * bits / 8;
    let Some(packed) = expanded.get(start..start + len) else {
        return false;
    };
    let (mut acc, mut held) = (0u32, 0);
    let mut ok = true;
    for &byte in packed {
        acc |= u32::from(byte) << held;
        held += 8;
        while held >= bits {
            ok &= (acc & ((1 << bits) - 1)) <= 2 * eta;
            acc >>= bits;
            held -= bits;
        }
    }
    ok
}

/// The FIPS 204 `skEncode` of `key`, wiped when dropped.
fn encode_expanded<P: MlDsaParams>(key: &ExpandedSigningKey<P>) -> Zeroizing<Vec<u8>> {
    #[allow(deprecated)] // Only to compare with what the file holds.
    let encoded = key.to_expanded();
    let out = Zeroizing::new(encoded.to_vec());
    drop(Zeroizing::new(encoded));
    out
}

/// Compares two secrets without an early exit.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn expanded_len(level: MlDsaLevel) -> usize {
    match level {
        MlDsaLevel::MlDsa44 => 2560,
        MlDsaLevel::MlDsa65 => 4032,
        MlDsaLevel::MlDsa87 => 4896,
    }
}

/// One DER tag-length-value: `(tag, content, rest)`. Definite, minimally encoded lengths only.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 2 || input.len() < count {
            return None;
        }
        let (bytes, rest) = input.split_at(count);
        input = rest;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        if len < 0x80 || bytes[0] == 0 {
            return None;
        }
        len
    };
    if input.len() < len {
        return None;
    }
    let (content, rest) = input.split_at(len);
    Some((tag, content, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths_must_be_definite_and_minimal() {
        assert_eq!(tlv(&[0x04, 0x01, 0xaa]), Some((0x04, &[0xaa][..], &[][..])));
        assert_eq!(
            tlv(&[0x04, 0x81, 0x01, 0xaa]),
            None,
            "non-minimal long form"
        );
        assert_eq!(tlv(&[0x04, 0x80]), None, "indefinite length");
        assert_eq!(tlv(&[0x04, 0x02, 0xaa]), None, "truncated");
    }

    #[test]
    fn forms_are_told_apart_and_sized() {
        let seed = [[0x80, 0x20].as_slice(), &[7; 32]].concat();
        assert!(matches!(
            Form::parse(MlDsaLevel::MlDsa44, &seed),
            Ok(Form::Seed(_))
        ));
        let short = [[0x80, 0x1f].as_slice(), &[7; 31]].concat();
        assert!(Form::parse(MlDsaLevel::MlDsa44, &short)
            .err()
            .is_some_and(|e| e.contains("31-byte")));
        let wrong_level = [[0x04, 0x82, 0x0f, 0xc0].as_slice(), &[0; 4032]].concat();
        assert!(Form::parse(MlDsaLevel::MlDsa65, &wrong_level).is_ok());
        assert!(Form::parse(MlDsaLevel::MlDsa44, &wrong_level)
            .err()
            .is_some_and(|e| e.contains("expected 2560")));
    }

    #[test]
    fn secret_coefficients_are_range_checked() {
        // ML-DSA-65 packs 4 bits per coefficient: 8 (η - 8 = -4) is the largest allowed.
        let mut key = vec![0u8; 4032];
        key[128] = 0x88;
        assert!(secret_vectors_in_range(MlDsaLevel::MlDsa65, &key));
        key[128] = 0x89;
        assert!(!secret_vectors_in_range(MlDsaLevel::MlDsa65, &key));
        // ML-DSA-44 packs 3 bits: 0b101 = 5 > 2η in the second coefficient.
        let mut key = vec![0u8; 2560];
        key[128] = 0b0010_1100;
        assert!(!secret_vectors_in_range(MlDsaLevel::MlDsa44, &key));
        key[128] = 0b0010_0100;
        assert!(secret_vectors_in_range(MlDsaLevel::MlDsa44, &key));
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"ab"));
    }
}
