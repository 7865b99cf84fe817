//! How an error becomes the one line a user reads: what failed, then each cause the error chain
//! holds (`source()`), then what to do about it.
//!
//! Errors say what failed in `Display` and keep the cause out of it (it is their `source()`), so
//! that nothing is said twice; the advice is a separate hint chosen by the error.

use std::error::Error as StdError;

/// `what failed: cause: cause...; hint`, on one line.
pub fn one_line(error: &dyn StdError, hint: Option<&str>) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    if let Some(hint) = hint {
        line.push_str("; ");
        line.push_str(hint);
    }
    // A cause may carry line breaks of its own (a server's message, an OS string).
    if line.contains(['\n', '\r']) {
        line = line.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read x")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_follow_the_message_and_the_hint_comes_last() {
        let e = Outer(std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        assert_eq!(
            one_line(&e, Some("check the path")),
            "cannot read x: gone; check the path"
        );
        assert_eq!(one_line(&e, None), "cannot read x: gone");
    }
}
