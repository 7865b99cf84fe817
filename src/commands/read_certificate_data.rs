//! `read-certificate-data`: print what the helper reads from a certificate.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::cli::ReadCertificateDataArgs;
use crate::error::{Error, Result};
use crate::identity::read_certificates;

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
    crate::log::set_enabled(args.debug);
    let Some(certificate) = args.certificate else {
        if args.cert_selector.is_some() {
            return Err(Error::Unsupported(
                "--cert-selector searches the macOS Keychain or Windows certificate store, which this platform does not have".into(),
            ));
        }
        return Err(Error::Usage(
            "no certificate given; pass --certificate FILE".into(),
        ));
    };
    if certificate.starts_with("pkcs11:") {
        return Err(Error::Unsupported(
            "PKCS#11 URIs are not supported by this build yet".into(),
        ));
    }
    let path = Path::new(&certificate);
    // The first certificate of the file is the leaf, as for credential-process.
    let leaf = read_certificates(path)?.swap_remove(0);
    // Like the official helper, an unsupported key type is reported with an empty key type.
    let key_type = leaf.public_key().map(|k| k.key_type()).unwrap_or("");
    let data = CertificateData {
        key_type: key_type.to_string(),
        certificate_data: leaf.to_base64(),
        serial_number: leaf.serial_decimal().to_string(),
        supported_algorithms: ["SHA256", "SHA384", "SHA512"]
            .iter()
            .map(|d| format!("{key_type}{d}"))
            .collect(),
    };
    let json = serde_json::to_string(&data).map_err(|e| Error::Output(e.into()))?;
    let mut out = std::io::stdout().lock();
    out.write_all(json.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}
