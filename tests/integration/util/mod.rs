//! Running `aws_signing_helper` for the tests: the binary with no terminal, the endpoint with
//! the standard configuration and our flags (`local`), `serve` queried as the SDKs do (`serve`),
//! and the one-line error every bad input must get. What every test crate of the workspace
//! shares is in `test-support`.

use std::path::Path;
use std::process::{Command, Output};

pub mod local;
pub mod multi_role;
pub mod serve;

/// The `rolesanywhere-local` binary of this build, beside ours (built first if missing or
/// stale: see [`test_support::local_binary_beside`]).
pub fn local_binary() -> &'static Path {
    test_support::local_binary_beside(Path::new(env!("CARGO_BIN_EXE_aws_signing_helper")))
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
