//! One iteration's values: the variables its steps extracted so far, and its data row, as the
//! [`Fields`] its templates expand with. Buffers are kept between iterations.

use crate::data::Row;
use crate::template::Fields;

/// The variables of one iteration, by the journey's variable names. [`Vars::clear`] keeps the
/// buffers, so a slot that reuses one allocates only when a value outgrows its buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Vars {
    names: Vec<String>,
    values: Vec<String>,
    set: Vec<bool>,
}

impl Vars {
    pub fn new(names: &[String]) -> Self {
        Self {
            names: names.to_vec(),
            values: vec![String::new(); names.len()],
            set: vec![false; names.len()],
        }
    }

    /// Forgets every value, for the next iteration.
    pub fn clear(&mut self) {
        self.set.fill(false);
    }

    /// Stores `value` under `name`; false for a name no step extracts.
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        let Some(i) = self.names.iter().position(|n| n == name) else {
            return false;
        };
        self.values[i].clear();
        self.values[i].push_str(value);
        self.set[i] = true;
        true
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        let i = self.names.iter().position(|n| n == name)?;
        self.set[i].then(|| self.values[i].as_str())
    }
}

/// What an iteration's templates read: its variables and, with a data file, its row.
#[derive(Debug, Clone, Copy)]
pub struct IterationFields<'a> {
    pub vars: &'a Vars,
    pub row: Option<Row<'a>>,
}

impl Fields for IterationFields<'_> {
    fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name)
    }
    fn data(&self, column: &str) -> Option<&str> {
        self.row?.by_name(column)
    }
}
