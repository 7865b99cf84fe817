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

use test_support::venv_python;

use crate::util::local_binary;

/// The binaries under test: the helper, and `rolesanywhere-local` beside it (built on demand).
fn binaries() -> (PathBuf, PathBuf) {
    let helper = PathBuf::from(env!("CARGO_BIN_EXE_aws_signing_helper"));
    (helper, local_binary().to_path_buf())
}

#[test]
fn official_tables() {
    // The project venv's python: the ML-DSA cases verify with its `cryptography`
    // (tests/interop/requirements.txt), which OpenSSL 3.0 cannot replace.
    let Some(python) = venv_python("cryptography") else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (helper, local) = binaries();
    let out = Command::new(python)
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
