//! Entry points for the fuzz targets of the command line's own parsers (`fuzz/`): the
//! credentials-file editor of `update` and the request handling of `serve`. Like
//! `rolesanywhere_credentials::fuzzing`, each takes arbitrary bytes and checks what must hold of
//! the result; a panic is a finding. Not an API.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use rolesanywhere_credentials::credentials::Issued;
use rolesanywhere_credentials::fuzzing::credentials;
use zeroize::Zeroizing;

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
    let role_arn = "arn:aws:iam::123456789012:role/test-role";
    let served = crate::serve::Served::new(Arc::new(issued), role_arn);
    let (_publish, receiver) = tokio::sync::watch::channel(Some(Arc::new(served)));
    let token = crate::serve::ContainerToken::Fixed(Zeroizing::new("fuzz-container-token".into()));
    let state = Arc::new(crate::serve::State::new(role_arn, receiver, token));
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
