//! Helpers shared by the integration tests: running the real binaries, and OpenSSL as the
//! independent verifier. Fixture paths and what the emulator's tests share with ours come from
//! the `test-support` crate.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// Each test binary compiles its own copy of this module and uses some of it (hence dead_code
// above, and this).
#[allow(unused_imports)]
pub use test_support::{local_binary, pki, testdata, EC_KINDS, RSA_KINDS};

pub mod hostile;
pub mod local;
pub mod serve;

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

#[allow(unused_imports)]
pub use test_support::openssl_verify;
