//! Talking to the endpoints: which URL a call goes to ([`endpoint`]), the HTTP client
//! ([`http`]) and its TLS set-up ([`tls`], with the system's roots read by `roots`); and, for a
//! one-shot `credential-process`, one request on the calling thread (`blocking`).

pub(crate) mod blocking;
pub mod endpoint;
pub mod http;
mod roots;
pub mod tls;
