//! The credential flags as the engine takes them: clap's structs become
//! `rolesanywhere_credentials::config::{CredentialArgs, IdentityArgs}` field for field, and the
//! engine validates them (`Options::from_args`), as it does for a library caller.

use rolesanywhere_credentials::config::{self, CacheArgs};

use super::flags::{CacheArgs as CacheFlags, CredentialArgs, IdentityArgs};

impl CredentialArgs {
    /// These flags, for the engine.
    pub fn into_engine(self) -> config::CredentialArgs {
        let mut args = config::CredentialArgs::default();
        args.role_arn = self.role_arn;
        args.profile_arn = self.profile_arn;
        args.trust_anchor_arn = self.trust_anchor_arn;
        args.session_duration = self.session_duration;
        args.region = self.region;
        args.endpoint = self.endpoint;
        args.no_verify_ssl = self.no_verify_ssl;
        args.with_proxy = self.with_proxy;
        args.role_session_name = self.role_session_name;
        args.identity = self.identity.into_engine();
        args.intermediates = self.intermediates;
        args.assume_role = self.assume_role;
        args.sts_endpoint = self.sts_endpoint;
        args.sts_region = self.sts_region;
        args.mfa_command = self.mfa_command;
        args
    }
}

impl IdentityArgs {
    /// These flags, for the engine (which wipes the passwords when done with them).
    pub fn into_engine(self) -> config::IdentityArgs {
        let mut args = config::IdentityArgs::default();
        args.certificate = self.certificate;
        args.private_key = self.private_key;
        args.pkcs8_password = self.pkcs8_password;
        args.cert_selector = self.cert_selector;
        args.system_store_name = self.system_store_name;
        args.use_latest_expiring_certificate = self.use_latest_expiring_certificate;
        args.pkcs11_lib = self.pkcs11_lib;
        args.reuse_pin = self.reuse_pin;
        args.tpm_key_password = self.tpm_key_password;
        args.no_tpm_key_password = self.no_tpm_key_password;
        args.debug = self.debug;
        args
    }
}

impl CacheFlags {
    /// These flags, for the engine.
    pub fn into_engine(self) -> CacheArgs {
        let mut args = CacheArgs::default();
        args.cache = self.cache;
        args.cache_dir = self.cache_dir;
        args
    }
}
