//! Every bad input gets one line on stderr naming the file and the problem, exit status 1, and no
//! panic. Key/certificate mismatches are caught before anything is sent.
use test_support::{pki, testdata};

use crate::util::{assert_one_line_error, helper};

fn bad(file: &str) -> String {
    testdata(&format!("pki/bad/{file}"))
        .to_string_lossy()
        .into_owned()
}

fn sign_with(cert: &str, key: &str) -> std::process::Output {
    helper(&["sign-string", "--certificate", cert, "--private-key", key])
}

#[test]
fn broken_certificate_files() {
    let key = pki("ec-p256", "key-pkcs8.pem");
    for (file, needle) in [
        ("empty.pem", "is empty"),
        ("whitespace.pem", "is empty"),
        ("corrupt-cert.pem", "corrupt-cert.pem"),
        ("truncated-cert.pem", "truncated-cert.pem"),
        (
            "not-pem.txt",
            "could not parse PEM data: it contains no certificate",
        ),
    ] {
        let out = sign_with(&bad(file), &key);
        assert_one_line_error(&out, needle);
        let out = helper(&["read-certificate-data", "--certificate", &bad(file)]);
        assert_one_line_error(&out, needle);
    }
}

#[test]
fn broken_key_files() {
    let cert = pki("ec-p256", "cert.pem");
    for (file, needle) in [
        ("empty.pem", "is empty"),
        ("corrupt-key.pem", "corrupt-key.pem"),
        ("not-pem.txt", "not-pem.txt"),
    ] {
        assert_one_line_error(&sign_with(&cert, &bad(file)), needle);
    }
    // A certificate where the key should be.
    assert_one_line_error(&sign_with(&cert, &cert), "unable to parse private key");
    assert_one_line_error(
        &sign_with(&cert, &pki("ec-p256", "cert.der")),
        "certificate, not a private key",
    );
}

#[test]
fn missing_files_name_the_path() {
    let out = sign_with("/nonexistent/cert.pem", &pki("ec-p256", "key-pkcs8.pem"));
    assert_one_line_error(&out, "/nonexistent/cert.pem");
    let out = sign_with(&pki("ec-p256", "cert.pem"), "/nonexistent/key.pem");
    assert_one_line_error(&out, "/nonexistent/key.pem");
    let out = helper(&[
        "read-certificate-data",
        "--certificate",
        "/nonexistent/c.pem",
    ]);
    assert_one_line_error(&out, "cannot read /nonexistent/c.pem");
}

#[test]
fn key_that_does_not_match_the_certificate() {
    let out = sign_with(
        &pki("rsa-2048", "cert.pem"),
        &pki("rsa-3072", "key-pkcs8.pem"),
    );
    let err = assert_one_line_error(&out, "does not match the certificate");
    assert!(err.contains("rsa-3072/key-pkcs8.pem"), "{err}");
    let out = sign_with(
        &pki("ec-p256", "cert.pem"),
        &pki("rsa-2048", "key-pkcs8.pem"),
    );
    assert_one_line_error(&out, "does not match");
    let out = sign_with(&pki("ec-p256", "cert.pem"), &pki("ec-p384", "key-sec1.pem"));
    assert_one_line_error(&out, "does not match");
}

#[test]
fn unsupported_key_types_and_curves() {
    for (cert, key, needle) in [
        ("dsa-cert.pem", "dsa-key.pem", "DSA"),
        ("ed25519-cert.pem", "ed25519-key.pem", "Ed25519"),
        ("secp256k1-cert.pem", "secp256k1-key.pem", "secp256k1"),
    ] {
        let out = sign_with(&bad(cert), &bad(key));
        let err = assert_one_line_error(&out, needle);
        assert!(err.contains("unsupported key type"), "{err}");
        // The key alone is refused too.
        let out = helper(&["sign-string", "--private-key", &bad(key)]);
        assert_one_line_error(&out, needle);
    }
}

#[test]
fn encrypted_key_passwords() {
    let cert = pki("rsa-2048", "cert.pem");
    let key = pki("rsa-2048", "key-pkcs8-aes-256-cbc-sha256.pem");
    // No password and no terminal to ask on.
    let out = sign_with(&cert, &key);
    assert_one_line_error(&out, "--pkcs8-password");
    for wrong in ["wrong", "passwordx", ""] {
        let out = helper(&[
            "sign-string",
            "--certificate",
            &cert,
            "--private-key",
            &key,
            "--pkcs8-password",
            wrong,
        ]);
        // An empty password is "no password": it must still fail cleanly.
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{wrong:?}: {err}");
        assert!(err.contains("key-pkcs8-aes-256-cbc-sha256.pem"), "{err}");
    }
    let out = helper(&[
        "sign-string",
        "--private-key",
        &pki("ec-p256", "key-pkcs8-scrypt.pem"),
        "--pkcs8-password",
        "nope",
    ]);
    assert_one_line_error(&out, "incorrect PKCS#8 private key password");
}

#[test]
fn pkcs12_password_problems() {
    let bundle = pki("ec-p256", "bundle.p12");
    let out = helper(&["sign-string", "--certificate", &bundle]);
    assert_one_line_error(&out, "--pkcs8-password");
    let out = helper(&[
        "sign-string",
        "--certificate",
        &bundle,
        "--pkcs8-password",
        "bad",
    ]);
    assert_one_line_error(&out, "incorrect PKCS#12 password");
}

#[test]
fn legacy_encrypted_pem_problems() {
    let key = pki("rsa-2048", "key-legacy-aes256.pem");
    // No password and no terminal to ask for it.
    let out = helper(&["sign-string", "--private-key", &key]);
    assert_one_line_error(&out, "--pkcs8-password");
    let out = helper(&[
        "sign-string",
        "--private-key",
        &key,
        "--pkcs8-password",
        "nope",
    ]);
    assert_one_line_error(&out, "incorrect PKCS#8 private key password");
    // A cipher it does not read (DES-CBC) gets the command that converts the key.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(pki("ec-p256", "key-legacy-des3.pem")).unwrap();
    let des = dir.path().join("des.pem");
    std::fs::write(&des, text.replace("DES-EDE3-CBC,", "DES-CBC,")).unwrap();
    let out = helper(&[
        "sign-string",
        "--private-key",
        des.to_str().unwrap(),
        "--pkcs8-password",
        "password",
    ]);
    assert_one_line_error(&out, "openssl pkcs8 -topk8");
}

#[test]
fn certificate_without_its_key() {
    let out = helper(&["sign-string", "--certificate", &pki("rsa-2048", "cert.der")]);
    assert_one_line_error(&out, "--private-key");
    let out = helper(&["sign-string", "--certificate", &pki("rsa-2048", "cert.pem")]);
    assert_one_line_error(&out, "--private-key");
}

#[test]
fn pkcs11_and_tpm_sources_are_reported_not_crashed() {
    let out = helper(&["sign-string", "--private-key", "pkcs11:token=x;object=y"]);
    assert_one_line_error(&out, "PKCS#11");
    let out = helper(&[
        "sign-string",
        "--certificate",
        &pki("rsa-2048", "cert.pem"),
        "--private-key",
        "handle:0x81000001",
    ]);
    assert_one_line_error(&out, "TPM");
}

/// A build without the `tpm` feature (the default) says so for both kinds of TPM key; the
/// feature's own tests are in tests/integration/tpm.rs.
#[cfg(not(feature = "tpm"))]
#[test]
fn tpm_keys_in_a_build_without_tpm_support_say_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("tpm.pem");
    // Any content: the label alone picks the backend.
    std::fs::write(
        &key,
        "-----BEGIN TSS2 PRIVATE KEY-----\nMAA=\n-----END TSS2 PRIVATE KEY-----\n",
    )
    .unwrap();
    let rebuild =
        "needs tpm support, which this build lacks; rebuild with `cargo build --features tpm`";
    let out = helper(&["sign-string", "--private-key", key.to_str().unwrap()]);
    assert_one_line_error(&out, "a TPM key file (TSS2 PRIVATE KEY)");
    assert_one_line_error(&out, rebuild);
    let out = helper(&["sign-string", "--private-key", "handle:0x81000001"]);
    assert_one_line_error(&out, rebuild);
}

#[test]
fn usage_errors_exit_1_like_the_official_tool() {
    let out = helper(&["sign-string", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(1));
    let out = helper(&["sign-string", "--digest", "MD5"]);
    assert_eq!(out.status.code(), Some(1));
    let out = helper(&["sign-string"]);
    assert_one_line_error(&out, "--certificate");
}
