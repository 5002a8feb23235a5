//! Tests of data files: both formats, their bad inputs, row choice, and the store's size.

use super::*;

fn csv(text: &str) -> Result<DataSet, DataError> {
    DataSet::parse(DataFormat::Csv, text.as_bytes())
}

fn jsonl(text: &str) -> Result<DataSet, DataError> {
    DataSet::parse(DataFormat::JsonLines, text.as_bytes())
}

#[test]
fn csv_rows_by_column_name() {
    let set = csv("user,item\nalice,1\n\"bob, jr\",\"say \"\"hi\"\"\"\n\ncarol,\n").unwrap();
    assert_eq!(set.columns().collect::<Vec<_>>(), ["user", "item"]);
    assert_eq!(set.rows(), 3);
    assert_eq!(set.row_at(0).by_name("user"), Some("alice"));
    assert_eq!(set.row_at(1).by_name("user"), Some("bob, jr"));
    assert_eq!(set.row_at(1).get(1), Some("say \"hi\""));
    assert_eq!(set.row_at(2).by_name("item"), Some(""));
    assert_eq!(set.row_at(2).by_name("nope"), None);
    assert_eq!(set.row_at(2).get(2), None);
}

#[test]
fn json_lines_keep_numbers_and_bools_as_text() {
    let set =
        jsonl("{\"user\": \"alice\", \"id\": 7, \"vip\": true}\n\n{\"id\": 8.5, \"user\": \"bob\", \"vip\": false}\n")
            .unwrap();
    assert_eq!(set.rows(), 2);
    let row = set.row_at(1);
    assert_eq!(row.by_name("user"), Some("bob"));
    assert_eq!(row.by_name("id"), Some("8.5"));
    assert_eq!(row.by_name("vip"), Some("false"));
    assert_eq!(set.row_at(0).by_name("id"), Some("7"));
}

#[test]
fn bad_files_name_the_line_and_the_fault() {
    for (got, want) in [
        (csv(""), "the file is empty"),
        (csv("  \n\n"), "the file is empty"),
        (csv("user,item\n"), "no rows after the column names"),
        (
            csv("user,item\na,1\nb\n"),
            "line 3: 1 fields, but the header row has 2",
        ),
        (csv("user,item\na,1,x\n"), "line 2: 3 fields"),
        (
            csv("user,user\na,1\n"),
            "line 1: column \"user\" appears twice",
        ),
        (csv("user,\na,1\n"), "line 1: column 2 has no name"),
        (jsonl(""), "the file is empty"),
        (jsonl("{\"a\": 1}\n[1, 2]\n"), "line 2: not a JSON object"),
        (jsonl("{\"a\": 1}\n\n{\"a\": \n"), "line 3: invalid JSON"),
        (
            jsonl("{\"a\": null}\n"),
            "line 1: key \"a\": values must be strings, numbers or bools",
        ),
        (jsonl("{\"a\": {\"b\": 1}}\n"), "values must be strings"),
        (
            jsonl("{\"a\": 1, \"b\": 2}\n{\"a\": 1}\n"),
            "line 2: key \"b\" is missing",
        ),
        (
            jsonl("{\"a\": 1}\n{\"a\": 1, \"c\": 2}\n"),
            "line 2: key \"c\" is not on the first line",
        ),
        (jsonl("{\"a}\": 1}\n"), "cannot hold '}'"),
        (jsonl("\n\n{}\n"), "line 3: no columns"),
    ] {
        let err = got.unwrap_err().to_string();
        assert!(err.contains(want), "{err:?} should contain {want:?}");
    }
    let err = DataSet::parse(DataFormat::Csv, b"user\n\xff\xfe\n").unwrap_err();
    assert_eq!(err.to_string(), "line 2: not UTF-8 text");
    let err = DataSet::parse(
        DataFormat::JsonLines,
        b"{\"a\": \"1\"}\n{\"a\": \"\xff\"}\n",
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "line 2: not UTF-8 text");
}

#[test]
fn byte_order_marks_and_crlf_line_ends_are_read() {
    let set = DataSet::parse(DataFormat::Csv, b"\xEF\xBB\xBFuser,item\r\na,1\r\n").unwrap();
    assert_eq!(set.columns().collect::<Vec<_>>(), ["user", "item"]);
    assert_eq!(set.row_at(0).by_name("item"), Some("1"));
    let set = DataSet::parse(
        DataFormat::JsonLines,
        b"\xEF\xBB\xBF{\"u\": \"a\"}\r\n{\"u\": \"b\"}\r\n",
    )
    .unwrap();
    assert_eq!(set.row_at(1).by_name("u"), Some("b"));
}

#[test]
fn formats_from_file_names() {
    assert_eq!(DataFormat::from_name("users.CSV"), Some(DataFormat::Csv));
    assert_eq!(
        DataFormat::from_name("a/b.jsonl"),
        Some(DataFormat::JsonLines)
    );
    assert_eq!(
        DataFormat::from_name("b.ndjson"),
        Some(DataFormat::JsonLines)
    );
    assert_eq!(DataFormat::from_name("users.txt"), None);
    assert_eq!(DataFormat::from_name("users"), None);
}

#[test]
fn sequential_wraps_and_unique_runs_out() {
    let set = csv("n\n0\n1\n2\n").unwrap();
    let seq: Vec<_> = (0..7)
        .map(|i| {
            set.row(DataOrder::Sequential, 1, i)
                .unwrap()
                .by_name("n")
                .unwrap()
        })
        .collect();
    assert_eq!(seq, ["0", "1", "2", "0", "1", "2", "0"]);
    let unique: Vec<_> = (0..5)
        .map(|i| set.row_index(DataOrder::Unique, 1, i))
        .collect();
    assert_eq!(unique, [Some(0), Some(1), Some(2), None, None]);
}

#[test]
fn random_rows_repeat_with_the_seed_and_cover_the_file() {
    let text: String = std::iter::once("n\n".to_string())
        .chain((0..10).map(|i| format!("{i}\n")))
        .collect();
    let set = csv(&text).unwrap();
    let draw = |seed| -> Vec<usize> {
        (0..200)
            .map(|i| set.row_index(DataOrder::Random, seed, i).unwrap())
            .collect()
    };
    assert_eq!(draw(5), draw(5));
    assert_ne!(draw(5), draw(6));
    let seen: std::collections::BTreeSet<_> = draw(5).into_iter().collect();
    assert_eq!(seen.len(), 10, "200 draws over 10 rows should see them all");
    // A pure function of (seed, iteration): asking out of order gives the same rows.
    assert_eq!(set.row_index(DataOrder::Random, 5, 150), Some(draw(5)[150]));
}

#[test]
fn a_million_rows_stay_small() {
    let mut text = String::from("user,item\n");
    for i in 0..1_000_000u32 {
        text.push_str(&format!("user{i},{}\n", i % 1000));
    }
    let set = csv(&text).unwrap();
    assert_eq!(set.rows(), 1_000_000);
    assert_eq!(set.row_at(999_999).by_name("user"), Some("user999999"));
    let text_bytes = text.len() - "user,item\n".len() - 2 * 1_000_000; // less commas, newlines
    let per_row = set.heap_bytes() as f64 / 1e6;
    let overhead = (set.heap_bytes() - text_bytes) as f64 / 1e6;
    eprintln!("1e6 rows: {per_row:.1} bytes a row, {overhead:.1} of them beyond the text");
    assert!(overhead <= 8.01, "{overhead} bytes a row beyond the text");
}

#[test]
fn random_rows_are_the_same_on_every_target() {
    // Pinned values: wasm32 (the app) must draw what 64-bit targets (the CLI) draw.
    let text: String = std::iter::once("n\n".to_string())
        .chain((0..1000).map(|i| format!("{i}\n")))
        .collect();
    let set = csv(&text).unwrap();
    let rows: Vec<_> = (0..5)
        .map(|i| set.row_index(DataOrder::Random, 42, i).unwrap())
        .collect();
    assert_eq!(rows, PINNED_ROWS);
}
const PINNED_ROWS: [usize; 5] = [186, 53, 325, 847, 261];

#[test]
fn mangled_files_are_refused_never_panic() {
    let mut rng = fastrand::Rng::with_seed(16);
    let csv_text = b"user,item\nalice,\"a, b\"\nbob,2\n".to_vec();
    let jsonl_text = b"{\"user\": \"alice\", \"n\": 1}\n{\"user\": \"bob\", \"n\": 2.5}\n".to_vec();
    let alphabet = b"{}[]\",:\n\r 01ab\xff\xef\xbb\xbf";
    for _ in 0..3000 {
        for (format, original) in [
            (DataFormat::Csv, &csv_text),
            (DataFormat::JsonLines, &jsonl_text),
        ] {
            let mut bytes = original.clone();
            for _ in 0..rng.usize(1..4) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.usize(..bytes.len());
                match rng.u8(..3) {
                    0 => bytes[at] = alphabet[rng.usize(..alphabet.len())],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.truncate(at.max(1)),
                }
            }
            if let Ok(set) = DataSet::parse(format, &bytes) {
                // Whatever parsed is whole: every row has every column.
                for r in 0..set.rows() {
                    for c in 0..set.columns().len() {
                        assert!(set.row_at(r).get(c).is_some());
                    }
                }
            }
        }
    }
}
