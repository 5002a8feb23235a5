//! The byte stream a connection runs on: plain TCP (direct, or a proxy's CONNECT tunnel), a
//! unix socket, or TLS over either; one type for all so the HTTP/1.1 and HTTP/2 connections
//! are not generic over it at every call site.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

/// A TCP, unix-socket or TLS byte stream.
pub enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    Tls(Box<tokio_rustls::client::TlsStream<Plain>>),
}

/// What TLS runs over.
pub enum Plain {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

impl From<Plain> for Stream {
    fn from(plain: Plain) -> Self {
        match plain {
            Plain::Tcp(s) => Stream::Tcp(s),
            #[cfg(unix)]
            Plain::Unix(s) => Stream::Unix(s),
        }
    }
}

/// The same call on whichever stream `$s` holds, for the `AsyncRead`/`AsyncWrite` methods.
macro_rules! each {
    ($ty:ident, $s:expr, $x:ident => $call:expr) => {
        match $s {
            $ty::Tcp($x) => $call,
            #[cfg(unix)]
            $ty::Unix($x) => $call,
        }
    };
}

impl AsyncRead for Plain {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        each!(Plain, self.get_mut(), s => Pin::new(s).poll_read(cx, buf))
    }
}

impl AsyncWrite for Plain {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        each!(Plain, self.get_mut(), s => Pin::new(s).poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        each!(Plain, self.get_mut(), s => Pin::new(s).poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        each!(Plain, self.get_mut(), s => Pin::new(s).poll_shutdown(cx))
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Stream {
    /// Whether the peer has closed (or sent something unasked on) an idle connection: a
    /// non-blocking peek, so nothing is consumed.
    pub fn closed_by_peer(&self) -> bool {
        match self {
            Stream::Tcp(s) => tcp_closed(s),
            #[cfg(unix)]
            Stream::Unix(s) => unix_closed(s),
            Stream::Tls(s) => match s.get_ref().0 {
                Plain::Tcp(s) => tcp_closed(s),
                #[cfg(unix)]
                Plain::Unix(s) => unix_closed(s),
            },
        }
    }
}

fn tcp_closed(tcp: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    let mut buf = ReadBuf::new(&mut byte);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    // Ready(Ok) with 0 bytes is EOF; with data (or an error) the connection is unusable too.
    matches!(tcp.poll_peek(&mut cx, &mut buf), Poll::Ready(_))
}

/// tokio has no `poll_peek` for unix sockets: peek through socket2 when the socket reports
/// readable (a `WouldBlock` clears tokio's stale readiness, as `poll_peek` does for TCP).
#[cfg(unix)]
fn unix_closed(unix: &UnixStream) -> bool {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match unix.poll_read_ready(&mut cx) {
        Poll::Pending => false,
        Poll::Ready(Err(_)) => true,
        Poll::Ready(Ok(())) => {
            let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
            let peeked = unix.try_io(tokio::io::Interest::READABLE, || {
                socket2::SockRef::from(unix).peek(&mut byte)
            });
            !matches!(peeked, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        }
    }
}
