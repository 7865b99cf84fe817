//! A misbehaving CreateSession endpoint on loopback, and a way to run the helper against it while
//! watching how much memory it takes.
//!
//! [`Hostile::start`] serves plain HTTP on 127.0.0.1 from a thread per connection; every request
//! gets the answer that one [`Answer`] writes, raw bytes on the socket, so that a test can send
//! what no well-behaved server would: bodies that never end, heads that never end, truncated
//! JSON, credentials that are expired, empty or carry INI syntax.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the server does with each request: writes whatever it likes on the socket.
pub type Answer = Arc<dyn Fn(&mut TcpStream) + Send + Sync>;

/// A running hostile endpoint; it stops accepting when dropped (threads serving a connection
/// stop when the client goes away).
pub struct Hostile {
    port: u16,
    requests: Arc<AtomicUsize>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Hostile {
    /// Serves `answer` to every request.
    pub fn start(answer: Answer) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (counter, stopping) = (Arc::clone(&requests), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let answer = Arc::clone(&answer);
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || {
                    if read_request(&mut stream) {
                        counter.fetch_add(1, Ordering::SeqCst);
                        answer(&mut stream);
                        let _ = stream.flush();
                    }
                });
            }
        });
        Hostile {
            port,
            requests,
            stop,
        }
    }

    /// Answers every request with `bytes`, then closes the connection.
    pub fn fixed(bytes: Vec<u8>) -> Hostile {
        Hostile::start(Arc::new(move |stream: &mut TcpStream| {
            let _ = stream.write_all(&bytes);
        }))
    }

    /// `http://127.0.0.1:<port>`, for `--endpoint`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Reads one request head and its `Content-Length` body; false when the client went away.
fn read_request(stream: &mut TcpStream) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(&mut *stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).is_ok()
}

/// A complete HTTP/1.1 response with a `Content-Length`.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A CreateSession answer (201) carrying these credential fields, as JSON values.
pub fn session(access_key_id: &str, secret: &str, token: &str, expiration: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "credentialSet": [{
            "credentials": {
                "accessKeyId": access_key_id,
                "secretAccessKey": secret,
                "sessionToken": token,
                "expiration": expiration,
            },
            "roleArn": "arn:aws:iam::123456789012:role/test-role",
        }],
        "subjectArn": "arn:aws:rolesanywhere:us-east-1:123456789012:subject/x",
    });
    response(
        "201 Created",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

/// A well-formed access key id, secret and token, and an expiration an hour from now.
pub fn good_values() -> (String, String, String, String) {
    let expiration = time_in(3600);
    (
        "ASIAHOSTILEENDPOINT1".into(),
        "hostilesecretaccesskey0123456789abcdefgh".into(),
        format!("IQoJb3JpZ2luX2VjE{}", "A".repeat(600)),
        expiration,
    )
}

/// `seconds` from now (negative: in the past), ISO 8601 UTC as the service writes it.
pub fn time_in(seconds: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    at.replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// What a measured run did.
pub struct Measured {
    /// Its exit status and output.
    pub output: Output,
    /// Its peak resident set (`VmHWM`), in KiB, as last seen while it ran.
    pub peak_kib: u64,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Runs `command` to completion (killing it after `limit`), reading its peak resident set from
/// `/proc/<pid>/status` every few milliseconds: `VmHWM` is a high-water mark, so the last value
/// read is the peak up to a few milliseconds before the exit.
pub fn run_measured(mut command: Command, limit: Duration) -> Measured {
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Measured {
        output: Output {
            status,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        },
        peak_kib,
        elapsed: start.elapsed(),
    }
}
