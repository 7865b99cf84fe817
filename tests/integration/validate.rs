//! `validate`: each check and each exit status, on the fixtures `testdata/gen.sh` made with
//! OpenSSL (`pki/validate/`, `pki/bad/`). Chain verdicts are compared with `openssl verify`'s,
//! and `--live` runs against the real `rolesanywhere-local`.

use std::process::Output;

use test_support::standard::{DISABLED_ANCHOR, PROFILE, ROLE, TRUST_ANCHOR};
use test_support::{pki, testdata, EC_KINDS, RSA_KINDS};

use crate::util::local::{helper_command, Local};

/// Every check, in the order `validate` prints them.
const CHECKS: [&str; 12] = [
    "certificate",
    "version",
    "basic-constraints",
    "key-usage",
    "signature-algorithm",
    "public-key",
    "private-key",
    "chain",
    "revocation",
    "validity",
    "lifetime",
    "live",
];

fn path(rel: &str) -> String {
    testdata(rel).to_string_lossy().into_owned()
}

fn validate(args: &[&str]) -> Output {
    let mut all = vec!["validate"];
    all.extend(args);
    helper_command(&all).output().expect("run validate")
}

/// `validate` of `cert` with `key`, and `extra`.
fn validate_pair(cert: &str, key: &str, extra: &[&str]) -> Output {
    let mut args = vec!["--certificate", cert, "--private-key", key];
    args.extend(extra);
    validate(&args)
}

/// `validate` of `pki/validate/<name>` with its key, the intermediate and the root as bundle.
fn validate_fixture(name: &str, extra: &[&str]) -> Output {
    let cert = path(&format!("pki/validate/{name}.pem"));
    let key = path(&format!("pki/validate/{name}-key.pem"));
    let int = path("pki/ca/int.pem");
    let root = path("pki/ca/root.pem");
    let mut args = vec![
        "--certificate",
        &cert,
        "--private-key",
        &key,
        "--intermediates",
        &int,
        "--trust-anchor-bundle",
        &root,
    ];
    args.extend(extra);
    validate(&args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The line of check `name`: its status (`pass`, `FAIL`, `skip`) and detail.
fn line(out: &Output, name: &str) -> (String, String) {
    let text = stdout(out);
    for l in text.lines() {
        let mut parts = l.splitn(2, "  ");
        let status = parts.next().unwrap_or_default();
        let rest = parts.next().unwrap_or_default().trim_start();
        if let Some(detail) = rest.strip_prefix(name) {
            if detail.starts_with(' ') {
                return (status.to_string(), detail.trim().to_string());
            }
        }
    }
    panic!("no line for {name} in:\n{text}");
}

/// Asserts exit `code`, check `name` failed with `needle` in its detail, and stderr is one line.
#[track_caller]
fn assert_fails(out: &Output, code: i32, name: &str, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{}\n{stderr}", stdout(out));
    let (status, detail) = line(out, name);
    assert_eq!(status, "FAIL", "{name}: {}", stdout(out));
    assert!(
        detail.contains(needle),
        "{name}: {needle:?} not in {detail:?}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[track_caller]
fn assert_passes(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout(out).contains("FAIL"), "{}", stdout(out));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_good_certificate_passes_every_check_for_every_key_type() {
    let root = path("pki/ca/root.pem");
    for kind in RSA_KINDS.iter().chain(&EC_KINDS) {
        let cert = pki(kind, "fullchain.pem");
        let key = pki(kind, "key-pkcs8.pem");
        let out = validate_pair(
            &cert,
            &key,
            &["--trust-anchor-bundle", &root, "--min-remaining", "7d"],
        );
        assert_passes(&out);
        for check in CHECKS
            .iter()
            .filter(|c| !["revocation", "live"].contains(c))
        {
            assert_eq!(line(&out, check).0, "pass", "{kind} {check}");
        }
        assert_eq!(line(&out, "live").0, "skip");
        assert!(line(&out, "chain").1.contains("Intermediate CA"), "{kind}");
    }
    // RSA-1024 passes as the official helper accepts it, but is called weak.
    let weak = validate_pair(
        &pki("rsa-1024", "cert.pem"),
        &pki("rsa-1024", "key-pkcs8.pem"),
        &[],
    );
    assert!(
        line(&weak, "public-key").1.contains("weak"),
        "{}",
        stdout(&weak)
    );
}

#[test]
fn every_key_encoding_and_a_certmonger_shaped_leaf_pass() {
    for key in ["key-pkcs8.der", "key-sec1.pem", "key-pkcs8-scrypt.pem"] {
        let out = validate_pair(
            &pki("ec-p384", "cert.pem"),
            &pki("ec-p384", key),
            &["--pkcs8-password", "password"],
        );
        assert_passes(&out);
    }
    // keyUsage present but not critical, as certmonger's `-u digitalSignature` makes it.
    assert_passes(&validate_fixture("certmonger-leaf", &[]));
    // A combined PEM and a PKCS#12 bundle, the key found inside.
    assert_passes(&validate(&[
        "--certificate",
        &pki("ec-p256", "combined.pem"),
    ]));
    assert_passes(&validate(&[
        "--certificate",
        &pki("rsa-2048", "bundle.p12"),
        "--pkcs8-password",
        "password",
    ]));
}

#[test]
fn the_end_entity_rules_exit_2() {
    for (name, check, needle) in [
        ("v1-leaf", "version", "X.509 v1"),
        ("no-bc-leaf", "basic-constraints", "no basicConstraints"),
        ("no-ku-leaf", "key-usage", "no keyUsage"),
        ("sha1-leaf", "signature-algorithm", "ecdsa-with-SHA1"),
    ] {
        assert_fails(&validate_fixture(name, &[]), 2, check, needle);
    }
    let bad = |name: &str| path(&format!("pki/bad/{name}"));
    for (cert, key, check, needle) in [
        (
            "ca-true-leaf.pem",
            "ca-true-leaf-key.pem",
            "basic-constraints",
            "CA:TRUE",
        ),
        (
            "no-digsig-leaf.pem",
            "no-digsig-leaf-key.pem",
            "key-usage",
            "without digitalSignature",
        ),
        (
            "ed25519-cert.pem",
            "ed25519-key.pem",
            "signature-algorithm",
            "Ed25519",
        ),
        (
            "secp256k1-cert.pem",
            "secp256k1-key.pem",
            "public-key",
            "secp256k1",
        ),
        ("dsa-cert.pem", "dsa-key.pem", "public-key", "DSA"),
        (
            "corrupt-cert.pem",
            "expired-key.pem",
            "certificate",
            "could not parse certificate",
        ),
        (
            "truncated-cert.pem",
            "expired-key.pem",
            "certificate",
            "not valid PEM",
        ),
        ("empty.pem", "expired-key.pem", "certificate", "is empty"),
    ] {
        let out = validate_pair(&bad(cert), &bad(key), &[]);
        assert_fails(&out, 2, check, needle);
    }
}

#[test]
fn a_key_that_is_not_the_certificates_exits_3() {
    // The usual state of a renewal in progress: a new key beside the old certificate.
    let out = validate_pair(
        &pki("ec-p256", "cert.pem"),
        &pki("ec-p384", "key-pkcs8.pem"),
        &[
            "--trust-anchor-bundle",
            &path("pki/ca/root.pem"),
            "--intermediates",
            &path("pki/ca/int.pem"),
        ],
    );
    assert_fails(&out, 3, "private-key", "does not match the certificate");
    // The certificate is still judged on its own.
    assert_eq!(line(&out, "key-usage").0, "pass");
    assert_eq!(line(&out, "chain").0, "pass");
    for (key, needle) in [
        ("pki/bad/corrupt-key.pem", "unable to parse private key"),
        ("pki/bad/empty.pem", "is empty"),
        ("pki/bad/no-such-key.pem", "cannot read"),
    ] {
        let out = validate_pair(&pki("ec-p256", "cert.pem"), &path(key), &[]);
        assert_fails(&out, 3, "private-key", needle);
        assert_eq!(line(&out, "version").0, "pass");
    }
    let wrong_password = validate_pair(
        &pki("ec-p256", "cert.pem"),
        &pki("ec-p256", "key-pkcs8-aes-256-cbc-sha256.pem"),
        &["--pkcs8-password", "wrong"],
    );
    assert_fails(&wrong_password, 3, "private-key", "wrong password");
}

#[test]
fn unreadable_intermediates_fail_the_chain_even_without_a_bundle() {
    let out = validate_pair(
        &pki("ec-p256", "cert.pem"),
        &pki("ec-p256", "key-pkcs8.pem"),
        &["--intermediates", &path("pki/bad/corrupt-cert.pem")],
    );
    assert_fails(&out, 4, "chain", "corrupt-cert.pem");
    assert_eq!(line(&out, "version").0, "pass");
}

/// `openssl verify`'s verdict on a chain, the independent reference for ours.
fn openssl_verifies(cert: &str, untrusted: &str) -> bool {
    std::process::Command::new("openssl")
        .args([
            "verify",
            "-CAfile",
            &path("pki/ca/root.pem"),
            "-untrusted",
            untrusted,
            cert,
        ])
        .output()
        .expect("run openssl")
        .status
        .success()
}

#[test]
fn paths_are_validated_as_openssl_does_and_exit_4() {
    let good = pki("ec-p256", "cert.pem");
    let int = path("pki/ca/int.pem");
    assert!(openssl_verifies(&good, &int));
    assert_eq!(
        line(
            &validate_with(&good, &pki("ec-p256", "key-pkcs8.pem"), &int),
            "chain"
        )
        .0,
        "pass"
    );

    for (name, chain, needle) in [
        (
            "pathlen-leaf",
            "pki/validate/pathlen-chain.pem",
            "pathLenConstraint",
        ),
        (
            "no-certsign-leaf",
            "pki/validate/no-certsign-ca.pem",
            "without keyCertSign",
        ),
        ("expired-ca-leaf", "pki/validate/expired-ca.pem", "expired"),
    ] {
        let cert = path(&format!("pki/validate/{name}.pem"));
        let chain = path(chain);
        assert!(!openssl_verifies(&cert, &chain), "openssl accepts {name}");
        let key = path(&format!("pki/validate/{name}-key.pem"));
        assert_fails(&validate_with(&cert, &key, &chain), 4, "chain", needle);
    }
    // A P-521 issuer (verified with RustCrypto, since ring has no P-521), as OpenSSL does.
    let p521 = path("pki/validate/p521-ca-leaf.pem");
    let p521_ca = path("pki/validate/p521-ca.pem");
    assert!(openssl_verifies(&p521, &p521_ca));
    let out = validate_with(&p521, &path("pki/validate/p521-ca-leaf-key.pem"), &p521_ca);
    assert_passes(&out);
    assert!(
        line(&out, "chain").1.contains("P-521 CA"),
        "{}",
        stdout(&out)
    );
    // Its signature tampered with: the same path fails.
    let dir = tempfile::tempdir().unwrap();
    let tampered = dir.path().join("tampered.pem");
    let mut der = std::process::Command::new("openssl")
        .args(["x509", "-in", &p521, "-outform", "DER"])
        .output()
        .unwrap()
        .stdout;
    let last = der.len() - 1;
    der[last] ^= 1;
    std::fs::write(&tampered, &der).unwrap();
    let tampered = tampered.to_string_lossy().into_owned();
    assert!(!openssl_verifies(&tampered, &p521_ca));
    let out = validate_with(
        &tampered,
        &path("pki/validate/p521-ca-leaf-key.pem"),
        &p521_ca,
    );
    assert_fails(&out, 4, "chain", "does not verify");

    // Issued by another root.
    let untrusted = path("pki/bad/untrusted-leaf.pem");
    assert!(!openssl_verifies(&untrusted, &int));
    let out = validate_with(&untrusted, &path("pki/bad/untrusted-leaf-key.pem"), &int);
    assert_fails(&out, 4, "chain", "no path to a CA");
    // The intermediate missing: the hint says how to pass it.
    let out = validate_pair(
        &good,
        &pki("ec-p256", "key-pkcs8.pem"),
        &["--trust-anchor-bundle", &path("pki/ca/root.pem")],
    );
    assert_fails(&out, 4, "chain", "--intermediates");
    // The intermediate as the trust anchor: a path of one.
    let out = validate_pair(
        &good,
        &pki("ec-p256", "key-pkcs8.pem"),
        &["--trust-anchor-bundle", &int],
    );
    assert_passes(&out);
}

fn validate_with(cert: &str, key: &str, chain: &str) -> Output {
    validate_pair(
        cert,
        key,
        &[
            "--intermediates",
            chain,
            "--trust-anchor-bundle",
            &path("pki/ca/root.pem"),
        ],
    )
}

#[test]
fn revocation_by_crl_exits_5() {
    for crl in ["pki/validate/int.crl.pem", "pki/validate/int.crl.der"] {
        let out = validate_fixture("revoked-leaf", &["--crl", &path(crl)]);
        assert_fails(&out, 5, "revocation", "was revoked on 2024-06-01T00:00:00Z");
        assert!(line(&out, "revocation").1.contains("KeyCompromise"));
        // Not revoked: another leaf of the same CA.
        let out = validate_pair(
            &pki("ec-p256", "fullchain.pem"),
            &pki("ec-p256", "key-pkcs8.pem"),
            &[
                "--trust-anchor-bundle",
                &path("pki/ca/root.pem"),
                "--crl",
                &path(crl),
            ],
        );
        assert_passes(&out);
        assert!(line(&out, "revocation").1.contains("is not in the CRL"));
    }
    // A CRL in the intermediate's name that it did not sign.
    let forged = validate_fixture(
        "revoked-leaf",
        &["--crl", &path("pki/validate/forged.crl.pem")],
    );
    assert_fails(&forged, 5, "revocation", "does not verify");
    // A CRL of another CA says nothing about this certificate.
    let other = validate_fixture(
        "revoked-leaf",
        &["--crl", &path("pki/validate/other-root.crl.pem")],
    );
    assert_fails(&other, 5, "revocation", "no CRL given is issued by");
    // Without the CRL, the same certificate passes.
    assert_passes(&validate_fixture("revoked-leaf", &[]));
}

#[test]
fn dates_exit_6_and_a_short_remaining_lifetime_exits_7() {
    let bad = |name: &str| path(&format!("pki/bad/{name}"));
    let int = path("pki/ca/int.pem");
    let expired = validate_with(&bad("expired-cert.pem"), &bad("expired-key.pem"), &int);
    assert_fails(&expired, 6, "validity", "expired on 2021-01-01T00:00:00Z");
    assert_eq!(line(&expired, "lifetime").0, "skip");
    // No path is valid while the leaf is not: that is the validity check's failure alone.
    assert_eq!(line(&expired, "chain").0, "skip", "{}", stdout(&expired));
    let not_yet = validate_with(
        &bad("notyetvalid-cert.pem"),
        &bad("notyetvalid-key.pem"),
        &int,
    );
    assert_fails(
        &not_yet,
        6,
        "validity",
        "not valid until 2040-01-01T00:00:00Z",
    );

    // The fixtures are valid until 2045: a lifetime longer than what is left fails.
    let short = validate_fixture("certmonger-leaf", &["--min-remaining", "7300d"]);
    assert_fails(
        &short,
        7,
        "lifetime",
        "less than the 7300d of --min-remaining",
    );
    assert_passes(&validate_fixture(
        "certmonger-leaf",
        &["--min-remaining", "1d12h"],
    ));
}

#[test]
fn the_first_failed_class_decides_the_exit_status() {
    // Expired (6) with a key that does not match (3): 3.
    let out = validate_pair(
        &path("pki/bad/expired-cert.pem"),
        &pki("ec-p256", "key-pkcs8.pem"),
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert_eq!(line(&out, "validity").0, "FAIL");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("private-key, validity"), "{stderr}");
}

#[test]
fn json_reports_every_check_and_the_certificate() {
    let out = validate_fixture(
        "revoked-leaf",
        &[
            "--crl",
            &path("pki/validate/int.crl.pem"),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(5));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["exitCode"], 5);
    assert_eq!(doc["failure"], "revoked");
    let cert = &doc["certificate"];
    assert_eq!(cert["serialHex"], "B0000000000000000000015");
    assert_eq!(cert["notAfter"], "2045-01-01T00:00:00Z");
    assert!(cert["issuer"].as_str().unwrap().contains("Intermediate CA"));
    assert_eq!(cert["publicKey"], "EC P-256");
    let checks = doc["checks"].as_array().unwrap();
    let names: Vec<&str> = checks
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(names, CHECKS);
    for c in checks {
        let status = c["status"].as_str().unwrap();
        assert!(["pass", "fail", "skip"].contains(&status), "{c}");
    }
    let ok = validate_fixture("certmonger-leaf", &["--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        (doc["valid"].clone(), doc["exitCode"].clone()),
        (true.into(), 0.into())
    );
}

#[test]
fn no_key_material_is_ever_printed() {
    let key_file = path("pki/validate/certmonger-leaf-key.pem");
    let key = std::fs::read_to_string(&key_file).unwrap();
    let der = std::process::Command::new("openssl")
        .args(["pkey", "-in", &key_file, "-outform", "DER"])
        .output()
        .unwrap()
        .stdout;
    // The private scalar in hex, as a debug print would show it.
    let text = std::process::Command::new("openssl")
        .args(["pkey", "-in", &key_file, "-noout", "-text"])
        .output()
        .unwrap()
        .stdout;
    let text = String::from_utf8_lossy(&text);
    let scalar: String = text
        .split("pub:")
        .next()
        .unwrap()
        .lines()
        .skip(2)
        .flat_map(|l| l.trim().split(':'))
        .collect();
    for format in ["text", "json"] {
        let out = validate_fixture("certmonger-leaf", &["--format", format, "--debug"]);
        let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        for body in key.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!all.contains(body), "key PEM printed");
        }
        assert!(!all.contains(&hex::encode(&der)), "key DER printed");
        assert!(
            scalar.len() > 40 && !all.to_lowercase().contains(&scalar),
            "scalar printed"
        );
    }
}

#[test]
fn live_calls_create_session_and_classes_its_failures() {
    let local = Local::start(&[]);
    let url = local.url();
    let ca = local.ca.to_string_lossy().into_owned();
    let run = |anchor: &str, endpoint: &str| {
        let cert = pki("ec-p256", "fullchain.pem");
        let key = pki("ec-p256", "key-pkcs8.pem");
        helper_command(&[
            "validate",
            "--certificate",
            &cert,
            "--private-key",
            &key,
            "--trust-anchor-arn",
            anchor,
            "--profile-arn",
            PROFILE,
            "--role-arn",
            ROLE,
            "--endpoint",
            endpoint,
            "--live",
        ])
        .env("AWS_CA_BUNDLE", &ca)
        .env("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "5")
        .output()
        .unwrap()
    };
    let ok = run(TRUST_ANCHOR, &url);
    assert_passes(&ok);
    assert!(line(&ok, "live").1.contains("accepted"), "{}", stdout(&ok));
    let call = local.calls().pop().expect("a CreateSession");
    assert_eq!(call["ok"], true, "{call}");
    // The credentials are not printed.
    assert!(!stdout(&ok).contains("ASIA"), "{}", stdout(&ok));

    let refused = run(DISABLED_ANCHOR, &url);
    assert_fails(&refused, 8, "live", "AccessDeniedException");

    // Nothing listens on this port: the call could not be made.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let failed = run(TRUST_ANCHOR, &format!("https://127.0.0.1:{closed}"));
    assert_fails(&failed, 9, "live", "cannot reach");

    // --live needs the ARNs: a usage error.
    let out = validate_pair(
        &pki("ec-p256", "cert.pem"),
        &pki("ec-p256", "key-pkcs8.pem"),
        &["--live"],
    );
    crate::util::assert_one_line_error(&out, "--trust-anchor-arn");
}

#[test]
fn bad_validator_inputs_exit_1() {
    let cert = pki("ec-p256", "cert.pem");
    let key = pki("ec-p256", "key-pkcs8.pem");
    for (extra, needle) in [
        (
            vec!["--min-remaining", "soon"],
            "--min-remaining 'soon' is not a duration",
        ),
        (
            vec!["--trust-anchor-bundle", "/nonexistent/ca.pem"],
            "cannot read /nonexistent/ca.pem",
        ),
        (
            vec![
                "--trust-anchor-bundle",
                &path("pki/ca/root.pem"),
                "--crl",
                &path("pki/ca/root.pem"),
            ],
            "not a certificate revocation list",
        ),
    ] {
        let mut args = vec!["--certificate", &cert, "--private-key", &key];
        args.extend(extra.iter().copied());
        crate::util::assert_one_line_error(&validate(&args), needle);
    }
    let no_certificate = validate(&["--private-key", &key]);
    crate::util::assert_one_line_error(&no_certificate, "no certificate given");
}
