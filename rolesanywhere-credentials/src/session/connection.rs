//! Why a connection failed, in the terms the retry loop and the user need: a [`Failure`] that
//! is retried or not, holding an [`Error`] whose [`ConnectCause`] picks the hint. The async
//! client's failures (reqwest's error chains) and the one-shot client's
//! ([`crate::net::blocking::Failed`]) are classified by the same rules.

use std::time::Duration;

use super::retry::Failure;
use crate::error::{ConnectCause, Error};
use crate::net::blocking;

/// A [`crate::net::blocking`] failure as a [`Failure`], classified as [`transport`] classifies
/// reqwest's.
pub(crate) fn blocking_failure(
    host: &str,
    url: &str,
    failure: blocking::Failed,
    timeout: Duration,
) -> Failure {
    if let blocking::Failed::TimedOut = failure {
        return timed_out(host, timeout);
    }
    let detail = blocking::describe(&failure);
    let certificate = match &failure {
        blocking::Failed::Io(e) => match e.get_ref().map(|inner| inner.downcast_ref()) {
            Some(Some(rustls::Error::InvalidCertificate(e))) => Some(e.clone()),
            _ => None,
        },
        _ => None,
    };
    let cause = match (&certificate, &failure) {
        (Some(certificate), _) => certificate_cause(certificate),
        // reqwest says "dns error" first.
        (None, blocking::Failed::Unresolved(_)) => connect_cause(&format!("dns error: {detail}")),
        (None, _) => connect_cause(&detail),
    };
    let malformed = matches!(failure, blocking::Failed::Malformed(_));
    classify(host, url, detail, cause, malformed)
}

/// A failed send or receive as a [`Failure`]: a timeout, or what the connection said.
pub(crate) fn transport(
    host: &str,
    url: &str,
    error: reqwest::Error,
    timeout: Duration,
) -> Failure {
    if error.is_timeout() {
        return timed_out(host, timeout);
    }
    // The outermost message is reqwest's "error sending request"; the innermost cause says why.
    let mut chain = vec![error.to_string()];
    let mut malformed = false;
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
            // is_parse covers a head that is too large, and a bad status code, as well.
            malformed |= hyper.is_parse();
        }
        chain.push(cause.to_string());
        source = cause.source();
    }
    let detail = chain.last().cloned().unwrap_or_default();
    let cause = match certificate_error(&error) {
        Some(certificate) => certificate_cause(&certificate),
        None => connect_cause(&chain.join(": ")),
    };
    classify(host, url, detail, cause, malformed)
}

fn timed_out(host: &str, timeout: Duration) -> Failure {
    Failure::timed_out(Error::Timeout {
        host: host.to_string(),
        seconds: timeout.as_secs(),
    })
}

/// A connection failure whose `cause` is known, as the retry loop takes it. `malformed`: the
/// client could not read the answer as HTTP.
fn classify(
    host: &str,
    url: &str,
    detail: String,
    cause: ConnectCause,
    malformed: bool,
) -> Failure {
    if cause == ConnectCause::Other && malformed {
        // Not HTTP, or a head larger than the client's limit: the same again next time.
        return Failure::fatal(Error::BadResponse {
            url: url.to_string(),
            detail: format!("not an HTTP answer ({detail})"),
        });
    }
    // Another attempt cannot fix trust or a protocol mix-up, only a passing network failure.
    let retryable = matches!(cause, ConnectCause::Refused | ConnectCause::Other);
    let error = Error::Connect {
        host: host.to_string(),
        detail,
        cause,
    };
    if retryable {
        Failure::retry(error)
    } else {
        Failure::fatal(error)
    }
}

/// A failure while the body arrived: the head was fine, so the connection broke.
pub(crate) fn cut_off(host: &str, url: &str, error: reqwest::Error, timeout: Duration) -> Failure {
    if error.is_timeout() {
        return transport(host, url, error, timeout);
    }
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    Failure::retry(Error::Truncated {
        url: url.to_string(),
        detail,
    })
}

/// The certificate verification failure in `error`'s causes, if that is what it is. rustls'
/// error sits inside `io::Error`s (one in another, by the time reqwest has it), whose
/// `source()` skips what they wrap, so each is opened.
fn certificate_error(error: &reqwest::Error) -> Option<rustls::CertificateError> {
    fn unwrap_io<'a>(
        mut error: &'a (dyn std::error::Error + 'static),
    ) -> &'a (dyn std::error::Error + 'static) {
        while let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            error = inner;
        }
        error
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(rustls::Error::InvalidCertificate(e)) =
            unwrap_io(cause).downcast_ref::<rustls::Error>()
        {
            return Some(e.clone());
        }
        source = cause.source();
    }
    None
}

/// What a refused server certificate means for the user.
fn certificate_cause(error: &rustls::CertificateError) -> ConnectCause {
    use rustls::CertificateError as E;
    match error {
        E::UnknownIssuer => ConnectCause::UntrustedCertificate,
        E::NotValidForName | E::NotValidForNameContext { .. } => ConnectCause::WrongName,
        E::Expired | E::ExpiredContext { .. } | E::NotValidYet | E::NotValidYetContext { .. } => {
            ConnectCause::CertificateExpired
        }
        _ => ConnectCause::BadCertificate,
    }
}

/// What a connection failure's messages (outermost to innermost) most likely mean.
fn connect_cause(chain: &str) -> ConnectCause {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        ConnectCause::UntrustedCertificate
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        ConnectCause::WrongName
    } else if lower.contains("invalidcontenttype") || lower.contains("corrupt message") {
        // A TLS client reading an HTTP answer.
        ConnectCause::NotTls
    } else if lower.contains("invalid http version") || lower.contains("invalid status") {
        // An HTTP client reading a TLS record.
        ConnectCause::ExpectsTls
    } else if lower.contains("connection refused") {
        ConnectCause::Refused
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        ConnectCause::UnknownHost
    } else {
        ConnectCause::Other
    }
}
