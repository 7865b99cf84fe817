//! `credential-process` end to end: the real binary against the real `rolesanywhere-local` on
//! loopback, which verifies every request independently of our signing code.

use std::time::{Duration, Instant};

use test_support::standard::{
    DISABLED_ANCHOR, OTHER_ROLE, PROFILE, ROLE, STRICT_PROFILE, TRUST_ANCHOR,
};
use test_support::{pki, testdata, EC_KINDS};

use crate::util::assert_one_line_error;
use crate::util::local::{helper_command, Local};

fn credentials(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let object = json.as_object().unwrap();
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(
        keys.len(),
        5,
        "exactly the credential_process fields: {keys:?}"
    );
    assert_eq!(json["Version"], 1);
    assert!(json["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    for field in ["SecretAccessKey", "SessionToken", "Expiration"] {
        assert!(!json[field].as_str().unwrap().is_empty(), "{field}");
    }
    json
}

/// The key in its algorithm's own format: PKCS#1 for RSA, SEC1 for EC.
fn native_key(kind: &str) -> &'static str {
    if kind.starts_with("rsa") {
        "key-pkcs1.pem"
    } else {
        "key-sec1.pem"
    }
}

fn last_call(local: &Local) -> serde_json::Value {
    local.calls().pop().expect("the endpoint saw a call")
}

#[test]
fn every_key_type_with_fullchain_and_with_intermediates() {
    let local = Local::start(&[]);
    for kind in ["rsa-2048", "rsa-3072", "rsa-4096", "rsa-8192"]
        .iter()
        .chain(EC_KINDS.iter())
    {
        let out = local.credential_process(&[
            "--certificate",
            &pki(kind, "fullchain.pem"),
            "--private-key",
            &pki(kind, "key-pkcs8.pem"),
        ]);
        credentials(&out);
        let call = last_call(&local);
        assert_eq!(call["ok"], true, "{kind}: {call}");
        let out = local.credential_process(&[
            "--certificate",
            &pki(kind, "cert.pem"),
            "--intermediates",
            &pki(kind, "chain.pem"),
            "--private-key",
            &pki(kind, native_key(kind)),
        ]);
        credentials(&out);
    }
}

/// An `--intermediates` bundle that also holds the leaf (a "fullchain" file given as the chain)
/// works, and the leaf is not sent again in `X-Amz-X509-Chain`: the header (shown by `--debug`)
/// holds the chain's certificates and not the leaf's DER, as OpenSSL encodes it.
#[test]
fn intermediates_bundle_holding_the_leaf_sends_the_leaf_once() {
    let local = Local::start(&[]);
    for kind in ["rsa-2048", "ec-p256"] {
        let out = local.credential_process(&[
            "--certificate",
            &pki(kind, "cert.pem"),
            "--intermediates",
            &pki(kind, "fullchain.pem"),
            "--private-key",
            &pki(kind, "key-pkcs8.pem"),
            "--debug",
        ]);
        credentials(&out);
        let call = last_call(&local);
        assert_eq!(call["ok"], true, "{kind}: {call}");
        let leaf = std::process::Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in", &pki(kind, "cert.pem")])
            .output()
            .expect("openssl x509");
        use base64::Engine;
        let leaf = base64::engine::general_purpose::STANDARD.encode(leaf.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let chain = stderr
            .lines()
            .find_map(|l| l.split_once("X-Amz-X509-Chain: ").map(|(_, v)| v.trim()))
            .unwrap_or_else(|| panic!("{kind}: no chain header in: {stderr}"));
        let sent: Vec<&str> = chain.split(',').collect();
        let in_chain = std::fs::read_to_string(pki(kind, "chain.pem"))
            .unwrap()
            .matches("BEGIN CERTIFICATE")
            .count();
        assert_eq!(sent.len(), in_chain, "{kind}: {chain}");
        assert!(
            !sent.contains(&leaf.as_str()),
            "{kind}: the leaf was sent in the chain"
        );
    }
}

#[test]
fn pkcs12_and_encrypted_keys_and_role_session_name() {
    let local = Local::start(&[]);
    credentials(&local.credential_process(&[
        "--certificate",
        &pki("ec-p384", "bundle.p12"),
        "--pkcs8-password",
        "password",
    ]));
    credentials(&local.credential_process(&[
        "--certificate",
        &pki("rsa-2048", "fullchain.pem"),
        "--private-key",
        &pki("rsa-2048", "key-pkcs8-scrypt.pem"),
        "--pkcs8-password",
        "password",
        "--role-session-name",
        "my-session",
        "--session-duration",
        "900",
    ]));
    let call = last_call(&local);
    assert_eq!(call["ok"], true, "{call}");
    assert!(call.to_string().contains("my-session"), "{call}");
}

#[test]
fn expiration_is_the_requested_duration_away() {
    let local = Local::start(&[]);
    let json = credentials(&local.credential_process(&[
        "--certificate",
        &pki("ec-p256", "fullchain.pem"),
        "--private-key",
        &pki("ec-p256", "key-pkcs8.pem"),
        "--session-duration",
        "1200",
    ]));
    let expiration = time::OffsetDateTime::parse(
        json["Expiration"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = (expiration - time::OffsetDateTime::now_utc()).whole_seconds();
    assert!((1100..=1210).contains(&left), "{left}");
}

#[test]
fn missing_chain_is_access_denied_with_a_hint() {
    let local = Local::start(&[]);
    let out = local.credential_process(&[
        "--certificate",
        &pki("ec-p256", "cert.pem"),
        "--private-key",
        &pki("ec-p256", "key-pkcs8.pem"),
    ]);
    let err = assert_one_line_error(&out, "AccessDeniedException (HTTP 403)");
    assert!(err.contains("--intermediates"), "{err}");
}

#[test]
fn service_rejections_exit_1_with_type_status_and_hint() {
    let local = Local::start(&[]);
    let cert = pki("rsa-2048", "fullchain.pem");
    let key = pki("rsa-2048", "key-pkcs8.pem");
    let base = [
        "--certificate",
        cert.as_str(),
        "--private-key",
        key.as_str(),
    ];
    let run = |extra: &[&str]| local.credential_process(&[&base[..], extra].concat());

    let out = run(&["--role-arn", OTHER_ROLE]);
    assert_one_line_error(&out, "AccessDeniedException (HTTP 403)");
    let out = run(&["--trust-anchor-arn", DISABLED_ANCHOR]);
    assert_one_line_error(&out, "AccessDeniedException");
    let missing = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/nope";
    let out = run(&["--profile-arn", missing]);
    let err = assert_one_line_error(&out, "ResourceNotFoundException (HTTP 404)");
    assert!(err.contains("us-east-1"), "{err}");
    let out = run(&["--session-duration", "7200"]);
    assert_one_line_error(&out, "ValidationException (HTTP 400)");
    let out = run(&[
        "--profile-arn",
        STRICT_PROFILE,
        "--role-session-name",
        "nope-1",
    ]);
    assert_one_line_error(&out, "ValidationException");
    // Every one of those was judged by the endpoint, once: no retries on these errors.
    let calls = local.calls();
    assert_eq!(calls.len(), 5, "{calls:?}");
    assert!(calls.iter().all(|c| c["ok"] == false));
}

#[test]
fn certificate_problems_are_reported() {
    let local = Local::start(&[]);
    let out = local.credential_process(&[
        "--certificate",
        &testdata("pki/bad/expired-cert.pem").to_string_lossy(),
        "--intermediates",
        &pki("ec-p256", "chain.pem"),
        "--private-key",
        &testdata("pki/bad/expired-key.pem").to_string_lossy(),
    ]);
    let err = assert_one_line_error(&out, "AccessDeniedException");
    assert!(err.contains("expired on 2021-01-01"), "{err}");
    let out = local.credential_process(&[
        "--certificate",
        &testdata("pki/bad/untrusted-leaf.pem").to_string_lossy(),
        "--private-key",
        &testdata("pki/bad/untrusted-leaf-key.pem").to_string_lossy(),
    ]);
    assert_one_line_error(&out, "AccessDeniedException");
}

#[test]
fn local_validation_happens_before_any_request() {
    let local = Local::start(&[]);
    let cert = pki("ec-p256", "fullchain.pem");
    let key = pki("ec-p256", "key-pkcs8.pem");
    let base = [
        "--certificate",
        cert.as_str(),
        "--private-key",
        key.as_str(),
    ];
    let run = |extra: &[&str]| local.credential_process(&[&base[..], extra].concat());
    let out = run(&["--role-arn", "arn:aws:iam::12345:role/x"]);
    assert_one_line_error(&out, "--role-arn");
    let out = run(&["--profile-arn", TRUST_ANCHOR]);
    assert_one_line_error(&out, "--profile-arn");
    let out = run(&[
        "--profile-arn",
        "arn:aws:rolesanywhere:eu-west-1:123456789012:profile/p",
    ]);
    assert_one_line_error(&out, "regions don't match");
    let out = run(&["--session-duration", "60"]);
    assert_one_line_error(&out, "--session-duration");
    let out = run(&["--role-session-name", "bad name"]);
    assert_one_line_error(&out, "--role-session-name");
    // A key that does not match is caught locally too.
    let out = local.credential_process(&[
        "--certificate",
        &cert,
        "--private-key",
        &pki("ec-p384", "key-pkcs8.pem"),
    ]);
    assert_one_line_error(&out, "does not match");
    assert!(local.calls().is_empty(), "nothing should have been sent");
}

#[test]
fn throttled_then_succeeds() {
    let local = Local::start(&["--throttle-first", "2"]);
    credentials(&local.credential_process(&[
        "--certificate",
        &pki("ec-p256", "fullchain.pem"),
        "--private-key",
        &pki("ec-p256", "key-pkcs8.pem"),
    ]));
    assert_eq!(local.calls().len(), 3);
}

/// The SDK's retry settings: `AWS_MAX_ATTEMPTS` and the config profile's `max_attempts` set the
/// attempts (the environment winning), `AWS_RETRY_MODE=adaptive` holds the retry after a
/// throttling answer until its rate limiter has a token (about 2 s), and a bad value fails
/// before any request. (The conformance suite checks the same against the official's cases.)
#[test]
fn retry_settings_from_the_environment_and_the_config_profile() {
    let cert = pki("ec-p256", "fullchain.pem");
    let key = pki("ec-p256", "key-pkcs8.pem");
    let args = ["--certificate", &cert, "--private-key", &key];
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[default]\nmax_attempts = 5\n[profile ra]\nmax_attempts = 2\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    for (env, attempts) in [
        (&[("AWS_MAX_ATTEMPTS", "1")][..], 1),
        (&[("AWS_CONFIG_FILE", config), ("AWS_PROFILE", "ra")][..], 2),
        (
            &[
                ("AWS_CONFIG_FILE", config),
                ("AWS_PROFILE", "ra"),
                ("AWS_MAX_ATTEMPTS", "1"),
            ][..],
            1,
        ),
    ] {
        let local = Local::start(&["--fail-first", "10"]);
        let out = local.credential_process_env(&args, env);
        assert_one_line_error(&out, "(HTTP 500)");
        assert_eq!(local.calls().len(), attempts, "{env:?}");
    }

    let local = Local::start(&["--throttle-first", "1"]);
    let started = Instant::now();
    credentials(&local.credential_process_env(&args, &[("AWS_RETRY_MODE", "adaptive")]));
    assert_eq!(local.calls().len(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );

    for (var, value, phrase) in [
        (
            "AWS_RETRY_MODE",
            "sometimes",
            "invalid AWS_RETRY_MODE value 'sometimes'",
        ),
        (
            "AWS_MAX_ATTEMPTS",
            "many",
            "invalid value AWS_MAX_ATTEMPTS=many",
        ),
    ] {
        let local = Local::start(&[]);
        let out = local.credential_process_env(&args, &[(var, value)]);
        assert_one_line_error(&out, phrase);
        assert!(local.calls().is_empty(), "{var}");
    }
}

#[test]
fn server_errors_are_retried_then_reported() {
    let cert = pki("ec-p256", "fullchain.pem");
    let key = pki("ec-p256", "key-pkcs8.pem");
    let args = [
        "--certificate",
        cert.as_str(),
        "--private-key",
        key.as_str(),
    ];
    let local = Local::start(&["--fail-first", "1"]);
    credentials(&local.credential_process(&args));
    let local = Local::start(&["--fail-first", "10"]);
    let out = local.credential_process(&args);
    let err = assert_one_line_error(&out, "(HTTP 500)");
    assert!(err.contains("3 times"), "{err}");
    assert_eq!(local.calls().len(), 3, "three attempts, then give up");
}

#[test]
fn hung_endpoint_times_out() {
    let local = Local::start(&["--hang"]);
    let start = Instant::now();
    let out = local.credential_process_env(
        &[
            "--certificate",
            &pki("ec-p256", "fullchain.pem"),
            "--private-key",
            &pki("ec-p256", "key-pkcs8.pem"),
        ],
        &[("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "1")],
    );
    assert_one_line_error(&out, "within 1 s");
    // Three attempts of one second plus backoff; far less than the default 30 s timeout.
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn unreachable_endpoint() {
    // Bind and drop a listener to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = helper_command(&[
        "credential-process",
        "--certificate",
        &pki("ec-p256", "fullchain.pem"),
        "--private-key",
        &pki("ec-p256", "key-pkcs8.pem"),
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
        &format!("https://127.0.0.1:{port}"),
    ])
    .output()
    .unwrap();
    assert_one_line_error(&out, "cannot reach");
}

#[test]
fn debug_keeps_stdout_parseable_and_hides_secrets() {
    let local = Local::start(&[]);
    let out = local.credential_process(&[
        "--certificate",
        &pki("ec-p256", "fullchain.pem"),
        "--private-key",
        &pki("ec-p256", "key-pkcs8.pem"),
        "--debug",
    ]);
    let json = credentials(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("canonical request"), "{stderr}");
    assert!(stderr.contains("AWS4-X509-ECDSA-SHA256"), "{stderr}");
    for secret in ["SecretAccessKey", "SessionToken"] {
        let value = json[secret].as_str().unwrap();
        assert!(
            !stderr.contains(value),
            "{secret} leaked into --debug output"
        );
    }
}

#[test]
fn tls_verification_and_plain_http() {
    let local = Local::start(&[]);
    let cert = pki("ec-p256", "fullchain.pem");
    let key = pki("ec-p256", "key-pkcs8.pem");
    let args = [
        "credential-process",
        "--certificate",
        cert.as_str(),
        "--private-key",
        key.as_str(),
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
    ];
    let url = local.url();
    // Without the CA, the endpoint's certificate is not trusted ...
    let out = helper_command(&[&args[..], &[url.as_str()]].concat())
        .output()
        .unwrap();
    assert_one_line_error(&out, "set AWS_CA_BUNDLE");
    // ... unless verification is switched off.
    let out = helper_command(&[&args[..], &[url.as_str(), "--no-verify-ssl"]].concat())
        .output()
        .unwrap();
    credentials(&out);

    let plain = Local::start(&["--plain-http"]);
    let url = plain.url();
    let out = helper_command(&[&args[..], &[url.as_str()]].concat())
        .output()
        .unwrap();
    credentials(&out);
}

/// A CONNECT proxy on loopback that counts the tunnels it opens; its URL.
fn counting_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tunnels = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = tunnels.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let counted = counted.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let target = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                // The rest of the head.
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let mut client = client;
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let (mut from_server, mut to_server) = (server.try_clone().unwrap(), server);
                let mut to_client = client.try_clone().unwrap();
                std::thread::spawn(move || std::io::copy(&mut reader, &mut to_server));
                let _ = std::io::copy(&mut from_server, &mut to_client);
            });
        }
    });
    (url, tunnels)
}

/// As the official helper: the proxy in `HTTPS_PROXY` carries the CreateSession call with
/// `--with-proxy`, and is not used without it (the one-shot call goes straight to the
/// endpoint).
#[test]
fn a_proxy_carries_the_call_with_with_proxy_only() {
    use std::sync::atomic::Ordering;
    let local = Local::start(&[]);
    let (proxy, tunnels) = counting_proxy();
    let identity = [
        "--certificate",
        &pki("ec-p256", "fullchain.pem"),
        "--private-key",
        &pki("ec-p256", "key-pkcs8.pem"),
    ]
    .map(str::to_string);
    let identity: Vec<&str> = identity.iter().map(String::as_str).collect();
    let env = [
        ("HTTPS_PROXY", proxy.as_str()),
        ("https_proxy", proxy.as_str()),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ];
    credentials(&local.credential_process_env(&identity, &env));
    assert_eq!(
        tunnels.load(Ordering::SeqCst),
        0,
        "no --with-proxy: no tunnel"
    );

    let mut with_proxy = identity.clone();
    with_proxy.push("--with-proxy");
    credentials(&local.credential_process_env(&with_proxy, &env));
    assert_eq!(
        tunnels.load(Ordering::SeqCst),
        1,
        "--with-proxy: one tunnel"
    );
    assert_eq!(last_call(&local)["ok"], true);
}
