//! The AWS4-X509 signature, stage by stage, against vectors built with printf and OpenSSL in
//! testdata/gen.sh (see testdata/README.md): canonical request, string to sign, and for RSA the
//! exact signature and Authorization header. ECDSA signatures are randomised, so OpenSSL verifies
//! ours instead.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use rolesanywhere_credentials::identity::{file::FileSource, X509Signer};
use rolesanywhere_credentials::signing::{self, Request};
use test_support::openssl::verify as openssl_verify;
use test_support::testdata;

struct Case {
    dir: PathBuf,
    context: serde_json::Value,
}

impl Case {
    fn new(name: &str) -> Case {
        let dir = testdata(&format!("aws4-x509/{name}"));
        let context =
            serde_json::from_slice(&std::fs::read(dir.join("context.json")).unwrap()).unwrap();
        Case { dir, context }
    }

    fn file(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(name)).ok()
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.context[key].as_str().map(testdata)
    }

    fn signer(&self) -> Box<dyn X509Signer> {
        let source = FileSource {
            certificate: self.path("certificate"),
            private_key: self.path("private_key"),
            intermediates: self.path("chain"),
            password: None,
            tpm: Default::default(),
        };
        Box::new(source.open().unwrap())
    }
}

fn parse_amz_date(s: &str) -> std::time::SystemTime {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let t = time::PrimitiveDateTime::parse(s, format)
        .unwrap()
        .assume_utc();
    UNIX_EPOCH + Duration::from_secs(t.unix_timestamp() as u64)
}

fn run(name: &str) {
    let case = Case::new(name);
    let ctx = &case.context;
    let signer = case.signer();
    let query: Vec<(String, String)> = ctx["query"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        (
            "Host".to_string(),
            ctx["host"].as_str().unwrap().to_string(),
        ),
    ];
    let body = ctx["body"].as_str().unwrap().as_bytes();
    let request = Request {
        method: "POST",
        path: "/sessions",
        query: &query,
        headers: &headers,
        body,
    };
    let time = parse_amz_date(ctx["time"].as_str().unwrap());
    let region = ctx["region"].as_str().unwrap();
    let signed = signing::sign(signer.as_ref(), region, time, &request).unwrap();

    assert_eq!(
        signed.canonical_request.to_string(),
        case.file("canonical-request.txt").unwrap(),
        "{name}: canonical request"
    );
    let string_to_sign = signed.string_to_sign.to_string();
    assert_eq!(
        string_to_sign,
        case.file("string-to-sign.txt").unwrap(),
        "{name}: string to sign"
    );
    let authorization = signed
        .headers
        .iter()
        .find(|(n, _)| n == "Authorization")
        .map(|(_, v)| v.clone())
        .unwrap();
    match case.file("authorization.txt") {
        Some(want) => assert_eq!(authorization, want, "{name}: authorization"),
        None => {
            let prefix = case.file("authorization-prefix.txt").unwrap();
            let signature = authorization
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{name}: {authorization} does not start with {prefix}"));
            let pubkey = case.path("certificate").unwrap().with_file_name("pub.pem");
            assert!(
                openssl_verify(
                    pubkey.to_str().unwrap(),
                    "sha256",
                    string_to_sign.as_bytes(),
                    &hex::decode(signature).unwrap()
                ),
                "{name}: OpenSSL rejected the ECDSA signature"
            );
        }
    }
    // The chain header is present exactly when there are intermediates, and never empty.
    let chain = signed.headers.iter().find(|(n, _)| n == "X-Amz-X509-Chain");
    assert_eq!(
        chain.is_some(),
        ctx["chain"].is_string(),
        "{name}: chain header"
    );
    assert!(chain.is_none_or(|(_, v)| !v.is_empty()));
}

#[test]
fn rsa_2048_no_chain() {
    run("rsa-2048-no-chain");
}

#[test]
fn rsa_2048_chain() {
    run("rsa-2048-chain");
}

#[test]
fn ec_p256_chain() {
    run("ec-p256-chain");
}

#[test]
fn ec_p384_no_chain() {
    run("ec-p384-no-chain");
}

#[test]
fn rsa_4096_session_name() {
    run("rsa-4096-session-name");
}

#[test]
fn rsa_2048_chain_int_root() {
    run("rsa-2048-chain-int-root");
}

#[test]
fn ec_p521_eu_west_1() {
    run("ec-p521-eu-west-1");
}

/// The ML-DSA vectors (testdata/mldsa/gen.py, Python `cryptography`): every stage byte for
/// byte, the signature too (ML-DSA signing here is deterministic).
#[test]
fn aws4_x509_mldsa_stages_equal_the_vectors_byte_for_byte() {
    use rolesanywhere_credentials::signing::Algorithm;

    const LEVELS: [&str; 3] = ["mldsa44", "mldsa65", "mldsa87"];
    for level in LEVELS {
        let dir = testdata(&format!("mldsa/aws4-x509/{level}-chain"));
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        let ctx: serde_json::Value = serde_json::from_str(&read("context.json")).unwrap();
        let path = |k: &str| ctx[k].as_str().map(testdata);
        let signer = FileSource {
            certificate: path("certificate"),
            private_key: path("private_key"),
            intermediates: path("chain"),
            password: None,
            tpm: Default::default(),
        }
        .open()
        .unwrap();
        assert_eq!(
            Algorithm::for_key(signer.certificate().public_key().unwrap()),
            Algorithm::MlDsa
        );
        let query: Vec<(String, String)> = ctx["query"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            (
                "Host".to_string(),
                ctx["host"].as_str().unwrap().to_string(),
            ),
        ];
        let request = Request {
            method: "POST",
            path: "/sessions",
            query: &query,
            headers: &headers,
            body: ctx["body"].as_str().unwrap().as_bytes(),
        };
        let time = parse_amz_date(ctx["time"].as_str().unwrap());
        let signed = signing::sign(&signer, "us-east-1", time, &request).unwrap();
        assert_eq!(
            signed.canonical_request.to_string(),
            read("canonical-request.txt"),
            "{level}"
        );
        assert_eq!(
            signed.string_to_sign.to_string(),
            read("string-to-sign.txt"),
            "{level}"
        );
        let authorization = signed
            .headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(authorization, read("authorization.txt"), "{level}");
    }
}
