//! PKCS#11 end to end: the real binary against SoftHSM2 tokens made in a temporary directory,
//! with keys and certificates imported by `softhsm2-util` and OpenSC's `pkcs11-tool` (not by our
//! code). Signatures are checked by `openssl dgst -verify` and by `rolesanywhere-local`, which
//! verifies every CreateSession request and certificate chain independently.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use test_support::softhsm::{module, Hsm, PIN};
use test_support::tools::{have_all, softhsm_module};
use test_support::{openssl, pki, testdata};

use crate::util::assert_one_line_error;
use crate::util::local::{helper_command, Local};
use crate::util::serve::{imds_credentials, Serve};

// The long-running commands (update, serve) and validate on token keys.
mod services;

/// Whether SoftHSM2 (its module and `softhsm2-util`) and OpenSC's `pkcs11-tool` are
/// installed; when not, the test is skipped with one line (or fails under CI).
fn softhsm() -> bool {
    have_all(&["softhsm2-util", "pkcs11-tool"]) && softhsm_module().is_some()
}

/// What these tests do with a token directory: run `aws_signing_helper` with it.
trait HelperWithToken {
    /// `aws_signing_helper` with this token directory and SoftHSM2's module.
    fn helper(&self, args: &[&str]) -> Command;
    fn output(&self, args: &[&str]) -> Output;
    /// `credential-process` against `local` with the standard ARNs.
    fn credential_process(&self, local: &Local, args: &[&str], env: &[(&str, &str)]) -> Output;
}

impl HelperWithToken for Hsm {
    fn helper(&self, args: &[&str]) -> Command {
        let module = module();
        let mut cmd = helper_command(&[args, &["--pkcs11-lib", &module]].concat());
        cmd.env("SOFTHSM2_CONF", self.conf())
            .env_remove("AWS_SIGNING_HELPER_PKCS11_PIN");
        cmd
    }

    fn output(&self, args: &[&str]) -> Output {
        self.helper(args)
            .output()
            .expect("spawn aws_signing_helper")
    }

    fn credential_process(&self, local: &Local, args: &[&str], env: &[(&str, &str)]) -> Output {
        let module = module();
        let mut all = args.to_vec();
        all.extend(["--pkcs11-lib", &module]);
        let mut env = env.to_vec();
        env.push(("SOFTHSM2_CONF", self.conf().to_str().unwrap()));
        local.credential_process_env(&all, &env)
    }
}

/// The fixed string the official helper signs for a PKCS#11 key whose certificate is not named
/// by a `pkcs11:` URI: its signer then has no public key, so the string lacks the
/// `SHA256("IAM RA" || key)` suffix (cmd/sign_string.go, pkcs11_signer.go `Public`).
const FIXED_STRING_WITHOUT_KEY: &[u8] = b"AWS Roles Anywhere Credential Helper Signing Test1";

/// `sign-string` with fixture `kind`'s certificate file and the key at `key_uri`.
fn hybrid_sign_string(hsm: &Hsm, kind: &str, key_uri: &str) -> Output {
    let cert = pki(kind, "cert.pem");
    hsm.output(&[
        "sign-string",
        "--certificate",
        &cert,
        "--private-key",
        key_uri,
    ])
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

/// Asserts credential-process printed credentials and the endpoint accepted the request.
fn assert_credentials(local: &Local, out: &Output, what: &str) {
    let json: serde_json::Value =
        serde_json::from_slice(succeeded(out)).unwrap_or_else(|_| panic!("{what}: not JSON"));
    assert_eq!(json["Version"], 1, "{what}");
    assert!(json["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    let call = local.calls().pop().expect("the endpoint saw a call");
    assert_eq!(call["ok"], true, "{what}: {call}");
}

/// A token "ra" holding the leaf key and certificate of `kind` and the intermediate CA.
fn provisioned(kind: &str) -> Hsm {
    Hsm::provisioned(kind)
}

#[test]
fn credential_process_with_certificate_and_key_in_the_token() {
    if !softhsm() {
        return;
    }
    let local = Local::start(&[]);
    for kind in ["rsa-2048", "ec-p256", "ec-p384"] {
        let hsm = provisioned(kind);
        // The chain comes from the token: the endpoint trusts only the root.
        let out = hsm.credential_process(
            &local,
            &[
                "--certificate",
                "pkcs11:token=ra;object=leaf?pin-value=1234",
            ],
            &[],
        );
        assert_credentials(&local, &out, kind);
    }
}

#[test]
fn credential_process_hybrid_certificate_file_and_key_in_the_token() {
    if !softhsm() {
        return;
    }
    let local = Local::start(&[]);
    for kind in ["rsa-2048", "ec-p256"] {
        let hsm = Hsm::new();
        hsm.token("ra").key("ra", kind, "leaf", "01");
        let out = hsm.credential_process(
            &local,
            &[
                "--certificate",
                &pki(kind, "cert.pem"),
                "--intermediates",
                &pki(kind, "chain.pem"),
                "--private-key",
                "pkcs11:token=ra;object=leaf",
            ],
            &[("AWS_SIGNING_HELPER_PKCS11_PIN", PIN)],
        );
        assert_credentials(&local, &out, kind);
    }
}

#[test]
fn key_is_found_by_public_key_when_ids_differ() {
    if !softhsm() {
        return;
    }
    let local = Local::start(&[]);
    let hsm = Hsm::new();
    hsm.token("ra")
        .key("ra", "ec-p384", "some other label", "0a0b")
        .key("ra", "ec-p256", "leaf", "02")
        .cert("ra", &pki("ec-p256", "cert.pem"), "leaf cert", "01")
        .cert(
            "ra",
            &testdata("pki/ca/int.pem").to_string_lossy(),
            "int",
            "99",
        );
    let out = hsm.credential_process(
        &local,
        &[
            "--certificate",
            "pkcs11:token=ra;object=leaf%20cert?pin-value=1234",
        ],
        &[],
    );
    assert_credentials(&local, &out, "ids differ");
}

#[test]
fn sign_string_signatures_verify_with_openssl() {
    if !softhsm() {
        return;
    }
    for (kind, digests) in [
        ("rsa-2048", &["sha256", "sha384", "sha512"][..]),
        ("ec-p256", &["sha256", "sha384"][..]),
        ("ec-p384", &["sha256", "sha512"][..]),
        ("ec-p521", &["sha256", "sha512"][..]),
    ] {
        let hsm = provisioned(kind);
        let message = std::fs::read(pki(kind, "sign-string.bin")).unwrap();
        for digest in digests {
            let flag = digest.to_uppercase();
            // The key alone (the official string without the key suffix), and the certificate
            // URI (the key found beside it; the full string).
            for (args, message) in [
                (
                    ["--private-key", "pkcs11:token=ra;id=%01?pin-value=1234"],
                    FIXED_STRING_WITHOUT_KEY,
                ),
                (
                    [
                        "--certificate",
                        "pkcs11:token=ra;object=leaf?pin-value=1234",
                    ],
                    &message[..],
                ),
            ] {
                let out = hsm.output(
                    &[
                        &["sign-string", "--format", "bin", "--digest", &flag],
                        &args[..],
                    ]
                    .concat(),
                );
                let signature = succeeded(&out);
                assert!(
                    openssl::verify(&pki(kind, "pub.pem"), digest, message, signature),
                    "{kind} {digest} {args:?}: OpenSSL rejects the signature"
                );
            }
        }
    }
}

#[test]
fn key_without_public_object_is_matched_by_a_test_signature() {
    if !softhsm() {
        return;
    }
    let hsm = Hsm::new();
    hsm.token("ra");
    hsm.private_key_only("ra", "ec-p384", "bare", "07", &[]);
    let out = hsm.output(&[
        "sign-string",
        "--format",
        "bin",
        "--certificate",
        &pki("ec-p384", "cert.pem"),
        "--private-key",
        "pkcs11:token=ra?pin-value=1234",
    ]);
    assert!(openssl::verify(
        &pki("ec-p384", "pub.pem"),
        "sha256",
        FIXED_STRING_WITHOUT_KEY,
        succeeded(&out)
    ));
    // The same key does not pass for another certificate's.
    let out = hybrid_sign_string(&hsm, "ec-p256", "pkcs11:token=ra?pin-value=1234");
    assert_one_line_error(&out, "none belongs to the certificate");
}

/// Keys with `CKA_ALWAYS_AUTHENTICATE` (RSA, and EC on SoftHSM2, which offers only raw
/// `CKM_ECDSA` for them, so the signature must be single-part: see `single_sign`) sign with
/// `--reuse-pin`, and say on one line that they need it when there is no terminal.
#[test]
fn reuse_pin_for_keys_that_always_authenticate() {
    if !softhsm() {
        return;
    }
    for kind in ["rsa-2048", "ec-p256"] {
        let hsm = Hsm::new();
        hsm.token("ra");
        hsm.private_key_only("ra", kind, "signing", "05", &["--always-auth"]);
        hsm.cert("ra", &pki(kind, "cert.pem"), "signing", "05");
        let cert = pki(kind, "cert.pem");
        let hybrid = [
            "sign-string",
            "--format",
            "bin",
            "--certificate",
            &cert,
            "--private-key",
            "pkcs11:token=ra;object=signing;type=private?pin-value=1234",
        ];
        // No terminal to ask for the key's own PIN.
        let out = hsm.output(&hybrid);
        let err = assert_one_line_error(&out, "CKA_ALWAYS_AUTHENTICATE");
        assert!(err.contains("--reuse-pin"), "{kind}: {err}");
        let full = std::fs::read(pki(kind, "sign-string.bin")).unwrap();
        let by_uri = [
            "sign-string",
            "--format",
            "bin",
            "--certificate",
            "pkcs11:token=ra;object=signing;type=cert?pin-value=1234",
        ];
        for (args, message) in [
            (&hybrid[..], FIXED_STRING_WITHOUT_KEY),
            (&by_uri[..], &full[..]),
        ] {
            for digest in ["sha256", "sha384"] {
                let flag = digest.to_uppercase();
                let out = hsm.output(&[args, &["--reuse-pin", "--digest", &flag]].concat());
                assert!(
                    openssl::verify(&pki(kind, "pub.pem"), digest, message, succeeded(&out)),
                    "{kind} {digest} {args:?}: OpenSSL rejects the signature"
                );
            }
        }
        // A CreateSession signed that way is accepted by the endpoint's verifier.
        let local = Local::start(&[]);
        let out = hsm.credential_process(
            &local,
            &[
                "--certificate",
                "pkcs11:token=ra;object=signing;type=cert?pin-value=1234",
                "--intermediates",
                &pki(kind, "chain.pem"),
                "--reuse-pin",
            ],
            &[],
        );
        assert_credentials(&local, &out, kind);
    }
}

/// With a terminal (a pseudo-terminal from util-linux's `script`), the user PIN is asked for
/// again after a wrong one, then the key's own PIN once, and the signature verifies, for RSA and
/// EC keys with CKA_ALWAYS_AUTHENTICATE. (Keeping a context-specific PIN typed for a
/// key-matching test signature cannot be shown with SoftHSM2: its keys show their public
/// values, so no test signature is made.)
#[test]
fn pins_are_asked_for_on_the_terminal() {
    if !softhsm() {
        return;
    }
    for kind in ["rsa-2048", "ec-p256"] {
        pins_are_asked_for_on_the_terminal_with(kind);
    }
}

fn pins_are_asked_for_on_the_terminal_with(kind: &str) {
    let hsm = Hsm::new();
    hsm.token("ra");
    hsm.private_key_only("ra", kind, "signing", "05", &["--always-auth"]);
    let helper = env!("CARGO_BIN_EXE_aws_signing_helper");
    let cert = pki(kind, "cert.pem");
    let module = module();
    // No argument holds a single quote, so quoting each one is enough for script's shell.
    let command = [
        helper,
        "sign-string",
        "--certificate",
        &cert,
        "--private-key",
        "pkcs11:token=ra;object=signing",
        "--pkcs11-lib",
        &module,
    ]
    .map(|a| format!("'{a}'"))
    .join(" ");
    let mut child = Command::new("timeout")
        .args(["60", "script", "-qec", &command, "/dev/null"])
        .env("SOFTHSM2_CONF", hsm.conf())
        .env_remove("AWS_SIGNING_HELPER_PKCS11_PIN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run script (util-linux)");
    // Typed ahead: a wrong user PIN, the right one, then the key's PIN.
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"0000\n1234\n1234\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.matches("enter your user PIN for token 'ra'").count(),
        2,
        "{text}"
    );
    assert_eq!(text.matches("Incorrect PIN.").count(), 1, "{text}");
    assert_eq!(text.matches("context-specific PIN").count(), 1, "{text}");
    let hex = text
        .lines()
        .find_map(|l| l.strip_prefix('"').and_then(|l| l.strip_suffix('"')))
        .unwrap_or_else(|| panic!("no signature in: {text}"));
    let signature: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert!(
        openssl::verify(
            &pki(kind, "pub.pem"),
            "sha256",
            FIXED_STRING_WITHOUT_KEY,
            &signature
        ),
        "{kind}"
    );
}

#[test]
fn pin_source_file_env_var_and_percent_encoded_labels() {
    if !softhsm() {
        return;
    }
    let local = Local::start(&[]);
    let hsm = Hsm::new();
    hsm.token("my token")
        .key("my token", "ec-p256", "clé RA; n°1", "c0ffee")
        .cert(
            "my token",
            &pki("ec-p256", "cert.pem"),
            "clé RA; n°1",
            "c0ffee",
        )
        .cert(
            "my token",
            &testdata("pki/ca/int.pem").to_string_lossy(),
            "int",
            "99",
        );
    let pin_file = hsm.path("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let object = "token=my%20token;object=cl%C3%A9%20RA%3B%20n%C2%B01";
    for uri in [
        format!("pkcs11:{object}?pin-source={}", pin_file.display()),
        format!("pkcs11:{object}?pin-source=file:{}", pin_file.display()),
        format!(
            "pkcs11:{object};id=%c0%ff%ee?pin-source={}",
            pin_file.display()
        ),
    ] {
        let out = hsm.credential_process(&local, &["--certificate", &uri], &[]);
        assert_credentials(&local, &out, &uri);
    }
    let out = hsm.credential_process(
        &local,
        &["--certificate", &format!("pkcs11:{object}")],
        &[("AWS_SIGNING_HELPER_PKCS11_PIN", PIN)],
    );
    assert_credentials(&local, &out, "PIN from the environment");
}

#[test]
fn wrong_or_missing_pin_is_one_line_that_never_shows_the_pin() {
    if !softhsm() {
        return;
    }
    let hsm = provisioned("ec-p256");
    let base = ["sign-string", "--certificate"];
    let out = hsm.output(&[&base[..], &["pkcs11:token=ra;object=leaf?pin-value=98765"]].concat());
    let err = assert_one_line_error(&out, "wrong PIN for token 'ra'");
    assert!(err.contains("pin-value") && !err.contains("98765"), "{err}");

    let out = hsm
        .helper(&[&base[..], &["pkcs11:token=ra;object=leaf"]].concat())
        .env("AWS_SIGNING_HELPER_PKCS11_PIN", "87654")
        .output()
        .unwrap();
    let err = assert_one_line_error(&out, "AWS_SIGNING_HELPER_PKCS11_PIN");
    assert!(err.contains("wrong PIN") && !err.contains("87654"), "{err}");

    let pin_file = hsm.path("pin");
    std::fs::write(&pin_file, "76543").unwrap();
    let uri = format!(
        "pkcs11:token=ra;object=leaf?pin-source={}",
        pin_file.display()
    );
    let out = hsm.output(&[&base[..], &[uri.as_str()]].concat());
    let err = assert_one_line_error(&out, "wrong PIN");
    assert!(
        err.contains("pin-source") && !err.contains("76543"),
        "{err}"
    );

    let out = hsm.output(
        &[
            &base[..],
            &["pkcs11:token=ra;object=leaf?pin-source=/nonexistent/pin"],
        ]
        .concat(),
    );
    assert_one_line_error(&out, "/nonexistent/pin");

    // A URI that does not parse shows neither PIN.
    let out = hsm.output(
        &[
            &base[..],
            &["pkcs11:token=ra;object=leaf?pin-value=65432&pin-value=54321"],
        ]
        .concat(),
    );
    let err = assert_one_line_error(&out, "appears twice");
    assert!(!err.contains("65432") && !err.contains("54321"), "{err}");

    // The certificate is public, so the search gets as far as the key, which needs the PIN.
    let out = hsm.output(&[&base[..], &["pkcs11:token=ra;object=leaf"]].concat());
    assert_one_line_error(&out, "needs its PIN and there is no terminal");
}

#[test]
fn missing_objects_and_tokens_are_named() {
    if !softhsm() {
        return;
    }
    let hsm = provisioned("rsa-2048");
    let out = hsm.output(&[
        "sign-string",
        "--certificate",
        "pkcs11:token=ra;object=nope?pin-value=1234",
    ]);
    let err = assert_one_line_error(&out, "no certificate matches pkcs11:token=ra;object=nope");
    assert!(err.contains("p11tool --list-all"), "{err}");

    let out = hsm.output(&["sign-string", "--certificate", "pkcs11:token=elsewhere"]);
    let err = assert_one_line_error(&out, "no token matches pkcs11:token=elsewhere");
    assert!(err.contains("'ra'"), "the tokens present are listed: {err}");

    let out = hybrid_sign_string(&hsm, "rsa-2048", "pkcs11:token=ra;id=%42?pin-value=1234");
    assert_one_line_error(
        &out,
        "unable to find matching private key: no private key matches pkcs11:token=ra;id=%42",
    );

    // A key of the wrong type for the certificate.
    let out = hybrid_sign_string(&hsm, "ec-p256", "pkcs11:token=ra?pin-value=1234");
    assert_one_line_error(&out, "none belongs to the certificate");

    let out = hsm.output(&["sign-string", "--certificate", "pkcs11:token=ra;label=leaf"]);
    assert_one_line_error(&out, "object=");
}

#[test]
fn ambiguous_matches_list_the_candidates() {
    if !softhsm() {
        return;
    }
    let hsm = Hsm::new();
    hsm.token("ra")
        .key("ra", "rsa-2048", "rsa", "01")
        .cert("ra", &pki("rsa-2048", "cert.pem"), "rsa", "01")
        .key("ra", "ec-p256", "ec", "02")
        .cert("ra", &pki("ec-p256", "cert.pem"), "ec", "02");
    let out = hsm.output(&[
        "sign-string",
        "--certificate",
        "pkcs11:token=ra?pin-value=1234",
    ]);
    let err = assert_one_line_error(&out, "2 certificates match pkcs11:token=ra?pin-value=***");
    assert!(!err.contains("1234"), "{err}");
    let list = err
        .split_once("?pin-value=***: ")
        .and_then(|(_, rest)| rest.split_once("; add attributes"))
        .map(|(list, _)| list)
        .unwrap_or_else(|| panic!("no candidate list: {err}"));
    let candidates: Vec<&str> = list.split(", ").collect();
    assert_eq!(candidates.len(), 2, "{err}");
    assert!(
        candidates.iter().any(|c| c.contains("id=%01;object=rsa")),
        "{err}"
    );
    assert!(
        candidates.iter().any(|c| c.contains("id=%02;object=ec")),
        "{err}"
    );
    // Each candidate, given back, names exactly one certificate whose key signs.
    for candidate in candidates {
        let out = hsm.output(&[
            "sign-string",
            "--certificate",
            &format!("{candidate}?pin-value=1234"),
        ]);
        succeeded(&out);
    }

    let out = hsm.output(&[
        "sign-string",
        "--private-key",
        "pkcs11:token=ra?pin-value=1234",
    ]);
    let err = assert_one_line_error(&out, "2 private keys match");
    assert!(err.contains("type=private"), "{err}");
}

#[test]
fn unloadable_modules_are_named() {
    if !softhsm() {
        return;
    }
    let hsm = Hsm::new();
    let out = helper_command(&[
        "sign-string",
        "--certificate",
        "pkcs11:token=ra",
        "--pkcs11-lib",
        "/nonexistent/libnothing.so",
    ])
    .output()
    .unwrap();
    assert_one_line_error(
        &out,
        "cannot load the PKCS#11 module /nonexistent/libnothing.so",
    );

    // A file that is not a shared library.
    let not_a_module = testdata("pki/rsa-2048/cert.pem");
    let out = helper_command(&[
        "credential-process",
        "--certificate",
        "pkcs11:token=ra",
        "--pkcs11-lib",
        &not_a_module.to_string_lossy(),
        "--trust-anchor-arn",
        test_support::standard::TRUST_ANCHOR,
        "--profile-arn",
        test_support::standard::PROFILE,
        "--role-arn",
        test_support::standard::ROLE,
    ])
    .output()
    .unwrap();
    assert_one_line_error(&out, &format!("module {}", not_a_module.display()));

    // Without --pkcs11-lib, p11-kit's proxy is what is tried (it may be missing, or show none of
    // our tokens since SOFTHSM2_CONF points at an empty directory).
    let out = helper_command(&["read-certificate-data", "--certificate", "pkcs11:token=ra"])
        .env("SOFTHSM2_CONF", hsm.conf())
        .output()
        .unwrap();
    assert_one_line_error(&out, "p11-kit-proxy");
}

#[test]
fn read_certificate_data_lists_every_match() {
    if !softhsm() {
        return;
    }
    let hsm = provisioned("rsa-2048");
    hsm.cert("ra", &pki("ec-p256", "cert.pem"), "other", "02");
    let out = hsm.output(&["read-certificate-data", "--certificate", "pkcs11:token=ra"]);
    let text = String::from_utf8(succeeded(&out).to_vec()).unwrap();
    assert!(text.starts_with("Matching identities\n"), "{text}");
    for (kind, id, label) in [("rsa-2048", "%01", "leaf"), ("ec-p256", "%02", "other")] {
        let pem = pki(kind, "cert.pem");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(["x509", "-noout", "-in", &pem])
                .args(args)
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        // "sha1 Fingerprint=AB:CD:..." -> "abcd..."
        let fingerprint = openssl(&["-fingerprint", "-sha1"])
            .split('=')
            .nth(1)
            .unwrap()
            .trim()
            .replace(':', "")
            .to_lowercase();
        let serial = std::fs::read_to_string(pki(kind, "serial.hex"))
            .unwrap()
            .trim()
            .trim_start_matches('0')
            .to_uppercase();
        let block = text
            .split("\n\n")
            .find(|b| b.contains(&format!("Hex Fingerprint: {fingerprint}")))
            .unwrap_or_else(|| panic!("{kind} ({fingerprint}) not listed: {text}"));
        assert!(
            block.contains(&format!("Serial Number: {serial}\n")),
            "{block}"
        );
        assert!(
            block.contains(&format!("Subject: CN={kind}-leaf")),
            "{block}"
        );
        assert!(
            block.contains("Issuer: CN=Roles Anywhere Test Intermediate CA"),
            "{block}"
        );
        assert!(
            block.contains("URI: pkcs11:token=ra;")
                && block.contains(&format!("id={id};object={label};type=cert")),
            "{block}"
        );
    }
    assert!(text.contains("1) ") && text.contains("2) "), "{text}");
    // The intermediate is listed too: every certificate object matches `token=ra`.
    assert_eq!(text.matches("Hex Fingerprint").count(), 3, "{text}");

    let out = hsm.output(&[
        "read-certificate-data",
        "--certificate",
        "pkcs11:token=ra;object=nope",
    ]);
    assert_eq!(
        String::from_utf8_lossy(succeeded(&out)),
        "No matching identities\n"
    );
}
