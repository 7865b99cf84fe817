//! The documentation's commands, run from the documentation itself: README.md's quick start
//! (every ```sh block after a `<!-- quickstart -->` marker) and the guides' runnable steps (every
//! block after `<!-- run -->` in docs/*.md).
//!
//! * A document's blocks run in order in one bash (`-euo pipefail`), with a fresh `$HOME` and an
//!   environment holding only `HOME`, `PATH` and `LANG`, so nothing of the machine's AWS setup
//!   leaks in. Whatever a block leaves running is stopped with the bash's process group.
//! * A marker `<!-- quickstart: background; ready: FILE -->` (or `run: ...`) starts its block
//!   beside the others (the demo kept running), in a process group of its own, and the others wait
//!   until `$HOME/FILE` exists. Such blocks come before the others.
//! * The block that builds the release binaries and puts them on `PATH` is replaced by the
//!   binaries these tests were built with, and checked to say what it said when this was written.
//! * The documents use memorable fixed ports ([`FIXED_PORTS`]); each run gets free ones instead,
//!   rewritten into the commands, so that a machine where something listens on 8443 or 9911 still
//!   passes. A block naming a port outside that list fails the test until the port is added.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The ports the documents' commands bind or call, replaced by free ones at run time.
const FIXED_PORTS: &[u16] = &[8443, 9911, 9912];

/// The first block of the README's quick start and of the getting-started guide.
const BUILD: &str = "cargo build --release\nexport PATH=\"$PWD/target/release:$PATH\"\n";

/// The guides with runnable blocks, each run by a test below.
const RUN_GUIDES: &[&str] = &[
    "docs/ansible.md",
    "docs/getting-started.md",
    "docs/hardware-keys.md",
    "docs/services.md",
];

/// A marked block.
#[derive(Debug)]
struct Block {
    /// Run beside the others until the test ends.
    background: bool,
    /// For a background block: the file (under `$HOME`) whose existence says it is ready.
    ready: Option<String>,
    script: String,
}

/// The ```sh blocks after `<!-- KIND -->` or `<!-- KIND: OPTIONS -->` markers.
fn blocks(text: &str, kind: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(marker) = line
            .trim()
            .strip_prefix("<!--")
            .and_then(|m| m.strip_suffix("-->"))
        else {
            continue;
        };
        let marker = marker.trim();
        let options = match marker.split_once(':') {
            Some((k, options)) if k.trim() == kind => options,
            _ if marker == kind => "",
            _ => continue,
        };
        let mut block = Block {
            background: false,
            ready: None,
            script: String::new(),
        };
        for option in options.split(';').map(str::trim).filter(|o| !o.is_empty()) {
            if option == "background" {
                block.background = true;
            } else if let Some(file) = option.strip_prefix("ready:") {
                block.ready = Some(file.trim().to_string());
            } else {
                panic!("unknown option {option:?} in {line}");
            }
        }
        assert_eq!(
            block.background,
            block.ready.is_some(),
            "a background block says when it is ready, and only it: {line}"
        );
        assert_eq!(lines.next().map(str::trim), Some("```sh"), "after {line}");
        let script: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        block.script = script.join("\n") + "\n";
        blocks.push(block);
    }
    blocks
}

/// Every port number the script names where a port goes: after `127.0.0.1:`, `localhost:` or
/// `[::1]:`, and as the value of `--port`.
fn ports_named(script: &str) -> Vec<u16> {
    let mut ports = Vec::new();
    for prefix in ["127.0.0.1:", "localhost:", "[::1]:", "--port ", "--port="] {
        for (at, _) in script.match_indices(prefix) {
            let digits: String = script[at + prefix.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(port) = digits.parse() {
                ports.push(port);
            }
        }
    }
    ports
}

/// `script` with every whole number `from` (not part of a longer number) written as `to`.
fn replace_number(script: &str, from: u16, to: u16) -> String {
    let from = from.to_string();
    let mut out = String::with_capacity(script.len());
    let mut rest = script;
    while let Some(at) = rest.find(&from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(|c| c.is_ascii_digit()) || after.is_some_and(|c| c.is_ascii_digit()) {
            out.push_str(&from);
        } else {
            out.push_str(&to.to_string());
        }
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

/// Ports nothing listens on now, one per fixed port.
fn free_ports() -> Vec<(u16, u16)> {
    // All bound at once, so that they differ, then released for the commands to bind.
    let listeners: Vec<TcpListener> = FIXED_PORTS
        .iter()
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    FIXED_PORTS
        .iter()
        .zip(&listeners)
        .map(|(&fixed, l)| (fixed, l.local_addr().unwrap().port()))
        .collect()
}

/// A process group, stopped when dropped.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("--")
            .arg(format!("-{}", self.0.id()))
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

fn bash(home: &Path, path: &str) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("bash");
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", path)
        .env("LANG", "C.UTF-8")
        .current_dir(home)
        .stdin(Stdio::null())
        .process_group(0);
    cmd
}

/// What a document's blocks printed.
struct Run {
    stdout: String,
    stderr: String,
}

/// Runs the blocks of `document` marked `kind`, as described at the top; panics with both
/// outputs unless every block succeeds.
fn run(document: &str, kind: &str) -> Run {
    // One document at a time: each starts endpoints and servers on ports it just found free,
    // and on a small machine they would also slow each other past the documents' `sleep 1`.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(document)).unwrap();
    let mut blocks = blocks(&text, kind);
    assert!(!blocks.is_empty(), "{document} has no {kind} blocks");
    if blocks[0].script == BUILD {
        blocks.remove(0);
    }
    assert!(
        blocks.iter().all(|b| !b.script.contains("cargo ")),
        "{document}: only the first block may build, and it must say exactly {BUILD:?}"
    );
    let first_foreground = blocks
        .iter()
        .position(|b| !b.background)
        .unwrap_or(blocks.len());
    assert!(
        blocks[first_foreground..].iter().all(|b| !b.background),
        "{document}: background blocks come first"
    );

    // The fixed ports, replaced by free ones.
    let ports = free_ports();
    for block in &mut blocks {
        for port in ports_named(&block.script).into_iter().filter(|&p| p != 0) {
            assert!(
                FIXED_PORTS.contains(&port),
                "{document} uses port {port}: add it to FIXED_PORTS, so that runs use a free one"
            );
        }
        for &(fixed, free) in &ports {
            block.script = replace_number(&block.script, fixed, free);
        }
    }

    let home = tempfile::tempdir().unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_aws_signing_helper"));
    let local = crate::util::local_binary();
    assert_eq!(local.parent(), bin.parent(), "both binaries side by side");
    let path = format!(
        "{}:{}:{}",
        bin.parent().unwrap().display(),
        root.join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut background = Vec::new();
    for block in &blocks[..first_foreground] {
        let mut cmd = bash(home.path(), &path);
        cmd.args(["-c", &block.script])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        background.push(Group(cmd.spawn().unwrap()));
        let ready = home.path().join(block.ready.as_deref().unwrap_or_default());
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready.exists() {
            assert!(
                Instant::now() < deadline,
                "{document}: no {} after 60 s",
                ready.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The demo writes env.sh once its own credential-process call succeeded.
        std::thread::sleep(Duration::from_millis(300));
    }

    // The foreground blocks, one script. Outputs go to files, not pipes: a command a failed
    // block left running in the background would hold a pipe open.
    let outputs = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (outputs.path().join("out"), outputs.path().join("err"));
    let script: String = blocks[first_foreground..]
        .iter()
        .map(|b| b.script.as_str())
        .collect();
    let mut cmd = bash(home.path(), &path);
    cmd.args(["-euo", "pipefail", "-c", &script])
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap());
    let mut foreground = Group(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = foreground.0.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(foreground);
    drop(background);
    let done = Run {
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
    };
    assert!(
        status.is_some_and(|s| s.success()),
        "{document}: {}\n--- stdout\n{}\n--- stderr\n{}",
        status.map_or("still running after 300 s".into(), |s| s.to_string()),
        done.stdout,
        done.stderr
    );
    done
}

fn assert_printed(run: &Run, wanted: &[&str]) {
    for want in wanted {
        assert!(
            run.stdout.contains(want),
            "{want:?} not in:\n{}\n--- stderr\n{}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn the_readme_quick_start_works_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let marked = blocks(&readme, "quickstart");
    assert_eq!(marked.len(), 4, "the quick start has four steps");
    assert_eq!(marked[0].script, BUILD);
    assert!(marked[1].background && marked.iter().filter(|b| b.background).count() == 1);

    let run = run("README.md", "quickstart");
    // The demo profile, the chained one, boto3 (step 3).
    assert_printed(
        &run,
        &["assumed-role/demo-role/", "assumed-role/demo-chained-role/"],
    );
    // The demo role's identity four times: its profile and boto3 (step 3), serve and update
    // (step 4).
    assert_eq!(
        run.stdout.matches("assumed-role/demo-role/").count(),
        4,
        "{}",
        run.stdout
    );
}

#[test]
fn the_getting_started_guide_works_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(root.join("docs/getting-started.md")).unwrap();
    assert_eq!(blocks(&guide, "run")[0].script, BUILD);

    let run = run("docs/getting-started.md", "run");
    assert_printed(
        &run,
        &[
            // The demo, through the AWS CLI.
            "assumed-role/demo-role/",
            // validate on the new certificate.
            "pass  chain               CN=host.example.com <- CN=My Test CA (trust anchor)",
            "ok: 10 checks passed, 2 skipped",
            // credential-process against the endpoint that trusts the new CA, and the AWS CLI.
            "{\"Version\":1,\"AccessKeyId\":\"ASIA",
            "assumed-role/my-role/",
            // validate --live.
            "pass  live",
        ],
    );
}

#[test]
fn the_services_guide_works_as_written() {
    let run = run("docs/services.md", "run");
    assert_printed(
        &run,
        &[
            // The IMDSv2 flow, the container endpoint, health.
            "\"Code\":\"Success\"",
            "\"RoleArn\":\"arn:aws:iam::123456789012:role/demo-role\"",
            "{\"status\":\"ok\"",
            // update --once, then the AWS CLI reading the file.
            "aws_access_key_id = ASIA",
            "assumed-role/demo-role/",
        ],
    );
}

#[test]
fn the_ansible_guide_works_as_written() {
    let run = run("docs/ansible.md", "run");
    // Three tasks as the chained role, for one CreateSession (beside the demo's own) and one
    // AssumeRole.
    assert_eq!(
        run.stdout
            .matches("assumed-role/demo-chained-role/")
            .count(),
        3,
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_printed(&run, &["2 CreateSession, 1 AssumeRole"]);
}

#[test]
fn the_hardware_keys_guide_works_as_written() {
    let run = run("docs/hardware-keys.md", "run");
    assert_printed(
        &run,
        &[
            // read-certificate-data lists the token's certificate with its URI.
            "URI: pkcs11:token=ra;",
            // credential-process signed by the token, accepted by the endpoint.
            "{\"Version\":1,\"AccessKeyId\":\"ASIA",
        ],
    );
}

/// A guide that gains runnable blocks gains a test above.
#[test]
fn every_guide_with_runnable_blocks_is_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let name = format!("docs/{}", path.file_name().unwrap().to_string_lossy());
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            !blocks(&text, "run").is_empty(),
            RUN_GUIDES.contains(&name.as_str()),
            "{name}: RUN_GUIDES lists the guides with <!-- run --> blocks, each tested here"
        );
    }
}

#[test]
fn fixed_ports_are_rewritten_as_whole_numbers() {
    let script = "serve --port 9911 & curl http://127.0.0.1:9911/ serial 199110 9911";
    assert_eq!(ports_named(script), [9911, 9911]);
    assert_eq!(
        replace_number(script, 9911, 40001),
        "serve --port 40001 & curl http://127.0.0.1:40001/ serial 199110 40001"
    );
    assert_eq!(ports_named("--listen 127.0.0.1:0 --port=8443"), [0, 8443]);
}

#[test]
fn markers_say_how_a_block_runs() {
    let text = "<!-- run -->\n```sh\necho a\n```\n<!-- quickstart -->\n```sh\nno\n```\n\
                <!-- run: background; ready: x/env.sh -->\n```sh\ndemo\n```\n";
    let run = blocks(text, "run");
    assert_eq!(run.len(), 2);
    assert_eq!(
        (run[0].background, run[0].script.as_str()),
        (false, "echo a\n")
    );
    assert!(run[1].background);
    assert_eq!(run[1].ready.as_deref(), Some("x/env.sh"));
}
