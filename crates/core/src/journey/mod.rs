//! Scenario files, as serde types shared by the CLI (TOML) and the app (TOML or JSON): either
//! today's fan-out scenario (only top-level `[[request]]` tables, which keeps meaning exactly
//! what it meant) or a journey: `[[step]]` tables run in order each iteration, a step being one
//! request or a fan-out group (`[[step.request]]`), with `extract`, `check` and `think`, and
//! `{data:COLUMN}` fields from a data file.
//!
//! ```toml
//! data = "users.csv"            # optional; data_order = "sequential" | "random" | "unique"
//! [[step]]
//! name = "login"
//! method = "POST"
//! url = "http://127.0.0.1:8081/login"
//! headers = ["Content-Type: application/json"]
//! body = '{"user": "{data:user}"}'
//! extract = { token = "json:/token", session = "header:x-session" }
//! check = { status = [200, 201] }
//! think = "50ms..200ms"
//! [[step]]
//! name = "page"
//! [[step.request]]
//! url = "http://127.0.0.1:8081/me"
//! headers = ["Authorization: Bearer {var:token}"]
//! ```
//!
//! Everything is checked before any request is sent ([`Scenario::from_def`], then
//! [`Journey::check_data`] once the data file is read); each error is one line naming the step,
//! the request of a group, and the field. Core does no I/O: the front end reads `data` and
//! `body_file` files.

pub mod check;
pub mod extract;
mod ready;
pub mod think;
mod validate;
mod vars;

use litemap::LiteMap;

use serde::{Deserialize, Serialize};

use crate::body::Body;
use crate::data::DataOrder;
use crate::plan::{Load, RequestSpec};
use crate::stages::{Stage, Stages};

pub use check::{Check, CheckDef};
pub use extract::{ExtractError, Extractor, Headers, Locator, Received};
pub use ready::JourneyPlan;
pub use think::Think;
pub use validate::{Journey, Step, StepBody, StepRequest};
pub use vars::{IterationFields, Vars};

/// A scenario file as written, before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDef {
    /// A title for people reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A data file (CSV or JSON Lines), relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_order: Option<DataOrder>,
    /// Today's fan-out scenario: requests one iteration sends at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request: Vec<MemberDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step: Vec<StepDef>,
    /// Load that changes over time, as `--rate-stages` or `--concurrency-stages`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stage: Vec<StageDef>,
}

/// A `[[stage]]`: how long, and the rate or the concurrency to reach by its end (every stage
/// the same kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageDef {
    pub duration: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<f64>,
}

/// The `[[stage]]` tables as a load: every one a `rate` or every one a `concurrency`.
fn load_of(rows: &[StageDef]) -> Result<Option<Load>, ScenarioError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut stages = Vec::new();
    let mut rate = None;
    for (i, row) in rows.iter().enumerate() {
        let err = |m: String| ScenarioError::new(format!("stage {}: {m}", i + 1));
        let (target, is_rate) = match (row.rate, row.concurrency) {
            (Some(r), None) => (r, true),
            (None, Some(c)) => (c, false),
            _ => return Err(err("give rate or concurrency (one of them)".into())),
        };
        if *rate.get_or_insert(is_rate) != is_rate {
            return Err(err(
                "every stage must set the same thing (all rate or all concurrency)".into(),
            ));
        }
        if row.duration.trim().starts_with('-') {
            return Err(err(format!(
                "a negative duration ({})",
                row.duration.trim()
            )));
        }
        let duration = crate::plan::parse_duration(&row.duration).map_err(err)?;
        stages.push(Stage { duration, target });
    }
    let stages = Stages::new(stages).map_err(ScenarioError::new)?;
    Ok(Some(if rate == Some(true) {
        Load::Rate(stages)
    } else {
        Load::Concurrency(stages)
    }))
}

/// A member of a fan-out scenario (top-level `[[request]]`), exactly as the CLI has read them:
/// plain URL templates, literal headers and bodies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "get")]
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A body read from this file, relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<String>,
}

fn get() -> String {
    "GET".into()
}

/// A `[[step]]`: one request (`url` and the fields beside it), or a fan-out group
/// (`[[step.request]]` tables, each with its own extract and check).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// Distinct among steps; `step N` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<String>,
    /// Variable name → extractor (`json:/token`, `jsonpath:$.a`, `header:x`, `regex:…`, `status`).
    #[serde(default, skip_serializing_if = "LiteMap::is_empty")]
    pub extract: LiteMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckDef>,
    /// A pause after the step: `"200ms"` or `"50ms..200ms"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<String>,
    /// A fan-out group: sent at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request: Vec<RequestDef>,
}

/// A `[[step.request]]`: one member of a step's fan-out group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestDef {
    /// Distinct within the group; `METHOD path` when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "get")]
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<String>,
    #[serde(default, skip_serializing_if = "LiteMap::is_empty")]
    pub extract: LiteMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckDef>,
}

/// Why a scenario was refused: one line naming the place (file line, step, request of a group,
/// field) and the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.line_text())]
pub struct ScenarioError {
    /// 1-based line in the file, for syntax errors.
    pub line: Option<usize>,
    /// The step's name (or `step N`).
    pub step: Option<String>,
    /// The request's name, in a fan-out group or a fan-out scenario (`request N`).
    pub request: Option<String>,
    /// The field at fault: `url`, `headers`, `extract.token`, `check.status`, …
    pub field: Option<String>,
    pub message: String,
}

impl ScenarioError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            line: None,
            step: None,
            request: None,
            field: None,
            message: message.into(),
        }
    }

    fn line_text(&self) -> String {
        let mut place = Vec::new();
        if let Some(line) = self.line {
            place.push(format!("line {line}"));
        }
        if let Some(step) = &self.step {
            place.push(format!("step {step:?}"));
        }
        // A fan-out scenario's members have been named bare, as `product: …`, since it began.
        match (&self.request, &self.step) {
            (Some(r), Some(_)) => place.push(format!("request {r:?}")),
            (Some(r), None) => place.push(r.clone()),
            _ => {}
        }
        if let Some(field) = &self.field {
            place.push(field.clone());
        }
        if place.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", place.join(", "), self.message)
        }
    }
}

/// A checked scenario file.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// Only top-level `[[request]]` tables: today's fan-out scenario.
    FanOut(FanOut),
    /// `[[step]]` tables.
    Journey(Journey),
}

impl Scenario {
    /// Parses and checks a TOML scenario file.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let def: ScenarioDef = toml::from_str(text).map_err(|e| {
            let mut err = ScenarioError::new(e.message());
            err.line = e.span().map(|span| {
                let before = &text.as_bytes()[..span.start.min(text.len())];
                before.iter().filter(|&&b| b == b'\n').count() + 1
            });
            err
        })?;
        Self::from_def(def)
    }

    /// Parses and checks the same model written as JSON.
    pub fn from_json(text: &str) -> Result<Self, ScenarioError> {
        let def: ScenarioDef = serde_json::from_str(text).map_err(|e| {
            let mut err = ScenarioError::new(e.to_string());
            err.line = Some(e.line()).filter(|l| *l > 0);
            err
        })?;
        Self::from_def(def)
    }

    /// The load's stages the file gives (`[[stage]]` tables), if any.
    pub fn load(&self) -> Option<&Load> {
        match self {
            Self::FanOut(f) => f.load.as_ref(),
            Self::Journey(j) => j.load(),
        }
    }

    /// Checks a scenario (as read, or as edited in the app).
    pub fn from_def(def: ScenarioDef) -> Result<Self, ScenarioError> {
        let load = load_of(&def.stage)?;
        match (def.request.is_empty(), def.step.is_empty()) {
            (true, true) => Err(ScenarioError::new("no [[request]] or [[step]] entries")),
            (false, false) => Err(ScenarioError::new(
                "give [[step]] tables or top-level [[request]] tables (a fan-out scenario), not both; a fan-out step is [[step.request]]",
            )),
            (false, true) => {
                if def.data.is_some() || def.data_order.is_some() {
                    return Err(ScenarioError::new(
                        "data and data_order need [[step]] tables: top-level [[request]] tables are a fan-out scenario, which reads no data; put them in one [[step]] as [[step.request]]",
                    ));
                }
                let fan_out = FanOut {
                    name: def.name,
                    members: def.request,
                    load,
                };
                // Checked now, with bodies left out: body files are the front end's to read.
                fan_out.specs(|_| Ok(Vec::new()))?;
                Ok(Self::FanOut(fan_out))
            }
            (true, false) => Journey::from_def(def, load).map(Self::Journey),
        }
    }
}

/// Today's fan-out scenario: every member is sent at once each iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct FanOut {
    pub name: Option<String>,
    pub members: Vec<MemberDef>,
    /// `[[stage]]` tables.
    pub load: Option<Load>,
}

impl FanOut {
    /// The members as the fan-out plan's request specs, reading each `body_file` through
    /// `read_body_file` (given the name as written; the error is its message).
    pub fn specs(
        &self,
        mut read_body_file: impl FnMut(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Vec<RequestSpec>, ScenarioError> {
        self.members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let label = m
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("request {}", i + 1));
                let err = |message: String| ScenarioError {
                    request: Some(label.clone()),
                    ..ScenarioError::new(message)
                };
                let mut spec =
                    RequestSpec::new(&m.method, &m.url).map_err(|e| err(e.to_string()))?;
                if let Some(name) = &m.name {
                    spec = spec.named(name.clone());
                }
                for h in &m.headers {
                    spec = spec.header_line(h).map_err(|e| err(e.to_string()))?;
                }
                spec.body = match (&m.body, &m.body_file) {
                    (Some(_), Some(_)) => {
                        return Err(err("give body or body_file, not both".into()));
                    }
                    (Some(b), None) => Body::from(b.as_str()),
                    (None, Some(f)) => Body(
                        read_body_file(f)
                            .map_err(|e| err(format!("cannot read body_file {f:?}: {e}")))?,
                    ),
                    (None, None) => Body::default(),
                };
                Ok(spec)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
