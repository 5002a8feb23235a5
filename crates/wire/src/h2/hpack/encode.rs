//! HPACK encoding of request header blocks (RFC 7541 §6.2.2): literals without indexing and
//! static-table entries only, so a block is encoded once per request template and is valid on
//! any connection.

/// Encodes a request's header block: pseudo-headers, then `headers` (names lower-case, as
/// HTTP/2 requires). Every field is a literal without indexing, or a static-table entry, so the
/// block depends on nothing the connection has sent before and can be reused on any connection.
pub fn encode_request<'a>(
    out: &mut Vec<u8>,
    method: &str,
    https: bool,
    authority: &str,
    path: &str,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) {
    out.clear();
    match method {
        "GET" => out.push(0x82),
        "POST" => out.push(0x83),
        _ => put_literal(out, 2, method.as_bytes()),
    }
    out.push(if https { 0x87 } else { 0x86 });
    put_literal(out, 1, authority.as_bytes());
    let path = if !path.is_empty() {
        path
    } else if method == "OPTIONS" {
        "*"
    } else {
        "/"
    };
    if path == "/" {
        out.push(0x84);
    } else {
        put_literal(out, 4, path.as_bytes());
    }
    for (name, value) in headers {
        out.push(0x00);
        put_string(out, name.as_bytes());
        put_string(out, value);
    }
}

/// A literal field without indexing whose name is static-table entry `index` (< 15).
pub(crate) fn put_literal(out: &mut Vec<u8>, index: u8, value: &[u8]) {
    out.push(index);
    put_string(out, value);
}

pub(crate) fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    put_int(out, 0x00, 7, s.len());
    out.extend_from_slice(s);
}

pub fn put_int(out: &mut Vec<u8>, first: u8, prefix: u32, mut value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}
