//! `serve`'s accept loop: what any client may cost, whatever it sends or withholds.
//!
//! * At most [`MAX_CONNECTIONS`] connections are open at once. A connection beyond that closes
//!   the one that has been idle longest (no request in progress), so thousands of idle or
//!   half-sent connections cannot keep a client that actually asks for something waiting; when
//!   the process runs out of file descriptors, the same happens before accepting again.
//! * A request head must arrive within [`HEADER_READ_TIMEOUT`] of the connection being ready
//!   for it: after connecting, or after the previous response (so an idle keep-alive
//!   connection closes after that long too), and be at most [`MAX_HEADER_BYTES`] with at most
//!   [`MAX_HEADERS`] fields; otherwise hyper answers 431 or closes the connection.
//! * Nothing reads request bodies (no route takes one), so memory per connection is hyper's
//!   buffers: a few KiB, [`MAX_HEADER_BYTES`] at most.
//! * On SIGINT/SIGTERM no new connection is accepted, idle ones close, and requests in flight
//!   get [`SHUTDOWN_GRACE`] to finish.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Most connections open at once.
pub const MAX_CONNECTIONS: usize = 512;
/// How long a client has to send a request head (and how long a connection may sit idle).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request head, request line included (hyper's buffer, which cannot go below 8 KiB).
pub const MAX_HEADER_BYTES: usize = 16 << 10;
/// Most header fields in a request.
pub const MAX_HEADERS: usize = 64;
/// How long requests in flight may take to finish after SIGINT or SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// One open connection, as the accept loop sees it.
struct Entry {
    /// When it last started a request (when it connected, before its first).
    last_active: Arc<Mutex<Instant>>,
    /// Requests being handled right now.
    busy: Arc<AtomicUsize>,
    /// Closes it.
    evict: Option<oneshot::Sender<()>>,
}

type Table = Arc<Mutex<HashMap<u64, Entry>>>;

/// Serves `app` on `listener` until `stop` completes; every connection's packets carry
/// `hop_limit` (see [`super::listen`]).
///
/// # Errors
/// Never today: accept errors are connection errors or descriptor exhaustion, both handled.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    hop_limit: u8,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let table: Table = Arc::default();
    let (stopping, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) if out_of_descriptors(&e) => {
                // Make room and try again shortly, rather than spin.
                if !evict_idlest(&table) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                rolesanywhere_credentials::debug!(
                    "accept failed ({e}); closed the idlest connection"
                );
                continue;
            }
            // The peer gave up before we got to it (reset, aborted): nothing to do.
            Err(e) => {
                rolesanywhere_credentials::debug!("accept failed: {e}");
                continue;
            }
        };
        if table_len(&table) >= MAX_CONNECTIONS && !evict_idlest(&table) {
            // Every connection is in the middle of a request: this one waits its turn.
            drop(stream);
            continue;
        }
        super::listen::set_connection_hop_limit(&stream, hop_limit);
        // Counted from now, not from when its task first runs: a burst of connections is
        // accepted before any of their tasks does.
        next_id += 1;
        let last_active = Arc::new(Mutex::new(Instant::now()));
        let busy = Arc::new(AtomicUsize::new(0));
        let (evict, evicted) = oneshot::channel();
        lock(&table).insert(
            next_id,
            Entry {
                last_active: Arc::clone(&last_active),
                busy: Arc::clone(&busy),
                evict: Some(evict),
            },
        );
        let connection = Connection {
            id: next_id,
            last_active,
            busy,
            evicted,
        };
        tasks.spawn(connection.serve(stream, app.clone(), Arc::clone(&table), stopped.clone()));
    }
    drop(listener);
    let _ = stopping.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        // A client that keeps its connection open (or sends half a request) does not hold the
        // shutdown up any longer.
        tasks.abort_all();
    }
    Ok(())
}

/// One accepted connection's share of the table.
struct Connection {
    id: u64,
    last_active: Arc<Mutex<Instant>>,
    busy: Arc<AtomicUsize>,
    evicted: oneshot::Receiver<()>,
}

impl Connection {
    /// Serves the connection until it closes, is evicted, or the server stops.
    async fn serve(
        self,
        stream: TcpStream,
        app: Router,
        table: Table,
        mut stopped: watch::Receiver<bool>,
    ) {
        let Connection {
            id,
            last_active,
            busy,
            evicted,
        } = self;
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            *lock(&last_active) = Instant::now();
            let guard = Busy::start(Arc::clone(&busy));
            let app = app.clone();
            async move {
                let _guard = guard;
                app.oneshot(request).await
            }
        });
        let conn = http1().serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    rolesanywhere_credentials::debug!("connection closed: {e}");
                }
            }
            _ = evicted => {}
            () = wait_until_stopped(&mut stopped) => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
        lock(&table).remove(&id);
    }
}

/// HTTP/1 with the limits above (also what the fuzz target of serve's requests runs).
pub(crate) fn http1() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    builder
}

async fn wait_until_stopped(stopped: &mut watch::Receiver<bool>) {
    while !*stopped.borrow_and_update() {
        if stopped.changed().await.is_err() {
            return;
        }
    }
}

/// Counts a request in progress for as long as it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn start(count: Arc<AtomicUsize>) -> Busy {
        count.fetch_add(1, Ordering::SeqCst);
        Busy(count)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Closes the connection idle longest; false when every one is busy.
fn evict_idlest(table: &Table) -> bool {
    let mut table = lock(table);
    let idlest = table
        .iter()
        .filter(|(_, e)| e.busy.load(Ordering::SeqCst) == 0 && e.evict.is_some())
        .min_by_key(|(_, e)| *lock(&e.last_active))
        .map(|(id, _)| *id);
    let Some(id) = idlest else {
        return false;
    };
    if let Some(entry) = table.get_mut(&id) {
        if let Some(evict) = entry.evict.take() {
            let _ = evict.send(());
        }
    }
    // Gone from the count now; its task removes the entry when it ends.
    if let Some(entry) = table.remove(&id) {
        drop(entry);
    }
    true
}

fn table_len(table: &Table) -> usize {
    lock(table).len()
}

fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(code) if code == libc::EMFILE || code == libc::ENFILE)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing here can panic while holding a lock; if it did, the data is still consistent.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
