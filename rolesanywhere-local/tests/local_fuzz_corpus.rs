//! Every committed input of the verifier's fuzz target, fed to the entry point the target calls,
//! with stable Rust, on every `cargo test`: the seeds (`fuzz/seeds/local_verify/`), any input
//! that once found a defect (`fuzz/regressions/local_verify/`, none so far), and a campaign's
//! untracked working corpus (`fuzz/corpus/local_verify/`) when it exists. See fuzz/README.md.

use std::path::{Path, PathBuf};

#[test]
fn local_verify() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut failed = Vec::new();
    let seeds = replay_dir(&fuzz.join("seeds/local_verify"), true, &mut failed);
    replay_dir(&fuzz.join("regressions/local_verify"), false, &mut failed);
    replay_dir(&fuzz.join("corpus/local_verify"), false, &mut failed);
    assert!(
        failed.is_empty(),
        "{} input(s) fail: {failed:#?}",
        failed.len()
    );
    assert!(seeds > 0, "fuzz/seeds/local_verify is empty");
}

/// Runs every file of `dir` (which may be absent unless `required`), recording the ones that
/// panic in `failed`; returns how many ran.
fn replay_dir(dir: &Path, required: bool, failed: &mut Vec<PathBuf>) -> usize {
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
        let outcome =
            std::panic::catch_unwind(|| rolesanywhere_local::fuzzing::verify_request(&data));
        if outcome.is_err() {
            failed.push(path);
        }
        count += 1;
    }
    count
}
