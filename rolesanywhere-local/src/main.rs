//! `rolesanywhere-local`: runs the offline IAM Roles Anywhere (+ minimal STS) endpoint on a
//! loopback address until SIGINT/SIGTERM. The endpoint itself is this crate's library; this file
//! only turns flags into [`ServeOptions`], writes the CA and port files, and waits for a signal.

#![forbid(unsafe_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Parser;
use rolesanywhere_local::{self as local, Clock, Config, Faults, RateLimit, ServeOptions, TlsMode};

/// Offline IAM Roles Anywhere endpoint (and minimal STS) for loopback testing and demos.
///
/// Verifies CreateSession requests (AWS4-X509 signatures, certificate chains, trust anchors,
/// profiles) as strictly as AWS, issues temporary credentials, and answers STS
/// GetCallerIdentity/AssumeRole calls signed with them. Every verdict is logged on stderr and
/// listed at GET /_local/calls; counts of accepted and throttled calls are served at GET /_stats
/// and summed up on stderr at exit.
#[derive(Debug, Parser)]
#[command(name = "rolesanywhere-local", version, subcommand_negates_reqs = true)]
struct Cli {
    /// One-shot demo instead of serving.
    #[command(subcommand)]
    command: Option<Sub>,

    /// Endpoint configuration (TOML: region, account, trust anchors, profiles, roles).
    #[arg(long, value_name = "FILE", required = true)]
    config: Option<PathBuf>,

    /// Address to listen on; must be loopback. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0", value_parser = parse_listen)]
    listen: SocketAddr,

    /// Serve plain HTTP instead of HTTPS.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key", "ca_out"])]
    plain_http: bool,

    /// Server certificate chain (PEM) instead of a generated one.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// Private key (PEM) of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Where to write the generated TLS CA certificate (default: a file in the temp directory,
    /// whose path is printed).
    #[arg(long, value_name = "PATH", conflicts_with = "tls_cert")]
    ca_out: Option<PathBuf>,

    /// Write the bound port to PATH (atomically) once listening.
    #[arg(long, value_name = "PATH")]
    port_file: Option<PathBuf>,

    /// Fail the first N CreateSession calls with --fail-status.
    #[arg(long, value_name = "N", default_value_t = 0)]
    fail_first: u64,

    /// HTTP status of injected failures (400-599).
    #[arg(
        long,
        value_name = "STATUS",
        default_value_t = 500,
        value_parser = clap::value_parser!(u16).range(400..=599)
    )]
    fail_status: u16,

    /// Throttle (429 ThrottlingException) the N CreateSession calls after the failures.
    #[arg(long, value_name = "N", default_value_t = 0)]
    throttle_first: u64,

    /// Throttle (400 Throttling, STS's shape) the first N STS AssumeRole calls.
    #[arg(long, value_name = "N", default_value_t = 0)]
    throttle_assume_role_first: u64,

    /// Throttle CreateSession and STS to N calls a second per account (e.g. 10, 2.5/s).
    ///
    /// Each account gets a token bucket for CreateSession and one for STS, holding N calls (at
    /// least 1) and refilling at N a second: a burst of one second's worth, then N a second. A
    /// call finding its bucket empty is refused before it is verified: CreateSession with 429
    /// ThrottlingException {"message":"Rate exceeded"}, STS with 400 Throttling (XML), as AWS
    /// does. CreateSession is charged to the account of the trust anchor and profile (the one
    /// this endpoint plays), STS calls to the account of the calling credentials. N is a
    /// positive number with at most 3 decimals, optionally followed by /s. Overrides rate_limit
    /// in the configuration; without either, nothing is throttled. GET /_stats counts accepted
    /// and throttled calls, per second too.
    #[arg(long, value_name = "N[/s]", allow_hyphen_values = true)]
    rate_limit: Option<String>,

    /// Delay every API response by MS milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,

    /// Accept CreateSession calls but never answer them (client timeout tests).
    #[arg(long)]
    hang: bool,

    /// Issue sessions that expire SECONDS after they are created, whatever duration was asked
    /// (tests of credential expiry).
    #[arg(long, value_name = "SECONDS")]
    expire_after: Option<u64>,

    /// Pin the server clock to an X-Amz-Date (YYYYMMDDTHHMMSSZ), to replay recorded requests.
    #[arg(long, value_name = "X-AMZ-DATE", hide = true, value_parser = parse_fixed_time)]
    fixed_time: Option<SystemTime>,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Provision a throwaway CA and certificate, start the endpoint on loopback, run the real
    /// `aws_signing_helper credential-process` against it, and print the credentials. With
    /// --keep-running, keep the endpoint up and write the exports and profiles to use it.
    Demo {
        /// Where to write the demo PKI (default: a new directory in the temp directory).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,

        /// Keep the endpoint running after the demo (until Ctrl-C), and write DIR/env.sh (the
        /// exports: AWS_CA_BUNDLE, AWS_ENDPOINT_URL, AWS_CONFIG_FILE) and DIR/aws-config (a
        /// profile that works as pasted, and one that chains into a second role).
        #[arg(long)]
        keep_running: bool,

        /// Address to listen on; must be loopback. Port 0 reuses the port of an earlier demo in
        /// DIR, or picks a free one.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0", value_parser = parse_listen)]
        listen: SocketAddr,
    },
}

fn main() -> ExitCode {
    // Usage errors exit 1, as every other failure (and as aws_signing_helper does); help and
    // --version exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut message = format!("rolesanywhere-local: error: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), local::Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(local::Error::Runtime)?;
    if let Some(Sub::Demo {
        dir,
        keep_running,
        listen,
    }) = cli.command
    {
        let dir = dir.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("rolesanywhere-demo-{}", std::process::id()))
        });
        // The product binary is built next to this one.
        let exe = std::env::current_exe().map_err(local::Error::Runtime)?;
        let helper = exe.with_file_name("aws_signing_helper");
        let options = local::demo::DemoOptions {
            listen,
            keep_running,
        };
        return runtime.block_on(async {
            let signals = Signals::install()?;
            let mut stdout = std::io::stdout();
            local::demo::run(&dir, &helper, &options, &mut stdout, signals.wait()).await
        });
    }
    // Parsed here rather than by clap, so a bad value is one line like every other error.
    let rate_limit = cli
        .rate_limit
        .as_deref()
        .map(str::parse::<RateLimit>)
        .transpose()
        .map_err(|e| local::Error::Usage(format!("--rate-limit {e}")))?;
    // clap enforces --config when no subcommand is given.
    let config = Config::load(cli.config.as_deref().unwrap_or(Path::new("")))?;
    runtime.block_on(serve(cli, config, rate_limit))
}

async fn serve(
    cli: Cli,
    config: Config,
    rate_limit: Option<RateLimit>,
) -> Result<(), local::Error> {
    // Install the signal handlers before announcing the port, so a test that signals as soon as
    // it reads the port file cannot kill us with the default action.
    let signals = Signals::install()?;
    let tls = match (cli.plain_http, cli.tls_cert, cli.tls_key) {
        (true, _, _) => TlsMode::Plain,
        (false, Some(cert), Some(key)) => TlsMode::Files { cert, key },
        _ => TlsMode::Generate,
    };
    let options = ServeOptions {
        listen: cli.listen,
        tls,
        faults: Faults {
            fail_first: cli.fail_first,
            fail_status: cli.fail_status,
            throttle_first: cli.throttle_first,
            throttle_assume_role_first: cli.throttle_assume_role_first,
            latency: Duration::from_millis(cli.latency_ms),
            hang: cli.hang,
            expire_after: cli.expire_after.map(Duration::from_secs),
        },
        clock: cli.fixed_time.map(Clock::fixed).unwrap_or_default(),
        log: true,
        rate_limit,
    };
    let server = local::serve(config, options).await?;

    let mut temporary_ca = None;
    if let Some(ca) = server.ca_pem() {
        let path = match cli.ca_out {
            Some(path) => path,
            None => {
                let path = std::env::temp_dir()
                    .join(format!("rolesanywhere-local-{}-ca.pem", std::process::id()));
                temporary_ca = Some(path.clone());
                path
            }
        };
        write_atomically(&path, ca.as_bytes(), "cannot write CA file")?;
        eprintln!(
            "rolesanywhere-local: TLS CA certificate written to {0} (trust it with \
             AWS_CA_BUNDLE={0})",
            path.display()
        );
    }
    if let Some(path) = &cli.port_file {
        let port = format!("{}\n", server.local_addr().port());
        write_atomically(path, port.as_bytes(), "cannot write port file")?;
    }
    eprintln!("listening on {}", server.url());

    signals.wait().await;
    eprintln!("rolesanywhere-local: shutting down");
    let result = server.shutdown().await;
    for path in cli.port_file.iter().chain(temporary_ca.iter()) {
        // Best effort: a leftover file is harmless, and we are exiting anyway.
        let _ = std::fs::remove_file(path);
    }
    let stats = result?;
    eprintln!("rolesanywhere-local: stats: {}", stats.summary());
    Ok(())
}

/// `127.0.0.1:0`, `[::1]:8080`, or `localhost:PORT` (taken as 127.0.0.1).
fn parse_listen(value: &str) -> Result<SocketAddr, String> {
    if let Some(port) = value.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("'{port}' is not a port number"))?;
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    value
        .parse()
        .map_err(|_| format!("'{value}' is not an address like 127.0.0.1:0 or [::1]:8080"))
}

fn parse_fixed_time(value: &str) -> Result<SystemTime, String> {
    local::parse_amz_date(value)
        .map(local::unix_time)
        .ok_or_else(|| format!("'{value}' is not a date like 20250102T030405Z"))
}

/// Writes `data` to a temporary file next to `path`, then renames it over `path`, so readers
/// never see a partial file.
fn write_atomically(path: &Path, data: &[u8], what: &'static str) -> Result<(), local::Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, data).map_err(|e| local::Error::Io {
        what,
        path: temp.clone(),
        source: e,
    })?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        local::Error::Io {
            what,
            path: path.to_path_buf(),
            source: e,
        }
    })
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), registered up front.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn install() -> Result<Signals, local::Error> {
        use tokio::signal::unix::{signal, SignalKind};

        let install = |kind| signal(kind).map_err(local::Error::Runtime);
        Ok(Signals {
            interrupt: install(SignalKind::interrupt())?,
            terminate: install(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> Result<Signals, local::Error> {
        Ok(Signals {})
    }

    #[cfg(unix)]
    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn wait(self) {
        // Nothing useful can be done if Ctrl-C cannot be watched: run until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn listen_forms() {
        assert_eq!(
            parse_listen("localhost:8080"),
            Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)))
        );
        assert!(parse_listen("[::1]:0").is_ok());
        assert!(parse_listen("nowhere").is_err());
    }

    #[test]
    fn fail_status_must_be_an_error_status() {
        let parsed = Cli::try_parse_from(["x", "--config", "c.toml", "--fail-status", "200"]);
        assert!(parsed.is_err());
        let parsed = Cli::try_parse_from(["x", "--config", "c.toml", "--fail-status", "503"])
            .expect("valid");
        assert_eq!(parsed.fail_status, 503);
    }

    #[test]
    fn rate_limit_is_taken_raw_and_parsed_by_run() {
        let parsed = Cli::try_parse_from(["x", "--config", "c.toml", "--rate-limit", "2.5/s"])
            .expect("valid");
        assert_eq!(parsed.rate_limit.as_deref(), Some("2.5/s"));
        // Even a bad value gets past clap, so that run() reports it on one line.
        let parsed =
            Cli::try_parse_from(["x", "--config", "c.toml", "--rate-limit", "-1"]).expect("raw");
        assert_eq!(parsed.rate_limit.as_deref(), Some("-1"));
    }

    #[test]
    fn plain_http_conflicts_with_tls_files() {
        let parsed = Cli::try_parse_from([
            "x",
            "--config",
            "c.toml",
            "--plain-http",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ]);
        assert!(parsed.is_err());
    }
}
