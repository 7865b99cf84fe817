//! `aws_signing_helper`: a drop-in replacement for the IAM Roles Anywhere credential helper.

use std::process::ExitCode;

use aws_signing_helper::cli::Cli;
use aws_signing_helper::commands;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_args(args.clone()) {
        Ok(cli) => cli,
        // Help and version go to stdout with success.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // Usage errors are one line, like every other error, and exit 1 as the official
        // helper does.
        Err(e) => {
            eprintln!("aws_signing_helper: {}", usage_error(&e, &args));
            return ExitCode::FAILURE;
        }
    };
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is not a failure.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aws_signing_helper: {}", e.report());
            ExitCode::FAILURE
        }
    }
}

/// clap's message on one line: what is wrong (with its tip or possible values), then where to
/// read about the flags, instead of clap's usage block.
fn usage_error(e: &clap::Error, args: &[std::ffi::OsString]) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut line = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    for more in lines {
        if more.starts_with("Usage:") || more.starts_with("For more information") {
            continue;
        }
        if more.starts_with('[') {
            line.push(' ');
        } else {
            line.push_str("; ");
        }
        line.push_str(more.trim_start_matches("tip: "));
    }
    let commands = [
        "credential-process",
        "sign-string",
        "read-certificate-data",
        "serve",
        "update",
        "version",
    ];
    let command = args
        .get(1)
        .and_then(|a| a.to_str())
        .filter(|a| commands.contains(a));
    match command {
        Some(command) => format!("{line}; see aws_signing_helper {command} --help"),
        None => format!("{line}; see aws_signing_helper --help"),
    }
}
