//! Recorded traffic replayed: curl command lines (written here in each style, and in Chromium's
//! "Copy as cURL (bash)" format) and a HAR, through `flak import` and `flak curl` / `flak --har`,
//! reach a real server with the same method, path, query and body; bad input is one line and
//! exit 2.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

use crate::common::{Target, TempDir, flak, num, s, stderr, stdout};

/// What one request looked like at the server.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: String,
    /// Path and query.
    target: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// A server on 127.0.0.1 that records every request whole; stops with the test process.
struct Recorder {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Recorder {
    fn start() -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let records = Arc::clone(&seen);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let records = Arc::clone(&records);
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(
                            move |req: Request<hyper::body::Incoming>| {
                                let records = Arc::clone(&records);
                                async move {
                                    let (parts, body) = req.into_parts();
                                    let body = body.collect().await?.to_bytes().to_vec();
                                    records.lock().unwrap().push(Seen {
                                        method: parts.method.to_string(),
                                        target: parts
                                            .uri
                                            .path_and_query()
                                            .map_or("/".into(), |p| p.to_string()),
                                        headers: parts
                                            .headers
                                            .iter()
                                            .map(|(n, v)| {
                                                (
                                                    n.as_str().to_string(),
                                                    v.to_str().unwrap_or("").to_string(),
                                                )
                                            })
                                            .collect(),
                                        body,
                                    });
                                    Ok::<_, hyper::Error>(Response::new(Full::new(
                                        Bytes::from_static(b"ok\n"),
                                    )))
                                }
                            },
                        );
                        let _ = auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(tcp), service)
                            .await;
                    });
                }
            });
        });
        Self { addr, seen }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Takes what was recorded so far.
    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Runs `flak` with `input` on its standard input (a short run: the import alone).
fn with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = std::process::Command::new(crate::common::FLAK)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "flak failed with {}; stderr:\n{}",
        out.status,
        stderr(out)
    );
}

/// Exit 2 with one line on stderr that contains `want`.
fn assert_bad(out: &std::process::Output, want: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(want), "{err:?} should contain {want:?}");
}

/// One request seen, with this method, target and body.
fn assert_seen(seen: &[Seen], method: &str, target: &str, body: &[u8]) -> Seen {
    let found: Vec<&Seen> = seen.iter().filter(|s| s.target == target).collect();
    assert_eq!(found.len(), 1, "{target}: {seen:#?}");
    assert_eq!(found[0].method, method, "{target}");
    assert_eq!(
        String::from_utf8_lossy(&found[0].body),
        String::from_utf8_lossy(body),
        "{target}"
    );
    found[0].clone()
}

#[test]
fn chromium_copy_as_curl_imports_and_replays_the_same_request() {
    let rec = Recorder::start();
    let dir = TempDir::new("import-chromium");
    // Chromium's "Copy as cURL (bash)": single quotes, `\` continuations, `$'…'` for a body
    // with a quote, and the browser's own headers.
    let line = format!(
        "curl '{}/api/items?x=1&y=two%20words' \\\n  -H 'accept: */*' \\\n  -H 'accept-language: en-GB,en;q=0.9' \\\n  -H 'content-type: application/json' \\\n  -H 'origin: http://127.0.0.1:8080' \\\n  -H 'sec-ch-ua: \"Chromium\";v=\"130\"' \\\n  -H 'sec-fetch-mode: cors' \\\n  -H 'user-agent: Mozilla/5.0 (X11; Linux x86_64)' \\\n  --data-raw $'{{\"name\":\"it\\'s\",\"tags\":[\"a\",\"b\"]}}'\n",
        rec.base()
    );
    let scenario = dir.path("chromium.toml");
    let out = with_stdin(&["import", "curl", "-o", s(&scenario)], line.as_bytes());
    assert_ok(&out);
    assert!(
        stderr(&out).contains("1 request from the curl lines as 1 step"),
        "{}",
        stderr(&out)
    );
    let toml = std::fs::read_to_string(&scenario).unwrap();
    assert!(toml.contains("[[step]]"), "{toml}");
    let out = flak(&[
        "--scenario",
        s(&scenario),
        "-n",
        "2",
        "-c",
        "1",
        "--output",
        "json",
    ]);
    assert_ok(&out);
    let seen = rec.take();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(s.target, "/api/items?x=1&y=two%20words");
        assert_eq!(s.body, br#"{"name":"it's","tags":["a","b"]}"#);
        assert_eq!(s.headers["content-type"], "application/json");
        assert_eq!(s.headers["accept-language"], "en-GB,en;q=0.9");
        // Browser-only headers are the client's own to write.
        assert!(!s.headers.contains_key("sec-ch-ua"), "{:?}", s.headers);
    }
}

#[test]
fn curl_styles_run_by_flak_curl_reach_the_server_as_written() {
    let rec = Recorder::start();
    let dir = TempDir::new("import-curl-styles");
    let body_file = dir.write("body.json", "{\"from\": \"a file\"}\n");
    let base = rec.base();
    // Each case: curl's arguments as a shell hands them over, and what the server must see.
    let cases: Vec<(Vec<String>, &str, String, Vec<u8>)> = vec![
        (
            vec![
                "-X".into(),
                "PUT".into(),
                format!("{base}/v1/users/7?dry=true"),
                "-H".into(),
                "Authorization: Bearer t0k".into(),
                "-d".into(),
                "{\"a\": \"b\"}".into(),
            ],
            "PUT",
            "/v1/users/7?dry=true".into(),
            b"{\"a\": \"b\"}".to_vec(),
        ),
        (
            vec![
                "-sS".into(),
                "-u".into(),
                "me:pw".into(),
                "--json".into(),
                format!("@{}", s(&body_file)),
                format!("{base}/json"),
            ],
            "POST",
            "/json".into(),
            b"{\"from\": \"a file\"}\n".to_vec(),
        ),
        (
            vec![
                "-G".into(),
                "--data-urlencode".into(),
                "q=a b&c".into(),
                "-d".into(),
                "page=2".into(),
                "--url".into(),
                format!("{base}/search"),
                "-A".into(),
                "flak-test".into(),
                "-e".into(),
                "http://referrer.test/".into(),
                "--compressed".into(),
            ],
            "GET",
            "/search?q=a%20b%26c&page=2".into(),
            Vec::new(),
        ),
        (
            vec![
                "--data-binary".into(),
                "x=1&y=2".into(),
                "-b".into(),
                "session=abc; theme=dark".into(),
                format!("{base}/form"),
            ],
            "POST",
            "/form".into(),
            b"x=1&y=2".to_vec(),
        ),
    ];
    for (args, method, target, body) in cases {
        let mut argv: Vec<String> = vec!["curl".into()];
        argv.extend(args.iter().cloned());
        argv.extend(["--", "-n", "1", "-c", "1", "--output", "json"].map(String::from));
        let out = flak(&argv);
        assert_ok(&out);
        let report = crate::common::parse_json(&out.stdout);
        assert_eq!(num(&report, "succeeded"), 1, "{args:?}");
        let seen = rec.take();
        let one = assert_seen(&seen, method, &target, &body);
        match target.as_str() {
            "/json" => {
                assert_eq!(one.headers["authorization"], "Basic bWU6cHc=");
                assert_eq!(one.headers["content-type"], "application/json");
                assert_eq!(one.headers["accept"], "application/json");
            }
            "/form" => {
                assert_eq!(one.headers["cookie"], "session=abc; theme=dark");
                assert_eq!(
                    one.headers["content-type"],
                    "application/x-www-form-urlencoded"
                );
            }
            t if t.starts_with("/search") => {
                assert_eq!(one.headers["user-agent"], "flak-test");
                assert_eq!(one.headers["referer"], "http://referrer.test/");
                assert!(one.headers["accept-encoding"].contains("gzip"));
            }
            _ => assert_eq!(one.headers["authorization"], "Bearer t0k"),
        }
    }
}

#[test]
fn several_curl_lines_become_steps_and_count_at_flak_target() {
    let _load = crate::common::exclusive();
    let target = Target::start();
    target.reset();
    let dir = TempDir::new("import-curl-target");
    let payload = dir.write("payload.bin", &"x".repeat(1000));
    // API-doc style: double quotes, continuations, two commands, an option flak does not know.
    let lines = format!(
        "curl -X POST \"{}upload?n=1\" \\\n  --data-binary @{} \\\n  --retry 3\ncurl \"{}delay/1\"\n",
        target.base(),
        s(&payload),
        target.base()
    );
    let scenario = dir.path("two.toml");
    let out = flak(&["import", "curl", &lines, "-o", s(&scenario)]);
    assert_ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains("2 requests from the curl lines as 2 steps"),
        "{err}"
    );
    assert!(
        err.contains(
            "warning: command 1: --retry \"3\": an option flak's import does not use; ignored"
        ),
        "{err}"
    );
    let out = flak(&[
        "--scenario",
        s(&scenario),
        "-n",
        "5",
        "-c",
        "2",
        "--output",
        "json",
    ]);
    assert_ok(&out);
    let stats = target.stats();
    assert_eq!(num(&stats["paths"], "/upload"), 5, "{stats}");
    assert_eq!(num(&stats["paths"], "/delay/1"), 5, "{stats}");
    assert_eq!(num(&stats, "body_bytes"), 5 * 1000, "{stats}");
}

/// A HAR as Chromium saves it: a page's fetches to `base`, one with a bearer token and a
/// cookie, two started together (one a JSON POST).
fn har(base: &str) -> String {
    format!(
        r#"{{"log": {{"version": "1.2", "creator": {{"name": "WebInspector", "version": "537.36"}},
      "pages": [{{"id": "page_1", "title": "t", "startedDateTime": "2026-12-01T10:00:00.000Z"}}],
      "entries": [
        {{"pageref": "page_1", "startedDateTime": "2026-12-01T10:00:00.000Z", "time": 5,
         "request": {{"method": "GET", "url": "{base}/me?fields=name,email", "httpVersion": "http/2.0",
           "headers": [{{"name": ":authority", "value": "x"}}, {{"name": "authorization", "value": "Bearer s3cret"}},
                       {{"name": "cookie", "value": "sid=42"}}, {{"name": "sec-fetch-site", "value": "same-origin"}}]}},
         "response": {{"status": 200, "headers": [], "content": {{"size": 3}}}}}},
        {{"pageref": "page_1", "startedDateTime": "2026-12-01T10:00:00.050Z", "time": 5,
         "request": {{"method": "POST", "url": "{base}/orders?draft=1",
           "headers": [{{"name": "content-type", "value": "application/json"}}, {{"name": "content-length", "value": "12"}}],
           "postData": {{"mimeType": "application/json", "text": "{{\"item\": 7}}"}}}},
         "response": {{"status": 201, "headers": [], "content": {{"size": 0}}}}}},
        {{"pageref": "page_1", "startedDateTime": "2026-12-01T10:00:00.051Z", "time": 5,
         "request": {{"method": "GET", "url": "{base}/items/7", "headers": []}},
         "response": {{"status": 200, "headers": [], "content": {{"size": 0}}}}}}
      ]}}}}"#
    )
}

#[test]
fn a_har_imports_with_placeholders_and_replays_with_kept_secrets() {
    let rec = Recorder::start();
    let dir = TempDir::new("import-har");
    let file = dir.write("site.har", &har(&rec.base()));
    let out = flak(&["import", "har", s(&file)]);
    assert_ok(&out);
    let toml = stdout(&out);
    assert!(
        !toml.contains("s3cret") && !toml.contains("sid=42"),
        "{toml}"
    );
    assert!(
        toml.contains("{data:authorization}") && toml.contains("{data:cookie}"),
        "{toml}"
    );
    assert!(
        !toml.contains(":authority") && !toml.contains("sec-fetch"),
        "{toml}"
    );
    assert!(toml.contains("think = \"45ms\""), "{toml}");
    let err = stderr(&out);
    assert!(err.contains("3 requests from"), "{err}");
    assert!(err.contains("1 fan-out group"), "{err}");
    assert!(
        err.contains("--data secrets.csv with the header row authorization,cookie"),
        "{err}"
    );

    // Without the secrets a run is refused before anything is sent.
    let out = flak(&["--har", s(&file), "-n", "1"]);
    assert_bad(&out, "--data secrets.csv (header row authorization,cookie)");
    assert!(rec.take().is_empty());

    // As recorded, with --keep-secrets, from a scenario file written by -o.
    let scenario = dir.path("site.toml");
    let out = flak(&[
        "import",
        "har",
        s(&file),
        "--keep-secrets",
        "--exclude",
        "/items/",
        "-o",
        s(&scenario),
    ]);
    assert_ok(&out);
    let out = flak(&["--scenario", s(&scenario), "-n", "1", "--output", "json"]);
    assert_ok(&out);
    let seen = rec.take();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    let me = assert_seen(&seen, "GET", "/me?fields=name,email", b"");
    assert_eq!(me.headers["authorization"], "Bearer s3cret");
    assert_eq!(me.headers["cookie"], "sid=42");
}

#[test]
fn a_hars_secrets_come_from_the_data_file() {
    let rec = Recorder::start();
    let dir = TempDir::new("import-har-data");
    let file = dir.write("site.har", &har(&rec.base()));
    // The secrets from a data file.
    let data = dir.write(
        "secrets.csv",
        "authorization,cookie\nBearer from-data,sid=7\n",
    );
    let out = flak(&[
        "--har",
        s(&file),
        "--data",
        s(&data),
        "--think",
        "none",
        "-n",
        "1",
        "-c",
        "1",
        "--output",
        "json",
    ]);
    assert_ok(&out);
    let seen = rec.take();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    let me = assert_seen(&seen, "GET", "/me?fields=name,email", b"");
    assert_eq!(me.headers["authorization"], "Bearer from-data");
    assert_eq!(me.headers["cookie"], "sid=7");
    assert_seen(&seen, "POST", "/orders?draft=1", b"{\"item\": 7}");
    assert_seen(&seen, "GET", "/items/7", b"");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = TempDir::new("import-bad");
    let notjson = dir.write("page.har", "<html>not a har</html>");
    assert_bad(
        &flak(&["import", "har", s(&notjson)]),
        "page.har: not a HAR file: not JSON",
    );
    let nothar = dir.write("other.har", "{\"entries\": []}");
    assert_bad(
        &flak(&["import", "har", s(&nothar)]),
        "other.har: not a HAR file: missing field `log`",
    );
    let nourl = dir.write(
        "nourl.har",
        "{\"log\": {\"entries\": [{\"request\": {\"method\": \"GET\", \"url\": \"http://127.0.0.1:1/\"}}, {\"request\": {\"method\": \"GET\"}}]}}",
    );
    assert_bad(
        &flak(&["import", "har", s(&nourl)]),
        "nourl.har: entry 2: missing field `url`",
    );
    assert_bad(&flak(&["--har", s(&nourl), "-n", "1"]), "--har");
    assert_bad(
        &flak(&["import", "har", s(&dir.path("missing.har"))]),
        "missing.har: cannot read the file",
    );
    // 200 MB and more is refused before it is read (a sparse file: no disk is used).
    let huge = dir.path("huge.har");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(200_000_001)
        .unwrap();
    assert_bad(&flak(&["import", "har", s(&huge)]), "more than the 200 MB");
    assert_bad(
        &flak(&["import", "curl", "curl 'http://127.0.0.1:1/"]),
        "unbalanced ' quote opened at line 1, column 6",
    );
    assert_bad(
        &flak(&[
            "curl",
            "http://127.0.0.1:1/",
            "--data-binary",
            "@no-such-file.bin",
        ]),
        "@no-such-file.bin: cannot read the file",
    );
    assert_bad(
        &flak(&["curl", "http://127.0.0.1:1/", "-H"]),
        "-H needs a value",
    );
    assert_bad(&flak(&["curl", "-X", "POST"]), "no URL given");
    assert_bad(
        &flak(&["import", "curl", "wget http://127.0.0.1:1/"]),
        "command 1: \"wget\" is not a curl command",
    );
    assert_bad(
        &flak(&["curl", "http://127.0.0.1:1/", "--", "-n", "many"]),
        "after --:",
    );
    assert_bad(
        &flak(&["--include", "x", "http://127.0.0.1:1/"]),
        "--include needs --har FILE",
    );
    assert_bad(
        &flak(&["--data", "x.csv", "http://127.0.0.1:1/"]),
        "--data needs a journey",
    );
}
