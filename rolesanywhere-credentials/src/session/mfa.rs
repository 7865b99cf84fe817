//! Where an MFA token code comes from when a role-chain hop names an MFA device
//! (`mfa_serial=`): the hop's own `token_code=`, else the caller's callback (a library caller's
//! [`MfaCallback`]), else `--mfa-command`, else the [`MFA_CODE_ENV`] variable, else a prompt on
//! the terminal.
//!
//! The terminal is `/dev/tty`, never stdin or stderr: the SDKs run `credential_process` with
//! stdout and stderr captured. Codes are wiped from memory after use and never printed; neither
//! is the command, which may hold a TOTP secret (`oathtool --totp -b SECRET`).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use zeroize::Zeroizing;

pub use crate::error::CodeOrigin;
use crate::error::{Error, Result};

/// An MFA code for a whole run, e.g. given once when a play starts.
pub const MFA_CODE_ENV: &str = "AWS_SIGNING_HELPER_MFA_CODE";
/// Set for `--mfa-command` to the serial number (or ARN) of the device asked for.
pub const MFA_SERIAL_ENV: &str = "AWS_SIGNING_HELPER_MFA_SERIAL";
/// How long `--mfa-command` may take (a hardware key may wait for a touch).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// More output than this is not a code.
const MAX_COMMAND_OUTPUT: u64 = 4096;

/// A library caller's source of MFA codes: given the device's serial number (or ARN), the
/// current 6-digit code, or `None` when there is none to give. It may block (ask a person, touch
/// a key): it runs on a blocking thread.
pub type MfaCallback = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The sources of MFA codes beyond the hop's own, from the caller, the command line and the
/// environment.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct MfaCodes {
    /// `--mfa-command`: run by `/bin/sh -c`; its first line of output is the code.
    pub command: Option<String>,
    /// A library caller's callback, asked before anything else.
    pub callback: Option<MfaCallback>,
}

impl std::fmt::Debug for MfaCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The command may hold a TOTP secret (`oathtool --totp -b SECRET`).
        f.debug_struct("MfaCodes")
            .field("command", &self.command.as_ref().map(|_| "** redacted **"))
            .field("callback", &self.callback.as_ref().map(|_| "Fn(serial)"))
            .finish()
    }
}

impl MfaCodes {
    /// A code for the device `serial`: from the callback, `--mfa-command`, [`MFA_CODE_ENV`] or
    /// the terminal.
    ///
    /// # Errors
    /// [`Error::MfaCommand`] when the command fails, [`Error::MfaCodeFormat`] when a code is
    /// not 6 digits, [`Error::MfaCodeNeeded`] when there is no source and no terminal (or the
    /// callback has no code).
    pub async fn code(&self, serial: &str) -> Result<(Zeroizing<String>, CodeOrigin)> {
        let (code, origin) = if let Some(callback) = &self.callback {
            let (callback, asked) = (std::sync::Arc::clone(callback), serial.to_string());
            let given = tokio::task::spawn_blocking(move || callback(&asked).map(Zeroizing::new))
                .await
                .ok()
                .flatten();
            let Some(code) = given else {
                return Err(Error::MfaCodeNeeded {
                    serial: serial.to_string(),
                });
            };
            (code, CodeOrigin::Callback)
        } else if let Some(command) = &self.command {
            (run_command(command, serial).await?, CodeOrigin::Command)
        } else if let Some(code) = std::env::var_os(MFA_CODE_ENV).filter(|v| !v.is_empty()) {
            let code = Zeroizing::new(code.to_string_lossy().into_owned());
            (code, CodeOrigin::Environment)
        } else {
            let prompt = format!("MFA code for {serial}: ");
            let typed = tokio::task::spawn_blocking(move || {
                rpassword::prompt_password(prompt).map(Zeroizing::new)
            })
            .await;
            match typed {
                Ok(Ok(code)) => (code, CodeOrigin::Terminal),
                _ => {
                    return Err(Error::MfaCodeNeeded {
                        serial: serial.to_string(),
                    })
                }
            }
        };
        let code = Zeroizing::new(code.trim().to_string());
        check_code(&code, origin)?;
        crate::debug!("MFA code for {serial} from {origin}");
        Ok((code, origin))
    }
}

/// AWS's rule for `TokenCode`: six digits.
///
/// # Errors
/// [`Error::MfaCodeFormat`] naming where the code came from, never the code.
pub fn check_code(code: &str, origin: CodeOrigin) -> Result<()> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::MfaCodeFormat { origin })
    }
}

async fn run_command(command: &str, serial: &str) -> Result<Zeroizing<String>> {
    let failed = |detail: String| Error::MfaCommand { detail };
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .env(MFA_SERIAL_ENV, serial)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Its complaints are for whoever reads ours.
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("cannot run /bin/sh: {e}")))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let run = async {
        // All the room it may take (tokio's read_to_end keeps 32 bytes spare), so that reading
        // never reallocates, leaving a copy of the code behind.
        let mut output = Zeroizing::new(Vec::with_capacity(MAX_COMMAND_OUTPUT as usize + 64));
        (&mut stdout)
            .take(MAX_COMMAND_OUTPUT)
            .read_to_end(&mut output)
            .await?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((output, status))
    };
    let (output, status) = match tokio::time::timeout(COMMAND_TIMEOUT, run).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return Err(failed(e.to_string())),
        Err(_) => {
            return Err(failed(format!(
                "no answer within {} s",
                COMMAND_TIMEOUT.as_secs()
            )))
        }
    };
    if !status.success() {
        return Err(failed(format!("it exited with {status}")));
    }
    let text = String::from_utf8_lossy(&output);
    let first = text.lines().next().unwrap_or_default().trim();
    Ok(Zeroizing::new(first.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_command() {
        let codes = MfaCodes {
            command: Some("oathtool --totp -b SECRETSECRET".into()),
            callback: None,
        };
        assert!(!format!("{codes:?}").contains("SECRETSECRET"));
    }

    #[test]
    fn codes_are_six_digits() {
        assert!(check_code("012345", CodeOrigin::Hop).is_ok());
        for bad in ["12345", "1234567", "12345a", "", "12 345"] {
            assert!(check_code(bad, CodeOrigin::Environment).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_command_gets_the_serial_and_its_first_line_counts() {
        let codes = MfaCodes {
            command: Some(
                "test \"$AWS_SIGNING_HELPER_MFA_SERIAL\" = dev1 && printf '123456\\nx'".into(),
            ),
            callback: None,
        };
        let (code, origin) = codes.code("dev1").await.unwrap();
        assert_eq!((code.as_str(), origin), ("123456", CodeOrigin::Command));
        assert!(matches!(
            codes.code("dev2").await,
            Err(Error::MfaCommand { .. })
        ));
        let wrong = MfaCodes {
            command: Some("echo nope".into()),
            callback: None,
        };
        assert!(matches!(
            wrong.code("d").await,
            Err(Error::MfaCodeFormat {
                origin: CodeOrigin::Command
            })
        ));
    }

    #[tokio::test]
    async fn the_callback_comes_first_and_is_checked() {
        let codes = MfaCodes {
            command: Some("echo 999999".into()),
            callback: Some(std::sync::Arc::new(|serial: &str| {
                (serial == "dev1").then(|| "654321".to_string())
            })),
        };
        let (code, origin) = codes.code("dev1").await.unwrap();
        assert_eq!((code.as_str(), origin), ("654321", CodeOrigin::Callback));
        assert!(matches!(
            codes.code("dev2").await,
            Err(Error::MfaCodeNeeded { .. })
        ));
    }
}
