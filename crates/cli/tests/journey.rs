//! Journeys through the real binary: bad scenarios and data files refused before anything is
//! sent (one line naming file, line and field, exit 2), and whole journeys against
//! `flak target`'s login, profile and per-user endpoints.

use crate::common::{TempDir, flak, s};

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
