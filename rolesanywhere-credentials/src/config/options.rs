//! The credential flags, validated once: ARNs, region, endpoint, duration, role session name and
//! HTTP settings. No I/O beyond reading environment variables (and the shared config file for the
//! retry settings, as the SDK).

use std::path::PathBuf;
use std::time::Duration;

use super::args::{CredentialArgs, IdentityArgs};
use crate::arn::{Arn, ArnKind};
use crate::error::{Error, Result};
use crate::identity::{CertSelector, Secret, Source, SourceArgs};
use crate::net::endpoint::{self, Endpoint, EndpointConfig};
use crate::net::http::{HttpConfig, DEFAULT_TIMEOUT};
use crate::session::assume_role::Hop;
use crate::session::create_session::SessionRequest;
use crate::session::mfa::MfaCodes;
use crate::session::retry::Policy;

/// Shortest session IAM Roles Anywhere issues.
pub const MIN_DURATION: i64 = 900;
/// Longest session IAM Roles Anywhere issues (12 hours).
pub const MAX_DURATION: i64 = 43_200;

/// Environment variable overriding the per-attempt HTTP timeout, in seconds.
pub const TIMEOUT_ENV: &str = "AWS_SIGNING_HELPER_HTTP_TIMEOUT";

/// Credentials are refreshed this long before they expire, as the official helper does.
pub const REFRESH_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Overrides [`REFRESH_WINDOW`], in seconds. Meant for tests, which cannot wait ten minutes for
/// a 15-minute session to need refreshing; also useful where clocks drift a lot.
pub const REFRESH_WINDOW_ENV: &str = "AWS_SIGNING_HELPER_REFRESH_WINDOW";

/// Longest refresh window [`REFRESH_WINDOW_ENV`] may set: the longest session.
const MAX_WINDOW_SECONDS: u64 = 43_200;

/// The refresh window: [`REFRESH_WINDOW_ENV`] when set, else [`REFRESH_WINDOW`].
///
/// # Errors
/// [`Error::Environment`] when the variable is set to anything but a whole number of seconds
/// from 0 to 43200, as for the HTTP timeout variable.
pub fn window_from_env() -> Result<Duration, Error> {
    let Ok(value) = std::env::var(REFRESH_WINDOW_ENV) else {
        return Ok(REFRESH_WINDOW);
    };
    match value.parse::<u64>() {
        Ok(seconds) if seconds <= MAX_WINDOW_SECONDS => Ok(Duration::from_secs(seconds)),
        _ => Err(Error::Environment {
            var: REFRESH_WINDOW_ENV,
            value,
            expected: "must be a whole number of seconds from 0 to 43200",
        }),
    }
}

/// Everything a credential command needs, validated.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// What to ask CreateSession for, and where.
    pub request: SessionRequest,
    /// How to talk HTTP.
    pub http: HttpConfig,
    /// Where the certificate and key come from.
    pub source: Source,
    /// How CreateSession is retried (`AWS_RETRY_MODE`, `AWS_MAX_ATTEMPTS`, the config profile).
    pub retry: Policy,
    /// `--assume-role` hops after CreateSession, in order.
    pub chain: Vec<Hop>,
    /// Where the hops' AssumeRole calls go (`--sts-endpoint`, `--sts-region`).
    pub sts_endpoint: Endpoint,
    /// Where MFA codes come from (`--mfa-command`).
    pub mfa: MfaCodes,
    /// How long before expiry `serve` and `update` refresh at the latest
    /// (`AWS_SIGNING_HELPER_REFRESH_WINDOW`); each refresh is drawn from a range that ends there
    /// (`pipeline::refresh::refresh_delay`).
    pub refresh_window: Duration,
    /// How long the first CreateSession (and each hop's first AssumeRole) keeps retrying
    /// throttling, server failures, time-outs and lost connections beyond the retry policy
    /// (`Retryer::patient`): `serve` and `update` set it from `--start-timeout`, and the cache's
    /// single flight has [`FILL_PATIENCE`](crate::pipeline::cache::FILL_PATIENCE). Zero (the
    /// default) is the policy alone, as the SDK.
    pub patience: Duration,
}

impl Options {
    /// Validates the flags (and the SDK environment variables they interact with).
    ///
    /// # Errors
    /// [`Error::Usage`] naming the flag at fault.
    pub fn from_args(args: CredentialArgs) -> Result<Options> {
        // The official helper parses --cert-selector before anything else.
        if let Some(selector) = args
            .identity
            .cert_selector
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            CertSelector::parse(selector)?;
        }
        let trust_anchor = Arn::parse(ArnKind::TrustAnchor, args.trust_anchor_arn.as_deref())?;
        let profile = Arn::parse(ArnKind::Profile, args.profile_arn.as_deref())?;
        let role = Arn::parse(ArnKind::Role, args.role_arn.as_deref())?;
        if trust_anchor.region() != profile.region() {
            return Err(Error::Usage(format!(
                "trust anchor and profile regions don't match ({} and {}); both must be in the same region",
                trust_anchor.region(),
                profile.region()
            )));
        }
        let region = match args.region.as_deref() {
            Some(r) if !crate::arn::is_region(r) => {
                return Err(Error::Usage(format!(
                    "--region '{r}' is not a region name; give one like us-east-1, or leave it out for the trust anchor's"
                )))
            }
            Some(r) => r.to_string(),
            None => trust_anchor.region().to_string(),
        };
        if !(MIN_DURATION..=MAX_DURATION).contains(&args.session_duration) {
            return Err(Error::Usage(format!(
                "--session-duration {} is out of range: IAM Roles Anywhere issues sessions of {MIN_DURATION} to {MAX_DURATION} seconds; give one in that range (the default is 3600)",
                args.session_duration
            )));
        }
        if let Some(name) = &args.role_session_name {
            check_role_session_name(name)?;
        }
        if args.endpoint.as_deref().is_some_and(str::is_empty) {
            return Err(Error::Usage(
                "--endpoint is empty; give the endpoint's URL, or leave the flag out for the region's default endpoint".into(),
            ));
        }
        let endpoint = endpoint::resolve(&region, &EndpointConfig::from_env(args.endpoint))?;
        if args.with_proxy {
            check_proxy_env(endpoint.scheme())?;
        }
        let chain = args
            .assume_role
            .iter()
            .map(|hop| Hop::parse(hop))
            .collect::<Result<Vec<_>>>()?;
        let sts_region = match args.sts_region.as_deref() {
            Some(r) if !crate::arn::is_region(r) => {
                return Err(Error::Usage(format!(
                    "--sts-region '{r}' is not a region name"
                )))
            }
            Some(r) => r,
            None => &region,
        };
        let sts_endpoint =
            endpoint::resolve_sts(sts_region, &EndpointConfig::sts_from_env(args.sts_endpoint))?;
        if chain.is_empty() && args.mfa_command.is_some() {
            return Err(Error::Usage(
                "--mfa-command is for --assume-role hops with mfa_serial=; there is none".into(),
            ));
        }
        let http = HttpConfig {
            no_verify_ssl: args.no_verify_ssl,
            with_proxy: args.with_proxy,
            ca_bundle: std::env::var_os("AWS_CA_BUNDLE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            timeout: timeout_from_env()?,
        };
        let refresh_window = window_from_env()?;
        let source = Source::from_args(source_args(args.identity, args.intermediates))?;
        let retry = Policy::load()?;
        Ok(Options {
            request: SessionRequest {
                trust_anchor,
                profile,
                role,
                // In range, checked above.
                duration_seconds: args.session_duration as u32,
                role_session_name: args.role_session_name,
                endpoint,
            },
            http,
            source,
            retry,
            chain,
            sts_endpoint,
            mfa: MfaCodes {
                command: args.mfa_command,
                callback: None,
            },
            refresh_window,
            patience: Duration::ZERO,
        })
    }
}

/// The identity flags as [`Source::from_args`] wants them (the passwords move into wiped
/// buffers).
pub fn source_args(mut identity: IdentityArgs, intermediates: Option<String>) -> SourceArgs {
    SourceArgs {
        certificate: identity.certificate.take(),
        private_key: identity.private_key.take(),
        intermediates,
        password: identity.pkcs8_password.take().map(Secret::new),
        pkcs11_lib: identity.pkcs11_lib.take(),
        cert_selector: identity.cert_selector.take(),
        reuse_pin: identity.reuse_pin,
        tpm_key_password: identity.tpm_key_password.take().map(Secret::new),
        no_tpm_key_password: identity.no_tpm_key_password,
        system_store_name: identity.system_store_name.take(),
        use_latest_expiring_certificate: identity.use_latest_expiring_certificate,
    }
}

/// IAM's rule for role session names: 2 to 64 of `[A-Za-z0-9_+=,.@-]`.
fn check_role_session_name(name: &str) -> Result<()> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c);
    if (2..=64).contains(&name.len()) && name.chars().all(valid_char) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "--role-session-name '{name}' is invalid: use 2 to 64 characters from A-Z a-z 0-9 and _+=,.@-"
    )))
}

/// With `--with-proxy`, the proxy variable that applies to the endpoint (as reqwest, like Go's
/// `ProxyFromEnvironment`, picks it) must be a proxy URL: reqwest would silently connect
/// directly otherwise.
fn check_proxy_env(scheme: &str) -> Result<()> {
    let candidates: &[&'static str] = if scheme == "http" {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    };
    // The first of each pair that is set decides, as reqwest reads them.
    for pair in candidates.chunks(2) {
        let Some((var, value)) = pair
            .iter()
            .find_map(|var| std::env::var(var).ok().map(|value| (*var, value)))
        else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        let url = if value.contains("://") {
            value.clone()
        } else {
            format!("http://{value}")
        };
        let valid = reqwest::Url::parse(&url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !valid {
            return Err(Error::Environment {
                var,
                value: without_password(&value),
                expected: "is not a proxy URL such as http://proxy.example:3128; fix it, or leave out --with-proxy to connect directly",
            });
        }
        return Ok(());
    }
    Ok(())
}

/// A proxy setting as it may be shown: a password in it is replaced by `***`.
fn without_password(value: &str) -> String {
    let (scheme, rest) = value.split_once("://").unwrap_or(("", value));
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return value.to_string();
    };
    let user = userinfo.split(':').next().unwrap_or_default();
    let prefix = if scheme.is_empty() {
        String::new()
    } else {
        format!("{scheme}://")
    };
    format!("{prefix}{user}:***@{host}")
}

fn timeout_from_env() -> Result<Duration> {
    match std::env::var(TIMEOUT_ENV) {
        Err(_) => Ok(DEFAULT_TIMEOUT),
        Ok(v) => match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => Err(Error::Environment {
                var: TIMEOUT_ENV,
                value: v,
                expected: "must be a whole number of seconds above 0",
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_passwords_are_not_shown() {
        assert_eq!(
            without_password("http://me:s3cret@proxy:3128"),
            "http://me:***@proxy:3128"
        );
        assert_eq!(without_password("me:s3cret@proxy"), "me:***@proxy");
        assert_eq!(without_password("http://proxy:3128"), "http://proxy:3128");
    }

    #[test]
    fn role_session_names_follow_iam_rules() {
        assert!(check_role_session_name("ok-name_1@x.y").is_ok());
        assert!(check_role_session_name("a").is_err());
        assert!(check_role_session_name("has space").is_err());
        assert!(check_role_session_name(&"x".repeat(65)).is_err());
    }
}
