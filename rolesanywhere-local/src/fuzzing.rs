//! The fuzzing entry point for the request verifier (`fuzz/fuzz_targets/local_verify.rs`), and
//! for replaying its corpus as a test (`tests/local_fuzz_corpus.rs`). Not an API.

use std::path::Path;
use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::verify::{verify_create_session, Request};
use crate::{clock, Config};

/// The configuration the product's tests use: the test PKI's root as the trust anchor.
fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/pki/ca/root.pem");
        let text = format!(
            r#"region = "us-east-1"
account = "123456789012"

[[trust_anchor]]
arn = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta-main"
ca_bundle = "{}"
enabled = true

[[profile]]
arn = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p-main"
role_arns = ["arn:aws:iam::123456789012:role/test-role"]
duration_seconds = 3600
enabled = true
accept_role_session_name = true

[[role]]
arn = "arn:aws:iam::123456789012:role/test-role"
trusted_roles = []
"#,
            root.display()
        );
        Config::from_toml(&text, Path::new("."), "fuzz").expect("the fuzzing configuration")
    })
}

/// Verifies `data`, a raw HTTP/1.1 request (request line, headers, blank line, body), as the
/// endpoint verifies a CreateSession call, at the time its `X-Amz-Date` says (so that good
/// requests get past the clock check and the fuzzer reaches what follows). It must never panic.
pub fn verify_request(data: &[u8]) {
    let Some(split) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return;
    };
    let (head, body) = (&data[..split], &data[split + 4..]);
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target)) = (request_line.next(), request_line.next()) else {
        return;
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let mut headers = HeaderMap::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) else {
            return;
        };
        headers.append(name, value);
    }
    let now = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .and_then(clock::parse_amz_date)
        .map_or_else(std::time::SystemTime::now, clock::system_time);
    let request = Request {
        method,
        path,
        query,
        headers: &headers,
        body,
    };
    let _ = verify_create_session(config(), &request, now);
}
