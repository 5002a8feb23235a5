//! A small cluster on one machine: network namespaces as separate client hosts and one target
//! host, joined by veth pairs. N shards run in N namespaces against `flak target`; the merged
//! total must equal the target's own count, and the merged percentiles those of one histogram
//! holding every sample. Skipped, with a message, where namespaces cannot be created (not root,
//! no `ip`). Traffic stays inside the namespaces this test creates.

use std::process::{Command, Output};
use std::time::Duration;

use crate::common::{FLAK, Running, TempDir, exclusive, num, parse_json, s};

const SHARDS: u32 = 3;

fn ip(args: &[&str]) -> Output {
    Command::new("ip").args(args).output().expect("running ip")
}

fn must(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Namespaces made by this test, deleted (with their veths) when it ends.
pub(crate) struct Cluster {
    prefix: String,
    names: Vec<String>,
}

impl Cluster {
    fn ns(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn add(&mut self, name: &str) -> String {
        let full = self.ns(name);
        must(&["netns", "add", &full]);
        self.names.push(full.clone());
        must(&["-n", &full, "link", "set", "lo", "up"]);
        full
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// Whether this machine lets the test create namespaces.
pub(crate) fn namespaces_available() -> Result<(), String> {
    let probe = format!("flakprobe{}", std::process::id());
    match Command::new("ip").args(["netns", "add", &probe]).output() {
        Ok(out) if out.status.success() => {
            let _ = ip(&["netns", "del", &probe]);
            Ok(())
        }
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(e) => Err(format!("no `ip` command: {e}")),
    }
}

/// GET `path` from inside namespace `ns` with bash's /dev/tcp (no other client needed there).
/// The path goes to printf as an argument, not in its format: a percent-encoded query would
/// otherwise be read as conversions.
pub(crate) fn get_in(ns: &str, host: &str, port: u16, path: &str) -> String {
    let script = format!(
        "exec 3<>/dev/tcp/{host}/{port}; printf 'GET %s HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n' '{path}' >&3; cat <&3"
    );
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "bash", "-c", &script])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn shards_on_separate_hosts_merge_to_the_targets_own_count() {
    if let Err(why) = namespaces_available() {
        println!(
            "SKIPPED: cannot create network namespaces here ({why}); run as root with iproute2"
        );
        return;
    }
    let _load = exclusive();
    let (_cluster, target_ns, clients) = cluster(SHARDS);
    let (_target, port) = start_target(&target_ns);
    let dir = TempDir::new("netns");
    let runs: Vec<Running> = clients
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            let file = dir.path(&format!("shard-{i}.json"));
            let shard = format!("{i}/{SHARDS}");
            let url = format!("http://10.203.{i}.1:{port}/jitter/0-4");
            Running::spawn(
                "ip",
                &[
                    "netns",
                    "exec",
                    ns,
                    FLAK,
                    "--shard",
                    &shard,
                    "-n",
                    "3000",
                    "-c",
                    "8",
                    "--seed",
                    "3",
                    "-o",
                    s(&file),
                    "--output",
                    "json",
                    &url,
                ],
            )
        })
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        let out = run.finish(Duration::from_secs(60));
        assert!(
            out.status.success(),
            "shard {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let files: Vec<String> = (0..SHARDS)
        .map(|i| s(&dir.path(&format!("shard-{i}.json"))).to_string())
        .collect();
    let merged_path = dir.path("merged.json");
    let mut args = vec!["merge".to_string()];
    args.extend(files.iter().cloned());
    args.extend([
        "-o".into(),
        s(&merged_path).into(),
        "--output".into(),
        "json".into(),
    ]);
    let merge = crate::common::flak(&args);
    assert!(
        merge.status.success(),
        "merge: {}",
        String::from_utf8_lossy(&merge.stderr)
    );
    let merged = parse_json(&merge.stdout);

    // The target's own count, asked from inside its namespace.
    let stats = parse_json(get_in(&clients[0], "10.203.0.1", port, "/stats").as_bytes());
    assert_eq!(num(&merged, "total"), 3000);
    assert_eq!(num(&merged, "succeeded"), 3000);
    assert_eq!(
        num(&stats, "requests"),
        3000,
        "the target counted what the shards report"
    );

    // One histogram that recorded every sample, built independently from the shards' files.
    let mut all = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    for file in &files {
        let shard = parse_json(&std::fs::read(file).unwrap());
        let h: hdrhistogram::Histogram<u64> =
            flak_core::results::decode("histogram", shard["histogram"].as_str().unwrap()).unwrap();
        for v in h.iter_recorded() {
            all.record_n(v.value_iterated_to(), v.count_at_value())
                .unwrap();
        }
    }
    assert_eq!(all.len(), 3000);
    for (key, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)] {
        let want = all.value_at_quantile(q) as f64 / 1e3;
        let got = merged["latency_ms"][key].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-9,
            "{key}: merged {got} ms, single histogram {want} ms"
        );
    }
}

/// A target namespace and `shards` client namespaces, client `i` at 10.203.i.2 reaching the
/// target at 10.203.i.1 over its own veth pair.
pub(crate) fn cluster(shards: u32) -> (Cluster, String, Vec<String>) {
    let pid = std::process::id() % 100_000;
    let mut cluster = Cluster {
        prefix: format!("flak{pid}"),
        names: Vec::new(),
    };
    let target_ns = cluster.add("t");
    let clients: Vec<String> = (0..shards)
        .map(|i| {
            let client = cluster.add(&format!("c{i}"));
            let (a, b) = (format!("fk{pid}a{i}"), format!("fk{pid}b{i}"));
            must(&["link", "add", &a, "type", "veth", "peer", "name", &b]);
            must(&["link", "set", &a, "netns", &client]);
            must(&["link", "set", &b, "netns", &target_ns]);
            let client_ip = format!("10.203.{i}.2/24");
            let target_ip = format!("10.203.{i}.1/24");
            must(&["-n", &client, "addr", "add", &client_ip, "dev", &a]);
            must(&["-n", &target_ns, "addr", "add", &target_ip, "dev", &b]);
            must(&["-n", &client, "link", "set", &a, "up"]);
            must(&["-n", &target_ns, "link", "set", &b, "up"]);
            client
        })
        .collect();
    (cluster, target_ns, clients)
}

/// A process inside a namespace, killed on drop.
pub(crate) struct Child(pub(crate) std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `flak target` in `ns` on a free port and reads the port from its first line.
pub(crate) fn start_target(ns: &str) -> (Child, u16) {
    use std::io::BufRead as _;
    let mut child = Child(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                FLAK,
                "target",
                "--listen",
                "0.0.0.0:0",
                "--threads",
                "1",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .unwrap()
        .trim_end_matches('/');
    (child, addr.rsplit(':').next().unwrap().parse().unwrap())
}
