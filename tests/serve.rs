//! `serve` end to end: the real binary on a loopback port, getting its credentials from the real
//! `rolesanywhere-local`, queried over HTTP as the SDKs do (IMDSv2 and container credentials).

mod common;

use std::time::{Duration, Instant};

use common::local::{helper_command, Local, ROLE};
use common::pki;
use common::serve::{imds_credentials, send, Serve, CREDS, TOKEN, TOKEN_HEADER, TTL};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn imdsv2_token_flow_and_credentials_shape() {
    let local = Local::start(&[]);
    let serve = Serve::start(&local, &[], &[]);
    serve.wait_for_stderr(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:",
        Duration::from_secs(5),
    );

    // A token, with the default TTL when none is asked for.
    let (status, headers, token) = send(Method::PUT, &serve.url(TOKEN), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[TTL], "21600");
    assert_eq!(token.len(), 100);
    let (status, headers, _) = send(
        Method::PUT,
        &serve.url(&format!("{TOKEN}/")),
        &[(TTL, "60")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[TTL], "60");

    // Only PUT makes tokens.
    let (status, _, _) = send(Method::GET, &serve.url(TOKEN), &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    // The role list needs a valid token and echoes its remaining TTL.
    for path in [CREDS.to_string(), format!("{CREDS}/")] {
        let url = serve.url(&path);
        let (status, _, _) = send(Method::GET, &url, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, _) = send(Method::GET, &url, &[(TOKEN_HEADER, "made-up")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, headers, body) = send(Method::GET, &url, &[(TOKEN_HEADER, &token)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "test-role");
        let left: u64 = headers[TTL].to_str().unwrap().parse().unwrap();
        assert!((21590..=21600).contains(&left), "{left}");
    }

    // The credentials document.
    for path in [format!("{CREDS}/test-role"), format!("{CREDS}/test-role/")] {
        let url = serve.url(&path);
        let (status, _, _) = send(Method::GET, &url, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, headers, body) = send(Method::GET, &url, &[(TOKEN_HEADER, &token)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(headers.contains_key(TTL));
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "AccessKeyId",
                "Code",
                "Expiration",
                "LastUpdated",
                "SecretAccessKey",
                "Token",
                "Type"
            ]
        );
        assert_eq!(json["Code"], "Success");
        assert_eq!(json["Type"], "AWS-HMAC");
        assert!(json["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
        assert!(json["Expiration"].as_str().unwrap().ends_with('Z'));
        assert!(json["LastUpdated"].as_str().unwrap().ends_with('Z'));
    }
    let url = serve.url(&format!("{CREDS}/other-role"));
    let (status, _, _) = send(Method::GET, &url, &[(TOKEN_HEADER, &token)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Secrets never reach the log.
    let json = imds_credentials(&serve).await;
    let log = serve.stderr();
    assert!(!log.contains(json["SecretAccessKey"].as_str().unwrap()));
    assert!(!log.contains(json["Token"].as_str().unwrap()));
}

#[tokio::test]
async fn token_ttl_bounds_expiry_and_forwarded_requests() {
    let local = Local::start(&[]);
    let serve = Serve::start(&local, &[], &[]);
    for bad in ["0", "21601", "-1", "abc", "1.5"] {
        let (status, _, _) = send(Method::PUT, &serve.url(TOKEN), &[(TTL, bad)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "TTL {bad:?}");
    }
    for (asked, granted) in [("21600", "21600"), ("", "21600")] {
        let (status, headers, _) = send(Method::PUT, &serve.url(TOKEN), &[(TTL, asked)]).await;
        assert_eq!(status, StatusCode::OK, "TTL {asked:?}");
        assert_eq!(headers[TTL], granted);
    }

    let (status, _, _) = send(
        Method::PUT,
        &serve.url(TOKEN),
        &[(TTL, "60"), ("X-Forwarded-For", "203.0.113.9")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A one-second token stops working.
    let (status, headers, short) = send(Method::PUT, &serve.url(TOKEN), &[(TTL, "1")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[TTL], "1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, _) = send(Method::GET, &serve.url(CREDS), &[(TOKEN_HEADER, &short)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn container_credentials_need_the_authorization_token() {
    let local = Local::start(&[]);
    let chosen = "a-token-chosen-by-the-operator";
    let serve = Serve::start(
        &local,
        &[],
        &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", chosen)],
    );
    // A token the operator chose is not printed.
    serve.wait_for_stderr("AWS_CONTAINER_AUTHORIZATION_TOKEN", Duration::from_secs(5));
    assert!(!serve.stderr().contains(chosen));
    let url = serve.url("/creds");
    let (status, _, _) = send(Method::GET, &url, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = send(Method::GET, &url, &[("Authorization", "wrong")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = send(Method::GET, &url, &[("Authorization", chosen)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "AccessKeyId",
            "Expiration",
            "RoleArn",
            "SecretAccessKey",
            "Token"
        ]
    );
    assert_eq!(json["RoleArn"], ROLE);

    // Without the variable, a token is generated and printed once.
    let serve = Serve::start(&local, &[], &[]);
    serve.wait_for_stderr("AWS_CONTAINER_AUTHORIZATION_TOKEN=", Duration::from_secs(5));
    let log = serve.stderr();
    let generated = log
        .split("AWS_CONTAINER_AUTHORIZATION_TOKEN=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("generated token printed");
    let (status, _, _) = send(
        Method::GET,
        &serve.url("/creds"),
        &[("Authorization", generated)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn first_create_session_failure_is_fatal() {
    let local = Local::start(&["--fail-first", "100", "--fail-status", "403"]);
    let Err((code, stderr)) = Serve::try_start(&local, &[], &[]) else {
        panic!("serve started although CreateSession failed");
    };
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("CreateSession failed"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_hop_limit_is_refused() {
    let out = helper_command(&["serve", "--hop-limit", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--hop-limit"));
}

#[tokio::test]
async fn refreshes_pick_up_a_renewed_certificate_and_survive_failures() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::copy(pki("rsa-2048", "fullchain.pem"), &cert).unwrap();
    std::fs::copy(pki("rsa-2048", "key-pkcs8.pem"), &key).unwrap();
    let (cert_s, key_s) = (cert.to_str().unwrap(), key.to_str().unwrap());
    // 900 s sessions refreshed 898 s before expiry: a refresh every two seconds.
    let serve = Serve::start(
        &local,
        &[
            "--certificate",
            cert_s,
            "--private-key",
            key_s,
            "--session-duration",
            "900",
        ],
        &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "898")],
    );
    let first = imds_credentials(&serve).await;
    let serial_of = |kind: &str| {
        std::fs::read_to_string(pki(kind, "serial.dec"))
            .unwrap()
            .trim()
            .to_string()
    };
    let wait_for_serial = |serial: String| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let calls = local.calls();
            let last = calls.last().unwrap();
            let seen = last["serial"].as_str().unwrap_or_default().to_string();
            if last["ok"] == true && seen.eq_ignore_ascii_case(&serial) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no call with serial {serial}: {last}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    // A renewal on disk (here: another key type altogether) is used at the next refresh.
    std::fs::copy(pki("ec-p384", "fullchain.pem"), &cert).unwrap();
    std::fs::copy(pki("ec-p384", "key-pkcs8.pem"), &key).unwrap();
    wait_for_serial(serial_of("ec-p384"));
    let second = imds_credentials(&serve).await;
    assert_ne!(first["AccessKeyId"], second["AccessKeyId"]);

    // A broken renewal is reported and the previous material kept.
    std::fs::write(&cert, "not a certificate").unwrap();
    serve.wait_for_stderr(
        "cannot reload the certificate or key",
        Duration::from_secs(20),
    );
    let before = local.calls().len();
    let deadline = Instant::now() + Duration::from_secs(20);
    while local.calls().len() < before + 1 {
        assert!(
            Instant::now() < deadline,
            "no refresh after the broken renewal"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_for_serial(serial_of("ec-p384"));

    // With the endpoint gone, refreshes fail but the last credentials are still served.
    let last = imds_credentials(&serve).await;
    drop(local);
    serve.wait_for_stderr("cannot refresh credentials", Duration::from_secs(60));
    let still = imds_credentials(&serve).await;
    assert_eq!(last["AccessKeyId"], still["AccessKeyId"]);
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let local = Local::start(&[]);
    let mut serve = Serve::start(&local, &[], &[]);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &serve.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = serve.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}: {}", serve.stderr());
            break;
        }
        assert!(Instant::now() < deadline, "serve ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The AWS CLI (botocore) reads credentials from `serve` over IMDSv2 and over the container
/// credentials protocol, then calls STS on the endpoint with them.
#[test]
fn the_aws_cli_reads_credentials_from_serve() {
    let local = Local::start(&[]);
    let token = "cli-container-token";
    let serve = Serve::start(&local, &[], &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)]);
    let dir = tempfile::tempdir().unwrap();
    let base = serve.url("");
    let imds = [
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", format!("{base}/")),
        ("AWS_EC2_METADATA_DISABLED", "false".to_string()),
    ];
    let container = [
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("{base}/creds"),
        ),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", token.to_string()),
    ];
    for env in [&imds[..], &container[..]] {
        let venv = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/aws");
        let mut cmd = std::process::Command::new(if venv.exists() { venv } else { "aws".into() });
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("AWS_CONFIG_FILE", dir.path().join("none"))
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
            .env("AWS_CA_BUNDLE", &local.ca);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .args([
                "--region",
                "us-east-1",
                "--output",
                "json",
                "--endpoint-url",
            ])
            .arg(local.url())
            .args(["sts", "get-caller-identity"])
            .output()
            .expect("run the AWS CLI");
        assert!(
            out.status.success(),
            "{env:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(json["Arn"]
            .as_str()
            .unwrap()
            .contains("assumed-role/test-role"));
    }
}
