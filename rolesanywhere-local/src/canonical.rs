//! The parts of SigV4 shared by both verifiers (AWS4-X509 for Roles Anywhere, AWS4-HMAC-SHA256
//! for STS): parsing the `Authorization` header and rebuilding the canonical request from the
//! request exactly as it was received.
//!
//! Nothing here trusts the client's idea of the canonical form: the query is decoded and
//! re-encoded, header values are re-trimmed, and only headers named in `SignedHeaders` are used.
//! A client that canonicalises differently therefore fails signature verification, as it would
//! against AWS.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

/// The three components of a SigV4-style `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Authorization<'a> {
    pub(crate) algorithm: &'a str,
    pub(crate) credential: &'a str,
    pub(crate) signed_headers: Vec<&'a str>,
    pub(crate) signature: Vec<u8>,
}

/// `Credential=<id>/<date>/<region>/<service>/aws4_request`, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Scope<'a> {
    pub(crate) id: &'a str,
    pub(crate) date: &'a str,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
    pub(crate) terminator: &'a str,
}

impl Scope<'_> {
    /// `<date>/<region>/<service>/<terminator>`, the scope line of the string to sign.
    pub(crate) fn line(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }
}

/// Parses `ALGORITHM Credential=..., SignedHeaders=..., Signature=...`.
///
/// The three components may come in any order, separated by commas with optional spaces; each
/// must appear exactly once. `SignedHeaders` must be lowercase, non-empty names sorted without
/// duplicates, and `Signature` non-empty hex. The error is a sentence for the client.
pub(crate) fn parse_authorization(value: &str) -> Result<Authorization<'_>, String> {
    let (algorithm, rest) = value
        .trim()
        .split_once(' ')
        .ok_or("the Authorization header must be '<algorithm> Credential=..., SignedHeaders=..., Signature=...'")?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        let (key, val) = part
            .split_once('=')
            .ok_or_else(|| format!("Authorization header component '{part}' is not key=value"))?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(format!("unexpected Authorization header component '{key}'")),
        };
        if slot.replace(val).is_some() {
            return Err(format!(
                "Authorization header component '{key}' appears more than once"
            ));
        }
    }
    let credential = credential.ok_or("the Authorization header has no Credential")?;
    let signed_headers = signed_headers.ok_or("the Authorization header has no SignedHeaders")?;
    let signature = signature.ok_or("the Authorization header has no Signature")?;

    let names: Vec<&str> = signed_headers.split(';').collect();
    for name in &names {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase())
        {
            return Err(format!(
                "SignedHeaders '{signed_headers}' must be lowercase header names separated by ';'"
            ));
        }
    }
    if names.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!(
            "SignedHeaders '{signed_headers}' must be sorted and without duplicates"
        ));
    }
    if signature.is_empty() {
        return Err("the Authorization header's Signature is empty".into());
    }
    let signature = hex::decode(signature)
        .map_err(|_| "the Authorization header's Signature is not hexadecimal".to_string())?;
    Ok(Authorization {
        algorithm,
        credential,
        signed_headers: names,
        signature,
    })
}

/// Splits a credential into its scope. The error is a sentence for the client.
pub(crate) fn parse_scope(credential: &str) -> Result<Scope<'_>, String> {
    let parts: Vec<&str> = credential.split('/').collect();
    match parts.as_slice() {
        [id, date, region, service, terminator] if !id.is_empty() => Ok(Scope {
            id,
            date,
            region,
            service,
            terminator,
        }),
        _ => Err(format!(
            "Credential '{credential}' must be '<id>/<yyyymmdd>/<region>/<service>/aws4_request'"
        )),
    }
}

/// SigV4 URI encoding: `A-Za-z0-9-_.~` are kept, every other byte becomes `%XX` (uppercase).
/// With `keep_slash`, `/` is kept too (for paths).
pub(crate) fn uri_encode(input: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else if b == b'/' && keep_slash {
            out.push('/');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes, and `+` as a space when `plus_is_space` (query strings and form
/// bodies, as every AWS front end does). `None` for a malformed escape.
pub(crate) fn percent_decode(input: &str, plus_is_space: bool) -> Option<Vec<u8>> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

/// Decoded `(name, value)` pairs of a query string or form body.
pub(crate) type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Splits a query string or form body into decoded `(name, value)` pairs, in order.
pub(crate) fn parse_pairs(raw: &str) -> Result<Pairs, String> {
    let mut pairs = Vec::new();
    for piece in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let decode = |s: &str| {
            percent_decode(s, true)
                .ok_or_else(|| format!("malformed percent-encoding in '{piece}'"))
        };
        pairs.push((decode(name)?, decode(value)?));
    }
    Ok(pairs)
}

/// The canonical query string: pairs re-encoded with [`uri_encode`] and sorted by name, then
/// value.
pub(crate) fn canonical_query(pairs: &[(Vec<u8>, Vec<u8>)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical headers block: one `name:value\n` line per signed header, values trimmed with
/// inner runs of spaces collapsed, repeated headers joined with `,`. Fails with the name of a
/// signed header the request does not carry.
pub(crate) fn canonical_headers(headers: &HeaderMap, signed: &[&str]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for &name in signed {
        let mut values = headers.get_all(name).iter().peekable();
        if values.peek().is_none() {
            return Err(name.to_string());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, value) in values.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_trimmed(&mut out, value.as_bytes());
        }
        out.push(b'\n');
    }
    Ok(out)
}

fn push_trimmed(out: &mut Vec<u8>, value: &[u8]) {
    let start = value.iter().position(|&b| b != b' ').unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    let mut previous_space = false;
    for &b in &value[start..end] {
        if b == b' ' && previous_space {
            continue;
        }
        previous_space = b == b' ';
        out.push(b);
    }
}

/// Assembles a canonical request.
pub(crate) fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &[u8],
    signed_headers: &[&str],
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::new();
    for line in [method, canonical_uri, canonical_query] {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(canonical_headers);
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// The string to sign: algorithm, request date, scope and the hash of the canonical request.
pub(crate) fn string_to_sign(
    algorithm: &str,
    amz_date: &str,
    scope: &str,
    canonical_request: &[u8],
) -> String {
    format!(
        "{algorithm}\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical_request)
    )
}

/// Lowercase hex SHA-256.
pub(crate) fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn authorization_parses_in_any_order() {
        let auth = parse_authorization(
            "AWS4-X509-RSA-SHA256 SignedHeaders=host;x-amz-date,Signature=00ff, Credential=1/2/3/4/5",
        )
        .expect("valid header");
        assert_eq!(auth.algorithm, "AWS4-X509-RSA-SHA256");
        assert_eq!(auth.credential, "1/2/3/4/5");
        assert_eq!(auth.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(auth.signature, [0, 255]);
    }

    #[test]
    fn authorization_rejects_malformed() {
        for bad in [
            "AWS4-X509-RSA-SHA256",
            "AWS4-X509-RSA-SHA256 Credential=a, SignedHeaders=host",
            "AWS4-X509-RSA-SHA256 Credential=a, Credential=b, SignedHeaders=host, Signature=00",
            "AWS4-X509-RSA-SHA256 Credential=a, SignedHeaders=x-amz-date;host, Signature=00",
            "AWS4-X509-RSA-SHA256 Credential=a, SignedHeaders=Host, Signature=00",
            "AWS4-X509-RSA-SHA256 Credential=a, SignedHeaders=host, Signature=xyz",
            "AWS4-X509-RSA-SHA256 Credential=a, SignedHeaders=host, Signature=",
            "AWS4-X509-RSA-SHA256 Credential=a, SignedHeaders=host, Signature=00, Extra=1",
        ] {
            assert!(parse_authorization(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        let pairs = parse_pairs("b=x%3ay&a=1+2&a=0&c=%7E~").expect("valid query");
        assert_eq!(canonical_query(&pairs), "a=0&a=1%202&b=x%3Ay&c=~~");
        assert!(parse_pairs("a=%zz").is_err());
        assert!(parse_pairs("a=%4").is_err());
    }

    #[test]
    fn header_values_are_trimmed_and_joined() {
        let mut headers = HeaderMap::new();
        headers.append("x-a", HeaderValue::from_static("  one   two  "));
        headers.append("x-a", HeaderValue::from_static("three"));
        headers.insert("x-b", HeaderValue::from_static(""));
        let block = canonical_headers(&headers, &["x-a", "x-b"]).expect("present");
        assert_eq!(block, b"x-a:one two,three\nx-b:\n");
        assert_eq!(canonical_headers(&headers, &["x-c"]), Err("x-c".into()));
    }
}
