//! What the results fuzz targets check once a file has loaded.

use flak_core::{Results, Stats};

/// A loaded file must merge with itself (what `flak merge a.json a.json` does), and the merged
/// results must serialize, load back, and give the same statistics, which write the same file
/// again.
///
/// (The summary floats of the `Results` that `load` returns are compared only through the
/// statistics: serde_json without its `float_roundtrip` feature may read a float 1 ULP off the
/// shortest text that ryu wrote, e.g. `rps` 9587.727708533075 back as …077.)
pub fn check_loaded(stats: &Stats, results: &Results) {
    let mut merged = stats.clone();
    merged.merge(stats);
    let written = Results::of(&merged, results.plan.as_ref());
    let json = written.to_json();
    let (reloaded, reread) = Results::load(&json)
        .unwrap_or_else(|e| panic!("merged results do not load back: {e}\n{json}"));
    assert_eq!(
        reloaded, merged,
        "statistics changed on the way through the file"
    );
    let rewritten = Results::of(&reloaded, reread.plan.as_ref()).to_json();
    assert_eq!(rewritten, json, "the file changed on the way through");
}
