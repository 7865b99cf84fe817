//! `serve` and `update` as services and sidecars, run as the real binaries against the real
//! `rolesanywhere-local`: systemd readiness (`NOTIFY_SOCKET`, a datagram socket the test binds),
//! socket activation (`systemd-socket-activate`, from the systemd package; no running systemd
//! needed), `--address` (IPv6 too, the loopback rule, the hop limit), the `/healthz` probe,
//! `--log-level` and journal priorities, and SIGTERM.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use test_support::have;
use test_support::pki;
use test_support::standard::{PROFILE, ROLE, TRUST_ANCHOR};

use crate::util::local::{helper_command, Local};
use crate::util::serve::{send, Serve, CREDS, TOKEN, TOKEN_HEADER, TTL};

/// The notifications a service sends, received on a socket of the test's own.
struct Notifications {
    socket: UnixDatagram,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Notifications {
    fn bind() -> Notifications {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let socket = UnixDatagram::bind(&path).unwrap();
        Notifications {
            socket,
            path,
            _dir: dir,
        }
    }

    /// The next datagram, within `timeout`.
    fn next(&self, timeout: Duration) -> Option<String> {
        self.socket.set_read_timeout(Some(timeout)).unwrap();
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

/// The standard flags of a credential command against `local`, with the rsa-2048 identity.
fn identity_flags(local: &Local) -> Vec<String> {
    [
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--certificate",
        &pki("rsa-2048", "fullchain.pem"),
        "--private-key",
        &pki("rsa-2048", "key-pkcs8.pem"),
        "--endpoint",
        &local.url(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Removes what a service manager or an operator may have set in the test's own environment.
fn clean(cmd: &mut Command) -> &mut Command {
    for var in [
        "NOTIFY_SOCKET",
        "LISTEN_FDS",
        "LISTEN_PID",
        "LISTEN_FDNAMES",
        "JOURNAL_STREAM",
        "AWS_SIGNING_HELPER_LOG_LEVEL",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// A process whose stderr is collected as it comes; killed on drop.
struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        Running { child, stderr }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for `needle` on stderr; panics with what was said after `timeout`.
    fn wait_for(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.stderr().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} not said within {timeout:?}: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The exit code, within `timeout`.
    fn exit_code(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread drain the pipe.
                std::thread::sleep(Duration::from_millis(100));
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "still running: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on (now).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `serve` with the standard identity and `extra` flags, `env` set.
fn serve(local: &Local, extra: &[&str], env: &[(&str, &str)]) -> Running {
    let mut args: Vec<String> = vec!["serve".into()];
    args.extend(identity_flags(local));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = helper_command(&args);
    clean(&mut cmd).env("AWS_CA_BUNDLE", &local.ca);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Running::spawn(cmd)
}

/// The IMDSv2 flow against `base` (`http://host:port`): token, then the role's credentials.
async fn imds_flow(base: &str) -> serde_json::Value {
    let (status, _, token) = send(Method::PUT, &format!("{base}{TOKEN}"), &[(TTL, "60")]).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let url = format!("{base}{CREDS}/test-role");
    let (status, _, body) = send(Method::GET, &url, &[(TOKEN_HEADER, &token)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// `READY=1` comes once the first credentials are in hand (the endpoint takes 1.5 s to answer;
/// when the datagram arrives, `/healthz` already says they are valid), again after each refresh
/// (which is what ends a reload), and `STOPPING=1` at SIGTERM, which exits 0.
#[tokio::test]
async fn readiness_follows_the_credentials() {
    let local = Local::start(&["--latency-ms", "1500", "--expire-after", "905"]);
    let notify = Notifications::bind();
    let port = free_port();
    let port_s = port.to_string();
    let mut serve = serve(
        &local,
        &["--port", &port_s],
        &[
            ("NOTIFY_SOCKET", notify.path.to_str().unwrap()),
            // 905 s sessions, refreshed 903 s before expiry: a refresh 2 s after each.
            ("AWS_SIGNING_HELPER_REFRESH_WINDOW", "903"),
        ],
    );
    let started = Instant::now();
    let ready = notify.next(Duration::from_secs(30)).expect("READY=1");
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "ready before the endpoint answered: {:?}",
        started.elapsed()
    );
    let base = format!("http://127.0.0.1:{port}");
    let (status, _, health) = send(Method::GET, &format!("{base}/healthz"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    let lines: Vec<&str> = ready.lines().collect();
    assert_eq!(lines[0], "READY=1", "{ready}");
    assert!(
        lines[1].starts_with(&format!(
            "STATUS=serving credentials on http://127.0.0.1:{port}; they expire at 20"
        )),
        "{ready}"
    );

    let again = notify
        .next(Duration::from_secs(30))
        .expect("READY=1 after a refresh");
    assert!(
        again.starts_with("READY=1\nSTATUS=serving credentials"),
        "{again}"
    );
    assert_ne!(again, ready, "the status names the new expiry");
    // The line is written before the datagram is sent, but read from the pipe by another thread.
    serve.wait_for(
        "credentials refreshed; they expire at",
        Duration::from_secs(5),
    );

    // A reload (`systemctl reload`, ExecReload=kill -HUP): RELOADING=1 at once, then READY=1
    // once the certificate and key are read again and the refresh is done.
    serve.signal("-HUP");
    let mut reloading = None;
    while let Some(message) = notify.next(Duration::from_secs(10)) {
        if message.starts_with("RELOADING=1") {
            reloading = Some(message);
            break;
        }
    }
    assert!(reloading.is_some(), "no RELOADING=1: {}", serve.stderr());
    let after = notify
        .next(Duration::from_secs(30))
        .expect("READY=1 after the reload");
    assert!(
        after.starts_with("READY=1\nSTATUS=serving credentials"),
        "{after}"
    );

    serve.signal("-TERM");
    let mut stopping = None;
    while let Some(message) = notify.next(Duration::from_secs(10)) {
        if message.starts_with("STOPPING=1") {
            stopping = Some(message);
            break;
        }
    }
    assert!(stopping.is_some(), "no STOPPING=1: {}", serve.stderr());
    assert_eq!(serve.exit_code(Duration::from_secs(10)), Some(0));
}

/// No credentials, no readiness: `serve` exits 1 without ever sending `READY=1`, so systemd
/// marks the start failed instead of sending clients to a server with nothing to serve (here
/// once its 10 s of `--start-timeout` are over; meanwhile it may ask for more start time).
#[test]
fn no_readiness_without_credentials() {
    let local = Local::start(&["--fail-first", "100", "--fail-status", "500"]);
    let notify = Notifications::bind();
    let mut serve = serve(
        &local,
        &["--port", "0", "--start-timeout", "10s"],
        &[("NOTIFY_SOCKET", notify.path.to_str().unwrap())],
    );
    assert_eq!(
        serve.exit_code(Duration::from_secs(60)),
        Some(1),
        "{}",
        serve.stderr()
    );
    let sent: Vec<String> =
        std::iter::from_fn(|| notify.next(Duration::from_millis(200))).collect();
    assert!(!sent.iter().any(|m| m.contains("READY=1")), "{sent:?}");
}

/// `update` tells systemd it is ready once the profile is written, and SIGTERM stops its
/// refresh loop with exit 0.
#[test]
fn update_is_ready_once_written_and_stops_on_sigterm() {
    let local = Local::start(&[]);
    let notify = Notifications::bind();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let mut args: Vec<String> = vec!["update".into()];
    args.extend(identity_flags(&local));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = helper_command(&args);
    clean(&mut cmd)
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("AWS_SHARED_CREDENTIALS_FILE", &file)
        .env("NOTIFY_SOCKET", &notify.path);
    let mut update = Running::spawn(cmd);
    let ready = notify.next(Duration::from_secs(30)).expect("READY=1");
    assert!(
        ready.starts_with("READY=1\nSTATUS=profile [default] written"),
        "{ready}"
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("aws_session_token = "), "{written}");

    update.signal("-HUP");
    let reloading = notify.next(Duration::from_secs(10)).expect("RELOADING=1");
    assert!(reloading.starts_with("RELOADING=1\n"), "{reloading}");
    let again = notify.next(Duration::from_secs(30)).expect("READY=1");
    assert!(
        again
            .starts_with("READY=1\nSTATUS=profile [default] written; the credentials expire at 20"),
        "{again}"
    );
    assert_ne!(
        std::fs::read_to_string(&file).unwrap(),
        written,
        "rewritten"
    );

    update.signal("-TERM");
    assert_eq!(
        update.exit_code(Duration::from_secs(10)),
        Some(0),
        "{}",
        update.stderr()
    );
    assert!(update.stderr().contains("stopping: signal received"));
}

/// A socket passed by the service manager (here `systemd-socket-activate`, as a `.socket` unit
/// would) is served on: the helper starts at the first connection, which is answered once the
/// first credentials are in hand. `--port` names a busy port, so binding it would have failed.
#[tokio::test]
async fn socket_activation_serves_on_the_passed_socket() {
    if !have("systemd-socket-activate") {
        return;
    }
    let local = Local::start(&[]);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let port = free_port();
    let mut args = vec![
        format!("--listen=127.0.0.1:{port}"),
        format!("--setenv=AWS_CA_BUNDLE={}", local.ca.display()),
        "--".into(),
        env!("CARGO_BIN_EXE_aws_signing_helper").into(),
        "serve".into(),
    ];
    args.extend(identity_flags(&local));
    args.extend(["--port".into(), busy_port]);
    let mut cmd = Command::new("systemd-socket-activate");
    clean(&mut cmd).args(&args).stdin(Stdio::null());
    let activated = Running::spawn(cmd);
    activated.wait_for(
        &format!("Listening on 127.0.0.1:{port}"),
        Duration::from_secs(10),
    );

    let base = format!("http://127.0.0.1:{port}");
    let credentials = imds_flow(&base).await;
    assert!(credentials["AccessKeyId"]
        .as_str()
        .unwrap()
        .starts_with("ASIA"));
    let said = activated.stderr();
    assert!(
        said.contains(&format!(
            "listening on 127.0.0.1:{port}, the socket passed by the service manager"
        )),
        "{said}"
    );
    assert!(said.contains(&format!("serving credentials on http://127.0.0.1:{port}")));
}

/// A passed socket obeys the loopback rule too: one on 0.0.0.0 without
/// `--allow-non-loopback` is one line and exit 1.
#[test]
fn a_passed_non_loopback_socket_needs_the_opt_in() {
    if !have("systemd-socket-activate") {
        return;
    }
    let local = Local::start(&[]);
    let port = free_port();
    let mut args = vec![
        format!("--listen=0.0.0.0:{port}"),
        "--".into(),
        env!("CARGO_BIN_EXE_aws_signing_helper").into(),
        "serve".into(),
    ];
    args.extend(identity_flags(&local));
    let mut cmd = Command::new("systemd-socket-activate");
    clean(&mut cmd).args(&args).stdin(Stdio::null());
    let mut activated = Running::spawn(cmd);
    activated.wait_for(
        &format!("Listening on 0.0.0.0:{port}"),
        Duration::from_secs(10),
    );
    // The first connection starts the helper, which refuses the socket.
    let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert_eq!(activated.exit_code(Duration::from_secs(20)), Some(1));
    let said = activated.stderr();
    let line = said
        .lines()
        .find(|l| l.starts_with("aws_signing_helper:"))
        .unwrap_or_else(|| panic!("{said}"));
    assert_eq!(
        line,
        format!(
            "aws_signing_helper: the socket passed by the service manager (0.0.0.0:{port}) is \
             not on a loopback address: serve would hand credentials to anyone who can reach \
             it; pass --allow-non-loopback if that is intended (the hop limit \
             then defaults to 1), or make ListenStream= in the .socket unit a loopback address \
             such as 127.0.0.1:9911"
        )
    );
    assert!(local.calls().is_empty(), "no CreateSession was sent");
}

/// `--address ::1` (or `[::1]`) serves over IPv6 loopback.
#[tokio::test]
async fn ipv6_loopback_is_served() {
    let local = Local::start(&[]);
    for address in ["::1", "[::1]"] {
        let port = free_port().to_string();
        let serve = serve(&local, &["--address", address, "--port", &port], &[]);
        let base = format!("http://[::1]:{port}");
        serve.wait_for(
            &format!("AWS_EC2_METADATA_SERVICE_ENDPOINT={base}/"),
            Duration::from_secs(30),
        );
        let credentials = imds_flow(&base).await;
        assert!(credentials["Token"].as_str().is_some_and(|t| !t.is_empty()));
    }
}

/// A non-loopback `--address` is refused before anything is sent unless
/// `--allow-non-loopback` is given; then the hop limit defaults to 1, as the IMDS's.
#[cfg(target_os = "linux")]
#[test]
fn non_loopback_needs_the_opt_in_and_gets_hop_limit_1() {
    use std::io::{Read, Write};

    let local = Local::start(&[]);
    let refused = crate::util::helper(
        &[
            &["serve", "--address", "0.0.0.0", "--port", "0"][..],
            &identity_flags(&local)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        ]
        .concat(),
    );
    let line = crate::util::assert_one_line_error(&refused, "--allow-non-loopback");
    assert!(
        line.starts_with(
            "aws_signing_helper: --address 0.0.0.0 is not a loopback address: serve would hand \
             credentials to anyone who can reach it; pass --allow-non-loopback too"
        ),
        "{line}"
    );
    assert!(local.calls().is_empty(), "no CreateSession was sent");

    let port = free_port();
    let port_s = port.to_string();
    let serve = serve(
        &local,
        &[
            "--address",
            "0.0.0.0",
            "--allow-non-loopback",
            "--port",
            &port_s,
        ],
        &[],
    );
    serve.wait_for(
        "0.0.0.0 is not a loopback address: anyone who can reach it gets these credentials",
        Duration::from_secs(30),
    );
    let (ttls, response) = crate::util::serve::ttls_from_port(port, || {
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.write_all(
            b"PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              X-aws-ec2-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    });
    assert!(response, "the response was not captured: {ttls:?}");
    assert!(ttls.iter().all(|t| *t == 1), "{ttls:?}");
}

/// `/healthz` needs no token: 200 with the expiry while the credentials are valid, 503 once
/// none are (and never the credentials themselves).
#[tokio::test]
async fn health_reports_whether_valid_credentials_are_served() {
    // 14 s: past the 10 s a client needs, so it is served, and soon expired.
    let local = Local::start(&["--expire-after", "14"]);
    let serve = Serve::start(&local, &[], &[]);
    let (status, headers, body) = send(Method::GET, &serve.url("/healthz"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert!(
        health["expiration"].as_str().unwrap().ends_with('Z'),
        "{body}"
    );
    assert!(health["lastUpdated"].as_str().is_some(), "{body}");
    assert!(!body.contains("ASIA") && !body.contains("Token"), "{body}");

    drop(local);
    serve.wait_for_stderr("no valid credentials to serve", Duration::from_secs(40));
    let (status, _, body) = send(Method::GET, &serve.url("/healthz"), &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "no valid credentials");
}

/// `--log-level`: `warn` keeps the failed refreshes and drops the start-up lines, `error` says
/// nothing while all is well, `--debug` wins over it; when stderr is the journal
/// (`JOURNAL_STREAM` names it) each line carries its syslog priority instead of the name.
#[test]
fn log_levels_and_journal_priorities() {
    let local = Local::start(&["--expire-after", "905"]);
    let refresh_soon = [("AWS_SIGNING_HELPER_REFRESH_WINDOW", "903")];

    // error: nothing, even across refreshes.
    let port = free_port().to_string();
    let quiet = serve(
        &local,
        &["--port", &port, "--log-level", "error"],
        &refresh_soon,
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(quiet.stderr(), "");
    drop(quiet);

    // The variable sets it too; --debug wins over it.
    let port = free_port().to_string();
    let debug = serve(
        &local,
        &["--port", &port, "--debug"],
        &[("AWS_SIGNING_HELPER_LOG_LEVEL", "error")],
    );
    debug.wait_for("[debug] ", Duration::from_secs(30));
    drop(debug);

    // The journal: priorities, no program name.
    let (reader, writer) = std::io::pipe().unwrap();
    let writer = std::os::fd::OwnedFd::from(writer);
    let stream = {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::File::from(writer.try_clone().unwrap())
            .metadata()
            .unwrap();
        format!("{}:{}", meta.dev(), meta.ino())
    };
    let port = free_port().to_string();
    let mut args: Vec<String> = vec!["serve".into()];
    args.extend(identity_flags(&local));
    args.extend(["--port".into(), port, "--log-level".into(), "warn".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = helper_command(&args);
    clean(&mut cmd)
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("AWS_SIGNING_HELPER_REFRESH_WINDOW", "903")
        .env("JOURNAL_STREAM", &stream)
        .stdout(Stdio::null())
        .stderr(Stdio::from(writer));
    // The earlier instances' calls (the quiet one refreshed a few times) are not this one's.
    let before = local.calls().len();
    let mut journal = cmd.spawn().unwrap();
    drop(cmd);
    // Once the first credentials are issued, the endpoint goes away: refreshes fail.
    let deadline = Instant::now() + Duration::from_secs(30);
    while local.calls().len() <= before {
        assert!(Instant::now() < deadline, "no CreateSession");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Time for the answer to reach the helper before the endpoint stops.
    std::thread::sleep(Duration::from_millis(500));
    drop(local);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    // The first refresh (2 s after start) fails: the endpoint is gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no warning");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = journal.kill();
    let _ = journal.wait();
    let lines = lines.lock().unwrap().clone();
    assert!(
        lines[0].starts_with("<4>cannot refresh credentials: cannot reach 127.0.0.1:"),
        "{lines:?}"
    );
    assert!(
        lines.iter().all(|l| l.starts_with("<4>")),
        "warn hides the start-up lines: {lines:?}"
    );
}
