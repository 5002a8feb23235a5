//! The run form's values: what a person types, how it becomes a core `Plan` (with the core's
//! own validation and messages), and how it round-trips through a permalink query.

use flak_core::data::DataOrder;
use flak_core::plan::parse_duration;
use flak_core::{Body, Load, Plan, PlanError, RequestSpec, Stages};

use crate::browser::fetch::FetchOptions;
use crate::model::scenario::{Requests, ScenarioForm};

/// The built-in target's default address (`flak target`).
pub const DEFAULT_URL: &str = "http://127.0.0.1:8081/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchMode {
    /// Normal cross-origin fetch: needs the server's CORS headers, shows status codes.
    Cors,
    /// Opaque responses: no CORS needed, timed, but status and body are hidden.
    NoCors,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopBy {
    Requests,
    Duration,
}

/// How the load moves over the run: flat (count or duration, optionally a fixed rate), or
/// stages ramping a rate (open model) or the in-flight limit (closed model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadShape {
    Flat,
    Rate,
    Concurrency,
}

impl LoadShape {
    /// The permalink's prefix of the stages (`rate:2s:100,…`) and the form's option value.
    pub fn key(self) -> &'static str {
        match self {
            LoadShape::Flat => "flat",
            LoadShape::Rate => "rate",
            LoadShape::Concurrency => "concurrency",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [LoadShape::Flat, LoadShape::Rate, LoadShape::Concurrency]
            .into_iter()
            .find(|s| s.key() == key)
    }
}

/// One stage as typed: over `duration`, ramp to `target` (req/s or in flight).
#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    pub duration: String,
    pub target: String,
}

impl StageRow {
    pub fn new(duration: &str, target: &str) -> Self {
        Self {
            duration: duration.into(),
            target: target.into(),
        }
    }
}

/// The prefix of every message about the stages, which the form shows beside the editor.
pub const STAGES_FIELD: &str = "Load stages";

/// One request of a fan-out group, as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRow {
    pub name: String,
    pub method: String,
    pub url: String,
}

impl MemberRow {
    pub fn new(name: &str, method: &str, url: &str) -> Self {
        Self {
            name: name.into(),
            method: method.into(),
            url: url.into(),
        }
    }
}

/// Everything on the form, as text where a person types it.
#[derive(Debug, Clone, PartialEq)]
pub struct FormConfig {
    pub url: String,
    pub method: String,
    /// One `Name: value` per line.
    pub headers: String,
    pub body: String,
    pub concurrency: String,
    pub stop_by: StopBy,
    pub requests: String,
    pub duration: String,
    /// Empty: as fast as the in-flight limit allows.
    pub rate: String,
    pub timeout: String,
    pub mode: FetchMode,
    pub credentials: bool,
    pub bypass_cache: bool,
    /// Put header values into the permalink (off: they often hold tokens).
    pub share_headers: bool,
    /// Fan-out: each iteration sends every member at once; `url` and `method` are then unused.
    pub fan_out: bool,
    pub members: Vec<MemberRow>,
    /// Flat: `stop_by`, `requests`, `duration` and `rate` apply; otherwise `stages` do.
    pub shape: LoadShape,
    pub stages: Vec<StageRow>,
    /// A scenario file gives the requests (a journey, or a fan-out group) when `scenario.on`.
    pub scenario: ScenarioForm,
}

impl Default for FormConfig {
    fn default() -> Self {
        Self {
            url: DEFAULT_URL.into(),
            method: "GET".into(),
            headers: String::new(),
            body: String::new(),
            concurrency: "6".into(),
            stop_by: StopBy::Requests,
            requests: "500".into(),
            duration: "10s".into(),
            rate: String::new(),
            timeout: "10s".into(),
            mode: FetchMode::Cors,
            credentials: false,
            bypass_cache: true,
            share_headers: false,
            fan_out: false,
            members: vec![
                MemberRow::new("product", "GET", &format!("{DEFAULT_URL}delay/20")),
                MemberRow::new("reviews", "GET", &format!("{DEFAULT_URL}delay/40")),
                MemberRow::new("stock", "GET", &format!("{DEFAULT_URL}status/503")),
            ],
            shape: LoadShape::Flat,
            stages: vec![
                StageRow::new("5s", "50"),
                StageRow::new("10s", "50"),
                StageRow::new("5s", "0"),
            ],
            scenario: ScenarioForm::default(),
        }
    }
}

/// The largest in-flight limit the page accepts: beyond this a browser tab only queues.
pub const MAX_CONCURRENCY: u64 = 1000;

impl FormConfig {
    /// Builds the plan and the fetch options, or one message naming the field at fault.
    pub fn to_plan(&self) -> Result<(Plan, FetchOptions), String> {
        let mut journey = None;
        let mut fan_out = self.fan_out;
        let specs = if self.scenario.on {
            match self.scenario.requests()? {
                Requests::Journey(plan) => {
                    journey = Some(*plan);
                    Vec::new()
                }
                Requests::FanOut(specs) => {
                    fan_out = true;
                    specs
                }
            }
        } else if self.fan_out {
            if self.members.is_empty() {
                return Err("Fan-out: add at least one request".into());
            }
            self.members
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let name = m.name.trim();
                    let label = if name.is_empty() {
                        format!("request {}", i + 1)
                    } else {
                        name.to_string()
                    };
                    let spec = self.spec(&m.method, &m.url, &format!("Fan-out {label}"))?;
                    Ok(if name.is_empty() {
                        spec
                    } else {
                        spec.named(name)
                    })
                })
                .collect::<Result<Vec<_>, String>>()?
        } else {
            vec![self.spec(&self.method, &self.url, "URL")?]
        };
        let load = self.load()?;
        let concurrency = match &load {
            // The stages set the in-flight limit: it is their peak.
            Some(Load::Concurrency(stages)) => stages.peak().ceil().max(1.0) as u64,
            _ => parse_whole("In-flight limit", &self.concurrency)?,
        };
        if concurrency > MAX_CONCURRENCY {
            return Err(format!(
                "In-flight limit: {concurrency} is more than a browser tab can use (at most {MAX_CONCURRENCY})"
            ));
        }
        let mut builder = Plan::builder().concurrency(concurrency).fan_out(fan_out);
        for spec in specs {
            builder = builder.request(spec);
        }
        if let Some(journey) = journey {
            builder = builder.journey(journey);
        }
        builder = match (load, self.stop_by) {
            (Some(load), _) => builder.load(load),
            (None, StopBy::Requests) => builder.requests(parse_whole("Requests", &self.requests)?),
            (None, StopBy::Duration) => builder
                .duration(parse_duration(&self.duration).map_err(|e| format!("Duration: {e}"))?),
        };
        let rate = match self.rate.trim() {
            _ if self.shape != LoadShape::Flat => None,
            "" => None,
            r => Some(
                parse_decimal(r)
                    .ok_or_else(|| format!("Rate: {r:?} is not a number of requests per second"))?,
            ),
        };
        let timeout = match self.timeout.trim() {
            "" | "0" => None,
            t => Some(parse_duration(t).map_err(|e| format!("Timeout: {e}"))?),
        };
        let plan = builder
            .rate(rate)
            .timeout(timeout)
            .seed(0)
            .build()
            .map_err(|e| match e {
                // Say it in the form's words, not the CLI's flags.
                PlanError::Load(m) => format!(
                    "{STAGES_FIELD}: {}",
                    m.replace("--rate-stages", "rate stages")
                        .replace("--concurrency-stages", "concurrency stages")
                ),
                e => capitalize(&e.to_string()),
            })?;
        let options = FetchOptions {
            no_cors: self.mode == FetchMode::NoCors,
            credentials: self.credentials,
            bypass_cache: self.bypass_cache,
        };
        Ok((plan, options))
    }

    /// The stages as a core `Load`, checked by the core (`None` for a flat load). Messages
    /// start with [`STAGES_FIELD`] and name the row (`stage 2: a duration of zero`).
    pub fn load(&self) -> Result<Option<Load>, String> {
        if self.shape == LoadShape::Flat {
            return Ok(None);
        }
        for (i, row) in self.stages.iter().enumerate() {
            // A comma or colon would split the row in two in the text the core reads.
            if let Some(bad) = [&row.duration, &row.target]
                .into_iter()
                .find(|f| f.contains([',', ':']))
            {
                return Err(format!(
                    "{STAGES_FIELD}: stage {}: {:?} is not one value",
                    i + 1,
                    bad.trim()
                ));
            }
        }
        let stages = if self.stages.is_empty() {
            Stages::new(Vec::new())
        } else {
            Stages::parse(&self.stages_text())
        }
        .map_err(|e| format!("{STAGES_FIELD}: {e}"))?;
        Ok(Some(match self.shape {
            LoadShape::Concurrency => Load::Concurrency(stages),
            _ => Load::Rate(stages),
        }))
    }

    /// The rows as the core's text form, `2s:100,2s:400,2s:0`.
    fn stages_text(&self) -> String {
        self.stages
            .iter()
            .map(|r| format!("{}:{}", r.duration.trim(), r.target.trim()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One request with the form's headers and body; errors name `field`.
    fn spec(&self, method: &str, url: &str, field: &str) -> Result<RequestSpec, String> {
        let mut spec =
            RequestSpec::new(method.trim(), url.trim()).map_err(|e| format!("{field}: {e}"))?;
        for line in self
            .headers
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            spec = spec
                .header_line(line)
                .map_err(|e| format!("Headers: {e}"))?;
        }
        if !self.body.is_empty() {
            if matches!(method.trim().to_ascii_uppercase().as_str(), "GET" | "HEAD") {
                return Err("Body: a GET or HEAD request cannot have a body in a browser".into());
            }
            spec.body = Body::from(self.body.as_str());
        }
        Ok(spec)
    }

    /// The permalink query (without `?`). Header values only when the user opted in.
    pub fn to_query(&self, autostart: bool) -> String {
        let flat = self.shape == LoadShape::Flat;
        let q = Query {
            url: Some(self.url.clone()),
            method: Some(self.method.clone()).filter(|m| m != "GET"),
            concurrency: Some(self.concurrency.clone()),
            requests: (flat && self.stop_by == StopBy::Requests).then(|| self.requests.clone()),
            duration: (flat && self.stop_by == StopBy::Duration).then(|| self.duration.clone()),
            rate: Some(self.rate.clone()).filter(|r| flat && !r.is_empty()),
            stages: (!flat).then(|| format!("{}:{}", self.shape.key(), self.stages_text())),
            timeout: Some(self.timeout.clone()),
            mode: (self.mode == FetchMode::NoCors).then(|| "no-cors".to_string()),
            headers: (self.share_headers && !self.headers.trim().is_empty())
                .then(|| self.headers.clone()),
            members: self.fan_out.then(|| {
                let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
                self.members
                    .iter()
                    .map(|m| {
                        format!(
                            "{}\t{}\t{}",
                            clean(&m.name),
                            clean(&m.method),
                            clean(&m.url)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            scenario: self
                .scenario
                .on
                .then(|| self.scenario.link_text().ok())
                .flatten(),
            data_order: self
                .scenario
                .order
                .filter(|_| self.scenario.on)
                .map(|o| data_order_key(o).to_string()),
            autostart: autostart.then(|| "1".to_string()),
        };
        q.text()
    }

    /// The permalink query, or why the scenario cannot be in it (the link would lose it).
    pub fn permalink(&self, autostart: bool) -> Result<String, String> {
        if self.scenario.on {
            self.scenario.link_text()?;
        }
        Ok(self.to_query(autostart))
    }

    /// Reads a permalink query (with or without `?`) over the defaults; returns the config and
    /// whether `autostart=1` was given. Unknown keys are ignored.
    pub fn from_query(query: &str) -> (Self, bool) {
        let q = Query::parse(query.trim_start_matches('?'));
        let mut c = Self::default();
        let set = |field: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(&mut c.url, q.url);
        set(&mut c.method, q.method);
        set(&mut c.concurrency, q.concurrency);
        set(&mut c.rate, q.rate);
        set(&mut c.timeout, q.timeout);
        if let Some(h) = q.headers {
            c.headers = h;
            c.share_headers = true;
        }
        match q.mode.as_deref() {
            Some("no-cors") => c.mode = FetchMode::NoCors,
            Some("cors") => c.mode = FetchMode::Cors,
            _ => {}
        }
        if let Some(members) = q.members {
            c.fan_out = true;
            c.members = members
                .lines()
                .filter_map(|line| {
                    let mut f = line.splitn(3, '\t');
                    Some(MemberRow::new(f.next()?, f.next()?, f.next()?))
                })
                .collect();
        }
        if let Some(text) = q.scenario {
            c.scenario = ScenarioForm::from_link(&text);
            c.scenario.order = q.data_order.as_deref().and_then(data_order_from_key);
        }
        if let Some(stages) = q.stages
            && let Some((shape, rows)) = stages.split_once(':')
            && let Some(shape) = LoadShape::from_key(shape)
        {
            c.shape = shape;
            c.stages = rows
                .split(',')
                .map(|row| {
                    let (d, t) = row.split_once(':').unwrap_or((row, ""));
                    StageRow::new(d, t)
                })
                .collect();
        }
        match (q.requests, q.duration) {
            (_, Some(d)) => {
                c.stop_by = StopBy::Duration;
                c.duration = d;
            }
            (Some(n), None) => c.requests = n,
            (None, None) => {}
        }
        (c, q.autostart.as_deref() == Some("1"))
    }

    /// A one-line description for the recent-runs list.
    pub fn describe(&self) -> String {
        let stop = match (self.shape, self.stop_by) {
            (LoadShape::Flat, StopBy::Requests) => format!("{} requests", self.requests),
            (LoadShape::Flat, StopBy::Duration) => self.duration.clone(),
            (shape, _) => format!("{} stages {}", shape.key(), self.stages_text()),
        };
        let rate = if self.rate.is_empty() || self.shape != LoadShape::Flat {
            String::new()
        } else {
            format!(" at {}/s", self.rate)
        };
        let what = if self.scenario.on {
            match self.scenario.def() {
                Ok(def) if !def.step.is_empty() => {
                    let names: Vec<String> = def
                        .step
                        .iter()
                        .enumerate()
                        .map(|(i, s)| s.name.clone().unwrap_or_else(|| format!("step {}", i + 1)))
                        .collect();
                    format!("journey of {} steps ({})", names.len(), names.join(", "))
                }
                _ => "scenario".to_string(),
            }
        } else if self.fan_out {
            let names: Vec<&str> = self.members.iter().map(|m| m.name.as_str()).collect();
            format!("fan-out of {} ({})", self.members.len(), names.join(", "))
        } else {
            format!("{} {}", self.method, self.url)
        };
        format!("{what} · {} in flight · {stop}{rate}", self.concurrency)
    }
}

/// The permalink's fields, each as its text (absent when `None`), in the link's order.
#[derive(Debug, Default)]
struct Query {
    url: Option<String>,
    method: Option<String>,
    concurrency: Option<String>,
    requests: Option<String>,
    duration: Option<String>,
    rate: Option<String>,
    /// Load stages, `rate:2s:100,2s:400,2s:0` or `concurrency:…`.
    stages: Option<String>,
    timeout: Option<String>,
    /// `no-cors`, or absent for `cors`.
    mode: Option<String>,
    headers: Option<String>,
    /// Fan-out members, one `name<TAB>METHOD<TAB>url` per line.
    members: Option<String>,
    /// A scenario's JSON, compact, when it fits ([`crate::model::scenario::LINK_LIMIT`]).
    scenario: Option<String>,
    data_order: Option<String>,
    /// `1` when the link starts the run.
    autostart: Option<String>,
}

/// The query's keys, in the link's order.
const KEYS: [&str; 14] = [
    "url",
    "method",
    "concurrency",
    "requests",
    "duration",
    "rate",
    "stages",
    "timeout",
    "mode",
    "headers",
    "members",
    "scenario",
    "data_order",
    "autostart",
];

impl Query {
    /// Each field by its key (in [`KEYS`]' order). By hand, not serde: a derived reader and
    /// writer for this one struct cost the page's bundle more than these few lines.
    fn field(&mut self, i: usize) -> Option<&mut Option<String>> {
        Some(match i {
            0 => &mut self.url,
            1 => &mut self.method,
            2 => &mut self.concurrency,
            3 => &mut self.requests,
            4 => &mut self.duration,
            5 => &mut self.rate,
            6 => &mut self.stages,
            7 => &mut self.timeout,
            8 => &mut self.mode,
            9 => &mut self.headers,
            10 => &mut self.members,
            11 => &mut self.scenario,
            12 => &mut self.data_order,
            13 => &mut self.autostart,
            _ => return None,
        })
    }

    /// `application/x-www-form-urlencoded` text of the fields given.
    fn text(mut self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (i, key) in KEYS.iter().enumerate() {
            if let Some(Some(value)) = self.field(i) {
                out.append_pair(key, value);
            }
        }
        out.finish()
    }

    /// The fields a query gives; unknown keys are ignored, a repeated key keeps its last value.
    fn parse(query: &str) -> Self {
        let mut q = Self::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if let Some(i) = KEYS.iter().position(|k| *k == key)
                && let Some(field) = q.field(i)
            {
                *field = Some(value.into_owned());
            }
        }
        q
    }
}

/// The data order's name in files and links.
pub fn data_order_key(order: DataOrder) -> &'static str {
    match order {
        DataOrder::Sequential => "sequential",
        DataOrder::Random => "random",
        DataOrder::Unique => "unique",
    }
}

pub fn data_order_from_key(key: &str) -> Option<DataOrder> {
    [DataOrder::Sequential, DataOrder::Random, DataOrder::Unique]
        .into_iter()
        .find(|o| data_order_key(*o) == key)
}

fn parse_whole(field: &str, text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| format!("{field}: {:?} is not a whole number", text.trim()))
}

/// A decimal number as typed (`12`, `0.5`, `-3`, `2.5e3`), read by hand: `str::parse::<f64>`
/// brings a 10 KB table of powers of five into the bundle, for an exactness no typed rate needs.
/// Correctly rounded when the digits fit in 2^53 and the power of ten is within ±22, which
/// covers anything a person types; otherwise within a few units in the last place.
fn parse_decimal(text: &str) -> Option<f64> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (number, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((n, e)) => (n, e.parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // Up to 18 digits are kept exactly; past those, whole digits only scale the number.
    let (mut mantissa, mut power) = (0u64, i64::from(exponent));
    for (i, digit) in int.bytes().chain(frac.bytes()).enumerate() {
        let in_frac = i >= int.len();
        if mantissa < 100_000_000_000_000_000 {
            mantissa = mantissa * 10 + u64::from(digit - b'0');
            power -= i64::from(in_frac);
        } else if !in_frac {
            power += 1;
        }
    }
    // Powers of ten are exact up to 1e22; past ±400 the result is 0 or infinite anyway.
    let scale = |k: i64| (0..k.min(400)).fold(1.0f64, |p, _| p * 10.0);
    let value = mantissa as f64;
    let value = if power >= 0 {
        value * scale(power)
    } else {
        value / scale(-power)
    };
    Some(if negative { -value } else { value })
}

/// The first letter in upper case (messages start with an ASCII field or word).
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use flak_core::StopAfter;

    use super::*;

    #[test]
    fn defaults_make_a_valid_plan_against_the_builtin_target() {
        let (plan, opts) = FormConfig::default().to_plan().unwrap();
        assert_eq!(plan.concurrency, 6);
        assert_eq!(plan.stop, StopAfter::Requests(500));
        assert_eq!(plan.requests[0].url.as_str(), DEFAULT_URL);
        assert!(!opts.credentials, "credentials are off unless asked for");
        assert!(!opts.no_cors && opts.bypass_cache);
        let no_cors = FormConfig {
            mode: FetchMode::NoCors,
            ..FormConfig::default()
        };
        assert!(no_cors.to_plan().unwrap().1.no_cors);
    }

    #[test]
    fn bad_fields_are_named() {
        type Edit = fn(&mut FormConfig);
        let cases: Vec<(Edit, &str)> = vec![
            (|c| c.url = "localhost:8081".into(), "URL:"),
            (
                |c| c.concurrency = "0".into(),
                "Concurrency must be at least 1",
            ),
            (
                |c| c.concurrency = "many".into(),
                "In-flight limit: \"many\"",
            ),
            (|c| c.concurrency = "5000".into(), "at most 1000"),
            (|c| c.requests = "-1".into(), "Requests:"),
            (
                |c| {
                    c.stop_by = StopBy::Duration;
                    c.duration = "10".into();
                },
                "Duration: duration \"10\" has no unit",
            ),
            (|c| c.rate = "fast".into(), "Rate:"),
            (|c| c.rate = "0".into(), "Rate must be a positive number"),
            (|c| c.headers = "Broken".into(), "Headers:"),
            (|c| c.body = "x".into(), "Body: a GET"),
        ];
        for (edit, want) in cases {
            let mut c = FormConfig::default();
            edit(&mut c);
            let err = c.to_plan().unwrap_err();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }

    #[test]
    fn permalink_round_trips_and_keeps_headers_private_by_default() {
        let mut c = FormConfig {
            url: "http://127.0.0.1:9/a?b=c&d=e".into(),
            concurrency: "12".into(),
            stop_by: StopBy::Duration,
            duration: "30s".into(),
            rate: "100".into(),
            headers: "Authorization: Bearer secret".into(),
            ..FormConfig::default()
        };
        let q = c.to_query(true);
        assert!(!q.contains("secret"), "{q}");
        let (back, autostart) = FormConfig::from_query(&q);
        assert!(autostart);
        assert_eq!(back.url, c.url);
        assert_eq!(
            (back.stop_by, back.duration.as_str(), back.rate.as_str()),
            (StopBy::Duration, "30s", "100")
        );
        assert!(back.headers.is_empty());
        c.share_headers = true;
        let (back, autostart) = FormConfig::from_query(&c.to_query(false));
        assert!(!autostart);
        assert_eq!(back.headers, "Authorization: Bearer secret");
    }

    #[test]
    fn fan_out_members_become_named_requests_and_survive_the_permalink() {
        let mut c = FormConfig {
            fan_out: true,
            ..FormConfig::default()
        };
        c.members[1].name = "with spaces".into();
        let (plan, _) = c.to_plan().unwrap();
        assert!(plan.fan_out);
        assert_eq!(plan.member_names(), vec!["product", "with spaces", "stock"]);
        let (back, _) = FormConfig::from_query(&c.to_query(false));
        assert_eq!(back.members, c.members);
        assert!(back.fan_out);
        c.members[2].url = "nope".into();
        assert!(
            c.to_plan()
                .unwrap_err()
                .starts_with("Fan-out stock: invalid URL")
        );
        c.members.clear();
        assert!(c.to_plan().unwrap_err().contains("add at least one"));
    }

    #[test]
    fn decimals_read_as_rust_reads_them() {
        for text in [
            "0",
            "12",
            "0.5",
            ".5",
            "5.",
            "-3",
            "+7",
            "2.5e3",
            "1E-2",
            "1e+5",
            "007.250",
            "123456789.987654321",
            "0.1",
            "0.3",
            "1e22",
            "1e-22",
            "4503599627370497",
            "99999999999999999999999",
            "0.000000000000000000000000001",
            "1e308",
            "1e400",
            "1e-400",
            "123456789012345678901234567890e-10",
        ] {
            let want: f64 = text.parse().unwrap();
            let got = parse_decimal(text).unwrap();
            assert!(
                got == want || ((got - want) / want).abs() < 1e-15,
                "{text}: {got} vs {want}"
            );
        }
        // Every decimal a person types for a rate is exactly what Rust reads.
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..100_000 {
            let int = rng.u64(..10_000_000);
            let frac = rng.u64(..1_000_000);
            let text = match rng.u8(..3) {
                0 => format!("{int}"),
                1 => format!("{int}.{frac:0w$}", w = rng.usize(1..7)),
                _ => format!("{int}.{frac:06}e{}", rng.i32(-16..16)),
            };
            assert_eq!(parse_decimal(&text), text.parse().ok(), "{text}");
        }
        for bad in [
            "", ".", "-", "e5", "1e", "1e5.5", "1.2.3", "1_000", "fast", "inf", "NaN", "5 ",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    fn staged(shape: LoadShape, rows: &[(&str, &str)]) -> FormConfig {
        FormConfig {
            shape,
            stages: rows.iter().map(|(d, t)| StageRow::new(d, t)).collect(),
            ..FormConfig::default()
        }
    }

    #[test]
    fn stages_become_the_plans_load_and_its_length() {
        let c = staged(LoadShape::Rate, &[("1s", "50"), ("1s", "100"), ("1s", "0")]);
        let (plan, _) = c.to_plan().unwrap();
        let Some(Load::Rate(stages)) = &plan.load else {
            panic!("rate stages expected: {:?}", plan.load);
        };
        assert_eq!(stages.total(), 150.0);
        assert_eq!(
            plan.stop,
            StopAfter::Duration(std::time::Duration::from_secs(3))
        );
        assert_eq!(plan.rate, None, "the form's rate is not used beside stages");
        assert_eq!(plan.concurrency, 6, "the in-flight limit stays the cap");
        let c = staged(LoadShape::Concurrency, &[("2s", "7.5"), ("2s", "0")]);
        let (plan, _) = c.to_plan().unwrap();
        assert!(matches!(plan.load, Some(Load::Concurrency(_))));
        assert_eq!(
            plan.concurrency, 8,
            "the stages' peak sets the in-flight limit"
        );
        assert!(!plan.is_open());
    }

    #[test]
    fn bad_stage_rows_are_named_with_the_cores_words() {
        let cases = [
            (
                vec![("0s", "10")],
                "Load stages: stage 1: a duration of zero",
            ),
            (
                vec![("1s", "10"), ("-2s", "5")],
                "Load stages: stage 2: a negative duration",
            ),
            (
                vec![("1s", "lots")],
                "Load stages: stage 1: target \"lots\" is not a number",
            ),
            (
                vec![("1s", "-5")],
                "Load stages: stage 1: target -5 is not a number of zero or more",
            ),
            (
                vec![("1s", "1,2")],
                "Load stages: stage 1: \"1,2\" is not one value",
            ),
            (
                vec![("10", "5")],
                "Load stages: stage 1: duration \"10\" has no unit",
            ),
            (
                vec![("1s", "0"), ("1s", "0")],
                "Load stages: rate stages 1s:0,1s:0: every target is 0",
            ),
            (vec![], "Load stages: no stages"),
        ];
        for (rows, want) in cases {
            let err = staged(LoadShape::Rate, &rows).to_plan().unwrap_err();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
        // A flat load ignores the rows, however bad.
        let mut c = staged(LoadShape::Rate, &[("0s", "x")]);
        c.shape = LoadShape::Flat;
        assert!(c.to_plan().is_ok());
    }

    #[test]
    fn stages_survive_the_permalink() {
        for shape in [LoadShape::Rate, LoadShape::Concurrency] {
            let c = staged(shape, &[("2s", "100"), ("2s", "400"), ("2s", "0")]);
            let q = c.to_query(true);
            assert!(
                q.contains(&format!(
                    "stages={}%3A2s%3A100%2C2s%3A400%2C2s%3A0",
                    shape.key()
                )),
                "{q}"
            );
            assert!(!q.contains("requests="), "the flat fields stay out: {q}");
            let (back, autostart) = FormConfig::from_query(&q);
            assert!(autostart);
            assert_eq!(back, c);
        }
        let (back, _) = FormConfig::from_query("stages=rate:1s:50,1s:100,1s:0&concurrency=4");
        assert_eq!(back.shape, LoadShape::Rate);
        assert_eq!(back.stages[1], StageRow::new("1s", "100"));
        let (back, _) = FormConfig::from_query("stages=sideways:1s:5");
        assert_eq!(back.shape, LoadShape::Flat, "an unknown shape is ignored");
    }

    #[test]
    fn a_scenario_gives_the_plan_its_journey_and_rides_in_the_permalink() {
        use crate::model::scenario::ScenarioForm;
        let text = r#"{"step": [
            {"name": "login", "method": "POST", "url": "http://127.0.0.1:8081/login",
             "body": "{\"user\": \"u1\"}", "extract": {"token": "json:/token"}},
            {"name": "me", "url": "http://127.0.0.1:8081/me",
             "headers": ["Authorization: Bearer {var:token}"]}
        ]}"#;
        let c = FormConfig {
            scenario: ScenarioForm {
                on: true,
                text: text.into(),
                data: None,
                order: Some(DataOrder::Random),
            },
            requests: "40".into(),
            ..FormConfig::default()
        };
        let (plan, _) = c.to_plan().unwrap();
        assert!(plan.journey.is_some() && !plan.fan_out);
        assert_eq!(plan.requests.len(), 2, "one spec per step request");
        assert_eq!(plan.stop, StopAfter::Requests(40), "-n counts iterations");
        assert!(c.describe().starts_with("journey of 2 steps (login, me)"));
        let q = c.permalink(true).unwrap();
        let (back, autostart) = FormConfig::from_query(&q);
        assert!(autostart && back.scenario.on);
        assert_eq!(back.scenario.order, Some(DataOrder::Random));
        assert_eq!(back.scenario.def().unwrap(), c.scenario.def().unwrap());
        // Off, the scenario neither runs nor goes in the link.
        let off = FormConfig {
            scenario: ScenarioForm {
                on: false,
                ..c.scenario.clone()
            },
            ..c
        };
        assert!(off.to_plan().unwrap().0.journey.is_none());
        assert!(!off.to_query(false).contains("scenario="));
        // Too large for a link: the permalink says so, and the address bar keeps the rest.
        let steps: Vec<String> = (0..200)
            .map(|i| format!(r#"{{"url": "http://127.0.0.1:8081/delay/{i}"}}"#))
            .collect();
        let big = FormConfig {
            scenario: ScenarioForm {
                on: true,
                text: format!(r#"{{"step": [{}]}}"#, steps.join(",")),
                ..ScenarioForm::default()
            },
            ..FormConfig::default()
        };
        assert!(big.permalink(false).unwrap_err().starts_with("Permalink: "));
        assert!(!big.to_query(false).contains("scenario="));
    }

    #[test]
    fn a_bad_value_is_ignored_alone_and_a_repeated_key_keeps_its_last() {
        let (c, autostart) =
            FormConfig::from_query("url=http%3A%2F%2F127.0.0.1%3A9%2F&mode=sideways&rate=5&rate=7");
        assert_eq!(c.url, "http://127.0.0.1:9/");
        assert_eq!(c.mode, FetchMode::Cors);
        assert_eq!(c.rate, "7");
        assert!(!autostart);
        let (c, _) = FormConfig::from_query("mode=no-cors");
        assert_eq!(c.mode, FetchMode::NoCors);
    }

    #[test]
    fn garbage_query_falls_back_to_defaults() {
        let (c, autostart) = FormConfig::from_query("?%%%=&&autostart=yes");
        assert_eq!(c, FormConfig::default());
        assert!(!autostart);
    }
}
