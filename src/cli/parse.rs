//! Reading the command line: a fast path for `credential-process`, tolerance for the way
//! configuration files split arguments ([`normalize_args`]), and usage errors as one line.

use clap::{Args, Parser};

use super::flags::{Cli, Command, CredentialProcessArgs};

impl Cli {
    /// Parses `args` (program name first) as [`Parser::try_parse_from`] does, faster for the
    /// command that runs once per SDK call, and tolerant of configuration files as users write
    /// them (see [`normalize_args`]).
    ///
    /// `credential-process` is first read by the engine's parser of its flags, which builds no
    /// clap command at all (see [`without_clap`]), then matched against its own clap flags
    /// only, which spares building the whole command tree on every cold start. Anything those
    /// paths do not accept (help, typos, other commands) goes through the full parser, so that
    /// every message, and what is accepted, stays exactly the full parser's.
    pub fn try_parse_args(args: Vec<std::ffi::OsString>) -> Result<Cli, clap::Error> {
        use clap::FromArgMatches;
        let args = normalize_args(args);
        if args.get(1).is_some_and(|a| a == "credential-process") {
            if let Some(parsed) = without_clap(&args[2..]) {
                return Ok(Cli {
                    command: Some(Command::CredentialProcess(parsed)),
                    version: false,
                });
            }
            let only = CredentialProcessArgs::augment_args(
                clap::Command::new("credential-process").no_binary_name(true),
            );
            if let Ok(matches) = only.try_get_matches_from(&args[2..]) {
                if let Ok(parsed) = CredentialProcessArgs::from_arg_matches(&matches) {
                    return Ok(Cli {
                        command: Some(Command::CredentialProcess(parsed)),
                        version: false,
                    });
                }
            }
        }
        Cli::try_parse_from(args)
    }

    /// [`Cli::try_parse_args`], with usage errors turned into one line, as every other error:
    /// `credential-process` runs inside SDKs and tools that show its stderr, if at all, as one
    /// message, and for every command a usage dump only hides what went wrong.
    ///
    /// # Errors
    /// [`CommandLineError::Clap`] for help and version (clap prints them: to stdout, or to
    /// stderr for the help a missing command shows), [`CommandLineError::OneLine`] for usage
    /// errors.
    pub fn parse_command_line(args: Vec<std::ffi::OsString>) -> Result<Cli, CommandLineError> {
        let first = args
            .get(1)
            .and_then(|a| a.to_str())
            .map(|a| a.trim_start().to_string());
        Cli::try_parse_args(args).map_err(|e| {
            let help = e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
            if e.use_stderr() && !help {
                // Only on this error path is the whole command tree built, to name the command.
                use clap::CommandFactory;
                let command = first.filter(|name| {
                    Cli::command()
                        .get_subcommands()
                        .any(|c| c.get_name() == name)
                });
                CommandLineError::OneLine(one_line_usage_error(&e, command.as_deref()))
            } else {
                CommandLineError::Clap(e)
            }
        })
    }
}

/// `credential-process`'s flags (`args`, after the command) as the engine's parser reads them
/// (`config::args::parse`, the parser of the library's `credential_process` lines; its `FLAGS`
/// are held against clap's definitions by this module's tests), or `None` for clap to decide.
///
/// The two parsers accept the same flags, spellings and conflicts, and refuse the same repeats;
/// they differ where clap reads an argument otherwise, so those are left to clap: an argument
/// that starts with a single `-` (a short flag, or a value clap refuses as one, bar negative
/// `--session-duration`s), one with white space around it (the engine trims numbers, clap does
/// not), an empty one, and one that is not UTF-8. Every refusal is clap's too, for its message.
pub(super) fn without_clap(args: &[std::ffi::OsString]) -> Option<CredentialProcessArgs> {
    let plain = args.iter().all(|arg| {
        arg.to_str().is_some_and(|arg| {
            !arg.is_empty() && arg.trim() == arg && (!arg.starts_with('-') || arg.starts_with("--"))
        })
    });
    if !plain {
        return None;
    }
    let (credentials, cache) = rolesanywhere_credentials::config::args::parse(args).ok()?;
    Some(CredentialProcessArgs::from_engine(credentials, cache))
}

/// Why the command line was not run.
#[derive(Debug)]
pub enum CommandLineError {
    /// Help or the version, which clap prints itself.
    Clap(clap::Error),
    /// A usage error, as one line without the program's name.
    OneLine(String),
}

/// clap's message on one line: what is wrong (with its tip or possible values), then where the
/// flags are described, instead of clap's usage block.
fn one_line_usage_error(error: &clap::Error, command: Option<&str>) -> String {
    let rendered = error.render().to_string();
    let mut parts = rendered.lines().map(str::trim).filter(|l| {
        !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
    });
    let mut line = parts
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    for more in parts {
        line.push_str(if more.starts_with('[') { " " } else { "; " });
        line.push_str(more.trim_start_matches("tip: "));
    }
    // The values a user typed may hold any character; keep the message on one line.
    let mut line: String = line
        .chars()
        .map(|c| match c {
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect();
    match command {
        Some(command) => line.push_str(&format!("; see aws_signing_helper {command} --help")),
        None => line.push_str("; see aws_signing_helper --help"),
    }
    line
}

/// Undoes what configuration files do to arguments: botocore joins a value's continuation lines
/// with line breaks and splits it as a shell does, so
///
/// ```ini
/// credential_process = aws_signing_helper credential-process \
///     --certificate /etc/pki/host.crt \
///     --private-key /etc/pki/host.key
/// ```
///
/// arrives as `credential-process`, `"\n--certificate"`, `/etc/pki/host.crt`,
/// `"\n--private-key"`, ... An argument whose leading whitespace holds a line break loses that
/// whitespace (no flag, command or value of ours starts with one); one that differs from a known
/// flag only by leading spaces or tabs becomes that flag. Everything else is left as given.
pub fn normalize_args(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    const BLANK: [char; 4] = [' ', '\t', '\n', '\r'];
    let mut needs_flag_names = false;
    let mut args: Vec<std::ffi::OsString> = args
        .into_iter()
        .enumerate()
        .map(|(i, arg)| {
            let Some(text) = arg.to_str().filter(|_| i > 0) else {
                return arg;
            };
            let trimmed = text.trim_start_matches(BLANK);
            let lead = &text[..text.len() - trimmed.len()];
            if lead.contains(['\n', '\r']) {
                trimmed.into()
            } else {
                needs_flag_names |= !lead.is_empty() && trimmed.starts_with("--");
                arg
            }
        })
        .collect();
    if needs_flag_names {
        use clap::CommandFactory;
        let command = Cli::command();
        let known = |name: &str| {
            command
                .get_subcommands()
                .flat_map(|sub| sub.get_arguments())
                .any(|a| a.get_long() == Some(name))
        };
        for arg in args.iter_mut().skip(1) {
            let Some(text) = arg.to_str() else { continue };
            let trimmed = text.trim_start_matches(BLANK);
            let name = trimmed.strip_prefix("--").unwrap_or_default();
            let name = name.split('=').next().unwrap_or_default();
            if trimmed.len() < text.len() && trimmed.starts_with("--") && known(name) {
                *arg = trimmed.into();
            }
        }
    }
    args
}
