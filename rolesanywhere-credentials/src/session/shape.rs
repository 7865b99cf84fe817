//! What credentials must look like before anything uses them: an access key id of the AWS
//! shape, a secret and a session token of base64 text of sane lengths, and an expiration that
//! parses and lies far enough in the future.
//!
//! Every value here ends up somewhere that gives meaning to its bytes: a JSON document on
//! stdout, an HTTP response, or a line of the shared credentials file, where a line break would
//! start a new profile and a `credential_process` line that the SDKs run. So values are checked
//! against the shape AWS uses and refused otherwise, never escaped or repaired.

use std::time::{Duration, SystemTime};

use crate::credentials::{parse_expiration, Credentials};
pub use crate::error::Invalid;

/// Credentials must stay valid at least this long after they arrive: less leaves a client no
/// time to use them, and means a clock or an endpoint gone wrong (IAM Roles Anywhere issues
/// sessions of 15 minutes at least, and refuses requests from clocks more than 5 minutes off).
pub const MIN_LIFETIME: Duration = Duration::from_secs(10);

/// Longest session token accepted. STS tokens are base64 and grow with session tags and
/// policies, to a few KiB; the whole CreateSession answer is capped at 64 KiB anyway.
const MAX_TOKEN_CHARS: usize = 16 << 10;

/// Everything a set of credentials must satisfy before it is used: [`check_shape`] and
/// [`check_expiration`]. Every credential source calls this on what it receives, so that every
/// delivery (stdout, the credentials file, `serve`) only sees usable credentials.
///
/// # Errors
/// [`Invalid`] naming the first field at fault.
pub fn check(credentials: &Credentials, now: SystemTime) -> Result<SystemTime, Invalid> {
    check_shape(credentials)?;
    check_expiration(&credentials.expiration, now)
}

/// Checks the shape of the three values written to files and served: the access key id is
/// `ASIA` or `AKIA` and 12 to 124 more upper-case letters and digits (IAM: 16 to 128 word
/// characters); the secret is 16 to 128 characters and the session token 16 to 16384, both of
/// the base64 alphabet (`A-Z a-z 0-9 + / =`), which is what AWS issues.
///
/// # Errors
/// [`Invalid`] naming the first field at fault.
pub fn check_shape(credentials: &Credentials) -> Result<(), Invalid> {
    let id = credentials.access_key_id.as_str();
    let id_ok = (16..=128).contains(&id.len())
        && (id.starts_with("ASIA") || id.starts_with("AKIA"))
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !id_ok {
        return Err(Invalid(format!(
            "the access key id {} is not ASIA or AKIA and 12 to 124 upper-case letters and digits",
            shown(id)
        )));
    }
    base64_text("secret access key", &credentials.secret_access_key, 16, 128)?;
    base64_text(
        "session token",
        &credentials.session_token,
        16,
        MAX_TOKEN_CHARS,
    )?;
    Ok(())
}

/// Parses the expiration and checks that it is at least [`MIN_LIFETIME`] after `now`.
///
/// # Errors
/// [`Invalid`] when it does not parse as an ISO 8601 time or is too close or past.
pub fn check_expiration(expiration: &str, now: SystemTime) -> Result<SystemTime, Invalid> {
    let at = parse_expiration(expiration).ok_or_else(|| {
        Invalid(format!(
            "the expiration {} is not an ISO 8601 time",
            shown(expiration)
        ))
    })?;
    if at < now + MIN_LIFETIME {
        let when = match at.duration_since(now) {
            Ok(left) => format!("they expire at {expiration}, in {} s", left.as_secs()),
            Err(e) => format!(
                "they expired at {expiration}, {} s ago",
                e.duration().as_secs()
            ),
        };
        return Err(Invalid(format!(
            "{when}, less than the {} s a client needs (check this machine's clock too)",
            MIN_LIFETIME.as_secs()
        )));
    }
    Ok(at)
}

fn base64_text(what: &str, value: &str, min: usize, max: usize) -> Result<(), Invalid> {
    if value.is_empty() {
        return Err(Invalid(format!("the {what} is empty")));
    }
    if !(min..=max).contains(&value.len()) {
        return Err(Invalid(format!(
            "the {what} is {} characters long, not {min} to {max}",
            value.len()
        )));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
    {
        return Err(Invalid(format!(
            "the {what} holds {}, which is not base64 text",
            describe(bad)
        )));
    }
    Ok(())
}

/// A public value (key id, expiration) as it may be shown: quoted, escaped, shortened.
fn shown(value: &str) -> String {
    let escaped: String = value.escape_debug().take(64).collect();
    if value.is_empty() {
        "(empty)".into()
    } else {
        format!("\"{escaped}\"")
    }
}

/// A character of a secret, named without showing the secret: only which kind it is.
fn describe(c: char) -> String {
    match c {
        '\n' => "a line break".into(),
        '\r' => "a carriage return".into(),
        c if c.is_control() => format!("a control character (U+{:04X})", c as u32),
        c if c.is_whitespace() => "white space".into(),
        c if c.is_ascii() => format!("'{c}'"),
        _ => "a non-ASCII character".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zeroize::Zeroizing;

    fn creds(id: &str, secret: &str, token: &str) -> Credentials {
        Credentials {
            access_key_id: id.into(),
            secret_access_key: Zeroizing::new(secret.into()),
            session_token: Zeroizing::new(token.into()),
            expiration: "2030-01-01T00:00:00Z".into(),
        }
    }

    const ID: &str = "ASIAEXAMPLE123456789";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==";

    #[test]
    fn aws_shapes_pass() {
        assert_eq!(check_shape(&creds(ID, SECRET, TOKEN)), Ok(()));
        assert_eq!(
            check_shape(&creds("AKIAIOSFODNN7EXAMPLE", SECRET, TOKEN)),
            Ok(())
        );
    }

    #[test]
    fn anything_else_is_refused_by_field() {
        let table = [
            (creds("", SECRET, TOKEN), "access key id (empty)"),
            (
                creds("ASIA\n[evil]", SECRET, TOKEN),
                "access key id \"ASIA\\n[evil]\"",
            ),
            (
                creds("AIDAEXAMPLE123456789", SECRET, TOKEN),
                "access key id",
            ),
            (
                creds("asiaexample123456789", SECRET, TOKEN),
                "access key id",
            ),
            (creds(ID, "", TOKEN), "secret access key is empty"),
            (
                creds(ID, "short", TOKEN),
                "secret access key is 5 characters",
            ),
            (creds(ID, &format!("{SECRET}\n"), TOKEN), "a line break"),
            (
                creds(ID, SECRET, &format!("{TOKEN}\u{1b}[2J")),
                "control character (U+001B)",
            ),
            (creds(ID, SECRET, &format!("{TOKEN}\0")), "U+0000"),
            (creds(ID, SECRET, &format!("{TOKEN} ; x")), "white space"),
            (creds(ID, SECRET, &format!("{TOKEN}é")), "non-ASCII"),
            (creds(ID, SECRET, ""), "session token is empty"),
            (
                creds(ID, SECRET, &"A".repeat(MAX_TOKEN_CHARS + 1)),
                "16 to 16384",
            ),
        ];
        for (c, needle) in table {
            let e = check_shape(&c).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle:?} not in {e:?}");
            // Secrets are never echoed.
            assert!(!e.contains(SECRET) && !e.contains(TOKEN), "{e}");
        }
    }

    #[test]
    fn expirations_must_parse_and_leave_time() {
        let now = parse_expiration("2025-01-02T03:04:05Z").unwrap();
        assert_eq!(
            check_expiration("2025-01-02T04:04:05Z", now),
            Ok(now + Duration::from_secs(3600))
        );
        for (text, needle) in [
            ("tomorrow", "not an ISO 8601 time"),
            ("", "(empty)"),
            ("2025-01-02T03:04:14Z", "in 9 s"),
            ("2025-01-02T03:00:00Z", "245 s ago"),
        ] {
            let e = check_expiration(text, now).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
