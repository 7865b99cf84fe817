//! `serve --config FILE`: several roles from one TOML file, checked exactly as the command line
//! checks its flags.
//!
//! The file's keys are `serve`'s long flag names without the dashes. Top-level keys are the
//! listener's (`address`, `port`, `hop-limit`, `allow-non-loopback`), the log's (`log-level`,
//! `debug`) and defaults for every role (identity, ARNs, endpoint, region, ...); each
//! `[roles.NAME]` table holds what differs for that role, plus how its workload authenticates
//! (`token-file` or `token`) and whether it answers the IMDSv2 paths (`imds = true`, one role
//! at most). A role that names any part of an identity (`certificate`, `private-key`,
//! `intermediates`, a password, ...) inherits none of the top level's.
//!
//! Each role's values become the flags they spell and go through `serve`'s own clap definitions
//! ([`ServeArgs`]), then `Options::from_args`, so every check and message is the command
//! line's; messages are prefixed with the file, the role and the key, and speak of keys
//! (`session-duration`) where the command line speaks of flags (`--session-duration`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::{Args, FromArgMatches};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::cli::{LogLevel, ServeArgs};
use crate::error::{Error, Result};
use rolesanywhere_credentials::config::Options;

/// The environment variable naming the file when `--config` is not given.
pub const CONFIG_ENV: &str = "AWS_SIGNING_HELPER_SERVE_CONFIG";
/// Larger files are refused (a hundred roles take a few KiB).
const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Longest role name; names are part of URL paths.
const MAX_ROLE_NAME: usize = 64;

/// Keys only a `[roles.NAME]` table may hold.
const ROLE_ONLY: [&str; 3] = ["token", "token-file", "imds"];
/// Keys that set up the process, at the top level only.
const PROCESS_KEYS: [&str; 2] = ["log-level", "debug"];
/// The listener's keys, at the top level only.
const LISTEN_KEYS: [&str; 4] = ["address", "port", "hop-limit", "allow-non-loopback"];
/// Flags of `serve` that are not keys of the file.
const NOT_KEYS: [&str; 3] = ["config", "print-env", "help"];
/// Keys that make a role chain on from its Roles Anywhere session.
const CHAIN_KEYS: [&str; 4] = ["assume-role", "sts-endpoint", "sts-region", "mfa-command"];

/// What the file holds: the listener, the log level, and the roles.
pub struct ServeConfig {
    /// The file.
    pub path: PathBuf,
    /// Where to listen.
    pub listen: Listener,
    /// `log-level` (or `debug = true`), when the file sets one.
    pub log_level: Option<LogLevel>,
    /// The roles, by name.
    pub roles: BTreeMap<String, RoleConfig>,
}

/// One `[roles.NAME]` table, with the top level's defaults, validated.
pub struct RoleConfig {
    /// Its name, the `<name>` of `/roles/<name>/credentials`.
    pub name: String,
    /// Its credential settings.
    pub options: Options,
    /// The token its workload must send.
    pub auth: RoleAuth,
    /// Whether it answers the IMDSv2 paths.
    pub imds: bool,
    /// A digest of everything that makes the role what it is: equal means unchanged.
    pub fingerprint: [u8; 32],
    /// A digest of its identity settings: roles with equal ones share one opened key.
    pub identity_key: [u8; 32],
    /// A digest of its CreateSession settings: roles with equal ones share one session.
    pub session_key: [u8; 32],
}

/// How a role's workload authenticates.
pub enum RoleAuth {
    /// `token-file`: read again whenever it changes, as clients read it.
    File(PathBuf),
    /// `token`: in the file itself.
    Token(Zeroizing<String>),
}

/// Where to listen: `address`, `port`, `hop-limit`, `allow-non-loopback`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    /// `address`.
    pub address: IpAddr,
    /// `port`.
    pub port: u16,
    /// `hop-limit`.
    pub hop_limit: Option<u8>,
    /// `allow-non-loopback`.
    pub allow_non_loopback: bool,
}

/// `serve`'s clap definitions, as the file's values go through them: without the environment
/// variables of `--config` and `--log-level`, which are not the file's business.
fn file_command() -> clap::Command {
    ServeArgs::augment_args(clap::Command::new("serve").no_binary_name(true))
        .mut_arg("config", |arg| arg.env(None))
        .mut_arg("log_level", |arg| arg.env(None))
}

/// Reads and checks `path`.
///
/// # Errors
/// [`Error::ServeConfig`]: the file cannot be read, is not TOML, or a value is refused.
pub fn load(path: &Path) -> Result<ServeConfig> {
    let fail = |detail: String| Error::ServeConfig {
        path: path.to_path_buf(),
        detail,
    };
    let bytes = rolesanywhere_credentials::input::read(path, MAX_CONFIG_BYTES)
        .map_err(|e| fail(format!("cannot read it: {e}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| fail("not UTF-8 text".into()))?;
    let mut config = parse(text).map_err(fail)?;
    config.path = path.to_path_buf();
    // Token files must hold a token now, as AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE's must.
    for role in config.roles.values() {
        if let RoleAuth::File(file) = &role.auth {
            super::TokenFile::open(file.clone()).map_err(|detail| {
                fail(format!(
                    "[roles.{}] token-file: {}: {detail}; put the token in that file (one line)",
                    role.name,
                    file.display()
                ))
            })?;
        }
    }
    Ok(config)
}

/// The configuration `text` describes; the error is the detail of [`Error::ServeConfig`].
fn parse(text: &str) -> std::result::Result<ServeConfig, String> {
    // The file's values include passwords and tokens: every table holding them is wiped when
    // dropped, on every path out of here (clap's own copies, while it parses, are its own).
    let table = Wiped(text.parse().map_err(|e| toml_error(&e, text))?);
    let keys = Keys::new();
    let mut top = Wiped(toml::Table::new());
    let mut roles_table = None;
    for (key, value) in table.iter() {
        if key == "roles" {
            roles_table = Some(value);
            continue;
        }
        keys.check_top(key)?;
        top.insert(key.clone(), value.clone());
    }

    let log_level = log_level(&top)?;
    // The top level alone, so that its mistakes are reported as its own.
    let defaults = Values(
        top.iter()
            .filter(|(k, _)| !PROCESS_KEYS.contains(&k.as_str()))
            .map(|(k, v)| Ok((k.clone(), flag_values(k, v, None)?)))
            .collect::<std::result::Result<_, String>>()?,
    );
    let top_level = keys.parse(&defaults, &|key| key.to_string())?;
    let listen = Listener {
        address: top_level.address,
        port: top_level.port,
        hop_limit: top_level.hop_limit,
        allow_non_loopback: top_level.allow_non_loopback,
    };

    let Some(toml::Value::Table(roles_table)) = roles_table else {
        return Err(match roles_table {
            None => "no [roles.NAME] table: name at least one role".into(),
            Some(_) => "roles must be tables: [roles.NAME]".into(),
        });
    };
    let mut roles = BTreeMap::new();
    for (name, value) in roles_table {
        let toml::Value::Table(table) = value else {
            return Err(format!("roles.{name} must be a table: [roles.{name}]"));
        };
        let role = role(&keys, name, table, &defaults)?;
        roles.insert(name.clone(), role);
    }
    if roles.is_empty() {
        return Err("no [roles.NAME] table: name at least one role".into());
    }
    unique(&roles)?;
    Ok(ServeConfig {
        path: PathBuf::new(),
        listen,
        log_level,
        roles,
    })
}

/// Flag values by key, as given (or inherited): what a role's settings are. Wiped when dropped
/// (passwords and tokens are among them).
#[derive(Clone, Default)]
struct Values(BTreeMap<String, Vec<String>>);

impl Drop for Values {
    fn drop(&mut self) {
        self.0.values_mut().flatten().for_each(Zeroize::zeroize);
    }
}

impl std::ops::Deref for Values {
    type Target = BTreeMap<String, Vec<String>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Values {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// A TOML table from the file, its strings wiped when dropped.
struct Wiped(toml::Table);

impl Drop for Wiped {
    fn drop(&mut self) {
        fn wipe(value: &mut toml::Value) {
            match value {
                toml::Value::String(s) => s.zeroize(),
                toml::Value::Array(items) => items.iter_mut().for_each(wipe),
                toml::Value::Table(table) => table.iter_mut().for_each(|(_, v)| wipe(v)),
                _ => {}
            }
        }
        self.0.iter_mut().for_each(|(_, v)| wipe(v));
    }
}

impl std::ops::Deref for Wiped {
    type Target = toml::Table;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Wiped {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// One role: its table over the defaults, through clap and the engine's checks.
fn role(
    keys: &Keys,
    name: &str,
    table: &toml::Table,
    defaults: &Values,
) -> std::result::Result<RoleConfig, String> {
    check_name(name)?;
    let here = format!("[roles.{name}]");
    let (mut own, mut auth, mut imds) = (Values::default(), None, false);
    for (key, value) in table {
        keys.check_role(name, key)?;
        match key.as_str() {
            "token" => auth = Some(RoleAuth::Token(token(&here, value)?)),
            "token-file" => auth = Some(RoleAuth::File(token_file(&here, value)?)),
            "imds" => {
                imds = value
                    .as_bool()
                    .ok_or_else(|| format!("{here} imds: must be true or false"))?;
            }
            _ => {
                own.insert(key.clone(), flag_values(key, value, Some(&here))?);
            }
        }
    }
    if table.contains_key("token") && table.contains_key("token-file") {
        return Err(format!("{here}: give token-file or token, not both"));
    }
    let auth = auth.ok_or_else(|| {
        format!("{here}: no token-file (or token): give the file holding the token its workload must send")
    })?;

    // The role's own identity replaces the default one whole.
    let own_identity = own.keys().any(|k| keys.identity.contains(k.as_str()));
    let mut values = own.clone();
    for (key, value) in defaults.iter() {
        let listener = LISTEN_KEYS.contains(&key.as_str());
        let replaced = own_identity && keys.identity.contains(key.as_str());
        if !(listener || replaced || own.contains_key(key)) {
            values.insert(key.clone(), value.clone());
        }
    }
    let origin = |key: &str| {
        if own.contains_key(key) {
            format!("{here} {key}")
        } else {
            format!("{key} (top level, for {here})")
        }
    };
    let parsed = keys.parse(&values, &origin)?;
    let options = Options::from_args(parsed.credentials.into_engine())
        .map_err(|e| keys.engine_error(&e.report(), &values, &here, &origin))?;

    let digest = |filter: &dyn Fn(&str) -> bool| {
        let mut hash = Sha256::new();
        for (key, value) in values.iter().filter(|(k, _)| filter(k)) {
            hash.update(Zeroizing::new(format!("{key}={value:?}\n")).as_bytes());
        }
        <[u8; 32]>::from(hash.finalize())
    };
    let identity_key = digest(&|k| keys.identity.contains(k));
    let session_key = digest(&|k| !CHAIN_KEYS.contains(&k));
    let mut fingerprint = Sha256::new();
    fingerprint.update(digest(&|_| true));
    fingerprint.update(match &auth {
        RoleAuth::File(path) => Zeroizing::new(format!("file {}", path.display()).into_bytes()),
        RoleAuth::Token(token) => Zeroizing::new([b"token ", token.as_bytes()].concat()),
    });
    fingerprint.update([u8::from(imds)]);
    Ok(RoleConfig {
        name: name.to_string(),
        options,
        auth,
        imds,
        fingerprint: fingerprint.finalize().into(),
        identity_key,
        session_key,
    })
}

/// The keys the file knows, from the command line's own definitions.
struct Keys {
    /// Every credential and listener key, and `log-level`: `serve`'s flags but `config` and
    /// `print-env`.
    all: BTreeSet<String>,
    /// Keys of an identity (and its chain).
    identity: BTreeSet<String>,
}

impl Keys {
    fn new() -> Keys {
        let longs = |command: clap::Command| -> BTreeSet<String> {
            command
                .get_arguments()
                .filter_map(|a| a.get_long().map(str::to_string))
                .filter(|name| !NOT_KEYS.contains(&name.as_str()))
                .collect()
        };
        let mut identity = longs(crate::cli::IdentityArgs::augment_args(clap::Command::new(
            "i",
        )));
        identity.remove("debug");
        identity.insert("intermediates".into());
        Keys {
            all: longs(file_command()),
            identity,
        }
    }

    fn check_top(&self, key: &str) -> std::result::Result<(), String> {
        if ROLE_ONLY.contains(&key) {
            return Err(format!(
                "{key}: belongs in a [roles.NAME] table: each role has a token of its own"
            ));
        }
        if self.all.contains(key) || PROCESS_KEYS.contains(&key) {
            return Ok(());
        }
        Err(unknown(key))
    }

    fn check_role(&self, role: &str, key: &str) -> std::result::Result<(), String> {
        let here = format!("[roles.{role}]");
        if LISTEN_KEYS.contains(&key) || PROCESS_KEYS.contains(&key) {
            return Err(format!(
                "{here} {key}: one for the whole server: put it at the top level"
            ));
        }
        if ROLE_ONLY.contains(&key) || self.all.contains(key) {
            return Ok(());
        }
        Err(format!("{here} {}", unknown(key)))
    }

    /// `values` through the command line's definitions; `origin` names a key in messages.
    fn parse(
        &self,
        values: &Values,
        origin: &dyn Fn(&str) -> String,
    ) -> std::result::Result<ServeArgs, String> {
        let mut args = Zeroizing::new(Vec::new());
        for (key, list) in values.iter() {
            args.extend(list.iter().map(|v| format!("--{key}={v}")));
        }
        let matches = file_command()
            .try_get_matches_from(args.iter())
            .map_err(|e| self.clap_error(&e, origin))?;
        ServeArgs::from_arg_matches(&matches).map_err(|e| self.clap_error(&e, origin))
    }

    /// clap's message, on one line, with keys for flags, after the key it concerns.
    fn clap_error(&self, error: &clap::Error, origin: &dyn Fn(&str) -> String) -> String {
        use clap::error::{ContextKind, ContextValue};
        let rendered = error.render().to_string();
        let line = rendered
            .lines()
            .map(str::trim)
            .filter(|l| {
                !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
            })
            .map(|l| l.trim_start_matches("error: ").trim_start_matches("tip: "))
            .collect::<Vec<_>>()
            .join("; ");
        let key = match error.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(arg)) => Some(flag_name(arg.trim_start_matches("--"))),
            _ => None,
        };
        let line = as_keys(&line, &self.all);
        match key {
            Some(key) => format!("{}: {line}", origin(&key)),
            None => line,
        }
    }

    /// An engine's refusal, with the key it names (the first flag of ours it mentions).
    fn engine_error(
        &self,
        message: &str,
        values: &Values,
        here: &str,
        origin: &dyn Fn(&str) -> String,
    ) -> String {
        let named = message
            .split("--")
            .skip(1)
            .map(flag_name)
            .find(|name| self.all.contains(name));
        let line = as_keys(message, &self.all);
        match named {
            Some(key) if values.contains_key(&key) => format!("{}: {line}", origin(&key)),
            _ => format!("{here}: {line}"),
        }
    }
}

/// The flag name `text` starts with (after the dashes).
fn flag_name(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect()
}

/// `--flag` (and clap's `'--flag <VALUE>'`, `'--flag[=<BOOL>]'`) as the key `flag`, for the
/// flags in `keys`.
fn as_keys(message: &str, keys: &BTreeSet<String>) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("--") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let name = flag_name(after);
        if !keys.contains(&name) {
            out.push_str("--");
            rest = after;
            continue;
        }
        out.push_str(&name);
        rest = &after[name.len()..];
        // clap adds the value's name: '--port <PORT>', '--debug[=<BOOL>]'.
        for (open, close) in [(" <", '>'), ("[=<", ']')] {
            if let Some(placeholder) = rest.strip_prefix(open) {
                if let Some(end) = placeholder.find(close) {
                    rest = &placeholder[end + 1..];
                }
            }
        }
    }
    out.push_str(rest);
    out
}

fn unknown(key: &str) -> String {
    format!(
        "unknown key '{}': the keys are serve's flag names without the dashes (aws_signing_helper serve --help)",
        key.escape_default()
    )
}

/// A TOML value as the flag values it stands for.
fn flag_values(
    key: &str,
    value: &toml::Value,
    role: Option<&str>,
) -> std::result::Result<Vec<String>, String> {
    let at = match role {
        Some(role) => format!("{role} {key}"),
        None => key.to_string(),
    };
    let one = |value: &toml::Value| match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(format!("{at}: must be a string, a number or true/false")),
    };
    match value {
        toml::Value::Array(items) if key == "assume-role" => items
            .iter()
            .map(|item| match item {
                toml::Value::String(s) => Ok(s.clone()),
                _ => Err(format!("{at}: must be a list of hop strings")),
            })
            .collect(),
        toml::Value::Array(_) => Err(format!("{at}: takes one value, not a list")),
        _ if key == "assume-role" => Err(format!(
            "{at}: must be a list of hop strings, such as [\"arn:aws:iam::111122223333:role/deploy\"]"
        )),
        other => Ok(vec![one(other)?]),
    }
}

/// `log-level`, or `debug = true`, at the top level.
fn log_level(top: &toml::Table) -> std::result::Result<Option<LogLevel>, String> {
    use clap::ValueEnum;
    if let Some(debug) = top.get("debug") {
        match debug.as_bool() {
            Some(true) => return Ok(Some(LogLevel::Debug)),
            Some(false) => {}
            None => return Err("debug: must be true or false".into()),
        }
    }
    let Some(level) = top.get("log-level") else {
        return Ok(None);
    };
    level
        .as_str()
        .and_then(|l| LogLevel::from_str(l, false).ok())
        .map(Some)
        .ok_or_else(|| "log-level: must be one of error, warn, info, debug".into())
}

fn check_name(name: &str) -> std::result::Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    if (1..=MAX_ROLE_NAME).contains(&name.len())
        && name.chars().all(allowed)
        && !name.starts_with('.')
    {
        return Ok(());
    }
    Err(format!(
        "[roles.\"{}\"]: a role name is 1 to {MAX_ROLE_NAME} of A-Z a-z 0-9 . _ - (not starting with .), as it is part of URL paths",
        name.escape_default()
    ))
}

fn token(here: &str, value: &toml::Value) -> std::result::Result<Zeroizing<String>, String> {
    let token = value
        .as_str()
        .ok_or_else(|| format!("{here} token: must be a string"))?;
    // Sent in a header: visible ASCII, no space at either end (HTTP would drop it).
    let valid = !token.is_empty()
        && token.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
        && !token.starts_with(' ')
        && !token.ends_with(' ');
    if !valid {
        return Err(format!(
            "{here} token: must be one line of visible ASCII characters, without spaces at either end"
        ));
    }
    Ok(Zeroizing::new(token.to_string()))
}

fn token_file(here: &str, value: &toml::Value) -> std::result::Result<PathBuf, String> {
    match value.as_str() {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => Err(format!("{here} token-file: must be a file name")),
    }
}

/// No two roles may open each other: their tokens and token files must differ, and one role
/// at most answers IMDSv2.
fn unique(roles: &BTreeMap<String, RoleConfig>) -> std::result::Result<(), String> {
    let mut imds = roles.values().filter(|r| r.imds).map(|r| r.name.as_str());
    if let (Some(first), Some(second)) = (imds.next(), imds.next()) {
        return Err(format!(
            "[roles.{second}] imds: [roles.{first}] already answers IMDSv2; one role at most can"
        ));
    }
    let list: Vec<&RoleConfig> = roles.values().collect();
    for (i, a) in list.iter().enumerate() {
        for b in &list[..i] {
            let same = match (&a.auth, &b.auth) {
                (RoleAuth::File(x), RoleAuth::File(y)) => x == y,
                (RoleAuth::Token(x), RoleAuth::Token(y)) => x.as_bytes() == y.as_bytes(),
                _ => false,
            };
            if same {
                let key = match a.auth {
                    RoleAuth::File(_) => "token-file",
                    RoleAuth::Token(_) => "token",
                };
                return Err(format!(
                    "[roles.{}] {key}: the same as [roles.{}]'s; each role needs a token of its own",
                    a.name, b.name
                ));
            }
        }
    }
    Ok(())
}

/// A TOML syntax error as "line N: what", never with the line's text (it may hold a token).
fn toml_error(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim_end_matches('\n');
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message.to_string(),
    }
}

/// The lines `serve --config FILE --print-env ROLE` prints: what a workload needs to reach
/// `role` (never the token itself).
///
/// # Errors
/// [`Error::ServeConfig`] when the file has no such role.
pub fn print_env(config: &ServeConfig, role: &str) -> Result<String> {
    let Some(found) = config.roles.get(role) else {
        let names: Vec<&str> = config.roles.keys().map(String::as_str).collect();
        return Err(Error::ServeConfig {
            path: config.path.clone(),
            detail: format!(
                "no [roles.{}]; its roles are {}",
                role.escape_default(),
                names.join(", ")
            ),
        });
    };
    let host = match config.listen.address {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
        ip if ip.is_unspecified() => "[::1]".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let mut out = format!(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://{host}:{}/roles/{role}/credentials\n",
        config.listen.port
    );
    match &found.auth {
        RoleAuth::File(path) => {
            out.push_str(&format!(
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={}\n",
                path.display()
            ));
        }
        RoleAuth::Token(_) => out.push_str(&format!(
            "# AWS_CONTAINER_AUTHORIZATION_TOKEN: the token of [roles.{role}] in {} (not printed)\n",
            config.path.display()
        )),
    }
    Ok(out)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
