//! What the provider costs, next to `aws_signing_helper credential-process` in the same run
//! (`benches/provider.sh` builds both and runs this; figures go into docs/benchmarks.md):
//!
//! * **first credentials**: a new provider's first `credentials()` (opening the key, a TLS
//!   handshake, CreateSession), against a cold `credential-process` (a process start, the same
//!   work, and the JSON on stdout), interleaved in rounds against one `rolesanywhere-local` on
//!   loopback over TLS;
//! * **a cached call**: `credentials()` and the SDK's `provide_credentials()` on a provider that
//!   holds fresh credentials.
//!
//! Not a test: nothing here asserts a time.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::provider::ProvideCredentials;
use rolesanywhere_credentials::RolesAnywhereCredentialsProvider;
use test_support::standard::{config as config_text, PROFILE, TRUST_ANCHOR};
use test_support::{local_binary, pki, testdata, Endpoint, ROLE};

const ROUNDS: usize = 20;
const PER_ROUND: usize = 10;
const CACHED_CALLS: u32 = 200_000;

fn main() {
    let endpoint = Endpoint::start(
        local_binary(),
        &config_text(&testdata("pki/ca/root.pem")),
        &[],
    );
    // The provider reads AWS_CA_BUNDLE as the command line does; set before any thread starts.
    std::env::set_var("AWS_CA_BUNDLE", endpoint.ca());
    let kind = std::env::var("KIND").unwrap_or_else(|_| "ec-p256".into());
    let (cert, key) = (pki(&kind, "fullchain.pem"), pki(&kind, "key-pkcs8.pem"));
    let url = endpoint.url();
    let flags = [
        "--certificate",
        &cert,
        "--private-key",
        &key,
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
        &url,
    ];
    let helper = helper_binary();

    let mut in_process = Vec::new();
    let mut cold_process = Vec::new();
    for _ in 0..ROUNDS {
        for _ in 0..PER_ROUND {
            let started = Instant::now();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            let provider = RolesAnywhereCredentialsProvider::from_args(flags).expect("valid flags");
            runtime
                .block_on(provider.credentials())
                .expect("credentials");
            in_process.push(started.elapsed());
        }
        for _ in 0..PER_ROUND {
            let started = Instant::now();
            let out = Command::new(&helper)
                .arg("credential-process")
                .args(flags)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .output()
                .expect("run aws_signing_helper");
            cold_process.push(started.elapsed());
            assert!(out.status.success(), "credential-process failed");
        }
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let provider = RolesAnywhereCredentialsProvider::from_args(flags).expect("valid flags");
    runtime
        .block_on(provider.credentials())
        .expect("credentials");
    let started = Instant::now();
    for _ in 0..CACHED_CALLS {
        runtime
            .block_on(provider.credentials())
            .expect("credentials");
    }
    let cached = started.elapsed() / CACHED_CALLS;
    let started = Instant::now();
    for _ in 0..CACHED_CALLS {
        runtime
            .block_on(provider.provide_credentials())
            .expect("credentials");
    }
    let cached_sdk = started.elapsed() / CACHED_CALLS;

    let (first, cold) = (median(&mut in_process), median(&mut cold_process));
    println!(
        "{kind}, TLS on loopback, medians of {} runs each in {ROUNDS} interleaved rounds:",
        ROUNDS * PER_ROUND
    );
    println!(
        "  provider, first credentials:         {:>8.2} ms",
        ms(first)
    );
    println!(
        "  credential-process, cold:            {:>8.2} ms",
        ms(cold)
    );
    println!(
        "  ratio (provider / credential-process): {:.2}",
        first.as_secs_f64() / cold.as_secs_f64()
    );
    println!(
        "  provider, cached credentials():      {:>8.2} us (mean of {CACHED_CALLS})",
        us(cached)
    );
    println!(
        "  provider, cached provide_credentials(): {:>5.2} us (mean of {CACHED_CALLS})",
        us(cached_sdk)
    );
}

/// The `aws_signing_helper` built beside this benchmark (`cargo build --release` first).
fn helper_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the benchmark's path");
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("benchmarks live in <target>/<profile>/deps");
    let helper = profile.join("aws_signing_helper");
    assert!(
        helper.exists(),
        "{} is missing: run benches/provider.sh, which builds it",
        helper.display()
    );
    helper
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
