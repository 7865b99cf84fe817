//! `RolesAnywhereCredentialsProvider` with the real AWS SDK for Rust (`aws-config`,
//! `aws-sdk-sts`) against the real `rolesanywhere-local`, which verifies every CreateSession and
//! STS call independently: file and PKCS#11 keys, role chaining with MFA, single flight, refreshes
//! of short sessions, renewals on disk, and how failures read.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_http_client::tls;
use rolesanywhere_credentials::provider::ReportedError;
use rolesanywhere_credentials::{AssumeRole, RolesAnywhereCredentialsProvider};
use test_support::standard::{
    config as config_text, CROSS_ROLE, EXTERNAL_ID, MFA_SECRET, MFA_SERIAL, PROFILE, TRUST_ANCHOR,
};
use test_support::{local_binary, pki, testdata, Endpoint, ROLE};

/// `rolesanywhere-local` on plain HTTP with the test configuration and `extra` flags.
fn local(extra: &[&str]) -> Endpoint {
    let config = config_text(&testdata("pki/ca/root.pem"));
    let mut args = vec!["--plain-http"];
    args.extend(extra);
    Endpoint::start(local_binary(), &config, &args)
}

/// The endpoint's record of the calls it judged (`GET /_local/calls`).
fn calls(endpoint: &Endpoint) -> Vec<serde_json::Value> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .arg(format!("{}/_local/calls", endpoint.url()))
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("calls JSON")
}

/// The CreateSession calls the endpoint accepted, in order.
fn sessions(endpoint: &Endpoint) -> Vec<serde_json::Value> {
    calls(endpoint)
        .into_iter()
        .filter(|c| c["kind"] == "create-session" && c["ok"] == true)
        .collect()
}

/// The provider for the fixture `kind`'s certificate and key files.
fn provider_for(endpoint: &Endpoint, cert: &Path, key: &Path) -> RolesAnywhereCredentialsProvider {
    RolesAnywhereCredentialsProvider::builder()
        .certificate(cert)
        .private_key(key)
        .trust_anchor_arn(TRUST_ANCHOR)
        .profile_arn(PROFILE)
        .role_arn(ROLE)
        .endpoint(endpoint.url())
        .build()
        .expect("the settings are valid")
}

/// An STS client of the real SDK, configured by `aws_config` with `provider`, and every call
/// sent to `endpoint`.
async fn sts(
    provider: RolesAnywhereCredentialsProvider,
    endpoint: &Endpoint,
) -> aws_sdk_sts::Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint.url())
        .credentials_provider(provider)
        .load()
        .await;
    aws_sdk_sts::Client::new(&config)
}

async fn caller_arn(client: &aws_sdk_sts::Client) -> String {
    let identity = client
        .get_caller_identity()
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sts::error::DisplayErrorContext(e)));
    identity.arn().expect("an ARN").to_string()
}

/// `arn:aws:sts::<account>:assumed-role/<name>/...`: the session of `role`.
fn assumed(arn: &str, role: &str) -> bool {
    let (account, name) = role
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(":role/"))
        .expect("a role ARN");
    arn.starts_with(&format!("arn:aws:sts::{account}:assumed-role/{name}/"))
}

fn serial(kind: &str) -> String {
    std::fs::read_to_string(pki(kind, "serial.dec")).expect("serial.dec")
}

/// Replaces `to` with `from`'s bytes in place (truncate and rewrite, as certmonger does).
fn rewrite(from: &str, to: &Path) {
    std::fs::write(to, std::fs::read(from).expect("read the fixture")).expect("rewrite");
}

#[tokio::test]
async fn get_caller_identity_with_a_file_key() {
    let endpoint = local(&[]);
    let provider = provider_for(
        &endpoint,
        Path::new(&pki("ec-p256", "fullchain.pem")),
        Path::new(&pki("ec-p256", "key-pkcs8.pem")),
    );
    let client = sts(provider, &endpoint).await;
    let arn = caller_arn(&client).await;
    assert!(assumed(&arn, ROLE), "{arn}");
    let made = sessions(&endpoint);
    assert_eq!(made.len(), 1);
    assert_eq!(made[0]["serial"].as_str(), Some(serial("ec-p256").as_str()));
}

#[tokio::test]
async fn get_caller_identity_with_a_key_in_a_pkcs11_token() {
    if !test_support::have("softhsm2-util") {
        return;
    }
    let hsm = test_support::softhsm::Hsm::provisioned("rsa-2048");
    // The module reads its configuration from the environment; no other test of this binary
    // loads it.
    std::env::set_var("SOFTHSM2_CONF", hsm.conf());
    let endpoint = local(&[]);
    let uri = format!(
        "pkcs11:token=ra;object=leaf?pin-value={}",
        test_support::softhsm::PIN
    );
    let provider = RolesAnywhereCredentialsProvider::builder()
        .certificate(&uri)
        .private_key(&uri)
        .pkcs11_lib(test_support::softhsm::module())
        .trust_anchor_arn(TRUST_ANCHOR)
        .profile_arn(PROFILE)
        .role_arn(ROLE)
        .endpoint(endpoint.url())
        .build()
        .expect("the settings are valid");
    let client = sts(provider, &endpoint).await;
    for _ in 0..3 {
        let arn = caller_arn(&client).await;
        assert!(assumed(&arn, ROLE), "{arn}");
    }
    let made = sessions(&endpoint);
    assert_eq!(made.len(), 1, "one CreateSession for three calls");
    assert_eq!(
        made[0]["serial"].as_str(),
        Some(serial("rsa-2048").as_str())
    );
    // The chain came from the token, so the endpoint verified the path through it.
    assert_eq!(made[0]["algorithm"], "AWS4-X509-RSA-SHA256");
}

#[tokio::test]
async fn a_chained_role_with_external_id_and_mfa_from_a_callback() {
    let endpoint = local(&[]);
    let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&asked);
    // The flags of a credential_process line, as from_args takes them.
    let cert = pki("ec-p384", "fullchain.pem");
    let key = pki("ec-p384", "key-pkcs8.pem");
    let url = endpoint.url();
    let hop = AssumeRole::new(CROSS_ROLE)
        .external_id(EXTERNAL_ID)
        .mfa_serial(MFA_SERIAL)
        .session_name("deploy-from-rust");
    let provider = RolesAnywhereCredentialsProvider::builder()
        .certificate(&cert)
        .private_key(&key)
        .trust_anchor_arn(TRUST_ANCHOR)
        .profile_arn(PROFILE)
        .role_arn(ROLE)
        .endpoint(&url)
        .sts_endpoint(&url)
        .assume_role(hop)
        .mfa_codes(move |serial| {
            seen.lock().unwrap().push(serial.to_string());
            // The code from an independent TOTP implementation.
            let out = Command::new("oathtool")
                .args(["--totp", "-b", MFA_SECRET])
                .output()
                .ok()?;
            Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .build()
        .expect("the settings are valid");
    let client = sts(provider, &endpoint).await;
    let arn = caller_arn(&client).await;
    assert!(assumed(&arn, CROSS_ROLE), "{arn}");
    assert!(arn.ends_with("/deploy-from-rust"), "{arn}");
    assert_eq!(*asked.lock().unwrap(), [MFA_SERIAL], "MFA asked once");
}

#[tokio::test]
async fn from_args_takes_a_credential_process_line_unchanged() {
    let endpoint = local(&[]);
    let url = endpoint.url();
    let cert = pki("rsa-2048", "cert.pem");
    let chain = pki("rsa-2048", "chain.pem");
    let key = pki("rsa-2048", "key-pkcs8.pem");
    let line = format!(
        "--certificate {cert} --intermediates {chain} --private-key {key} \
         --trust-anchor-arn {TRUST_ANCHOR} --profile-arn {PROFILE} --role-arn {ROLE} \
         --endpoint {url} --session-duration 900 --role-session-name from-args"
    );
    let provider = RolesAnywhereCredentialsProvider::from_args(line.split_whitespace())
        .expect("the flags are valid");
    let credentials = provider.credentials().await.expect("credentials");
    assert!(credentials.access_key_id.starts_with("ASIA"));
    let client = sts(provider, &endpoint).await;
    let arn = caller_arn(&client).await;
    assert!(arn.ends_with("/from-args"), "{arn}");
    assert_eq!(sessions(&endpoint).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_share_one_create_session() {
    let endpoint = local(&["--latency-ms", "300"]);
    let provider = provider_for(
        &endpoint,
        Path::new(&pki("ec-p256", "fullchain.pem")),
        Path::new(&pki("ec-p256", "key-pkcs8.pem")),
    );
    // The provider itself, 32 callers at once, before any credentials are in hand.
    let callers: Vec<_> = (0..32)
        .map(|_| {
            let provider = provider.clone();
            tokio::spawn(async move { provider.provide_credentials().await })
        })
        .collect();
    for caller in callers {
        caller.await.expect("join").expect("credentials");
    }
    assert_eq!(sessions(&endpoint).len(), 1);

    // And 32 concurrent SDK calls on a fresh provider.
    let endpoint = local(&["--latency-ms", "300"]);
    let provider = provider_for(
        &endpoint,
        Path::new(&pki("ec-p256", "fullchain.pem")),
        Path::new(&pki("ec-p256", "key-pkcs8.pem")),
    );
    let client = sts(provider, &endpoint).await;
    let calls: Vec<_> = (0..32)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { caller_arn(&client).await })
        })
        .collect();
    for call in calls {
        assert!(assumed(&call.await.expect("join"), ROLE));
    }
    assert_eq!(
        sessions(&endpoint).len(),
        1,
        "32 SDK calls, one CreateSession"
    );
}

#[tokio::test]
async fn short_sessions_are_refreshed_before_they_expire() {
    // Every session the endpoint issues lasts 20 seconds, whatever was asked (the least a
    // client accepts is 10).
    let endpoint = local(&["--expire-after", "20"]);
    let provider = provider_for(
        &endpoint,
        Path::new(&pki("ec-p256", "fullchain.pem")),
        Path::new(&pki("ec-p256", "key-pkcs8.pem")),
    );
    let client = sts(provider, &endpoint).await;
    let until = Instant::now() + Duration::from_secs(25);
    let mut made = 0;
    while Instant::now() < until {
        // Every call must succeed: credentials are never used past their expiry.
        assert!(assumed(&caller_arn(&client).await, ROLE));
        made += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sessions = sessions(&endpoint).len();
    assert!(
        sessions >= 2,
        "{sessions} CreateSession in 14 s of 6-s sessions"
    );
    let failed: Vec<_> = calls(&endpoint)
        .into_iter()
        .filter(|c| c["ok"] != true)
        .collect();
    assert!(failed.is_empty(), "{made} calls, failures: {failed:?}");
}

#[tokio::test]
async fn a_renewed_certificate_is_used_at_the_next_refresh_and_a_broken_one_never() {
    let endpoint = local(&["--expire-after", "14"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("host.crt"), dir.path().join("host.key"));
    rewrite(&pki("ec-p256", "fullchain.pem"), &cert);
    rewrite(&pki("ec-p256", "key-pkcs8.pem"), &key);
    let provider = provider_for(&endpoint, &cert, &key);
    let client = sts(provider, &endpoint).await;
    assert!(assumed(&caller_arn(&client).await, ROLE));
    let latest = |endpoint: &Endpoint| {
        sessions(endpoint)
            .last()
            .and_then(|c| c["serial"].as_str().map(str::to_string))
    };
    assert_eq!(latest(&endpoint), Some(serial("ec-p256")));

    // Renewed, to another key type: the next refresh signs with the new pair.
    rewrite(&pki("rsa-2048", "fullchain.pem"), &cert);
    rewrite(&pki("rsa-2048", "key-pkcs8.pem"), &key);
    let until = Instant::now() + Duration::from_secs(30);
    while latest(&endpoint) != Some(serial("rsa-2048")) {
        assert!(Instant::now() < until, "the renewal was not picked up");
        assert!(assumed(&caller_arn(&client).await, ROLE));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // A broken renewal (a key that is not the certificate's): the calls go on, signed with the
    // last good pair.
    let before = sessions(&endpoint).len();
    rewrite(&pki("ec-p384", "key-pkcs8.pem"), &key);
    let until = Instant::now() + Duration::from_secs(60);
    while sessions(&endpoint).len() < before + 2 {
        assert!(
            Instant::now() < until,
            "no refresh after the broken renewal"
        );
        assert!(assumed(&caller_arn(&client).await, ROLE));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(latest(&endpoint), Some(serial("rsa-2048")));
}

/// The one line a failure reads as, through the SDK's error.
fn reported(error: &aws_credential_types::provider::error::CredentialsError) -> String {
    let source = std::error::Error::source(error).expect("a source");
    let ours = source
        .downcast_ref::<ReportedError>()
        .expect("the source is the provider's report");
    assert_eq!(ours.to_string(), ours.error().report());
    let line = ours.to_string();
    assert!(!line.contains('\n'), "{line}");
    line
}

#[tokio::test]
async fn a_bad_key_is_a_credentials_error_with_our_one_line() {
    let endpoint = local(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("host.key");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let provider = provider_for(&endpoint, Path::new(&pki("ec-p256", "cert.pem")), &key);
    let error = provider
        .provide_credentials()
        .await
        .expect_err("the key does not load");
    let line = reported(&error);
    assert!(line.contains(&key.display().to_string()), "{line}");
    let shown = aws_sdk_sts::error::DisplayErrorContext(&error).to_string();
    assert!(shown.contains(&line), "{shown}");
    assert!(sessions(&endpoint).is_empty(), "nothing was sent");

    // Through the SDK too: the call fails with the same line, and no panic.
    let client = sts(provider, &endpoint).await;
    let failed = client
        .get_caller_identity()
        .send()
        .await
        .expect_err("no credentials");
    let shown = aws_sdk_sts::error::DisplayErrorContext(&failed).to_string();
    assert!(shown.contains(&line), "{shown}");
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_credentials_error_with_our_one_line() {
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let provider = RolesAnywhereCredentialsProvider::builder()
        .certificate(pki("ec-p256", "fullchain.pem"))
        .private_key(pki("ec-p256", "key-pkcs8.pem"))
        .trust_anchor_arn(TRUST_ANCHOR)
        .profile_arn(PROFILE)
        .role_arn(ROLE)
        .endpoint(format!("http://127.0.0.1:{port}"))
        .build()
        .expect("the settings are valid");
    let error = provider
        .provide_credentials()
        .await
        .expect_err("nothing listens");
    let line = reported(&error);
    assert!(
        line.starts_with(&format!("cannot reach 127.0.0.1:{port}")),
        "{line}"
    );
    assert!(line.contains("nothing listens there"), "{line}");
}

#[test]
fn bad_settings_are_refused_when_built_with_one_line() {
    let refused = |result: rolesanywhere_credentials::Result<RolesAnywhereCredentialsProvider>| {
        result.expect_err("refused").report()
    };
    let line = refused(
        RolesAnywhereCredentialsProvider::builder()
            .certificate("/etc/pki/host.pem")
            .private_key("/etc/pki/host.key")
            .trust_anchor_arn("not-an-arn")
            .profile_arn(PROFILE)
            .role_arn(ROLE)
            .build(),
    );
    assert!(line.contains("--trust-anchor-arn"), "{line}");
    let line = refused(RolesAnywhereCredentialsProvider::from_args([
        "--certificate",
        "c.pem",
        "--no-such-flag",
    ]));
    assert_eq!(line, "unexpected argument '--no-such-flag'");
    let line = refused(
        RolesAnywhereCredentialsProvider::builder()
            .trust_anchor_arn(TRUST_ANCHOR)
            .profile_arn(PROFILE)
            .role_arn(ROLE)
            .session_duration(Duration::from_secs(60))
            .build(),
    );
    assert!(
        line.contains("--session-duration 60 is out of range"),
        "{line}"
    );
}

/// `examples/sdk_sts.rs`, built beside this test (cargo builds examples for `cargo test`; a
/// narrower run builds it here).
fn example_binary() -> std::path::PathBuf {
    let test = std::env::current_exe().expect("the test's path");
    let profile = test
        .parent()
        .and_then(Path::parent)
        .expect("tests live in <target>/<profile>/deps");
    let example = profile.join("examples/sdk_sts");
    if !example.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let built = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "rolesanywhere-credentials",
                "--example",
                "sdk_sts",
            ])
            .current_dir(test_support::workspace_root())
            .status()
            .expect("run cargo");
        assert!(built.success(), "cannot build the sdk_sts example");
    }
    example
}

#[test]
fn the_sdk_sts_example_prints_the_caller_over_tls() {
    // Over TLS this time: the example trusts AWS_CA_BUNDLE, as the provider does.
    let config = config_text(&testdata("pki/ca/root.pem"));
    let endpoint = Endpoint::start(local_binary(), &config, &[]);
    let cert = pki("ec-p256", "fullchain.pem");
    let key = pki("ec-p256", "key-pkcs8.pem");
    let out = Command::new(example_binary())
        .args(["--certificate", &cert, "--private-key", &key])
        .args(["--trust-anchor-arn", TRUST_ANCHOR, "--profile-arn", PROFILE])
        .args(["--role-arn", ROLE])
        .env("AWS_CA_BUNDLE", endpoint.ca())
        .env("AWS_ENDPOINT_URL", endpoint.url())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(assumed(stdout.trim(), ROLE), "{stdout}");
}
