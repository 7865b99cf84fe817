//! The README's quick start, run from the README itself: every ```sh block that follows a
//! `<!-- quickstart -->` marker runs in one bash, in order, with a fresh `$HOME`; the block after
//! `<!-- quickstart: background -->` (the demo kept running) runs beside them. The first block
//! (building the release binaries and putting them on `PATH`) is replaced by the binaries these
//! tests were built with, and is checked to say what it said when this test was written.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A quick-start block and whether it runs in the background.
struct Block {
    background: bool,
    script: String,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let background = match line.trim() {
            "<!-- quickstart -->" => false,
            "<!-- quickstart: background -->" => true,
            _ => continue,
        };
        assert_eq!(lines.next().map(str::trim), Some("```sh"), "after {line}");
        let script: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        blocks.push(Block {
            background,
            script: script.join("\n") + "\n",
        });
    }
    blocks
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        // The background block is a bash running the demo: stop the whole process group.
        let _ = Command::new("kill")
            .arg("--")
            .arg(format!("-{}", self.0.id()))
            .status();
        let _ = self.0.wait();
    }
}

fn bash(home: &Path, path: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", path)
        .env("LANG", "C.UTF-8")
        .current_dir(home);
    cmd
}

#[test]
fn the_readme_quick_start_works_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = blocks(&readme);
    assert_eq!(blocks.len(), 5, "the quick start has five steps");
    assert_eq!(
        blocks[0].script,
        "cargo build --release\nexport PATH=\"$PWD/target/release:$PATH\"\n"
    );
    assert!(blocks[1].background && blocks.iter().filter(|b| b.background).count() == 1);

    let home = tempfile::tempdir().unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_aws_signing_helper"));
    let local = crate::util::local_binary();
    assert_eq!(local.parent(), bin.parent(), "both binaries side by side");
    let venv = root.join(".venv/bin");
    let path = format!(
        "{}:{}:{}",
        bin.parent().unwrap().display(),
        venv.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // The demo, kept running, in a process group of its own.
    let demo = {
        use std::os::unix::process::CommandExt;
        let mut cmd = bash(home.path(), &path);
        cmd.args(["-c", &blocks[1].script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        Killed(cmd.spawn().unwrap())
    };
    let env = home.path().join("ra-demo/env.sh");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !env.exists() {
        assert!(Instant::now() < deadline, "the demo wrote no env.sh");
        std::thread::sleep(Duration::from_millis(100));
    }
    // env.sh is written once the demo's own credential-process call succeeded.
    std::thread::sleep(Duration::from_millis(300));

    let script: String = blocks[2..].iter().map(|b| b.script.as_str()).collect();
    let out = bash(home.path(), &path)
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for want in [
        // Step 3: the demo profile, the chained one, boto3.
        "assumed-role/demo-role/",
        "assumed-role/demo-chained-role/",
        // Step 5: credential-process against the user's own endpoint.
        "{\"Version\":1,\"AccessKeyId\":\"ASIA",
    ] {
        assert!(
            stdout.contains(want),
            "{want:?} not in:\n{stdout}\n{stderr}"
        );
    }
    // The demo role's identity four times: its profile and boto3 (step 3), serve and update
    // (step 4).
    assert_eq!(
        stdout.matches("assumed-role/demo-role/").count(),
        4,
        "{stdout}"
    );
    drop(demo);
}
