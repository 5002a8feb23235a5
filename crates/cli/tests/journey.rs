//! Journeys through the real binary: bad scenarios and data files refused before anything is
//! sent (one line naming file, line and field, exit 2), and whole journeys against
//! `flak target`'s login, profile and per-user endpoints.

use std::time::Duration;

use serde_json::Value;

use crate::common::{
    Running, Target, TempDir, assert_accounts, assert_success, exclusive, flak, flak_json, float,
    num, s, stdout,
};

/// A port nothing listens on: a refused scenario must never get as far as connecting.
const NOWHERE: &str = "http://127.0.0.1:9";

#[test]
fn a_bad_journey_or_data_file_is_one_line_naming_it_and_exit_2() {
    let dir = TempDir::new("bad-journey");
    dir.write("users.csv", "user,item\nann,1\nbob,2\n");
    dir.write("empty.csv", "");
    dir.write("ragged.csv", "user,item\nann,1\nbob\n");
    dir.write("users.jsonl", "{\"user\": \"ann\"}\n{\"user\": \n");
    dir.write("users.txt", "user\nann\n");
    let step = |extra: &str| {
        format!("data = \"users.csv\"\n[[step]]\nname = \"login\"\nurl = \"{NOWHERE}/\"\n{extra}")
    };
    let cases: Vec<(&str, String, Vec<&str>, &str)> = vec![
        (
            "unknown.toml",
            step("colour = \"red\""),
            vec![],
            "unknown field `colour`",
        ),
        (
            "var.toml",
            format!(
                "[[step]]\nname = \"me\"\nurl = \"{NOWHERE}/me\"\nheaders = [\"Authorization: Bearer {{var:token}}\"]\n[[step]]\nname = \"login\"\nurl = \"{NOWHERE}/login\"\nextract = {{ token = \"json:/token\" }}\n"
            ),
            vec![],
            "step \"me\", headers: {var:token} is used before any earlier step extracts it (step \"login\" extracts it later)",
        ),
        (
            "column.toml",
            step("body = '{\"user\": \"{data:name}\"}'"),
            vec![],
            "step \"login\", body: {data:name}: the data file has no column \"name\" (it has \"user\", \"item\")",
        ),
        (
            "jsonpath.toml",
            step("extract = { token = \"jsonpath:$.[\" }"),
            vec![],
            "step \"login\", extract.token:",
        ),
        (
            "regex.toml",
            step("extract = { order = \"regex:order-(\\\\d+\" }"),
            vec![],
            "does not compile",
        ),
        (
            "nodata.toml",
            format!("[[step]]\nurl = \"{NOWHERE}/users/{{data:user}}\"\n"),
            vec![],
            "{data:user} needs a data file",
        ),
        (
            "emptycsv.toml",
            step(""),
            vec!["--data", "DIR/empty.csv"],
            "empty.csv: the file is empty",
        ),
        (
            "ragged.toml",
            step(""),
            vec!["--data", "DIR/ragged.csv"],
            "ragged.csv: line 3:",
        ),
        (
            "jsonl.toml",
            step(""),
            vec!["--data", "DIR/users.jsonl"],
            "users.jsonl: line 2:",
        ),
        (
            "missing.toml",
            step(""),
            vec!["--data", "DIR/nope.csv"],
            "nope.csv: cannot read the file",
        ),
        (
            "ext.toml",
            step(""),
            vec!["--data", "DIR/users.txt"],
            "users.txt: name the file .csv",
        ),
        (
            "fanout-data.toml",
            format!("[[request]]\nurl = \"{NOWHERE}/\"\n"),
            vec!["--data", "DIR/users.csv"],
            "--data needs a journey",
        ),
    ];
    let dir_text = dir.path("").display().to_string();
    for (name, text, extra, want) in cases {
        let file = dir.write(name, &text);
        let mut args = vec!["--scenario".to_string(), s(&file).to_string()];
        args.extend(
            extra
                .iter()
                .map(|a| a.replace("DIR/", &format!("{dir_text}/"))),
        );
        args.extend(["-n".into(), "1".into()]);
        let out = flak(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(name), "{name}: {err:?} should name the file");
        assert!(
            err.contains(want),
            "{name}: {err:?} should contain {want:?}"
        );
    }
}

/// The journey the issue describes: log in with a user from the data file, a page that fans out
/// to three endpoints with the token, then an update.
fn login_profile_update(target: &Target, data: &str) -> String {
    format!(
        r#"data = "{data}"
[[step]]
name = "login"
method = "POST"
url = "{login}"
headers = ["Content-Type: application/json"]
body = '{{"user": "{{data:user}}"}}'
extract = {{ token = "json:/token", session = "header:x-session" }}
check = {{ status = [200, 201] }}
[[step]]
name = "profile"
[[step.request]]
name = "me"
url = "{me}"
headers = ["Authorization: Bearer {{var:token}}"]
check = {{ status = [200], body_contains = "\"user\"" }}
[[step.request]]
name = "record"
url = "{users}/{{data:user}}"
headers = ["Authorization: Bearer {{var:token}}", "X-Session: {{var:session}}"]
extract = {{ order = "regex:order-(\\d+)" }}
check = {{ status = [200] }}
[[step.request]]
name = "item"
url = "{items}/{{data:item}}"
[[step]]
name = "update"
method = "PUT"
url = "{users}/{{data:user}}"
headers = ["Authorization: Bearer {{var:token}}"]
body = '{{"order": "{{var:order}}"}}'
check = {{ status = [200], body_contains = "updated" }}
"#,
        login = target.url("login"),
        me = target.url("me"),
        users = target.url("users"),
        items = target.url("items"),
    )
}

fn users_csv(n: usize) -> String {
    let mut csv = String::from("user,item\n");
    for i in 0..n {
        csv.push_str(&format!("u{i},{}\n", i % 17));
    }
    csv
}

fn member<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == name))
        .unwrap_or_else(|| panic!("no member {name:?} in {}", report["members"]))
}

#[test]
fn every_request_carries_its_own_iterations_token_and_counts_match_the_server() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("journey");
    dir.write("users.csv", &users_csv(50));
    let file = dir.write("journey.toml", &login_profile_update(&target, "users.csv"));
    for protocol in [None, Some("--http2")] {
        target.reset();
        let mut args = vec![
            "--scenario",
            s(&file),
            "-n",
            "300",
            "-c",
            "6",
            "--output",
            "json",
        ];
        args.extend(protocol);
        let report = flak_json(&args);
        assert_accounts(&report);
        crate::cli::assert_schema_valid(&report);
        assert_eq!(report["journey"], true);
        assert_eq!(
            (num(&report, "total"), num(&report, "succeeded")),
            (300, 300),
            "{protocol:?}: {report}"
        );
        assert!(report.get("checks_failed").is_none(), "{report}");
        assert!(report.get("skipped").is_none(), "{report}");
        let server = &target.stats()["journey"];
        assert_eq!(num(server, "unauthorized"), 0, "{server}");
        assert_eq!(num(server, "forbidden"), 0, "{server}");
        for (step, endpoint) in [
            ("login", "login"),
            ("profile / me", "me"),
            ("profile / record", "users_get"),
            ("profile / item", "items"),
            ("update", "users_put"),
        ] {
            let m = member(&report, step);
            assert_eq!(num(m, "total"), 300, "{step}: {m}");
            assert_eq!(num(m, "succeeded"), 300, "{step}: {m}");
            assert_eq!(
                num(server, endpoint),
                300,
                "{protocol:?} {endpoint}: {server}"
            );
        }
        // Sequential rows: 300 iterations over 50 users, each user 6 times.
        assert_eq!(num(server, "distinct_users"), 50, "{server}");
    }
}

#[test]
fn a_failed_check_skips_the_rest_and_a_missing_value_is_named() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("journey-fail");
    dir.write("users.csv", &users_csv(5));
    // login answers 200, which this check refuses: nothing after it may be sent.
    let text = login_profile_update(&target, "users.csv")
        .replace(
            "check = { status = [200, 201] }",
            "check = { status = [201] }",
        )
        .replace("think = ", "# think = ");
    let file = dir.write("strict.toml", &text);
    let report = flak_json(&[
        "--scenario",
        s(&file),
        "-n",
        "20",
        "-c",
        "2",
        "--output",
        "json",
    ]);
    assert_accounts(&report);
    assert_eq!((num(&report, "total"), num(&report, "failed")), (20, 20));
    assert_eq!(num(&report["errors"], "check"), 20, "{report}");
    let login = member(&report, "login");
    assert_eq!(num(&login["errors"], "check"), 20);
    assert_eq!(num(&login["checks_failed"]["status in [201]"], "count"), 20);
    assert_eq!(
        login["checks_failed"]["status in [201]"]["first"],
        "status in [201]: got 200"
    );
    for step in [
        "profile / me",
        "profile / record",
        "profile / item",
        "update",
    ] {
        let m = member(&report, step);
        assert_eq!((num(m, "total"), num(m, "skipped")), (0, 20), "{step}: {m}");
    }
    assert_eq!(num(&report, "skipped"), 80);
    let server = &target.stats()["journey"];
    assert_eq!(
        (num(server, "login"), num(server, "me")),
        (20, 0),
        "{server}"
    );

    // A header the server never sends: the login fails with kind `extract`, by name.
    target.reset();
    let text =
        login_profile_update(&target, "users.csv").replace("header:x-session", "header:x-missing");
    let file = dir.write("missing.toml", &text);
    let out = flak(&["--scenario", s(&file), "-n", "6", "-c", "1"]);
    let text = stdout(&out);
    assert!(
        text.contains("Extraction failures:")
            && text.contains("login: session ×6   first: no x-missing header in the response"),
        "{text}"
    );
    assert!(text.contains("Skipped:      24 requests"), "{text}");
}

#[test]
fn think_time_spaces_the_steps_but_is_not_latency() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("journey-think");
    let file = dir.write(
        "think.toml",
        &format!(
            "[[step]]\nurl = \"{}\"\nthink = \"200ms\"\n[[step]]\nurl = \"{}\"\n",
            target.url("delay/1"),
            target.url("")
        ),
    );
    let report = flak_json(&[
        "--scenario",
        s(&file),
        "-n",
        "5",
        "-c",
        "1",
        "--output",
        "json",
    ]);
    assert_eq!(num(&report, "succeeded"), 5);
    // Five iterations each wait 200 ms between their steps: the run takes at least 1 s, but
    // no iteration's latency includes the wait (two quick requests, even on a busy machine).
    assert!(float(&report, "elapsed_s") >= 1.0, "{report}");
    assert!(float(&report["latency_ms"], "max") < 200.0, "{report}");
}

#[test]
fn ten_thousand_users_sequential_each_once_across_threads_and_shards() {
    let _load = exclusive();
    let target = Target::start_with(&["--threads", "2"]);
    let dir = TempDir::new("journey-10k");
    dir.write("users.csv", &users_csv(10_000));
    let file = dir.write(
        "users.toml",
        &format!(
            "data = \"users.csv\"\n\
             [[step]]\nname = \"login\"\nmethod = \"POST\"\nurl = \"{}\"\nbody = '{{\"user\": \"{{data:user}}\"}}'\nextract = {{ token = \"json:/token\" }}\n\
             [[step]]\nname = \"record\"\nurl = \"{}/{{data:user}}\"\nheaders = [\"Authorization: Bearer {{var:token}}\"]\ncheck = {{ status = [200] }}\n",
            target.url("login"),
            target.url("users")
        ),
    );
    let each_once = |what: &str| {
        let server = &target.stats()["journey"];
        assert_eq!(num(server, "users_get"), 10_000, "{what}: {server}");
        assert_eq!(num(server, "distinct_users"), 10_000, "{what}: {server}");
        assert_eq!(
            num(server, "forbidden") + num(server, "unauthorized"),
            0,
            "{what}: {server}"
        );
    };
    target.reset();
    let report = flak_json(&[
        "--scenario",
        s(&file),
        "-n",
        "10000",
        "-c",
        "16",
        "--threads",
        "2",
        "--output",
        "json",
    ]);
    assert_eq!(num(&report, "succeeded"), 10_000, "{report}");
    each_once("2 threads");

    target.reset();
    let shard = |i: u32| {
        let out = dir.path(&format!("shard{i}.json"));
        let running = Running::spawn(
            crate::common::FLAK,
            &[
                "--scenario",
                s(&file),
                "-n",
                "10000",
                "-c",
                "8",
                "--shard",
                &format!("{i}/2"),
                "-o",
                s(&out),
            ],
        );
        (running, out)
    };
    let ((first, a), (second, b)) = (shard(0), shard(1));
    assert_success(&first.finish(Duration::from_secs(120)));
    assert_success(&second.finish(Duration::from_secs(120)));
    let merged = flak_json(&["merge", s(&a), s(&b), "--output", "json"]);
    assert_eq!(num(&merged, "succeeded"), 10_000, "{merged}");
    assert_eq!(num(member(&merged, "record"), "succeeded"), 10_000);
    each_once("2 shards");
}
