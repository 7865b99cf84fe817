//! Keys and bundles crafted to cost unbounded work (or to use what the helper does not read),
//! given to the real binary: each must be refused in bounded time and memory, with one line
//! naming the file, what it asks for, and what to do.
//!
//! The crafted files are built here byte by byte from the ASN.1 of RFC 8018 (PBES2, PBKDF2,
//! scrypt in RFC 7914) and RFC 7292 (PKCS#12), or by OpenSSL's command line; nothing comes from
//! the code under test. Derivations are refused before they run, so the ciphertexts inside are
//! random bytes, except where a test needs OpenSSL's real ones.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use test_support::hostile::{run_measured, Measured};
use test_support::openssl::openssl;
use test_support::pki;

use crate::util::helper_binary;

/// A debug helper runs in about 10 MB; a derivation that ran would take hundreds.
const MAX_PEAK_KIB: u64 = 48 * 1024;

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn int(n: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    if bytes.is_empty() || bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    tlv(0x02, &bytes)
}

fn octets(bytes: &[u8]) -> Vec<u8> {
    tlv(0x04, bytes)
}

fn explicit0(inner: &[u8]) -> Vec<u8> {
    tlv(0xa0, inner)
}

fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        groups.reverse();
        body.extend(groups);
    }
    tlv(0x06, &body)
}

fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

const PBES2: &str = "1.2.840.113549.1.5.13";
const PBKDF2: &str = "1.2.840.113549.1.5.12";
const SCRYPT: &str = "1.3.6.1.4.1.11591.4.11";
const HMAC_SHA256: &str = "1.2.840.113549.2.9";
const AES_256_CBC: &str = "2.16.840.1.101.3.4.1.42";

/// PBES2 parameters with `kdf` and AES-256-CBC.
fn pbes2(kdf: Vec<u8>) -> Vec<u8> {
    seq(&[
        oid(PBES2),
        seq(&[kdf, seq(&[oid(AES_256_CBC), octets(&[7; 16])])]),
    ])
}

fn pbkdf2(iterations: u64) -> Vec<u8> {
    seq(&[
        oid(PBKDF2),
        seq(&[
            octets(&[1; 16]),
            int(iterations),
            seq(&[oid(HMAC_SHA256), null()]),
        ]),
    ])
}

fn scrypt(n: u64, r: u64, p: u64) -> Vec<u8> {
    seq(&[
        oid(SCRYPT),
        seq(&[octets(&[1; 16]), int(n), int(r), int(p)]),
    ])
}

/// An `EncryptedPrivateKeyInfo` with `algorithm` over 48 random-looking bytes.
fn encrypted_key(algorithm: Vec<u8>) -> Vec<u8> {
    seq(&[algorithm, octets(&[0x5a; 48])])
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

/// `sign-string --private-key <key>` (or `--certificate <bundle>`), measured.
fn sign_string(args: &[&str]) -> Measured {
    let mut cmd = helper_binary();
    cmd.arg("sign-string")
        .args(args)
        .stdin(std::process::Stdio::null());
    run_measured(cmd, Duration::from_secs(60))
}

fn assert_refused(run: &Measured, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&run.output.stderr).into_owned();
    eprintln!(
        "peak {} KiB, {} ms: {}",
        run.peak_kib,
        run.elapsed.as_millis(),
        stderr.trim_end()
    );
    assert_eq!(run.output.status.code(), Some(1), "{stderr}");
    assert!(run.output.stdout.is_empty());
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    }
    assert!(
        run.elapsed < Duration::from_secs(5),
        "took {:?}",
        run.elapsed
    );
    assert!(run.peak_kib < MAX_PEAK_KIB, "peak RSS {} KiB", run.peak_kib);
    stderr
}

#[test]
fn key_derivations_beyond_the_caps_are_refused_before_they_run() {
    let dir = tempfile::tempdir().unwrap();
    let convert = "openssl pkcs8 -topk8 -v2 aes-256-cbc";
    for (name, algorithm, needles) in [
        (
            "pbkdf2-max.pem",
            pbes2(pbkdf2(2_147_483_647)),
            vec!["2147483647 iterations", convert],
        ),
        (
            "pbkdf2-over.pem",
            pbes2(pbkdf2(2_000_001)),
            vec!["2000001 iterations", "2000000"],
        ),
        (
            "scrypt-2-30.pem",
            pbes2(scrypt(1 << 30, 8, 1)),
            vec!["1048576 MiB of memory"],
        ),
        (
            "scrypt-2-22.pem",
            pbes2(scrypt(1 << 22, 8, 1)),
            vec!["N=4194304", "4096 MiB of memory"],
        ),
        (
            "scrypt-big-r.pem",
            pbes2(scrypt(1 << 14, 1 << 15, 1)),
            vec!["r=32768"],
        ),
        (
            "scrypt-big-p.pem",
            pbes2(scrypt(1 << 16, 8, 65535)),
            vec!["p=65535", "MiB of work"],
        ),
    ] {
        let der = encrypted_key(algorithm);
        let path = write(
            dir.path(),
            name,
            pem("ENCRYPTED PRIVATE KEY", &der).as_bytes(),
        );
        let path = path.to_str().unwrap();
        let mut all = needles.clone();
        all.push(path);
        assert_refused(
            &sign_string(&["--private-key", path, "--pkcs8-password", "x"]),
            &all,
        );
        // DER too, and with the certificate.
        let der_path = write(dir.path(), &format!("{name}.der"), &der);
        let der_path = der_path.to_str().unwrap();
        let cert = pki("ec-p256", "cert.pem");
        let run = sign_string(&[
            "--certificate",
            &cert,
            "--private-key",
            der_path,
            "--pkcs8-password",
            "x",
        ]);
        assert_refused(&run, &needles);
    }
}

#[test]
fn encryptions_the_helper_does_not_read_say_how_to_convert() {
    let dir = tempfile::tempdir().unwrap();
    let key = pki("rsa-2048", "key-pkcs8.pem");
    let convert = "convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc";
    // OpenSSL writes PBES2 with 3DES and PKCS#12's PBE for PKCS#8 in its default provider.
    let des3 = dir.path().join("des3.pem");
    openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        &key,
        "-v2",
        "des3",
        "-passout",
        "pass:password",
        "-out",
        des3.to_str().unwrap(),
    ]);
    let pbe = dir.path().join("pbe-sha1-3des.pem");
    openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        &key,
        "-v1",
        "PBE-SHA1-3DES",
        "-passout",
        "pass:password",
        "-out",
        pbe.to_str().unwrap(),
    ]);
    // PBES1 needs OpenSSL's legacy provider (single DES): built by hand.
    let pbes1 = write(
        dir.path(),
        "pbes1.pem",
        pem(
            "ENCRYPTED PRIVATE KEY",
            &encrypted_key(seq(&[
                oid("1.2.840.113549.1.5.3"),
                seq(&[octets(&[1; 8]), int(2048)]),
            ])),
        )
        .as_bytes(),
    );
    for (path, what) in [
        (des3, "PBES2 with DES-EDE3-CBC (3DES)"),
        (pbe, "PKCS#12 PBE (pbeWithSHAAnd3-KeyTripleDES-CBC)"),
        (pbes1, "PBES1 (pbeWithMD5AndDES-CBC)"),
    ] {
        let path = path.to_str().unwrap();
        let run = sign_string(&["--private-key", path, "--pkcs8-password", "password"]);
        assert_refused(&run, &[path, what, "unsupported", convert]);
    }
}

#[test]
fn explicit_curve_parameters_say_how_to_convert() {
    let dir = tempfile::tempdir().unwrap();
    let sec1 = dir.path().join("explicit.pem");
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-param_enc",
        "explicit",
        "-noout",
        "-out",
        sec1.to_str().unwrap(),
    ]);
    let pkcs8 = dir.path().join("explicit-pkcs8.pem");
    openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        sec1.to_str().unwrap(),
        "-out",
        pkcs8.to_str().unwrap(),
    ]);
    let der = dir.path().join("explicit.der");
    openssl(&[
        "ec",
        "-in",
        sec1.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    for path in [sec1, pkcs8, der] {
        let path = path.to_str().unwrap();
        let run = sign_string(&["--private-key", path]);
        assert_refused(
            &run,
            &[
                path,
                "explicit curve parameters",
                "unsupported",
                "openssl ec -in OLD -param_enc named_curve",
            ],
        );
    }
}

/// The DER of a PFX: version 3, `auth_safe` as data, and `mac` if any.
fn pfx(auth_safe: &[u8], mac: Option<Vec<u8>>) -> Vec<u8> {
    let mut parts = vec![
        int(3),
        seq(&[oid("1.2.840.113549.1.7.1"), explicit0(&octets(auth_safe))]),
    ];
    parts.extend(mac);
    seq(&parts)
}

/// An `AuthenticatedSafe` holding one unencrypted `SafeContents` of `bags`.
fn auth_safe(bags: &[Vec<u8>]) -> Vec<u8> {
    seq(&[seq(&[
        oid("1.2.840.113549.1.7.1"),
        explicit0(&octets(&seq(bags))),
    ])])
}

fn shrouded_key_bag(encrypted: Vec<u8>) -> Vec<u8> {
    seq(&[oid("1.2.840.113549.1.12.10.1.2"), explicit0(&encrypted)])
}

/// The TLVs that `contents` (the inside of a constructed value) is made of.
fn children(mut contents: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !contents.is_empty() {
        let (total, _) = header(contents);
        out.push(&contents[..total]);
        contents = &contents[total..];
    }
    out
}

/// (length of the whole TLV at the start of `der`, its contents).
fn header(der: &[u8]) -> (usize, &[u8]) {
    let first = der[1] as usize;
    let (len, start) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        let len = der[2..2 + n]
            .iter()
            .fold(0usize, |a, b| (a << 8) | *b as usize);
        (len, 2 + n)
    };
    (start + len, &der[start..start + len])
}

/// The contents of a TLV.
fn inside(tlv: &[u8]) -> &[u8] {
    header(tlv).1
}

/// The `AuthenticatedSafe` bytes of an OpenSSL PFX: PFX -> authSafe ContentInfo -> [0] ->
/// OCTET STRING.
fn auth_safe_of(pfx: &[u8]) -> &[u8] {
    let content_info = children(inside(pfx))[1];
    let explicit = children(inside(content_info))[1];
    inside(children(inside(explicit))[0])
}

#[test]
fn pkcs12_bundles_beyond_the_caps_are_refused_before_they_run() {
    let dir = tempfile::tempdir().unwrap();
    // A MAC with 2^31 - 1 iterations, around OpenSSL's own authenticated safe.
    let bundle = std::fs::read(pki("ec-p256", "bundle-nopass.p12")).unwrap();
    let safe = auth_safe_of(&bundle);
    let mac = seq(&[
        seq(&[
            seq(&[oid("2.16.840.1.101.3.4.2.1"), null()]),
            octets(&[0; 32]),
        ]),
        octets(&[2; 8]),
        int(2_147_483_647),
    ]);
    let crafted_mac = write(dir.path(), "mac.p12", &pfx(safe, Some(mac)));
    // No MAC, a key bag whose PBES2 asks for scrypt N = 2^30.
    let crafted_bag = write(
        dir.path(),
        "bag.p12",
        &pfx(
            &auth_safe(&[shrouded_key_bag(encrypted_key(pbes2(scrypt(
                1 << 30,
                8,
                1,
            ))))]),
            None,
        ),
    );
    for (path, needle) in [
        (crafted_mac, "2147483647 iterations"),
        (crafted_bag, "1048576 MiB of memory"),
    ] {
        let path = path.to_str().unwrap();
        let run = sign_string(&["--certificate", path]);
        assert_refused(&run, &[path, needle, "openssl pkcs12 -export"]);
    }
}

#[test]
fn many_cheap_derivations_add_up_to_the_same_cap() {
    // One real key bag (OpenSSL's PKCS#12 PBE, 2048 iterations, empty password), repeated
    // 3000 times: each is cheap, all of them would cost 12 million iterations.
    let dir = tempfile::tempdir().unwrap();
    let p12 = dir.path().join("one.p12");
    openssl(&[
        "pkcs12",
        "-export",
        "-in",
        &pki("ec-p256", "cert.pem"),
        "-inkey",
        &pki("ec-p256", "key-pkcs8.pem"),
        "-keypbe",
        "PBE-SHA1-3DES",
        "-certpbe",
        "NONE",
        "-nomac",
        "-passout",
        "pass:",
        "-out",
        p12.to_str().unwrap(),
    ]);
    let bundle = std::fs::read(&p12).unwrap();
    // Each ContentInfo (data) of the AuthenticatedSafe -> [0] -> OCTET STRING -> SafeContents.
    let mut key_bag = None;
    for info in children(inside(auth_safe_of(&bundle))) {
        let parts = children(inside(info));
        if parts[0] != oid("1.2.840.113549.1.7.1").as_slice() {
            continue;
        }
        let contents = inside(children(inside(parts[1]))[0]);
        for bag in children(inside(contents)) {
            if children(inside(bag))[0] == oid("1.2.840.113549.1.12.10.1.2").as_slice() {
                key_bag = Some(bag.to_vec());
            }
        }
    }
    let key_bag = key_bag.expect("a shrouded key bag in OpenSSL's bundle");
    let bags = vec![key_bag; 3000];
    let path = write(dir.path(), "many.p12", &pfx(&auth_safe(&bags), None));
    let path = path.to_str().unwrap();
    let run = sign_string(&["--certificate", path]);
    assert_refused(&run, &[path, "together exceed 8000000 iterations"]);
}

/// The TLVs inside a DER SEQUENCE (definite lengths, as DER has).
fn sequence_items(der: &[u8]) -> Vec<Vec<u8>> {
    let header = |at: usize| -> (usize, usize) {
        let first = der[at + 1] as usize;
        if first < 0x80 {
            (2, first)
        } else {
            let n = first & 0x7f;
            let len = der[at + 2..at + 2 + n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (2 + n, len)
        }
    };
    let (outer, _) = header(0);
    let mut items = Vec::new();
    let mut at = outer;
    while at < der.len() {
        let (h, len) = header(at);
        items.push(der[at..at + h + len].to_vec());
        at += h + len;
    }
    items
}

/// A PKCS#1 key whose CRT values do not match its primes (as one found by the `key` fuzz
/// target did): ring loads such a key and only refuses its own signature, so it must be refused
/// when read, with one line. The keys are OpenSSL's, with `exponent2` or the public exponent
/// changed; OpenSSL's own check confirms they are inconsistent. RSA-2048 goes through ring, RSA-1024 through
/// RustCrypto.
#[test]
fn rsa_keys_with_inconsistent_crt_values_are_refused_when_read() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["rsa-2048", "rsa-1024"] {
        let good = dir.path().join(format!("{kind}.der"));
        openssl(&[
            "rsa",
            "-in",
            &pki(kind, "key-pkcs1.pem"),
            "-traditional",
            "-outform",
            "DER",
            "-out",
            good.to_str().unwrap(),
        ]);
        let items = sequence_items(&std::fs::read(&good).unwrap());
        assert_eq!(items.len(), 9, "version, n, e, d, p, q, dP, dQ, qInv");
        // dQ changed by one; then the public exponent changed (65537 to 65539: e*d is then not
        // 1, though every CRT value is d's), as the fuzzer's two inputs were.
        for (field, flip, what) in [(7, 1u8, "dq"), (2, 2u8, "e")] {
            let mut items = items.clone();
            *items[field].last_mut().unwrap() ^= flip;
            let bad = write(dir.path(), &format!("{kind}-bad-{what}.der"), &seq(&items));
            let check = std::process::Command::new("openssl")
                .args([
                    "rsa",
                    "-inform",
                    "DER",
                    "-in",
                    bad.to_str().unwrap(),
                    "-check",
                    "-noout",
                ])
                .output()
                .unwrap();
            let verdict = String::from_utf8_lossy(&check.stdout).into_owned()
                + &String::from_utf8_lossy(&check.stderr);
            assert!(
                verdict.contains("not ok"),
                "OpenSSL accepts {what}: {verdict}"
            );
            let run = sign_string(&["--private-key", bad.to_str().unwrap()]);
            assert_refused(&run, &["inconsistent RSA key", &bad.display().to_string()]);
        }
        // The unchanged key still signs.
        let run = sign_string(&["--private-key", good.to_str().unwrap()]);
        assert_eq!(run.output.status.code(), Some(0), "{kind}");
    }
}

/// An EC key whose stored public point is another key's (as one found by the `key` fuzz target
/// did, with a P-521 scalar out of range): P-384 and P-521 keys sign with the scalar alone, so
/// the pair must be checked when the key is read, as ring does for P-256. Both keys are
/// OpenSSL's; the SEC1 structure's `[1] publicKey` is swapped between them.
#[test]
fn ec_keys_whose_public_point_is_not_theirs_are_refused_when_read() {
    let dir = tempfile::tempdir().unwrap();
    for (curve, name) in [
        ("prime256v1", "P-256"),
        ("secp384r1", "P-384"),
        ("secp521r1", "P-521"),
    ] {
        let der = |tag: &str| {
            let path = dir.path().join(format!("{curve}-{tag}.der"));
            openssl(&[
                "ecparam",
                "-name",
                curve,
                "-genkey",
                "-noout",
                "-outform",
                "DER",
                "-out",
                path.to_str().unwrap(),
            ]);
            std::fs::read(&path).unwrap()
        };
        let (mine, other) = (der("mine"), der("other"));
        let mut items = sequence_items(&mine);
        assert_eq!(
            items.len(),
            4,
            "version, privateKey, [0] parameters, [1] publicKey"
        );
        items[3] = sequence_items(&other)[3].clone();
        let bad = write(dir.path(), &format!("{curve}-swapped.der"), &seq(&items));
        let check = std::process::Command::new("openssl")
            .args([
                "pkey",
                "-inform",
                "DER",
                "-in",
                bad.to_str().unwrap(),
                "-check",
                "-noout",
            ])
            .output()
            .unwrap();
        assert!(!check.status.success(), "OpenSSL accepts the {name} pair");
        let run = sign_string(&["--private-key", bad.to_str().unwrap()]);
        assert_refused(
            &run,
            &[&format!("invalid {name} key"), &bad.display().to_string()],
        );
        let good = write(dir.path(), &format!("{curve}-good.der"), &mine);
        let run = sign_string(&["--private-key", good.to_str().unwrap()]);
        assert_eq!(run.output.status.code(), Some(0), "{name}");
    }
}
