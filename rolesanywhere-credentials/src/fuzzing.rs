//! Entry points for the fuzz targets (`fuzz/`, one per parser) and for replaying their corpora
//! as ordinary tests (so CI needs no nightly): each takes arbitrary bytes, runs one parser over
//! them as the helper does, and checks what must hold of the result; a panic is a finding. Not
//! an API: hidden from the documentation and exempt from semver.

use std::time::SystemTime;

use zeroize::Zeroizing;

pub use crate::identity::fuzzing::{certificates, key, pem, pkcs11_uri, pkcs12};

use crate::credentials::Credentials;
use crate::session::create_session::{parse_error, parse_success, redacted};
use crate::session::shape as validate;

/// sts:AssumeRole answers (XML): credentials come out only whole, and what validation accepts
/// is of AWS's shape; the error code and message come out as the helper shows them, one line.
pub fn sts_response(data: &[u8]) {
    use crate::session::assume_role::{one_line, parse_credentials, xml_text};
    let text = String::from_utf8_lossy(data);
    if let Some(creds) = parse_credentials(&text) {
        if validate::check(&creds, SystemTime::now()).is_ok() {
            assert!(validate::check_shape(&creds).is_ok());
            assert!(!creds.session_token.chars().any(char::is_control));
        }
    }
    for name in ["Code", "Message"] {
        if let Some(value) = xml_text(&text, name) {
            let shown = one_line(&value);
            assert!(!shown.chars().any(char::is_control), "{shown:?}");
            assert!(shown.chars().count() <= 500);
        }
    }
}

/// Credential cache entries (`credential-process --cache`): an entry is handed out only when it
/// is for the key asked, of AWS's shape and fresh; the same bytes give the same answer.
pub fn cache_entry(data: &[u8]) {
    use crate::pipeline::cache::parse_entry;
    let now = SystemTime::now();
    for key in ["k", "0123456789abcdef"] {
        if let Some(issued) = parse_entry(data, key, now) {
            assert!(validate::check_shape(&issued.credentials).is_ok());
            assert!(issued.expires_at > now, "a stale entry handed out");
            assert!(parse_entry(data, "another key", now).is_none());
        }
    }
}

/// Usable credentials of AWS's shape, for the fuzz targets that need some.
pub fn credentials() -> Credentials {
    Credentials {
        access_key_id: "ASIAFUZZFUZZFUZZFUZZ".into(),
        secret_access_key: Zeroizing::new("fuzzsecretfuzzsecretfuzzsecretfuzzsecret".into()),
        session_token: Zeroizing::new("fuzztokenfuzztokenfuzztoken+/=".into()),
        expiration: "2099-01-01T00:00:00Z".into(),
    }
}

/// CreateSession answers: a success parses only into usable credentials; an error into a type
/// and a one-line message; `--debug`'s rendering never shows a secret.
pub fn create_session_response(data: &[u8]) {
    if let Ok(creds) = parse_success("https://fuzz/sessions", data) {
        assert!(validate::check_shape(&creds).is_ok());
        assert!(validate::check_expiration(&creds.expiration, SystemTime::now()).is_ok());
    }
    let header = data
        .split(|b| *b == b'\n')
        .next()
        .and_then(|h| std::str::from_utf8(h).ok());
    for header in [None, header] {
        let (error_type, message) = parse_error(header, data);
        assert!(!error_type.contains([':', '#']), "{error_type:?}");
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(message.chars().count() <= 500);
    }
    let shown = redacted(data);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&shown) {
        assert_secrets_hidden(&value);
    }
}

fn assert_secrets_hidden(value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let lower = key.to_ascii_lowercase();
                if lower.contains("secret") || lower.contains("token") {
                    if let serde_json::Value::String(s) = v {
                        assert!(s.starts_with("<redacted"), "{key} shown: {s:?}");
                        continue;
                    }
                }
                assert_secrets_hidden(v);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(assert_secrets_hidden),
        _ => {}
    }
}
