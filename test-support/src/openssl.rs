//! OpenSSL's command line: the independent tool the tests make inputs with and check signatures
//! with (never linked into what they test). `tests/setup.sh` installs it; every test needs it.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `openssl` with `args` and returns its stdout; panics with its stderr if it fails.
pub fn openssl(args: &[&str]) -> Vec<u8> {
    openssl_with_input(args, b"")
}

/// Like [`openssl`], with `input` on its stdin.
pub fn openssl_with_input(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl (tests/setup.sh installs it)");
    // Whatever openssl does not read (most commands read no stdin) is dropped with the pipe.
    let _ = child.stdin.take().expect("stdin").write_all(input);
    let out = child.wait_with_output().expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Whether `signature` over `message` verifies with `openssl dgst -<digest> -verify <pubkey>`.
pub fn verify(pubkey: &str, digest: &str, message: &[u8], signature: &[u8]) -> bool {
    let dir = tempfile::tempdir().expect("tempdir");
    let msg = dir.path().join("msg");
    let sig = dir.path().join("sig");
    std::fs::write(&msg, message).expect("write the message");
    std::fs::write(&sig, signature).expect("write the signature");
    let out = Command::new("openssl")
        .args([
            "dgst",
            &format!("-{digest}"),
            "-verify",
            pubkey,
            "-signature",
        ])
        .arg(&sig)
        .arg(&msg)
        .output()
        .expect("run openssl (tests/setup.sh installs it)");
    out.status.success()
}

/// A SHA-256 signature of `data` by the key in `key` (PKCS#1 v1.5 for RSA keys, DER ECDSA for
/// EC keys).
pub fn sign(key: &std::path::Path, data: &[u8]) -> Vec<u8> {
    openssl_with_input(
        &[
            "dgst",
            "-sha256",
            "-sign",
            key.to_str().expect("utf-8 path"),
        ],
        data,
    )
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let hexkey = format!("hexkey:{}", hex(key));
    openssl_with_input(
        &[
            "dgst", "-sha256", "-mac", "HMAC", "-macopt", &hexkey, "-binary",
        ],
        data,
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
