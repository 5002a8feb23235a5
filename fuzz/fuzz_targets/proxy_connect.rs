//! A proxy's answer to CONNECT, as flak-wire reads it before a tunnel (`proxy_connect`): the
//! head read up to its blank line (at most 16 KiB), parsed, 2xx or a refusal.
//!
//! Input: bytes 0 and 1 are the sizes of the pieces the connection delivers (cycled), the rest
//! is what the proxy sent. The read must end (the script closes after its bytes), and agree
//! with a model of the whole input: a 2xx head followed by nothing opens the tunnel; a tunnel
//! opened means the bytes began with a complete 2xx head.
#![no_main]

mod wire;

use flak_wire::fuzz_bridge::{PROXY_MAX_HEAD, proxy_connect};
use libfuzzer_sys::fuzz_target;

/// The status of the complete head at the start of `data`, and where it ends.
fn head(data: &[u8]) -> Option<(u16, usize)> {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&data[..end]) {
        Ok(httparse::Status::Complete(_)) => Some((response.code?, end)),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (sizes, input) = data.split_at(2);
    let mut io = wire::Script::new(input, sizes);
    let result = wire::run(proxy_connect(&mut io));
    let model = head(input);
    if result.is_ok() {
        let (status, _) = model.expect("a tunnel opened on an incomplete head");
        assert!((200..300).contains(&status), "a tunnel opened on {status}");
    }
    if let Some((status, end)) = model
        && (200..300).contains(&status)
        && end == input.len()
        && end <= PROXY_MAX_HEAD
    {
        assert!(result.is_ok(), "a 2xx head alone refused: {result:?}");
    }
    assert!(io.written.starts_with(b"CONNECT h:443 HTTP/1.1\r\n"));
});
