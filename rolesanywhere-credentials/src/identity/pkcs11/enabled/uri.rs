//! RFC 7512 PKCS#11 URIs: parsing what the user gives, and printing URIs for objects we find.
//!
//! A PKCS#11 URI is a search term, not an address: every path attribute it holds must match the
//! token or object, and attributes it leaves out match anything. Values are percent-decoded into
//! bytes (`id=%01%02`, `object=My%20key`). Query attributes carry the PIN (`pin-value`,
//! `pin-source`) and the module (`module-path`). Unknown attributes are refused rather than
//! ignored, so that a typo such as `label=` (for `object=`) is reported instead of matching every
//! object; vendor attributes (`x-...`) are accepted and ignored, as RFC 7512 asks.

use std::fmt;

use zeroize::Zeroizing;

use super::pin::Pin;

/// Path attributes we parse but that do not narrow the search (they describe the module).
const IGNORED_PATH: [&str; 3] = [
    "library-description",
    "library-manufacturer",
    "library-version",
];

/// The kind of object a URI names (`type=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectType {
    /// `type=cert`.
    Cert,
    /// `type=private`.
    Private,
    /// `type=public`.
    Public,
    /// `type=secret-key` or `type=data`: never a certificate or a signing key.
    Other,
}

/// A parsed PKCS#11 URI.
#[derive(Clone, Default)]
pub struct Uri {
    /// `token=`: the token label.
    pub token: Option<String>,
    /// `manufacturer=`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model=`: the token model.
    pub model: Option<String>,
    /// `serial=`: the token serial number.
    pub serial: Option<String>,
    /// `slot-description=`.
    pub slot_description: Option<String>,
    /// `slot-manufacturer=`.
    pub slot_manufacturer: Option<String>,
    /// `slot-id=`.
    pub slot_id: Option<u64>,
    /// `object=`: the object label (`CKA_LABEL`), as bytes.
    pub object: Option<Vec<u8>>,
    /// `id=`: the object identifier (`CKA_ID`), as bytes.
    pub id: Option<Vec<u8>>,
    /// `type=`.
    pub object_type: Option<ObjectType>,
    /// `pin-value=`: the PIN itself.
    pub pin_value: Option<Pin>,
    /// `pin-source=`: a file (path or `file:` URI) holding the PIN.
    pub pin_source: Option<String>,
    /// `module-path=`: the module to load when `--pkcs11-lib` is not given.
    pub module_path: Option<String>,
    /// The URI as given, with any `pin-value` blanked out: what error messages show.
    shown: String,
}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `shown` never holds the PIN.
        f.debug_tuple("Uri").field(&self.shown).finish()
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Uri {
    /// Parses `text`, which starts with `pkcs11:`.
    ///
    /// # Errors
    /// A message naming the offending attribute (never the PIN).
    pub fn parse(text: &str) -> Result<Uri, String> {
        let rest = text
            .strip_prefix("pkcs11:")
            .ok_or("it does not start with pkcs11:")?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = Uri {
            shown: redact(text),
            ..Uri::default()
        };
        let mut seen: Vec<String> = Vec::new();
        for (part, separator) in [(path, ';'), (query, '&')] {
            for attribute in part.split(separator).filter(|a| !a.is_empty()) {
                let (name, raw) = attribute
                    .split_once('=')
                    .ok_or_else(|| format!("attribute '{}' has no value", shorten(attribute)))?;
                if seen.iter().any(|s| s == name) {
                    return Err(format!("attribute '{name}' appears twice"));
                }
                seen.push(name.to_string());
                let value = Zeroizing::new(decode(raw).map_err(|e| format!("{name}: {e}"))?);
                uri.set(name, value, separator == ';')?;
            }
        }
        Ok(uri)
    }

    fn set(&mut self, name: &str, value: Zeroizing<Vec<u8>>, in_path: bool) -> Result<(), String> {
        let text =
            || String::from_utf8(value.to_vec()).map_err(|_| format!("{name} is not valid UTF-8"));
        match (in_path, name) {
            (true, "token") => self.token = Some(text()?),
            (true, "manufacturer") => self.manufacturer = Some(text()?),
            (true, "model") => self.model = Some(text()?),
            (true, "serial") => self.serial = Some(text()?),
            (true, "slot-description") => self.slot_description = Some(text()?),
            (true, "slot-manufacturer") => self.slot_manufacturer = Some(text()?),
            (true, "slot-id") => {
                self.slot_id = Some(
                    text()?
                        .parse()
                        .map_err(|_| "slot-id must be a decimal number".to_string())?,
                );
            }
            (true, "object") => self.object = Some(value.to_vec()),
            (true, "id") => self.id = Some(value.to_vec()),
            (true, "type") => {
                self.object_type = Some(match text()?.as_str() {
                    "cert" => ObjectType::Cert,
                    "private" => ObjectType::Private,
                    "public" => ObjectType::Public,
                    "secret-key" | "data" => ObjectType::Other,
                    other => {
                        return Err(format!(
                            "type={other} is not one of cert, private, public, secret-key, data"
                        ))
                    }
                });
            }
            (true, n) if IGNORED_PATH.contains(&n) || n.starts_with("x-") => {}
            (false, "pin-value") => {
                let pin = String::from_utf8(value.to_vec())
                    .map_err(|_| "pin-value is not valid UTF-8".to_string())?;
                self.pin_value = Some(Pin::new(pin));
            }
            (false, "pin-source") => self.pin_source = Some(text()?),
            (false, "module-path") => self.module_path = Some(text()?),
            (false, n) if n == "module-name" || n.starts_with("x-") => {}
            (true, "label") => {
                return Err("unknown attribute 'label'; the object label is spelled object=".into())
            }
            (true, n) if ["pin-value", "pin-source", "module-path", "module-name"].contains(&n) => {
                return Err(format!("{n} belongs in the query part, after '?'"));
            }
            (false, n) => return Err(format!("unknown query attribute '{n}'")),
            (true, n) => return Err(format!("unknown attribute '{n}'")),
        }
        Ok(())
    }

    /// This URI without its object attributes (`object`, `id`, `type`): the token part only.
    pub fn token_part(&self) -> Uri {
        Uri {
            object: None,
            id: None,
            object_type: None,
            ..self.clone()
        }
    }
}

/// Builds the URI of an object found in a token, with every value percent-encoded.
pub fn format(token: &TokenLabels<'_>, id: &[u8], label: &[u8], object_type: &str) -> String {
    let mut out = String::from("pkcs11:");
    let mut parts: Vec<String> = Vec::new();
    for (name, value) in [
        ("token", token.label),
        ("manufacturer", token.manufacturer),
        ("model", token.model),
        ("serial", token.serial),
    ] {
        parts.push(format!("{name}={}", encode(value.as_bytes(), false)));
    }
    if !id.is_empty() {
        parts.push(format!("id={}", encode(id, true)));
    }
    if !label.is_empty() {
        parts.push(format!("object={}", encode(label, false)));
    }
    parts.push(format!("type={object_type}"));
    out.push_str(&parts.join(";"));
    out
}

/// The token fields that appear in a formatted URI.
pub struct TokenLabels<'a> {
    /// `CKA_LABEL` of the token.
    pub label: &'a str,
    /// Its manufacturer.
    pub manufacturer: &'a str,
    /// Its model.
    pub model: &'a str,
    /// Its serial number.
    pub serial: &'a str,
}

/// Percent-encodes `bytes`; `all` encodes every byte (as tools do for `id=`).
fn encode(bytes: &[u8], all: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if !all && (b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(raw: &str) -> Result<Vec<u8>, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a '%' is not followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// `text` with the value of every `pin-value` attribute replaced by `***`, wherever it is: also
/// in URIs that do not parse, such as one giving the PIN twice or in the path.
pub(super) fn redact(text: &str) -> String {
    const NAME: &str = "pin-value=";
    let query_at = text.find('?').unwrap_or(text.len());
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    while let Some(found) = text[done..].find(NAME) {
        let start = done + found + NAME.len();
        // A query value ends at '&' only (it may hold ';'); a path value at ';' or '?'.
        let stops: &[char] = if start > query_at {
            &['&']
        } else {
            &[';', '?']
        };
        let end = text[start..].find(stops).map_or(text.len(), |e| start + e);
        out.push_str(&text[done..start]);
        out.push_str("***");
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

/// The start of an attribute for an error message: never more than 40 characters.
fn shorten(attribute: &str) -> String {
    attribute.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_query_attributes_are_percent_decoded() {
        let uri = Uri::parse(
            "pkcs11:token=My%20Token;object=my%20key;id=%01%ff;type=private;slot-id=3?pin-source=/run/pin&module-path=/lib/x.so",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("My Token"));
        assert_eq!(uri.object.as_deref(), Some(&b"my key"[..]));
        assert_eq!(uri.id.as_deref(), Some(&[1u8, 0xff][..]));
        assert_eq!(uri.object_type, Some(ObjectType::Private));
        assert_eq!(uri.slot_id, Some(3));
        assert_eq!(uri.pin_source.as_deref(), Some("/run/pin"));
        assert_eq!(uri.module_path.as_deref(), Some("/lib/x.so"));
        assert!(uri.pin_value.is_none());
    }

    #[test]
    fn the_pin_never_shows() {
        let uri = Uri::parse("pkcs11:token=t?pin-value=123456").unwrap();
        assert_eq!(uri.pin_value.as_ref().map(|p| p.expose()), Some("123456"));
        assert_eq!(uri.to_string(), "pkcs11:token=t?pin-value=***");
        assert!(!format!("{uri:?}").contains("123456"));
    }

    #[test]
    fn every_pin_value_is_redacted_even_in_uris_that_do_not_parse() {
        for (text, shown) in [
            (
                "pkcs11:token=t?pin-value=1234",
                "pkcs11:token=t?pin-value=***",
            ),
            (
                "pkcs11:token=t?pin-value=1;2&module-path=/m.so",
                "pkcs11:token=t?pin-value=***&module-path=/m.so",
            ),
            (
                "pkcs11:token=t?pin-value=1111&pin-value=2222",
                "pkcs11:token=t?pin-value=***&pin-value=***",
            ),
            (
                "pkcs11:pin-value=3333;token=t?pin-value=4444",
                "pkcs11:pin-value=***;token=t?pin-value=***",
            ),
            (
                "pkcs11:token=t;pin-value=5555",
                "pkcs11:token=t;pin-value=***",
            ),
            ("pkcs11:token=t", "pkcs11:token=t"),
        ] {
            assert_eq!(redact(text), shown);
        }
    }

    #[test]
    fn mistakes_are_named() {
        let err = |t: &str| Uri::parse(t).unwrap_err();
        assert!(err("pkcs11:label=x").contains("object="));
        assert!(err("pkcs11:object=a;object=b").contains("twice"));
        assert!(err("pkcs11:id=%0").contains("hex"));
        assert!(err("pkcs11:id=%zz").contains("hex"));
        assert!(err("pkcs11:type=key").contains("type=key"));
        assert!(err("pkcs11:token").contains("no value"));
        assert!(err("pkcs11:pin-value=1").contains("query"));
        assert!(err("pkcs11:token=t?bogus=1").contains("bogus"));
        assert!(err("pkcs11:slot-id=x").contains("slot-id"));
        assert!(err("pkcs11:token=%ff").contains("UTF-8"));
    }

    #[test]
    fn vendor_and_library_attributes_are_accepted() {
        let uri =
            Uri::parse("pkcs11:x-vendor=1;library-version=1.0;token=t?x-foo=bar&module-name=p")
                .unwrap();
        assert_eq!(uri.token.as_deref(), Some("t"));
    }

    #[test]
    fn formatted_uris_parse_back() {
        let labels = TokenLabels {
            label: "My Token",
            manufacturer: "SoftHSM project",
            model: "SoftHSM v2",
            serial: "abc;=?",
        };
        let text = format(&labels, &[1, 2], "key é;".as_bytes(), "cert");
        assert_eq!(
            text,
            "pkcs11:token=My%20Token;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;serial=abc%3B%3D%3F;id=%01%02;object=key%20%C3%A9%3B;type=cert"
        );
        let uri = Uri::parse(&text).unwrap();
        assert_eq!(uri.serial.as_deref(), Some("abc;=?"));
        assert_eq!(uri.object.as_deref(), Some("key é;".as_bytes()));
        assert_eq!(uri.object_type, Some(ObjectType::Cert));
    }
}
