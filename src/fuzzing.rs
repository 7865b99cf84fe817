//! Entry points for the fuzz targets (`fuzz/`, one per parser) and for replaying their corpora
//! as ordinary tests (`tests/fuzz_corpora.rs`, so CI needs no nightly): each takes arbitrary
//! bytes, runs one parser over them as the helper does, and checks what must hold of the
//! result; a panic is a finding. Not an API.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

pub use crate::identity::fuzzing::{certificates, key, pem, pkcs11_uri, pkcs12};

use crate::credentials::create_session::{parse_error, parse_success, redacted};
use crate::credentials::{validate, Credentials, Issued};

/// sts:AssumeRole answers (XML): credentials come out only whole, and what validation accepts
/// is of AWS's shape; the error code and message come out as the helper shows them, one line.
pub fn sts_response(data: &[u8]) {
    use crate::credentials::assume_role::{one_line, parse_credentials, xml_text};
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
    use crate::credentials::cache::parse_entry;
    let now = SystemTime::now();
    for key in ["k", "0123456789abcdef"] {
        if let Some(issued) = parse_entry(data, key, now) {
            assert!(validate::check_shape(&issued.credentials).is_ok());
            assert!(issued.expires_at > now, "a stale entry handed out");
            assert!(parse_entry(data, "another key", now).is_none());
        }
    }
}

/// Usable credentials of AWS's shape.
fn credentials() -> Credentials {
    Credentials {
        access_key_id: "ASIAFUZZFUZZFUZZFUZZ".into(),
        secret_access_key: Zeroizing::new("fuzzsecretfuzzsecretfuzzsecretfuzzsecret".into()),
        session_token: Zeroizing::new("fuzztokenfuzztokenfuzztoken+/=".into()),
        expiration: "2099-01-01T00:00:00Z".into(),
    }
}

/// The credentials-file editor (`update`): the first line of `data` is the profile name, the
/// rest the file. The edit refuses, or keeps every other line in order, leaves the profile with
/// the three values, and changes nothing when done again.
pub fn credentials_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (profile, file) = text.split_once('\n').unwrap_or((text, ""));
    let creds = credentials();
    let Ok(out) = crate::update::set_profile(file, profile, &creds) else {
        return;
    };
    let again = crate::update::set_profile(&out, profile, &creds).expect("a second edit works");
    assert_eq!(*again, *out, "editing twice changes the file again");

    let header = format!("[{profile}]");
    let keys = [
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
    ];
    // The lines that are not the profile's credential keys, before and after.
    let others = |text: &str| -> Vec<String> {
        let mut inside = false;
        let mut seen = false;
        let mut kept = Vec::new();
        for line in text.split_inclusive('\n') {
            let bare = line.trim_end_matches(['\r', '\n']);
            if bare.trim_start().starts_with('[') {
                inside = !seen && bare.trim() == header;
                seen |= inside;
            } else if inside {
                let name = bare.split_once('=').map(|(n, _)| n.trim());
                let commented = bare.trim_start().starts_with(['#', ';']);
                if !commented
                    && name.is_some_and(|n| keys.iter().any(|k| k.eq_ignore_ascii_case(n)))
                {
                    continue;
                }
            }
            kept.push(bare.to_string());
        }
        kept
    };
    let before = others(file);
    let after = others(&out);
    // Every line kept, in order; the only lines added are the header and blank ones.
    let mut next = after.iter();
    for line in &before {
        let found = next.by_ref().any(|l| l == line);
        assert!(found, "line {line:?} lost: {file:?} -> {:?}", *out);
    }
    for line in &after {
        assert!(
            before.contains(line) || line.is_empty() || *line == header,
            "line {line:?} appeared: {file:?} -> {:?}",
            *out
        );
    }
    // The profile holds the values.
    for (key, value) in keys.iter().zip([
        creds.access_key_id.as_str(),
        creds.secret_access_key.as_str(),
        creds.session_token.as_str(),
    ]) {
        let line = format!("{key} = {value}");
        assert!(out.contains(&line), "{line:?} missing: {:?}", *out);
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

/// `serve`'s request handling, from the bytes on the connection up: `data` is what a client
/// sends (then it closes its side); the server must answer and finish, never hang or panic,
/// and never hand out credentials without a valid token.
pub fn serve_request(data: &[u8]) {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    });
    let issued = Issued {
        credentials: credentials(),
        expires_at: SystemTime::now() + Duration::from_secs(3600),
        last_updated: SystemTime::now(),
    };
    let (_publish, receiver) = tokio::sync::watch::channel(Some(Arc::new(issued)));
    let token = crate::serve::ContainerToken::Fixed(Zeroizing::new("fuzz-container-token".into()));
    let state = Arc::new(crate::serve::State::new(
        "arn:aws:iam::123456789012:role/test-role",
        receiver,
        token,
    ));
    let app = crate::serve::app(state);
    let answer = runtime.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let service = hyper::service::service_fn(move |request| {
            tower::ServiceExt::oneshot(app.clone(), request)
        });
        let conn = crate::serve::connections::http1()
            .serve_connection(hyper_util::rt::TokioIo::new(server), service);
        let served = tokio::spawn(conn);
        client
            .write_all(data)
            .await
            .expect("the duplex takes the input");
        client.shutdown().await.expect("close the client's side");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut answer));
        assert!(read.await.is_ok(), "serve did not finish answering");
        let _ = served.await;
        answer
    });
    // Credentials only go to requests carrying the container token (the IMDS session tokens a
    // request could obtain are random, and one input cannot know its own).
    let text = String::from_utf8_lossy(&answer);
    if text.contains("ASIAFUZZFUZZFUZZFUZZ") {
        let input = String::from_utf8_lossy(data);
        assert!(
            input.contains("fuzz-container-token"),
            "credentials without a token"
        );
    }
}
