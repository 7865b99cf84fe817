//! The settings of a credential call as the command line spells them, unchecked, and the one
//! parser that reads them from `credential-process` flags.
//!
//! [`CredentialArgs`] is what every way in fills: the `aws_signing_helper` command line (through
//! its own clap definitions), [`parse`] (the flags of a `credential_process` line, for
//! [`RolesAnywhereCredentialsProvider::from_args`](crate::RolesAnywhereCredentialsProvider)), and
//! the provider's builder. Nothing here checks a value: [`Options::from_args`](super::Options)
//! does, once, whichever way the values came.
//!
//! The parser accepts exactly what the official helper's `credential-process` accepts, spelled
//! the same way: `--flag value` and `--flag=value`; switches as `--flag`, `--flag=true` and
//! `--flag=false`; `--assume-role` repeated. A flag this parser does not know is refused with one
//! line naming it; [`FLAGS`] lists them all (the command line's tests hold its clap definitions
//! against that list).

use std::ffi::OsString;
use std::path::PathBuf;

use zeroize::Zeroize;

use crate::error::{Error, Result};

/// The flags shared by every command that obtains credentials (`credential-process`, `serve`,
/// `update`), as given: nothing is checked until [`Options::from_args`](super::Options).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CredentialArgs {
    /// `--role-arn`: the role to assume.
    pub role_arn: Option<String>,
    /// `--profile-arn`: the Roles Anywhere profile.
    pub profile_arn: Option<String>,
    /// `--trust-anchor-arn`: the trust anchor.
    pub trust_anchor_arn: Option<String>,
    /// `--session-duration`, in seconds (default 3600).
    pub session_duration: i64,
    /// `--region`: the signing region (default: the trust anchor ARN's).
    pub region: Option<String>,
    /// `--endpoint`: the CreateSession endpoint's URL.
    pub endpoint: Option<String>,
    /// `--no-verify-ssl`: do not verify the endpoint's TLS certificate.
    pub no_verify_ssl: bool,
    /// `--with-proxy`: go through the proxy of `HTTPS_PROXY` (and `NO_PROXY`).
    pub with_proxy: bool,
    /// `--role-session-name`.
    pub role_session_name: Option<String>,
    /// The certificate and key.
    pub identity: IdentityArgs,
    /// `--intermediates`: the intermediate CA certificates' file.
    pub intermediates: Option<String>,
    /// `--assume-role`, once per sts:AssumeRole hop, in order.
    pub assume_role: Vec<String>,
    /// `--sts-endpoint`.
    pub sts_endpoint: Option<String>,
    /// `--sts-region`.
    pub sts_region: Option<String>,
    /// `--mfa-command`.
    pub mfa_command: Option<String>,
}

impl Default for CredentialArgs {
    fn default() -> Self {
        CredentialArgs {
            role_arn: None,
            profile_arn: None,
            trust_anchor_arn: None,
            session_duration: DEFAULT_SESSION_DURATION,
            region: None,
            endpoint: None,
            no_verify_ssl: false,
            with_proxy: false,
            role_session_name: None,
            identity: IdentityArgs::default(),
            intermediates: None,
            assume_role: Vec::new(),
            sts_endpoint: None,
            sts_region: None,
            mfa_command: None,
        }
    }
}

/// `--session-duration` when not given, as the official helper.
pub const DEFAULT_SESSION_DURATION: i64 = 3600;

/// The flags naming the certificate and key, as given. The two passwords are wiped when this is
/// dropped.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct IdentityArgs {
    /// `--certificate`: a file (PEM, DER or PKCS#12) or a `pkcs11:` URI.
    pub certificate: Option<String>,
    /// `--private-key`: a file, a `pkcs11:` URI, a TPM key file or a `handle:`.
    pub private_key: Option<String>,
    /// `--pkcs8-password`: of an encrypted key or PKCS#12 bundle.
    pub pkcs8_password: Option<String>,
    /// `--cert-selector`: certificate stores (macOS, Windows) only.
    pub cert_selector: Option<String>,
    /// `--system-store-name`: Windows only.
    pub system_store_name: Option<String>,
    /// `--use-latest-expiring-certificate`: certificate stores only.
    pub use_latest_expiring_certificate: bool,
    /// `--pkcs11-lib`: the PKCS#11 module (default: p11-kit-proxy.so).
    pub pkcs11_lib: Option<String>,
    /// `--reuse-pin`: log in to `CKA_ALWAYS_AUTHENTICATE` keys with the token's PIN.
    pub reuse_pin: bool,
    /// `--tpm-key-password`.
    pub tpm_key_password: Option<String>,
    /// `--no-tpm-key-password`: the TPM key has no password.
    pub no_tpm_key_password: bool,
    /// `--debug`: debug lines on stderr (never secrets).
    pub debug: bool,
}

impl std::fmt::Debug for IdentityArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |secret: &Option<String>| secret.as_ref().map(|_| "** redacted **");
        f.debug_struct("IdentityArgs")
            .field("certificate", &self.certificate)
            .field("private_key", &self.private_key)
            .field("pkcs8_password", &shown(&self.pkcs8_password))
            .field("cert_selector", &self.cert_selector)
            .field("system_store_name", &self.system_store_name)
            .field(
                "use_latest_expiring_certificate",
                &self.use_latest_expiring_certificate,
            )
            .field("pkcs11_lib", &self.pkcs11_lib)
            .field("reuse_pin", &self.reuse_pin)
            .field("tpm_key_password", &shown(&self.tpm_key_password))
            .field("no_tpm_key_password", &self.no_tpm_key_password)
            .field("debug", &self.debug)
            .finish()
    }
}

impl Drop for IdentityArgs {
    fn drop(&mut self) {
        self.pkcs8_password.zeroize();
        self.tpm_key_password.zeroize();
    }
}

/// The credential cache flags of `credential-process`, as given.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CacheArgs {
    /// `--cache`: answer from the per-user cache while its entry is fresh.
    pub cache: bool,
    /// `--cache-dir`: where the cache lives (implies `--cache`).
    pub cache_dir: Option<PathBuf>,
}

impl CacheArgs {
    /// Whether the cache is asked for, by either flag.
    pub fn enabled(&self) -> bool {
        self.cache || self.cache_dir.is_some()
    }
}

/// How a flag takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Takes {
    /// One value, once: `--flag VALUE` or `--flag=VALUE`.
    Value,
    /// One value each time, repeatable (`--assume-role`).
    Values,
    /// A switch: `--flag`, `--flag=true` or `--flag=false`.
    Switch,
}

/// One flag [`parse`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag {
    /// Its long name, without the dashes.
    pub name: &'static str,
    /// How it takes its value.
    pub takes: Takes,
    /// Flags it cannot be given with, as the official helper refuses them.
    pub conflicts: &'static [&'static str],
}

const fn flag(name: &'static str, takes: Takes, conflicts: &'static [&'static str]) -> Flag {
    Flag {
        name,
        takes,
        conflicts,
    }
}

/// Every flag of `credential-process`, as the official helper spells them.
pub const FLAGS: &[Flag] = &[
    flag("role-arn", Takes::Value, &[]),
    flag("profile-arn", Takes::Value, &[]),
    flag("trust-anchor-arn", Takes::Value, &[]),
    flag("session-duration", Takes::Value, &[]),
    flag("region", Takes::Value, &[]),
    flag("endpoint", Takes::Value, &[]),
    flag("no-verify-ssl", Takes::Switch, &[]),
    flag("with-proxy", Takes::Switch, &[]),
    flag("role-session-name", Takes::Value, &[]),
    flag("certificate", Takes::Value, &["cert-selector"]),
    flag(
        "private-key",
        Takes::Value,
        &["cert-selector", "use-latest-expiring-certificate"],
    ),
    flag("pkcs8-password", Takes::Value, &["tpm-key-password"]),
    flag("cert-selector", Takes::Value, &["reuse-pin"]),
    flag("system-store-name", Takes::Value, &[]),
    flag(
        "use-latest-expiring-certificate",
        Takes::Switch,
        &["reuse-pin"],
    ),
    flag("pkcs11-lib", Takes::Value, &[]),
    flag("reuse-pin", Takes::Switch, &[]),
    flag(
        "tpm-key-password",
        Takes::Value,
        &["cert-selector", "reuse-pin"],
    ),
    flag(
        "no-tpm-key-password",
        Takes::Switch,
        &["cert-selector", "tpm-key-password"],
    ),
    flag("debug", Takes::Switch, &[]),
    flag(
        "intermediates",
        Takes::Value,
        &["cert-selector", "use-latest-expiring-certificate"],
    ),
    flag("assume-role", Takes::Values, &[]),
    flag("sts-endpoint", Takes::Value, &[]),
    flag("sts-region", Takes::Value, &[]),
    flag("mfa-command", Takes::Value, &[]),
    flag("cache", Takes::Switch, &[]),
    flag("cache-dir", Takes::Value, &[]),
];

/// Reads `credential-process` flags (without the program or command name) into the settings
/// they give.
///
/// Arguments as a configuration file's continuation lines leave them (a line break and
/// indentation before a flag) are taken as the flag, as the command line does.
///
/// # Errors
/// [`Error::Usage`] naming the flag: an unknown flag, a missing value, a switch given a value
/// other than `true` or `false`, a flag given twice, two flags that cannot go together, or an
/// argument that is not a flag. Values themselves are checked later, by
/// [`Options::from_args`](super::Options::from_args).
pub fn parse<I, T>(args: I) -> Result<(CredentialArgs, CacheArgs)>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut parsed = Parsed::default();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let arg = text(arg)?;
        let arg = arg.trim_start_matches([' ', '\t', '\n', '\r']);
        let Some(body) = arg.strip_prefix("--").filter(|b| !b.is_empty()) else {
            return Err(usage(format!(
                "unexpected argument '{}': credential-process takes only --flags",
                shown(arg)
            )));
        };
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (body, None),
        };
        let Some(flag) = FLAGS.iter().find(|f| f.name == name) else {
            return Err(usage(format!("unexpected argument '--{}'", shown(name))));
        };
        if flag.takes != Takes::Values && seen.contains(&flag.name) {
            return Err(usage(format!(
                "the argument '--{}' cannot be used multiple times",
                flag.name
            )));
        }
        if let Some(other) = seen
            .iter()
            .find(|s| flag.conflicts.contains(s) || conflicts(s, flag.name))
        {
            return Err(usage(format!(
                "the argument '--{}' cannot be used with '--{other}'",
                flag.name
            )));
        }
        seen.push(flag.name);
        let value = match (flag.takes, inline) {
            (Takes::Switch, None) => Value::Switch(true),
            (Takes::Switch, Some(v)) => match v.as_str() {
                "true" => Value::Switch(true),
                "false" => Value::Switch(false),
                _ => {
                    return Err(usage(format!(
                        "invalid value '{}' for '--{}': use true or false",
                        shown(&v),
                        flag.name
                    )))
                }
            },
            (_, Some(v)) => Value::Text(v),
            (_, None) => match args.next().map(text).transpose()? {
                // Another flag where the value should be: as clap, the value is missing.
                Some(v) if !v.trim_start().starts_with("--") => Value::Text(v),
                _ => {
                    return Err(usage(format!(
                        "a value is required for '--{}' but none was supplied",
                        flag.name
                    )))
                }
            },
        };
        parsed.set(flag.name, value)?;
    }
    Ok((parsed.credentials, parsed.cache))
}

/// Whether `a` lists `b` as a conflict (conflicts hold both ways).
fn conflicts(a: &str, b: &str) -> bool {
    FLAGS
        .iter()
        .any(|f| f.name == a && f.conflicts.contains(&b))
}

enum Value {
    Switch(bool),
    Text(String),
}

#[derive(Default)]
struct Parsed {
    credentials: CredentialArgs,
    cache: CacheArgs,
}

impl Parsed {
    fn set(&mut self, name: &str, value: Value) -> Result<()> {
        let c = &mut self.credentials;
        let text = match value {
            Value::Switch(on) => {
                *match name {
                    "no-verify-ssl" => &mut c.no_verify_ssl,
                    "with-proxy" => &mut c.with_proxy,
                    "use-latest-expiring-certificate" => {
                        &mut c.identity.use_latest_expiring_certificate
                    }
                    "reuse-pin" => &mut c.identity.reuse_pin,
                    "no-tpm-key-password" => &mut c.identity.no_tpm_key_password,
                    "debug" => &mut c.identity.debug,
                    "cache" => &mut self.cache.cache,
                    _ => unreachable!("every switch of FLAGS is handled: {name}"),
                } = on;
                return Ok(());
            }
            Value::Text(text) => text,
        };
        let slot = match name {
            "session-duration" => {
                c.session_duration = text.trim().parse().map_err(|_| {
                    usage(format!(
                        "invalid value '{}' for '--session-duration': give a whole number of seconds",
                        shown(&text)
                    ))
                })?;
                return Ok(());
            }
            "assume-role" => {
                c.assume_role.push(text);
                return Ok(());
            }
            "cache-dir" => {
                self.cache.cache_dir = Some(PathBuf::from(text));
                return Ok(());
            }
            "role-arn" => &mut c.role_arn,
            "profile-arn" => &mut c.profile_arn,
            "trust-anchor-arn" => &mut c.trust_anchor_arn,
            "region" => &mut c.region,
            "endpoint" => &mut c.endpoint,
            "role-session-name" => &mut c.role_session_name,
            "certificate" => &mut c.identity.certificate,
            "private-key" => &mut c.identity.private_key,
            "pkcs8-password" => &mut c.identity.pkcs8_password,
            "cert-selector" => &mut c.identity.cert_selector,
            "system-store-name" => &mut c.identity.system_store_name,
            "pkcs11-lib" => &mut c.identity.pkcs11_lib,
            "tpm-key-password" => &mut c.identity.tpm_key_password,
            "intermediates" => &mut c.intermediates,
            "sts-endpoint" => &mut c.sts_endpoint,
            "sts-region" => &mut c.sts_region,
            "mfa-command" => &mut c.mfa_command,
            _ => unreachable!("every value flag of FLAGS is handled: {name}"),
        };
        *slot = Some(text);
        Ok(())
    }
}

/// An argument as text: flags and their values must be UTF-8, as the official helper reads them.
fn text(arg: OsString) -> Result<String> {
    arg.into_string().map_err(|arg| {
        usage(format!(
            "argument '{}' is not UTF-8 text",
            arg.to_string_lossy()
        ))
    })
}

/// A value as a message may show it: on one line, at most 100 characters (a value may be a
/// password given in the wrong place, so values are only shown where a flag name was expected).
fn shown(value: &str) -> String {
    value
        .chars()
        .take(100)
        .flat_map(char::escape_default)
        .collect()
}

fn usage(message: String) -> Error {
    Error::Usage(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(args: &[&str]) -> (CredentialArgs, CacheArgs) {
        parse(args.iter().copied()).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    fn parse_err(args: &[&str]) -> String {
        match parse(args.iter().copied()) {
            Ok(_) => panic!("{args:?} parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn values_take_both_spellings() {
        let (args, _) = parse_ok(&[
            "--role-arn",
            "R",
            "--profile-arn=P",
            "--session-duration",
            "-5",
            "--assume-role",
            "A",
            "--assume-role=B",
        ]);
        assert_eq!(args.role_arn.as_deref(), Some("R"));
        assert_eq!(args.profile_arn.as_deref(), Some("P"));
        assert_eq!(args.session_duration, -5);
        assert_eq!(args.assume_role, ["A", "B"]);
        assert_eq!(args.trust_anchor_arn, None);
    }

    #[test]
    fn defaults_are_the_official_ones() {
        let (args, cache) = parse_ok(&[]);
        assert_eq!(args.session_duration, 3600);
        assert!(!args.no_verify_ssl && !args.with_proxy && !args.identity.debug);
        assert!(!cache.enabled());
    }

    #[test]
    fn switches_take_true_or_false_after_equals_only() {
        let (args, cache) = parse_ok(&["--no-verify-ssl", "--with-proxy=false", "--cache=true"]);
        assert!(args.no_verify_ssl);
        assert!(!args.with_proxy);
        assert!(cache.cache);
        assert!(parse_err(&["--debug=yes"]).contains("'--debug'"));
        // A switch does not take the next argument as its value.
        assert!(parse_err(&["--debug", "true"]).contains("unexpected argument 'true'"));
    }

    #[test]
    fn cache_dir_implies_the_cache() {
        let (_, cache) = parse_ok(&["--cache-dir", "/tmp/c"]);
        assert!(cache.enabled());
        assert_eq!(cache.cache_dir, Some(PathBuf::from("/tmp/c")));
    }

    #[test]
    fn refusals_name_the_flag() {
        assert_eq!(parse_err(&["--bogus"]), "unexpected argument '--bogus'");
        assert!(parse_err(&["--region"]).contains("a value is required for '--region'"));
        assert!(parse_err(&["--region", "--debug"]).contains("a value is required"));
        assert!(parse_err(&["--region", "a", "--region=b"]).contains("multiple times"));
        assert!(parse_err(&["--session-duration", "x"]).contains("whole number"));
        assert!(parse_err(&["credential-process"]).contains("only --flags"));
    }

    #[test]
    fn conflicts_hold_both_ways() {
        let message = parse_err(&["--certificate", "c", "--cert-selector", "s"]);
        assert!(message.contains("'--cert-selector' cannot be used with '--certificate'"));
        let message = parse_err(&["--cert-selector", "s", "--certificate", "c"]);
        assert!(message.contains("'--certificate' cannot be used with '--cert-selector'"));
    }

    #[test]
    fn continuation_lines_are_undone() {
        let (args, _) = parse_ok(&["\n    --certificate", "/etc/host.pem"]);
        assert_eq!(args.identity.certificate.as_deref(), Some("/etc/host.pem"));
    }

    #[test]
    fn every_flag_is_handled() {
        for flag in FLAGS {
            let args = match flag.takes {
                Takes::Switch => vec![format!("--{}", flag.name)],
                _ => vec![format!("--{}", flag.name), "1".to_string()],
            };
            assert!(parse(args).is_ok(), "--{}", flag.name);
        }
    }

    #[test]
    fn passwords_are_not_in_debug() {
        let (args, _) = parse_ok(&["--pkcs8-password", "hunter2"]);
        assert!(!format!("{args:?}").contains("hunter2"));
    }
}
