//! Real clients: the AWS CLI (awscli from PyPI, installed by tests/setup.sh into .venv) uses a profile
//! whose `credential_process` is our binary, then calls STS on `rolesanywhere-local`, which checks
//! the SigV4 signature and session token of the credentials we obtained.

use std::path::Path;
use std::process::Command;

use test_support::aws_cli;
use test_support::pki;
use test_support::standard::{OTHER_ROLE, PROFILE, ROLE, TRUST_ANCHOR};

use crate::util::local::Local;

/// Writes an AWS config with a `credential_process` profile and returns the CLI command for it.
fn cli(aws: &Path, local: &Local, kind: &str, debug: bool) -> Command {
    let config = local.dir().join("aws-config");
    let helper = env!("CARGO_BIN_EXE_aws_signing_helper");
    let debug = if debug { " --debug" } else { "" };
    std::fs::write(
        &config,
        format!(
            "[profile ra]\nregion = us-east-1\ncredential_process = {helper} credential-process \
             --certificate {} --private-key {} --trust-anchor-arn {TRUST_ANCHOR} \
             --profile-arn {PROFILE} --role-arn {ROLE} --endpoint {}{debug}\n",
            pki(kind, "fullchain.pem"),
            pki(kind, "key-pkcs8.pem"),
            local.url(),
        ),
    )
    .unwrap();
    let mut cmd = Command::new(aws);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", local.dir())
        .env("AWS_CONFIG_FILE", &config)
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            local.dir().join("no-credentials"),
        )
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["--profile", "ra", "--output", "json", "--endpoint-url"])
        .arg(local.url());
    cmd
}

fn run_json(mut cmd: Command) -> serde_json::Value {
    let out = cmd.output().expect("run aws");
    assert!(
        out.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("aws printed JSON")
}

fn sts_calls(local: &Local) -> Vec<serde_json::Value> {
    local
        .calls()
        .into_iter()
        .filter(|c| c["kind"] == "sts")
        .collect()
}

#[test]
fn aws_cli_get_caller_identity_with_our_credential_process() {
    let Some(aws) = aws_cli() else { return };
    let local = Local::start(&[]);
    for (kind, debug) in [("ec-p256", false), ("rsa-2048", true)] {
        let mut cmd = cli(&aws, &local, kind, debug);
        cmd.args(["sts", "get-caller-identity"]);
        let identity = run_json(cmd);
        assert_eq!(identity["Account"], "123456789012");
        let arn = identity["Arn"].as_str().unwrap();
        assert!(
            arn.starts_with("arn:aws:sts::123456789012:assumed-role/test-role/"),
            "{arn}"
        );
    }
    let sts = sts_calls(&local);
    assert_eq!(sts.len(), 2, "{sts:?}");
    assert!(sts.iter().all(|c| c["ok"] == true), "{sts:?}");
}

#[test]
fn aws_cli_assume_role_cross_role() {
    let Some(aws) = aws_cli() else { return };
    let local = Local::start(&[]);
    let mut cmd = cli(&aws, &local, "ec-p384", false);
    cmd.args([
        "sts",
        "assume-role",
        "--role-arn",
        OTHER_ROLE,
        "--role-session-name",
        "cross",
    ]);
    let assumed = run_json(cmd);
    assert!(assumed["Credentials"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .starts_with("ASIA"));
    assert!(assumed["AssumedRoleUser"]["Arn"]
        .as_str()
        .unwrap()
        .ends_with("assumed-role/other-role/cross"));
    assert!(sts_calls(&local).iter().all(|c| c["ok"] == true));
}

#[test]
fn tampered_credentials_are_refused_by_the_endpoint() {
    // The endpoint's STS check is real: a wrong secret must fail (so the tests above prove
    // something).
    let Some(aws) = aws_cli() else { return };
    let local = Local::start(&[]);
    let out = local.credential_process(&[
        "--certificate",
        &pki("ec-p256", "fullchain.pem"),
        "--private-key",
        &pki("ec-p256", "key-pkcs8.pem"),
    ]);
    assert!(out.status.success());
    let creds: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = Command::new(aws)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", local.dir())
        .env("AWS_CONFIG_FILE", local.dir().join("none"))
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", creds["AccessKeyId"].as_str().unwrap())
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wrong-secret-wrong-secret-wrong-secret00",
        )
        .env("AWS_SESSION_TOKEN", creds["SessionToken"].as_str().unwrap())
        .args(["sts", "get-caller-identity", "--endpoint-url"])
        .arg(local.url())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SignatureDoesNotMatch"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
