//! The errors a new user meets first, exactly as printed: each one line, the reason before the
//! advice, the advice fitting the reason (trust the endpoint's CA with AWS_CA_BUNDLE; nothing
//! listens there; TLS and plain HTTP mixed up; a role the profile does not list; a region the
//! endpoint does not serve). The port, which changes from run to run, reads PORT.
use test_support::pki;
use test_support::standard::{OTHER_ROLE, PROFILE, ROLE, TRUST_ANCHOR};

use crate::util::local::{helper_command, Local};

/// Runs credential-process with the rsa-2048 identity, the standard ARNs and `extra` (later
/// flags win), with `env`; returns stderr with the endpoint's port written PORT.
fn run(local: &Local, extra: &[&str], env: &[(&str, &str)]) -> String {
    let (cert, key) = (
        pki("rsa-2048", "fullchain.pem"),
        pki("rsa-2048", "key-pkcs8.pem"),
    );
    let mut args = vec![
        "credential-process",
        "--certificate",
        &cert,
        "--private-key",
        &key,
        "--trust-anchor-arn",
        TRUST_ANCHOR,
        "--profile-arn",
        PROFILE,
    ];
    if !extra.contains(&"--role-arn") {
        args.extend(["--role-arn", ROLE]);
    }
    args.extend(extra);
    let mut cmd = helper_command(&args);
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("spawn aws_signing_helper");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let port = local
        .url()
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&port, "PORT");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr.trim_end().to_string()
}

#[test]
fn tls_and_connection_errors_say_what_to_do() {
    let tls = Local::start(&[]);
    let url = tls.url();
    let ca = tls.ca.to_string_lossy().into_owned();
    assert_eq!(
        run(&tls, &["--endpoint", &url], &[]),
        "aws_signing_helper: cannot reach 127.0.0.1:PORT: invalid peer certificate: UnknownIssuer; \
         the endpoint's TLS certificate is not signed by a CA this machine trusts: set \
         AWS_CA_BUNDLE to a PEM file holding that CA (or, for a test endpoint only, pass \
         --no-verify-ssl)"
    );
    // Plain HTTP spoken to the TLS port.
    let http = url.replace("https://", "http://");
    assert_eq!(
        run(&tls, &["--endpoint", &http], &[("AWS_CA_BUNDLE", &ca)]),
        "aws_signing_helper: cannot reach 127.0.0.1:PORT: invalid HTTP version parsed; the \
         endpoint expects HTTPS: use an https:// URL with --endpoint"
    );

    let plain = Local::start(&["--plain-http"]);
    let https = plain.url().replace("http://", "https://");
    assert_eq!(
        run(&plain, &["--endpoint", &https], &[]),
        "aws_signing_helper: cannot reach 127.0.0.1:PORT: received corrupt message of type \
         InvalidContentType; the endpoint answers in plain HTTP: use an http:// URL with \
         --endpoint if that is intended"
    );

    // Nothing listens on a port that was just free.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = run(
        &tls,
        &["--endpoint", &format!("https://127.0.0.1:{port}")],
        &[],
    );
    assert_eq!(
        refused.replace(&port.to_string(), "FREE"),
        "aws_signing_helper: cannot reach 127.0.0.1:FREE: Connection refused (os error 111); \
         nothing listens there: check --endpoint (or AWS_ENDPOINT_URL) and that the endpoint is \
         running"
    );
    // The signed URL, 300-odd characters, is for --debug only.
    assert!(!refused.contains("/sessions?"), "{refused}");
}

#[test]
fn service_errors_carry_the_hint_that_fits() {
    let local = Local::start(&[]);
    let url = local.url();
    let ca = local.ca.to_string_lossy().into_owned();
    let env = [("AWS_CA_BUNDLE", ca.as_str())];
    assert_eq!(
        run(
            &local,
            &["--endpoint", &url, "--role-arn", OTHER_ROLE],
            &env
        ),
        format!(
            "aws_signing_helper: CreateSession failed: AccessDeniedException (HTTP 403): Role \
             {OTHER_ROLE} is not one of the roles of profile {PROFILE}; check that --role-arn \
             names a role the profile lists, and that the role's trust policy trusts \
             rolesanywhere.amazonaws.com"
        )
    );
    assert_eq!(
        run(&local, &["--endpoint", &url, "--region", "eu-west-1"], &env),
        "aws_signing_helper: CreateSession failed: AccessDeniedException (HTTP 403): Credential \
         scope region 'eu-west-1' is wrong: this endpoint serves region 'us-east-1'; sign for \
         the region of the trust anchor and profile: leave --region out (it defaults to the \
         trust anchor ARN's region) or make it theirs"
    );
}
