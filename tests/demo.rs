//! The README's first command: `rolesanywhere-local demo` runs the real credential-process
//! against the embedded endpoint and prints the credentials and a profile.

mod common;

use std::process::Command;

#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    // The demo runs the aws_signing_helper next to it: the one these tests were built with.
    let out = Command::new(common::local_binary())
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
    assert!(stdout.contains("[profile rolesanywhere-demo]"));
    assert!(stdout.contains("credential_process = "));
    // The key it wrote is private to the user.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("client/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}
