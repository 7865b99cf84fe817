//! The bad-input matrix: well over 150 bad invocations of the real binary across every command
//! (files of every wrong kind, passwords, ARNs, regions, durations, URLs, PKCS#11 URIs, ports,
//! environment variables, credentials files, crafted keys), one table. Each must exit 1, print
//! nothing on stdout and exactly one line on stderr that names the problem and says what to do,
//! never panic, end within seconds, and write nothing: the run's home directory (holding the
//! credentials file) is compared before and after.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use test_support::hostile::run_measured;
use test_support::standard::{PROFILE, ROLE, TRUST_ANCHOR};
use test_support::{openssl, pki, testdata};

use crate::util::local::{helper_command, Local};

/// One bad invocation: what to run, in which environment, and what its line must say.
struct Case {
    args: Vec<String>,
    env: Vec<(String, String)>,
    needle: String,
}

/// The bad files: (name, path, what the message says about it).
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::write(p.join("empty"), b"").unwrap();
        std::fs::write(p.join("whitespace"), b" \n\t\r\n").unwrap();
        // Sparse: 17 MiB on paper, refused by its size before anything is read.
        std::fs::File::create(p.join("huge"))
            .unwrap()
            .set_len(17 << 20)
            .unwrap();
        let binary: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        std::fs::write(p.join("binary"), binary).unwrap();
        assert!(Command::new("mkfifo")
            .arg(p.join("fifo"))
            .status()
            .unwrap()
            .success());
        std::fs::create_dir(p.join("directory")).unwrap();
        std::os::unix::fs::symlink(p.join("loop-b"), p.join("loop-a")).unwrap();
        std::os::unix::fs::symlink(p.join("loop-a"), p.join("loop-b")).unwrap();
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        match name {
            "null" => "/dev/null".into(),
            "zero" => "/dev/zero".into(),
            "missing" => self.dir.path().join("missing").display().to_string(),
            "loop" => self.dir.path().join("loop-a").display().to_string(),
            other => self.dir.path().join(other).display().to_string(),
        }
    }

    /// Every kind of bad file, with what the one line says about it.
    fn kinds(&self) -> Vec<(String, &'static str)> {
        [
            ("empty", "is empty"),
            ("whitespace", "is empty"),
            ("huge", "is larger than 16 MiB"),
            ("binary", ""),
            ("fifo", "is a FIFO (named pipe), not a regular file"),
            ("directory", "is a directory, not a regular file"),
            (
                "null",
                "/dev/null is a character device, not a regular file",
            ),
            (
                "zero",
                "/dev/zero is a character device, not a regular file",
            ),
            ("loop", "symbolic links"),
            ("missing", "No such file or directory"),
        ]
        .into_iter()
        .map(|(name, needle)| (self.path(name), needle))
        .collect()
    }
}

/// What a directory holds, recursively: names, sizes, modes and (small) contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                dirs.push(path.clone());
            }
            let content = if meta.is_file() && meta.len() < 1 << 16 {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            out.insert(path, (meta.len(), meta.permissions().mode(), content));
        }
    }
    out
}

#[test]
fn every_bad_input_gets_one_line_exit_1_and_changes_nothing() {
    let local = Local::start(&[]);
    let url = local.url();
    let ca = local.ca.display().to_string();
    let files = Files::new();
    let key = pki("ec-p256", "key-pkcs8.pem");
    // A credential command with the good identity (a full chain, so that CreateSession
    // succeeds where a case needs it to) and ARNs; a flag in `extra` replaces the default one,
    // and "--no-private-key" leaves the key out.
    let cert = pki("ec-p256", "fullchain.pem");
    let with = |command: &str, extra: &[&str]| -> Vec<String> {
        let mut defaults: Vec<(&str, String)> = vec![
            ("--trust-anchor-arn", TRUST_ANCHOR.into()),
            ("--profile-arn", PROFILE.into()),
            ("--role-arn", ROLE.into()),
            ("--endpoint", url.clone()),
            ("--certificate", cert.clone()),
            ("--private-key", key.clone()),
        ];
        if command == "serve" {
            defaults.push(("--port", "0".into()));
        }
        let bundle_or_token = extra.windows(2).any(|w| {
            w[0] == "--certificate" && (w[1].ends_with(".p12") || w[1].starts_with("pkcs11:"))
        });
        if extra.contains(&"--no-private-key") || bundle_or_token {
            defaults.retain(|(flag, _)| *flag != "--private-key");
        }
        let mut args = vec![command.to_string()];
        if command == "update" {
            args.push("--once".into());
        }
        for (flag, value) in defaults {
            if !extra.contains(&flag) {
                args.extend([flag.to_string(), value]);
            }
        }
        args.extend(
            extra
                .iter()
                .filter(|a| **a != "--no-private-key")
                .map(|a| a.to_string()),
        );
        args
    };
    let ca_env = [("AWS_CA_BUNDLE", ca.as_str())];
    let mut cases: Vec<Case> = Vec::new();
    let mut add = |args: Vec<String>, env: &[(&str, &str)], needle: &str| {
        cases.push(Case {
            args,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            needle: needle.to_string(),
        });
    };

    // Files of every wrong kind, wherever a file is read.
    for (path, needle) in files.kinds() {
        let p = path.as_str();
        let needle = if needle.is_empty() { p } else { needle };
        add(
            with("credential-process", &["--certificate", p]),
            &ca_env,
            needle,
        );
        add(
            with("credential-process", &["--private-key", p]),
            &ca_env,
            needle,
        );
        add(
            with("credential-process", &["--intermediates", p]),
            &ca_env,
            needle,
        );
        add(
            vec!["sign-string".into(), "--private-key".into(), p.into()],
            &[],
            needle,
        );
        add(
            vec![
                "read-certificate-data".into(),
                "--certificate".into(),
                p.into(),
            ],
            &[],
            needle,
        );
        add(with("serve", &["--private-key", p]), &ca_env, needle);
        add(with("update", &["--certificate", p]), &ca_env, needle);
        if !matches!(needle, "") {
            // AWS_CA_BUNDLE: what it says, whatever the file (binary holds no certificate).
            let bundle_needle = if path.ends_with("binary") {
                "contains no certificate"
            } else {
                needle
            };
            add(
                with("credential-process", &[]),
                &[("AWS_CA_BUNDLE", p)],
                bundle_needle,
            );
        }
        // serve's container token file.
        let token_needle = match needle {
            _ if path.ends_with("whitespace") => "more than one line",
            n if n.contains("is empty") => "empty",
            n if n.contains("larger than") => "larger than 16 KiB",
            n if n.contains("character device") => "is a character device, not a regular file",
            n => n,
        };
        if !path.ends_with("binary") {
            add(
                with("serve", &[]),
                &[
                    ("AWS_CA_BUNDLE", &ca),
                    ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", p),
                ],
                token_needle,
            );
        }
    }

    // The credentials file update writes: refused as it is, after a good CreateSession.
    let creds_dir = tempfile::tempdir().unwrap();
    let c = creds_dir.path();
    std::os::unix::fs::symlink("/dev/null", c.join("to-null")).unwrap();
    std::os::unix::fs::symlink(c.join("no/such/dir/credentials"), c.join("far")).unwrap();
    std::fs::write(
        c.join("latin1"),
        b"[default]\naws_access_key_id = \xe9t\xe9\n",
    )
    .unwrap();
    std::fs::File::create(c.join("huge"))
        .unwrap()
        .set_len(17 << 20)
        .unwrap();
    let open_dir = c.join("open");
    std::fs::create_dir(&open_dir).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&open_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    for (path, needle) in [
        (
            files.path("fifo"),
            "is a FIFO (named pipe), not a regular file",
        ),
        (
            files.path("directory"),
            "is a directory, not a regular file",
        ),
        (
            c.join("to-null").display().to_string(),
            "(a symlink to /dev/null) is a character device",
        ),
        (files.path("loop"), "symbolic links"),
        (
            c.join("far").display().to_string(),
            "whose directory does not exist",
        ),
        (c.join("latin1").display().to_string(), "is not UTF-8 text"),
        (
            c.join("huge").display().to_string(),
            "too large for a credentials file",
        ),
        (
            open_dir.join("credentials").display().to_string(),
            "is writable by every user",
        ),
    ] {
        add(
            with("update", &[]),
            &[
                ("AWS_CA_BUNDLE", &ca),
                ("AWS_SHARED_CREDENTIALS_FILE", &path),
            ],
            needle,
        );
    }

    // Passwords.
    for (file, password, needle) in [
        (
            "key-pkcs8-aes-256-cbc-sha256.pem",
            "wrong",
            "wrong password",
        ),
        (
            "key-pkcs8-aes-256-cbc-sha256.der",
            "wrong",
            "wrong password",
        ),
        ("key-pkcs8-scrypt.pem", "wrong", "wrong password"),
        ("key-pkcs8-aes-128-cbc-sha256.pem", "", "--pkcs8-password"),
        (
            "key-pkcs8-aes-256-cbc-sha1.pem",
            "Password",
            "wrong password",
        ),
    ] {
        let key = pki("ec-p256", file);
        let mut args = vec!["sign-string", "--private-key", &key];
        if !password.is_empty() {
            args.extend(["--pkcs8-password", password]);
        }
        add(args.iter().map(|a| a.to_string()).collect(), &[], needle);
    }
    for (file, needle) in [
        ("bundle.p12", "wrong password"),
        ("bundle-legacy.p12", "wrong password"),
    ] {
        let bundle = pki("rsa-2048", file);
        add(
            with(
                "credential-process",
                &["--certificate", &bundle, "--pkcs8-password", "nope"],
            ),
            &ca_env,
            needle,
        );
    }
    add(
        with(
            "credential-process",
            &["--certificate", &pki("rsa-2048", "bundle.p12")],
        ),
        &ca_env,
        "--pkcs8-password",
    );
    add(
        with(
            "credential-process",
            &[
                "--certificate",
                &pki("rsa-2048", "bundle.p12"),
                "--pkcs8-password",
                "password",
                "--intermediates",
                &testdata("pki/ca/int.pem").display().to_string(),
            ],
        ),
        &ca_env,
        "--intermediates cannot be used with a PKCS#12 bundle",
    );

    // ARNs.
    for (flag, value, needle) in [
        ("--trust-anchor-arn", "", "--trust-anchor-arn"),
        ("--trust-anchor-arn", "not-an-arn", "is malformed"),
        (
            "--trust-anchor-arn",
            "arn:aws:iam::123456789012:role/x",
            "--trust-anchor-arn",
        ),
        (
            "--trust-anchor-arn",
            "arn:aws:rolesanywhere:us-east-1:abc:trust-anchor/x",
            "12 digits",
        ),
        (
            "--trust-anchor-arn",
            "arn:aws:rolesanywhere:us-east-1:123456789012:profile/x",
            "trust-anchor/",
        ),
        (
            "--trust-anchor-arn",
            "arn:aws:rolesanywhere:eu-west-1:123456789012:trust-anchor/x",
            "regions don't match",
        ),
        (
            "--trust-anchor-arn",
            "arn:nope:rolesanywhere:us-east-1:123456789012:trust-anchor/x",
            "unknown partition",
        ),
        ("--profile-arn", "", "--profile-arn"),
        (
            "--profile-arn",
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/x",
            "profile/",
        ),
        (
            "--profile-arn",
            "arn:aws:rolesanywhere:us_east_1:123456789012:profile/x",
            "is not a region",
        ),
        ("--role-arn", "", "--role-arn"),
        (
            "--role-arn",
            "arn:aws:iam::123456789012:user/x",
            "--role-arn",
        ),
        ("--role-arn", "role/x", "is malformed"),
        ("--role-arn", "arn:aws:iam::12345678901:role/x", "12 digits"),
    ] {
        add(with("credential-process", &[flag, value]), &ca_env, needle);
    }
    add(
        vec![
            "credential-process".into(),
            "--trust-anchor-arn".into(),
            TRUST_ANCHOR.into(),
            "--profile-arn".into(),
            PROFILE.into(),
            "--certificate".into(),
            cert.clone(),
            "--private-key".into(),
            key.clone(),
        ],
        &[],
        "--role-arn is required",
    );
    add(with("update", &["--role-arn", "x"]), &ca_env, "--role-arn");
    add(
        with("serve", &["--profile-arn", "x"]),
        &ca_env,
        "--profile-arn",
    );

    // Regions.
    for region in [
        "",
        "us_east_1",
        "US-EAST-1",
        "us-east-1-",
        "us-east-1; rm -rf /",
        "us-east-1\n",
    ] {
        add(
            with("credential-process", &["--region", region]),
            &ca_env,
            "--region",
        );
    }

    // Durations.
    for (value, needle) in [
        ("0", "out of range"),
        ("899", "out of range"),
        ("43201", "out of range"),
        ("-1", "out of range"),
        ("abc", "invalid value 'abc' for '--session-duration"),
        ("1e3", "invalid value '1e3'"),
        ("99999999999999999999", "invalid value"),
        ("", "invalid value"),
    ] {
        add(
            with("credential-process", &["--session-duration", value]),
            &ca_env,
            needle,
        );
    }

    // Role session names.
    for name in ["a", "has space", "x\ny", &"x".repeat(65)] {
        add(
            with("credential-process", &["--role-session-name", name]),
            &ca_env,
            "--role-session-name",
        );
    }

    // URLs.
    for (args, env, needle) in [
        (vec!["--endpoint", ""], vec![], "--endpoint is empty"),
        (
            vec!["--endpoint", "ftp://x"],
            vec![],
            "must be an http:// or https:// URL",
        ),
        (vec!["--endpoint", "http://"], vec![], "--endpoint"),
        (
            vec!["--endpoint", "http://[::1"],
            vec![],
            "is not a valid URL",
        ),
        (
            vec!["--endpoint", "https://exa mple.com"],
            vec![],
            "is not a valid URL",
        ),
    ] {
        add(with("credential-process", &args), &env, needle);
    }
    for var in ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ROLESANYWHERE"] {
        let mut cmd = with("credential-process", &[]);
        // Without --endpoint, the variable decides.
        let at = cmd.iter().position(|a| a == "--endpoint").unwrap();
        cmd.drain(at..at + 2);
        add(
            cmd,
            &[(var, "ftp://elsewhere")],
            "must be an http:// or https:// URL",
        );
    }

    // PKCS#11 URIs.
    for (flag, uri, needle) in [
        (
            "--certificate",
            "pkcs11:label=x",
            "unknown attribute 'label'",
        ),
        ("--certificate", "pkcs11:id=%G1", "two hex digits"),
        (
            "--certificate",
            "pkcs11:token=a;token=b",
            "invalid PKCS#11 URI",
        ),
        ("--certificate", "pkcs11:object", "invalid PKCS#11 URI"),
        (
            "--certificate",
            "pkcs11:token=a?pin-value=1&pin-value=2",
            "invalid PKCS#11 URI",
        ),
        (
            "--certificate",
            "pkcs11:token=a?nope=1",
            "unknown query attribute",
        ),
        ("--private-key", "pkcs11:slot-id=abc", "invalid PKCS#11 URI"),
    ] {
        add(with("credential-process", &[flag, uri]), &ca_env, needle);
    }
    add(
        with(
            "credential-process",
            &[
                "--certificate",
                "pkcs11:token=ra;object=x",
                "--private-key",
                &key,
            ],
        ),
        &ca_env,
        "give the key as a pkcs11: URI too",
    );
    add(
        with(
            "credential-process",
            &[
                "--certificate",
                "pkcs11:token=ra",
                "--pkcs11-lib",
                "/nonexistent/module.so",
            ],
        ),
        &ca_env,
        "cannot load the PKCS#11 module",
    );

    // Ports and hop limits.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    for (flag, value, needle) in [
        ("--port", "70000", "invalid value '70000' for '--port"),
        ("--port", "-1", "'-1'"),
        ("--port", "abc", "invalid value 'abc' for '--port"),
        ("--port", busy_port.as_str(), "is in use"),
        ("--hop-limit", "0", "--hop-limit"),
        ("--hop-limit", "256", "--hop-limit"),
        ("--hop-limit", "x", "--hop-limit"),
    ] {
        add(with("serve", &[flag, value]), &ca_env, needle);
    }

    // Environment variables.
    for (var, value, needle) in [
        (
            "AWS_SIGNING_HELPER_HTTP_TIMEOUT",
            "abc",
            "must be a whole number of seconds",
        ),
        (
            "AWS_SIGNING_HELPER_HTTP_TIMEOUT",
            "0",
            "must be a whole number of seconds",
        ),
        (
            "AWS_SIGNING_HELPER_HTTP_TIMEOUT",
            "-1",
            "must be a whole number of seconds",
        ),
        (
            "AWS_SIGNING_HELPER_REFRESH_WINDOW",
            "abc",
            "from 0 to 43200",
        ),
        ("AWS_SIGNING_HELPER_REFRESH_WINDOW", "-5", "from 0 to 43200"),
        (
            "AWS_SIGNING_HELPER_REFRESH_WINDOW",
            "99999",
            "from 0 to 43200",
        ),
    ] {
        for command in ["credential-process", "serve", "update"] {
            add(with(command, &[]), &[(var, value), ca_env[0]], needle);
        }
    }
    for value in ["http://a b", "ftp://proxy:21", "http://user:s3cret@[::1"] {
        add(
            with("credential-process", &["--with-proxy"]),
            &[("HTTPS_PROXY", value), ca_env[0]],
            "is not a proxy URL",
        );
    }
    let token_file = files.dir.path().join("two-lines");
    std::fs::write(&token_file, "one\ntwo\n").unwrap();
    add(
        with("serve", &[]),
        &[
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_file.to_str().unwrap(),
            ),
            ca_env[0],
        ],
        "more than one line",
    );
    add(
        with("update", &[]),
        &[("HOME", ""), ("AWS_SHARED_CREDENTIALS_FILE", ""), ca_env[0]],
        "HOME is not set",
    );

    // Other flags.
    add(with("update", &["--profile", ""]), &ca_env, "--profile");
    add(
        with("update", &["--profile", "a]\n[b"]),
        &ca_env,
        "--profile",
    );
    add(
        vec![
            "sign-string".into(),
            "--private-key".into(),
            key.clone(),
            "--format".into(),
            "xml".into(),
        ],
        &[],
        "invalid value 'xml'",
    );
    add(
        vec![
            "sign-string".into(),
            "--private-key".into(),
            key.clone(),
            "--digest".into(),
            "MD5".into(),
        ],
        &[],
        "invalid value 'MD5'",
    );
    add(
        vec!["sign-string".into(), "--no-such-flag".into()],
        &[],
        "unexpected argument",
    );
    add(vec!["frobnicate".into()], &[], "unrecognized subcommand");
    add(vec!["sign-string".into()], &[], "no private key given");
    add(vec!["read-certificate-data".into()], &[], "--certificate");
    // Flags of other platforms' certificate stores, without a selector, do nothing here.
    add(
        with("credential-process", &["--system-store-name", "MY"]),
        &[],
        "--system-store-name has no effect on this platform",
    );
    let bundle = pki("ec-p256", "bundle-nopass.p12");
    add(
        with(
            "update",
            &[
                "--certificate",
                &bundle,
                "--use-latest-expiring-certificate",
            ],
        ),
        &[],
        "--use-latest-expiring-certificate has no effect on this platform",
    );
    add(
        vec![
            "read-certificate-data".into(),
            "--certificate".into(),
            pki("ec-p256", "cert.pem"),
            "--system-store-name".into(),
            "Root".into(),
        ],
        &[],
        "--system-store-name has no effect on this platform",
    );
    add(
        with(
            "credential-process",
            &["--cert-selector", "Key=x509Subject,Value=CN=x"],
        ),
        &[],
        "--cert-selector",
    );
    add(
        with(
            "credential-process",
            &["--private-key", "handle:0x81000001"],
        ),
        &ca_env,
        "TPM",
    );
    add(
        with(
            "credential-process",
            &[
                "--certificate",
                &cert,
                "--private-key",
                &pki("rsa-2048", "key-pkcs8.pem"),
            ],
        ),
        &ca_env,
        "does not match the certificate",
    );
    add(
        with(
            "credential-process",
            &[
                "--certificate",
                &pki("rsa-2048", "cert.der"),
                "--no-private-key",
            ],
        ),
        &ca_env,
        "--private-key",
    );

    // Crafted and unusual keys.
    let crafted = files.dir.path().join("des3.pem");
    openssl::openssl(
        &[
            &[
                "pkcs8",
                "-topk8",
                "-in",
                &key,
                "-v2",
                "des3",
                "-passout",
                "pass:password",
                "-out",
            ][..],
            &[crafted.to_str().unwrap()],
        ]
        .concat(),
    );
    add(
        vec![
            "sign-string".into(),
            "--private-key".into(),
            crafted.display().to_string(),
            "--pkcs8-password".into(),
            "password".into(),
        ],
        &[],
        "convert it with",
    );
    let explicit = files.dir.path().join("explicit.pem");
    openssl::openssl(
        &[
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-param_enc",
                "explicit",
                "-noout",
                "-out",
            ][..],
            &[explicit.to_str().unwrap()],
        ]
        .concat(),
    );
    add(
        vec![
            "sign-string".into(),
            "--private-key".into(),
            explicit.display().to_string(),
        ],
        &[],
        "explicit curve parameters",
    );
    for bad in [
        "dsa-key.pem",
        "ed25519-key.pem",
        "secp256k1-key.pem",
        "corrupt-key.pem",
    ] {
        let path = testdata(&format!("pki/bad/{bad}")).display().to_string();
        add(
            vec!["sign-string".into(), "--private-key".into(), path.clone()],
            &[],
            &path,
        );
    }
    add(
        vec![
            "sign-string".into(),
            "--private-key".into(),
            pki("rsa-2048", "key-pkcs1-legacy-encrypted.pem"),
        ],
        &[],
        // Legacy PEM encryption is read, given the password; without a terminal, no prompt.
        "pass it with --pkcs8-password",
    );

    let count = cases.len();
    assert!(count >= 150, "only {count} cases");
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if let Err(why) = run_case(case) {
            failures.push(format!(
                "case {i}: {why}\n    args {:?} env {:?}",
                case.args, case.env
            ));
        }
    }
    drop(busy);
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{count} bad invocations, each one line and exit 1");
}

/// Runs one case in a fresh home holding a credentials file, and checks everything.
fn run_case(case: &Case) -> Result<(), String> {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(
        home.path().join(".aws/credentials"),
        "[keep]\naws_access_key_id = AKIAKEEPKEEPKEEPKEEP\n",
    )
    .unwrap();
    let before = snapshot(home.path());
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let mut cmd = helper_command(&args);
    cmd.current_dir(home.path())
        .env("HOME", home.path())
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join(".aws/credentials"),
        )
        .env_remove("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        .env_remove("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        .env("AWS_SIGNING_HELPER_HTTP_TIMEOUT", "5");
    // An empty value unsets the variable.
    for (k, v) in &case.env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let run = run_measured(cmd, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&run.output.stderr).into_owned();
    let line = stderr.trim_end();
    if run.output.status.code() != Some(1) {
        return Err(format!("exit {:?}: {stderr}", run.output.status.code()));
    }
    if !run.output.stdout.is_empty() {
        return Err(format!(
            "stdout: {:?}",
            String::from_utf8_lossy(&run.output.stdout)
        ));
    }
    if line.lines().count() != 1 || line.is_empty() {
        return Err(format!("not one line: {stderr}"));
    }
    if stderr.contains("panicked") {
        return Err(format!("panic: {stderr}"));
    }
    if !line.contains(&case.needle) {
        return Err(format!("{:?} not in: {line}", case.needle));
    }
    let advice = [
        "; ", "expected", "must", "(like", "pass ", "use ", "check", "set ", "give ",
    ];
    if !advice.iter().any(|a| line.contains(a)) {
        return Err(format!("says nothing about what to do: {line}"));
    }
    if run.elapsed > Duration::from_secs(10) {
        return Err(format!("took {:?}", run.elapsed));
    }
    if snapshot(home.path()) != before {
        return Err("the home directory changed".into());
    }
    Ok(())
}
