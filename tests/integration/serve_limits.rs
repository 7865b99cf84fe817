//! What a client can cost `serve`: thousands of idle and half-sent connections do not keep a
//! real client waiting or grow the server, a head that never ends is cut off, one too large is
//! refused. The server is the real binary, against the real `rolesanywhere-local`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::local::Local;
use crate::util::serve::{imds_credentials, Serve};

/// The attacker: another process (so that it has file descriptors of its own) that opens
/// `count` connections to `port`, sends half a request head on every other one, and holds them
/// all until its stdin closes. Prints how many it opened.
const FLOOD: &str = r#"
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, count = int(sys.argv[1]), int(sys.argv[2])
count = min(count, hard - 64)
held = []
for i in range(count):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    held.append(s)
for i, s in enumerate(held):
    if i % 2:
        try:
            s.send(b"PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-aws-ec2-metadata")
        except OSError:
            pass
print(len(held), flush=True)
sys.stdin.read()
"#;

/// Lines of `/proc/<pid>/status`'s `key`, in kB.
fn status_kib(pid: u32, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

#[tokio::test]
async fn thousands_of_idle_connections_leave_real_clients_served_in_bounded_memory() {
    let local = Local::start(&[]);
    let serve = Serve::start(&local, &[], &[]);
    let pid = serve.child.id();
    let before = status_kib(pid, "VmRSS:");

    let mut flood = Command::new("python3")
        .args(["-c", FLOOD, &serve.port.to_string(), "5000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 for the flood");
    let mut opened = String::new();
    let mut stdout = flood.stdout.take().unwrap();
    let mut byte = [0u8];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        opened.push(byte[0] as char);
    }
    let opened: usize = opened.trim().parse().unwrap();
    assert!(opened >= 900, "only {opened} connections");
    // Let serve accept what it will of them.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A real client, while every connection is still held, long before any timeout frees one.
    for _ in 0..3 {
        let started = Instant::now();
        let served = tokio::time::timeout(Duration::from_secs(3), imds_credentials(&serve)).await;
        let served = served.expect("no credentials within 3 s during the flood");
        assert!(served["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
        eprintln!(
            "served during the flood in {} ms",
            started.elapsed().as_millis()
        );
    }
    let descriptors = open_descriptors(pid);
    let peak = status_kib(pid, "VmHWM:");
    eprintln!(
        "{opened} connections held: serve has {descriptors} descriptors, RSS {before} KiB before, peak {peak} KiB"
    );
    assert!(descriptors <= 512 + 32, "{descriptors} descriptors open");
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");

    drop(flood.stdin.take());
    let _ = flood.wait();
}

#[test]
fn a_head_that_never_ends_is_cut_off_and_a_huge_one_refused() {
    let local = Local::start(&[]);
    let serve = Serve::start(&local, &[], &[]);

    // Half a head, then nothing: closed after the 5 s header timeout.
    let mut slow = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    slow.write_all(b"PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(8)).contains(&waited),
        "closed after {waited:?}"
    );

    // An idle connection: the same.
    let mut idle = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let started = Instant::now();
    let _ = idle.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    // 20 KiB of headers: 431, not a buffer that grows.
    let mut huge = TcpStream::connect(("127.0.0.1", serve.port)).unwrap();
    let filler = format!("X-Filler: {}\r\n", "a".repeat(1000)).repeat(20);
    let request = format!("PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n{filler}\r\n");
    let _ = huge.write_all(request.as_bytes());
    huge.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = huge.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
}
