//! The two service-manager protocols `serve` and `update` speak, without linking libsystemd:
//! readiness notifications (`sd_notify(3)`: one datagram to the Unix socket named by
//! `$NOTIFY_SOCKET`) and socket activation (`sd_listen_fds(3)`: listening sockets handed over
//! from file descriptor 3 on, announced by `$LISTEN_FDS` and `$LISTEN_PID`).
//!
//! Both are inert outside a service manager: without `$NOTIFY_SOCKET` a notification is a no-op,
//! and without `$LISTEN_FDS` there is no inherited socket. A notification that cannot be sent
//! is a `--debug` line, never a failure: the service manager, not the helper, decides what a
//! missing `READY=1` means.

use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Names the service manager's notification socket (a path, or `@name` in the abstract
/// namespace).
pub const NOTIFY_SOCKET_ENV: &str = "NOTIFY_SOCKET";

/// Tells the service manager the service is ready (`READY=1`), with a status line.
///
/// `serve` sends it once the first credentials are in hand and the socket listens, and again
/// after each refresh, which also ends a reload the manager is waiting for.
pub fn ready(status: &str) {
    notify(&format!("READY=1\nSTATUS={}", one_line(status)));
}

/// How long the first credentials of `serve` and `update` may take before the service manager
/// is asked for more start time: well under any `TimeoutStartSec=` (systemd's default is 90 s),
/// and longer than an unthrottled start, which then sends nothing more than before.
pub const EXTEND_AFTER: Duration = Duration::from_secs(5);

/// Awaits `first`, the first fetch of `serve` or `update`, which may retry for `patience`
/// (`--start-timeout`) with attempts of up to `attempt` each. Under a service manager, once it
/// has taken [`EXTEND_AFTER`], asks for the time it may still take (`EXTEND_TIMEOUT_USEC=`), so
/// that a shorter `TimeoutStartSec=` does not cut the retries short (a longer one still
/// applies), and says so in the status line. Nothing without patience: `TimeoutStartSec=` alone
/// applies, as before.
pub async fn starting<F: Future>(first: F, patience: Duration, attempt: Duration) -> F::Output {
    if patience.is_zero() {
        return first.await;
    }
    let mut first = std::pin::pin!(first);
    tokio::select! {
        done = &mut first => return done,
        () = tokio::time::sleep(EXTEND_AFTER) => {}
    }
    // What the retries may still take: the patience counts from the first attempt, made at
    // most EXTEND_AFTER ago; the last attempt may take its whole time limit; and a margin.
    const MARGIN: Duration = Duration::from_secs(30);
    let more = patience.saturating_add(attempt).saturating_add(MARGIN);
    notify(&format!(
        "EXTEND_TIMEOUT_USEC={}\nSTATUS=still asking for the first credentials; retrying \
         throttling and failures for up to {} s from the first attempt (--start-timeout)",
        more.as_micros(),
        patience.as_secs()
    ));
    first.await
}

/// Tells the service manager a reload started (`RELOADING=1`); [`ready`] ends it.
pub fn reloading(status: &str) {
    notify(&format!("RELOADING=1\nSTATUS={}", one_line(status)));
}

/// Tells the service manager the service is stopping (`STOPPING=1`).
pub fn stopping() {
    notify("STOPPING=1\nSTATUS=stopping");
}

/// Updates the status line `systemctl status` shows.
pub fn status(status: &str) {
    notify(&format!("STATUS={}", one_line(status)));
}

/// Sends `state` (newline-separated `KEY=VALUE` assignments) to `$NOTIFY_SOCKET`, if set.
/// Returns whether it was sent.
pub fn notify(state: &str) -> bool {
    let Some(target) = std::env::var_os(NOTIFY_SOCKET_ENV).filter(|v| !v.is_empty()) else {
        return false;
    };
    match send(&target, state.as_bytes()) {
        Ok(()) => true,
        Err(e) => {
            rolesanywhere_credentials::debug!(
                "cannot notify the service manager through {}: {e}",
                target.to_string_lossy()
            );
            false
        }
    }
}

fn send(target: &std::ffi::OsStr, message: &[u8]) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let socket = UnixDatagram::unbound()?;
    let bytes = target.as_bytes();
    match bytes.split_first() {
        #[cfg(target_os = "linux")]
        Some((b'@', name)) => {
            use std::os::linux::net::SocketAddrExt;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(message, &address)?;
        }
        Some((b'/', _)) => {
            socket.send_to(message, target)?;
        }
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a socket path or abstract socket name",
            ))
        }
    }
    Ok(())
}

/// Status text on one line: a newline would start another assignment.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// The listening TCP socket the service manager passed (`.socket` unit, or
/// `systemd-socket-activate`), if any.
///
/// Call it before any thread starts: it removes `$LISTEN_FDS` and `$LISTEN_PID` from the
/// environment, so that nothing started later takes the socket for its own.
///
/// # Errors
/// When sockets were passed but they are not one listening TCP socket.
pub fn inherited_listener() -> Result<Option<TcpListener>, ActivationError> {
    let mut fds = listenfd::ListenFd::from_env();
    match fds.len() {
        0 => Ok(None),
        1 => match fds.take_tcp_listener(0) {
            Ok(Some(listener)) => Ok(Some(listener)),
            Ok(None) => Ok(None),
            Err(e) => Err(ActivationError::NotTcp(e)),
        },
        n => Err(ActivationError::Several(n)),
    }
}

/// Why the sockets passed by the service manager cannot be served on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActivationError {
    /// File descriptor 3 is not a listening TCP socket.
    #[error("the socket passed by the service manager (LISTEN_FDS) is not a TCP socket")]
    NotTcp(#[source] io::Error),
    /// More than one socket was passed.
    #[error("the service manager passed {0} sockets (LISTEN_FDS); serve listens on one")]
    Several(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_stay_one_assignment() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }

    #[test]
    fn relative_and_empty_targets_are_refused() {
        let socket = std::ffi::OsStr::new("relative/notify");
        assert_eq!(
            send(socket, b"READY=1").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn datagrams_reach_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let receiver = UnixDatagram::bind(&path).unwrap();
        send(path.as_os_str(), b"READY=1\nSTATUS=x").unwrap();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=x");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn datagrams_reach_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("aws-signing-helper-test-{}", std::process::id());
        let address = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        let receiver = UnixDatagram::bind_addr(&address).unwrap();
        send(std::ffi::OsStr::new(&format!("@{name}")), b"STOPPING=1").unwrap();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }
}
