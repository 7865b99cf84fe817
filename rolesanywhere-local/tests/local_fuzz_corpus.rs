//! Every input of the verifier's committed fuzz corpus (`fuzz/corpus/local_verify/`), fed to
//! the entry point its fuzz target calls, with stable Rust, on every `cargo test`.

use std::path::Path;

#[test]
fn local_verify() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/local_verify");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        // A fuzzer running on the corpus replaces inputs with smaller ones meanwhile.
        let data = match std::fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let outcome =
            std::panic::catch_unwind(|| rolesanywhere_local::fuzzing::verify_request(&data));
        assert!(outcome.is_ok(), "{} fails", path.display());
        count += 1;
    }
    assert!(count > 0, "the corpus is empty");
}
