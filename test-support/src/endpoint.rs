//! `rolesanywhere-local` for a test: finding (or building) the binary, and running it on a
//! loopback port with a configuration of the test's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::workspace_root;

/// The `rolesanywhere-local` binary beside `sibling` (a binary of this build, such as
/// `CARGO_BIN_EXE_aws_signing_helper`), built first if it is missing or stale.
///
/// The endpoint is another crate of the workspace, so cargo tells only that crate's tests where
/// its binary is (`CARGO_BIN_EXE_rolesanywhere-local`). It is built into the same directory as
/// `aws_signing_helper`, for the same profile; `rolesanywhere-local demo` relies on that, as it
/// runs the `aws_signing_helper` next to itself. A plain `cargo test` builds both, but
/// `cargo test -p aws_signing_helper` builds only ours: then the endpoint is built here, once
/// per test process.
pub fn local_binary_beside(sibling: &Path) -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let profile_dir = sibling
            .parent()
            .expect("binaries live in a profile directory");
        binary_in(profile_dir)
    })
}

/// The `rolesanywhere-local` binary of the running test's build (`<target>/<profile>`, the
/// parent of the test binary's `deps/`; for a doc test, which rustdoc runs from a directory of
/// its own, the target directory's dev profile), built first if it is missing or stale. For the
/// tests of crates without a binary of their own, such as the engine's.
pub fn local_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let test = std::env::current_exe().expect("the test binary's path");
        let profile_dir = match test.parent() {
            Some(deps) if deps.file_name().is_some_and(|n| n == "deps") => deps
                .parent()
                .expect("deps/ is in a profile directory")
                .to_path_buf(),
            _ => std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| workspace_root().join("target"), PathBuf::from)
                .join("debug"),
        };
        binary_in(&profile_dir)
    })
}

/// `rolesanywhere-local` in `profile_dir`, built there first when missing or stale.
fn binary_in(profile_dir: &Path) -> PathBuf {
    let binary = profile_dir.join(format!(
        "rolesanywhere-local{}",
        std::env::consts::EXE_SUFFIX
    ));
    if !newer_than_its_sources(&binary) {
        build_local(profile_dir);
    }
    binary
}

/// Whether `binary` exists and is newer than what it is built from: the endpoint's sources and
/// manifest, the workspace manifest (profiles) and the lock file. Asking cargo every time would
/// be simpler, but right after a plain `cargo test` it would build a second copy of the
/// endpoint's dependencies (a minute on a small machine): for `-p rolesanywhere-local` alone it
/// unifies their features differently. A false "stale" only costs a cargo run with nothing to do
/// (a binary cargo links again keeps its build time); other inputs, such as `RUSTFLAGS`, are left
/// to a plain `cargo test`.
fn newer_than_its_sources(binary: &Path) -> bool {
    let modified = |path: &Path| path.metadata().and_then(|m| m.modified()).ok();
    let Some(built) = modified(binary) else {
        return false;
    };
    let root = workspace_root();
    let mut inputs = vec![
        root.join("Cargo.toml"),
        root.join("Cargo.lock"),
        root.join("rolesanywhere-local/Cargo.toml"),
    ];
    let mut dirs = vec![root.join("rolesanywhere-local/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read rolesanywhere-local/src") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                inputs.push(path);
            }
        }
    }
    inputs
        .iter()
        .all(|input| modified(input).is_some_and(|time| time <= built))
}

/// `cargo build -p rolesanywhere-local` into `profile_dir` (`<target>/<profile>`).
fn build_local(profile_dir: &Path) {
    // target/debug is the dev profile's directory; every other profile's is its name.
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev",
        Some(name) => name,
        None => panic!("no profile directory in {}", profile_dir.display()),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--quiet", "--package", "rolesanywhere-local"])
        .args(["--bin", "rolesanywhere-local", "--profile", profile])
        // With --target the profile directory is <target>/<triple>/<profile>: naming
        // <target>/<triple> as the target directory puts a host build in the same place.
        .arg("--target-dir")
        .arg(profile_dir.parent().expect("a target directory"))
        .current_dir(workspace_root());
    // Cargo describes this package to its tests in variables that build scripts (ring's) watch:
    // passed on, they would make cargo rebuild those dependencies, here and in the next build.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || matches!(
                &*name,
                "CARGO_MANIFEST_DIR" | "CARGO_MANIFEST_PATH" | "OUT_DIR"
            )
        {
            command.env_remove(&*name);
        }
    }
    let status = command
        .status()
        .expect("run cargo to build rolesanywhere-local");
    assert!(
        status.success(),
        "cargo could not build rolesanywhere-local"
    );
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
