//! A checked journey made ready to run: its data set checked against its `{data:…}` fields,
//! every step request laid out as one of the plan's request specs (what transports prepare
//! once: method, fixed headers, fixed body), and what each must keep of its response.

use crate::body::Body;
use crate::data::{DataOrder, DataSet};
use crate::plan::RequestSpec;
use crate::transport::Capture;

use super::extract::Extractor;
use super::validate::{Journey, Step, StepBody, StepRequest};
use super::{Check, ScenarioError};

/// What the scheduler runs when a plan is a journey. Build with [`JourneyPlan::new`], hand to
/// [`crate::PlanBuilder::journey`].
#[derive(Debug, Clone, PartialEq)]
pub struct JourneyPlan {
    journey: Journey,
    data: Option<DataSet>,
    /// The plan's request specs: every step's requests in order.
    specs: Vec<RequestSpec>,
    /// Spec index of each step's first request (step `s` owns `firsts[s]..firsts[s + 1]`).
    firsts: Vec<usize>,
    /// Per spec: the response headers and whether the body its extractors and checks read.
    captures: Vec<(Vec<String>, bool)>,
}

impl JourneyPlan {
    /// Checks `data` against the journey's `{data:…}` fields and lays the steps out, reading each
    /// `body_file` through `read_body_file` (given the name as written; the error is its message).
    pub fn new(
        journey: Journey,
        data: Option<DataSet>,
        mut read_body_file: impl FnMut(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Self, ScenarioError> {
        journey.check_data(data.as_ref())?;
        let mut specs = Vec::new();
        let mut firsts = Vec::new();
        let mut captures = Vec::new();
        for step in journey.steps() {
            firsts.push(specs.len());
            for r in &step.requests {
                specs.push(spec_of(step, r, &mut read_body_file)?);
                captures.push(capture_of(r));
            }
        }
        firsts.push(specs.len());
        Ok(Self {
            journey,
            data,
            specs,
            firsts,
            captures,
        })
    }

    pub fn journey(&self) -> &Journey {
        &self.journey
    }

    pub fn data(&self) -> Option<&DataSet> {
        self.data.as_ref()
    }

    pub fn data_order(&self) -> DataOrder {
        self.journey.data_order()
    }

    /// Every step request as a request spec, in step order (the plan's `requests`).
    pub fn specs(&self) -> &[RequestSpec] {
        &self.specs
    }

    /// The specs, for a front end to add what every request carries (`-H`, `--compressed`)
    /// before [`crate::PlanBuilder::journey`] takes them.
    pub fn specs_mut(&mut self) -> &mut [RequestSpec] {
        &mut self.specs
    }

    /// The spec indices of step `s`'s requests.
    pub fn step_specs(&self, s: usize) -> std::ops::Range<usize> {
        self.firsts[s]..self.firsts[s + 1]
    }

    /// Step `s` and its request `r`, for spec `spec`.
    pub fn request(&self, spec: usize) -> (&Step, &StepRequest) {
        let s = self.firsts.partition_point(|&f| f <= spec) - 1;
        let step = &self.journey.steps()[s];
        (step, &step.requests[spec - self.firsts[s]])
    }

    /// A fresh place for spec `spec`'s response, keeping what its extractors and checks read.
    pub fn capture(&self, spec: usize) -> Option<Capture> {
        let (headers, body) = &self.captures[spec];
        let capture = Capture::new(headers, *body);
        Some(capture).filter(|c| !c.is_empty())
    }

    /// The most iterations the data allows: a `unique` file's row count.
    pub fn iteration_limit(&self) -> Option<u64> {
        match (&self.data, self.journey.data_order()) {
            (Some(data), DataOrder::Unique) => Some(data.rows() as u64),
            _ => None,
        }
    }
}

/// The spec transports prepare once: the URL template (expanded per request by the scheduler),
/// the headers whose values are fixed, and a fixed body (text without fields, or a file).
fn spec_of(
    step: &Step,
    r: &StepRequest,
    read_body_file: &mut impl FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<RequestSpec, ScenarioError> {
    let body = match &r.body {
        StepBody::None => Body::default(),
        StepBody::Text(t) if t.is_fixed() => Body::from(t.as_str()),
        StepBody::Text(_) => Body::default(),
        StepBody::File(f) => Body(read_body_file(f).map_err(|e| ScenarioError {
            line: None,
            step: Some(step.name.clone()),
            request: step.fan_out.then(|| r.name.clone()),
            field: Some("body_file".into()),
            message: format!("cannot read {f:?}: {e}"),
        })?),
    };
    let name = if step.fan_out {
        format!("{} / {}", step.name, r.name)
    } else {
        step.name.clone()
    };
    Ok(RequestSpec {
        name: Some(name),
        method: r.method.clone(),
        url: r.url.clone(),
        headers: r
            .headers
            .iter()
            .filter(|(_, v)| v.is_fixed())
            .map(|(n, v)| (n.clone(), v.as_str().to_string()))
            .collect(),
        body,
    })
}

/// The response headers a request's extractors read, and whether any extractor or check reads
/// the body.
fn capture_of(r: &StepRequest) -> (Vec<String>, bool) {
    let mut headers = Vec::new();
    let mut body = false;
    for (_, e) in &r.extract {
        match e {
            Extractor::Header(name) => headers.push(name.clone()),
            Extractor::Status => {}
            _ => body = true,
        }
    }
    body |= r.checks.iter().any(|c| !matches!(c, Check::Status(_)));
    (headers, body)
}
