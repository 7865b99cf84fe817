//! Hand-over on renewal: `serve` and `update` reload on SIGHUP (even to another key type),
//! ride out a renewal in progress (a new key beside the old certificate) without a failed
//! request, and keep the last good identity, with one clear line, when a renewal stays broken
//! (a key that does not match, or a certificate the trust model refuses).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use test_support::standard::{PROFILE, ROLE, TRUST_ANCHOR};
use test_support::{pki, testdata};

use crate::util::local::{helper_command, Local};
use crate::util::serve::{imds_credentials, Serve};

fn serial(kind: &str) -> String {
    std::fs::read_to_string(pki(kind, "serial.dec")).unwrap()
}

fn hup(pid: u32) {
    let sent = Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Replaces `to` with `from`'s bytes in place (truncate and rewrite, as certmonger does).
fn rewrite(from: &str, to: &Path) {
    std::fs::write(to, std::fs::read(from).unwrap()).unwrap();
}

/// Waits until the endpoint's latest successful call carries `serial`.
fn wait_for_serial(local: &Local, serial: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let calls = local.calls();
        let seen = calls.iter().rev().find(|c| c["ok"] == true);
        if seen.is_some_and(|c| c["serial"].as_str() == Some(serial)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no call with serial {serial} within {within:?}: {:?}",
            calls.last()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn serve_reloads_on_sighup_through_a_renewal_in_progress() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("host.crt"), dir.path().join("host.key"));
    rewrite(&pki("ec-p256", "fullchain.pem"), &cert);
    rewrite(&pki("ec-p256", "key-pkcs8.pem"), &key);
    let serve = Serve::start(
        &local,
        &[
            "--certificate",
            cert.to_str().unwrap(),
            "--private-key",
            key.to_str().unwrap(),
        ],
        &[("AWS_SIGNING_HELPER_RENEWAL_GRACE", "3")],
    );
    let first = imds_credentials(&serve).await;
    wait_for_serial(&local, &serial("ec-p256"), Duration::from_secs(5));

    // The key first, a signal in between (a hook run too early), then the certificate: RSA
    // replacing EC. Clients keep getting the previous credentials meanwhile.
    rewrite(&pki("rsa-2048", "key-pkcs8.pem"), &key);
    hup(serve.child.id());
    for _ in 0..5 {
        let during = imds_credentials(&serve).await;
        assert_eq!(during["AccessKeyId"], first["AccessKeyId"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    rewrite(&pki("rsa-2048", "fullchain.pem"), &cert);
    wait_for_serial(&local, &serial("rsa-2048"), Duration::from_secs(10));
    serve.wait_for_stderr(
        "loaded the renewed certificate: serial 123456789ABCDEF0123, RSA-2048 key",
        Duration::from_secs(5),
    );
    let renewed = imds_credentials(&serve).await;
    assert_ne!(renewed["AccessKeyId"], first["AccessKeyId"]);
    assert!(
        !serve.stderr().contains("cannot reload"),
        "{}",
        serve.stderr()
    );
    // No call was made with the half-renewed pair.
    assert!(
        local.calls().iter().all(|c| c["ok"] == true),
        "{:?}",
        local.calls()
    );

    // A renewal that stays broken: one line once the grace is over, the old pair kept.
    rewrite(&pki("ec-p384", "key-pkcs8.pem"), &key);
    hup(serve.child.id());
    serve.wait_for_stderr(
        "cannot reload the certificate or key",
        Duration::from_secs(15),
    );
    wait_for_serial(&local, &serial("rsa-2048"), Duration::from_secs(5));
    let kept = imds_credentials(&serve).await;
    assert_eq!(kept["Code"], "Success");
    let stderr = serve.stderr();
    assert_eq!(stderr.matches("cannot reload").count(), 1, "{stderr}");
    assert!(
        !local
            .calls()
            .iter()
            .any(|c| c["serial"].as_str() == Some(serial("ec-p384").as_str())),
        "the broken pair was used"
    );

    // A matching pair whose certificate breaks the trust model (no keyUsage) is not adopted
    // either: the service would refuse it, while the previous one still works.
    rewrite(
        &testdata("pki/validate/no-ku-leaf-key.pem").to_string_lossy(),
        &key,
    );
    rewrite(
        &testdata("pki/validate/no-ku-leaf.pem").to_string_lossy(),
        &cert,
    );
    hup(serve.child.id());
    serve.wait_for_stderr("breaks the key-usage rule", Duration::from_secs(15));
    wait_for_serial(&local, &serial("rsa-2048"), Duration::from_secs(5));
    assert_eq!(imds_credentials(&serve).await["Code"], "Success");
}

#[test]
fn update_reloads_on_sighup() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("host.crt"), dir.path().join("host.key"));
    rewrite(&pki("rsa-2048", "fullchain.pem"), &cert);
    rewrite(&pki("rsa-2048", "key-pkcs8.pem"), &key);
    let credentials = dir.path().join("credentials");
    let url = local.url();
    let mut child = helper_command(&[
        "update",
        "--certificate",
        cert.to_str().unwrap(),
        "--private-key",
        key.to_str().unwrap(),
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
        &url,
    ])
    .env("AWS_CA_BUNDLE", &local.ca)
    .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let key_id = || {
        std::fs::read_to_string(&credentials)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("aws_access_key_id = ").map(str::to_string))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while key_id().is_none() {
        assert!(Instant::now() < deadline, "update wrote nothing");
        std::thread::sleep(Duration::from_millis(100));
    }
    let first = key_id();
    rewrite(&pki("ec-p384", "key-pkcs8.pem"), &key);
    rewrite(&pki("ec-p384", "fullchain.pem"), &cert);
    hup(child.id());
    wait_for_serial(&local, &serial("ec-p384"), Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(10);
    while key_id() == first {
        assert!(Instant::now() < deadline, "the profile was not rewritten");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "update stopped on SIGHUP"
    );
    let _ = child.kill();
    let _ = child.wait();
}
