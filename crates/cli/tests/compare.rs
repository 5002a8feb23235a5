//! Comparing runs through the real binary: `flak compare` flags a real latency change and not
//! the noise between two runs of the same endpoint; `--baseline` with relative thresholds gates
//! a run on its regression against a known-good one.

use crate::common::{Target, TempDir, exclusive, flak, s, stderr, stdout};

#[test]
fn compare_flags_a_real_change_and_not_noise_and_baselines_gate_runs() {
    let _load = exclusive();
    let target = Target::start();
    let dir = TempDir::new("compare");
    let run = |name: &str, path: &str| {
        let file = dir.path(name);
        let out = flak(&["-n", "3000", "-c", "10", "-o", s(&file), &target.url(path)]);
        assert!(out.status.success(), "{}", stderr(&out));
        file
    };
    let base = run("base.json", "delay/5");
    let slower = run("slower.json", "delay/10");
    let again = run("again.json", "delay/5");

    let changed = flak(&["compare", s(&base), s(&slower), "--fail-if-changed"]);
    let text = stdout(&changed);
    assert_eq!(changed.status.code(), Some(1), "{text}");
    let p50 = text.lines().find(|l| l.starts_with("p50 ms")).unwrap();
    assert!(p50.ends_with("yes"), "{p50}");
    assert!(text.contains("latency changed beyond noise"), "{text}");
    assert!(text.contains("Kolmogorov"), "the method is named: {text}");

    let same = flak(&[
        "compare",
        s(&base),
        s(&again),
        "--fail-if-changed",
        "--output",
        "json",
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    let json: serde_json::Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!(json["latency_changed"], false, "{json}");

    let markdown = stdout(&flak(&[
        "compare",
        s(&base),
        s(&slower),
        "--output",
        "markdown",
    ]));
    assert!(
        markdown.starts_with("| metric | base | new | change | beyond noise |"),
        "{markdown}"
    );

    // A relative gate: the slower endpoint breaks 'p50>+20%' against the base run.
    let gate = |url: &str| {
        flak(&[
            "-n",
            "500",
            "-c",
            "10",
            "--baseline",
            s(&base),
            "--fail-if",
            "p50>+20%",
            url,
        ])
    };
    let broken = gate(&target.url("delay/10"));
    assert_eq!(broken.status.code(), Some(1), "{}", stderr(&broken));
    assert!(stderr(&broken).contains("baseline"), "{}", stderr(&broken));
    assert_eq!(gate(&target.url("delay/5")).status.code(), Some(0));

    // Bad input: a relative threshold without a baseline, a corrupt file.
    let alone = flak(&["-n", "5", "--fail-if", "p50>+20%", target.base()]);
    assert_eq!(alone.status.code(), Some(2));
    assert!(
        stderr(&alone).contains("give --baseline FILE"),
        "{}",
        stderr(&alone)
    );
    let corrupt = dir.write("corrupt.json", "{\"format\": \"flak-results\"}");
    let bad = flak(&["compare", s(&base), s(&corrupt)]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(stderr(&bad).lines().count(), 1, "{}", stderr(&bad));
}
