//! `sign-string` against OpenSSL: every key type, every key file format, every digest.
//!
//! Expected RSA signatures (PKCS#1 v1.5 is deterministic) and the fixed test string were made by
//! OpenSSL's command line (testdata/gen.sh); ECDSA signatures are checked by `openssl dgst
//! -verify`.
use test_support::{openssl, pki, EC_KINDS, RSA_KINDS};

use crate::util::helper;

const DIGESTS: [(&str, &str); 3] = [
    ("SHA256", "sha256"),
    ("SHA384", "sha384"),
    ("SHA512", "sha512"),
];

fn sign(args: &[&str]) -> Vec<u8> {
    let out = helper(&[&["sign-string", "--format", "bin"], args].concat());
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn expected_rsa(kind: &str, digest: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(pki(kind, &format!("sign-string-{digest}.hex"))).unwrap();
    hex::decode(text.trim()).unwrap()
}

fn fixed_string(kind: &str) -> Vec<u8> {
    std::fs::read(pki(kind, "sign-string.bin")).unwrap()
}

#[test]
fn rsa_signatures_equal_openssl_for_every_size_and_digest() {
    for kind in RSA_KINDS {
        for (flag, digest) in DIGESTS {
            let got = sign(&[
                "--certificate",
                &pki(kind, "cert.pem"),
                "--private-key",
                &pki(kind, "key-pkcs8.pem"),
                "--digest",
                flag,
            ]);
            assert_eq!(got, expected_rsa(kind, digest), "{kind} {flag}");
        }
    }
}

#[test]
fn ecdsa_signatures_verify_with_openssl_for_every_curve_and_digest() {
    for kind in EC_KINDS {
        for (flag, digest) in DIGESTS {
            let got = sign(&[
                "--certificate",
                &pki(kind, "cert.pem"),
                "--private-key",
                &pki(kind, "key-pkcs8.pem"),
                "--digest",
                flag,
            ]);
            assert!(
                openssl::verify(&pki(kind, "pub.pem"), digest, &fixed_string(kind), &got),
                "{kind} {flag}: OpenSSL rejected the signature"
            );
        }
    }
}

/// Checks one way of naming the key: RSA against the OpenSSL bytes, EC with OpenSSL verify.
fn check_identity(kind: &str, args: &[&str]) {
    let got = sign(args);
    if kind.starts_with("rsa") {
        assert_eq!(got, expected_rsa(kind, "sha256"), "{kind} {args:?}");
    } else {
        assert!(
            openssl::verify(&pki(kind, "pub.pem"), "sha256", &fixed_string(kind), &got),
            "{kind} {args:?}"
        );
    }
}

#[test]
fn every_unencrypted_key_format_signs() {
    let cases: &[(&str, &[&str])] = &[
        (
            "rsa-2048",
            &[
                "key-pkcs8.pem",
                "key-pkcs8.der",
                "key-pkcs1.pem",
                "key-pkcs1.der",
            ],
        ),
        ("rsa-1024", &["key-pkcs1.pem"]),
        ("rsa-8192", &["key-pkcs1.pem"]),
        (
            "ec-p256",
            &[
                "key-pkcs8.pem",
                "key-pkcs8.der",
                "key-sec1.pem",
                "key-sec1.der",
                "key-sec1-params.pem",
            ],
        ),
        ("ec-p384", &["key-sec1.pem", "key-pkcs8.der"]),
        ("ec-p521", &["key-sec1.pem", "key-pkcs8.der"]),
    ];
    for (kind, keys) in cases {
        for key in *keys {
            check_identity(
                kind,
                &[
                    "--certificate",
                    &pki(kind, "cert.pem"),
                    "--private-key",
                    &pki(kind, key),
                ],
            );
            // A key on its own is enough for sign-string.
            check_identity(kind, &["--private-key", &pki(kind, key)]);
        }
    }
}

#[test]
fn encrypted_pkcs8_keys_open_with_the_password() {
    let keys = [
        "key-pkcs8-aes-256-cbc-sha256.pem",
        "key-pkcs8-aes-128-cbc-sha256.pem",
        "key-pkcs8-aes-192-cbc-sha384.pem",
        "key-pkcs8-aes-256-cbc-sha512.pem",
        "key-pkcs8-aes-256-cbc-sha1.pem",
        "key-pkcs8-scrypt.pem",
        "key-pkcs8-aes-256-cbc-sha256.der",
    ];
    for kind in ["rsa-2048", "ec-p256", "ec-p384"] {
        for key in keys {
            check_identity(
                kind,
                &[
                    "--certificate",
                    &pki(kind, "cert.pem"),
                    "--private-key",
                    &pki(kind, key),
                    "--pkcs8-password",
                    "password",
                ],
            );
        }
    }
}

/// OpenSSL's legacy PEM encryption (`openssl rsa -traditional -aes128` / `openssl ec -des3`,
/// `Proc-Type: 4,ENCRYPTED`) with each cipher, decrypted with `--pkcs8-password`: RSA signatures
/// equal OpenSSL's, ECDSA signatures verify with OpenSSL.
#[test]
fn legacy_encrypted_pem_keys_open_with_the_password() {
    for kind in ["rsa-2048", "ec-p256", "ec-p384"] {
        for cipher in ["aes128", "aes192", "aes256", "des3"] {
            let key = pki(kind, &format!("key-legacy-{cipher}.pem"));
            for (flag, digest) in DIGESTS {
                let got = sign(&[
                    "--certificate",
                    &pki(kind, "cert.pem"),
                    "--private-key",
                    &key,
                    "--pkcs8-password",
                    "password",
                    "--digest",
                    flag,
                ]);
                if kind.starts_with("rsa") {
                    assert_eq!(got, expected_rsa(kind, digest), "{kind} {cipher} {flag}");
                } else {
                    assert!(
                        openssl::verify(&pki(kind, "pub.pem"), digest, &fixed_string(kind), &got),
                        "{kind} {cipher} {flag}: OpenSSL rejects the signature"
                    );
                }
            }
        }
    }
}

/// The password can also be typed at the terminal (a pseudo-terminal from util-linux's
/// `script`), as for encrypted PKCS#8 keys, asked again after a wrong one.
#[test]
fn legacy_encrypted_pem_password_is_asked_for_on_the_terminal() {
    let helper = env!("CARGO_BIN_EXE_aws_signing_helper");
    let key = pki("ec-p256", "key-legacy-aes256.pem");
    let command = format!("'{helper}' sign-string --format text --private-key '{key}'");
    let mut child = std::process::Command::new("timeout")
        .args(["60", "script", "-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run script (util-linux)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"nope\npassword\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches("private key password").count(), 2, "{text}");
    let hex = text
        .lines()
        .rfind(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no signature in: {text}"));
    let signature = hex::decode(hex).unwrap();
    assert!(openssl::verify(
        &pki("ec-p256", "pub.pem"),
        "sha256",
        &fixed_string("ec-p256"),
        &signature
    ));
}

#[test]
fn pkcs12_bundles_open_with_and_without_password() {
    for kind in ["rsa-2048", "ec-p256", "ec-p384"] {
        for (bundle, password) in [
            ("bundle.p12", Some("password")),
            ("bundle-legacy.p12", Some("password")),
            ("bundle-nopass.p12", None),
            ("bundle-nopass-legacy.p12", None),
        ] {
            let path = pki(kind, bundle);
            let mut args = vec!["--certificate", path.as_str()];
            if let Some(p) = password {
                args.extend(["--pkcs8-password", p]);
            }
            check_identity(kind, &args);
        }
    }
}

#[test]
fn combined_pem_works_as_certificate_alone() {
    for kind in ["rsa-2048", "ec-p384"] {
        check_identity(kind, &["--certificate", &pki(kind, "combined.pem")]);
    }
}

#[test]
fn output_formats_match_the_official_tool() {
    let args = |format: &'static str| {
        helper(&[
            "sign-string",
            "--private-key",
            &pki("rsa-2048", "key-pkcs1.pem"),
            "--format",
            format,
        ])
    };
    let hex = hex::encode(expected_rsa("rsa-2048", "sha256"));
    assert_eq!(String::from_utf8(args("text").stdout).unwrap(), hex);
    assert_eq!(
        String::from_utf8(args("json").stdout).unwrap(),
        format!("\"{hex}\"")
    );
    // JSON is the default format and SHA256 the default digest.
    let default = helper(&[
        "sign-string",
        "--private-key",
        &pki("rsa-2048", "key-pkcs1.pem"),
    ]);
    assert_eq!(
        String::from_utf8(default.stdout).unwrap(),
        format!("\"{hex}\"")
    );
}
