//! `credential-process --cache`: the real binary against the real `rolesanywhere-local`, whose
//! call log counts the CreateSession calls that were made. Single flight across processes, a
//! lock holder killed mid-call, corrupt and foreign entries, unsafe directories, the freshness
//! rule at its edges, a renewed certificate, no network on a hit, clear-cache.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use test_support::standard::{PROFILE, ROLE, TRUST_ANCHOR};
use test_support::{have, pki, testdata};

use crate::util::assert_one_line_error;
use crate::util::local::{helper_command, Local};

const KIND: &str = "ec-p256";

/// The arguments of a cached call with the standard identity.
fn args(local: &Local, cache: &Path) -> Vec<String> {
    [
        "credential-process",
        "--certificate",
        &pki(KIND, "fullchain.pem"),
        "--private-key",
        &pki(KIND, "key-pkcs8.pem"),
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
        &local.url(),
        "--cache-dir",
        &cache.to_string_lossy(),
    ]
    .map(str::to_string)
    .to_vec()
}

fn command(local: &Local, args: &[String]) -> Command {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = helper_command(&args);
    cmd.env("AWS_CA_BUNDLE", &local.ca);
    cmd
}

fn run(local: &Local, args: &[String]) -> Output {
    command(local, args).output().expect("run the helper")
}

/// The access key id a successful run printed.
fn key_id(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    json["AccessKeyId"]
        .as_str()
        .expect("AccessKeyId")
        .to_string()
}

/// Successful CreateSession calls the endpoint judged.
fn sessions(local: &Local) -> Vec<serde_json::Value> {
    local
        .calls()
        .into_iter()
        .filter(|c| c["kind"] == "create-session" && c["ok"] == true)
        .collect()
}

/// The cache's one entry file.
fn entry(cache: &Path) -> PathBuf {
    let entries: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    entries[0].clone()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn rfc3339(at: SystemTime) -> String {
    let secs = at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    // `date` is the independent clock formatter here.
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn twenty_parallel_calls_make_one_create_session() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let args = args(&local, &cache);
    let children: Vec<_> = (0..20)
        .map(|_| {
            command(&local, &args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let ids: Vec<String> = children
        .into_iter()
        .map(|c| key_id(&c.wait_with_output().unwrap()))
        .collect();
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    let made = sessions(&local);
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0]["access_key_id"], ids[0].as_str());
    // The directory and the entry are the caller's alone.
    assert_eq!(mode(&cache), 0o700);
    assert_eq!(mode(&entry(&cache)), 0o600);
}

#[test]
fn a_lock_holder_killed_mid_call_wedges_no_one() {
    if !have("flock") {
        return;
    }
    // Every answer takes 1.5 s, so the first caller is still waiting for CreateSession, with
    // the lock held, when it is killed.
    let local = Local::start(&["--latency-ms", "1500"]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let args = args(&local, &cache);
    let mut holder = command(&local, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // util-linux's flock tells when someone holds the lock.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lock = std::fs::read_dir(&cache).ok().and_then(|d| {
            d.map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|e| e == "lock"))
        });
        if let Some(lock) = lock {
            let free = Command::new("flock")
                .args(["--nonblock", "--shared"])
                .arg(&lock)
                .arg("true")
                .status()
                .unwrap()
                .success();
            if !free {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the first caller never took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            command(&local, &args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    holder.kill().unwrap();
    holder.wait().unwrap();
    let started = Instant::now();
    let ids: Vec<String> = waiters
        .into_iter()
        .map(|c| key_id(&c.wait_with_output().unwrap()))
        .collect();
    assert!(started.elapsed() < Duration::from_secs(15));
    // One of the waiters took over and fetched once for all of them.
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    std::thread::sleep(Duration::from_millis(1600));
    let made: Vec<_> = sessions(&local)
        .into_iter()
        .filter(|c| c["access_key_id"] == ids[0].as_str())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
}

#[test]
fn corrupt_truncated_and_foreign_entries_are_replaced_never_printed() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let args = args(&local, &cache);
    let first = key_id(&run(&local, &args));
    let path = entry(&cache);
    let good = std::fs::read_to_string(&path).unwrap();
    let mut foreign: serde_json::Value = serde_json::from_str(&good).unwrap();
    foreign["Key"] = "0".repeat(64).into();
    foreign["AccessKeyId"] = "ASIAFOREIGNFOREIGN00".into();
    let corruptions: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"MARKER not an entry {".to_vec()),
        ("truncated", good.as_bytes()[..good.len() / 2].to_vec()),
        ("foreign", foreign.to_string().into_bytes()),
        ("empty", Vec::new()),
    ];
    let mut seen = vec![first];
    for (what, bytes) in corruptions {
        std::fs::write(&path, &bytes).unwrap();
        set_mode(&path, 0o600);
        let out = run(&local, &args);
        let id = key_id(&out);
        assert!(
            !seen.contains(&id),
            "{what}: an old or foreign entry was used"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("MARKER"));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("MARKER"));
        // Replaced by a good one, which the next call uses.
        assert_eq!(mode(&path), 0o600, "{what}");
        assert_eq!(key_id(&run(&local, &args)), id, "{what}");
        seen.push(id);
    }
    // An entry others could read is not trusted either.
    set_mode(&path, 0o644);
    assert!(!seen.contains(&key_id(&run(&local, &args))));
    assert_eq!(mode(&path), 0o600);
    assert_eq!(sessions(&local).len(), 6);
}

#[test]
fn cache_directories_others_could_change_are_refused() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();

    set_mode(&cache, 0o777);
    let out = run(&local, &args(&local, &cache));
    let line = assert_one_line_error(&out, "refusing the cache directory");
    assert!(
        line.contains("writable by group or others (mode 777)"),
        "{line}"
    );
    assert!(line.contains("chmod 700"), "{line}");

    set_mode(&cache, 0o700);
    std::os::unix::fs::chown(&cache, Some(65534), Some(65534)).unwrap();
    let out = run(&local, &args(&local, &cache));
    let line = assert_one_line_error(&out, "is owned by uid 65534");
    assert!(line.contains("not by you"), "{line}");

    // A private directory inside one that others can write (and that is not sticky).
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    set_mode(&open, 0o777);
    let out = run(&local, &args(&local, &open.join("cache")));
    assert_one_line_error(&out, "which group or others can write");
    assert!(sessions(&local).is_empty(), "nothing may be sent");
}

#[test]
fn entries_are_handed_out_only_while_fresh_enough() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let args = args(&local, &cache);
    key_id(&run(&local, &args));
    let path = entry(&cache);
    let now = SystemTime::now();
    let min = |m: u64| Duration::from_secs(m * 60);
    // (issued, expires, served?): an hour's session until 20 minutes are left; a 15-minute
    // session for the first half of its life; an expired one never.
    let cases = [
        (now - min(39), now + min(21), true),
        (now - min(41), now + min(19), false),
        (now - min(6), now + min(9), true),
        (now - min(8), now + min(7), false),
        (now - min(70), now - min(10), false),
    ];
    for (issued, expires, served) in cases {
        let mut e: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        e["Issued"] = rfc3339(issued).into();
        e["Expiration"] = rfc3339(expires).into();
        e["AccessKeyId"] = "ASIAEDITEDEDITEDEDIT".into();
        std::fs::write(&path, e.to_string()).unwrap();
        let out = run(&local, &args);
        let id = key_id(&out);
        assert_eq!(
            id == "ASIAEDITEDEDITEDEDIT",
            served,
            "issued {:?} ago, expires in {:?}",
            now.duration_since(issued).unwrap(),
            expires.duration_since(now).ok()
        );
        if served {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(json["Expiration"], rfc3339(expires));
        }
    }
    assert_eq!(sessions(&local).len(), 4);
}

#[test]
fn a_renewed_certificate_gets_fresh_credentials_at_once() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cert = dir.path().join("host.pem");
    std::fs::copy(pki(KIND, "fullchain.pem"), &cert).unwrap();
    let mut args = args(&local, &cache);
    args[2] = cert.to_string_lossy().into_owned();
    let first = key_id(&run(&local, &args));
    assert_eq!(key_id(&run(&local, &args)), first);

    // Renewal: a new certificate for the same key, from the same intermediate (OpenSSL).
    let ca = testdata("pki/ca");
    std::fs::write(
        dir.path().join("ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-new",
        "-key",
        &pki(KIND, "key-pkcs8.pem"),
        "-subj",
        "/CN=renewed",
        "-out",
        "csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "csr",
        "-CA",
        &ca.join("int.pem").to_string_lossy(),
        "-CAkey",
        &ca.join("int-key.pem").to_string_lossy(),
        "-set_serial",
        "4242",
        "-days",
        "30",
        "-extfile",
        "ext",
        "-out",
        "renewed.pem",
    ]);
    let mut chain = std::fs::read(dir.path().join("renewed.pem")).unwrap();
    chain.extend(std::fs::read(ca.join("int.pem")).unwrap());
    std::fs::write(&cert, chain).unwrap();

    let renewed = key_id(&run(&local, &args));
    assert_ne!(renewed, first);
    let made = sessions(&local);
    assert_eq!(made.len(), 2);
    // The new call was signed with the renewed certificate (serial 4242).
    assert_eq!(made[1]["serial"], "4242");
}

#[test]
fn a_hit_needs_no_network_and_prints_no_secret_with_debug() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let args = args(&local, &cache);
    let out = run(&local, &args);
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    drop(local);
    let stopped = Local::start(&[]);
    let mut debug = args.clone();
    debug.push("--debug".into());
    let out = run(&stopped, &debug);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        first
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cache: fresh entry"), "{stderr}");
    for secret in ["SecretAccessKey", "SessionToken"] {
        assert!(
            !stderr.contains(first[secret].as_str().unwrap()),
            "{secret} in {stderr}"
        );
    }
    assert!(sessions(&stopped).is_empty());
}

#[test]
fn clear_cache_removes_the_entries() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let args = args(&local, &cache);
    let first = key_id(&run(&local, &args));
    let out = helper_command(&["clear-cache", "--cache-dir", &cache.to_string_lossy()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("removed 1 cached credential set from")
    );
    assert_ne!(key_id(&run(&local, &args)), first);
    assert_eq!(sessions(&local).len(), 2);
}

#[test]
fn a_hit_opens_no_key_so_asks_no_password() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let mut args = args(&local, &cache);
    args[4] = pki(KIND, "key-pkcs8-aes-256-cbc-sha256.pem");
    let mut with_password = args.clone();
    with_password.extend(["--pkcs8-password".into(), "password".into()]);
    let first = key_id(&run(&local, &with_password));
    // No password and no terminal: only the cache can answer, and it does.
    assert_eq!(key_id(&run(&local, &args)), first);
    // Without the cache the same call needs the password (so the hit above proves something).
    let uncached: Vec<String> = args[..args.len() - 2].to_vec();
    let out = run(&local, &uncached);
    assert_one_line_error(&out, "password");
}
