//! HTTP/1.1 request encoding: the whole request (line, headers, body) in one buffer, written
//! with one call. Done once per request template when the URL is fixed.

/// Encodes a whole request: request line, headers (Host and User-Agent unless given), body.
pub fn encode_request(
    out: &mut Vec<u8>,
    method: &str,
    path_and_query: &str,
    host: &str,
    headers: &[(String, String)],
    body: &[u8],
    user_agent: &str,
) {
    encode_request_with(
        out,
        method,
        path_and_query,
        host,
        [headers, &[]],
        body,
        user_agent,
    );
}

/// [`encode_request`] with two lists of headers, sent in order: a template's fixed ones, then
/// those a journey expanded for this request. Out of line: it runs once per template, or per
/// request only for templated URLs and journeys.
#[inline(never)]
pub fn encode_request_with(
    out: &mut Vec<u8>,
    method: &str,
    path_and_query: &str,
    host: &str,
    headers: [&[(String, String)]; 2],
    body: &[u8],
    user_agent: &str,
) {
    out.clear();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(if path_and_query.is_empty() {
        b"/"
    } else {
        path_and_query.as_bytes()
    });
    out.extend_from_slice(b" HTTP/1.1\r\n");
    let has = |name: &str| {
        headers
            .iter()
            .any(|list| list.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
    };
    if !has("host") {
        out.extend_from_slice(b"Host: ");
        out.extend_from_slice(host.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !has("user-agent") {
        out.extend_from_slice(b"User-Agent: ");
        out.extend_from_slice(user_agent.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in headers.into_iter().flatten() {
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let needs_length = !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH");
    if needs_length {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn requests_are_encoded_once_with_host_agent_and_length() {
        let mut out = Vec::new();
        encode_request(
            &mut out,
            "POST",
            "/a?b=1",
            "h:8",
            &[("X-K".into(), "v".into())],
            b"{}",
            "flak/test",
        );
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("POST /a?b=1 HTTP/1.1\r\nHost: h:8\r\nUser-Agent: flak/"));
        assert!(text.ends_with("X-K: v\r\nContent-Length: 2\r\n\r\n{}"));
        encode_request(
            &mut out,
            "GET",
            "",
            "h",
            &[("Host".into(), "other".into())],
            b"",
            "flak/test",
        );
        assert_eq!(String::from_utf8(out).unwrap().matches("Host").count(), 1);
    }

    #[test]
    fn expanded_headers_follow_the_fixed_ones_and_content_length_follows_the_body() {
        let mut out = Vec::new();
        encode_request_with(
            &mut out,
            "PUT",
            "/u",
            "h",
            [
                &[("Content-Type".into(), "text/plain".into())],
                &[
                    ("Authorization".into(), "Bearer t".into()),
                    ("content-length".into(), "99".into()),
                ],
            ],
            b"expanded",
            "flak/test",
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with(
                "Content-Type: text/plain\r\nAuthorization: Bearer t\r\nContent-Length: 8\r\n\r\nexpanded"
            ),
            "{text}"
        );
    }
}
