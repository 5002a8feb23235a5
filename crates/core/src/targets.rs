//! vegeta's plain-text targets format, so existing target lists work unchanged:
//!
//! ```text
//! GET http://127.0.0.1:8081/users/1
//! X-Account: 42
//!
//! POST http://127.0.0.1:8081/users
//! Content-Type: application/json
//! @bodies/new-user.json
//! ```
//!
//! A target is a `METHOD URL` line, then header lines, then optionally `@file` naming a body
//! file (resolved by the caller, relative to the targets file). Lines starting with `#` are
//! comments. URLs may hold template fields.
//!
//! Targets need no blank line between them, as in vegeta's own examples:
//!
//! ```text
//! GET http://127.0.0.1:8081/users/1
//! GET http://127.0.0.1:8081/users/2
//! HEAD http://127.0.0.1:8081/health
//! ```
//!
//! After a blank line any line starts a target. Elsewhere a line starts one only when it looks
//! like one (see `starts_target`); any other line is a header, so `X-Forwarded-For :
//! 10.0.0.1`, whose first word is also a token, stays a header.

use crate::plan::RequestSpec;
use crate::syntax;

/// One target, with its body file not yet read.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub spec: RequestSpec,
    pub body_file: Option<String>,
    /// 1-based line of the `METHOD URL` line, for messages.
    pub line: usize,
}

/// A targets file that does not parse, with the line at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", if *.line == 0 { reason.clone() } else { format!("targets file line {line}: {reason}") })]
pub struct TargetsError {
    pub line: usize,
    pub reason: String,
}

pub fn parse(text: &str) -> Result<Vec<Target>, TargetsError> {
    let mut targets: Vec<Target> = Vec::new();
    let mut open = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |reason: String| TargetsError {
            line: line_no,
            reason,
        };
        let line = raw.trim();
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            open = false;
            continue;
        }
        if !open || starts_target(line) {
            let (method, url) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| err(format!("expected 'METHOD URL', got {raw:?}")))?;
            let spec = RequestSpec::new(method, url.trim()).map_err(|e| err(e.to_string()))?;
            targets.push(Target {
                spec,
                body_file: None,
                line: line_no,
            });
            open = true;
            continue;
        }
        let target = targets.last_mut().expect("open implies a target");
        if let Some(path) = line.strip_prefix('@') {
            if target.body_file.is_some() {
                return Err(err("a second @body line for the same target".into()));
            }
            if path.is_empty() {
                return Err(err("'@' must be followed by a body file path".into()));
            }
            target.body_file = Some(path.to_string());
        } else if target.body_file.is_some() {
            return Err(err(format!("header {raw:?} after the @body line")));
        } else {
            target.spec = target
                .spec
                .clone()
                .header_line(raw)
                .map_err(|e| err(e.to_string()))?;
        }
    }
    if targets.is_empty() {
        return Err(TargetsError {
            line: 0,
            reason: "no targets in the file".into(),
        });
    }
    Ok(targets)
}

/// Whether `line` (trimmed) starts a new target right after another one's lines: its first word
/// is an HTTP method, in capitals as vegeta asks (a header line missing its colon, such as
/// `Referer http://x/`, is then not read as a request with the method "Referer"), then
/// whitespace and an http(s) URL. A header's first word holds its colon, unless the colon is
/// written apart; then what follows the word is `:`, not a URL.
fn starts_target(line: &str) -> bool {
    let Some((method, rest)) = line.split_once(char::is_whitespace) else {
        return false;
    };
    let url = rest.trim_start().as_bytes();
    let has_prefix = |prefix: &str| {
        url.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    syntax::is_method(method)
        && !method.bytes().any(|b| b.is_ascii_lowercase())
        && (has_prefix("http://") || has_prefix("https://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vegeta_targets() {
        let text = "# users\nGET http://h/users/{rand:1-9}\nX-A: 1\nX-B: two words\n\n\
                    POST http://h/users\nContent-Type: application/json\n@body.json\n\nDELETE http://h/x\n";
        let t = parse(text).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(
            t[0].spec.headers,
            vec![
                ("X-A".into(), "1".into()),
                ("X-B".into(), "two words".into())
            ]
        );
        assert_eq!(t[1].spec.method, "POST");
        assert_eq!(t[1].body_file.as_deref(), Some("body.json"));
        assert_eq!((t[2].spec.method.as_str(), t[2].line), ("DELETE", 10));
    }

    fn methods_urls_lines(t: &[Target]) -> Vec<(&str, &str, usize)> {
        t.iter()
            .map(|t| (t.spec.method.as_str(), t.spec.url.as_str(), t.line))
            .collect()
    }

    #[test]
    fn targets_need_no_blank_line_between_them() {
        // vegeta's README, "simple targets".
        let text = "GET http://goku:9090/path/to/dragon?item=balls\n\
                    GET http://user:password@goku:9090/path/to\n\
                    HEAD http://goku:9090/path/to/success\n";
        let t = parse(text).unwrap();
        let got = methods_urls_lines(&t);
        assert_eq!(
            got,
            [
                ("GET", "http://goku:9090/path/to/dragon?item=balls", 1),
                ("GET", "http://user:password@goku:9090/path/to", 2),
                ("HEAD", "http://goku:9090/path/to/success", 3),
            ]
        );
        assert!(
            t.iter()
                .all(|t| t.spec.headers.is_empty() && t.body_file.is_none())
        );
    }

    #[test]
    fn headers_and_bodies_end_where_the_next_target_starts() {
        let text = "POST http://h/a\nContent-Type: application/json\nX-Url: http://h/z\n@a.json\n\
                    PUT HTTPS://h/b\nX-Forwarded-For : 10.0.0.1\nDNT :1\n\
                    Referer: http://h/a\n  GET   http://h/c\n# a comment\nX-C: 3\n\
                    PURGE http://h/{rand:1-9}\n";
        let t = parse(text).unwrap();
        let got = methods_urls_lines(&t);
        assert_eq!(
            got,
            [
                ("POST", "http://h/a", 1),
                ("PUT", "HTTPS://h/b", 5),
                ("GET", "http://h/c", 9),
                ("PURGE", "http://h/{rand:1-9}", 12),
            ]
        );
        let headers = |i: usize| -> Vec<(&str, &str)> {
            t[i].spec
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect()
        };
        assert_eq!(
            headers(0),
            [
                ("Content-Type", "application/json"),
                ("X-Url", "http://h/z")
            ]
        );
        assert_eq!(t[0].body_file.as_deref(), Some("a.json"));
        assert_eq!(
            headers(1),
            [
                ("X-Forwarded-For", "10.0.0.1"),
                ("DNT", "1"),
                ("Referer", "http://h/a")
            ]
        );
        assert_eq!(headers(2), [("X-C", "3")]);
        assert!(headers(3).is_empty());
    }

    #[test]
    fn what_starts_a_target() {
        for (line, starts) in [
            ("GET http://h/", true),
            ("HEAD\thttps://h/", true),
            ("M-SEARCH  http://h/", true),
            ("GET HtTp://h/", true),
            ("get http://h/", false),
            ("Referer http://h/", false),
            ("GET /relative", false),
            ("GET ftp://h/", false),
            ("X-A: http://h/", false),
            ("DNT : http://h/", false),
            ("G(T http://h/", false),
            ("GET", false),
            ("GET http:/", false),
        ] {
            assert_eq!(starts_target(line), starts, "{line:?}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        for (text, want) in [
            ("", "no targets"),
            ("GET\n", "line 1: expected 'METHOD URL'"),
            ("GET http://h/\nBroken header\n", "line 2: invalid header"),
            ("GET nope\n", "line 1: invalid URL"),
            ("GET http://h/\n@a\n@b\n", "line 3: a second @body"),
            (
                "GET http://h/\n@a\nX: 1\n",
                "line 3: header \"X: 1\" after the @body line",
            ),
            ("G(T http://h/\n", "line 1: invalid HTTP method"),
            // Quoted as written, not re-joined around its first ':' ("get http: //h/b").
            (
                "GET http://h/a\nget http://h/b\n",
                "targets file line 2: invalid header \"get http://h/b\": expected 'Name: value'",
            ),
            (
                "GET http://h/a\n\tX-A:\x01 \n",
                "line 2: invalid header \"\\tX-A:\\u{1} \"",
            ),
            ("GET http://h/a\nGET http://h/ b\n", "line 2: invalid URL"),
            (
                "GET http://h/a\n@a\nX: 1\nGET http://h/b\n",
                "line 3: header \"X: 1\" after the @body line",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e:?} should contain {want:?}");
        }
    }
}
