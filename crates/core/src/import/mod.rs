//! Traffic people already have, as a journey: a HAR recording ([`har`]: DevTools' "Save all as
//! HAR", Chromium's and Firefox's) or curl command lines ([`curl`]: "Copy as cURL (bash)", API
//! docs). Pure functions from text to a list of [`Recorded`] requests (what a front end lists,
//! with the recorded status and size and why a browser tab could not replay one), then from the
//! chosen ones to a [`ScenarioDef`] ([`to_scenario`]). No I/O: a curl `@file` comes back as a
//! file name for the front end to read.
//!
//! The journey, from a recording:
//! - Requests are taken in order of their recorded start. A request joins the step before it
//!   when it started before any request of that step had begun to be answered (its first
//!   response byte): what the page issued together (a `Promise.all`, the sub-resources a
//!   document asks for at once) is one fan-out group. A request that started after an answer
//!   came may have waited for it, so it starts a new step. A change of page (HAR `pageref`)
//!   always starts a new step.
//! - Think time after a step is the recorded gap between its last answer and the next step's
//!   first request (`--think recorded`; none for a gap of an hour or more, which is the
//!   recording paused), or none.
//! - Headers only a browser sends (`:authority` and other HTTP/2 pseudo-headers, `sec-*`,
//!   `content-length`, `host`, `connection`, and `accept-encoding` unless asked for) are
//!   dropped: the client writes its own.
//! - `Cookie` and `Authorization` values are secrets: unless `keep_secrets`, each distinct value
//!   becomes a `{data:COLUMN}` placeholder (`cookie`, `authorization`, `authorization_2`, …),
//!   listed in [`Imported::secrets`]. A journey cannot define a `{var:…}` out of nothing, but a
//!   data file can: the user runs it with `--data secrets.csv` holding those columns (one row
//!   per user, which also spreads the load over accounts), or imports again with
//!   `keep_secrets`.

pub mod curl;
pub mod har;

use std::collections::BTreeMap;

use crate::journey::{RequestDef, ScenarioDef, StepDef};
use crate::pattern::Pattern;

/// Recorded gaps this long or longer are no think time (core refuses a think over an hour).
const MAX_THINK_MS: f64 = 3_600_000.0;

/// Why a recording or a command line cannot be imported: one line naming the place (HAR entry
/// index, curl command and argument) and the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// A request body as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedBody {
    Text(String),
    /// curl's `@file`: the front end reads it (relative to where the command was run).
    File(String),
}

/// One request found in a recording or a command line, with what was recorded about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// 0-based place in the input: a HAR entry, or a curl command's URL.
    pub index: usize,
    pub method: String,
    pub url: String,
    /// Every header as recorded, in order (cleaned by [`to_scenario`], not here).
    pub headers: Vec<(String, String)>,
    pub body: Option<RecordedBody>,
    /// Milliseconds since the Unix epoch when the request started (HAR).
    pub started_ms: Option<f64>,
    /// How long it took until the whole answer arrived, in milliseconds (HAR).
    pub time_ms: Option<f64>,
    /// How long until the answer began (its first byte), in milliseconds (HAR: `time` less
    /// `timings.receive`); `time_ms` when not recorded.
    pub answered_ms: Option<f64>,
    /// The page it belongs to (HAR `pageref`).
    pub page: Option<String>,
    /// The status the recording got (HAR; 0 there when none came back).
    pub status: Option<u16>,
    /// Bytes of the answer's body the recording got (HAR).
    pub size: Option<u64>,
    /// The recorded answer's `Access-Control-Allow-Origin`, if any (HAR).
    pub allow_origin: Option<String>,
}

impl Recorded {
    /// The URL's host (and port when written), lowercased; empty for a URL without one.
    pub fn host(&self) -> String {
        let rest = self.url.split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        authority.to_ascii_lowercase()
    }

    /// Why a browser tab on `page_origin` (`scheme://host[:port]`) cannot send this request as
    /// recorded, if it cannot: a header the browser forbids scripts to set that carries
    /// meaning (`Cookie`), or a cross-origin request the recorded answer did not allow by CORS.
    pub fn tab_problem(&self, page_origin: &str) -> Option<String> {
        if let Some((name, _)) = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        {
            return Some(format!(
                "cannot replay from a tab: {name} is a header only the browser may set"
            ));
        }
        let origin = origin_of(&self.url);
        if !origin.eq_ignore_ascii_case(page_origin.trim_end_matches('/')) {
            let allowed = self
                .allow_origin
                .as_deref()
                .is_some_and(|a| a.trim() == "*" || a.trim().eq_ignore_ascii_case(page_origin));
            if !allowed {
                return Some(format!(
                    "cannot replay from a tab: {origin} is another origin, and its recorded answer allowed no CORS for {page_origin}"
                ));
            }
        }
        None
    }
}

/// `scheme://host[:port]` of a URL, lowercased.
fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("{}://{}", scheme, authority).to_ascii_lowercase()
}

/// Where think times come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ThinkFrom {
    /// The recorded gap between a step's last answer and the next step's first request.
    #[default]
    Recorded,
    /// No pauses.
    None,
}

/// What to keep, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Keep only requests to this host (`host` or `host:port`, any case).
    pub host: Option<String>,
    /// Keep only requests whose URL matches this regex.
    pub include: Option<String>,
    /// Drop requests whose URL matches this regex.
    pub exclude: Option<String>,
    /// Keep `Cookie` and `Authorization` values instead of placeholders.
    pub keep_secrets: bool,
    /// Keep the recorded `Accept-Encoding` (flak counts compressed bytes as received).
    pub keep_accept_encoding: bool,
    pub think: ThinkFrom,
    /// A title for the scenario.
    pub name: Option<String>,
}

/// A secret header value replaced by a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The data column that holds it: `{data:COLUMN}`.
    pub column: String,
    /// The header it was found in, as recorded.
    pub header: String,
    /// The indices ([`Recorded::index`]) of the requests that carried it.
    pub requests: Vec<usize>,
}

/// A scenario made from a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub scenario: ScenarioDef,
    /// Placeholders the scenario reads from a data file, in order of first use.
    pub secrets: Vec<Secret>,
    /// Requests kept, of those given.
    pub kept: usize,
    /// Requests that passed the filters but cannot be written as a scenario, one line each.
    pub left_out: Vec<String>,
}

/// Where a request's header values or body hold a template field's opening, which a
/// scenario has no way to write literally: `header NAME` or `body`.
fn reads_as_field(r: &Recorded) -> Option<String> {
    const OPENERS: [&str; 4] = ["{rand:", "{pick:", "{var:", "{data:"];
    let opens = |text: &str| OPENERS.iter().any(|o| text.contains(o));
    if let Some((name, _)) = r.headers.iter().find(|(_, v)| opens(v)) {
        return Some(format!("header {name:?}"));
    }
    match &r.body {
        Some(RecordedBody::Text(t)) if opens(t) => Some("body".into()),
        _ => None,
    }
}

/// Compiled `include` / `exclude` / `host` filters.
pub struct Filter {
    host: Option<String>,
    include: Option<Pattern>,
    exclude: Option<Pattern>,
}

impl Filter {
    /// Compiles the options' filters; a regex that does not compile is named.
    pub fn new(options: &Options) -> Result<Self, ImportError> {
        let compile = |flag: &str, re: &Option<String>| {
            re.as_deref()
                .map(|r| Pattern::new(r).map_err(|e| ImportError(format!("--{flag}: {e}"))))
                .transpose()
        };
        Ok(Self {
            host: options.host.as_ref().map(|h| h.trim().to_ascii_lowercase()),
            include: compile("include", &options.include)?,
            exclude: compile("exclude", &options.exclude)?,
        })
    }

    /// True when the request passes every filter.
    pub fn keeps(&self, r: &Recorded) -> bool {
        if let Some(host) = &self.host {
            let have = r.host();
            let bare = have.rsplit_once(':').map_or(have.as_str(), |(h, _)| h);
            if have != *host && bare != host {
                return false;
            }
        }
        if self.include.as_ref().is_some_and(|re| !re.is_match(&r.url)) {
            return false;
        }
        !self.exclude.as_ref().is_some_and(|re| re.is_match(&r.url))
    }
}

/// True for a header the client writes itself or only a browser sends.
pub fn is_browser_only(name: &str, keep_accept_encoding: bool) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with(':')
        || lower.starts_with("sec-")
        || matches!(
            lower.as_str(),
            "content-length"
                | "host"
                | "connection"
                | "keep-alive"
                | "transfer-encoding"
                | "te"
                | "upgrade"
                | "proxy-connection"
        )
        || (lower == "accept-encoding" && !keep_accept_encoding)
}

/// True for a header whose value is a credential.
pub fn is_secret(name: &str) -> bool {
    name.eq_ignore_ascii_case("cookie") || name.eq_ignore_ascii_case("authorization")
}

/// Makes a journey of the requests that pass `options`' filters: steps of requests started
/// together, browser-only headers dropped, secrets replaced (unless kept), think times from the
/// recorded gaps. The requests come in recorded order (sorted by start here when they have one).
pub fn to_scenario(recorded: &[Recorded], options: &Options) -> Result<Imported, ImportError> {
    let filter = Filter::new(options)?;
    let mut left_out = Vec::new();
    let mut kept: Vec<&Recorded> = recorded
        .iter()
        .filter(|r| filter.keeps(r))
        .filter(|r| match reads_as_field(r) {
            Some(place) => {
                left_out.push(format!(
                    "request {}: its {place} holds text flak would read as a template field ({{rand:, {{pick:, {{var: or {{data:); left out",
                    r.index + 1
                ));
                false
            }
            None => true,
        })
        .collect();
    if kept.is_empty() && !left_out.is_empty() {
        return Err(ImportError(left_out.remove(0)));
    }
    if kept.is_empty() {
        return Err(ImportError(if recorded.is_empty() {
            "no requests to import".into()
        } else {
            format!(
                "none of the {} requests passes the filters (--host, --include, --exclude)",
                recorded.len()
            )
        }));
    }
    // Stable: requests without a start (curl) keep their order.
    kept.sort_by(|a, b| {
        let (x, y) = (a.started_ms.unwrap_or(0.0), b.started_ms.unwrap_or(0.0));
        x.total_cmp(&y)
    });
    let groups = group(&kept);
    let mut secrets = Secrets::default();
    let mut steps = Vec::with_capacity(groups.len());
    for (n, members) in groups.iter().enumerate() {
        let mut requests = Vec::with_capacity(members.len());
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for r in members {
            let mut def = request_def(r, options, &mut secrets)?;
            let base = format!("{} {}", def.method, short_path(&def.url));
            let seen = names.entry(base.clone()).or_insert(0);
            *seen += 1;
            def.name = Some(if *seen == 1 {
                base
            } else {
                format!("{base} #{seen}")
            });
            requests.push(def);
        }
        let think = match (options.think, groups.get(n + 1)) {
            (ThinkFrom::Recorded, Some(next)) => gap_ms(members, next)
                .filter(|ms| *ms >= 1)
                .map(|ms| format!("{ms}ms")),
            _ => None,
        };
        let mut step = StepDef {
            think,
            ..StepDef::default()
        };
        if requests.len() == 1 {
            let r = requests.remove(0);
            step.name = Some(format!("{} {}", n + 1, r.name.unwrap_or_default()));
            step.method = Some(r.method);
            step.url = Some(r.url);
            step.headers = r.headers;
            step.body = r.body;
            step.body_file = r.body_file;
        } else {
            step.name = Some(format!("{} ({} requests at once)", n + 1, requests.len()));
            step.request = requests;
        }
        steps.push(step);
    }
    Ok(Imported {
        scenario: ScenarioDef {
            name: options.name.clone(),
            step: steps,
            ..ScenarioDef::default()
        },
        secrets: secrets.list,
        kept: kept.len(),
        left_out,
    })
}

/// Splits requests (sorted by start) into steps, by the rule in this module's documentation.
fn group<'a>(sorted: &[&'a Recorded]) -> Vec<Vec<&'a Recorded>> {
    let mut groups: Vec<Vec<&Recorded>> = Vec::new();
    for &r in sorted {
        let joins = groups.last().is_some_and(|g| {
            let first = g[0];
            if first.page != r.page {
                return false;
            }
            let Some(at) = r.started_ms else {
                return false;
            };
            let first_answer = g
                .iter()
                .filter_map(|m| {
                    let took = m.answered_ms.or(m.time_ms).unwrap_or(0.0).max(0.0);
                    Some(m.started_ms? + took)
                })
                .fold(f64::INFINITY, f64::min);
            at < first_answer
        });
        match groups.last_mut() {
            Some(g) if joins => g.push(r),
            _ => groups.push(vec![r]),
        }
    }
    groups
}

/// Whole milliseconds from the last answer of `step` to the first request of `next`.
fn gap_ms(step: &[&Recorded], next: &[&Recorded]) -> Option<u64> {
    let end = step
        .iter()
        .filter_map(|r| Some(r.started_ms? + r.time_ms.unwrap_or(0.0).max(0.0)))
        .fold(f64::NEG_INFINITY, f64::max);
    let start = next.first()?.started_ms?;
    let gap = (start - end).round();
    // A journey's think time is at most an hour; a longer gap is the recording paused, not a
    // user thinking, and gets none.
    (gap.is_finite() && gap > 0.0 && gap < MAX_THINK_MS).then_some(gap as u64)
}

/// Distinct secret values, each with its column.
#[derive(Default)]
struct Secrets {
    list: Vec<Secret>,
    by_value: BTreeMap<(String, String), usize>,
}

impl Secrets {
    fn placeholder(&mut self, header: &str, value: &str, request: usize) -> String {
        let kind = header.to_ascii_lowercase();
        let key = (kind.clone(), value.to_string());
        let i = match self.by_value.get(&key) {
            Some(&i) => i,
            None => {
                let same_kind = self
                    .list
                    .iter()
                    .filter(|s| s.header.eq_ignore_ascii_case(&kind))
                    .count();
                let column = if same_kind == 0 {
                    kind
                } else {
                    format!("{kind}_{}", same_kind + 1)
                };
                self.list.push(Secret {
                    column,
                    header: header.to_string(),
                    requests: Vec::new(),
                });
                self.by_value.insert(key, self.list.len() - 1);
                self.list.len() - 1
            }
        };
        let secret = &mut self.list[i];
        if secret.requests.last() != Some(&request) {
            secret.requests.push(request);
        }
        format!("{{data:{}}}", secret.column)
    }
}

fn request_def(
    r: &Recorded,
    options: &Options,
    secrets: &mut Secrets,
) -> Result<RequestDef, ImportError> {
    let place = |m: String| ImportError(format!("request {}: {m}", r.index + 1));
    let method = r.method.trim().to_ascii_uppercase();
    if !crate::syntax::is_method(&method) {
        return Err(place(format!("{:?} is not an HTTP method", r.method)));
    }
    let url = template_safe_url(&r.url);
    crate::syntax::check_url(&url).map_err(|e| place(format!("URL {:?}: {e}", r.url)))?;
    let mut headers = Vec::new();
    for (name, value) in &r.headers {
        if is_browser_only(name, options.keep_accept_encoding) {
            continue;
        }
        if !crate::syntax::is_header(name, value) {
            return Err(place(format!("header {name:?} is not a valid header")));
        }
        let value = if is_secret(name) && !options.keep_secrets {
            secrets.placeholder(name, value, r.index)
        } else {
            value.clone()
        };
        headers.push(format!("{name}: {value}"));
    }
    let (body, body_file) = match &r.body {
        None => (None, None),
        Some(RecordedBody::Text(t)) if t.is_empty() => (None, None),
        Some(RecordedBody::Text(t)) => (Some(t.clone()), None),
        Some(RecordedBody::File(f)) => (None, Some(f.clone())),
    };
    Ok(RequestDef {
        name: None,
        method,
        url,
        headers,
        body,
        body_file,
        extract: litemap::LiteMap::new(),
        check: None,
    })
}

/// The URL without its fragment, with `{` and `}` percent-encoded so that a recorded URL is
/// never read as a template field.
fn template_safe_url(url: &str) -> String {
    let url = url.split('#').next().unwrap_or(url).trim();
    url.replace('{', "%7B").replace('}', "%7D")
}

/// The path and query of a URL, for names, cut to 60 characters.
fn short_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    if path.chars().count() > 60 {
        let cut: String = path.chars().take(59).collect();
        format!("{cut}…")
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests;
