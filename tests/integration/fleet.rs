//! Fleets sharing one account's CreateSession quota (issue 22): the real `aws_signing_helper`
//! processes against the real `rolesanywhere-local` enforcing a per-account rate limit on
//! loopback. A start that is throttled is retried for `--start-timeout` (each retry on one line)
//! instead of exiting after the SDK's 3 attempts; the cache's single flight is patient too; the
//! quota's 429 answers read as throttling, never as a certificate problem.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use test_support::standard::{config as config_text, PROFILE, TRUST_ANCHOR};
use test_support::{local_binary, pki, testdata, Endpoint, ROLE};

/// The endpoint on plain HTTP with the test configuration and `extra` flags.
fn local(extra: &[&str]) -> Endpoint {
    let mut args = vec!["--plain-http"];
    args.extend(extra);
    Endpoint::start(
        local_binary(),
        &config_text(&testdata("pki/ca/root.pem")),
        &args,
    )
}

/// `aws_signing_helper <command>` with the test identity and ARNs against `endpoint`, in an
/// environment holding nothing of the caller's but `PATH`, and `HOME` set to `home`.
fn helper(command: &str, endpoint: &Endpoint, home: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aws_signing_helper"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .arg(command)
        .args(["--certificate", &pki("ec-p256", "fullchain.pem")])
        .args(["--private-key", &pki("ec-p256", "key-pkcs8.pem")])
        .args(["--trust-anchor-arn", TRUST_ANCHOR, "--profile-arn", PROFILE])
        .args(["--role-arn", ROLE, "--endpoint", &endpoint.url()])
        .args(extra)
        .stdin(Stdio::null());
    cmd
}

/// A long-running helper writing its stderr to a file; killed on drop.
struct Daemon {
    child: Child,
    stderr: PathBuf,
}

impl Daemon {
    fn spawn(mut cmd: Command, stderr: PathBuf) -> Daemon {
        let file = std::fs::File::create(&stderr).expect("stderr file");
        let child = cmd
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start aws_signing_helper");
        Daemon { child, stderr }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("wait")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The endpoint's traffic counts (`GET /_stats`).
fn stats(endpoint: &Endpoint) -> serde_json::Value {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .arg(format!("{}/_stats", endpoint.url()))
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stats JSON")
}

/// The retries a patient start reported, one line each.
fn retry_lines(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.contains("failed, retrying in"))
        .count()
}

/// 30 helpers started at once (10 `serve`, 10 `update`, 10 `credential-process --cache` with a
/// cache each, as on 30 hosts) against a quota of 5 CreateSession a second: throttled, every
/// one of them gets credentials and none exits. With the SDK's 3 attempts alone, some would
/// exit (about 3 in 30 in a simulation of that retry policy).
#[test]
fn thirty_helpers_share_a_quota_of_five_a_second_and_none_exits() {
    if !test_support::have("curl") {
        return;
    }
    let endpoint = local(&["--rate-limit", "5"]);
    let dir = tempfile::tempdir().expect("tempdir");
    // (daemon, the credentials file it writes, for update)
    let mut daemons: Vec<(Daemon, Option<PathBuf>)> = Vec::new();
    let mut one_shots = Vec::new();
    for host in 0..30 {
        let home = dir.path().join(format!("host{host}"));
        std::fs::create_dir(&home).expect("host directory");
        let stderr = home.join("stderr");
        match host % 3 {
            0 => {
                let cmd = helper("serve", &endpoint, &home, &["--port", "0"]);
                daemons.push((Daemon::spawn(cmd, stderr), None));
            }
            1 => {
                let file = home.join("credentials");
                let mut cmd = helper("update", &endpoint, &home, &[]);
                cmd.env("AWS_SHARED_CREDENTIALS_FILE", &file);
                daemons.push((Daemon::spawn(cmd, stderr), Some(file)));
            }
            _ => {
                let cache = home.join("cache").to_string_lossy().into_owned();
                let mut cmd = helper(
                    "credential-process",
                    &endpoint,
                    &home,
                    &["--cache-dir", &cache],
                );
                one_shots.push(std::thread::spawn(move || -> Output {
                    cmd.output().expect("run credential-process")
                }));
            }
        }
    }

    // Each daemon says once it holds credentials: serve where it serves them, update that the
    // profile is written (and when it refreshes next).
    let holds = |d: &Daemon| {
        let stderr = d.stderr();
        stderr.contains("serving credentials on http://") || stderr.contains("holds credentials")
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        for (daemon, _) in &mut daemons {
            if let Some(status) = daemon.exited() {
                panic!("a helper exited ({status}): {}", daemon.stderr());
            }
        }
        let holding = daemons.iter().filter(|(d, _)| holds(d)).count();
        if holding == daemons.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{holding} of {} daemons hold credentials after 180 s",
            daemons.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for one_shot in one_shots {
        let out = one_shot.join().expect("join");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "credential-process --cache: {stderr}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert!(json["AccessKeyId"]
            .as_str()
            .is_some_and(|k| k.starts_with("ASIA")));
    }
    for (daemon, file) in &daemons {
        if let Some(file) = file {
            let written = std::fs::read_to_string(file).expect("update wrote its file");
            assert!(
                written.contains("aws_access_key_id = ASIA"),
                "{}",
                daemon.stderr()
            );
        }
    }

    // The quota was really in the way, and its answers were read as throttling.
    let create_session = &stats(&endpoint)["create_session"];
    assert!(
        create_session["throttled"].as_u64() > Some(0),
        "nothing was throttled: {create_session}"
    );
    assert_eq!(
        create_session["accepted"].as_u64(),
        Some(30),
        "{create_session}"
    );
    let all: String = daemons.iter().map(|(d, _)| d.stderr()).collect();
    assert!(
        !all.to_ascii_lowercase().contains("certificate"),
        "throttling read as a certificate problem: {all}"
    );
}

/// A helper that is throttled more often than the SDK's 3 attempts allow still starts: `serve`
/// reports each retry on one line and serves once the 4th attempt gets through; `update --once`
/// writes its file the same way. The official helper's start (3 attempts, exit 1) is
/// `--start-timeout 0`.
#[test]
fn a_start_throttled_three_times_is_retried_until_it_gets_through() {
    let dir = tempfile::tempdir().expect("tempdir");
    let endpoint = local(&["--throttle-first", "3"]);
    let mut serve = Daemon::spawn(
        helper(
            "serve",
            &endpoint,
            dir.path(),
            &["--port", "0", "--start-timeout", "90s"],
        ),
        dir.path().join("serve.stderr"),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    while !serve.stderr().contains("serving credentials on http://") {
        if let Some(status) = serve.exited() {
            panic!("serve exited ({status}): {}", serve.stderr());
        }
        assert!(Instant::now() < deadline, "not serving: {}", serve.stderr());
        std::thread::sleep(Duration::from_millis(100));
    }
    let stderr = serve.stderr();
    assert_eq!(retry_lines(&stderr), 3, "{stderr}");
    for line in stderr.lines().filter(|l| l.contains("failed, retrying in")) {
        assert!(
            line.contains("CreateSession failed: ThrottlingException (HTTP 429): Rate exceeded"),
            "{line}"
        );
    }
    assert!(stderr.contains("attempt 3 failed, retrying in"), "{stderr}");
    drop(serve);

    let endpoint = local(&["--throttle-first", "3"]);
    let file = dir.path().join("credentials");
    let out = helper(
        "update",
        &endpoint,
        dir.path(),
        &["--once", "--start-timeout", "90s"],
    )
    .env("AWS_SHARED_CREDENTIALS_FILE", &file)
    .output()
    .expect("run update");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(retry_lines(&stderr), 3, "{stderr}");
    let written = std::fs::read_to_string(&file).expect("the file");
    assert!(written.contains("aws_access_key_id = ASIA"));

    // Without patience, the SDK's 3 attempts, then exit 1, as the official helper.
    let endpoint = local(&["--throttle-first", "3"]);
    let out = helper(
        "update",
        &endpoint,
        dir.path(),
        &["--once", "--start-timeout", "0"],
    )
    .env("AWS_SHARED_CREDENTIALS_FILE", &file)
    .output()
    .expect("run update");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(retry_lines(&stderr), 0, "{stderr}");
    assert!(
        stderr.contains("still throttled after 3 attempts"),
        "{stderr}"
    );
}

/// A first CreateSession that takes longer than a few seconds makes `serve` ask the service
/// manager for the time its `--start-timeout` may still take (`EXTEND_TIMEOUT_USEC=`, beyond the
/// units' `TimeoutStartSec=`), before `READY=1`; a quick start sends nothing more than before.
#[test]
fn a_slow_start_asks_the_service_manager_for_more_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).expect("bind the notification socket");
    let next = || {
        notify
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut buffer = [0u8; 4096];
        let n = notify.recv(&mut buffer).expect("a notification");
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    };
    // Each answer takes 7 s: longer than the 5 s after which more time is asked for.
    let slow = local(&["--latency-ms", "7000"]);
    let mut cmd = helper(
        "serve",
        &slow,
        dir.path(),
        &["--port", "0", "--start-timeout", "10m"],
    );
    cmd.env("NOTIFY_SOCKET", &notify_path);
    let serve = Daemon::spawn(cmd, dir.path().join("slow.stderr"));
    let extend = next();
    let micros: u64 = extend
        .lines()
        .find_map(|l| l.strip_prefix("EXTEND_TIMEOUT_USEC="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("not EXTEND_TIMEOUT_USEC first: {extend}"));
    // The 10 minutes, the attempt's 30 s and a margin.
    assert!(micros >= 630_000_000, "{extend}");
    assert!(
        extend.contains("\nSTATUS=still asking for the first credentials"),
        "{extend}"
    );
    let ready = next();
    assert!(
        ready.starts_with("READY=1\n"),
        "{ready}: {}",
        serve.stderr()
    );
    drop(serve);

    let quick = local(&[]);
    let mut cmd = helper("serve", &quick, dir.path(), &["--port", "0"]);
    cmd.env("NOTIFY_SOCKET", &notify_path);
    let serve = Daemon::spawn(cmd, dir.path().join("quick.stderr"));
    let first = next();
    assert!(
        first.starts_with("READY=1\n"),
        "{first}: {}",
        serve.stderr()
    );
}

/// The quota's answers (429 `ThrottlingException`, "Rate exceeded") are throttling to the retry
/// code: a plain `credential-process` (its caller is waiting) makes the SDK's 3 attempts and
/// says it was throttled, not that a certificate is wrong; a patient start retries until its
/// `--start-timeout`, beyond the 3 attempts, then says the same.
#[test]
fn the_quota_reads_as_throttling_not_as_a_certificate_problem() {
    // One call a thousand seconds: the first gets through, the next ones are throttled.
    let endpoint = local(&["--rate-limit", "0.001"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let first = helper("credential-process", &endpoint, dir.path(), &[])
        .output()
        .expect("run credential-process");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );

    let out = helper("credential-process", &endpoint, dir.path(), &[])
        .output()
        .expect("run credential-process");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("CreateSession failed: ThrottlingException (HTTP 429): Rate exceeded")
            && stderr.contains("still throttled after 3 attempts: try again later"),
        "{stderr}"
    );
    assert!(
        !stderr.to_ascii_lowercase().contains("certificate"),
        "{stderr}"
    );

    // Patient for 20 s: the waits before the 2nd, 3rd and 4th attempts are below 2, 4 and 8 s,
    // so at least 4 attempts fit; then the same one line.
    let started = Instant::now();
    let out = helper(
        "update",
        &endpoint,
        dir.path(),
        &["--once", "--start-timeout", "20s"],
    )
    .env(
        "AWS_SHARED_CREDENTIALS_FILE",
        dir.path().join("credentials"),
    )
    .output()
    .expect("run update");
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let retries = retry_lines(&stderr);
    assert!(retries >= 3, "{retries} retries in 20 s: {stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("still throttled after {} attempts", retries + 1)),
        "{stderr}"
    );
    assert!(
        !stderr.to_ascii_lowercase().contains("certificate"),
        "{stderr}"
    );
    // The last attempt starts within the 20 s; it answers at once.
    assert!(took < Duration::from_secs(90), "{took:?}");
    assert!(!dir.path().join("credentials").exists());
}
