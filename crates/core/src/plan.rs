//! The test plan: what to send, how many at once, for how long, how fast. Serde-friendly and
//! validated on construction, so a `Plan` that exists is a plan that can run.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::body::Body;
use crate::journey::JourneyPlan;
use crate::stages::Stages;
use crate::syntax;
use crate::template::{TemplateError, UrlTemplate};

/// Why a plan was refused. Every variant names the field and the offending value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// No request template was given.
    #[error("the plan has no request: give at least one URL")]
    NoRequests,
    /// The in-flight limit is zero.
    #[error("concurrency must be at least 1 (got {0})")]
    Concurrency(u64),
    /// An in-flight limit beyond what one machine can hold open.
    #[error(
        "concurrency {0} is more than flak allows (at most {MAX_CONCURRENCY}); use --shard across machines"
    )]
    ConcurrencyTooHigh(u64),
    /// A request count below one.
    #[error("requests must be at least 1 (got {0})")]
    Requests(u64),
    /// A zero or negative run duration.
    #[error("duration must be greater than zero (got {0})")]
    Duration(String),
    /// A run duration or timeout beyond [`MAX_DURATION`].
    #[error("{field} {value} is longer than flak allows (at most 100 years)")]
    TooLong { field: &'static str, value: String },
    /// A rate that is zero, negative or not a number.
    #[error("rate must be a positive number of requests per second (got {0})")]
    Rate(f64),
    /// A zero timeout.
    #[error("timeout must be greater than zero (got {0})")]
    Timeout(String),
    /// A URL (or URL template) that does not parse.
    #[error(transparent)]
    Url(#[from] TemplateError),
    /// An HTTP method that is not a valid token.
    #[error("invalid HTTP method {0:?}")]
    Method(String),
    /// A header name or value that cannot be sent.
    #[error("invalid header {0:?}: expected 'Name: value' with a valid name and value")]
    Header(String),
    /// Two fan-out members with the same name.
    #[error("fan-out members need distinct names ({0:?} appears twice)")]
    DuplicateMember(String),
    /// Load stages that contradict another setting.
    #[error("{0}")]
    Load(String),
    /// A shard index outside its count.
    #[error("invalid shard {index}/{count}: need 0 <= index < count")]
    Shard { index: u32, count: u32 },
}

/// The longest run or timeout a plan may ask for (about 100 years): longer ones are typos,
/// and would overflow clocks.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The largest in-flight limit a plan may ask for on one machine.
pub const MAX_CONCURRENCY: u64 = 1_000_000;

/// When a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopAfter {
    /// After this many requests (over all shards).
    Requests(u64),
    /// After this much time; requests still in flight then are counted as cancelled.
    #[serde(with = "secs_f64")]
    Duration(Duration),
}

/// Load that changes over time: which quantity the stages' targets are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Load {
    /// Open model: the targets are requests (iterations) per second, and request `i` is
    /// intended to start where the curve's integral reaches `i`. The in-flight limit is a cap.
    Rate(Stages),
    /// Closed model: the targets are the in-flight limit; lowering it lets requests in flight
    /// finish.
    Concurrency(Stages),
}

impl Load {
    pub fn stages(&self) -> &Stages {
        match self {
            Load::Rate(s) | Load::Concurrency(s) => s,
        }
    }

    /// The flag that sets it, for messages.
    pub fn flag(&self) -> &'static str {
        match self {
            Load::Rate(_) => "--rate-stages",
            Load::Concurrency(_) => "--concurrency-stages",
        }
    }
}

/// How request templates are picked when there are several.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Request `i` uses template `i mod len`.
    #[default]
    RoundRobin,
    /// Each request picks a template at random (seeded, so runs repeat).
    Random,
}

/// One request template: a method, a URL that may hold `{rand:…}`/`{pick:…}` fields, headers
/// and a body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestSpec {
    /// A name for reports (fan-out members are listed by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub method: String,
    pub url: UrlTemplate,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Body::is_empty")]
    pub body: Body,
}

impl RequestSpec {
    /// A GET of `url`.
    pub fn get(url: &str) -> Result<Self, PlanError> {
        Self::new("GET", url)
    }

    pub fn new(method: &str, url: &str) -> Result<Self, PlanError> {
        let spec = Self {
            name: None,
            method: method.to_string(),
            url: UrlTemplate::parse(url)?,
            headers: Vec::new(),
            body: Body::default(),
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Adds a header given as `Name: value`; a refusal quotes `line` exactly as given.
    pub fn header_line(mut self, line: &str) -> Result<Self, PlanError> {
        let refused = || PlanError::Header(line.to_string());
        let (name, value) = line.split_once(':').ok_or_else(refused)?;
        let (name, value) = (name.trim(), value.trim());
        if !syntax::is_header(name, value) {
            return Err(refused());
        }
        self.headers.push((name.to_string(), value.to_string()));
        Ok(self)
    }

    pub fn header(mut self, name: &str, value: &str) -> Result<Self, PlanError> {
        self.headers.push((name.to_string(), value.to_string()));
        self.validate()?;
        Ok(self)
    }

    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The name for reports: the given one, or `METHOD path`.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let url = self.url.as_str();
        let path = url
            .find("://")
            .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
            .unwrap_or("/");
        format!("{} {path}", self.method)
    }

    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    fn validate(&self) -> Result<(), PlanError> {
        if !syntax::is_method(&self.method) {
            return Err(PlanError::Method(self.method.clone()));
        }
        for (name, value) in &self.headers {
            if !syntax::is_header(name, value) {
                return Err(PlanError::Header(format!("{name}: {value}")));
            }
        }
        Ok(())
    }
}

/// A whole load test. Build one with [`Plan::builder`]; a deserialized plan is checked with
/// [`Plan::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub requests: Vec<RequestSpec>,
    #[serde(default)]
    pub order: Order,
    /// Seeds URL templates and random order, so a run can be repeated exactly.
    #[serde(default)]
    pub seed: u64,
    pub stop: StopAfter,
    /// The most requests in flight at once (over all shards of this process).
    pub concurrency: u32,
    /// Requests per second over the whole run (all shards together); `None` is as fast as
    /// the in-flight limit allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_secs_f64"
    )]
    pub timeout: Option<Duration>,
    /// Requests sent before measuring starts; counted, but not in the statistics.
    #[serde(default)]
    pub warmup: u64,
    /// Fan-out: each iteration sends every request at once and ends when all have finished.
    /// Count, duration, rate and the in-flight limit then apply to iterations.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fan_out: bool,
    /// Load that changes over time; the run lasts as long as its stages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<Load>,
    /// A journey: each iteration runs its steps in order (`requests` are its step requests).
    /// Not stored in results files, whose `requests` name the steps.
    #[serde(skip)]
    pub journey: Option<Arc<JourneyPlan>>,
}

impl Plan {
    pub fn builder() -> PlanBuilder {
        PlanBuilder::default()
    }

    /// Names of the fan-out members, in order.
    pub fn member_names(&self) -> Vec<String> {
        self.requests
            .iter()
            .map(RequestSpec::display_name)
            .collect()
    }

    /// How many of `shard`'s requests the rate (`-q` or rate stages) intended to start in the
    /// first `elapsed` of the measured phase; `None` in a closed model, which asks for none.
    pub fn asked(&self, elapsed: Duration, shard: Shard) -> Option<u64> {
        let intended = match (&self.load, self.rate) {
            (Some(Load::Rate(curve)), _) => curve.integral_to(elapsed),
            (_, Some(rate)) => rate * elapsed.as_secs_f64(),
            _ => return None,
        };
        // Request i is intended at the moment the integral reaches i: those before `elapsed`
        // are 0..ceil(intended), less a hair of floating-point noise.
        let global = (intended - 1e-9).max(0.0).ceil() as u64;
        let global = match self.stop {
            StopAfter::Requests(n) => global.min(n),
            StopAfter::Duration(_) => global,
        };
        Some(shard.share_of(global))
    }

    /// Whether request `i` has an intended start (a rate or rate stages): latency then counts
    /// from it.
    pub fn is_open(&self) -> bool {
        self.rate.is_some() || matches!(self.load, Some(Load::Rate(_)))
    }

    /// Checks every field; used after deserializing a plan from outside.
    pub fn validate(&self) -> Result<(), PlanError> {
        if self.requests.is_empty() {
            return Err(PlanError::NoRequests);
        }
        for r in &self.requests {
            r.validate()?;
        }
        if self.journey.is_none()
            && let Some(r) = self.requests.iter().find(|r| r.url.reads_fields())
        {
            return Err(PlanError::Url(crate::template::TemplateError {
                url: r.url.as_str().to_string(),
                reason: "{var:…} and {data:…} fields need a journey scenario".into(),
            }));
        }
        if self.fan_out || self.journey.is_some() {
            let names = self.member_names();
            for (i, name) in names.iter().enumerate() {
                if names[..i].contains(name) {
                    return Err(PlanError::DuplicateMember(name.clone()));
                }
            }
        }
        if self.concurrency == 0 {
            return Err(PlanError::Concurrency(0));
        }
        if u64::from(self.concurrency) > MAX_CONCURRENCY {
            return Err(PlanError::ConcurrencyTooHigh(self.concurrency.into()));
        }
        match self.stop {
            StopAfter::Requests(0) => return Err(PlanError::Requests(0)),
            StopAfter::Duration(d) if d.is_zero() => {
                return Err(PlanError::Duration(format_duration(d)));
            }
            StopAfter::Duration(d) if d > MAX_DURATION => {
                return Err(PlanError::TooLong {
                    field: "duration",
                    value: format_duration(d),
                });
            }
            _ => {}
        }
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(PlanError::Rate(rate));
        }
        if let Some(load) = &self.load {
            let flag = load.flag();
            if self.rate.is_some() {
                return Err(PlanError::Load(format!(
                    "{flag} and a fixed rate (-q) contradict each other: give one"
                )));
            }
            let length = load.stages().duration();
            if self.stop != StopAfter::Duration(length) {
                return Err(PlanError::Load(format!(
                    "{flag} set the run's length ({}); a request count or another duration contradicts it",
                    format_duration(length)
                )));
            }
            if load.stages().total() <= 0.0 {
                return Err(PlanError::Load(format!(
                    "{flag} {}: every target is 0, so nothing would be sent",
                    load.stages()
                )));
            }
        }
        if let Some(t) = self.timeout
            && t.is_zero()
        {
            return Err(PlanError::Timeout(format_duration(t)));
        }
        if let Some(t) = self.timeout
            && t > MAX_DURATION
        {
            return Err(PlanError::TooLong {
                field: "timeout",
                value: format_duration(t),
            });
        }
        Ok(())
    }
}

/// Builds a [`Plan`], refusing bad values with a [`PlanError`] at `build`.
#[derive(Debug, Clone)]
pub struct PlanBuilder {
    requests: Vec<RequestSpec>,
    order: Order,
    seed: u64,
    stop: StopAfter,
    concurrency: u64,
    rate: Option<f64>,
    timeout: Option<Duration>,
    warmup: u64,
    fan_out: bool,
    load: Option<Load>,
    journey: Option<Arc<JourneyPlan>>,
}

impl Default for PlanBuilder {
    fn default() -> Self {
        Self {
            requests: Vec::new(),
            order: Order::RoundRobin,
            seed: 0,
            stop: StopAfter::Requests(200),
            concurrency: 50,
            rate: None,
            timeout: Some(Duration::from_secs(20)),
            warmup: 0,
            fan_out: false,
            load: None,
            journey: None,
        }
    }
}

impl PlanBuilder {
    pub fn request(mut self, spec: RequestSpec) -> Self {
        self.requests.push(spec);
        self
    }
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn requests(mut self, n: u64) -> Self {
        self.stop = StopAfter::Requests(n);
        self
    }
    pub fn duration(mut self, d: Duration) -> Self {
        self.stop = StopAfter::Duration(d);
        self
    }
    pub fn concurrency(mut self, c: u64) -> Self {
        self.concurrency = c;
        self
    }
    pub fn rate(mut self, rate: Option<f64>) -> Self {
        self.rate = rate;
        self
    }
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }
    pub fn warmup(mut self, n: u64) -> Self {
        self.warmup = n;
        self
    }
    /// Each iteration sends all requests at once (see [`Plan::fan_out`]).
    pub fn fan_out(mut self, on: bool) -> Self {
        self.fan_out = on;
        self
    }

    /// A journey: its step requests become the plan's requests, and each iteration runs the
    /// steps in order (in place of any requests given before).
    pub fn journey(mut self, journey: JourneyPlan) -> Self {
        self.requests = journey.specs().to_vec();
        self.fan_out = false;
        self.journey = Some(Arc::new(journey));
        self
    }

    /// Load stages; the run then lasts as long as they do.
    pub fn load(mut self, load: Load) -> Self {
        self.stop = StopAfter::Duration(load.stages().duration());
        self.load = Some(load);
        self
    }

    pub fn build(self) -> Result<Plan, PlanError> {
        if self.concurrency > MAX_CONCURRENCY {
            return Err(PlanError::ConcurrencyTooHigh(self.concurrency));
        }
        let concurrency = u32::try_from(self.concurrency)
            .map_err(|_| PlanError::ConcurrencyTooHigh(self.concurrency))?;
        let plan = Plan {
            requests: self.requests,
            order: self.order,
            seed: self.seed,
            stop: self.stop,
            concurrency,
            rate: self.rate,
            timeout: self.timeout,
            warmup: self.warmup,
            fan_out: self.fan_out,
            load: self.load,
            journey: self.journey,
        };
        plan.validate()?;
        Ok(plan)
    }
}

/// The `I`-th of `N` equal parts of a plan: threads of one process, processes, or machines.
/// Part `I` takes the global request indices `I, I+N, I+2N, …`, so the parts add up exactly,
/// interleave evenly in time under a rate, and walk disjoint slices of a template sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole plan, unsplit.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> Result<Self, PlanError> {
        if count == 0 || index >= count {
            return Err(PlanError::Shard { index, count });
        }
        Ok(Self { index, count })
    }

    /// Splits this shard into `parts` sub-shards (e.g. one per thread of a machine shard).
    pub fn split(self, part: u32, parts: u32) -> Shard {
        Shard {
            index: self.index + part * self.count,
            count: self.count * parts,
        }
    }

    /// How many of the global indices `0..n` belong to this shard.
    pub fn share_of(self, n: u64) -> u64 {
        let (index, count) = (u64::from(self.index), u64::from(self.count));
        if n <= index {
            0
        } else {
            (n - index).div_ceil(count)
        }
    }

    /// The global index of this shard's `local`-th request.
    pub fn global_index(self, local: u64) -> u64 {
        u64::from(self.index) + local * u64::from(self.count)
    }
}

/// Parses a human duration such as `10s`, `2m`, `1h30m` or `250ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration: expected a number with a unit, such as 10s or 2m".into());
    }
    if trimmed.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "duration {trimmed:?} has no unit: write e.g. {trimmed}s or {trimmed}ms"
        ));
    }
    humantime::parse_duration(trimmed).map_err(|e| format!("invalid duration {trimmed:?}: {e}"))
}

/// Formats a duration for messages and reports (`1.5s`, `250ms`).
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{}s", trim_float(s))
    } else {
        format!("{}ms", trim_float(s * 1e3))
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

mod secs_f64 {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs)
            .map_err(|_| D::Error::custom(format!("bad duration {secs}")))
    }
}

mod opt_secs_f64 {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|secs| {
                Duration::try_from_secs_f64(secs)
                    .map_err(|_| D::Error::custom(format!("bad duration {secs}")))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PlanBuilder {
        Plan::builder().request(RequestSpec::get("http://127.0.0.1:1/").unwrap())
    }

    #[test]
    fn bad_values_name_field_and_value() {
        let cases: Vec<(PlanBuilder, &str)> = vec![
            (
                base().concurrency(0),
                "concurrency must be at least 1 (got 0)",
            ),
            (base().requests(0), "requests must be at least 1 (got 0)"),
            (
                base().duration(Duration::ZERO),
                "duration must be greater than zero (got 0ms)",
            ),
            (
                base().rate(Some(0.0)),
                "rate must be a positive number of requests per second (got 0)",
            ),
            (base().rate(Some(-3.0)), "(got -3)"),
            (base().rate(Some(f64::NAN)), "(got NaN)"),
            (
                base().timeout(Some(Duration::ZERO)),
                "timeout must be greater than zero",
            ),
            (Plan::builder(), "no request"),
            (
                base().duration(Duration::from_secs(1 << 62)),
                "duration 4611686018427387904s is longer than flak allows",
            ),
            (
                base().timeout(Some(Duration::from_secs(u64::MAX))),
                "timeout 18446744073709551616s is longer",
            ),
            (
                base().concurrency(1 << 40),
                "concurrency 1099511627776 is more than flak allows (at most 1000000)",
            ),
        ];
        for (builder, want) in cases {
            let err = builder.build().unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should contain {want:?}");
        }
    }

    #[test]
    fn bad_request_specs() {
        assert!(matches!(
            RequestSpec::get("not a url"),
            Err(PlanError::Url(_))
        ));
        assert!(matches!(
            RequestSpec::get("ftp://x/"),
            Err(PlanError::Url(_))
        ));
        // The template's own error, word for word.
        assert_eq!(
            RequestSpec::get("http://x/{rand:2-1}")
                .unwrap_err()
                .to_string(),
            "invalid URL \"http://x/{rand:2-1}\": {rand:2-1}: MIN 2 is greater than MAX 1"
        );
        assert!(matches!(
            RequestSpec::new("GE T", "http://x/"),
            Err(PlanError::Method(_))
        ));
        let spec = RequestSpec::get("http://x/").unwrap();
        assert!(matches!(
            spec.clone().header_line("NoColon"),
            Err(PlanError::Header(_))
        ));
        assert!(matches!(
            spec.clone().header_line("Bad Name: v"),
            Err(PlanError::Header(_))
        ));
        // The line as given, not re-joined from its parts around the first ':'.
        assert_eq!(
            spec.header_line("GET http://x/a").unwrap_err().to_string(),
            "invalid header \"GET http://x/a\": expected 'Name: value' with a valid name and value"
        );
    }

    #[test]
    fn plan_round_trips_through_json() {
        let plan = base()
            .duration(Duration::from_millis(1500))
            .rate(Some(100.0))
            .warmup(5)
            .build()
            .unwrap();
        let json = serde_json::to_string(&plan).unwrap();
        let back: Plan = serde_json::from_str(&json).unwrap();
        assert_eq!(plan, back);
    }

    #[test]
    fn shards_add_up_exactly() {
        for n in [0u64, 1, 7, 10, 1001] {
            for count in 1..6 {
                let total: u64 = (0..count)
                    .map(|i| Shard::new(i, count).unwrap().share_of(n))
                    .sum();
                assert_eq!(total, n, "n={n} count={count}");
            }
        }
        assert!(Shard::new(3, 3).is_err());
        assert!(Shard::new(0, 0).is_err());
        // Thread 1 of 2 inside machine shard 1 of 3 takes indices 4, 10, 16, ...
        let s = Shard::new(1, 3).unwrap().split(1, 2);
        assert_eq!((s.global_index(0), s.global_index(1)), (4, 10));
    }

    #[test]
    fn durations_parse_with_clear_errors() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("").unwrap_err().contains("empty"));
        assert!(
            parse_duration("ten seconds")
                .unwrap_err()
                .contains("invalid duration")
        );
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }
}
