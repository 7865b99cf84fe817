//! TSS2 return codes: what a failure means for the signer (reconnect, reload, stop), and a short
//! text for messages.
//!
//! A TSS2_RC carries its layer in bits 16–23: 0 for the TPM itself, 7 ESAPI, 8 SAPI, 10 TCTI
//! (the transport), 11 and 12 the resource manager (tpm2-abrmd). TPM codes come in two formats
//! (TPM 2.0 Part 2, 6.6): format one (bit 7 set) names a handle, session or parameter in bits
//! 8–11, which we mask off to compare.

/// What a failed command asks of the signer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Trouble {
    /// The transport or the context is broken: a new context, then load the key again.
    Connection,
    /// The key's handle is gone (the TPM restarted, or a resource manager flushed it): load it
    /// again in the same context.
    Object,
    /// The TPM refused the password. Never tried again: each failure counts towards lockout.
    Auth,
    /// The TPM is in dictionary-attack lockout.
    Lockout,
    /// Anything else: reported as it is.
    Other,
}

const LAYER_TPM: u32 = 0;
const LAYER_ESAPI: u32 = 7;
const LAYER_TCTI: u32 = 10;
const LAYER_RESMGR: u32 = 11;
const LAYER_RESMGR_TPM: u32 = 12;

/// TSS2_BASE_RC_BAD_SEQUENCE: ESAPI's answer on a context whose last command failed midway.
const BAD_SEQUENCE: u32 = 7;
/// TSS2_BASE_RC_NO_CONNECTION, TSS2_BASE_RC_IO_ERROR, TSS2_BASE_RC_TRY_AGAIN.
const NO_CONNECTION: u32 = 8;
const TRY_AGAIN: u32 = 9;
const IO_ERROR: u32 = 10;

/// Classifies a return code.
pub(super) fn trouble(rc: u32) -> Trouble {
    let (layer, code) = (rc >> 16 & 0xff, rc & 0xffff);
    match layer {
        LAYER_TCTI | LAYER_RESMGR => Trouble::Connection,
        LAYER_ESAPI if matches!(code, BAD_SEQUENCE | NO_CONNECTION | TRY_AGAIN | IO_ERROR) => {
            Trouble::Connection
        }
        LAYER_TPM | LAYER_RESMGR_TPM => match tpm_code(code) {
            // TPM_RC_AUTH_FAIL (with DA implications), TPM_RC_BAD_AUTH (noDA keys).
            0x08e | 0x0a2 => Trouble::Auth,
            // TPM_RC_LOCKOUT.
            0x921 => Trouble::Lockout,
            // TPM_RC_HANDLE; TPM_RC_REFERENCE_H0..H6: "references a transient object that is not
            // loaded", what a held handle gets after the TPM restarted.
            0x08b | 0x910..=0x916 => Trouble::Object,
            _ => Trouble::Other,
        },
        _ => Trouble::Other,
    }
}

/// A TPM response code with the handle, session or parameter number of format one removed.
pub(super) fn tpm_code(code: u32) -> u32 {
    if code & 0x080 != 0 {
        0x080 | (code & 0x03f)
    } else {
        code
    }
}

/// A short text for a return code, ending with the code in hex, for messages.
pub(super) fn describe(rc: u32) -> String {
    let (layer, code) = (rc >> 16 & 0xff, rc & 0xffff);
    let text = match layer {
        LAYER_TPM | LAYER_RESMGR_TPM => match tpm_code(code) {
            0x082 => "TPM_RC_ASYMMETRIC: unsupported key algorithm",
            0x083 => "TPM_RC_HASH: hash algorithm not supported by the TPM or the key",
            0x084 => "TPM_RC_VALUE",
            0x085 => "TPM_RC_HIERARCHY: hierarchy disabled",
            0x08a => "TPM_RC_TYPE",
            0x08b => "TPM_RC_HANDLE: no such object",
            0x08e => "TPM_RC_AUTH_FAIL: wrong password",
            0x092 => "TPM_RC_SCHEME: signing scheme not supported by the TPM or the key",
            0x095 => "TPM_RC_SIZE",
            0x09f => "TPM_RC_INTEGRITY: the key was not made under this parent in this TPM",
            0x0a0 => "TPM_RC_TICKET",
            0x0a2 => "TPM_RC_BAD_AUTH: wrong password",
            0x0a6 => "TPM_RC_CURVE: curve not supported by the TPM",
            0x100 => "TPM_RC_INITIALIZE: the TPM was not started (TPM2_Startup)",
            0x101 => "TPM_RC_FAILURE: the TPM is in failure mode",
            0x120 => "TPM_RC_DISABLED",
            0x143 => "TPM_RC_COMMAND_CODE: command not supported",
            0x902 => "TPM_RC_OBJECT_MEMORY: no room for another loaded object",
            0x910..=0x916 => "TPM_RC_REFERENCE_H0: the object is no longer loaded",
            0x921 => "TPM_RC_LOCKOUT: dictionary-attack lockout",
            0x922 => "TPM_RC_RETRY",
            _ => "TPM error",
        },
        LAYER_TCTI => match code {
            NO_CONNECTION => "no connection to the TPM",
            IO_ERROR => "input/output error talking to the TPM",
            TRY_AGAIN => "the TPM asked to try again",
            _ => "TPM transport (TCTI) error",
        },
        LAYER_RESMGR => "resource manager error",
        LAYER_ESAPI => match code {
            BAD_SEQUENCE => "the connection to the TPM broke in the middle of a command",
            _ => "TSS ESAPI error",
        },
        _ => "TSS error",
    };
    format!("{text}, 0x{rc:x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_codes_are_classified_as_measured_on_swtpm_and_tpm2_abrmd() {
        let table = [
            (0x000a_000a, Trouble::Connection), // swtpm down
            (0x000a_0008, Trouble::Connection), // tpm2-abrmd down
            (0x0007_0007, Trouble::Connection), // the old context after that
            (0x0000_0910, Trouble::Object),     // a held handle after a restart
            (0x0000_018b, Trouble::Object),     // an evicted persistent handle
            (0x0000_098e, Trouble::Auth),       // wrong password, session 1
            (0x0000_09a2, Trouble::Auth),       // wrong password, noDA key
            (0x0000_0921, Trouble::Lockout),
            (0x0000_01df, Trouble::Other), // integrity: another TPM's key
            (0x0000_02d2, Trouble::Other), // scheme
        ];
        for (rc, want) in table {
            assert_eq!(trouble(rc), want, "{rc:#x}");
        }
        assert!(describe(0x98e).starts_with("TPM_RC_AUTH_FAIL"));
        assert!(describe(0x1df).contains("INTEGRITY"));
        assert!(describe(0xa000a).ends_with("0xa000a"));
    }
}
