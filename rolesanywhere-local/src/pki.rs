//! Throwaway PKI made with rcgen: the demo client identity (root CA → intermediate → EC P-256
//! leaf, plus a matching endpoint configuration) and the endpoint's own TLS server certificate.
//!
//! Nothing here is meant to be kept: keys are fresh on every call, and the CA private keys are
//! never written anywhere (the demo only needs the certificates to build its trust anchor).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rand::Rng;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SerialNumber,
};

use crate::error::Error;

/// Region of the demo configuration.
pub const DEMO_REGION: &str = "us-east-1";
/// Account of the demo configuration.
pub const DEMO_ACCOUNT: &str = "123456789012";
/// Trust anchor of the demo configuration.
pub const DEMO_TRUST_ANCHOR_ARN: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0d3f1c9e-7a52-4b8e-9c61-5e2a7b4d1f00";
/// Profile of the demo configuration.
pub const DEMO_PROFILE_ARN: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:profile/6a1e4b27-93c0-4d5f-8e12-0b7c9d3a2e11";
/// Role the demo profile lets the client assume.
pub const DEMO_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/demo-role";
/// A second role that `DEMO_ROLE_ARN` may `sts:AssumeRole` into (role chaining demo).
pub const DEMO_CHAINED_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/demo-chained-role";

/// The files written by [`generate_demo`] and the ARNs of the configuration it wrote.
#[derive(Clone, Debug)]
pub struct DemoPki {
    /// The directory everything was written to.
    pub dir: PathBuf,
    /// `ca/root.pem`: the root CA certificate (the trust anchor's bundle).
    pub root_ca: PathBuf,
    /// `ca/intermediate.pem`: the intermediate CA certificate.
    pub intermediate_ca: PathBuf,
    /// `client/cert.pem`: the EC P-256 end-entity certificate.
    pub certificate: PathBuf,
    /// `client/chain.pem`: the intermediate, for `--intermediates`.
    pub intermediates: PathBuf,
    /// `client/key.pem`: the leaf's PKCS#8 private key (mode 0600 on Unix).
    pub private_key: PathBuf,
    /// `config.toml`: an endpoint configuration trusting the root.
    pub config: PathBuf,
    /// The leaf's serial number in decimal.
    pub serial: String,
    /// The configured trust anchor.
    pub trust_anchor_arn: String,
    /// The configured profile.
    pub profile_arn: String,
    /// The role the profile allows.
    pub role_arn: String,
    /// The configured region.
    pub region: String,
}

/// Writes a fresh demo PKI and configuration into `dir` (created if missing).
///
/// The leaf is valid from one hour ago for 30 days, has `digitalSignature` and `clientAuth`, and
/// chains root → intermediate → leaf. The configuration's profile accepts role session names,
/// allows sessions of up to 12 hours, and `DEMO_ROLE_ARN` may assume `DEMO_CHAINED_ROLE_ARN`.
///
/// # Errors
/// [`Error::Pki`] if generation fails, [`Error::Io`] if a file cannot be written.
pub fn generate_demo(dir: &Path) -> Result<DemoPki, Error> {
    let pki = |e: rcgen::Error| Error::Pki(e.to_string());
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    let day = hour * 24;

    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(pki)?;
    let mut root_params = ca_params("rolesanywhere-local Demo Root CA", None)?;
    root_params.not_before = (now - hour).into();
    root_params.not_after = (now + day * 3650).into();
    let root = root_params.self_signed(&root_key).map_err(pki)?;

    let int_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(pki)?;
    let mut int_params = ca_params("rolesanywhere-local Demo Intermediate CA", Some(0))?;
    int_params.not_before = (now - hour).into();
    int_params.not_after = (now + day * 1825).into();
    let intermediate = int_params
        .signed_by(&int_key, &root, &root_key)
        .map_err(pki)?;

    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(pki)?;
    let mut leaf_params = CertificateParams::new(Vec::<String>::new()).map_err(pki)?;
    leaf_params.distinguished_name = name("rolesanywhere-local demo client");
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    let serial = random_serial();
    leaf_params.serial_number = Some(SerialNumber::from_slice(&serial));
    leaf_params.not_before = (now - hour).into();
    leaf_params.not_after = (now + day * 30).into();
    let leaf = leaf_params
        .signed_by(&leaf_key, &intermediate, &int_key)
        .map_err(pki)?;

    let demo = DemoPki {
        dir: dir.to_path_buf(),
        root_ca: dir.join("ca/root.pem"),
        intermediate_ca: dir.join("ca/intermediate.pem"),
        certificate: dir.join("client/cert.pem"),
        intermediates: dir.join("client/chain.pem"),
        private_key: dir.join("client/key.pem"),
        config: dir.join("config.toml"),
        serial: num_bigint::BigUint::from_bytes_be(&serial).to_str_radix(10),
        trust_anchor_arn: DEMO_TRUST_ANCHOR_ARN.into(),
        profile_arn: DEMO_PROFILE_ARN.into(),
        role_arn: DEMO_ROLE_ARN.into(),
        region: DEMO_REGION.into(),
    };
    for sub in ["ca", "client"] {
        let path = dir.join(sub);
        std::fs::create_dir_all(&path)
            .map_err(|e| Error::io("cannot create directory", path, e))?;
    }
    write(&demo.root_ca, root.pem().as_bytes(), false)?;
    write(&demo.intermediate_ca, intermediate.pem().as_bytes(), false)?;
    write(&demo.certificate, leaf.pem().as_bytes(), false)?;
    write(&demo.intermediates, intermediate.pem().as_bytes(), false)?;
    write(&demo.private_key, leaf_key.serialize_pem().as_bytes(), true)?;
    write(&demo.config, demo_config().as_bytes(), false)?;
    Ok(demo)
}

fn demo_config() -> String {
    format!(
        "# Written by rolesanywhere-local's demo PKI generator.\n\
         region = \"{DEMO_REGION}\"\n\
         account = \"{DEMO_ACCOUNT}\"\n\n\
         [[trust_anchor]]\n\
         arn = \"{DEMO_TRUST_ANCHOR_ARN}\"\n\
         ca_bundle = \"ca/root.pem\"\n\
         enabled = true\n\n\
         [[profile]]\n\
         arn = \"{DEMO_PROFILE_ARN}\"\n\
         role_arns = [\"{DEMO_ROLE_ARN}\"]\n\
         duration_seconds = 43200\n\
         enabled = true\n\
         accept_role_session_name = true\n\n\
         [[role]]\n\
         arn = \"{DEMO_ROLE_ARN}\"\n\
         trusted_roles = []\n\n\
         [[role]]\n\
         arn = \"{DEMO_CHAINED_ROLE_ARN}\"\n\
         trusted_roles = [\"{DEMO_ROLE_ARN}\"]\n"
    )
}

/// The endpoint's generated TLS identity: a throwaway CA and a server certificate it signed.
pub(crate) struct TlsIdentity {
    pub(crate) ca_pem: String,
    pub(crate) cert_der: Vec<u8>,
    pub(crate) cert_pem: String,
    pub(crate) key_der: Vec<u8>,
    pub(crate) key_pem: String,
}

/// The endpoint's TLS files as the demo keeps them, so that a restarted endpoint has the same CA.
#[derive(Clone, Debug)]
pub struct DemoTls {
    /// `tls/ca.pem`: the CA clients trust (`AWS_CA_BUNDLE`).
    pub ca: PathBuf,
    /// `tls/cert.pem`: the server certificate (`--tls-cert`).
    pub cert: PathBuf,
    /// `tls/key.pem`: its private key (`--tls-key`; mode 0600 on Unix).
    pub key: PathBuf,
}

/// The endpoint's TLS files in `dir/tls`: those a previous demo wrote, else fresh ones.
///
/// # Errors
/// [`Error::Tls`] if generation fails, [`Error::Io`] if a file cannot be written.
pub fn demo_tls(dir: &Path) -> Result<DemoTls, Error> {
    let tls = DemoTls {
        ca: dir.join("tls/ca.pem"),
        cert: dir.join("tls/cert.pem"),
        key: dir.join("tls/key.pem"),
    };
    if [&tls.ca, &tls.cert, &tls.key].iter().all(|p| p.is_file()) {
        return Ok(tls);
    }
    let sub = dir.join("tls");
    std::fs::create_dir_all(&sub).map_err(|e| Error::io("cannot create directory", sub, e))?;
    let identity = generate_tls()?;
    write(&tls.ca, identity.ca_pem.as_bytes(), false)?;
    write(&tls.cert, identity.cert_pem.as_bytes(), false)?;
    write(&tls.key, identity.key_pem.as_bytes(), true)?;
    Ok(tls)
}

/// Generates a CA and a server certificate for `localhost`, `127.0.0.1` and `::1`.
pub(crate) fn generate_tls() -> Result<TlsIdentity, Error> {
    let tls = |e: rcgen::Error| Error::Tls(e.to_string());
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);

    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(tls)?;
    let mut ca_params = ca_params("rolesanywhere-local TLS CA", Some(0))?;
    ca_params.not_before = (now - hour).into();
    ca_params.not_after = (now + hour * 24 * 30).into();
    let ca = ca_params.self_signed(&ca_key).map_err(tls)?;

    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(tls)?;
    let mut params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .map_err(tls)?;
    params.distinguished_name = name("localhost");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    params.not_before = (now - hour).into();
    params.not_after = (now + hour * 24 * 30).into();
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(tls)?;
    Ok(TlsIdentity {
        ca_pem: ca.pem(),
        cert_der: cert.der().to_vec(),
        cert_pem: cert.pem(),
        key_der: key.serialize_der(),
        key_pem: key.serialize_pem(),
    })
}

fn ca_params(common_name: &str, path_len: Option<u8>) -> Result<CertificateParams, Error> {
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| Error::Pki(e.to_string()))?;
    params.distinguished_name = name(common_name);
    params.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    Ok(params)
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn.push(DnType::OrganizationName, "rolesanywhere-local");
    dn
}

/// 16 random bytes, positive and without a leading zero byte (a canonical DER INTEGER).
fn random_serial() -> [u8; 16] {
    let mut serial: [u8; 16] = rand::thread_rng().gen();
    serial[0] = (serial[0] & 0x7f) | 0x10;
    serial
}

fn write(path: &Path, data: &[u8], private: bool) -> Result<(), Error> {
    let result = if private {
        write_private(path, data)
    } else {
        std::fs::write(path, data)
    };
    result.map_err(|e| Error::io("cannot write", path, e))
}

/// Writes a private key readable by the owner only.
#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its old mode through open(); tighten it explicitly.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(data)
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}
