//! What the man pages and docs/reference.md say beyond the commands' own `--help`: the exit
//! statuses, and the environment variables the commands read that no `--help` footer lists yet.
//! Both outputs take them from here, so that they agree with each other.
//!
//! Everything else in them comes from the clap definitions. Each entry of [`MORE_ENVIRONMENT`]
//! belongs in its command's `after_help` footer (src/cli/flags.rs); once it is there, delete it here
//! (`xtask/tests/reference.rs` fails while a variable is in both).

/// The exit status of every command, in one paragraph.
pub const EXIT_STATUS: &str = "0 on success (and after SIGINT or SIGTERM for serve and update); \
     1 on any error, usage errors included, as with the official helper; validate also exits 2 \
     to 9, one status per class of failed check. Errors are one line on stderr.";

/// `validate`'s exit statuses: the class of the first failed check, in the order the checks are
/// printed (src/commands/validate.rs, `Class`). (status, class, the checks that give it).
pub const VALIDATE_EXIT: &[(u8, &str, &str)] = &[
    (0, "valid", "every check passed or was skipped"),
    (
        1,
        "usage error",
        "a usage error, or an input of validate itself that cannot be used (a bundle or CRL \
         that does not read, --live without the ARNs)",
    ),
    (
        2,
        "invalid certificate",
        "certificate, version, basic-constraints, key-usage, signature-algorithm, public-key",
    ),
    (3, "key mismatch", "private-key"),
    (4, "untrusted chain", "chain"),
    (5, "revoked", "revocation"),
    (6, "expired or not yet valid", "validity"),
    (7, "expiring", "lifetime (--min-remaining)"),
    (
        8,
        "live call refused",
        "live: the service refused CreateSession (4xx)",
    ),
    (
        9,
        "live call failed",
        "live: the service could not be asked (unreachable, timeout, 5xx, throttled)",
    ),
];

/// Variables the commands read that no `--help` footer names yet: (names, what, read by).
pub const MORE_ENVIRONMENT: &[(&str, &str, &str)] = &[
    (
        "AWS_CONFIG_FILE, AWS_PROFILE, AWS_DEFAULT_PROFILE",
        "The shared config file (default ~/.aws/config) and its profile (default: default), \
         read for retry_mode and max_attempts only.",
        "every command that calls CreateSession",
    ),
    (
        "AWS_ENDPOINT_URL_STS",
        "The STS endpoint of --assume-role hops, when --sts-endpoint is not given (then \
         AWS_ENDPOINT_URL).",
        "`credential-process`, `serve`, `update`",
    ),
    (
        "AWS_MAX_ATTEMPTS",
        "Attempts per call, the first included (default 3; 0 keeps the default), as the AWS \
         SDKs read it; else the profile's max_attempts.",
        "every command that calls CreateSession",
    ),
    (
        "AWS_RETRY_MODE",
        "standard or adaptive (default standard), as the AWS SDKs read it; else the profile's \
         retry_mode.",
        "every command that calls CreateSession",
    ),
    (
        "AWS_SIGNING_HELPER_MFA_CODE",
        "The MFA code of an --assume-role hop with mfa_serial= and no token_code=, when \
         --mfa-command is not given; a code works once.",
        "`credential-process`, `serve`, `update`",
    ),
    (
        "AWS_SIGNING_HELPER_MFA_SERIAL",
        "Set by the helper for the --mfa-command it runs: the hop's MFA device.",
        "the `--mfa-command`",
    ),
    (
        "AWS_SIGNING_HELPER_RENEWAL_GRACE",
        "How many seconds a renewed certificate or key that does not load yet \
         is retried while the previous one stays in use (default 10).",
        "`serve`, `update`",
    ),
    (
        "TPM2TOOLS_TCTI, TCTI, TPM_DEVICE",
        "Which TPM, in builds with TPM support, first found wins: a TCTI (device:/dev/tpmrm0, \
         tabrmd:bus_type=system, swtpm:host=127.0.0.1,port=2321, mssim:...) or, for \
         TPM_DEVICE, a device path (default /dev/tpmrm0).",
        "every command that opens a key",
    ),
    (
        "TSS2_LOG",
        "tpm2-tss's own log levels; its messages are silenced unless it is set.",
        "every command that opens a key",
    ),
    (
        "XDG_RUNTIME_DIR, XDG_CACHE_HOME",
        "Where credential-process --cache keeps its entries without --cache-dir: \
         $XDG_RUNTIME_DIR/aws_signing_helper, else $XDG_CACHE_HOME/aws_signing_helper, else \
         ~/.cache/aws_signing_helper.",
        "`credential-process`, `clear-cache`",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A variable moved into a `--help` footer is deleted here, so that it is described once.
    #[test]
    fn more_environment_is_not_in_any_footer() {
        let root = crate::command();
        for sub in root.get_subcommands() {
            let footer = crate::environment(sub);
            for (names, _, _) in MORE_ENVIRONMENT {
                for name in names.split(", ") {
                    assert!(
                        !footer.keys().any(|k| k.split(", ").any(|f| f == name)),
                        "{name} is in the --help of {}: delete it from MORE_ENVIRONMENT",
                        sub.get_name()
                    );
                }
            }
        }
    }

    #[test]
    fn validate_exit_statuses_are_in_order() {
        let statuses: Vec<u8> = VALIDATE_EXIT.iter().map(|(s, _, _)| *s).collect();
        assert_eq!(statuses, (0..=9).collect::<Vec<u8>>());
    }
}
