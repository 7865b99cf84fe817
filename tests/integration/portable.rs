//! The portable x86_64 binaries of `packaging/build-portable.sh` (cargo-zigbuild against glibc
//! 2.17), run here: the highest GLIBC symbol version `objdump -T` finds, ring signing from a key
//! file (RSA bytes equal OpenSSL's, ECDSA verified by OpenSSL), rustls and the HTTP stack in a
//! real `credential-process` against `rolesanywhere-local`, and the PKCS#11 loader (cryptoki's
//! dlopen) with a SoftHSM2 key through `--pkcs11-lib`.
//!
//! Ignored by default: the zigbuild takes minutes (see the README). Build first, then:
//!
//! ```sh
//! packaging/build-portable.sh x86_64-unknown-linux-gnu
//! cargo test --test integration portable:: -- --ignored
//! ```
//!
//! `AWS_SIGNING_HELPER_PORTABLE_DIR` names another directory holding the two binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use test_support::standard::{PROFILE, ROLE, TRUST_ANCHOR};
use test_support::tools::softhsm_module;
use test_support::{have, openssl, pki};

use crate::util::local::Local;

/// The oldest glibc the portable binaries may need.
const GLIBC_FLOOR: (u32, u32) = (2, 17);

fn portable_dir() -> PathBuf {
    let dir = std::env::var_os("AWS_SIGNING_HELPER_PORTABLE_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/x86_64-unknown-linux-gnu/dist"),
        PathBuf::from,
    );
    assert!(
        dir.join("aws_signing_helper").is_file(),
        "no portable build in {}: run packaging/build-portable.sh x86_64-unknown-linux-gnu",
        dir.display()
    );
    dir
}

fn portable(args: &[&str]) -> Output {
    Command::new(portable_dir().join("aws_signing_helper"))
        .args(args)
        .stdin(Stdio::null())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_ROLESANYWHERE")
        .output()
        .expect("run the portable aws_signing_helper")
}

fn succeeded(out: &Output) -> &[u8] {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    &out.stdout
}

#[test]
#[ignore = "needs packaging/build-portable.sh x86_64-unknown-linux-gnu first (minutes)"]
fn needs_nothing_newer_than_glibc_2_17() {
    if !have("objdump") {
        return;
    }
    for binary in ["aws_signing_helper", "rolesanywhere-local"] {
        let out = Command::new("objdump")
            .arg("-T")
            .arg(portable_dir().join(binary))
            .output()
            .expect("run objdump (binutils)");
        let table = String::from_utf8_lossy(succeeded(&out)).into_owned();
        let versions: Vec<(u32, u32)> = table
            .split("GLIBC_")
            .skip(1)
            .filter_map(|rest| {
                let version: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
                Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
            })
            .collect();
        let highest = versions.iter().max().copied().expect("no GLIBC symbols");
        assert!(highest <= GLIBC_FLOOR, "{binary} needs GLIBC_{highest:?}");
        // The floor is really the floor: the build links against 2.17's symbol versions.
        assert!(versions.contains(&(2, 17)), "{binary}: {versions:?}");
    }
}

#[test]
#[ignore = "needs packaging/build-portable.sh x86_64-unknown-linux-gnu first (minutes)"]
fn signs_with_key_files() {
    let rsa = portable(&[
        "sign-string",
        "--format",
        "bin",
        "--certificate",
        &pki("rsa-2048", "cert.pem"),
        "--private-key",
        &pki("rsa-2048", "key-pkcs8.pem"),
    ]);
    let expected = std::fs::read_to_string(pki("rsa-2048", "sign-string-sha256.hex")).unwrap();
    assert_eq!(hex::encode(succeeded(&rsa)), expected.trim());

    let ec = portable(&[
        "sign-string",
        "--format",
        "bin",
        "--private-key",
        &pki("ec-p256", "key-pkcs8.pem"),
        "--certificate",
        &pki("ec-p256", "cert.pem"),
    ]);
    let message = std::fs::read(pki("ec-p256", "sign-string.bin")).unwrap();
    assert!(openssl::verify(
        &pki("ec-p256", "pub.pem"),
        "sha256",
        &message,
        succeeded(&ec)
    ));
}

fn credential_process(local: &Local, identity: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let url = local.url();
    let mut args = vec![
        "credential-process",
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
        "--role-arn",
        ROLE,
        "--endpoint",
        &url,
    ];
    args.extend(identity);
    let mut cmd = Command::new(portable_dir().join("aws_signing_helper"));
    cmd.args(&args)
        .stdin(Stdio::null())
        .env("AWS_CA_BUNDLE", &local.ca);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    serde_json::from_slice(succeeded(&out)).expect("credential_process JSON")
}

/// rustls (ring) and the HTTP client: a TLS CreateSession the endpoint verifies and accepts.
#[test]
#[ignore = "needs packaging/build-portable.sh x86_64-unknown-linux-gnu first (minutes)"]
fn credential_process_over_tls() {
    let local = Local::start(&[]);
    let json = credential_process(
        &local,
        &[
            "--certificate",
            &pki("ec-p256", "fullchain.pem"),
            "--private-key",
            &pki("ec-p256", "key-pkcs8.pem"),
        ],
        &[],
    );
    assert_eq!(json["Version"], 1);
    assert!(json["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
}

/// cryptoki loads SoftHSM2's module at run time (dlopen in the glibc-2.17 binary) and signs in
/// the token; the endpoint verifies the signature.
#[test]
#[ignore = "needs packaging/build-portable.sh x86_64-unknown-linux-gnu first (minutes)"]
fn a_pkcs11_key_through_pkcs11_lib() {
    if !have("softhsm2-util") {
        return;
    }
    let Some(module) = softhsm_module() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tokens")).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.path().join("tokens").display()
        ),
    )
    .unwrap();
    let key = pki("ec-p256", "key-pkcs8.pem");
    for args in [
        &[
            "--init-token",
            "--free",
            "--label",
            "portable",
            "--pin",
            "1234",
            "--so-pin",
            "5678",
        ][..],
        &[
            "--import", &key, "--token", "portable", "--label", "host", "--id", "01", "--pin",
            "1234",
        ],
    ] {
        let out = Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("run softhsm2-util");
        succeeded(&out);
    }
    let local = Local::start(&[]);
    let json = credential_process(
        &local,
        &[
            "--pkcs11-lib",
            &module,
            "--certificate",
            &pki("ec-p256", "fullchain.pem"),
            "--private-key",
            "pkcs11:token=portable;object=host?pin-value=1234",
        ],
        &[("SOFTHSM2_CONF", conf.to_str().unwrap())],
    );
    assert!(json["SessionToken"].as_str().is_some_and(|t| !t.is_empty()));
}
