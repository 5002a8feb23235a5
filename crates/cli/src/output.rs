//! Printing reports (text, JSON, CSV), and writing files so that a reader never sees half of
//! one.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use flak_core::{Results, Stats};

use crate::flags::OutputFormat;

/// Prints the report on stdout. A closed pipe (`flak … | head`) is not an error.
pub fn print(format: OutputFormat, stats: &Stats, results: &Results) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let _ = match format {
        OutputFormat::Text => out.write_all(flak_core::report::text(stats).as_bytes()),
        OutputFormat::Json => results
            .write_json(&mut out)
            .and_then(|()| out.write_all(b"\n")),
        OutputFormat::Csv => out.write_all(results.to_csv().as_bytes()),
    };
    let _ = out.flush();
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("-o {}: not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}
