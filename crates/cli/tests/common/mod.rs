//! Shared by the integration tests (one binary, `tests.rs`): the built-in target server as a child process, a tiny
//! blocking HTTP/1.1 client for its `/stats`, and runs of the real `flak` binary, each bounded
//! in time (a run that hangs is killed and the test fails).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod fault_server;
pub mod h2_fault_server;
pub mod recording_server;

/// The binary under test.
pub const FLAK: &str = env!("CARGO_BIN_EXE_flak");

/// Longest any single `flak` run may take before the test gives up on it.
pub const RUN_LIMIT: Duration = Duration::from_secs(60);

static LOAD: Mutex<()> = Mutex::new(());

/// Serializes the tests that generate load: the machine has two cores, and timing assertions
/// (rates, latencies, durations) must not compete with another test's load.
pub fn exclusive() -> MutexGuard<'static, ()> {
    LOAD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A child process whose standard output and error are collected as it runs, killed if it is
/// dropped before it was waited for.
pub struct Running {
    what: String,
    child: Child,
    out: Option<JoinHandle<Vec<u8>>>,
    err: Option<JoinHandle<Vec<u8>>>,
    waited: bool,
}

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

impl Running {
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(program: &str, args: &[S]) -> Self {
        let what = format!(
            "{program} {}",
            args.iter()
                .map(|a| a.as_ref().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let out = drain(child.stdout.take().unwrap());
        let err = drain(child.stderr.take().unwrap());
        Self {
            what,
            child,
            out: Some(out),
            err: Some(err),
            waited: false,
        }
    }

    /// Sends SIGINT (Ctrl-C) to the process.
    pub fn interrupt(&self) {
        let kill = Command::new("kill")
            .args(["-INT", &self.id().to_string()])
            .status()
            .expect("kill");
        assert!(kill.success());
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit, at most `limit`; past that it is killed and the test fails.
    pub fn finish(mut self, limit: Duration) -> Output {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.waited = true;
                panic!("{} did not finish within {limit:?}", self.what);
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        self.waited = true;
        Output {
            status,
            stdout: self.out.take().unwrap().join().unwrap(),
            stderr: self.err.take().unwrap().join().unwrap(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.waited {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `flak` with `args` to the end (at most [`RUN_LIMIT`]).
pub fn flak<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Running::spawn(FLAK, args).finish(RUN_LIMIT)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `flak` (which must print JSON: pass `--output json`), expects success with nothing on
/// stderr, and returns the parsed report.
pub fn flak_json<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Value {
    let out = flak(args);
    assert_success(&out);
    parse_json(&out.stdout)
}

pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "flak failed with {}; stderr:\n{}",
        out.status,
        stderr(out)
    );
    assert!(
        out.stderr.is_empty(),
        "a successful run printed on stderr:\n{}",
        stderr(out)
    );
}

pub fn parse_json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(2000)])
        )
    })
}

/// A whole-number field of a JSON object.
pub fn num(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no whole-number field {key:?} in {v}"))
}

/// A numeric field of a JSON object.
pub fn float(v: &Value, key: &str) -> f64 {
    v.get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number field {key:?} in {v}"))
}

/// Asserts the accounting every report must keep: total = succeeded + failed + cancelled.
pub fn assert_accounts(report: &Value) {
    let (total, s, f, c) = (
        num(report, "total"),
        num(report, "succeeded"),
        num(report, "failed"),
        num(report, "cancelled"),
    );
    assert_eq!(total, s + f + c, "total != succeeded + failed + cancelled");
    assert_eq!(num(report, "issued"), total, "issued != total");
}

/// The built-in target (`flak target`) on a free loopback port, killed on drop.
pub struct Target {
    child: Child,
    addr: SocketAddr,
    base: String,
}

impl Target {
    pub fn start() -> Self {
        Self::launch(
            FLAK,
            &["target", "--listen", "127.0.0.1:0", "--threads", "2"],
        )
    }

    /// `flak target` with these arguments after `target --listen 127.0.0.1:0` (e.g. `--tls`).
    #[allow(dead_code)] // not every test binary uses it
    pub fn start_with(extra: &[&str]) -> Self {
        let mut args = vec!["target", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Self::launch(FLAK, &args)
    }

    /// Starts `program args…`, which must print `flak target listening on http(s)://ADDR/`
    /// first (e.g. `flak target` behind a shell that raises its limits).
    pub fn launch(program: &str, args: &[&str]) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start flak target");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut first = String::new();
            let _ = lines.read_line(&mut first);
            let _ = tx.send(first);
            // Keep reading so the server never blocks on a full pipe.
            let mut rest = Vec::new();
            let _ = lines.read_to_end(&mut rest);
        });
        let line = match rx.recv_timeout(Duration::from_secs(15)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("flak target printed no address within 15 s");
            }
        };
        let base = line
            .trim()
            .strip_prefix("flak target listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from flak target: {line:?}"))
            .to_string();
        let addr: SocketAddr = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"))
            .and_then(|a| a.strip_suffix('/'))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        assert!(addr.ip().is_loopback(), "target not on loopback: {addr}");
        assert_ne!(addr.port(), 0);
        Self { child, addr, base }
    }

    /// `http://127.0.0.1:PORT/`, with the trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of `path` (given without its leading slash).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's counters (`GET /stats`).
    pub fn stats(&self) -> Value {
        let (status, body) = http_get(self.addr, "/stats");
        assert_eq!(status, 200, "GET /stats");
        parse_json(&body)
    }

    /// Zeroes the server's counters (`GET /stats/reset`), and checks they are zero.
    pub fn reset(&self) {
        let (status, body) = http_get(self.addr, "/stats/reset");
        assert_eq!(status, 200, "GET /stats/reset");
        assert_eq!(body, b"reset\n");
        let stats = self.stats();
        assert_eq!(num(&stats, "requests"), 0, "after reset: {stats}");
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One blocking `GET` over a fresh connection: the status and the body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("GET {path}: no end of headers"));
    let head = std::str::from_utf8(&buf[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|l| l.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: bad status line in {head:?}"));
    let mut length = None;
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        let name = name.trim().to_ascii_lowercase();
        assert_ne!(
            name, "transfer-encoding",
            "GET {path}: chunked bodies not handled"
        );
        if name == "content-length" {
            length = Some(value.trim().parse::<usize>().unwrap());
        }
    }
    let body = &buf[split + 4..];
    let body = match length {
        Some(n) => {
            assert!(body.len() >= n, "GET {path}: body cut short");
            &body[..n]
        }
        None => body,
    };
    (status, body.to_vec())
}

/// A fresh directory under Cargo's temporary folder for tests, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "cli-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    /// Writes `file` in the directory and returns its path.
    pub fn write(&self, file: &str, contents: &str) -> PathBuf {
        let path = self.path(file);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A path as a `&str` for argument lists.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// A real results file in `dir`: three requests to a port nothing listens on (1), so it is
/// quick and needs no server. For tests of `flak merge` and of loading results.
pub fn refused_results(dir: &TempDir, name: &str) -> PathBuf {
    let path = dir.path(name);
    let out = flak(&[
        "-n",
        "3",
        "-c",
        "1",
        "-o",
        s(&path),
        "--output",
        "json",
        "http://127.0.0.1:1/",
    ]);
    assert_success(&out);
    path
}
