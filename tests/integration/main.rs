//! The integration tests of `aws_signing_helper`, one test binary: each module is an area, and
//! each test runs the real binaries (ours and `rolesanywhere-local`) against real servers on
//! loopback. Run one area with `cargo test --test integration <module>::`.
//!
//! Helpers that run `aws_signing_helper` are in `util`; everything the workspace's test crates
//! share (fixtures, the endpoint, OpenSSL, the system tools a test needs) is in `test-support`.
//! The engine's own tests (AWS4-X509 vectors, the provider with the AWS SDK, the workspace's
//! dependency rules) are `rolesanywhere-credentials/tests/engine/`.

// Ansible's amazon.aws modules using a credential_process profile, with MFA role chaining.
mod ansible;
// --assume-role hops through the endpoint's STS: trust policies, external IDs, MFA codes.
mod assume_role;
// One line on stderr, exit 1 and no panic for each bad file, flag and key/cert mismatch.
mod bad_input;
// The table of 150+ bad invocations across every command; nothing written, nothing leaked.
mod bad_input_matrix;
// credential-process --cache: single flight, killed lock holders, corrupt entries, freshness.
mod cache;
// Renewals by the real certmonger, validated in its hook and handed over without a gap.
mod certmonger;
// trycmd snapshots of --help, version and usage errors (tests/cmd/*.toml).
mod cli;
// The official helper's test tables (tests/conformance/) run against our binary.
mod conformance;
// Keys and bundles crafted to cost unbounded work: refused in bounded time and memory.
mod crafted_keys;
// credential-process end to end against the verifying endpoint.
mod credential_process;
// rolesanywhere-local demo, and its kept-running endpoint used by the AWS CLI and boto3.
mod demo;
// The errors a new user meets first, exactly as printed.
mod first_hour;
// Fleets sharing one CreateSession quota: 30 helpers at 5/s, none exits; patient starts; 429s.
mod fleet;
// Every input of the committed fuzz seeds and regressions, through the fuzz targets' entry points.
mod fuzz_corpora;
// An endpoint that misbehaves on purpose: bounded time, one line, bounded memory.
mod hostile_endpoint;
// IMDSv2 session tokens that prove themselves: floods evict nothing, forgeries fail.
mod imds_tokens;
// The AWS CLI using our credential_process profile against the endpoint's STS.
mod interop;
// ML-DSA keys and certificates against independently made material.
mod mldsa;
// PKCS#11 keys in SoftHSM2 tokens: URIs, PINs, always-authenticate, serve.
mod pkcs11;
// Found in review: validate's ARNs without --live, start-up warnings, one-line update failures.
mod paper_cuts;
// The portable (glibc 2.17) binaries of packaging/build-portable.sh (ignored: build them first).
mod portable;
// The README's quick start, run from the README itself.
mod quickstart;
// read-certificate-data against OpenSSL's view of the same certificates.
mod read_certificate_data;
// serve and update reloading on SIGHUP and riding out renewals.
mod reload;
// --debug output and every file written, scanned for secrets.
mod secrets_scan;
// serve end to end: IMDSv2 and container credentials, as the SDKs ask.
mod serve;
// serve --config: several roles, each with its own token, real clients, reloads, one failing alone.
mod serve_config;
// serve --config files refused in one line, --print-env, the systemd unit and the example file.
mod serve_config_files;
// What idle, half-sent and oversized connections can cost serve.
mod serve_limits;
// serve and update as services: readiness, socket activation, sidecars, hop limits.
mod service;
// sign-string against OpenSSL: every key type, file format and digest.
mod sign_string;
// TPM 2.0 keys against swtpm (a build with --features tpm).
#[cfg(feature = "tpm")]
mod tpm;
// The systemd units, checked by systemd-analyze with this build's binary.
mod units;
// update writing the shared credentials file; the AWS CLI using it.
mod update;
// Helpers that run aws_signing_helper: the endpoint with our flags, serve, one-line errors.
mod util;
// validate: each check and exit status, chains against openssl verify, --live.
mod validate;
// A build without the pkcs11 feature (--no-default-features) names the missing feature.
#[cfg(not(feature = "pkcs11"))]
mod without_pkcs11;
