//! Talking to the endpoints: which URL a call goes to ([`endpoint`]), the one HTTP client
//! ([`http`]) and its TLS set-up ([`tls`]).

pub mod endpoint;
pub mod http;
pub mod tls;
