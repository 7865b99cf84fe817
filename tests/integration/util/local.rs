//! The real `rolesanywhere-local` on a loopback port with the standard test configuration
//! ([`test_support::standard`]), and `aws_signing_helper` run against it with the standard ARNs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use test_support::standard::{self, PROFILE, ROLE, TRUST_ANCHOR};
use test_support::{testdata, Endpoint};

/// A running endpoint; killed on drop.
pub struct Local {
    endpoint: Endpoint,
    /// Its TLS CA (for `AWS_CA_BUNDLE`), when serving HTTPS.
    pub ca: PathBuf,
}

impl Local {
    /// Starts the endpoint with the test configuration and `extra` flags.
    pub fn start(extra: &[&str]) -> Local {
        Self::start_trusting(&testdata("pki/ca/root.pem"), extra)
    }

    /// Like [`Local::start`], its trust anchors holding the CA certificates of `ca_bundle`
    /// instead of the test root (a CA made during the test, such as certmonger's).
    pub fn start_trusting(ca_bundle: &Path, extra: &[&str]) -> Local {
        let config = standard::config(ca_bundle);
        let endpoint = Endpoint::start(super::local_binary(), &config, extra);
        Local {
            ca: endpoint.ca(),
            endpoint,
        }
    }

    /// The endpoint URL to give `--endpoint`.
    pub fn url(&self) -> String {
        self.endpoint.url()
    }

    /// The endpoint's record of the calls it judged (`GET /_local/calls`).
    pub fn calls(&self) -> Vec<serde_json::Value> {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "10"]);
        if !self.endpoint.plain() {
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
        self.endpoint.dir()
    }
}

/// `command` (credential-process, serve, update) with the standard ARNs and `--endpoint url`.
pub fn credential_args(command: &str, url: &str) -> Vec<String> {
    [
        command,
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
        url,
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
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
        "AWS_ENDPOINT_URL_STS",
        "AWS_SIGNING_HELPER_MFA_CODE",
        "AWS_USE_FIPS_ENDPOINT",
        "HTTPS_PROXY",
        "https_proxy",
        "AWS_SIGNING_HELPER_HTTP_TIMEOUT",
    ] {
        cmd.env_remove(var);
    }
    cmd
}
