//! One HTTP/1.1 request over a connection of its own, on the calling thread: how a one-shot
//! `credential-process` makes its CreateSession call (see [`crate::pipeline::fetch_once`]).
//!
//! reqwest, hyper and tokio's I/O driver are made for many requests on shared connections; a
//! process that sends one request and exits pays for their set-up, and for the code and memory
//! they touch, at every start. This client is rustls (the same [`crate::net::tls`] configuration
//! and verifier as [`crate::net::http::client`]) over a `TcpStream`, and httparse for the answer's
//! head, and it keeps what the HTTP client promises a CreateSession call:
//!
//! * no proxy: callers with `--with-proxy` use [`crate::net::http::client`];
//! * the endpoint's name resolved once, when the client is built, as a one-shot
//!   [`crate::net::http::client`] does;
//! * `TCP_NODELAY`, one request per connection (`Connection: close`), no redirect followed (the
//!   caller sees the 3xx);
//! * the connection within `min(10 s, timeout)` (divided among the addresses, as hyper-util
//!   does), and the whole attempt, body included, before its deadline: every read and write on
//!   the socket waits at most for the time left;
//! * a head of at most about 400 KiB and 100 fields, as hyper's client (beyond: "message head is
//!   too large"), and hyper's words for what it refuses;
//! * the body read as [`crate::net::http::read_limited`] reads it: a declared length above the
//!   limit refused before anything is read, chunked and close-delimited bodies stopped as soon as
//!   they pass it, every buffer that held body bytes wiped.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::net::endpoint::Endpoint;
use crate::net::http::{HttpConfig, LimitedBody, TooLarge, CONNECT_TIMEOUT};

/// hyper's client's largest head (`DEFAULT_MAX_BUFFER_SIZE`: 8 KiB and 100 lines of 4 KiB).
const MAX_HEAD: usize = 8192 + 4096 * 100;
/// hyper's client's most header fields.
const MAX_HEADERS: usize = 100;
/// A chunk-size or trailer line longer than this is not HTTP.
const MAX_LINE: usize = 4096;

/// Why an attempt failed, in the terms the caller classifies (see
/// `session::connection::blocking_failure`).
#[derive(Debug)]
pub(crate) enum Failed {
    /// The deadline passed (connecting, or waiting for the head or the body).
    TimedOut,
    /// The endpoint's name did not resolve (the resolver's error).
    Unresolved(io::Error),
    /// The connection failed, or TLS refused it (a rustls error inside the `io::Error`).
    Io(io::Error),
    /// What came back is not an HTTP/1.1 answer (hyper's words for what it refuses).
    Malformed(&'static str),
    /// The connection closed before a whole head arrived.
    Closed,
}

/// Why a body could not be read (after a whole head).
#[derive(Debug)]
pub(crate) enum BodyFailed {
    /// Larger than the limit, by its `Content-Length` or by what arrived.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The deadline passed.
    TimedOut,
    /// The connection broke, or the body is not well framed: what went wrong.
    Broken(String),
}

impl From<TooLarge> for BodyFailed {
    fn from(TooLarge { limit }: TooLarge) -> BodyFailed {
        BodyFailed::TooLarge { limit }
    }
}

/// A client for one endpoint: its TLS configuration, its addresses, the attempt's limits.
#[derive(Debug)]
pub(crate) struct Client {
    /// The TLS configuration, for `https`.
    tls: Option<Arc<rustls::ClientConfig>>,
    /// The name the server's certificate must hold (or its address).
    server_name: ServerName<'static>,
    /// The endpoint's addresses, or why its name did not resolve.
    addrs: std::result::Result<Vec<SocketAddr>, Arc<io::Error>>,
    /// The limit for connecting.
    connect_timeout: Duration,
    user_agent: String,
}

impl Client {
    /// A client for `endpoint` with `config`'s TLS settings and time limit (its proxy setting is
    /// the caller's to honour: this client never uses one).
    ///
    /// # Errors
    /// When TLS cannot be set up (unreadable `AWS_CA_BUNDLE`, ...), or the endpoint has no host.
    pub(crate) fn new(config: &HttpConfig, endpoint: &Endpoint) -> Result<Client> {
        let url = endpoint.url();
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(Error::Tls(format!("{} has no host", endpoint.base_url())));
        };
        // An IPv6 address is written in brackets in a URL, not in a server name.
        let name = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let addrs = match name.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(vec![SocketAddr::from((ip, port))]),
            Err(_) => (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect)
                .map_err(Arc::new),
        };
        let server_name =
            ServerName::try_from(name).map_err(|e| Error::Tls(format!("server name: {e}")))?;
        let tls = match endpoint.scheme() {
            "https" => Some(Arc::new(crate::net::tls::client_config(
                config.no_verify_ssl,
                config.ca_bundle.as_deref(),
            )?)),
            _ => None,
        };
        Ok(Client {
            tls,
            server_name,
            addrs,
            connect_timeout: CONNECT_TIMEOUT.min(config.timeout),
            user_agent: crate::net::http::user_agent(),
        })
    }

    /// POSTs `body` to `target` (path and query) with `headers` (which must hold `Host`), and
    /// reads the answer's head, all before `deadline`.
    ///
    /// # Errors
    /// [`Failed`]: no connection, a refused handshake, a timeout, or no HTTP answer.
    pub(crate) fn post(
        &self,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
        deadline: Instant,
    ) -> std::result::Result<Response, Failed> {
        let socket = self.connect(deadline)?;
        let socket = Deadline { socket, deadline };
        let mut stream = match &self.tls {
            Some(tls) => {
                let connection =
                    rustls::ClientConnection::new(tls.clone(), self.server_name.clone())
                        .map_err(|e| Failed::Io(io::Error::other(e)))?;
                Stream::Tls(Box::new(rustls::StreamOwned::new(connection, socket)))
            }
            None => Stream::Plain(socket),
        };
        let mut request = format!("POST {target} HTTP/1.1\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!(
            "connection: close\r\nuser-agent: {}\r\naccept: */*\r\ncontent-length: {}\r\n\r\n",
            self.user_agent,
            body.len()
        ));
        let mut request = request.into_bytes();
        request.extend_from_slice(body);
        stream
            .write_all(&request)
            .and_then(|()| stream.flush())
            .map_err(failed)?;
        read_head(stream)
    }

    /// A connection to the first address that takes one, each given an equal share of the
    /// connect time limit.
    fn connect(&self, deadline: Instant) -> std::result::Result<TcpStream, Failed> {
        let addrs = match &self.addrs {
            Ok(addrs) => addrs,
            Err(e) => return Err(Failed::Unresolved(io::Error::new(e.kind(), e.to_string()))),
        };
        let share = self.connect_timeout / u32::try_from(addrs.len().max(1)).unwrap_or(u32::MAX);
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
        for addr in addrs {
            // connect_timeout refuses a zero duration.
            let limit = share.min(left(deadline)?).max(Duration::from_millis(1));
            match TcpStream::connect_timeout(addr, limit) {
                Ok(socket) => {
                    socket.set_nodelay(true).map_err(Failed::Io)?;
                    return Ok(socket);
                }
                Err(e) => last = e,
            }
        }
        Err(failed(last))
    }
}

/// An answer whose head has been read; its body is read by [`Response::read_limited`].
pub(crate) struct Response {
    /// The status code.
    pub status: u16,
    /// The header fields, names in lower case.
    headers: Vec<(String, Vec<u8>)>,
    /// How the body is delimited.
    framing: Framing,
    /// Body bytes that arrived with the head.
    buffered: Zeroizing<Vec<u8>>,
    stream: Stream,
}

/// How the end of a body is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

impl Response {
    /// The first value of the header `name` (in lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Reads the body, at most `limit` bytes, as [`crate::net::http::read_limited`] does (the
    /// deadline is the request's).
    ///
    /// # Errors
    /// [`BodyFailed`]: too large, too late, or broken off.
    pub(crate) fn read_limited(
        mut self,
        limit: usize,
    ) -> std::result::Result<Zeroizing<Vec<u8>>, BodyFailed> {
        match self.framing {
            Framing::Empty => Ok(Zeroizing::new(Vec::new())),
            Framing::Length(length) if length > limit as u64 => Err(BodyFailed::TooLarge { limit }),
            Framing::Length(length) => {
                // At most `limit`, so it fits.
                let length = length as usize;
                let mut body = Zeroizing::new(Vec::with_capacity(length));
                let mut reader = Buffered::new(&mut self.buffered, &mut self.stream);
                while body.len() < length {
                    let chunk = reader.fill()?;
                    if chunk.is_empty() {
                        return Err(BodyFailed::Broken(
                            "end of file before message length reached".into(),
                        ));
                    }
                    let take = chunk.len().min(length - body.len());
                    body.extend_from_slice(&chunk[..take]);
                    reader.consume(take);
                }
                Ok(body)
            }
            Framing::UntilClose => {
                let mut body = LimitedBody::new(4096, limit);
                let mut reader = Buffered::new(&mut self.buffered, &mut self.stream);
                loop {
                    let chunk = reader.fill()?;
                    if chunk.is_empty() {
                        return Ok(body.into_inner());
                    }
                    let n = chunk.len();
                    body.push(chunk)?;
                    reader.consume(n);
                }
            }
            Framing::Chunked => {
                let mut body = LimitedBody::new(4096, limit);
                let mut reader = Buffered::new(&mut self.buffered, &mut self.stream);
                loop {
                    let size = chunk_size(&reader.line()?)?;
                    if size == 0 {
                        // Trailer fields, up to the empty line.
                        while !reader.line()?.is_empty() {}
                        return Ok(body.into_inner());
                    }
                    let mut left = size;
                    while left > 0 {
                        let chunk = reader.fill()?;
                        if chunk.is_empty() {
                            return Err(BodyFailed::Broken(
                                "end of file before message length reached".into(),
                            ));
                        }
                        let take = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                        body.push(&chunk[..take])?;
                        reader.consume(take);
                        left -= take as u64;
                    }
                    if !reader.line()?.is_empty() {
                        return Err(BodyFailed::Broken("invalid chunk end".into()));
                    }
                }
            }
        }
    }
}

/// Reads and parses the head (skipping informational 1xx answers), leaving what follows it.
fn read_head(mut stream: Stream) -> std::result::Result<Response, Failed> {
    let mut buffer = Zeroizing::new(Vec::with_capacity(4096));
    loop {
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut fields);
        match parsed.parse(&buffer) {
            Ok(httparse::Status::Complete(length)) => {
                let status = parsed.code.unwrap_or_default();
                if (100..200).contains(&status) && status != 101 {
                    // hyper's client skips informational answers too.
                    let rest = Zeroizing::new(buffer[length..].to_vec());
                    buffer = rest;
                    continue;
                }
                let headers: Vec<(String, Vec<u8>)> = parsed
                    .headers
                    .iter()
                    .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
                    .collect();
                let framing = framing(status, &headers)?;
                let buffered = Zeroizing::new(buffer[length..].to_vec());
                return Ok(Response {
                    status,
                    headers,
                    framing,
                    buffered,
                    stream,
                });
            }
            Ok(httparse::Status::Partial) if buffer.len() >= MAX_HEAD => {
                return Err(Failed::Malformed("message head is too large"));
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(Failed::Malformed(parse_error(e))),
        }
        // Grow by hand, so that the old buffer is wiped rather than freed with its bytes.
        if buffer.capacity() - buffer.len() < 1024 {
            let mut bigger = Zeroizing::new(Vec::with_capacity(buffer.capacity() * 2));
            bigger.extend_from_slice(&buffer);
            buffer = bigger;
        }
        let start = buffer.len();
        let room = (buffer.capacity() - start).min(MAX_HEAD + 1 - start);
        buffer.resize(start + room, 0);
        match stream.read(&mut buffer[start..]) {
            Ok(0) => {
                buffer.truncate(start);
                return Err(Failed::Closed);
            }
            Ok(n) => buffer.truncate(start + n),
            Err(e) => {
                buffer.truncate(start);
                return Err(failed(e));
            }
        }
    }
}

/// How the body after this head ends (RFC 9112, section 6.3, for the answer to a POST).
fn framing(status: u16, headers: &[(String, Vec<u8>)]) -> std::result::Result<Framing, Failed> {
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::Empty);
    }
    let mut encodings = headers
        .iter()
        .filter(|(n, _)| n == "transfer-encoding")
        .peekable();
    if encodings.peek().is_some() {
        let last = encodings
            .flat_map(|(_, v)| v.split(|&b| b == b','))
            .last()
            .map(|v| v.trim_ascii().to_ascii_lowercase());
        return Ok(match last.as_deref() {
            Some(b"chunked") => Framing::Chunked,
            _ => Framing::UntilClose,
        });
    }
    let mut length = None;
    for (_, value) in headers.iter().filter(|(n, _)| n == "content-length") {
        for part in value.split(|&b| b == b',') {
            let part = part.trim_ascii();
            let parsed = std::str::from_utf8(part)
                .ok()
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u64>().ok())
                .ok_or(Failed::Malformed("invalid content-length parsed"))?;
            if length.is_some_and(|l| l != parsed) {
                return Err(Failed::Malformed("invalid content-length parsed"));
            }
            length = Some(parsed);
        }
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

/// hyper's words for what httparse refuses.
fn parse_error(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::Status => "invalid HTTP status-code parsed",
        httparse::Error::Version => "invalid HTTP version parsed",
        httparse::Error::TooManyHeaders => "message head is too large",
        _ => "invalid HTTP header parsed",
    }
}

/// A chunk-size line's size (its extensions ignored).
fn chunk_size(line: &[u8]) -> std::result::Result<u64, BodyFailed> {
    let digits = line.split(|&b| b == b';').next().unwrap_or_default();
    let digits = digits.trim_ascii();
    std::str::from_utf8(digits)
        .ok()
        .filter(|d| !d.is_empty() && d.len() <= 16)
        .and_then(|d| u64::from_str_radix(d, 16).ok())
        .ok_or_else(|| BodyFailed::Broken("invalid chunk size line".into()))
}

/// The bytes after the head, then the stream, read through one wiped buffer.
struct Buffered<'a> {
    buffer: &'a mut Zeroizing<Vec<u8>>,
    start: usize,
    stream: &'a mut Stream,
}

impl<'a> Buffered<'a> {
    fn new(buffer: &'a mut Zeroizing<Vec<u8>>, stream: &'a mut Stream) -> Buffered<'a> {
        Buffered {
            buffer,
            start: 0,
            stream,
        }
    }

    /// What is buffered, reading more when nothing is; empty at the end of the stream.
    fn fill(&mut self) -> std::result::Result<&[u8], BodyFailed> {
        if self.start == self.buffer.len() {
            // Wiped before it grows: the old allocation is freed with what it held.
            self.buffer.zeroize();
            self.buffer.resize(16 * 1024, 0);
            self.start = 0;
            match self.stream.read(&mut self.buffer[..]) {
                Ok(n) => self.buffer.truncate(n),
                Err(e) => {
                    self.buffer.clear();
                    return Err(match failed(e) {
                        Failed::TimedOut => BodyFailed::TimedOut,
                        other => BodyFailed::Broken(describe(&other)),
                    });
                }
            }
        }
        Ok(&self.buffer[self.start..])
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// One line (without its CRLF), at most [`MAX_LINE`] long.
    fn line(&mut self) -> std::result::Result<Vec<u8>, BodyFailed> {
        let mut line = Vec::new();
        loop {
            let chunk = self.fill()?;
            if chunk.is_empty() {
                return Err(BodyFailed::Broken(
                    "end of file before message length reached".into(),
                ));
            }
            match chunk.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    line.extend_from_slice(&chunk[..end]);
                    self.consume(end + 1);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    return Ok(line);
                }
                None => {
                    let n = chunk.len();
                    line.extend_from_slice(chunk);
                    self.consume(n);
                }
            }
            if line.len() > MAX_LINE {
                return Err(BodyFailed::Broken("invalid chunk size line".into()));
            }
        }
    }
}

/// What a [`Failed`] says, as the connection error's innermost message would.
pub(crate) fn describe(failure: &Failed) -> String {
    match failure {
        Failed::TimedOut => "operation timed out".into(),
        Failed::Unresolved(e) | Failed::Io(e) => e.to_string(),
        Failed::Malformed(what) => (*what).into(),
        Failed::Closed => "connection closed before message completed".into(),
    }
}

/// An I/O error as a [`Failed`]: a socket timeout is the deadline passing.
fn failed(error: io::Error) -> Failed {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Failed::TimedOut,
        _ => Failed::Io(error),
    }
}

/// The time left before `deadline`, or [`Failed::TimedOut`].
fn left(deadline: Instant) -> std::result::Result<Duration, Failed> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|left| !left.is_zero())
        .ok_or(Failed::TimedOut)
}

/// A socket whose every read and write waits at most until the deadline.
struct Deadline {
    socket: TcpStream,
    deadline: Instant,
}

impl Deadline {
    fn limit(&self) -> io::Result<Duration> {
        left(self.deadline).map_err(|_| io::ErrorKind::TimedOut.into())
    }
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.set_read_timeout(Some(self.limit()?))?;
        self.socket.read(buf)
    }
}

impl Write for Deadline {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.set_write_timeout(Some(self.limit()?))?;
        self.socket.write(buf)
    }

    // rustls hands over its records together (one system call for the handshake's end).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.socket.set_write_timeout(Some(self.limit()?))?;
        self.socket.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}

/// The connection, in plain HTTP or TLS.
enum Stream {
    Plain(Deadline),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Deadline>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// A plain-HTTP client for a server on loopback that answers every connection with `answer`
    /// (`trickle`: one byte every 20 ms), and the server's address.
    fn serve(answer: Vec<u8>, trickle: bool) -> (Client, String) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for socket in listener.incoming() {
                let Ok(mut socket) = socket else { return };
                let answer = answer.clone();
                std::thread::spawn(move || {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request);
                    if trickle {
                        for byte in answer {
                            if socket.write_all(&[byte]).is_err() {
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    } else {
                        let _ = socket.write_all(&answer);
                    }
                });
            }
        });
        let endpoint = crate::net::endpoint::resolve(
            "us-east-1",
            &crate::net::endpoint::EndpointConfig {
                endpoint: Some(format!("http://{address}")),
                ..Default::default()
            },
        )
        .unwrap();
        let config = HttpConfig {
            no_verify_ssl: false,
            with_proxy: false,
            ca_bundle: None,
            timeout: Duration::from_secs(10),
        };
        (Client::new(&config, &endpoint).unwrap(), address)
    }

    fn post(
        client: &Client,
        address: &str,
        deadline: Duration,
    ) -> std::result::Result<Response, Failed> {
        let headers = [("host".to_string(), address.to_string())];
        client.post("/sessions", &headers, b"{}", Instant::now() + deadline)
    }

    fn read(answer: &str, limit: usize) -> std::result::Result<Vec<u8>, BodyFailed> {
        let (client, address) = serve(answer.as_bytes().to_vec(), false);
        let response = post(&client, &address, Duration::from_secs(10)).unwrap();
        response.read_limited(limit).map(|body| body.to_vec())
    }

    #[test]
    fn bodies_by_length_chunks_and_close() {
        let body = read(
            "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello and more",
            64,
        );
        assert_eq!(body.unwrap(), b"hello");
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                       3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n";
        assert_eq!(read(chunked, 64).unwrap(), b"abcde");
        let closed = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
        assert_eq!(read(closed, 64).unwrap(), b"until the end");
        let informational = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(read(informational, 64).unwrap(), b"");
    }

    #[test]
    fn bodies_stop_at_the_limit() {
        let declared = "HTTP/1.1 201 Created\r\nContent-Length: 10737418240\r\n\r\n";
        assert!(matches!(
            read(declared, 1024),
            Err(BodyFailed::TooLarge { limit: 1024 })
        ));
        let chunk = format!("400\r\n{}\r\n", "x".repeat(0x400));
        let chunked = format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{}",
            chunk.repeat(4)
        );
        assert!(matches!(
            read(&chunked, 3000),
            Err(BodyFailed::TooLarge { limit: 3000 })
        ));
        let closed = format!("HTTP/1.1 200 OK\r\n\r\n{}", "x".repeat(5000));
        assert!(matches!(
            read(&closed, 3000),
            Err(BodyFailed::TooLarge { limit: 3000 })
        ));
    }

    #[test]
    fn bodies_that_break_off_or_are_not_framed_are_broken() {
        let short = "HTTP/1.1 201 Created\r\nContent-Length: 50\r\n\r\nhello";
        assert!(matches!(read(short, 64), Err(BodyFailed::Broken(d)) if d.contains("end of file")));
        let bad_chunk =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n";
        assert!(matches!(read(bad_chunk, 64), Err(BodyFailed::Broken(_))));
    }

    #[test]
    fn heads_are_refused_as_hyper_refuses_them() {
        let refused = |answer: &str| {
            let (client, address) = serve(answer.as_bytes().to_vec(), false);
            match post(&client, &address, Duration::from_secs(10)) {
                Err(Failed::Malformed(what)) => what,
                Err(other) => panic!("{answer:?}: {other:?}"),
                Ok(response) => panic!("{answer:?}: HTTP {}", response.status),
            }
        };
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "X-Filler: a\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(refused(&many), "message head is too large");
        let long = format!("HTTP/1.1 200 OK\r\nX-Filler: {}", "a".repeat(MAX_HEAD + 10));
        assert_eq!(refused(&long), "message head is too large");
        assert_eq!(
            refused("\x15\x03\x03\x00\x02\x02\x50"),
            "invalid HTTP version parsed"
        );
        assert_eq!(
            refused("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            "invalid content-length parsed"
        );
        let (client, address) = serve(Vec::new(), false);
        assert!(matches!(
            post(&client, &address, Duration::from_secs(10)),
            Err(Failed::Closed)
        ));
    }

    #[test]
    fn the_deadline_covers_the_head_and_the_body() {
        let answer = b"HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n".to_vec();
        let (client, address) = serve(answer.clone(), true);
        let started = Instant::now();
        assert!(matches!(
            post(&client, &address, Duration::from_millis(300)),
            Err(Failed::TimedOut)
        ));
        assert!(started.elapsed() < Duration::from_secs(2));
        let mut slow_body = answer;
        slow_body.extend_from_slice(&[b' '; 100]);
        let (client, address) = serve(slow_body, true);
        let response = post(&client, &address, Duration::from_secs(2)).unwrap();
        assert!(matches!(
            response.read_limited(1000),
            Err(BodyFailed::TimedOut)
        ));
    }
}
