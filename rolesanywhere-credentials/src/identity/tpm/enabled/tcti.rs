//! Which TPM to talk to: the TCTI (TPM Command Transmission Interface) chosen from the
//! environment as tpm2-tools choose it, and what to tell a user who cannot reach it.
//!
//! `TPM2TOOLS_TCTI`, then `TCTI` (tpm2-tools' variables), then `TPM_DEVICE` (the official
//! helper's: a device path), else the kernel's resource manager `/dev/tpmrm0` (or `/dev/tpm0`
//! when only that exists, as the official helper falls back).

use std::path::Path;
use std::str::FromStr;

use tss_esapi::tcti_ldr::TctiNameConf;

use crate::identity::error::{Error, Result};

/// The default device: the kernel's resource manager, which many processes can share.
const DEFAULT_DEVICE: &str = "/dev/tpmrm0";
/// The raw device, used when no resource manager exists (one process at a time).
const RAW_DEVICE: &str = "/dev/tpm0";

/// A TCTI, with how to name it in messages.
#[derive(Clone, Debug)]
pub(super) struct Tcti {
    /// As given (`swtpm:host=127.0.0.1,port=2321`), or `device:/dev/tpmrm0`.
    pub(super) text: String,
    /// Where it came from: a variable's name, or "the default".
    pub(super) from: &'static str,
    pub(super) conf: TctiNameConf,
}

/// The device a `device:` TCTI opens (tpm2-tss's default without a path: `/dev/tpm0`).
fn device_path(text: &str) -> Option<&str> {
    match text.strip_prefix("device")? {
        "" | ":" => Some(RAW_DEVICE),
        rest => rest.strip_prefix(':'),
    }
}

impl std::fmt::Display for Tcti {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TCTI {} (from {})", self.text, self.from)
    }
}

impl Tcti {
    /// The TCTI the environment names.
    ///
    /// # Errors
    /// [`Error::TpmTcti`] when a variable names a TCTI this binding cannot load.
    pub(super) fn from_env() -> Result<Tcti> {
        Tcti::choose(
            |var| std::env::var(var).ok(),
            |path| Path::new(path).exists(),
        )
    }

    fn choose(var: impl Fn(&str) -> Option<String>, exists: impl Fn(&str) -> bool) -> Result<Tcti> {
        for name in ["TPM2TOOLS_TCTI", "TCTI"] {
            let Some(value) = var(name).filter(|v| !v.is_empty()) else {
                continue;
            };
            return match TctiNameConf::from_str(&value) {
                Ok(conf) => Ok(Tcti {
                    text: value,
                    from: name,
                    conf,
                }),
                Err(_) => Err(Error::TpmTcti { var: name, value }),
            };
        }
        let (path, from) = match var("TPM_DEVICE").filter(|v| !v.is_empty()) {
            Some(path) => (path, "TPM_DEVICE"),
            None if !exists(DEFAULT_DEVICE) && exists(RAW_DEVICE) => {
                (RAW_DEVICE.to_string(), "the default")
            }
            None => (DEFAULT_DEVICE.to_string(), "the default"),
        };
        let text = format!("device:{path}");
        let conf = TctiNameConf::from_str(&text).map_err(|_| Error::TpmTcti {
            var: "TPM_DEVICE",
            value: path,
        })?;
        Ok(Tcti { text, from, conf })
    }

    /// What to check when the TPM cannot be reached through this TCTI: for a device, what
    /// opening it says (missing, permissions, busy); for the others, whether their server runs.
    pub(super) fn advice(&self) -> String {
        match &self.conf {
            TctiNameConf::Device(_) => {
                let path = device_path(&self.text).unwrap_or(DEFAULT_DEVICE);
                match std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!(
                        "{path} does not exist: this machine has no TPM 2.0, or its driver is not loaded (ls /dev/tpm*); set TPM2TOOLS_TCTI to use another TPM"
                    ),
                    Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => format!(
                        "permission denied on {path}: it usually belongs to group tss, so add the user to it (`sudo usermod -aG tss $USER`, then log in again) or check `ls -l {path}`"
                    ),
                    Err(e) if e.raw_os_error() == Some(16) => format!(
                        "{path} is in use by another program; use the resource manager /dev/tpmrm0"
                    ),
                    _ => format!("check that {path} is a TPM 2.0 device (ls -l {path})"),
                }
            }
            TctiNameConf::Tabrmd(_) => {
                "check that tpm2-abrmd is running and that libtss2-tcti-tabrmd0 is installed".into()
            }
            TctiNameConf::Swtpm(_) | TctiNameConf::Mssim(_) => format!(
                "check that the TPM simulator listens where {} says (and that libtss2-tcti-{}0 is installed)",
                self.from,
                self.text.split(':').next().unwrap_or("swtpm")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcti_comes_from_the_variables_tpm2_tools_read_then_the_official_helpers() {
        let pick = |vars: &[(&str, &str)], devices: &[&str]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let devices: Vec<String> = devices.iter().map(|d| d.to_string()).collect();
            Tcti::choose(
                |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
                |path| devices.iter().any(|d| d == path),
            )
            .map(|t| format!("{} {}", t.text, t.from))
            .map_err(|e| e.to_string())
        };
        let swtpm = "swtpm:host=127.0.0.1,port=2321";
        let all = [
            ("TPM2TOOLS_TCTI", swtpm),
            ("TCTI", "tabrmd:bus_type=session"),
            ("TPM_DEVICE", "/dev/tpm1"),
        ];
        assert_eq!(pick(&all, &[]).unwrap(), format!("{swtpm} TPM2TOOLS_TCTI"));
        assert_eq!(
            pick(&all[1..], &[]).unwrap(),
            "tabrmd:bus_type=session TCTI"
        );
        assert_eq!(pick(&all[2..], &[]).unwrap(), "device:/dev/tpm1 TPM_DEVICE");
        let empty = [("TPM2TOOLS_TCTI", ""), ("TCTI", "")];
        assert_eq!(
            pick(&empty, &[DEFAULT_DEVICE, RAW_DEVICE]).unwrap(),
            "device:/dev/tpmrm0 the default"
        );
        assert_eq!(
            pick(&[], &[RAW_DEVICE]).unwrap(),
            "device:/dev/tpm0 the default"
        );
        assert_eq!(pick(&[], &[]).unwrap(), "device:/dev/tpmrm0 the default");
        let err = pick(&[("TCTI", "libtpms")], &[]).unwrap_err();
        assert!(err.starts_with("TCTI=libtpms is not a TCTI"), "{err}");
    }
}
