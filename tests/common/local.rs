//! Starting the real `rolesanywhere-local` binary on a loopback port for a test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::testdata;

/// The account, region and ARNs of the test configuration.
pub const TRUST_ANCHOR: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-main";
/// A trust anchor that exists but is disabled.
pub const DISABLED_ANCHOR: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-disabled";
/// The profile; roles: ROLE; 3600 s; accepts role session names.
pub const PROFILE: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-main";
/// A profile that refuses role session names, max 1800 s.
pub const STRICT_PROFILE: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-strict";
/// The role.
pub const ROLE: &str = "arn:aws:iam::123456789012:role/test-role";
/// A role the profile does not list.
pub const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/other-role";

/// A running endpoint; killed on drop.
pub struct Local {
    child: Child,
    /// The bound port.
    pub port: u16,
    /// Its TLS CA (for `AWS_CA_BUNDLE`), when serving HTTPS.
    pub ca: PathBuf,
    /// Whether it serves plain HTTP.
    pub plain: bool,
    dir: tempfile::TempDir,
}

impl Local {
    /// Starts the endpoint with the test configuration and `extra` flags.
    pub fn start(extra: &[&str]) -> Local {
        let dir = tempfile::tempdir().unwrap();
        let root = testdata("pki/ca/root.pem");
        let config = dir.path().join("config.toml");
        std::fs::write(&config, config_text(&root)).unwrap();
        let port_file = dir.path().join("port");
        let ca = dir.path().join("ca.pem");
        let plain = extra.contains(&"--plain-http");
        let mut command = Command::new(super::local_binary());
        command
            .arg("--config")
            .arg(&config)
            .arg("--port-file")
            .arg(&port_file);
        if !plain {
            command.arg("--ca-out").arg(&ca);
        }
        let child = command
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("stderr")).unwrap(),
            ))
            .spawn()
            .expect("spawn rolesanywhere-local");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                break port;
            }
            assert!(
                Instant::now() < deadline,
                "rolesanywhere-local did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Local {
            child,
            port,
            ca,
            plain,
            dir,
        }
    }

    /// The endpoint URL to give `--endpoint`.
    pub fn url(&self) -> String {
        let scheme = if self.plain { "http" } else { "https" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// What the endpoint logged on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// The endpoint's record of the calls it judged (`GET /_local/calls`).
    pub fn calls(&self) -> Vec<serde_json::Value> {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "10"]);
        if !self.plain {
            cmd.arg("--cacert").arg(&self.ca);
        }
        let out = cmd
            .arg(format!("{}/_local/calls", self.url()))
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("calls JSON")
    }

    /// Runs `aws_signing_helper credential-process` against this endpoint with the standard
    /// ARNs, `AWS_CA_BUNDLE` set to its CA, and `args` (certificate, key, overrides...).
    pub fn credential_process(&self, args: &[&str]) -> Output {
        self.credential_process_env(args, &[])
    }

    /// Like [`Local::credential_process`], with extra environment variables.
    pub fn credential_process_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut all = vec![
            "credential-process",
            "--trust-anchor-arn",
            TRUST_ANCHOR,
            "--profile-arn",
            PROFILE,
            "--role-arn",
            ROLE,
        ];
        let url = self.url();
        all.extend(["--endpoint", url.as_str()]);
        all.extend(args);
        let mut cmd = helper_command(&override_flags(&all));
        cmd.env("AWS_CA_BUNDLE", &self.ca);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("spawn aws_signing_helper")
    }

    /// Path of the temporary directory (config, CA, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Later occurrences of a flag override earlier ones, as with the official helper's pflag; keep
/// only the last value of each ARN flag so tests can override the defaults.
fn override_flags<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i];
        let takes_value = matches!(a, "--trust-anchor-arn" | "--profile-arn" | "--role-arn");
        if takes_value && i + 1 < args.len() {
            if let Some(pos) = out.iter().position(|x| *x == a) {
                out[pos + 1] = args[i + 1];
            } else {
                out.extend([a, args[i + 1]]);
            }
            i += 2;
        } else {
            out.push(a);
            i += 1;
        }
    }
    out
}

/// A `Command` for `aws_signing_helper` with a clean environment for AWS settings, no stdin and
/// no controlling terminal ([`super::helper_binary`]).
pub fn helper_command(args: &[&str]) -> Command {
    let mut cmd = super::helper_binary();
    cmd.args(args).stdin(Stdio::null());
    for var in [
        "AWS_CA_BUNDLE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_ROLESANYWHERE",
        "AWS_USE_FIPS_ENDPOINT",
        "HTTPS_PROXY",
        "https_proxy",
        "AWS_SIGNING_HELPER_HTTP_TIMEOUT",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn config_text(root: &Path) -> String {
    format!(
        r#"region = "us-east-1"
account = "123456789012"

[[trust_anchor]]
arn = "{TRUST_ANCHOR}"
ca_bundle = "{root}"
enabled = true

[[trust_anchor]]
arn = "{DISABLED_ANCHOR}"
ca_bundle = "{root}"
enabled = false

[[profile]]
arn = "{PROFILE}"
role_arns = ["{ROLE}"]
duration_seconds = 3600
enabled = true
accept_role_session_name = true

[[profile]]
arn = "{STRICT_PROFILE}"
role_arns = ["{ROLE}"]
duration_seconds = 1800
enabled = true
accept_role_session_name = false

[[role]]
arn = "{ROLE}"
trusted_roles = []

[[role]]
arn = "{OTHER_ROLE}"
trusted_roles = ["{ROLE}"]
"#,
        root = root.display()
    )
}
