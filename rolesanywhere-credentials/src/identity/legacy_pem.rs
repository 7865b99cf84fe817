//! OpenSSL's legacy PEM encryption of "traditional" keys (`openssl rsa -aes256`, `openssl ec
//! -des3`, `ssh-keygen -m PEM`): a PKCS#1 or SEC1 block with RFC 1421 headers
//!
//! ```text
//! Proc-Type: 4,ENCRYPTED
//! DEK-Info: AES-256-CBC,<IV in hex>
//! ```
//!
//! The key is OpenSSL's `EVP_BytesToKey` with MD5 and one iteration over the password and the
//! IV's first 8 bytes as salt; the body is CBC-encrypted with PKCS#7 padding. We read AES-128,
//! AES-192 and AES-256-CBC and DES-EDE3-CBC, the ciphers OpenSSL and `cryptography` write. The
//! official helper refuses these files; this is a superset.

use aes::{Aes128, Aes192, Aes256};
use cbc::cipher::{block_padding::Pkcs7, BlockCipher, BlockDecryptMut, KeyInit, KeyIvInit};
use md5::{Digest as _, Md5};
use zeroize::Zeroizing;

/// A `DEK-Info` cipher this module reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// (All CBC with PKCS#7 padding.)
pub(crate) enum Cipher {
    Aes128,
    Aes192,
    Aes256,
    DesEde3,
}

impl Cipher {
    fn key_len(self) -> usize {
        match self {
            Cipher::Aes128 => 16,
            Cipher::Aes192 | Cipher::DesEde3 => 24,
            Cipher::Aes256 => 32,
        }
    }

    fn iv_len(self) -> usize {
        match self {
            Cipher::DesEde3 => 8,
            _ => 16,
        }
    }
}

/// What is wrong with a legacy-encrypted block before any password is tried.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// No `DEK-Info`, or one that does not parse.
    Malformed(&'static str),
    /// A cipher other than the four.
    Unsupported(String),
}

/// The cipher and IV of a `DEK-Info` value (`AES-256-CBC,0123...`).
pub(crate) fn parse_dek_info(dek_info: Option<&str>) -> Result<(Cipher, Vec<u8>), HeaderError> {
    let value = dek_info.ok_or(HeaderError::Malformed("it has no DEK-Info header"))?;
    let (name, iv) = value
        .split_once(',')
        .ok_or(HeaderError::Malformed("its DEK-Info header has no IV"))?;
    let cipher = match name.trim().to_ascii_uppercase().as_str() {
        "AES-128-CBC" => Cipher::Aes128,
        "AES-192-CBC" => Cipher::Aes192,
        "AES-256-CBC" => Cipher::Aes256,
        "DES-EDE3-CBC" => Cipher::DesEde3,
        other => return Err(HeaderError::Unsupported(other.to_string())),
    };
    let iv = hex::decode(iv.trim())
        .ok()
        .filter(|iv| iv.len() == cipher.iv_len())
        .ok_or(HeaderError::Malformed(
            "its DEK-Info IV is not valid hex of the cipher's block size",
        ))?;
    Ok((cipher, iv))
}

/// OpenSSL's `EVP_BytesToKey(cipher, MD5, salt, password, count = 1)`, key part: `D_1 =
/// MD5(password || salt)`, `D_i = MD5(D_(i-1) || password || salt)`, concatenated.
fn bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut previous: Option<Zeroizing<[u8; 16]>> = None;
    while key.len() < len {
        let mut md5 = Md5::new();
        if let Some(d) = &previous {
            md5.update(&d[..]);
        }
        md5.update(password);
        md5.update(salt);
        let d = Zeroizing::new(<[u8; 16]>::from(md5.finalize()));
        key.extend_from_slice(&d[..]);
        previous = Some(d);
    }
    key.truncate(len);
    key
}

/// Decrypts the body of a legacy-encrypted block; `None` when the padding is wrong, which is
/// what a wrong password almost always gives (the caller also checks the DER that comes out).
pub(crate) fn decrypt(
    cipher: Cipher,
    iv: &[u8],
    password: &str,
    body: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let key = bytes_to_key(password.as_bytes(), &iv[..8], cipher.key_len());
    let mut buf = Zeroizing::new(body.to_vec());
    let len = match cipher {
        Cipher::Aes128 => cbc_decrypt::<Aes128>(&key, iv, &mut buf),
        Cipher::Aes192 => cbc_decrypt::<Aes192>(&key, iv, &mut buf),
        Cipher::Aes256 => cbc_decrypt::<Aes256>(&key, iv, &mut buf),
        Cipher::DesEde3 => cbc_decrypt::<des::TdesEde3>(&key, iv, &mut buf),
    }?;
    buf.truncate(len);
    Some(buf)
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], buf: &mut [u8]) -> Option<usize>
where
    C: BlockCipher + cbc::cipher::BlockDecryptMut + KeyInit,
    cbc::Decryptor<C>: KeyIvInit,
{
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    decryptor
        .decrypt_padded_mut::<Pkcs7>(buf)
        .ok()
        .map(|plain| plain.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dek_info_is_parsed_and_checked() {
        assert_eq!(
            parse_dek_info(Some("AES-128-CBC,000102030405060708090A0B0C0D0E0F")).unwrap(),
            (Cipher::Aes128, (0..16).collect::<Vec<u8>>())
        );
        assert_eq!(
            parse_dek_info(Some("DES-EDE3-CBC,0001020304050607"))
                .unwrap()
                .0,
            Cipher::DesEde3
        );
        assert!(matches!(
            parse_dek_info(Some("DES-CBC,0001020304050607")),
            Err(HeaderError::Unsupported(c)) if c == "DES-CBC"
        ));
        assert!(parse_dek_info(Some("AES-256-CBC,0011")).is_err());
        assert!(parse_dek_info(None).is_err());
    }

    // Known answer from OpenSSL's command line (its EVP_BytesToKey):
    // `openssl enc -aes-192-cbc -pass pass:password -S 0001020304050607 -P -md md5`.
    #[test]
    fn bytes_to_key_matches_openssl() {
        let key = bytes_to_key(b"password", &[0, 1, 2, 3, 4, 5, 6, 7], 24);
        assert_eq!(
            hex::encode_upper(&key[..]),
            "B03096345E805D3AA4392D2E72791DFB13E12D3F61094A3F"
        );
    }
}
