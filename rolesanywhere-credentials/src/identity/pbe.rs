//! Password-based decryption for encrypted PKCS#8 keys and PKCS#12 bundles, with the cost of
//! every key derivation checked before it is run.
//!
//! A key file chooses how much work its password costs: an scrypt `N` of 2^30 asks for a 1 TiB
//! buffer, which aborts the process; PBKDF2 with 2^31 − 1 iterations never finishes. So the
//! parameters are read first and refused beyond caps far above what any tool writes:
//!
//! | | OpenSSL 3 writes | others write | cap |
//! |---|---|---|---|
//! | PBKDF2 iterations, PKCS#12 KDF iterations | 2,048 | Java 10,000, .NET/Windows 2,000, Go 2,048–100,000, OWASP 2023 advice 600,000 | [`MAX_ITERATIONS`] (2,000,000) per derivation |
//! | scrypt memory (128·N·r) | 16 MiB (N = 2^14, r = 8; it refuses over 32 MiB) | (no other common writer) | [`MAX_SCRYPT_MEMORY`] (128 MiB) |
//! | scrypt work (128·N·r·p) | 16 MiB | | [`MAX_SCRYPT_WORK`] (256 MiB) |
//! | all derivations of one file | 1 (PKCS#8), 3–5 (PKCS#12) | | [`Budget`]: 8,000,000 iterations' worth |
//!
//! On this project's 2-core machine (release build) the costliest accepted derivation takes
//! 1.9 s (PBKDF2-HMAC-SHA512) and scrypt at its caps 0.9 s. Memory for scrypt is reserved
//! fallibly first, so that a machine without it gets an error rather than an abort.
//!
//! Decrypted bytes go into buffers that are wiped when dropped, and so do the keys derived here
//! (the PBES2 derivation itself is `pkcs5`'s).

use std::fmt;

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, InnerIvInit, KeyIvInit};
use pkcs8::der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef};
use pkcs8::der::{Decode, Reader};
use pkcs8::spki::AlgorithmIdentifierRef;
use sha2::digest::core_api::BlockSizeUser;
use sha2::digest::{Digest, FixedOutputReset};
use zeroize::{Zeroize, Zeroizing};

/// Most iterations of PBKDF2 or of the PKCS#12 KDF in one derivation. (Fuzzing builds, where
/// each input must take little time, check the same logic against far lower caps: 4,096 iterations,
/// OpenSSL's 2,048 and a margin, and 128 KiB of scrypt memory.)
pub const MAX_ITERATIONS: u64 = if cfg!(fuzzing) { 4_096 } else { 2_000_000 };
/// Most memory an scrypt derivation may take: 128·N·r bytes.
pub const MAX_SCRYPT_MEMORY: u64 = if cfg!(fuzzing) { 128 << 10 } else { 128 << 20 };
/// Most work an scrypt derivation may take: 128·N·r·p bytes processed.
pub const MAX_SCRYPT_WORK: u64 = if cfg!(fuzzing) { 256 << 10 } else { 256 << 20 };
/// All the derivations of one file together, in iterations (an scrypt derivation counts one per
/// 32 bytes of work).
pub const MAX_FILE_WORK: u64 = 4 * MAX_ITERATIONS;

const PBES2: &str = "1.2.840.113549.1.5.13";
const PBKDF2: &str = "1.2.840.113549.1.5.12";
const SCRYPT: &str = "1.3.6.1.4.1.11591.4.11";

/// Why decryption failed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PbeError {
    /// An algorithm this helper does not decrypt; the payload names it.
    Unsupported(String),
    /// Parameters that would cost more than the caps; the payload says which.
    TooCostly(String),
    /// The parameters do not parse.
    Malformed(String),
    /// Not enough memory for the derivation.
    OutOfMemory(u64),
    /// The padding does not check out: a wrong password, almost always.
    Decrypt,
}

impl fmt::Display for PbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PbeError::Unsupported(what) => write!(f, "unsupported encryption: {what}"),
            PbeError::TooCostly(what) => write!(f, "{what}"),
            PbeError::Malformed(what) => write!(f, "malformed encryption parameters ({what})"),
            PbeError::OutOfMemory(bytes) => write!(
                f,
                "not enough memory for its key derivation ({} MiB)",
                bytes >> 20
            ),
            PbeError::Decrypt => f.write_str("decryption failed"),
        }
    }
}

/// Key-derivation work left for one file: every derivation is charged before it runs.
#[derive(Debug)]
pub(crate) struct Budget {
    left: u64,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            left: MAX_FILE_WORK,
        }
    }
}

impl Budget {
    /// Whether `cost` more iterations are still allowed.
    ///
    /// # Errors
    /// [`PbeError::TooCostly`] when they are not.
    pub(crate) fn check(&self, cost: u64) -> Result<(), PbeError> {
        if cost > self.left {
            return Err(PbeError::TooCostly(format!(
                "its key derivations together exceed {MAX_FILE_WORK} iterations"
            )));
        }
        Ok(())
    }

    fn charge(&mut self, cost: u64) -> Result<(), PbeError> {
        self.check(cost)?;
        self.left -= cost;
        Ok(())
    }
}

/// The password, as each scheme wants it: UTF-8 for PBES2, BMPString with a terminating NUL for
/// the PKCS#12 KDF (or no bytes at all, for the "no password" some writers mean by an empty
/// one).
pub(crate) struct Password {
    utf8: Zeroizing<Vec<u8>>,
    bmp: Zeroizing<Vec<u8>>,
}

impl Password {
    /// `password` in both encodings; `null` for the empty PKCS#12 password encoded as no bytes.
    pub(crate) fn new(password: &str, null: bool) -> Password {
        let mut bmp = Zeroizing::new(Vec::with_capacity(password.len() * 2 + 2));
        if !(null && password.is_empty()) {
            for unit in password.encode_utf16() {
                bmp.extend_from_slice(&unit.to_be_bytes());
            }
            bmp.extend_from_slice(&[0, 0]);
        }
        Password {
            utf8: Zeroizing::new(password.as_bytes().to_vec()),
            bmp,
        }
    }

    pub(crate) fn bmp(&self) -> &[u8] {
        &self.bmp
    }
}

/// What a derivation with `algorithm` costs, in iterations, after checking it against the
/// caps; nothing is derived. Callers holding several algorithms (the bags of a bundle) add
/// these up and [`Budget::check`] the sum before decrypting any.
///
/// # Errors
/// [`PbeError`]: unsupported, malformed, or beyond a cap.
pub(crate) fn cost(algorithm: &AlgorithmIdentifierRef<'_>) -> Result<u64, PbeError> {
    Ok(scheme(algorithm)?.cost)
}

/// Decrypts `ciphertext` encrypted with `algorithm` under `password`, once its cost is checked
/// and charged to `budget`.
pub(crate) fn decrypt(
    algorithm: &AlgorithmIdentifierRef<'_>,
    password: &Password,
    ciphertext: &[u8],
    budget: &mut Budget,
) -> Result<Zeroizing<Vec<u8>>, PbeError> {
    let checked = scheme(algorithm)?;
    budget.charge(checked.cost)?;
    if let Some(memory) = checked.memory {
        // scrypt allocates this much and aborts the process if it cannot: ask first, fallibly.
        let mut probe: Vec<u8> = Vec::new();
        probe
            .try_reserve_exact(memory as usize)
            .map_err(|_| PbeError::OutOfMemory(memory))?;
    }
    match checked.scheme {
        Scheme::Pbes2(parameters) => pbes2(&parameters, password, ciphertext),
        Scheme::Pkcs12 {
            pbe,
            salt,
            iterations,
        } => pbe.decrypt(salt, iterations, password, ciphertext),
    }
}

/// An algorithm whose parameters were read and checked.
struct Checked<'a> {
    scheme: Scheme<'a>,
    /// Iterations (scrypt: one per 32 bytes of work).
    cost: u64,
    /// scrypt's buffer, to reserve before deriving.
    memory: Option<u64>,
}

enum Scheme<'a> {
    Pbes2(pkcs5::pbes2::Parameters<'a>),
    Pkcs12 {
        pbe: Pkcs12Pbe,
        salt: &'a [u8],
        iterations: u32,
    },
}

fn scheme<'a>(algorithm: &AlgorithmIdentifierRef<'a>) -> Result<Checked<'a>, PbeError> {
    let oid = algorithm.oid.to_string();
    if oid == PBES2 {
        let params = algorithm
            .parameters
            .ok_or_else(|| PbeError::Malformed("PBES2 without parameters".into()))?;
        return pbes2_scheme(params);
    }
    if let Some(pbe) = Pkcs12Pbe::from_oid(&oid) {
        let params = algorithm
            .parameters
            .ok_or_else(|| PbeError::Malformed("PKCS#12 PBE without parameters".into()))?;
        let (salt, iterations) = pbe_params(params)?;
        // Key and IV are two derivations.
        let cost = check_iterations(iterations)?.saturating_mul(2);
        return Ok(Checked {
            scheme: Scheme::Pkcs12 {
                pbe,
                salt,
                iterations: iterations as u32,
            },
            cost,
            memory: None,
        });
    }
    Err(PbeError::Unsupported(name_of(&oid)))
}

fn pbes2_scheme(params: AnyRef<'_>) -> Result<Checked<'_>, PbeError> {
    // Read the two algorithm identifiers ourselves first, so that a scheme pkcs5 does not know
    // is named in the error.
    let (kdf, cipher) = pbes2_algorithms(params)?;
    let cipher_oid = cipher.oid.to_string();
    if !matches!(
        cipher_oid.as_str(),
        "2.16.840.1.101.3.4.1.2" | "2.16.840.1.101.3.4.1.22" | "2.16.840.1.101.3.4.1.42"
    ) {
        return Err(PbeError::Unsupported(format!(
            "PBES2 with {}",
            name_of(&cipher_oid)
        )));
    }
    match kdf.oid.to_string().as_str() {
        PBKDF2 | SCRYPT => {}
        other => {
            return Err(PbeError::Unsupported(format!(
                "PBES2 with {}",
                name_of(other)
            )))
        }
    }
    let parsed = pkcs5::pbes2::Parameters::try_from(params)
        .map_err(|e| PbeError::Unsupported(format!("PBES2 parameters ({e})")))?;
    let (cost, memory) = match &parsed.kdf {
        pkcs5::pbes2::Kdf::Pbkdf2(p) => (check_iterations(u64::from(p.iteration_count))?, None),
        pkcs5::pbes2::Kdf::Scrypt(p) => {
            let (cost, memory) = check_scrypt(
                p.cost_parameter,
                u64::from(p.block_size),
                u64::from(p.parallelization),
            )?;
            (cost, Some(memory))
        }
        _ => return Err(PbeError::Unsupported("PBES2 with an unknown KDF".into())),
    };
    Ok(Checked {
        scheme: Scheme::Pbes2(parsed),
        cost,
        memory,
    })
}

fn pbes2(
    parameters: &pkcs5::pbes2::Parameters<'_>,
    password: &Password,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, PbeError> {
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let length = parameters
        .decrypt_in_place(&*password.utf8, &mut buffer)
        .map_err(|e| match e {
            // A bad padding (pkcs5 0.7 reports it as EncryptFailed).
            pkcs5::Error::DecryptFailed | pkcs5::Error::EncryptFailed => PbeError::Decrypt,
            pkcs5::Error::UnsupportedAlgorithm { oid } => {
                PbeError::Unsupported(name_of(&oid.to_string()))
            }
            other => PbeError::Malformed(other.to_string()),
        })?
        .len();
    buffer.truncate(length);
    Ok(buffer)
}

/// The KDF and cipher identifiers of PBES2 parameters.
fn pbes2_algorithms<'a>(
    params: AnyRef<'a>,
) -> Result<(AlgorithmIdentifierRef<'a>, AlgorithmIdentifierRef<'a>), PbeError> {
    params
        .sequence(|r| {
            let kdf = AlgorithmIdentifierRef::decode(r)?;
            let cipher = AlgorithmIdentifierRef::decode(r)?;
            Ok((kdf, cipher))
        })
        .map_err(|e| PbeError::Malformed(e.to_string()))
}

/// The cost of a derivation of `iterations`, if within the cap.
fn check_iterations(iterations: u64) -> Result<u64, PbeError> {
    if iterations > MAX_ITERATIONS {
        return Err(PbeError::TooCostly(format!(
            "its key derivation asks for {iterations} iterations, more than the {MAX_ITERATIONS} this helper allows"
        )));
    }
    Ok(iterations)
}

/// The cost and memory of an scrypt derivation, if within the caps.
fn check_scrypt(n: u64, r: u64, p: u64) -> Result<(u64, u64), PbeError> {
    let memory = 128u64.saturating_mul(n).saturating_mul(r);
    let work = memory.saturating_mul(p);
    if memory > MAX_SCRYPT_MEMORY || work > MAX_SCRYPT_WORK {
        return Err(PbeError::TooCostly(format!(
            "its scrypt parameters (N={n}, r={r}, p={p}) ask for {} MiB of memory and {} MiB of work, more than the {} MiB and {} MiB this helper allows",
            memory >> 20,
            work >> 20,
            MAX_SCRYPT_MEMORY >> 20,
            MAX_SCRYPT_WORK >> 20
        )));
    }
    Ok((work / 32, memory))
}

/// The PKCS#12 password-based encryption schemes (RFC 7292, appendix C), SHA-1 KDF.
#[derive(Clone, Copy, Debug)]
enum Pkcs12Pbe {
    TripleDes3Key,
    TripleDes2Key,
    Rc2With128Bits,
    Rc2With40Bits,
}

impl Pkcs12Pbe {
    fn from_oid(oid: &str) -> Option<Pkcs12Pbe> {
        Some(match oid {
            "1.2.840.113549.1.12.1.3" => Pkcs12Pbe::TripleDes3Key,
            "1.2.840.113549.1.12.1.4" => Pkcs12Pbe::TripleDes2Key,
            "1.2.840.113549.1.12.1.5" => Pkcs12Pbe::Rc2With128Bits,
            "1.2.840.113549.1.12.1.6" => Pkcs12Pbe::Rc2With40Bits,
            _ => return None,
        })
    }

    fn key_len(self) -> usize {
        match self {
            Pkcs12Pbe::TripleDes3Key => 24,
            Pkcs12Pbe::TripleDes2Key | Pkcs12Pbe::Rc2With128Bits => 16,
            Pkcs12Pbe::Rc2With40Bits => 5,
        }
    }

    fn decrypt(
        self,
        salt: &[u8],
        iterations: u32,
        password: &Password,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, PbeError> {
        let key = kdf::<sha1::Sha1>(password.bmp(), salt, 1, iterations, self.key_len());
        let iv = kdf::<sha1::Sha1>(password.bmp(), salt, 2, iterations, 8);
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let unpad = |r: Result<&[u8], _>| r.map(<[u8]>::len).map_err(|_| PbeError::Decrypt);
        let length = match self {
            Pkcs12Pbe::TripleDes3Key => unpad(
                cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
                    .map_err(|_| PbeError::Decrypt)?
                    .decrypt_padded_mut::<Pkcs7>(&mut buffer),
            )?,
            Pkcs12Pbe::TripleDes2Key => unpad(
                cbc::Decryptor::<des::TdesEde2>::new_from_slices(&key, &iv)
                    .map_err(|_| PbeError::Decrypt)?
                    .decrypt_padded_mut::<Pkcs7>(&mut buffer),
            )?,
            Pkcs12Pbe::Rc2With128Bits | Pkcs12Pbe::Rc2With40Bits => {
                let cipher = rc2::Rc2::new_with_eff_key_len(&key, self.key_len() * 8);
                let iv = cbc::cipher::generic_array::GenericArray::from_slice(&iv);
                unpad(
                    cbc::Decryptor::<rc2::Rc2>::inner_iv_init(cipher, iv)
                        .decrypt_padded_mut::<Pkcs7>(&mut buffer),
                )?
            }
        };
        buffer.truncate(length);
        Ok(buffer)
    }
}

/// `pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }`.
fn pbe_params<'a>(params: AnyRef<'a>) -> Result<(&'a [u8], u64), PbeError> {
    let (salt, iterations) = params
        .sequence(|r| {
            let salt = OctetStringRef::decode(r)?;
            let iterations: u64 = r.decode()?;
            Ok((salt, iterations))
        })
        .map_err(|e| PbeError::Malformed(e.to_string()))?;
    if iterations == 0 {
        return Err(PbeError::Malformed("zero iterations".into()));
    }
    Ok((salt.as_bytes(), iterations))
}

/// Checks and charges the iterations of a PKCS#12 MAC.
pub(crate) fn charge_mac(iterations: u64, budget: &mut Budget) -> Result<(), PbeError> {
    budget.charge(check_iterations(iterations)?)
}

/// The PKCS#12 key derivation (RFC 7292, appendix B.2): `len` bytes of key material of kind
/// `id` (1 key, 2 IV, 3 MAC key) from the BMPString `password` and `salt`.
pub(crate) fn kdf<D>(
    password: &[u8],
    salt: &[u8],
    id: u8,
    iterations: u32,
    len: usize,
) -> Zeroizing<Vec<u8>>
where
    D: Digest + FixedOutputReset + BlockSizeUser,
{
    let u = <D as Digest>::output_size();
    let v = <D as BlockSizeUser>::block_size();
    let diversifier = vec![id; v];
    let fill = |source: &[u8]| -> Vec<u8> {
        let n = v * source.len().div_ceil(v);
        (0..n).map(|k| source[k % source.len()]).collect()
    };
    // I = S || P, each repeated to a whole number of v-byte blocks.
    let mut i = Zeroizing::new(fill(salt));
    i.extend_from_slice(&Zeroizing::new(fill(password)));
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    let mut hasher = D::new();
    loop {
        Digest::update(&mut hasher, &diversifier);
        Digest::update(&mut hasher, &*i);
        let mut a = hasher.finalize_reset();
        for _ in 1..iterations {
            Digest::update(&mut hasher, &a);
            a = hasher.finalize_reset();
        }
        let take = u.min(len - out.len());
        out.extend_from_slice(&a[..take]);
        if out.len() == len {
            a.zeroize();
            return out;
        }
        // B = A repeated to v bytes; each v-byte block I_j of I becomes (I_j + B + 1) mod 2^v.
        let b = Zeroizing::new((0..v).map(|k| a[k % u]).collect::<Vec<u8>>());
        a.zeroize();
        for block in i.chunks_mut(v) {
            let mut carry = 1u16;
            for k in (0..v).rev() {
                let sum = u16::from(block[k]) + u16::from(b[k]) + carry;
                block[k] = sum as u8;
                carry = sum >> 8;
            }
        }
    }
}

/// A readable name for an algorithm OID in messages.
pub(crate) fn name_of(oid: &str) -> String {
    let name = match oid {
        "1.2.840.113549.1.5.1" => "PBES1 (pbeWithMD2AndDES-CBC)",
        "1.2.840.113549.1.5.3" => "PBES1 (pbeWithMD5AndDES-CBC)",
        "1.2.840.113549.1.5.4" => "PBES1 (pbeWithMD2AndRC2-CBC)",
        "1.2.840.113549.1.5.6" => "PBES1 (pbeWithMD5AndRC2-CBC)",
        "1.2.840.113549.1.5.10" => "PBES1 (pbeWithSHA1AndDES-CBC)",
        "1.2.840.113549.1.5.11" => "PBES1 (pbeWithSHA1AndRC2-CBC)",
        "1.2.840.113549.1.12.1.1" => "pbeWithSHAAnd128BitRC4",
        "1.2.840.113549.1.12.1.2" => "pbeWithSHAAnd40BitRC4",
        "1.2.840.113549.1.12.1.3" => "PKCS#12 PBE (pbeWithSHAAnd3-KeyTripleDES-CBC)",
        "1.2.840.113549.1.12.1.4" => "PKCS#12 PBE (pbeWithSHAAnd2-KeyTripleDES-CBC)",
        "1.2.840.113549.1.12.1.5" => "PKCS#12 PBE (pbeWithSHAAnd128BitRC2-CBC)",
        "1.2.840.113549.1.12.1.6" => "PKCS#12 PBE (pbeWithSHAAnd40BitRC2-CBC)",
        "1.2.840.113549.3.7" => "DES-EDE3-CBC (3DES)",
        "1.3.14.3.2.7" => "DES-CBC",
        "1.2.840.113549.3.2" => "RC2-CBC",
        "2.16.840.1.101.3.4.1.6" => "AES-128-GCM",
        "2.16.840.1.101.3.4.1.26" => "AES-192-GCM",
        "2.16.840.1.101.3.4.1.46" => "AES-256-GCM",
        "1.2.840.113549.1.5.14" => "PBMAC1",
        "1.2.840.113549.2.7" => "HMAC-SHA1",
        _ => return format!("the algorithm {oid}"),
    };
    name.to_string()
}

/// Whether `oid` is PBES2 (for callers that explain PBES1 and PKCS#12 PBE keys differently).
pub(crate) fn is_pbes2(oid: &ObjectIdentifier) -> bool {
    oid.to_string() == PBES2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `openssl kdf ... PKCS12KDF` (OpenSSL 3's own implementation, given the BMPString
    /// password bytes as `hexpass`), as hex without colons.
    fn openssl_kdf(
        digest: &str,
        pass: &[u8],
        salt: &[u8],
        iterations: u32,
        id: u8,
        len: usize,
    ) -> String {
        let out = std::process::Command::new("openssl")
            .args([
                "kdf",
                "-keylen",
                &len.to_string(),
                "-kdfopt",
                &format!("digest:{digest}"),
            ])
            .args(["-kdfopt", &format!("hexpass:{}", hex::encode(pass))])
            .args(["-kdfopt", &format!("hexsalt:{}", hex::encode(salt))])
            .args([
                "-kdfopt",
                &format!("iter:{iterations}"),
                "-kdfopt",
                &format!("id:{id}"),
            ])
            .arg("PKCS12KDF")
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .replace(':', "")
            .to_ascii_lowercase()
    }

    #[test]
    fn pkcs12_kdf_matches_openssl() {
        let password = Password::new("pässwörd", false);
        for (salt, iterations, id, len) in [
            (&b"\x00\x01\x02\x03\x04\x05\x06\x07"[..], 2048, 1, 24),
            (&b"salt"[..], 1, 2, 8),
            (
                &b"a salt of more than sixty-four bytes, to span two blocks of SHA-1"[..],
                3,
                3,
                45,
            ),
        ] {
            let ours = kdf::<sha1::Sha1>(password.bmp(), salt, id, iterations, len);
            assert_eq!(
                hex::encode(&*ours),
                openssl_kdf("SHA1", password.bmp(), salt, iterations, id, len)
            );
            let ours = kdf::<sha2::Sha256>(password.bmp(), salt, id, iterations, len);
            assert_eq!(
                hex::encode(&*ours),
                openssl_kdf("SHA256", password.bmp(), salt, iterations, id, len)
            );
        }
    }

    #[test]
    fn costs_are_checked_before_anything_runs() {
        assert_eq!(check_iterations(MAX_ITERATIONS), Ok(MAX_ITERATIONS));
        let e = check_iterations(u64::from(u32::MAX >> 1)).unwrap_err();
        assert!(e.to_string().contains("2147483647 iterations"), "{e}");
        // scrypt N = 2^30: 1 TiB, refused without allocating.
        let e = check_scrypt(1 << 30, 8, 1).unwrap_err();
        assert!(e.to_string().contains("1048576 MiB of memory"), "{e}");
        let e = check_scrypt(1 << 17, 8, 16).unwrap_err();
        assert!(e.to_string().contains("of work"), "{e}");
        assert_eq!(check_scrypt(1 << 14, 8, 1), Ok((1 << 19, 16 << 20)));
        // The budget is shared by every derivation of a file.
        let mut budget = Budget::default();
        for _ in 0..4 {
            budget.charge(MAX_ITERATIONS).unwrap();
        }
        assert!(budget.check(1).is_err());
        assert!(charge_mac(1, &mut budget).is_err());
    }
}
