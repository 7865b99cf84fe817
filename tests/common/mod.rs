//! The shared helpers `tests/aws4_x509.rs` uses (a standalone test of the library's internals,
//! not part of `tests/integration/`): they live in the `test-support` crate.

pub use test_support::openssl::verify as openssl_verify;
pub use test_support::testdata;
