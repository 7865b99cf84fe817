//! TLS for the CreateSession call: rustls with the ring provider, the system's trust roots plus
//! `AWS_CA_BUNDLE`, or no verification at all with `--no-verify-ssl`.
//!
//! Reading and parsing every system root costs about as much as the rest of a cold
//! `credential-process` run (see `net::roots`), so when `AWS_CA_BUNDLE` is set we verify
//! against the bundle first and only load the system roots if the server's chain does not lead
//! to the bundle.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};
use crate::identity::read_certificates;

/// Builds the client TLS configuration.
///
/// # Errors
/// When `AWS_CA_BUNDLE` names a file that cannot be read or holds no certificate.
pub fn client_config(no_verify: bool, ca_bundle: Option<&Path>) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .dangerous();
    let bundle = match ca_bundle {
        Some(path) if !no_verify => Some(verifier_for(roots_from_file(path)?, &provider)?),
        _ => None,
    };
    let verifier = Arc::new(Verifier {
        verify: !no_verify,
        bundle,
        system: OnceLock::new(),
        provider,
    });
    let mut config = builder
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn roots_from_file(path: &Path) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in read_certificates(path)? {
        roots
            .add(CertificateDer::from(cert.der().to_vec()))
            .map_err(|e| Error::CaBundle {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
    }
    Ok(roots)
}

fn verifier_for(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::TrustRoots(e.to_string()))
}

/// Verifies against `AWS_CA_BUNDLE` (when set), falling back to the system roots, loaded on first
/// need. With `verify` off (`--no-verify-ssl`) any server certificate is accepted; the handshake
/// signature is still checked, so the connection is at least to whoever holds that certificate's
/// key.
struct Verifier {
    verify: bool,
    bundle: Option<Arc<WebPkiServerVerifier>>,
    system: OnceLock<std::result::Result<Arc<WebPkiServerVerifier>, String>>,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("verify", &self.verify)
            .field("bundle", &self.bundle.is_some())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    fn system(&self) -> std::result::Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.system
            .get_or_init(|| {
                verifier_for(super::roots::system_roots(), &self.provider)
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| rustls::Error::General(e.clone()))
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if !self.verify {
            return Ok(ServerCertVerified::assertion());
        }
        if let Some(bundle) = &self.bundle {
            match bundle.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {}
                other => return other,
            }
        }
        self.system()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
