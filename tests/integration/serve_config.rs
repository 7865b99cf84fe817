//! `serve --config FILE`: several roles from one process, end to end. The real binary on a
//! loopback port, its credentials from the real `rolesanywhere-local` (CreateSession, then STS
//! for the chained roles), queried by real clients (boto3 and the AWS CLI from the project's
//! venv) as three workloads would, each with its own role and token; reloads while clients
//! poll; a role failing alone; one opened key for roles that share it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use test_support::standard::{OTHER_ROLE, PROFILE, ROLE, TRUST_ANCHOR};

use crate::util::local::{helper_command, Local};
use crate::util::multi_role::{
    aws, boto3, clients_available, config_text, container_env, create_sessions, done, three_roles,
    token_file, write_config, Multi,
};
use crate::util::serve::{client, send};
use reqwest::{Method, StatusCode};

/// The issue's scenario: three workloads at once, boto3 and the AWS CLI, three roles from one
/// daemon; each sees its own role; tokens of another role, or none, are refused; one
/// CreateSession serves all three.
#[tokio::test]
async fn three_workloads_each_get_their_own_role_from_one_daemon() {
    if !clients_available() {
        return;
    }
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let app_token = token_file(dir.path(), "app", "app-token-abcdefghijkl");
    let config = write_config(
        dir.path(),
        &config_text(&local, 0, &three_roles(&app_token)),
    );
    let serve = Multi::start(&local, &config);
    let home = dir.path();

    let app = boto3(
        &local,
        home,
        &container_env(&serve, "app", ("file", app_token.clone())),
    );
    let shipper = aws(
        &local,
        home,
        &container_env(
            &serve,
            "shipper",
            ("token", "shipper-token-0123456789".into()),
        ),
    );
    let deploy = boto3(
        &local,
        home,
        &[
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", serve.url("/")),
            ("AWS_EC2_METADATA_DISABLED", "false".into()),
        ],
    );
    let (app, shipper, deploy) = (done(app).json(), done(shipper).json(), done(deploy).json());
    assert_eq!(app["method"], "container-role", "{app}");
    assert!(
        app["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::123456789012:assumed-role/test-role/"),
        "{app}"
    );
    assert!(
        shipper["Arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::123456789012:assumed-role/other-role/"),
        "{shipper}"
    );
    assert_eq!(deploy["method"], "iam-role", "{deploy}");
    assert!(
        deploy["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::222233334444:assumed-role/deploy/"),
        "{deploy}"
    );
    // The three share one identity and one Roles Anywhere session; the hops branch from it.
    assert_eq!(create_sessions(&local), 1);

    // Another role's token, or none, opens nothing; neither does an unknown role.
    let wrong = boto3(
        &local,
        home,
        &container_env(&serve, "app", ("token", "shipper-token-0123456789".into())),
    );
    done(wrong).refused_with("403");
    let missing = aws(
        &local,
        home,
        &[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            serve.url("/roles/shipper/credentials"),
        )],
    );
    done(missing).refused_with("401");
    assert_eq!(
        serve.credentials("app", "shipper-token-0123456789").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        serve.credentials("app", "").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        serve
            .credentials("nobody", "shipper-token-0123456789")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = serve
        .credentials("shipper", "shipper-token-0123456789")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["RoleArn"], OTHER_ROLE);

    // Health, per role and for the whole, without a token.
    let (status, _, body) = send(Method::GET, &serve.url("/healthz"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    for role in ["app", "shipper", "deploy"] {
        assert_eq!(health["roles"][role]["status"], "ok", "{body}");
        let (status, _, _) = send(
            Method::GET,
            &serve.url(&format!("/roles/{role}/healthz")),
            &[],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    // No token, secret or session token reached the log.
    let log = serve.stderr();
    for secret in [
        "app-token-abcdefghijkl",
        "shipper-token-0123456789",
        "deploy-token-9876543210",
        json["SecretAccessKey"].as_str().unwrap(),
        json["Token"].as_str().unwrap(),
    ] {
        assert!(!log.contains(secret), "{secret} in the log: {log}");
    }
}

/// A reload that adds a role, removes one and changes another while clients poll an unchanged
/// one: not one of their requests fails, and the unchanged role keeps its credentials; an
/// invalid file is then refused with one line and everything stays.
#[tokio::test]
async fn a_reload_adds_and_removes_roles_without_a_gap_for_the_others() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let keep_token = token_file(dir.path(), "keep", "keep-token-abcdefghijkl");
    let roles = |extra: &str| {
        format!(
            "[roles.keep]\ntoken-file = \"{keep_token}\"\n\n[roles.chained]\nassume-role = [\"{OTHER_ROLE}\"]\ntoken = \"chained-token-123456\"\n\n{extra}"
        )
    };
    let before = roles("[roles.gone]\ntoken = \"gone-token-1234567890\"\n\n[roles.changing]\nrole-session-name = \"first\"\ntoken = \"changing-token-old-12\"\n");
    let config = write_config(dir.path(), &config_text(&local, 0, &before));
    let serve = Arc::new(Multi::start(&local, &config));
    let (status, keep_before) = serve.credentials("keep", "keep-token-abcdefghijkl").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serve.credentials("gone", "gone-token-1234567890").await.0,
        StatusCode::OK
    );

    // Clients poll the two unchanged roles without pause, on kept-alive connections.
    let stop = Arc::new(AtomicBool::new(false));
    let (polls, failures) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(Mutex::new(Vec::new())),
    );
    let mut pollers = Vec::new();
    for (role, token) in [
        ("keep", "keep-token-abcdefghijkl"),
        ("chained", "chained-token-123456"),
    ] {
        let (http, url) = (client(), serve.url(&format!("/roles/{role}/credentials")));
        let (stop, polls, failures) =
            (Arc::clone(&stop), Arc::clone(&polls), Arc::clone(&failures));
        pollers.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let answer = http.get(&url).header("Authorization", token).send().await;
                match answer {
                    Ok(r) if r.status() == StatusCode::OK => {
                        polls.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => failures
                        .lock()
                        .unwrap()
                        .push(format!("{role}: {}", r.status())),
                    Err(e) => failures.lock().unwrap().push(format!("{role}: {e}")),
                }
            }
        }));
    }
    let sessions_before = create_sessions(&local);

    let after = roles("[roles.added]\ntoken = \"added-token-1234567890\"\n\n[roles.changing]\nrole-session-name = \"second\"\ntoken = \"changing-token-new-34\"\n");
    while polls.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let polled_before = polls.load(Ordering::SeqCst);
    serve.reload(&config_text(&local, 0, &after));
    let waiter = Arc::clone(&serve);
    tokio::task::spawn_blocking(move || waiter.wait_for("reloaded ", 1))
        .await
        .unwrap();
    // Polls went on during the reload, and go on after it.
    let polled_at_reload = polls.load(Ordering::SeqCst);
    assert!(polled_at_reload > polled_before);
    while polls.load(Ordering::SeqCst) < polled_at_reload + 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        serve.credentials("gone", "gone-token-1234567890").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = serve.credentials("added", "added-token-1234567890").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serve
            .credentials("changing", "changing-token-old-12")
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        serve
            .credentials("changing", "changing-token-new-34")
            .await
            .0,
        StatusCode::OK
    );
    // The unchanged role kept its very credentials; the changed one (another session name)
    // made the only new CreateSession.
    assert_eq!(
        serve.credentials("keep", "keep-token-abcdefghijkl").await.1,
        keep_before
    );
    assert_eq!(create_sessions(&local), sessions_before + 1);

    // An invalid file: one line, and the running configuration stays.
    serve.reload(&format!(
        "{}\n[roles.broken]\nbogus = 1\n",
        config_text(&local, 0, &after)
    ));
    let waiter = Arc::clone(&serve);
    tokio::task::spawn_blocking(move || waiter.wait_for("cannot reload", 1))
        .await
        .unwrap();
    let refusal: Vec<String> = serve
        .stderr()
        .lines()
        .filter(|l| l.contains("cannot reload"))
        .map(str::to_string)
        .collect();
    assert_eq!(refusal.len(), 1);
    assert!(
        refusal[0].contains("[roles.broken] unknown key 'bogus'")
            && refusal[0].contains("still serving the previous configuration"),
        "{refusal:?}"
    );
    assert_eq!(
        serve.credentials("added", "added-token-1234567890").await.0,
        StatusCode::OK
    );

    stop.store(true, Ordering::SeqCst);
    for poller in pollers {
        poller.await.unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "failed polls: {failures:?}");
}

/// A role whose profile the service refuses answers 503 with the reason, and only it: the
/// others serve, and the health documents say which is which.
#[tokio::test]
async fn one_failing_role_fails_alone() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let roles = "[roles.good]\ntoken = \"good-token-1234567890\"\n\n[roles.refused]\nprofile-arn = \"arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-missing\"\ntoken = \"refused-token-123456\"\n";
    let config = write_config(dir.path(), &config_text(&local, 0, roles));
    let serve = Multi::start(&local, &config);

    let (status, body) = serve.credentials("good", "good-token-1234567890").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = serve.credentials("refused", "refused-token-123456").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.starts_with("no valid credentials for role refused: CreateSession failed")
            && body.contains("p-missing"),
        "{body}"
    );
    // Its token is still checked first.
    assert_eq!(
        serve.credentials("refused", "").await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, _, body) = send(Method::GET, &serve.url("/healthz"), &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["roles"]["good"]["status"], "ok", "{body}");
    assert_eq!(
        health["roles"]["refused"]["status"], "no valid credentials",
        "{body}"
    );
    let good = send(Method::GET, &serve.url("/roles/good/healthz"), &[]).await;
    assert_eq!(good.0, StatusCode::OK);
    let refused = send(Method::GET, &serve.url("/roles/refused/healthz"), &[]).await;
    assert_eq!(refused.0, StatusCode::SERVICE_UNAVAILABLE);
    assert!(serve
        .stderr()
        .contains("role refused: cannot get credentials"));
    // No role is marked imds: the IMDSv2 paths are not served.
    let (status, _, _) = send(Method::PUT, &serve.url("/latest/api/token"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Roles that share an identity share one opened key: with a key in a PKCS#11 token, one login
/// serves two roles of two profiles (two CreateSessions).
#[tokio::test]
async fn roles_sharing_a_token_key_log_in_once() {
    use test_support::softhsm::{module, Hsm};
    use test_support::standard::STRICT_PROFILE;

    if !test_support::tools::have_all(&["softhsm2-util", "pkcs11-tool"])
        || test_support::tools::softhsm_module().is_none()
    {
        return;
    }
    let local = Local::start(&[]);
    let hsm = Hsm::provisioned("ec-p256");
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"certificate = "pkcs11:token=ra;object=leaf?pin-value=1234"
pkcs11-lib = "{module}"
trust-anchor-arn = "{TRUST_ANCHOR}"
profile-arn = "{PROFILE}"
role-arn = "{ROLE}"
endpoint = "{url}"
port = 0
log-level = "debug"

[roles.one]
token = "one-token-1234567890"

[roles.two]
profile-arn = "{STRICT_PROFILE}"
session-duration = 1800
token = "two-token-1234567890"
"#,
        module = module(),
        url = local.url(),
    );
    let config = write_config(dir.path(), &text);
    let mut cmd = helper_command(&["serve", "--config", &config.to_string_lossy()]);
    cmd.env("SOFTHSM2_CONF", hsm.conf());
    let serve = Multi::start_with(&local, &config, cmd);
    for (role, token) in [
        ("one", "one-token-1234567890"),
        ("two", "two-token-1234567890"),
    ] {
        let (status, body) = serve.credentials(role, token).await;
        assert_eq!(status, StatusCode::OK, "{role}: {body}");
    }
    assert_eq!(create_sessions(&local), 2);
    let log = serve.stderr();
    assert_eq!(
        log.matches("PKCS#11: logging in to token").count(),
        1,
        "{log}"
    );
    assert!(!log.contains("1234\""), "{log}");
}
