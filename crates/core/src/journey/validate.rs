//! The checked journey: steps in order, each request's templates parsed, extractors compiled,
//! checks built, and every `{var:…}` known to come from an earlier step. What the runner reads.

use crate::data::{DataOrder, DataSet};
use crate::plan::Load;
use crate::syntax;
use crate::template::{FieldRef, TextTemplate, UrlTemplate, is_var_name};

use super::check::{Check, CheckDef};
use super::extract::Extractor;
use super::think::Think;
use super::{RequestDef, ScenarioDef, ScenarioError, StepDef};

/// A checked journey: what one iteration does, step after step.
#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    name: Option<String>,
    data: Option<String>,
    data_order: DataOrder,
    steps: Vec<Step>,
    /// Every variable some step extracts, in order of first extraction.
    vars: Vec<String>,
    /// `[[stage]]` tables.
    load: Option<Load>,
}

/// One step: a request, or a fan-out group sent at once; then an optional pause.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    /// One request, or the members of a fan-out group.
    pub requests: Vec<StepRequest>,
    /// True for a `[[step.request]]` group (even of one).
    pub fan_out: bool,
    pub think: Option<Think>,
}

/// One request of a step, its templates parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRequest {
    /// For reports: the step's name for a single request; the member's name (or
    /// `METHOD path`) in a group.
    pub name: String,
    pub method: String,
    pub url: UrlTemplate,
    /// Header names, and values that may hold fields.
    pub headers: Vec<(String, TextTemplate)>,
    pub body: StepBody,
    /// Variable name → how to take it from the response, by name.
    pub extract: Vec<(String, Extractor)>,
    pub checks: Vec<Check>,
}

/// A request body: none, text that may hold fields, or a file the front end reads (sent as
/// it is, never expanded: it may be binary).
#[derive(Debug, Clone, PartialEq)]
pub enum StepBody {
    None,
    Text(TextTemplate),
    File(String),
}

/// Who is at fault, for error lines.
#[derive(Clone, Copy)]
struct Place<'a> {
    step: &'a str,
    request: Option<&'a str>,
}

impl Place<'_> {
    fn err(&self, field: impl Into<String>, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            line: None,
            step: Some(self.step.to_string()),
            request: self.request.map(str::to_string),
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

/// The fields of a request as written, whether a single step's or a group member's.
struct Fields<'a> {
    method: &'a str,
    url: &'a str,
    headers: &'a [String],
    body: &'a Option<String>,
    body_file: &'a Option<String>,
    extract: &'a litemap::LiteMap<String, String>,
    check: &'a Option<CheckDef>,
}

impl Journey {
    pub(super) fn from_def(def: ScenarioDef, load: Option<Load>) -> Result<Self, ScenarioError> {
        let mut steps: Vec<Step> = Vec::new();
        let mut vars: Vec<String> = Vec::new();
        for (i, s) in def.step.iter().enumerate() {
            let name = step_name(s, i);
            let place = Place {
                step: &name,
                request: None,
            };
            if steps.iter().any(|t| t.name == name) {
                return Err(place.err(
                    "name",
                    "another step has this name; steps need distinct names",
                ));
            }
            let step = build_step(s, &name, place)?;
            // A step reads only what earlier steps extracted: not its own group's values,
            // which arrive at the same time.
            let later = |var: &str| {
                let extracts = |s: &StepDef| {
                    s.extract.contains_key(var)
                        || s.request.iter().any(|m| m.extract.contains_key(var))
                };
                (i + 1..def.step.len())
                    .find(|&n| extracts(&def.step[n]))
                    .map(|n| step_name(&def.step[n], n))
            };
            for r in &step.requests {
                let rp = Place {
                    step: &name,
                    request: step.fan_out.then_some(r.name.as_str()),
                };
                check_vars(r, rp, &vars, &step, &later)?;
            }
            for r in &step.requests {
                for (var, _) in &r.extract {
                    if !vars.contains(var) {
                        vars.push(var.clone());
                    }
                }
            }
            steps.push(step);
        }
        Ok(Self {
            name: def.name,
            data: def.data,
            data_order: def.data_order.unwrap_or_default(),
            steps,
            vars,
            load,
        })
    }

    /// The load's stages the file gives, if any.
    pub fn load(&self) -> Option<&Load> {
        self.load.as_ref()
    }

    /// Reads the data from another file than the scenario's own (`--data`).
    pub fn set_data_file(&mut self, name: impl Into<String>) {
        self.data = Some(name.into());
    }

    /// A title for people reading the file.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The data file the scenario names, as written (relative to the scenario file).
    pub fn data_file(&self) -> Option<&str> {
        self.data.as_deref()
    }

    pub fn data_order(&self) -> DataOrder {
        self.data_order
    }

    /// Every variable some step extracts, in order of first extraction.
    pub fn var_names(&self) -> &[String] {
        &self.vars
    }

    /// A fresh store for one iteration's variables (reuse it: [`super::Vars::clear`]).
    pub fn new_vars(&self) -> super::Vars {
        super::Vars::new(&self.vars)
    }

    /// True when some template reads `{data:…}`.
    pub fn reads_data(&self) -> bool {
        self.data_fields().next().is_some()
    }

    /// Checks every `{data:COLUMN}` against the data file (the scenario's `data`, or one given
    /// on the command line), or its absence.
    pub fn check_data(&self, data: Option<&DataSet>) -> Result<(), ScenarioError> {
        for (place, field, column) in self.data_fields() {
            let message = match data {
                None => format!(
                    "{{data:{column}}} needs a data file: give data = \"file.csv\" in the scenario (or --data)"
                ),
                Some(set) if set.column(column).is_none() => format!(
                    "{{data:{column}}}: the data file has no column {column:?} (it has {})",
                    set.columns()
                        .map(|c| format!("{c:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(_) => continue,
            };
            return Err(place.err(field, message));
        }
        Ok(())
    }

    /// Every `{data:…}` field: where it is, in which field, and its column.
    fn data_fields(&self) -> impl Iterator<Item = (Place<'_>, &'static str, &str)> {
        self.steps.iter().flat_map(|step| {
            step.requests.iter().flat_map(move |r| {
                let place = Place {
                    step: &step.name,
                    request: step.fan_out.then_some(r.name.as_str()),
                };
                template_fields(r).filter_map(move |(field, f)| match f {
                    FieldRef::Data(column) => Some((place, field, column)),
                    FieldRef::Var(_) => None,
                })
            })
        })
    }
}

/// Every field of a request's templates, with the template's field name.
fn template_fields(r: &StepRequest) -> impl Iterator<Item = (&'static str, FieldRef<'_>)> {
    let url = r.url.fields().map(|f| ("url", f));
    let headers = r
        .headers
        .iter()
        .flat_map(|(_, v)| v.fields().map(|f| ("headers", f)));
    let body = match &r.body {
        StepBody::Text(t) => Some(t),
        _ => None,
    }
    .into_iter()
    .flat_map(|t| t.fields().map(|f| ("body", f)));
    url.chain(headers).chain(body)
}

/// Refuses a `{var:…}` that no earlier step extracts; `later` names a later step that does.
fn check_vars(
    r: &StepRequest,
    place: Place<'_>,
    known: &[String],
    step: &Step,
    later: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ScenarioError> {
    for (field, f) in template_fields(r) {
        let FieldRef::Var(var) = f else { continue };
        if known.iter().any(|k| k == var) {
            continue;
        }
        let mut message = format!("{{var:{var}}} is used before any earlier step extracts it");
        let here = step
            .requests
            .iter()
            .any(|o| o.extract.iter().any(|(n, _)| n == var));
        if here {
            message.push_str(
                " (this step extracts it: a step reads only what earlier steps extracted)",
            );
        } else if let Some(name) = later(var) {
            message.push_str(&format!(" (step {name:?} extracts it later)"));
        }
        return Err(place.err(field, message));
    }
    Ok(())
}

/// A step's name: given, or `step N` (from 1).
fn step_name(s: &StepDef, i: usize) -> String {
    s.name.clone().unwrap_or_else(|| format!("step {}", i + 1))
}

fn build_step(s: &StepDef, name: &str, place: Place<'_>) -> Result<Step, ScenarioError> {
    let think = s
        .think
        .as_deref()
        .map(Think::parse)
        .transpose()
        .map_err(|e| place.err("think", e))?;
    if s.request.is_empty() {
        let url = s.url.as_deref().ok_or_else(|| {
            place.err(
                "url",
                "missing: give the step a url, or [[step.request]] tables (a fan-out group)",
            )
        })?;
        let fields = Fields {
            method: s.method.as_deref().unwrap_or("GET"),
            url,
            headers: &s.headers,
            body: &s.body,
            body_file: &s.body_file,
            extract: &s.extract,
            check: &s.check,
        };
        let request = build_request(&fields, name.to_string(), place)?;
        return Ok(Step {
            name: name.to_string(),
            requests: vec![request],
            fan_out: false,
            think,
        });
    }
    // A group has no response of its own: what belongs to a request goes in each member.
    let stray = [
        ("method", s.method.is_some()),
        ("url", s.url.is_some()),
        ("headers", !s.headers.is_empty()),
        ("body", s.body.is_some()),
        ("body_file", s.body_file.is_some()),
        ("extract", !s.extract.is_empty()),
        ("check", s.check.is_some()),
    ];
    if let Some((field, _)) = stray.iter().find(|(_, set)| *set) {
        return Err(place.err(
            *field,
            format!(
                "a fan-out step has no {field} of its own: put it in its [[step.request]] tables"
            ),
        ));
    }
    let mut requests: Vec<StepRequest> = Vec::new();
    for (j, m) in s.request.iter().enumerate() {
        let label = member_name(m, j);
        let mp = Place {
            step: name,
            request: Some(&label),
        };
        if requests.iter().any(|r| r.name == label) {
            return Err(mp.err(
                "name",
                "another request of this group has this name; give them distinct names",
            ));
        }
        let fields = Fields {
            method: &m.method,
            url: &m.url,
            headers: &m.headers,
            body: &m.body,
            body_file: &m.body_file,
            extract: &m.extract,
            check: &m.check,
        };
        let request = build_request(&fields, label.clone(), mp)?;
        for (var, _) in &request.extract {
            if requests
                .iter()
                .any(|r| r.extract.iter().any(|(v, _)| v == var))
            {
                return Err(mp.err(
                    format!("extract.{var}"),
                    "another request of this group extracts the same name; which would win is a race",
                ));
            }
        }
        requests.push(request);
    }
    Ok(Step {
        name: name.to_string(),
        requests,
        fan_out: true,
        think,
    })
}

/// A member's name: given, or `METHOD path` as fan-out members are named in reports.
fn member_name(m: &RequestDef, j: usize) -> String {
    if let Some(name) = &m.name {
        return name.clone();
    }
    let url = m.url.as_str();
    match url
        .find("://")
        .and_then(|i| url[i + 3..].find('/').map(|k| &url[i + 3 + k..]))
    {
        Some(path) => format!("{} {path}", m.method),
        None if url.contains("://") => format!("{} /", m.method),
        None => format!("request {}", j + 1),
    }
}

fn build_request(
    f: &Fields<'_>,
    name: String,
    place: Place<'_>,
) -> Result<StepRequest, ScenarioError> {
    if !syntax::is_method(f.method) {
        return Err(place.err("method", format!("invalid HTTP method {:?}", f.method)));
    }
    let url = UrlTemplate::parse_journey(f.url).map_err(|e| place.err("url", e.to_string()))?;
    let mut headers = Vec::new();
    for line in f.headers {
        let bad = || {
            place.err(
                "headers",
                format!(
                    "invalid header {line:?}: expected 'Name: value' with a valid name and value"
                ),
            )
        };
        let (n, v) = line.split_once(':').ok_or_else(bad)?;
        let (n, v) = (n.trim(), v.trim());
        if !syntax::is_header(n, v) {
            return Err(bad());
        }
        let value =
            TextTemplate::parse(v).map_err(|e| place.err("headers", format!("{line:?}: {e}")))?;
        headers.push((n.to_string(), value));
    }
    let body = match (f.body, f.body_file) {
        (Some(_), Some(_)) => return Err(place.err("body", "give body or body_file, not both")),
        (Some(b), None) => {
            StepBody::Text(TextTemplate::parse(b).map_err(|e| place.err("body", e))?)
        }
        (None, Some(file)) => StepBody::File(file.clone()),
        (None, None) => StepBody::None,
    };
    let mut extract = Vec::new();
    for (var, spec) in f.extract {
        let field = format!("extract.{var}");
        if !is_var_name(var) {
            return Err(place.err(field, "a variable name is letters, digits, '_' and '-'"));
        }
        let extractor = Extractor::parse(spec).map_err(|e| place.err(field, e))?;
        extract.push((var.clone(), extractor));
    }
    let checks = match f.check {
        Some(def) => {
            Check::from_def(def).map_err(|(field, e)| place.err(format!("check.{field}"), e))?
        }
        None => Vec::new(),
    };
    Ok(StepRequest {
        name,
        method: f.method.to_string(),
        url,
        headers,
        body,
        extract,
        checks,
    })
}
