//! Entry points for the fuzz targets (`fuzz/`) and for replaying their corpora as tests
//! (`tests/fuzz_corpora.rs`): each takes arbitrary bytes, runs one identity parser over them the
//! way the helper does, and checks what must hold of the result. A panic is a finding. Not an
//! API: nothing here is meant to be called by anything but those two.

use std::path::Path;

use super::certificate::{certificates_from_bytes, Certificate};
use super::{file, pem, pkcs11, pkcs12, Digest, Secret, Signer};

/// The path error messages name.
const PATH: &str = "fuzz-input";

/// The PEM reader: every block it returns has a label and content.
pub fn pem(data: &[u8]) {
    let _ = pem::is_pem(data);
    if let Ok(blocks) = pem::parse(data) {
        for block in blocks {
            assert!(!block.der.is_empty(), "an empty PEM block came back");
        }
    }
}

/// Certificate files (PEM with any blocks around, or DER), and each certificate's accessors.
pub fn certificates(data: &[u8]) {
    if let Ok(certificates) = certificates_from_bytes(Path::new(PATH), data) {
        for c in &certificates {
            exercise(c);
        }
    }
    if let Ok(c) = Certificate::from_der(data) {
        exercise(&c);
    }
}

fn exercise(c: &Certificate) {
    assert!(!c.serial_decimal().is_empty());
    let _ = (
        c.subject(),
        c.issuer(),
        c.not_before(),
        c.not_after(),
        c.is_ca(),
    );
    let _ = (c.to_base64(), c.sha1_fingerprint(), c.serial_hex());
    if let Ok(key) = c.public_key() {
        let _ = (key.key_type(), key.bits(), key.sign_string_encoding());
    }
}

/// Private key files in every format (PKCS#1, SEC1, PKCS#8, encrypted PKCS#8 with the password
/// "password", legacy PEM encryption, explicit EC parameters, DER or PEM); a key that loads
/// must sign.
pub fn key(data: &[u8]) {
    let password = Secret::new("password".into());
    if let Ok(key) = file::read_key(
        Path::new(PATH),
        data,
        Some(&password),
        &super::tpm::TpmAuth::new(None, true),
    ) {
        // Keys the fuzzer finds are small or EC; a signature costs little.
        if key.public_key().bits() <= 4096 {
            assert!(
                key.sign(b"fuzz", Digest::Sha256).is_ok(),
                "a loaded key does not sign"
            );
        }
    }
}

/// PKCS#12 bundles, opened with an empty password and with "password" (never a prompt).
pub fn pkcs12(data: &[u8]) {
    for password in ["", "password"] {
        let password = Secret::new(password.into());
        if let Ok(bundle) = pkcs12::open(Path::new(PATH), data, Some(&password)) {
            // The leaf comes first and matches the key.
            let leaf = bundle.certificates.first().expect("a bundle has its leaf");
            assert_eq!(leaf.public_key().ok(), Some(bundle.key.public_key()));
        }
    }
}

/// PKCS#11 URIs (RFC 7512): see `pkcs11::fuzz_uri`.
pub fn pkcs11_uri(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        pkcs11::fuzz_uri(text);
    }
}
