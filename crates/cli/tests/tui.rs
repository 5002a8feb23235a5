//! The live terminal view, seen as a person at a terminal sees it: `flak` runs under a
//! pseudo-terminal and its bytes go through a terminal emulator (vt100), whose screen must show
//! the last second's requests/s and p50/p99 while the run lasts, and the report once it is over.
//! With stdout piped, `--no-tui` or `CI` set, the view is absent and the report unchanged.

use std::io::Read as _;
use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::common::{RUN_LIMIT, Target, TempDir, exclusive, flak, s};

/// Text every frame of the view draws once, and nothing else prints.
const FRAME_MARK: &str = "(last second)";
const ROWS: u16 = 80;
const COLS: u16 = 120;

/// What a run under a pseudo-terminal wrote to it, and how long it took.
struct PtyRun {
    bytes: Vec<u8>,
    wall: Duration,
    success: bool,
}

impl PtyRun {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    fn frames(&self) -> usize {
        self.text().matches(FRAME_MARK).count()
    }

    /// The screen at the end, and the last screen that showed the view while the run lasted.
    fn screens(&self) -> (String, Option<String>) {
        let mut term = vt100::Parser::new(
            NonZeroU16::new(ROWS).unwrap(),
            NonZeroU16::new(COLS).unwrap(),
            0,
        );
        let mut last_view = None;
        // A frame is written whole between two escape sequences: look just before each one.
        for chunk in self.bytes.split_inclusive(|b| *b == b'\x1b') {
            term.process(chunk);
            let screen = rows(term.screen());
            if screen.contains(" flak   [")
                && screen.contains(FRAME_MARK)
                && screen.contains(" errors ")
            {
                last_view = Some(screen);
            }
        }
        (rows(term.screen()), last_view)
    }
}

/// The screen's rows, one a line (`contents` joins a row the view filled to the edge with the
/// next).
fn rows(screen: &vt100::Screen) -> String {
    screen.rows(0, COLS).collect::<Vec<_>>().join("\n")
}

/// Runs `program args` with a pseudo-terminal as its stdin, stdout and stderr (`CI` removed from
/// its environment unless `ci` is given), at most [`RUN_LIMIT`]; `ctrl_c_after` sends SIGINT
/// that long after the start.
fn under_pty(
    program: &str,
    args: &[&str],
    ci: Option<&str>,
    ctrl_c_after: Option<Duration>,
) -> PtyRun {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut cmd = CommandBuilder::new(program);
    cmd.args(args);
    cmd.env_remove("CI");
    if let Some(ci) = ci {
        cmd.env("CI", ci);
    }
    let start = Instant::now();
    let mut child = pair.slave.spawn_command(cmd).expect("spawn under the pty");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("pty reader");
    let reading = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        // Linux answers EIO once the last writer has gone: the end of the output.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
        }
        bytes
    });
    let mut interrupted = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if let (Some(after), false) = (ctrl_c_after, interrupted)
            && start.elapsed() >= after
        {
            let pid = child.process_id().expect("pid").to_string();
            assert!(
                std::process::Command::new("kill")
                    .args(["-INT", &pid])
                    .status()
                    .expect("kill")
                    .success()
            );
            interrupted = true;
        }
        if start.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            panic!("{program} {args:?} did not finish within {RUN_LIMIT:?} under a pty");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = start.elapsed();
    drop(pair.master);
    let bytes = reading.join().expect("pty reader thread");
    PtyRun {
        bytes,
        wall,
        success: status.success(),
    }
}

fn flak_pty(args: &[&str]) -> PtyRun {
    under_pty(crate::common::FLAK, args, None, None)
}

/// The number after `label` on `line` (`p50 1.23 ms` → 1.23), thousands separators allowed.
fn number_after(line: &str, label: &str) -> f64 {
    let rest = &line[line
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} in {line:?}"))
        + label.len()..];
    let word: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .filter(|c| *c != ',')
        .collect();
    word.parse()
        .unwrap_or_else(|_| panic!("a number after {label:?} in {line:?}"))
}

/// A report with its numbers and alignment taken out: what stays the same from run to run.
fn shape(report: &str) -> Vec<String> {
    report
        .lines()
        .map(|l| {
            let mut out = String::new();
            for c in l.chars().filter(|c| *c != '■') {
                if c.is_ascii_digit() || c == '.' {
                    if !out.ends_with('#') {
                        out.push('#');
                    }
                } else {
                    out.push(c);
                }
            }
            // Numbers of other widths move the columns.
            out.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

#[test]
fn a_terminal_shows_the_last_seconds_rate_and_percentiles_then_the_report() {
    let target = Target::start();
    let _load = exclusive();
    let url = target.url("/");
    let run = flak_pty(&["-z", "2s", "-c", "4", "-q", "200", &url]);
    assert!(run.success, "{}", run.text());
    let (end, view) = run.screens();
    let view = view.unwrap_or_else(|| panic!("no frame of the live view in:\n{}", run.text()));
    let now = view
        .lines()
        .find(|l| l.contains(FRAME_MARK))
        .expect("the last second's line");
    let rate = number_after(now, "now");
    let (p50, p99) = (number_after(now, "p50"), number_after(now, "p99"));
    assert!(now.contains("requests/s"), "{view}");
    // Asked for 200/s; the last second finished about that many.
    assert!((100.0..=300.0).contains(&rate), "rate {rate} in:\n{view}");
    assert!(p50 > 0.0 && p99 >= p50, "p50 {p50}, p99 {p99} in:\n{view}");
    assert!(view.contains("target 200/s"), "{view}");
    assert!(view.contains(" status 2xx "), "{view}");
    assert!(view.contains(" errors none"), "{view}");
    let done = view
        .lines()
        .find(|l| l.starts_with(" done"))
        .expect("done line");
    assert!(number_after(done, "succeeded") > 0.0, "{view}");
    // At the end the view is gone and the report stands alone on the screen.
    assert!(
        !end.contains(FRAME_MARK),
        "the view was left on the screen:\n{end}"
    );
    assert!(end.contains("Summary:") && end.contains("Total:"), "{end}");
}

#[test]
fn the_view_is_drawn_at_most_four_times_a_second() {
    let target = Target::start();
    let _load = exclusive();
    let url = target.url("/");
    let run = flak_pty(&["-z", "2s", "-c", "2", &url]);
    assert!(run.success, "{}", run.text());
    let frames = run.frames();
    let allowed = (run.wall.as_secs_f64() * 4.0).ceil() as usize + 1;
    assert!(
        (4..=allowed).contains(&frames),
        "{frames} frames in {:?} (at most {allowed})",
        run.wall
    );
}

#[test]
fn fan_outs_and_journeys_count_iterations_in_the_view() {
    let target = Target::start();
    let dir = TempDir::new("tui-iterations");
    let (fast, slow) = (target.url("/"), target.url("/delay/5"));
    let scenarios = [
        format!(
            "[[request]]\nname = \"a\"\nurl = \"{fast}\"\n[[request]]\nname = \"b\"\nurl = \"{slow}\"\n"
        ),
        format!(
            "[[step]]\nname = \"a\"\nurl = \"{fast}\"\n[[step]]\nname = \"b\"\nurl = \"{slow}\"\n"
        ),
    ];
    let _load = exclusive();
    for (i, text) in scenarios.iter().enumerate() {
        let scenario = dir.write(&format!("s{i}.toml"), text);
        let run = flak_pty(&[
            "--scenario",
            s(&scenario),
            "-n",
            "500",
            "-c",
            "2",
            "-q",
            "250",
        ]);
        assert!(run.success, "{}", run.text());
        let (end, view) = run.screens();
        let view = view.unwrap_or_else(|| panic!("no frame of the live view in:\n{}", run.text()));
        assert!(view.contains("iterations/s"), "{view}");
        assert!(view.contains(" of 500 iterations"), "{view}");
        // The report counts the same iterations.
        let total = end
            .lines()
            .find(|l| l.contains("Total:"))
            .expect("the report");
        assert_eq!(number_after(total, "Total:"), 500.0, "{end}");
    }
}

#[test]
fn no_view_when_stdout_is_piped_with_no_tui_or_in_ci() {
    let target = Target::start();
    let dir = TempDir::new("tui-piped");
    // Long enough for several frames had the view been shown.
    let url = target.url("/delay/2");
    let args = ["-z", "1s", "-c", "2", url.as_str()];
    let _load = exclusive();

    // Both piped: the report alone on stdout, nothing on stderr, no escape codes anywhere.
    let piped = flak(&args);
    assert!(piped.status.success());
    let report = String::from_utf8(piped.stdout).unwrap();
    assert!(report.starts_with("Summary:"), "{report}");
    assert!(!report.contains('\x1b') && piped.stderr.is_empty());

    // Stdout to a file, stderr still a terminal: the plain bar there, as before; the file holds
    // the same report.
    let file = dir.path("report.txt");
    let redirect = format!("exec \"$0\" \"$@\" > {}", s(&file));
    let mut sh_args = vec!["-c", redirect.as_str(), crate::common::FLAK];
    sh_args.extend_from_slice(&args);
    let run = under_pty("sh", &sh_args, None, None);
    assert!(run.success, "{}", run.text());
    assert_eq!(run.frames(), 0, "{}", run.text());
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(!written.contains('\x1b'), "{written}");
    let (written, report) = (shape(&written), shape(&report));
    let differ: Vec<_> = written
        .iter()
        .zip(&report)
        .filter(|(a, b)| a != b)
        .collect();
    assert!(
        differ.is_empty() && written.len() == report.len(),
        "{differ:?}"
    );

    // --no-tui on a terminal: today's bar, no view.
    let mut no_tui = vec!["--no-tui"];
    no_tui.extend_from_slice(&args);
    let run = flak_pty(&no_tui);
    assert!(run.success, "{}", run.text());
    assert_eq!(run.frames(), 0, "{}", run.text());
    assert!(run.screens().0.contains("Summary:"));

    // CI set: no view either.
    let run = under_pty(crate::common::FLAK, &args, Some("true"), None);
    assert!(run.success, "{}", run.text());
    assert_eq!(run.frames(), 0, "{}", run.text());
}

#[test]
fn ctrl_c_prints_above_the_view_and_leaves_the_report() {
    let target = Target::start();
    let _load = exclusive();
    let url = target.url("/");
    let run = under_pty(
        crate::common::FLAK,
        &["-z", "20s", "-c", "2", "-q", "100", &url],
        None,
        Some(Duration::from_millis(1500)),
    );
    assert!(!run.success, "an interrupted run exits 130");
    assert!(run.wall < Duration::from_secs(10), "{:?}", run.wall);
    let (end, view) = run.screens();
    assert!(view.is_some(), "{}", run.text());
    assert!(
        !end.contains(FRAME_MARK),
        "the view was left on the screen:\n{end}"
    );
    assert!(end.contains("flak: stopping; waiting up to"), "{end}");
    assert!(end.contains("Summary:"), "{end}");
    assert!(end.contains("flak: interrupted"), "{end}");
}

#[test]
fn each_capacity_step_shows_the_view_and_leaves_its_row() {
    let target = Target::start();
    let _load = exclusive();
    let url = target.url("/");
    let run = flak_pty(&[
        "capacity",
        "--slo",
        "p99<250ms",
        "--step",
        "1s",
        "--start-rate",
        "50",
        "--max-rate",
        "100",
        // Room to spare: a step limited by its slots on a busy machine is generator-bound.
        "-c",
        "50",
        &url,
    ]);
    assert!(run.success, "{}", run.text());
    let (end, view) = run.screens();
    let view = view.unwrap_or_else(|| panic!("no frame of the live view in:\n{}", run.text()));
    assert!(
        view.contains("target 100/s") || view.contains("target 50/s"),
        "{view}"
    );
    assert!(
        !end.contains(FRAME_MARK),
        "the view was left on the screen:\n{end}"
    );
    assert!(end.contains("highest sustainable rate: 100 req/s"), "{end}");
}
