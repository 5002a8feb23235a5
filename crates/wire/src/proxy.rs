//! Through an HTTP proxy (`-x`): a CONNECT tunnel for https (and HTTP/2 with prior knowledge),
//! and the absolute-form request line (`GET http://host/path HTTP/1.1`) for plain http.

use flak_core::{ErrorKind, RequestError};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::USER_AGENT;
use crate::route::Proxy;
use crate::target::Target;
use crate::transport::TransportConfig;

/// Largest CONNECT response head read; a proxy's answer is a few hundred bytes.
pub const MAX_HEAD: usize = 16 << 10;

/// Asks the proxy on `tcp` for a tunnel to `host:port` and returns once it stands. A refusal
/// (any status but 2xx) is `connect_refused` with the proxy's status line.
pub async fn tunnel<S: AsyncRead + AsyncWrite + Unpin>(
    tcp: &mut S,
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> Result<(), RequestError> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = &proxy.authorization {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str(&format!("User-Agent: {USER_AGENT}\r\n\r\n"));
    let failed = |kind, what: String| {
        RequestError::new(
            kind,
            format!(
                "proxy {}:{} CONNECT {authority}: {what}",
                proxy.host, proxy.port
            ),
        )
    };
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| failed(ErrorKind::Reset, e.to_string()))?;
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if head.len() > MAX_HEAD {
            return Err(failed(ErrorKind::Protocol, "response head too long".into()));
        }
        let n = tcp
            .read(&mut chunk)
            .await
            .map_err(|e| failed(ErrorKind::Reset, e.to_string()))?;
        if n == 0 {
            return Err(failed(
                ErrorKind::ConnectRefused,
                "the proxy closed the connection without answering".into(),
            ));
        }
        head.extend_from_slice(&chunk[..n]);
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&head[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(failed(ErrorKind::Protocol, "not an HTTP response".into())),
    }
    let status = response.code.unwrap_or(0);
    if !(200..300).contains(&status) {
        let reason = response.reason.unwrap_or("");
        return Err(failed(
            ErrorKind::ConnectRefused,
            format!("refused with {status} {reason}")
                .trim_end()
                .to_string(),
        ));
    }
    // The client speaks first in TLS and HTTP/2, so a proxy has nothing to send yet.
    if head.len() > end {
        return Err(failed(
            ErrorKind::Protocol,
            "bytes after the CONNECT response".into(),
        ));
    }
    Ok(())
}

/// Turns an encoded origin-form HTTP/1.1 request (`GET /path HTTP/1.1`) into the absolute
/// form a proxy wants (`GET http://host/path HTTP/1.1`), with `Proxy-Authorization` when the
/// proxy URL had credentials.
pub fn absolute_form(request: &mut Vec<u8>, target: &Target, proxy: &Proxy) {
    let Some(space) = request.iter().position(|&b| b == b' ') else {
        return;
    };
    let prefix = format!("http://{}", target.host_header());
    request.splice(space + 1..space + 1, prefix.bytes());
    if let Some(auth) = &proxy.authorization
        && let Some(eol) = request.windows(2).position(|w| w == b"\r\n")
    {
        let line = format!("Proxy-Authorization: {auth}\r\n");
        request.splice(eol + 2..eol + 2, line.bytes());
    }
}

impl TransportConfig {
    /// Plain http over HTTP/1.1 through a proxy: the encoded request in absolute form.
    pub(crate) fn proxy_form(&self, request: &mut Vec<u8>, target: &Target) {
        if let Some(proxy) = &self.route.proxy
            && self.route.is_absolute_form(target, self.http2)
        {
            absolute_form(request, target, proxy);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn origin_form_becomes_absolute_form_with_credentials() {
        let mut out = Vec::new();
        crate::h1::encode_request(&mut out, "GET", "/a?b", "h:8", &[], b"", "flak/t");
        let target = Target::parse("http://h:8/a?b").unwrap();
        let proxy = Proxy::parse("http://u:p@127.0.0.1:3128").unwrap();
        absolute_form(&mut out, &target, &proxy);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "GET http://h:8/a?b HTTP/1.1\r\nProxy-Authorization: Basic dTpw\r\nHost: h:8\r\n"
            ),
            "{text}"
        );
    }
}
