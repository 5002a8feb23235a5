//! Tests of scenario files: both shapes, every bad input, and expanding a journey's templates
//! with an iteration's variables and data row.

// The example files use every extractor kind.
#![cfg(all(feature = "jsonpath", feature = "regex"))]

use std::time::Duration;

use super::*;
use crate::data::{DataFormat, DataSet};
use crate::template::Fields as _;

/// The issue's example, as the contract: every field it shows.
const ISSUE: &str = r#"
data = "users.csv"
data_order = "unique"
[[step]]
name = "login"
method = "POST"
url = "http://127.0.0.1:8081/login"
headers = ["Content-Type: application/json"]
body = '{"user": "{data:user}"}'
extract = { token = "json:/token", session = "header:x-session", order = "regex:order-(\\d+)" }
check = { status = [200, 201] }
think = "50ms..200ms"
[[step]]
name = "page"
[[step.request]]
url = "http://127.0.0.1:8081/me"
headers = ["Authorization: Bearer {var:token}"]
[[step.request]]
url = "http://127.0.0.1:8081/items/{data:item}"
"#;

fn journey(text: &str) -> Journey {
    match Scenario::from_toml(text) {
        Ok(Scenario::Journey(j)) => j,
        other => panic!("{other:?}"),
    }
}

fn refusal(text: &str) -> String {
    Scenario::from_toml(text).unwrap_err().to_string()
}

#[test]
fn the_issue_example_is_a_journey() {
    let j = journey(ISSUE);
    assert_eq!(j.data_file(), Some("users.csv"));
    assert_eq!(j.data_order(), DataOrder::Unique);
    assert_eq!(j.var_names(), ["order", "session", "token"]);
    let [login, page] = j.steps() else {
        panic!("{:?}", j.steps())
    };
    assert_eq!((login.name.as_str(), login.fan_out), ("login", false));
    let r = &login.requests[0];
    assert_eq!((r.name.as_str(), r.method.as_str()), ("login", "POST"));
    assert_eq!(r.headers[0].0, "Content-Type");
    assert_eq!(r.extract.len(), 3);
    assert_eq!(r.checks, [Check::Status(vec![200, 201])]);
    assert_eq!(
        login.think,
        Some(Think {
            min: Duration::from_millis(50),
            max: Duration::from_millis(200)
        })
    );
    assert!(page.fan_out);
    let names: Vec<_> = page.requests.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["GET /me", "GET /items/{data:item}"]);
    assert!(j.reads_data());
}

#[test]
fn an_iteration_expands_its_own_values() {
    let j = journey(ISSUE);
    let data = DataSet::parse(DataFormat::Csv, b"user,item\nalice,7\nbob,9\n").unwrap();
    j.check_data(Some(&data)).unwrap();
    let mut vars = j.new_vars();
    let mut rng = fastrand::Rng::with_seed(1);
    let mut out = String::new();
    for (iteration, (user, item, token)) in [("alice", "7", "t-a"), ("bob", "9", "t-b")]
        .into_iter()
        .enumerate()
    {
        vars.clear();
        let row = data.row(j.data_order(), 0, iteration as u64);
        let fields = IterationFields { vars: &vars, row };
        let login = &j.steps()[0].requests[0];
        let StepBody::Text(body) = &login.body else {
            panic!("{:?}", login.body)
        };
        body.expand_with(&mut rng, &fields, &mut out);
        assert_eq!(out, format!(r#"{{"user": "{user}"}}"#));
        // The login response gives the token; the next step reads it.
        let headers = [("x-session", "s")];
        let response = format!(r#"{{"token": "{token}", "note": "order-12"}}"#);
        let received = Received::new(200, &headers[..], response.as_bytes());
        for (name, extractor) in &login.extract {
            assert!(vars.set(name, &extractor.apply_to(&received).unwrap()));
        }
        assert!(login.checks.iter().all(|c| c.apply(&received).is_ok()));
        let fields = IterationFields { vars: &vars, row };
        let page = &j.steps()[1].requests;
        page[0].headers[0]
            .1
            .expand_with(&mut rng, &fields, &mut out);
        assert_eq!(out, format!("Bearer {token}"));
        page[1].url.expand_with(&mut rng, &fields, &mut out);
        assert_eq!(out, format!("http://127.0.0.1:8081/items/{item}"));
        assert_eq!(fields.var("order"), Some("12"));
    }
    assert!(
        data.row(j.data_order(), 0, 2).is_none(),
        "unique: two rows, two iterations"
    );
}

#[test]
fn a_fan_out_file_means_what_it_meant() {
    let text = "name = \"product page\"\n[[request]]\nname = \"product\"\nurl = \"http://h/p/{rand:1-9}\"\n\n[[request]]\nmethod = \"POST\"\nurl = \"http://h/b\"\nheaders = [\"X: 1\"]\nbody = '{\"n\": \"{rand:1-2}\"}'\n\n[[request]]\nurl = \"http://h/c\"\nbody_file = \"c.json\"\n";
    let Scenario::FanOut(f) = Scenario::from_toml(text).unwrap() else {
        panic!()
    };
    assert_eq!(f.name.as_deref(), Some("product page"));
    let specs = f
        .specs(|name| {
            assert_eq!(name, "c.json");
            Ok(b"\x00\x01".to_vec())
        })
        .unwrap();
    assert_eq!(specs.len(), 3);
    assert_eq!(specs[0].display_name(), "product");
    assert_eq!(specs[1].display_name(), "POST /b");
    // Bodies of a fan-out scenario were never templates, and are not now.
    assert_eq!(specs[1].body.as_bytes(), b"{\"n\": \"{rand:1-2}\"}");
    assert_eq!(specs[1].headers, [("X".to_string(), "1".to_string())]);
    assert_eq!(specs[2].body.as_bytes(), b"\x00\x01");
    let err = f.specs(|_| Err("No such file".into())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "request 3: cannot read body_file \"c.json\": No such file"
    );
}

#[test]
fn bad_fan_out_files_say_what_they_said() {
    // The CLI's messages for these, unchanged (crates/cli/src/flags/scenario.rs).
    for (text, want) in [
        ("", "no [[request]]"),
        ("[[request]]\nname = \"x\"\n", "missing field `url`"),
        ("[[request]]\nurl = \"nope\"\n", "request 1: invalid URL"),
        (
            "[[request]]\nurl = \"http://h/\"\ncolour = \"red\"\n",
            "unknown field `colour`",
        ),
        (
            "[[request]]\nurl = \"http://h/\"\nheaders = [\"bad\"]\n",
            "invalid header",
        ),
        (
            "[[request]]\nurl = \"http://h/\"\n[[request]\n",
            "line 3: unclosed array table",
        ),
        (
            "[[request]]\nurl = \"http://h/{var:x}\"\n",
            "unknown field kind \"var\" (expected rand or pick)",
        ),
        (
            "[[request]]\nurl = \"http://h/\"\nextract = { a = \"status\" }\n",
            "unknown field `extract`",
        ),
        (
            "[[request]]\nurl = \"http://h/\"\nbody = \"a\"\nbody_file = \"b\"\n",
            "request 1: give body or body_file, not both",
        ),
    ] {
        let e = refusal(text);
        assert!(e.contains(want), "{text:?}: {e:?} should contain {want:?}");
    }
}

#[test]
fn bad_journeys_name_step_request_and_field() {
    const URL: &str = "url = \"http://h/\"\n";
    let step = |body: &str| format!("[[step]]\nname = \"s\"\n{body}");
    for (text, want) in [
        (
            step("url = \"http://h/\"\ncolour = 1\n"),
            "unknown field `colour`",
        ),
        (format!("[[request]]\n{URL}[[step]]\n{URL}"), "not both"),
        (
            format!("data = \"u.csv\"\n[[request]]\n{URL}"),
            "data and data_order need [[step]] tables",
        ),
        (
            format!("data_order = \"shuffled\"\n[[step]]\n{URL}"),
            "unknown variant `shuffled`",
        ),
        (step(""), "step \"s\", url: missing"),
        (
            step("url = \"http://h/{var:token}\"\n"),
            "step \"s\", url: {var:token} is used before any earlier step extracts it",
        ),
        (
            format!(
                "{}[[step]]\nname = \"t\"\n{URL}extract = {{ token = \"json:/t\" }}\n",
                step("headers = [\"A: {var:token}\"]\nurl = \"http://h/\"\n")
            ),
            "step \"s\", headers: {var:token} is used before any earlier step extracts it (step \"t\" extracts it later)",
        ),
        (
            step("url = \"http://h/{var:token}\"\nextract = { token = \"json:/t\" }\n"),
            "(this step extracts it: a step reads only what earlier steps extracted)",
        ),
        (
            step(
                "[[step.request]]\nurl = \"http://h/a\"\nextract = { t = \"status\" }\n[[step.request]]\nurl = \"http://h/b\"\nbody = \"{var:t}\"\n",
            ),
            "step \"s\", request \"GET /b\", body: {var:t} is used before",
        ),
        (
            step(&format!("{URL}extract = {{ token = \"json:token\" }}\n")),
            "step \"s\", extract.token: JSON Pointer \"token\" must start with '/'",
        ),
        (
            step(&format!("{URL}extract = {{ t = \"jsonpath:$.[\" }}\n")),
            "step \"s\", extract.t: JSONPath \"$.[\" does not parse",
        ),
        (
            step(&format!("{URL}extract = {{ t = \"regex:a(b\" }}\n")),
            "step \"s\", extract.t: regex \"a(b\" does not compile",
        ),
        (
            step(&format!("{URL}extract = {{ t = \"regex:ab\" }}\n")),
            "exactly one capture group",
        ),
        (
            step(&format!("{URL}extract = {{ t = \"cookie:a\" }}\n")),
            "unknown extractor kind",
        ),
        (
            step(&format!("{URL}extract = {{ \"a b\" = \"status\" }}\n")),
            "step \"s\", extract.a b: a variable name is",
        ),
        (
            step(&format!("{URL}check = {{ status = [] }}\n")),
            "step \"s\", check.status: give at least one",
        ),
        (
            step(&format!("{URL}check = {{ json = {{ \"$[\" = 1 }} }}\n")),
            "step \"s\", check.json.\"$[\": JSONPath",
        ),
        (
            step(&format!("{URL}check = {{ status = 200 }}\n")),
            "expected a sequence",
        ),
        (
            step(&format!("{URL}check = {{ header = \"x\" }}\n")),
            "unknown field `header`",
        ),
        (
            step(&format!("{URL}think = \"soon\"\n")),
            "step \"s\", think: \"soon\" is not a duration",
        ),
        (
            step("url = \"http://h/{var:}\"\n"),
            "step \"s\", url: invalid URL \"http://h/{var:}\": {var:}: a variable name",
        ),
        (step("url = \"http://h/{data:}\"\n"), "name a column"),
        (
            step("url = \"http://h/{dice:6}\"\n"),
            "unknown field kind \"dice\" (expected rand, pick, var or data)",
        ),
        (
            step(&format!("{URL}body = \"{{rand:9-1}}\"\n")),
            "step \"s\", body: {rand:9-1}: MIN 9 is greater than MAX 1",
        ),
        (
            step(&format!("{URL}body = \"{{var:x\"\n")),
            "step \"s\", body: unclosed '{' at byte 0",
        ),
        (
            step(&format!("{URL}headers = [\"A: {{pick:a,,b}}\"]\n")),
            "step \"s\", headers: \"A: {pick:a,,b}\": {pick:a,,b}: empty choice",
        ),
        (
            step(&format!("{URL}headers = [\"bad\"]\n")),
            "step \"s\", headers: invalid header \"bad\"",
        ),
        (
            step(&format!("{URL}method = \"G T\"\n")),
            "step \"s\", method: invalid HTTP method",
        ),
        (
            step(&format!("{URL}body = \"a\"\nbody_file = \"b\"\n")),
            "give body or body_file, not both",
        ),
        (
            format!("{}{}", step(URL), step(URL)),
            "step \"s\", name: another step has this name",
        ),
        (
            step("url = \"http://h/\"\n[[step.request]]\nurl = \"http://h/a\"\n"),
            "step \"s\", url: a fan-out step has no url of its own",
        ),
        (
            step(
                "think = \"1s\"\nextract = { a = \"status\" }\n[[step.request]]\nurl = \"http://h/a\"\n",
            ),
            "step \"s\", extract: a fan-out step has no extract",
        ),
        (
            step(
                "[[step.request]]\nurl = \"http://h/a\"\n[[step.request]]\nurl = \"http://h/a\"\n",
            ),
            "step \"s\", request \"GET /a\", name: another request of this group",
        ),
        (
            step(
                "[[step.request]]\nurl = \"http://h/a\"\nextract = { t = \"status\" }\n[[step.request]]\nurl = \"http://h/b\"\nextract = { t = \"status\" }\n",
            ),
            "step \"s\", request \"GET /b\", extract.t: another request of this group extracts the same name",
        ),
        (
            step("[[step.request]]\nurl = \"http://h/a\"\ncheck = { status = [1000] }\n"),
            "request \"GET /a\", check.status: 1000 is not",
        ),
        (
            step("[[step.request]]\nurl = \"http://h/a\"\nthink = \"1s\"\n"),
            "unknown field `think`",
        ),
    ] {
        let e = refusal(&text);
        assert!(e.contains(want), "{text}\n{e:?}\nshould contain {want:?}");
        assert!(!e.contains('\n'), "one line: {e:?}");
    }
}

#[test]
fn data_fields_are_checked_against_the_file() {
    let j = journey("[[step]]\nname = \"s\"\nurl = \"http://h/{data:user}\"\n");
    let err = j.check_data(None).unwrap_err().to_string();
    assert_eq!(
        err,
        "step \"s\", url: {data:user} needs a data file: give data = \"file.csv\" in the scenario (or --data)"
    );
    let data = DataSet::parse(DataFormat::Csv, b"id,item\n1,2\n").unwrap();
    let err = j.check_data(Some(&data)).unwrap_err().to_string();
    assert_eq!(
        err,
        "step \"s\", url: {data:user}: the data file has no column \"user\" (it has \"id\", \"item\")"
    );
    let j = journey("[[step]]\nurl = \"http://h/\"\n");
    assert!(!j.reads_data());
    j.check_data(None).unwrap();
    assert_eq!(j.steps()[0].name, "step 1");
}

#[test]
fn the_json_form_is_the_same_model() {
    let j = journey(ISSUE);
    let def: ScenarioDef = toml::from_str(ISSUE).unwrap();
    let json = serde_json::to_string(&def).unwrap();
    let Scenario::Journey(again) = Scenario::from_json(&json).unwrap() else {
        panic!("{json}")
    };
    assert_eq!(again, j);
    let err = Scenario::from_json("{\"step\": [{\"url\": \"http://h/\",\n \"colour\": 1}]}")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("line 2: unknown field `colour`"), "{err:?}");
}

#[test]
fn urls_that_start_with_a_variable_are_checked_at_run_time() {
    let j = journey(
        "[[step]]\nurl = \"http://h/\"\nextract = { next = \"header:location\" }\n[[step]]\nurl = \"{var:next}\"\n",
    );
    let url = &j.steps()[1].requests[0].url;
    assert!(url.reads_fields() && !url.is_fixed());
    let mut vars = j.new_vars();
    assert!(vars.set("next", "http://h/page/2"));
    assert!(!vars.set("other", "x"));
    let mut out = String::new();
    url.expand_with(
        &mut fastrand::Rng::with_seed(0),
        &IterationFields {
            vars: &vars,
            row: None,
        },
        &mut out,
    );
    assert_eq!(out, "http://h/page/2");
}

#[test]
fn journeys_and_data_are_shared_between_worker_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Journey>();
    shared::<Scenario>();
    shared::<DataSet>();
}

#[test]
fn mangled_files_are_refused_never_panic() {
    // Cuts and byte swaps of a file with every field: each parses or gives one line.
    let mut rng = fastrand::Rng::with_seed(16);
    let alphabet = b"{}[]\"'=:/\\$.,\n ~()-_0123456789abcdefghijklmnopqrstuvwxyz";
    for _ in 0..3000 {
        let mut bytes = ISSUE.as_bytes().to_vec();
        for _ in 0..rng.usize(1..4) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.usize(..bytes.len());
            match rng.u8(..3) {
                0 => bytes[at] = alphabet[rng.usize(..alphabet.len())],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = Scenario::from_toml(&text) {
            assert!(!e.to_string().is_empty());
        }
        let json = format!(
            "{{\"step\": [{{\"url\": \"{}\"}}]}}",
            text.replace(['"', '\\', '\n'], "")
        );
        let _ = Scenario::from_json(&json);
    }
}
