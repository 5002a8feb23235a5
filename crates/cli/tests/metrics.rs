//! `--metrics` watched where operators look: a real Prometheus (Debian's package) scrapes two
//! shards running in network namespaces of their own; its PromQL answers must agree with the
//! merged results files. Also the endpoint's own shape and its bad input.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use flak::metrics::BUCKETS;

use crate::common::{FLAK, Running, Target, TempDir, exclusive, flak, num, parse_json, s, stderr};
use crate::netns::{Child, cluster, get_in, namespaces_available, start_target};

const SHARDS: u32 = 2;
const METRICS_PORT: u16 = 9464;
const PROMETHEUS_PORT: u16 = 9090;

fn bucket_of(seconds: f64) -> usize {
    BUCKETS
        .iter()
        .position(|&le| seconds <= le)
        .unwrap_or(BUCKETS.len())
}

/// Percent-encodes a PromQL query for a URL.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One number from an instant PromQL query, asked from inside the namespace Prometheus runs in.
fn query(ns: &str, q: &str) -> Option<f64> {
    let body = get_in(
        ns,
        "127.0.0.1",
        PROMETHEUS_PORT,
        &format!("/api/v1/query?query={}", encode(q)),
    );
    let v: Value = serde_json::from_str(&body).ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[test]
fn prometheus_scrapes_two_shards_and_agrees_with_the_merged_results() {
    if let Err(why) = namespaces_available() {
        println!(
            "SKIPPED: cannot create network namespaces here ({why}); run as root with iproute2"
        );
        return;
    }
    assert!(
        Command::new("prometheus").arg("--version").output().is_ok(),
        "prometheus is not installed: scripts/setup.sh installs Debian's package"
    );
    let _load = exclusive();
    let (_cluster, target_ns, clients) = cluster(SHARDS);
    let (_target, port) = start_target(&target_ns);
    let dir = TempDir::new("prometheus");
    let targets: Vec<String> = (0..SHARDS)
        .map(|i| format!("'10.203.{i}.2:{METRICS_PORT}'"))
        .collect();
    let config = dir.write(
        "prometheus.yml",
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: flak\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        ),
    );
    let data = dir.path("tsdb");
    let _prometheus = Child(
        Command::new("ip")
            .args(["netns", "exec", &target_ns, "prometheus"])
            .arg(format!("--config.file={}", s(&config)))
            .arg(format!("--storage.tsdb.path={}", s(&data)))
            .arg(format!("--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}"))
            .arg("--log.level=warn")
            .stderr(std::fs::File::create(dir.path("prometheus.log")).unwrap())
            .spawn()
            .expect("starting prometheus"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !get_in(&target_ns, "127.0.0.1", PROMETHEUS_PORT, "/-/ready").contains("Ready") {
        assert!(Instant::now() < deadline, "prometheus never became ready");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Prometheus applies its targets a few seconds after it is ready (discovery updates are
    // batched): a run started before then would be half over at the first scrape.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = get_in(&target_ns, "127.0.0.1", PROMETHEUS_PORT, "/api/v1/targets");
        let active = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["data"]["activeTargets"].as_array().map(Vec::len))
            .unwrap_or(0);
        if active == SHARDS as usize {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus never took its targets: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let runs: Vec<Running> = clients
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            let file = dir.path(&format!("shard-{i}.json"));
            Running::spawn(
                "ip",
                &[
                    "netns",
                    "exec",
                    ns,
                    FLAK,
                    "--shard",
                    &format!("{i}/{SHARDS}"),
                    "--seed",
                    "5",
                    "-n",
                    "6000",
                    "-q",
                    "1000",
                    "-c",
                    "16",
                    "--metrics",
                    &format!("10.203.{i}.2:{METRICS_PORT}"),
                    "--metrics-linger",
                    "3s",
                    "-o",
                    s(&file),
                    "--output",
                    "json",
                    &format!("http://10.203.{i}.1:{port}/jitter/1-30"),
                ],
            )
        })
        .collect();
    // While the run lasts, Prometheus already sees requests.
    let mut live = 0.0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while live == 0.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        live = query(&target_ns, "sum(flak_requests_total)").unwrap_or(0.0);
    }
    assert!(
        live > 0.0 && live < 6000.0,
        "a live scrape mid-run saw {live}"
    );
    for (i, run) in runs.into_iter().enumerate() {
        let out = run.finish(Duration::from_secs(60));
        assert!(out.status.success(), "shard {i}: {}", stderr(&out));
    }
    let files: Vec<String> = (0..SHARDS)
        .map(|i| s(&dir.path(&format!("shard-{i}.json"))).to_string())
        .collect();
    let mut args = vec!["merge".to_string()];
    args.extend(files.iter().cloned());
    args.extend(["--output".into(), "json".into()]);
    let merged = parse_json(&flak(&args).stdout);
    assert_eq!(num(&merged, "total"), 6000);

    // The shards are gone: their series end in staleness markers, so ask for each series'
    // highest value over the run (counters only grow).
    let total = query(&target_ns, "sum(max_over_time(flak_requests_total[10m]))");
    assert_eq!(
        total,
        Some(6000.0),
        "Prometheus' total against the merged file's"
    );
    let shards = query(
        &target_ns,
        "count(count by (shard) (flak_requests_issued_total))",
    );
    assert_eq!(shards, Some(f64::from(SHARDS)));
    let p99 = query(
        &target_ns,
        "histogram_quantile(0.99, sum by (le) (max_over_time(flak_request_duration_seconds_bucket[10m])))",
    )
    .expect("a p99 from Prometheus");
    let exact = merged["latency_ms"]["p99"].as_f64().unwrap() / 1e3;
    let (got, want) = (bucket_of(p99), bucket_of(exact));
    assert!(
        got.abs_diff(want) <= 1,
        "Prometheus p99 {p99} s (bucket {got}) against the merged p99 {exact} s (bucket {want})"
    );

    // The Grafana dashboard's every query runs on this Prometheus and finds the run's series
    // (with Grafana's variables filled in).
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/grafana/flak-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    // Prometheus' first scrape of a new target may come seconds in: ask near the run's end,
    // over windows as long as the run.
    let during = merged["ended_unix_us"].as_f64().unwrap() / 1e6 - 0.5;
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "10s")
                .replace("$run_id", ".*");
            let path = format!("/api/v1/query?query={}&time={during}", encode(&expr));
            let body = get_in(&target_ns, "127.0.0.1", PROMETHEUS_PORT, &path);
            let v: Value =
                serde_json::from_str(&body).unwrap_or_else(|e| panic!("{expr}: {e}: {body}"));
            assert_eq!(v["status"], "success", "{}: {body}", panel["title"]);
            let found = v["data"]["result"].as_array().map_or(0, Vec::len);
            let optional = expr.contains("flak_errors_total");
            assert!(
                found > 0 || optional,
                "{}: {expr} found nothing at {during}: {body}",
                panel["title"]
            );
            checked += 1;
        }
    }
    assert!(checked >= 8, "{checked} queries");
}

/// GET /metrics, or `None` while nothing listens.
fn scrape(addr: std::net::SocketAddr) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    Some(text)
}

#[test]
fn the_endpoint_serves_openmetrics_and_refuses_an_address_in_use() {
    let _load = exclusive();
    let target = Target::start();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = flak(&["-n", "10", "--metrics", &addr, target.base()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.lines().count() == 1 && err.contains(&format!("--metrics {addr}: cannot listen there")),
        "{err}"
    );
    drop(busy);

    // A run that lingers: its endpoint answers with the exact totals after the run.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let run = Running::spawn(
        FLAK,
        &[
            "-n",
            "200",
            "-c",
            "4",
            "--metrics",
            &addr.to_string(),
            "--metrics-linger",
            "5s",
            "--run-id",
            "ci-42",
            "--output",
            "json",
            &target.url("status/503"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        // Refused until the run has parsed its flags and bound the port.
        let text = scrape(addr).unwrap_or_default();
        if text.contains("status=\"503\"} 200") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "never saw the final totals:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    for line in [
        "flak_requests_issued_total{run_id=\"ci-42\",shard=\"0/1\"} 200",
        "flak_requests_total{run_id=\"ci-42\",shard=\"0/1\",outcome=\"failed\"} 200",
        "flak_responses_total{run_id=\"ci-42\",shard=\"0/1\",status=\"503\"} 200",
        "flak_request_duration_seconds_count{run_id=\"ci-42\",shard=\"0/1\"} 200",
        "flak_request_duration_seconds_bucket{run_id=\"ci-42\",shard=\"0/1\",le=\"+Inf\"} 200",
        "flak_in_flight{run_id=\"ci-42\",shard=\"0/1\"} 0",
        "# EOF",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    let (status, _) = crate::common::http_get(addr, "/other");
    assert_eq!(status, 404);
    let out = run.finish(Duration::from_secs(30));
    assert!(out.status.success(), "{}", stderr(&out));
}
