//! Finding objects in a token: certificates (and the chain beside them), private keys by
//! `CKA_ID` and label, and whether a key is the certificate's, by the public values the token
//! shows or by a test signature.

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};

use super::device::{Device, FoundKey};
use super::login::Auth;
use super::operation::sign_in;
use super::uri::{self, Uri};
use crate::identity::certificate::{Certificate, Curve, PublicKey};
use crate::identity::error::{Error, Result};
use crate::identity::Digest;

/// Longest certificate chain we assemble from a token's certificates.
pub(super) const MAX_CHAIN: usize = 8;

/// `namedCurve` OIDs as tokens store them in `CKA_EC_PARAMS` (DER).
pub(super) const EC_PARAMS: [(Curve, &[u8]); 3] = [
    (
        Curve::P256,
        &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
    ),
    (Curve::P384, &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
    (Curve::P521, &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]),
];

/// A certificate object.
pub(super) struct FoundCert {
    pub(super) token: usize,
    pub(super) id: Vec<u8>,
    pub(super) label: Vec<u8>,
    pub(super) certificate: Certificate,
}

impl Device {
    /// Certificates matching `uri` in every matching token, logging in only as the draft allows.
    pub(super) fn find_certificates(&mut self, uri: &Uri) -> Result<Vec<FoundCert>> {
        let tokens = self.matching(uri);
        if tokens.is_empty() {
            return Err(self.not_found("token", uri));
        }
        let mut found = Vec::new();
        for &t in &tokens {
            match self.certificates(t, uri) {
                Ok(mut certs) => found.append(&mut certs),
                Err(e) => crate::debug!("PKCS#11: searching token {t}: {}", e.report()),
            }
        }
        if found.is_empty() && tokens.len() == 1 && !self.logged_in[tokens[0]] {
            // The certificate may be a private object: log in to the only token and look again.
            if self.pin_available() {
                self.login(tokens[0])?;
                found = self.certificates(tokens[0], uri)?;
            } else {
                crate::debug!("PKCS#11: no public certificate found and no PIN to look further");
            }
        }
        Ok(found)
    }

    pub(super) fn certificates(&mut self, token: usize, uri: &Uri) -> Result<Vec<FoundCert>> {
        if uri.object_type.is_some_and(|t| t != uri::ObjectType::Cert) {
            return Ok(Vec::new());
        }
        let handles = self.find(
            token,
            ObjectClass::CERTIFICATE,
            uri.object.as_deref(),
            uri.id.as_deref(),
        )?;
        let mut found = Vec::new();
        for handle in handles {
            let attributes = self.attributes(
                token,
                handle,
                &[
                    AttributeType::Value,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )?;
            let (mut value, mut id, mut label) = (None, Vec::new(), Vec::new());
            for attribute in attributes {
                match attribute {
                    Attribute::Value(v) => value = Some(v),
                    Attribute::Id(v) => id = v,
                    Attribute::Label(v) => label = v,
                    _ => {}
                }
            }
            match value.map(|v| Certificate::from_der(&v)) {
                Some(Ok(certificate)) => found.push(FoundCert {
                    token,
                    id,
                    label,
                    certificate,
                }),
                Some(Err(e)) => crate::debug!("PKCS#11: skipping a certificate object: {e}"),
                None => crate::debug!("PKCS#11: skipping a certificate object without a value"),
            }
        }
        Ok(found)
    }

    /// The intermediates for `leaf` among the certificates in its token, leaf and root excluded.
    pub(super) fn chain(&mut self, token: usize, leaf: &Certificate) -> Result<Vec<Certificate>> {
        let pool: Vec<Certificate> = self
            .certificates(token, &Uri::default())?
            .into_iter()
            .map(|c| c.certificate)
            .filter(|c| c.subject() != c.issuer() && c.der() != leaf.der())
            .collect();
        let mut chain: Vec<Certificate> = Vec::new();
        let mut last = leaf;
        while chain.len() < MAX_CHAIN {
            let Some(next) = pool.iter().find(|c| {
                c.subject() == last.issuer() && !chain.iter().any(|k| k.der() == c.der())
            }) else {
                break;
            };
            chain.push(next.clone());
            last = chain.last().expect("pushed just above");
        }
        Ok(chain)
    }

    pub(super) fn find(
        &mut self,
        token: usize,
        class: ObjectClass,
        label: Option<&[u8]>,
        id: Option<&[u8]>,
    ) -> Result<Vec<ObjectHandle>> {
        let mut template = vec![Attribute::Class(class)];
        if let Some(label) = label {
            template.push(Attribute::Label(label.to_vec()));
        }
        if let Some(id) = id {
            template.push(Attribute::Id(id.to_vec()));
        }
        let result = self.session(token)?.find_objects(&template);
        result.map_err(|e| self.call_failed("C_FindObjects", token, &e))
    }

    /// The token to look for the key in: the certificate's when the key URI matches it, else the
    /// only token the key URI matches.
    pub(super) fn key_token(&self, uri: &Uri, cert_token: Option<usize>) -> Result<usize> {
        let tokens = self.matching(uri);
        if let Some(t) = cert_token.filter(|t| tokens.contains(t)) {
            return Ok(t);
        }
        match tokens.as_slice() {
            [] => Err(self.not_found("token", uri)),
            [t] => Ok(*t),
            many => Err(Error::Pkcs11Ambiguous {
                count: many.len(),
                what: "tokens",
                uri: uri.to_string(),
                candidates: many
                    .iter()
                    .map(|&t| self.token_uri(t))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    pub(super) fn private_keys(
        &mut self,
        token: usize,
        label: Option<&[u8]>,
        id: Option<&[u8]>,
    ) -> Result<Vec<FoundKey>> {
        let handles = self.find(token, ObjectClass::PRIVATE_KEY, label, id)?;
        let mut keys = Vec::new();
        for handle in handles {
            let attributes = self.attributes(
                token,
                handle,
                &[
                    AttributeType::KeyType,
                    AttributeType::AlwaysAuthenticate,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )?;
            let (mut key_type, mut always_auth, mut id, mut label) = (None, false, vec![], vec![]);
            for attribute in attributes {
                match attribute {
                    Attribute::KeyType(t) => key_type = Some(t),
                    Attribute::AlwaysAuthenticate(a) => always_auth = a,
                    Attribute::Id(v) => id = v,
                    Attribute::Label(v) => label = v,
                    _ => {}
                }
            }
            let Some(key_type) = key_type.filter(|t| *t == KeyType::RSA || *t == KeyType::EC)
            else {
                crate::debug!("PKCS#11: skipping a private key that is neither RSA nor EC");
                continue;
            };
            let uri = self.object_uri(token, &id, &label, "private");
            keys.push(FoundKey {
                handle,
                key_type,
                always_auth,
                id,
                label,
                uri,
            });
        }
        Ok(keys)
    }

    /// Whether `key` is the private half of `public`: by the public values the token shows when
    /// it shows them, otherwise by a test signature verified with `public`.
    pub(super) fn key_matches(
        &mut self,
        token: usize,
        key: &FoundKey,
        public: &PublicKey,
        reuse_pin: bool,
    ) -> Result<bool> {
        match (public, key.key_type) {
            (PublicKey::Rsa { .. }, t) if t == KeyType::RSA => {}
            (PublicKey::Ec { .. }, t) if t == KeyType::EC => {}
            _ => return Ok(false),
        }
        if let Some(shown) = self.shown_public_key(token, key)? {
            return Ok(&shown == public);
        }
        crate::debug!(
            "PKCS#11: {} does not show its public key; checking with a test signature",
            key.uri
        );
        let message = b"AWS Roles Anywhere Credential Helper PKCS11 Test";
        let mut auth = Auth {
            user_pin: self.user_pin.clone(),
            context_pin: self.context_pin.clone(),
            reuse_pin,
            pin_refused: false,
            context_refused: false,
        };
        let module = self.module.clone();
        let session = self.session(token)?;
        let signature = sign_in(session, &module, key, &mut auth, message, Digest::Sha256)?;
        let matches = crate::identity::signatures::signature_verifies(public, message, &signature);
        if matches {
            // Keep a context-specific PIN typed for the test signature, as the official helper
            // does, so the first real signature does not ask for it again.
            self.context_pin = auth.context_pin;
        }
        Ok(matches)
    }

    /// The public key from the key object (RSA modulus, EC point) or from the public key object
    /// with the same `CKA_ID`; `None` when the token shows neither.
    pub(super) fn shown_public_key(
        &mut self,
        token: usize,
        key: &FoundKey,
    ) -> Result<Option<PublicKey>> {
        let wanted = [
            AttributeType::Modulus,
            AttributeType::PublicExponent,
            AttributeType::EcParams,
            AttributeType::EcPoint,
            AttributeType::Id,
        ];
        let attributes = self.attributes(token, key.handle, &wanted)?;
        let parsed = public_from(&attributes);
        if parsed.is_some() || key.key_type == KeyType::RSA {
            return Ok(parsed);
        }
        // EC private keys rarely carry CKA_EC_POINT; the matching public key object does.
        let Some(id) = attributes.iter().find_map(|a| match a {
            Attribute::Id(id) if !id.is_empty() => Some(id.clone()),
            _ => None,
        }) else {
            return Ok(None);
        };
        for handle in self.find(token, ObjectClass::PUBLIC_KEY, None, Some(&id))? {
            let attributes = self.attributes(token, handle, &wanted)?;
            if let Some(public) = public_from(&attributes) {
                return Ok(Some(public));
            }
        }
        Ok(None)
    }

    /// The public key of a key found without a certificate (`sign-string --private-key URI`).
    pub(super) fn public_key_of(&mut self, token: usize, key: &FoundKey) -> Result<PublicKey> {
        self.shown_public_key(token, key)?
            .ok_or_else(|| Error::Pkcs11NotFound {
                what: "public key",
                uri: key.uri.clone(),
                detail: " (the token does not show it); pass the certificate with --certificate"
                    .into(),
            })
    }
}

/// A public key from `CKA_MODULUS`/`CKA_PUBLIC_EXPONENT` or `CKA_EC_PARAMS`/`CKA_EC_POINT`.
pub(super) fn public_from(attributes: &[Attribute]) -> Option<PublicKey> {
    let (mut modulus, mut exponent, mut params, mut point) = (None, None, None, None);
    for attribute in attributes {
        match attribute {
            Attribute::Modulus(v) if !v.is_empty() => modulus = Some(v),
            Attribute::PublicExponent(v) if !v.is_empty() => exponent = Some(v),
            Attribute::EcParams(v) if !v.is_empty() => params = Some(v),
            Attribute::EcPoint(v) if !v.is_empty() => point = Some(v),
            _ => {}
        }
    }
    if let (Some(n), Some(e)) = (modulus, exponent) {
        return Some(PublicKey::rsa(n, e));
    }
    let curve = EC_PARAMS
        .iter()
        .find(|(_, der)| Some(&der.to_vec()) == params)
        .map(|(c, _)| *c)?;
    let point = point?;
    // CKA_EC_POINT is a DER OCTET STRING around the SEC1 point; some tokens omit the wrapper.
    let raw = match point.as_slice() {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        [0x04, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        other => other,
    };
    PublicKey::ec(curve, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_points_with_and_without_the_octet_string() {
        let point = PublicKey::ec(Curve::P256, &[4; 1]).map(|_| ()).is_none();
        assert!(point, "a bogus point is refused");
        let params = Attribute::EcParams(EC_PARAMS[0].1.to_vec());
        assert!(public_from(&[params, Attribute::EcPoint(vec![0x04, 0x01, 0x04])]).is_none());
    }
}
