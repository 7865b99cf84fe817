//! The credential flags as the engine takes them: clap's structs become
//! `rolesanywhere_credentials::config::{CredentialArgs, IdentityArgs}` field for field, and the
//! engine validates them (`Options::from_args`), as it does for a library caller. And back, for
//! `credential-process` flags the engine's parser read (`super::parse`'s fast path).

use rolesanywhere_credentials::config::{self, CacheArgs};

use super::flags::{CacheArgs as CacheFlags, CredentialArgs, CredentialProcessArgs, IdentityArgs};

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

impl CredentialProcessArgs {
    /// `credential-process` flags the engine's parser read, as clap would have filled them.
    pub fn from_engine(mut credentials: config::CredentialArgs, cache: CacheArgs) -> Self {
        // The engine's `IdentityArgs` wipes its passwords when dropped: they are taken out of it.
        let identity = &mut credentials.identity;
        let identity = IdentityArgs {
            certificate: identity.certificate.take(),
            private_key: identity.private_key.take(),
            pkcs8_password: identity.pkcs8_password.take(),
            cert_selector: identity.cert_selector.take(),
            system_store_name: identity.system_store_name.take(),
            use_latest_expiring_certificate: identity.use_latest_expiring_certificate,
            pkcs11_lib: identity.pkcs11_lib.take(),
            reuse_pin: identity.reuse_pin,
            tpm_key_password: identity.tpm_key_password.take(),
            no_tpm_key_password: identity.no_tpm_key_password,
            debug: identity.debug,
        };
        CredentialProcessArgs {
            credentials: CredentialArgs {
                role_arn: credentials.role_arn.take(),
                profile_arn: credentials.profile_arn.take(),
                trust_anchor_arn: credentials.trust_anchor_arn.take(),
                session_duration: credentials.session_duration,
                region: credentials.region.take(),
                endpoint: credentials.endpoint.take(),
                no_verify_ssl: credentials.no_verify_ssl,
                with_proxy: credentials.with_proxy,
                role_session_name: credentials.role_session_name.take(),
                identity,
                intermediates: credentials.intermediates.take(),
                assume_role: std::mem::take(&mut credentials.assume_role),
                sts_endpoint: credentials.sts_endpoint.take(),
                sts_region: credentials.sts_region.take(),
                mfa_command: credentials.mfa_command.take(),
            },
            cache: CacheFlags {
                cache: cache.cache,
                cache_dir: cache.cache_dir,
            },
        }
    }
}
