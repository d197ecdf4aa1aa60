//! Reading stage shared by `import` and `inspect`: files → records → mapped API calls.
//!
//! A file that cannot be opened is fatal (nothing has been written yet); a record that cannot be
//! read or mapped becomes an invalid [`InputRecord`], never an abort.

use std::path::PathBuf;

use anyhow::Context;

use crate::formats::{self, Format, Record};
use crate::mapping::{self, Mapped, MappingOptions};

/// One input record after reading and mapping.
#[derive(Debug, Clone)]
pub struct InputRecord {
    pub source: String,
    pub name: String,
    pub warnings: Vec<String>,
    /// The API calls this record maps to (absent when the record could not be read at all).
    pub mapped: Option<Mapped>,
    /// Why the record cannot be imported: unreadable, or mapped as invalid.
    pub error: Option<String>,
}

impl InputRecord {
    pub fn from_record(record: Record, opts: &MappingOptions) -> InputRecord {
        match record.contact {
            Ok(contact) => {
                let mapped = mapping::to_api(&contact, opts);
                let error = mapped.invalid.clone();
                InputRecord {
                    source: record.source,
                    name: contact.display_name(),
                    warnings: record.warnings,
                    mapped: Some(mapped),
                    error,
                }
            }
            Err(reason) => InputRecord {
                source: record.source,
                name: String::new(),
                warnings: record.warnings,
                mapped: None,
                error: Some(reason),
            },
        }
    }

    /// The mapped calls of a valid record.
    pub fn valid(&self) -> Option<&Mapped> {
        self.mapped.as_ref().filter(|_| self.error.is_none())
    }
}

/// Streams every record of every file, mapped, to `each`.
pub fn for_each_record(
    files: &[PathBuf],
    format: Format,
    opts: &MappingOptions,
    mut each: impl FnMut(InputRecord) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for path in files {
        let reader =
            formats::read_path(path, format).with_context(|| format!("cannot read {}", path.display()))?;
        for record in reader {
            each(InputRecord::from_record(record, opts))?;
        }
    }
    Ok(())
}

/// Reads every record of every file into memory (the import needs them all to deduplicate).
pub fn read_all(
    files: &[PathBuf],
    format: Format,
    opts: &MappingOptions,
) -> anyhow::Result<Vec<InputRecord>> {
    let mut records = Vec::new();
    for_each_record(files, format, opts, |r| {
        records.push(r);
        Ok(())
    })?;
    Ok(records)
}
