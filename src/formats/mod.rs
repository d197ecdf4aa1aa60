//! Input and output formats: vCard 2.1/3.0/4.0 and CSV (Google, Outlook, generic) → [`Contact`].
//!
//! Every reader streams: it yields one [`Record`] per input record, never aborting a file on a
//! bad record, so that every record ends up in the reconcile report. [`read_path`] opens a file
//! (or standard input), picks the reader and hands back a [`RecordReader`], which yields records
//! one by one or [`Chunk`]s of records whose parsing can run on other threads. An input fails as
//! a whole only when it cannot be opened or read ([`ReadError`]).
//!
//! - [`decode`]: bytes → UTF-8, what both readers share (UTF-16, transcoding, charset guess);
//! - [`vcard`]: the vCard reader (cut cards, decode each, parse with calcard, map);
//! - [`csv`]: the CSV reader (charset, lexing, header → roles, row → contact);
//! - [`vcard_write`]: the vCard 3.0/4.0 writer of export.

pub mod csv;
pub mod decode;
mod error;
mod not_contacts;
pub mod paths;
pub mod vcard;
pub mod vcard_write;

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

pub use self::error::ReadError;
use crate::model::Contact;

/// One input record, read or not.
#[derive(Debug, Clone)]
pub struct Record {
    /// Where it came from: `<file>#<n>` (n-th card, 1-based) or `<file>:<line>` (CSV line).
    pub source: String,
    /// The contact, or why the record could not be read at all.
    pub contact: Result<Contact, String>,
    /// Recoverable problems met while reading (invalid lines, charset guesses, …).
    pub warnings: Vec<String>,
}

/// Input format selection (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Auto,
    Vcard,
    Csv,
}

/// The records of one input, streamed (memory bounded by a batch of records, not by the file).
pub struct RecordReader {
    inner: Box<dyn ChunkedReader>,
    /// The format actually read (never `Auto`).
    pub format: Format,
    /// The source name records are named after (`stdin` for `-`).
    pub source_name: String,
}

/// A reader that yields records one by one, or [`Chunk`]s of them.
trait ChunkedReader: Iterator<Item = Record> + Send {
    fn cut_chunk(&mut self) -> Option<Chunk>;
}

impl ChunkedReader for vcard::VcardReader {
    fn cut_chunk(&mut self) -> Option<Chunk> {
        vcard::VcardReader::cut_chunk(self)
    }
}

/// Records a CSV chunk holds (CSV rows are parsed while reading, so chunking only batches them).
const CSV_CHUNK_RECORDS: usize = 512;

impl ChunkedReader for csv::CsvReader {
    fn cut_chunk(&mut self) -> Option<Chunk> {
        let records: Vec<Record> = self.take(CSV_CHUNK_RECORDS).collect();
        (!records.is_empty()).then(|| Chunk::records(records))
    }
}

impl RecordReader {
    /// The next run of consecutive records, cut but maybe not parsed yet; `None` at the end.
    /// Chunks can be parsed ([`Chunk::parse`]) on any thread, in any order: the records of the
    /// chunks, in chunk order, are the records this iterator yields.
    pub fn cut_chunk(&mut self) -> Option<Chunk> {
        self.inner.cut_chunk()
    }
}

impl Iterator for RecordReader {
    type Item = Record;
    fn next(&mut self) -> Option<Record> {
        self.inner.next()
    }
}

/// Consecutive records of one input: already read, or vCards cut but not parsed yet.
pub struct Chunk(ChunkKind);

enum ChunkKind {
    Records(Vec<Record>),
    Cards(vcard::CardBatch),
}

impl Chunk {
    fn records(records: Vec<Record>) -> Chunk {
        Chunk(ChunkKind::Records(records))
    }

    fn cards(batch: vcard::CardBatch) -> Chunk {
        Chunk(ChunkKind::Cards(batch))
    }

    /// The chunk's records, in input order (parsing them if they are not yet).
    pub fn parse(self) -> Vec<Record> {
        match self.0 {
            ChunkKind::Records(records) => records,
            ChunkKind::Cards(batch) => batch.parse(),
        }
    }
}

impl std::fmt::Debug for RecordReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordReader")
            .field("format", &self.format)
            .field("source_name", &self.source_name)
            .finish_non_exhaustive()
    }
}

/// Opens `path` (`-` = standard input) and streams its records. `Format::Auto` looks at the
/// first 64 KB (after a BOM or UTF-16 decoding): a `BEGIN:VCARD` line, or a `.vcf`/`.vcard`
/// name, means vCard; anything else is read as CSV.
pub fn read_path(path: &Path, format: Format) -> Result<RecordReader, ReadError> {
    let is_stdin = path.as_os_str() == "-";
    let source_name = if is_stdin { "stdin".to_string() } else { path.display().to_string() };
    let mut reader: Box<dyn Read + Send> = if is_stdin {
        Box::new(io::stdin())
    } else {
        let file = File::open(path).map_err(|error| ReadError::Open { name: source_name.clone(), error })?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(ReadError::Directory { name: source_name });
        }
        Box::new(file)
    };
    // The first bytes tell the format (`Auto`) and whether this is contacts at all.
    let mut prefix = Vec::with_capacity(decode::SNIFF_BYTES);
    let read_failed = |error| ReadError::Read { name: source_name.clone(), error };
    reader.by_ref().take(decode::SNIFF_BYTES as u64).read_to_end(&mut prefix).map_err(read_failed)?;
    if let Some(what) = not_contacts::not_contacts(&prefix) {
        return Err(ReadError::NotContacts { name: source_name, what });
    }
    let format = match format {
        Format::Auto => sniff_format(&prefix, path),
        other => other,
    };
    let reader: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(reader));
    let (inner, format): (Box<dyn ChunkedReader>, _) = match format {
        Format::Csv => (Box::new(csv::CsvReader::new(reader, source_name.clone())?), Format::Csv),
        _ => (Box::new(vcard::VcardReader::new(reader, source_name.clone())), Format::Vcard),
    };
    Ok(RecordReader { inner, format, source_name })
}

/// `s` cut to `max_chars` characters, and `…` when it was longer: values quoted in warnings and
/// in the report.
fn shorten(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `Vcard` or `Csv` from a file's first bytes (and its name when the bytes do not tell).
pub fn sniff_format(prefix: &[u8], path: &Path) -> Format {
    let text = match decode::detect_utf16(prefix) {
        Some(enc) => enc.decode_with_bom_removal(prefix).0.into_owned(),
        None => String::from_utf8_lossy(prefix).into_owned(),
    };
    let text = text.trim_start_matches(['\u{feff}', '\0']);
    let is_begin = |line: &str| {
        let line: String = line.chars().filter(|c| !c.is_whitespace() && *c != '\0').collect();
        line.eq_ignore_ascii_case("BEGIN:VCARD")
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    if lines.next().is_some_and(is_begin) || text.lines().any(is_begin) {
        return Format::Vcard;
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if ext == "vcf" || ext == "vcard" {
        Format::Vcard
    } else {
        Format::Csv
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_at_characters_and_marks_the_cut() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "abc…");
        assert_eq!(shorten("Zoë Ångström", 3), "Zoë…");
        assert_eq!(shorten("ë", 0), "…");
        assert_eq!(shorten("", 0), "");
    }
}
