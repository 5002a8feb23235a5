//! HTTP/2 (prior knowledge over plain TCP, ALPN over TLS), what `flak target` promises browsers
//! (CORS, preflights, Resource Timing), and shell completions, through the real binary.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{FLAK, Target, assert_accounts, exclusive, flak, flak_json, num};

#[test]
fn http2_prior_knowledge_reaches_the_server_as_http2() {
    let _load = exclusive();
    let target = Target::start();
    let report = flak_json(&[
        "--http2",
        "-n",
        "300",
        "-c",
        "10",
        "--output",
        "json",
        &target.url(""),
    ]);
    assert_accounts(&report);
    assert_eq!(num(&report, "succeeded"), 300);
    let stats = target.stats();
    assert_eq!((num(&stats, "requests"), num(&stats, "http2")), (300, 300));
    let report = flak_json(&["-n", "50", "-c", "5", "--output", "json", &target.url("")]);
    assert_eq!(num(&report, "succeeded"), 50);
    assert_eq!(
        num(&target.stats(), "http2"),
        300,
        "without --http2 it speaks HTTP/1.1"
    );
}

/// `flak target --tls`, killed on drop; returns its https base URL.
struct TlsTarget(std::process::Child, String);
impl Drop for TlsTarget {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tls_target() -> TlsTarget {
    let mut child = Command::new(FLAK)
        .args([
            "target",
            "--tls",
            "--listen",
            "127.0.0.1:0",
            "--threads",
            "1",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("https://"), "{line}");
    TlsTarget(child, base)
}

#[test]
fn http2_over_tls_by_alpn_and_http1_over_tls() {
    let _load = exclusive();
    let target = tls_target();
    for args in [&["--http2", "--insecure"][..], &["--insecure"][..]] {
        let mut all = args.to_vec();
        all.extend(["-n", "200", "-c", "8", "--output", "json", &target.1]);
        let report = flak_json(&all);
        assert_accounts(&report);
        assert_eq!(num(&report, "succeeded"), 200, "{args:?}");
        // TLS connections are opened once per slot and timed.
        assert!(report["connect_ms"]["p50"].as_f64().unwrap() > 0.0);
    }
}

/// Sends a raw HTTP/1.1 request and returns the response head, lower-cased.
fn head(target: &Target, request: &str) -> String {
    let mut s = TcpStream::connect(target.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    text.split("\r\n\r\n").next().unwrap().to_string()
}

#[test]
fn the_target_lets_browsers_in_cross_origin() {
    let target = Target::start();
    let get = head(
        &target,
        "GET /status/404 HTTP/1.1\r\nHost: t\r\nOrigin: http://page.test\r\nConnection: close\r\n\r\n",
    );
    assert!(get.starts_with("http/1.1 404"), "{get}");
    for header in [
        "access-control-allow-origin: *",
        "timing-allow-origin: *",
        "cross-origin-resource-policy: cross-origin",
    ] {
        assert!(get.contains(header), "{header} missing from\n{get}");
    }
    let preflight = head(
        &target,
        "OPTIONS /delay/5 HTTP/1.1\r\nHost: t\r\nOrigin: http://page.test\r\nAccess-Control-Request-Method: PUT\r\n\
         Access-Control-Request-Headers: x-token\r\nConnection: close\r\n\r\n",
    );
    assert!(preflight.starts_with("http/1.1 204"), "{preflight}");
    for header in [
        "access-control-allow-methods: *",
        "access-control-allow-headers: *",
        "access-control-allow-origin: *",
    ] {
        assert!(
            preflight.contains(header),
            "{header} missing from\n{preflight}"
        );
    }
    assert_eq!(
        num(&target.stats(), "requests"),
        1,
        "preflights and /stats are not counted"
    );
}

#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef flak"),
        ("fish", "complete -c flak"),
    ] {
        let out = flak(&["completions", shell]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(marker), "{shell}: {marker:?} missing");
        assert!(text.contains("fail-if"), "{shell} completes flak's flags");
    }
}
