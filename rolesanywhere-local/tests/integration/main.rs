//! The integration tests of `rolesanywhere-local`, one test binary: each module is an area. The
//! endpoint is checked against an independent signer (OpenSSL's command line, in `common`) and
//! recorded vectors. Run one area with `cargo test -p rolesanywhere-local --test integration
//! <module>::`. The fuzz corpus replay is a test crate of its own (`tests/local_fuzz_corpus.rs`).

// Configurations around the vectors' ARNs and the OpenSSL-based AWS4-X509 and SigV4 signer.
mod common;
// The endpoint embedded in-process, as `demo` does: demo PKI, generated TLS CA, a fixed clock.
mod embed;
// The verifier on ML-DSA requests and chains signed by dilithium-py.
mod mldsa;
// The per-account rate limit (--rate-limit): 429 ThrottlingException, STS Throttling, /_stats.
mod quota;
// The binary driven from outside: startup, configuration errors, faults, a CreateSession and STS round trip.
mod server;
// The CreateSession verifier against recorded vectors and each kind of tampering.
mod verify;
