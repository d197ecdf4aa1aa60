//! Why an input could not be read at all.

use std::io;

/// Why [`read_path`](super::read_path) or a reader could not start on an input. Nothing else
/// stops a file: a bad record, a card or header too large, an unknown charset or a file that
/// holds no contact is that record's error or warning ([`Record`](super::Record)), and reading
/// goes on, so that every record ends in the report.
///
/// Each message names the input and carries its cause (no `source()` chain to print): callers
/// put it into reports and messages as it is, with `{}`.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be opened (missing, not allowed, …).
    #[error("cannot open {name}: {error}")]
    Open { name: String, error: io::Error },
    /// The path names a directory.
    #[error("cannot read {name}: it is a directory")]
    Directory { name: String },
    /// The file is not contacts at all (`what`: a JPEG image, a PDF document, a binary file…).
    #[error("{name} is not a contacts file: it is {what}. Give vCard (.vcf) or CSV files")]
    NotContacts { name: String, what: &'static str },
    /// Reading the first bytes failed (the format and the charset are told from them).
    #[error("cannot read {name}: {error}")]
    Read { name: String, error: io::Error },
}
