//! The systemd units in packaging/systemd/, checked by systemd's own tools without a running
//! systemd: `systemd-analyze verify` (every directive known and valid, the socket's service
//! found) on an instance of each template, with ExecStart= pointing at this build's binary, and
//! `systemd-analyze security --offline` for the hardening. The example configuration is parsed
//! as systemd does (continuation lines, then split at spaces) and its flags are accepted by
//! `serve` and `update`.

use std::path::{Path, PathBuf};
use std::process::Command;

use test_support::have;

const UNITS: [&str; 3] = [
    "aws-signing-helper-serve@.service",
    "aws-signing-helper-serve@.socket",
    "aws-signing-helper-update@.service",
];

fn packaging() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/systemd")
}

/// An instance `ci` of every template in a temporary directory, running this build's binary.
fn instances() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for unit in UNITS {
        let text = std::fs::read_to_string(packaging().join(unit)).unwrap();
        assert_eq!(
            text.contains("ExecStart=/usr/bin/aws_signing_helper "),
            unit.ends_with(".service"),
            "{unit}"
        );
        let text = text.replace(
            "/usr/bin/aws_signing_helper ",
            &format!("{} ", env!("CARGO_BIN_EXE_aws_signing_helper")),
        );
        let path = dir.path().join(unit.replace("@.", "@ci."));
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    (dir, paths)
}

#[test]
fn systemd_analyze_verify_finds_nothing_to_say() {
    if !have("systemd-analyze") {
        return;
    }
    let (_dir, paths) = instances();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&paths)
        .output()
        .expect("run systemd-analyze (apt-get install systemd)");
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

/// The exposure score systemd gives each service stays "OK" (below 2.0 of 10).
#[test]
fn services_are_hardened() {
    if !have("systemd-analyze") {
        return;
    }
    let (_dir, paths) = instances();
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "service"))
    {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(path)
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        let score: f64 = report
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|rest| rest.split(": ").nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no score: {report}"));
        assert!(score < 2.0, "{}: exposure {score}", path.display());
        // The settings the README promises.
        let unit = std::fs::read_to_string(path).unwrap();
        for line in [
            "Type=notify",
            "DynamicUser=yes",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "ExecReload=/bin/kill -HUP $MAINPID",
        ] {
            assert!(
                unit.lines().any(|l| l == line),
                "{}: {line}",
                path.display()
            );
        }
    }
}

/// `EnvironmentFile=` as systemd reads it: comments and blank lines skipped, a trailing
/// backslash joins the next line.
fn environment_file(text: &str) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(start) = line.strip_suffix('\\') {
            current.push_str(start);
            continue;
        }
        current.push_str(line);
        joined.push(std::mem::take(&mut current));
    }
    joined
        .into_iter()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// The example configuration's flags are the helper's: `serve $ARGS $SERVE_ARGS` and
/// `update $ARGS $UPDATE_ARGS` parse (they stop at the certificate, which does not exist here,
/// not at a flag).
#[test]
fn the_example_configuration_is_accepted() {
    let text = std::fs::read_to_string(packaging().join("example.conf")).unwrap();
    let vars = environment_file(&text);
    let get = |name: &str| {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} not set"))
    };
    for (command, own) in [("serve", "SERVE_ARGS"), ("update", "UPDATE_ARGS")] {
        let line = format!("{command} {} {}", get("ARGS"), get(own));
        let args: Vec<&str> = line.split_whitespace().collect();
        let out = crate::util::helper(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("/etc/pki/tls/certs/host.crt"),
            "{command}: not stopped by the missing certificate: {stderr}"
        );
    }
}
