//! `sign-string`: sign the official fixed test string, to prove a key works.

use sha2::{Digest as _, Sha256};
use std::io::Write;

use crate::cli::{DigestArg, Format, SignStringArgs};
use crate::error::{Error, Result};
use crate::identity::{Digest, PublicKey, Source};

/// Version of the fixed test string, as the official helper defines it.
const TEST_VERSION: &str = "1";

/// Runs `sign-string`.
pub(super) fn run(args: SignStringArgs) -> Result<()> {
    crate::log::set_enabled(args.identity.debug);
    // A key on its own is enough to sign; with a certificate, the key must match it.
    let signer =
        Source::key_from_args(crate::options::source_args(args.identity, None))?.open_key()?;
    let message = fixed_string(signer.public_key());
    if signer.public_key().hashes_message() {
        crate::debug!(
            "signing the fixed string \"AWS Roles Anywhere Credential Helper Signing Test\" || \
             SIGN_STRING_TEST_VERSION || SHA256(\"IAM RA\" || PUBLIC_KEY_BYTE_ARRAY)"
        );
    } else {
        // As the official helper: no key hash in the string, and no digest (pure ML-DSA).
        crate::debug!(
            "signing the fixed string \"AWS Roles Anywhere Credential Helper Signing Test\" || \
             SIGN_STRING_TEST_VERSION with {} (no digest: --digest does not apply)",
            signer.public_key()
        );
    }
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
    let mut message = b"AWS Roles Anywhere Credential Helper Signing Test".to_vec();
    message.extend_from_slice(TEST_VERSION.as_bytes());
    if let Some(encoding) = key.sign_string_encoding() {
        let mut hasher = Sha256::new();
        hasher.update(b"IAM RA");
        hasher.update(encoding);
        message.extend_from_slice(&hasher.finalize());
    }
    message
}
