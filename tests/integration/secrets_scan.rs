//! Secrets never leak: every command runs with `--debug` (file keys under a password, PKCS#12
//! under a password, a key in a SoftHSM2 token with its PIN by URI, variable and file, serve and
//! update with real credentials from `rolesanywhere-local`, and failures on the way), and
//! everything it prints and every file it leaves is searched for the private key, the
//! passwords, the PIN, the secret access keys and the session tokens. The only places
//! credentials may appear are where they are meant to go: credential-process's stdout, the
//! profile update writes, serve's HTTP answers.
//!
//! MFA codes: an sts:AssumeRole hop with an MFA device, given a good code (from oathtool, through
//! `AWS_SIGNING_HELPER_MFA_CODE`) and a wrong one (in the hop's `token_code=`); a code is found
//! when it stands alone (not inside a longer run of letters and digits, such as a timestamp).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use reqwest::Method;
use test_support::openssl::openssl;
use test_support::pki;
use test_support::standard::{mfa_code, CROSS_ROLE, EXTERNAL_ID, MFA_SERIAL};
use test_support::tools::{have_all, softhsm_module};

use crate::util::local::{helper_command, Local};
use crate::util::serve::{send, Serve, CREDS, TOKEN, TOKEN_HEADER, TTL};

const PASSWORD: &str = "Corr3ct-H0rse-Pw-9431";
const PIN: &str = "74915382";
const SO_PIN: &str = "38205716";
const WRONG: &str = "Wr0ng-Guess-Pw-5527";

/// Everything that must not appear.
#[derive(Default)]
struct Secrets {
    /// Fragments of the private keys: PEM body lines, DER in base64 and hex, the EC scalar.
    keys: Vec<String>,
    /// Key and bundle passwords, PINs, and wrong guesses a user typed.
    passwords: Vec<String>,
    /// Secret access keys and session tokens issued during the run.
    credentials: Vec<String>,
    /// One-time MFA codes given during the run.
    mfa_codes: Vec<String>,
}

impl Secrets {
    fn all(&self) -> impl Iterator<Item = &String> {
        self.keys
            .iter()
            .chain(&self.passwords)
            .chain(&self.credentials)
    }

    /// Adds what identifies the private key in `pem_path`: its PEM lines that carry private
    /// bytes (a line that also appears in the public key or a certificate is public material,
    /// such as the point at the end of an EC key), and the private scalar (EC) or exponent
    /// (RSA) in hex and base64.
    fn add_key(&mut self, pem_path: &str, public: &[&str]) {
        let text = std::fs::read_to_string(pem_path).unwrap();
        let public_pem = String::from_utf8(openssl(&["pkey", "-in", pem_path, "-pubout"])).unwrap();
        let mut public_text = public_pem;
        for path in public {
            public_text.push_str(&std::fs::read_to_string(path).unwrap().replace('\n', ""));
        }
        self.keys.extend(
            text.lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 40)
                .filter(|l| !public_text.contains(*l))
                .map(str::to_string),
        );
        let text =
            String::from_utf8(openssl(&["pkey", "-in", pem_path, "-noout", "-text"])).unwrap();
        let private: String = text
            .split("priv:")
            .nth(1)
            .or_else(|| text.split("privateExponent:").nth(1))
            .unwrap_or_default()
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .collect::<String>()
            .replace([':', ' '], "");
        assert!(private.len() >= 64, "no private value read from {pem_path}");
        use base64::Engine;
        let bytes = hex::decode(&private[..64]).unwrap();
        self.keys.push(private[..32].to_string());
        self.keys
            .push(base64::engine::general_purpose::STANDARD.encode(&bytes)[..24].to_string());
    }

    /// Adds the secret and token of a credentials JSON document (credential-process, serve).
    fn add_credentials(&mut self, json: &serde_json::Value) {
        for field in ["SecretAccessKey", "SessionToken", "Token"] {
            if let Some(value) = json[field].as_str() {
                self.credentials.push(value.to_string());
            }
        }
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A one-shot run: what it is, its arguments, its extra environment.
type OneShot<'a> = (&'a str, Vec<String>, Vec<(&'a str, String)>);

/// What one command printed and left behind, and where credentials were meant to go.
struct Run {
    what: String,
    output: Output,
    /// The directory it ran in (its home): every file in it is scanned, except `allowed`.
    dir: PathBuf,
    allowed: Vec<PathBuf>,
}

/// The standard ARNs and endpoint for `command`, with `--debug`.
fn credential_args(command: &str, local: &Local) -> Vec<String> {
    let mut args = crate::util::local::credential_args(command, &local.url());
    args.push("--debug".into());
    args
}

#[tokio::test]
async fn no_secret_reaches_stderr_logs_or_stray_files() {
    if !have_all(&["softhsm2-util", "pkcs11-tool", "oathtool"]) {
        return;
    }
    let Some(module) = softhsm_module() else {
        return;
    };
    let local = Local::start(&[]);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let mut secrets = Secrets::default();
    secrets
        .passwords
        .extend([PASSWORD, PIN, SO_PIN, WRONG].map(String::from));

    // A key under a password, a bundle under a password, and a key in a token.
    let ec_key = pki("ec-p256", "key-pkcs8.pem");
    let rsa_key = pki("rsa-2048", "key-pkcs8.pem");
    secrets.add_key(&ec_key, &[&pki("ec-p256", "fullchain.pem")]);
    secrets.add_key(&rsa_key, &[&pki("rsa-2048", "fullchain.pem")]);
    let encrypted = w.join("encrypted.pem");
    openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        &ec_key,
        "-v2",
        "aes-256-cbc",
        "-passout",
        &format!("pass:{PASSWORD}"),
        "-out",
        encrypted.to_str().unwrap(),
    ]);
    let scrypt = w.join("scrypt.pem");
    openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        &ec_key,
        "-scrypt",
        "-passout",
        &format!("pass:{PASSWORD}"),
        "-out",
        scrypt.to_str().unwrap(),
    ]);
    let bundle = w.join("bundle.p12");
    openssl(&[
        "pkcs12",
        "-export",
        "-in",
        &pki("rsa-2048", "fullchain.pem"),
        "-inkey",
        &rsa_key,
        "-passout",
        &format!("pass:{PASSWORD}"),
        "-out",
        bundle.to_str().unwrap(),
    ]);
    let hsm = w.join("hsm");
    std::fs::create_dir_all(hsm.join("tokens")).unwrap();
    let conf = hsm.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            hsm.join("tokens").display()
        ),
    )
    .unwrap();
    run(Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "scan",
            "--pin",
            PIN,
            "--so-pin",
            SO_PIN,
        ]));
    run(Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--import", &ec_key, "--token", "scan", "--label", "host", "--id", "01", "--pin", PIN,
        ]));
    let cert_der = hsm.join("cert.der");
    openssl(&[
        "x509",
        "-in",
        &pki("ec-p256", "cert.pem"),
        "-outform",
        "DER",
        "-out",
        cert_der.to_str().unwrap(),
    ]);
    run(Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--module",
            &module,
            "--token-label",
            "scan",
            "--login",
            "--pin",
            PIN,
            "--label",
            "host",
            "--id",
            "01",
            "--write-object",
            cert_der.to_str().unwrap(),
            "--type",
            "cert",
        ]));
    let pin_file = w.join("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();

    let fullchain = pki("ec-p256", "fullchain.pem");
    let intermediates = pki("ca", "int.pem");
    let enc = encrypted.to_str().unwrap();
    let scr = scrypt.to_str().unwrap();
    let p12 = bundle.to_str().unwrap();
    let ca = local.ca.to_str().unwrap().to_string();
    let pin_uri = format!("pkcs11:token=scan;object=host?pin-value={PIN}");
    let plain_uri = "pkcs11:token=scan;object=host".to_string();
    let source_uri = format!(
        "pkcs11:token=scan;object=host?pin-source={}",
        pin_file.display()
    );

    let mut runs: Vec<Run> = Vec::new();
    // One-shot commands, good and failing, each in a directory of its own.
    let one_shots: Vec<OneShot> = vec![
        (
            "credential-process, encrypted key",
            [
                credential_args("credential-process", &local),
                vec![
                    "--certificate".into(),
                    fullchain.clone(),
                    "--private-key".into(),
                    enc.into(),
                    "--pkcs8-password".into(),
                    PASSWORD.into(),
                ],
            ]
            .concat(),
            vec![],
        ),
        (
            "credential-process, scrypt key",
            [
                credential_args("credential-process", &local),
                vec![
                    "--certificate".into(),
                    fullchain.clone(),
                    "--private-key".into(),
                    scr.into(),
                    "--pkcs8-password".into(),
                    PASSWORD.into(),
                ],
            ]
            .concat(),
            vec![],
        ),
        (
            "credential-process, PKCS#12",
            [
                credential_args("credential-process", &local),
                vec![
                    "--certificate".into(),
                    p12.into(),
                    "--pkcs8-password".into(),
                    PASSWORD.into(),
                ],
            ]
            .concat(),
            vec![],
        ),
        (
            "credential-process, token, pin-value",
            [
                credential_args("credential-process", &local),
                vec![
                    "--certificate".into(),
                    pin_uri.clone(),
                    "--intermediates".into(),
                    intermediates.clone(),
                    "--pkcs11-lib".into(),
                    module.clone(),
                ],
            ]
            .concat(),
            vec![],
        ),
        (
            "credential-process, token, PIN variable",
            [
                credential_args("credential-process", &local),
                vec![
                    "--certificate".into(),
                    plain_uri.clone(),
                    "--intermediates".into(),
                    intermediates.clone(),
                    "--pkcs11-lib".into(),
                    module.clone(),
                ],
            ]
            .concat(),
            vec![("AWS_SIGNING_HELPER_PKCS11_PIN", PIN.into())],
        ),
        (
            "credential-process, token, pin-source",
            [
                credential_args("credential-process", &local),
                vec![
                    "--certificate".into(),
                    source_uri.clone(),
                    "--intermediates".into(),
                    intermediates.clone(),
                    "--pkcs11-lib".into(),
                    module.clone(),
                ],
            ]
            .concat(),
            vec![],
        ),
        (
            "sign-string, encrypted key",
            vec![
                "sign-string".into(),
                "--private-key".into(),
                enc.into(),
                "--pkcs8-password".into(),
                PASSWORD.into(),
                "--debug".into(),
            ],
            vec![],
        ),
        (
            "sign-string, token",
            vec![
                "sign-string".into(),
                "--private-key".into(),
                pin_uri.clone(),
                "--pkcs11-lib".into(),
                module.clone(),
                "--debug".into(),
            ],
            vec![],
        ),
        (
            "read-certificate-data, token",
            vec![
                "read-certificate-data".into(),
                "--certificate".into(),
                pin_uri.clone(),
                "--pkcs11-lib".into(),
                module.clone(),
                "--debug".into(),
            ],
            vec![],
        ),
        (
            "wrong key password",
            vec![
                "sign-string".into(),
                "--private-key".into(),
                enc.into(),
                "--pkcs8-password".into(),
                WRONG.into(),
                "--debug".into(),
            ],
            vec![],
        ),
        (
            "wrong bundle password",
            [
                credential_args("credential-process", &local),
                vec![
                    "--certificate".into(),
                    p12.into(),
                    "--pkcs8-password".into(),
                    WRONG.into(),
                ],
            ]
            .concat(),
            vec![],
        ),
        (
            "wrong PIN",
            [
                credential_args("credential-process", &local),
                vec![
                    "--certificate".into(),
                    plain_uri.clone(),
                    "--pkcs11-lib".into(),
                    module.clone(),
                ],
            ]
            .concat(),
            vec![("AWS_SIGNING_HELPER_PKCS11_PIN", WRONG.into())],
        ),
        (
            "refused by the endpoint",
            [
                credential_args("credential-process", &local),
                vec![
                    "--certificate".into(),
                    pki("ec-p256", "cert.pem"),
                    "--private-key".into(),
                    enc.into(),
                    "--pkcs8-password".into(),
                    PASSWORD.into(),
                ],
            ]
            .concat(),
            vec![],
        ),
    ];
    for (what, args, env) in one_shots {
        let dir = w.join(format!("run-{}", runs.len()));
        std::fs::create_dir(&dir).unwrap();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = helper_command(&args);
        cmd.current_dir(&dir)
            .env("HOME", &dir)
            .env("AWS_CA_BUNDLE", &ca)
            .env("SOFTHSM2_CONF", &conf)
            .env_remove("AWS_SIGNING_HELPER_PKCS11_PIN");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd.output().expect("spawn");
        if what.starts_with("credential-process") {
            assert!(
                output.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            secrets.add_credentials(&json);
        } else if what.starts_with("wrong") || what.starts_with("refused") {
            assert_eq!(output.status.code(), Some(1), "{what}");
        }
        runs.push(Run {
            what: what.into(),
            output,
            dir,
            allowed: vec![],
        });
    }

    // update, writing the profile twice (--once, then a refresh in the loop).
    let dir = w.join("update");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("credentials");
    let args = [
        credential_args("update", &local),
        vec![
            "--certificate".into(),
            fullchain.clone(),
            "--private-key".into(),
            enc.into(),
            "--pkcs8-password".into(),
            PASSWORD.into(),
            "--once".into(),
        ],
    ]
    .concat();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = helper_command(&args)
        .current_dir(&dir)
        .env("HOME", &dir)
        .env("AWS_CA_BUNDLE", &ca)
        .env("AWS_SHARED_CREDENTIALS_FILE", &file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "update: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = std::fs::read_to_string(&file).unwrap();
    for line in written.lines() {
        if let Some((key, value)) = line.split_once(" = ") {
            if key != "aws_access_key_id" {
                secrets.credentials.push(value.to_string());
            }
        }
    }
    runs.push(Run {
        what: "update --once".into(),
        output,
        dir: dir.clone(),
        allowed: vec![file.clone()],
    });

    // sts:AssumeRole with an MFA device: a good code through the variable, then a wrong one in
    // the hop itself (refused by the endpoint's STS).
    let code = mfa_code();
    let wrong_code = format!(
        "{:06}",
        (code.parse::<u32>().unwrap() + 500_001) % 1_000_000
    );
    secrets.mfa_codes.extend([code.clone(), wrong_code.clone()]);
    let hop = format!("{CROSS_ROLE},external_id={EXTERNAL_ID},mfa_serial={MFA_SERIAL}");
    for (what, hop, env) in [
        (
            "credential-process --assume-role (MFA code from the variable)",
            hop.clone(),
            vec![("AWS_SIGNING_HELPER_MFA_CODE", code.as_str())],
        ),
        (
            "refused --assume-role (wrong token_code=)",
            format!("{hop},token_code={wrong_code}"),
            vec![],
        ),
    ] {
        let dir = w.join(format!("mfa-{}", runs.len()));
        std::fs::create_dir(&dir).unwrap();
        let args = [
            credential_args("credential-process", &local),
            vec![
                "--certificate".into(),
                pki("ec-p256", "fullchain.pem"),
                "--private-key".into(),
                ec_key.clone(),
                "--sts-endpoint".into(),
                local.url(),
                "--assume-role".into(),
                hop,
            ],
        ]
        .concat();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = helper_command(&args);
        cmd.current_dir(&dir)
            .env("HOME", &dir)
            .env("AWS_CA_BUNDLE", &ca)
            .env_remove("AWS_SIGNING_HELPER_MFA_CODE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd.output().expect("spawn");
        if what.starts_with("credential-process") {
            assert!(
                output.status.success(),
                "{what}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            secrets.add_credentials(&serde_json::from_slice(&output.stdout).unwrap());
        } else {
            assert_eq!(
                output.status.code(),
                Some(1),
                "{what}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        runs.push(Run {
            what: what.into(),
            output,
            dir,
            allowed: vec![],
        });
    }

    // serve, queried over both protocols, through a refresh, then stopped.
    let token = "scan-container-token-9bd41";
    let serve_args = [
        "--certificate",
        &fullchain,
        "--private-key",
        enc,
        "--pkcs8-password",
        PASSWORD,
        "--debug",
    ];
    let serve = Serve::start(
        &local,
        &serve_args,
        &[
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", token),
            ("AWS_SIGNING_HELPER_REFRESH_WINDOW", "3595"),
        ],
    );
    let (_, _, imds_token) = send(Method::PUT, &serve.url(TOKEN), &[(TTL, "60")]).await;
    let url = serve.url(&format!("{CREDS}/test-role"));
    let (_, _, body) = send(Method::GET, &url, &[(TOKEN_HEADER, &imds_token)]).await;
    secrets.add_credentials(&serde_json::from_str(&body).unwrap());
    serve.wait_for_stderr("credentials refreshed", Duration::from_secs(30));
    let (_, _, body) = send(
        Method::GET,
        &serve.url("/creds"),
        &[("Authorization", token)],
    )
    .await;
    secrets.add_credentials(&serde_json::from_str(&body).unwrap());
    let serve_stderr = serve.stderr();
    drop(serve);
    // The IMDS session token and the container token are secrets of serve's clients.
    secrets.passwords.push(imds_token.clone());
    secrets.passwords.push(token.to_string());

    assert!(
        secrets.credentials.len() >= 8,
        "{} credentials collected",
        secrets.credentials.len()
    );
    // Now scan everything.
    let mut leaks = Vec::new();
    let mut scan = |what: &str, place: &str, text: &str| {
        for secret in secrets.all() {
            if text.contains(secret.as_str()) {
                leaks.push(format!(
                    "{what}: {place} holds a secret ({} chars, starting {:?})",
                    secret.len(),
                    &secret[..4]
                ));
            }
        }
        for code in &secrets.mfa_codes {
            if stands_alone(text, code) {
                leaks.push(format!("{what}: {place} holds an MFA code"));
            }
        }
    };
    for run in &runs {
        scan(
            &run.what,
            "stderr",
            &String::from_utf8_lossy(&run.output.stderr),
        );
        if !run.what.starts_with("credential-process") {
            scan(
                &run.what,
                "stdout",
                &String::from_utf8_lossy(&run.output.stdout),
            );
        }
        for entry in walk(&run.dir) {
            if !run.allowed.contains(&entry) {
                scan(
                    &run.what,
                    &entry.display().to_string(),
                    &String::from_utf8_lossy(&std::fs::read(&entry).unwrap()),
                );
            }
        }
    }
    // serve's log: no credentials, nor its clients' tokens.
    scan("serve", "stderr", &serve_stderr);
    // Positive controls: the scan finds what it looks for where it is meant to be.
    let code = &secrets.mfa_codes[0];
    assert!(stands_alone(&format!("TokenCode={code}&Version"), code));
    assert!(!stands_alone(&format!("20261201T{code}Z"), code));
    let stdout = String::from_utf8_lossy(&runs[0].output.stdout);
    assert!(secrets
        .credentials
        .iter()
        .any(|c| stdout.contains(c.as_str())));
    assert!(secrets
        .credentials
        .iter()
        .any(|c| written.contains(c.as_str())));
    let key_text = std::fs::read_to_string(&ec_key).unwrap();
    assert!(
        secrets
            .keys
            .iter()
            .filter(|k| key_text.contains(k.as_str()))
            .count()
            >= 1
    );
    let key_dump = String::from_utf8(openssl(&["pkey", "-in", &ec_key, "-noout", "-text"]))
        .unwrap()
        .replace([':', ' ', '\n'], "");
    assert!(secrets.keys.iter().any(|k| key_dump.contains(k.as_str())));
    // The debug output must really be debug output, or this test proves nothing.
    let debug_lines: usize = runs
        .iter()
        .map(|r| {
            String::from_utf8_lossy(&r.output.stderr)
                .matches("[debug]")
                .count()
        })
        .sum();
    assert!(debug_lines > 50, "only {debug_lines} debug lines");
    assert!(serve_stderr.contains("[debug]"));
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

/// Whether `code` occurs in `text` other than inside a longer run of letters and digits.
fn stands_alone(text: &str, code: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(code).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + code.len()).copied();
        !before.is_some_and(|b| b.is_ascii_alphanumeric())
            && !after.is_some_and(|b| b.is_ascii_alphanumeric())
    })
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.is_file() {
                out.push(path);
            }
        }
    }
    out
}
