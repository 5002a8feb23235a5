#!/usr/bin/env python3
"""Runs the real flak binary against servers nobody here wrote and prints the matrix.

Each case is one bounded flak run (server x protocol x case) whose JSON results are checked
against what a user checks: every request succeeded, the statuses and bytes are the expected
ones, and the server's own access log counts the same number of requests. Cases listed in
known-failures.txt are expected to fail; one of them passing fails the suite, so the list
cannot rot. Servers that are not installed are skipped with a line saying so.

Usage: run.py [--only SUBSTRING] [--matrix FILE]
Environment: FLAK_BIN (default target/debug/flak).
"""

import argparse
import datetime
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MB = 1 << 20
# Every flak run and every server start is bounded by these.
FLAK_TIMEOUT_S = 120
START_TIMEOUT_S = 15


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    binary: str  # what must be installed; missing means every case of this server is skipped
    ports: list  # placeholder names, e.g. NGINX_H1
    log: str  # access log file name in the run dir
    start: Callable  # (run dir, ports) -> argv
    process: Optional[subprocess.Popen] = None
    skip_reason: Optional[str] = None

    def log_lines(self, run: Path, log: Optional[str] = None) -> int:
        path = run / (log or self.log)
        if not path.exists():
            return 0
        with open(path, "rb") as f:
            return sum(1 for _ in f)


def fill(template: Path, out: Path, values: dict):
    text = template.read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    out.write_text(text)


def start_nginx(run, ports):
    fill(HERE / "conf/nginx.conf", run / "nginx.conf", {**ports, "RUN": run})
    fill(HERE / "conf/nginx-locations.conf", run / "nginx-locations.conf", {"RUN": run, "BIG": "x" * 1024})
    (run / "upload").mkdir(exist_ok=True)
    return ["nginx", "-p", str(run), "-c", str(run / "nginx.conf")]


def start_apache(run, ports):
    fill(HERE / "conf/apache.conf", run / "apache.conf", {**ports, "RUN": run})
    return ["apache2", "-f", str(run / "apache.conf"), "-DFOREGROUND"]


def start_caddy(run, ports):
    fill(HERE / "conf/Caddyfile", run / "Caddyfile", {**ports, "RUN": run})
    return ["caddy", "run", "--adapter", "caddyfile", "--config", str(run / "Caddyfile")]


def start_h2o(run, ports):
    fill(HERE / "conf/h2o.conf", run / "h2o.conf", {**ports, "RUN": run})
    return ["h2o", "-c", str(run / "h2o.conf")]


def start_node(run, ports):
    listeners = [
        {"name": "h2", "port": ports["NODE_H2"], "tls": True},
        {"name": "h2c", "port": ports["NODE_H2C"], "tls": False},
        {"name": "goaway", "port": ports["NODE_H2_GOAWAY"], "tls": True, "goawayAfter": 100},
        {"name": "mcs1", "port": ports["NODE_H2_MCS1"], "tls": True, "maxConcurrentStreams": 1},
    ]
    config = {"cert": str(run / "cert.pem"), "key": str(run / "key.pem"), "log": str(run / "node-access.log"), "listeners": listeners}
    (run / "node.json").write_text(json.dumps(config))
    return ["node", str(HERE / "node_h2.mjs"), str(run / "node.json")]


def start_hypercorn(run, ports):
    # Debian's hypercorn, run by Debian's Python (the one whose dist-packages hold it).
    return [
        "/usr/bin/python3", "-m", "hypercorn", "--workers", "1",
        "--certfile", str(run / "cert.pem"), "--keyfile", str(run / "key.pem"),
        "--bind", f"127.0.0.1:{ports['HYPERCORN_H2']}",
        "--insecure-bind", f"127.0.0.1:{ports['HYPERCORN_H1']}",
        "--access-logfile", str(run / "hypercorn-access.log"),
        "asgi_app:app",
    ]


def hypercorn_installed() -> bool:
    return subprocess.run(["/usr/bin/python3", "-c", "import hypercorn"], capture_output=True).returncode == 0


SERVERS = {
    "nginx": Server("nginx", "nginx", ["NGINX_H1", "NGINX_H2", "NGINX_H2C", "NGINX_H1_KA", "NGINX_H2_KA", "NGINX_H2_MCS1", "NGINX_H2_PREREAD0"], "nginx-access.log", start_nginx),
    "apache": Server("apache", "apache2", ["APACHE_H1", "APACHE_H2"], "apache-access.log", start_apache),
    "caddy": Server("caddy", "caddy", ["CADDY_H1", "CADDY_H2", "CADDY_H3"], "caddy-access.log", start_caddy),
    "h2o": Server("h2o", "h2o", ["H2O_H1", "H2O_H2"], "h2o-access.log", start_h2o),
    "node": Server("node", "node", ["NODE_H2", "NODE_H2C", "NODE_H2_GOAWAY", "NODE_H2_MCS1"], "node-access.log", start_node),
    "hypercorn": Server("hypercorn", "python3-hypercorn", ["HYPERCORN_H1", "HYPERCORN_H2"], "hypercorn-access.log", start_hypercorn),
}


def wait_listening(port: int, process: subprocess.Popen) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def start_servers(run: Path, ports: dict, wanted: set):
    for server in SERVERS.values():
        if server.name not in wanted:
            continue
        found = hypercorn_installed() if server.name == "hypercorn" else shutil.which(server.binary)
        if not found:
            server.skip_reason = f"{server.binary} is not installed (scripts/interop.sh installs it from Debian)"
            continue
        argv = server.start(run, ports)
        err = open(run / f"{server.name}.out", "wb")
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(run), "XDG_DATA_HOME": str(run / "xdg"), "XDG_CONFIG_HOME": str(run / "xdg")}
        server.process = subprocess.Popen(argv, stdout=err, stderr=subprocess.STDOUT, cwd=HERE, env=env, start_new_session=True)
        up = all(wait_listening(ports[p], server.process) for p in server.ports)
        # Some servers bind first and read the rest of their configuration after.
        time.sleep(0.3)
        if not up or server.process.poll() is not None:
            tail = (run / f"{server.name}.out").read_text(errors="replace").strip().splitlines()[-3:]
            server.skip_reason = f"{server.name} did not start: " + " | ".join(tail)
            stop(server)


def stop(server: Server):
    if server.process and server.process.poll() is None:
        # Each server runs in its own session; end that group only.
        try:
            os.killpg(server.process.pid, 15)
            server.process.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.process.pid, 9)
    server.process = None


# --- cases ---------------------------------------------------------------------------------------


@dataclass
class Case:
    server: str
    proto: str  # h1, h2 (TLS + ALPN), h2c (prior knowledge), h3 (QUIC)
    name: str
    port: str
    path: str
    n: int
    c: int
    status: int = 200
    body_bytes: Optional[int] = None  # per response; None: not checked
    args: list = field(default_factory=list)
    log: Optional[str] = None  # another access log than the server's main one
    gzip: bool = False  # asks for gzip; bytes must be the gzip body curl got
    compressed: bool = False  # runs with --compressed; bytes must be the encoded body curl got for the same ask
    prepare: Optional[Callable] = None  # (case, url) -> extra flak args, run before the load
    check: Optional[Callable] = None  # (case, run dir) -> error text or None, after the load
    # (results JSON) -> (error text or None, note or None): what flak's own report must say,
    # e.g. its `connections` counters; the note goes into the matrix details.
    report: Optional[Callable] = None

    @property
    def id(self):
        return f"{self.server}/{self.proto}/{self.name}"


UPLOAD = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(MB // 32))
UPLOAD_SHA = hashlib.sha256(UPLOAD).hexdigest()
GZIP_TEXT = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(4000)).encode()


def make_www(run: Path):
    www = run / "www"
    www.mkdir()
    (www / "index.html").write_text("hello\n")
    (www / "hello.txt").write_text("hello\n")
    (www / "empty").write_bytes(b"")
    (www / "gzip.txt").write_bytes(GZIP_TEXT)
    block = bytes(range(256)) * 4096
    (www / "1mb.bin").write_bytes(block)
    with open(www / "20mb.bin", "wb") as f:
        for _ in range(20):
            f.write(block)
    (run / "upload.bin").write_bytes(UPLOAD)


CURL_REQUESTS = [0]  # reference requests made, which the server logs as well


def curl(case: Case, url: str, *extra) -> subprocess.CompletedProcess:
    CURL_REQUESTS[0] += 1
    # Debian's curl has no HTTP/3: the h3 cases take their reference (same server, same file) over h2.
    proto = {"h1": ["--http1.1"], "h2": ["--http2"], "h2c": ["--http2-prior-knowledge"], "h3": ["--http2"]}[case.proto]
    # localhost (the h3 site's name) only on IPv4, where the servers listen.
    return subprocess.run(["curl", "-4sk", "--max-time", "10", *proto, *extra, url], capture_output=True, timeout=20)


def etag_304(case: Case, url: str):
    """A real conditional GET: the file's own ETag in If-None-Match."""
    head = curl(case, url, "-I").stdout.decode(errors="replace")
    etag = next((line.split(":", 1)[1].strip() for line in head.splitlines() if line.lower().startswith("etag:")), None)
    if not etag:
        raise RuntimeError(f"no ETag from {url}")
    return ["-H", f"If-None-Match: {etag}"]


def nginx_upload_check(case: Case, run: Path):
    # WebDAV keeps the last body: it must be the file flak sent, byte for byte.
    kept = run / "upload" / "f"
    if not kept.exists() or hashlib.sha256(kept.read_bytes()).hexdigest() != UPLOAD_SHA:
        return "the body nginx stored differs from the uploaded file"
    lengths = [int(line.split()[1]) for line in (run / "nginx-upload.log").read_text().splitlines()]
    short = [n for n in lengths if n < MB]
    return f"{len(short)} logged request lengths below 1 MiB" if short else None


def connection_limit(log: str, field: int, last: int):
    """A check that the server really closed connections at its limit: the log's per-connection
    request number (field, counted from the end of the line) reaches `last` and never passes it."""

    def check(case: Case, run: Path):
        lines = (run / log).read_text().splitlines()[-case.n:]
        numbers = [int(line.split()[field]) for line in lines]
        if max(numbers) != last:
            return f"the server's per-connection request number went up to {max(numbers)}, wanted {last}: no limit was hit"
        return None

    return check


def connections(results: dict) -> dict:
    return results.get("connections") or {}


def multiplexed(want: int):
    def report(results):
        c = connections(results)
        opened = c.get("opened", {}).get("h2")
        if opened != want:
            return f"connections.opened {c.get('opened')}, wanted h2: {want}", None
        if c.get("peak_streams", 0) <= 1:
            return f"connections.peak_streams {c.get('peak_streams')}, wanted more than 1", None
        return None, f"peak_streams {c['peak_streams']}, stream_waits {c.get('stream_waits')}"

    return report


def one_stream(results):
    c = connections(results)
    if c.get("peak_streams") != 1:
        return f"connections.peak_streams {c.get('peak_streams')}, wanted 1 (server allows one stream)", None
    if not c.get("stream_waits"):
        return f"connections.stream_waits {c.get('stream_waits')}, wanted > 0 (slots must wait for the one stream)", None
    return None, f"stream_waits {c['stream_waits']}, stream_wait_max_us {c.get('stream_wait_max_us')}"


def retries(results):
    c = connections(results)
    return None, f"retries {c.get('retries')}, connections opened {c.get('opened')}"


def h3_connections(results):
    """flak's report may not count QUIC connections yet: checked only when it does."""
    opened = connections(results).get("opened") or {}
    if not opened:
        return None, "connections.opened is empty for h3: not checked"
    if opened.get("h3") != 2:
        return f"connections.opened {opened}, wanted h3: 2", None
    return None, f"opened {opened}, peak_streams {connections(results).get('peak_streams')}"


def cases() -> list:
    all_cases = []
    add = all_cases.append
    upload_args = ["-D", "__UPLOAD__"]
    query = f"?sha256={UPLOAD_SHA}&len={len(UPLOAD)}"

    # The protocols each server is asked for, and the port for each.
    matrix = {
        "nginx": {"h1": "NGINX_H1", "h2": "NGINX_H2", "h2c": "NGINX_H2C"},
        "apache": {"h1": "APACHE_H1", "h2": "APACHE_H2", "h2c": "APACHE_H1"},
        "caddy": {"h1": "CADDY_H1", "h2": "CADDY_H2", "h2c": "CADDY_H1", "h3": "CADDY_H3"},
        "h2o": {"h1": "H2O_H1", "h2": "H2O_H2"},
        "node": {"h2": "NODE_H2", "h2c": "NODE_H2C"},
        "hypercorn": {"h1": "HYPERCORN_H1", "h2": "HYPERCORN_H2", "h2c": "HYPERCORN_H1"},
    }
    static = {"nginx", "apache", "caddy", "h2o"}
    for server, protos in matrix.items():
        for proto, port in protos.items():
            # Static servers name the index /index.html; the apps answer anything.
            add(Case(server, proto, "count", port, "/", 500, 10))
            if server in static:
                add(Case(server, proto, "empty-body", port, "/empty", 200, 10, body_bytes=0))
                add(Case(server, proto, "304", port, "/hello.txt", 200, 10, status=304, body_bytes=0, prepare=etag_304))
                add(Case(server, proto, "head-1mb", port, "/1mb.bin", 200, 10, body_bytes=0, args=["-m", "HEAD"]))
                add(Case(server, proto, "body-1mb", port, "/1mb.bin", 100, 5, body_bytes=MB))
                add(Case(server, proto, "body-20mb", port, "/20mb.bin", 6, 2, body_bytes=20 * MB))
                add(Case(server, proto, "gzip", port, "/gzip.txt", 100, 5, gzip=True))
                # flak's own Accept-Encoding (gzip, br, zstd): the server may pick another coding.
                add(Case(server, proto, "compressed", port, "/gzip.txt", 100, 5, compressed=True))
            if proto == "h3":
                # QUIC connections shared by groups of -p slots: -c 10 -p 5 is 2 connections.
                add(Case(server, proto, "mux-c10-p5", port, "/", 500, 10, args=["-p", "5"], report=h3_connections))
            if server != "h2o":
                add(Case(server, proto, "204", port, "/204", 200, 10, status=204, body_bytes=0))
            if server in ("node", "hypercorn"):
                add(Case(server, proto, "upload-1mb", port, "/upload" + query, 50, 20, args=["-m", "POST"] + upload_args))
                add(Case(server, proto, "headers-24k", port, "/bigheaders", 200, 10, body_bytes=3))
            if server == "hypercorn":
                add(Case(server, proto, "chunked", port, "/chunked", 200, 10, body_bytes=64 * 1024))
            if server == "nginx":
                add(Case(server, proto, "upload-1mb", port, "/upload/f", 50, 20, status=None, args=["-m", "PUT"] + upload_args,
                         log="nginx-upload.log", check=nginx_upload_check))
                add(Case(server, proto, "headers-24k", port, "/bigheaders", 200, 10, body_bytes=6))
    # Per-connection limits: the server closes (HTTP/1.1) or sends GOAWAY (HTTP/2) every 100
    # requests; nothing may be lost.
    nginx_limit = connection_limit("nginx-ka.log", -1, 100)
    add(Case("nginx", "h1", "keepalive-100", "NGINX_H1_KA", "/", 5000, 20, log="nginx-ka.log", check=nginx_limit))
    add(Case("nginx", "h2", "goaway-100", "NGINX_H2_KA", "/", 5000, 20, log="nginx-ka.log", check=nginx_limit))
    # Apache numbers the first request 0 and allows MaxKeepAliveRequests more after it.
    add(Case("apache", "h1", "keepalive-100", "APACHE_H1", "/", 5000, 20, check=connection_limit("apache-access.log", -1, 100)))
    add(Case("node", "h2", "goaway-100", "NODE_H2_GOAWAY", "/", 5000, 20, check=connection_limit("node-access.log", -1, 100)))
    # mod_http2 applies MaxKeepAliveRequests too: GOAWAY after 100 streams (its log has no
    # per-connection number for HTTP/2, so only the count is checked).
    add(Case("apache", "h2", "goaway-100", "APACHE_H2", "/", 5000, 20))
    add(Case("apache", "h2c", "goaway-100", "APACHE_H1", "/", 5000, 20))
    # 200 in flight on the same listeners: the server closes connections (or sends GOAWAY) while
    # many requests are on the wire. Apache's event MPM does so on its own whenever it is busy,
    # well before its 100-request limit, so these cases are about closes, not that limit.
    for server, proto, port in [("nginx", "h1", "NGINX_H1_KA"), ("nginx", "h2", "NGINX_H2_KA"), ("apache", "h1", "APACHE_H1"),
                                ("apache", "h2", "APACHE_H2"), ("apache", "h2c", "APACHE_H1"), ("node", "h2", "NODE_H2_GOAWAY")]:
        # Apache's closes race less often: more requests, so a client that loses some loses some every run.
        n = 20000 if server == "apache" else 5000
        add(Case(server, proto, "closes-c200", port, "/", n, 200, log="nginx-ka.log" if server == "nginx" else None))
    # One stream at a time, however many flak would like.
    add(Case("nginx", "h2", "max-streams-1", "NGINX_H2_MCS1", "/", 300, 10))
    add(Case("node", "h2", "max-streams-1", "NODE_H2_MCS1", "/", 300, 10))
    add(Case("nginx", "h2", "upload-preread-0", "NGINX_H2_PREREAD0", "/upload/f", 50, 20, status=None, args=["-m", "PUT", "-D", "__UPLOAD__"],
             log="nginx-upload.log", check=nginx_upload_check))
    # HTTP/2 multiplexing: 50 slots, 25 streams per connection, so exactly 2 connections with
    # more than one stream in flight on them. 1000 requests, about 500 a connection: nginx (and
    # hypercorn) send GOAWAY after 1000 requests on a connection by default.
    for server, port, path in [("nginx", "NGINX_H2", "/"), ("node", "NODE_H2", "/"), ("hypercorn", "HYPERCORN_H2", "/"),
                               ("h2o", "H2O_H2", "/hello.txt")]:
        add(Case(server, "h2", "mux-c50-p25", port, path, 1000, 50, args=["-p", "25"], report=multiplexed(2)))
    # One stream allowed (SETTINGS_MAX_CONCURRENT_STREAMS = 1) though flak would run 10 on the
    # connection: the other slots wait for the stream, never more than one in flight.
    add(Case("nginx", "h2", "mux-max-streams-1", "NGINX_H2_MCS1", "/", 300, 10, args=["-p", "10"], report=one_stream))
    add(Case("node", "h2", "mux-max-streams-1", "NODE_H2_MCS1", "/", 300, 10, args=["-p", "10"], report=one_stream))
    # GOAWAY every 100 streams with 20 in flight on the one connection: streams the server did
    # not process are retried on the next connection; none may be lost or doubled.
    add(Case("nginx", "h2", "mux-goaway-100", "NGINX_H2_KA", "/", 2000, 20, args=["-p", "20"], log="nginx-ka.log", report=retries))
    add(Case("node", "h2", "mux-goaway-100", "NODE_H2_GOAWAY", "/", 2000, 20, args=["-p", "20"], report=retries))
    # The HPACK dynamic table: h2o indexes its response headers and refers back to them.
    add(Case("h2o", "h2", "hpack-dynamic", "H2O_H2", "/hello.txt", 500, 10, body_bytes=6))
    return all_cases


# --- running one case ----------------------------------------------------------------------------


def flak_features(flak: str) -> set:
    help_text = subprocess.run([flak, "--help"], capture_output=True, text=True).stdout
    return {flag for flag in ("--compressed", "--http3") if flag in help_text}


def proto_args(proto: str) -> list:
    return {"h1": [], "h2": ["--http2", "--insecure"], "h2c": ["--http2"], "h3": ["--http3", "--insecure", "-4"]}[proto]


def url_of(case: Case, ports: dict) -> str:
    scheme = "https" if case.proto in ("h2", "h3") else "http"
    # By name for h3 (see conf/Caddyfile); -4 keeps flak on the IPv4 loopback the servers use.
    host = "localhost" if case.proto == "h3" else "127.0.0.1"
    return f"{scheme}://{host}:{ports[case.port]}{case.path}"


def run_case(case: Case, run: Path, ports: dict, flak: str, features: set):
    """Returns (None or the failure in one line, flak's own words first; a note or None)."""
    server = SERVERS[case.server]
    url = url_of(case, ports)
    args = [a.replace("__UPLOAD__", str(run / "upload.bin")) for a in case.args]
    expected_body = case.body_bytes
    log = case.log or server.log
    # Counted before the reference requests, which a server may log after curl has gone.
    before = server.log_lines(run, log)
    refs_before = CURL_REQUESTS[0]
    if case.prepare:
        args += case.prepare(case, url)
    if case.gzip:
        raw = curl(case, url, "-H", "Accept-Encoding: gzip").stdout
        if not raw.startswith(b"\x1f\x8b"):
            return f"setup: the server did not gzip {url} (reference fetch by curl)", None
        args += ["-H", "Accept-Encoding: gzip"]
    note = None
    if case.compressed:
        # What flak asks for with --compressed; curl without --compressed keeps the body encoded.
        ref = curl(case, url, "-D", "-", "-o", str(run / "reference.bin"), "-H", "Accept-Encoding: gzip, br, zstd")
        headers = ref.stdout.decode(errors="replace").lower().splitlines()
        coding = next((h.split(":", 1)[1].strip() for h in headers if h.startswith("content-encoding:")), None)
        raw = (run / "reference.bin").read_bytes()
        if not coding:
            return f"setup: the server did not compress {url} (reference fetch by curl)", None
        note = f"content-encoding {coding}, {len(raw)} bytes each"
        args += ["--compressed"]
    refs = CURL_REQUESTS[0] - refs_before
    out = run / "flak.json"
    out.unlink(missing_ok=True)
    argv = [flak, "-n", str(case.n), "-c", str(case.c), "-t", "30s", "--no-progress", "--output", "json", "-o", str(out),
            *proto_args(case.proto), *args, url]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=FLAK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"flak did not finish within {FLAK_TIMEOUT_S}s", None
    if proc.returncode != 0 or not out.exists():
        return f"flak exit {proc.returncode}: " + (proc.stderr.strip().splitlines() or ["(no message)"])[-1], None
    results = json.loads(out.read_text())
    problems = []
    if results["failed"] or results["succeeded"] != case.n:
        messages = "; ".join(f"{kind}: {msg}" for kind, msg in results.get("error_messages", {}).items())
        problems.append(f"{results['succeeded']}/{case.n} succeeded, statuses {results.get('status_codes')}, "
                        f"errors {results.get('errors')} [{messages}]")
    statuses = results.get("status_codes", {})
    if case.status is not None and statuses != {str(case.status): results["succeeded"]} and results["succeeded"]:
        problems.append(f"statuses {statuses}, wanted all {case.status}")
    if case.status is None and any(not s.startswith("2") for s in statuses):
        problems.append(f"statuses {statuses}, wanted 2xx")
    if expected_body is not None and results["bytes"] != expected_body * case.n:
        problems.append(f"bytes {results['bytes']}, wanted {expected_body * case.n}")
    if (case.gzip or case.compressed) and results["bytes"] != len(raw) * case.n:
        problems.append(f"bytes {results['bytes']}, wanted {len(raw) * case.n} (the encoded body, {len(raw)} bytes, each time)")
    if case.report:
        problem, report_note = case.report(results)
        if problem:
            problems.append(problem)
        note = "; ".join(n for n in (note, report_note) if n) or None
    # The server logs after it answers: give the last lines a moment to land.
    deadline = time.monotonic() + 3
    while server.log_lines(run, log) - before - refs < case.n and time.monotonic() < deadline:
        time.sleep(0.05)
    logged = server.log_lines(run, log) - before - refs
    if logged != case.n:
        problems.append(f"server access log has {logged} requests, flak sent {case.n}")
    if case.check and not problems:
        problem = case.check(case, run)
        if problem:
            problems.append(problem)
    return "; ".join(problems) or None, note


# --- known failures, matrix ----------------------------------------------------------------------


def known_failures() -> dict:
    known = {}
    for line in (HERE / "known-failures.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            case_id, _, reason = line.partition(" ")
            known[case_id] = reason.strip()
    return known


def matrix_markdown(rows: list) -> str:
    """rows: (case id, verdict, detail). One table: a row per server x protocol, a column per case."""
    names = []
    for case_id, _, _ in rows:
        name = case_id.split("/")[2]
        if name not in names:
            names.append(name)
    grid = {}
    for case_id, verdict, _ in rows:
        server, proto, name = case_id.split("/")
        grid.setdefault((server, proto), {})[name] = verdict
    short = {"pass": "pass", "known failure": "known", "skip": "skip", "FAIL": "**FAIL**", "now passes": "**now passes**"}
    lines = ["| server | proto | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for (server, proto), verdicts in grid.items():
        lines.append(f"| {server} | {proto} | " + " | ".join(short.get(verdicts.get(n), "") for n in names) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="run only cases whose id contains this")
    parser.add_argument("--matrix", help="write the matrix (markdown) into this file between the INTEROP markers")
    opts = parser.parse_args()
    command = "scripts/interop.sh" + "".join(f" --{k} {v}" for k, v in (("only", opts.only), ("matrix", opts.matrix)) if v)
    started = time.monotonic()
    flak = os.environ.get("FLAK_BIN", str(ROOT / "target/debug/flak"))
    features = flak_features(flak)
    known = known_failures()
    all_cases = [c for c in cases() if not opts.only or opts.only in c.id]
    run = Path(tempfile.mkdtemp(prefix="flak-interop-"))
    os.chmod(run, 0o755)  # Apache and h2o workers run as www-data and read the files
    rows = []
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(run / "key.pem"), "-out", str(run / "cert.pem")],
                       check=True, capture_output=True)
        make_www(run)
        for p in run.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        ports = {p: free_port() for s in SERVERS.values() for p in s.ports}
        start_servers(run, ports, {c.server for c in all_cases})
        for case in all_cases:
            server = SERVERS[case.server]
            if server.skip_reason:
                verdict, detail = "skip", server.skip_reason
            elif case.proto == "h3" and "--http3" not in features and case.id not in known:
                verdict, detail = "skip", "this flak has no --http3"
            elif case.compressed and "--compressed" not in features and case.id not in known:
                verdict, detail = "skip", "this flak has no --compressed"
            else:
                t0 = time.monotonic()
                note = None
                try:
                    failure, note = run_case(case, run, ports, flak, features)
                except Exception as e:  # a broken setup step is this case's failure, not the suite's end
                    failure = f"setup: {e}"
                if failure is None:
                    verdict, detail = ("now passes", "remove it from known-failures.txt") if case.id in known else ("pass", note or "")
                else:
                    verdict, detail = ("known failure", failure) if case.id in known else ("FAIL", failure)
                detail = f"{detail} ({time.monotonic() - t0:.1f}s)".strip()
            rows.append((case.id, verdict, detail))
            print(f"{verdict:>13}  {case.id}  {detail}", flush=True)
    finally:
        for server in SERVERS.values():
            stop(server)
        if os.environ.get("FLAK_INTEROP_KEEP"):
            print(f"kept {run}")
        else:
            shutil.rmtree(run, ignore_errors=True)
    stale = [k for k in known if k not in {c.id for c in all_cases}] if not opts.only else []
    for case_id in stale:
        print(f"{'FAIL':>13}  {case_id}  listed in known-failures.txt but no such case")
    elapsed = time.monotonic() - started
    counts = {v: sum(1 for _, verdict, _ in rows if verdict == v) for v in ("pass", "known failure", "skip", "FAIL", "now passes")}
    failed = counts["FAIL"] + counts["now passes"] + len(stale)
    table = matrix_markdown(rows)
    print()
    print(table)
    print()
    print(f"interop: {counts['pass']} pass, {counts['known failure']} known failures, {counts['skip']} skipped, "
          f"{failed} failed in {elapsed:.0f}s")
    if opts.matrix:
        write_matrix(Path(opts.matrix), table, rows, command, elapsed)
    # The totals scripts/test.sh adds up (the same lines node's test runner prints).
    # Known failures count as neither: they are todo items, not passes.
    print(f"# pass {counts['pass']}")
    print(f"# fail {failed}")
    print(f"# todo {counts['known failure']}")
    print(f"{counts['pass']} passed, {failed} failed, {counts['skip']} skipped")
    return 1 if failed else 0


def write_matrix(path: Path, table: str, rows: list, command: str, elapsed: float):
    begin, end = "<!-- INTEROP MATRIX BEGIN -->", "<!-- INTEROP MATRIX END -->"
    text = path.read_text()
    if begin not in text or end not in text:
        raise SystemExit(f"{path}: no {begin} ... {end} markers")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    details = "\n".join(f"- `{case_id}` {verdict}: {detail}" for case_id, verdict, detail in rows if verdict != "pass")
    # Passing cases that say more than their time: what flak's connection counters showed.
    notes = "\n".join(f"- `{case_id}`: {detail}" for case_id, verdict, detail in rows if verdict == "pass" and not detail.startswith("("))
    block = (f"{begin}\nProduced by `{command}` on {date} ({elapsed:.0f} s).\n\n{table}\n\n"
             f"Everything not a pass, with flak's own words:\n\n{details or '- none'}\n\n"
             f"What passing cases reported (flak's `connections` counters, content codings):\n\n{notes or '- none'}\n{end}")
    head, rest = text.split(begin, 1)
    path.write_text(head + block + rest.split(end, 1)[1])


if __name__ == "__main__":
    sys.exit(main())
