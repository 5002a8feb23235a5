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
//! file (resolved by the caller, relative to the targets file). Blank lines separate targets;
//! lines starting with `#` are comments. URLs may hold template fields.

use crate::plan::RequestSpec;

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
        if !open {
            let (method, url) = line
                .split_once(char::is_whitespace)
                .ok_or_else(|| err(format!("expected 'METHOD URL', got {line:?}")))?;
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
            return Err(err(format!("header {line:?} after the @body line")));
        } else {
            target.spec = target
                .spec
                .clone()
                .header_line(line)
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
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e:?} should contain {want:?}");
        }
    }
}
