//! The signing certificate and its path to a trust anchor: the trust model's end-entity rules
//! ([`check_leaf`]) and a depth-first path search ([`PathSearch`]) in which every issuer must be
//! valid now, a CA allowed to sign certificates, within its path length, and its signature must
//! verify (SHA-1 and MD5 refused).

use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_parser::oid_registry::{
    Oid, OID_PKCS1_RSASSAPSS, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA,
    OID_PKCS1_SHA512WITHRSA, OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384,
    OID_SIG_ECDSA_WITH_SHA512,
};
use x509_parser::prelude::{ASN1Time, X509Certificate, X509Error, X509Version};

use super::key::{verify_p521_prehash, LeafKey};
use crate::clock::iso8601;
use crate::error::ApiError;

/// Longest certificate path considered (intermediates between leaf and anchor).
const MAX_PATH_DEPTH: usize = 8;

/// The end-entity rules of the trust model, read strictly: valid now, X.509 v3,
/// basicConstraints present with CA:FALSE, keyUsage present with digitalSignature, and signed
/// with SHA-256 or stronger (the key type is checked where the request signature is).
pub(crate) fn check_leaf(
    leaf: &X509Certificate<'_>,
    now: i64,
    at: ASN1Time,
) -> Result<(), ApiError> {
    let validity = leaf.validity();
    if at < validity.not_before {
        return Err(ApiError::access_denied(format!(
            "Signing certificate is not yet valid: notBefore is {}, server time is {}",
            iso8601(validity.not_before.timestamp()),
            iso8601(now)
        )));
    }
    if at > validity.not_after {
        return Err(ApiError::access_denied(format!(
            "Signing certificate is expired: notAfter was {}, server time is {}",
            iso8601(validity.not_after.timestamp()),
            iso8601(now)
        )));
    }
    if leaf.version() != X509Version::V3 {
        return Err(ApiError::access_denied(format!(
            "Signing certificate is X.509 v{}; it must be X.509 v3",
            leaf.version().0 + 1
        )));
    }
    let basic = leaf.basic_constraints().map_err(|_| {
        ApiError::access_denied("Signing certificate has a malformed basicConstraints extension")
    })?;
    match basic {
        None => {
            return Err(ApiError::access_denied(
                "Signing certificate has no basicConstraints extension; it must include \
                 basicConstraints with CA:FALSE",
            ))
        }
        Some(b) if b.value.ca => {
            return Err(ApiError::access_denied(
                "Signing certificate is a CA certificate (basicConstraints CA:TRUE); the signing \
                 certificate must be an end-entity certificate",
            ))
        }
        Some(_) => {}
    }
    let key_usage = leaf.key_usage().map_err(|_| {
        ApiError::access_denied("Signing certificate has a malformed keyUsage extension")
    })?;
    match key_usage {
        None => {
            return Err(ApiError::access_denied(
                "Signing certificate has no keyUsage extension; it must include keyUsage with \
                 digitalSignature",
            ))
        }
        Some(ku) if !ku.value.digital_signature() => {
            return Err(ApiError::access_denied(
                "Signing certificate's keyUsage does not include digitalSignature",
            ))
        }
        Some(_) => {}
    }
    let alg = &leaf.signature_algorithm.algorithm;
    if !accepted_certificate_signature(alg) {
        return Err(ApiError::access_denied(format!(
            "Signing certificate is signed with algorithm {alg}, which is not accepted: the \
             signature must use SHA-256 or stronger (SHA-1 and MD5 are refused)"
        )));
    }
    Ok(())
}

/// Depth-first search for a path from a certificate to a trust anchor CA.
pub(crate) struct PathSearch<'a, 'c> {
    pub(crate) chain: &'a [X509Certificate<'c>],
    pub(crate) anchors: &'a [X509Certificate<'c>],
    pub(crate) used: Vec<bool>,
    pub(crate) at: ASN1Time,
    /// The most recent reason a candidate issuer was refused, for the error message.
    pub(crate) problem: Option<String>,
}

impl PathSearch<'_, '_> {
    /// Whether `cert` (with `below` intermediates under it) leads to an anchor.
    pub(crate) fn extend(&mut self, cert: &X509Certificate<'_>, below: usize) -> bool {
        if below > MAX_PATH_DEPTH {
            self.problem = Some(format!("path longer than {MAX_PATH_DEPTH} intermediates"));
            return false;
        }
        for anchor in self.anchors {
            if same_name(anchor, cert) {
                match check_issued_by(cert, anchor, below, self.at) {
                    Ok(()) => return true,
                    Err(e) => self.problem = Some(e),
                }
            }
        }
        for i in 0..self.chain.len() {
            let candidate = &self.chain[i];
            if self.used[i] || !same_name(candidate, cert) {
                continue;
            }
            if let Err(e) = check_issued_by(cert, candidate, below, self.at) {
                self.problem = Some(e);
                continue;
            }
            self.used[i] = true;
            if self.extend(candidate, below + 1) {
                return true;
            }
            self.used[i] = false;
        }
        false
    }
}

/// Whether `issuer`'s subject is `cert`'s issuer name.
fn same_name(issuer: &X509Certificate<'_>, cert: &X509Certificate<'_>) -> bool {
    issuer.subject().as_raw() == cert.issuer().as_raw()
        || issuer.subject().to_string() == cert.issuer().to_string()
}

/// Checks that `issuer` may have issued `cert` and did: valid now, a CA allowed to sign
/// certificates with room in its path length, and `cert`'s signature verifies with its key.
fn check_issued_by(
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    below: usize,
    at: ASN1Time,
) -> Result<(), String> {
    let name = issuer.subject();
    if !issuer.validity().is_valid_at(at) {
        return Err(format!(
            "issuer '{name}' is not valid at the server time (valid {} to {})",
            iso8601(issuer.validity().not_before.timestamp()),
            iso8601(issuer.validity().not_after.timestamp())
        ));
    }
    let basic = issuer
        .basic_constraints()
        .map_err(|_| format!("issuer '{name}' has a malformed basicConstraints extension"))?;
    let Some(basic) = basic.filter(|b| b.value.ca) else {
        return Err(format!(
            "issuer '{name}' is not a CA certificate (basicConstraints CA:TRUE missing)"
        ));
    };
    if let Some(limit) = basic.value.path_len_constraint {
        if below > usize::try_from(limit).unwrap_or(usize::MAX) {
            return Err(format!(
                "issuer '{name}' has pathLenConstraint {limit} but {below} intermediates follow it"
            ));
        }
    }
    let key_usage = issuer
        .key_usage()
        .map_err(|_| format!("issuer '{name}' has a malformed keyUsage extension"))?;
    if key_usage.is_some_and(|ku| !ku.value.key_cert_sign()) {
        return Err(format!(
            "issuer '{name}' keyUsage does not include keyCertSign"
        ));
    }
    let alg = &cert.signature_algorithm.algorithm;
    if !accepted_certificate_signature(alg) {
        return Err(format!(
            "certificate '{}' is signed with algorithm {alg}, which is not accepted (SHA-1 and \
             MD5 signatures are refused)",
            cert.subject()
        ));
    }
    if let Some(verified) = crate::mldsa::verify_issued(cert, issuer) {
        return if verified {
            Ok(())
        } else {
            Err(format!(
                "the ML-DSA signature on '{}' does not verify with the key of '{name}'",
                cert.subject()
            ))
        };
    }
    match cert.verify_signature(Some(issuer.public_key())) {
        Ok(()) => Ok(()),
        Err(X509Error::SignatureUnsupportedAlgorithm) if verify_p521_issued(cert, issuer) => Ok(()),
        Err(_) => Err(format!(
            "the signature on '{}' does not verify with the key of '{name}'",
            cert.subject()
        )),
    }
}

fn accepted_certificate_signature(alg: &Oid<'_>) -> bool {
    [
        OID_PKCS1_SHA256WITHRSA,
        OID_PKCS1_SHA384WITHRSA,
        OID_PKCS1_SHA512WITHRSA,
        OID_PKCS1_RSASSAPSS,
        OID_SIG_ECDSA_WITH_SHA256,
        OID_SIG_ECDSA_WITH_SHA384,
        OID_SIG_ECDSA_WITH_SHA512,
    ]
    .contains(alg)
        || crate::mldsa::is_signature_oid(alg)
}

/// `ring` (behind x509-parser) has no P-521; verify such issuers' signatures with `p521`.
fn verify_p521_issued(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    let Ok(LeafKey::P521(key)) = LeafKey::from_spki(issuer.public_key()) else {
        return false;
    };
    let tbs = cert.tbs_certificate.as_ref();
    let alg = &cert.signature_algorithm.algorithm;
    let digest = if *alg == OID_SIG_ECDSA_WITH_SHA256 {
        Sha256::digest(tbs).to_vec()
    } else if *alg == OID_SIG_ECDSA_WITH_SHA384 {
        Sha384::digest(tbs).to_vec()
    } else if *alg == OID_SIG_ECDSA_WITH_SHA512 {
        Sha512::digest(tbs).to_vec()
    } else {
        return false;
    };
    verify_p521_prehash(&key, &digest, &cert.signature_value.data)
}
