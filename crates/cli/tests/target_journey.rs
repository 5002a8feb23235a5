//! `flak target`'s journey routes (`POST /login`, `/me`, `/users/<id>`, `/items/<n>`) driven
//! with plain HTTP/1.1 against the real server: tokens, 401 and 403, the `journey` counts in
//! `/stats` and their reset; then the same routes over HTTP/2 and HTTP/3 through the real `flak`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

use crate::common::{Target, TempDir, assert_accounts, exclusive, flak_json, num, parse_json, s};

/// What came back: status, the head in lower case, the body.
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        parse_json(&self.body)
    }

    /// A header's value (names in lower case).
    fn header(&self, name: &str) -> Option<String> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            (n.trim() == name).then(|| v.trim().to_string())
        })
    }
}

/// One request over a fresh HTTP/1.1 connection.
fn send(addr: SocketAddr, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Answer {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no end of headers"));
    let head = String::from_utf8_lossy(&buf[..split]).to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    let mut answer = Answer {
        status,
        head,
        body: buf[split + 4..].to_vec(),
    };
    // A 204 (the preflight) has no length and no body.
    if let Some(length) = answer.header("content-length") {
        answer.body.truncate(length.parse().unwrap());
    }
    answer
}

fn login(addr: SocketAddr, user: &str) -> Answer {
    let body = serde_json::json!({ "user": user }).to_string();
    send(
        addr,
        "POST",
        "/login",
        &["Content-Type: application/json"],
        body.as_bytes(),
    )
}

/// Logs `user` in and returns the token.
fn token(addr: SocketAddr, user: &str) -> String {
    let a = login(addr, user);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    a.json()["token"].as_str().unwrap().to_string()
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

fn journey(target: &Target) -> Value {
    target.stats()["journey"].clone()
}

#[test]
fn login_token_profile_and_per_user_data_with_their_counts() {
    let target = Target::start();
    let addr = target.addr();
    target.reset();

    let a = login(addr, "alice");
    assert_eq!(a.status, 200);
    let v = a.json();
    assert_eq!(v["user"], "alice");
    let alice = v["token"].as_str().unwrap().to_string();
    assert_eq!(alice.len(), 32);
    assert!(alice.bytes().all(|b| b.is_ascii_hexdigit()), "{alice}");
    let session = a.header("x-session").expect("x-session header");
    assert!(!session.is_empty() && session.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        a.header("access-control-expose-headers").as_deref(),
        Some("*")
    );
    // A new token per call, and both stay valid.
    let alice2 = token(addr, "alice");
    assert_ne!(alice, alice2);
    let bob = token(addr, "bob");

    for t in [&alice, &alice2] {
        let me = send(addr, "GET", "/me", &[&bearer(t)], b"");
        assert_eq!(
            (me.status, me.json()),
            (200, serde_json::json!({"user": "alice"}))
        );
    }
    let me = send(addr, "GET", "/me", &[], b"");
    assert_eq!(me.status, 401, "no token");
    let wrong = "0".repeat(32);
    assert_eq!(
        send(addr, "GET", "/me", &[&bearer(&wrong)], b"").status,
        401
    );

    let get = send(addr, "GET", "/users/alice", &[&bearer(&alice)], b"");
    assert_eq!(get.status, 200);
    let v = get.json();
    assert_eq!(v["id"], "alice");
    let order = v["order"].as_str().unwrap();
    assert!(
        order
            .strip_prefix("order-")
            .is_some_and(|n| n.parse::<u64>().is_ok()),
        "{order}"
    );
    assert_eq!(
        send(addr, "GET", "/users/alice", &[&bearer(&alice2)], b"").status,
        200
    );
    assert_eq!(
        send(addr, "GET", "/users/bob", &[&bearer(&bob)], b"").status,
        200
    );
    assert_eq!(
        send(addr, "GET", "/users/alice", &[&bearer(&bob)], b"").status,
        403
    );
    assert_eq!(send(addr, "GET", "/users/alice", &[], b"").status, 401);
    let put = send(
        addr,
        "PUT",
        "/users/bob",
        &[&bearer(&bob)],
        b"{\"name\": \"Bob\"}",
    );
    assert_eq!(
        (put.status, put.json()),
        (200, serde_json::json!({"updated": "bob"}))
    );
    assert_eq!(
        send(addr, "PUT", "/users/bob", &[&bearer(&alice)], b"x").status,
        403
    );
    assert_eq!(
        send(addr, "PUT", "/users/bob", &[&bearer(&wrong)], b"x").status,
        401
    );
    let item = send(addr, "GET", "/items/42", &[], b"");
    assert_eq!(
        (item.status, item.json()),
        (200, serde_json::json!({"item": "42"}))
    );

    // Bad logins: one line saying why.
    for body in [&b""[..], b"{", b"{\"name\": \"x\"}", b"{\"user\": 7}"] {
        let a = send(addr, "POST", "/login", &[], body);
        assert_eq!(a.status, 400, "{}", String::from_utf8_lossy(body));
        let why = String::from_utf8(a.body).unwrap();
        assert_eq!(why.lines().count(), 1, "{why}");
    }

    let expected = serde_json::json!({
        "login": 3 + 4, "me": 4, "users_get": 5, "users_put": 3, "items": 1,
        "unauthorized": 4, "forbidden": 2, "distinct_users": 2, "distinct_users_full": false,
    });
    assert_eq!(journey(&target), expected);

    target.reset();
    let zero = serde_json::json!({
        "login": 0, "me": 0, "users_get": 0, "users_put": 0, "items": 0,
        "unauthorized": 0, "forbidden": 0, "distinct_users": 0, "distinct_users_full": false,
    });
    assert_eq!(journey(&target), zero);
    // The reset forgot the tokens.
    assert_eq!(
        send(addr, "GET", "/me", &[&bearer(&alice)], b"").status,
        401
    );

    // The 404 names the new routes; the preflight allows Authorization by name.
    let nf = send(addr, "GET", "/nowhere", &[], b"");
    let nf = String::from_utf8(nf.body).unwrap();
    assert!(nf.contains("/login") && nf.contains("/users/<id>"), "{nf}");
    let pre = send(
        addr,
        "OPTIONS",
        "/me",
        &[
            "Origin: http://page.test",
            "Access-Control-Request-Headers: authorization",
        ],
        b"",
    );
    let allowed = pre.header("access-control-allow-headers").unwrap();
    assert!(
        allowed.split(',').any(|h| h.trim() == "authorization"),
        "{allowed}"
    );
}

/// `flak` with `args` and `--output json`; every request must answer `status`.
fn run_all(args: &[&str], n: u64, status: &str) {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let report = flak_json(&all);
    assert_accounts(&report);
    assert_eq!(
        report["status_codes"],
        serde_json::json!({ status: n }),
        "{report}"
    );
}

#[test]
fn login_reads_its_body_and_tokens_work_over_http2_and_http3() {
    let _load = exclusive();
    let target = Target::start_with(&["--http3", "--threads", "2"]);
    let addr = target.addr();
    let login_url = target.url("login");
    let h3_base = format!("https://{addr}/");
    let h3_login = format!("{h3_base}login");
    let post = [
        "-m",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        "{\"user\": \"carol\"}",
    ];
    target.reset();
    let mut h2 = vec!["--http2", "-n", "20", "-c", "4"];
    h2.extend(post);
    h2.push(&login_url);
    run_all(&h2, 20, "200");
    let mut h3 = vec!["--http3", "--insecure", "-n", "20", "-c", "4"];
    h3.extend(post);
    h3.push(&h3_login);
    run_all(&h3, 20, "200");

    let carol = bearer(&token(addr, "carol"));
    let users = target.url("users/carol");
    run_all(
        &["--http2", "-n", "10", "-c", "2", "-H", &carol, &users],
        10,
        "200",
    );
    let h3_users = format!("{h3_base}users/carol");
    run_all(
        &[
            "--http3",
            "--insecure",
            "-n",
            "10",
            "-c",
            "2",
            "-H",
            &carol,
            "-m",
            "PUT",
            &h3_users,
        ],
        10,
        "200",
    );
    // A login body over 64 KiB is refused, not parsed (over HTTP/3, whose listener reads it all).
    let dir = TempDir::new("journey");
    let big = format!("{{\"user\": \"{}\"}}", "x".repeat(70 * 1024));
    let big = dir.write("big.json", &big);
    run_all(
        &[
            "--http3",
            "--insecure",
            "-n",
            "2",
            "-c",
            "1",
            "-m",
            "POST",
            "-D",
            s(&big),
            &h3_login,
        ],
        2,
        "413",
    );
    let dave = bearer(&token(addr, "dave"));
    run_all(
        &["--http2", "-n", "5", "-c", "1", "-H", &dave, &users],
        5,
        "403",
    );

    let stats = target.stats();
    assert_eq!(num(&stats, "http2"), 20 + 10 + 5, "{stats}");
    assert_eq!(num(&stats, "http3"), 20 + 10 + 2, "{stats}");
    let j = &stats["journey"];
    assert_eq!(
        (num(j, "login"), num(j, "users_get"), num(j, "users_put")),
        (20 + 20 + 2 + 2, 15, 10),
        "{j}"
    );
    assert_eq!(
        (num(j, "forbidden"), num(j, "distinct_users")),
        (5, 1),
        "{j}"
    );
}
