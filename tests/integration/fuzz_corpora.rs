//! Every committed input of the fuzz targets, fed to the same entry point its fuzz target calls
//! (`rolesanywhere_credentials::fuzzing` and `aws_signing_helper::fuzzing`), with stable Rust, on every `cargo test`: the hand-picked
//! seeds (`fuzz/seeds/<target>/`) and every input that once found a defect
//! (`fuzz/regressions/<target>/`), so a fixed defect stays fixed. A campaign's working corpus
//! (`fuzz/corpus/<target>/`, not tracked) is replayed too when it exists. See fuzz/README.md;
//! the fuzzers themselves need nightly (docs/operations.md).

use std::path::{Path, PathBuf};

use aws_signing_helper::fuzzing as cli_fuzzing;
use rolesanywhere_credentials::fuzzing;

/// Feeds every file of `fuzz/seeds/<target>` (which must exist), `fuzz/regressions/<target>` and
/// `fuzz/corpus/<target>` (either may be absent) to `run`; fails if an input fails or if the
/// target has no seed. Returns how many regression inputs ran.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let dir = |kind: &str| fuzz.join(kind).join(target);
    let mut failed = Vec::new();
    let seeds = replay_dir(&dir("seeds"), true, run, &mut failed);
    let regressions = replay_dir(&dir("regressions"), false, run, &mut failed);
    replay_dir(&dir("corpus"), false, run, &mut failed);
    assert!(
        failed.is_empty(),
        "{target}: {} input(s) fail: {failed:#?}",
        failed.len()
    );
    assert!(seeds > 0, "fuzz/seeds/{target} is empty");
    regressions
}

/// Runs every file of `dir` (which may be absent unless `required`), recording the ones that
/// panic in `failed`; returns how many ran.
fn replay_dir(dir: &Path, required: bool, run: fn(&[u8]), failed: &mut Vec<PathBuf>) -> usize {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return 0,
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    let mut count = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        // A fuzzer running on the working corpus replaces inputs with smaller ones meanwhile.
        let data = match std::fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            failed.push(path);
        }
        count += 1;
    }
    count
}

#[test]
fn pem() {
    replay("pem", fuzzing::pem);
}

#[test]
fn certificate() {
    replay("certificate", fuzzing::certificates);
}

#[test]
fn key() {
    let regressions = replay("key", fuzzing::key);
    // The inputs of the key target's three findings (fuzz/README.md) stay in the replay.
    assert!(
        regressions >= 5,
        "fuzz/regressions/key has lost inputs: {regressions} replayed"
    );
}

#[test]
fn pkcs12() {
    replay("pkcs12", fuzzing::pkcs12);
}

#[test]
fn pkcs11_uri() {
    replay("pkcs11_uri", fuzzing::pkcs11_uri);
}

#[test]
fn credentials_file() {
    replay("credentials_file", cli_fuzzing::credentials_file);
}

#[test]
fn create_session_response() {
    replay("create_session_response", fuzzing::create_session_response);
}

#[test]
fn serve_request() {
    replay("serve_request", cli_fuzzing::serve_request);
}

#[test]
fn sts_response() {
    replay("sts_response", fuzzing::sts_response);
}

#[test]
fn cache_entry() {
    replay("cache_entry", fuzzing::cache_entry);
}
