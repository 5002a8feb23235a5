//! CSV data files: a header row naming the columns, then one row per line, every row as wide as
//! the header (the `csv` crate reads quoting and escapes; blank lines are skipped).

use super::{Builder, DataError, DataSet};

pub(super) fn parse(bytes: &[u8]) -> Result<DataSet, DataError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header = reader.headers().map_err(|e| error(&e))?;
    let columns = header.iter().map(Box::from).collect();
    let line = header.position().map_or(1, |p| p.line());
    let mut builder = Builder::new(columns, line)?;
    let mut record = ::csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line());
                for cell in &record {
                    builder.push(cell, line)?;
                }
            }
            Err(e) => return Err(error(&e)),
        }
    }
    builder.finish()
}

fn error(e: &::csv::Error) -> DataError {
    let line = e.position().map(|p| p.line());
    let message = match e.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, but the header row has {expected_len} (a ragged row)"),
        ::csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
        _ => e.to_string(),
    };
    DataError { line, message }
}
