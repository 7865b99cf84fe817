//! `sign-string` against OpenSSL: every key type, every key file format, every digest.
//!
//! Expected RSA signatures (PKCS#1 v1.5 is deterministic) and the fixed test string were made by
//! OpenSSL's command line (testdata/gen.sh); ECDSA signatures are checked by `openssl dgst
//! -verify`.

mod common;

use common::{helper, openssl_verify, pki, EC_KINDS, RSA_KINDS};

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
                openssl_verify(&pki(kind, "pub.pem"), digest, &fixed_string(kind), &got),
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
            openssl_verify(&pki(kind, "pub.pem"), "sha256", &fixed_string(kind), &got),
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
