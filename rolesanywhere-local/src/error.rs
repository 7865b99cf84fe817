//! Errors of the local endpoint: [`Error`] for starting it (configuration, sockets, TLS) and
//! [`ApiError`], the Roles Anywhere error a client sees on the wire.
//!
//! `ApiError` renders exactly like the real service: an HTTP status, an `X-Amzn-ErrorType`
//! header naming the exception, and a JSON body `{"message": "..."}`. The STS errors live in
//! `sts.rs` because their wire shape (XML) is different.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Why the endpoint could not be configured or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration file is malformed or inconsistent. The message already names the file.
    ///
    /// Like every variant, the `Display` text does not repeat the underlying cause: print the
    /// `source()` chain after it.
    #[error("{0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{what} {path}")]
    Io {
        /// What the file is ("configuration file", "port file", ...).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The requested address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The endpoint only serves loopback clients; `addr` is not a loopback address.
    #[error(
        "refusing to listen on {0}: rolesanywhere-local only serves loopback addresses \
         (use 127.0.0.1 or [::1])"
    )]
    NotLoopback(SocketAddr),
    /// Building the TLS server configuration failed (bad certificate or key, generation error).
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// An option is out of range (for example `--fail-status 200`).
    #[error("{0}")]
    Usage(String),
    /// The async runtime or the signal handlers could not be set up.
    #[error("cannot start the runtime")]
    Runtime(#[source] std::io::Error),
    /// Generating the demo PKI failed.
    #[error("generating the demo PKI failed: {0}")]
    Pki(String),
}

impl Error {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// The exception types the Roles Anywhere API can return (plus the fault-injection ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 403: authentication or authorization failed.
    AccessDenied,
    /// 500 (or the injected status): an injected server fault.
    InternalServer,
    /// 404: the trust anchor or profile does not exist.
    ResourceNotFound,
    /// 503: the endpoint is shutting down.
    ServiceUnavailable,
    /// 429: over the rate limit (`--rate-limit`), or an injected throttle.
    Throttling,
    /// 404: no such operation (unknown path or method).
    UnknownOperation,
    /// 400: the request is malformed.
    Validation,
}

impl ApiErrorKind {
    /// The value of the `X-Amzn-ErrorType` header.
    pub fn type_name(self) -> &'static str {
        match self {
            ApiErrorKind::AccessDenied => "AccessDeniedException",
            ApiErrorKind::InternalServer => "InternalServerException",
            ApiErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ApiErrorKind::ServiceUnavailable => "ServiceUnavailableException",
            ApiErrorKind::Throttling => "ThrottlingException",
            ApiErrorKind::UnknownOperation => "UnknownOperationException",
            ApiErrorKind::Validation => "ValidationException",
        }
    }

    /// The HTTP status this exception is returned with by default.
    pub fn status(self) -> StatusCode {
        match self {
            ApiErrorKind::AccessDenied => StatusCode::FORBIDDEN,
            ApiErrorKind::InternalServer => StatusCode::INTERNAL_SERVER_ERROR,
            ApiErrorKind::ResourceNotFound | ApiErrorKind::UnknownOperation => {
                StatusCode::NOT_FOUND
            }
            ApiErrorKind::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiErrorKind::Throttling => StatusCode::TOO_MANY_REQUESTS,
            ApiErrorKind::Validation => StatusCode::BAD_REQUEST,
        }
    }
}

/// A Roles Anywhere API error as returned to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    kind: ApiErrorKind,
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error of `kind` with its default status.
    pub fn new(kind: ApiErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            status: kind.status(),
            message: message.into(),
        }
    }

    /// Overrides the HTTP status (fault injection with `--fail-status`).
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::AccessDenied, message)
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::Validation, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ApiErrorKind::ResourceNotFound, message)
    }

    /// The exception type.
    pub fn kind(&self) -> ApiErrorKind {
        self.kind
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The human-readable message (the JSON body's `message`).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.type_name(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message }).to_string();
        let mut response = (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        response.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static(self.kind.type_name()),
        );
        response
    }
}
