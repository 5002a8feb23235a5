//! The form's "Scenario" way to give the requests: a scenario file's text (JSON, the same model
//! the CLI reads from TOML), a data file read from disk, and the data order; how they become a
//! journey (or fan-out) with core's own checks, each message prefixed with the input it
//! concerns; and the scenario inline in the permalink, or why it cannot be.

use std::rc::Rc;

use flak_core::data::{DataFormat, DataOrder, DataSet};
use flak_core::journey::{JourneyPlan, Scenario, ScenarioDef, StepBody};
use flak_core::{Body, RequestSpec};

/// The prefix of every message about the scenario text, shown beside it.
pub const SCENARIO_FIELD: &str = "Scenario";
/// The prefix of every message about the data file, shown beside its input.
pub const DATA_FIELD: &str = "Data file";
/// The prefix of a message about the permalink, shown beside its button.
pub const PERMALINK_FIELD: &str = "Permalink";
/// The most characters a scenario may take in a permalink, once URL-encoded: links longer than
/// this are cut by chat tools, mail clients and some servers' request-line limits.
pub const LINK_LIMIT: usize = 4000;

/// A data file read from disk: its name and its rows, or why they do not parse. Never put in a
/// permalink.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub name: String,
    pub rows: Result<Rc<DataSet>, String>,
}

impl PartialEq for DataFile {
    /// By identity: a million rows are not compared each time the form changes.
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && match (&self.rows, &other.rows) {
                (Ok(a), Ok(b)) => Rc::ptr_eq(a, b),
                (Err(a), Err(b)) => a == b,
                _ => false,
            }
    }
}

impl DataFile {
    /// Parses a file's bytes by the format its name implies (`.csv`, `.jsonl`, `.ndjson`).
    pub fn parse(name: &str, bytes: &[u8]) -> Self {
        let rows = match DataFormat::from_name(name) {
            None => Err(format!(
                "{name}: name it .csv (a header row, then rows) or .jsonl (one JSON object a line)"
            )),
            Some(format) => DataSet::parse(format, bytes)
                .map(Rc::new)
                .map_err(|e| format!("{name}: {e}")),
        };
        Self {
            name: name.into(),
            rows,
        }
    }

    /// One line about the file for the form: its rows and columns, or its error.
    pub fn describe(&self) -> String {
        match &self.rows {
            Ok(set) => format!(
                "{}: {} rows, columns {}",
                self.name,
                set.rows(),
                set.columns().collect::<Vec<_>>().join(", ")
            ),
            Err(e) => e.clone(),
        }
    }
}

/// What a scenario gives the plan.
#[derive(Debug)]
pub enum Requests {
    /// `[[step]]` tables: a journey.
    Journey(Box<JourneyPlan>),
    /// Only top-level `[[request]]` tables: today's fan-out group.
    FanOut(Vec<RequestSpec>),
}

/// The scenario inputs, as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScenarioForm {
    /// The scenario gives the requests (the URL, method, headers, body and fan-out are unused).
    pub on: bool,
    /// The scenario file's text, as opened or typed.
    pub text: String,
    /// Behind an `Rc`: the form is copied at each keystroke.
    pub data: Option<Rc<DataFile>>,
    /// `None`: the scenario's own `data_order` (sequential if it has none).
    pub order: Option<DataOrder>,
}

/// A scenario with nothing in it yet: one step against the built-in target.
pub const EXAMPLE: &str = r#"{
  "step": [
    {
      "name": "home",
      "url": "http://127.0.0.1:8081/",
      "check": { "status": [200] }
    }
  ]
}"#;

impl ScenarioForm {
    /// The text as the core's file model. JSON only: a TOML parser would add ~65 KB gzip to the
    /// page (ARCHITECTURE.md), past its budget.
    pub fn def(&self) -> Result<ScenarioDef, String> {
        let text = self.text.trim();
        if text.is_empty() {
            return Err(format!(
                "{SCENARIO_FIELD}: empty; open a scenario file or write one"
            ));
        }
        if !text.starts_with('{') {
            return Err(format!(
                "{SCENARIO_FIELD}: write it as JSON ({{\"step\": [...]}}); this page does not read TOML, which the CLI reads (flak's scenario model is the same in both)"
            ));
        }
        serde_json::from_str(text).map_err(|e| format!("{SCENARIO_FIELD}: {e}"))
    }

    /// The checked requests: a journey with its data, or a fan-out group. Every message starts
    /// with [`SCENARIO_FIELD`] or [`DATA_FIELD`].
    pub fn requests(&self) -> Result<Requests, String> {
        let mut def = self.def()?;
        if let Some(order) = self.order
            && !def.step.is_empty()
        {
            def.data_order = Some(order);
        }
        let scenario = Scenario::from_def(def).map_err(|e| format!("{SCENARIO_FIELD}: {e}"))?;
        let no_files = |f: &str| -> Result<Vec<u8>, String> {
            Err(format!(
                "this page reads no body_file ({f}); put the body inline as body"
            ))
        };
        let journey = match scenario {
            Scenario::FanOut(fan_out) => {
                let specs = fan_out
                    .specs(no_files)
                    .map_err(|e| format!("{SCENARIO_FIELD}: {e}"))?;
                if let Some(s) = specs
                    .iter()
                    .find(|s| browser_refuses_body(&s.method, &s.body))
                {
                    return Err(format!(
                        "{SCENARIO_FIELD}: {}: a GET or HEAD request cannot have a body in a browser",
                        s.name.as_deref().unwrap_or(&s.method)
                    ));
                }
                return Ok(Requests::FanOut(specs));
            }
            Scenario::Journey(journey) => journey,
        };
        for step in journey.steps() {
            for r in &step.requests {
                let has_body = !matches!(r.body, StepBody::None);
                if has_body && matches!(r.method.as_str(), "GET" | "HEAD") {
                    let place = if step.fan_out {
                        format!("step {:?}, request {:?}", step.name, r.name)
                    } else {
                        format!("step {:?}", step.name)
                    };
                    return Err(format!(
                        "{SCENARIO_FIELD}: {place}, body: a GET or HEAD request cannot have a body in a browser"
                    ));
                }
            }
        }
        let data = match &self.data {
            Some(d) => match &d.rows {
                Err(e) => return Err(format!("{DATA_FIELD}: {e}")),
                Ok(set) => Some(set.as_ref()),
            },
            None => None,
        };
        journey.check_data(data).map_err(|e| {
            let line = e.to_string();
            // The core's advice names the CLI's flag; here the file is loaded beside.
            let line = line.replace(
                "give data = \"file.csv\" in the scenario (or --data)",
                "load a CSV or JSON Lines file here",
            );
            format!("{DATA_FIELD}: {line}")
        })?;
        // Checked above: only now is the data copied into the plan.
        let data = data.cloned();
        JourneyPlan::new(journey, data, no_files)
            .map(|plan| Requests::Journey(Box::new(plan)))
            .map_err(|e| format!("{SCENARIO_FIELD}: {e}"))
    }

    /// The scenario as the permalink's `scenario` value (the JSON without its layout), or why
    /// it cannot go in: it does not parse, or is longer than [`LINK_LIMIT`] once encoded.
    pub fn link_text(&self) -> Result<String, String> {
        self.def()
            .map_err(|e| format!("{PERMALINK_FIELD}: the scenario is not in it: {e}"))?;
        let compact = compact_json(self.text.trim());
        let encoded = form_urlencoded::byte_serialize(compact.as_bytes())
            .map(str::len)
            .sum::<usize>();
        if encoded > LINK_LIMIT {
            return Err(format!(
                "{PERMALINK_FIELD}: the scenario is {encoded} characters in a link, more than the {LINK_LIMIT} a link carries here; the link has the load settings only: share the scenario file beside it"
            ));
        }
        Ok(compact)
    }

    /// The form's scenario from a permalink's `scenario` value.
    pub fn from_link(text: &str) -> Self {
        Self {
            on: true,
            text: text.to_string(),
            data: None,
            order: None,
        }
    }

    /// Adds a step at the end of the scenario's `step` list (a GET of `url` that checks for
    /// 200, named `step N`), or says why the text cannot take one. Written into the text as
    /// typed, so the rest of it keeps its layout (and the page carries no JSON writer).
    pub fn add_step(&self, url: &str) -> Result<String, String> {
        let text = self.text.trim_end();
        let steps = if text.trim().is_empty() {
            0
        } else {
            let def = self.def()?;
            if !def.request.is_empty() {
                return Err(format!(
                    "{SCENARIO_FIELD}: a fan-out scenario (top-level request) takes no steps; write it as one step whose request list is the group"
                ));
            }
            def.step.len()
        };
        let n = steps + 1;
        let url = url.replace('\\', "\\\\").replace('"', "\\\"");
        let step =
            format!(r#"{{"name": "step {n}", "url": "{url}", "check": {{"status": [200]}}}}"#);
        let next = if steps == 0 {
            format!("{{\n  \"step\": [\n    {step}\n  ]\n}}")
        } else {
            // The step list is the last array that closes before the document does.
            let close = text
                .strip_suffix('}')
                .and_then(|body| body.trim_end().strip_suffix(']'))
                .map(str::len)
                .ok_or_else(|| {
                    format!(
                        "{SCENARIO_FIELD}: put the step list last in the scenario to add steps here"
                    )
                })?;
            let (head, tail) = text.split_at(close);
            format!("{},\n    {step}\n  {tail}", head.trim_end())
        };
        let added = Self {
            text: next.clone(),
            ..self.clone()
        };
        match added.def() {
            Ok(def) if def.step.len() == n => Ok(next),
            _ => Err(format!(
                "{SCENARIO_FIELD}: put the step list last in the scenario to add steps here"
            )),
        }
    }

    /// Whether the scenario names a data file that has not been loaded, and its name.
    pub fn data_wanted(&self) -> Option<String> {
        if self.data.is_some() {
            return None;
        }
        self.def().ok()?.data
    }
}

/// JSON without the whitespace between its tokens (strings kept as they are).
fn compact_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !c.is_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// fetch() throws for a GET or HEAD with a body.
fn browser_refuses_body(method: &str, body: &Body) -> bool {
    !body.is_empty() && matches!(method, "GET" | "HEAD")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: &str = r#"{
      "data_order": "sequential",
      "step": [
        {"name": "login", "method": "POST", "url": "http://127.0.0.1:8081/login",
         "headers": ["Content-Type: application/json"], "body": "{\"user\": \"{data:user}\"}",
         "extract": {"token": "json:/token"}, "check": {"status": [200]}},
        {"name": "me", "url": "http://127.0.0.1:8081/me",
         "headers": ["Authorization: Bearer {var:token}"]}
      ]
    }"#;

    fn form(text: &str, data: Option<(&str, &str)>) -> ScenarioForm {
        ScenarioForm {
            on: true,
            text: text.into(),
            data: data.map(|(name, bytes)| Rc::new(DataFile::parse(name, bytes.as_bytes()))),
            order: None,
        }
    }

    #[test]
    fn a_journey_with_its_data_becomes_step_requests() {
        let f = form(LOGIN, Some(("users.csv", "user\nu1\nu2\n")));
        let Requests::Journey(plan) = f.requests().unwrap() else {
            panic!("a journey expected");
        };
        let names: Vec<_> = plan.specs().iter().map(|s| s.name.clone()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(plan.data().map(DataSet::rows), Some(2));
        assert_eq!(plan.data_order(), DataOrder::Sequential);
        let mut unique = f;
        unique.order = Some(DataOrder::Unique);
        let Requests::Journey(plan) = unique.requests().unwrap() else {
            panic!("a journey expected");
        };
        assert_eq!(plan.iteration_limit(), Some(2), "the form's order wins");
    }

    #[test]
    fn each_message_names_the_input_it_concerns() {
        let cases = [
            (
                form(LOGIN, None),
                "Data file: step \"login\", body: {data:user} needs a data file: load a CSV or JSON Lines file here",
            ),
            (
                form(LOGIN, Some(("users.csv", "name\nx\n"))),
                "Data file: step \"login\", body: {data:user}: the data file has no column \"user\"",
            ),
            (
                form(LOGIN, Some(("users.csv", ""))),
                "Data file: users.csv: ",
            ),
            (
                form(LOGIN, Some(("users.txt", "user\nu1\n"))),
                "Data file: users.txt: name it .csv",
            ),
            (
                form(
                    &LOGIN.replace("{var:token}", "{var:x}"),
                    Some(("u.csv", "user\nu\n")),
                ),
                "Scenario: step \"me\", headers: {var:x}",
            ),
            (
                form(
                    "{\"step\": [{\"url\": \"http://127.0.0.1:8081/\", \"bogus\": 1}]}",
                    None,
                ),
                "Scenario: unknown field `bogus`",
            ),
            (
                form("[[step]]\nurl = \"x\"", None),
                "Scenario: write it as JSON",
            ),
            (form("", None), "Scenario: empty"),
            (
                form(
                    "{\"step\": [{\"url\": \"http://127.0.0.1:8081/\", \"body\": \"x\"}]}",
                    None,
                ),
                "Scenario: step \"step 1\", body: a GET or HEAD request cannot have a body",
            ),
            (
                form(
                    "{\"request\": [{\"url\": \"http://127.0.0.1:8081/\", \"body_file\": \"b.bin\"}]}",
                    None,
                ),
                "Scenario: request 1: cannot read body_file \"b.bin\": this page reads no body_file",
            ),
        ];
        for (f, want) in cases {
            let err = f.requests().unwrap_err();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
    }

    #[test]
    fn a_fan_out_scenario_is_a_group() {
        let f = form(
            r#"{"request": [{"name": "a", "url": "http://127.0.0.1:8081/"}, {"name": "b", "url": "http://127.0.0.1:8081/delay/5"}]}"#,
            None,
        );
        let Requests::FanOut(specs) = f.requests().unwrap() else {
            panic!("a fan-out expected");
        };
        assert_eq!(specs.len(), 2);
    }

    #[test]
    fn the_permalink_carries_a_small_scenario_and_refuses_a_large_one() {
        let f = form(LOGIN, Some(("users.csv", "user\nu1\n")));
        let text = f.link_text().unwrap();
        assert!(!text.contains("u1"), "the data never goes in the link");
        assert!(
            !text.contains('\n') && text.contains(r#""body":"{\"user\": \"{data:user}\"}""#),
            "{text}"
        );
        let back = ScenarioForm::from_link(&text);
        assert_eq!(back.def().unwrap(), f.def().unwrap());
        assert!(back.on && back.data.is_none());
        let steps: Vec<String> = (0..100)
            .map(|i| format!(r#"{{"url": "http://127.0.0.1:8081/delay/{i}"}}"#))
            .collect();
        let big = form(&format!(r#"{{"step": [{}]}}"#, steps.join(", ")), None);
        let err = big.link_text().unwrap_err();
        assert!(
            err.starts_with("Permalink: the scenario is ") && err.contains("more than the 4000"),
            "{err}"
        );
        assert!(
            form("nope", None)
                .link_text()
                .unwrap_err()
                .starts_with("Permalink: the scenario is not in it: Scenario:")
        );
    }

    #[test]
    fn add_step_appends_a_checked_step() {
        let f = form("", None);
        let text = f.add_step("http://127.0.0.1:8081/").unwrap();
        let f = form(&text, None);
        let text = f.add_step("http://127.0.0.1:8081/me").unwrap();
        let def = form(&text, None).def().unwrap();
        assert_eq!(def.step.len(), 2);
        assert_eq!(def.step[1].name.as_deref(), Some("step 2"));
        assert!(form(&text, None).requests().is_ok());
        assert!(form("{", None).add_step("x").is_err());
        let login = form(LOGIN, None)
            .add_step("http://127.0.0.1:8081/x\"y")
            .unwrap();
        let def = form(&login, None).def().unwrap();
        assert_eq!(
            def.step[2].url.as_deref(),
            Some("http://127.0.0.1:8081/x\"y")
        );
        assert!(
            login.starts_with(
                LOGIN
                    .trim_end()
                    .trim_end_matches('}')
                    .trim_end()
                    .trim_end_matches(']')
                    .trim_end()
            )
        );
        let steps_first = r#"{"step": [{"url": "http://127.0.0.1:8081/"}], "name": "n"}"#;
        assert!(
            form(steps_first, None)
                .add_step("http://a/")
                .unwrap_err()
                .contains("last")
        );
    }

    #[test]
    fn data_files_describe_themselves_and_compare_by_identity() {
        let a = DataFile::parse("u.jsonl", br#"{"user": "a"}"#);
        assert_eq!(a.describe(), "u.jsonl: 1 rows, columns user");
        let b = DataFile::parse("u.jsonl", br#"{"user": "a"}"#);
        assert_ne!(a, b, "two loads are two files");
        assert_eq!(a, a.clone());
        assert_eq!(
            form(LOGIN, None).data_wanted(),
            None,
            "the example names no data file"
        );
        let named = form(
            &LOGIN.replace("\"data_order\"", "\"data\": \"users.csv\", \"data_order\""),
            None,
        );
        assert_eq!(named.data_wanted().as_deref(), Some("users.csv"));
    }
}
