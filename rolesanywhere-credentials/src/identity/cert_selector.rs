//! `--cert-selector`: which certificate of a platform store (the macOS Keychain, the Windows
//! certificate store) to use, parsed and checked as the official helper does before it says
//! whether the platform has a store at all.
//!
//! Two forms: `file://PATH`, a JSON list `[{"Key": "x509Subject", "Value": "CN=..."}, ...]`, or
//! the string form `Key=x509Subject,Value=CN=... Key=x509Serial,Value=0A1B...`, where a value
//! runs (lazily) up to the spaces before the next `Key=` or the end, so it may hold commas and
//! spaces. Keys are `x509Subject`, `x509Issuer` and `x509Serial`, each at most once.

use std::path::PathBuf;

use super::error::Result;
pub use super::error::SelectorError;

/// The keys a selector may use.
const KEYS: [&str; 3] = ["x509Subject", "x509Issuer", "x509Serial"];

/// A parsed `--cert-selector`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertSelector {
    /// `x509Subject`: the subject, as the platform store writes it (`CN=x,O=y`).
    pub subject: Option<String>,
    /// `x509Issuer`.
    pub issuer: Option<String>,
    /// `x509Serial`: hexadecimal, as given (the official helper does not check it).
    pub serial: Option<String>,
}

impl CertSelector {
    /// Parses `--cert-selector`, reading the file of the `file://` form.
    ///
    /// # Errors
    /// [`Error::CertSelector`](crate::identity::Error::CertSelector) saying what is wrong, with the official helper's phrase.
    pub fn parse(selector: &str) -> Result<CertSelector> {
        let pairs = match selector.strip_prefix("file://") {
            Some(path) => {
                let path = PathBuf::from(path);
                let text = std::fs::read(&path).map_err(|source| SelectorError::ReadFile {
                    path: path.clone(),
                    source,
                })?;
                json_pairs(&text).map_err(|detail| SelectorError::Json { path, detail })?
            }
            None => string_pairs(selector)?,
        };
        let mut out = CertSelector::default();
        for (key, value) in pairs {
            let slot = match key.as_str() {
                "x509Subject" => &mut out.subject,
                "x509Issuer" => &mut out.issuer,
                "x509Serial" => &mut out.serial,
                _ => return Err(SelectorError::InvalidKey { key }.into()),
            };
            if slot.is_some() {
                return Err(SelectorError::DuplicateKey { key }.into());
            }
            *slot = Some(value);
        }
        Ok(out)
    }
}

/// The JSON form: a list (or `null`) of objects (or `null`s) whose `Key` and `Value` members
/// (matched case-insensitively, as Go's `encoding/json` does) are strings.
fn json_pairs(text: &[u8]) -> std::result::Result<Vec<(String, String)>, String> {
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    let entries = match value {
        serde_json::Value::Null => return Ok(Vec::new()),
        serde_json::Value::Array(entries) => entries,
        _ => return Err("not a JSON list".into()),
    };
    let mut pairs = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let members = match entry {
            serde_json::Value::Null => serde_json::Map::new(),
            serde_json::Value::Object(members) => members,
            _ => return Err(format!("entry {} is not an object", i + 1)),
        };
        let (mut key, mut value) = (String::new(), String::new());
        for (name, member) in members {
            let slot = if name.eq_ignore_ascii_case("Key") {
                &mut key
            } else if name.eq_ignore_ascii_case("Value") {
                &mut value
            } else {
                continue;
            };
            match member {
                serde_json::Value::String(s) => *slot = s,
                serde_json::Value::Null => {}
                _ => return Err(format!("entry {}: {name} is not a string", i + 1)),
            }
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// The string form, as the official helper's pattern `^\s*Key=(.+?),Value=(.+?)\s*(?:Key=|$)`
/// applied repeatedly: keys and values are the shortest non-empty runs without a line break
/// that let the rest match, so a value ends at the whitespace before the next `Key=`.
fn string_pairs(selector: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut rest = selector;
    while let Some((key, value, consumed)) = match_pair(rest) {
        if !KEYS.contains(&key) {
            return Err(SelectorError::InvalidKey { key: key.into() }.into());
        }
        if pairs.iter().any(|(k, _)| k == key) {
            return Err(SelectorError::DuplicateKey { key: key.into() }.into());
        }
        pairs.push((key.to_string(), value.to_string()));
        rest = &rest[consumed..];
    }
    if !rest.is_empty() {
        return Err(SelectorError::Syntax {
            rest: rest.chars().take(40).collect(),
        }
        .into());
    }
    Ok(pairs)
}

/// Go's `\s`: ASCII whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

/// One match of the pattern at the start of `s`: the key, the value, and how much to remove
/// (up to the next `Key=`, which stays, or to the end).
fn match_pair(s: &str) -> Option<(&str, &str, usize)> {
    let bytes = s.as_bytes();
    let start = bytes
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(bytes.len());
    let key_start = start + s[start..].strip_prefix("Key=").map(|_| 4)?;
    // Lazy `(.+?)`: every candidate end in order, none crossing a line break.
    let ends = |from: usize| {
        (from + 1..=bytes.len())
            .take_while(move |&end| bytes[end - 1] != b'\n')
            .filter(move |&end| s.is_char_boundary(end))
    };
    for key_end in ends(key_start) {
        let Some(after) = s[key_end..].strip_prefix(",Value=") else {
            continue;
        };
        let value_start = bytes.len() - after.len();
        for value_end in ends(value_start) {
            let spaces = bytes[value_end..]
                .iter()
                .take_while(|&&b| is_space(b))
                .count();
            let next = value_end + spaces;
            let consumed = if next == bytes.len() {
                next
            } else if s[next..].starts_with("Key=") {
                // The official helper removes the match but the next `Key=`; when that `Key=`
                // ends the text, the whole match is removed.
                if next + 4 == bytes.len() {
                    next + 4
                } else {
                    next
                }
            } else {
                continue;
            };
            return Some((&s[key_start..key_end], &s[value_start..value_end], consumed));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> std::result::Result<CertSelector, String> {
        CertSelector::parse(s).map_err(|e| e.to_string())
    }

    fn selector(subject: Option<&str>, issuer: Option<&str>, serial: Option<&str>) -> CertSelector {
        CertSelector {
            subject: subject.map(Into::into),
            issuer: issuer.map(Into::into),
            serial: serial.map(Into::into),
        }
    }

    // The official helper's TestValidSelectorParsing / TestValidSelectorParsingResults
    // (cmd/credentials_test.go), with the values its parser produces.
    #[test]
    fn string_form_values_run_to_the_spaces_before_the_next_key() {
        assert_eq!(
            parse("Key=x509Subject,Value=CN=Subject Key=x509Issuer,Value=CN=Issuer Key=x509Serial,Value=15D19632234BF759A32802C0DA88F9E8AFC8702D").unwrap(),
            selector(Some("CN=Subject"), Some("CN=Issuer"), Some("15D19632234BF759A32802C0DA88F9E8AFC8702D"))
        );
        assert_eq!(
            parse(" \n  Key=x509Subject,Value=CN=CN With Trailing Spaces  ,O=O With Spaces   \t   Key=x509Issuer,Value=CN=Issuer  \n ").unwrap(),
            selector(Some("CN=CN With Trailing Spaces  ,O=O With Spaces"), Some("CN=Issuer"), None)
        );
        assert_eq!(
            parse("Key=x509Subject,Value=CN=CN With Spaces Key=x509Issuer,Value=CN=CN With Spaces,OU=OU With Spaces").unwrap(),
            selector(Some("CN=CN With Spaces"), Some("CN=CN With Spaces,OU=OU With Spaces"), None)
        );
        // A value may end right where the next key starts.
        assert_eq!(
            parse("Key=x509Issuer,Value=aKey=x509Subject,Value=b").unwrap(),
            selector(Some("b"), Some("a"), None)
        );
    }

    #[test]
    fn string_form_errors_carry_the_official_phrases() {
        for bad in [
            "laksdjadf",
            "Key=laksdjf,Valalsd",
            "asdf Key=x509Subject,Value=Test",
            "Key=x509Subject,Value=",
        ] {
            assert!(
                parse(bad)
                    .unwrap_err()
                    .starts_with("unable to parse cert selector string"),
                "{bad}"
            );
        }
        assert!(parse("Key=aljsdf,Value=aljsdfadsf")
            .unwrap_err()
            .starts_with("cert selector contained invalid key"));
        assert!(
            parse("Key=x509Subject,Value=Test Key=x509Subject,Value=Test2")
                .unwrap_err()
                .starts_with("duplicate x509Subject keys can't be present in cert selector")
        );
    }

    #[test]
    fn json_form() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            format!("file://{}", path.display())
        };
        let ok = write(
            "ok.json",
            r#"[{"Key":"x509Subject","Value":"CN=a, O=b"},{"key":"x509Serial","value":"0A"}]"#,
        );
        assert_eq!(
            parse(&ok).unwrap(),
            selector(Some("CN=a, O=b"), None, Some("0A"))
        );
        for (name, text) in [
            ("object.json", r#"{"Key":"x509Subject","Value":"x"}"#),
            ("text.json", "Key=x509Subject,Value=x"),
            ("number.json", r#"[{"Key":"x509Subject","Value":1}]"#),
        ] {
            let e = parse(&write(name, text)).unwrap_err();
            assert!(
                e.starts_with("unable to parse JSON map entries"),
                "{name}: {e}"
            );
        }
        let dup = write(
            "dup.json",
            r#"[{"Key":"x509Issuer","Value":"a"},{"Key":"x509Issuer","Value":"b"}]"#,
        );
        assert!(parse(&dup)
            .unwrap_err()
            .starts_with("duplicate x509Issuer keys"));
        let missing = format!("file://{}", dir.path().join("none.json").display());
        assert!(parse(&missing)
            .unwrap_err()
            .starts_with("unable to read cert selector file"));
    }
}
