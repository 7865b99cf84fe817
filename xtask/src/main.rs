//! `cargo xtask assets DIR`: the man pages (`DIR/man/*.1`) and the bash, zsh and fish
//! completions (`DIR/completions/`) of `aws_signing_helper`; `cargo xtask reference FILE`: the
//! Markdown reference (docs/reference.md). All are generated from the clap definitions the binary
//! parses with, so that they say what `--help` says.
//!
//! Pages: `aws_signing_helper(1)` (commands, exit status, environment, files, the systemd units)
//! and one `aws_signing_helper-COMMAND(1)` per command with its flags and the environment it
//! reads (its `--help` footer, as a list). What they say beyond `--help` (exit statuses, a few
//! variables) is in [`beyond_help`], shared with the reference.

mod beyond_help;
mod reference;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aws_signing_helper::cli::Cli;
use aws_signing_helper::commands::{version_line, COMPATIBLE_WITH};
use clap::{Command, CommandFactory};
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

const BIN: &str = "aws_signing_helper";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [task, dir] = args.as_slice() else {
        return usage();
    };
    if task == "reference" {
        return write_reference(Path::new(dir));
    }
    if task != "assets" {
        return usage();
    }
    match assets(Path::new(dir)) {
        Ok(files) => {
            for file in files {
                println!("{}", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask: cannot write into {dir}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask assets DIR      (man pages into DIR/man, completions into DIR/completions)\n       \
         cargo xtask reference FILE  (the Markdown reference, docs/reference.md)"
    );
    ExitCode::FAILURE
}

fn write_reference(file: &Path) -> ExitCode {
    match std::fs::write(file, reference::markdown(&command())) {
        Ok(()) => {
            println!("{}", file.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask: cannot write {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}

/// Writes every page and completion script under `dir`; returns their paths.
fn assets(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = man_pages(&dir.join("man"))?;
    written.extend(completions(&dir.join("completions"))?);
    Ok(written)
}

/// The command tree as the binary builds it, with every name and usage line resolved.
pub(crate) fn command() -> Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

fn man_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let root = command();
    let mut written = Vec::new();
    let mut all_env = BTreeMap::new();
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let env = environment(sub);
        for (var, text) in &env {
            all_env.entry(var.clone()).or_insert_with(|| text.clone());
        }
        let path = dir.join(format!("{BIN}-{}.1", sub.get_name()));
        std::fs::write(&path, subcommand_page(sub, &env)?)?;
        written.push(path);
    }
    let path = dir.join(format!("{BIN}.1"));
    std::fs::write(&path, main_page(&root, &all_env)?)?;
    written.push(path);
    Ok(written)
}

fn man(cmd: &Command) -> Man {
    let mut man = Man::new(cmd.clone())
        .source(format!("{BIN} {}", aws_signing_helper::commands::VERSION))
        .manual("User Commands");
    // Reproducible packages: the date only when the build says which (SOURCE_DATE_EPOCH).
    if let Some(date) = source_date() {
        man = man.date(date);
    }
    man
}

fn main_page(root: &Command, env: &BTreeMap<String, String>) -> io::Result<Vec<u8>> {
    let man = man(root);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;

    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(beyond_help::EXIT_STATUS)]);
    let mut env = env.clone();
    for (var, text, _) in beyond_help::MORE_ENVIRONMENT {
        env.entry(var.to_string())
            .or_insert_with(|| text.to_string());
    }
    environment_section(&mut roff, &env);
    roff.control("SH", ["FILES"]);
    for (file, what) in [
        ("~/.aws/credentials", "what update writes, unless AWS_SHARED_CREDENTIALS_FILE says another file."),
        ("/etc/aws-signing-helper/NAME.conf", "the flags of the systemd units' instance NAME (ARGS, SERVE_ARGS, UPDATE_ARGS) and any environment variable above; an example is in /usr/share/doc/aws-signing-helper/example.conf."),
        ("aws-signing-helper-serve@NAME.service", "serve for the configuration NAME: Type=notify, ready once the first credentials are in hand; systemctl reload sends SIGHUP."),
        ("aws-signing-helper-serve@NAME.socket", "socket activation for it (127.0.0.1:9911 unless changed with systemctl edit)."),
        ("aws-signing-helper-update@NAME.service", "update for the configuration NAME, kept running to refresh the profile."),
        ("/etc/aws-signing-helper/serve.toml", "the roles of serve --config as aws-signing-helper-serve-config.service runs it; an example is in /usr/share/doc/aws-signing-helper/example-serve.toml."),
        ("aws-signing-helper-serve-config.service", "serve --config /etc/aws-signing-helper/serve.toml: several roles, each with its own path and token; systemctl reload sends SIGHUP, which reads the file again."),
    ] {
        roff.control("TP", []);
        roff.text([italic(file)]);
        roff.text([roman(what)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut see_also: Vec<String> = root
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| format!("{BIN}-{}(1)", s.get_name()))
        .collect();
    see_also.extend([
        "rolesanywhere-local --help".into(),
        "systemd.exec(5)".into(),
    ]);
    roff.text([roman(see_also.join(", "))]);
    version_section(&mut roff);
    roff.to_writer(&mut out)?;
    Ok(out)
}

fn subcommand_page(sub: &Command, env: &BTreeMap<String, String>) -> io::Result<Vec<u8>> {
    let man = man(sub);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    let mut roff = Roff::new();
    environment_section(&mut roff, env);
    roff.control("SH", ["EXIT STATUS"]);
    if sub.get_name() == "validate" {
        roff.text([roman(
            "The class of the first failed check, in the order the checks are printed:",
        )]);
        for (status, class, checks) in beyond_help::VALIDATE_EXIT {
            roff.control("TP", []);
            roff.text([bold(status.to_string())]);
            roff.text([roman(format!("{class}: {checks}."))]);
        }
    } else {
        roff.text([roman("0 on success, 1 on any error (one line on stderr).")]);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(format!("{BIN}(1)"))]);
    version_section(&mut roff);
    roff.to_writer(&mut out)?;
    Ok(out)
}

fn environment_section(roff: &mut Roff, env: &BTreeMap<String, String>) {
    if env.is_empty() {
        return;
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for (var, text) in env {
        roff.control("TP", []);
        roff.text([bold(var.as_str())]);
        roff.text([roman(text.as_str())]);
    }
}

fn version_section(roff: &mut Roff) {
    roff.control("SH", ["VERSION"]);
    roff.text([roman(format!(
        "{}. Commands, flags, defaults and outputs follow the official aws_signing_helper \
         {COMPATIBLE_WITH}.",
        version_line()
    ))]);
}

/// The variables a command's `--help` footer lists, with what each does: the footer's
/// "Environment:" list, two spaces before a name, six before its description.
pub(crate) fn environment(cmd: &Command) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let Some(footer) = cmd.get_after_help().map(|h| h.to_string()) else {
        return env;
    };
    let mut current: Option<(String, String)> = None;
    for line in footer.lines() {
        if let Some(text) = line.strip_prefix("      ") {
            if let Some((_, description)) = current.as_mut() {
                if !description.is_empty() {
                    description.push(' ');
                }
                description.push_str(text.trim());
            }
        } else if let Some(name) = line.strip_prefix("  ") {
            if let Some((name, text)) = current.take() {
                env.insert(name, text);
            }
            current = Some((name.trim().to_string(), String::new()));
        }
    }
    if let Some((name, text)) = current {
        env.insert(name, text);
    }
    env
}

fn completions(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (shell, file) in [
        (Shell::Bash, format!("{BIN}.bash")),
        (Shell::Zsh, format!("_{BIN}")),
        (Shell::Fish, format!("{BIN}.fish")),
    ] {
        let path = dir.join(file);
        let mut out = std::fs::File::create(&path)?;
        clap_complete::generate(shell, &mut command(), BIN, &mut out);
        out.flush()?;
        written.push(path);
    }
    Ok(written)
}

/// `SOURCE_DATE_EPOCH` as a calendar date (UTC), as reproducible builds set it.
fn source_date() -> Option<String> {
    let epoch: i64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let days = epoch.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Some(format!("{year:04}-{month:02}-{day:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_dates_are_civil_dates() {
        for (epoch, date) in [
            ("0", "1970-01-01"),
            ("951782400", "2000-02-29"),
            ("1735689599", "2024-12-31"),
        ] {
            std::env::set_var("SOURCE_DATE_EPOCH", epoch);
            assert_eq!(source_date().as_deref(), Some(date), "{epoch}");
        }
        std::env::remove_var("SOURCE_DATE_EPOCH");
    }

    #[test]
    fn the_environment_footer_becomes_a_list() {
        let serve = command();
        let serve = serve.find_subcommand("serve").unwrap();
        let env = environment(serve);
        assert!(env["AWS_CA_BUNDLE"].starts_with("CA certificates to trust"));
        assert!(
            env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].ends_with("(re-read when it changes).")
        );
        assert!(env.contains_key("AWS_SIGNING_HELPER_LOG_LEVEL"));
    }
}
