//! The system tools tests run (SoftHSM2, swtpm, certmonger, the AWS CLI, Ansible, oathtool...),
//! which `tests/setup.sh` installs. A test that needs one asks here first: when it is missing,
//! the test prints one line naming it and returns, so that `cargo test` on a machine without it
//! says what to install instead of panicking somewhere inside; under CI (`CI=true`, which
//! `.ci/run` sets) a missing tool fails the test with that line instead, so that nothing is
//! skipped unnoticed there.
//!
//! ```ignore
//! if !test_support::have("softhsm2-util") {
//!     return;
//! }
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::workspace_root;

/// Whether `program` is on `PATH`; when it is not, [`missing`] says so (and panics under CI).
pub fn have(program: &str) -> bool {
    if on_path(program).is_some() {
        return true;
    }
    missing(program);
    false
}

/// Whether every one of `programs` is on `PATH`; [`missing`] names the first that is not.
pub fn have_all(programs: &[&str]) -> bool {
    programs.iter().all(|program| have(program))
}

/// The first of `candidates` (full paths of a library or module, say) that exists, or `None`
/// after [`missing`] said that `what` is missing.
pub fn first_existing(what: &str, candidates: &[&str]) -> Option<PathBuf> {
    let found = candidates.iter().map(PathBuf::from).find(|p| p.exists());
    if found.is_none() {
        missing(what);
    }
    found
}

/// The SoftHSM2 PKCS#11 module (`SOFTHSM2_MODULE` if set, else where Debian, Ubuntu and Fedora
/// install it), or `None` after [`missing`].
pub fn softhsm_module() -> Option<String> {
    if let Ok(module) = std::env::var("SOFTHSM2_MODULE") {
        return Some(module);
    }
    first_existing(
        "libsofthsm2.so (SoftHSM2)",
        &[
            "/usr/lib/softhsm/libsofthsm2.so",
            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
            "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
            "/usr/lib64/pkcs11/libsofthsm2.so",
            "/usr/local/lib/softhsm/libsofthsm2.so",
        ],
    )
    .map(|path| path.to_string_lossy().into_owned())
}

/// A program of the project venv (`.venv/bin/<name>`, which `tests/setup.sh` fills from
/// `tests/interop/requirements.txt`), else one on `PATH`, else `None` after [`missing`].
pub fn venv_program(name: &str) -> Option<PathBuf> {
    let venv = workspace_root().join(".venv/bin").join(name);
    if venv.exists() {
        return Some(venv);
    }
    let found = on_path(name);
    if found.is_none() {
        missing(name);
    }
    found
}

/// The AWS CLI: the project venv's, else one on `PATH`, else `None` after [`missing`].
pub fn aws_cli() -> Option<PathBuf> {
    venv_program("aws")
}

/// The project venv's python, else `python3` on `PATH`: for scripts that need only the
/// standard library (see [`venv_python`] for those that import a package).
pub fn python() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// [`python`], if it can import `module` (boto3, cryptography: the venv has them), else `None`
/// after [`missing`] named the module.
pub fn venv_python(module: &str) -> Option<PathBuf> {
    let python = python();
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if imports {
        Some(python)
    } else {
        missing(&format!("the Python module {module}"));
        None
    }
}

/// Says, on one line, that the running test is skipped because `what` is not installed, and
/// what to run; under CI (`CI=true`) panics with that line instead.
///
/// The line goes straight to the process's stderr, past the test harness's capture, so that a
/// plain `cargo test` shows it.
pub fn missing(what: &str) {
    let line = format!("skipped: {what} not found; run tests/setup.sh");
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{line}");
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(std::io::stderr().lock(), "{test}: {line}");
}

/// `program`'s path if it is one (has a slash), else the first executable of that name in the
/// directories of `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return is_executable(Path::new(program)).then(|| PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
