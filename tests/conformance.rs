//! The official helper's test tables, run against our binary: `tests/conformance/run.py` reads
//! `tests/conformance/cases.jsonl`, makes its fixtures with `testdata/conformance/gen.sh`, runs
//! every case through the real `aws_signing_helper` (with `rolesanywhere-local` or a mock
//! endpoint where a case calls CreateSession), checks signatures with OpenSSL, and fails on any
//! case that fails unless `tests/conformance/expected_failures.json` lists it, and on any listed
//! case that passes. See `tests/conformance/README.md`.
//!
//! The runner is Python (standard library only) so that it can be pointed at any binary,
//! including the official one, to check the expectations themselves.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binaries under test: the helper, and `rolesanywhere-local` when it was built beside it.
/// (When the endpoint moves to its own workspace crate, Cargo no longer gives its path here;
/// it is then found next to the helper in the same target directory.)
fn binaries() -> (PathBuf, Option<PathBuf>) {
    let helper = PathBuf::from(env!("CARGO_BIN_EXE_aws_signing_helper"));
    let local = option_env!("CARGO_BIN_EXE_rolesanywhere-local")
        .map(PathBuf::from)
        .or_else(|| Some(helper.with_file_name("rolesanywhere-local")))
        .filter(|p| p.exists());
    (helper, local)
}

#[test]
fn official_tables() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (helper, local) = binaries();
    let local = local.expect("rolesanywhere-local is not built next to aws_signing_helper");
    let out = Command::new("python3")
        .arg(root.join("tests/conformance/run.py"))
        .arg("--bin")
        .arg(&helper)
        .arg("--local")
        .arg(&local)
        .current_dir(root)
        .output()
        .expect("python3 is needed to run tests/conformance/run.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "conformance cases failed (or an expected failure passed: remove it from \
         tests/conformance/expected_failures.json):\n{stdout}\n{stderr}"
    );
}
