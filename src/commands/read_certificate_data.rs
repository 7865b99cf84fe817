//! `read-certificate-data`: print what the helper reads from a certificate.

use std::io::Write;

use serde::Serialize;

use crate::cli::ReadCertificateDataArgs;
use crate::error::{Error, IdentityError, Result};
use rolesanywhere_credentials::identity::{self, CertSelector, Certificate, Certificates};

/// The official helper's JSON shape (field names and order).
#[derive(Serialize)]
struct CertificateData {
    #[serde(rename = "keyType")]
    key_type: String,
    #[serde(rename = "certificateData")]
    certificate_data: String,
    #[serde(rename = "serialNumber")]
    serial_number: String,
    #[serde(rename = "supportedAlgorithms")]
    supported_algorithms: Vec<String>,
}

/// Runs `read-certificate-data`.
pub(super) fn run(args: ReadCertificateDataArgs) -> Result<()> {
    rolesanywhere_credentials::log::set_enabled(args.debug);
    // Parsed first, as the official helper does; this platform has no store to search.
    let selector = match args.cert_selector.as_deref() {
        Some(s) if !s.is_empty() => Some(CertSelector::parse(s)?),
        _ => None,
    };
    if selector.is_none() && args.system_store_name.is_some() {
        return Err(IdentityError::StoreFlagWithoutSelector {
            flag: "--system-store-name",
            store: "Windows certificate store",
        }
        .into());
    }
    let Some(certificate) = args.certificate else {
        if selector.is_some() {
            return Err(IdentityError::CertStoreListing.into());
        }
        return Err(Error::Usage(
            "no certificate given; pass --certificate FILE".into(),
        ));
    };
    let leaf = match identity::certificates(&certificate, args.pkcs11_lib.as_deref())? {
        Certificates::File(leaf) => leaf,
        Certificates::Token(found) => return list(&found),
    };
    // Like the official helper, an unsupported key type is reported with an empty key type.
    let key = leaf.public_key().ok();
    let key_type = key.map(|k| k.key_type()).unwrap_or("");
    let supported_algorithms = match key {
        // ML-DSA has no digest to choose: its one algorithm is the parameter set.
        Some(k) if !k.hashes_message() => vec![key_type.to_string()],
        _ => ["SHA256", "SHA384", "SHA512"]
            .iter()
            .map(|d| format!("{key_type}{d}"))
            .collect(),
    };
    let data = CertificateData {
        key_type: key_type.to_string(),
        certificate_data: leaf.to_base64(),
        serial_number: leaf.serial_decimal().to_string(),
        supported_algorithms,
    };
    // A struct of strings always serialises.
    let json = serde_json::to_string(&data).expect("strings serialise");
    let mut out = std::io::stdout().lock();
    out.write_all(json.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

/// Lists every certificate a PKCS#11 URI matches, as the official helper does: a numbered block
/// per certificate with its fingerprint, names, serial and a URI naming exactly that object.
fn list(found: &[(String, Certificate)]) -> Result<()> {
    let mut text = String::new();
    if found.is_empty() {
        text.push_str("No matching identities\n");
    } else {
        text.push_str("Matching identities\n");
        for (i, (uri, c)) in found.iter().enumerate() {
            text.push_str(&format!(
                "{}) Hex Fingerprint: {}\nSubject: {}\nIssuer: {}\nSerial Number: {}\nURI: {}\n\n",
                i + 1,
                c.sha1_fingerprint(),
                c.subject(),
                c.issuer(),
                c.serial_hex(),
                uri
            ));
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}
