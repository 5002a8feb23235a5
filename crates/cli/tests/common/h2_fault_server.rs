//! A test-only HTTP/2 server (prior knowledge) that misbehaves on purpose: it answers the
//! requests it receives, across all its connections, with each of [`BEHAVIOURS`] in turn, so a
//! run of `flak --http2` with a multiple of their number of requests meets each equally often.
//! Plain `std::net`, a thread per connection, every read bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use flak_wire::h2::frame::{PREFACE, frame};

/// Each behaviour's name and the error kind flak should report for it (`None`: a 200).
pub const BEHAVIOURS: [(&str, Option<&str>); 8] = [
    ("ok", None),
    // Sent once more (the server never processed it), refused again: counted once.
    ("goaway below the stream", Some("closed")),
    ("REFUSED_STREAM", Some("reset")),
    ("fewer bytes than content-length", Some("body")),
    (
        "the dynamic table, filled by a 103 head and read by the final one",
        None,
    ),
    ("a window past 2^31-1", Some("protocol")),
    ("a frame over SETTINGS_MAX_FRAME_SIZE", Some("protocol")),
    ("a bad Huffman code", Some("protocol")),
];

/// The bytes of behaviour `which` for the request on stream `s`.
fn answer(which: usize, s: u32) -> Vec<u8> {
    // :status 200 (static entry 8), content-length (static name 28): 2
    let head = [0x88, 0x0f, 0x0d, 0x01, b'2'];
    match which {
        0 => {
            let mut out = frame(0x1, 0x4, s, &head);
            out.extend(frame(0x0, 0x1, s, b"ok"));
            out
        }
        1 => frame(0x7, 0, 0, &[0, 0, 0, 0, 0, 0, 0, 0]),
        2 => frame(0x3, 0, s, &7u32.to_be_bytes()),
        3 => {
            let mut out = frame(0x1, 0x4, s, &head);
            out.extend(frame(0x0, 0x1, s, b"o"));
            out
        }
        4 => {
            // 103 with incremental indexing: the table gets :status 103 and, newest (index
            // 62), content-length 2. The final head says content-length by index 62 and
            // :status 200 from the static table; a decoder that lost the table fails here.
            let mut out = frame(0x1, 0x4, s, &[0x48, 3, b'1', b'0', b'3', 0x5c, 1, b'2']);
            out.extend(frame(0x1, 0x4, s, &[0x80 | 62, 0x88]));
            out.extend(frame(0x0, 0x1, s, b"ok"));
            out
        }
        5 => frame(0x8, 0, 0, &0x7fff_ffffu32.to_be_bytes()),
        6 => {
            let mut out = frame(0x1, 0x4, s, &head);
            out.extend(frame(0x0, 0x1, s, &vec![0; 16_385]));
            out
        }
        _ => frame(0x1, 0x5, s, &[0x08, 0x81, 0x00]),
    }
}

/// The behaviour a request's path names (`/b3`), so that a request sent again meets the same
/// one. flak's request blocks carry the path as a plain literal.
fn chosen(block: &[u8]) -> Option<usize> {
    let at = block.windows(2).position(|w| w == b"/b")?;
    let digit = *block.get(at + 2)?;
    digit
        .is_ascii_digit()
        .then(|| usize::from(digit - b'0'))
        .filter(|&d| d < BEHAVIOURS.len())
}

/// The URL path that asks for behaviour `which`.
pub fn path(which: usize) -> String {
    format!("b{which}")
}

/// What a flooding server sends, without end, in answer to a request.
#[derive(Clone, Copy, Debug)]
pub enum H2Flood {
    /// `:status 100` heads, one after another.
    InterimHeads,
    /// A head that is never finished: empty CONTINUATION frames.
    EmptyContinuations,
    /// WINDOW_UPDATEs on the connection.
    WindowUpdates,
}

/// How long a flood lasts at most, so a test that fails cannot leave it running.
const FLOOD_FOR: Duration = Duration::from_secs(20);

pub struct H2FaultServer {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    tls: bool,
}

impl H2FaultServer {
    /// Listens on a free loopback port; the accepting thread lives as long as the test process.
    pub fn start() -> Self {
        Self::serving(None, None)
    }

    /// A server that answers every request with an endless `flood` (for at most 20 s).
    pub fn flooding(flood: H2Flood) -> Self {
        Self::serving(Some(flood), None)
    }

    /// [`H2FaultServer::flooding`] over TLS (HTTP/2 by ALPN, a self-signed certificate: clients
    /// need --insecure).
    pub fn flooding_tls(flood: H2Flood) -> Self {
        Self::serving(Some(flood), Some(tls_config()))
    }

    fn serving(flood: Option<H2Flood>, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the HTTP/2 fault server");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let (r, c) = (Arc::clone(&requests), Arc::clone(&connections));
        let secure = tls.is_some();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                stream
                    .set_read_timeout(Some(Duration::from_secs(30)))
                    .unwrap();
                c.fetch_add(1, Ordering::SeqCst);
                let r = Arc::clone(&r);
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        serve(rustls::StreamOwned::new(conn, stream), &r, flood);
                    }
                    None => serve(stream, &r, flood),
                });
            }
        });
        Self {
            addr,
            requests,
            connections,
            tls: secure,
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

/// A self-signed certificate for 127.0.0.1, offering only h2.
fn tls_config() -> Arc<rustls::ServerConfig> {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key.into())
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

fn serve<S: Read + Write>(mut stream: S, requests: &AtomicU64, flood: Option<H2Flood>) {
    let mut preface = [0u8; 24];
    if stream.read_exact(&mut preface).is_err() || preface != PREFACE {
        return;
    }
    // The server's own preface: an empty SETTINGS.
    if stream.write_all(&frame(0x4, 0, 0, &[])).is_err() {
        return;
    }
    let mut h = [0u8; 9];
    while stream.read_exact(&mut h).is_ok() {
        let len = (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]);
        let mut payload = vec![0; len];
        if stream.read_exact(&mut payload).is_err() {
            return;
        }
        if h[3] == 0x1 {
            let s = u32::from_be_bytes([h[5], h[6], h[7], h[8]]);
            let n = requests.fetch_add(1, Ordering::SeqCst);
            if let Some(flood) = flood {
                send_flood(&mut stream, flood, s);
                return;
            }
            let which = chosen(&payload).unwrap_or((n % BEHAVIOURS.len() as u64) as usize);
            if stream.write_all(&answer(which, s)).is_err() {
                return;
            }
        }
    }
}

/// Writes `flood` for stream `s` until the client goes away or [`FLOOD_FOR`] passes.
fn send_flood(stream: &mut impl Write, flood: H2Flood, s: u32) {
    // :status 100, a literal with the static name :status (index 8).
    let interim = [0x08, 0x03, b'1', b'0', b'0'];
    let mut chunk = Vec::new();
    if let H2Flood::EmptyContinuations = flood {
        // The head starts, and never ends.
        chunk.extend(frame(0x1, 0, s, &[0x88]));
    }
    let unit = match flood {
        H2Flood::InterimHeads => frame(0x1, 0x4, s, &interim),
        H2Flood::EmptyContinuations => frame(0x9, 0, s, &[]),
        H2Flood::WindowUpdates => frame(0x8, 0, 0, &1u32.to_be_bytes()),
    };
    while chunk.len() < 64 * 1024 {
        chunk.extend_from_slice(&unit);
    }
    let until = std::time::Instant::now() + FLOOD_FOR;
    let mut first = true;
    while std::time::Instant::now() < until {
        if stream.write_all(&chunk).is_err() {
            return;
        }
        if first {
            first = false;
            chunk.clear();
            while chunk.len() < 64 * 1024 {
                chunk.extend_from_slice(&unit);
            }
        }
    }
}
