//! The test configuration of `rolesanywhere-local` the product's tests share: one account
//! (`us-east-1`, [`ACCOUNT`](crate::ACCOUNT)) with an enabled and a disabled trust anchor, a
//! lenient and a strict profile, roles to chain into across accounts (with an external ID and
//! MFA), and the MFA device's TOTP secret.

use std::path::Path;

pub use crate::ROLE;

/// The account, region and ARNs of the test configuration.
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

/// The configuration, with the trust anchors' CA bundle at `root` (normally
/// `testdata/pki/ca/root.pem`).
pub fn config_text(root: &Path) -> String {
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
        root = root.display()
    )
}
