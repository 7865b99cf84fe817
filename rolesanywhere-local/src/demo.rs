//! `rolesanywhere-local demo`: the whole product in one command, with no AWS account.
//!
//! Provisions a throwaway CA and an EC P-256 leaf, starts the verifying endpoint on loopback over
//! TLS, runs the real `aws_signing_helper credential-process` (the binary next to this one)
//! against it, and shows the endpoint's verdict and the credentials. With `--keep-running` the
//! endpoint then stays up until SIGINT or SIGTERM, and the demo writes what a client needs to use
//! it: `env.sh` (the exports), `aws-config` (a profile that works as pasted, and a chained one),
//! and the command that restarts the same endpoint (same port, same TLS CA) later.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::pki::{self, DemoPki, DemoTls};
use super::{serve, Config, Error, ServeOptions, TlsMode};

/// Name of the profile the demo writes.
pub const PROFILE: &str = "rolesanywhere-demo";
/// Name of the profile that assumes the chained role from [`PROFILE`].
pub const CHAINED_PROFILE: &str = "rolesanywhere-demo-chained";

/// How the demo runs.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Where to listen; port 0 reuses the port of an earlier demo in the same directory, or
    /// picks a free one.
    pub listen: SocketAddr,
    /// Keep the endpoint running after the demo, until `stop` completes.
    pub keep_running: bool,
}

/// Runs the demo, writing files under `dir` and the report to `out`. With
/// [`DemoOptions::keep_running`], serves until `stop` completes.
///
/// # Errors
/// When the PKI cannot be written, the endpoint cannot start, or the helper fails.
pub async fn run(
    dir: &Path,
    helper: &Path,
    options: &DemoOptions,
    out: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> Result<(), Error> {
    if !helper.is_file() {
        return Err(Error::Usage(format!(
            "{} not found; build both binaries first: cargo build --release",
            helper.display()
        )));
    }
    let demo = pki::generate_demo(dir)?;
    let tls = pki::demo_tls(dir)?;
    let config = Config::load(&demo.config)?;
    let port_file = dir.join("port");
    let mut listen = options.listen;
    if listen.port() == 0 && options.keep_running {
        // The same port as last time, so that exports and profiles written then still work.
        if let Some(port) = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
        {
            listen.set_port(port);
        }
    }
    let server = serve(
        config,
        ServeOptions {
            listen,
            tls: TlsMode::Files {
                cert: tls.cert.clone(),
                key: tls.key.clone(),
            },
            log: false,
            ..ServeOptions::default()
        },
    )
    .await?;
    let url = server.url();
    write_file(&port_file, &format!("{}\n", server.local_addr().port()))?;

    let args = helper_args(&demo);
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
            "2. rolesanywhere-local verifies CreateSession (AWS4-X509) and STS on {url}\n   trust anchor {}\n   profile      {}\n   role         {}\n   chained role {} (the role may sts:AssumeRole into it)\n",
            demo.trust_anchor_arn,
            demo.profile_arn,
            demo.role_arn,
            pki::DEMO_CHAINED_ROLE_ARN
        ),
    );
    report(
        out,
        format!(
            "3. Running: AWS_CA_BUNDLE={} AWS_ENDPOINT_URL={url} \\\n     {} {}\n",
            tls.ca.display(),
            helper.display(),
            args.join(" ")
        ),
    );

    let output = run_helper(helper, &args, &tls.ca, &url).await?;
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

    let profiles = profiles(&demo, helper, &args);
    let aws_config = dir.join("aws-config");
    write_file(&aws_config, &profiles)?;
    let env = exports(&tls, &url, &aws_config);
    let env_file = dir.join("env.sh");
    write_file(&env_file, &env)?;
    if !options.keep_running {
        report(
            out,
            format!(
                "6. The endpoint stops with this demo. To keep it running and use it from the AWS \
                 CLI, boto3 or any SDK:\n\n   rolesanywhere-local demo --keep-running --dir {}\n",
                dir.display()
            ),
        );
        return server.shutdown().await.map(|_stats| ());
    }
    report(
        out,
        format!(
            "6. The endpoint keeps running on {url} until Ctrl-C. In another shell:\n\n\
             . {env}\n\
             aws sts get-caller-identity --profile {PROFILE}\n\
             aws sts get-caller-identity --profile {CHAINED_PROFILE}\n\
             python3 -c 'import boto3; print(boto3.Session(profile_name=\"{PROFILE}\").client(\"sts\").get_caller_identity()[\"Arn\"])'\n\n\
             {env} sets:\n\n{exports}\n\
             and {aws_config} holds (paste it into ~/.aws/config instead, if you like, and export\n\
             only the first two variables):\n\n{profiles}",
            env = env_file.display(),
            exports = indent(&env),
            aws_config = aws_config.display(),
            profiles = indent(&profiles),
        ),
    );
    report(
        out,
        format!(
            "7. Next: serve the demo credentials to SDKs, or keep a credentials file fresh:\n\n\
             {helper} serve {identity} &\n\
             AWS_SHARED_CREDENTIALS_FILE={credentials} {helper} update --profile demo --once {identity}\n\n\
             To restart this endpoint later with the same port and TLS CA:\n\n\
             {local} --config {config} --listen {listen} --tls-cert {cert} --tls-key {key}\n",
            helper = helper.display(),
            identity = args[1..].join(" "),
            credentials = dir.join("credentials").display(),
            local = std::env::current_exe()
                .unwrap_or_else(|_| PathBuf::from("rolesanywhere-local"))
                .display(),
            config = demo.config.display(),
            listen = server.local_addr(),
            cert = tls.cert.display(),
            key = tls.key.display(),
        ),
    );
    let _ = out.flush();
    stop.await;
    server.shutdown().await.map(|_stats| ())
}

/// Runs `credential-process` with the demo identity, trusting the endpoint's CA and reaching it
/// through `AWS_ENDPOINT_URL`, as a user following the demo would.
async fn run_helper(
    helper: &Path,
    args: &[String],
    ca: &Path,
    url: &str,
) -> Result<std::process::Output, Error> {
    let (helper_path, ca, url, args) = (
        helper.to_path_buf(),
        ca.to_path_buf(),
        url.to_string(),
        args.to_vec(),
    );
    // The endpoint runs on this thread's runtime: wait for the helper on a blocking thread.
    tokio::task::spawn_blocking(move || {
        Command::new(&helper_path)
            .args(&args)
            .env("AWS_CA_BUNDLE", &ca)
            .env("AWS_ENDPOINT_URL", &url)
            .env_remove("AWS_ENDPOINT_URL_ROLESANYWHERE")
            .output()
    })
    .await
    .map_err(|e| Error::Usage(format!("the helper did not run: {e}")))?
    .map_err(|source| Error::Io {
        what: "cannot run",
        path: helper.to_path_buf(),
        source,
    })
}

/// The `credential-process` arguments for the demo identity (no `--endpoint`: the exports
/// point every client at the endpoint).
fn helper_args(demo: &DemoPki) -> Vec<String> {
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
    ]
}

/// The `~/.aws/config` profiles: the Roles Anywhere one, and one chaining into the second role.
fn profiles(demo: &DemoPki, helper: &Path, args: &[String]) -> String {
    format!(
        "[profile {PROFILE}]\n\
         region = {region}\n\
         credential_process = {helper} {args}\n\n\
         [profile {CHAINED_PROFILE}]\n\
         region = {region}\n\
         source_profile = {PROFILE}\n\
         role_arn = {chained}\n",
        region = demo.region,
        helper = helper.display(),
        args = args.join(" "),
        chained = pki::DEMO_CHAINED_ROLE_ARN,
    )
}

/// What a shell must export to use the endpoint: its CA, its URL (for CreateSession and STS
/// alike), and the demo's config file.
fn exports(tls: &DemoTls, url: &str, aws_config: &Path) -> String {
    format!(
        "export AWS_CA_BUNDLE={}\nexport AWS_ENDPOINT_URL={url}\nexport AWS_CONFIG_FILE={}\n",
        tls.ca.display(),
        aws_config.display()
    )
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        what: "cannot write",
        path: path.to_path_buf(),
        source,
    })
}
