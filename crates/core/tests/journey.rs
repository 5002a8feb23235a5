//! Journeys on the scheduler, deterministically: a scripted "server" on a virtual clock that
//! issues tokens, reads the requests' expanded headers and bodies, and fills the captures the
//! way a transport does. The same file runs natively and in headless Chromium.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use flak_core::data::{DataFormat, DataSet};
use flak_core::journey::{JourneyPlan, Scenario};
use flak_core::sim::{ScriptedTransport, VirtualClock, block_on};
use flak_core::{
    ErrorKind, Outcome, Plan, Request, RequestError, Response, Stats, StopSignal, run_plan,
};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

const EPOCH: Duration = Duration::from_secs(1_763_000_000);

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn status(code: u16) -> Outcome {
    Outcome::Response(Response {
        status: code,
        bytes: 10,
        ttfb: None,
        connect: None,
    })
}

fn journey(toml: &str, data: Option<&str>) -> JourneyPlan {
    let Scenario::Journey(j) = Scenario::from_toml(toml).unwrap() else {
        panic!("not a journey")
    };
    let data = data.map(|d| DataSet::parse(DataFormat::Csv, d.as_bytes()).unwrap());
    JourneyPlan::new(j, data, |_| Err("no files here".into())).unwrap()
}

fn header<'a>(r: &'a Request<'_>, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .chain(r.spec.headers.iter())
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn member<'a>(stats: &'a Stats, name: &str) -> &'a Stats {
    &stats
        .members()
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no member {name}"))
        .stats
}

const LOGIN_THEN_PROFILE: &str = r#"
[[step]]
name = "login"
method = "POST"
url = "http://t/login"
body = '{"user": "{data:user}"}'
extract = { token = "json:/token", session = "header:x-session" }
check = { status = [200] }
[[step]]
name = "page"
[[step.request]]
name = "me"
url = "http://t/me"
headers = ["Authorization: Bearer {var:token}"]
[[step.request]]
name = "user"
url = "http://t/users/{data:user}?s={var:session}"
headers = ["Authorization: Bearer {var:token}"]
"#;

/// A server that logs users in with a token made of the user and a per-login counter, and
/// answers 401 to a request whose token is not the one issued for its iteration's user.
fn token_server(clock: &VirtualClock, logins: Rc<RefCell<u64>>) -> ScriptedTransport {
    ScriptedTransport::new(clock, move |r| {
        if r.url.ends_with("/login") {
            let body = std::str::from_utf8(r.body()).unwrap();
            let user: serde_json::Value = serde_json::from_str(body).unwrap();
            let user = user["user"].as_str().unwrap().to_string();
            *logins.borrow_mut() += 1;
            let token = format!("{user}-{}", logins.borrow());
            let c = r.capture.expect("login's response is read");
            c.header(b"X-Session", format!("s{user}").as_bytes());
            c.header(b"x-other", b"not wanted");
            c.body(format!(r#"{{"token": "{token}"}}"#).as_bytes());
            return (ms(10), status(200));
        }
        let auth = header(r, "authorization").unwrap_or_default();
        let user = auth
            .strip_prefix("Bearer ")
            .and_then(|t| t.split('-').next())
            .unwrap_or_default();
        let mine = if r.url.contains("/users/") {
            r.url.contains(&format!("/users/{user}?s=s{user}"))
        } else {
            !user.is_empty()
        };
        (ms(5), status(if mine { 200 } else { 401 }))
    })
}

#[test]
fn each_iteration_uses_the_values_its_own_steps_extracted() {
    let clock = VirtualClock::new(EPOCH);
    let logins = Rc::new(RefCell::new(0));
    let transport = token_server(&clock, logins.clone());
    let plan = Plan::builder()
        .journey(journey(LOGIN_THEN_PROFILE, Some("user\nann\nbob\ncy\n")))
        .concurrency(4)
        .requests(30)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(*logins.borrow(), 30);
    assert_eq!(transport.received(), 90);
    assert_eq!((stats.total(), stats.succeeded()), (30, 30));
    for name in ["login", "page / me", "page / user"] {
        let m = member(&stats, name);
        assert_eq!(
            (m.issued(), m.succeeded(), m.failed()),
            (30, 30, 0),
            "{name}"
        );
    }
    let j = stats.journey();
    assert!(j.is_journey);
    assert_eq!(j.skipped, 0);
    assert!(
        j.checks_failed.is_empty() && j.extracts_failed.is_empty(),
        "{j:?}"
    );
    // The iteration's latency is its two steps back to back: 10 ms then 5 ms.
    assert_eq!(stats.latency().min(), 15_000);
}

#[test]
fn a_failed_step_skips_the_rest_of_its_iteration_and_nothing_is_lost() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |r| {
        if r.url.ends_with("/login") {
            // Every third login fails.
            if r.index % 3 == 0 {
                return (ms(2), status(503));
            }
            r.capture.unwrap().body(br#"{"token": "t"}"#);
            r.capture.unwrap().header(b"x-session", b"s");
        }
        (ms(2), status(200))
    });
    let plan = Plan::builder()
        .journey(journey(LOGIN_THEN_PROFILE, Some("user\nann\n")))
        .concurrency(3)
        .requests(30)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(transport.received(), 30 + 2 * 20);
    let login = member(&stats, "login");
    // The status check [200] fails on 503: the request fails with kind `check`.
    assert_eq!(
        (login.issued(), login.succeeded(), login.failed()),
        (30, 20, 10)
    );
    assert_eq!(login.errors().get(&ErrorKind::Check), Some(&10));
    let status_check = login
        .journey()
        .checks_failed
        .get("status in [200]")
        .unwrap();
    assert_eq!(status_check.count, 10);
    assert_eq!(status_check.first, "status in [200]: got 503");
    for name in ["page / me", "page / user"] {
        let m = member(&stats, name);
        assert_eq!(
            (m.issued(), m.succeeded(), m.journey().skipped),
            (20, 20, 10)
        );
    }
    assert_eq!(
        (stats.total(), stats.succeeded(), stats.failed()),
        (30, 20, 10)
    );
    assert_eq!(stats.journey().skipped, 20);
    assert_eq!(
        stats.issued(),
        stats.succeeded() + stats.failed() + stats.cancelled()
    );
    assert!(
        stats.error_messages()[&ErrorKind::Check].starts_with("step \"login\": status in [200]"),
        "{:?}",
        stats.error_messages()
    );
}

#[test]
fn a_value_that_cannot_be_extracted_fails_its_request_by_name() {
    let clock = VirtualClock::new(EPOCH);
    // No x-session header ever comes back.
    let transport = ScriptedTransport::new(&clock, |r| {
        if let Some(c) = r.capture {
            c.body(br#"{"token": "t"}"#);
        }
        (ms(1), status(200))
    });
    let plan = Plan::builder()
        .journey(journey(LOGIN_THEN_PROFILE, Some("user\nann\n")))
        .concurrency(2)
        .requests(4)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    let login = member(&stats, "login");
    assert_eq!(login.errors().get(&ErrorKind::Extract), Some(&4));
    let session = login.journey().extracts_failed.get("session").unwrap();
    assert_eq!(session.count, 4);
    assert_eq!(session.first, "no x-session header in the response");
    assert_eq!(transport.received(), 4);
}

#[test]
fn think_time_paces_iterations_but_is_not_latency() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |_| (ms(10), status(200)));
    let toml = r#"
[[step]]
url = "http://t/a"
think = "100ms"
[[step]]
url = "http://t/b"
think = "50ms..150ms"
"#;
    let plan = Plan::builder()
        .journey(journey(toml, None))
        .concurrency(1)
        .requests(5)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(stats.succeeded(), 5);
    // 20 ms, to the histogram's precision.
    assert_eq!(stats.latency().min(), 20_000);
    assert!(stats.latency().max() < 20_100);
    // Five iterations of 20 ms plus 150..250 ms of thinking each.
    let sends = transport.send_times();
    let span = sends[9] - sends[0];
    assert!(
        span >= ms(4 * 170 + 10) && span <= ms(4 * 270 + 10),
        "{span:?}"
    );
}

#[test]
fn unique_rows_end_the_run_when_they_run_out_and_say_so() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |_| (ms(1), status(200)));
    let toml = r#"
data_order = "unique"
[[step]]
url = "http://t/users/{data:id}"
"#;
    let plan = Plan::builder()
        .journey(journey(toml, Some("id\n1\n2\n3\n")))
        .concurrency(2)
        .requests(10)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    let mut urls = transport.urls();
    urls.sort();
    assert_eq!(
        urls,
        ["http://t/users/1", "http://t/users/2", "http://t/users/3"]
    );
    assert_eq!(stats.total(), 3);
    assert!(stats.journey().rows_ran_out);
}

#[test]
fn an_error_in_a_group_names_its_step() {
    let clock = VirtualClock::new(EPOCH);
    let transport = ScriptedTransport::new(&clock, |r| {
        if r.url.ends_with("/b") {
            return (
                ms(1),
                Outcome::Error(RequestError::new(ErrorKind::Reset, "reset by peer")),
            );
        }
        (ms(1), status(200))
    });
    let toml = r#"
[[step]]
name = "both"
[[step.request]]
url = "http://t/a"
[[step.request]]
url = "http://t/b"
[[step]]
name = "after"
url = "http://t/c"
"#;
    let plan = Plan::builder()
        .journey(journey(toml, None))
        .concurrency(1)
        .requests(2)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(stats.errors().get(&ErrorKind::Reset), Some(&2));
    assert_eq!(
        stats.error_messages()[&ErrorKind::Reset],
        "step \"both\": reset by peer"
    );
    assert_eq!(member(&stats, "after").journey().skipped, 2);
    assert_eq!(member(&stats, "both / GET /a").succeeded(), 2);
}

#[test]
fn under_a_rate_an_iteration_counts_from_its_intended_start() {
    let clock = VirtualClock::new(EPOCH);
    // Each step takes 30 ms: with one slot and 50 iterations a second asked (one every 20 ms),
    // the slot falls behind by 40 ms an iteration, and the latency must show it.
    let transport = ScriptedTransport::new(&clock, |_| (ms(30), status(200)));
    let toml = "[[step]]\nurl = \"http://t/a\"\n[[step]]\nurl = \"http://t/b\"\n";
    let plan = Plan::builder()
        .journey(journey(toml, None))
        .concurrency(1)
        .rate(Some(50.0))
        .requests(10)
        .build()
        .unwrap();
    let stats = block_on(
        &clock,
        run_plan(&plan, &transport, &clock, StopSignal::new()),
    );
    assert_eq!(stats.succeeded(), 10);
    // The last iteration was intended at 180 ms and started at 9 × 60 = 540 ms: 360 ms late,
    // then 60 ms in flight.
    let max = stats.latency().max();
    assert!((419_000..=421_000).contains(&max), "{max}");
    let uncorrected = stats.uncorrected().unwrap();
    assert!(uncorrected.max() < 61_000, "{}", uncorrected.max());
    // The first step's row counts from the intended start too; the second's from its own send.
    assert!(member(&stats, "step 1").latency().max() > 350_000);
    assert!(member(&stats, "step 2").latency().max() < 31_000);
}

/// Natively regex-lite, in the browser the browser's RegExp (journey/pattern.rs): the same
/// answers and the same refusals either way.
#[test]
fn a_regex_extractor_takes_its_one_group_on_every_platform() {
    use flak_core::journey::extract::Extractor;
    let none: Vec<(String, String)> = Vec::new();
    let order = Extractor::parse(r"regex:order-(\d+)").unwrap();
    let body = "your order-4711 is placed (after order-1)".as_bytes();
    assert_eq!(order.apply(200, &none, body).unwrap(), "4711");
    let missing = order.apply(200, &none, b"no order here").unwrap_err();
    assert!(
        missing.to_string().contains("does not match the body"),
        "{missing}"
    );
    let word = Extractor::parse(r#"regex:"name":\s*"(\w+)""#).unwrap();
    assert_eq!(
        word.apply(200, &none, br#"{"name": "flak"}"#).unwrap(),
        "flak"
    );
    for (spec, why) in [
        (r"regex:order-(\d+", "does not compile"),
        (r"regex:order-\d+", "it has 0"),
        (r"regex:(a)(b)", "it has 2"),
    ] {
        let err = Extractor::parse(spec).unwrap_err();
        assert!(err.contains(why), "{spec}: {err}");
    }
}
