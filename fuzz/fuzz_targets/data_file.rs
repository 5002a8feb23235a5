//! Data files (`--data`, `data = "…"`): `DataSet::parse` of CSV and JSON Lines bytes must
//! return, never panic; a parsed set must hand out every row, by position and by column name, in
//! every row order, without panicking, and sequential order must wrap exactly.
#![no_main]

use flak_core::data::{DataFormat, DataOrder, DataSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let format = if first % 2 == 0 {
        DataFormat::Csv
    } else {
        DataFormat::JsonLines
    };
    let Ok(set) = DataSet::parse(format, bytes) else {
        return;
    };
    let rows = set.rows();
    assert!(rows > 0, "a parsed set has rows");
    let columns: Vec<String> = set.columns().map(str::to_string).collect();
    for i in 0..(rows as u64).min(64) + 2 {
        for order in [DataOrder::Sequential, DataOrder::Random, DataOrder::Unique] {
            let Some(row) = set.row(order, u64::from(first), i) else {
                assert!(order == DataOrder::Unique && i >= rows as u64);
                continue;
            };
            for (c, name) in columns.iter().enumerate() {
                assert_eq!(row.get(c), row.by_name(name));
            }
        }
        assert_eq!(
            set.row_index(DataOrder::Sequential, 0, i),
            Some((i % rows as u64) as usize)
        );
    }
});
