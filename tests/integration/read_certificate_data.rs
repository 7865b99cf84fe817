//! `read-certificate-data` prints the official JSON; values are checked against OpenSSL's view of
//! the same certificates (serial from `openssl x509 -serial`, DER from `openssl x509 -outform
//! DER`, both made by testdata/gen.sh).

use base64::Engine;
use test_support::{pki, EC_KINDS, RSA_KINDS};

use crate::util::helper;

fn read(cert: &str) -> serde_json::Value {
    let out = helper(&["read-certificate-data", "--certificate", cert]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The official helper prints the JSON without a trailing newline.
    assert_ne!(out.stdout.last(), Some(&b'\n'));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn prints_the_official_fields_for_every_key_type() {
    for kind in RSA_KINDS.iter().chain(EC_KINDS.iter()) {
        let key_type = if kind.starts_with("rsa") { "RSA" } else { "EC" };
        let serial = std::fs::read_to_string(pki(kind, "serial.dec")).unwrap();
        let der = std::fs::read(pki(kind, "cert.der")).unwrap();
        let want = serde_json::json!({
            "keyType": key_type,
            "certificateData": base64::engine::general_purpose::STANDARD.encode(der),
            "serialNumber": serial.trim(),
            "supportedAlgorithms": [format!("{key_type}SHA256"), format!("{key_type}SHA384"), format!("{key_type}SHA512")],
        });
        for file in ["cert.pem", "cert.der", "fullchain.pem", "combined.pem"] {
            assert_eq!(read(&pki(kind, file)), want, "{kind}/{file}");
        }
    }
}

#[test]
fn key_order_is_the_official_one() {
    let out = helper(&[
        "read-certificate-data",
        "--certificate",
        &pki("ec-p256", "cert.pem"),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let pos = |k: &str| text.find(k).unwrap();
    assert!(pos("\"keyType\"") < pos("\"certificateData\""));
    assert!(pos("\"certificateData\"") < pos("\"serialNumber\""));
    assert!(pos("\"serialNumber\"") < pos("\"supportedAlgorithms\""));
}

#[test]
fn serial_with_high_bit_is_positive_decimal() {
    // ec-p256's serial is 20 bytes with the top bit set: DER needs a leading zero byte.
    let serial = std::fs::read_to_string(pki("ec-p256", "serial.dec")).unwrap();
    assert_eq!(
        read(&pki("ec-p256", "cert.pem"))["serialNumber"],
        serial.trim()
    );
}
