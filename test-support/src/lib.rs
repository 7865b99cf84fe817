//! The one crate of test helpers, shared by the integration tests of every package of the
//! workspace (a dev-dependency only): where the fixtures are, the endpoint's standard test
//! configuration, running `rolesanywhere-local` on a loopback port, a misbehaving endpoint,
//! OpenSSL as the independent tool tests check with, and the system tools tests need (a missing
//! one skips the test with one line, or fails it under CI).
//!
//! What only one package's tests need stays in that package's integration-test crate: running
//! `aws_signing_helper` (`tests/integration/util/`) and the emulator's own OpenSSL request signer
//! (`rolesanywhere-local/tests/integration/common.rs`).

use std::path::{Path, PathBuf};

pub mod endpoint;
pub mod hostile;
pub mod openssl;
pub mod softhsm;
pub mod standard;
pub mod tools;

pub use endpoint::{local_binary, local_binary_beside, Endpoint};
pub use tools::{aws_cli, have, python, venv_python};

/// The account of every test configuration.
pub const ACCOUNT: &str = "123456789012";
/// The role every test configuration lets sessions assume.
pub const ROLE: &str = "arn:aws:iam::123456789012:role/test-role";

/// RSA leaf key types in the fixture PKI.
pub const RSA_KINDS: [&str; 5] = ["rsa-1024", "rsa-2048", "rsa-3072", "rsa-4096", "rsa-8192"];
/// EC leaf key types in the fixture PKI.
pub const EC_KINDS: [&str; 3] = ["ec-p256", "ec-p384", "ec-p521"];

/// The workspace's root directory.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support is a directory of the workspace root")
}

/// `testdata/<rel>` (made by `testdata/gen.sh`, committed).
pub fn testdata(rel: &str) -> PathBuf {
    workspace_root().join("testdata").join(rel)
}

/// `testdata/pki/<kind>/<file>` as a string argument.
pub fn pki(kind: &str, file: &str) -> String {
    testdata(&format!("pki/{kind}/{file}"))
        .to_string_lossy()
        .into_owned()
}
