//! The command line's parsing, held against the official helper's flags and clap's own rules.

use super::flags::*;
use super::parse::*;
use clap::{CommandFactory, Parser};
use rolesanywhere_credentials::config::args::{Flag, Takes, FLAGS};

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("aws_signing_helper").chain(args.iter().copied()))
}

/// The fast path for `credential-process` accepts and refuses exactly what the full parser
/// does, with the same result.
#[test]
fn fast_path_matches_the_full_parser() {
    let cases: &[&[&str]] = &[
        &[
            "credential-process",
            "--certificate",
            "c.pem",
            "--private-key",
            "k.pem",
        ],
        &[
            "credential-process",
            "--certificate=c.pem",
            "--private-key",
            "k.pem",
            "--trust-anchor-arn",
            "ta",
            "--profile-arn",
            "p",
            "--role-arn",
            "r",
            "--session-duration",
            "900",
            "--debug",
            "--no-verify-ssl=false",
            "--with-proxy=true",
            "--intermediates",
            "i.pem",
        ],
        &["credential-process", "--session-duration", "abc"],
        &["credential-process", "--no-such-flag"],
        &["credential-process", "--help"],
        &["credential-process", "-h"],
        &["credential-process", "extra-positional"],
        &["credential-process", "--debug=maybe"],
        &["credential-process"],
        &["serve", "--port", "1"],
        &["version"],
        &[],
        // Where the engine's parser and clap read arguments differently, clap decides.
        &["credential-process", "--role-arn", "-x"],
        &["credential-process", "--role-arn=-x"],
        &["credential-process", "--role-arn="],
        &["credential-process", "--role-arn", ""],
        &["credential-process", "--session-duration", "-5"],
        &["credential-process", "--session-duration=-5"],
        &["credential-process", "--session-duration=+5"],
        &["credential-process", "--session-duration", " 900"],
        &["credential-process", "--session-duration", "900 "],
        &[
            "credential-process",
            "--session-duration",
            "99999999999999999999",
        ],
        &["credential-process", "--role-arn", "a", "--role-arn", "b"],
        &["credential-process", "--role-arn", "a b"],
        &[
            "credential-process",
            "--assume-role",
            "a",
            "--assume-role=b",
        ],
        &["credential-process", "--debug", "true"],
        &["credential-process", "--debug=false", "--cache=true"],
        &["credential-process", "--cache", "true"],
        &["credential-process", "--cache-dir", "d"],
        &["credential-process", "--cache-dir=d", "--cache-dir=e"],
        &["credential-process", "--"],
        &["credential-process", "--", "--debug"],
        &["credential-process", "--=x"],
        &["credential-process", "--version"],
        &["credential-process", "--certificate"],
        &["credential-process", "--certificate", "--private-key", "k"],
        &["credential-process", "--cert", "c.pem"],
    ];
    // Every flag of the engine's list, alone and with every other (conflicts, both orders).
    let value = |flag: &Flag| match flag.takes {
        Takes::Switch => vec![format!("--{}", flag.name)],
        _ => vec![format!("--{}", flag.name), "v".to_string()],
    };
    let mut generated: Vec<Vec<String>> = Vec::new();
    for a in FLAGS {
        generated.push(value(a));
        for b in FLAGS {
            generated.push([value(a), value(b)].concat());
        }
    }
    let generated: Vec<Vec<&str>> = generated
        .iter()
        .map(|args| {
            std::iter::once("credential-process")
                .chain(args.iter().map(String::as_str))
                .collect()
        })
        .collect();
    let cases = cases
        .iter()
        .copied()
        .chain(generated.iter().map(Vec::as_slice));
    for args in cases {
        let argv = || std::iter::once("aws_signing_helper").chain(args.iter().copied());
        let full = Cli::try_parse_from(argv());
        let fast = Cli::try_parse_args(argv().map(Into::into).collect());
        match (full, fast) {
            (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{args:?}"),
            (Err(a), Err(b)) => {
                assert_eq!(a.kind(), b.kind(), "{args:?}");
                assert_eq!(a.to_string(), b.to_string(), "{args:?}");
            }
            (a, b) => panic!("{args:?}: full parser {a:?}, fast path {b:?}"),
        }
    }
}

/// A plain `credential_process` line builds no clap command; what clap must decide does not
/// take that path.
#[test]
fn plain_credential_process_lines_skip_clap() {
    let plain = argv(&[
        "--certificate",
        "c.pem",
        "--private-key=k.pem",
        "--role-arn",
        "arn:aws:iam::123456789012:role/r",
        "--debug",
        "--assume-role",
        "a",
        "--assume-role",
        "b",
    ]);
    let parsed = without_clap(&plain[1..]).expect("read without clap");
    assert_eq!(
        parsed.credentials.identity.private_key.as_deref(),
        Some("k.pem")
    );
    assert_eq!(parsed.credentials.assume_role, ["a", "b"]);
    assert!(parsed.credentials.identity.debug);
    for unplain in [
        &["-h"][..],
        &["--role-arn", "-x"],
        &["--bogus"],
        &["--region", " x"],
    ] {
        assert!(without_clap(&argv(unplain)[1..]).is_none(), "{unplain:?}");
    }
}

fn argv(args: &[&str]) -> Vec<std::ffi::OsString> {
    std::iter::once("aws_signing_helper")
        .chain(args.iter().copied())
        .map(Into::into)
        .collect()
}

/// botocore hands a `credential_process` written over several lines with trailing
/// backslashes to us as arguments starting with a line break; they mean what they would
/// on one line.
#[test]
fn continuation_lines_of_a_config_file_are_accepted() {
    let clean = [
        "credential-process",
        "--certificate",
        "/c.pem",
        "--private-key",
        "/k.pem",
        "--assume-role",
        "arn:aws:iam::222233334444:role/x,external_id=ab",
        "--cache",
    ];
    let wrapped = [
        "credential-process",
        "\n--certificate",
        "/c.pem",
        "\n  --private-key",
        "\r\n/k.pem",
        "\n--assume-role",
        "arn:aws:iam::222233334444:role/x,external_id=ab",
        "\n\t--cache",
    ];
    let want = format!("{:?}", Cli::try_parse_args(argv(&clean)).unwrap());
    assert_eq!(
        format!("{:?}", Cli::try_parse_args(argv(&wrapped)).unwrap()),
        want
    );
    // Leading blanks alone: only before a known flag.
    let spaced = argv(&["credential-process", "  --certificate", "/c.pem"]);
    assert_eq!(normalize_args(spaced)[2], "--certificate");
    let kept = argv(&["credential-process", "--pkcs8-password", "  secret"]);
    assert_eq!(normalize_args(kept)[3], "  secret");
    let unknown = argv(&["credential-process", " --nope"]);
    assert_eq!(normalize_args(unknown)[2], " --nope");
    // The subcommand itself may start a continuation line.
    let cmd = argv(&["\ncredential-process", "--cache"]);
    assert!(Cli::try_parse_args(cmd).is_ok());
}

/// credential-process usage errors are one line saying what to do; other commands keep
/// clap's output.
#[test]
fn credential_process_usage_errors_are_one_line() {
    for args in [
        &["credential-process", "--no-such-flag"][..],
        &["credential-process", "--certficate", "x"],
        &["credential-process", "--session-duration", "abc"],
        &[
            "credential-process",
            "--certificate",
            "a",
            "--cert-selector",
            "b",
        ],
        &["credential-process", "\n--bogus\nflag"],
        &["credential-process", "stray"],
    ] {
        match Cli::parse_command_line(argv(args)) {
            Err(CommandLineError::OneLine(line)) => {
                assert!(!line.contains('\n'), "{args:?}: {line}");
                assert!(
                    line.ends_with("see aws_signing_helper credential-process --help"),
                    "{line}"
                );
                assert!(!line.contains("Usage:"), "{line}");
            }
            other => panic!("{args:?}: {other:?}"),
        }
    }
    let Err(CommandLineError::OneLine(line)) =
        Cli::parse_command_line(argv(&["credential-process", "--certficate", "x"]))
    else {
        panic!("not one line")
    };
    assert!(
        line.contains("a similar argument exists: '--certificate'"),
        "{line}"
    );
    assert!(matches!(
        Cli::parse_command_line(argv(&["credential-process", "--help"])),
        Err(CommandLineError::Clap(e)) if !e.use_stderr()
    ));
    match Cli::parse_command_line(argv(&["serve", "--nope"])) {
        Err(CommandLineError::OneLine(line)) => {
            assert!(
                line.ends_with("; see aws_signing_helper serve --help"),
                "{line}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn chain_and_cache_flags() {
    let Some(Command::CredentialProcess(a)) = parse(&[
        "credential-process",
        "--assume-role",
        "arn:aws:iam::1:role/a",
        "--assume-role=arn:aws:iam::2:role/b",
        "--cache",
        "--cache-dir",
        "/d",
        "--mfa-command",
        "oathtool --totp -b X",
        "--sts-endpoint",
        "https://sts.example",
    ])
    .unwrap()
    .command
    else {
        panic!("wrong command")
    };
    assert_eq!(a.credentials.assume_role.len(), 2);
    assert!(a.cache.cache);
    for sub in ["serve", "update"] {
        assert!(parse(&[sub, "--assume-role", "x", "--mfa-command", "y"]).is_ok());
        assert!(parse(&[sub, "--cache"]).is_err(), "{sub}");
    }
    assert!(parse(&["clear-cache", "--cache-dir", "/d"]).is_ok());
}

#[test]
fn definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn official_flag_names_exist() {
    // Every flag of the official credential-process command (cmd/credentials.go, v1.8).
    let official = [
        "role-arn",
        "profile-arn",
        "trust-anchor-arn",
        "session-duration",
        "region",
        "endpoint",
        "no-verify-ssl",
        "with-proxy",
        "debug",
        "certificate",
        "private-key",
        "intermediates",
        "cert-selector",
        "system-store-name",
        "use-latest-expiring-certificate",
        "pkcs11-lib",
        "reuse-pin",
        "tpm-key-password",
        "no-tpm-key-password",
        "role-session-name",
        "pkcs8-password",
    ];
    let cmd = Cli::command();
    for sub in ["credential-process", "serve", "update"] {
        let sub = cmd.find_subcommand(sub).unwrap();
        for flag in official {
            assert!(
                sub.get_arguments().any(|a| a.get_long() == Some(flag)),
                "{} lacks --{flag}",
                sub.get_name()
            );
        }
    }
}

#[test]
fn session_duration_defaults_and_parses() {
    let Some(Command::CredentialProcess(a)) = parse(&["credential-process"]).unwrap().command
    else {
        panic!("wrong command")
    };
    assert_eq!(a.credentials.session_duration, 3600);
    let Some(Command::CredentialProcess(a)) =
        parse(&["credential-process", "--session-duration=900"])
            .unwrap()
            .command
    else {
        panic!("wrong command")
    };
    assert_eq!(a.credentials.session_duration, 900);
    assert!(parse(&["credential-process", "--session-duration", "x"]).is_err());
}

#[test]
fn booleans_take_optional_values_like_pflag() {
    for (args, want) in [
        (&["sign-string", "--debug"][..], true),
        (&["sign-string", "--debug=true"][..], true),
        (&["sign-string", "--debug=false"][..], false),
        (&["sign-string"][..], false),
    ] {
        let Some(Command::SignString(a)) = parse(args).unwrap().command else {
            panic!("wrong command")
        };
        assert_eq!(a.identity.debug, want, "{args:?}");
    }
}

#[test]
fn sign_string_defaults_match_the_official_tool() {
    let Some(Command::SignString(a)) = parse(&["sign-string"]).unwrap().command else {
        panic!("wrong command")
    };
    assert_eq!(a.format, Format::Json);
    assert_eq!(a.digest, DigestArg::Sha256);
    assert!(parse(&["sign-string", "--digest", "SHA384", "--format", "bin"]).is_ok());
    assert!(parse(&["sign-string", "--digest", "MD5"]).is_err());
    assert!(parse(&["sign-string", "--format", "xml"]).is_err());
}

#[test]
fn mutually_exclusive_flags_are_refused() {
    assert!(parse(&[
        "credential-process",
        "--certificate",
        "a",
        "--cert-selector",
        "b"
    ])
    .is_err());
    assert!(parse(&[
        "sign-string",
        "--pkcs8-password",
        "a",
        "--tpm-key-password",
        "b"
    ])
    .is_err());
    assert!(parse(&[
        "credential-process",
        "--private-key",
        "a",
        "--use-latest-expiring-certificate"
    ])
    .is_err());
}

#[test]
fn serve_and_update_defaults() {
    let Some(Command::Serve(s)) = parse(&["serve"]).unwrap().command else {
        panic!("wrong command")
    };
    assert_eq!((s.port, s.hop_limit), (9911, None));
    assert_eq!(s.address, std::net::Ipv4Addr::LOCALHOST);
    assert!(!s.allow_non_loopback);
    assert_eq!(s.log.log_level, LogLevel::Info);
    let Some(Command::Update(u)) = parse(&["update"]).unwrap().command else {
        panic!("wrong command")
    };
    assert_eq!(u.profile, "default");
    assert!(!u.once);
    let five_minutes = std::time::Duration::from_secs(300);
    assert_eq!(
        (s.start.start_timeout, u.start.start_timeout),
        (five_minutes, five_minutes)
    );
}

#[test]
fn start_timeout_takes_durations_up_to_a_day() {
    for (value, secs) in [
        ("0", 0),
        ("300", 300),
        ("90s", 90),
        ("5m", 300),
        ("1h30m", 5400),
        ("24h", 86_400),
    ] {
        for command in ["serve", "update"] {
            let timeout = match parse(&[command, "--start-timeout", value]).unwrap().command {
                Some(Command::Serve(s)) => s.start.start_timeout,
                Some(Command::Update(u)) => u.start.start_timeout,
                _ => panic!("wrong command"),
            };
            assert_eq!(timeout.as_secs(), secs, "{command} {value}");
        }
    }
    let equals = parse(&["serve", "--start-timeout=2m"]).unwrap().command;
    assert!(matches!(equals, Some(Command::Serve(s)) if s.start.start_timeout.as_secs() == 120));
    for bad in ["", "5x", "-1", "1.5m", "25h", "2d"] {
        let e = parse(&["update", "--start-timeout", bad]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("--start-timeout"), "{bad}: {text}");
    }
    // Not a flag of the one-shot commands: their caller is waiting.
    assert!(parse(&["credential-process", "--start-timeout", "5m"]).is_err());
}

#[test]
fn serve_address_takes_ipv4_and_ipv6_with_or_without_brackets() {
    for (value, want) in [
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("0.0.0.0", "0.0.0.0"),
        ("fd00::5", "fd00::5"),
    ] {
        let Some(Command::Serve(s)) = parse(&["serve", "--address", value]).unwrap().command else {
            panic!("wrong command")
        };
        assert_eq!(s.address.to_string(), want, "{value}");
    }
    for bad in ["localhost", "127.0.0.1:9911", "[::1", ""] {
        assert!(parse(&["serve", "--address", bad]).is_err(), "{bad}");
    }
}

#[test]
fn log_level_takes_the_four_levels() {
    for (value, want) in [
        ("error", LogLevel::Error),
        ("warn", LogLevel::Warn),
        ("info", LogLevel::Info),
        ("debug", LogLevel::Debug),
    ] {
        let Some(Command::Update(u)) = parse(&["update", "--log-level", value]).unwrap().command
        else {
            panic!("wrong command")
        };
        assert_eq!(u.log.log_level, want);
    }
    assert!(parse(&["serve", "--log-level", "verbose"]).is_err());
}
