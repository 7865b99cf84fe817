//! `cargo xtask assets DIR` run for real: every man page renders with man-db (`man -l`) and
//! names every flag its command has; bash completes commands and flags from the generated
//! script; zsh and fish accept theirs.

use std::path::Path;
use std::process::Command;

use aws_signing_helper::cli::Cli;
use clap::CommandFactory;
use test_support::have;
use test_support::tools::have_all;

fn generate() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("assets")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// The page as `man` shows it, plain text.
fn render(page: &Path) -> String {
    let out = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "200")
        .env("MANPAGER", "cat")
        .env("GROFF_NO_SGR", "1")
        .output()
        .expect("run man");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "{}: {stderr}",
        page.display()
    );
    // Bold and underlined text come as overstrikes (`X\x08X`, `_\x08X`): keep the last.
    let mut text = String::new();
    for c in String::from_utf8(out.stdout).unwrap().chars() {
        if c == '\x08' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    text
}

#[test]
fn every_page_renders_and_names_every_flag() {
    if !have("man") {
        return;
    }
    let dir = generate();
    let main = render(&dir.path().join("man/aws_signing_helper.1"));
    for heading in [
        "NAME",
        "SYNOPSIS",
        "SUBCOMMANDS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
    ] {
        assert!(main.contains(heading), "{heading} missing:\n{main}");
    }
    let cli = Cli::command();
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        assert!(
            main.contains(&format!("aws_signing_helper-{name}(1)")),
            "{name}"
        );
        let page = render(&dir.path().join(format!("man/aws_signing_helper-{name}.1")));
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            if let Some(long) = arg.get_long() {
                assert!(
                    page.contains(&format!("--{long}")),
                    "{name}: --{long} missing"
                );
            }
        }
        // The environment the command's --help lists is on its page too.
        if let Some(footer) = sub.get_after_help() {
            for var in footer
                .to_string()
                .lines()
                .filter(|l| l.starts_with("  ") && !l.starts_with("      "))
            {
                assert!(page.contains(var.trim()), "{name}: {var} missing");
            }
        }
    }
    let serve = render(&dir.path().join("man/aws_signing_helper-serve.1"));
    assert!(serve.contains("AWS_SIGNING_HELPER_LOG_LEVEL"), "{serve}");
    assert!(serve.contains("--allow-non-loopback"), "{serve}");
}

/// What bash offers after `words`, the last being the word being completed.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let program = format!(
        r#"source '{}'
COMP_WORDS=({line})
COMP_CWORD={cword}
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
_aws_signing_helper aws_signing_helper '{current}' '{previous}'
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script.display(),
        cword = words.len() - 1,
        current = words[words.len() - 1],
        previous = words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_commands_and_flags() {
    let dir = generate();
    let script = dir.path().join("completions/aws_signing_helper.bash");
    assert_eq!(
        bash_completes(&script, &["aws_signing_helper", "cred"]),
        ["credential-process"]
    );
    assert_eq!(
        bash_completes(&script, &["aws_signing_helper", "serve", "--hop"]),
        ["--hop-limit"]
    );
    let update = bash_completes(&script, &["aws_signing_helper", "update", "--"]);
    for flag in ["--profile", "--once", "--log-level", "--certificate"] {
        assert!(update.iter().any(|w| w == flag), "{flag}: {update:?}");
    }
}

#[test]
fn zsh_and_fish_accept_their_scripts() {
    if !have_all(&["zsh", "fish"]) {
        return;
    }
    let dir = generate();
    let zsh = Command::new("zsh")
        .arg("-n")
        .arg(dir.path().join("completions/_aws_signing_helper"))
        .output()
        .expect("run zsh");
    assert!(
        zsh.status.success(),
        "{}",
        String::from_utf8_lossy(&zsh.stderr)
    );
    let fish = Command::new("fish")
        .arg("--no-execute")
        .arg(dir.path().join("completions/aws_signing_helper.fish"))
        .output()
        .expect("run fish");
    assert!(
        fish.status.success(),
        "{}",
        String::from_utf8_lossy(&fish.stderr)
    );
    // fish lists the flags it learned from the script.
    let out = Command::new("fish")
        .args(["--no-config", "-c"])
        .arg(format!(
            "source '{}'; complete -C 'aws_signing_helper serve --addr'",
            dir.path()
                .join("completions/aws_signing_helper.fish")
                .display()
        ))
        .output()
        .unwrap();
    let offered = String::from_utf8_lossy(&out.stdout);
    assert!(offered.starts_with("--address"), "{offered}");
}
