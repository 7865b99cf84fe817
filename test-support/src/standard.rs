//! The endpoint's standard test configuration: one account (`ACCOUNT`), a trust anchor on the
//! test PKI's root (and a disabled one), a profile accepting role session names (and a strict
//! one), the test role, roles for the sts:AssumeRole hops (another account, with an external ID
//! and an MFA device, and a third account behind it). The product's tests run against it, and
//! the emulator's ML-DSA vectors were signed for its ARNs.

use std::path::Path;

pub use crate::ROLE;

/// The trust anchor (region us-east-1).
pub const TRUST_ANCHOR: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-main";
/// A trust anchor that exists but is disabled.
pub const DISABLED_ANCHOR: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-disabled";
/// The profile; roles: ROLE; 3600 s; accepts role session names.
pub const PROFILE: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-main";
/// A profile that refuses role session names, max 1800 s.
pub const STRICT_PROFILE: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-strict";
/// A role the profile does not list.
pub const OTHER_ROLE: &str = "arn:aws:iam::123456789012:role/other-role";
/// A role in a second account that trusts ROLE, asks for [`EXTERNAL_ID`] and MFA.
pub const CROSS_ROLE: &str = "arn:aws:iam::222233334444:role/deploy";
/// The second account.
pub const CROSS_ACCOUNT: &str = "222233334444";
/// The external ID CROSS_ROLE's trust policy asks for.
pub const EXTERNAL_ID: &str = "ansible-ext-7";
/// The MFA device CROSS_ROLE needs a code of.
pub const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/ansible";
/// Its TOTP secret, base32 (as `oathtool --totp -b` takes it).
pub const MFA_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
/// A role in a third account that trusts CROSS_ROLE, with no conditions (a second hop).
pub const THIRD_ROLE: &str = "arn:aws:iam::333344445555:role/audit";

/// The standard configuration (TOML), its trust anchors holding the CA certificates of
/// `ca_bundle` (`testdata/pki/ca/root.pem`, or a CA made during the test, such as
/// certmonger's).
pub fn config(ca_bundle: &Path) -> String {
    format!(
        r#"region = "us-east-1"
account = "123456789012"

[[trust_anchor]]
arn = "{TRUST_ANCHOR}"
ca_bundle = "{root}"
enabled = true

[[trust_anchor]]
arn = "{DISABLED_ANCHOR}"
ca_bundle = "{root}"
enabled = false

[[profile]]
arn = "{PROFILE}"
role_arns = ["{ROLE}"]
duration_seconds = 3600
enabled = true
accept_role_session_name = true

[[profile]]
arn = "{STRICT_PROFILE}"
role_arns = ["{ROLE}"]
duration_seconds = 1800
enabled = true
accept_role_session_name = false

[[role]]
arn = "{ROLE}"
trusted_roles = []

[[role]]
arn = "{OTHER_ROLE}"
trusted_roles = ["{ROLE}"]

[[role]]
arn = "{CROSS_ROLE}"
trusted_roles = ["{ROLE}"]
external_id = "{EXTERNAL_ID}"
require_mfa = true

[[role]]
arn = "{THIRD_ROLE}"
trusted_roles = ["{CROSS_ROLE}"]

[[mfa_device]]
serial = "{MFA_SERIAL}"
secret = "{MFA_SECRET}"
"#,
        root = ca_bundle.display()
    )
}

/// The current TOTP code of [`MFA_SERIAL`], from oathtool (the independent implementation).
/// Tests ask [`crate::have`]`("oathtool")` first.
pub fn mfa_code() -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", MFA_SECRET])
        .output()
        .expect("run oathtool");
    assert!(out.status.success(), "oathtool failed");
    String::from_utf8(out.stdout)
        .expect("oathtool prints digits")
        .trim()
        .to_string()
}
