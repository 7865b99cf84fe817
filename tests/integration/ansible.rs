//! Real Ansible (the `ansible` package from PyPI in the project venv, with its bundled
//! amazon.aws) runs plays whose AWS tasks use a `credential_process` profile in a temporary
//! `~/.aws/config`, written over several lines as users write it, against `rolesanywhere-local`;
//! the endpoint's call log counts the CreateSession and AssumeRole calls the plays cost.
//! Playbook and inventory: `tests/ansible/`.

use std::path::Path;
use std::process::Command;

use test_support::pki;
use test_support::standard::{
    mfa_code, CROSS_ACCOUNT, CROSS_ROLE, EXTERNAL_ID, MFA_SERIAL, PROFILE, ROLE, TRUST_ANCHOR,
};
use test_support::tools::venv_program;
use test_support::{have, workspace_root};

use crate::util::local::Local;

/// Writes a profile whose `credential_process` is our helper with `extra` flags, one flag per
/// continuation line, and runs `tests/ansible/caller_info.yml` on ten local hosts with
/// `tasks_per_host` AWS tasks each; the tasks assert the account and role they act as.
fn play(
    ansible_playbook: &Path,
    local: &Local,
    dir: &Path,
    extra: &[String],
    tasks_per_host: u32,
    expect: (&str, &str),
    env: &[(&str, &str)],
) {
    let helper = env!("CARGO_BIN_EXE_aws_signing_helper");
    let url = local.url();
    let mut lines = vec![
        format!("{helper} credential-process"),
        format!("--certificate {}", pki("ec-p256", "fullchain.pem")),
        format!("--private-key {}", pki("ec-p256", "key-pkcs8.pem")),
        format!("--trust-anchor-arn {TRUST_ANCHOR}"),
        format!("--profile-arn {PROFILE}"),
        format!("--role-arn {ROLE}"),
        format!("--endpoint {url}"),
        format!("--sts-endpoint {url}"),
        format!("--cache-dir {}", dir.join("cache").display()),
    ];
    lines.extend(extra.iter().cloned());
    let config = dir.join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile ra]\nregion = us-east-1\ncredential_process = {}\n",
            lines.join(" \\\n    ")
        ),
    )
    .unwrap();
    let tests = workspace_root().join("tests/ansible");
    let out = Command::new(ansible_playbook)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_PROFILE", "ra")
        // Every AWS client (STS, and IAM for aws_caller_info's alias lookup) at the endpoint.
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("ANSIBLE_LOCAL_TEMP", dir.join("ansible-tmp"))
        .env("ANSIBLE_PIPELINING", "true")
        .env("ANSIBLE_FORKS", "10")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_HOST_KEY_CHECKING", "false")
        .envs(env.iter().copied())
        .arg("-i")
        .arg(tests.join("inventory.ini"))
        .arg(tests.join("caller_info.yml"))
        .args(["-e", &format!("tasks_per_host={tasks_per_host}")])
        .args(["-e", &format!("expected_account={}", expect.0)])
        .args(["-e", &format!("expected_role={}", expect.1)])
        .output()
        .expect("run ansible-playbook");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("failed=0").count(), 10, "{stdout}");
}

/// Successful calls of `kind` (and STS `action`).
fn count(local: &Local, kind: &str, action: Option<&str>) -> usize {
    local
        .calls()
        .iter()
        .filter(|c| c["kind"] == kind && c["ok"] == true)
        .filter(|c| action.is_none_or(|a| c["action"] == a))
        .count()
}

#[test]
fn fifty_aws_tasks_cost_one_create_session() {
    let Some(ansible_playbook) = venv_program("ansible-playbook") else {
        return;
    };
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // 10 hosts x 5 tasks; each aws_caller_info runs credential_process twice.
    play(
        &ansible_playbook,
        &local,
        dir.path(),
        &["--cache".into()],
        5,
        ("123456789012", "test-role"),
        &[],
    );
    assert_eq!(count(&local, "create-session", None), 1);
    let identities = count(&local, "sts", Some("GetCallerIdentity"));
    assert_eq!(identities, 50);
}

#[test]
fn a_chained_profile_with_external_id_and_mfa_costs_one_assume_role() {
    let Some(ansible_playbook) = venv_program("ansible-playbook") else {
        return;
    };
    if !have("oathtool") {
        return;
    }
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let code = mfa_code();
    let hop = format!(
        "--assume-role {CROSS_ROLE},external_id={EXTERNAL_ID},mfa_serial={MFA_SERIAL},role_session_name=ansible"
    );
    // The code is given once, when the play starts.
    play(
        &ansible_playbook,
        &local,
        dir.path(),
        &[hop],
        1,
        (CROSS_ACCOUNT, "deploy"),
        &[("AWS_SIGNING_HELPER_MFA_CODE", &code)],
    );
    assert_eq!(count(&local, "sts", Some("AssumeRole")), 1);
    assert_eq!(count(&local, "create-session", None), 1);
    // Every task acted in the second account (the playbook asserts it too).
    let in_cross = local
        .calls()
        .iter()
        .filter(|c| c["action"] == "GetCallerIdentity" && c["ok"] == true)
        .filter(|c| {
            c["role_arn"].as_str().is_some_and(|a| {
                a.starts_with(&format!(
                    "arn:aws:sts::{CROSS_ACCOUNT}:assumed-role/deploy/ansible"
                ))
            })
        })
        .count();
    assert_eq!(in_cross, 10);
}
