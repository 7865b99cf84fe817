//! IAM Roles Anywhere credentials, in-process: the engine of the `aws_signing_helper` command
//! line, as a library.
//!
//! IAM Roles Anywhere trades an X.509 certificate and its private key for temporary AWS
//! credentials: the client signs a CreateSession request with the certificate's key (the
//! AWS4-X509 variant of Signature Version 4) and the service answers with a session. This crate
//! does all of it: it opens the certificate and key wherever they live, signs, calls
//! CreateSession (with the AWS SDKs' retries), chains into further roles with sts:AssumeRole,
//! and keeps the credentials fresh, picking up renewed certificates.
//!
//! # Quick start
//!
//! With the `sdk` feature (on by default), [`RolesAnywhereCredentialsProvider`] plugs into the
//! AWS SDK for Rust like any other credentials provider. The settings are those of
//! `aws_signing_helper credential-process`, one builder method per flag:
//!
//! ```
//! # // Hidden: an offline endpoint (rolesanywhere-local) and the test PKI stand in for AWS.
//! # use test_support::standard::{PROFILE as PROFILE_ARN, TRUST_ANCHOR as TA};
//! # use test_support::ROLE;
//! # let endpoint = test_support::Endpoint::start(
//! #     test_support::local_binary(),
//! #     &test_support::standard::config(&test_support::testdata("pki/ca/root.pem")),
//! #     &["--plain-http"],
//! # );
//! # let (cert, key) = (test_support::pki("ec-p256", "cert.pem"), test_support::pki("ec-p256", "key-pkcs8.pem"));
//! # let chain = test_support::pki("ec-p256", "chain.pem");
//! # let url = endpoint.url();
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use aws_config::BehaviorVersion;
//! use rolesanywhere_credentials::RolesAnywhereCredentialsProvider;
//!
//! let provider = RolesAnywhereCredentialsProvider::builder()
//!     .certificate(&cert)             // a file, or a pkcs11: URI
//!     .private_key(&key)              // a file, a pkcs11: URI, a TPM key file or handle:
//!     .intermediates(&chain)
//!     .trust_anchor_arn(TA)
//!     .profile_arn(PROFILE_ARN)
//!     .role_arn(ROLE)
//! #   .endpoint(&url)
//!     .build()?;
//! let config = aws_config::defaults(BehaviorVersion::latest())
//!     .credentials_provider(provider)
//! #   .region(aws_config::Region::new("us-east-1")).endpoint_url(&url)
//! #   .http_client(aws_smithy_http_client::Builder::new().tls_provider(
//! #       aws_smithy_http_client::tls::Provider::Rustls(
//! #           aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring)).build_https())
//!     .load()
//!     .await;
//! let sts = aws_sdk_sts::Client::new(&config);
//! let me = sts.get_caller_identity().send().await.expect("GetCallerIdentity");
//! println!("{}", me.arn().unwrap_or_default());
//! # assert!(me.arn().unwrap().contains(":assumed-role/test-role/"));
//! # Ok::<(), rolesanywhere_credentials::Error>(())
//! # }).unwrap();
//! ```
//!
//! The provider opens the identity at its first call and keeps it, refreshes the credentials
//! before they expire (concurrent callers share one CreateSession), and picks up a certificate
//! renewed on disk at the next refresh. [`RolesAnywhereCredentialsProvider::from_args`] takes
//! the flags of a profile's `credential_process` line unchanged, and
//! [`RolesAnywhereCredentialsProvider::credentials`] serves callers that do not use the SDK.
//!
//! # What is where
//!
//! * [`identity`]: certificates and private keys from files (PEM, DER, PKCS#8, PKCS#12, legacy
//!   encrypted PEM), PKCS#11 tokens and TPM 2.0, behind the [`identity::X509Signer`] trait; the
//!   trust model's end-entity rules and path validation ([`identity::trust_rules`]).
//! * [`signing`]: AWS4-X509, pure, with the clock passed in.
//! * [`session`]: the remote calls: CreateSession, sts:AssumeRole hops with MFA, the SDKs' retry
//!   modes, and the checks every answer passes.
//! * [`config`]: the settings as the command line spells them ([`config::CredentialArgs`]) and
//!   validated ([`config::Options`]).
//! * [`pipeline`]: credential sources over time: CreateSession reopening renewed files, the
//!   on-disk cache with single flight, the refresh loop.
//! * [`credentials`]: the [`Credentials`] themselves and the [`credentials::CredentialSource`]
//!   trait.
//! * [`net`]: endpoint resolution (`AWS_ENDPOINT_URL*`, FIPS, dual-stack) and the HTTP client
//!   (rustls, `AWS_CA_BUNDLE`, proxies only when asked).
//! * [`error`]: every failure, one variant each, rendered as one line by [`Error::report`].
//! * [`input`], [`filestamp`], [`report`], [`log`]: the building blocks the command line shares
//!   with the engine: reading input files safely, noticing changed files, one-line reports, and
//!   the diagnostic lines on stderr.
//!
//! # Cargo features
//!
//! * `pkcs11` (default): keys in PKCS#11 tokens, through a module loaded at run time.
//! * `tpm`: keys in a TPM 2.0; links the system's tpm2-tss (libtss2-dev to build).
//! * `sdk` (default): [`RolesAnywhereCredentialsProvider`] implements the AWS SDK for Rust's
//!   `ProvideCredentials`.
//!
//! A build without a backend answers a key of that kind with
//! [`identity::Error::NotInThisBuild`], naming the feature.

// No unsafe code in this crate, but for one module: identity::pkcs11::enabled::single_sign, a
// single-part C_Sign the PKCS#11 binding cannot make (its safety argument is written there).
// FFI otherwise stays inside audited dependencies.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod arn;
pub mod config;
pub mod credentials;
pub mod error;
pub mod filestamp;
#[doc(hidden)]
pub mod fuzzing;
pub mod identity;
pub mod input;
pub mod log;
pub mod net;
pub mod pipeline;
pub mod provider;
pub mod report;
pub mod session;
pub mod signing;

pub use credentials::{Credentials, Issued};
pub use error::{Error, Result};
pub use provider::{AssumeRole, Builder, RolesAnywhereCredentialsProvider};
