//! `sign-string`: sign the official fixed test string, to prove a key works.

use sha2::{Digest as _, Sha256};
use std::io::Write;

use crate::cli::{DigestArg, Format, SignStringArgs};
use crate::error::{Error, Result};
use rolesanywhere_credentials::config::options::source_args;
use rolesanywhere_credentials::identity::{Digest, PublicKey, Source};

/// Version of the fixed test string, as the official helper defines it.
const TEST_VERSION: &str = "1";

/// Runs `sign-string`.
pub(super) fn run(args: SignStringArgs) -> Result<()> {
    rolesanywhere_credentials::log::set_enabled(args.identity.debug);
    // A key on its own is enough to sign; with a certificate, the key must match it.
    let source = Source::key_from_args(source_args(args.identity.into_engine(), None))?;
    // Where the official helper's signer does not know its public key (a PKCS#11 key without its
    // certificate from the token), its fixed string has no public-key suffix. Same input, same
    // signature.
    let with_suffix = source.knows_public_key();
    let signer = source.open_key()?;
    let message = if !signer.public_key().hashes_message() {
        // As the official helper: no key hash in the string, and no digest (pure ML-DSA).
        rolesanywhere_credentials::debug!(
            "signing the fixed string \"AWS Roles Anywhere Credential Helper Signing Test\" || \
             SIGN_STRING_TEST_VERSION with {} (no digest: --digest does not apply)",
            signer.public_key()
        );
        fixed_prefix()
    } else if with_suffix {
        rolesanywhere_credentials::debug!(
            "signing the fixed string \"AWS Roles Anywhere Credential Helper Signing Test\" || \
             SIGN_STRING_TEST_VERSION || SHA256(\"IAM RA\" || PUBLIC_KEY_BYTE_ARRAY)"
        );
        fixed_string(signer.public_key())
    } else {
        rolesanywhere_credentials::debug!(
            "signing the fixed string \"AWS Roles Anywhere Credential Helper Signing Test\" || \
             SIGN_STRING_TEST_VERSION, without the public-key suffix, as the official helper does \
             for a PKCS#11 key whose certificate is not named by a pkcs11: URI"
        );
        fixed_prefix()
    };
    let digest = match args.digest {
        DigestArg::Sha256 => Digest::Sha256,
        DigestArg::Sha384 => Digest::Sha384,
        DigestArg::Sha512 => Digest::Sha512,
    };
    let signature = signer.sign(&message, digest)?;
    let mut out = std::io::stdout().lock();
    // Like the official helper: no trailing newline in any format.
    match args.format {
        Format::Json => write!(out, "\"{}\"", hex::encode(&signature)),
        Format::Text => write!(out, "{}", hex::encode(&signature)),
        Format::Bin => out.write_all(&signature),
    }
    .and_then(|()| out.flush())
    .map_err(Error::Output)
}

/// `"AWS Roles Anywhere Credential Helper Signing Test" || "1" || SHA256("IAM RA" || key)`, or
/// without the key hash for ML-DSA keys, as the official v1.8 builds it.
pub(crate) fn fixed_string(key: &PublicKey) -> Vec<u8> {
    let mut message = fixed_prefix();
    if let Some(encoding) = key.sign_string_encoding() {
        let mut hasher = Sha256::new();
        hasher.update(b"IAM RA");
        hasher.update(encoding);
        message.extend_from_slice(&hasher.finalize());
    }
    message
}

/// `"AWS Roles Anywhere Credential Helper Signing Test" || "1"`.
fn fixed_prefix() -> Vec<u8> {
    let mut message = b"AWS Roles Anywhere Credential Helper Signing Test".to_vec();
    message.extend_from_slice(TEST_VERSION.as_bytes());
    message
}
