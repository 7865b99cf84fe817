//! Helpers shared by the integration tests: running the real binaries, and OpenSSL as the
//! independent verifier. Fixture paths and what the emulator's tests share with ours come from
//! the `test-support` crate.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

// Each test binary compiles its own copy of this module and uses some of it (hence dead_code
// above, and this).
#[allow(unused_imports)]
pub use test_support::{pki, testdata, EC_KINDS, RSA_KINDS};

pub mod hostile;
pub mod local;
pub mod serve;

/// The `rolesanywhere-local` binary of this build, built first if it is missing or stale.
///
/// The endpoint is another crate of the workspace, so cargo tells only that crate's tests where
/// its binary is (`CARGO_BIN_EXE_rolesanywhere-local`). It is built into the same directory as
/// `aws_signing_helper`, for the same profile; `rolesanywhere-local demo` relies on that, as it
/// runs the `aws_signing_helper` next to itself. A plain `cargo test` builds both, but
/// `cargo test -p aws_signing_helper` builds only ours: then the endpoint is built here, once
/// per test binary.
pub fn local_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let helper = Path::new(env!("CARGO_BIN_EXE_aws_signing_helper"));
        let profile_dir = helper
            .parent()
            .expect("binaries live in a profile directory");
        let binary = profile_dir.join(format!(
            "rolesanywhere-local{}",
            std::env::consts::EXE_SUFFIX
        ));
        if !newer_than_its_sources(&binary) {
            build_local(profile_dir);
        }
        binary
    })
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
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
        .current_dir(env!("CARGO_MANIFEST_DIR"));
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

/// `aws_signing_helper` started by util-linux's `setsid` in a session of its own, so it has no
/// controlling terminal: `/dev/tty` cannot be opened and the PIN and password prompts fail as
/// they do under CI, instead of waiting for someone at the terminal `cargo test` was run from.
/// (`setsid` does not fork when its parent is not a process group leader, which a child of ours
/// never is, so the process id is the helper's own, for `kill`.)
pub fn helper_binary() -> Command {
    let mut cmd = Command::new("setsid");
    cmd.arg("--wait")
        .arg(env!("CARGO_BIN_EXE_aws_signing_helper"));
    cmd
}

/// Runs `aws_signing_helper` with `args`, no stdin and no controlling terminal.
pub fn helper(args: &[&str]) -> Output {
    helper_binary()
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("spawn aws_signing_helper")
}

/// The project venv's python (`.ci/run` installs tests/interop/requirements.txt there: the AWS
/// CLI, boto3, and `cryptography` for ML-DSA), else `python3` on PATH.
pub fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// Asserts a run failed the way every bad input must: exit 1, one line on stderr that names
/// `needle`, nothing on stdout, no panic.
pub fn assert_one_line_error(out: &Output, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    stderr
}

/// Runs OpenSSL's command line (the independent tool tests build inputs with); its stdout.
pub fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Verifies `signature` over `message` with `openssl dgst -<digest> -verify <pubkey>`.
pub fn openssl_verify(pubkey: &str, digest: &str, message: &[u8], signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("msg");
    let sig = dir.path().join("sig");
    std::fs::write(&msg, message).unwrap();
    std::fs::write(&sig, signature).unwrap();
    let out = Command::new("openssl")
        .args([
            "dgst",
            &format!("-{digest}"),
            "-verify",
            pubkey,
            "-signature",
        ])
        .arg(&sig)
        .arg(&msg)
        .output()
        .expect("run openssl");
    out.status.success()
}
