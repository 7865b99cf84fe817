//! The helper against an endpoint that misbehaves on purpose (`test_support::hostile`): bodies that
//! never end, huge bodies and heads, trickles, truncated JSON. Each run must end within a bound,
//! with one line saying what is wrong, nothing on stdout, and a peak resident set (read from
//! /proc while it runs) in the tens of MB whatever the endpoint sends.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use test_support::hostile::{run_measured, Hostile, Measured};
use test_support::{hostile, pki};

use crate::util::local::{credential_args, helper_command};
use crate::util::serve::{imds_credentials, Serve};

/// A debug build of the helper runs in about 10 MB; anything that buffers what a peer sends
/// shows up far above this.
const MAX_PEAK_KIB: u64 = 48 * 1024;

/// `command` against `url` with the ec-p256 identity, `extra` flags, and a per-attempt timeout
/// of `timeout` seconds.
fn helper_against(command: &str, url: &str, extra: &[&str], timeout: &str) -> Command {
    let mut args = credential_args(command, url);
    args.extend(["--certificate".into(), pki("ec-p256", "cert.pem")]);
    args.extend(["--private-key".into(), pki("ec-p256", "key-pkcs8.pem")]);
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = helper_command(&args);
    cmd.env("AWS_SIGNING_HELPER_HTTP_TIMEOUT", timeout);
    cmd
}

/// `credential-process` against `url`.
fn credential_process(url: &str, timeout: &str) -> Command {
    helper_against("credential-process", url, &[], timeout)
}

/// Asserts the run failed cleanly within `seconds`, in bounded memory, saying `needle`.
fn assert_refused(run: &Measured, seconds: u64, needle: &str) {
    let stderr = String::from_utf8_lossy(&run.output.stderr);
    eprintln!(
        "peak {} KiB, {} ms: {}",
        run.peak_kib,
        run.elapsed.as_millis(),
        stderr.trim_end()
    );
    assert_eq!(run.output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        run.output.stdout.is_empty(),
        "stdout: {:?}",
        String::from_utf8_lossy(&run.output.stdout)
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    assert!(
        run.elapsed < Duration::from_secs(seconds),
        "took {:?}: {stderr}",
        run.elapsed
    );
    assert!(
        run.peak_kib < MAX_PEAK_KIB,
        "peak RSS {} KiB: {stderr}",
        run.peak_kib
    );
}

/// Writes `head`, then `chunk` again and again until the client goes away (or `total` bytes).
fn endless(head: &'static str, chunk: Vec<u8>, total: usize) -> Hostile {
    Hostile::start(Arc::new(move |stream: &mut TcpStream| {
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let mut sent = 0;
        while sent < total && stream.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
    }))
}

#[test]
fn a_chunked_body_that_never_ends() {
    let chunk = format!("10000\r\n{}\r\n", "A".repeat(0x10000)).into_bytes();
    let server = endless(
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        chunk,
        usize::MAX,
    );
    let run = run_measured(
        credential_process(&server.url(), "30"),
        Duration::from_secs(60),
    );
    assert_refused(&run, 10, "larger than 64 KiB");
    // Too large is not worth another attempt.
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_body_read_until_the_connection_closes() {
    let server = endless(
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
        vec![b'{'; 1 << 16],
        usize::MAX,
    );
    let run = run_measured(
        credential_process(&server.url(), "30"),
        Duration::from_secs(60),
    );
    assert_refused(&run, 10, "larger than 64 KiB");
}

#[test]
fn a_declared_huge_body_is_refused_before_it_is_read() {
    let server = endless(
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n",
        vec![b' '; 1 << 16],
        usize::MAX,
    );
    let run = run_measured(
        credential_process(&server.url(), "30"),
        Duration::from_secs(60),
    );
    assert_refused(&run, 10, "larger than 64 KiB");
}

#[test]
fn a_huge_error_body_is_classified_by_its_status() {
    // 503 with 100 MB of HTML: a server error, retried, reported by status.
    let server = endless(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 104857600\r\n\r\n",
        vec![b'x'; 1 << 16],
        100 << 20,
    );
    let run = run_measured(
        credential_process(&server.url(), "30"),
        Duration::from_secs(60),
    );
    assert_refused(&run, 20, "HTTP 503");
    assert_eq!(server.requests(), 3);
}

#[test]
fn a_head_that_never_ends() {
    let server = endless(
        "HTTP/1.1 201 Created\r\n",
        b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(1024),
        usize::MAX,
    );
    let run = run_measured(
        credential_process(&server.url(), "30"),
        Duration::from_secs(60),
    );
    assert_refused(&run, 15, "not an HTTP answer");
}

#[test]
fn a_body_that_trickles_hits_the_time_limit() {
    let server = Hostile::start(Arc::new(|stream: &mut TcpStream| {
        let head = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        for _ in 0..1000 {
            if stream.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }));
    // Three attempts of 1 s each, and the waits between them.
    let run = run_measured(
        credential_process(&server.url(), "1"),
        Duration::from_secs(60),
    );
    assert_refused(&run, 10, "within 1 s");
    assert_eq!(server.requests(), 3);
}

#[test]
fn truncated_and_malformed_json() {
    let (id, secret, token, expiration) = hostile::good_values();
    let good = hostile::session(&id, &secret, &token, &expiration);
    let body_start = good.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        // The Content-Length promises more than arrives before the connection closes.
        (
            [
                format!(
                    "HTTP/1.1 201 Created\r\nContent-Length: {}\r\n\r\n",
                    good.len() - body_start
                )
                .as_bytes(),
                &good[body_start..body_start + 40],
            ]
            .concat(),
            "broke off",
        ),
        (
            hostile::response("201 Created", &[], b"{\"credentialSet\":[{\"credentials\":"),
            "invalid JSON",
        ),
        (
            hostile::response("201 Created", &[], b"<html>hello</html>"),
            "invalid JSON",
        ),
        (hostile::response("201 Created", &[], b""), "invalid JSON"),
        (
            hostile::response("201 Created", &[], b"{\"credentialSet\":[]}"),
            "empty credentialSet",
        ),
        (
            hostile::response("201 Created", &[], b"{\"credentialSet\":{}}"),
            "invalid JSON",
        ),
        (
            hostile::response("201 Created", &[], &[0xff, 0xfe, 0x00, 0x01]),
            "invalid JSON",
        ),
    ];
    for (answer, needle) in cases {
        let server = Hostile::fixed(answer);
        let run = run_measured(
            credential_process(&server.url(), "5"),
            Duration::from_secs(60),
        );
        assert_refused(&run, 20, needle);
    }
}

/// `update --once` against `url`, into `file`.
fn update_once(url: &str, file: &std::path::Path) -> Command {
    let mut cmd = helper_against("update", url, &["--once"], "5");
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", file);
    cmd
}

#[test]
fn update_never_writes_ini_syntax_from_the_endpoint() {
    let (id, secret, token, expiration) = hostile::good_values();
    let injected = "ASIAHOSTILEENDPOINT1\n[evil]\ncredential_process = touch PWNED\n";
    let cases = [
        (injected.to_string(), secret.clone(), token.clone()),
        (
            id.clone(),
            format!("{secret}\r\n[evil]\r\ncredential_process = touch PWNED"),
            token.clone(),
        ),
        (
            id.clone(),
            secret.clone(),
            format!("{token}\n[evil]\ncredential_process=touch PWNED"),
        ),
        (id.clone(), secret.clone(), format!("{token}\u{0}")),
        (id.clone(), format!("\u{1b}]0;{secret}\u{7}"), token.clone()),
        (format!("{id} ; x"), secret.clone(), token.clone()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    let before =
        "[default]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\n\n[other]\nregion = eu-west-1\n";
    for (id, secret, token) in cases {
        std::fs::write(&file, before).unwrap();
        let server = Hostile::fixed(hostile::session(&id, &secret, &token, &expiration));
        let mut cmd = update_once(&server.url(), &file);
        cmd.current_dir(dir.path());
        let run = run_measured(cmd, Duration::from_secs(60));
        assert_refused(&run, 20, "credentials");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), before, "{id:?}");
        assert!(!dir.path().join("PWNED").exists());
        let stderr = String::from_utf8_lossy(&run.output.stderr);
        assert!(
            !stderr.contains(&secret) && !stderr.contains(&token[20..]),
            "{stderr}"
        );
    }
}

/// Credentials no command may print, write or serve, and what the error says about each.
fn unusable() -> Vec<(Vec<u8>, &'static str)> {
    let (id, secret, token, expiration) = hostile::good_values();
    vec![
        (
            hostile::session(&id, &secret, &token, &hostile::time_in(-3600)),
            "expired at",
        ),
        (
            hostile::session(&id, &secret, &token, &hostile::time_in(5)),
            "less than the 10 s",
        ),
        (
            hostile::session(&id, &secret, &token, "tomorrow"),
            "not an ISO 8601 time",
        ),
        (
            hostile::session(&id, &secret, &token, ""),
            "not an ISO 8601 time",
        ),
        (
            hostile::session("", &secret, &token, &expiration),
            "access key id (empty)",
        ),
        (
            hostile::session(&id, "", &token, &expiration),
            "secret access key is empty",
        ),
        (
            hostile::session(&id, &secret, "", &expiration),
            "session token is empty",
        ),
        (
            hostile::session("AIDAHOSTILEENDPOINT1", &secret, &token, &expiration),
            "access key id",
        ),
    ]
}

#[test]
fn unusable_credentials_are_never_printed_written_or_served() {
    let dir = tempfile::tempdir().unwrap();
    for (answer, needle) in unusable() {
        let server = Hostile::fixed(answer);
        let run = run_measured(
            credential_process(&server.url(), "5"),
            Duration::from_secs(30),
        );
        assert_refused(&run, 10, needle);
        assert!(String::from_utf8_lossy(&run.output.stderr).contains("unusable credentials"));
        // Not worth another attempt: the endpoint answered, with nonsense.
        assert_eq!(server.requests(), 1);

        let file = dir.path().join("credentials");
        let run = run_measured(update_once(&server.url(), &file), Duration::from_secs(30));
        assert_refused(&run, 10, needle);
        assert!(!file.exists(), "update wrote {}", file.display());

        let started = Serve::try_start_at(&server.url(), &[], &[]);
        let (code, stderr) = started
            .err()
            .expect("serve started with unusable credentials");
        assert_eq!(code, Some(1), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    }
}

/// Answers `first` once, then `then` to every later request.
fn first_then(first: Vec<u8>, then: Vec<u8>) -> Hostile {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    Hostile::start(Arc::new(move |stream: &mut TcpStream| {
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _ = stream.write_all(if n == 0 { &first } else { &then });
    }))
}

#[tokio::test]
async fn serve_backs_off_and_keeps_the_good_set_when_the_endpoint_turns_bad() {
    let (id, secret, token, expiration) = hostile::good_values();
    let server = first_then(
        hostile::session(&id, &secret, &token, &expiration),
        hostile::session(
            "ASIAEXPIREDEXPIRED01",
            &secret,
            &token,
            &hostile::time_in(-60),
        ),
    );
    // A window one second short of the session: the first refresh comes after a second.
    let serve = Serve::try_start_at(
        &server.url(),
        &[],
        &[("AWS_SIGNING_HELPER_REFRESH_WINDOW", "3599")],
    )
    .unwrap_or_else(|(code, err)| panic!("serve did not start ({code:?}): {err}"));
    tokio::time::sleep(Duration::from_secs(7)).await;
    let served = imds_credentials(&serve).await;
    assert_eq!(served["AccessKeyId"], id.as_str(), "{served}");
    // One start, then refreshes at about 1 s, and after waits of up to 1, 2, 4 s (jittered down
    // to half): at most four in seven seconds, where a refresh a second would make seven.
    let calls = server.requests();
    assert!((3..=5).contains(&calls), "{calls} CreateSession calls");
    // One line per failed refresh, saying why and what is still served.
    let stderr = serve.stderr();
    let failures: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("cannot refresh credentials"))
        .collect();
    assert_eq!(failures.len(), calls - 1, "{stderr}");
    for line in failures {
        assert!(
            line.contains("unusable credentials") && line.contains("still serving"),
            "{line}"
        );
        assert!(!line.contains(&secret) && !line.contains(&token), "{line}");
    }
}

#[test]
fn serve_does_not_hammer_an_endpoint_that_grants_short_sessions() {
    let (id, secret, token, _) = hostile::good_values();
    // Valid for 100 s: past the 10 s minimum, inside the default 5-minute refresh window.
    let server = Hostile::start(Arc::new(move |stream: &mut TcpStream| {
        let answer = hostile::session(&id, &secret, &token, &hostile::time_in(100));
        let _ = stream.write_all(&answer);
    }));
    let serve = Serve::try_start_at(&server.url(), &[], &[])
        .unwrap_or_else(|(code, err)| panic!("serve did not start ({code:?}): {err}"));
    std::thread::sleep(Duration::from_secs(4));
    // Refreshed halfway through the 100 s, not every second.
    assert_eq!(server.requests(), 1, "{}", serve.stderr());
}

/// `credential-process` against `url` with `--debug`, trusting `ca`.
fn credential_process_debug(url: &str, ca: Option<&std::path::Path>) -> Command {
    let mut cmd = credential_process(url, "5");
    cmd.arg("--debug");
    if let Some(ca) = ca {
        cmd.env("AWS_CA_BUNDLE", ca);
    }
    cmd
}

#[test]
fn certificate_failures_are_not_retried_and_say_what_to_check() {
    // The endpoint's certificate names localhost, 127.0.0.1 and ::1; it listens on 127.0.0.2.
    let local = crate::util::local::Local::start(&["--listen", "127.0.0.2:0"]);
    let wrong_name = local.url().replace("127.0.0.1", "127.0.0.2");
    let run = run_measured(
        credential_process_debug(&wrong_name, Some(&local.ca)),
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&run.output.stderr).into_owned();
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert_eq!(run.output.status.code(), Some(1), "{stderr}");
    assert!(run.output.stdout.is_empty());
    assert!(
        last.contains("cannot reach 127.0.0.2:") && last.contains("not valid for name"),
        "{stderr}"
    );
    assert!(last.contains("is for another host name"), "{last}");
    assert!(!stderr.contains("retrying"), "retried: {stderr}");

    // Not trusted at all (no AWS_CA_BUNDLE).
    let run = run_measured(
        credential_process_debug(&local.url().replace("127.0.0.1", "127.0.0.2"), None),
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&run.output.stderr).into_owned();
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("UnknownIssuer") && last.contains("set AWS_CA_BUNDLE"),
        "{last}"
    );
    assert!(!stderr.contains("retrying"), "retried: {stderr}");
}

#[test]
fn redirects_throttling_and_endless_server_errors() {
    // A redirect is not followed (the request is signed for this endpoint), nor retried.
    let server = Hostile::fixed(hostile::response(
        "302 Found",
        &[("Location", "https://elsewhere.example/sessions\tx")],
        b"",
    ));
    let run = run_measured(
        credential_process(&server.url(), "5"),
        Duration::from_secs(30),
    );
    let line = assert_refused_line(
        &run,
        5,
        "redirect (HTTP 302) to 'https://elsewhere.example/sessions x'",
    );
    assert!(!line.contains('\t'), "{line}");
    assert_eq!(server.requests(), 1);

    // 429 asking for an hour: three attempts with the usual backoff, not an hour.
    let server = Hostile::fixed(hostile::response(
        "429 Too Many Requests",
        &[
            ("Retry-After", "3600"),
            ("X-Amzn-ErrorType", "ThrottlingException"),
        ],
        br#"{"message":"slow down"}"#,
    ));
    let run = run_measured(
        credential_process(&server.url(), "5"),
        Duration::from_secs(30),
    );
    // The backoff alone may take up to 3 s (below 1 s, then below 2 s), so the bound is wide:
    // what matters is that Retry-After's hour is not waited.
    assert_refused_line(&run, 15, "still throttled after 3 attempts");
    assert_eq!(server.requests(), 3);

    // 500 forever: three attempts, then one line.
    let server = Hostile::fixed(hostile::response("500 Internal Server Error", &[], b"oops"));
    let run = run_measured(
        credential_process(&server.url(), "5"),
        Duration::from_secs(30),
    );
    assert_refused_line(&run, 15, "the service failed 3 times");
    assert_eq!(server.requests(), 3);
}

/// [`assert_refused`], returning the line.
fn assert_refused_line(run: &Measured, seconds: u64, needle: &str) -> String {
    assert_refused(run, seconds, needle);
    String::from_utf8_lossy(&run.output.stderr)
        .trim_end()
        .to_string()
}

/// `serve` on an ephemeral port against `url`; it exits 1 when its first CreateSession fails.
fn serve_command(url: &str) -> Command {
    helper_against("serve", url, &["--port", "0"], "5")
}

#[test]
fn update_and_serve_hold_no_more_than_credential_process_whatever_the_endpoint_sends() {
    let chunk = format!("10000\r\n{}\r\n", "A".repeat(0x10000)).into_bytes();
    let endless_body = endless(
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n",
        chunk,
        usize::MAX,
    );
    let endless_head = endless(
        "HTTP/1.1 201 Created\r\n",
        b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(1024),
        usize::MAX,
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    for (server, needle) in [
        (&endless_body, "larger than 64 KiB"),
        (&endless_head, "not an HTTP answer"),
    ] {
        let run = run_measured(update_once(&server.url(), &file), Duration::from_secs(60));
        assert_refused(&run, 10, needle);
        assert!(!file.exists());
        let run = run_measured(serve_command(&server.url()), Duration::from_secs(60));
        // serve says where it will listen only once it has credentials; it has none.
        assert_refused(&run, 10, needle);
    }
}
