//! `update` end to end: the real binary writes a shared credentials file with credentials from
//! the real `rolesanywhere-local`, keeping everything else in the file byte for byte; the AWS
//! CLI then uses the written profile against the endpoint's STS.

use std::path::Path;
use std::process::{Command, Output};

use test_support::aws_cli;
use test_support::pki;
use test_support::standard::{PROFILE, ROLE, TRUST_ANCHOR};

use crate::util::local::{helper_command, Local};

/// Runs `update --once` for `profile` into `file`.
fn update_once(local: &Local, file: &Path, profile: &str) -> Output {
    update_command(local, file, profile).output().unwrap()
}

fn update_command(local: &Local, file: &Path, profile: &str) -> Command {
    update_command_with(local, file, profile, &["--once"])
}

/// `update` for `profile` into `file`, with the standard identity and ARNs plus `extra`.
fn update_command_with(local: &Local, file: &Path, profile: &str, extra: &[&str]) -> Command {
    let url = local.url();
    let cert = pki("ec-p256", "fullchain.pem");
    let key = pki("ec-p256", "key-pkcs8.pem");
    let mut cmd = helper_command(&[
        "update",
        "--profile",
        profile,
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
        &url,
        "--certificate",
        &cert,
        "--private-key",
        &key,
    ]);
    cmd.args(extra)
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("AWS_SHARED_CREDENTIALS_FILE", file);
    cmd
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of `key` in section `[profile]`.
fn value(text: &str, profile: &str, key: &str) -> Option<String> {
    let header = format!("[{profile}]");
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == header;
        } else if inside {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim() == key {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn once_replaces_only_the_profile_keys() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let before = "# my credentials\r\n[other]\r\naws_access_key_id = AKIAOTHER\r\naws_secret_access_key = othersecret\r\n\r\n; the one update owns\r\n[default]\r\nregion = us-east-1\r\naws_access_key_id = OLD\r\n# a comment inside\r\naws_secret_access_key = oldsecret\r\naws_session_token = oldtoken\r\n\r\n[last]\r\noutput = json";
    std::fs::write(&file, before).unwrap();
    // An existing file open to its group is made private (the official helper keeps 0640).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let out = update_once(&local, &file, "default");
    assert_ok(&out);
    // Said once.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mode 0640") && stderr.contains("written with mode 0600"),
        "{stderr}"
    );

    let after = std::fs::read_to_string(&file).unwrap();
    let id = value(&after, "default", "aws_access_key_id").unwrap();
    let secret = value(&after, "default", "aws_secret_access_key").unwrap();
    let token = value(&after, "default", "aws_session_token").unwrap();
    assert!(id.starts_with("ASIA"), "{after}");
    let expected = before
        .replace(
            "aws_access_key_id = OLD",
            &format!("aws_access_key_id = {id}"),
        )
        .replace("= oldsecret", &format!("= {secret}"))
        .replace("= oldtoken", &format!("= {token}"))
        // The last line gets its line break, as the official helper writes it.
        + "\r\n";
    assert_eq!(after, expected);
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);

    // A missing profile is appended; the rest stays as it was.
    assert_ok(&update_once(&local, &file, "ra"));
    let again = std::fs::read_to_string(&file).unwrap();
    assert!(again.starts_with(&after), "{again}");
    assert!(value(&again, "ra", "aws_session_token").is_some());
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n == "credentials" || n == "credentials.lock"),
        "{names:?}"
    );
}

#[test]
fn a_missing_file_and_directory_are_created_private() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new-dir").join("credentials");
    assert_ok(&update_once(&local, &file, "default"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("[default]\naws_access_key_id = ASIA"),
        "{text}"
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }
}

#[test]
fn concurrent_updates_lose_nothing() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let before = "[keep]\nregion = eu-west-1\n";
    std::fs::write(&file, before).unwrap();
    let profiles: Vec<String> = (0..6).map(|i| format!("p{i}")).collect();
    let children: Vec<_> = profiles
        .iter()
        .map(|p| update_command(&local, &file, p).spawn().unwrap())
        .collect();
    for child in children {
        assert_ok(&child.wait_with_output().unwrap());
    }
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.starts_with(before), "{after}");
    for p in &profiles {
        for key in [
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
        ] {
            assert!(
                value(&after, p, key).is_some(),
                "[{p}] {key} missing: {after}"
            );
        }
        assert_eq!(after.matches(&format!("[{p}]")).count(), 1, "{after}");
    }
}

#[test]
fn failure_leaves_the_file_alone() {
    let local = Local::start(&["--fail-first", "100", "--fail-status", "403"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, "[default]\naws_access_key_id = KEEP\n").unwrap();
    let out = update_once(&local, &file, "default");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CreateSession failed"));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "[default]\naws_access_key_id = KEEP\n"
    );
}

/// Without `--once`, the profile is refreshed before expiry; when refreshing fails the file
/// keeps the last good entry, whole, and the failure is reported and retried.
#[test]
fn without_once_the_profile_is_refreshed_and_survives_failures() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(&file, "[other]\naws_access_key_id = AKIAOTHER\n").unwrap();
    // 900 s sessions refreshed 898 s before expiry: a refresh every two seconds.
    let mut child = update_command_with(&local, &file, "default", &["--session-duration", "900"])
        .env("AWS_SIGNING_HELPER_REFRESH_WINDOW", "898")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = child.stderr.take().unwrap();
    let _child = Kill(child);
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = std::sync::Arc::clone(&log);
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let key_in_file = || {
        std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| value(&t, "default", "aws_access_key_id"))
    };
    let wait = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "{what} never happened: {}",
                log.lock().unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait("the first write", &|| key_in_file().is_some());
    let first = key_in_file().unwrap();
    wait("a refresh", &|| key_in_file().is_some_and(|k| k != first));

    drop(local);
    wait("a failed refresh", &|| {
        log.lock()
            .unwrap()
            .contains("cannot refresh profile [default]")
    });
    let kept = std::fs::read_to_string(&file).unwrap();
    let last = value(&kept, "default", "aws_access_key_id").unwrap();
    assert!(last.starts_with("ASIA") && last != first, "{kept}");
    assert!(
        value(&kept, "default", "aws_session_token").is_some(),
        "{kept}"
    );
    assert!(
        kept.starts_with("[other]\naws_access_key_id = AKIAOTHER\n"),
        "{kept}"
    );
    // Still retrying, and still not touching the file.
    let failures = || {
        log.lock()
            .unwrap()
            .matches("cannot refresh profile")
            .count()
    };
    let seen = failures();
    wait("a retry", &|| failures() > seen);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), kept);
}

#[test]
fn an_unwritable_credentials_file_is_one_clear_error() {
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // A regular file where the directory should be: unwritable even for root, which ignores
    // permission bits.
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, "").unwrap();
    let file = blocker.join("credentials");
    let out = update_once(&local, &file, "default");
    let stderr = crate::util::assert_one_line_error(&out, "cannot write the credentials file");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(stderr.contains("AWS_SHARED_CREDENTIALS_FILE"), "{stderr}");
    // Nothing secret in the message.
    assert!(!stderr.contains("aws_secret_access_key"), "{stderr}");
    assert_eq!(std::fs::read(&blocker).unwrap(), b"");
}

#[test]
fn the_aws_cli_uses_the_written_profile() {
    let Some(aws) = aws_cli() else { return };
    let local = Local::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    assert_ok(&update_once(&local, &file, "ra"));
    let out = Command::new(aws)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", &file)
        .env("AWS_CA_BUNDLE", &local.ca)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "--profile",
            "ra",
            "--region",
            "us-east-1",
            "--output",
            "json",
            "--endpoint-url",
            &local.url(),
            "sts",
            "get-caller-identity",
        ])
        .output()
        .expect("run the AWS CLI");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["Account"], "123456789012");
    assert!(json["Arn"]
        .as_str()
        .unwrap()
        .contains("assumed-role/test-role"));
}
