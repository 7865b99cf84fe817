//! The engine's integration tests, one binary with a module per area (the command line's
//! behaviour is tested in the root package's `tests/`).

// AWS4-X509 stage by stage against vectors made with printf and OpenSSL.
mod aws4_x509;
// RolesAnywhereCredentialsProvider with the real AWS SDK for Rust against rolesanywhere-local.
mod provider;
// The workspace's dependency rules, from cargo metadata.
mod workspace;
