//! Role chaining (`--assume-role`) against `rolesanywhere-local`'s STS, which checks the SigV4
//! signature, the trust policy, the external ID and TOTP codes (computed here by `oathtool`,
//! the independent implementation). The AWS CLI then proves the chained credentials act in the
//! second account; `update` and `serve` deliver them; a `credential_process` written over
//! several lines works with the AWS CLI.

use std::path::Path;
use std::process::{Command, Output};

use test_support::pki;
use test_support::standard::{
    mfa_code, CROSS_ACCOUNT, CROSS_ROLE, EXTERNAL_ID, MFA_SECRET, MFA_SERIAL, PROFILE, ROLE,
    THIRD_ROLE, TRUST_ANCHOR,
};
use test_support::{aws_cli, have};

use crate::util::assert_one_line_error;
use crate::util::local::{helper_command, Local};
use crate::util::serve::{Serve, CREDS, TOKEN, TOKEN_HEADER, TTL};

fn hop(fields: &str) -> String {
    format!("{CROSS_ROLE},external_id={EXTERNAL_ID},mfa_serial={MFA_SERIAL}{fields}")
}

/// credential-process with the standard identity, STS on the endpoint too, and `args`.
fn chained(local: &Local, args: &[&str], env: &[(&str, &str)]) -> Output {
    let url = local.url();
    let mut all = vec![
        "--certificate",
        "",
        "--private-key",
        "",
        "--sts-endpoint",
        url.as_str(),
    ];
    let (cert, key) = (
        pki("ec-p256", "fullchain.pem"),
        pki("ec-p256", "key-pkcs8.pem"),
    );
    all[1] = &cert;
    all[3] = &key;
    all.extend(args);
    local.credential_process_env(&all, env)
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("credential_process JSON")
}

fn assume_role_calls(local: &Local) -> Vec<serde_json::Value> {
    local
        .calls()
        .into_iter()
        .filter(|c| c["action"] == "AssumeRole")
        .collect()
}

/// `aws sts get-caller-identity` with these credentials, on the endpoint.
fn caller_identity(aws: &Path, local: &Local, creds: &serde_json::Value) -> serde_json::Value {
    let out = Command::new(aws)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", local.dir())
        .env("AWS_CONFIG_FILE", local.dir().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", local.dir().join("none"))
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", creds["AccessKeyId"].as_str().unwrap())
        .env(
            "AWS_SECRET_ACCESS_KEY",
            creds["SecretAccessKey"].as_str().unwrap(),
        )
        .env("AWS_SESSION_TOKEN", creds["SessionToken"].as_str().unwrap())
        .args([
            "sts",
            "get-caller-identity",
            "--output",
            "json",
            "--endpoint-url",
        ])
        .arg(local.url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn chained_credentials_act_in_the_second_account() {
    let Some(aws) = aws_cli() else { return };
    if !have("oathtool") {
        return;
    }
    let local = Local::start(&[]);
    let code = mfa_code();
    let out = chained(
        &local,
        &["--assume-role", &hop(",role_session_name=ansible")],
        &[("AWS_SIGNING_HELPER_MFA_CODE", &code)],
    );
    let creds = json(&out);
    let identity = caller_identity(&aws, &local, &creds);
    assert_eq!(identity["Account"], CROSS_ACCOUNT);
    assert_eq!(
        identity["Arn"],
        format!("arn:aws:sts::{CROSS_ACCOUNT}:assumed-role/deploy/ansible")
    );
    let calls = assume_role_calls(&local);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["ok"], true);
    let message = calls[0]["message"].as_str().unwrap();
    assert!(
        message.contains("external ID: given") && message.contains(MFA_SERIAL),
        "{message}"
    );
    // The code reached STS and nothing else: not the call log.
    assert!(!serde_json::to_string(&local.calls())
        .unwrap()
        .contains(&code));
}

#[test]
fn two_hops_reach_the_third_account() {
    let Some(aws) = aws_cli() else { return };
    if !have("oathtool") {
        return;
    }
    let local = Local::start(&[]);
    let code = mfa_code();
    let out = chained(
        &local,
        &[
            "--assume-role",
            &hop(&format!(",token_code={code}")),
            "--assume-role",
            THIRD_ROLE,
        ],
        &[],
    );
    let identity = caller_identity(&aws, &local, &json(&out));
    assert_eq!(identity["Account"], "333344445555");
}

#[test]
fn with_the_cache_the_mfa_code_is_needed_once() {
    if !have("oathtool") {
        return;
    }
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache").to_string_lossy().into_owned();
    let chain = hop("");
    let args = [
        "--assume-role",
        chain.as_str(),
        "--cache-dir",
        cache.as_str(),
    ];
    let code = mfa_code();
    let first = json(&chained(
        &local,
        &args,
        &[("AWS_SIGNING_HELPER_MFA_CODE", &code)],
    ));
    // No code anywhere and no terminal: the cached chained session answers.
    for _ in 0..3 {
        assert_eq!(json(&chained(&local, &args, &[])), first);
    }
    assert_eq!(assume_role_calls(&local).len(), 1);
}

#[test]
fn the_mfa_command_gives_the_code() {
    let Some(aws) = aws_cli() else { return };
    if !have("oathtool") {
        return;
    }
    let local = Local::start(&[]);
    let command = format!(
        "test \"$AWS_SIGNING_HELPER_MFA_SERIAL\" = {MFA_SERIAL} && oathtool --totp -b {MFA_SECRET}"
    );
    let out = chained(
        &local,
        &["--assume-role", &hop(""), "--mfa-command", &command],
        &[],
    );
    assert_eq!(
        caller_identity(&aws, &local, &json(&out))["Account"],
        CROSS_ACCOUNT
    );
}

#[test]
fn refusals_say_what_to_check() {
    if !have("oathtool") {
        return;
    }
    let local = Local::start(&[]);
    // No code and no terminal to ask on.
    let out = chained(&local, &["--assume-role", &hop("")], &[]);
    let line = assert_one_line_error(&out, "an MFA code from");
    assert!(line.contains("AWS_SIGNING_HELPER_MFA_CODE") && line.contains("--mfa-command"));

    // The wrong external ID: AWS says only "not authorized"; the hint names what to check.
    let wrong = format!("{CROSS_ROLE},external_id=not-it,mfa_serial={MFA_SERIAL}");
    let out = chained(
        &local,
        &["--assume-role", &wrong],
        &[("AWS_SIGNING_HELPER_MFA_CODE", &mfa_code())],
    );
    let line = assert_one_line_error(&out, "AssumeRole failed: AccessDenied (HTTP 403)");
    assert!(
        line.contains(&format!(
            "the trust policy of {CROSS_ROLE} must allow sts:AssumeRole for {ROLE}"
        )),
        "{line}"
    );
    assert!(
        line.contains("external ID must be the one it asks for"),
        "{line}"
    );

    // A code already used (the one just sent) is refused, as AWS does.
    let code = mfa_code();
    let ok = chained(
        &local,
        &["--assume-role", &hop("")],
        &[("AWS_SIGNING_HELPER_MFA_CODE", &code)],
    );
    json(&ok);
    {
        let out = chained(
            &local,
            &["--assume-role", &hop("")],
            &[("AWS_SIGNING_HELPER_MFA_CODE", &code)],
        );
        let line = assert_one_line_error(&out, "MultiFactorAuthentication failed");
        assert!(
            line.contains("already used") && line.contains("works once"),
            "{line}"
        );
    }

    // What AWS would refuse is refused before anything is sent.
    let before = local.calls().len();
    for (fields, needle) in [
        (",duration_seconds=7200", "role chaining"),
        (
            ",role_session_name=a b",
            "role_session_name 'a b' is invalid",
        ),
        (",external_id=x", "external_id is invalid"),
    ] {
        let out = chained(
            &local,
            &["--assume-role", &format!("{CROSS_ROLE}{fields}")],
            &[],
        );
        assert_one_line_error(&out, needle);
    }
    let out = chained(&local, &["--assume-role", "arn:aws:iam::1:role/x"], &[]);
    assert_one_line_error(&out, "--assume-role 'arn:aws:iam::1:role/x' is malformed");
    assert_eq!(local.calls().len(), before);
}

#[test]
fn update_writes_the_chained_credentials_into_the_profile() {
    let Some(aws) = aws_cli() else { return };
    if !have("oathtool") {
        return;
    }
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let url = local.url();
    let chain = hop("");
    let (cert, key) = (
        pki("ec-p256", "fullchain.pem"),
        pki("ec-p256", "key-pkcs8.pem"),
    );
    let out = helper_command(&[
        "update",
        "--once",
        "--profile",
        "deploy",
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
        "--endpoint",
        &url,
        "--sts-endpoint",
        &url,
        "--assume-role",
        &chain,
    ])
    .env("AWS_CA_BUNDLE", &local.ca)
    .env("AWS_SHARED_CREDENTIALS_FILE", &file)
    .env("AWS_SIGNING_HELPER_MFA_CODE", mfa_code())
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&aws)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", &file)
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .args([
            "--profile",
            "deploy",
            "sts",
            "get-caller-identity",
            "--output",
            "json",
        ])
        .args(["--endpoint-url", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let identity: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(identity["Account"], CROSS_ACCOUNT);
}

#[test]
fn serve_serves_the_last_hop() {
    let Some(aws) = aws_cli() else { return };
    if !have("oathtool") {
        return;
    }
    let local = Local::start(&[]);
    let url = local.url();
    let chain = hop("");
    let serve = Serve::start(
        &local,
        &["--sts-endpoint", &url, "--assume-role", &chain],
        &[("AWS_SIGNING_HELPER_MFA_CODE", &mfa_code())],
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let creds: String = runtime.block_on(async {
        let client = crate::util::serve::client();
        let token = client
            .put(serve.url(TOKEN))
            .header(TTL, "60")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let role = client
            .get(serve.url(CREDS))
            .header(TOKEN_HEADER, &token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(role, "deploy");
        client
            .get(serve.url(&format!("{CREDS}/deploy")))
            .header(TOKEN_HEADER, &token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let creds: serde_json::Value = serde_json::from_str(&creds).unwrap();
    let creds = serde_json::json!({
        "AccessKeyId": creds["AccessKeyId"],
        "SecretAccessKey": creds["SecretAccessKey"],
        "SessionToken": creds["Token"],
    });
    assert_eq!(
        caller_identity(&aws, &local, &creds)["Account"],
        CROSS_ACCOUNT
    );
}

/// A `credential_process` over several lines with trailing backslashes, as blog posts show it:
/// botocore hands us arguments such as "\n--certificate".
#[test]
fn the_aws_cli_runs_a_credential_process_written_over_several_lines() {
    let Some(aws) = aws_cli() else { return };
    if !have("oathtool") {
        return;
    }
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let helper = env!("CARGO_BIN_EXE_aws_signing_helper");
    let url = local.url();
    let cache = dir.path().join("cache");
    std::fs::write(
        &config,
        format!(
            "[profile deploy]\nregion = us-east-1\ncredential_process = {helper} credential-process \\\n    \
             --certificate {} \\\n    --private-key {} \\\n    --trust-anchor-arn {TRUST_ANCHOR} \\\n    \
             --profile-arn {PROFILE} --role-arn {ROLE} \\\n    --endpoint {url} --sts-endpoint {url} \\\n    \
             --assume-role {} \\\n    --cache-dir {}\n",
            pki("rsa-2048", "fullchain.pem"),
            pki("rsa-2048", "key-pkcs8.pem"),
            hop(""),
            cache.display(),
        ),
    )
    .unwrap();
    let code = mfa_code();
    for _ in 0..2 {
        let out = Command::new(&aws)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
            .env("AWS_CA_BUNDLE", &local.ca)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_SIGNING_HELPER_MFA_CODE", &code)
            .args([
                "--profile",
                "deploy",
                "sts",
                "get-caller-identity",
                "--output",
                "json",
            ])
            .args(["--endpoint-url", &url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let identity: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(identity["Account"], CROSS_ACCOUNT);
    }
    // The second run was answered by the cache: the code was used once.
    let ok: Vec<_> = assume_role_calls(&local)
        .into_iter()
        .filter(|c| {
            c["ok"] == true
                && c["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("assumed"))
        })
        .collect();
    assert_eq!(ok.len(), 1, "{ok:?}");
}

#[test]
fn throttled_assume_role_calls_are_retried() {
    let Some(aws) = aws_cli() else { return };
    let local = Local::start(&["--throttle-assume-role-first", "2"]);
    let out = chained(
        &local,
        &["--assume-role", test_support::standard::OTHER_ROLE],
        &[],
    );
    assert_eq!(
        caller_identity(&aws, &local, &json(&out))["Arn"]
            .as_str()
            .unwrap()
            .split('/')
            .nth(1),
        Some("other-role")
    );
    let calls: Vec<_> = assume_role_calls(&local)
        .iter()
        .map(|c| c["error_type"].as_str().unwrap_or("ok").to_string())
        .collect();
    assert_eq!(calls, ["Throttling", "Throttling", "ok"]);

    // Still throttled after the third attempt: the hint says so.
    let local = Local::start(&["--throttle-assume-role-first", "5"]);
    let out = chained(
        &local,
        &["--assume-role", test_support::standard::OTHER_ROLE],
        &[],
    );
    let line = assert_one_line_error(&out, "AssumeRole failed: Throttling (HTTP 400)");
    assert!(line.contains("still throttled after 3 attempts"), "{line}");
}
