//! `aws_signing_helper`: a drop-in replacement for the IAM Roles Anywhere credential helper.

use std::process::ExitCode;

use aws_signing_helper::cli::{Cli, CommandLineError};
use aws_signing_helper::commands;

fn main() -> ExitCode {
    let cli = match Cli::parse_command_line(std::env::args_os().collect()) {
        Ok(cli) => cli,
        // Usage errors are one line, like every other error, and exit 1 as the official
        // helper does.
        Err(CommandLineError::OneLine(line)) => {
            eprintln!("aws_signing_helper: {line}");
            return ExitCode::FAILURE;
        }
        // Help and version go to stdout with success; help asked for by a missing command
        // goes to stderr and exits 1.
        Err(CommandLineError::Clap(e)) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) is not a failure.
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aws_signing_helper: {}", e.report());
            ExitCode::from(e.exit_code())
        }
    }
}
