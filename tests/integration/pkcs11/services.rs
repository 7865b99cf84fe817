//! The long-running commands on token keys: `update` writing credentials signed in the token,
//! `serve` signing across refreshes, reconnecting when the token is replaced or comes back (and
//! refusing another key), and `validate` checking a token key against its certificate.

use super::*;

#[test]
fn update_writes_credentials_signed_in_the_token() {
    if !softhsm() {
        return;
    }
    let local = Local::start(&[]);
    let hsm = provisioned("ec-p384");
    let file = hsm.path("credentials");
    let url = local.url();
    let out = hsm
        .helper(&[
            "update",
            "--once",
            "--profile",
            "ra",
            "--trust-anchor-arn",
            test_support::standard::TRUST_ANCHOR,
            "--profile-arn",
            test_support::standard::PROFILE,
            "--role-arn",
            test_support::standard::ROLE,
            "--endpoint",
            &url,
            "--certificate",
            "pkcs11:token=ra;object=leaf",
        ])
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("AWS_SHARED_CREDENTIALS_FILE", &file)
        .env("AWS_SIGNING_HELPER_PKCS11_PIN", PIN)
        .output()
        .unwrap();
    succeeded(&out);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("[ra]") && text.contains("aws_access_key_id = ASIA"),
        "{text}"
    );
    let call = local.calls().pop().expect("the endpoint saw a call");
    assert_eq!(call["ok"], true, "{call}");
}

/// `serve` with the certificate and key of token "ra" (PIN from the environment), its 900 s
/// sessions refreshed 898 s before expiry: a refresh every two seconds.
fn serve_refreshing_every_two_seconds(local: &Local, hsm: &Hsm, extra: &[&str]) -> Serve {
    let module = module();
    let conf = hsm.conf().to_string_lossy().into_owned();
    let args = [
        &[
            "--certificate",
            "pkcs11:token=ra;object=leaf",
            "--pkcs11-lib",
            &module,
        ][..],
        &["--session-duration", "900"],
        extra,
    ]
    .concat();
    Serve::start(
        local,
        &args,
        &[
            ("SOFTHSM2_CONF", &conf),
            ("AWS_SIGNING_HELPER_PKCS11_PIN", PIN),
            ("AWS_SIGNING_HELPER_REFRESH_WINDOW", "898"),
        ],
    )
}

/// `serve` logs in once and keeps that session (behind the signer's mutex) for every refresh:
/// credentials fetched over IMDSv2 before and after refreshes were all signed in the token.
#[tokio::test]
async fn serve_keeps_signing_in_the_token_across_refreshes() {
    if !softhsm() {
        return;
    }
    let local = Local::start(&[]);
    let hsm = provisioned("ec-p256");
    let serve = serve_refreshing_every_two_seconds(
        &local,
        &hsm,
        &["--private-key", "pkcs11:token=ra;object=leaf", "--debug"],
    );
    let first = imds_credentials(&serve).await;
    let serial = std::fs::read_to_string(pki("ec-p256", "serial.dec")).unwrap();
    // The first CreateSession and at least two refreshes, each accepted by the endpoint.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let calls = local.calls();
        for call in &calls {
            assert_eq!(call["ok"], true, "{call}\n{}", serve.stderr());
            let seen = call["serial"].as_str().unwrap_or_default();
            assert!(seen.eq_ignore_ascii_case(serial.trim()), "{call}");
        }
        if calls.len() >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} call(s) only: {}",
            calls.len(),
            serve.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let second = imds_credentials(&serve).await;
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"]);
    let log = serve.stderr();
    assert_eq!(log.matches("PKCS#11: logging in").count(), 1, "{log}");
    assert!(!log.contains("cannot refresh"), "{log}");
}

/// Replaces every token in `hsm` with those of `other` (made with the same keys and certificates
/// but new serial numbers), as pulling a card and inserting a re-provisioned one does: the old
/// token's directory goes, the new one is renamed in.
fn swap_tokens(hsm: &Hsm, other: &Hsm) {
    let tokens = hsm.path("tokens");
    for entry in std::fs::read_dir(&tokens).unwrap() {
        std::fs::remove_dir_all(entry.unwrap().path()).unwrap();
    }
    for entry in std::fs::read_dir(other.path("tokens")).unwrap() {
        let entry = entry.unwrap();
        std::fs::rename(entry.path(), tokens.join(entry.file_name())).unwrap();
    }
}

/// `serve` survives its token going away and coming back as a new token (new serial number,
/// maybe another slot): the first signature that fails for it finds the token again by the
/// URI, logs in with the PIN it was given at start, finds the same key, and signs again.
#[tokio::test]
async fn serve_reconnects_when_the_token_is_replaced() {
    if !softhsm() {
        return;
    }
    let local = Local::start(&[]);
    let hsm = provisioned("ec-p256");
    let serve = serve_refreshing_every_two_seconds(&local, &hsm, &[]);
    let first = imds_credentials(&serve).await;
    let calls_before = local.calls().len();
    swap_tokens(&hsm, &provisioned("ec-p256"));
    let serial = std::fs::read_to_string(pki("ec-p256", "serial.dec")).unwrap();
    // Two refreshes after the swap, each signed in the new token and accepted.
    let deadline = Instant::now() + Duration::from_secs(30);
    while local.calls().len() < calls_before + 2 {
        assert!(Instant::now() < deadline, "{}", serve.stderr());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for call in local.calls() {
        assert_eq!(call["ok"], true, "{call}\n{}", serve.stderr());
        let seen = call["serial"].as_str().unwrap_or_default();
        assert!(seen.eq_ignore_ascii_case(serial.trim()), "{call}");
    }
    let second = imds_credentials(&serve).await;
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"]);
    let log = serve.stderr();
    assert!(!log.contains("cannot refresh"), "{log}");
    let reconnects: Vec<&str> = log.lines().filter(|l| l.contains("reconnected")).collect();
    assert_eq!(reconnects.len(), 1, "{log}");
    assert!(
        reconnects[0].contains("object=leaf") && reconnects[0].contains("CKR_"),
        "{log}"
    );
}

/// While the token is away, each refresh fails on one line saying what happened and that the
/// helper keeps trying; once the token is back, the next refresh finds it and signs.
#[tokio::test]
async fn serve_finds_the_token_again_when_it_comes_back_later() {
    if !softhsm() {
        return;
    }
    let local = Local::start(&[]);
    let hsm = provisioned("rsa-2048");
    let serve = serve_refreshing_every_two_seconds(&local, &hsm, &[]);
    imds_credentials(&serve).await;
    // Pull the card: its directory goes somewhere SoftHSM2 does not look.
    let away = tempfile::tempdir().unwrap();
    let tokens: Vec<PathBuf> = std::fs::read_dir(hsm.path("tokens"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for token in &tokens {
        std::fs::rename(token, away.path().join(token.file_name().unwrap())).unwrap();
    }
    serve.wait_for_stderr("cannot refresh", Duration::from_secs(30));
    let calls_before = local.calls().len();
    for token in &tokens {
        std::fs::rename(away.path().join(token.file_name().unwrap()), token).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while local.calls().len() < calls_before + 1 {
        assert!(Instant::now() < deadline, "{}", serve.stderr());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(local.calls().pop().unwrap()["ok"], true);
    let log = serve.stderr();
    let failed = log.lines().find(|l| l.contains("cannot refresh")).unwrap();
    assert!(
        failed.contains("finding the key again failed")
            && failed.contains("check that the token is inserted"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    assert_eq!(log.matches("reconnected to").count(), 1, "{log}");
}

/// A token that comes back under the same label with another key under the same `CKA_ID` and
/// label is refused: the helper signs only with the key whose public half it started with.
#[tokio::test]
async fn serve_refuses_another_key_in_the_token_that_came_back() {
    if !softhsm() {
        return;
    }
    let local = Local::start(&[]);
    let hsm = provisioned("ec-p256");
    let serve = serve_refreshing_every_two_seconds(&local, &hsm, &[]);
    imds_credentials(&serve).await;
    let other = Hsm::new();
    other.token("ra").key("ra", "ec-p384", "leaf", "01").cert(
        "ra",
        &pki("ec-p256", "cert.pem"),
        "leaf",
        "01",
    );
    swap_tokens(&hsm, &other);
    let calls_before = local.calls().len();
    serve.wait_for_stderr("cannot refresh", Duration::from_secs(30));
    let log = serve.stderr();
    assert!(
        log.contains("no private key with the CKA_ID, label and public key found at start"),
        "{log}"
    );
    assert!(!log.contains("reconnected"), "{log}");
    assert_eq!(local.calls().len(), calls_before, "{log}");
}

/// `validate` opens a key in a token through the same signer abstraction and proves it with a
/// test signature; a certificate file with another token key is a key mismatch (exit 3).
#[test]
fn validate_checks_a_token_key_against_its_certificate() {
    if !softhsm() {
        return;
    }
    let hsm = provisioned("ec-p256");
    let root = testdata("pki/ca/root.pem").to_string_lossy().into_owned();
    let out = hsm.output(&[
        "validate",
        "--certificate",
        "pkcs11:token=ra;object=leaf?pin-value=1234",
        "--trust-anchor-bundle",
        &root,
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("pass  private-key"), "{text}");
    // The chain came from the token, as for credential-process.
    assert!(text.contains("pass  chain"), "{text}");

    let cert = pki("rsa-2048", "cert.pem");
    let out = hsm.output(&[
        "validate",
        "--certificate",
        &cert,
        "--private-key",
        "pkcs11:token=ra;object=leaf?pin-value=1234",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("FAIL  private-key"), "{text}");
    assert!(text.contains("pass  key-usage"), "{text}");
    assert!(
        !text.contains("pin-value=1234"),
        "the PIN was printed: {text}"
    );
}
