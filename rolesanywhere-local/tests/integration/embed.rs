//! Embedding the endpoint in-process, as the `demo` command does: a generated demo PKI and
//! configuration, `local::serve` on an ephemeral port with the generated TLS CA, and an
//! injectable clock (used here to expire a session).

use std::time::Duration;

use rolesanywhere_local::{self as local, pki, Clock, Config, ServeOptions, TlsMode};

use crate::common::*;

fn client(server: &local::RunningServer) -> reqwest::Client {
    let ca = server.ca_pem().expect("generated CA");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("PEM"))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

#[tokio::test]
async fn demo_pki_is_trusted_by_its_own_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = pki::generate_demo(dir.path()).expect("demo PKI");
    let config = Config::load(&demo.config).expect("demo config loads");
    assert_eq!(config.region(), demo.region);
    assert_eq!(
        config.trust_anchor_arns().collect::<Vec<_>>(),
        [demo.trust_anchor_arn.as_str()]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&demo.private_key)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // OpenSSL agrees the chain is valid for client authentication.
    let verify = std::process::Command::new("openssl")
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(&demo.root_ca)
        .arg("-untrusted")
        .arg(&demo.intermediates)
        .arg(&demo.certificate)
        .output()
        .expect("openssl");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    let clock = Clock::fixed(std::time::SystemTime::now());
    let server = local::serve(
        config,
        ServeOptions {
            clock: clock.clone(),
            log: false,
            ..ServeOptions::default()
        },
    )
    .await
    .expect("serve");
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let host = format!("127.0.0.1:{}", server.local_addr().port());

    let mut req = CreateSession::new(
        &demo.certificate,
        &demo.private_key,
        Some(&demo.intermediates),
        &demo.region,
        &host,
    );
    req.query = vec![
        ("profileArn".into(), demo.profile_arn.clone()),
        ("roleArn".into(), demo.role_arn.clone()),
        ("trustAnchorArn".into(), demo.trust_anchor_arn.clone()),
    ];
    req.amz_date = amz_date_of(clock.now());
    req.body = "{\"durationSeconds\":900}".into();
    assert_eq!(req.serial, demo.serial);
    let signed = req.sign();

    let mut post = client(&server)
        .post(format!("{}/sessions?{}", server.url(), signed.query))
        .body(signed.body.clone());
    for (name, value) in &signed.headers {
        if name != "host" {
            post = post.header(name, value);
        }
    }
    let response = post.send().await.expect("response");
    assert_eq!(response.status(), 201);
    let body: serde_json::Value =
        serde_json::from_str(&response.text().await.expect("body")).expect("JSON");
    let creds = &body["credentialSet"][0]["credentials"];
    let key = creds["accessKeyId"].as_str().expect("key").to_string();
    let secret = creds["secretAccessKey"]
        .as_str()
        .expect("secret")
        .to_string();
    let token = creds["sessionToken"].as_str().expect("token").to_string();

    // 16 minutes later the 15-minute session has expired.
    clock.advance(Duration::from_secs(16 * 60));
    let date = amz_date_of(clock.now());
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let headers = StsRequest {
        host: &host,
        region: "us-east-1",
        amz_date: &date,
        body,
        access_key_id: &key,
        secret: &secret,
        token: Some(&token),
    }
    .sign();
    let mut post = client(&server)
        .post(format!("{}/", server.url()))
        .body(body);
    for (name, value) in &headers {
        if name != "host" {
            post = post.header(name, value);
        }
    }
    let response = post.send().await.expect("response");
    assert_eq!(response.status(), 403);
    let xml = response.text().await.expect("body");
    assert_eq!(
        xml_value(&xml, "Code").as_deref(),
        Some("ExpiredToken"),
        "{xml}"
    );

    let calls = server.calls();
    assert_eq!(calls.len(), 2);
    assert!(calls[0].ok);
    assert_eq!(calls[1].error_type.as_deref(), Some("ExpiredToken"));
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn serve_refuses_non_loopback_and_bad_fault_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = pki::generate_demo(dir.path()).expect("demo PKI");
    let config = Config::load(&demo.config).expect("config");
    let err = local::serve(
        config.clone(),
        ServeOptions {
            listen: "0.0.0.0:0".parse().expect("addr"),
            ..ServeOptions::default()
        },
    )
    .await
    .expect_err("not loopback");
    assert!(matches!(err, local::Error::NotLoopback(_)), "{err}");

    let mut options = ServeOptions {
        tls: TlsMode::Plain,
        ..ServeOptions::default()
    };
    options.faults.fail_status = 200;
    let err = local::serve(config, options).await.expect_err("bad status");
    assert!(err.to_string().contains("400-599"), "{err}");
}
