//! Revocation by the CRLs imported into a trust anchor (`ImportCrl`): a certificate of the path
//! whose serial a CRL of its issuer lists is refused. A CRL counts only if its signature
//! verifies with the key of a certificate of the path (or the bundle) named as its issuer, so a
//! CRL that merely carries the right name revokes nothing. Its dates are not judged, as an
//! imported CRL stays in force until it is replaced.

use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

/// Why a certificate of the path is refused, or `None` when no CRL revokes any.
pub(crate) fn revoked(
    path: &[&X509Certificate<'_>],
    issuers: &[&X509Certificate<'_>],
    crls: &[Vec<u8>],
) -> Option<String> {
    for cert in path {
        for der in crls {
            let Ok(([], crl)) = CertificateRevocationList::from_der(der) else {
                continue;
            };
            if crl.issuer().as_raw() != cert.issuer().as_raw() {
                continue;
            }
            let genuine = issuers.iter().any(|issuer| {
                issuer.subject().as_raw() == crl.issuer().as_raw()
                    && crl.verify_signature(issuer.public_key()).is_ok()
            });
            if !genuine {
                continue;
            }
            let serial = &cert.tbs_certificate.serial;
            let revoked_at = crl
                .iter_revoked_certificates()
                .find(|r| r.serial() == serial)
                .map(|r| r.revocation_date.timestamp());
            if let Some(at) = revoked_at {
                return Some(format!(
                    "Certificate '{}' (serial {}) is revoked: a CRL of '{}' imported into the \
                     trust anchor lists it (revoked {})",
                    cert.subject(),
                    serial.to_str_radix(16),
                    crl.issuer(),
                    crate::clock::iso8601(at)
                ));
            }
        }
    }
    None
}
