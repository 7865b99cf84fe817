//! Starting the real `rolesanywhere-local` binary on a loopback port for a test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use test_support::ROLE;
use test_support::{testdata, Endpoint};

/// The account, region and ARNs of the test configuration.
pub const TRUST_ANCHOR: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-main";
/// A trust anchor that exists but is disabled.
pub const DISABLED_ANCHOR: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-disabled";
/// The profile; roles: ROLE; 3600 s; accepts role session names.
pub const PROFILE: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-main";
/// A profile that refuses role session names, max 1800 s.
pub const STRICT_PROFILE: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-strict";
/// A role the profile does not list.
pub const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/other-role";
/// A role in a second account that trusts ROLE, asks for [`EXTERNAL_ID`] and MFA.
pub const CROSS_ROLE: &str = "arn:aws:iam::222233334444:role/deploy";
/// The second account.
pub const CROSS_ACCOUNT: &str = "222233334444";
/// The external ID CROSS_ROLE's trust policy asks for.
pub const EXTERNAL_ID: &str = "ansible-ext-7";
/// The MFA device CROSS_ROLE needs a code of.
pub const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/ansible";
/// Its TOTP secret, base32 (as `oathtool --totp -b` takes it).
pub const MFA_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
/// A role in a third account that trusts CROSS_ROLE, with no conditions (a second hop).
pub const THIRD_ROLE: &str = "arn:aws:iam::333344445555:role/audit";

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

    /// Like [`Local::start`], with the trust anchors' CA bundle at `ca_bundle` (a CA made
    /// during the test, such as certmonger's).
    pub fn start_trusting(ca_bundle: &Path, extra: &[&str]) -> Local {
        let config = config_text(ca_bundle);
        let endpoint = Endpoint::start(super::local_binary(), &config, extra);
        Local {
            ca: endpoint.ca(),
            endpoint,
        }
    }

    /// Starts the endpoint with the test configuration, its trust anchors holding the CA
    /// certificates of `ca_bundle` instead of the test root, and `extra` flags.
    pub fn start_with_anchors(ca_bundle: &Path, extra: &[&str]) -> Local {
        let endpoint = Endpoint::start(super::local_binary(), &config_text(ca_bundle), extra);
        Local {
            ca: endpoint.ca(),
            endpoint,
        }
    }

    /// The endpoint URL to give `--endpoint`.
    pub fn url(&self) -> String {
        self.endpoint.url()
    }

    /// What the endpoint logged on stderr so far.
    pub fn stderr(&self) -> String {
        self.endpoint.stderr()
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

[[role]]
arn = "{CROSS_ROLE}"
trusted_roles = ["{ROLE}"]
external_id = "{EXTERNAL_ID}"
require_mfa = true

[[role]]
arn = "{THIRD_ROLE}"
trusted_roles = ["{CROSS_ROLE}"]

[[mfa_device]]
serial = "{MFA_SERIAL}"
secret = "{MFA_SECRET}"
"#,
        root = root.display()
    )
}
