//! The verifier on ML-DSA: AWS4-X509-MLDSA requests signed by dilithium-py
//! (`testdata/mldsa/aws4-x509/`, made by testdata/mldsa/gen.py), ML-DSA-signed chains, and the
//! rule that the algorithm name must match the certificate's key. Checked with a fixed clock.

use std::path::Path;

use rolesanywhere_local::verify::{self, Algorithm, Request, Verified};
use rolesanywhere_local::{parse_amz_date, unix_time, ApiError, ApiErrorKind, Config};
use test_support::standard::{PROFILE, TRUST_ANCHOR};

use crate::common::*;

const LEVELS: [&str; 3] = ["mldsa44", "mldsa65", "mldsa87"];

/// The ARNs of the vectors (those of the product's test configuration), trusting `ca_bundle`.
fn config(ca_bundle: &str) -> Config {
    let toml = format!(
        "region = \"us-east-1\"\naccount = \"123456789012\"\n\n[[trust_anchor]]\n\
         arn = \"{TRUST_ANCHOR}\"\nca_bundle = \"{}\"\nenabled = true\n\n[[profile]]\n\
         arn = \"{PROFILE}\"\nrole_arns = [\"{ROLE}\"]\nduration_seconds = 3600\n\
         enabled = true\n",
        testdata(&format!("mldsa/ca/{ca_bundle}")).display()
    );
    Config::from_toml(&toml, Path::new("/"), "test.toml").expect("valid configuration")
}

fn check(config: &Config, signed: &Signed) -> Result<Verified, ApiError> {
    let headers = signed.header_map();
    let request = Request {
        method: &signed.method,
        path: &signed.path,
        query: Some(&signed.query),
        headers: &headers,
        body: signed.body.as_bytes(),
    };
    verify::verify_create_session(
        config,
        &request,
        unix_time(parse_amz_date(VECTOR_DATE).expect("date")),
    )
}

#[track_caller]
fn assert_rejected(result: Result<Verified, ApiError>, needle: &str) {
    match result {
        Ok(v) => panic!("expected a refusal containing {needle:?}, got {v:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ApiErrorKind::AccessDenied, "{e}");
            assert!(e.message().contains(needle), "{needle:?} not in {e}");
        }
    }
}

/// The recorded request of `testdata/mldsa/aws4-x509/<level>-chain`, as dilithium-py signed it.
fn vector(level: &str) -> Signed {
    let dir = testdata(&format!("mldsa/aws4-x509/{level}-chain"));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("vector file");
    let context: serde_json::Value = serde_json::from_str(&read("context.json")).expect("json");
    Signed::recorded(
        &read("canonical-request.txt"),
        &read("authorization.txt"),
        context["body"].as_str().expect("body"),
        &read("string-to-sign.txt"),
    )
}

/// `signed` with the `Signature=` of its Authorization header replaced by `hex`.
fn with_signature(mut signed: Signed, hex: &str) -> Signed {
    let auth = signed.header("authorization").expect("auth").to_string();
    let (prefix, _) = auth.split_once("Signature=").expect("signature");
    signed.set_header("authorization", &format!("{prefix}Signature={hex}"));
    signed
}

#[test]
fn every_parameter_set_is_accepted() {
    let config = config("roots.pem");
    for level in LEVELS {
        let verified =
            check(&config, &vector(level)).unwrap_or_else(|e| panic!("{level} rejected: {e}"));
        assert_eq!(verified.algorithm, Algorithm::MlDsa, "{level}");
        assert_eq!(verified.algorithm.name(), "AWS4-X509-MLDSA");
        let serial =
            std::fs::read_to_string(testdata(&format!("mldsa/{level}/cert-via-int.serial.dec")))
                .expect("serial");
        assert_eq!(verified.serial, serial.trim(), "{level}");
        assert_eq!(
            verified.source_identity,
            format!("{level} leaf by MLDSA65 intermediate")
        );
    }
}

#[test]
fn only_pure_ml_dsa_with_an_empty_context_over_the_string_to_sign_verifies() {
    let config = config("roots.pem");
    for level in LEVELS {
        let good = vector(level);
        let auth = good.header("authorization").expect("auth").to_string();
        let signature = auth.split_once("Signature=").expect("signature").1;

        // The same string signed with context "x": a valid ML-DSA signature, the wrong one.
        let dir = testdata(&format!("mldsa/aws4-x509/{level}-chain"));
        let context_x = std::fs::read_to_string(dir.join("signature-context-x.hex")).unwrap();
        let refused = "Signature verification failed";
        assert_rejected(
            check(&config, &with_signature(good.clone(), context_x.trim())),
            refused,
        );
        // One bit flipped, a truncated signature, and another parameter set's signature size.
        let mut bytes = hex::decode(signature).unwrap();
        bytes[10] ^= 0x01;
        assert_rejected(
            check(&config, &with_signature(good.clone(), &hex::encode(&bytes))),
            refused,
        );
        assert_rejected(
            check(&config, &with_signature(good.clone(), &signature[..200])),
            refused,
        );
        let other = if level == "mldsa44" {
            "mldsa65"
        } else {
            "mldsa44"
        };
        let other_auth = vector(other).header("authorization").unwrap().to_string();
        let other_sig = other_auth.split_once("Signature=").unwrap().1;
        assert_rejected(
            check(&config, &with_signature(good.clone(), other_sig)),
            refused,
        );
        // A changed signed header (the date moves by a second) breaks it too.
        let mut moved = good.clone();
        moved.set_header("x-amz-date", "20250102T030406Z");
        assert!(check(&config, &moved).is_err());
    }
}

#[test]
fn the_algorithm_name_must_match_the_certificate_key() {
    let config = config("roots.pem");
    for name in ["AWS4-X509-ECDSA-SHA256", "AWS4-X509-RSA-SHA256"] {
        let mut signed = vector("mldsa65");
        let auth = signed
            .header("authorization")
            .unwrap()
            .replace("AWS4-X509-MLDSA", name);
        signed.set_header("authorization", &auth);
        assert_rejected(
            check(&config, &signed),
            "does not match the signing certificate's ML-DSA-65 key",
        );
    }
    // An EC and an RSA leaf claiming AWS4-X509-MLDSA.
    let classic = ConfigSpec::default().load();
    for kind in ["ec-p256", "rsa-2048"] {
        let mut signed = CreateSession::fixture(kind, "us-east-1", "localhost").sign();
        let auth = signed.header("authorization").unwrap().to_string();
        let (algorithm, rest) = auth.split_once(' ').unwrap();
        assert_ne!(algorithm, "AWS4-X509-MLDSA");
        signed.set_header("authorization", &format!("AWS4-X509-MLDSA {rest}"));
        assert_rejected(check(&classic, &signed), "does not match");
    }
}

#[test]
fn ml_dsa_issued_chains_are_verified() {
    // The intermediate (ML-DSA-65) is signed by the ML-DSA-87 root: an impostor root with that
    // subject and another key breaks the path, and so does an anchor that is not the issuer.
    for (anchors, needle) in [
        ("impostor-root-mldsa87.pem", "ML-DSA signature on"),
        (
            "root-rsa.pem",
            "no certificate in X-Amz-X509-Chain or the trust anchor",
        ),
    ] {
        let config = config(anchors);
        for level in LEVELS {
            assert_rejected(check(&config, &vector(level)), needle);
        }
    }
    // An EC leaf issued directly by the ML-DSA-65 root, signed with OpenSSL: accepted under the
    // root, refused under its impostor.
    let dir = testdata("mldsa/ec-by-mldsa65");
    let signed = CreateSession::new(
        &dir.join("cert.pem"),
        &dir.join("key.pem"),
        None,
        "us-east-1",
        "localhost",
    )
    .sign();
    let spec = |bundle: &str| ConfigSpec {
        ca_bundle: testdata(&format!("mldsa/ca/{bundle}")),
        ..ConfigSpec::default()
    };
    let verified = check(&spec("roots.pem").load(), &signed).expect("EC leaf under ML-DSA root");
    assert_eq!(verified.algorithm, Algorithm::Ecdsa);
    assert_rejected(
        check(&spec("impostor-root-mldsa65.pem").load(), &signed),
        "ML-DSA signature on",
    );
}
