//! Tests of HAR reading and of the journey made from recorded requests.
#![allow(clippy::unwrap_used)]

use super::har::{parse, parse_time_ms};
use super::*;
use crate::journey::Scenario;

/// A HAR as Chromium writes one: a page, then a fetch with a bearer token, then two at once
/// (a POST with a JSON body), 500 ms later.
fn chromium_har() -> String {
    r#"{"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
      "pages": [{"id": "page_1", "title": "t", "startedDateTime": "2026-12-01T10:00:00.000Z"}],
      "entries": [
        {"pageref": "page_1", "startedDateTime": "2026-12-01T10:00:00.000Z", "time": 20, "timings": {"receive": 15},
         "request": {"method": "GET", "url": "http://127.0.0.1:9/", "httpVersion": "HTTP/1.1",
           "headers": [{"name": "Host", "value": "127.0.0.1:9"}, {"name": "sec-ch-ua", "value": "x"},
                       {"name": "Accept-Encoding", "value": "gzip"}, {"name": "Accept", "value": "text/html"}],
           "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
         "response": {"status": 200, "headers": [], "content": {"size": 12, "mimeType": "text/html"}}},
        {"pageref": "page_1", "startedDateTime": "2026-12-01T11:00:00.100+01:00", "time": 10.5,
         "request": {"method": "GET", "url": "http://127.0.0.1:9/me?x={1}#frag",
           "headers": [{"name": ":authority", "value": "h"}, {"name": "Authorization", "value": "Bearer abc"},
                       {"name": "Cookie", "value": "s=1"}]},
         "response": {"status": 200, "headers": [{"name": "Access-Control-Allow-Origin", "value": "*"}], "content": {"size": 3}}},
        {"pageref": "page_1", "startedDateTime": "2026-12-01T10:00:00.6105Z", "time": 30,
         "request": {"method": "POST", "url": "http://127.0.0.1:9/upload",
           "headers": [{"name": "Content-Type", "value": "application/json"}, {"name": "Content-Length", "value": "9"},
                       {"name": "authorization", "value": "Bearer other"}],
           "postData": {"mimeType": "application/json", "text": "{\"a\": 1}"}},
         "response": {"status": 201, "headers": [], "content": {"size": 0}}},
        {"pageref": "page_1", "startedDateTime": "2026-12-01T10:00:00.612Z", "time": 5,
         "request": {"method": "POST", "url": "http://127.0.0.1:9/form",
           "headers": [], "postData": {"mimeType": "application/x-www-form-urlencoded", "params": [{"name": "a b", "value": "c&d"}]}},
         "response": {"status": 200, "headers": [], "content": {"size": 0}}},
        {"startedDateTime": "2026-12-01T10:00:00.700Z", "time": 0,
         "request": {"method": "GET", "url": "data:image/png;base64,AAAA", "headers": []},
         "response": {"status": 200, "headers": [], "content": {"size": 0}}}
      ]}}"#
        .to_string()
}

#[test]
fn times_parse_with_offsets() {
    let z = parse_time_ms("2026-12-01T10:00:00.000Z").unwrap();
    assert_eq!(parse_time_ms("2026-12-01T11:00:00+01:00").unwrap(), z);
    assert_eq!(parse_time_ms("2026-12-01T09:30:00.000-0030").unwrap(), z);
    assert_eq!(parse_time_ms("1970-01-01T00:00:01.5Z").unwrap(), 1500.0);
    for bad in [
        "",
        "2026-13-01T00:00:00Z",
        "2026-12-01 x",
        "2026-12-01T00:00:00.Z",
        "2026-12-01T00:00:00Q",
    ] {
        assert_eq!(parse_time_ms(bad), None, "{bad:?}");
    }
}

#[test]
fn a_har_becomes_a_journey_of_steps_and_groups() {
    let har = parse(chromium_har().as_bytes()).unwrap();
    assert_eq!(har.requests.len(), 4);
    assert_eq!(har.skipped.len(), 1);
    assert_eq!(har.requests[1].allow_origin.as_deref(), Some("*"));
    assert_eq!(har.requests[0].status, Some(200));
    assert_eq!(har.requests[0].size, Some(12));
    assert_eq!(har.requests[0].answered_ms, Some(5.0));
    let got = to_scenario(&har.requests, &Options::default()).unwrap();
    let steps = &got.scenario.step;
    assert_eq!(steps.len(), 3, "{steps:#?}");
    // The page, answered in 20 ms; the fetch 80 ms after that answer.
    assert_eq!(steps[0].headers, ["Accept: text/html"]);
    assert_eq!(steps[0].think.as_deref(), Some("80ms"));
    assert_eq!(
        steps[1].url.as_deref(),
        Some("http://127.0.0.1:9/me?x=%7B1%7D")
    );
    assert_eq!(
        steps[1].headers,
        [
            "Authorization: {data:authorization}",
            "Cookie: {data:cookie}"
        ]
    );
    assert_eq!(steps[1].think.as_deref(), Some("500ms"));
    // Two requests 1.5 ms apart: one fan-out group.
    let group = &steps[2].request;
    assert_eq!(group.len(), 2);
    assert_eq!(group[0].body.as_deref(), Some("{\"a\": 1}"));
    assert_eq!(
        group[0].headers,
        [
            "Content-Type: application/json",
            "authorization: {data:authorization_2}"
        ]
    );
    assert_eq!(group[1].body.as_deref(), Some("a+b=c%26d"));
    assert_eq!(steps[2].think, None);
    let columns: Vec<&str> = got.secrets.iter().map(|s| s.column.as_str()).collect();
    assert_eq!(columns, ["authorization", "cookie", "authorization_2"]);
    assert_eq!(got.secrets[0].requests, [1]);
    // It is a journey core accepts, and its data file must give the secrets.
    let Scenario::Journey(journey) = Scenario::from_def(got.scenario.clone()).unwrap() else {
        panic!("a journey")
    };
    let e = journey.check_data(None).unwrap_err().to_string();
    assert!(e.contains("{data:authorization} needs a data file"), "{e}");
}

#[test]
#[cfg(feature = "regex")] // its --exclude is a regex
fn options_keep_secrets_filter_and_drop_think() {
    let har = parse(chromium_har().as_bytes()).unwrap();
    let options = Options {
        keep_secrets: true,
        think: ThinkFrom::None,
        exclude: Some("/form$".into()),
        keep_accept_encoding: true,
        ..Options::default()
    };
    let got = to_scenario(&har.requests, &options).unwrap();
    assert!(got.secrets.is_empty());
    let steps = &got.scenario.step;
    assert_eq!(steps.len(), 3);
    assert!(steps.iter().all(|s| s.think.is_none()));
    assert_eq!(
        steps[0].headers,
        ["Accept-Encoding: gzip", "Accept: text/html"]
    );
    assert_eq!(
        steps[1].headers,
        ["Authorization: Bearer abc", "Cookie: s=1"]
    );
    assert_eq!(steps[2].url.as_deref(), Some("http://127.0.0.1:9/upload"));
    assert!(Scenario::from_def(got.scenario).is_ok());
    let only = Options {
        include: Some("/me".into()),
        host: Some("127.0.0.1".into()),
        ..Options::default()
    };
    assert_eq!(to_scenario(&har.requests, &only).unwrap().kept, 1);
    let none = Options {
        host: Some("example.com".into()),
        ..Options::default()
    };
    assert!(
        to_scenario(&har.requests, &none)
            .unwrap_err()
            .0
            .contains("none of the 4")
    );
    let bad = Options {
        include: Some("(".into()),
        ..Options::default()
    };
    assert!(
        to_scenario(&har.requests, &bad)
            .unwrap_err()
            .0
            .starts_with("--include: regex \"(\" does not compile")
    );
}

#[test]
fn tab_problems() {
    let har = parse(chromium_har().as_bytes()).unwrap();
    let origin = "http://127.0.0.1:9";
    assert_eq!(har.requests[0].tab_problem(origin), None);
    assert!(
        har.requests[1]
            .tab_problem(origin)
            .unwrap()
            .contains("Cookie")
    );
    let other = har.requests[2]
        .tab_problem("http://localhost:8080")
        .unwrap();
    assert!(other.contains("another origin"), "{other}");
    assert_eq!(har.requests[0].host(), "127.0.0.1:9");
}

#[test]
fn bad_hars_say_where() {
    for (text, want) in [
        ("<html>", "not a HAR file: not JSON"),
        ("{\"log\": {}}", "not a HAR file: missing field `entries`"),
        ("[1]", "not a HAR file"),
        (
            "{\"log\": {\"entries\": [{\"request\": {\"method\": \"GET\", \"url\": \"http://h/\"}}, {\"request\": {\"method\": \"GET\"}}]}}",
            "entry 2: missing field `url`",
        ),
        (
            "{\"log\": {\"entries\": [{\"request\": {\"method\": \"GET\", \"url\": \" \"}}]}}",
            "entry 1: the request has no URL",
        ),
        (
            "{\"log\": {\"entries\": [{\"startedDateTime\": \"yesterday\", \"request\": {\"method\": \"GET\", \"url\": \"http://h/\"}}]}}",
            "entry 1: startedDateTime \"yesterday\"",
        ),
    ] {
        let e = parse(text.as_bytes()).unwrap_err().0;
        assert!(e.contains(want), "{text}: {e}");
        assert!(!e.contains('\n'));
    }
    let e = to_scenario(
        &parse(b"{\"log\": {\"entries\": [{\"request\": {\"method\": \"G T\", \"url\": \"http://h/\"}}]}}")
            .unwrap()
            .requests,
        &Options::default(),
    )
    .unwrap_err();
    assert!(
        e.0.starts_with("request 1: \"G T\" is not an HTTP method"),
        "{e}"
    );
}

#[test]
fn text_that_reads_as_a_field_is_left_out_and_long_gaps_are_no_think() {
    let mut har = parse(chromium_har().as_bytes()).unwrap();
    har.requests[2].body = Some(RecordedBody::Text("{\"q\": \"{pick:a,b}\"}".into()));
    // The fetch an hour and more after the page: the recording paused.
    har.requests[1].started_ms = Some(har.requests[0].started_ms.unwrap() + 3_600_000.0 + 20.0);
    let got = to_scenario(&har.requests, &Options::default()).unwrap();
    assert_eq!(got.kept, 3);
    assert_eq!(got.left_out.len(), 1);
    assert!(
        got.left_out[0].starts_with("request 3: its body holds text flak would read"),
        "{:?}",
        got.left_out
    );
    assert!(
        got.scenario
            .step
            .iter()
            .all(|s| s.think.as_deref() != Some("3600000ms"))
    );
    assert!(Scenario::from_def(got.scenario).is_ok());
}

#[test]
fn a_request_started_after_an_answer_began_is_the_next_step() {
    let mut har = parse(chromium_har().as_bytes()).unwrap();
    // The POST was answered 1 ms after it started (the rest of its 30 ms was the body): the
    // form, 1.5 ms after it, may have waited for that answer.
    har.requests[2].answered_ms = Some(1.0);
    let got = to_scenario(&har.requests, &Options::default()).unwrap();
    assert_eq!(got.scenario.step.len(), 4);
    assert!(got.scenario.step.iter().all(|s| s.request.is_empty()));
}
