//! The README's first command: `rolesanywhere-local demo` runs the real credential-process
//! against the embedded endpoint; with `--keep-running`, the exports and profiles it writes work
//! as pasted with the real AWS CLI and boto3, and the restart command it prints brings the same
//! endpoint (port and TLS CA) back.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use test_support::{aws_cli, venv_python};

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    // The demo runs the aws_signing_helper next to it: the one these tests were built with.
    let out = Command::new(crate::util::local_binary())
        .args(["demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Endpoint verdict: accepted"), "{stdout}");
    let json_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("{\"Version\":1"))
        .expect("credential_process JSON in the report");
    let json: serde_json::Value = serde_json::from_str(json_line.trim()).unwrap();
    assert!(json["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    // The endpoint stops with the demo, so it says how to keep one running.
    assert!(stdout.contains("demo --keep-running --dir"), "{stdout}");
    // The key it wrote is private to the user.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("client/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}

/// A process killed (SIGTERM, then SIGKILL) on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        std::thread::sleep(Duration::from_millis(100));
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The demo kept running: reads its report until step 7's restart command.
fn keep_running(dir: &Path) -> (Running, String) {
    let mut child = Command::new(crate::util::local_binary())
        .args(["demo", "--keep-running", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut report = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        report.push_str(&line);
        report.push('\n');
        if line.contains(" --tls-key ") {
            return (running, report);
        }
        assert!(Instant::now() < deadline, "{report}");
    }
    panic!("the demo stopped early:\n{report}");
}

/// The variables `env.sh` exports, parsed as a shell would read them.
fn exports(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("env.sh"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A command with nothing of this machine's AWS set-up: only `env.sh`'s exports.
fn client(program: &Path, dir: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("none"))
        .envs(exports(dir));
    cmd
}

fn caller_arn(aws: &Path, dir: &Path, home: &Path, profile: &str) -> String {
    let out = client(aws, dir, home)
        .args([
            "sts",
            "get-caller-identity",
            "--output",
            "json",
            "--profile",
        ])
        .arg(profile)
        .output()
        .expect("run the AWS CLI");
    assert!(
        out.status.success(),
        "{profile}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["Arn"].as_str().unwrap().to_string()
}

#[test]
fn the_kept_demo_serves_the_aws_cli_and_boto3_as_printed() {
    let Some(aws) = aws_cli() else { return };
    let Some(python) = venv_python("boto3") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (demo, report) = keep_running(dir.path());
    let vars: Vec<String> = exports(dir.path()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        vars,
        ["AWS_CA_BUNDLE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"],
        "{report}"
    );
    assert!(report.contains("chained role"), "{report}");

    let arn = caller_arn(&aws, dir.path(), home.path(), "rolesanywhere-demo");
    assert!(arn.contains(":assumed-role/demo-role/"), "{arn}");
    let chained = caller_arn(&aws, dir.path(), home.path(), "rolesanywhere-demo-chained");
    assert!(
        chained.contains(":assumed-role/demo-chained-role/"),
        "{chained}"
    );
    // The boto3 line of the report, as printed.
    let line = report
        .lines()
        .find(|l| l.starts_with("python3 -c "))
        .expect("a boto3 line in the report");
    let code = line
        .strip_prefix("python3 -c '")
        .and_then(|l| l.strip_suffix('\''))
        .unwrap();
    let out = client(&python, dir.path(), home.path())
        .args(["-c", code])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(":assumed-role/demo-role/"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Stopped and brought back with the printed command: the same port and CA, so the exports
    // and profiles still work.
    drop(demo);
    let restart = report
        .lines()
        .find(|l| l.contains(" --tls-key "))
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect::<Vec<_>>();
    let endpoint = Running(
        Command::new(&restart[0])
            .args(&restart[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = client(&aws, dir.path(), home.path())
            .args([
                "sts",
                "get-caller-identity",
                "--profile",
                "rolesanywhere-demo",
            ])
            .output()
            .unwrap();
        if out.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(endpoint);
}
