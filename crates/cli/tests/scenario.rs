//! Fan-out scenarios through the real binary: three endpoints with different delays and one
//! that fails, against `flak target`.

use crate::common::{Target, TempDir, assert_accounts, exclusive, flak, flak_json, float, num, s};

#[test]
fn a_fan_out_waits_for_the_slowest_member_and_counts_each_exactly() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("scenario");
    let file = dir.write(
        "page.toml",
        &format!(
            "name = \"page\"\n\
             [[request]]\nname = \"fast\"\nurl = \"{}\"\n\
             [[request]]\nname = \"medium\"\nurl = \"{}\"\n\
             [[request]]\nname = \"slow\"\nurl = \"{}\"\n\
             [[request]]\nname = \"broken\"\nmethod = \"POST\"\nurl = \"{}\"\nbody = \"{{}}\"\n",
            target.url("delay/5"),
            target.url("delay/15"),
            target.url("delay/30"),
            target.url("status/503"),
        ),
    );
    let report = flak_json(&[
        "--scenario",
        s(&file),
        "-n",
        "120",
        "-c",
        "6",
        "--output",
        "json",
    ]);
    assert_accounts(&report);
    assert_eq!(num(&report, "total"), 120, "iterations");
    assert_eq!(
        num(&target.stats(), "requests"),
        480,
        "each iteration sent all four"
    );
    let members = report["members"].as_array().unwrap();
    let names: Vec<&str> = members
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fast", "medium", "slow", "broken"]);
    for m in members {
        assert_eq!(num(m, "total"), 120, "{}", m["name"]);
    }
    assert_eq!(
        num(&members[3], "failed"),
        120,
        "the 503s stay with their member"
    );
    assert_eq!(members[3]["status_codes"]["503"], 120);
    assert_eq!(num(&members[0], "failed"), 0, "and never cancel the others");
    let slow = float(&members[2]["latency_ms"], "p50");
    let group = float(&report["latency_ms"], "p50");
    assert!(
        group >= slow && group <= slow + 3.0,
        "group p50 {group} ms ≈ slowest member's {slow} ms"
    );
    // The text report lists the members too.
    let text = flak(&["--scenario", s(&file), "-n", "12", "-c", "3"]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(
        out.contains("Fan-out members") && out.contains("broken"),
        "{out}"
    );
}

#[test]
fn a_bad_scenario_file_is_one_line_and_exit_2() {
    let dir = TempDir::new("bad-scenario");
    for (name, text, want) in [
        ("empty.toml", "", "no [[request]] or [[step]] entries"),
        (
            "nourl.toml",
            "[[request]]\nname = \"x\"\n",
            "missing field `url`",
        ),
        (
            "dup.toml",
            "[[request]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"\n[[request]]\nname = \"a\"\nurl = \"http://127.0.0.1:1/\"\n",
            "distinct names",
        ),
        ("broken.toml", "[[request]\n", "line 1"),
    ] {
        let file = dir.write(name, text);
        let out = flak(&["--scenario", s(&file), "-n", "1"]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(
            err.contains(want),
            "{name}: {err:?} should contain {want:?}"
        );
    }
}
