//! `--ui`: the run streamed to a page as Server-Sent Events from the binary itself. Read here
//! by a plain HTTP client as the browser's EventSource would (the page itself is in
//! tests/e2e/ui.test.mjs): events while the run lasts, and at the end exactly its results file.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{FLAK, Running, Target, TempDir, exclusive, flak, num, parse_json, s, stderr};

/// An event and whether the run had already ended when it arrived.
struct Seen {
    name: String,
    data: String,
    at: Instant,
}

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// Reads `/events` at `addr` (retrying until the server is up) until the stream ends or
/// `limit` passes.
fn read_events(addr: SocketAddr, limit: Duration) -> Vec<Seen> {
    let deadline = Instant::now() + limit;
    let stream = loop {
        match TcpStream::connect(addr) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("--ui never listened on {addr}: {e}"),
        }
    };
    stream
        .set_read_timeout(Some(deadline.saturating_duration_since(Instant::now())))
        .unwrap();
    // HTTP/1.0: the body ends when the server closes, no chunked framing to undo.
    (&stream)
        .write_all(b"GET /events HTTP/1.0\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut lines = BufReader::new(stream).lines();
    let status = lines.next().unwrap().unwrap();
    assert!(status.contains(" 200 "), "{status}");
    let mut head = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.is_empty() {
            break;
        }
        head.push(line.to_ascii_lowercase());
    }
    assert!(
        head.iter().any(|h| h == "content-type: text/event-stream"),
        "{head:?}"
    );
    let (mut seen, mut name, mut data) = (Vec::new(), String::new(), Vec::<String>::new());
    for line in lines {
        let Ok(line) = line else { break };
        if let Some(v) = line.strip_prefix("event: ") {
            name = v.to_string();
        } else if let Some(v) = line.strip_prefix("data: ") {
            data.push(v.to_string());
        } else if line.is_empty() && !data.is_empty() {
            seen.push(Seen {
                name: std::mem::take(&mut name),
                data: std::mem::take(&mut data).join("\n"),
                at: Instant::now(),
            });
        }
    }
    seen
}

#[test]
fn the_stream_follows_the_run_and_ends_with_exactly_its_results_file() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("ui-run");
    let file = dir.path("run.json");
    let addr = free_addr();
    let run = Running::spawn(
        FLAK,
        &[
            "-z",
            "4s",
            "-c",
            "4",
            &format!("--ui={addr}"),
            "-o",
            s(&file),
            "--output",
            "json",
            &target.url("delay/5"),
        ],
    );
    let events = read_events(addr, Duration::from_secs(30));
    let ended = Instant::now();
    let out = run.finish(Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = parse_json(&out.stdout);

    let (done, during) = events.split_last().expect("no events at all");
    assert_eq!(done.name, "done");
    assert_eq!(
        done.data,
        std::fs::read_to_string(&file).unwrap(),
        "the final event is the results file -o wrote"
    );
    // Live: several snapshots before the end, each a results file whose counts only grow and
    // stay below the final totals.
    assert!(during.len() >= 2, "{} events before the end", during.len());
    let total = num(&report, "issued");
    let mut last = 0;
    for e in during {
        assert_eq!(e.name, "results");
        assert!(e.at < ended);
        let v: Value = serde_json::from_str(&e.data).unwrap();
        let issued = num(&v, "issued");
        assert!(
            issued >= last && issued <= total,
            "{issued} after {last}, of {total}"
        );
        last = issued;
    }
    assert!(
        last > 0 && last < total,
        "a live snapshot showed {last} of {total}"
    );
    // Each one is a results file that loads as the app loads it (its counts add up).
    let snapshot = dir.write("live.json", &during[0].data);
    let merged = flak(&["merge", s(&snapshot)]);
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
}

#[test]
fn a_page_that_connects_late_catches_up_at_once() {
    let _load = exclusive();
    let target = Target::start();
    let addr = free_addr();
    let run = Running::spawn(
        FLAK,
        &[
            "-z",
            "4s",
            "-c",
            "2",
            &format!("--ui={addr}"),
            &target.url("delay/5"),
        ],
    );
    std::thread::sleep(Duration::from_millis(2500));
    let asked = Instant::now();
    let events = read_events(addr, Duration::from_secs(30));
    let first = events.first().expect("no events");
    assert!(
        first.at - asked < Duration::from_millis(1500),
        "the first event took {:?}",
        first.at - asked
    );
    let v: Value = serde_json::from_str(&first.data).unwrap();
    assert!(
        num(&v, "issued") > 100,
        "a late page starts from the run so far"
    );
    let out = run.finish(Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn without_a_page_the_run_never_waits_and_ui_alone_picks_a_loopback_port() {
    let _load = exclusive();
    let target = Target::start();
    let started = Instant::now();
    // `--ui` takes its address only with `=`: the URL after it stays the target.
    let out = flak(&["-n", "50", "--ui", &target.url("status/200")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(4));
    let err = stderr(&out);
    assert!(
        err.contains("watch it in the browser at http://127.0.0.1:") && err.contains("/?live"),
        "{err}"
    );
}

#[test]
fn an_address_in_use_is_one_line_and_exit_2() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();
    let out = flak(&["-n", "5", &format!("--ui={addr}"), "http://127.0.0.1:9/"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("--ui {addr}: cannot listen there")),
        "{err}"
    );
}

#[test]
fn merge_and_capacity_show_in_the_page_too() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("ui-merge");
    let (a, b, merged) = (dir.path("a.json"), dir.path("b.json"), dir.path("m.json"));
    for f in [&a, &b] {
        let out = flak(&["-n", "40", "-o", s(f), &target.url("status/200")]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let out = flak(&["merge", s(&a), s(&b), "-o", s(&merged)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let addr = free_addr();
    let serving = Running::spawn(FLAK, &["merge", s(&a), s(&b), &format!("--ui={addr}")]);
    let events = read_events(addr, Duration::from_secs(20));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].name, "done");
    assert_eq!(events[0].data, std::fs::read_to_string(&merged).unwrap());
    drop(serving);

    // A capacity search: each finished step is shown, then the report -o writes.
    let report = dir.path("capacity.json");
    let addr = free_addr();
    let run = Running::spawn(
        FLAK,
        &[
            "capacity",
            "--slo",
            "p99<200ms",
            "--step",
            "1s",
            "--start-rate",
            "20",
            "--max-rate",
            "40",
            "-o",
            s(&report),
            &format!("--ui={addr}"),
            &target.url("delay/5"),
        ],
    );
    let events = read_events(addr, Duration::from_secs(40));
    let out = run.finish(Duration::from_secs(40));
    assert!(out.status.success(), "{}", stderr(&out));
    let (done, steps) = events.split_last().unwrap();
    assert_eq!(done.data, std::fs::read_to_string(&report).unwrap());
    let counts: Vec<usize> = steps
        .iter()
        .map(|e| {
            let v: Value = serde_json::from_str(&e.data).unwrap();
            v["steps"].as_array().unwrap().len()
        })
        .collect();
    assert!(
        !counts.is_empty() && counts.windows(2).all(|w| w[0] < w[1]),
        "steps as they finished: {counts:?}"
    );
}
