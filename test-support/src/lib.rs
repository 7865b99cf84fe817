//! Helpers shared by the tests of both crates of the workspace (`aws_signing_helper` and
//! `rolesanywhere-local`), as a dev-dependency only: where the fixtures and the project's venv
//! are, the fixture PKI's key types, and running the `rolesanywhere-local` binary on a loopback
//! port.
//!
//! What only one crate's tests need stays with them: `tests/common` (the product's: running
//! `aws_signing_helper`, OpenSSL as the signature verifier, the endpoint configuration its tests
//! share) and `rolesanywhere-local/tests/local_common` (the emulator's: configurations around the
//! recorded vectors' ARNs and an AWS4-X509/SigV4 signer built on the OpenSSL command line).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The account of every test configuration.
pub const ACCOUNT: &str = "123456789012";
/// The role every test configuration lets sessions assume.
pub const ROLE: &str = "arn:aws:iam::123456789012:role/test-role";

/// RSA leaf key types in the fixture PKI.
pub const RSA_KINDS: [&str; 5] = ["rsa-1024", "rsa-2048", "rsa-3072", "rsa-4096", "rsa-8192"];
/// EC leaf key types in the fixture PKI.
pub const EC_KINDS: [&str; 3] = ["ec-p256", "ec-p384", "ec-p521"];

/// The workspace's root directory.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support is a directory of the workspace root")
}

/// `testdata/<rel>` (made by `testdata/gen.sh`, committed).
pub fn testdata(rel: &str) -> PathBuf {
    workspace_root().join("testdata").join(rel)
}

/// `testdata/pki/<kind>/<file>` as a string argument.
pub fn pki(kind: &str, file: &str) -> String {
    testdata(&format!("pki/{kind}/{file}"))
        .to_string_lossy()
        .into_owned()
}

/// The AWS CLI: the project venv's (`.ci/run` installs it), else one on PATH. Missing is a
/// failure, not a skip.
pub fn aws_cli() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/aws");
    if venv.exists() {
        return venv;
    }
    let found = Command::new("sh")
        .args(["-c", "command -v aws"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    found.expect(
        "the AWS CLI is needed: python3 -m venv .venv && .venv/bin/pip install -r tests/interop/requirements.txt",
    )
}

/// A `rolesanywhere-local` this test started on a loopback port; killed (by its handle) on drop.
pub struct Endpoint {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    plain: bool,
}

impl Endpoint {
    /// Starts `binary` with the configuration `config` (TOML), a port file, its TLS CA written
    /// to [`Endpoint::ca`] unless `args` hold `--plain-http`, and `args`; returns once it listens.
    /// Panics with its stderr if it exits first, and if the port file, once there, is not a port
    /// (the endpoint writes it atomically).
    pub fn start(binary: &Path, config: &str, args: &[&str]) -> Endpoint {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, config).expect("write the configuration");
        let port_file = dir.path().join("port");
        let plain = args.contains(&"--plain-http");
        let mut command = Command::new(binary);
        command
            .arg("--config")
            .arg(&config_path)
            .arg("--port-file")
            .arg(&port_file);
        if !plain {
            command.arg("--ca-out").arg(dir.path().join("ca.pem"));
        }
        let stderr = std::fs::File::create(dir.path().join("stderr")).expect("stderr file");
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start rolesanywhere-local");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                break text.trim().parse().expect("port file holds a port");
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "rolesanywhere-local exited early ({status}): {}",
                    std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "rolesanywhere-local wrote no port file within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Endpoint {
            child,
            dir,
            port,
            plain,
        }
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it serves plain HTTP rather than HTTPS.
    pub fn plain(&self) -> bool {
        self.plain
    }

    /// `https://127.0.0.1:<port>` (`http://` with `--plain-http`).
    pub fn url(&self) -> String {
        let scheme = if self.plain { "http" } else { "https" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:<port>`, the `Host` clients send.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Its generated TLS CA (for `AWS_CA_BUNDLE`), when serving HTTPS.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Its temporary directory (configuration, CA, stderr).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What it logged on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// SIGTERM (by pid, to the process this test started); waits for the exit and returns its
    /// status and stderr.
    pub fn terminate(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, self.stderr());
            }
            assert!(Instant::now() < deadline, "no exit within 15s of SIGTERM");
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // Still running unless terminated: the test is over, or failed midway.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
