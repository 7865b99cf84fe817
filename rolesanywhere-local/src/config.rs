//! The endpoint's configuration: which region and account it plays, its trust anchors (CA
//! bundles), profiles and roles. Loaded from TOML; paths are relative to the file's directory.
//!
//! ```toml
//! region = "us-east-1"
//! account = "123456789012"
//! rate_limit = "10/s"              # optional: calls a second per account, for CreateSession and
//!                                  # for STS (a number or "N/s"; --rate-limit overrides it)
//!
//! [[trust_anchor]]
//! arn = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/..."
//! ca_bundle = "ca/root.pem"        # PEM, one or more CA certificates
//! crls = ["ca/int.crl.pem"]        # PEM CRLs imported into it (ImportCrl), default none
//! enabled = true                   # default true
//!
//! [[profile]]
//! arn = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/..."
//! role_arns = ["arn:aws:iam::123456789012:role/test-role"]
//! duration_seconds = 3600          # maximum session duration, 900..=43200, default 3600
//! enabled = true                   # default true
//! accept_role_session_name = false # default false
//!
//! [[role]]
//! arn = "arn:aws:iam::123456789012:role/test-role"   # any account of the partition
//! trusted_roles = []               # roles allowed to sts:AssumeRole into this one
//! external_id = "ext-1"            # optional: AssumeRole must send this ExternalId
//! require_mfa = false              # optional: AssumeRole must carry a valid MFA code
//!
//! [[mfa_device]]
//! serial = "arn:aws:iam::123456789012:mfa/alice"   # or a hardware serial like GAHT12345678
//! secret = "JBSWY3DPEHPK3PXP"      # base32 TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s)
//! ```
//!
//! Everything is checked at load time (unknown keys, ARN shapes, region/account consistency, that
//! every CA bundle holds only CA certificates), so a running endpoint never meets a half-valid
//! configuration. Errors are one line and name the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::arn::{self, Arn, Kind};
use crate::error::Error;
use crate::quota::RateLimit;

/// Shortest session Roles Anywhere issues, in seconds.
pub const MIN_DURATION_SECONDS: u32 = 900;
/// Longest session a profile may allow, in seconds (12 hours).
pub const MAX_DURATION_SECONDS: u32 = 43_200;
/// Session length when neither the request nor the profile says otherwise.
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;

/// A validated endpoint configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) region: String,
    pub(crate) account: String,
    pub(crate) partition: &'static str,
    pub(crate) trust_anchors: Vec<TrustAnchor>,
    pub(crate) profiles: Vec<Profile>,
    pub(crate) roles: Vec<Role>,
    pub(crate) mfa_devices: Vec<MfaDevice>,
    pub(crate) rate_limit: Option<RateLimit>,
}

/// A trust anchor: the CA certificates a client's chain must lead to.
#[derive(Clone, Debug)]
pub(crate) struct TrustAnchor {
    pub(crate) arn: Arn,
    /// DER of each CA certificate in the bundle.
    pub(crate) ca_certs: Vec<Vec<u8>>,
    /// DER of each CRL imported into it.
    pub(crate) crls: Vec<Vec<u8>>,
    pub(crate) enabled: bool,
}

/// A profile: which roles may be assumed and for how long.
#[derive(Clone, Debug)]
pub(crate) struct Profile {
    pub(crate) arn: Arn,
    pub(crate) role_arns: Vec<Arn>,
    pub(crate) duration_seconds: u32,
    pub(crate) enabled: bool,
    pub(crate) accept_role_session_name: bool,
}

/// A role known to the local STS, with the roles that may assume it and the conditions of its
/// trust policy.
#[derive(Clone, Debug)]
pub(crate) struct Role {
    pub(crate) arn: Arn,
    pub(crate) trusted_roles: Vec<Arn>,
    pub(crate) external_id: Option<String>,
    pub(crate) require_mfa: bool,
}

/// A virtual MFA device: its serial number (or ARN) and TOTP secret.
#[derive(Clone)]
pub(crate) struct MfaDevice {
    pub(crate) serial: String,
    pub(crate) secret: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for MfaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaDevice")
            .field("serial", &self.serial)
            .field("secret", &"** redacted **")
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    region: String,
    account: String,
    /// A number (`10`, `2.5`) or a string (`"10/s"`), parsed as the `--rate-limit` flag is.
    #[serde(default)]
    rate_limit: Option<toml::Value>,
    #[serde(default)]
    trust_anchor: Vec<RawTrustAnchor>,
    #[serde(default)]
    profile: Vec<RawProfile>,
    #[serde(default)]
    role: Vec<RawRole>,
    #[serde(default)]
    mfa_device: Vec<RawMfaDevice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMfaDevice {
    serial: String,
    secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrustAnchor {
    arn: String,
    ca_bundle: PathBuf,
    #[serde(default)]
    crls: Vec<PathBuf>,
    #[serde(default = "yes")]
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    arn: String,
    role_arns: Vec<String>,
    #[serde(default = "default_duration")]
    duration_seconds: u32,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    accept_role_session_name: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    arn: String,
    #[serde(default)]
    trusted_roles: Vec<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    require_mfa: bool,
}

fn yes() -> bool {
    true
}

fn default_duration() -> u32 {
    DEFAULT_DURATION_SECONDS
}

impl Config {
    /// Reads and validates the TOML configuration at `path`.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read, [`Error::Config`] (one line, naming the file) if it
    /// is malformed, refers to unreadable CA bundles, or is inconsistent.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read configuration file", path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::from_toml(&text, base, &path.display().to_string())
    }

    /// Parses configuration text. `base_dir` resolves relative CA bundle paths and `origin` names
    /// the source in error messages.
    ///
    /// # Errors
    /// As for [`Config::load`].
    pub fn from_toml(text: &str, base_dir: &Path, origin: &str) -> Result<Config, Error> {
        let fail = |msg: String| Error::Config(format!("{origin}: {msg}"));
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().replace('\n', " ");
            match e.span() {
                Some(span) => {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    fail(format!("line {line}: {message}"))
                }
                None => fail(message),
            }
        })?;

        if raw.region.is_empty()
            || !raw
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(fail(format!(
                "region '{}' is not a region name like us-east-1",
                raw.region
            )));
        }
        if raw.account.len() != 12 || !raw.account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail(format!("account '{}' must be 12 digits", raw.account)));
        }
        let rate_limit = raw
            .rate_limit
            .map(|value| {
                let text = match value {
                    toml::Value::Integer(n) => n.to_string(),
                    toml::Value::Float(x) => x.to_string(),
                    toml::Value::String(text) => text,
                    other => {
                        return Err(format!(
                            "rate_limit must be a number like 10 or a string like \"2.5/s\" \
                             (requests per second per account), found {}",
                            other.type_str()
                        ))
                    }
                };
                text.parse::<RateLimit>()
                    .map_err(|e| format!("rate_limit {e}"))
            })
            .transpose()
            .map_err(fail)?;
        let partition = arn::partition_of(&raw.region);
        let mut config = Config {
            region: raw.region,
            account: raw.account,
            partition,
            trust_anchors: Vec::new(),
            profiles: Vec::new(),
            roles: Vec::new(),
            mfa_devices: Vec::new(),
            rate_limit,
        };

        for anchor in raw.trust_anchor {
            let arn = config
                .own_arn(Kind::TrustAnchor, &anchor.arn)
                .map_err(fail)?;
            if config.trust_anchor(arn.as_str()).is_some() {
                return Err(fail(format!("trust anchor {arn} is configured twice")));
            }
            let bundle = base_dir.join(&anchor.ca_bundle);
            let ca_certs = load_ca_bundle(&bundle).map_err(|msg| {
                fail(format!(
                    "trust anchor {arn}: CA bundle {}: {msg}",
                    bundle.display()
                ))
            })?;
            let mut crls = Vec::new();
            for file in &anchor.crls {
                let file = base_dir.join(file);
                crls.extend(load_crls(&file).map_err(|msg| {
                    fail(format!("trust anchor {arn}: CRL {}: {msg}", file.display()))
                })?);
            }
            config.trust_anchors.push(TrustAnchor {
                arn,
                ca_certs,
                crls,
                enabled: anchor.enabled,
            });
        }

        for profile in raw.profile {
            let arn = config.own_arn(Kind::Profile, &profile.arn).map_err(fail)?;
            if config.profile(arn.as_str()).is_some() {
                return Err(fail(format!("profile {arn} is configured twice")));
            }
            if !(MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&profile.duration_seconds) {
                return Err(fail(format!(
                    "profile {arn}: duration_seconds {} must be between {MIN_DURATION_SECONDS} and \
                     {MAX_DURATION_SECONDS}",
                    profile.duration_seconds
                )));
            }
            let role_arns = profile
                .role_arns
                .iter()
                .map(|r| config.own_arn(Kind::Role, r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|msg| fail(format!("profile {arn}: {msg}")))?;
            config.profiles.push(Profile {
                arn,
                role_arns,
                duration_seconds: profile.duration_seconds,
                enabled: profile.enabled,
                accept_role_session_name: profile.accept_role_session_name,
            });
        }

        for role in raw.role {
            // Roles may be in any account: role chaining goes cross-account.
            let arn = config.partition_arn(Kind::Role, &role.arn).map_err(fail)?;
            if config.role(arn.as_str()).is_some() {
                return Err(fail(format!("role {arn} is configured twice")));
            }
            let trusted_roles = role
                .trusted_roles
                .iter()
                .map(|r| Arn::parse(Kind::Role, r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|msg| fail(format!("role {arn}: trusted_roles: {msg}")))?;
            config.roles.push(Role {
                arn,
                trusted_roles,
                external_id: role.external_id,
                require_mfa: role.require_mfa,
            });
        }

        for device in raw.mfa_device {
            if config.mfa_device(&device.serial).is_some() {
                return Err(fail(format!(
                    "mfa_device {} is configured twice",
                    device.serial
                )));
            }
            let secret = crate::totp::base32_decode(&device.secret).ok_or_else(|| {
                fail(format!(
                    "mfa_device {}: secret is not base32 (RFC 4648)",
                    device.serial
                ))
            })?;
            config.mfa_devices.push(MfaDevice {
                serial: device.serial,
                secret: zeroize::Zeroizing::new(secret),
            });
        }
        Ok(config)
    }

    /// The region this endpoint plays (the credential scope region it accepts).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The AWS account this endpoint plays.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The `rate_limit` of the configuration, if any.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit
    }

    /// The configured trust anchor ARNs.
    pub fn trust_anchor_arns(&self) -> impl Iterator<Item = &str> {
        self.trust_anchors.iter().map(|a| a.arn.as_str())
    }

    /// The configured profile ARNs.
    pub fn profile_arns(&self) -> impl Iterator<Item = &str> {
        self.profiles.iter().map(|p| p.arn.as_str())
    }

    pub(crate) fn trust_anchor(&self, arn: &str) -> Option<&TrustAnchor> {
        self.trust_anchors.iter().find(|a| a.arn.as_str() == arn)
    }

    pub(crate) fn profile(&self, arn: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.arn.as_str() == arn)
    }

    pub(crate) fn role(&self, arn: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.arn.as_str() == arn)
    }

    pub(crate) fn mfa_device(&self, serial: &str) -> Option<&MfaDevice> {
        self.mfa_devices.iter().find(|d| d.serial == serial)
    }

    /// Parses an ARN that must belong to this endpoint's partition (any account).
    fn partition_arn(&self, kind: Kind, text: &str) -> Result<Arn, String> {
        let arn = Arn::parse(kind, text)?;
        if arn.partition != self.partition {
            return Err(format!(
                "{arn} is in partition {} but region {} is in partition {}",
                arn.partition, self.region, self.partition
            ));
        }
        Ok(arn)
    }

    /// Parses an ARN that must belong to this endpoint's partition, account and (for Roles
    /// Anywhere resources) region.
    fn own_arn(&self, kind: Kind, text: &str) -> Result<Arn, String> {
        let arn = Arn::parse(kind, text)?;
        if arn.partition != self.partition {
            return Err(format!(
                "{arn} is in partition {} but region {} is in partition {}",
                arn.partition, self.region, self.partition
            ));
        }
        if arn.account != self.account {
            return Err(format!(
                "{arn} is in account {} but this endpoint plays account {}",
                arn.account, self.account
            ));
        }
        if kind != Kind::Role && arn.region != self.region {
            return Err(format!(
                "{arn} is in region {} but this endpoint serves region {}",
                arn.region, self.region
            ));
        }
        Ok(arn)
    }
}

/// Reads the PEM `X509 CRL` blocks of a file, as ImportCrl takes them, and returns their DER.
fn load_crls(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    use x509_parser::revocation_list::CertificateRevocationList;

    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let mut crls = Vec::new();
    for (index, pem) in x509_parser::pem::Pem::iter_from_buffer(&data).enumerate() {
        let n = index + 1;
        let pem = pem.map_err(|e| format!("PEM block {n} is malformed ({e})"))?;
        if pem.label != "X509 CRL" {
            return Err(format!("PEM block {n} is a {}, not an X509 CRL", pem.label));
        }
        if !matches!(
            CertificateRevocationList::from_der(&pem.contents),
            Ok(([], _))
        ) {
            return Err(format!("PEM block {n} is not a valid CRL"));
        }
        crls.push(pem.contents.clone());
    }
    if crls.is_empty() {
        return Err("no PEM CRL found (ImportCrl takes PEM)".into());
    }
    Ok(crls)
}

/// Reads a PEM bundle of CA certificates and returns their DER.
fn load_ca_bundle(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let data = std::fs::read(path).map_err(|e| e.to_string())?;
    let mut certs = Vec::new();
    for (index, pem) in x509_parser::pem::Pem::iter_from_buffer(&data).enumerate() {
        let n = index + 1;
        let pem = pem.map_err(|e| format!("PEM block {n} is malformed ({e})"))?;
        if pem.label != "CERTIFICATE" {
            return Err(format!(
                "PEM block {n} is a {}, not a CERTIFICATE",
                pem.label
            ));
        }
        let cert = match X509Certificate::from_der(&pem.contents) {
            Ok(([], cert)) => cert,
            _ => return Err(format!("certificate {n} is not a valid X.509 certificate")),
        };
        if !cert.is_ca() {
            return Err(format!(
                "certificate {n} ({}) is not a CA certificate; trust anchors need \
                 basicConstraints CA:TRUE",
                cert.subject()
            ));
        }
        certs.push(pem.contents.clone());
    }
    if certs.is_empty() {
        return Err("no PEM certificates found".into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "region = \"us-east-1\"\naccount = \"123456789012\"\n";

    fn parse(body: &str) -> Result<Config, Error> {
        Config::from_toml(&format!("{HEAD}{body}"), Path::new("."), "test.toml")
    }

    #[test]
    fn unknown_key_is_one_line_naming_the_file() {
        let err = parse("bogus = 1\n").expect_err("unknown key").to_string();
        assert!(
            err.starts_with("test.toml: line 3: unknown field `bogus`"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn arns_must_match_region_and_account() {
        let err = parse(
            "[[profile]]\narn = \"arn:aws:rolesanywhere:eu-west-1:123456789012:profile/p\"\n\
             role_arns = []\n",
        )
        .expect_err("wrong region")
        .to_string();
        assert!(err.contains("serves region us-east-1"), "{err}");
        let err = parse(
            "[[profile]]\narn = \"arn:aws:rolesanywhere:us-east-1:123456789012:profile/p\"\n\
             role_arns = [\"arn:aws:iam::210987654321:role/r\"]\n",
        )
        .expect_err("wrong account")
        .to_string();
        assert!(err.contains("plays account 123456789012"), "{err}");
        // Roles STS may assume live in any account of the partition.
        let other = parse(
            "[[role]]\narn = \"arn:aws:iam::210987654321:role/r\"\nexternal_id = \"x-1\"\n\
             require_mfa = true\n[[mfa_device]]\nserial = \"GAHT12345678\"\nsecret = \"GEZDGNBVGY3TQOJQ\"\n",
        )
        .expect("a role in another account");
        assert_eq!(other.roles[0].external_id.as_deref(), Some("x-1"));
        assert!(other.mfa_device("GAHT12345678").is_some());
        let err = parse("[[role]]\narn = \"arn:aws-cn:iam::210987654321:role/r\"\n")
            .expect_err("wrong partition")
            .to_string();
        assert!(err.contains("partition"), "{err}");
    }

    #[test]
    fn rate_limit_takes_numbers_and_strings() {
        for (value, per_second) in [
            ("10", 10.0),
            ("2.5", 2.5),
            ("\"10/s\"", 10.0),
            ("\"0.5\"", 0.5),
        ] {
            let config = Config::from_toml(
                &format!("rate_limit = {value}\n{HEAD}"),
                Path::new("."),
                "test.toml",
            )
            .expect(value);
            assert_eq!(
                config.rate_limit().map(RateLimit::per_second),
                Some(per_second),
                "{value}"
            );
        }
        assert_eq!(parse("").expect("no limit").rate_limit(), None);
        for (value, says) in [
            ("0", "'0' is out of range"),
            ("-3", "'-3' is not a rate"),
            ("\"10/min\"", "'10/min' is not a rate"),
            ("true", "found boolean"),
        ] {
            let err = Config::from_toml(
                &format!("{HEAD}rate_limit = {value}\n"),
                Path::new("."),
                "test.toml",
            )
            .expect_err(value)
            .to_string();
            assert!(err.starts_with("test.toml: rate_limit "), "{err}");
            assert!(err.contains(says), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn profile_duration_bounds() {
        let err = parse(
            "[[profile]]\narn = \"arn:aws:rolesanywhere:us-east-1:123456789012:profile/p\"\n\
             role_arns = []\nduration_seconds = 50000\n",
        )
        .expect_err("too long")
        .to_string();
        assert!(err.contains("between 900 and 43200"), "{err}");
    }
}
