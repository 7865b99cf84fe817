//! Small things a first review found: `validate` checks the ARNs it is given even without
//! `--live`; `serve` and `update` say at start when their certificate breaks a rule the service
//! enforces; `update` into a file it cannot write says so in one line.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use test_support::standard::{PROFILE, ROLE, TRUST_ANCHOR};
use test_support::{pki, testdata};

use crate::util::assert_one_line_error;
use crate::util::local::{helper_command, Local};

fn run(args: &[&str]) -> Output {
    helper_command(args)
        .output()
        .expect("run aws_signing_helper")
}

#[test]
fn validate_checks_the_arns_it_is_given_without_live() {
    let cert = pki("ec-p256", "cert.pem");
    let key = pki("ec-p256", "key-pkcs8.pem");
    for (flag, bad) in [
        ("--trust-anchor-arn", "/etc/pki/ca.pem"),
        (
            "--profile-arn",
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/x",
        ),
        ("--role-arn", "my-role"),
    ] {
        let out = run(&[
            "validate",
            "--certificate",
            &cert,
            "--private-key",
            &key,
            flag,
            bad,
        ]);
        assert_one_line_error(&out, &format!("{flag} '{bad}'"));
    }
    // Valid ones pass, and are still not sent anywhere without --live.
    let out = run(&[
        "validate",
        "--certificate",
        &cert,
        "--private-key",
        &key,
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("pass --live"));
}

/// `update --once` with the certificate and key `cert`, `key`, against `local`.
fn update_once(local: &Local, cert: &str, key: &str, file: &Path) -> Output {
    let url = local.url();
    helper_command(&[
        "update",
        "--certificate",
        cert,
        "--private-key",
        key,
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
        &url,
        "--once",
    ])
    .env("AWS_CA_BUNDLE", &local.ca)
    .env("AWS_SHARED_CREDENTIALS_FILE", file)
    .output()
    .expect("run update")
}

#[test]
fn update_and_serve_say_at_start_which_rule_the_certificate_breaks() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    // No keyUsage: the service refuses it; the warning comes first, then the refusal.
    let cert = testdata("pki/validate/no-ku-leaf.pem");
    let key = testdata("pki/validate/no-ku-leaf-key.pem");
    let out = update_once(&local, cert.to_str().unwrap(), key.to_str().unwrap(), &file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warning = stderr
        .lines()
        .find(|l| l.contains("breaks the key-usage rule"))
        .unwrap_or_else(|| panic!("no warning naming the rule: {stderr}"));
    assert!(warning.contains("aws_signing_helper validate"), "{warning}");
    // serve says the same before its first CreateSession (which the endpoint refuses).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port()
        .to_string();
    let url = local.url();
    let out = helper_command(&[
        "serve",
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
        "--port",
        &port,
    ])
    .env("AWS_CA_BUNDLE", &local.ca)
    .output()
    .expect("run serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("breaks the key-usage rule"), "{stderr}");
    // A certificate that follows the rules starts without a word.
    let out = update_once(
        &local,
        &pki("ec-p256", "fullchain.pem"),
        &pki("ec-p256", "key-pkcs8.pem"),
        &file,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("rule"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn update_into_a_file_it_cannot_write_is_one_line() {
    let local = Local::start(&[]);
    // A directory the helper cannot write, holding a credentials file open to other users (whose
    // mode update would mend): the failure is the only line.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let files = dir.path().join("identity");
    std::fs::create_dir(&files).unwrap();
    let (cert, key) = (files.join("cert.pem"), files.join("key.pem"));
    std::fs::copy(pki("ec-p256", "fullchain.pem"), &cert).unwrap();
    std::fs::copy(pki("ec-p256", "key-pkcs8.pem"), &key).unwrap();
    let locked = dir.path().join("aws");
    std::fs::create_dir(&locked).unwrap();
    let file = locked.join("credentials");
    std::fs::write(&file, "[other]\nregion = us-east-1\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let as_root = euid_is_root();
    if as_root {
        // Root writes anywhere: run the helper as nobody, owning the file but not its directory.
        for path in [&cert, &key, &file] {
            chown_nobody(path);
        }
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let url = local.url();
    let args = [
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
        "--once",
    ];
    let mut command = if as_root {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_aws_signing_helper"))
            .args(args);
        command
    } else {
        helper_command(&args)
    };
    std::fs::set_permissions(&local.ca, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ca_dir = local.ca.parent().unwrap();
    std::fs::set_permissions(ca_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = command
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("AWS_SHARED_CREDENTIALS_FILE", &file)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run update");
    assert_one_line_error(&out, "cannot write the credentials file");
}

fn euid_is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn chown_nobody(path: &Path) {
    let status = Command::new("chown")
        .arg("nobody")
        .arg(path)
        .status()
        .expect("run chown");
    assert!(status.success());
}
