//! CSV address books (Google current and legacy, Outlook desktop/outlook.com, Thunderbird, their
//! German variants, and any file whose headers say what its columns are) → [`Contact`].
//!
//! The reader streams: bytes are transcoded to UTF-8 on the fly (charset from the BOM, else UTF-8
//! when the first 64 KB are valid UTF-8, else a chardetng guess), the delimiter is sniffed from the
//! header line, each header is classified once into a role (name part, phone of some kind, part of
//! a home/work address, …), and every data row becomes one [`Record`] named `<file>:<line>` (the
//! physical line where the row starts). Columns this tool has no field for land in
//! [`Contact::extra`] so the import report names them as dropped.
//!
//! This file is the reader itself (open, then one record per row); its steps live beside it:
//! `charset.rs` (which charset, and the transcoding reader), `lex.rs` (the header line, Excel's
//! `sep=` hint, the delimiter, the line each record starts on), `header.rs` (header → role, and
//! the exporter's dialect) and `row.rs` (row → contact).
//!
//! [`Contact`]: crate::model::Contact
//! [`Contact::extra`]: crate::model::Contact::extra

mod charset;
mod header;
mod lex;
mod row;

use std::io::{self, BufReader, Cursor, Read};
use std::sync::atomic::Ordering;

use encoding_rs::UTF_8;

use self::charset::{decoding_reader, detect_charset, CharsetHow};
pub use self::header::Dialect;
use self::header::{classify_columns, detect_dialect, looks_like_header, Column, THUNDERBIRD_COLUMNS};
use self::lex::{excel_separator_hint, read_header_line, sniff_delimiter, LineStarts, TrackingReader};
use self::row::build_contact;
use super::decode::SNIFF_BYTES;
use super::{ReadError, Record};

/// Streaming CSV reader: one [`Record`] per data row.
pub struct CsvReader {
    source_name: String,
    reader: csv::Reader<Box<dyn Read + Send>>,
    starts: LineStarts,
    columns: Vec<Column>,
    dialect: Dialect,
    /// Warnings for the first emitted record (charset, header decisions).
    first_warnings: Vec<String>,
    /// Line of the first row (the header, or the first data row of a headerless file).
    header_line: u64,
    /// The header row, when the file had none, is a data row read during sniffing.
    pending: Option<csv::StringRecord>,
    /// Why no row can be read (the header's quote never closes), told as the file's one record.
    unreadable: Option<String>,
    done: bool,
}

impl std::fmt::Debug for CsvReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvReader")
            .field("source_name", &self.source_name)
            .field("dialect", &self.dialect)
            .finish_non_exhaustive()
    }
}

impl CsvReader {
    /// Sniffs charset, delimiter and header; fails only when the input cannot be read at all
    /// (a header that cannot is the file's one invalid record).
    pub fn new(reader: impl Read + Send + 'static, source_name: String) -> Result<CsvReader, ReadError> {
        let read_failed = |error| ReadError::Read { name: source_name.clone(), error };
        let mut reader: Box<dyn Read + Send> = Box::new(reader);
        let mut prefix = Vec::with_capacity(8192);
        (&mut reader).take(SNIFF_BYTES as u64).read_to_end(&mut prefix).map_err(read_failed)?;
        let at_eof = prefix.len() < SNIFF_BYTES;
        let (encoding, how) = detect_charset(&prefix, at_eof);
        let mut first_warnings = Vec::new();
        if !(encoding == UTF_8 && how != CharsetHow::Guessed) {
            first_warnings.push(format!("{source_name}: read as {} ({})", encoding.name(), how.describe()));
        }

        let raw: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(reader));
        let mut decoded = BufReader::new(decoding_reader(raw, encoding));
        let mut header_line = read_header_line(&mut decoded).map_err(read_failed)?;
        let mut first_line = 1;
        // Excel's `sep=;` hint line names the delimiter and precedes the header.
        let delimiter = match excel_separator_hint(&header_line) {
            Some(d) => {
                header_line = read_header_line(&mut decoded).map_err(read_failed)?;
                first_line = 2;
                d
            }
            None => sniff_delimiter(&header_line),
        };

        let starts = LineStarts::default();
        let tracked = TrackingReader::new(
            Cursor::new(header_line).chain(decoded),
            delimiter,
            starts.clone(),
            first_line,
        );
        let ended_in_quote = tracked.ended_in_quote.clone();
        let boxed: Box<dyn Read + Send> = Box::new(tracked);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(boxed);

        let mut this = CsvReader {
            source_name,
            reader: csv::Reader::from_reader(Box::new(io::empty())),
            starts,
            columns: Vec::new(),
            header_line: 1,
            dialect: Dialect::Generic,
            first_warnings,
            pending: None,
            unreadable: None,
            done: false,
        };
        let mut header = csv::StringRecord::new();
        match reader.read_record(&mut header) {
            Ok(true) => this.header_line = this.take_line(&header),
            Ok(false) => this.done = true,
            Err(e) => {
                // The header record cannot be read (longer than a record may be: a quote that
                // never closes in a big file; or an I/O error): the file's one record says why.
                this.header_line = first_line;
                this.unreadable = Some(format!(
                    "{}:{first_line}: cannot read the header row: {}",
                    this.source_name,
                    why(&e)
                ));
                this.done = true;
            }
        }
        // The file ended inside a quote while the header was read, and no row started after it:
        // a stray quote on the header line swallowed the whole file into one header cell.
        let no_row_after = this.starts.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
        if !this.done && ended_in_quote.load(Ordering::Relaxed) && no_row_after {
            this.unreadable = Some(format!(
                "{}:{}: the header row opens a quote that never closes (a stray `\"`?), so no row can be read",
                this.source_name, this.header_line
            ));
            this.done = true;
        }
        this.reader = reader;
        if !this.done {
            this.classify_header(header);
        }
        Ok(this)
    }

    /// The exporter the header looked like.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn classify_header(&mut self, header: csv::StringRecord) {
        let names: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
        if looks_like_header(&names) {
            self.columns = classify_columns(&names);
            self.dialect = detect_dialect(&names);
            return;
        }
        let line = self.header_line;
        if (THUNDERBIRD_COLUMNS.len()..=THUNDERBIRD_COLUMNS.len() + 1).contains(&names.len()) {
            let tb: Vec<String> = THUNDERBIRD_COLUMNS.iter().map(|s| s.to_string()).collect();
            self.columns = classify_columns(&tb);
            self.dialect = Dialect::HeaderlessThunderbird;
            self.first_warnings.push(format!(
                "{}:{line}: no header row; {} columns read in Thunderbird's export order",
                self.source_name,
                names.len()
            ));
        } else {
            self.dialect = Dialect::Unrecognised;
        }
        self.pending = Some(header);
    }

    /// The physical line where the record just read starts.
    fn take_line(&self, row: &csv::StringRecord) -> u64 {
        let fallback = row.position().map(|p| p.line()).unwrap_or(0);
        self.starts.lock().unwrap_or_else(|e| e.into_inner()).pop_front().unwrap_or(fallback)
    }

    fn row_to_record(&mut self, row: &csv::StringRecord, line: u64) -> Record {
        let source = format!("{}:{line}", self.source_name);
        let mut warnings = std::mem::take(&mut self.first_warnings);
        if self.dialect == Dialect::Unrecognised {
            return Record {
                contact: Err(format!(
                    "{source}: no recognisable header row, so the columns cannot be told apart \
                     (add a header such as `First Name,Last Name,E-mail Address`)"
                )),
                source,
                warnings,
            };
        }
        // A trailing delimiter (Thunderbird, Google's Outlook CSV) adds an empty field: not ragged.
        let surplus = row.iter().skip(self.columns.len()).any(|f| !f.trim().is_empty());
        if row.len() < self.columns.len() || surplus {
            warnings.push(format!(
                "{source}: row has {} fields, the header has {}",
                row.len(),
                self.columns.len()
            ));
        }
        let contact = build_contact(&self.columns, row, &mut warnings, &source);
        Record { source, contact: Ok(contact), warnings }
    }
}

impl Iterator for CsvReader {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if let Some(reason) = self.unreadable.take() {
            let source = format!("{}:{}", self.source_name, self.header_line);
            return Some(Record {
                source,
                contact: Err(reason),
                warnings: std::mem::take(&mut self.first_warnings),
            });
        }
        if let Some(row) = self.pending.take() {
            return Some(self.row_to_record(&row, self.header_line));
        }
        let mut row = csv::StringRecord::new();
        while !self.done {
            match self.reader.read_record(&mut row) {
                Ok(false) => self.done = true,
                Ok(true) => {
                    let line = self.take_line(&row);
                    // A line of only spaces is as blank as an empty one (the csv crate skips those).
                    if row.len() == 1 && row[0].trim().is_empty() {
                        continue;
                    }
                    return Some(self.row_to_record(&row, line));
                }
                Err(e) => {
                    // I/O errors and oversized records end the file: reading on could loop forever.
                    self.done = true;
                    let queued = self.starts.lock().unwrap_or_else(|e| e.into_inner()).front().copied();
                    let line = queued
                        .or_else(|| e.position().map(|p| p.line()))
                        .unwrap_or_else(|| self.reader.position().line());
                    let source = format!("{}:{line}", self.source_name);
                    return Some(Record {
                        contact: Err(format!("{source}: cannot read further: {}", why(&e))),
                        source,
                        warnings: std::mem::take(&mut self.first_warnings),
                    });
                }
            }
        }
        None
    }
}

/// What a csv error says, without the csv crate's wrapping of I/O errors (the record limit is
/// one: see `lex::TrackingReader`).
fn why(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    }
}
