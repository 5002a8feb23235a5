//! Extractors: how a step takes a named value from its response for later steps' `{var:NAME}`.
//! `json:/ptr` (a JSON Pointer, RFC 6901), `jsonpath:$.a[0]` (RFC 9535, the first match),
//! `header:name`, `regex:…` (one capture group, matched against the body) and `status`.
//! Also [`Received`], the response as extractors and checks read it (its body parsed as JSON
//! at most once), and [`Locator`], the JSON address both use.

use std::borrow::Cow;
use std::cell::OnceCell;

use serde_json::Value;

pub use crate::pattern::Pattern;
use crate::syntax;

/// Response headers as extractors read them. Implemented for slices and vectors of
/// `(name, value)` pairs of anything that is bytes (`String`, `&str`, `&[u8]`, the `http`
/// crate's names and values).
pub trait Headers {
    /// The first value of the header `name` (given in lower case), compared case-insensitively.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> Headers for [(N, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_ref())
    }
}

impl<N: AsRef<[u8]>, V: AsRef<[u8]>> Headers for Vec<(N, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        Headers::header(self.as_slice(), name)
    }
}

/// One response, as extractors and checks see it: status, headers and the whole body. The
/// body is parsed as JSON on first use and kept, so five `json:` extractors parse it once.
pub struct Received<'a, H: Headers + ?Sized> {
    pub status: u16,
    pub headers: &'a H,
    pub body: &'a [u8],
    json: OnceCell<Result<Value, String>>,
}

impl<'a, H: Headers + ?Sized> Received<'a, H> {
    pub fn new(status: u16, headers: &'a H, body: &'a [u8]) -> Self {
        Self {
            status,
            headers,
            body,
            json: OnceCell::new(),
        }
    }

    /// The body as JSON, or why it is not.
    pub fn json(&self) -> Result<&Value, String> {
        self.json
            .get_or_init(|| {
                // From a str, as every other JSON read in core and the app: one instantiation of
                // serde_json's reader in the browser's bundle, not a second for byte slices.
                let text = std::str::from_utf8(self.body)
                    .map_err(|e| format!("the body is not JSON (not UTF-8: {e})"))?;
                serde_json::from_str(text).map_err(|e| format!("the body is not JSON ({e})"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The body as text (invalid UTF-8 replaced, which copies).
    pub fn text(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.body)
    }
}

/// Where a value sits in a JSON body: a JSON Pointer (`/items/0/id`) or a JSONPath
/// (`$.items[0].id`, the first node it selects).
#[derive(Debug, Clone)]
pub enum Locator {
    Pointer(String),
    Path { source: String, path: Query },
}

/// A parsed JSONPath query (RFC 9535, by serde_json_path).
#[cfg(feature = "jsonpath")]
#[derive(Debug, Clone)]
pub struct Query(serde_json_path::JsonPath);

/// This build has no JSONPath: nothing of this type exists.
#[cfg(not(feature = "jsonpath"))]
#[derive(Debug, Clone)]
pub enum Query {}

impl Query {
    #[cfg(feature = "jsonpath")]
    fn parse(source: &str) -> Result<Self, String> {
        serde_json_path::JsonPath::parse(source)
            .map(Self)
            .map_err(|e| format!("JSONPath {source:?} does not parse: {e}"))
    }

    #[cfg(not(feature = "jsonpath"))]
    fn parse(source: &str) -> Result<Self, String> {
        Err(format!(
            "JSONPath {source:?}: this build of flak leaves JSONPath out (to keep the web app small); use a JSON Pointer such as /items/0/id"
        ))
    }

    /// The first node the query selects.
    fn first<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        #[cfg(feature = "jsonpath")]
        return self.0.query(doc).first();
        #[cfg(not(feature = "jsonpath"))]
        {
            let _ = doc;
            match *self {}
        }
    }
}

impl PartialEq for Locator {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Locator {
    /// A JSON Pointer: empty (the whole document) or `/`-separated, `~` only as `~0` or `~1`.
    pub fn pointer(source: &str) -> Result<Self, String> {
        if !(source.is_empty() || source.starts_with('/')) {
            return Err(format!(
                "JSON Pointer {source:?} must start with '/' (RFC 6901), such as /token"
            ));
        }
        let mut tildes = source.match_indices('~');
        if tildes.any(|(i, _)| !matches!(source.as_bytes().get(i + 1), Some(b'0' | b'1'))) {
            return Err(format!(
                "JSON Pointer {source:?}: '~' must be followed by 0 or 1 (RFC 6901)"
            ));
        }
        Ok(Self::Pointer(source.to_string()))
    }

    /// A JSONPath query (RFC 9535; of its functions, `length`, `count` and `value`: `match`
    /// and `search` would bring the full regex crate into the web app, ~300 KB gzipped).
    pub fn path(source: &str) -> Result<Self, String> {
        Ok(Self::Path {
            source: source.to_string(),
            path: Query::parse(source)?,
        })
    }

    /// `/…` or `""` is a pointer, `$…` a JSONPath.
    pub fn parse(source: &str) -> Result<Self, String> {
        if source.starts_with('$') {
            Self::path(source)
        } else {
            Self::pointer(source)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Pointer(s) | Self::Path { source: s, .. } => s,
        }
    }

    /// The value at this place in `doc`, if there is one.
    pub fn find<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        match self {
            Self::Pointer(p) => doc.pointer(p),
            Self::Path { path, .. } => path.first(doc),
        }
    }
}

/// How a step takes a value from its response.
#[derive(Debug, Clone, PartialEq)]
pub enum Extractor {
    /// `json:/ptr` or `jsonpath:$…`: a value in the JSON body. Strings are taken as they are,
    /// numbers and bools as their JSON text, objects and arrays as compact JSON; null is a
    /// failure.
    Json(Locator),
    /// `header:name`: the first value of a response header.
    Header(String),
    /// `regex:…`: the capture group of the first match in the body.
    Regex(Pattern),
    /// `status`: the status code.
    Status,
}

/// Why an extractor found no value in a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExtractError(pub String);

impl Extractor {
    /// Parses `json:/ptr`, `jsonpath:$…`, `header:name`, `regex:…` or `status`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        if spec == "status" {
            return Ok(Self::Status);
        }
        let Some((kind, arg)) = spec.split_once(':') else {
            return Err(format!(
                "{spec:?} is not an extractor: use json:/pointer, jsonpath:$.path, header:name, regex:… or status"
            ));
        };
        match kind {
            "json" => Locator::pointer(arg).map(Self::Json),
            "jsonpath" => Locator::path(arg).map(Self::Json),
            "header" => {
                let name = arg.trim();
                if !syntax::is_header(name, "") {
                    return Err(format!("header:{arg}: {name:?} is not a header name"));
                }
                Ok(Self::Header(name.to_ascii_lowercase()))
            }
            "regex" => Pattern::with_one_group(arg).map(Self::Regex),
            other => Err(format!(
                "unknown extractor kind {other:?} (expected json, jsonpath, header, regex or status)"
            )),
        }
    }

    /// Takes the value from one response.
    pub fn apply<H: Headers + ?Sized>(
        &self,
        status: u16,
        headers: &H,
        body: &[u8],
    ) -> Result<String, ExtractError> {
        self.apply_to(&Received::new(status, headers, body))
    }

    /// Takes the value from a response that other extractors and checks also read.
    pub fn apply_to<H: Headers + ?Sized>(
        &self,
        r: &Received<'_, H>,
    ) -> Result<String, ExtractError> {
        match self {
            Self::Status => Ok(r.status.to_string()),
            Self::Header(name) => {
                let value = r
                    .headers
                    .header(name)
                    .ok_or_else(|| ExtractError(format!("no {name} header in the response")))?;
                std::str::from_utf8(value)
                    .map(str::to_string)
                    .map_err(|_| ExtractError(format!("the {name} header is not UTF-8 text")))
            }
            Self::Regex(pattern) => {
                let text = r.text();
                pattern.first_group(&text).ok_or_else(|| {
                    ExtractError(format!(
                        "regex {:?} does not match the body",
                        pattern.as_str()
                    ))
                })
            }
            Self::Json(at) => {
                let doc = r.json().map_err(ExtractError)?;
                match at.find(doc) {
                    None => Err(ExtractError(format!(
                        "no value at {} in the body",
                        at.as_str()
                    ))),
                    Some(Value::Null) => Err(ExtractError(format!(
                        "the value at {} is null",
                        at.as_str()
                    ))),
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(v) => Ok(v.to_string()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"token": "t-1", "n": 7, "ok": true, "none": null,
        "items": [{"id": 3}, {"id": 4}], "a/b": "slash", "m~n": "tilde"}"#;

    #[cfg(all(feature = "jsonpath", feature = "regex"))]
    fn take(spec: &str, body: &[u8]) -> Result<String, String> {
        let headers = [
            ("X-Session", "s-9"),
            ("set-cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ];
        Extractor::parse(spec)?
            .apply(201, &headers[..], body)
            .map_err(|e| e.0)
    }

    #[cfg(all(feature = "jsonpath", feature = "regex"))]
    #[test]
    fn each_kind_takes_its_value() {
        for (spec, want) in [
            ("json:/token", "t-1"),
            ("json:/n", "7"),
            ("json:/ok", "true"),
            ("json:/items/1/id", "4"),
            ("json:/items/0", r#"{"id":3}"#),
            ("json:/a~1b", "slash"),
            ("json:/m~0n", "tilde"),
            ("jsonpath:$.items[1].id", "4"),
            ("jsonpath:$..id", "3"),
            ("jsonpath:$.items[?@.id > 3].id", "4"),
            ("jsonpath:$[?length(@) == 2][1].id", "4"),
            ("jsonpath:$.items[?count(@.*) == 1].id", "3"),
            ("header:x-session", "s-9"),
            ("header:X-SESSION", "s-9"),
            ("header:set-cookie", "a=1"),
            ("regex:\"token\": \"t-(\\d+)\"", "1"),
            ("status", "201"),
        ] {
            assert_eq!(take(spec, BODY).as_deref(), Ok(want), "{spec}");
        }
    }

    #[cfg(all(feature = "jsonpath", feature = "regex"))]
    #[test]
    fn a_missing_value_is_a_named_failure() {
        for (spec, body, want) in [
            ("json:/nope", BODY, "no value at /nope in the body"),
            ("json:/none", BODY, "the value at /none is null"),
            ("json:/token", &b"<html>"[..], "the body is not JSON"),
            ("jsonpath:$.nope", BODY, "no value at $.nope"),
            ("header:x-other", BODY, "no x-other header in the response"),
            ("regex:order-(\\d+)", BODY, "does not match the body"),
        ] {
            let err = take(spec, body).unwrap_err();
            assert!(
                err.contains(want),
                "{spec}: {err:?} should contain {want:?}"
            );
        }
    }

    #[cfg(all(feature = "jsonpath", feature = "regex"))]
    #[test]
    fn bad_extractors_are_refused() {
        for (spec, want) in [
            ("json:token", "must start with '/'"),
            ("json:/a~2", "'~' must be followed by 0 or 1"),
            ("jsonpath:$.[", "does not parse"),
            ("jsonpath:items", "does not parse"),
            (
                "jsonpath:$[?match(@.token, \"t-.*\")]",
                "function name 'match' is not defined",
            ),
            ("regex:order-(\\d+", "does not compile"),
            ("regex:order-\\d+", "exactly one capture group"),
            ("regex:(a)(b)", "it has 2"),
            ("header:bad name", "not a header name"),
            ("header:", "not a header name"),
            ("cookie:sid", "unknown extractor kind \"cookie\""),
            ("token", "is not an extractor"),
        ] {
            let err = Extractor::parse(spec).unwrap_err();
            assert!(
                err.contains(want),
                "{spec}: {err:?} should contain {want:?}"
            );
        }
    }

    #[test]
    fn the_body_is_parsed_once_for_many_readers() {
        let headers: Vec<(String, String)> = Vec::new();
        let r = Received::new(200, &headers, BODY);
        let a = Extractor::parse("json:/token").unwrap();
        let b = Extractor::parse("json:/n").unwrap();
        assert_eq!(a.apply_to(&r).unwrap(), "t-1");
        let first: *const Value = r.json().unwrap();
        assert_eq!(b.apply_to(&r).unwrap(), "7");
        assert!(std::ptr::eq(first, r.json().unwrap()));
    }

    #[cfg(not(all(feature = "jsonpath", feature = "regex")))]
    #[test]
    fn left_out_extractors_are_refused_by_name() {
        #[cfg(not(feature = "jsonpath"))]
        assert!(
            Extractor::parse("jsonpath:$.a")
                .unwrap_err()
                .contains("this build of flak leaves JSONPath out")
        );
        #[cfg(not(feature = "regex"))]
        assert!(
            Extractor::parse("regex:a(b)")
                .unwrap_err()
                .contains("this build of flak leaves regexes out")
        );
        assert_eq!(
            Extractor::parse("json:/token").unwrap().apply(
                200,
                &Vec::<(String, String)>::new(),
                br#"{"token": "t"}"#
            ),
            Ok("t".to_string())
        );
    }
}
