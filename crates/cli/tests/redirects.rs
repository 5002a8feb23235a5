//! Redirects through the real binary, resolved as a browser resolves them (RFC 3986): a
//! network-path reference (`//host/x`) keeps the scheme and changes the host, a query-only
//! reference (`?q=1`) keeps the path. Two small servers on loopback addresses log every request.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::common::{assert_accounts, exclusive, flak_json, num};

/// How a server answers a request target: the status and extra header lines.
type Answer = Arc<dyn Fn(&str) -> (u16, String) + Send + Sync>;

/// A keep-alive HTTP/1.1 server on `ip`: each request's target and Host header are logged, and
/// `answer` replies. Its threads end with the test process.
struct Logging {
    port: u16,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Logging {
    fn start(ip: &str, answer: impl Fn(&str) -> (u16, String) + Send + Sync + 'static) -> Self {
        let answer: Answer = Arc::new(answer);
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (log, answer) = (Arc::clone(&log), Arc::clone(&answer));
                std::thread::spawn(move || serve(conn, &log, &*answer));
            }
        });
        Self { port, seen }
    }

    fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    conn: TcpStream,
    log: &Mutex<Vec<(String, String)>>,
    answer: &(dyn Fn(&str) -> (u16, String) + Send + Sync),
) {
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut writer = conn.try_clone().unwrap();
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut host = String::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("host")
            {
                host = value.trim().to_string();
            }
        }
        log.lock().unwrap().push((target.clone(), host));
        let (status, extra) = answer(&target);
        let reply = format!("HTTP/1.1 {status} X\r\n{extra}Content-Length: 2\r\n\r\nok");
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn status_codes(report: &Value) -> Vec<(String, u64)> {
    report["status_codes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

#[test]
fn a_query_only_location_keeps_the_path() {
    let _load = exclusive();
    let server = Logging::start("127.0.0.1", |target| match target {
        "/a/b?x" => (302, "Location: ?q=1\r\n".into()),
        _ => (200, String::new()),
    });
    let url = format!("http://127.0.0.1:{}/a/b?x", server.port);
    let report = flak_json(&[
        "-n",
        "5",
        "-c",
        "1",
        "--redirects",
        "2",
        "--output",
        "json",
        &url,
    ]);
    assert_accounts(&report);
    assert_eq!(status_codes(&report), [("200".to_string(), 5)]);
    let followed: Vec<String> = server.seen().into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        followed.iter().filter(|t| *t == "/a/b?q=1").count(),
        5,
        "{followed:?}"
    );
    assert_eq!(num(&report, "succeeded"), 5);
}

#[test]
fn a_network_path_location_goes_to_the_other_host_over_the_same_scheme() {
    let _load = exclusive();
    // 127.0.0.2 is loopback too: the "other host".
    let other = Logging::start("127.0.0.2", |_| (200, String::new()));
    let port = other.port;
    let first = Logging::start("127.0.0.1", move |target| match target {
        "/far" => (302, format!("Location: //127.0.0.2:{port}/x\r\n")),
        _ => (404, String::new()),
    });
    let url = format!("http://127.0.0.1:{}/far", first.port);
    let report = flak_json(&[
        "-n",
        "4",
        "-c",
        "1",
        "--redirects",
        "1",
        "--output",
        "json",
        &url,
    ]);
    assert_accounts(&report);
    assert_eq!(status_codes(&report), [("200".to_string(), 4)]);
    let seen = other.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for (target, host) in seen {
        assert_eq!((target.as_str(), host), ("/x", format!("127.0.0.2:{port}")));
    }
}
