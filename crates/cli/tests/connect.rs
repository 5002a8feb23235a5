//! Where and how flak connects, through the real binary: `--cacert`, `--cert`/`--key` against a
//! server that requires client certificates, `--sni`, `--connect-to`, `--unix-socket`, `-x`
//! through a real tinyproxy (absolute form, CONNECT, HTTP/2 inside, credentials, refusals),
//! `--compressed`, `-4`/`-6`, and the bad input for each.

use std::collections::BTreeMap;
use std::net::{TcpListener, ToSocketAddrs as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;

use crate::common::recording_server::{self, gzip_body};
use crate::common::{
    FLAK, Target, TempDir, assert_accounts, exclusive, flak, flak_json, num, s, stderr, stdout,
};

fn counts(report: &Value) -> BTreeMap<String, u64> {
    serde_json::from_value(report["errors"].clone()).expect("an object of counts")
}

fn message(report: &Value, kind: &str) -> String {
    report["error_messages"][kind]
        .as_str()
        .unwrap_or_else(|| panic!("no message for {kind}: {}", report["error_messages"]))
        .to_string()
}

/// A run that must end with an exit code of 0 and a JSON report, even when every request failed.
fn run_json(args: &[&str]) -> Value {
    let mut all = vec!["--output", "json", "--no-progress"];
    all.extend_from_slice(args);
    let report = flak_json(&all);
    assert_accounts(&report);
    report
}

/// PEM text for DER bytes (rcgen here is built without its PEM feature).
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A CA, a server certificate for `flak.test` only and a client certificate, both from that
/// CA, written as PEM files; and a second CA and key that belong to none of them.
struct Pki {
    dir: TempDir,
    ca: CertificateDer<'static>,
    server_cert: CertificateDer<'static>,
    server_key: Vec<u8>,
}

impl Pki {
    fn new() -> Self {
        let dir = TempDir::new("pki");
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf = |name: &str, usage| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
            params.extended_key_usages = vec![usage];
            (params.signed_by(&key, &issuer).unwrap(), key)
        };
        let (server_cert, server_key) = leaf("flak.test", ExtendedKeyUsagePurpose::ServerAuth);
        let (client_cert, client_key) = leaf("client.test", ExtendedKeyUsagePurpose::ClientAuth);
        let other_ca_key = KeyPair::generate().unwrap();
        let mut other = CertificateParams::new(Vec::<String>::new()).unwrap();
        other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        other
            .distinguished_name
            .push(rcgen::DnType::CommonName, "another CA");
        let other_ca = other.self_signed(&other_ca_key).unwrap();
        dir.write("ca.pem", &pem("CERTIFICATE", ca.der()));
        dir.write("other-ca.pem", &pem("CERTIFICATE", other_ca.der()));
        dir.write("client.pem", &pem("CERTIFICATE", client_cert.der()));
        dir.write(
            "client.key",
            &pem("PRIVATE KEY", &client_key.serialize_der()),
        );
        dir.write(
            "other.key",
            &pem("PRIVATE KEY", &other_ca_key.serialize_der()),
        );
        dir.write("not-pem.txt", "hello\n");

        Self {
            dir,
            ca: ca.der().clone(),
            server_cert: server_cert.der().clone(),
            server_key: server_key.serialize_der(),
        }
    }

    /// The server's TLS settings: its certificate for `flak.test`, HTTP/2 and HTTP/1.1 by
    /// ALPN, and client certificates from the CA required or not asked for.
    fn server(&self, require_client_cert: bool) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca.clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let mut server = builder
            .with_single_cert(vec![self.server_cert.clone()], key)
            .unwrap();
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        server
    }

    fn path(&self, file: &str) -> String {
        s(&self.dir.path(file)).to_string()
    }
}

#[test]
fn cacert_client_certificate_and_sni_against_a_server_that_requires_them() {
    let _load = exclusive();
    let pki = Pki::new();
    let server = recording_server::tls(pki.server(true));
    let addr = server.addr.unwrap();
    let url = format!("https://{addr}/");
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client.key"),
    );
    let trusted = ["--cacert", &ca, "--cert", &cert, "--key", &key];

    let mut args = trusted.to_vec();
    args.extend(["--sni", "flak.test", "-n", "20", "-c", "2", &url]);
    let report = run_json(&args);
    assert_eq!(
        num(&report, "succeeded"),
        20,
        "{}",
        report["error_messages"]
    );
    args.insert(0, "--http2");
    let report = run_json(&args);
    assert_eq!(
        num(&report, "succeeded"),
        20,
        "{}",
        report["error_messages"]
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 40);
    assert!(
        seen.iter().all(|r| r.client_cert),
        "every connection showed the client certificate"
    );
    assert_eq!(
        seen.iter().filter(|r| r.http2).count(),
        20,
        "--http2 by ALPN"
    );
    assert!(
        seen.iter().all(|r| r.host == addr.to_string()),
        "--sni leaves Host alone"
    );

    // --connect-to sends https://flak.test/ to the server, keeping Host and the TLS name.
    let to = format!("flak.test:443:127.0.0.1:{}", addr.port());
    let mut args = trusted.to_vec();
    args.extend([
        "--connect-to",
        &to,
        "-n",
        "10",
        "-c",
        "2",
        "https://flak.test/",
    ]);
    let report = run_json(&args);
    assert_eq!(
        num(&report, "succeeded"),
        10,
        "{}",
        report["error_messages"]
    );
    assert!(server.seen()[40..].iter().all(|r| r.host == "flak.test"));

    // Each missing piece fails the handshake and no request reaches the server.
    let without_sni: Vec<&str> = trusted
        .iter()
        .copied()
        .chain(["-n", "3", "-c", "1", &url])
        .collect();
    let report = run_json(&without_sni);
    assert_eq!(counts(&report).get("tls"), Some(&3), "{}", report["errors"]);
    assert!(
        message(&report, "tls").contains("not valid for name"),
        "{}",
        message(&report, "tls")
    );
    let other_ca = pki.path("other-ca.pem");
    let report = run_json(&[
        "--cacert",
        &other_ca,
        "--cert",
        &cert,
        "--key",
        &key,
        "--sni",
        "flak.test",
        "-n",
        "3",
        "-c",
        "1",
        &url,
    ]);
    assert_eq!(counts(&report).get("tls"), Some(&3), "{}", report["errors"]);
    assert!(
        message(&report, "tls").contains("UnknownIssuer"),
        "{}",
        message(&report, "tls")
    );
    let report = run_json(&[
        "--cacert",
        &ca,
        "--sni",
        "flak.test",
        "-n",
        "3",
        "-c",
        "1",
        &url,
    ]);
    assert_eq!(
        num(&report, "failed"),
        3,
        "no client certificate: {}",
        report["errors"]
    );
    assert_eq!(
        server.seen().len(),
        50,
        "refused handshakes sent no request"
    );
}

#[test]
fn unix_socket_carries_the_urls_host_and_path() {
    let _load = exclusive();
    let dir = TempDir::new("unix");
    let path = dir.path("flak.sock");
    let server = recording_server::unix(&path, None);
    let report = run_json(&[
        "--unix-socket",
        s(&path),
        "-n",
        "40",
        "-c",
        "4",
        "http://flak.test/x",
    ]);
    assert_eq!(
        num(&report, "succeeded"),
        40,
        "{}",
        report["error_messages"]
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 40);
    assert!(seen.iter().all(|r| r.host == "flak.test"));
    let report = run_json(&[
        "--unix-socket",
        s(&path),
        "--http2",
        "-n",
        "20",
        "-c",
        "2",
        "http://flak.test/",
    ]);
    assert_eq!(
        num(&report, "succeeded"),
        20,
        "{}",
        report["error_messages"]
    );
    assert_eq!(server.seen().iter().filter(|r| r.http2).count(), 20);

    // https over the socket: the URL's host is the TLS name.
    let pki = Pki::new();
    let tls_path = dir.path("tls.sock");
    let tls = recording_server::unix(&tls_path, Some(pki.server(false)));
    let ca = pki.path("ca.pem");
    let report = run_json(&[
        "--unix-socket",
        s(&tls_path),
        "--cacert",
        &ca,
        "-n",
        "10",
        "-c",
        "2",
        "https://flak.test/",
    ]);
    assert_eq!(
        num(&report, "succeeded"),
        10,
        "{}",
        report["error_messages"]
    );
    assert_eq!(tls.seen().len(), 10);
}

#[test]
fn compressed_asks_for_gzip_br_zstd_and_counts_the_bytes_received() {
    let _load = exclusive();
    let server = recording_server::plain();
    let url = format!("http://{}/gzip", server.addr.unwrap());
    let report = run_json(&["--compressed", "-n", "10", "-c", "2", &url]);
    assert_eq!(num(&report, "succeeded"), 10);
    let wire = gzip_body().len() as u64;
    assert!(wire < 200, "10 000 bytes compress well: {wire}");
    assert_eq!(
        num(&report, "bytes"),
        10 * wire,
        "the encoded body, never decoded"
    );
    let report = run_json(&["-n", "2", "-c", "1", &url]);
    assert_eq!(num(&report, "succeeded"), 2);
    let encodings: Vec<Option<String>> = server
        .seen()
        .into_iter()
        .map(|r| r.accept_encoding)
        .collect();
    assert!(
        encodings[..10]
            .iter()
            .all(|e| e.as_deref() == Some("gzip, br, zstd")),
        "{encodings:?}"
    );
    assert!(encodings[10..].iter().all(Option::is_none), "{encodings:?}");
}

#[test]
fn ipv4_and_ipv6_choose_the_server_that_answers() {
    let _load = exclusive();
    let v4 = Target::start_with(&["--threads", "1"]);
    let port = v4.addr().port();
    let v6_listen = format!("[::1]:{port}");
    if TcpListener::bind(&v6_listen).is_err() {
        eprintln!("SKIPPED ipv4_and_ipv6: cannot listen on {v6_listen} (no IPv6 loopback here)");
        return;
    }
    let v6 = Target::launch(FLAK, &["target", "--listen", &v6_listen, "--threads", "1"]);
    let localhost = format!("http://localhost:{port}/");
    let report = run_json(&["-4", "-n", "10", "-c", "2", &localhost]);
    assert_eq!(num(&report, "succeeded"), 10);
    assert_eq!(
        (num(&v4.stats(), "requests"), num(&v6.stats(), "requests")),
        (10, 0)
    );
    let report = run_json(&[
        "-6",
        "-n",
        "10",
        "-c",
        "2",
        &format!("http://[::1]:{port}/"),
    ]);
    assert_eq!(num(&report, "succeeded"), 10);
    assert_eq!(
        (num(&v4.stats(), "requests"), num(&v6.stats(), "requests")),
        (10, 10)
    );
    let has_v6 = ("localhost", port)
        .to_socket_addrs()
        .is_ok_and(|mut a| a.any(|a| a.is_ipv6()));
    if has_v6 {
        let report = run_json(&["-6", "-n", "10", "-c", "2", &localhost]);
        assert_eq!(num(&report, "succeeded"), 10);
        assert_eq!(num(&v6.stats(), "requests"), 20, "-6 localhost reached ::1");
    } else {
        eprintln!("SKIPPED -6 with localhost: localhost has no IPv6 address here (/etc/hosts)");
        let out = flak(&["-6", "-n", "1", &localhost]);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            stderr(&out),
            "flak: localhost has no IPv6 (-6) address (it has 127.0.0.1)\n"
        );
    }
}

/// tinyproxy on a free loopback port with `extra` config lines, killed on drop.
struct TinyProxy {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl TinyProxy {
    fn start(extra: &str) -> Self {
        let dir = TempDir::new("tinyproxy");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.path("tinyproxy.log");
        let conf = dir.write(
            "tinyproxy.conf",
            &format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 64\nAllow 127.0.0.1\n\
                 DisableViaHeader Yes\nLogLevel Info\nLogFile \"{}\"\n{extra}",
                log.display()
            ),
        );
        let child = Command::new("tinyproxy")
            .args(["-d", "-c", s(&conf)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy is not installed (scripts/setup.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tinyproxy did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, port, dir }
    }

    fn url(&self, userinfo: &str) -> String {
        format!("http://{userinfo}127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("tinyproxy.log")).unwrap_or_default()
    }
}

impl Drop for TinyProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn through_tinyproxy_http_in_absolute_form_and_https_through_connect() {
    let _load = exclusive();
    let proxy = TinyProxy::start("");
    let plain = Target::start_with(&["--threads", "1"]);
    let url = plain.url("delay/1");
    let report = run_json(&["-x", &proxy.url(""), "-n", "30", "-c", "3", &url]);
    assert_eq!(
        num(&report, "succeeded"),
        30,
        "{}",
        report["error_messages"]
    );
    assert_eq!(num(&plain.stats(), "requests"), 30);
    assert!(
        proxy.log().contains(&format!("GET {url} HTTP/1.1")),
        "absolute form:\n{}",
        proxy.log()
    );
    // HTTP/2 with prior knowledge cannot go in absolute form: it takes a tunnel.
    let report = run_json(&["--http2", "-x", &proxy.url(""), "-n", "20", "-c", "2", &url]);
    assert_eq!(
        num(&report, "succeeded"),
        20,
        "{}",
        report["error_messages"]
    );
    let stats = plain.stats();
    assert_eq!((num(&stats, "requests"), num(&stats, "http2")), (50, 20));

    let tls = recording_server::tls(Pki::new().server(false));
    let https = format!("https://{}/", tls.addr.unwrap());
    let via = proxy.url("");
    for http2 in [false, true] {
        let mut args = vec!["--insecure", "-x", &via, "-n", "30", "-c", "3", &https];
        if http2 {
            args.insert(0, "--http2");
        }
        let report = run_json(&args);
        assert_eq!(
            num(&report, "succeeded"),
            30,
            "{}",
            report["error_messages"]
        );
    }
    let seen = tls.seen();
    assert_eq!(seen.len(), 60);
    assert_eq!(
        seen.iter().filter(|r| r.http2).count(),
        30,
        "HTTP/2 inside CONNECT"
    );
    let connect = format!("CONNECT 127.0.0.1:{} HTTP/1.1", tls.addr.unwrap().port());
    assert!(proxy.log().contains(&connect), "{}", proxy.log());
}

#[test]
fn proxy_credentials_and_refused_connects() {
    let _load = exclusive();
    // Credentials required; CONNECT only to port 1, so every tunnel to the target is refused.
    let proxy = TinyProxy::start("BasicAuth flak s3cret\nConnectPort 1\n");
    let plain = Target::start_with(&["--threads", "1"]);
    let report = run_json(&[
        "-x",
        &proxy.url("flak:s3cret@"),
        "-n",
        "10",
        "-c",
        "2",
        &plain.url(""),
    ]);
    assert_eq!(
        num(&report, "succeeded"),
        10,
        "{}",
        report["error_messages"]
    );
    assert_eq!(num(&plain.stats(), "requests"), 10);
    let report = run_json(&["-x", &proxy.url(""), "-n", "4", "-c", "2", &plain.url("")]);
    assert_eq!(
        num(&report, "failed"),
        4,
        "no credentials: the proxy answers itself"
    );
    assert_eq!(num(&plain.stats(), "requests"), 10);

    let https = "https://127.0.0.1:8443/";
    let report = run_json(&[
        "--insecure",
        "-x",
        &proxy.url(""),
        "-n",
        "3",
        "-c",
        "1",
        https,
    ]);
    assert_eq!(
        counts(&report),
        BTreeMap::from([("connect_refused".to_string(), 3)])
    );
    assert!(
        message(&report, "connect_refused").contains("refused with 407"),
        "{report}"
    );
    let report = run_json(&[
        "--insecure",
        "-x",
        &proxy.url("flak:s3cret@"),
        "-n",
        "3",
        "-c",
        "1",
        https,
    ]);
    assert_eq!(
        counts(&report),
        BTreeMap::from([("connect_refused".to_string(), 3)])
    );
    assert!(
        message(&report, "connect_refused").contains("refused with 403"),
        "{report}"
    );

    // A proxy that accepts the connection and never answers: the connect timeout ends it.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let began = Instant::now();
    let report = run_json(&[
        "--connect-timeout",
        "300ms",
        "-x",
        &silent_url,
        "-n",
        "2",
        "-c",
        "2",
        https,
    ]);
    assert_eq!(
        counts(&report),
        BTreeMap::from([("connect_timeout".to_string(), 2)])
    );
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
}

/// Checks a refusal: exit code 2, nothing on stdout, one line on stderr containing `want`.
fn refused(args: &[&str], want: &str) -> Option<String> {
    let out = flak(args);
    let err = stderr(&out);
    let ok = out.status.code() == Some(2)
        && out.stdout.is_empty()
        && err.lines().count() == 1
        && err.starts_with("flak: ")
        && err.contains(want);
    (!ok).then(|| {
        format!(
            "flak {}: exit {}, stdout {:?}, stderr {err:?} (want {want:?})",
            args.join(" "),
            out.status,
            stdout(&out)
        )
    })
}

#[test]
fn bad_tls_proxy_and_route_input_is_one_line_and_exit_2() {
    let pki = Pki::new();
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client.key"),
    );
    let (other_key, not_pem) = (pki.path("other.key"), pki.path("not-pem.txt"));
    let missing: PathBuf = pki.dir.path("missing.pem");
    let missing = s(&missing);
    let u = "http://127.0.0.1:1/";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--cacert", missing, u], "--cacert"),
        (vec!["--cacert", &not_pem, u], "no PEM certificate"),
        (vec!["--cert", &cert, u], "--cert needs --key"),
        (vec!["--key", &key, u], "--key needs --cert"),
        (vec!["--cert", missing, "--key", &key, u], "--cert"),
        (vec!["--cert", &cert, "--key", missing, u], "--key"),
        (
            vec!["--cert", &cert, "--key", &not_pem, u],
            "no PEM private key",
        ),
        (
            vec!["--cert", &cert, "--key", &other_key, u],
            "does not match the certificate",
        ),
        (vec!["--cacert", &ca, "--sni", "bad name!", u], "--sni"),
        (vec!["-x", "http://", u], "--proxy"),
        (vec!["-x", "http://:3128", u], "--proxy"),
        (vec!["-x", "socks5://127.0.0.1:1080", u], "not supported"),
        (vec!["-x", "https://127.0.0.1:1080", u], "not supported"),
        (vec!["--connect-to", "a:1:b", u], "--connect-to"),
        (vec!["--connect-to", "a:1:b:2:3", u], "--connect-to"),
        (vec!["--connect-to", "a:x:b:2", u], "bad port"),
        (vec!["--connect-to", "a:1:[::1:2", u], "brackets"),
        (vec!["--unix-socket", missing, u], "--unix-socket"),
        (vec!["--unix-socket", &ca, u], "not a socket"),
        (vec!["-6", u], "no IPv6"),
        (vec!["-4", "http://[::1]:1/"], "no IPv4"),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(a, want)| refused(a, want))
        .collect();
    assert!(
        failures.is_empty(),
        "{} cases:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
