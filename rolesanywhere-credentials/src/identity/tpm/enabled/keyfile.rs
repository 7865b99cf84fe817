//! The `TSS2 PRIVATE KEY` format (the TCG's "ASN.1 Specification for TPM 2.0 Key Files", once
//! draft-bottomley-tpm2-keys):
//!
//! ```text
//! TPMKey ::= SEQUENCE {
//!     type        OBJECT IDENTIFIER,              -- 2.23.133.10.1.3: a loadable key
//!     emptyAuth   [0] EXPLICIT BOOLEAN OPTIONAL,  -- TRUE: the key has no password
//!     policy      [1] EXPLICIT SEQUENCE OF TPMPolicy OPTIONAL,
//!     secret      [2] EXPLICIT OCTET STRING OPTIONAL,  -- importable keys only
//!     authPolicy  [3] EXPLICIT SEQUENCE OF TPMAuthPolicy OPTIONAL,
//!     description [4] EXPLICIT UTF8String OPTIONAL,
//!     rsaParent   [5] EXPLICIT BOOLEAN OPTIONAL,  -- TRUE: the parent primary is RSA-2048
//!     parent      INTEGER,                        -- a hierarchy or a persistent handle
//!     pubkey      OCTET STRING,                   -- TPM2B_PUBLIC
//!     privkey     OCTET STRING                    -- TPM2B_PRIVATE, wrapped by the parent
//! }
//! ```
//!
//! Read by hand: the fields are few, and the writers are lax in ways a strict DER decoder refuses
//! (engines have written the BOOLEAN as 0x01, and tpm2-openssl always writes emptyAuth, even
//! FALSE, which DER would leave out).

/// 2.23.133.10.1.3, `id-loadablekey`.
const LOADABLE_KEY: &[u8] = &[0x67, 0x81, 0x05, 0x0a, 0x01, 0x03];
/// 2.23.133.10.1.4, `id-importablekey`.
const IMPORTABLE_KEY: &[u8] = &[0x67, 0x81, 0x05, 0x0a, 0x01, 0x04];
/// 2.23.133.10.1.5, `id-sealedkey`.
const SEALED_KEY: &[u8] = &[0x67, 0x81, 0x05, 0x0a, 0x01, 0x05];

/// What a `TSS2 PRIVATE KEY` holds.
pub(super) struct KeyFile {
    /// The key has no password.
    pub(super) empty_auth: bool,
    /// The parent: a hierarchy (`0x40000001` owner, ...) or a persistent handle.
    pub(super) parent: u32,
    /// The parent primary is made from the RSA template rather than the ECC one.
    pub(super) rsa_parent: bool,
    /// The TPMT_PUBLIC (the TPM2B size removed).
    pub(super) public: Vec<u8>,
    /// The TPM2B_PRIVATE's buffer (its size removed).
    pub(super) private: Vec<u8>,
}

/// Parses the DER of a `TSS2 PRIVATE KEY` PEM block. The error completes "the TPM key file ...".
pub(super) fn parse(der: &[u8]) -> Result<KeyFile, String> {
    let malformed = |what: &str| format!("is malformed ({what}); the file may be corrupt");
    let mut outer = Der(der);
    let (tag, body) = outer.next().map_err(malformed)?;
    if tag != 0x30 {
        return Err(malformed("not a SEQUENCE"));
    }
    let mut fields = Der(body);
    let (tag, oid) = fields.next().map_err(malformed)?;
    if tag != 0x06 {
        return Err(malformed("no key type"));
    }
    match oid {
        LOADABLE_KEY => {}
        IMPORTABLE_KEY => return Err("holds an importable key, which must first be imported into the TPM (with tpm2_import) and saved as a loadable key".into()),
        SEALED_KEY => return Err("holds sealed data, not a signing key".into()),
        _ => return Err("has an unknown key type; expected a loadable key (2.23.133.10.1.3)".into()),
    }
    let mut key = KeyFile {
        empty_auth: false,
        parent: 0,
        rsa_parent: false,
        public: Vec::new(),
        private: Vec::new(),
    };
    while let Some(tag @ 0xa0..=0xbf) = fields.peek() {
        let (_, explicit) = fields.next().map_err(malformed)?;
        match tag {
            0xa0 => key.empty_auth = boolean(explicit).map_err(malformed)?,
            0xa1 | 0xa3 => return Err("uses a TPM policy to authorize the key, which this helper cannot satisfy (nor can the official one); make a key with a password or none".into()),
            0xa2 => return Err("holds an importable key's secret, which a loadable key must not have".into()),
            0xa5 => key.rsa_parent = boolean(explicit).map_err(malformed)?,
            // [4] description, and fields of later versions that do not change how to load.
            _ => {}
        }
    }
    let (tag, parent) = fields.next().map_err(malformed)?;
    if tag != 0x02 {
        return Err(malformed("no parent handle"));
    }
    key.parent = handle(parent).ok_or_else(|| malformed("parent handle out of range"))?;
    // tpm2-openssl reads a parent of 0 as the owner hierarchy.
    if key.parent == 0 {
        key.parent = OWNER;
    }
    key.public = tpm2b(&mut fields).map_err(|e| malformed(&format!("public part: {e}")))?;
    key.private = tpm2b(&mut fields).map_err(|e| malformed(&format!("private part: {e}")))?;
    Ok(key)
}

/// The owner hierarchy, `TPM2_RH_OWNER`.
pub(super) const OWNER: u32 = 0x4000_0001;

/// An OCTET STRING holding a TPM2B: a 2-byte big-endian size, then exactly that many bytes.
fn tpm2b(fields: &mut Der<'_>) -> Result<Vec<u8>, &'static str> {
    let (tag, bytes) = fields.next()?;
    if tag != 0x04 {
        return Err("not an OCTET STRING");
    }
    let [hi, lo, rest @ ..] = bytes else {
        return Err("too short");
    };
    if usize::from(u16::from_be_bytes([*hi, *lo])) != rest.len() || rest.is_empty() {
        return Err("its size does not match its length");
    }
    Ok(rest.to_vec())
}

/// An EXPLICIT BOOLEAN's content: any non-zero byte is TRUE (engines wrote 0x01).
fn boolean(explicit: &[u8]) -> Result<bool, &'static str> {
    match Der(explicit).next()? {
        (0x01, [value]) => Ok(*value != 0),
        _ => Err("a flag is not a BOOLEAN"),
    }
}

/// A non-negative INTEGER that fits 32 bits (DER adds a zero byte before 0x81000001).
fn handle(integer: &[u8]) -> Option<u32> {
    let digits = match integer {
        [0, rest @ ..] => rest,
        [first, ..] if first & 0x80 != 0 => return None,
        all => all,
    };
    if digits.is_empty() && integer.is_empty() || digits.len() > 4 {
        return None;
    }
    Some(digits.iter().fold(0, |n, b| (n << 8) | u32::from(*b)))
}

/// A minimal reader of DER tag-length-value items, refusing what runs past its input.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    fn next(&mut self) -> Result<(u8, &'a [u8]), &'static str> {
        let [tag, first, rest @ ..] = self.0 else {
            return Err("truncated");
        };
        let (len, rest) = match *first {
            n @ 0..=0x7f => (usize::from(n), rest),
            n @ 0x81..=0x84 => {
                let count = usize::from(n & 0x7f);
                if rest.len() < count {
                    return Err("truncated");
                }
                let (bytes, rest) = rest.split_at(count);
                (
                    bytes.iter().fold(0, |l, b| (l << 8) | usize::from(*b)),
                    rest,
                )
            }
            _ => return Err("bad length"),
        };
        if rest.len() < len {
            return Err("truncated");
        }
        let (content, rest) = rest.split_at(len);
        self.0 = rest;
        Ok((*tag, content))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if content.len() < 0x80 {
            out.push(content.len() as u8);
        } else {
            out.extend([0x82, (content.len() >> 8) as u8, content.len() as u8]);
        }
        out.extend(content);
        out
    }

    fn file(extra: &[Vec<u8>], parent: &[u8]) -> Vec<u8> {
        let mut body = tlv(0x06, LOADABLE_KEY);
        for e in extra {
            body.extend(e);
        }
        body.extend(tlv(0x02, parent));
        body.extend(tlv(0x04, &[0, 3, 1, 2, 3]));
        body.extend(tlv(0x04, &[0, 2, 9, 9]));
        tlv(0x30, &body)
    }

    #[test]
    fn fields_are_read_as_the_writers_write_them() {
        let empty_true = tlv(0xa0, &tlv(0x01, &[0xff]));
        let empty_one = tlv(0xa0, &tlv(0x01, &[0x01]));
        let empty_false = tlv(0xa0, &tlv(0x01, &[0x00]));
        let description = tlv(0xa4, &tlv(0x0c, b"my key"));
        // (extra fields, parent INTEGER, emptyAuth, parent)
        let cases = [
            (vec![empty_true.clone()], vec![0x40, 0, 0, 1], true, OWNER),
            (vec![empty_one], vec![0x40, 0, 0, 1], true, OWNER),
            (vec![empty_false], vec![0x40, 0, 0, 1], false, OWNER),
            (vec![], vec![0x00, 0x81, 0, 0, 1], false, 0x8100_0001),
            (vec![empty_true, description], vec![0], true, OWNER),
        ];
        for (extra, parent, empty_auth, want_parent) in &cases {
            let key = parse(&file(extra, parent)).unwrap();
            assert_eq!(key.empty_auth, *empty_auth);
            assert_eq!(key.parent, *want_parent);
            assert_eq!(key.public, [1, 2, 3]);
            assert_eq!(key.private, [9, 9]);
            assert!(!key.rsa_parent);
        }
        let rsa = parse(&file(&[tlv(0xa5, &tlv(0x01, &[0xff]))], &[0x40, 0, 0, 1])).unwrap();
        assert!(rsa.rsa_parent);
    }

    #[test]
    fn what_cannot_be_loaded_is_named() {
        let policy = tlv(0xa1, &tlv(0x30, &[]));
        let err = parse(&file(&[policy], &[0x40, 0, 0, 1])).err().unwrap();
        assert!(err.contains("policy"), "{err}");
        let mut importable = file(&[], &[1]);
        importable[4 + LOADABLE_KEY.len() - 1] = 0x04;
        assert!(parse(&importable).err().unwrap().contains("importable"));
        for bad in [&[][..], &[0x30, 0x05, 0x06][..], &[0x04, 0x00][..]] {
            let err = parse(bad).err().unwrap();
            assert!(err.starts_with("is malformed"), "{err}");
        }
        // A TPM2B whose size disagrees with its length.
        let mut body = tlv(0x06, LOADABLE_KEY);
        body.extend(tlv(0x02, &[0x40, 0, 0, 1]));
        body.extend(tlv(0x04, &[0, 9, 1]));
        body.extend(tlv(0x04, &[0, 1, 1]));
        let err = parse(&tlv(0x30, &body)).err().unwrap();
        assert!(err.contains("public part"), "{err}");
        // A negative or oversized parent.
        assert!(parse(&file(&[], &[0x81, 0, 0, 1])).is_err());
        assert!(parse(&file(&[], &[1, 0, 0, 0, 1])).is_err());
    }
}
