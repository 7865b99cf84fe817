//! The yardstick for the cold-start benchmark (benches/cold_start.sh): the least a credential
//! helper can do. One process start, one private-key read, one signature, one TLS handshake and
//! one POST, with the same crypto and TLS libraries as the product, and nothing else: no flag
//! parsing, no validation, no retries, no error messages.
//!
//! The POST is a real CreateSession request (hard-coded headers, the signature over its canonical
//! request), so the endpoint does the same verification work for both contestants.
//!
//! Usage: yardstick <host:port> <ca.pem> <fullchain.pem> <key-pkcs8.pem> <rsa|ec|mldsa> <ta> <profile> <role>
//! (`mldsa`: an ML-DSA-65 key in the PKCS#8 seed form.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, ca, certs, key, kind, ta, profile, role] = &args[..] else {
        eprintln!("usage: yardstick <host:port> <ca.pem> <fullchain.pem> <key-pkcs8.pem> <rsa|ec|mldsa> <ta> <profile> <role>");
        std::process::exit(2);
    };

    // The certificate and chain, base64, and the serial for the credential scope.
    let b64 = |der: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(der)
    };
    let certs: Vec<CertificateDer> = CertificateDer::pem_file_iter(certs)
        .expect("read certificates")
        .map(|c| c.expect("certificate"))
        .collect();
    let leaf = b64(&certs[0]);
    let chain = certs[1..]
        .iter()
        .map(|c| b64(c))
        .collect::<Vec<_>>()
        .join(",");
    use x509_parser::prelude::FromDer;
    let serial = x509_parser::certificate::X509Certificate::from_der(&certs[0])
        .expect("parse leaf")
        .1
        .tbs_certificate
        .serial
        .to_str_radix(10);

    // The canonical request and string to sign, with a fixed header set.
    let now = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let amz_date = format!(
        "{date}T{:02}{:02}{:02}Z",
        now.hour(),
        now.minute(),
        now.second()
    );
    let enc = |v: &str| {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let query = format!(
        "profileArn={}&roleArn={}&trustAnchorArn={}",
        enc(profile),
        enc(role),
        enc(ta)
    );
    let body = "{\"durationSeconds\":3600}";
    let sha = |d: &[u8]| hex::encode(ring::digest::digest(&ring::digest::SHA256, d));
    let canonical = format!(
        "POST\n/sessions\n{query}\ncontent-type:application/json\nhost:{addr}\nx-amz-date:{amz_date}\n\
         x-amz-x509:{leaf}\nx-amz-x509-chain:{chain}\n\n\
         content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain\n{}",
        sha(body.as_bytes())
    );
    let algorithm = match kind.as_str() {
        "rsa" => "AWS4-X509-RSA-SHA256",
        "mldsa" => "AWS4-X509-MLDSA",
        _ => "AWS4-X509-ECDSA-SHA256",
    };
    let scope = format!("{date}/us-east-1/rolesanywhere/aws4_request");
    let string_to_sign = format!(
        "{algorithm}\n{amz_date}\n{scope}\n{}",
        sha(canonical.as_bytes())
    );

    // One key read and one signature.
    let key = PrivatePkcs8KeyDer::from_pem_file(key).expect("read key");
    let rng = ring::rand::SystemRandom::new();
    let message = string_to_sign.as_bytes();
    let signature = if kind == "mldsa" {
        // The seed is the last 32 bytes of the seed form (`80 20 <seed>`).
        let der = key.secret_pkcs8_der();
        let seed = ml_dsa::Seed::try_from(&der[der.len() - 32..]).expect("seed");
        ml_dsa::ExpandedSigningKey::<ml_dsa::MlDsa65>::from_seed(&seed)
            .sign_deterministic(message, &[])
            .expect("sign")
            .encode()
            .to_vec()
    } else if kind == "rsa" {
        let pair = ring::signature::RsaKeyPair::from_pkcs8(key.secret_pkcs8_der()).expect("rsa");
        let mut sig = vec![0; pair.public().modulus_len()];
        pair.sign(&ring::signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
            .expect("sign");
        sig
    } else {
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            key.secret_pkcs8_der(),
            &rng,
        )
        .expect("ec");
        pair.sign(&rng, message).expect("sign").as_ref().to_vec()
    };

    // One TLS handshake, trusting only the given CA.
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read ca") {
        roots.add(cert.expect("ca cert")).expect("add ca");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("tls versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("name");
    let connection = rustls::ClientConnection::new(Arc::new(config), name).expect("tls");
    let socket = TcpStream::connect(addr).expect("connect");
    socket.set_nodelay(true).expect("nodelay");
    let mut tls = rustls::StreamOwned::new(connection, socket);

    // One POST.
    let request = format!(
        "POST /sessions?{query} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         X-Amz-Date: {amz_date}\r\nX-Amz-X509: {leaf}\r\nX-Amz-X509-Chain: {chain}\r\n\
         Authorization: {algorithm} Credential={serial}/{scope}, \
         SignedHeaders=content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain, Signature={}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        hex::encode(&signature),
        body.len()
    );
    tls.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    // The server closes the connection after answering; an unclean close is fine here.
    let _ = tls.read_to_end(&mut response);
    assert!(
        response.starts_with(b"HTTP/1.1 201"),
        "CreateSession was not accepted"
    );
}
