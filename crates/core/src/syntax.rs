//! HTTP syntax checks: request methods, header lines and absolute http(s) URLs, one function
//! each, called the same way on every target. Natively they ask the `http` crate. On wasm32 they
//! use the checks written out by hand in `by_hand`, which accept and refuse exactly what `http`
//! does, with its error messages (the native tests compare the two on every byte and on random
//! strings): that keeps `http`'s parsers and header tables out of the web app's bundle.

/// A request method `http::Method::from_bytes` accepts: a non-empty token.
pub fn is_method(method: &str) -> bool {
    #[cfg(not(target_arch = "wasm32"))]
    {
        !method.is_empty() && http::Method::from_bytes(method.as_bytes()).is_ok()
    }
    #[cfg(target_arch = "wasm32")]
    {
        by_hand::is_method(method)
    }
}

/// A header `http::HeaderName::from_bytes` and `http::HeaderValue::from_str` accept: a token
/// for the name (any case), no control bytes but tab in the value.
pub fn is_header(name: &str, value: &str) -> bool {
    #[cfg(not(target_arch = "wasm32"))]
    {
        http::HeaderName::from_bytes(name.as_bytes()).is_ok()
            && http::HeaderValue::from_str(value).is_ok()
    }
    #[cfg(target_arch = "wasm32")]
    {
        by_hand::is_header_name(name) && by_hand::is_header_value(value)
    }
}

/// Checks that `url` is an absolute http(s) URL with a host; the error says what is wrong.
pub fn check_url(url: &str) -> Result<(), String> {
    #[cfg(not(target_arch = "wasm32"))]
    let parsed: http::Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    #[cfg(not(target_arch = "wasm32"))]
    let uri = UriParts {
        scheme: parsed.scheme_str(),
        authority: parsed.authority().map_or("", |a| a.as_str()),
    };
    #[cfg(target_arch = "wasm32")]
    let uri = by_hand::parse_uri(url).map_err(str::to_string)?;
    check_parts(uri)
}

/// The part of [`check_url`] after parsing, shared by both parsers.
fn check_parts(uri: UriParts<'_>) -> Result<(), String> {
    match uri.scheme {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!(
                "scheme {other:?} is not supported (use http or https)"
            ));
        }
        None => return Err("missing scheme: write http://host/...".into()),
    }
    match uri.host() {
        Some(h) if !h.is_empty() => {}
        _ => return Err("missing host".into()),
    }
    // `http::Uri` keeps a port that does not fit in 16 bits, and `port_u16` then says None,
    // which would silently mean the scheme's default port.
    let host_port = uri.authority.rsplit('@').next().unwrap_or(uri.authority);
    if !host_port.ends_with(']')
        && let Some((_, port)) = host_port.rsplit_once(':')
        && port.parse::<u16>().is_err()
    {
        return Err(format!("port {port} is out of range (1-65535)"));
    }
    Ok(())
}

/// What [`check_url`] looks at in a URI that parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UriParts<'a> {
    /// As `http::Uri::scheme_str`: `http` and `https` in lower case whatever the input's case.
    scheme: Option<&'a str>,
    /// As `http::Uri::authority`; empty when there is none.
    authority: &'a str,
}

impl<'a> UriParts<'a> {
    /// As `http::Uri::host`.
    fn host(&self) -> Option<&'a str> {
        if self.authority.is_empty() {
            return None;
        }
        let host_port = self.authority.rsplit('@').next().unwrap_or(self.authority);
        if host_port.starts_with('[') {
            Some(host_port.find(']').map_or(host_port, |i| &host_port[..=i]))
        } else {
            host_port.split(':').next()
        }
    }
}

/// The checks written out by hand, for wasm32 (and natively for the tests against `http`).
#[cfg(any(target_arch = "wasm32", test))]
mod by_hand {
    use super::UriParts;

    /// The longest URI the `http` crate accepts.
    pub(super) const MAX_URI_LEN: usize = u16::MAX as usize - 1;
    /// The longest scheme the `http` crate accepts.
    const MAX_SCHEME_LEN: usize = 64;
    /// The longest header name the `http` crate accepts.
    pub(super) const MAX_HEADER_NAME_LEN: usize = (1 << 16) - 1;

    /// RFC 9110 `tchar`: what a method or a header name is made of.
    fn is_tchar(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
    }

    /// A method `http::Method::from_bytes` accepts.
    pub fn is_method(method: &str) -> bool {
        !method.is_empty() && method.bytes().all(is_tchar)
    }

    /// A header name `http::HeaderName::from_bytes` accepts (any case).
    pub fn is_header_name(name: &str) -> bool {
        !name.is_empty() && name.len() <= MAX_HEADER_NAME_LEN && name.bytes().all(is_tchar)
    }

    /// A header value `http::HeaderValue::from_str` accepts: no control bytes but tab.
    pub fn is_header_value(value: &str) -> bool {
        value.bytes().all(|b| (b >= 32 && b != 127) || b == b'\t')
    }

    const EMPTY: &str = "empty string";
    const TOO_LONG: &str = "uri too long";
    const INVALID_CHAR: &str = "invalid uri character";
    const INVALID_AUTHORITY: &str = "invalid authority";
    const INVALID_FORMAT: &str = "invalid format";
    const SCHEME_TOO_LONG: &str = "scheme too long";
    const NO_SLASH: &str = "path does not start with slash";

    /// Parses `s` as `s.parse::<http::Uri>()` does; the error is that parse's message.
    pub fn parse_uri(s: &str) -> Result<UriParts<'_>, &'static str> {
        let b = s.as_bytes();
        let none = |authority| UriParts {
            scheme: None,
            authority,
        };
        if b.len() > MAX_URI_LEN {
            return Err(TOO_LONG);
        }
        match b {
            [] => return Err(EMPTY),
            [b'/' | b'*'] => return Ok(none("")),
            [_] => {
                return if authority_end(b)? == 1 {
                    Ok(none(s))
                } else {
                    Err(INVALID_CHAR)
                };
            }
            [b'/', ..] => {
                check_path_and_query(b)?;
                return Ok(none(""));
            }
            _ => {}
        }
        let (scheme, rest) = match scheme_end(b)? {
            Scheme::None => (None, s),
            Scheme::Http => (Some("http"), &s[7..]),
            Scheme::Https => (Some("https"), &s[8..]),
            Scheme::Other(n) => (Some(&s[..n]), &s[n + 3..]),
        };
        let end = authority_end(rest.as_bytes())?;
        if scheme.is_none() {
            return if end == rest.len() {
                Ok(none(rest))
            } else {
                Err(INVALID_FORMAT)
            };
        }
        if end == 0 {
            return Err(INVALID_FORMAT);
        }
        let (authority, path) = rest.split_at(end);
        if !path.is_empty() {
            check_path_and_query(path.as_bytes())?;
        }
        Ok(UriParts { scheme, authority })
    }

    enum Scheme {
        None,
        Http,
        Https,
        /// A scheme of this many bytes, then `://`.
        Other(usize),
    }

    /// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`, plus the `~` the `http` crate allows.
    fn is_scheme_char(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'~')
    }

    fn scheme_end(s: &[u8]) -> Result<Scheme, &'static str> {
        if s.len() >= 7 && s[..7].eq_ignore_ascii_case(b"http://") {
            return Ok(Scheme::Http);
        }
        if s.len() >= 8 && s[..8].eq_ignore_ascii_case(b"https://") {
            return Ok(Scheme::Https);
        }
        if s.len() > 3 {
            for (i, &b) in s.iter().enumerate() {
                if b == b':' {
                    if s.len() < i + 3 || &s[i + 1..i + 3] != b"//" {
                        break;
                    }
                    if i > MAX_SCHEME_LEN {
                        return Err(SCHEME_TOO_LONG);
                    }
                    return Ok(Scheme::Other(i));
                }
                if !is_scheme_char(b) {
                    break;
                }
            }
        }
        Ok(Scheme::None)
    }

    /// Bytes the `http` crate allows in an authority (and `/`, `?`, `#`, which end it).
    fn is_uri_char(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b"!#$&'()*+,-./:;=?@[]_~".contains(&b)
    }

    /// Where the authority at the start of `s` ends, validated as the `http` crate does.
    fn authority_end(s: &[u8]) -> Result<usize, &'static str> {
        if s.is_empty() {
            return Err(EMPTY);
        }
        const MAX_COLONS: u32 = 8;
        let mut colons = 0;
        let (mut open, mut close, mut percent) = (false, false, false);
        let mut end = s.len();
        let mut at = s.len();
        for (i, &b) in s.iter().enumerate() {
            if !is_uri_char(b) {
                if b != b'%' {
                    return Err(INVALID_CHAR);
                }
                percent = true;
                continue;
            }
            match b {
                b'/' | b'?' | b'#' => {
                    end = i;
                    break;
                }
                b':' => {
                    if colons >= MAX_COLONS {
                        return Err(INVALID_AUTHORITY);
                    }
                    colons += 1;
                }
                b'[' => {
                    if percent || open {
                        return Err(INVALID_AUTHORITY);
                    }
                    open = true;
                }
                b']' => {
                    if !open || close {
                        return Err(INVALID_AUTHORITY);
                    }
                    close = true;
                    colons = 0;
                    percent = false;
                }
                b'@' => {
                    at = i;
                    colons = 0;
                    percent = false;
                }
                _ => {}
            }
        }
        if open != close || colons > 1 || (end > 0 && at == end - 1) || percent {
            return Err(INVALID_AUTHORITY);
        }
        Ok(end)
    }

    /// Checks a path-and-query (which starts with `/`, `?` or `#`) as the `http` crate does;
    /// whatever follows `#` is not checked.
    fn check_path_and_query(s: &[u8]) -> Result<(), &'static str> {
        if s.len() > MAX_URI_LEN {
            return Err(TOO_LONG);
        }
        if s == b"*" {
            return Ok(());
        }
        if !matches!(s.first(), Some(b'/' | b'?' | b'#')) {
            return Err(NO_SLASH);
        }
        let path_ok = |b: u8| {
            matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x40..=0x5F | 0x61..=0x7A | 0x7C | 0x7E | 0x80..)
                || matches!(b, b'"' | b'{' | b'}')
        };
        let query_ok = |b: u8| matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x3F..=0x7E | 0x80..);
        let mut in_query = false;
        for &b in s {
            match b {
                b'#' => break,
                b'?' if !in_query => in_query = true,
                _ if in_query && query_ok(b) => {}
                _ if !in_query && path_ok(b) => {}
                _ => return Err(INVALID_CHAR),
            }
        }
        Ok(())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::by_hand::{
        MAX_HEADER_NAME_LEN, MAX_URI_LEN, is_header_name, is_header_value, is_method, parse_uri,
    };
    use super::{check_parts, check_url};

    type Parts = (Option<String>, String, Option<String>);

    fn by_http(s: &str) -> Result<Parts, String> {
        let uri: http::Uri = s
            .parse()
            .map_err(|e: http::uri::InvalidUri| e.to_string())?;
        Ok((
            uri.scheme_str().map(str::to_string),
            uri.authority()
                .map_or(String::new(), |a| a.as_str().to_string()),
            uri.host().map(str::to_string),
        ))
    }

    fn parsed_by_hand(s: &str) -> Result<Parts, String> {
        let p = parse_uri(s)?;
        Ok((
            p.scheme.map(str::to_string),
            p.authority.to_string(),
            p.host().map(str::to_string),
        ))
    }

    fn same(s: &str) {
        assert_eq!(parsed_by_hand(s), by_http(s), "parsing {s:?}");
        assert_eq!(
            parse_uri(s).map_err(str::to_string).and_then(check_parts),
            check_url(s),
            "checking {s:?}"
        );
        assert_eq!(
            is_method(s),
            http::Method::from_bytes(s.as_bytes()).is_ok() && !s.is_empty(),
            "method {s:?}"
        );
        assert_eq!(
            is_header_name(s),
            http::HeaderName::from_bytes(s.as_bytes()).is_ok(),
            "header name {s:?}"
        );
        assert_eq!(
            is_header_value(s),
            http::HeaderValue::from_str(s).is_ok(),
            "header value {s:?}"
        );
    }

    #[test]
    fn every_char_alone_and_in_each_part_of_a_url() {
        for c in (0u32..0x100)
            .filter_map(char::from_u32)
            .chain(['é', '€', '😀'])
        {
            for t in [
                "{c}",
                "{c}{c}",
                "/{c}",
                "http://h{c}/",
                "http://h/{c}",
                "http://h/?{c}",
                "http://h/#{c}",
                "http://u{c}@h/",
                "http://[::1{c}]/",
                "h{c}p://h/",
                "{c}ttp://h/",
                "http://h:8{c}/",
                "GE{c}",
            ] {
                same(&t.replace("{c}", &c.to_string()));
            }
        }
    }

    #[test]
    fn tricky_urls() {
        for s in [
            "",
            "/",
            "*",
            "?",
            "#",
            "%",
            "a",
            "//",
            "/a?b#c",
            "HTTP://H/",
            "HtTpS://h:443/x",
            "http://",
            "https://",
            "http:///",
            "http://h",
            "http://h:",
            "http://h:80:90/",
            "http://u:p@h:1/",
            "http://u@/",
            "http://@h/",
            "http://u@h@i/",
            "http://[::1]:8080/",
            "http://[::1/",
            "http://::1]/",
            "http://[[::1]]/",
            "http://a%20b/",
            "http://u%20@h/",
            "http://[fe80::1%25eth0]/",
            "http://1:2:3:4:5:6:7:8:9:10/",
            "http://[1:2:3:4:5:6:7:8]:9/",
            "ws://h/",
            "ftp://h/",
            ":///h",
            "~a://h/",
            "a+b.c-d://h/",
            "mailto:x@y",
            "h:80",
            "h:80/x",
            "localhost",
            "localhost:8080:3030",
            "http://h/{pick:a,b}",
            "http://h/a b",
            "http://h/?a b",
            "http://h/#a b",
            "http://h/\"{}",
            "http://h/?\"{}",
            "http://h/a?b?c#d#e",
            "http://h?x",
            "http://h#x",
            "http:/h",
            "http:h",
            "1http://h/",
        ] {
            same(s);
        }
        same(&format!("{}://h/", "a".repeat(64)));
        same(&format!("{}://h/", "a".repeat(65)));
        same(&format!("http://h/{}", "a".repeat(MAX_URI_LEN)));
        same(&format!("http://h/{}", "a".repeat(MAX_URI_LEN - 9)));
        same(&"a".repeat(MAX_HEADER_NAME_LEN));
        same(&"a".repeat(MAX_HEADER_NAME_LEN + 1));
    }

    #[test]
    fn random_strings_from_the_interesting_bytes() {
        let alphabet: Vec<char> = "hHtTpPsS:/?#@[]%.-+~ ,\"{}\t\n\x7f\u{e9}019aZ*!$&'()=;_`|^"
            .chars()
            .collect();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut s = String::new();
        for _ in 0..200_000 {
            s.clear();
            if rng.bool() {
                s.push_str(["http://", "https://", "x://", ""][rng.usize(..4)]);
            }
            for _ in 0..rng.usize(0..14) {
                s.push(alphabet[rng.usize(..alphabet.len())]);
            }
            same(&s);
        }
    }
}
