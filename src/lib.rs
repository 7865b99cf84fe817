//! IAM Roles Anywhere credential helper: the library behind the `aws_signing_helper` binary.
//!
//! * [`identity`] loads a certificate, its chain and a private key from wherever they live
//!   (files, PKCS#11 tokens, TPM 2.0) behind one [`identity::X509Signer`] trait.
//! * [`sigv4x509`] is the pure AWS4-X509 signing algorithm: canonical request, string to sign and
//!   Authorization header, with the clock passed in.
//! * [`credentials`] is the pipeline: credential sources (CreateSession first) and the refresh
//!   loop that `serve` and `update` deliver from.
//!
//! See docs/DESIGN.md for the layers and the rules between them.

// No unsafe code in this crate, but for one module: identity::pkcs11::enabled::single_sign, a
// single-part C_Sign the PKCS#11 binding cannot make (its safety argument is written there).
// FFI otherwise stays inside audited dependencies.
#![deny(unsafe_code)]

pub mod arn;
pub mod cli;
pub mod commands;
pub mod credentials;
pub mod credentials_file;
pub mod endpoint;
pub mod error;
pub mod filestamp;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod identity;
pub mod input;
pub mod log;
pub mod options;
pub mod report;
pub mod serve;
pub mod sigv4x509;
pub mod systemd;
pub mod tls;
pub mod update;
