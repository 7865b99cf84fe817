//! The remote calls: IAM Roles Anywhere CreateSession and STS AssumeRole, with their retries,
//! MFA codes and the checks every answer passes before anything uses it.
//!
//! * [`create_session`]: the CreateSession call itself (request, retries, answer, hints).
//! * `connection`: why a connection failed, for the retry loop and the hints.
//! * [`retry`]: the SDKs' retry modes, attempts and jittered backoff.
//! * [`assume_role`]: sts:AssumeRole hops (role chaining), with [`mfa`] codes.
//! * [`shape`]: what credentials must look like before anything prints, writes or serves them.

pub mod assume_role;
mod connection;
pub mod create_session;
pub mod mfa;
pub mod retry;
pub mod shape;
