//! Running `serve --config` for the tests of several roles (`serve_config.rs`,
//! `serve_config_files.rs`): the real binary on a loopback port with a configuration file,
//! against the real `rolesanywhere-local`, and real clients (boto3, the AWS CLI) as workloads.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use test_support::standard::{
    CROSS_ROLE, EXTERNAL_ID, MFA_SECRET, MFA_SERIAL, OTHER_ROLE, PROFILE, ROLE, TRUST_ANCHOR,
};
use test_support::{aws_cli, pki, python};

use super::local::{helper_command, Local};
use super::serve::send;

/// A running `serve --config`; killed on drop.
pub struct Multi {
    /// The process.
    pub child: Child,
    /// Its port.
    pub port: u16,
    stderr: Arc<Mutex<String>>,
    config: PathBuf,
}

impl Multi {
    /// Starts `serve --config` on `config` (written by [`write_config`]); panics with its
    /// stderr if it stops before listening.
    pub fn start(local: &Local, config: &Path) -> Multi {
        let cmd = helper_command(&["serve", "--config", &config.to_string_lossy()]);
        Multi::start_with(local, config, cmd)
    }

    /// Like [`Multi::start`], running `cmd`.
    pub fn start_with(local: &Local, config: &Path, mut cmd: Command) -> Multi {
        cmd.env("AWS_CA_BUNDLE", &local.ca)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn serve --config");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split(" roles on http://127.0.0.1:").nth(1) {
                    let _ = port_tx.send(rest.trim().parse::<u16>().unwrap());
                }
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        match port_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => Multi {
                child,
                port,
                stderr,
                config: config.to_path_buf(),
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!("serve --config did not start: {}", stderr.lock().unwrap());
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `GET /roles/<role>/credentials` with `token` (none when empty).
    pub async fn credentials(&self, role: &str, token: &str) -> (StatusCode, String) {
        let url = self.url(&format!("/roles/{role}/credentials"));
        let headers: &[(&str, &str)] = if token.is_empty() {
            &[]
        } else {
            &[("Authorization", token)]
        };
        let (status, _, body) = send(Method::GET, &url, headers).await;
        (status, body)
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr holds `needle` `times` times.
    pub fn wait_for(&self, needle: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.stderr().matches(needle).count() < times {
            assert!(
                Instant::now() < deadline,
                "{needle:?} never appeared {times} times in: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Rewrites the file with `roles` and sends SIGHUP.
    pub fn reload(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Multi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The file: the standard identity, trust anchor, profile and role, CreateSession and STS on
/// `local`, any free port, then `roles`.
pub fn config_text(local: &Local, port: u16, roles: &str) -> String {
    format!(
        r#"certificate = "{cert}"
private-key = "{key}"
trust-anchor-arn = "{TRUST_ANCHOR}"
profile-arn = "{PROFILE}"
role-arn = "{ROLE}"
endpoint = "{url}"
sts-endpoint = "{url}"
port = {port}

{roles}"#,
        cert = pki("ec-p256", "fullchain.pem"),
        key = pki("ec-p256", "key-pkcs8.pem"),
        url = local.url(),
    )
}

/// Writes `text` as `serve.toml` in `dir`, 0600 (it holds tokens).
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("serve.toml");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
    path
}

/// A token file in `dir`, 0600, as `printf %s` writes it.
pub fn token_file(dir: &Path, name: &str, token: &str) -> String {
    let path = dir.join(format!("{name}.token"));
    write_config(dir, token);
    std::fs::rename(dir.join("serve.toml"), &path).unwrap();
    path.to_string_lossy().into_owned()
}

/// The three workloads' roles: an application with the profile's role, a log shipper with a
/// role chained from it, a deployment with a cross-account role (external ID and MFA, the code
/// from oathtool). All three share one identity and one CreateSession.
pub fn three_roles(app_token_file: &str) -> String {
    format!(
        r#"[roles.app]
token-file = "{app_token_file}"

[roles.shipper]
assume-role = ["{OTHER_ROLE}"]
token = "shipper-token-0123456789"

[roles.deploy]
assume-role = ["{CROSS_ROLE},external_id={EXTERNAL_ID},mfa_serial={MFA_SERIAL}"]
mfa-command = "oathtool --totp -b {MFA_SECRET}"
token = "deploy-token-9876543210"
imds = true
"#
    )
}

/// What a client process printed.
pub struct Ran(pub Output);

impl Ran {
    pub fn json(&self) -> serde_json::Value {
        assert!(
            self.0.status.success(),
            "client failed: {}",
            String::from_utf8_lossy(&self.0.stderr)
        );
        serde_json::from_slice(&self.0.stdout).expect("JSON on stdout")
    }

    pub fn refused_with(&self, needle: &str) {
        let stderr = String::from_utf8_lossy(&self.0.stderr);
        assert!(!self.0.status.success(), "client succeeded");
        assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    }
}

/// An environment holding only a PATH, an empty HOME and AWS config, the endpoint's CA, and
/// `env`: the only credentials a client can find are those `env` leads it to.
pub fn client_command(
    program: &Path,
    local: &Local,
    home: &Path,
    env: &[(&str, String)],
) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
        .env("AWS_CA_BUNDLE", &local.ca)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Whether the real clients are installed (boto3 in the venv, the AWS CLI); when not, the test
/// is skipped with one line (or fails under CI).
pub fn clients_available() -> bool {
    test_support::venv_python("boto3").is_some() && aws_cli().is_some()
}

/// boto3's GetCallerIdentity (tests/interop/boto3_sts.py), started.
pub fn boto3(local: &Local, home: &Path, env: &[(&str, String)]) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/boto3_sts.py");
    client_command(&python(), local, home, env)
        .arg(script)
        .arg(local.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python (tests/setup.sh makes the venv)")
}

/// The AWS CLI's `sts get-caller-identity`, started.
pub fn aws(local: &Local, home: &Path, env: &[(&str, String)]) -> Child {
    let aws = aws_cli().expect("the test checked clients_available()");
    client_command(&aws, local, home, env)
        .args([
            "--region",
            "us-east-1",
            "--output",
            "json",
            "--endpoint-url",
        ])
        .arg(local.url())
        .args(["sts", "get-caller-identity"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the AWS CLI")
}

pub fn done(child: Child) -> Ran {
    Ran(child.wait_with_output().unwrap())
}

/// The container protocol's variables for `role` of `serve`.
pub fn container_env(
    serve: &Multi,
    role: &str,
    token: (&str, String),
) -> Vec<(&'static str, String)> {
    let (var, value) = token;
    let var = if var == "file" {
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
    } else {
        "AWS_CONTAINER_AUTHORIZATION_TOKEN"
    };
    vec![
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            serve.url(&format!("/roles/{role}/credentials")),
        ),
        (var, value),
    ]
}

pub fn create_sessions(local: &Local) -> usize {
    local
        .calls()
        .iter()
        .filter(|c| c["kind"] == "create-session")
        .count()
}
