//! `update`: keep one profile of the AWS shared credentials file filled with fresh credentials.
//!
//! Only the target section's `aws_access_key_id`, `aws_secret_access_key` and
//! `aws_session_token` lines change, laid out as the official helper lays them out (missing keys
//! in that order after the section's last setting; a missing section appended after the last
//! line, followed by an empty line; a final line break added); every other byte (other
//! profiles, comments, blank lines, ordering, line endings) is kept, and no line is lost where
//! the official helper loses one. Values are written only when they have the shape AWS gives
//! them, so that nothing sent by an endpoint can add a line. How the file is found, locked and
//! replaced (atomically, keeping its mode and owner, through symlinks, never over a device) is
//! [`crate::credentials_file`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use rolesanywhere_credentials::config::Options;
use rolesanywhere_credentials::credentials::{Credentials, Issued};
use rolesanywhere_credentials::pipeline;
use rolesanywhere_credentials::pipeline::refresh::{self, Deliver};
use rolesanywhere_credentials::pipeline::Reload;
use rolesanywhere_credentials::session::shape::{check_shape, Invalid};

/// Where the credentials file is when this variable is set.
pub const CREDENTIALS_FILE_ENV: &str = "AWS_SHARED_CREDENTIALS_FILE";

/// The three keys `update` owns in its profile.
const KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// Writes credentials into `profile`, once or forever (refreshing before expiry).
///
/// # Errors
/// When the identity cannot be opened, or the first CreateSession or the first write fails.
/// Later failures are reported on stderr and retried; the last good entry stays in the file.
pub async fn run(options: Options, profile: &str, once: bool) -> Result<()> {
    let path = credentials_path()?;
    let window = options.refresh_window;
    // Installed before the first CreateSession: a SIGHUP's default action is to end the process.
    let wake = if once {
        Arc::default()
    } else {
        crate::signals::wake_on_sighup()?
    };
    // The first CreateSession may be retried for --start-timeout (a throttled fleet).
    let (patience, attempt) = (options.patience, options.http.timeout);
    // With --assume-role hops, the last hop's credentials.
    let mut source = pipeline::build(options, Reload::OnChange, None)?;
    let first = crate::systemd::starting(source.fetch(), patience, attempt).await?;
    let first = Arc::new(first);
    let mut delivery = WriteProfile { path, profile };
    delivery.deliver(&first)?;
    if once {
        return Ok(());
    }
    refresh::keep_fresh(source.as_mut(), first, window, &mut delivery, &wake).await;
    Ok(())
}

/// Refreshed credentials go into one profile of the credentials file.
struct WriteProfile<'a> {
    path: PathBuf,
    profile: &'a str,
}

impl Deliver for WriteProfile<'_> {
    type Error = Error;

    fn deliver(&mut self, issued: &Arc<Issued>) -> Result<()> {
        write_profile(&self.path, self.profile, &issued.credentials)?;
        // Ends a reload systemd may be waiting for (RELOADING=1), and is ignored otherwise.
        crate::systemd::ready(&format!(
            "profile [{}] written; the credentials expire at {}",
            self.profile, issued.credentials.expiration
        ));
        Ok(())
    }

    fn reloading(&mut self) {
        rolesanywhere_credentials::notice!(
            "reload requested: reading the certificate and key again and refreshing"
        );
        crate::systemd::reloading("reloading the certificate and key");
    }

    fn waiting(&mut self, current: &Issued, delay: Duration) {
        rolesanywhere_credentials::notice!(
            "profile [{}] in {} holds credentials expiring at {}; refreshing in {} s",
            self.profile,
            self.path.display(),
            current.credentials.expiration,
            delay.as_secs()
        );
    }

    fn failed(&mut self, error: &Error, current: &Issued, retry_in: Duration) {
        rolesanywhere_credentials::warning!(
            "cannot refresh profile [{}]: {}; the file keeps the credentials expiring at {}; retrying in {} s",
            self.profile,
            error.report(),
            current.credentials.expiration,
            retry_in.as_secs().max(1)
        );
        crate::systemd::ready(&format!(
            "refresh failed, retrying in {} s; the file keeps the credentials expiring at {}",
            retry_in.as_secs().max(1),
            current.credentials.expiration
        ));
    }
}

/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`.
///
/// # Errors
/// When neither the variable nor a home directory is set.
pub fn credentials_path() -> Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    if let Some(file) = std::env::var_os(CREDENTIALS_FILE_ENV).filter(|f| !f.is_empty()) {
        let file = PathBuf::from(file);
        // The SDKs expand a leading `~`.
        if let (Ok(rest), Some(home)) = (file.strip_prefix("~"), &home) {
            return Ok(home.join(rest));
        }
        return Ok(file);
    }
    home.map(|h| h.join(".aws").join("credentials"))
        .ok_or(Error::NoHome {
            var: CREDENTIALS_FILE_ENV,
        })
}

/// Puts `credentials` into `profile` of the file at `path`, atomically and under a lock.
///
/// # Errors
/// [`Error::UnsafeCredentials`] when a value is not of the shape AWS uses (it could add lines to
/// the file), or what [`crate::credentials_file::rewrite`] says about the file; it is then
/// unchanged.
pub fn write_profile(path: &Path, profile: &str, credentials: &Credentials) -> Result<()> {
    // Checked before the file is even opened; set_profile checks again, whoever calls it.
    check_shape(credentials).map_err(|detail| Error::UnsafeCredentials {
        path: path.to_path_buf(),
        detail,
    })?;
    crate::credentials_file::rewrite(path, |old| {
        set_profile(old, profile, credentials).map_err(|detail| Error::UnsafeCredentials {
            path: path.to_path_buf(),
            detail,
        })
    })
}

/// `text` with `profile`'s three credential keys set to `credentials`, everything else intact.
///
/// # Errors
/// When a value is not of the shape AWS uses ([`check_shape`]), or the profile name could not
/// be a section header: written as they are, they could add lines, sections or a
/// `credential_process` to the file. Nothing is ever escaped.
pub fn set_profile(
    text: &str,
    profile: &str,
    credentials: &Credentials,
) -> std::result::Result<Zeroizing<String>, Invalid> {
    check_shape(credentials)?;
    if !is_section_name(profile) {
        return Err(Invalid::new(format!(
            "the profile name \"{}\" cannot be a section header",
            profile.escape_debug()
        )));
    }
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let values: [&str; 3] = [
        &credentials.access_key_id,
        &credentials.secret_access_key,
        &credentials.session_token,
    ];
    let entry = |k: usize, out: &mut String, end: &str| {
        out.push_str(KEYS[k]);
        out.push_str(" = ");
        out.push_str(values[k]);
        out.push_str(end);
    };
    let mut out = Zeroizing::new(String::with_capacity(text.len() + 2048));
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let header = format!("[{profile}]");

    let Some(start) = lines.iter().position(|l| l.trim() == header) else {
        // As the official helper: the section right after the last line, then an empty line.
        out.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(&header);
        out.push_str(eol);
        for k in 0..KEYS.len() {
            entry(k, &mut out, eol);
        }
        out.push_str(eol);
        return Ok(out);
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |i| start + 1 + i);

    // Keys already present, and the line after which missing ones go: the section's last
    // key line, or its header.
    let mut present = [false; 3];
    let mut insert_after = start;
    for (i, line) in lines.iter().enumerate().take(end).skip(start + 1) {
        if let Some(k) = key_of(line) {
            present[k] = true;
        }
        if is_assignment(line) {
            insert_after = i;
        }
    }

    for (i, line) in lines.iter().enumerate() {
        match key_of(line).filter(|_| i > start && i < end) {
            Some(k) => entry(
                k,
                &mut out,
                &line[line.trim_end_matches(['\r', '\n']).len()..],
            ),
            None => out.push_str(line),
        }
        if i == insert_after && present.iter().any(|p| !p) {
            if !out.ends_with('\n') {
                out.push_str(eol);
            }
            for k in (0..KEYS.len()).filter(|k| !present[*k]) {
                entry(k, &mut out, eol);
            }
        }
    }
    // The official helper ends every line, the last one too.
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(eol);
    }
    Ok(out)
}

/// Whether `[name]` is a section header that every INI reader sees as `name`: no brackets, no
/// line breaks or other control characters, no blank ends, not empty.
pub fn is_section_name(name: &str) -> bool {
    !name.is_empty()
        && name.trim() == name
        && !name.chars().any(|c| c.is_control() || c == '[' || c == ']')
}

/// Which of [`KEYS`] `line` assigns, if any (names compare case-insensitively, as the SDKs'
/// INI parsers do).
fn key_of(line: &str) -> Option<usize> {
    if !is_assignment(line) {
        return None;
    }
    let (name, _) = line.split_once('=')?;
    KEYS.iter()
        .position(|k| k.eq_ignore_ascii_case(name.trim()))
}

fn is_assignment(line: &str) -> bool {
    let trimmed = line.trim_start();
    !trimmed.starts_with(['#', ';', '[']) && trimmed.contains('=')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "ASIANEWKEY123456".into(),
            secret_access_key: Zeroizing::new("newsecretnewsecret".into()),
            session_token: Zeroizing::new("newtokennewtoken".into()),
            expiration: "2030-01-01T00:00:00Z".into(),
        }
    }

    const NEW: &str =
        "aws_access_key_id = ASIANEWKEY123456\naws_secret_access_key = newsecretnewsecret\naws_session_token = newtokennewtoken\n";

    // The layouts below are the official helper's (update.go, GetNewCredentialsFileContents):
    // a new section follows the last line directly and ends with an empty line.
    #[test]
    fn empty_file_gets_the_section() {
        assert_eq!(
            *set_profile("", "default", &creds()).unwrap(),
            format!("[default]\n{NEW}\n")
        );
    }

    #[test]
    fn missing_section_is_appended_then_an_empty_line() {
        let text = "# mine\n[other]\naws_access_key_id = X\n";
        assert_eq!(
            *set_profile(text, "ra", &creds()).unwrap(),
            format!("{text}[ra]\n{NEW}\n")
        );
        let unterminated = "[other]\nregion = x";
        assert_eq!(
            *set_profile(unterminated, "ra", &creds()).unwrap(),
            format!("{unterminated}\n[ra]\n{NEW}\n")
        );
        // A commented-out header is not the section.
        let commented = "# [ra]\naws_access_key_id = X\n";
        assert_eq!(
            *set_profile(commented, "ra", &creds()).unwrap(),
            format!("{commented}[ra]\n{NEW}\n")
        );
    }

    #[test]
    fn a_missing_final_line_break_is_added() {
        let text = "[default]\nregion = x\n[other]\nk = v";
        assert_eq!(
            *set_profile(text, "default", &creds()).unwrap(),
            format!("[default]\nregion = x\n{NEW}[other]\nk = v\n")
        );
    }

    // Where the official helper loses data, we do not: the section's last line when the section
    // ends the file, and a section whose header is the file's last line (it appends a second).
    #[test]
    fn the_last_line_and_a_header_on_the_last_line_are_kept() {
        let text = "[q]\n[default]\nregion = x";
        assert_eq!(
            *set_profile(text, "default", &creds()).unwrap(),
            format!("[q]\n[default]\nregion = x\n{NEW}")
        );
        let text = "[q]\nx = 1\n[default]\n";
        assert_eq!(
            *set_profile(text, "default", &creds()).unwrap(),
            format!("{text}{NEW}")
        );
    }

    #[test]
    fn existing_keys_are_replaced_in_place_and_the_rest_kept() {
        let text = "; top comment\n[default]\nregion = eu-west-1\nAWS_ACCESS_KEY_ID=OLD\n# keep me\naws_secret_access_key = old\naws_session_token = old\n\n[other]\naws_access_key_id = OTHER\n";
        let want = "; top comment\n[default]\nregion = eu-west-1\naws_access_key_id = ASIANEWKEY123456\n# keep me\naws_secret_access_key = newsecretnewsecret\naws_session_token = newtokennewtoken\n\n[other]\naws_access_key_id = OTHER\n";
        assert_eq!(*set_profile(text, "default", &creds()).unwrap(), want);
        // Other profiles' keys are never touched.
        let other = set_profile(text, "other", &creds()).unwrap();
        assert!(other
            .starts_with("; top comment\n[default]\nregion = eu-west-1\nAWS_ACCESS_KEY_ID=OLD\n"));
        assert!(other.ends_with(&format!("[other]\n{NEW}")));
    }

    #[test]
    fn missing_keys_go_after_the_last_assignment() {
        let text = "[default]\nregion = x\n\n# about next\n[next]\nk = v\n";
        assert_eq!(
            *set_profile(text, "default", &creds()).unwrap(),
            format!("[default]\nregion = x\n{NEW}\n# about next\n[next]\nk = v\n")
        );
        let last = "[default]\nregion = x";
        assert_eq!(
            *set_profile(last, "default", &creds()).unwrap(),
            format!("[default]\nregion = x\n{NEW}")
        );
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let text = "[a]\r\nk = v\r\n[default]\r\naws_session_token = old\r\n";
        let out = set_profile(text, "default", &creds()).unwrap();
        assert_eq!(
            *out,
            "[a]\r\nk = v\r\n[default]\r\naws_session_token = newtokennewtoken\r\naws_access_key_id = ASIANEWKEY123456\r\naws_secret_access_key = newsecretnewsecret\r\n"
        );
    }

    #[test]
    fn updating_twice_is_stable() {
        let once = set_profile("[x]\na = b\n", "default", &creds()).unwrap();
        let twice = set_profile(&once, "default", &creds()).unwrap();
        assert_eq!(*once, *twice);
    }

    #[test]
    fn values_that_would_add_lines_are_refused_not_escaped() {
        let text = "[default]\naws_access_key_id = OLD\n[other]\nk = v\n";
        let inject = |id: &str, secret: &str, token: &str| Credentials {
            access_key_id: id.into(),
            secret_access_key: Zeroizing::new(secret.into()),
            session_token: Zeroizing::new(token.into()),
            expiration: "2030-01-01T00:00:00Z".into(),
        };
        let good = creds();
        for bad in [
            inject(
                "ASIANEWKEY123456\n[evil]\ncredential_process = touch PWNED\n",
                &good.secret_access_key,
                &good.session_token,
            ),
            inject(
                &good.access_key_id,
                "newsecretnewsecret\r\n[evil]",
                &good.session_token,
            ),
            inject(
                &good.access_key_id,
                &good.secret_access_key,
                "newtokennewtoken\0",
            ),
            inject(
                &good.access_key_id,
                &good.secret_access_key,
                "newtoken\u{1b}]0;x\u{7}",
            ),
            inject("", &good.secret_access_key, &good.session_token),
        ] {
            assert!(set_profile(text, "default", &bad).is_err());
        }
        for profile in ["", "a]\n[b", "x\ny", " padded", "bell\u{7}"] {
            assert!(set_profile(text, profile, &good).is_err(), "{profile:?}");
        }
    }
}
