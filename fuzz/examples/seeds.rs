//! Writes the seeds of the flak-wire targets into fuzz/seeds/: real server responses, HTTP/1.1
//! as nginx sends them and HTTP/2 frames built with `flak_wire::h2::frame::frame`.
//!
//!     cd fuzz && cargo run --example seeds
//!
//! The HTTP/1.1 and HTTP/2 seeds start with the targets' 4-byte prefix: flags, then three piece
//! sizes.

use flak_wire::fuzz_bridge::huffman_encode;
use flak_wire::h2::frame::{
    CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PADDED, PING, SETTINGS,
    WINDOW_UPDATE, frame,
};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = format!("seeds/{target}");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(format!("{dir}/{name}"), bytes).unwrap();
}

fn with_prefix(prefix: [u8; 4], rest: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend_from_slice(rest);
    out
}

/// Literal without indexing for static names past 14: 0x0f then the rest of the index.
fn literal_big(out: &mut Vec<u8>, index: u8, value: &str) {
    out.extend_from_slice(&[0x0f, index - 15]);
    let coded = huffman_encode(value.as_bytes());
    out.push(0x80 | coded.len() as u8);
    out.extend_from_slice(&coded);
}

/// nginx's response head for a 200 with a length, as HPACK.
fn nginx_block(length: usize) -> Vec<u8> {
    let mut b = vec![0x88]; // :status 200
    literal_big(&mut b, 54, "nginx/1.24.0"); // server
    literal_big(&mut b, 33, "Tue, 01 Dec 2026 04:26:16 GMT"); // date
    literal_big(&mut b, 31, "text/html"); // content-type
    literal_big(&mut b, 28, &length.to_string()); // content-length
    // etag as a literal name, as nginx sends it.
    b.push(0x00);
    let name = huffman_encode(b"etag");
    b.push(0x80 | name.len() as u8);
    b.extend_from_slice(&name);
    b.push(14);
    b.extend_from_slice(b"\"6659a8c1-267\"");
    b
}

fn main() {
    // HTTP/1.1.
    let body = "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n";
    let nginx = format!(
        "HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nDate: Tue, 01 Dec 2026 04:26:16 GMT\r\nContent-Type: text/html\r\nContent-Length: {}\r\nLast-Modified: Fri, 31 May 2024 10:33:05 GMT\r\nConnection: keep-alive\r\nETag: \"6659a8c1-267\"\r\nAccept-Ranges: bytes\r\n\r\n{body}",
        body.len()
    );
    write(
        "h1_response",
        "nginx_length",
        &with_prefix([0, 255, 255, 255], nginx.as_bytes()),
    );
    write(
        "h1_response",
        "nginx_length_pieces",
        &with_prefix([2, 0, 6, 40], nginx.as_bytes()),
    );
    write(
        "h1_response",
        "head_request",
        &with_prefix(
            [1, 255, 255, 255],
            b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 615\r\n\r\n",
        ),
    );
    let chunked = b"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nTrailer: X-Checksum\r\n\r\n1a\r\n{\"items\":[1,2,3],\"next\":4}\r\n5;ext=1\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n";
    write(
        "h1_response",
        "chunked_trailers",
        &with_prefix([0, 3, 16, 255], chunked),
    );
    write("h1_response", "continue_204", &with_prefix([0, 5, 255, 1], b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 204 No Content\r\nServer: nginx\r\nDate: Tue, 01 Dec 2026 04:26:16 GMT\r\n\r\n"));
    write("h1_response", "close_delimited", &with_prefix([0, 10, 255, 255], b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.12\r\nContent-type: text/plain\r\n\r\nthe body runs to the end of the connection\n"));
    write("h1_response", "connection_close", &with_prefix([0, 255, 255, 255], b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy"));
    write("h1_response", "redirect", &with_prefix([2, 255, 255, 255], b"HTTP/1.1 302 Found\r\nLocation: https://example.com/next?a=1\r\nContent-Length: 0\r\n\r\n"));
    write("h1_response", "conflicting_te", &with_prefix([0, 255, 255, 255], b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));

    // HTTP/2: the server's SETTINGS, its ACK of ours, and responses.
    let settings = frame(
        SETTINGS,
        0,
        0,
        &[0, 3, 0, 0, 0, 128, 0, 4, 0, 1, 0, 0, 0, 5, 0, 0, 64, 0],
    );
    let ack = frame(SETTINGS, 1, 0, &[]);
    let mut basic = settings.clone();
    basic.extend(&ack);
    basic.extend(frame(HEADERS, END_HEADERS, 1, &nginx_block(5)));
    basic.extend(frame(DATA, END_STREAM, 1, b"hello"));
    write(
        "h2_frames",
        "nginx_200",
        &with_prefix([0, 255, 255, 255], &basic),
    );
    // Two exchanges: a 302 with Location on stream 1, a 404 on stream 3.
    let mut two = settings.clone();
    let status = huffman_encode(b"302");
    let mut redirect = vec![0x48, 0x80 | status.len() as u8];
    redirect.extend(&status);
    literal_big(&mut redirect, 46, "/final");
    two.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1, &redirect));
    two.extend(frame(HEADERS, END_HEADERS, 3, &[0x8d]));
    two.extend(frame(DATA, 0, 3, b"not "));
    two.extend(frame(DATA, END_STREAM, 3, b"found"));
    write(
        "h2_frames",
        "two_exchanges",
        &with_prefix([0, 7, 30, 255], &two),
    );
    // A 70,000-byte body: the server opens the windows first.
    let mut big = settings.clone();
    big.extend(frame(WINDOW_UPDATE, 0, 0, &100_000u32.to_be_bytes()));
    big.extend(frame(WINDOW_UPDATE, 0, 1, &100_000u32.to_be_bytes()));
    big.extend(frame(PING, 0, 0, b"12345678"));
    big.extend(frame(HEADERS, END_HEADERS, 1, &nginx_block(2)));
    big.extend(frame(DATA, PADDED, 1, &[3, b'o', b'k', 0, 0, 0]));
    big.extend(frame(DATA, END_STREAM, 1, b""));
    write(
        "h2_frames",
        "large_body",
        &with_prefix([6, 255, 255, 255], &big),
    );
    // 100 Continue, a head split over CONTINUATION, a body, trailers, then GOAWAY.
    let mut interim = settings.clone();
    interim.extend(frame(
        HEADERS,
        END_HEADERS,
        1,
        &[0x08, 0x03, b'1', b'0', b'0'],
    ));
    let block = nginx_block(3);
    let (a, b) = block.split_at(10);
    interim.extend(frame(HEADERS, 0, 1, a));
    interim.extend(frame(CONTINUATION, END_HEADERS, 1, b));
    interim.extend(frame(DATA, 0, 1, b"abc"));
    interim.extend(frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        1,
        &[0x00, 0x03, b'x', b'-', b't', 0x01, b'1'],
    ));
    interim.extend(frame(GOAWAY, 0, 0, &[0, 0, 0, 1, 0, 0, 0, 0]));
    write(
        "h2_frames",
        "continue_continuation_trailers_goaway",
        &with_prefix([2, 4, 255, 9], &interim),
    );
    write(
        "h2_frames",
        "head_request",
        &with_prefix([1, 255, 255, 255], &{
            let mut h = settings.clone();
            h.extend(frame(
                HEADERS,
                END_HEADERS | END_STREAM,
                1,
                &nginx_block(615),
            ));
            h
        }),
    );

    // HPACK blocks (byte 0: Location wanted).
    let mut with_loc = vec![1];
    with_loc.extend(&redirect);
    write("hpack_decode", "redirect", &with_loc);
    write(
        "hpack_decode",
        "nginx",
        &[&[0][..], &nginx_block(615)].concat(),
    );
    write(
        "hpack_decode",
        "raw_literals",
        &[
            1, 0x08, 3, b'2', b'0', b'0', 0x00, 8, b'l', b'o', b'c', b'a', b't', b'i', b'o', b'n',
            2, b'/', b'x', 0x20,
        ],
    );

    // Huffman strings.
    write("huffman_decode", "www", &huffman_encode(b"www.example.com"));
    write("huffman_decode", "digits", &huffman_encode(b"1234567890"));
    write(
        "huffman_decode",
        "date",
        &huffman_encode(b"Tue, 01 Dec 2026 04:26:16 GMT"),
    );
    write(
        "huffman_decode",
        "all_bytes",
        &huffman_encode(&(0..=255).collect::<Vec<u8>>()),
    );
}
