//! `serve`'s IMDSv2 session tokens under a flood: tokens prove themselves (an HMAC under a key
//! of the process), so however many tokens any local process asks for, every other client's
//! token keeps working and the server's memory stays where it was. The real binary on a
//! loopback port, against the real `rolesanywhere-local`.

use crate::util::local::Local;
use crate::util::serve::{client, send, Serve, CREDS, TOKEN, TOKEN_HEADER, TTL};
use reqwest::{Method, StatusCode};

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// `count` token requests with the longest TTL, eight at a time on kept-alive connections.
async fn flood(serve: &Serve, count: usize) {
    let http = client();
    let url = serve.url(TOKEN);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (http, url) = (http.clone(), url.clone());
        tasks.spawn(async move {
            for _ in (worker..count).step_by(8) {
                let response = http
                    .put(&url)
                    .header(TTL, "21600")
                    .send()
                    .await
                    .expect("token request");
                assert_eq!(response.status(), StatusCode::OK);
                let token = response.text().await.unwrap();
                assert_eq!(token.len(), 100);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

/// The case: a client with a 300-s token, then 10,000 six-hour tokens asked for by
/// someone else. With the old table of 256 tokens (the earliest-expiring evicted), the first
/// token was gone after the 256th request; EC2's are not, and neither are ours.
#[tokio::test]
async fn ten_thousand_tokens_later_an_earlier_token_still_works() {
    let local = Local::start(&[]);
    let serve = Serve::start(&local, &[], &[]);
    let (status, _, early) = send(Method::PUT, &serve.url(TOKEN), &[(TTL, "300")]).await;
    assert_eq!(status, StatusCode::OK);
    // Warm up the connections' buffers before measuring.
    flood(&serve, 200).await;
    let before = rss_kib(serve.child.id());

    flood(&serve, 10_000).await;

    let after = rss_kib(serve.child.id());
    for path in [CREDS.to_string(), format!("{CREDS}/test-role")] {
        let (status, headers, body) =
            send(Method::GET, &serve.url(&path), &[(TOKEN_HEADER, &early)]).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let left: u64 = headers[TTL].to_str().unwrap().parse().unwrap();
        assert!((1..=300).contains(&left), "{left}");
    }
    // Nothing is kept per token: 10,000 of them cost no memory (allow for the allocator).
    assert!(
        after < before + 2048,
        "resident memory grew from {before} KiB to {after} KiB"
    );
}

/// Tokens are URL- and header-safe, unique, and bound to the process that made them: another
/// `serve` (a restart) does not take them, and an altered one is refused.
#[tokio::test]
async fn tokens_are_opaque_and_worthless_elsewhere() {
    let local = Local::start(&[]);
    let (one, two) = (
        Serve::start(&local, &[], &[]),
        Serve::start(&local, &[], &[]),
    );
    let (_, _, a) = send(Method::PUT, &one.url(TOKEN), &[(TTL, "600")]).await;
    let (_, _, b) = send(Method::PUT, &one.url(TOKEN), &[(TTL, "600")]).await;
    assert_ne!(a, b);
    for token in [&a, &b] {
        assert_eq!(token.len(), 100);
        assert!(
            token
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{token}"
        );
    }
    let (status, _, _) = send(Method::GET, &one.url(CREDS), &[(TOKEN_HEADER, &a)]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(Method::GET, &two.url(CREDS), &[(TOKEN_HEADER, &a)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Any character changed (the expiry's among them) makes it unknown.
    for at in [2, 8, 60, 99] {
        let mut altered = a.clone().into_bytes();
        altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        let (status, _, _) = send(Method::GET, &one.url(CREDS), &[(TOKEN_HEADER, &altered)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "altered at {at}");
    }
}
