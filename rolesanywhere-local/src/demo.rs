//! `rolesanywhere-local demo`: the whole product in one command, with no AWS account.
//!
//! Provisions a throwaway CA and an EC P-256 leaf, starts the verifying endpoint on loopback over
//! TLS, runs the real `aws_signing_helper credential-process` (the binary next to this one)
//! against it, shows the endpoint's verdict, the credentials, and the `~/.aws/config` profile to
//! paste.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{pki, serve, Config, Error, ServeOptions, TlsMode};

/// Runs the demo, writing files under `dir` and the report to `out`.
///
/// # Errors
/// When the PKI cannot be written, the endpoint cannot start, or the helper fails.
pub async fn run(dir: &Path, helper: &Path, out: &mut impl Write) -> Result<(), Error> {
    let io = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { what, path, source }
    };
    if !helper.is_file() {
        return Err(Error::Usage(format!(
            "{} not found; build both binaries first: cargo build --release",
            helper.display()
        )));
    }
    let demo = pki::generate_demo(dir)?;
    let config = Config::load(&demo.config)?;
    let server = serve(
        config,
        ServeOptions {
            tls: TlsMode::Generate,
            log: false,
            ..ServeOptions::default()
        },
    )
    .await?;
    let ca = dir.join("endpoint-ca.pem");
    std::fs::write(&ca, server.ca_pem().unwrap_or_default()).map_err(io("CA file", &ca))?;
    let url = server.url();

    let args = helper_args(&demo, &url);
    let report = |out: &mut dyn Write, text: String| {
        // The report is best effort: a closed stdout must not hide the helper's result.
        let _ = writeln!(out, "{text}");
    };
    report(
        out,
        format!(
            "1. Throwaway PKI in {}:\n   root CA -> intermediate CA -> leaf {} (EC P-256, serial {})\n",
            dir.display(),
            demo.certificate.display(),
            demo.serial
        ),
    );
    report(
        out,
        format!(
            "2. rolesanywhere-local verifies CreateSession (AWS4-X509) and STS on {url}\n   trust anchor {}\n   profile      {}\n   role         {}\n",
            demo.trust_anchor_arn, demo.profile_arn, demo.role_arn
        ),
    );
    report(
        out,
        format!(
            "3. Running: AWS_CA_BUNDLE={} {} {}\n",
            ca.display(),
            helper.display(),
            args.join(" ")
        ),
    );

    let helper_path = helper.to_path_buf();
    let ca_path = ca.clone();
    let child_args = args.clone();
    // The endpoint runs on this thread's runtime: wait for the helper on a blocking thread.
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&helper_path)
            .args(&child_args)
            .env("AWS_CA_BUNDLE", &ca_path)
            .output()
    })
    .await
    .map_err(|e| Error::Usage(format!("the helper did not run: {e}")))?
    .map_err(io("helper", helper))?;

    if let Some(call) = server.calls().last() {
        let verdict = if call.ok {
            "accepted".to_string()
        } else {
            format!(
                "rejected: {} {}",
                call.error_type.as_deref().unwrap_or(""),
                call.message.as_deref().unwrap_or("")
            )
        };
        report(
            out,
            format!(
                "4. Endpoint verdict: {verdict}\n   algorithm {}, certificate serial {}, signed headers {}\n",
                call.algorithm.as_deref().unwrap_or("?"),
                call.serial.as_deref().unwrap_or("?"),
                call.signed_headers.join(";")
            ),
        );
    }
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::Usage(format!(
            "credential-process failed: {}",
            stderr.trim()
        )));
    }
    report(
        out,
        format!(
            "5. credential-process printed (the credential_process JSON):\n   {}\n",
            String::from_utf8_lossy(&output.stdout)
        ),
    );
    report(
        out,
        format!(
            "6. Ready-to-paste ~/.aws/config profile (this endpoint lives only while the demo runs;\n   \
             for AWS, drop --endpoint and use your own certificate, key and ARNs):\n\n\
             [profile rolesanywhere-demo]\n\
             region = {}\n\
             credential_process = {} {}\n",
            demo.region,
            helper.display(),
            args.join(" ")
        ),
    );
    server.shutdown().await
}

/// The `credential-process` arguments for the demo identity.
fn helper_args(demo: &pki::DemoPki, url: &str) -> Vec<String> {
    let path = |p: &PathBuf| p.display().to_string();
    vec![
        "credential-process".into(),
        "--certificate".into(),
        path(&demo.certificate),
        "--intermediates".into(),
        path(&demo.intermediates),
        "--private-key".into(),
        path(&demo.private_key),
        "--trust-anchor-arn".into(),
        demo.trust_anchor_arn.clone(),
        "--profile-arn".into(),
        demo.profile_arn.clone(),
        "--role-arn".into(),
        demo.role_arn.clone(),
        "--endpoint".into(),
        url.to_string(),
    ]
}
