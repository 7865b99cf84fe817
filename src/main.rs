//! `aws_signing_helper`: a drop-in replacement for the IAM Roles Anywhere credential helper.

use std::process::ExitCode;

use aws_signing_helper::cli::Cli;
use aws_signing_helper::commands;

fn main() -> ExitCode {
    let cli = match Cli::try_parse_args(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(e) => {
            // Help goes to stdout with success; usage errors exit 1, as the official helper does.
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
