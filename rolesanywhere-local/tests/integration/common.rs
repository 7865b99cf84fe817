//! What only the endpoint's tests need: configurations around the recorded vectors' ARNs, and
//! an independent AWS4-X509 / SigV4 request signer built on the OpenSSL command line (never on
//! this crate's code), so the endpoint is checked against a second implementation. Fixture
//! paths, OpenSSL, and the endpoint binary started on a port come from the `test-support`
//! crate, shared with the product's tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use test_support::openssl::{self, openssl, openssl_with_input};
pub use test_support::{testdata, ACCOUNT, EC_KINDS, ROLE, RSA_KINDS};

pub const VECTOR_DATE: &str = "20250102T030405Z";

pub fn trust_anchor_arn(region: &str) -> String {
    format!("arn:aws:rolesanywhere:{region}:123456789012:trust-anchor/6f9a2b1c-1111-2222-3333-444455556666")
}

pub fn profile_arn(region: &str) -> String {
    format!(
        "arn:aws:rolesanywhere:{region}:123456789012:profile/0a1b2c3d-4444-5555-6666-777788889999"
    )
}

/// Knobs of a generated configuration.
#[derive(Clone, Debug)]
pub struct ConfigSpec {
    pub region: String,
    pub ca_bundle: PathBuf,
    /// CRL files imported into the trust anchor.
    pub crls: Vec<PathBuf>,
    pub anchor_enabled: bool,
    pub profile_enabled: bool,
    pub max_duration: u32,
    pub accept_role_session_name: bool,
    pub roles: Vec<String>,
    pub extra: String,
}

impl Default for ConfigSpec {
    fn default() -> Self {
        ConfigSpec {
            region: "us-east-1".into(),
            ca_bundle: testdata("pki/ca/root.pem"),
            crls: Vec::new(),
            anchor_enabled: true,
            profile_enabled: true,
            max_duration: 3600,
            accept_role_session_name: false,
            roles: vec![ROLE.into()],
            extra: String::new(),
        }
    }
}

impl ConfigSpec {
    pub fn toml(&self) -> String {
        let roles = self
            .roles
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let crls = self
            .crls
            .iter()
            .map(|c| format!("\"{}\"", c.display()))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "region = \"{region}\"\naccount = \"{ACCOUNT}\"\n\n[[trust_anchor]]\narn = \"{ta}\"\n\
             ca_bundle = \"{bundle}\"\ncrls = [{crls}]\nenabled = {ae}\n\n[[profile]]\narn = \"{pr}\"\n\
             role_arns = [{roles}]\nduration_seconds = {max}\nenabled = {pe}\n\
             accept_role_session_name = {accept}\n{extra}",
            region = self.region,
            ta = trust_anchor_arn(&self.region),
            bundle = self.ca_bundle.display(),
            ae = self.anchor_enabled,
            pr = profile_arn(&self.region),
            max = self.max_duration,
            pe = self.profile_enabled,
            accept = self.accept_role_session_name,
            extra = self.extra,
        )
    }

    pub fn load(&self) -> rolesanywhere_local::Config {
        rolesanywhere_local::Config::from_toml(&self.toml(), Path::new("/"), "test.toml")
            .expect("test configuration is valid")
    }

    pub fn write(&self, dir: &Path) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(&path, self.toml()).expect("write config");
        path
    }
}

/// Base64 of a PEM certificate's DER (the PEM body, joined), one per certificate in the file.
pub fn pem_bodies(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read PEM");
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            current = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            out.extend(current.take());
        } else if let Some(body) = current.as_mut() {
            body.push_str(line);
        }
    }
    out
}

/// The certificate's serial in decimal, via `openssl x509 -serial`.
pub fn serial_decimal(cert: &Path) -> String {
    let out = openssl(&[
        "x509",
        "-noout",
        "-serial",
        "-in",
        cert.to_str().expect("utf-8"),
    ]);
    let text = String::from_utf8(out).expect("ascii");
    let hex = text.trim().trim_start_matches("serial=");
    num_bigint::BigUint::parse_bytes(hex.as_bytes(), 16)
        .expect("hex serial")
        .to_str_radix(10)
}

/// SigV4 URI encoding (test-side implementation).
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// A CreateSession request to sign with OpenSSL.
#[derive(Clone, Debug)]
pub struct CreateSession {
    pub host: String,
    pub region: String,
    pub amz_date: String,
    /// Unencoded query parameters.
    pub query: Vec<(String, String)>,
    pub body: String,
    pub cert_b64: String,
    pub chain_b64: Option<String>,
    pub algorithm: String,
    pub serial: String,
    pub key: PathBuf,
}

/// A signed request: what goes on the wire.
#[derive(Clone, Debug)]
pub struct Signed {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub canonical_request: String,
    pub string_to_sign: String,
}

impl Signed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn set_header(&mut self, name: &str, value: &str) {
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value.to_string(),
            None => self.headers.push((name.to_string(), value.to_string())),
        }
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn header_map(&self) -> axum::http::HeaderMap {
        let mut map = axum::http::HeaderMap::new();
        for (name, value) in &self.headers {
            map.append(
                axum::http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                    .expect("header name"),
                axum::http::HeaderValue::from_str(value).expect("header value"),
            );
        }
        map
    }
}

impl Signed {
    /// A recorded request: the headers and query of its canonical request, plus `authorization`.
    pub fn recorded(
        canonical: &str,
        authorization: &str,
        body: &str,
        string_to_sign: &str,
    ) -> Signed {
        let lines: Vec<&str> = canonical.split('\n').collect();
        let mut headers: Vec<(String, String)> = lines[3..]
            .iter()
            .take_while(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').expect("header line");
                (n.to_string(), v.to_string())
            })
            .collect();
        headers.push(("authorization".into(), authorization.trim().to_string()));
        Signed {
            method: "POST".into(),
            path: "/sessions".into(),
            query: lines[2].to_string(),
            headers,
            body: body.to_string(),
            canonical_request: canonical.to_string(),
            string_to_sign: string_to_sign.to_string(),
        }
    }
}

impl CreateSession {
    /// A request for the leaf in `testdata/pki/<kind>` (or any cert/key pair), with the standard
    /// test ARNs in the query and `{"durationSeconds":3600}` as body.
    pub fn new(cert: &Path, key: &Path, chain: Option<&Path>, region: &str, host: &str) -> Self {
        let pubkey = openssl(&[
            "x509",
            "-noout",
            "-pubkey",
            "-in",
            cert.to_str().expect("utf-8"),
        ]);
        let pubkey = String::from_utf8(pubkey).expect("ascii");
        let text = String::from_utf8(openssl_with_input(
            &["pkey", "-pubin", "-noout", "-text"],
            pubkey.as_bytes(),
        ))
        .expect("ascii");
        let algorithm = if text.contains("ASN1 OID") || text.contains("NIST CURVE") {
            "AWS4-X509-ECDSA-SHA256"
        } else {
            "AWS4-X509-RSA-SHA256"
        };
        CreateSession {
            host: host.into(),
            region: region.into(),
            amz_date: VECTOR_DATE.into(),
            query: vec![
                ("profileArn".into(), profile_arn(region)),
                ("roleArn".into(), ROLE.into()),
                ("trustAnchorArn".into(), trust_anchor_arn(region)),
            ],
            body: "{\"durationSeconds\":3600}".into(),
            cert_b64: pem_bodies(cert).remove(0),
            chain_b64: chain.map(|c| pem_bodies(c).join(",")),
            algorithm: algorithm.into(),
            serial: serial_decimal(cert),
            key: key.to_path_buf(),
        }
    }

    /// The fixture leaf `testdata/pki/<kind>` with its intermediate as chain.
    pub fn fixture(kind: &str, region: &str, host: &str) -> Self {
        let dir = testdata("pki").join(kind);
        Self::new(
            &dir.join("cert.pem"),
            &dir.join("key-pkcs8.pem"),
            Some(&dir.join("chain.pem")),
            region,
            host,
        )
    }

    /// Builds the canonical request (test-side implementation) and signs it with OpenSSL.
    pub fn sign(&self) -> Signed {
        let mut query: Vec<(String, String)> =
            self.query.iter().map(|(k, v)| (enc(k), enc(v))).collect();
        query.sort();
        let query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("host".to_string(), self.host.clone()),
            ("x-amz-date".to_string(), self.amz_date.clone()),
            ("x-amz-x509".to_string(), self.cert_b64.clone()),
        ];
        if let Some(chain) = &self.chain_b64 {
            headers.push(("x-amz-x509-chain".to_string(), chain.clone()));
        }
        let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
        let signed_headers = headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let canonical_request = format!(
            "POST\n/sessions\n{query}\n{canonical_headers}\n{signed_headers}\n{}",
            hex_sha256(self.body.as_bytes())
        );
        let scope = format!(
            "{}/{}/rolesanywhere/aws4_request",
            &self.amz_date[..8],
            self.region
        );
        let string_to_sign = format!(
            "{}\n{}\n{scope}\n{}",
            self.algorithm,
            self.amz_date,
            hex_sha256(canonical_request.as_bytes())
        );
        let signature = hex::encode(openssl::sign(&self.key, string_to_sign.as_bytes()));
        headers.push((
            "authorization".into(),
            format!(
                "{} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                self.algorithm, self.serial
            ),
        ));
        Signed {
            method: "POST".into(),
            path: "/sessions".into(),
            query,
            headers,
            body: self.body.clone(),
            canonical_request,
            string_to_sign,
        }
    }
}

/// `X-Amz-Date` for now.
pub fn amz_date_now() -> String {
    amz_date_of(std::time::SystemTime::now())
}

/// `X-Amz-Date` of `t`, formatted by `date(1)`.
pub fn amz_date_of(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y%m%dT%H%M%SZ"])
        .output()
        .expect("date runs");
    String::from_utf8(out.stdout)
        .expect("ascii")
        .trim()
        .to_string()
}

/// Standard SigV4 for an STS form POST to `/`, computed with OpenSSL's HMAC.
pub struct StsRequest<'a> {
    pub host: &'a str,
    pub region: &'a str,
    pub amz_date: &'a str,
    pub body: &'a str,
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub token: Option<&'a str>,
}

impl StsRequest<'_> {
    /// The headers to send (including Authorization).
    pub fn sign(&self) -> Vec<(String, String)> {
        let mut headers = vec![
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            ),
            ("host".to_string(), self.host.to_string()),
            ("x-amz-date".to_string(), self.amz_date.to_string()),
        ];
        if let Some(token) = self.token {
            headers.push(("x-amz-security-token".into(), token.into()));
        }
        let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
        let signed = headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(";");
        let canonical_request = format!(
            "POST\n/\n\n{canonical_headers}\n{signed}\n{}",
            hex_sha256(self.body.as_bytes())
        );
        let date = &self.amz_date[..8];
        let scope = format!("{date}/{}/sts/aws4_request", self.region);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
            self.amz_date,
            hex_sha256(canonical_request.as_bytes())
        );
        let k_date = openssl::hmac(format!("AWS4{}", self.secret).as_bytes(), date.as_bytes());
        let k_region = openssl::hmac(&k_date, self.region.as_bytes());
        let k_service = openssl::hmac(&k_region, b"sts");
        let k_signing = openssl::hmac(&k_service, b"aws4_request");
        let signature = hex::encode(openssl::hmac(&k_signing, string_to_sign.as_bytes()));
        headers.push((
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, \
                 Signature={signature}",
                self.access_key_id
            ),
        ));
        headers
    }
}

/// Pulls `<Tag>value</Tag>` out of an XML document.
pub fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(xml[start..end].to_string())
}
