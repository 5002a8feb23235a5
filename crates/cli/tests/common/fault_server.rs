//! A test-only HTTP/1.1 server that misbehaves on purpose, so the fault tests can check how
//! `flak` classifies each failure. Plain `std::net`, a thread per connection, every wait bounded.
//!
//! | path | behaviour |
//! |---|---|
//! | `/ok` | 200, `Content-Length: 2`, `ok` (keep-alive) |
//! | `/reset` | headers with `Content-Length: 1000` and 5 body bytes, then a TCP reset |
//! | `/close` | closes the connection (FIN) without answering |
//! | `/stall` | never answers; holds the connection until the client leaves (or [`STALL_LIMIT`]) |
//! | `/trickle` | headers with `Content-Length: 50`, then one body byte every 100 ms |
//! | `/garbage` | `SSH-2.0-nope\r\n\r\n`, not HTTP, then closes |
//! | `/short` | headers with `Content-Length: 100`, 10 body bytes, then closes (FIN) |
//! | `/status/500` | 500 with a small body (keep-alive) |
//! | `/flood/continue` | `HTTP/1.1 100 Continue` heads, endlessly (at most [`FLOOD_LIMIT`]) |
//! | `/flood/chunks` | a chunked 200 whose one-byte chunks never end (at most [`FLOOD_LIMIT`]) |
//! | `/flood/trailers` | a chunked 200 whose trailer lines never end (at most [`FLOOD_LIMIT`]) |
//! | `/many-headers` | 200 with 150 header lines (keep-alive) |
//! | `/status/000` | a status line with status `000` (keep-alive) |
//! | anything else | 404 |
//!
//! How `/reset` resets without `SO_LINGER`: `TcpStream::set_linger` is still unstable
//! (`tcp_linger`) on this toolchain, and neither socket2 nor libc is available. But a TCP stack
//! that closes a socket with unread data in its receive queue aborts the connection with a RST
//! instead of a FIN (RFC 2525 §2.17; Linux and gVisor both do). So requests are read with
//! `peek` first, and `/reset` consumes all of its request but the last byte before closing.
//!
//! The server counts every request it receives, per path, so tests can compare with what `flak`
//! reports; and it can stop accepting (dropping its listener and every live connection) and start
//! again on the same port, to play a server that is killed and restarted mid-run.
//!
//! Plain TCP only: the floods are not served over TLS (this server has no TLS).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{ErrorKind as Io, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The paths with a behaviour, in the order of [`FaultServer::counts`].
pub const PATHS: [&str; 13] = [
    "/ok",
    "/reset",
    "/close",
    "/stall",
    "/trickle",
    "/garbage",
    "/short",
    "/status/500",
    "/flood/continue",
    "/flood/chunks",
    "/flood/trailers",
    "/many-headers",
    "/status/000",
];

/// Longest a `/flood/...` response is sent.
pub const FLOOD_LIMIT: Duration = Duration::from_secs(30);

/// Longest a `/stall` request is held.
pub const STALL_LIMIT: Duration = Duration::from_secs(30);

/// Longest the whole server lives: past this it stops accepting and every connection ends.
pub const LIFETIME: Duration = Duration::from_secs(120);

/// How often blocked reads wake up to check whether the server is stopping.
const POLL: Duration = Duration::from_millis(50);

/// The largest request head read.
const MAX_HEAD: usize = 16 * 1024;

struct Shared {
    /// Requests received per path of [`PATHS`]; the last slot counts every other path.
    counts: [AtomicU64; PATHS.len() + 1],
    connections: AtomicU64,
    /// Responses whose first byte the server has started writing (counted before the write).
    responses: AtomicU64,
    /// The whole server is shutting down.
    stopping: AtomicBool,
    deadline: Instant,
    /// Live connections (clones of their streams), so an outage can drop them all.
    live: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
}

impl Shared {
    fn over(&self) -> bool {
        self.stopping.load(Ordering::SeqCst) || Instant::now() >= self.deadline
    }

    fn count(&self, path: &str) {
        let slot = PATHS.iter().position(|p| *p == path).unwrap_or(PATHS.len());
        self.counts[slot].fetch_add(1, Ordering::SeqCst);
    }

    fn drop_live_connections(&self) {
        let live: Vec<TcpStream> = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .map(|(_, s)| s)
            .collect();
        for stream in live {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// The accept thread of one listening period.
struct Acceptor {
    paused: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// The fault server on `127.0.0.1:PORT`; stops accepting and drops its connections on drop.
pub struct FaultServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Mutex<Option<Acceptor>>,
}

impl FaultServer {
    /// Listens on a free loopback port.
    pub fn start() -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault server");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            counts: Default::default(),
            connections: AtomicU64::new(0),
            responses: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            deadline: Instant::now() + LIFETIME,
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        });
        let server = Arc::new(Self {
            addr,
            shared,
            acceptor: Mutex::new(None),
        });
        server.accept_with(listener);
        server
    }

    /// `http://127.0.0.1:PORT/path` (`path` without its leading slash).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }

    /// Requests received on `path` (one of [`PATHS`]) so far.
    pub fn count(&self, path: &str) -> u64 {
        let slot = PATHS
            .iter()
            .position(|p| *p == path)
            .unwrap_or_else(|| panic!("{path} is not one of the fault server's paths"));
        self.shared.counts[slot].load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Responses the server began to write (an upper bound on those a client received).
    pub fn responses(&self) -> u64 {
        self.shared.responses.load(Ordering::SeqCst)
    }

    /// Stops accepting: the listener is closed (new connections are refused) and every live
    /// connection is shut down. Returns once nothing is accepted or served any more.
    pub fn stop_accepting(&self) {
        let acceptor = self
            .acceptor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(a) = acceptor {
            a.paused.store(true, Ordering::SeqCst);
            a.thread.join().expect("the accept thread panicked");
        }
        // Every accepted connection was registered by the accept thread, now finished.
        self.shared.drop_live_connections();
    }

    /// Listens again on the same port (retrying for up to 2 s if the port is still busy).
    pub fn start_accepting(&self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        let listener = loop {
            match TcpListener::bind(self.addr) {
                Ok(l) => break l,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.accept_with(listener);
    }

    /// Plays a crash and restart, in the background: after `after`, stops accepting and drops
    /// every live connection; `down_for` later, listens again on the same port. The thread
    /// returns [`Self::responses`] as it was when the server went down.
    pub fn outage(self: &Arc<Self>, after: Duration, down_for: Duration) -> JoinHandle<u64> {
        let server = Arc::clone(self);
        std::thread::spawn(move || {
            std::thread::sleep(after);
            server.stop_accepting();
            let written = server.responses();
            std::thread::sleep(down_for);
            server.start_accepting();
            written
        })
    }

    fn accept_with(&self, listener: TcpListener) {
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let paused = Arc::new(AtomicBool::new(false));
        let shared = Arc::clone(&self.shared);
        let stop = Arc::clone(&paused);
        let thread = std::thread::spawn(move || {
            // Bounded by the server's deadline; the listener is dropped when this returns.
            while !stop.load(Ordering::SeqCst) && !shared.over() {
                match listener.accept() {
                    Ok((stream, _)) => {
                        shared.connections.fetch_add(1, Ordering::SeqCst);
                        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
                        if let Ok(clone) = stream.try_clone() {
                            shared
                                .live
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .insert(id, clone);
                        }
                        let conn = Arc::clone(&shared);
                        let spawned =
                            std::thread::Builder::new()
                                .stack_size(256 * 1024)
                                .spawn(move || {
                                    serve(&stream, &conn);
                                    conn.live
                                        .lock()
                                        .unwrap_or_else(PoisonError::into_inner)
                                        .remove(&id);
                                });
                        if spawned.is_err() {
                            // Out of threads: the connection is dropped (and closed).
                            shared
                                .live
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .remove(&id);
                        }
                    }
                    Err(e) if e.kind() == Io::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        *self.acceptor.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Acceptor { paused, thread });
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.stop_accepting();
    }
}

/// One parsed request head.
struct Head {
    /// Bytes of the head, through the blank line.
    len: usize,
    path: String,
    content_length: usize,
    close: bool,
}

/// Waits for a whole request head and parses it, without consuming it. `None` when the client
/// went away, the server is stopping, or the request is not HTTP/1.1 as this server reads it.
fn peek_head(stream: &TcpStream, shared: &Shared) -> Option<Head> {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut seen = 0;
    while !shared.over() {
        match stream.peek(&mut buf) {
            Ok(0) => return None,
            Ok(n) => {
                if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
                    return parse_head(&buf[..end], end + 4);
                }
                if n == buf.len() {
                    return None;
                }
                if n == seen {
                    // Part of a head is here; wait for the rest.
                    std::thread::sleep(Duration::from_millis(1));
                }
                seen = n;
            }
            Err(e) if matches!(e.kind(), Io::WouldBlock | Io::TimedOut | Io::Interrupted) => {}
            Err(_) => return None,
        }
    }
    None
}

fn parse_head(head: &[u8], len: usize) -> Option<Head> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (_method, target, version) = (
        request_line.next()?,
        request_line.next()?,
        request_line.next()?,
    );
    let path = target.split('?').next().unwrap_or("/").to_string();
    let mut content_length = 0;
    let mut close = version != "HTTP/1.1";
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse().ok()?;
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    Some(Head {
        len,
        path,
        content_length,
        close,
    })
}

/// Consumes `n` bytes of the request.
fn consume(mut stream: &TcpStream, shared: &Shared, mut n: usize) -> bool {
    let mut buf = [0u8; 4096];
    while n > 0 && !shared.over() {
        match stream.read(&mut buf[..n.min(4096)]) {
            Ok(0) => return false,
            Ok(k) => n -= k,
            Err(e) if matches!(e.kind(), Io::WouldBlock | Io::TimedOut | Io::Interrupted) => {}
            Err(_) => return false,
        }
    }
    n == 0
}

fn respond(mut stream: &TcpStream, shared: &Shared, bytes: &[u8]) -> bool {
    shared.responses.fetch_add(1, Ordering::SeqCst);
    stream.write_all(bytes).is_ok()
}

/// Serves one connection: requests one after another (keep-alive) until the client closes, a
/// path ends the connection, or the server stops.
fn serve(stream: &TcpStream, shared: &Shared) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    while let Some(head) = peek_head(stream, shared) {
        shared.count(&head.path);
        if head.path == "/reset" {
            // Leave the request's last byte unread: closing then sends a RST, not a FIN.
            consume(stream, shared, head.len + head.content_length - 1);
            respond(
                stream,
                shared,
                b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nhello",
            );
            // Let the client read the head and the first bytes before the reset.
            std::thread::sleep(Duration::from_millis(20));
            return;
        }
        if !consume(stream, shared, head.len + head.content_length) {
            return;
        }
        let keep = match head.path.as_str() {
            "/ok" => respond(
                stream,
                shared,
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            ),
            "/status/500" => respond(
                stream,
                shared,
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\n\r\nerror\n",
            ),
            "/many-headers" => respond(stream, shared, &many_headers(150)),
            "/status/000" => respond(
                stream,
                shared,
                b"HTTP/1.1 000 Nothing\r\nContent-Length: 2\r\n\r\nok",
            ),
            "/flood/continue" => {
                flood(stream, shared, b"", b"HTTP/1.1 100 Continue\r\n\r\n");
                false
            }
            "/flood/chunks" => {
                flood(stream, shared, CHUNKED, b"1\r\nx\r\n");
                false
            }
            "/flood/trailers" => {
                flood(stream, shared, TRAILERS, b"X-Trailer: more\r\n");
                false
            }
            "/close" => false,
            "/stall" => {
                stall(stream, shared);
                false
            }
            "/trickle" => trickle(stream, shared),
            "/garbage" => {
                respond(stream, shared, b"SSH-2.0-nope\r\n\r\n");
                false
            }
            "/short" => {
                respond(
                    stream,
                    shared,
                    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
                );
                false
            }
            _ => respond(
                stream,
                shared,
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n",
            ),
        };
        if !keep || head.close {
            return;
        }
    }
}

/// Holds the connection without answering until the client closes it, the server stops, or
/// [`STALL_LIMIT`] passes.
fn stall(mut stream: &TcpStream, shared: &Shared) {
    let until = Instant::now() + STALL_LIMIT;
    let mut buf = [0u8; 1024];
    while Instant::now() < until && !shared.over() {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), Io::WouldBlock | Io::TimedOut | Io::Interrupted) => {}
            Err(_) => return,
        }
    }
}

/// A 50-byte body, one byte every 100 ms. True when all of it was sent.
fn trickle(mut stream: &TcpStream, shared: &Shared) -> bool {
    if !respond(
        stream,
        shared,
        b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n",
    ) {
        return false;
    }
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(100));
        if shared.over() || stream.write_all(b".").is_err() {
            return false;
        }
    }
    true
}

/// The head of a chunked response, before the endless chunks.
const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
/// A chunked response up to its last chunk, before the endless trailers.
const TRAILERS: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n";

/// Sends `start`, then `item` over and over, as fast as the client reads, until the client
/// leaves, the server stops, or [`FLOOD_LIMIT`] passes.
fn flood(mut stream: &TcpStream, shared: &Shared, start: &[u8], item: &[u8]) {
    if !respond(stream, shared, start) {
        return;
    }
    let batch = item.repeat(64 * 1024 / item.len());
    let until = Instant::now() + FLOOD_LIMIT;
    while Instant::now() < until && !shared.over() {
        if stream.write_all(&batch).is_err() {
            return;
        }
    }
}

/// A 200 with `n` header lines and a 2-byte body.
fn many_headers(n: usize) -> Vec<u8> {
    let mut r = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..n {
        r.extend_from_slice(format!("X-Header-{i}: value {i}\r\n").as_bytes());
    }
    r.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
    r
}
