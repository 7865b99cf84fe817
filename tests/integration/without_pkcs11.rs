//! A build without the `pkcs11` feature: a `pkcs11:` URI gets one line saying the build lacks
//! it, and file keys still work. Runs only in such a build:
//! `cargo test --no-default-features --test integration without_pkcs11::` (tests/run.sh does).

use test_support::pki;

use crate::util::{assert_one_line_error, helper};

#[test]
fn a_pkcs11_uri_says_this_build_lacks_the_feature() {
    let cert = pki("ec-p256", "cert.pem");
    for args in [
        &["sign-string", "--private-key", "pkcs11:token=ra;object=k"][..],
        &[
            "sign-string",
            "--certificate",
            &cert,
            "--private-key",
            "pkcs11:object=k",
        ][..],
        &[
            "credential-process",
            "--certificate",
            "pkcs11:token=ra",
            "--trust-anchor-arn",
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta",
            "--profile-arn",
            "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p",
            "--role-arn",
            "arn:aws:iam::123456789012:role/r",
        ][..],
        &["read-certificate-data", "--certificate", "pkcs11:token=ra"][..],
    ] {
        let out = helper(args);
        let line = assert_one_line_error(&out, "needs pkcs11 support, which this build lacks");
        assert!(line.contains("--features pkcs11"), "{line}");
    }
}

#[test]
fn file_keys_still_sign() {
    let out = helper(&[
        "sign-string",
        "--private-key",
        &pki("ec-p256", "key-pkcs8.pem"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.starts_with(b"\"30"),
        "not a DER signature in hex"
    );
}
