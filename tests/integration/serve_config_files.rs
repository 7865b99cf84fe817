//! `serve --config FILE`'s file and its companions: every bad file is one line naming the
//! file, the role and the key; `--print-env` prints what a workload needs; the environment
//! variable names the file; the systemd unit and the example file are valid.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::assert_one_line_error;
use crate::util::local::{helper_command, Local};
use crate::util::multi_role::{
    aws, clients_available, config_text, done, three_roles, token_file, write_config, Multi,
};

/// `--print-env ROLE` prints what a workload needs, and the AWS CLI given exactly that gets
/// the role's credentials.
#[tokio::test]
async fn print_env_is_what_a_workload_needs() {
    if !clients_available() {
        return;
    }
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app_token = token_file(dir.path(), "app", "app-token-abcdefghijkl");
    let config = write_config(
        dir.path(),
        &config_text(&local, port, &three_roles(&app_token)),
    );
    let printed = helper_command(&[
        "serve",
        "--config",
        &config.to_string_lossy(),
        "--print-env",
        "app",
    ])
    .output()
    .unwrap();
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let text = String::from_utf8(printed.stdout).unwrap();
    assert_eq!(
        text,
        format!(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:{port}/roles/app/credentials\n\
             AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={app_token}\n"
        )
    );
    // A role with its token in the file: the token is never printed.
    let printed = helper_command(&[
        "serve",
        "--config",
        &config.to_string_lossy(),
        "--print-env",
        "shipper",
    ])
    .output()
    .unwrap();
    let shipper = String::from_utf8(printed.stdout).unwrap();
    assert!(!shipper.contains("shipper-token-0123456789"), "{shipper}");

    let serve = Multi::start(&local, &config);
    assert_eq!(serve.port, port);
    let env: Vec<(&str, String)> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let k: &'static str = if k.ends_with("_FILE") {
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
            } else {
                "AWS_CONTAINER_CREDENTIALS_FULL_URI"
            };
            (k, v.to_string())
        })
        .collect();
    let json = done(aws(&local, dir.path(), &env)).json();
    assert!(
        json["Arn"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/test-role/"),
        "{json}"
    );
}

/// Every bad file is one line naming the file, the role and the key, and exit 1, before
/// anything is served; tokens are never echoed.
#[test]
fn bad_files_are_one_line_naming_the_role_and_the_key() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let run = |roles: &str| -> Output {
        let config = write_config(dir.path(), &config_text(&local, 0, roles));
        helper_command(&["serve", "--config", &config.to_string_lossy()])
            .env("AWS_CA_BUNDLE", &local.ca)
            .output()
            .unwrap()
    };
    let path = dir.path().join("serve.toml").to_string_lossy().into_owned();
    for (roles, needle) in [
        (
            "[roles.x]\nsession-duration = 60\ntoken = \"x-token-1234567890\"\n",
            "[roles.x] session-duration: session-duration 60 is out of range",
        ),
        (
            "[roles.x]\nrole-arn = \"arn:aws:iam::123456789012:user/x\"\ntoken = \"x-token-1234567890\"\n",
            "[roles.x] role-arn: role-arn",
        ),
        ("[roles.x]\nbogus = 1\ntoken = \"x-token-1234567890\"\n", "[roles.x] unknown key 'bogus'"),
        ("[roles.x]\nport = 1\ntoken = \"x-token-1234567890\"\n", "[roles.x] port: one for the whole server"),
        ("[roles.x]\nrole-arn = \"arn:aws:iam::123456789012:role/x\"\n", "[roles.x]: no token-file (or token)"),
        (
            "[roles.x]\ntoken = \"same-token-1234567890\"\n[roles.y]\ntoken = \"same-token-1234567890\"\n",
            "[roles.y] token: the same as [roles.x]'s",
        ),
        ("[roles.x]\ntoken-file = \"/nonexistent/x.token\"\n", "[roles.x] token-file: /nonexistent/x.token"),
        (
            "[roles.x]\nprivate-key = \"/nonexistent/key.pem\"\ncertificate = \"/nonexistent/cert.pem\"\ntoken = \"x-token-1234567890\"\n",
            "[roles.x]: ",
        ),
        ("[roles.x]\ntoken = \"unterminated-secret-value\n", "line 11: "),
    ] {
        let out = run(roles);
        let line = assert_one_line_error(&out, needle);
        assert!(line.contains(&path), "{line}");
        for secret in ["x-token-1234567890", "same-token-1234567890", "unterminated-secret-value"] {
            assert!(!line.contains(secret), "{line}");
        }
    }
    let config = dir.path().join("serve.toml").to_string_lossy().into_owned();
    let out = helper_command(&["serve", "--config", &config, "--certificate", "x"])
        .output()
        .unwrap();
    assert_one_line_error(&out, "cannot be used with");
    let out = helper_command(&["serve", "--print-env", "x"])
        .output()
        .unwrap();
    assert_one_line_error(&out, "--config");
}

/// The environment variable names the file as --config does, and the command line then may
/// not give the flags it replaces.
#[test]
fn the_environment_variable_names_the_file() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &config_text(&local, 9911, "[roles.x]\ntoken = \"x-token-1234567890\"\n"),
    );
    let out = helper_command(&["serve", "--print-env", "x"])
        .env("AWS_SIGNING_HELPER_SERVE_CONFIG", &config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(":9911/roles/x/credentials"));
}

fn packaging(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("packaging/systemd")
        .join(file)
}

/// The unit, running this build's binary, in a temporary directory.
fn unit() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let name = "aws-signing-helper-serve-config.service";
    let text = std::fs::read_to_string(packaging(name)).unwrap();
    assert!(text.contains("ExecStart=/usr/bin/aws_signing_helper serve --config "));
    assert!(text.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    let text = text.replace(
        "/usr/bin/aws_signing_helper ",
        &format!("{} ", env!("CARGO_BIN_EXE_aws_signing_helper")),
    );
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// systemd's own tools find nothing to say about the unit, and rate its exposure "OK" (below
/// 2.0), as the other services.
#[test]
fn the_unit_is_valid_and_hardened() {
    let (_dir, path) = unit();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("run systemd-analyze (apt-get install systemd)");
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let score: f64 = report
        .lines()
        .find_map(|l| l.split("Overall exposure level for ").nth(1))
        .and_then(|rest| rest.split(": ").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no score: {report}"));
    assert!(score < 2.0, "exposure {score}");
}

/// The example file is accepted as it is shipped, once its token files exist.
#[test]
fn the_example_file_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(packaging("example-serve.toml")).unwrap();
    for role in ["backup", "logs", "deploy"] {
        let file = token_file(dir.path(), role, &format!("{role}-token-0123456789"));
        text = text.replace(&format!("/etc/aws-signing-helper/tokens/{role}"), &file);
    }
    assert!(
        !text.contains("/etc/aws-signing-helper/tokens/"),
        "a role more than the test knows"
    );
    let config = write_config(dir.path(), &text);
    for role in ["backup", "logs", "deploy"] {
        let out = helper_command(&[
            "serve",
            "--config",
            &config.to_string_lossy(),
            "--print-env",
            role,
        ])
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8(out.stdout).unwrap();
        assert!(
            printed.starts_with(&format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9911/roles/{role}/credentials\n"
            )),
            "{printed}"
        );
    }
}
