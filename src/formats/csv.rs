//! TEMPORARY STUB in branch `vcard` only, so `formats::read_path` compiles before the csv
//! helper's reader lands on main. The `csv` branch's version replaces this file wholesale.

use std::io::Read;

use super::Record;

/// Placeholder for the csv helper's reader: yields one error record naming the file.
pub struct CsvReader {
    pending: Option<Record>,
}

impl CsvReader {
    pub fn new(_reader: impl Read + Send + 'static, source_name: String) -> anyhow::Result<CsvReader> {
        let pending = Record {
            source: format!("{source_name}:1"),
            contact: Err(format!("{source_name}: CSV reading is not available in this build")),
            warnings: Vec::new(),
        };
        Ok(CsvReader { pending: Some(pending) })
    }
}

impl Iterator for CsvReader {
    type Item = Record;
    fn next(&mut self) -> Option<Record> {
        self.pending.take()
    }
}
