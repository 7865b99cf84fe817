//! Running the real `serve` on a loopback port against `rolesanywhere-local`, and querying it
//! over HTTP as the SDKs do.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use test_support::pki;
use test_support::standard::{PROFILE, ROLE, TRUST_ANCHOR};

use super::local::{helper_command, Local};

/// The IMDSv2 token path.
pub const TOKEN: &str = "/latest/api/token";
/// The IMDS role credentials path.
pub const CREDS: &str = "/latest/meta-data/iam/security-credentials";
/// The token TTL header, asked for and echoed.
pub const TTL: &str = "x-aws-ec2-metadata-token-ttl-seconds";
/// The header carrying the IMDSv2 token.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";

/// A running `serve`; killed on drop.
pub struct Serve {
    /// The `serve` process.
    pub child: Child,
    /// The loopback port it listens on.
    pub port: u16,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    /// Starts `serve`; panics with its stderr if it stops before listening.
    pub fn start(local: &Local, extra: &[&str], env: &[(&str, &str)]) -> Serve {
        Self::try_start(local, extra, env).unwrap_or_else(|(code, err)| {
            panic!("serve did not start (exit {code:?}): {err}");
        })
    }

    /// Starts `serve` with the standard ARNs and the rsa-2048 identity unless `extra` gives
    /// another; returns the exit code and stderr if it stops before listening.
    pub fn try_start(
        local: &Local,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Serve, (Option<i32>, String)> {
        let ca = local.ca.to_string_lossy().into_owned();
        let mut env = env.to_vec();
        env.insert(0, ("AWS_CA_BUNDLE", ca.as_str()));
        Self::try_start_at(&local.url(), extra, &env)
    }

    /// Like [`Serve::try_start`], against any endpoint URL (a misbehaving test server, say);
    /// `env` sets `AWS_CA_BUNDLE` when the endpoint needs one.
    pub fn try_start_at(
        url: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Serve, (Option<i32>, String)> {
        let url = url.to_string();
        let cert = pki("rsa-2048", "fullchain.pem");
        let key = pki("rsa-2048", "key-pkcs8.pem");
        let mut args = vec![
            "serve",
            "--trust-anchor-arn",
            TRUST_ANCHOR,
            "--profile-arn",
            PROFILE,
            "--role-arn",
            ROLE,
            "--endpoint",
            &url,
        ];
        if !extra.contains(&"--port") {
            args.extend(["--port", "0"]);
        }
        if !extra.contains(&"--certificate") {
            args.extend(["--certificate", &cert, "--private-key", &key]);
        }
        args.extend(extra);
        let mut cmd = helper_command(&args);
        cmd.env_remove("AWS_CONTAINER_AUTHORIZATION_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line
                    .split("AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:")
                    .nth(1)
                {
                    let _ = port_tx.send(rest.trim_end_matches('/').parse::<u16>().unwrap());
                }
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        match port_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => Ok(Serve {
                child,
                port,
                stderr,
            }),
            Err(_) => {
                let status = child.wait().unwrap();
                // Let the reader thread drain the pipe.
                std::thread::sleep(Duration::from_millis(100));
                let err = stderr.lock().unwrap().clone();
                Err((status.code(), err))
            }
        }
    }

    /// Asserts `serve` fails to start the way every bad input must (exit 1, one line naming
    /// `needle`, no panic) and returns that line.
    pub fn start_fails(
        local: &Local,
        extra: &[&str],
        env: &[(&str, &str)],
        needle: &str,
    ) -> String {
        let (code, stderr) = match Self::try_start(local, extra, env) {
            Ok(serve) => panic!("serve started on port {}", serve.port),
            Err(failed) => failed,
        };
        assert_eq!(code, Some(1), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
        stderr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// What `serve` printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr contains `needle`.
    pub fn wait_for_stderr(&self, needle: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.stderr().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} never appeared in: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP client with no proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Sends one request; returns the status, headers and body.
pub async fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut request = client().request(method, url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// An IMDSv2 session token with a 300-second TTL.
pub async fn token(serve: &Serve) -> String {
    let (status, _, token) = send(Method::PUT, &serve.url(TOKEN), &[(TTL, "300")]).await;
    assert_eq!(status, StatusCode::OK);
    token
}

/// The role's credentials over IMDSv2 (token first), as the SDKs fetch them.
pub async fn imds_credentials(serve: &Serve) -> serde_json::Value {
    let token = token(serve).await;
    let url = serve.url(&format!("{CREDS}/test-role"));
    let (status, _, body) = send(Method::GET, &url, &[(TOKEN_HEADER, &token)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// The TTLs of the IPv4 TCP packets sent from `port` on loopback while `during` runs, read with
/// a raw socket (which needs root or CAP_NET_RAW: without it this fails, it does not skip), and
/// whether one of them carried the start of an HTTP response.
///
/// The raw socket sees every TCP packet on the machine's loopback, other tests' too: a thread
/// reads it while `during` runs (and half a second after), so that a busy loopback cannot fill
/// its receive buffer and drop the packets looked for.
#[cfg(target_os = "linux")]
pub fn ttls_from_port(port: u16, during: impl FnOnce()) -> (Vec<u8>, bool) {
    use std::io::Read;
    use std::sync::atomic::{AtomicBool, Ordering};

    use socket2::{Domain, Protocol, Socket, Type};

    let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::TCP)).unwrap_or_else(|e| {
        panic!("observing --hop-limit needs a raw socket (root or CAP_NET_RAW): {e}")
    });
    raw.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let (mut ttls, mut response) = (Vec::new(), false);
            let mut packet = [0u8; 65_536];
            let mut deadline = None;
            loop {
                if deadline.is_none() && done.load(Ordering::SeqCst) {
                    deadline = Some(Instant::now() + Duration::from_millis(500));
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let Ok(n) = (&raw).read(&mut packet) else {
                    continue;
                };
                // IPv4 header: TTL at byte 8, header length in the low nibble of byte 0; then
                // TCP, source port first and the data offset in the high nibble of byte 12.
                let ip = usize::from(packet[0] & 0x0f) * 4;
                if n < ip + 20 || u16::from_be_bytes([packet[ip], packet[ip + 1]]) != port {
                    continue;
                }
                ttls.push(packet[8]);
                let data = ip + usize::from(packet[ip + 12] >> 4) * 4;
                response |= packet[data..n].starts_with(b"HTTP/1.1 200");
            }
            (ttls, response)
        })
    };
    during();
    done.store(true, Ordering::SeqCst);
    reader.join().expect("the packet reader")
}
