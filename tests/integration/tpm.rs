//! TPM 2.0 keys against a software TPM: each test starts its own `swtpm` in a temporary
//! directory on free loopback ports, makes keys in it with tpm2-openssl and tpm2-tools, has the
//! test CA sign certificates for them with OpenSSL's command line, and runs the real helper
//! (with no terminal) against the real `rolesanywhere-local`, which verifies every signature
//! independently. `sign-string` signatures are checked by `openssl dgst -verify`.
//!
//! Needs (installed by `tests/setup.sh`; without them each test is skipped with one line):
//! swtpm, swtpm-tools, tpm2-tools, tpm2-openssl, libtss2-tcti-swtpm0, and a build with
//! `--features tpm` (`cargo test --features tpm --test integration tpm::`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use test_support::tools::{first_existing, have_all};
use test_support::{openssl, testdata};

use crate::util::local::Local;
use crate::util::serve::Serve;
use crate::util::{assert_one_line_error, helper_binary};

/// Whether swtpm, tpm2-tools, the tpm2 OpenSSL provider and the swtpm TCTI are installed.
fn installed() -> bool {
    have_all(&["swtpm", "tpm2_createprimary"])
        && first_existing(
            "libtss2-tcti-swtpm.so.0 (libtss2-tcti-swtpm0)",
            &[
                "/usr/lib/x86_64-linux-gnu/libtss2-tcti-swtpm.so.0",
                "/usr/lib/aarch64-linux-gnu/libtss2-tcti-swtpm.so.0",
                "/usr/lib64/libtss2-tcti-swtpm.so.0",
                "/usr/lib/libtss2-tcti-swtpm.so.0",
            ],
        )
        .is_some()
        && first_existing(
            "the tpm2 OpenSSL provider (tpm2-openssl)",
            &[
                "/usr/lib/x86_64-linux-gnu/ossl-modules/tpm2.so",
                "/usr/lib/aarch64-linux-gnu/ossl-modules/tpm2.so",
                "/usr/lib64/ossl-modules/tpm2.so",
            ],
        )
        .is_some()
}

/// A running swtpm with its state directory; shut down in order (so that its
/// dictionary-attack counter does not grow) and killed on drop.
struct Swtpm {
    dir: tempfile::TempDir,
    port: u16,
    ctrl: u16,
    child: Option<Child>,
}

impl Swtpm {
    /// A fresh simulator, or `None` (the test is skipped) when what it needs is not installed.
    fn start() -> Option<Swtpm> {
        if !installed() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("state")).unwrap();
        // The swtpm TCTI finds the control channel on the next port.
        let port = free_pair();
        let mut tpm = Swtpm {
            dir,
            port,
            ctrl: port + 1,
            child: None,
        };
        tpm.run();
        // swtpm starts with 3 tries and 1000 s of lockout; the password tests fail on purpose.
        tpm.tool(&[
            "tpm2_dictionarylockout",
            "--setup-parameters",
            "--max-tries=1000",
            "--recovery-time=1",
            "--lockout-recovery-time=1",
        ]);
        Some(tpm)
    }

    /// Starts (or starts again) the simulator on the same ports and state.
    fn run(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let child = Command::new("swtpm")
                .args(["socket", "--tpm2", "--flags", "not-need-init,startup-clear"])
                .arg("--tpmstate")
                .arg(format!("dir={}", self.dir.path().join("state").display()))
                .arg("--server")
                .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", self.port))
                .arg("--ctrl")
                .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", self.ctrl))
                .stdout(Stdio::null())
                .stderr(if std::env::var_os("TPM_TEST_DEBUG").is_some() {
                    Stdio::inherit()
                } else {
                    Stdio::null()
                })
                .spawn()
                .expect("run swtpm (apt-get install swtpm swtpm-tools)");
            self.child = Some(child);
            while Instant::now() < deadline {
                let probe = self.command("tpm2_getrandom").arg("1").output();
                if std::env::var_os("TPM_TEST_DEBUG").is_some() {
                    eprintln!("{probe:?}");
                }
                let up = probe.is_ok_and(|o| o.status.success());
                if up {
                    return;
                }
                if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                    break; // the port was still taken: try again
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(Instant::now() < deadline, "swtpm did not come up");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Shuts the TPM down in order and stops the simulator.
    fn stop(&mut self) {
        let _ = self.command("tpm2_shutdown").output();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TPM2TOOLS_TCTI", self.tcti()),
            ("TPM2OPENSSL_TCTI", self.tcti()),
            (
                "TSS2_LOG",
                std::env::var("TSS2_LOG").unwrap_or("all+none".into()),
            ),
        ]
    }

    /// A command run in the state's directory, pointed at this TPM.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.dir.path()).stdin(Stdio::null());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a tool that must succeed.
    fn tool(&self, args: &[&str]) -> Output {
        let out = self
            .command(args[0])
            .args(&args[1..])
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", args[0]));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A TSS2 PRIVATE KEY made by tpm2-openssl (`genpkey` options), and a certificate for it
    /// signed by the test CA. Returns (key, certificate) paths.
    fn key_file(&self, name: &str, options: &[&str], password: Option<&str>) -> (String, String) {
        let key = self.path(&format!("{name}.pem"));
        let mut args = vec![
            "openssl",
            "genpkey",
            "-provider",
            "tpm2",
            "-provider",
            "default",
        ];
        args.extend(options);
        let user_auth = password.map(|p| format!("user-auth:{p}"));
        if let Some(auth) = &user_auth {
            args.extend(["-pkeyopt", auth]);
        }
        args.extend(["-out", key.to_str().unwrap()]);
        self.tool(&args);
        let cert = self.certificate(name, key.to_str().unwrap(), password);
        (key.to_str().unwrap().to_string(), cert)
    }

    /// A certificate from the test CA for the TPM key `key` (a file or `handle:`).
    fn certificate(&self, name: &str, key: &str, password: Option<&str>) -> String {
        let csr = self.path(&format!("{name}.csr"));
        let cert = self.path(&format!("{name}.crt"));
        let passin = format!("pass:{}", password.unwrap_or(""));
        self.tool(&[
            "openssl",
            "req",
            "-provider",
            "tpm2",
            "-provider",
            "default",
            "-new",
            "-key",
            key,
            "-passin",
            &passin,
            "-subj",
            &format!("/CN=tpm-{name}"),
            "-out",
            csr.to_str().unwrap(),
        ]);
        let ext = self.path("leaf.ext");
        std::fs::write(
            &ext,
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        let serial = format!("0x{:016x}", rand_serial());
        let (ca, ca_key) = (testdata("pki/ca/root.pem"), testdata("pki/ca/root-key.pem"));
        self.tool(&[
            "openssl",
            "x509",
            "-req",
            "-in",
            csr.to_str().unwrap(),
            "-CA",
            ca.to_str().unwrap(),
            "-CAkey",
            ca_key.to_str().unwrap(),
            "-set_serial",
            &serial,
            "-days",
            "2",
            "-extfile",
            ext.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
        ]);
        cert.to_str().unwrap().to_string()
    }

    /// A persistent storage key at 0x81000001 and, under it, an ECDSA P-256 signing key made
    /// with tpm2-tools, persisted at 0x81000002 and also written as a key file naming the
    /// persistent parent. Returns (key file, certificate).
    fn persistent(&self) -> (String, String) {
        for line in [
            "tpm2_createprimary -C o -g sha256 -G ecc256:aes128cfb -c srk.ctx -a \
             fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt",
            "tpm2_evictcontrol -C o -c srk.ctx 0x81000001",
            // No resource manager: what the tools leave loaded stays until flushed.
            "tpm2_flushcontext -t",
            "tpm2_create -C 0x81000001 -G ecc256:ecdsa-sha256 -u k.pub -r k.priv -a \
             fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign",
            // tpm2-tools 5.4 writes emptyAuth inverted: -p gives emptyAuth TRUE.
            "tpm2_encodeobject -C 0x81000001 -u k.pub -r k.priv -p -o parent81.pem",
            "tpm2_load -C 0x81000001 -u k.pub -r k.priv -c k.ctx",
            "tpm2_evictcontrol -C o -c k.ctx 0x81000002",
            "tpm2_flushcontext -t",
        ] {
            self.tool(&line.split_whitespace().collect::<Vec<_>>());
        }
        let cert = self.certificate("handle", "handle:0x81000002", None);
        (
            self.path("parent81.pem").to_str().unwrap().to_string(),
            cert,
        )
    }

    /// The helper with `args`, no terminal, pointed at this TPM.
    fn helper(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = helper_binary();
        cmd.args(args).stdin(Stdio::null());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("spawn aws_signing_helper")
    }

    /// credential-process against `local` with this TPM.
    fn credential_process(&self, local: &Local, args: &[&str]) -> Output {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        local.credential_process_env(args, &env)
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free loopback port whose successor is free too.
fn free_pair() -> u16 {
    loop {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rand_serial() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish() >> 2
}

/// Asserts credential-process succeeded and the endpoint accepted its last call.
fn accepted(local: &Local, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("credential JSON");
    assert_eq!(json["Version"], 1);
    assert!(json["SessionToken"].as_str().is_some_and(|t| !t.is_empty()));
    let calls = local.calls();
    let last = calls.last().expect("a call");
    assert_eq!(last["ok"], true, "{last}");
}

/// The public key of a certificate, in a PEM file, for `openssl dgst -verify`.
fn pubkey_of(cert: &str) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-pubkey", "-in", cert])
        .output()
        .unwrap();
    assert!(out.status.success());
    let path = format!("{cert}.pub.pem");
    std::fs::write(&path, out.stdout).unwrap();
    path
}

/// The fixed string sign-string signs, built with OpenSSL's command line as testdata/gen.sh
/// builds it: `"AWS Roles Anywhere Credential Helper Signing Test" || "1" || SHA256("IAM RA" ||
/// key)`, the key being the PKCS#1 RSAPublicKey or the uncompressed EC point.
fn sign_string_message(pubkey: &str, rsa: bool) -> Vec<u8> {
    let key = if rsa {
        openssl::openssl(&[
            "rsa",
            "-pubin",
            "-in",
            pubkey,
            "-RSAPublicKey_out",
            "-outform",
            "DER",
        ])
    } else {
        let spki = openssl::openssl(&["pkey", "-pubin", "-in", pubkey, "-outform", "DER"]);
        // The point is the BIT STRING at the end: 65 bytes for P-256, 97 for P-384.
        let n = if spki.len() > 100 { 97 } else { 65 };
        spki[spki.len() - n..].to_vec()
    };
    assert_eq!(key[0] == 0x04, !rsa);
    let mut input = b"IAM RA".to_vec();
    input.extend(&key);
    let mut message = b"AWS Roles Anywhere Credential Helper Signing Test1".to_vec();
    message.extend(openssl::openssl_with_input(
        &["dgst", "-sha256", "-binary"],
        &input,
    ));
    message
}

#[test]
fn key_files_rsa_p256_p384_sign_credential_process_and_sign_string() {
    let Some(tpm) = Swtpm::start() else {
        return;
    };
    let local = Local::start(&[]);
    let keys = [
        (
            "rsa2048",
            vec!["-algorithm", "RSA", "-pkeyopt", "bits:2048"],
        ),
        ("ec256", vec!["-algorithm", "EC", "-pkeyopt", "group:P-256"]),
        ("ec384", vec!["-algorithm", "EC", "-pkeyopt", "group:P-384"]),
    ];
    for (name, options) in keys {
        let (key, cert) = tpm.key_file(name, &options, None);
        let out = tpm.credential_process(&local, &["--certificate", &cert, "--private-key", &key]);
        accepted(&local, &out);
        // The certificate and key in one file, as the official helper also reads them.
        let combined = tpm.path(&format!("{name}-combined.pem"));
        let text =
            std::fs::read_to_string(&cert).unwrap() + &std::fs::read_to_string(&key).unwrap();
        std::fs::write(&combined, text).unwrap();
        let out = tpm.credential_process(&local, &["--certificate", combined.to_str().unwrap()]);
        accepted(&local, &out);

        let pubkey = pubkey_of(&cert);
        let message = sign_string_message(&pubkey, name.starts_with("rsa"));
        for digest in ["SHA256", "SHA384", "SHA512"] {
            let out = tpm.helper(
                &[
                    "sign-string",
                    "--private-key",
                    &key,
                    "--digest",
                    digest,
                    "--format",
                    "bin",
                ],
                &[],
            );
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                openssl::verify(&pubkey, &digest.to_lowercase(), &message, &out.stdout),
                "{name} {digest}: openssl does not verify the signature"
            );
        }
    }
}

#[test]
fn persistent_handles_and_keys_under_a_persistent_parent() {
    let Some(tpm) = Swtpm::start() else {
        return;
    };
    let local = Local::start(&[]);
    let (file, cert) = tpm.persistent();
    for args in [
        vec![
            "--private-key",
            "handle:0x81000002",
            "--no-tpm-key-password",
        ],
        vec!["--private-key", "handle:81000002", "--no-tpm-key-password"],
        vec!["--private-key", file.as_str()],
    ] {
        let mut all = vec!["--certificate", cert.as_str()];
        all.extend(args);
        accepted(&local, &tpm.credential_process(&local, &all));
    }
    // A handle's key may have a password: without a flag saying it has none, the official
    // helper asks, and without a terminal that is one line.
    let out = tpm.credential_process(
        &local,
        &["--certificate", &cert, "--private-key", "handle:0x81000002"],
    );
    assert_one_line_error(&out, "needs its TPM key password and there is no terminal");
    let out = tpm.credential_process(
        &local,
        &[
            "--certificate",
            &cert,
            "--private-key",
            "handle:0x81000099",
            "--no-tpm-key-password",
        ],
    );
    assert_one_line_error(&out, "no key at TPM handle:0x81000099");
    let out = tpm.credential_process(
        &local,
        &[
            "--certificate",
            &cert,
            "--private-key",
            "handle:0x40000001",
            "--no-tpm-key-password",
        ],
    );
    assert_one_line_error(&out, "invalid TPM handle handle:0x40000001");
}

#[test]
fn password_keys_right_wrong_and_missing() {
    let Some(tpm) = Swtpm::start() else {
        return;
    };
    let local = Local::start(&[]);
    let (key, cert) = tpm.key_file(
        "ec256-pw",
        &["-algorithm", "EC", "-pkeyopt", "group:P-256"],
        Some("s3cret"),
    );
    let with = |extra: &[&str]| {
        let mut args = vec![
            "--certificate",
            cert.as_str(),
            "--private-key",
            key.as_str(),
        ];
        args.extend(extra);
        tpm.credential_process(&local, &args)
    };
    accepted(&local, &with(&["--tpm-key-password", "s3cret"]));
    let out = with(&["--tpm-key-password", "Wr0ngPass"]);
    let line = assert_one_line_error(&out, "the TPM refused the password for");
    assert!(!line.contains("Wr0ngPass"), "{line}");
    assert_one_line_error(
        &with(&[]),
        "needs its TPM key password and there is no terminal",
    );
    // A key without a password refuses one, as the official helper does.
    let (plain, plain_cert) = tpm.key_file(
        "ec256",
        &["-algorithm", "EC", "-pkeyopt", "group:P-256"],
        None,
    );
    let out = tpm.credential_process(
        &local,
        &[
            "--certificate",
            &plain_cert,
            "--private-key",
            &plain,
            "--tpm-key-password",
            "x",
        ],
    );
    assert_one_line_error(&out, "is a TPM key without a password (emptyAuth)");
}

#[test]
fn key_not_matching_the_certificate_is_refused_before_signing() {
    let Some(tpm) = Swtpm::start() else {
        return;
    };
    let (key, _) = tpm.key_file(
        "ec256",
        &["-algorithm", "EC", "-pkeyopt", "group:P-256"],
        None,
    );
    let other = testdata("pki/ec-p256/cert.pem");
    let out = tpm.helper(
        &[
            "sign-string",
            "--certificate",
            other.to_str().unwrap(),
            "--private-key",
            &key,
        ],
        &[],
    );
    assert_one_line_error(&out, "does not match the certificate");
}

#[test]
fn no_tpm_is_one_line_naming_the_tcti() {
    let Some(tpm) = Swtpm::start() else {
        return;
    };
    let (key, _) = tpm.key_file(
        "ec256",
        &["-algorithm", "EC", "-pkeyopt", "group:P-256"],
        None,
    );
    let closed = format!("swtpm:host=127.0.0.1,port={}", free_port());
    let cases = [
        (
            closed.as_str(),
            "cannot use the TPM through TCTI swtpm:host=127.0.0.1",
        ),
        ("device:/dev/no-such-tpm", "/dev/no-such-tpm does not exist"),
        ("libtpms", "TPM2TOOLS_TCTI=libtpms is not a TCTI"),
    ];
    for (tcti, needle) in cases {
        // TSS2_LOG unset, as for a user: tpm2-tss's own error lines must not show.
        let out = tpm.helper(
            &["sign-string", "--private-key", &key],
            &[("TPM2TOOLS_TCTI", tcti), ("TSS2_LOG", "")],
        );
        assert_one_line_error(&out, needle);
    }
}

#[test]
fn serve_refreshes_with_a_tpm_key_across_a_swtpm_restart() {
    let Some(mut tpm) = Swtpm::start() else {
        return;
    };
    let local = Local::start(&[]);
    let (key, cert) = tpm.key_file(
        "ec256",
        &["-algorithm", "EC", "-pkeyopt", "group:P-256"],
        None,
    );
    let tcti = tpm.tcti();
    // 900 s sessions refreshed 898 s before expiry: a refresh every two seconds.
    let serve = Serve::start(
        &local,
        &[
            "--certificate",
            &cert,
            "--private-key",
            &key,
            "--session-duration",
            "900",
        ],
        &[
            ("AWS_SIGNING_HELPER_REFRESH_WINDOW", "898"),
            ("TPM2TOOLS_TCTI", &tcti),
        ],
    );
    let ok_sessions = || {
        local
            .calls()
            .iter()
            .filter(|c| c["kind"] == "create-session" && c["ok"] == true)
            .count()
    };
    tpm.stop();
    tpm.run();
    let after_restart = ok_sessions();
    serve.wait_for_stderr("aws_signing_helper: TPM: ", Duration::from_secs(20));
    let deadline = Instant::now() + Duration::from_secs(20);
    while ok_sessions() < after_restart + 2 {
        assert!(
            Instant::now() < deadline,
            "no refresh after the restart: {}",
            serve.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let stderr = serve.stderr();
    let notices: Vec<&str> = stderr.lines().filter(|l| l.contains("TPM: ")).collect();
    assert!(
        notices
            .iter()
            .all(|l| l.contains("for ") && l.contains(&key)),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// With a terminal (a pseudo-terminal from util-linux's `script`), a password key's password is
/// asked for as the official helper asks, again after a wrong one (each a person's try), and the
/// signature verifies.
#[test]
fn the_password_is_asked_for_on_the_terminal() {
    let Some(tpm) = Swtpm::start() else {
        return;
    };
    let (key, cert) = tpm.key_file(
        "ec256-tty",
        &["-algorithm", "EC", "-pkeyopt", "group:P-256"],
        Some("s3cret"),
    );
    let helper = env!("CARGO_BIN_EXE_aws_signing_helper");
    // No argument holds a single quote, so quoting each one is enough for script's shell.
    let command = [
        helper,
        "sign-string",
        "--certificate",
        &cert,
        "--private-key",
        &key,
    ]
    .map(|a| format!("'{a}'"))
    .join(" ");
    let mut cmd = Command::new("timeout");
    cmd.args(["60", "script", "-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    for (k, v) in tpm.env() {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run script (util-linux)");
    // Typed ahead: a wrong password, then the right one.
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"nope\ns3cret\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.matches("Please enter your TPM key password:").count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.matches("Incorrect TPM key password.").count(),
        1,
        "{text}"
    );
    let hex = text
        .trim()
        .trim_matches('"')
        .rsplit(['\n', '"'])
        .next()
        .unwrap()
        .to_string();
    let signature = hex::decode(hex.trim_matches('"')).unwrap_or_else(|_| panic!("{text}"));
    let pubkey = pubkey_of(&cert);
    assert!(openssl::verify(
        &pubkey,
        "sha256",
        &sign_string_message(&pubkey, false),
        &signature
    ));
}
