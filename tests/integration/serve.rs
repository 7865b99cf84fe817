//! `serve` end to end: the real binary on a loopback port, getting its credentials from the real
//! `rolesanywhere-local`, queried over HTTP as the SDKs do (IMDSv2 and container credentials).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use test_support::pki;
use test_support::standard::ROLE;
use test_support::{aws_cli, venv_python};

use crate::util::local::{helper_command, Local};
use crate::util::serve::{
    client, imds_credentials, send, token, Serve, CREDS, TOKEN, TOKEN_HEADER, TTL,
};

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
    Serve::start_fails(&local, &[], &[], "CreateSession failed");
}

#[test]
fn bad_hop_limit_is_refused() {
    for bad in ["0", "256", "-1", "x"] {
        let out = helper_command(&["serve", "--hop-limit", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--hop-limit"), "{bad}: {stderr}");
        assert!(!stderr.contains("panicked"), "{bad}: {stderr}");
    }
}

#[test]
fn a_busy_port_is_one_clear_error_before_any_session() {
    let local = Local::start(&[]);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    Serve::start_fails(
        &local,
        &["--port", &port],
        &[],
        &format!(
            "port {port} on 127.0.0.1 is in use; stop the other process or pass another --port"
        ),
    );
    assert!(local.calls().is_empty(), "a session was created anyway");
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

/// Requests are answered from the last credentials while a slow refresh is in flight: many
/// concurrent clients, none waiting for CreateSession.
#[tokio::test]
async fn concurrent_clients_never_wait_for_a_refresh() {
    // Every CreateSession takes 1.5 s and the next one is due a second after: a refresh is in
    // flight 1.5 s of every 2.5 s, so 4 s of back-to-back requests overlap one.
    let local = Local::start(&["--latency-ms", "1500"]);
    let serve = Serve::start(
        &local,
        &["--session-duration", "900"],
        &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "899")],
    );
    let token = token(&serve).await;
    let url = serve.url(&format!("{CREDS}/test-role"));
    let sessions = || {
        local
            .calls()
            .iter()
            .filter(|c| c["kind"] == "create-session")
            .count()
    };
    let before = sessions();
    let client = client();
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut answered = 0;
    while started.elapsed() < Duration::from_secs(4) {
        let batch: Vec<_> = (0..32)
            .map(|_| {
                let request = client.get(&url).header(TOKEN_HEADER, &token);
                tokio::spawn(async move {
                    let sent = Instant::now();
                    let status = request.send().await.expect("request").status();
                    (status, sent.elapsed())
                })
            })
            .collect();
        for task in batch {
            let (status, took) = task.await.unwrap();
            assert_eq!(status, StatusCode::OK);
            slowest = slowest.max(took);
            answered += 1;
        }
    }
    let refreshes = sessions() - before;
    assert!(refreshes >= 1, "no refresh happened meanwhile");
    assert!(
        slowest < Duration::from_millis(750),
        "a request took {slowest:?} (of {answered}): it waited for a refresh"
    );
}

/// Once the last credentials have expired and no refresh succeeds, both endpoints answer 503
/// with a message, never expired credentials.
#[tokio::test]
async fn no_valid_credentials_is_an_error_status() {
    // Past the 10 s the helper requires of fresh credentials.
    let local = Local::start(&["--expire-after", "12"]);
    let token = "expiry-token";
    let serve = Serve::start(&local, &[], &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)]);
    let imds_token = self::token(&serve).await;
    let imds = serve.url(&format!("{CREDS}/test-role"));
    let container = serve.url("/creds");
    let (status, _, _) = send(Method::GET, &imds, &[(TOKEN_HEADER, &imds_token)]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(Method::GET, &container, &[("Authorization", token)]).await;
    assert_eq!(status, StatusCode::OK);

    drop(local);
    serve.wait_for_stderr("no valid credentials to serve", Duration::from_secs(30));
    for (url, header) in [
        (&imds, (TOKEN_HEADER, imds_token.as_str())),
        (&container, ("Authorization", token)),
    ] {
        let (status, _, body) = send(Method::GET, url, &[header]).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{url}: {body}");
        assert!(body.contains("no valid credentials"), "{body}");
        assert!(!body.contains("AccessKeyId"), "{body}");
    }
    // The rest of IMDS still works.
    let (status, _, body) = send(
        Method::GET,
        &serve.url(CREDS),
        &[(TOKEN_HEADER, &imds_token)],
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "test-role"));
}

#[cfg(unix)]
#[test]
fn sigterm_and_sigint_stop_the_server_cleanly() {
    use std::io::{Read, Write};

    let local = Local::start(&[]);
    for signal in ["-TERM", "-INT"] {
        let mut serve = Serve::start(&local, &[], &[]);
        // Clients that keep their connection open (an SDK's keep-alive pool, a half-sent
        // request) must not hold the shutdown up.
        let mut idle = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
        idle.write_all(b"PUT /latest/api/token HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut answer = [0u8; 12];
        idle.read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200");
        let mut partial = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
        partial
            .write_all(b"GET /latest/meta-data/ HTTP/1.1\r\nHost:")
            .unwrap();
        let status = std::process::Command::new("kill")
            .args([signal, &serve.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = serve.child.try_wait().unwrap() {
                // Exit 0, not death by the signal: the handler ran.
                assert_eq!(
                    status.code(),
                    Some(0),
                    "{signal}: {status:?}: {}",
                    serve.stderr()
                );
                break;
            }
            assert!(Instant::now() < deadline, "serve ignored {signal}");
            std::thread::sleep(Duration::from_millis(50));
        }
        // The port is free again.
        std::net::TcpListener::bind(("127.0.0.1", serve.port)).expect("port released");
    }
}

/// The AWS CLI (botocore) reads credentials from `serve` over IMDSv2 and over the container
/// credentials protocol, then calls STS on the endpoint with them.
#[test]
fn the_aws_cli_reads_credentials_from_serve() {
    let Some(aws) = aws_cli() else { return };
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
        let mut cmd = std::process::Command::new(&aws);
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

/// What `tests/interop/boto3_sts.py` printed.
struct Boto3 {
    out: std::process::Output,
}

impl Boto3 {
    /// Runs the script against `local`'s STS in an environment holding only `env`, a PATH, an
    /// empty HOME and empty AWS config and credentials files: the only credentials boto3 can
    /// find are the ones `env` leads it to.
    fn run(python: &Path, local: &Local, env: &[(&str, String)]) -> Boto3 {
        let dir = tempfile::tempdir().unwrap();
        let (config, credentials) = (dir.path().join("config"), dir.path().join("credentials"));
        std::fs::write(&config, "").unwrap();
        std::fs::write(&credentials, "").unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/boto3_sts.py");
        let mut cmd = std::process::Command::new(python);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_CA_BUNDLE", &local.ca)
            .arg(script)
            .arg(local.url())
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Boto3 {
            out: cmd.output().expect("run python"),
        }
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    /// The script's JSON, asserting it succeeded.
    fn json(&self) -> serde_json::Value {
        assert!(self.out.status.success(), "boto3 failed: {}", self.stderr());
        serde_json::from_slice(&self.out.stdout).expect("the script prints JSON")
    }
}

/// `rolesanywhere-local`'s GetCallerIdentity verdicts, asserting each was made by boto3 and
/// accepted.
fn boto3_sts_calls(local: &Local) -> Vec<serde_json::Value> {
    let calls: Vec<serde_json::Value> = local
        .calls()
        .into_iter()
        .filter(|c| c["kind"] == "sts")
        .collect();
    for call in &calls {
        assert_eq!(call["ok"], true, "{call}");
        assert_eq!(call["action"], "GetCallerIdentity", "{call}");
        let agent = call["headers"]["user-agent"].as_str().unwrap_or_default();
        assert!(agent.contains("Boto3/"), "not boto3: {call}");
    }
    calls
}

/// The access key id of the one session `serve` created.
fn issued_key(local: &Local) -> String {
    let sessions: Vec<serde_json::Value> = local
        .calls()
        .into_iter()
        .filter(|c| c["kind"] == "create-session")
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    sessions[0]["access_key_id"].as_str().unwrap().to_string()
}

/// boto3 gets its credentials from `serve` over IMDSv2 and over the container endpoint, and STS
/// on `rolesanywhere-local` accepts them.
#[tokio::test]
async fn boto3_reads_credentials_from_serve() {
    let Some(python) = venv_python("boto3") else {
        return;
    };
    let local = Local::start(&[]);
    let token = "boto3-container-token";
    let serve = Serve::start(&local, &[], &[("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)]);
    let issued = issued_key(&local);
    assert_eq!(imds_credentials(&serve).await["AccessKeyId"], issued);
    let base = serve.url("");
    let imds = [
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", format!("{base}/")),
        ("AWS_EC2_METADATA_DISABLED", "false".into()),
    ];
    let container = |token: &str| {
        [
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("{base}/creds"),
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", token.to_string()),
        ]
    };
    for (env, method) in [
        (&imds[..], "iam-role"),
        (&container(token)[..], "container-role"),
    ] {
        let json = Boto3::run(&python, &local, env).json();
        assert_eq!(json["method"], method, "{json}");
        assert_eq!(json["access_key_id"], issued, "{json}");
        assert_eq!(json["account"], "123456789012");
        assert!(
            json["arn"]
                .as_str()
                .unwrap()
                .starts_with("arn:aws:sts::123456789012:assumed-role/test-role/"),
            "{json}"
        );
    }
    let calls = boto3_sts_calls(&local);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|c| c["access_key_id"] == issued.as_str()));

    // The control: with the wrong token boto3 finds no credentials anywhere else.
    let refused = Boto3::run(&python, &local, &container("not-the-token"));
    assert!(!refused.out.status.success(), "{}", refused.stderr());
    assert!(refused.stderr().contains("403"), "{}", refused.stderr());
    assert_eq!(boto3_sts_calls(&local).len(), 2);
}

/// Replaces `path` with `text` by a rename, as a token rotation would.
fn replace_file(path: &std::path::Path, text: &str) {
    let temp = path.with_extension("new");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` wins over `AWS_CONTAINER_AUTHORIZATION_TOKEN` in
/// `serve` as in boto3, and a rotated file is followed by both.
#[tokio::test]
async fn the_container_token_can_come_from_a_file() {
    let Some(python) = venv_python("boto3") else {
        return;
    };
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "file-token-1").unwrap();
    let file_s = file.to_str().unwrap().to_string();
    let ignored = "env-token-ignored";
    let serve = Serve::start(
        &local,
        &[],
        &[
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &file_s),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", ignored),
        ],
    );
    serve.wait_for_stderr(
        &format!("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={file_s}"),
        Duration::from_secs(5),
    );
    assert!(!serve.stderr().contains("file-token-1"));
    let issued = issued_key(&local);
    let url = serve.url("/creds");
    let status = |token: &'static str| {
        let url = url.clone();
        async move { send(Method::GET, &url, &[("Authorization", token)]).await.0 }
    };
    assert_eq!(status(ignored).await, StatusCode::FORBIDDEN);
    assert_eq!(status("file-token-1").await, StatusCode::OK);

    let env = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.clone()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file_s.clone()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", ignored.to_string()),
    ];
    let json = Boto3::run(&python, &local, &env).json();
    assert_eq!(json["method"], "container-role", "{json}");
    assert_eq!(json["access_key_id"], issued, "{json}");

    // Rotated (same length, so only the inode and time tell): both sides follow.
    replace_file(&file, "file-token-2");
    assert_eq!(status("file-token-1").await, StatusCode::FORBIDDEN);
    assert_eq!(status("file-token-2").await, StatusCode::OK);
    let json = Boto3::run(&python, &local, &env).json();
    assert_eq!(json["access_key_id"], issued, "{json}");
    assert_eq!(boto3_sts_calls(&local).len(), 2);

    // One trailing line break is not part of the token (`echo token > file`).
    replace_file(&file, "file-token-3\n");
    assert_eq!(status("file-token-3").await, StatusCode::OK);

    // No file: refused with an error status and reported, never served.
    std::fs::remove_file(&file).unwrap();
    assert_eq!(
        status("file-token-3").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    serve.wait_for_stderr(
        "cannot read the container authorization token",
        Duration::from_secs(5),
    );
    // Reported once, not at every request; fixed, it works again.
    assert_eq!(
        status("file-token-3").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let reports = serve
        .stderr()
        .matches("cannot read the container authorization")
        .count();
    assert_eq!(reports, 1, "{}", serve.stderr());
    replace_file(&file, "file-token-4");
    assert_eq!(status("file-token-4").await, StatusCode::OK);

    // A token file that cannot be read is fatal at start-up.
    std::fs::remove_file(&file).unwrap();
    Serve::start_fails(
        &local,
        &[],
        &[("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &file_s)],
        &format!("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names {file_s}"),
    );
}

/// `--hop-limit` is the IP TTL of every packet `serve` sends (1 behaves like EC2's IMDSv2: the
/// answer cannot cross a router, e.g. out of a container's network namespace).
#[cfg(target_os = "linux")]
#[test]
fn hop_limit_is_the_ttl_of_the_responses() {
    use std::io::{Read, Write};

    let local = Local::start(&[]);
    // 64 is also Linux's default, so the proof is in the other two.
    for (flag, ttl) in [(None, 64u8), (Some("1"), 1), (Some("7"), 7)] {
        let extra: Vec<&str> = flag.map(|f| vec!["--hop-limit", f]).unwrap_or_default();
        let serve = Serve::start(&local, &extra, &[]);
        let (ttls, response) = crate::util::serve::ttls_from_port(serve.port, || {
            let mut tcp = std::net::TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
            tcp.write_all(
                b"PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                  X-aws-ec2-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
            let mut answer = String::new();
            tcp.read_to_string(&mut answer).unwrap();
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        });
        assert!(response, "the response was not captured: {ttls:?}");
        // SYN-ACK, the response, the FIN and ACKs: all of them.
        assert!(ttls.len() >= 3, "{ttls:?}");
        assert!(
            ttls.iter().all(|t| *t == ttl),
            "--hop-limit {flag:?}: {ttls:?}"
        );
    }
}

/// `serve` answers the IMDS region documents with the trust anchor's region, as the SDKs that
/// take their region from IMDS read them (Java v2 and Rust: `placement/region`; the Go v2
/// `imds` client: the identity document's `region`; AWS CLI v2: the zone, less its last
/// letter), and tells the rest (botocore, the AWS CLI v1) which region to set.
#[tokio::test]
async fn clients_take_their_region_from_serve() {
    let local = Local::start(&[]);
    let serve = Serve::start(&local, &[], &[]);
    assert!(
        serve.stderr().contains("export AWS_REGION=us-east-1"),
        "{}",
        serve.stderr()
    );
    let token = token(&serve).await;
    for (path, want) in [
        ("/latest/meta-data/placement/region", "us-east-1"),
        (
            "/latest/meta-data/placement/availability-zone",
            "us-east-1a",
        ),
    ] {
        let url = serve.url(path);
        let (status, _, body) = send(Method::GET, &url, &[(TOKEN_HEADER, &token)]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, want), "{path}");
        // Like every IMDSv2 document, not without a token.
        let (status, _, _) = send(Method::GET, &url, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let url = serve.url("/latest/dynamic/instance-identity/document");
    let (status, _, body) = send(Method::GET, &url, &[(TOKEN_HEADER, &token)]).await;
    assert_eq!(status, StatusCode::OK);
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(document["region"], "us-east-1");
    assert_eq!(document["availabilityZone"], "us-east-1a");
    assert_eq!(document["accountId"], "123456789012");
}
