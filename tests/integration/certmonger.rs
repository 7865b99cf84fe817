//! The real certmonger (Debian's `certmonger`, on a private D-Bus session bus without service
//! activation, all its state in a temporary directory, its built-in `local` CA) issues and renews the certificate; its
//! post-save command runs `aws_signing_helper validate` against that CA and, when it passes,
//! sends SIGHUP to `serve`, which a client polls throughout. `rolesanywhere-local` trusts the
//! local CA and records the serial of every CreateSession.
//!
//! 1. `getcert request`: the hook validates the first certificate; `serve` starts on it.
//! 2. `getcert resubmit` (same key, next serial) and `getcert rekey -G rsa` (a new key of
//!    another type): each time the hook passes, and the endpoint sees the new serial within
//!    seconds.
//! 3. `getcert resubmit -c other`: a certificate from another CA (a certmonger CA helper that
//!    signs with the test PKI's intermediate). The hook fails (exit 4, untrusted chain) and does
//!    not signal; a SIGHUP anyway makes `serve` load it, the endpoint refuses it, and `serve`
//!    keeps serving the credentials it had.
//!
//! Throughout, the client's requests all succeed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use test_support::testdata;
use test_support::tools::{first_existing, have_all};

use crate::util::local::Local;
use crate::util::serve::{client, Serve, CREDS, TOKEN, TOKEN_HEADER, TTL};

/// certmonger and its private bus, stopped (by pid) and cleaned up on drop.
struct Certmonger {
    dir: tempfile::TempDir,
    bus: String,
    bus_pid: u32,
    daemon: Child,
}

impl Certmonger {
    /// certmonger on a bus of its own, or `None` (the test is skipped) when certmonger or
    /// D-Bus is not installed.
    fn start() -> Option<Certmonger> {
        // Debian puts the daemon in /usr/sbin, which a user's PATH may lack.
        let daemon = first_existing(
            "certmonger",
            &["/usr/sbin/certmonger", "/usr/bin/certmonger"],
        )?;
        if !have_all(&["getcert", "dbus-daemon"]) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        for sub in ["requests", "cas", "local", "config", "tmp", "out"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        // A session bus of our own, without the system's service directories: otherwise the
        // first `getcert -s` can start D-Bus-activated `certmonger-session`, which takes the
        // bus name (with its state under $HOME) before our daemon does.
        let bus_config = dir.path().join("bus.conf");
        std::fs::write(
            &bus_config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().join("tmp").display()
            ),
        )
        .unwrap();
        let out = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", bus_config.display()))
            .args(["--fork", "--print-address=1", "--print-pid=1"])
            .output()
            .expect("run dbus-daemon");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut lines = text.lines();
        let bus = lines.next().expect("bus address").to_string();
        let bus_pid = lines.next().expect("bus pid").trim().parse().unwrap();
        let log = std::fs::File::create(dir.path().join("certmonger.log")).unwrap();
        let mut cm = Certmonger {
            daemon: Command::new(daemon)
                .args(["-s", "-n", "-d", "1"])
                .envs(Self::env_of(dir.path(), &bus))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("run certmonger"),
            dir,
            bus,
            bus_pid,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !(cm.getcert(&["list-cas", "-s"]).status.success() && cm.path("local/creds").exists())
        {
            if let Ok(Some(status)) = cm.daemon.try_wait() {
                panic!("certmonger exited ({status}): {}", cm.log());
            }
            assert!(
                Instant::now() < deadline,
                "certmonger did not come up: {}",
                cm.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The local CA's key is written at start; give it a moment to be complete.
        while std::fs::metadata(cm.path("local/creds")).map_or(0, |m| m.len()) == 0 {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = &mut cm;
        Some(cm)
    }

    fn env_of(dir: &Path, bus: &str) -> Vec<(String, String)> {
        let at = |sub: &str| dir.join(sub).to_string_lossy().into_owned();
        vec![
            ("CERTMONGER_REQUESTS_DIR".into(), at("requests")),
            ("CERTMONGER_CAS_DIR".into(), at("cas")),
            ("CERTMONGER_LOCAL_CA_DIR".into(), at("local")),
            ("CERTMONGER_CONFIG_DIR".into(), at("config")),
            ("CERTMONGER_TMPDIR".into(), at("tmp")),
            ("HOME".into(), dir.to_string_lossy().into_owned()),
            ("DBUS_SESSION_BUS_ADDRESS".into(), bus.to_string()),
        ]
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("certmonger.log")).unwrap_or_default()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn getcert(&self, args: &[&str]) -> std::process::Output {
        Command::new("getcert")
            .args(args)
            .envs(Self::env_of(self.dir.path(), &self.bus))
            .stdin(Stdio::null())
            .output()
            .expect("getcert")
    }

    #[track_caller]
    fn run(&self, args: &[&str]) {
        let out = self.getcert(args);
        assert!(
            out.status.success(),
            "getcert {args:?}: {}{}\nlog: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }
}

impl Drop for Certmonger {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = Command::new("kill").arg(self.bus_pid.to_string()).status();
    }
}

/// The post-save command: validate the saved pair against the local CA; only when it passes,
/// SIGHUP the `serve` whose pid is in the pid file (if it runs yet). Every outcome goes to a
/// log, as a journal would keep it.
const HOOK: &str = r#"#!/bin/sh
helper=$1 cert=$2 key=$3 ca=$4 log=$5 pidfile=$6
"$helper" validate --certificate "$cert" --private-key "$key" --trust-anchor-bundle "$ca" \
    --min-remaining 1h >>"$log" 2>&1
rc=$?
echo "hook: validate exit=$rc serial=$(openssl x509 -in "$cert" -noout -serial)" >>"$log"
if [ "$rc" -eq 0 ] && [ -s "$pidfile" ]; then kill -HUP "$(cat "$pidfile")"; fi
exit "$rc"
"#;

/// A certmonger CA helper (SUBMIT only) that signs with the test PKI's intermediate: another CA
/// than the one the endpoint and the hook trust.
const OTHER_CA: &str = r#"#!/bin/sh
[ "$CERTMONGER_OPERATION" = SUBMIT ] || exit 6
dir=$(mktemp -d)
printf '%s' "$CERTMONGER_CSR" >"$dir/req.csr"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature\n' >"$dir/ext"
openssl x509 -req -in "$dir/req.csr" -CA "$1" -CAkey "$2" -set_serial 0x0C0FFEE -days 30 \
    -sha256 -extfile "$dir/ext" 2>/dev/null
rc=$?
rm -rf "$dir"
exit $rc
"#;

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The certificate's serial in decimal, as the endpoint records it (OpenSSL reads it).
fn serial_of(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(cert)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let hex = text.trim().trim_start_matches("serial=");
    u128::from_str_radix(hex, 16).unwrap().to_string()
}

/// Waits until the hook logged `count` runs; returns the log.
fn hook_runs(log: &Path, count: usize, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.matches("hook: validate exit=").count() >= count {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "the hook ran fewer than {count} times: {text}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn wait_for_serial(local: &Local, serial: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let calls = local.calls();
        if calls
            .iter()
            .any(|c| c["ok"] == true && c["serial"].as_str() == Some(serial))
        {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "the endpoint never saw serial {serial}: {:?}",
            calls.last()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A client that asks `serve` for the role's credentials over IMDSv2 every 50 ms, counting
/// requests, failures and the access keys it was given.
struct Poller {
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    keys: Arc<std::sync::Mutex<Vec<String>>>,
    thread: std::thread::JoinHandle<()>,
}

impl Poller {
    fn start(port: u16) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let keys = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, r, f, k) = (
            Arc::clone(&stop),
            Arc::clone(&requests),
            Arc::clone(&failures),
            Arc::clone(&keys),
        );
        // A thread of its own, so that it polls while the test waits for certmonger.
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let http = client();
                let base = format!("http://127.0.0.1:{port}");
                while !s.load(Ordering::SeqCst) {
                    r.fetch_add(1, Ordering::SeqCst);
                    let result = async {
                        let token = http
                            .put(format!("{base}{TOKEN}"))
                            .header(TTL, "60")
                            .send()
                            .await
                            .map_err(|e| e.to_string())?
                            .text()
                            .await
                            .map_err(|e| e.to_string())?;
                        let response = http
                            .get(format!("{base}{CREDS}/test-role"))
                            .header(TOKEN_HEADER, token)
                            .send()
                            .await
                            .map_err(|e| e.to_string())?;
                        let status = response.status();
                        let body = response.text().await.map_err(|e| e.to_string())?;
                        if !status.is_success() {
                            return Err(format!("{status}: {body}"));
                        }
                        let json: serde_json::Value =
                            serde_json::from_str(&body).map_err(|e| e.to_string())?;
                        Ok(json["AccessKeyId"].as_str().unwrap_or_default().to_string())
                    }
                    .await;
                    match result {
                        Ok(key) => {
                            let mut keys = k.lock().unwrap();
                            if keys.last() != Some(&key) {
                                keys.push(key);
                            }
                        }
                        Err(e) => f.lock().unwrap().push(e),
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        });
        Poller {
            stop,
            requests,
            failures,
            keys,
            thread,
        }
    }

    fn keys(&self) -> Vec<String> {
        self.keys.lock().unwrap().clone()
    }

    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
        let failures = self.failures.lock().unwrap().clone();
        (self.requests.load(Ordering::SeqCst), failures)
    }
}

#[test]
fn certmonger_renewals_are_validated_in_the_hook_and_handed_over_without_a_gap() {
    let started = Instant::now();
    let Some(cm) = Certmonger::start() else {
        return;
    };
    let (cert, key, ca) = (
        cm.path("out/host.crt"),
        cm.path("out/host.key"),
        cm.path("out/ca.pem"),
    );
    let (hook, log, pidfile) = (
        cm.path("hook.sh"),
        cm.path("hook.log"),
        cm.path("serve.pid"),
    );
    write_script(&hook, HOOK);
    let helper = env!("CARGO_BIN_EXE_aws_signing_helper");
    let command = [&hook, Path::new(helper), &cert, &key, &ca, &log, &pidfile]
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let s = |p: &Path| p.to_string_lossy().into_owned();

    // 1. The first certificate: EC P-256, keyUsage digitalSignature (certmonger adds keyUsage
    //    only when asked), validated by the hook.
    cm.run(&[
        "request",
        "-s",
        "-c",
        "local",
        "-I",
        "ra",
        "-G",
        "ec",
        "-g",
        "256",
        "-k",
        &s(&key),
        "-f",
        &s(&cert),
        "-F",
        &s(&ca),
        "-N",
        "CN=host1.example.test",
        "-u",
        "digitalSignature",
        "-U",
        "id-kp-clientAuth",
        "-C",
        &command,
        "-w",
    ]);
    let text = hook_runs(&log, 1, Duration::from_secs(10));
    assert!(text.contains("validate exit=0"), "{text}");
    assert!(text.contains("ok: "), "{text}");

    let local = Local::start_trusting(&ca, &[]);
    let serve = Serve::start(
        &local,
        &["--certificate", &s(&cert), "--private-key", &s(&key)],
        &[],
    );
    std::fs::write(&pidfile, serve.child.id().to_string()).unwrap();
    let first_serial = serial_of(&cert);
    wait_for_serial(&local, &first_serial, Duration::from_secs(5));
    let poller = Poller::start(serve.port);
    std::thread::sleep(Duration::from_millis(300));

    // 2. A renewal with the same key, then one with a new RSA key: the hook passes and signals,
    //    and serve moves to the new certificate within seconds.
    for (round, args) in [
        (2, vec!["resubmit", "-s", "-i", "ra", "-w"]),
        (
            3,
            vec!["rekey", "-s", "-i", "ra", "-G", "rsa", "-g", "2048", "-w"],
        ),
    ] {
        let before = serial_of(&cert);
        let renewing = Instant::now();
        cm.run(&args);
        let text = hook_runs(&log, round, Duration::from_secs(10));
        assert!(
            text.ends_with("\n") && text.matches("validate exit=0").count() == round,
            "{text}"
        );
        let serial = serial_of(&cert);
        assert_ne!(serial, before, "{args:?} issued no new certificate");
        let took = wait_for_serial(&local, &serial, Duration::from_secs(10));
        assert!(took < Duration::from_secs(5), "{args:?}: {took:?}");
        eprintln!(
            "certmonger test: {} to the endpoint seeing the new serial: {:?} (after the hook: {took:?})",
            args[0],
            renewing.elapsed()
        );
    }
    serve.wait_for_stderr("RSA-2048 key", Duration::from_secs(5));
    let good_serial = serial_of(&cert);
    std::thread::sleep(Duration::from_millis(300));
    let keys_before = poller.keys();
    assert!(keys_before.len() >= 3, "{keys_before:?}");

    // 3. A renewal from another CA: the hook refuses it and does not signal.
    let other = cm.path("other-ca.sh");
    write_script(&other, OTHER_CA);
    let int = testdata("pki/ca/int.pem");
    let int_key = testdata("pki/ca/int-key.pem");
    let helper_command = format!("{} {} {}", s(&other), s(&int), s(&int_key));
    cm.run(&["add-ca", "-s", "-c", "other", "-e", &helper_command]);
    cm.run(&["resubmit", "-s", "-i", "ra", "-c", "other", "-w"]);
    let text = hook_runs(&log, 4, Duration::from_secs(10));
    assert!(text.contains("validate exit=4"), "{text}");
    assert!(text.contains("FAIL  chain"), "{text}");
    assert_eq!(serial_of(&cert), 0x00C0_FFEE_u32.to_string());
    // Signalled anyway (an operator's reload): serve loads it, the endpoint refuses it, and
    // the credentials from the good pair keep flowing.
    let refused_before = local.calls().iter().filter(|c| c["ok"] == false).count();
    let pid = serve.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    serve.wait_for_stderr("cannot refresh credentials", Duration::from_secs(10));
    assert!(local.calls().iter().filter(|c| c["ok"] == false).count() > refused_before);
    std::thread::sleep(Duration::from_millis(300));
    let keys_after = poller.keys();
    assert_eq!(
        keys_after.last(),
        keys_before.last(),
        "serve changed credentials"
    );
    let last_ok = local
        .calls()
        .into_iter()
        .rfind(|c| c["ok"] == true)
        .unwrap();
    assert_eq!(last_ok["serial"].as_str(), Some(good_serial.as_str()));

    let (requests, failures) = poller.finish();
    assert!(
        failures.is_empty(),
        "{} of {requests} requests failed: {failures:?}",
        failures.len()
    );
    assert!(requests > 20, "only {requests} requests");
    eprintln!(
        "certmonger test: {requests} client requests, none failed, in {:?}",
        started.elapsed()
    );
}
