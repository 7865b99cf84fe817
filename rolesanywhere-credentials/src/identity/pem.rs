//! A small, strict PEM reader (RFC 7468) that keeps every block, whatever its label.
//!
//! The PEM API of `rustls-pki-types` silently skips labels it does not know, but we must see
//! `ENCRYPTED PRIVATE KEY`, `TSS2 PRIVATE KEY` and `EC PARAMETERS` blocks to choose a key source
//! and to explain failures, so we read the armor ourselves. Decoded bytes of private-key blocks
//! are wiped when the [`Block`] is dropped.

use base64::Engine;
use zeroize::Zeroizing;

/// One decoded PEM block.
pub(crate) struct Block {
    /// The label between `BEGIN ` and `-----`, e.g. `CERTIFICATE`.
    pub(crate) label: String,
    /// The decoded contents.
    pub(crate) der: Zeroizing<Vec<u8>>,
    /// Whether the block carries RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`): OpenSSL's legacy
    /// encrypted "traditional" key format.
    pub(crate) legacy_encrypted: bool,
    /// The `DEK-Info:` header's value (`AES-256-CBC,<IV in hex>`), when there is one.
    pub(crate) dek_info: Option<String>,
}

/// Whether `data` looks like PEM rather than DER.
pub(crate) fn is_pem(data: &[u8]) -> bool {
    // DER starts with a SEQUENCE tag (0x30); PEM text contains the armor somewhere.
    data.first() != Some(&0x30) && find(data, b"-----BEGIN ").is_some()
}

/// Decodes every PEM block of `data`, in order. Text outside blocks is ignored, as OpenSSL does.
pub(crate) fn parse(data: &[u8]) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut rest = data;
    while let Some(start) = find(rest, b"-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = find(after, b"-----").ok_or("a BEGIN line is not terminated")?;
        let label = std::str::from_utf8(&after[..label_end])
            .map_err(|_| "a BEGIN line has a non-text label")?
            .to_string();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let body_end = find(body_start, end_marker.as_bytes())
            .ok_or_else(|| format!("block {} ({label}) has no END line", blocks.len() + 1))?;
        let body = &body_start[..body_end];
        let (b64, legacy_encrypted, dek_info) = strip_headers(body);
        let der = base64::engine::general_purpose::STANDARD
            .decode(&*b64)
            .map_err(|_| format!("block {} ({label}) has invalid base64", blocks.len() + 1))?;
        if der.is_empty() {
            return Err(format!("block {} ({label}) is empty", blocks.len() + 1));
        }
        blocks.push(Block {
            label,
            der: Zeroizing::new(der),
            legacy_encrypted,
            dek_info,
        });
        rest = &body_start[body_end + end_marker.len()..];
    }
    Ok(blocks)
}

/// Drops RFC 1421 header lines (`Name: value`) and all whitespace, returning the base64 text.
fn strip_headers(body: &[u8]) -> (Zeroizing<Vec<u8>>, bool, Option<String>) {
    let mut legacy_encrypted = false;
    let mut dek_info = None;
    let mut b64 = Zeroizing::new(Vec::with_capacity(body.len()));
    // Lines and the bytes looked for in them are found by memchr's word-at-a-time search: a
    // cold start reads up to 15 KB of PEM (an ML-DSA chain), where a byte-by-byte scan cost
    // 0.3 M instructions.
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len())) {
        let line = &body[start..end];
        start = end + 1;
        if memchr::memchr(b':', line).is_some() {
            legacy_encrypted |= find(line, b"ENCRYPTED").is_some();
            if let Some(value) = line.strip_prefix(b"DEK-Info:") {
                dek_info = std::str::from_utf8(value)
                    .ok()
                    .map(|v| v.trim().to_string());
            }
            continue;
        }
        // Lines are whitespace-free but for their ends: copied whole, not byte by byte.
        let line = line.trim_ascii();
        let inner_space = memchr::memchr3(b' ', b'\t', b'\r', line).is_some()
            || memchr::memchr(b'\x0c', line).is_some();
        if inner_space {
            b64.extend(line.iter().filter(|b| !b.is_ascii_whitespace()));
        } else {
            b64.extend_from_slice(line);
        }
    }
    (b64, legacy_encrypted, dek_info)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_in_order_and_ignores_surrounding_text() {
        let text = b"Bag Attributes\n-----BEGIN A-----\nAQID\n-----END A-----\njunk\n-----BEGIN B C-----\r\nBA==\r\n-----END B C-----\n";
        let blocks = parse(text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "A");
        assert_eq!(&blocks[0].der[..], &[1, 2, 3]);
        assert_eq!(blocks[1].label, "B C");
        assert_eq!(&blocks[1].der[..], &[4]);
    }

    #[test]
    fn rejects_missing_end_and_bad_base64() {
        assert!(parse(b"-----BEGIN A-----\nAQID\n").is_err());
        assert!(parse(b"-----BEGIN A-----\n!!!\n-----END A-----\n").is_err());
        assert!(parse(b"-----BEGIN A-----\n-----END A-----\n").is_err());
    }

    #[test]
    fn flags_legacy_encrypted_keys() {
        let text = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAQID\n-----END RSA PRIVATE KEY-----\n";
        let blocks = parse(text).unwrap();
        assert!(blocks[0].legacy_encrypted);
    }

    #[test]
    fn tells_pem_from_der() {
        assert!(is_pem(b"-----BEGIN CERTIFICATE-----"));
        assert!(!is_pem(&[0x30, 0x82, 0x01]));
        assert!(!is_pem(b"hello"));
    }
}
