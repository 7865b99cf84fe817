//! `validate`: check a certificate and its key as IAM Roles Anywhere would, one line per check,
//! with an exit status per class of failure, for certmonger post-save hooks and monitoring.
//!
//! The checks, in the order they are printed (which is also the order of their exit codes: the
//! status is that of the first failed check):
//!
//! | check | exit | what |
//! |---|---|---|
//! | `certificate`, `version`, `basic-constraints`, `key-usage`, `signature-algorithm`, `public-key` | 2 | readable, and the trust model's end-entity rules |
//! | `private-key` | 3 | the key opens (files, PKCS#11, ...) and its test signature verifies with the certificate's key |
//! | `chain` | 4 | a valid path to the `--trust-anchor-bundle` |
//! | `revocation` | 5 | not revoked by a `--crl` |
//! | `validity` | 6 | valid now |
//! | `lifetime` | 7 | still valid `--min-remaining` from now |
//! | `live` | 8, 9 | `--live`: CreateSession accepts it (8: refused; 9: could not be asked) |
//!
//! Usage errors, and inputs of the validator itself that cannot be read (bundle, CRL), exit 1
//! like every other command. Nothing here prints key material: the key only signs a random test
//! message, and the credentials of `--live` are dropped unprinted.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::RngCore;
use serde::Serialize;

use crate::cli::{ReportFormat, ValidateArgs};
use crate::error::{Error, Result};
use rolesanywhere_credentials::arn::{Arn, ArnKind};
use rolesanywhere_credentials::config::options::{source_args, Options};
use rolesanywhere_credentials::credentials::CredentialSource;
use rolesanywhere_credentials::identity::signatures;
use rolesanywhere_credentials::identity::trust_path::{self, Crl, PathCheck};
use rolesanywhere_credentials::identity::trust_rules::{self as rules, iso8601, Verdict};
use rolesanywhere_credentials::identity::{self, Certificate, Digest, Input, Source, X509Signer};
use rolesanywhere_credentials::pipeline::{Reload, RolesAnywhere};
use rolesanywhere_credentials::Error as EngineError;

/// A class of failure and its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    InvalidCertificate = 2,
    KeyMismatch = 3,
    UntrustedChain = 4,
    Revoked = 5,
    NotValidNow = 6,
    Expiring = 7,
    LiveRefused = 8,
    LiveFailed = 9,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::InvalidCertificate => "invalid certificate",
            Class::KeyMismatch => "key mismatch",
            Class::UntrustedChain => "untrusted chain",
            Class::Revoked => "revoked",
            Class::NotValidNow => "expired or not yet valid",
            Class::Expiring => "expiring",
            Class::LiveRefused => "live call refused",
            Class::LiveFailed => "live call failed",
        }
    }
}

/// How one check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Pass,
    Fail,
    Skip,
}

/// One line of the report.
#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    status: Status,
    detail: String,
    #[serde(skip)]
    class: Class,
}

/// What the certificate is, for the JSON report (the fields `read-certificate-data` lacks).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct About {
    subject: String,
    issuer: String,
    serial_number: String,
    serial_hex: String,
    not_before: String,
    not_after: String,
    public_key: String,
}

impl About {
    fn of(cert: &Certificate) -> About {
        About {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial_number: cert.serial_decimal().to_string(),
            serial_hex: cert.serial_hex().to_string(),
            not_before: iso8601(cert.not_before()),
            not_after: iso8601(cert.not_after()),
            public_key: cert
                .public_key()
                .map_or_else(|what| what.to_string(), ToString::to_string),
        }
    }
}

/// The JSON document of `--format json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    valid: bool,
    exit_code: u8,
    failure: Option<&'static str>,
    certificate: Option<About>,
    checks: &'a [Check],
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, check: &'static str, class: Class, verdict: Verdict) {
        let (status, detail) = match verdict {
            Ok(detail) => (Status::Pass, detail),
            Err(detail) => (Status::Fail, detail),
        };
        self.checks.push(Check {
            check,
            status,
            detail,
            class,
        });
    }

    fn skip(&mut self, check: &'static str, class: Class, why: impl Into<String>) {
        self.checks.push(Check {
            check,
            status: Status::Skip,
            detail: why.into(),
            class,
        });
    }

    fn passed(&self, check: &str) -> bool {
        self.checks
            .iter()
            .any(|c| c.check == check && c.status == Status::Pass)
    }

    /// The class of the first failed check (the lowest exit status).
    fn failure(&self) -> Option<Class> {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .map(|c| c.class)
            .min()
    }
}

/// Runs `validate`.
pub(super) fn run(args: ValidateArgs) -> Result<()> {
    rolesanywhere_credentials::log::set_enabled(args.credentials.identity.debug);
    let min_remaining = args
        .min_remaining
        .as_deref()
        .map(parse_duration)
        .transpose()?;
    // The validator's own inputs: when they are wrong, nothing can be judged (exit 1).
    let anchors = args
        .trust_anchor_bundle
        .as_deref()
        .map(|p| trust_path::read_bundle(Path::new(p)))
        .transpose()?;
    let crls = args
        .crl
        .iter()
        .map(|p| Crl::read(Path::new(p)))
        .collect::<identity::Result<Vec<_>>>()?;
    let format = args.format;
    let (source, options) = if args.live {
        let options = Options::from_args(args.credentials.into_engine())?;
        (options.source.clone(), Some(options))
    } else {
        // Without --live the ARNs are not sent anywhere, but a value given must still be one:
        // a path or a typo there would otherwise pass until the first live call.
        for (kind, value) in [
            (ArnKind::TrustAnchor, &args.credentials.trust_anchor_arn),
            (ArnKind::Profile, &args.credentials.profile_arn),
            (ArnKind::Role, &args.credentials.role_arn),
        ] {
            if let Some(value) = value {
                Arn::parse(kind, Some(value))?;
            }
        }
        let identity = args.credentials.identity;
        let source = Source::from_args(source_args(
            identity.into_engine(),
            args.credentials.intermediates,
        ))?;
        (source, None)
    };

    let now = SystemTime::now();
    let mut report = Report::default();
    let opened = source.open();
    let blamed = opened.as_ref().err().map(|e| source.blame(e));
    let (leaf, chain) = match (&opened, blamed) {
        (Ok(signer), _) => (Some(signer.certificate().clone()), signer.chain().to_vec()),
        // The certificate on its own, to judge it anyway (a key that does not match is the
        // usual failure of a renewal in progress).
        (Err(_), Some(Input::PrivateKey | Input::Intermediates)) => source
            .certificate_alone()
            .map_or((None, Vec::new()), |(leaf, chain)| (Some(leaf), chain)),
        (Err(_), _) => (None, Vec::new()),
    };

    // 2: the certificate and the end-entity rules.
    match &leaf {
        Some(cert) => {
            report.add(
                "certificate",
                Class::InvalidCertificate,
                Ok(format!(
                    "'{}' issued by '{}', serial {}",
                    cert.subject(),
                    cert.issuer(),
                    cert.serial_hex()
                )),
            );
            for (rule, verdict) in rules::end_entity_rules(cert) {
                report.add(rule.name(), Class::InvalidCertificate, verdict);
            }
        }
        None => match (&opened, blamed) {
            (Err(e), Some(Input::Certificate)) => {
                report.add("certificate", Class::InvalidCertificate, Err(e.report()));
            }
            _ => report.skip(
                "certificate",
                Class::InvalidCertificate,
                "not read: it comes with the key, which cannot be opened",
            ),
        },
    }

    // 3: the key, through the signer abstraction.
    let mut chain_error = None;
    let signer = match opened {
        Ok(signer) => {
            report.add(
                "private-key",
                Class::KeyMismatch,
                proof_of_possession(&*signer),
            );
            report.passed("private-key").then_some(signer)
        }
        Err(e) => {
            match blamed {
                Some(Input::Certificate) => {
                    report.skip("private-key", Class::KeyMismatch, "no certificate to match")
                }
                Some(Input::Intermediates) => {
                    chain_error = Some(e.report());
                    report.skip(
                        "private-key",
                        Class::KeyMismatch,
                        "not checked: the intermediates cannot be read",
                    );
                }
                _ => report.add("private-key", Class::KeyMismatch, Err(e.report())),
            }
            None
        }
    };

    let Some(cert) = leaf else {
        for (check, class) in [
            ("chain", Class::UntrustedChain),
            ("revocation", Class::Revoked),
            ("validity", Class::NotValidNow),
            ("lifetime", Class::Expiring),
            ("live", Class::LiveFailed),
        ] {
            report.skip(check, class, "no certificate");
        }
        return finish(&report, None, format);
    };

    // 4, 5: the path to the trust anchor, and revocation. A path can only be valid at a time
    // the leaf is: when it is not valid now, that is the validity check's failure alone.
    let valid_now = validity(&cert, now);
    match &anchors {
        // The intermediates cannot be read: the chain cannot be sent, whatever the bundle.
        _ if chain_error.is_some() => {
            let why = chain_error.take().unwrap_or_default();
            report.add("chain", Class::UntrustedChain, Err(why));
            report.skip("revocation", Class::Revoked, "no valid path to check");
        }
        Some(_) if valid_now.is_err() => {
            let why = "not checked: the certificate is not valid now (see validity)";
            report.skip("chain", Class::UntrustedChain, why);
            report.skip("revocation", Class::Revoked, why);
        }
        None => {
            report.skip(
                "chain",
                Class::UntrustedChain,
                "no --trust-anchor-bundle given",
            );
            report.skip(
                "revocation",
                Class::Revoked,
                "no --trust-anchor-bundle given",
            );
        }
        Some(anchors) => {
            let path = PathCheck::new(&cert, &chain, anchors, now);
            report.add("chain", Class::UntrustedChain, path.verify_path());
            if crls.is_empty() {
                report.skip("revocation", Class::Revoked, "no --crl given");
            } else if report.passed("chain") {
                report.add("revocation", Class::Revoked, path.check_revocation(&crls));
            } else {
                report.skip("revocation", Class::Revoked, "no valid path to check");
            }
        }
    }

    // 6, 7: dates.
    let is_valid = valid_now.is_ok();
    report.add("validity", Class::NotValidNow, valid_now);
    if is_valid {
        report.add(
            "lifetime",
            Class::Expiring,
            lifetime(&cert, now, min_remaining),
        );
    } else {
        report.skip("lifetime", Class::Expiring, "not valid now");
    }

    // 8, 9: the service itself.
    match (options, signer) {
        (None, _) => report.skip(
            "live",
            Class::LiveFailed,
            "pass --live with the ARNs to try CreateSession",
        ),
        (Some(_), None) => report.skip(
            "live",
            Class::LiveFailed,
            "not attempted: the key cannot sign for this certificate",
        ),
        (Some(options), Some(signer)) => {
            let (class, verdict) = live(options, signer);
            report.add("live", class, verdict);
        }
    }
    finish(&report, Some(About::of(&cert)), format)
}

/// Signs a random test message through the signer and verifies it with the certificate's key.
fn proof_of_possession(signer: &dyn X509Signer) -> Verdict {
    let mut nonce = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut nonce);
    let mut message = b"aws_signing_helper validate: proof of possession ".to_vec();
    message.extend_from_slice(hex::encode(nonce).as_bytes());
    let cert_key = signer
        .certificate()
        .public_key()
        .map_err(|what| format!("the certificate's key ({what}) cannot be used"))?;
    let signature = signer
        .sign(&message, Digest::Sha256)
        .map_err(|e| format!("the key cannot sign: {}", e.report()))?;
    if signatures::signature_verifies(cert_key, &message, &signature) {
        Ok(format!(
            "the {cert_key} key signed a test message and the certificate's public key verifies \
             it"
        ))
    } else {
        Err(
            "the key signed a test message but the certificate's public key does not verify it: \
             the key is not the certificate's; pass the key the certificate was requested with"
                .into(),
        )
    }
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn validity(cert: &Certificate, now: SystemTime) -> Verdict {
    let now = unix(now);
    if now < cert.not_before() {
        return Err(format!(
            "not valid until {} (server time must be after notBefore); check this machine's \
             clock or wait",
            iso8601(cert.not_before())
        ));
    }
    if now > cert.not_after() {
        return Err(format!(
            "expired on {}; renew it (getcert resubmit)",
            iso8601(cert.not_after())
        ));
    }
    Ok(format!(
        "valid from {} to {}",
        iso8601(cert.not_before()),
        iso8601(cert.not_after())
    ))
}

fn lifetime(cert: &Certificate, now: SystemTime, min: Option<Duration>) -> Verdict {
    let left = Duration::from_secs((cert.not_after() - unix(now)).max(0) as u64);
    match min {
        Some(min) if left < min => Err(format!(
            "{} left (expires {}), less than the {} of --min-remaining; renew it",
            human(left),
            iso8601(cert.not_after()),
            human(min)
        )),
        Some(min) => Ok(format!(
            "{} left, at least {} required",
            human(left),
            human(min)
        )),
        None => Ok(format!("{} left", human(left))),
    }
}

/// `3d 4h`, `2h 5m`, `42s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, m) => format!("{m}m {seconds}s"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// `7d`, `12h`, `30m`, `45s`, `2w`, combinations (`1d12h`) or plain seconds.
fn parse_duration(text: &str) -> Result<Duration> {
    crate::cli::duration::parse(text).ok_or_else(|| {
        Error::Usage(format!(
            "--min-remaining '{text}' is not a duration; use e.g. 7d, 12h, 30m, 1d12h or seconds"
        ))
    })
}

/// One CreateSession through the credential pipeline, with the signer already opened.
fn live(options: Options, signer: Box<dyn X509Signer>) -> (Class, Verdict) {
    let anchor = options.request.trust_anchor.as_str().to_string();
    let mut source = match RolesAnywhere::with_signer(options, Arc::from(signer), Reload::Never) {
        Ok(source) => source,
        Err(e) => return (Class::LiveFailed, Err(e.report())),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return (Class::LiveFailed, Err(Error::Runtime(e).report())),
    };
    match runtime.block_on(source.fetch()) {
        // The credentials are dropped here, unprinted (they are zeroized).
        Ok(issued) => (
            Class::LiveRefused,
            Ok(format!(
                "CreateSession accepted the certificate with trust anchor {anchor}; the \
                 credentials (valid until {}) were discarded",
                issued.credentials.expiration
            )),
        ),
        Err(e @ EngineError::Service { status, .. })
            if (400..500).contains(&status) && status != 429 =>
        {
            (Class::LiveRefused, Err(e.report()))
        }
        Err(e) => (Class::LiveFailed, Err(e.report())),
    }
}

fn finish(report: &Report, about: Option<About>, format: ReportFormat) -> Result<()> {
    let failure = report.failure();
    let mut out = std::io::stdout().lock();
    match format {
        ReportFormat::Json => {
            let doc = JsonReport {
                valid: failure.is_none(),
                exit_code: failure.map_or(0, |c| c as u8),
                failure: failure.map(Class::name),
                certificate: about,
                checks: &report.checks,
            };
            // Strings and numbers always serialise.
            let json = serde_json::to_string(&doc).unwrap_or_default();
            writeln!(out, "{json}")
        }
        ReportFormat::Text => {
            let mut text = String::new();
            for c in &report.checks {
                let status = match c.status {
                    Status::Pass => "pass",
                    Status::Fail => "FAIL",
                    Status::Skip => "skip",
                };
                text.push_str(&format!(
                    "{status}  {:<19} {}\n",
                    c.check,
                    one_line(&c.detail)
                ));
            }
            let passed = report
                .checks
                .iter()
                .filter(|c| c.status == Status::Pass)
                .count();
            let skipped = report
                .checks
                .iter()
                .filter(|c| c.status == Status::Skip)
                .count();
            match failure {
                None => text.push_str(&format!("ok: {passed} checks passed, {skipped} skipped\n")),
                Some(class) => text.push_str(&format!(
                    "FAILED: {} (exit {})\n",
                    class.name(),
                    class as u8
                )),
            }
            out.write_all(text.as_bytes())
        }
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)?;
    match failure {
        None => Ok(()),
        Some(class) => Err(Error::ValidationFailed {
            checks: report
                .checks
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| c.check)
                .collect::<Vec<_>>()
                .join(", "),
            class: class.name(),
            code: class as u8,
        }),
    }
}

fn one_line(text: &str) -> String {
    if text.contains(['\n', '\r']) {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_plain_seconds() {
        let secs = |t: &str| parse_duration(t).map(|d| d.as_secs()).ok();
        assert_eq!(secs("7d"), Some(7 * 86_400));
        assert_eq!(secs("1d12h"), Some(36 * 3600));
        assert_eq!(secs("90"), Some(90));
        assert_eq!(secs("2w"), Some(14 * 86_400));
        assert_eq!(secs("30m15s"), Some(1815));
        for bad in ["", "7", "d", "7x", "1.5d", "7d3", "-1d"] {
            if bad == "7" {
                continue;
            }
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_secs(42)), "42s");
        assert_eq!(
            human(Duration::from_secs(3 * 86_400 + 4 * 3600 + 5)),
            "3d 4h"
        );
        assert_eq!(human(Duration::from_secs(2 * 3600 + 5 * 60)), "2h 5m");
    }

    #[test]
    fn the_exit_status_is_the_first_failed_class() {
        let mut report = Report::default();
        report.add("validity", Class::NotValidNow, Err("x".into()));
        report.add("key-usage", Class::InvalidCertificate, Err("y".into()));
        report.add("chain", Class::UntrustedChain, Ok("z".into()));
        assert_eq!(report.failure(), Some(Class::InvalidCertificate));
    }
}
