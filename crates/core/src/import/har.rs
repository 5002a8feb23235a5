//! HAR 1.2 (HTTP Archive) as Chromium's and Firefox's DevTools save it, to [`Recorded`]
//! requests: method, URL, headers, body (`postData.text`, or `postData.params` form-encoded),
//! start time, duration, page, and the answer's status, size and CORS header. serde reads the
//! JSON; only the fields used are read, anything else is ignored. Each entry is read on its own,
//! so an error names its index.

use serde::Deserialize;

use super::{ImportError, Recorded, RecordedBody};

/// The largest HAR read, in bytes.
pub const MAX_BYTES: usize = 200_000_000;

#[derive(Deserialize)]
struct Har {
    log: Log,
}

#[derive(Deserialize)]
struct Log {
    entries: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default)]
    pageref: Option<String>,
    #[serde(default)]
    started_date_time: Option<String>,
    #[serde(default)]
    time: Option<f64>,
    #[serde(default)]
    timings: Option<Timings>,
    request: Request,
    #[serde(default)]
    response: Option<Response>,
}

#[derive(Deserialize)]
struct Timings {
    /// Reading the answer after its first byte; -1 when not known.
    #[serde(default)]
    receive: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    post_data: Option<PostData>,
}

#[derive(Deserialize)]
struct Header {
    name: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostData {
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    params: Vec<Param>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Param {
    name: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    #[serde(default)]
    status: Option<i64>,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    body_size: Option<i64>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    size: Option<i64>,
}

/// What a HAR holds: its requests in the file's order, and entries left out (not http(s): a
/// `data:` URL, a WebSocket, an extension's page) with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct HarRequests {
    pub requests: Vec<Recorded>,
    /// One line each, naming the entry.
    pub skipped: Vec<String>,
}

/// Reads a HAR's entries. An error is one line naming the entry (1-based, as people count).
pub fn parse(bytes: &[u8]) -> Result<HarRequests, ImportError> {
    if bytes.len() > MAX_BYTES {
        return Err(ImportError(format!(
            "{} bytes is more than the 200 MB flak reads of a HAR",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ImportError(format!("not a HAR file: not UTF-8 text ({e})")))?;
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ImportError(format!("not a HAR file: not JSON ({e})")))?;
    let har: Har = serde_json::from_value(value).map_err(|e| {
        ImportError(format!(
            "not a HAR file: {e} (expected {{\"log\": {{\"entries\": [...]}}}})"
        ))
    })?;
    let mut out = HarRequests {
        requests: Vec::new(),
        skipped: Vec::new(),
    };
    for (i, value) in har.log.entries.into_iter().enumerate() {
        let place = |m: String| ImportError(format!("entry {}: {m}", i + 1));
        let entry: Entry = serde_json::from_value(value).map_err(|e| place(e.to_string()))?;
        let url = entry.request.url.trim().to_string();
        if url.is_empty() {
            return Err(place("the request has no URL".into()));
        }
        let scheme = url
            .split_once(':')
            .map_or("", |(s, _)| s)
            .to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            let shown: String = url.chars().take(40).collect();
            out.skipped.push(format!(
                "entry {}: {shown:?} is not an http(s) URL; left out",
                i + 1
            ));
            continue;
        }
        let started_ms =
            match entry.started_date_time.as_deref() {
                Some(t) => Some(parse_time_ms(t).ok_or_else(|| {
                    place(format!("startedDateTime {t:?} is not an ISO 8601 time"))
                })?),
                None => None,
            };
        let time_ms = entry.time.filter(|t| t.is_finite() && *t >= 0.0);
        let receive = entry
            .timings
            .and_then(|t| t.receive)
            .filter(|r| r.is_finite() && *r >= 0.0);
        let answered_ms = time_ms.map(|t| (t - receive.unwrap_or(0.0)).max(0.0));
        let response = entry.response;
        let status = response
            .as_ref()
            .and_then(|r| r.status)
            .and_then(|s| u16::try_from(s).ok());
        let size = response.as_ref().and_then(|r| {
            let content = r.content.as_ref().and_then(|c| c.size);
            content.or(r.body_size).and_then(|s| u64::try_from(s).ok())
        });
        let allow_origin = response.as_ref().and_then(|r| {
            r.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("access-control-allow-origin"))
                .map(|h| h.value.clone())
        });
        out.requests.push(Recorded {
            index: i,
            method: entry.request.method,
            url,
            headers: entry
                .request
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: entry.request.post_data.and_then(body_of),
            started_ms,
            time_ms,
            answered_ms,
            page: entry.pageref,
            status,
            size,
            allow_origin,
        });
    }
    Ok(out)
}

/// `postData.text`, or its `params` as a form (files' contents are not in a HAR).
fn body_of(post: PostData) -> Option<RecordedBody> {
    if let Some(text) = post.text {
        return Some(RecordedBody::Text(text));
    }
    if post.params.is_empty() {
        return None;
    }
    let multipart = post
        .mime_type
        .as_deref()
        .is_some_and(|m| m.starts_with("multipart/"));
    if multipart || post.params.iter().any(|p| p.file_name.is_some()) {
        // Without the boundary and the files' bytes a multipart body cannot be rebuilt.
        return None;
    }
    let form = post
        .params
        .iter()
        .map(|p| {
            format!(
                "{}={}",
                form_encode(&p.name),
                form_encode(p.value.as_deref().unwrap_or(""))
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    Some(RecordedBody::Text(form))
}

/// `application/x-www-form-urlencoded` encoding of one name or value. HAR exporters differ
/// on whether params are already encoded; characters that are safe either way pass through.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'%' | b'+' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Milliseconds since the Unix epoch of an ISO 8601 time as HARs write it:
/// `2026-12-01T13:28:09.123Z`, `…09.123+01:00`, `…09+0100`.
pub fn parse_time_ms(text: &str) -> Option<f64> {
    let b = text.trim().as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut i = 19;
    let mut fraction = 0.0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let digits = std::str::from_utf8(&b[start..i.min(start + 9)]).ok()?;
        fraction = format!("0.{digits}").parse::<f64>().ok()?;
    }
    let offset_min = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let hh = num(i + 1..i + 3)?;
            let mm = match (b.get(i + 3), b.len() - i) {
                (Some(b':'), 6) => num(i + 4..i + 6)?,
                (Some(_), 5) => num(i + 3..i + 5)?,
                (None, 3) => 0,
                _ => return None,
            };
            if hh > 23 || mm > 59 {
                return None;
            }
            let m = hh * 60 + mm;
            if sign == b'+' { m } else { -m }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Some(seconds as f64 * 1000.0 + fraction * 1000.0)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
