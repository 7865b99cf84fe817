//! The `rolesanywhere-local` binary, driven from outside: startup (port file, generated TLS CA,
//! loopback-only), configuration errors, routing, fault injection, shutdown, and a full
//! CreateSession → STS round trip signed with OpenSSL (and, when installed, the AWS CLI).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use test_support::{aws_cli, Endpoint};

use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_rolesanywhere-local");

/// A running `rolesanywhere-local` we started, and the requests these tests make of it.
struct Server {
    endpoint: Endpoint,
}

impl Server {
    fn start(spec: &ConfigSpec, args: &[&str]) -> Server {
        Server {
            endpoint: Endpoint::start(Path::new(BIN), &spec.toml(), args),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint.url())
    }

    fn host(&self) -> String {
        self.endpoint.host()
    }

    fn ca_path(&self) -> PathBuf {
        self.endpoint.ca()
    }

    fn client(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(30));
        if !self.endpoint.plain() {
            let pem = std::fs::read(self.ca_path()).expect("CA file written");
            builder =
                builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA PEM"));
        }
        builder.build().expect("client")
    }

    /// SIGTERM (by pid, to the process this test started) and wait for the exit.
    fn terminate(self) -> (ExitStatus, String) {
        self.endpoint.terminate()
    }

    async fn post_signed(&self, signed: &Signed) -> reqwest::Response {
        let mut request = self
            .client()
            .post(self.url(&format!("/sessions?{}", signed.query)))
            .body(signed.body.clone());
        for (name, value) in &signed.headers {
            if name != "host" {
                request = request.header(name, value);
            }
        }
        request.send().await.expect("request sent")
    }

    async fn calls(&self) -> Vec<serde_json::Value> {
        self.client()
            .get(self.url("/_local/calls"))
            .send()
            .await
            .expect("calls")
            .text()
            .await
            .map(|t| serde_json::from_str(&t).expect("calls JSON"))
            .expect("calls body")
    }
}

fn run_to_exit(args: &[&str]) -> (ExitStatus, String) {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rolesanywhere-local");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn error_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A CreateSession for the EC P-256 fixture, signed now for this server.
fn signed_now(server: &Server) -> Signed {
    let mut req = CreateSession::fixture("ec-p256", "us-east-1", &server.host());
    req.amz_date = amz_date_now();
    req.sign()
}

#[tokio::test]
async fn starts_with_port_file_and_generated_tls_ca() {
    let server = Server::start(&ConfigSpec::default(), &[]);
    let ca = std::fs::read_to_string(server.ca_path()).expect("CA written");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));

    let response = server
        .client()
        .get(server.url("/_local/calls"))
        .send()
        .await
        .expect("TLS with the generated CA");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "[]");

    // Also valid for "localhost".
    let localhost = server
        .client()
        .get(format!(
            "https://localhost:{}/_local/calls",
            server.endpoint.port()
        ))
        .send()
        .await
        .expect("certificate covers localhost");
    assert_eq!(localhost.status(), 200);

    // Not trusted without the CA.
    let untrusted = reqwest::Client::new()
        .get(server.url("/_local/calls"))
        .send()
        .await;
    assert!(untrusted.is_err());

    let unknown = server
        .client()
        .get(server.url("/no/such/path"))
        .send()
        .await
        .expect("response");
    assert_eq!(unknown.status(), 404);
    assert_eq!(error_type(&unknown), "UnknownOperationException");

    let (status, stderr) = server.terminate();
    assert!(status.success(), "graceful exit: {status}: {stderr}");
    let port_line = stderr
        .lines()
        .find(|l| l.starts_with("listening on "))
        .expect("listening line");
    assert!(
        port_line.starts_with("listening on https://127.0.0.1:"),
        "{port_line}"
    );
}

#[test]
fn refuses_non_loopback_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ConfigSpec::default().write(dir.path());
    for addr in ["0.0.0.0:0", "[::]:0", "192.0.2.10:8080"] {
        let (status, stderr) = run_to_exit(&[
            "--config",
            config.to_str().expect("utf-8"),
            "--listen",
            addr,
            "--plain-http",
        ]);
        assert!(!status.success(), "{addr} accepted");
        assert!(stderr.contains("refusing to listen on"), "{addr}: {stderr}");
        assert!(stderr.contains("loopback"), "{stderr}");
    }
}

#[test]
fn unknown_config_key_is_a_one_line_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("endpoint.toml");
    std::fs::write(
        &config,
        "region = \"us-east-1\"\naccount = \"123456789012\"\nregoin = \"typo\"\n",
    )
    .expect("write");
    let (status, stderr) = run_to_exit(&["--config", config.to_str().expect("utf-8")]);
    assert!(!status.success());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("endpoint.toml"), "{stderr}");
    assert!(stderr.contains("unknown field `regoin`"), "{stderr}");

    let (status, stderr) = run_to_exit(&["--config", "/nonexistent/endpoint.toml"]);
    assert!(!status.success());
    assert!(stderr.contains("/nonexistent/endpoint.toml"), "{stderr}");
}

#[tokio::test]
async fn unknown_trust_anchor_is_resource_not_found() {
    let server = Server::start(&ConfigSpec::default(), &["--plain-http"]);
    let mut req = CreateSession::fixture("ec-p256", "us-east-1", &server.host());
    req.amz_date = amz_date_now();
    req.query[2].1 =
        "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/00000000-0000-0000-0000-000000000000".into();
    let response = server.post_signed(&req.sign()).await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_type(&response), "ResourceNotFoundException");
    let body = json(response).await;
    assert!(body["message"]
        .as_str()
        .expect("message")
        .contains("not found"));
}

#[tokio::test]
async fn injected_failures_then_throttles_then_service() {
    let server = Server::start(
        &ConfigSpec::default(),
        &["--plain-http", "--fail-first", "2", "--throttle-first", "1"],
    );
    let signed = signed_now(&server);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let response = server.post_signed(&signed).await;
        seen.push((response.status().as_u16(), error_type(&response)));
    }
    assert_eq!(
        seen,
        [
            (500, "InternalServerException".to_string()),
            (500, "InternalServerException".to_string()),
            (429, "ThrottlingException".to_string()),
            (201, String::new()),
        ]
    );
    let calls = server.calls().await;
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[2]["error_type"], "ThrottlingException");
    assert_eq!(calls[3]["ok"], true);

    let server = Server::start(
        &ConfigSpec::default(),
        &["--plain-http", "--fail-first", "1", "--fail-status", "503"],
    );
    let response = server.post_signed(&signed_now(&server)).await;
    assert_eq!(response.status(), 503);
    assert_eq!(error_type(&response), "ServiceUnavailableException");
}

#[tokio::test]
async fn latency_delays_responses() {
    let server = Server::start(
        &ConfigSpec::default(),
        &["--plain-http", "--latency-ms", "400"],
    );
    let start = Instant::now();
    let response = server
        .client()
        .post(server.url("/sessions"))
        .send()
        .await
        .expect("response");
    assert!(start.elapsed() >= Duration::from_millis(400));
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn hang_never_answers_but_shuts_down() {
    let server = Server::start(&ConfigSpec::default(), &["--plain-http", "--hang"]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(700))
        .build()
        .expect("client");
    let result = client.post(server.url("/sessions")).body("{}").send().await;
    assert!(result.expect_err("no answer").is_timeout());

    // A request still in flight when SIGTERM arrives must not block the exit.
    let url = server.url("/sessions");
    let pending =
        tokio::spawn(async move { reqwest::Client::new().post(url).body("{}").send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let (status, _) = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .expect("join");
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_secs(10));
    let _ = pending.await;
}

#[tokio::test]
async fn create_session_then_sts_round_trip() {
    let chained = "arn:aws:iam::123456789012:role/chained-role";
    let untrusting = "arn:aws:iam::123456789012:role/untrusting-role";
    let spec = ConfigSpec {
        accept_role_session_name: true,
        extra: format!(
            "\n[[role]]\narn = \"{chained}\"\ntrusted_roles = [\"{ROLE}\"]\n\n\
             [[role]]\narn = \"{untrusting}\"\ntrusted_roles = []\n"
        ),
        ..ConfigSpec::default()
    };
    let server = Server::start(&spec, &[]);
    let mut req = CreateSession::fixture("ec-p256", "us-east-1", &server.host());
    req.amz_date = amz_date_now();
    req.body = "{\"durationSeconds\":1800,\"roleSessionName\":\"e2e-test\"}".into();
    let signed = req.sign();
    let response = server.post_signed(&signed).await;
    assert_eq!(response.status(), 201);
    let body = json(response).await;
    let set = &body["credentialSet"][0];
    assert_eq!(
        set["assumedRoleUser"]["arn"],
        "arn:aws:sts::123456789012:assumed-role/test-role/e2e-test"
    );
    assert_eq!(set["roleArn"], ROLE);
    assert_eq!(set["sourceIdentity"], "ec-p256-leaf");
    assert_eq!(set["packedPolicySize"], 0);
    let creds = &set["credentials"];
    let key_id = creds["accessKeyId"].as_str().expect("key id").to_string();
    let secret = creds["secretAccessKey"]
        .as_str()
        .expect("secret")
        .to_string();
    let token = creds["sessionToken"].as_str().expect("token").to_string();
    assert!(key_id.starts_with("ASIA") && key_id.len() == 20);
    assert_eq!(secret.len(), 40);
    assert!(creds["expiration"]
        .as_str()
        .expect("expiration")
        .ends_with('Z'));
    assert!(body["subjectArn"]
        .as_str()
        .expect("subject")
        .starts_with("arn:aws:rolesanywhere:us-east-1:123456789012:subject/"));

    // STS, signed by the OpenSSL-backed SigV4 signer.
    let identity = "Action=GetCallerIdentity&Version=2011-06-15";
    let (status, xml) = sts_call(&server, identity, &key_id, &secret, &token).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(
        xml_value(&xml, "Arn").as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/test-role/e2e-test")
    );
    assert_eq!(xml_value(&xml, "Account").as_deref(), Some("123456789012"));
    assert!(xml_value(&xml, "UserId")
        .expect("UserId")
        .starts_with("AROA"));

    // Each of these is refused with the status and error code the real STS returns.
    let mut wrong_secret = secret.clone();
    wrong_secret.replace_range(0..1, if secret.starts_with('A') { "B" } else { "A" });
    let assume = |role: &str, session: &str| {
        format!(
            "Action=AssumeRole&Version=2011-06-15&RoleArn=\
             arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2F{role}&RoleSessionName={session}"
        )
    };
    let untrusting = assume("untrusting-role", "nope");
    let too_long = format!("{}&DurationSeconds=7200", assume("chained-role", "chain"));
    let session_token = "Action=GetSessionToken&Version=2011-06-15";
    let (key, sec, tok, bad) = (&*key_id, &*secret, &*token, &*wrong_secret);
    #[rustfmt::skip]
    let refused = [
        // body,              (access key id, secret, token),     status, error code
        (identity,            (key, bad, tok),                    403,    "SignatureDoesNotMatch"),
        (identity,            (key, sec, "bogus"),                403,    "InvalidClientTokenId"),
        (identity,            ("ASIAUNKNOWNKEY000000", sec, tok), 403,    "InvalidClientTokenId"),
        (session_token,       (key, sec, tok),                    400,    "InvalidAction"),
        (untrusting.as_str(), (key, sec, tok),                    403,    "AccessDenied"),
        (too_long.as_str(),   (key, sec, tok),                    400,    "ValidationError"),
    ];
    for (body, (key, sec, tok), status, code) in refused {
        let (got, xml) = sts_call(&server, body, key, sec, tok).await;
        assert_eq!(
            (got, xml_value(&xml, "Code").as_deref()),
            (status, Some(code)),
            "{body}: {xml}"
        );
    }

    // A role that trusts ours can be assumed, and its credentials work in turn.
    let chained_arn = Some("arn:aws:sts::123456789012:assumed-role/chained-role/chain");
    let (status, xml) = sts_call(&server, &assume("chained-role", "chain"), key, sec, tok).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(xml_value(&xml, "Arn").as_deref(), chained_arn);
    let key2 = xml_value(&xml, "AccessKeyId").expect("key");
    let secret2 = xml_value(&xml, "SecretAccessKey").expect("secret");
    let token2 = xml_value(&xml, "SessionToken").expect("token");
    let (status, xml) = sts_call(&server, identity, &key2, &secret2, &token2).await;
    assert_eq!(status, 200, "{xml}");
    assert_eq!(xml_value(&xml, "Arn").as_deref(), chained_arn);

    // The call log recorded every verdict, without secrets.
    let calls = server.calls().await;
    let first = &calls[0];
    assert_eq!(first["kind"], "create-session");
    assert_eq!(first["ok"], true);
    assert_eq!(first["algorithm"], "AWS4-X509-ECDSA-SHA256");
    assert_eq!(
        first["signed_headers"],
        serde_json::json!([
            "content-type",
            "host",
            "x-amz-date",
            "x-amz-x509",
            "x-amz-x509-chain"
        ])
    );
    let auth = first["headers"]["authorization"].as_str().expect("auth");
    assert!(auth.ends_with("Signature=<redacted>"), "{auth}");
    let sts_call = &calls[1];
    assert_eq!(sts_call["kind"], "sts");
    assert_eq!(sts_call["action"], "GetCallerIdentity");
    assert_eq!(sts_call["region"], "eu-central-1");
    let log = serde_json::to_string(&calls).expect("json");
    let (status, stderr) = server.terminate();
    assert!(status.success());
    for secret_text in [&secret, &token] {
        assert!(
            !log.contains(secret_text.as_str()),
            "call log leaks a secret"
        );
        assert!(
            !stderr.contains(secret_text.as_str()),
            "stderr leaks a secret"
        );
    }
    assert!(stderr.contains("create-session ACCEPTED"), "{stderr}");
    assert!(
        stderr.contains("sts REJECTED status=403 error=SignatureDoesNotMatch"),
        "{stderr}"
    );
}

/// An STS form POST with a session token, signed (region eu-central-1, now) with the
/// OpenSSL-backed SigV4 signer.
async fn sts_call(
    server: &Server,
    body: &str,
    access_key_id: &str,
    secret: &str,
    token: &str,
) -> (u16, String) {
    let host = server.host();
    let date = amz_date_now();
    // The server is another process, so blocking on openssl here stalls nothing it needs.
    let headers = StsRequest {
        host: &host,
        region: "eu-central-1",
        amz_date: &date,
        body,
        access_key_id,
        secret,
        token: Some(token),
    }
    .sign();
    let mut request = server.client().post(server.url("/")).body(body.to_string());
    for (name, value) in headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.expect("STS response");
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

/// The AWS CLI's own SigV4 signer against the local STS (tests/setup.sh installs it into .venv).
#[tokio::test]
async fn aws_cli_interoperates_with_local_sts() {
    let Some(aws) = aws_cli() else { return };
    let chained = "arn:aws:iam::123456789012:role/chained-role";
    let spec = ConfigSpec {
        extra: format!("\n[[role]]\narn = \"{chained}\"\ntrusted_roles = [\"{ROLE}\"]\n"),
        ..ConfigSpec::default()
    };
    let server = Server::start(&spec, &[]);
    let response = server.post_signed(&signed_now(&server)).await;
    assert_eq!(response.status(), 201);
    let body = json(response).await;
    let creds = body["credentialSet"][0]["credentials"].clone();
    let endpoint = server.url("");
    let ca = server.ca_path();
    let aws = move |args: &[&str], creds: &serde_json::Value| {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let (aws, endpoint, ca, creds) = (aws.clone(), endpoint.clone(), ca.clone(), creds.clone());
        let run = move || {
            let empty = Path::new("/dev/null");
            Command::new(&aws)
                .args(&args)
                .args(["--endpoint-url", &endpoint, "--output", "json"])
                .env(
                    "AWS_ACCESS_KEY_ID",
                    creds["accessKeyId"].as_str().unwrap_or(""),
                )
                .env(
                    "AWS_SECRET_ACCESS_KEY",
                    creds["secretAccessKey"].as_str().unwrap_or(""),
                )
                .env(
                    "AWS_SESSION_TOKEN",
                    creds["sessionToken"].as_str().unwrap_or(""),
                )
                .env("AWS_CA_BUNDLE", &ca)
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .env("AWS_CONFIG_FILE", empty)
                .env("AWS_SHARED_CREDENTIALS_FILE", empty)
                .env_remove("AWS_PROFILE")
                .output()
                .expect("aws runs")
        };
        async move { tokio::task::spawn_blocking(run).await.expect("join") }
    };
    // What the AWS CLI printed, asserting it succeeded.
    let succeeded = |out: std::process::Output| -> serde_json::Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON")
    };
    let identity = ["sts", "get-caller-identity"];

    let caller = succeeded(aws(&identity, &creds).await);
    assert_eq!(caller["Account"], "123456789012");
    assert!(caller["Arn"]
        .as_str()
        .expect("Arn")
        .starts_with("arn:aws:sts::123456789012:assumed-role/test-role/"));

    let assume = [
        "sts",
        "assume-role",
        "--role-arn",
        chained,
        "--role-session-name",
        "cli-chain",
    ];
    let assumed = succeeded(aws(&assume, &creds).await);
    let c = &assumed["Credentials"];
    let creds2 = serde_json::json!({
        "accessKeyId": c["AccessKeyId"],
        "secretAccessKey": c["SecretAccessKey"],
        "sessionToken": c["SessionToken"],
    });
    let caller = succeeded(aws(&identity, &creds2).await);
    assert_eq!(
        caller["Arn"],
        "arn:aws:sts::123456789012:assumed-role/chained-role/cli-chain"
    );

    let mut wrong = creds.clone();
    wrong["secretAccessKey"] = serde_json::json!("x".repeat(40));
    let out = aws(&identity, &wrong).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SignatureDoesNotMatch"));
}
