//! X.509 certificates as the helper needs them: DER bytes plus the few fields we read (serial,
//! names, validity, public key), parsed once.

use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use base64::Engine;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey as SpkiKey;

use super::error::{Error, Result};
use super::pem;

const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";
const OID_ML_DSA_44: &str = "2.16.840.1.101.3.4.3.17";
const OID_ML_DSA_65: &str = "2.16.840.1.101.3.4.3.18";
const OID_ML_DSA_87: &str = "2.16.840.1.101.3.4.3.19";

/// An elliptic curve IAM Roles Anywhere accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (secp256r1, prime256v1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

impl Curve {
    /// The curve named by a `namedCurve` OID in dotted form.
    pub fn from_oid(oid: &str) -> Option<Curve> {
        match oid {
            OID_P256 => Some(Curve::P256),
            OID_P384 => Some(Curve::P384),
            OID_P521 => Some(Curve::P521),
            _ => None,
        }
    }

    /// Size of a field element (and of each half of a raw `r||s` signature) in bytes.
    pub fn field_bytes(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        })
    }
}

/// An ML-DSA parameter set (FIPS 204), named as the official helper names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MlDsaLevel {
    /// ML-DSA-44 (NIST security category 2).
    MlDsa44,
    /// ML-DSA-65 (category 3).
    MlDsa65,
    /// ML-DSA-87 (category 5).
    MlDsa87,
}

impl MlDsaLevel {
    /// The parameter set named by an algorithm OID in dotted form (RFC 9881: `id-ml-dsa-44`,
    /// `-65`, `-87`, the same OID for the key and for signatures made with it).
    pub fn from_oid(oid: &str) -> Option<MlDsaLevel> {
        match oid {
            OID_ML_DSA_44 => Some(MlDsaLevel::MlDsa44),
            OID_ML_DSA_65 => Some(MlDsaLevel::MlDsa65),
            OID_ML_DSA_87 => Some(MlDsaLevel::MlDsa87),
            _ => None,
        }
    }

    /// `"ML-DSA-44"`, `"ML-DSA-65"` or `"ML-DSA-87"`.
    pub fn name(self) -> &'static str {
        match self {
            MlDsaLevel::MlDsa44 => "ML-DSA-44",
            MlDsaLevel::MlDsa65 => "ML-DSA-65",
            MlDsaLevel::MlDsa87 => "ML-DSA-87",
        }
    }

    /// Size of an encoded public key in bytes.
    pub fn public_key_len(self) -> usize {
        match self {
            MlDsaLevel::MlDsa44 => 1312,
            MlDsaLevel::MlDsa65 => 1952,
            MlDsaLevel::MlDsa87 => 2592,
        }
    }
}

impl fmt::Display for MlDsaLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A public key, normalised so that keys from certificates, files and tokens compare equal.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// RSA modulus and public exponent, big-endian without leading zero bytes.
    Rsa {
        /// The modulus `n`.
        modulus: Vec<u8>,
        /// The public exponent `e`.
        exponent: Vec<u8>,
    },
    /// An EC point in uncompressed SEC1 form (`04 || X || Y`).
    Ec {
        /// The curve.
        curve: Curve,
        /// The uncompressed point.
        point: Vec<u8>,
    },
    /// An ML-DSA public key: its FIPS 204 encoding (`pkEncode`), as the SPKI carries it.
    MlDsa {
        /// The parameter set.
        level: MlDsaLevel,
        /// The encoded key (1312, 1952 or 2592 bytes).
        key: Vec<u8>,
    },
}

impl PublicKey {
    /// Builds an RSA key, stripping leading zero bytes.
    pub fn rsa(modulus: &[u8], exponent: &[u8]) -> PublicKey {
        PublicKey::Rsa {
            modulus: strip_zeros(modulus).to_vec(),
            exponent: strip_zeros(exponent).to_vec(),
        }
    }

    /// Builds an EC key from a SEC1 point, compressed or not.
    pub fn ec(curve: Curve, point: &[u8]) -> Option<PublicKey> {
        let uncompressed = match curve {
            Curve::P256 => p256::PublicKey::from_sec1_bytes(point).ok().map(|k| {
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                k.to_encoded_point(false).as_bytes().to_vec()
            })?,
            Curve::P384 => p384::PublicKey::from_sec1_bytes(point).ok().map(|k| {
                use p384::elliptic_curve::sec1::ToEncodedPoint;
                k.to_encoded_point(false).as_bytes().to_vec()
            })?,
            Curve::P521 => p521::PublicKey::from_sec1_bytes(point).ok().map(|k| {
                use p521::elliptic_curve::sec1::ToEncodedPoint;
                k.to_encoded_point(false).as_bytes().to_vec()
            })?,
        };
        Some(PublicKey::Ec {
            curve,
            point: uncompressed,
        })
    }

    /// `"RSA"`, `"EC"` or the ML-DSA parameter set (`"ML-DSA-65"`), as `read-certificate-data`
    /// reports it.
    pub fn key_type(&self) -> &'static str {
        match self {
            PublicKey::Rsa { .. } => "RSA",
            PublicKey::Ec { .. } => "EC",
            PublicKey::MlDsa { level, .. } => level.name(),
        }
    }

    /// Whether signing hashes the message with a chosen SHA-2 digest first (RSA, ECDSA), rather
    /// than signing the message itself (ML-DSA, which has no digest to choose).
    pub fn hashes_message(&self) -> bool {
        !matches!(self, PublicKey::MlDsa { .. })
    }

    /// Size of the key in bits (modulus size for RSA, curve size for EC, the encoded key for
    /// ML-DSA).
    pub fn bits(&self) -> usize {
        match self {
            PublicKey::Rsa { modulus, .. } => {
                modulus.len() * 8 - modulus.first().map_or(8, |b| b.leading_zeros() as usize)
            }
            PublicKey::Ec { curve, .. } => match curve {
                Curve::P256 => 256,
                Curve::P384 => 384,
                Curve::P521 => 521,
            },
            PublicKey::MlDsa { key, .. } => key.len() * 8,
        }
    }

    /// The encoding the official helper hashes into `sign-string`'s fixed test string: the
    /// uncompressed point for EC keys, the DER `RSAPublicKey` (PKCS#1) for RSA keys, and nothing
    /// for ML-DSA keys (the official v1.8 adds no key hash to their test string).
    pub fn sign_string_encoding(&self) -> Option<Vec<u8>> {
        match self {
            PublicKey::Ec { point, .. } => Some(point.clone()),
            PublicKey::Rsa { modulus, exponent } => {
                let body = [der_uint(modulus), der_uint(exponent)].concat();
                Some(der_tlv(0x30, &body))
            }
            PublicKey::MlDsa { .. } => None,
        }
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicKey::Rsa { .. } => write!(f, "RSA-{}", self.bits()),
            PublicKey::Ec { curve, .. } => write!(f, "EC {curve}"),
            PublicKey::MlDsa { level, .. } => write!(f, "{level}"),
        }
    }
}

/// A parsed X.509 certificate.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    serial_decimal: String,
    serial_hex: String,
    subject: Name,
    issuer: Name,
    not_before: i64,
    not_after: i64,
    is_ca: bool,
    public_key: std::result::Result<PublicKey, String>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject())
            .field("serial", &self.serial_hex)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Parses one DER certificate. `Err` holds the parser's message.
    pub fn from_der(der: &[u8]) -> std::result::Result<Certificate, String> {
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
        if !rest.is_empty() {
            return Err("trailing data after the certificate".into());
        }
        let tbs = &cert.tbs_certificate;
        let public_key = public_key_of(&cert);
        Ok(Certificate {
            der: der.to_vec(),
            serial_decimal: serial_decimal(tbs.raw_serial()),
            serial_hex: serial_hex(tbs.raw_serial()),
            subject: Name::new(tbs.subject.as_raw()),
            issuer: Name::new(tbs.issuer.as_raw()),
            not_before: tbs.validity.not_before.timestamp(),
            not_after: tbs.validity.not_after.timestamp(),
            is_ca: cert.is_ca(),
            public_key,
        })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Base64 of the DER, as sent in `X-Amz-X509`.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }

    /// The serial number in decimal, as used in the `Credential=` field.
    pub fn serial_decimal(&self) -> &str {
        &self.serial_decimal
    }

    /// The serial number in upper-case hex without leading zeros.
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// The subject distinguished name.
    pub fn subject(&self) -> &str {
        self.subject.text()
    }

    /// The issuer distinguished name.
    pub fn issuer(&self) -> &str {
        self.issuer.text()
    }

    /// Start of validity, seconds since the Unix epoch.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// End of validity, seconds since the Unix epoch.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Whether basicConstraints says CA:TRUE.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// The subject public key, or why IAM Roles Anywhere could not use it.
    pub fn public_key(&self) -> std::result::Result<&PublicKey, &str> {
        self.public_key.as_ref().map_err(String::as_str)
    }

    /// SHA-1 fingerprint in lower-case hex, as the official helper lists certificates.
    pub fn sha1_fingerprint(&self) -> String {
        use sha1::Digest;
        hex::encode(sha1::Sha1::digest(&self.der))
    }
}

/// A distinguished name, formatted only when someone reads it: the formatting builds x509-parser's
/// OID registry, a measurable share of a cold `credential-process` that never shows a name.
#[derive(Clone)]
struct Name {
    der: Vec<u8>,
    text: OnceLock<String>,
}

impl Name {
    fn new(der: &[u8]) -> Name {
        Name {
            der: der.to_vec(),
            text: OnceLock::new(),
        }
    }

    fn text(&self) -> &str {
        self.text
            .get_or_init(|| match X509Name::from_der(&self.der) {
                Ok((_, name)) => name.to_string(),
                // Unreachable: the bytes were parsed as this very name when the certificate was read.
                Err(_) => String::new(),
            })
    }
}

fn public_key_of(cert: &X509Certificate<'_>) -> std::result::Result<PublicKey, String> {
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    if let Some(level) = MlDsaLevel::from_oid(&oid) {
        return ml_dsa_public_key(level, spki);
    }
    match spki.parsed() {
        Ok(SpkiKey::RSA(rsa)) => Ok(PublicKey::rsa(rsa.modulus, rsa.exponent)),
        Ok(SpkiKey::EC(point)) => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string())
                .unwrap_or_default();
            let curve = Curve::from_oid(&curve_oid)
                .ok_or_else(|| format!("EC curve {}", curve_name(&curve_oid)))?;
            PublicKey::ec(curve, point.data()).ok_or_else(|| "invalid EC point".to_string())
        }
        Ok(other) => Err(key_name(&other).to_string()),
        Err(_) => Err(format!(
            "algorithm {}",
            spki.algorithm.algorithm.to_id_string()
        )),
    }
}

/// An ML-DSA SPKI (RFC 9881): no algorithm parameters, and the encoded key as the BIT STRING.
fn ml_dsa_public_key(
    level: MlDsaLevel,
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
) -> std::result::Result<PublicKey, String> {
    if spki.algorithm.parameters.is_some() {
        return Err(format!(
            "{level} with algorithm parameters (RFC 9881 forbids them)"
        ));
    }
    let key = spki.subject_public_key.data.as_ref();
    if key.len() != level.public_key_len() || spki.subject_public_key.unused_bits != 0 {
        return Err(format!(
            "{level} with a {}-byte public key (expected {})",
            key.len(),
            level.public_key_len()
        ));
    }
    Ok(PublicKey::MlDsa {
        level,
        key: key.to_vec(),
    })
}

fn key_name(key: &SpkiKey<'_>) -> &'static str {
    match key {
        SpkiKey::DSA(_) => "DSA",
        SpkiKey::GostR3410(_) | SpkiKey::GostR3410_2012(_) => "GOST",
        SpkiKey::RSA(_) => "RSA",
        SpkiKey::EC(_) => "EC",
        _ => "(unknown)",
    }
}

/// A readable name for curve OIDs people meet in practice.
pub(crate) fn curve_name(oid: &str) -> String {
    match oid {
        "1.3.132.0.10" => "secp256k1".into(),
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1".into(),
        "1.3.36.3.3.2.8.1.1.11" => "brainpoolP384r1".into(),
        "1.3.36.3.3.2.8.1.1.13" => "brainpoolP512r1".into(),
        "" => "(unnamed parameters)".into(),
        other => other.into(),
    }
}

/// Reads every certificate in a PEM or DER file, in file order.
///
/// Non-certificate PEM blocks (a private key in a combined file, say) are skipped; a file with no
/// certificate at all is an error.
pub fn read_certificates(path: &Path) -> Result<Vec<Certificate>> {
    let data = super::read::read_file(path, "a PEM or DER certificate")?;
    certificates_from_bytes(path, &data)
}

/// Like [`read_certificates`], for bytes already read from `path` by `read::read_file` (which
/// refuses empty files).
pub(crate) fn certificates_from_bytes(path: &Path, data: &[u8]) -> Result<Vec<Certificate>> {
    let parse = |index: usize, der: &[u8]| {
        Certificate::from_der(der).map_err(|detail| Error::Certificate {
            path: path.to_path_buf(),
            index,
            detail,
        })
    };
    if !pem::is_pem(data) {
        if data.first() == Some(&0x30) {
            return Ok(vec![parse(1, data)?]);
        }
        return Err(Error::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    let blocks = pem::parse(data).map_err(|detail| Error::pem(path, detail))?;
    let certificates = blocks
        .iter()
        .filter(|b| b.label == "CERTIFICATE" || b.label == "X509 CERTIFICATE")
        .enumerate()
        .map(|(i, b)| parse(i + 1, &b.der))
        .collect::<Result<Vec<_>>>()?;
    if certificates.is_empty() {
        return Err(Error::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certificates)
}

/// A serial number's bytes (big-endian, read as unsigned, as x509-parser's `serial` reads them)
/// in decimal. Serials are at most 20 bytes (RFC 5280), so long division by 10 is plenty; a
/// bignum library's radix conversion would cost more at every start than the conversion itself.
fn serial_decimal(raw: &[u8]) -> String {
    let mut number = strip_zeros(raw).to_vec();
    let mut digits = Vec::with_capacity(number.len() * 5 / 2 + 1);
    while !number.is_empty() {
        let mut remainder = 0u32;
        for byte in &mut number {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = (value / 10) as u8;
            remainder = value % 10;
        }
        digits.push(b'0' + remainder as u8);
        let first = number.iter().position(|&b| b != 0).unwrap_or(number.len());
        number.drain(..first);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

/// A serial number's bytes in upper-case hex without leading zeros ("0" for zero).
pub(crate) fn serial_hex(raw: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut hex = String::with_capacity(raw.len() * 2);
    for &byte in strip_zeros(raw) {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    // The first byte is not zero, so at most its high nibble is.
    match hex.strip_prefix('0') {
        Some(rest) => rest.to_string(),
        None if hex.is_empty() => "0".to_string(),
        None => hex,
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// DER INTEGER for a non-negative big-endian magnitude.
fn der_uint(magnitude: &[u8]) -> Vec<u8> {
    let m = strip_zeros(magnitude);
    let mut body = Vec::with_capacity(m.len() + 1);
    if m.is_empty() || m[0] & 0x80 != 0 {
        body.push(0);
    }
    body.extend_from_slice(m);
    der_tlv(0x02, &body)
}

/// A DER tag-length-value with definite length.
pub(crate) fn der_tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(body);
    out
}

/// DER `ECDSA-Sig-Value` from a raw `r || s` signature, as PKCS#11 tokens and TPMs return it.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    der_tlv(0x30, &[der_uint(r), der_uint(s)].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_read_as_a_bignum_library_reads_them() {
        // Known answers from Python's int.from_bytes(raw, "big") (decimal) and OpenSSL's
        // `x509 -serial` (hex, which prints leading zero nibbles this format drops).
        let cases: [(&[u8], &str, &str); 6] = [
            (&[0x00], "0", "0"),
            (&[], "0", "0"),
            (&[0x01], "1", "1"),
            (&[0x00, 0x80], "128", "80"),
            (&[0x0f, 0xff], "4095", "FFF"),
            (
                &[
                    0x00, 0xd3, 0x5f, 0x6e, 0x9a, 0x10, 0x42, 0x7c, 0x01, 0x00, 0xfe, 0x33, 0x21,
                    0x9b, 0x44, 0x05, 0x0a, 0x6c, 0x7e, 0x88, 0x01,
                ],
                "1206725258214240402886842029970054514821482579969",
                "D35F6E9A10427C0100FE33219B44050A6C7E8801",
            ),
        ];
        for (raw, decimal, hex) in cases {
            assert_eq!(serial_decimal(raw), decimal, "{raw:02x?}");
            assert_eq!(serial_hex(raw), hex, "{raw:02x?}");
        }
    }

    #[test]
    fn serials_of_the_test_certificates_match_num_bigint() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata");
        let mut seen = 0;
        for dir in [
            "pki/rsa-2048",
            "pki/ec-p256",
            "pki/ec-p384",
            "mldsa/mldsa65",
        ] {
            for cert in
                read_certificates(Path::new(&format!("{root}/{dir}/fullchain.pem"))).unwrap()
            {
                let (_, parsed) = X509Certificate::from_der(cert.der()).unwrap();
                let serial = &parsed.tbs_certificate.serial;
                assert_eq!(cert.serial_decimal(), serial.to_str_radix(10));
                assert_eq!(cert.serial_hex(), serial.to_str_radix(16).to_uppercase());
                seen += 1;
            }
        }
        assert!(seen >= 8, "{seen} certificates");
    }

    #[test]
    fn der_integers_get_a_sign_byte_when_needed() {
        assert_eq!(der_uint(&[0x00, 0x7f]), vec![0x02, 0x01, 0x7f]);
        assert_eq!(der_uint(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der_uint(&[]), vec![0x02, 0x01, 0x00]);
    }

    #[test]
    fn long_lengths_use_the_long_form() {
        let tlv = der_tlv(0x30, &[0u8; 300]);
        assert_eq!(&tlv[..4], &[0x30, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn raw_ecdsa_signatures_become_der() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a sign byte
        raw[63] = 1; // s is 1 after stripping
        let der = ecdsa_raw_to_der(&raw);
        assert_eq!(der[0], 0x30);
        assert_eq!(&der[2..5], &[0x02, 0x21, 0x00]);
        assert_eq!(&der[der.len() - 3..], &[0x02, 0x01, 0x01]);
    }
}
