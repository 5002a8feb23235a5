//! Checks: conditions a step's response must meet — status in a set, body contains a text, a
//! JSON value equals a given one. A failed check fails the request (error kind `check`), and is
//! reported by its label.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::extract::{Headers, Locator, Received};

/// `check = { status = [200, 201], body_contains = "ok", json = { "/state" = "active" } }`
/// as written in a scenario file. `json` keys are JSON Pointers (`/…`) or JSONPaths (`$…`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Vec<u16>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    #[serde(default, skip_serializing_if = "litemap::LiteMap::is_empty")]
    pub json: litemap::LiteMap<String, Value>,
}

/// One condition on a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The status is one of these.
    Status(Vec<u16>),
    /// The body holds this text (as bytes: the body need not be UTF-8).
    BodyContains(String),
    /// The JSON body has this value at this place (numbers compare by value: 3 equals 3.0).
    JsonEquals { at: Locator, value: Value },
}

impl Check {
    /// The checks a [`CheckDef`] asks for, in a fixed order: status, body, then JSON values by
    /// place; or what is wrong with one, naming its field (`json."$.["`).
    pub fn from_def(def: &CheckDef) -> Result<Vec<Check>, (String, String)> {
        let mut checks = Vec::new();
        if let Some(status) = &def.status {
            if status.is_empty() {
                return Err(("status".into(), "give at least one status code".into()));
            }
            if let Some(bad) = status.iter().find(|s| !(100..=999).contains(*s)) {
                return Err(("status".into(), format!("{bad} is not an HTTP status code")));
            }
            checks.push(Check::Status(status.clone()));
        }
        if let Some(text) = &def.body_contains {
            if text.is_empty() {
                return Err(("body_contains".into(), "the text is empty".into()));
            }
            checks.push(Check::BodyContains(text.clone()));
        }
        for (at, value) in &def.json {
            let at = Locator::parse(at).map_err(|e| (format!("json.{at:?}"), e))?;
            checks.push(Check::JsonEquals {
                at,
                value: value.clone(),
            });
        }
        Ok(checks)
    }

    /// A short name for reports: `status in [200, 201]`, `body contains "ok"`,
    /// `json /state == "active"`.
    pub fn label(&self) -> String {
        match self {
            Self::Status(set) => format!("status in {set:?}"),
            Self::BodyContains(text) => format!("body contains {text:?}"),
            Self::JsonEquals { at, value } => format!("json {} == {value}", at.as_str()),
        }
    }

    /// Passes, or says what the response had instead.
    pub fn apply<H: Headers + ?Sized>(&self, r: &Received<'_, H>) -> Result<(), String> {
        match self {
            Self::Status(set) => {
                if set.contains(&r.status) {
                    Ok(())
                } else {
                    Err(format!("{}: got {}", self.label(), r.status))
                }
            }
            Self::BodyContains(text) => {
                let needle = text.as_bytes();
                if needle.is_empty() || r.body.windows(needle.len()).any(|w| w == needle) {
                    Ok(())
                } else {
                    Err(format!("{}: not found", self.label()))
                }
            }
            Self::JsonEquals { at, value } => {
                let doc = r.json().map_err(|e| format!("{}: {e}", self.label()))?;
                match at.find(doc) {
                    Some(found) if same(found, value) => Ok(()),
                    Some(found) => Err(format!("{}: got {found}", self.label())),
                    None => Err(format!("{}: no value there", self.label())),
                }
            }
        }
    }
}

/// JSON equality where numbers compare by value, so a file's `3` matches a body's `3.0`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(def: &str) -> Vec<Check> {
        let def: CheckDef = serde_json::from_str(def).unwrap();
        Check::from_def(&def).unwrap()
    }

    fn run(def: &str, status: u16, body: &str) -> Vec<Result<(), String>> {
        let headers: [(&str, &str); 0] = [];
        let r = Received::new(status, &headers[..], body.as_bytes());
        checks(def).iter().map(|c| c.apply(&r)).collect()
    }

    #[cfg(feature = "jsonpath")]
    #[test]
    fn passing_checks_pass() {
        let def = r#"{"status": [200, 201], "body_contains": "active",
            "json": {"/state": "active", "/n": 3, "$.items[0].ok": true, "/items": [{"ok": true}]}}"#;
        let got = run(
            def,
            201,
            r#"{"state": "active", "n": 3.0, "items": [{"ok": true}]}"#,
        );
        assert_eq!(got.len(), 6);
        assert!(got.iter().all(Result::is_ok), "{got:?}");
    }

    #[test]
    fn failing_checks_say_what_came_instead() {
        let def = r#"{"status": [200], "body_contains": "active", "json": {"/state": "active", "/gone": 1}}"#;
        let got = run(def, 503, r#"{"state": "down"}"#);
        assert_eq!(
            got,
            [
                Err("status in [200]: got 503".to_string()),
                Err("body contains \"active\": not found".to_string()),
                Err("json /gone == 1: no value there".to_string()),
                Err("json /state == \"active\": got \"down\"".to_string()),
            ]
        );
        let got = run(r#"{"json": {"/a": 1}}"#, 200, "<html>");
        assert!(
            got[0]
                .as_ref()
                .unwrap_err()
                .contains("the body is not JSON"),
            "{got:?}"
        );
    }

    #[cfg(feature = "jsonpath")]
    #[test]
    fn bad_checks_name_their_field() {
        for (def, field, want) in [
            (r#"{"status": []}"#, "status", "at least one"),
            (
                r#"{"status": [42]}"#,
                "status",
                "42 is not an HTTP status code",
            ),
            (r#"{"body_contains": ""}"#, "body_contains", "empty"),
            (
                r#"{"json": {"state": 1}}"#,
                "json.\"state\"",
                "must start with '/'",
            ),
            (r#"{"json": {"$.[": 1}}"#, "json.\"$.[\"", "does not parse"),
        ] {
            let def: CheckDef = serde_json::from_str(def).unwrap();
            let (f, e) = Check::from_def(&def).unwrap_err();
            assert_eq!(f, field);
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
        let unknown = serde_json::from_str::<CheckDef>(r#"{"header": "x"}"#).unwrap_err();
        assert!(unknown.to_string().contains("unknown field `header`"));
    }
}
