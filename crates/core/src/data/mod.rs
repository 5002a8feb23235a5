//! Data files for journeys: rows of named values (`{data:COLUMN}`), parsed from bytes the front
//! end read (CSV with a header row in [`csv`], JSON Lines in [`jsonl`]) into one compact,
//! immutable store that every worker shares behind an `Arc`. Which row an iteration takes is a
//! pure function of (order, seed, iteration), so threads, shards and machines agree.

mod csv;
mod jsonl;

use serde::{Deserialize, Serialize};

use crate::template::mix;

/// A data file that does not parse; `line` is 1-based, when the fault has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", match .line { Some(line) => format!("line {line}: {message}"), None => message.clone() })]
pub struct DataError {
    pub line: Option<u64>,
    pub message: String,
}

impl DataError {
    fn at(line: u64, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            message: message.into(),
        }
    }
    fn whole(message: impl Into<String>) -> Self {
        Self {
            line: None,
            message: message.into(),
        }
    }
}

/// How a data file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataFormat {
    /// Comma-separated values; the first row names the columns.
    Csv,
    /// One JSON object per line, its keys the columns; values are strings, numbers or bools.
    JsonLines,
}

impl DataFormat {
    /// The format a file name implies: `.csv`, or `.jsonl` / `.ndjson` / `.json`.
    pub fn from_name(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" | "json" => Some(Self::JsonLines),
            _ => None,
        }
    }
}

/// Which row iteration `i` takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataOrder {
    /// Row `i mod rows`: every row in turn, the same on every thread, shard and machine.
    #[default]
    Sequential,
    /// A row drawn at random, seeded: a pure function of (seed, i).
    Random,
    /// Row `i` while `i < rows`; after that the rows have run out and the run ends.
    Unique,
}

/// The rows of a data file: every cell's text in one buffer, with the end offset of each cell,
/// row after row. A million rows of two short columns take ~20 bytes a row beyond their text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSet {
    columns: Box<[Box<str>]>,
    text: Box<str>,
    /// End of each cell in `text`, row-major; cell `k` starts where cell `k - 1` ends.
    ends: Box<[u32]>,
}

/// Collects cells into the compact store while a parser reads a file.
struct Builder {
    columns: Vec<Box<str>>,
    text: String,
    ends: Vec<u32>,
}

impl Builder {
    /// Starts a store with these column names, read on line `line`.
    fn new(columns: Vec<Box<str>>, line: u64) -> Result<Self, DataError> {
        if columns.is_empty() {
            return Err(DataError::at(line, "no columns"));
        }
        for (i, c) in columns.iter().enumerate() {
            if c.is_empty() {
                return Err(DataError::at(line, format!("column {} has no name", i + 1)));
            }
            // `{data:COLUMN}` ends at the first '}'.
            if c.contains('}') {
                return Err(DataError::at(
                    line,
                    format!("column {c:?}: a name cannot hold '}}'"),
                ));
            }
            if columns[..i].contains(c) {
                return Err(DataError::at(line, format!("column {c:?} appears twice")));
            }
        }
        Ok(Self {
            columns,
            text: String::new(),
            ends: Vec::new(),
        })
    }

    fn push(&mut self, cell: &str, line: u64) -> Result<(), DataError> {
        self.text.push_str(cell);
        let end = u32::try_from(self.text.len()).map_err(|_| {
            DataError::at(line, "the file's values pass 4 GiB, more than flak holds")
        })?;
        self.ends.push(end);
        Ok(())
    }

    fn finish(self) -> Result<DataSet, DataError> {
        if self.ends.is_empty() {
            return Err(DataError::whole("no rows after the column names"));
        }
        Ok(DataSet {
            columns: self.columns.into_boxed_slice(),
            text: self.text.into_boxed_str(),
            ends: self.ends.into_boxed_slice(),
        })
    }
}

impl DataSet {
    /// Parses a whole file's bytes.
    pub fn parse(format: DataFormat, bytes: &[u8]) -> Result<Self, DataError> {
        // Spreadsheets often save a UTF-8 byte order mark first.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(DataError::whole("the file is empty"));
        }
        match format {
            DataFormat::Csv => csv::parse(bytes),
            DataFormat::JsonLines => jsonl::parse(bytes),
        }
    }

    /// Column names, in the file's order (JSON Lines: the first line's keys, sorted).
    pub fn columns(&self) -> impl ExactSizeIterator<Item = &str> {
        self.columns.iter().map(|c| &**c)
    }

    /// The position of a column, by name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| &**c == name)
    }

    pub fn rows(&self) -> usize {
        self.ends.len() / self.columns.len()
    }

    /// Bytes this set holds on the heap (text, offsets, names), to check that it stays small.
    pub fn heap_bytes(&self) -> usize {
        self.text.len()
            + self.ends.len() * std::mem::size_of::<u32>()
            + self.columns.iter().map(|c| c.len()).sum::<usize>()
            + self.columns.len() * std::mem::size_of::<Box<str>>()
    }

    /// The row iteration `iteration` takes, or `None` when [`DataOrder::Unique`] has used
    /// every row.
    pub fn row_index(&self, order: DataOrder, seed: u64, iteration: u64) -> Option<usize> {
        let rows = self.rows() as u64;
        match order {
            DataOrder::Sequential => Some((iteration % rows) as usize),
            DataOrder::Unique => (iteration < rows).then_some(iteration as usize),
            DataOrder::Random => {
                // Salted so that rows and the URL templates' fields, drawn from the same
                // (seed, iteration), are not correlated.
                let mut rng =
                    fastrand::Rng::with_seed(mix(seed ^ 0x6461_7461_726F_7773, iteration));
                // u64: fastrand's usize draws differ between wasm32 and 64-bit targets.
                Some(rng.u64(..rows) as usize)
            }
        }
    }

    /// The row iteration `iteration` takes (see [`DataSet::row_index`]).
    pub fn row(&self, order: DataOrder, seed: u64, iteration: u64) -> Option<Row<'_>> {
        self.row_index(order, seed, iteration)
            .map(|index| self.row_at(index))
    }

    /// Row `index`; panics past the last row, as a slice does.
    pub fn row_at(&self, index: usize) -> Row<'_> {
        assert!(index < self.rows(), "row {index} of {}", self.rows());
        Row { set: self, index }
    }

    fn cell(&self, k: usize) -> &str {
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.text[start..self.ends[k] as usize]
    }
}

/// One row of a [`DataSet`]: borrowed, `Copy`, free to make.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    set: &'a DataSet,
    index: usize,
}

impl<'a> Row<'a> {
    /// The row's position in the file, from 0 (the header row and blank lines not counted).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The value in column number `column`.
    pub fn get(&self, column: usize) -> Option<&'a str> {
        let width = self.set.columns.len();
        (column < width).then(|| self.set.cell(self.index * width + column))
    }

    /// The value in the column named `name`.
    pub fn by_name(&self, name: &str) -> Option<&'a str> {
        self.get(self.set.column(name)?)
    }
}

#[cfg(test)]
mod tests;
