//! The yardstick for the cold-start benchmark (benches/cold_start.sh): the least a credential
//! helper can do. One process start, one private-key read, one signature, one TLS handshake and
//! one POST, with the same crypto and TLS libraries as the product, and nothing else.
//!
//! Usage: yardstick <host:port> <ca.pem> <key-pkcs8.pem> <rsa|ec>

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, ca, key, kind] = &args[..] else {
        eprintln!("usage: yardstick <host:port> <ca.pem> <key-pkcs8.pem> <rsa|ec>");
        std::process::exit(2);
    };

    // One key read and one signature.
    let key = PrivatePkcs8KeyDer::from_pem_file(key).expect("read key");
    let rng = ring::rand::SystemRandom::new();
    let message = b"yardstick string to sign";
    let signature = if kind == "rsa" {
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
    let body = format!("{{\"signature\":\"{}\"}}", hex::encode(&signature));
    let request = format!(
        "POST /sessions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    // The server closes the connection after answering; an unclean close is fine here.
    let _ = tls.read_to_end(&mut response);
    assert!(response.starts_with(b"HTTP/1.1 "), "no HTTP answer");
}
