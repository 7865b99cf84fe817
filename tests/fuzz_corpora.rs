//! Every input of the committed fuzz corpora (`fuzz/corpus/<target>/`), fed to the same entry
//! point its fuzz target calls (`aws_signing_helper::fuzzing`), with stable Rust: what the
//! fuzzers found interesting keeps being checked on every `cargo test`, and a fixed crash
//! (committed to the corpus) stays fixed. The fuzzers themselves need nightly: see README.md,
//! "Hardening".

use std::path::Path;

use aws_signing_helper::fuzzing as cli_fuzzing;
use rolesanywhere_credentials::fuzzing;

/// Feeds every file of `fuzz/corpus/<target>` to `run`; returns how many there were.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        // A fuzzer running on the corpus replaces inputs with smaller ones meanwhile.
        let data = match std::fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
        count += 1;
    }
    assert!(count > 0, "the {target} corpus is empty");
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
    replay("key", fuzzing::key);
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
