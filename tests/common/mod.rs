//! Helpers shared by the integration tests: fixture paths, running the real binary, and OpenSSL
//! as the independent verifier.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod local;
pub mod serve;

/// `testdata/<rel>`.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// `testdata/pki/<kind>/<file>` as a string argument.
pub fn pki(kind: &str, file: &str) -> String {
    testdata(&format!("pki/{kind}/{file}"))
        .to_string_lossy()
        .into_owned()
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

/// Leaf key types in the fixture PKI.
pub const RSA_KINDS: [&str; 5] = ["rsa-1024", "rsa-2048", "rsa-3072", "rsa-4096", "rsa-8192"];
/// EC leaf key types in the fixture PKI.
pub const EC_KINDS: [&str; 3] = ["ec-p256", "ec-p384", "ec-p521"];
