//! STS GetCallerIdentity through `RolesAnywhereCredentialsProvider`: the AWS SDK for Rust with
//! IAM Roles Anywhere credentials, no child process, no files.
//!
//! The arguments are those of a profile's `credential_process = aws_signing_helper
//! credential-process ...` line, unchanged. Against the demo endpoint (no AWS account needed):
//!
//! ```sh
//! rolesanywhere-local demo --keep-running --dir ~/ra-demo     # in another terminal
//! . ~/ra-demo/env.sh
//! AWS_REGION=us-east-1 cargo run -p rolesanywhere-credentials --example sdk_sts -- \
//!     --certificate ~/ra-demo/client/cert.pem --intermediates ~/ra-demo/client/chain.pem \
//!     --private-key ~/ra-demo/client/key.pem \
//!     --trust-anchor-arn arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d3f1c9e-7a52-4b8e-9c61-5e2a7b4d1f00 \
//!     --profile-arn arn:aws:rolesanywhere:us-east-1:123456789012:profile/6a1e4b27-93c0-4d5f-8e12-0b7c9d3a2e11 \
//!     --role-arn arn:aws:iam::123456789012:role/demo-role
//! ```
//!
//! The provider reads `AWS_CA_BUNDLE` and `AWS_ENDPOINT_URL` as the command line does; the SDK
//! reads `AWS_ENDPOINT_URL` and `AWS_REGION` itself, and this example adds `AWS_CA_BUNDLE`'s
//! certificates to the SDK's trust store (the SDK for Rust has no such variable of its own).
//! Against AWS, leave the endpoint and the bundle unset.

use std::process::ExitCode;

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use rolesanywhere_credentials::RolesAnywhereCredentialsProvider;

#[tokio::main]
async fn main() -> ExitCode {
    let provider = match RolesAnywhereCredentialsProvider::from_args(std::env::args_os().skip(1)) {
        Ok(provider) => provider,
        Err(e) => {
            eprintln!("sdk_sts: {}", e.report());
            return ExitCode::FAILURE;
        }
    };
    let mut trust = TrustStore::default();
    if let Some(bundle) = std::env::var_os("AWS_CA_BUNDLE") {
        match std::fs::read(&bundle) {
            Ok(pem) => trust = trust.with_pem_certificate(pem),
            Err(e) => {
                eprintln!("sdk_sts: AWS_CA_BUNDLE {}: {e}", bundle.to_string_lossy());
                return ExitCode::FAILURE;
            }
        }
    }
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a TLS context of a trust store always builds");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(context)
        .build_https();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .credentials_provider(provider)
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&config);
    match sts.get_caller_identity().send().await {
        Ok(identity) => {
            println!("{}", identity.arn().unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sdk_sts: {}", aws_sdk_sts::error::DisplayErrorContext(e));
            ExitCode::FAILURE
        }
    }
}
