//! The offline endpoint's CreateSession verifier, checked with a fixed clock against the
//! OpenSSL-signed AWS4-X509 vectors in `testdata/aws4-x509/` and requests re-signed with the
//! OpenSSL command line: good requests are accepted, each kind of tampering is refused with the
//! exception the real service returns.

use rolesanywhere_local::verify::{self, Algorithm, Request, Verified};
use rolesanywhere_local::{parse_amz_date, unix_time, ApiError, ApiErrorKind, Config};
use test_support::openssl;

use crate::common::*;

const VECTOR_HOST: &str = "rolesanywhere.us-east-1.amazonaws.com";

fn at(amz_date: &str, offset_seconds: i64) -> std::time::SystemTime {
    unix_time(parse_amz_date(amz_date).expect("valid date") + offset_seconds)
}

fn check(config: &Config, signed: &Signed, offset_seconds: i64) -> Result<Verified, ApiError> {
    let headers = signed.header_map();
    let request = Request {
        method: &signed.method,
        path: &signed.path,
        query: Some(&signed.query),
        headers: &headers,
        body: signed.body.as_bytes(),
    };
    verify::verify_create_session(config, &request, at(VECTOR_DATE, offset_seconds))
}

#[track_caller]
fn assert_rejected(result: Result<Verified, ApiError>, kind: ApiErrorKind, needle: &str) {
    match result {
        Ok(v) => panic!("expected {kind:?} containing {needle:?}, got success {v:?}"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{e}");
            assert!(
                e.message().contains(needle),
                "message {:?} should contain {needle:?}",
                e.message()
            );
        }
    }
}

/// A recorded vector: the request exactly as `testdata/gen.sh` signed it.
fn vector(case: &str) -> Signed {
    let dir = testdata("aws4-x509").join(case);
    let canonical = std::fs::read_to_string(dir.join("canonical-request.txt")).expect("vector");
    let context: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("context.json")).expect("context"))
            .expect("json");
    let lines: Vec<&str> = canonical.split('\n').collect();
    let query = lines[2].to_string();
    let mut headers: Vec<(String, String)> = lines[3..]
        .iter()
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').expect("header line");
            (n.to_string(), v.to_string())
        })
        .collect();
    let authorization = match std::fs::read_to_string(dir.join("authorization.txt")) {
        Ok(a) => a,
        Err(_) => {
            // ECDSA is randomized, so the vector stores the prefix; sign its string to sign.
            let prefix =
                std::fs::read_to_string(dir.join("authorization-prefix.txt")).expect("prefix");
            let sts = std::fs::read(dir.join("string-to-sign.txt")).expect("sts");
            let key = testdata(context["private_key"].as_str().expect("key"));
            format!("{prefix}{}", hex::encode(openssl::sign(&key, &sts)))
        }
    };
    headers.push(("authorization".into(), authorization.trim().to_string()));
    Signed {
        method: "POST".into(),
        path: "/sessions".into(),
        query,
        headers,
        body: context["body"].as_str().expect("body").to_string(),
        canonical_request: canonical,
        string_to_sign: std::fs::read_to_string(dir.join("string-to-sign.txt")).expect("sts"),
    }
}

fn default_config() -> Config {
    ConfigSpec::default().load()
}

#[test]
fn every_recorded_vector_is_accepted() {
    let int_root = testdata("pki/ca/int-root.pem");
    for (case, region, spec_bundle, accept_name) in [
        ("rsa-2048-chain", "us-east-1", None, false),
        ("rsa-2048-chain-int-root", "us-east-1", None, false),
        // No chain header: the anchor must hold the intermediate itself.
        ("rsa-2048-no-chain", "us-east-1", Some(&int_root), false),
        ("ec-p256-chain", "us-east-1", None, false),
        ("ec-p384-no-chain", "us-east-1", Some(&int_root), false),
        ("ec-p521-eu-west-1", "eu-west-1", Some(&int_root), false),
        ("rsa-4096-session-name", "us-east-1", Some(&int_root), true),
    ] {
        let mut spec = ConfigSpec {
            region: region.into(),
            accept_role_session_name: accept_name,
            ..ConfigSpec::default()
        };
        if let Some(bundle) = spec_bundle {
            spec.ca_bundle = bundle.clone();
        }
        let signed = vector(case);
        let verified = check(&spec.load(), &signed, 0)
            .unwrap_or_else(|e| panic!("vector {case} rejected: {e}"));
        assert_eq!(verified.role_arn, ROLE, "{case}");
        assert_eq!(
            verified.trust_anchor_arn,
            trust_anchor_arn(region),
            "{case}"
        );
        let kind = if case.starts_with("rsa") {
            Algorithm::Rsa
        } else {
            Algorithm::Ecdsa
        };
        assert_eq!(verified.algorithm, kind, "{case}");
        let leaf = case.split('-').take(2).collect::<Vec<_>>().join("-");
        let serial = std::fs::read_to_string(testdata("pki").join(&leaf).join("serial.dec"))
            .expect("serial");
        assert_eq!(verified.serial, serial.trim(), "{case}");
        assert_eq!(verified.source_identity, format!("{leaf}-leaf"), "{case}");
    }
}

#[test]
fn vector_details_session_name_duration_and_default_name() {
    let spec = ConfigSpec {
        accept_role_session_name: true,
        ca_bundle: testdata("pki/ca/int-root.pem"),
        ..ConfigSpec::default()
    };
    let v = check(&spec.load(), &vector("rsa-4096-session-name"), 0).expect("accepted");
    assert_eq!(v.role_session_name.as_deref(), Some("my-session"));
    assert_eq!(v.duration_seconds, 900);

    let v = check(&default_config(), &vector("rsa-2048-chain"), 0).expect("accepted");
    assert_eq!(v.role_session_name, None);
    // The default session name is the serial in lowercase hex without leading zeros.
    let hex = std::fs::read_to_string(testdata("pki/rsa-2048/serial.hex")).expect("hex");
    assert_eq!(
        v.serial_hex,
        hex.trim().trim_start_matches('0').to_ascii_lowercase()
    );
    assert_eq!(
        v.signed_headers.join(";"),
        "content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain"
    );
}

#[test]
fn test_signer_reproduces_the_recorded_canonical_requests() {
    // Our OpenSSL-based test signer must agree byte for byte with gen.sh before we trust it to
    // make new requests.
    let mut req = CreateSession::fixture("rsa-2048", "us-east-1", VECTOR_HOST);
    let signed = req.sign();
    assert_eq!(
        signed.canonical_request,
        vector("rsa-2048-chain").canonical_request
    );
    assert_eq!(
        signed.string_to_sign,
        vector("rsa-2048-chain").string_to_sign
    );
    assert_eq!(
        signed.header("authorization"),
        vector("rsa-2048-chain").header("authorization")
    );
    req.chain_b64 = None;
    assert_eq!(
        req.sign().canonical_request,
        vector("rsa-2048-no-chain").canonical_request
    );
}

#[test]
fn every_leaf_key_type_is_accepted() {
    let config = default_config();
    for kind in RSA_KINDS.iter().chain(EC_KINDS.iter()) {
        let signed = CreateSession::fixture(kind, "us-east-1", VECTOR_HOST).sign();
        check(&config, &signed, 0).unwrap_or_else(|e| panic!("{kind} rejected: {e}"));
    }
}

#[test]
fn tampering_breaks_the_signature() {
    let config = default_config();
    for case in ["rsa-2048-chain", "ec-p256-chain"] {
        let good = vector(case);

        let mut body = good.clone();
        body.body = "{\"durationSeconds\":3601}".into();
        assert_rejected(
            check(&config, &body, 0),
            ApiErrorKind::AccessDenied,
            "Signature",
        );

        let mut host = good.clone();
        host.set_header("host", "rolesanywhere.us-east-1.amazonaws.com.evil");
        assert_rejected(
            check(&config, &host, 0),
            ApiErrorKind::AccessDenied,
            "Signature",
        );

        let mut date = good.clone();
        date.set_header("x-amz-date", "20250102T030406Z");
        assert_rejected(
            check(&config, &date, 0),
            ApiErrorKind::AccessDenied,
            "Signature",
        );

        let mut query = good.clone();
        query.query = query.query.replace("test-role", "other-role");
        let spec = ConfigSpec {
            roles: vec![
                ROLE.into(),
                "arn:aws:iam::123456789012:role/other-role".into(),
            ],
            ..ConfigSpec::default()
        };
        assert_rejected(
            check(&spec.load(), &query, 0),
            ApiErrorKind::AccessDenied,
            "Signature",
        );

        let mut sig = good.clone();
        let auth = sig.header("authorization").expect("auth").to_string();
        let last = auth.chars().last().expect("non-empty");
        let flipped = if last == '0' { '1' } else { '0' };
        sig.set_header(
            "authorization",
            &format!("{}{flipped}", &auth[..auth.len() - 1]),
        );
        assert_rejected(
            check(&config, &sig, 0),
            ApiErrorKind::AccessDenied,
            "Signature",
        );
    }
}

#[test]
fn whitespace_in_header_values_is_canonicalised() {
    // The signature covers trimmed values, so padding a value on the wire keeps it valid.
    let mut signed = vector("rsa-2048-chain");
    signed.set_header("content-type", "  application/json  ");
    check(&default_config(), &signed, 0).expect("trimmed value verifies");
}

#[test]
fn algorithm_must_match_the_key() {
    let config = default_config();
    let mut rsa = vector("rsa-2048-chain");
    let auth = rsa
        .header("authorization")
        .expect("auth")
        .replace("AWS4-X509-RSA-SHA256", "AWS4-X509-ECDSA-SHA256");
    rsa.set_header("authorization", &auth);
    assert_rejected(
        check(&config, &rsa, 0),
        ApiErrorKind::AccessDenied,
        "does not match",
    );

    let mut unknown = vector("rsa-2048-chain");
    let auth = unknown
        .header("authorization")
        .expect("auth")
        .replace("AWS4-X509-RSA-SHA256", "AWS4-HMAC-SHA256");
    unknown.set_header("authorization", &auth);
    assert_rejected(
        check(&config, &unknown, 0),
        ApiErrorKind::AccessDenied,
        "Unsupported",
    );
}

#[test]
fn credential_serial_must_be_the_leaf_serial_in_decimal() {
    let config = default_config();
    let good = vector("ec-p256-chain");
    let serial = std::fs::read_to_string(testdata("pki/ec-p256/serial.dec")).expect("dec");
    let hex = std::fs::read_to_string(testdata("pki/ec-p256/serial.hex")).expect("hex");
    for wrong in ["1".to_string(), hex.trim().to_string()] {
        let mut bad = good.clone();
        let auth = bad
            .header("authorization")
            .expect("auth")
            .replace(serial.trim(), &wrong);
        bad.set_header("authorization", &auth);
        assert_rejected(
            check(&config, &bad, 0),
            ApiErrorKind::AccessDenied,
            "serial number",
        );
    }
}

#[test]
fn request_date_skew_is_five_minutes() {
    let config = default_config();
    let signed = vector("rsa-2048-chain");
    check(&config, &signed, 299).expect("within skew");
    check(&config, &signed, -299).expect("within skew");
    assert_rejected(
        check(&config, &signed, 301),
        ApiErrorKind::AccessDenied,
        "outside the allowed skew",
    );
    assert_rejected(
        check(&config, &signed, -301),
        ApiErrorKind::AccessDenied,
        "outside the allowed skew",
    );
}

#[test]
fn scope_must_name_this_region_and_service() {
    // The eu-west-1 vector against an eu-west-1 endpoint whose ARNs are fine but whose scope
    // region is rewritten.
    let spec = ConfigSpec {
        region: "eu-west-1".into(),
        ca_bundle: testdata("pki/ca/int-root.pem"),
        ..ConfigSpec::default()
    };
    let good = vector("ec-p521-eu-west-1");
    let mut region = good.clone();
    let auth = region
        .header("authorization")
        .expect("auth")
        .replace("/eu-west-1/", "/us-east-1/");
    region.set_header("authorization", &auth);
    assert_rejected(
        check(&spec.load(), &region, 0),
        ApiErrorKind::AccessDenied,
        "region",
    );

    let mut service = good.clone();
    let auth = service
        .header("authorization")
        .expect("auth")
        .replace("/rolesanywhere/", "/sts/");
    service.set_header("authorization", &auth);
    assert_rejected(
        check(&spec.load(), &service, 0),
        ApiErrorKind::AccessDenied,
        "service",
    );

    // The vector's ARNs are in eu-west-1: a us-east-1 endpoint does not know them.
    assert_rejected(
        check(&default_config(), &good, 0),
        ApiErrorKind::ResourceNotFound,
        "eu-west-1",
    );
}

#[test]
fn chain_must_lead_to_the_trust_anchor() {
    let pki = testdata("pki");
    // A different root.
    let other = ConfigSpec {
        ca_bundle: pki.join("ca/other-root.pem"),
        ..ConfigSpec::default()
    };
    assert_rejected(
        check(&other.load(), &vector("rsa-2048-chain"), 0),
        ApiErrorKind::AccessDenied,
        "Untrusted",
    );
    // The intermediate is missing.
    assert_rejected(
        check(&default_config(), &vector("rsa-2048-no-chain"), 0),
        ApiErrorKind::AccessDenied,
        "Untrusted",
    );
    // A leaf issued by another root, chain or not.
    let untrusted = CreateSession::new(
        &pki.join("bad/untrusted-leaf.pem"),
        &pki.join("bad/untrusted-leaf-key.pem"),
        Some(&pki.join("ca/other-root.pem")),
        "us-east-1",
        VECTOR_HOST,
    );
    assert_rejected(
        check(&default_config(), &untrusted.sign(), 0),
        ApiErrorKind::AccessDenied,
        "Untrusted",
    );
    // A chain entry that is not a certificate.
    let mut garbage = CreateSession::fixture("ec-p256", "us-east-1", VECTOR_HOST);
    garbage.chain_b64 = Some("bm90IGEgY2VydGlmaWNhdGU=".into());
    assert_rejected(
        check(&default_config(), &garbage.sign(), 0),
        ApiErrorKind::AccessDenied,
        "X-Amz-X509-Chain",
    );
}

fn bad_leaf(name: &str) -> Signed {
    let bad = testdata("pki/bad");
    CreateSession::new(
        &bad.join(format!("{name}.pem")),
        &bad.join(format!("{name}-key.pem")),
        Some(&testdata("pki/ca/int.pem")),
        "us-east-1",
        VECTOR_HOST,
    )
    .sign()
}

#[test]
fn leaf_validity_and_constraints_are_enforced() {
    let config = default_config();
    let bad = testdata("pki/bad");
    let expired = CreateSession::new(
        &bad.join("expired-cert.pem"),
        &bad.join("expired-key.pem"),
        Some(&testdata("pki/ca/int.pem")),
        "us-east-1",
        VECTOR_HOST,
    );
    assert_rejected(
        check(&config, &expired.sign(), 0),
        ApiErrorKind::AccessDenied,
        "Signing certificate is expired",
    );
    let not_yet = CreateSession::new(
        &bad.join("notyetvalid-cert.pem"),
        &bad.join("notyetvalid-key.pem"),
        Some(&testdata("pki/ca/int.pem")),
        "us-east-1",
        VECTOR_HOST,
    );
    assert_rejected(
        check(&config, &not_yet.sign(), 0),
        ApiErrorKind::AccessDenied,
        "Signing certificate is not yet valid",
    );
    assert_rejected(
        check(&config, &bad_leaf("ca-true-leaf"), 0),
        ApiErrorKind::AccessDenied,
        "CA certificate",
    );
    assert_rejected(
        check(&config, &bad_leaf("no-digsig-leaf"), 0),
        ApiErrorKind::AccessDenied,
        "digitalSignature",
    );
}

/// A request signed by `pki/validate/<name>` with `chain` as `X-Amz-X509-Chain`.
fn validate_leaf(name: &str, chain: &str) -> Signed {
    let dir = testdata("pki/validate");
    CreateSession::new(
        &dir.join(format!("{name}.pem")),
        &dir.join(format!("{name}-key.pem")),
        Some(&testdata(chain)),
        "us-east-1",
        VECTOR_HOST,
    )
    .sign()
}

/// The trust model's end-entity rules, read strictly, on the same fixtures as the product's
/// `validate` tests (tests/integration/validate.rs): each broken rule is refused, naming it; a leaf shaped as
/// certmonger issues them (keyUsage not critical) is accepted.
#[test]
fn the_trust_models_end_entity_rules_are_enforced() {
    let config = default_config();
    let int = "pki/ca/int.pem";
    for (leaf, chain, needle) in [
        ("v1-leaf", int, "it must be X.509 v3"),
        ("no-bc-leaf", int, "no basicConstraints extension"),
        ("no-ku-leaf", int, "no keyUsage extension"),
        ("sha1-leaf", int, "SHA-256 or stronger"),
        (
            "pathlen-leaf",
            "pki/validate/pathlen-chain.pem",
            "pathLenConstraint 0",
        ),
        (
            "no-certsign-leaf",
            "pki/validate/no-certsign-ca.pem",
            "keyCertSign",
        ),
        (
            "expired-ca-leaf",
            "pki/validate/expired-ca.pem",
            "is not valid at the server time",
        ),
    ] {
        match check(&config, &validate_leaf(leaf, chain), 0) {
            Ok(v) => panic!("{leaf}: accepted: {v:?}"),
            Err(e) => {
                assert_eq!(e.kind(), ApiErrorKind::AccessDenied, "{leaf}: {e}");
                assert!(e.message().contains(needle), "{leaf}: {:?}", e.message());
            }
        }
    }
    let certmonger = check(&config, &validate_leaf("certmonger-leaf", int), 0);
    assert!(certmonger.is_ok(), "{certmonger:?}");
    let p521_issued = check(
        &config,
        &validate_leaf("p521-ca-leaf", "pki/validate/p521-ca.pem"),
        0,
    );
    assert!(p521_issued.is_ok(), "{p521_issued:?}");
}

/// CRLs imported into the trust anchor, on the fixtures of the product's `validate --crl`
/// tests: the revoked leaf is refused; a leaf the CRL does not list is not; a CRL carrying the
/// issuer's name but not its signature, or of another CA, revokes nothing.
#[test]
fn crls_imported_into_the_trust_anchor_revoke() {
    let with = |crl: &str| {
        ConfigSpec {
            crls: vec![testdata(crl)],
            ..ConfigSpec::default()
        }
        .load()
    };
    let revoked = validate_leaf("revoked-leaf", "pki/ca/int.pem");
    let config = with("pki/validate/int.crl.pem");
    assert_rejected(
        check(&config, &revoked, 0),
        ApiErrorKind::AccessDenied,
        "is revoked",
    );
    assert!(check(
        &config,
        &validate_leaf("certmonger-leaf", "pki/ca/int.pem"),
        0
    )
    .is_ok());
    for harmless in [
        "pki/validate/forged.crl.pem",
        "pki/validate/other-root.crl.pem",
    ] {
        let result = check(&with(harmless), &revoked, 0);
        assert!(result.is_ok(), "{harmless}: {result:?}");
    }
    assert!(check(&default_config(), &revoked, 0).is_ok());
}

#[test]
fn unsupported_key_types_are_refused() {
    let bad = testdata("pki/bad");
    let mut req = CreateSession::new(
        &bad.join("secp256k1-cert.pem"),
        &bad.join("secp256k1-key.pem"),
        None,
        "us-east-1",
        VECTOR_HOST,
    );
    req.algorithm = "AWS4-X509-ECDSA-SHA256".into();
    assert_rejected(
        check(&default_config(), &req.sign(), 0),
        ApiErrorKind::AccessDenied,
        "not supported",
    );
}

#[test]
fn resources_and_profile_rules() {
    let signed = vector("rsa-2048-chain");

    let disabled_anchor = ConfigSpec {
        anchor_enabled: false,
        ..ConfigSpec::default()
    };
    assert_rejected(
        check(&disabled_anchor.load(), &signed, 0),
        ApiErrorKind::AccessDenied,
        "disabled",
    );
    let disabled_profile = ConfigSpec {
        profile_enabled: false,
        ..ConfigSpec::default()
    };
    assert_rejected(
        check(&disabled_profile.load(), &signed, 0),
        ApiErrorKind::AccessDenied,
        "disabled",
    );
    let no_role = ConfigSpec {
        roles: vec!["arn:aws:iam::123456789012:role/someone-else".into()],
        ..ConfigSpec::default()
    };
    assert_rejected(
        check(&no_role.load(), &signed, 0),
        ApiErrorKind::AccessDenied,
        "not one of the roles",
    );

    let short_profile = ConfigSpec {
        max_duration: 900,
        ..ConfigSpec::default()
    };
    assert_rejected(
        check(&short_profile.load(), &signed, 0),
        ApiErrorKind::Validation,
        "exceeds",
    );

    // The profile does not accept role session names.
    let spec = ConfigSpec {
        ca_bundle: testdata("pki/ca/int-root.pem"),
        ..ConfigSpec::default()
    };
    assert_rejected(
        check(&spec.load(), &vector("rsa-4096-session-name"), 0),
        ApiErrorKind::Validation,
        "roleSessionName",
    );

    // Unknown trust anchor.
    let mut unknown = CreateSession::fixture("ec-p256", "us-east-1", VECTOR_HOST);
    unknown.query[2].1 = unknown.query[2].1.replace("6f9a2b1c", "00000000");
    assert_rejected(
        check(&default_config(), &unknown.sign(), 0),
        ApiErrorKind::ResourceNotFound,
        "Trust anchor",
    );
}

#[test]
fn parameter_validation() {
    let config = default_config();
    let base = CreateSession::fixture("ec-p256", "us-east-1", VECTOR_HOST);

    for duration in ["899", "43201", "\"3600\""] {
        let mut req = base.clone();
        req.body = format!("{{\"durationSeconds\":{duration}}}");
        assert_rejected(
            check(&config, &req.sign(), 0),
            ApiErrorKind::Validation,
            "uration",
        );
    }
    let mut missing = base.clone();
    missing.query.remove(1);
    assert_rejected(
        check(&config, &missing.sign(), 0),
        ApiErrorKind::Validation,
        "roleArn",
    );

    let mut malformed = base.clone();
    malformed.query[0].1 = "arn:aws:rolesanywhere:us-east-1:123456789012:bogus/x".into();
    assert_rejected(
        check(&config, &malformed.sign(), 0),
        ApiErrorKind::Validation,
        "profile ARN",
    );

    let mut bad_name = base.clone();
    bad_name.body = "{\"durationSeconds\":900,\"roleSessionName\":\"has space\"}".into();
    assert_rejected(
        check(&config, &bad_name.sign(), 0),
        ApiErrorKind::Validation,
        "roleSessionName",
    );

    let mut not_json = base.clone();
    not_json.body = "durationSeconds=900".into();
    assert_rejected(
        check(&config, &not_json.sign(), 0),
        ApiErrorKind::Validation,
        "JSON",
    );

    let mut garbled = base.sign();
    garbled.set_header(
        "authorization",
        "AWS4-X509-ECDSA-SHA256 Credential=1/2/3/4/5",
    );
    assert_rejected(
        check(&config, &garbled, 0),
        ApiErrorKind::Validation,
        "SignedHeaders",
    );

    let mut unsigned = base.sign();
    unsigned.remove_header("authorization");
    assert_rejected(
        check(&config, &unsigned, 0),
        ApiErrorKind::AccessDenied,
        "Authorization",
    );
}

#[test]
fn parameters_may_come_from_the_body() {
    let config = default_config();
    let mut req = CreateSession::fixture("ec-p384", "us-east-1", VECTOR_HOST);
    let (ta, pr, role) = (
        req.query[2].1.clone(),
        req.query[0].1.clone(),
        req.query[1].1.clone(),
    );
    req.query.clear();
    req.body = format!(
        "{{\"durationSeconds\":1800,\"trustAnchorArn\":\"{ta}\",\"profileArn\":\"{pr}\",\"roleArn\":\"{role}\"}}"
    );
    let verified = check(&config, &req.sign(), 0).expect("body parameters accepted");
    assert_eq!(verified.duration_seconds, 1800);

    // Query and body disagreeing is refused.
    let mut both = CreateSession::fixture("ec-p384", "us-east-1", VECTOR_HOST);
    both.body =
        "{\"durationSeconds\":1800,\"roleArn\":\"arn:aws:iam::123456789012:role/other\"}".into();
    assert_rejected(
        check(&config, &both.sign(), 0),
        ApiErrorKind::Validation,
        "different values",
    );
}

#[test]
fn required_headers_must_be_signed() {
    let config = default_config();
    // Chain header sent but not signed.
    let mut req = CreateSession::fixture("ec-p256", "us-east-1", VECTOR_HOST);
    let chain = req.chain_b64.take().expect("chain");
    let mut signed = req.sign();
    signed.set_header("x-amz-x509-chain", &chain);
    assert_rejected(
        check(&config, &signed, 0),
        ApiErrorKind::AccessDenied,
        "x-amz-x509-chain",
    );

    // Empty chain header.
    let mut empty = CreateSession::fixture("ec-p256", "us-east-1", VECTOR_HOST);
    empty.chain_b64 = Some(String::new());
    assert_rejected(
        check(&config, &empty.sign(), 0),
        ApiErrorKind::Validation,
        "empty",
    );
}

#[test]
fn fixtures_are_in_place() {
    // The fixtures are committed (made by testdata/gen.sh): their absence is a broken checkout,
    // never a reason to skip. This documents the layout the other tests depend on.
    for file in [
        "pki/ca/root.pem",
        "aws4-x509/rsa-2048-chain/context.json",
        "aws4-x509/ec-p256-chain/authorization-prefix.txt",
    ] {
        assert!(
            testdata(file).is_file(),
            "testdata/{file} is missing: run testdata/gen.sh"
        );
    }
}
