//! CSV address books (Google current and legacy, Outlook desktop/outlook.com, Thunderbird, their
//! German variants, and any file whose headers say what its columns are) → [`Contact`].
//!
//! The reader streams: bytes are transcoded to UTF-8 on the fly (charset from the BOM, else UTF-8
//! when the first 64 KB are valid UTF-8, else a chardetng guess), the delimiter is sniffed from the
//! header line, each header is classified once into a role (name part, phone of some kind, part of
//! a home/work address, …), and every data row becomes one [`Record`] named `<file>:<line>` (the
//! physical line where the row starts). Columns this tool has no field for land in
//! [`Contact::extra`] so the import report names them as dropped.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

use super::decode::TranscodingReader;
use super::Record;
use crate::model::{
    Contact, DateOrder, Email, ExtraField, PartialDate, Phone, PhoneKind, Photo, Place, PostalAddress, WebUrl,
};

/// How much of the file is inspected to choose a charset.
const SNIFF_BYTES: usize = 64 * 1024;
/// A header line longer than this is not a header (keeps the sniffing bounded).
const MAX_HEADER_BYTES: usize = 1024 * 1024;
/// One record may not exceed this many bytes: an unclosed quote would otherwise make the csv
/// crate buffer the whole rest of the file as one field.
const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;
/// Google's separator of several values in one cell.
const MULTI_SEPARATOR: &str = ":::";

/// Thunderbird's export column order, used for a headerless file with exactly this many columns.
const THUNDERBIRD_COLUMNS: [&str; 36] = [
    "First Name",
    "Last Name",
    "Display Name",
    "Nickname",
    "Primary Email",
    "Secondary Email",
    "Screen Name",
    "Work Phone",
    "Home Phone",
    "Fax Number",
    "Pager Number",
    "Mobile Number",
    "Home Address",
    "Home Address 2",
    "Home City",
    "Home State",
    "Home ZipCode",
    "Home Country",
    "Work Address",
    "Work Address 2",
    "Work City",
    "Work State",
    "Work ZipCode",
    "Work Country",
    "Job Title",
    "Department",
    "Organization",
    "Web Page 1",
    "Web Page 2",
    "Birth Year",
    "Birth Month",
    "Birth Day",
    "Custom 1",
    "Custom 2",
    "Custom 3",
    "Custom 4",
];

/// Which exporter the header looks like (informational: the column roles do the work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    GoogleCurrent,
    GoogleLegacy,
    Outlook,
    Thunderbird,
    /// Localised (German) Outlook, Thunderbird, Windows Live Mail or Mac Address Book headers.
    German,
    /// Recognised by generic header words (name, email, phone, …).
    Generic,
    /// No header row; read in Thunderbird's export column order.
    HeaderlessThunderbird,
    /// No header row and no known column order: every row is an error.
    Unrecognised,
}

/// Streaming CSV reader: one [`Record`] per data row.
pub struct CsvReader {
    source_name: String,
    reader: csv::Reader<Box<dyn Read + Send>>,
    starts: LineStarts,
    columns: Vec<Column>,
    dialect: Dialect,
    charset: &'static str,
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
            .field("charset", &self.charset)
            .finish_non_exhaustive()
    }
}

impl CsvReader {
    /// Sniffs charset, delimiter and header; fails only when the input cannot be read at all.
    pub fn new(reader: impl Read + Send + 'static, source_name: String) -> anyhow::Result<CsvReader> {
        let mut reader: Box<dyn Read + Send> = Box::new(reader);
        let mut prefix = Vec::with_capacity(8192);
        (&mut reader)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut prefix)
            .with_context(|| format!("{source_name}: cannot read"))?;
        let at_eof = prefix.len() < SNIFF_BYTES;
        let (encoding, how) = detect_charset(&prefix, at_eof);
        let mut first_warnings = Vec::new();
        if !(encoding == UTF_8 && how != CharsetHow::Guessed) {
            first_warnings.push(format!("{source_name}: read as {} ({})", encoding.name(), how.describe()));
        }

        let raw: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(reader));
        let mut decoded = BufReader::new(decoding_reader(raw, encoding));
        let mut header_line =
            read_header_line(&mut decoded).with_context(|| format!("{source_name}: cannot read"))?;
        let mut first_line = 1;
        // Excel's `sep=;` hint line names the delimiter and precedes the header.
        let delimiter = match excel_separator_hint(&header_line) {
            Some(d) => {
                header_line =
                    read_header_line(&mut decoded).with_context(|| format!("{source_name}: cannot read"))?;
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
            charset: encoding.name(),
            first_warnings,
            pending: None,
            unreadable: None,
            done: false,
        };
        let mut header = csv::StringRecord::new();
        match reader.read_record(&mut header) {
            Ok(true) => this.header_line = this.take_line(&header),
            Ok(false) => this.done = true,
            Err(e) => anyhow::bail!("{}: cannot read the header row: {e}", this.source_name),
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

    /// The charset the file was decoded with (`UTF-8`, `windows-1252`, `UTF-16LE`, …).
    pub fn charset(&self) -> &'static str {
        self.charset
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
                    let message = match e.kind() {
                        csv::ErrorKind::Io(io) => io.to_string(),
                        _ => e.to_string(),
                    };
                    return Some(Record {
                        contact: Err(format!("{source}: cannot read further: {message}")),
                        source,
                        warnings: std::mem::take(&mut self.first_warnings),
                    });
                }
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Charset detection and transcoding

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharsetHow {
    Bom,
    Utf16Zeros,
    ValidUtf8,
    Guessed,
}

impl CharsetHow {
    fn describe(self) -> &'static str {
        match self {
            CharsetHow::Bom => "byte order mark",
            CharsetHow::Utf16Zeros => "no byte order mark, but its zero bytes say UTF-16",
            CharsetHow::ValidUtf8 => "valid UTF-8",
            CharsetHow::Guessed => "not UTF-8; charset guessed from its bytes",
        }
    }
}

fn detect_charset(prefix: &[u8], at_eof: bool) -> (&'static Encoding, CharsetHow) {
    if let Some((encoding, _)) = Encoding::for_bom(prefix) {
        return (encoding, CharsetHow::Bom);
    }
    if let Some(encoding) = utf16_by_zero_bytes(prefix) {
        return (encoding, CharsetHow::Utf16Zeros);
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => return (UTF_8, CharsetHow::ValidUtf8),
        // A multi-byte character cut by the 64 KB window is still UTF-8.
        Err(e) if e.error_len().is_none() && !at_eof => return (UTF_8, CharsetHow::ValidUtf8),
        Err(_) => {}
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(prefix, at_eof);
    let guess = detector.guess(None, false);
    // chardetng never answers UTF-16; anything odd falls back to the Windows default.
    let encoding = if guess == UTF_16LE || guess == UTF_16BE { WINDOWS_1252 } else { guess };
    (encoding, CharsetHow::Guessed)
}

/// ASCII text in UTF-16 has a zero in every other byte.
fn utf16_by_zero_bytes(prefix: &[u8]) -> Option<&'static Encoding> {
    let sample = &prefix[..prefix.len().min(4096) & !1];
    let pairs = sample.len() / 2;
    if pairs < 4 {
        return None;
    }
    let even_zeros = sample.iter().step_by(2).filter(|b| **b == 0).count();
    let odd_zeros = sample.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
    if odd_zeros * 10 >= pairs * 4 && even_zeros * 20 < pairs {
        Some(UTF_16LE)
    } else if even_zeros * 10 >= pairs * 4 && odd_zeros * 20 < pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Transcodes any encoding_rs charset to UTF-8 while reading (BOM removed, bad bytes → U+FFFD),
/// and turns CRLF into LF so multi-line values read the same whichever system wrote the file.
fn decoding_reader(inner: Box<dyn Read + Send>, encoding: &'static Encoding) -> CrlfToLf<TranscodingReader> {
    CrlfToLf::new(TranscodingReader::with_bom_removal(inner, encoding))
}

/// Turns CRLF into LF while reading; a lone CR is kept.
struct CrlfToLf<R> {
    inner: R,
    ready: Vec<u8>,
    ready_start: usize,
    /// A CR ended the last chunk: dropped if the next chunk starts with LF.
    pending_cr: bool,
    finished: bool,
}

impl<R: Read> CrlfToLf<R> {
    fn new(inner: R) -> Self {
        CrlfToLf {
            inner,
            ready: Vec::with_capacity(8192),
            ready_start: 0,
            pending_cr: false,
            finished: false,
        }
    }
}

impl<R: Read> Read for CrlfToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut chunk = [0u8; 8192];
        loop {
            if self.ready_start < self.ready.len() {
                let n = buf.len().min(self.ready.len() - self.ready_start);
                buf[..n].copy_from_slice(&self.ready[self.ready_start..self.ready_start + n]);
                self.ready_start += n;
                return Ok(n);
            }
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            let n = self.inner.read(&mut chunk)?;
            self.ready.clear();
            self.ready_start = 0;
            if n == 0 {
                self.finished = true;
            }
            for &b in &chunk[..n] {
                if std::mem::take(&mut self.pending_cr) && b != b'\n' {
                    self.ready.push(b'\r');
                }
                if b == b'\r' {
                    self.pending_cr = true;
                } else {
                    self.ready.push(b);
                }
            }
            if self.finished && std::mem::take(&mut self.pending_cr) {
                self.ready.push(b'\r');
            }
        }
    }
}

/// The physical line where each record starts, in order (the csv crate counts a record that
/// follows blank lines from the first blank line).
type LineStarts = Arc<Mutex<VecDeque<u64>>>;

/// Where the lexer is inside the CSV text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LexState {
    /// Between records: line terminators are skipped (blank lines are not records).
    RecordStart,
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: either `""` or the closing quote.
    QuoteInQuoted,
}

/// Sits between the decoded text and the csv parser, following the same quoting rules, to record
/// the line each record starts on, and to refuse a record bigger than [`MAX_RECORD_BYTES`] (an
/// unclosed quote would otherwise make the parser buffer the rest of the file).
struct TrackingReader<R> {
    inner: R,
    delimiter: u8,
    starts: LineStarts,
    state: LexState,
    line: u64,
    record_bytes: u64,
    /// The text ended inside a quoted value.
    ended_in_quote: Arc<AtomicBool>,
}

impl<R: Read> TrackingReader<R> {
    fn new(inner: R, delimiter: u8, starts: LineStarts, first_line: u64) -> Self {
        TrackingReader {
            inner,
            delimiter,
            starts,
            state: LexState::RecordStart,
            line: first_line,
            record_bytes: 0,
            ended_in_quote: Arc::default(),
        }
    }

    fn track(&mut self, bytes: &[u8]) {
        let terminator = |b: u8| b == b'\n' || b == b'\r';
        for &b in bytes {
            if self.state == LexState::RecordStart && !terminator(b) {
                self.starts.lock().unwrap_or_else(|e| e.into_inner()).push_back(self.line);
                self.record_bytes = 0;
                self.state = LexState::FieldStart;
            }
            self.state = match self.state {
                LexState::RecordStart => LexState::RecordStart,
                LexState::FieldStart | LexState::QuoteInQuoted if b == b'"' => LexState::Quoted,
                LexState::Quoted if b == b'"' => LexState::QuoteInQuoted,
                LexState::Quoted => LexState::Quoted,
                _ if b == self.delimiter => LexState::FieldStart,
                _ if terminator(b) => LexState::RecordStart,
                _ => LexState::Unquoted,
            };
            if self.state != LexState::RecordStart {
                self.record_bytes += 1;
            }
            // The text comes with CRLF as LF already: every CR left ended a line of its own
            // (old Mac files end every line so).
            if terminator(b) {
                self.line += 1;
            }
        }
    }
}

impl<R: Read> Read for TrackingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.record_bytes > MAX_RECORD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a record is longer than {} MB (an unclosed quote?)",
                    MAX_RECORD_BYTES / (1024 * 1024)
                ),
            ));
        }
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.state == LexState::Quoted {
            self.ended_in_quote.store(true, Ordering::Relaxed);
        }
        self.track(&buf[..n]);
        Ok(n)
    }
}

/// The first (logical) line of the decoded text, its terminator included: a quoted header cell
/// may span lines. Each byte is looked at once (a stray quote makes the rest of the file, up to
/// [`MAX_HEADER_BYTES`], one line, and rescanning it per line was quadratic). The decoded text has
/// CRLF as LF already, so a CR here is a line end of its own (classic Mac files).
fn read_header_line(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    let mut in_quotes = false;
    loop {
        let available = reader.fill_buf()?;
        let room = MAX_HEADER_BYTES - line.len();
        let window = &available[..available.len().min(room)];
        let mut end = None;
        for at in memchr::memchr3_iter(b'"', b'\n', b'\r', window) {
            match window[at] {
                b'"' => in_quotes = !in_quotes,
                _ if !in_quotes => {
                    end = Some(at + 1);
                    break;
                }
                _ => {}
            }
        }
        let taken = end.unwrap_or(window.len());
        line.extend_from_slice(&window[..taken]);
        reader.consume(taken);
        if end.is_some() || taken == 0 || line.len() >= MAX_HEADER_BYTES {
            return Ok(line);
        }
    }
}

/// `sep=;` (Excel's delimiter hint line), with the delimiter it names.
fn excel_separator_hint(line: &[u8]) -> Option<u8> {
    let line = std::str::from_utf8(line).ok()?.trim_end_matches(['\r', '\n']);
    let rest = line.strip_prefix("sep=").or_else(|| line.strip_prefix("SEP="))?;
    match rest.as_bytes() {
        [d] if !d.is_ascii_alphanumeric() && *d != b'"' => Some(*d),
        _ => None,
    }
}

/// The most frequent of `,` `;` TAB outside quotes in the header line (comma on a tie).
fn sniff_delimiter(header: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    for &b in header {
        match b {
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => counts[0] += 1,
            b';' if !in_quotes => counts[1] += 1,
            b'\t' if !in_quotes => counts[2] += 1,
            b'\n' | b'\r' if !in_quotes => break,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], std::cmp::Reverse(i))).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        candidates[best]
    }
}

// ---------------------------------------------------------------------------------------------
// Header classification

/// A part of a postal address column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum AddrPart {
    Street,
    Extended,
    City,
    Region,
    PostalCode,
    Country,
    PoBox,
    /// The whole address as one text (Google `Address 1 - Formatted`, Outlook `Home Address`).
    Formatted,
}

/// Google's numbered column groups (`E-mail 2 - Value`, `Relation 1 - Label`, …).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum GroupKind {
    Email,
    Phone,
    Address,
    Website,
    Event,
    /// Relation, Custom Field, IM, …: kept as extra fields under this name.
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupAttr {
    Label,
    Value,
    Part(AddrPart),
}

/// What a column holds.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    /// Metadata with no user content (`E-mail Type`, an unnamed column).
    Ignore,
    /// Outlook's `E-mail Display Name`: `Name (address)`, only read to recover the SMTP address
    /// of an Exchange contact whose `E-mail Address` is an X.500 path.
    EmailDisplayName,
    /// Read but not modelled: goes to `Contact::extra` under the header's name.
    Extra,
    FormattedName,
    Prefix,
    Given,
    Additional,
    Family,
    Suffix,
    Nickname,
    Organization,
    Department,
    Title,
    Birthday,
    BirthYear,
    BirthMonth,
    BirthDayOfMonth,
    Notes,
    Photo,
    Categories,
    Email {
        place: Option<Place>,
        preferred: bool,
    },
    Phone {
        kind: PhoneKind,
        place: Option<Place>,
        preferred: bool,
        label: Option<&'static str>,
    },
    Url {
        place: Option<Place>,
    },
    /// A fixed address column (Outlook `Business City`): one address per place.
    Address {
        place: Option<Place>,
        part: AddrPart,
    },
    Group {
        kind: GroupKind,
        n: u32,
        attr: GroupAttr,
    },
}

#[derive(Debug, Clone)]
struct Column {
    header: String,
    role: Role,
}

/// Header words: lower-case ASCII alphanumeric runs. `E-mail` and `e mail` become `email`;
/// non-ASCII letters are dropped without splitting, so `geschäftlich` and the `gesch\u{FFFD}ftlich`
/// of a lossily re-encoded export both read `geschftlich`.
fn header_tokens(header: &str) -> Vec<String> {
    let lower = header.trim().to_lowercase().replace("e-mail", "email").replace("e mail", "email");
    let mut tokens = Vec::new();
    let mut current = String::new();
    for c in lower.chars() {
        if c.is_ascii_alphanumeric() {
            current.push(c);
        } else if c.is_ascii() && !current.is_empty() {
            tokens.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// The matching key of a header: case-, whitespace-, hyphen- and punctuation-insensitive.
fn header_key(header: &str) -> String {
    header_tokens(header).concat()
}

fn classify_columns(names: &[String]) -> Vec<Column> {
    let keys: Vec<String> = names.iter().map(|n| header_key(n)).collect();
    let has_birth_parts = keys
        .iter()
        .any(|k| matches!(k.as_str(), "birthyear" | "birthmonth" | "geburtsjahr" | "geburtsmonat"));
    let has_streets = keys.iter().any(|k| k.ends_with("street"));
    names
        .iter()
        .zip(&keys)
        .map(|(name, key)| {
            let mut role = classify(name);
            // Thunderbird's `Birth Day` (and German `Geburtstag` beside `Geburtsjahr`) is a day number.
            if role == Role::Birthday && has_birth_parts {
                role = Role::BirthDayOfMonth;
            }
            // Outlook's `Home Address` is the formatted address when `Home Street` exists;
            // Thunderbird's is the first street line.
            if let Role::Address { place, part: AddrPart::Street } = role {
                if has_streets && key.ends_with("address") {
                    role = Role::Address { place, part: AddrPart::Formatted };
                }
            }
            Column { header: name.clone(), role }
        })
        .collect()
}

/// A header row names at least one column this reader understands, and holds no email address
/// and no phone number or date (five digits or more): those are data.
fn looks_like_header(names: &[String]) -> bool {
    let data_like = |n: &String| n.contains('@') || n.chars().filter(char::is_ascii_digit).count() >= 5;
    !names.iter().any(data_like) && names.iter().any(|n| !matches!(classify(n), Role::Extra | Role::Ignore))
}

fn detect_dialect(names: &[String]) -> Dialect {
    let keys: Vec<String> = names.iter().map(|n| header_key(n)).collect();
    let has = |k: &str| keys.iter().any(|x| x == k);
    if has("labels")
        || keys.iter().any(|k| k.starts_with("email") && k.ends_with("label"))
        || has("organizationname")
    {
        Dialect::GoogleCurrent
    } else if has("givenname")
        || has("groupmembership")
        || keys.iter().any(|k| k.ends_with("type") && k.starts_with("phone"))
    {
        Dialect::GoogleLegacy
    } else if has("primaryemail") || has("mobilenumber") {
        Dialect::Thunderbird
    } else if has("emailaddress") && (has("businessphone") || has("mobilephone") || has("homephone")) {
        Dialect::Outlook
    } else if has("vorname") || has("nachname") || has("emailadresse") || has("firma") {
        Dialect::German
    } else {
        Dialect::Generic
    }
}

fn classify(header: &str) -> Role {
    let tokens = header_tokens(header);
    let key = tokens.concat();
    if key.is_empty() {
        return Role::Ignore;
    }
    if let Some(role) = classify_numbered(header) {
        return role;
    }
    if let Some(role) = exact_role(&key) {
        return role;
    }
    classify_by_words(&tokens, &key)
}

/// Google's `Kind N - Attribute` columns.
fn classify_numbered(header: &str) -> Option<Role> {
    let (left, right) = header.split_once(" - ")?;
    let left_tokens = header_tokens(left);
    let (number, kind_tokens) = left_tokens.split_last()?;
    let n: u32 = number.parse().ok()?;
    if kind_tokens.is_empty() {
        return None;
    }
    let attr = header_key(right);
    let kind_key = kind_tokens.concat();
    if kind_key == "organization" {
        return Some(match (n, attr.as_str()) {
            (1, "name") => Role::Organization,
            (1, "title") => Role::Title,
            (1, "department") => Role::Department,
            _ => Role::Extra,
        });
    }
    let kind = match kind_key.as_str() {
        "email" => GroupKind::Email,
        "phone" => GroupKind::Phone,
        "address" => GroupKind::Address,
        "website" => GroupKind::Website,
        "event" => GroupKind::Event,
        _ => {
            let name = left.trim().trim_end_matches(|c: char| c.is_ascii_digit()).trim().to_string();
            GroupKind::Other(name)
        }
    };
    let attr = match attr.as_str() {
        "label" | "type" => GroupAttr::Label,
        "value" => GroupAttr::Value,
        _ if kind == GroupKind::Address => GroupAttr::Part(match attr.as_str() {
            "formatted" => AddrPart::Formatted,
            "street" => AddrPart::Street,
            "city" => AddrPart::City,
            "pobox" => AddrPart::PoBox,
            "region" => AddrPart::Region,
            "postalcode" => AddrPart::PostalCode,
            "country" => AddrPart::Country,
            "extendedaddress" => AddrPart::Extended,
            _ => return Some(Role::Extra),
        }),
        _ => return Some(Role::Extra),
    };
    Some(Role::Group { kind, n, attr })
}

/// Headers known by their exact key (English exporters and their German translations).
fn exact_role(key: &str) -> Option<Role> {
    let phone = |kind, place, preferred, label| Role::Phone { kind, place, preferred, label };
    Some(match key {
        "name" | "displayname" | "fullname" | "formattedname" | "contactname" | "anzeigename" => {
            Role::FormattedName
        }
        "title" | "nameprefix" | "prefix" | "salutation" | "anrede" => Role::Prefix,
        "firstname" | "givenname" | "first" | "forename" | "vorname" => Role::Given,
        "middlename" | "additionalname" | "middle" | "weiterevornamen" | "2vorname" => Role::Additional,
        "lastname" | "familyname" | "surname" | "last" | "nachname" => Role::Family,
        "suffix" | "namesuffix" => Role::Suffix,
        "nickname" | "spitzname" => Role::Nickname,
        "company" | "companyname" | "organization" | "organisation" | "organizationname" | "firma" => {
            Role::Organization
        }
        "department" | "organizationdepartment" | "abteilung" => Role::Department,
        "jobtitle" | "organizationtitle" | "position" | "role" | "arbeitstitel" | "berufsbezeichnung" => {
            Role::Title
        }
        "birthday" | "birthdate" | "dateofbirth" | "bday" | "geburtstag" | "geburtsdatum" => Role::Birthday,
        "birthyear" | "geburtsjahr" => Role::BirthYear,
        "birthmonth" | "geburtsmonat" => Role::BirthMonth,
        "notes" | "note" | "comments" | "comment" | "notizen" | "notiz" | "bemerkungen" => Role::Notes,
        "photo" | "picture" | "foto" => Role::Photo,
        "labels" | "groupmembership" | "categories" | "category" | "groups" | "kategorien" => {
            Role::Categories
        }
        "primaryphone" | "mainphone" | "haupttelefon" | "hauptnummer" => {
            phone(PhoneKind::Voice, None, true, None)
        }
        "companymainphone" | "telefonfirma" => {
            phone(PhoneKind::Voice, Some(Place::Work), false, Some("Company"))
        }
        "assistantsphone" | "telefonassistent" => {
            phone(PhoneKind::Voice, Some(Place::Work), false, Some("Assistant"))
        }
        "callback" | "rckmeldung" => phone(PhoneKind::Voice, None, false, Some("Callback")),
        "isdn" => phone(PhoneKind::Voice, None, false, Some("ISDN")),
        "carphone" | "autotelefon" => phone(PhoneKind::Mobile, None, false, Some("Car")),
        "radiophone" => phone(PhoneKind::Other, None, false, Some("Radio")),
        "ttytddphone" => phone(PhoneKind::Other, None, false, Some("TTY/TDD")),
        "homepage" | "url" | "webpage" | "website" | "webseite" | "web" => Role::Url { place: None },
        "email" | "mail" | "emailaddress" | "emailadresse" => Role::Email { place: None, preferred: false },
        // Words the rules below would misread.
        "telex" | "screenname" | "maidenname" | "shortname" | "fileas" | "location" | "ort"
        | "officelocation" | "managersname" | "assistantsname" | "nameassistent" => Role::Extra,
        _ => return None,
    })
}

fn any_token(tokens: &[String], pred: impl Fn(&str) -> bool) -> bool {
    tokens.iter().any(|t| pred(t))
}

/// Home / work / other from header words (`Business Phone`, `Telefon geschäftlich`, `Privat: Ort`).
fn place_of(tokens: &[String]) -> Option<Place> {
    for t in tokens {
        let starts = |prefixes: &[&str]| prefixes.iter().any(|p| t.starts_with(p));
        if starts(&[
            "business",
            "work",
            "geschftlich",
            "geschaftlich",
            "dienstlich",
            "arbeit",
            "office",
            "company",
            "firma",
        ]) {
            return Some(Place::Work);
        }
        if starts(&["home", "privat", "personal"]) {
            return Some(Place::Home);
        }
        if starts(&["other", "weitere", "andere"]) {
            return Some(Place::Other);
        }
    }
    None
}

fn address_part(tokens: &[String]) -> Option<(AddrPart, bool)> {
    let has = |words: &[&str]| any_token(tokens, |t| words.contains(&t));
    // The bool says whether the word is unambiguous without a place (`City` vs German `Ort`).
    if has(&["pobox", "postfach", "postbox"]) || (has(&["po"]) && has(&["box"])) {
        return Some((AddrPart::PoBox, false));
    }
    if has(&["country", "countryregion"]) {
        return Some((AddrPart::Country, true));
    }
    if has(&["land"]) {
        return Some((AddrPart::Country, false));
    }
    if has(&["state", "province"]) {
        return Some((AddrPart::Region, true));
    }
    if has(&["region", "bundesland", "kanton", "county"]) {
        return Some((AddrPart::Region, false));
    }
    if has(&["zip", "zipcode", "postalcode", "postcode"]) || (has(&["postal"]) && has(&["code"])) {
        return Some((AddrPart::PostalCode, true));
    }
    if has(&["plz", "postleitzahl"]) {
        return Some((AddrPart::PostalCode, false));
    }
    if has(&["city", "town"]) {
        return Some((AddrPart::City, true));
    }
    if has(&["ort", "stadt", "locality"]) {
        return Some((AddrPart::City, false));
    }
    if has(&["street", "address"]) {
        return Some((AddrPart::Street, true));
    }
    if has(&["strasse", "strae", "str", "adresse", "adr", "addr"])
        || any_token(tokens, |t| t.ends_with("adresse") || t.ends_with("address"))
    {
        return Some((AddrPart::Street, false));
    }
    None
}

/// Generic rules: what the words of a header say.
fn classify_by_words(tokens: &[String], key: &str) -> Role {
    let starts = |prefixes: &[&str]| any_token(tokens, |t| prefixes.iter().any(|p| t.starts_with(p)));
    let is = |words: &[&str]| any_token(tokens, |t| words.contains(&t));
    let place = place_of(tokens);
    let preferred = starts(&["primary", "primr", "primae", "haupt"]);
    // Phonetic spellings, instant messaging and user-defined fields: kept as extras.
    if starts(&["phonetic", "yomi", "aussprache", "messenger", "benutzer", "custom", "user"])
        || is(&["im", "imaddress", "aim", "icq", "jabber", "msn", "yahoo", "skype", "qq", "screen", "gtalk"])
        || key.ends_with("yomi")
    {
        return Role::Extra;
    }
    if any_token(tokens, |t| t == "mail" || t.starts_with("email") || t.ends_with("mail")) {
        if is(&["displayname", "angezeigter"]) || (is(&["display"]) && is(&["name"])) {
            return Role::EmailDisplayName;
        }
        if is(&["type", "typ"]) {
            return Role::Ignore;
        }
        return Role::Email { place, preferred };
    }
    if starts(&["web", "homepage", "website"]) || is(&["url", "blog"]) {
        return Role::Url { place };
    }
    let phone = |kind| Role::Phone { kind, place, preferred, label: None };
    if any_token(tokens, |t| t.contains("fax")) {
        return phone(PhoneKind::Fax);
    }
    if starts(&["pager"]) {
        return phone(PhoneKind::Pager);
    }
    let phone_word = is(&["tel", "nr", "number"])
        || starts(&["phone", "telefon", "telephone"])
        || any_token(tokens, |t| t.ends_with("phone"));
    if starts(&["mobil", "handy", "cell"]) || (is(&["car"]) && phone_word) {
        return phone(PhoneKind::Mobile);
    }
    if is(&["video"]) && phone_word {
        return phone(PhoneKind::Video);
    }
    if is(&["tel"])
        || starts(&["phone", "telefon", "telephone"])
        || any_token(tokens, |t| t.ends_with("phone"))
    {
        return phone(PhoneKind::Voice);
    }
    if let Some((part, unambiguous)) = address_part(tokens) {
        if place.is_some() || unambiguous {
            return Role::Address { place, part };
        }
    }
    if key.contains("firstname") || key.contains("givenname") || key.contains("forename") {
        return Role::Given;
    }
    if key.contains("lastname") || key.contains("surname") || key.contains("familyname") {
        return Role::Family;
    }
    if key.contains("middlename") {
        return Role::Additional;
    }
    if is(&["company", "organization", "organisation", "org", "employer"]) {
        return Role::Organization;
    }
    Role::Extra
}

// ---------------------------------------------------------------------------------------------
// Values → Contact

/// The cells of one numbered Google group in one row.
#[derive(Debug, Default)]
struct GroupCells {
    label: Option<String>,
    value: Option<String>,
    parts: Vec<(AddrPart, String)>,
}

fn build_contact(
    columns: &[Column],
    row: &csv::StringRecord,
    warnings: &mut Vec<String>,
    source: &str,
) -> Contact {
    let mut c = Contact::default();
    let mut groups: BTreeMap<(GroupKind, u32), GroupCells> = BTreeMap::new();
    let mut fixed_addresses: BTreeMap<Option<Place>, Vec<(AddrPart, String)>> = BTreeMap::new();
    let (mut birth_year, mut birth_month, mut birth_day) = (None::<String>, None::<String>, None::<String>);
    let mut email_display_names = Vec::new();

    for (i, raw) in row.iter().enumerate() {
        let value = raw.trim();
        if value.is_empty() {
            continue;
        }
        let Some(column) = columns.get(i) else {
            c.extra.push(ExtraField { field: format!("column {}", i + 1), value: value.to_string() });
            continue;
        };
        let header = column.header.as_str();
        let single = |slot: &mut Option<String>, extra: &mut Vec<ExtraField>| {
            if slot.is_none() {
                *slot = Some(value.to_string());
            } else {
                extra.push(ExtraField { field: header.to_string(), value: value.to_string() });
            }
        };
        match &column.role {
            Role::Ignore => {}
            Role::EmailDisplayName => email_display_names.push(value),
            Role::Extra => {
                if !is_default_noise(value) {
                    let field =
                        if header.is_empty() { format!("column {}", i + 1) } else { header.to_string() };
                    c.extra.push(ExtraField { field, value: value.to_string() });
                }
            }
            Role::FormattedName => single(&mut c.formatted_name, &mut c.extra),
            Role::Prefix => single(&mut c.prefix, &mut c.extra),
            Role::Given => single(&mut c.given, &mut c.extra),
            Role::Additional => single(&mut c.additional, &mut c.extra),
            Role::Family => single(&mut c.family, &mut c.extra),
            Role::Suffix => single(&mut c.suffix, &mut c.extra),
            Role::Nickname => single(&mut c.nickname, &mut c.extra),
            Role::Organization => single(&mut c.organization, &mut c.extra),
            Role::Department => single(&mut c.department, &mut c.extra),
            Role::Title => single(&mut c.title, &mut c.extra),
            Role::Birthday => set_birthday(&mut c, value, header),
            Role::BirthYear => birth_year = Some(value.to_string()),
            Role::BirthMonth => birth_month = Some(value.to_string()),
            Role::BirthDayOfMonth => birth_day = Some(value.to_string()),
            Role::Notes => c.notes.push(value.to_string()),
            Role::Photo => set_photo(&mut c, value, header),
            Role::Categories => add_categories(&mut c.categories, value),
            Role::Email { place, preferred } => {
                for v in split_multi(value) {
                    let (v, starred) = strip_star(v);
                    c.emails.push(Email {
                        value: clean_email(v),
                        place: *place,
                        preferred: *preferred || starred,
                        label: None,
                    });
                }
            }
            Role::Phone { kind, place, preferred, label } => {
                for v in split_multi(value) {
                    let (v, starred) = strip_star(v);
                    c.phones.push(Phone {
                        value: clean_phone(v),
                        kind: *kind,
                        place: *place,
                        preferred: *preferred || starred,
                        label: label.map(str::to_string),
                    });
                }
            }
            Role::Url { place } => {
                for v in split_multi(value) {
                    c.urls.push(WebUrl { value: v.to_string(), place: *place, label: None });
                }
            }
            Role::Address { place, part } => {
                fixed_addresses.entry(*place).or_default().push((*part, value.to_string()))
            }
            Role::Group { kind, n, attr } => {
                let cells = groups.entry((kind.clone(), *n)).or_default();
                match attr {
                    GroupAttr::Label => cells.label = Some(value.to_string()),
                    GroupAttr::Value => cells.value = Some(value.to_string()),
                    GroupAttr::Part(part) => cells.parts.push((*part, value.to_string())),
                }
            }
        }
    }

    set_birthday_from_parts(&mut c, birth_year, birth_month, birth_day, warnings, source);
    recover_exchange_addresses(&mut c, &email_display_names, warnings, source);
    for (place, parts) in fixed_addresses {
        if let Some(address) = assemble_address(place, None, &parts) {
            c.addresses.push(address);
        }
    }
    for ((kind, _), cells) in groups {
        add_group(&mut c, kind, cells);
    }
    c
}

/// Outlook exports an Exchange contact's address as an X.500 path (`/o=ExchangeLabs/ou=…`) with
/// the SMTP address only in the display name (`Jane Doe (jane@example.com)`): take it from there,
/// in column order, or report the path as dropped.
fn recover_exchange_addresses(
    c: &mut Contact,
    display_names: &[&str],
    warnings: &mut Vec<String>,
    source: &str,
) {
    if !c.emails.iter().any(|e| is_x500(&e.value)) {
        return;
    }
    let known: Vec<String> = c.emails.iter().map(|e| e.value.to_lowercase()).collect();
    let mut candidates = display_names
        .iter()
        .filter_map(|d| address_in_display_name(d))
        .filter(|a| !known.contains(&a.to_lowercase()));
    let mut kept = Vec::with_capacity(c.emails.len());
    for mut email in std::mem::take(&mut c.emails) {
        if !is_x500(&email.value) {
            kept.push(email);
            continue;
        }
        match candidates.next() {
            Some(address) => {
                warnings.push(format!(
                    "{source}: Exchange address {} replaced by {address} from its display name",
                    email.value
                ));
                email.value = address.to_string();
                kept.push(email);
            }
            None => c
                .extra
                .push(ExtraField { field: "E-mail Address (Exchange)".to_string(), value: email.value }),
        }
    }
    c.emails = kept;
}

fn is_x500(value: &str) -> bool {
    value.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("/o="))
}

/// `Jane Doe (jane@example.com)` → `jane@example.com`.
fn address_in_display_name(display: &str) -> Option<&str> {
    let open = display.rfind('(')?;
    let inner = display[open + 1..].strip_suffix(')')?.trim();
    (inner.contains('@') && !inner.contains(char::is_whitespace)).then_some(inner)
}

/// `mailto:` links are addresses too.
fn clean_email(value: &str) -> String {
    match value.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => value[7..].trim().to_string(),
        _ => value.to_string(),
    }
}

/// Spreadsheet tricks that keep a leading `+` or `0`: `'+33 6…` and `="0612…"`; a `tel:` prefix.
fn clean_phone(value: &str) -> String {
    let v = value.trim();
    let v = v.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')).unwrap_or(v);
    let v = match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(|c: char| c == '+' || c == '(' || c.is_ascii_digit()) => rest,
        _ => v,
    };
    let v = match v.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("tel:") => &v[4..],
        _ => v,
    };
    v.trim().to_string()
}

/// Google's ` ::: ` multi-value cells, empty members skipped.
fn split_multi(value: &str) -> impl Iterator<Item = &str> {
    value.split(MULTI_SEPARATOR).map(str::trim).filter(|v| !v.is_empty())
}

/// A leading `* ` marks Google's primary value / system group.
fn strip_star(value: &str) -> (&str, bool) {
    match value.strip_prefix('*') {
        Some(rest) => (rest.trim_start(), true),
        None => (value, false),
    }
}

/// Outlook's placeholders for "not set" (`Normal`, `Aus`, `0/0/00`, `Keine Angabe`, …): not
/// worth reporting as dropped data.
fn is_default_noise(value: &str) -> bool {
    let lower = value.trim().to_lowercase();
    matches!(
        lower.as_str(),
        "normal" | "aus" | "false" | "off" | "unspecified" | "keine angabe" | "smtp" | "ex" | "0"
    ) || is_zero_placeholder(&lower)
}

/// `0/0/00`, `00.00.0000`, `0`: Outlook's empty date.
fn is_zero_placeholder(s: &str) -> bool {
    s.contains('0') && s.chars().all(|c| matches!(c, '0' | '/' | '.' | '-'))
}

fn add_categories(categories: &mut Vec<String>, value: &str) {
    for item in value.split(MULTI_SEPARATOR).flat_map(|v| v.split(';')) {
        let (name, _) = strip_star(item.trim());
        // Google puts every contact in its `* myContacts` system group: not a user category.
        if name.is_empty() || header_key(name) == "mycontacts" {
            continue;
        }
        if !categories.iter().any(|c| c == name) {
            categories.push(name.to_string());
        }
    }
}

fn set_photo(c: &mut Contact, value: &str, header: &str) {
    if c.photo.is_some() {
        c.extra.push(ExtraField { field: header.to_string(), value: value.to_string() });
        return;
    }
    let lower = value.to_ascii_lowercase();
    c.photo = Some(if lower.starts_with("http://") || lower.starts_with("https://") {
        Photo::Uri(value.to_string())
    } else if let Some(rest) = lower.strip_prefix("data:") {
        use base64::Engine as _;
        match rest.split_once(',') {
            Some((meta, _)) if meta.ends_with(";base64") => {
                let data = &value[value.len() - (rest.len() - meta.len() - 1)..];
                let media_type = meta.trim_end_matches(";base64");
                match base64::engine::general_purpose::STANDARD.decode(data.trim()) {
                    Ok(bytes) => Photo::Inline {
                        bytes,
                        media_type: (!media_type.is_empty()).then(|| media_type.to_string()),
                    },
                    Err(e) => Photo::Unreadable(format!("bad base64 in data: URI: {e}")),
                }
            }
            _ => Photo::Unreadable("data: URI without base64 content".to_string()),
        }
    } else {
        Photo::Unreadable(format!("`{}` is neither a URL nor a data: URI", truncate(value, 60)))
    });
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Blank, or an all-zero placeholder (`0/0/00`, `00.00.0000`) that Outlook writes for "none".
fn is_empty_date(value: &str) -> bool {
    let s = value.trim();
    s.is_empty() || is_zero_placeholder(s)
}

fn set_birthday(c: &mut Contact, value: &str, header: &str) {
    if !is_empty_date(value) && !c.take_birthday(value, DateOrder::MonthFirst) {
        c.extra.push(ExtraField { field: header.to_string(), value: value.to_string() });
    }
}

/// Thunderbird's `Birth Year` / `Birth Month` / `Birth Day` columns.
fn set_birthday_from_parts(
    c: &mut Contact,
    year: Option<String>,
    month: Option<String>,
    day: Option<String>,
    warnings: &mut Vec<String>,
    source: &str,
) {
    if year.is_none() && month.is_none() && day.is_none() {
        return;
    }
    let text = [("year", &year), ("month", &month), ("day", &day)]
        .iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| format!("{name} {v}")))
        .collect::<Vec<_>>()
        .join(", ");
    if c.birthday.is_some() || c.birthday_text.is_some() {
        warnings.push(format!("{source}: birthday parts {text} ignored: a birthday column was already read"));
        return;
    }
    let num = |s: &Option<String>| s.as_deref().and_then(|s| s.trim().parse::<u32>().ok());
    let (y, m, d) = (num(&year), num(&month), num(&day));
    let year_ok = year.is_none() || y.is_some_and(|y| (1..=9999).contains(&y));
    c.birthday = match (m, d) {
        (Some(m), Some(d)) if year_ok && m > 0 && d > 0 && m <= 12 && d <= 31 => {
            PartialDate::new(y.map(|y| y as u16), Some(m as u8), Some(d as u8))
        }
        _ => None,
    };
    c.birthday_text = Some(text);
}

/// What a Google label (or `* Home`) says about a value.
#[derive(Debug, Default, PartialEq)]
struct LabelInfo {
    place: Option<Place>,
    kind: Option<PhoneKind>,
    preferred: bool,
    /// The label itself when it is not one of the known words.
    free: Option<String>,
}

fn parse_label(raw: &str) -> LabelInfo {
    let (text, preferred) = strip_star(raw.trim());
    let mut info = LabelInfo { preferred, ..LabelInfo::default() };
    let (place, kind) = match header_key(text).as_str() {
        "" => (None, None),
        "home" | "privat" | "private" | "personal" => (Some(Place::Home), None),
        "work" | "business" | "office" | "geschftlich" | "geschaftlich" | "dienstlich" | "arbeit" => {
            (Some(Place::Work), None)
        }
        "other" | "andere" | "anderes" | "weitere" => (Some(Place::Other), None),
        "mobile" | "cell" | "mobil" | "handy" | "mobiltelefon" => (None, Some(PhoneKind::Mobile)),
        "homemobile" => (Some(Place::Home), Some(PhoneKind::Mobile)),
        "workmobile" | "businessmobile" => (Some(Place::Work), Some(PhoneKind::Mobile)),
        "pager" | "workpager" => (None, Some(PhoneKind::Pager)),
        "homefax" | "faxprivat" => (Some(Place::Home), Some(PhoneKind::Fax)),
        "workfax" | "businessfax" | "faxgeschftlich" => (Some(Place::Work), Some(PhoneKind::Fax)),
        "fax" => (None, Some(PhoneKind::Fax)),
        "otherfax" => (Some(Place::Other), Some(PhoneKind::Fax)),
        "main" => {
            info.free = Some(text.to_string());
            (None, Some(PhoneKind::Voice))
        }
        _ => {
            info.free = Some(text.to_string());
            (None, None)
        }
    };
    info.place = place;
    info.kind = kind;
    info
}

/// Pairs the values of a ` ::: ` cell with the labels of its label cell (same count), else gives
/// every value the whole label.
fn labelled_values(cells: &GroupCells) -> Vec<(String, LabelInfo)> {
    let Some(value) = cells.value.as_deref() else { return Vec::new() };
    let values: Vec<&str> = split_multi(value).collect();
    let labels: Vec<&str> =
        cells.label.as_deref().map(|l| l.split(MULTI_SEPARATOR).map(str::trim).collect()).unwrap_or_default();
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let label =
                if labels.len() == values.len() { labels[i] } else { cells.label.as_deref().unwrap_or("") };
            let mut info = parse_label(label);
            // `* Home` on a multi-value cell marks only its first value primary.
            if labels.len() != values.len() && i > 0 {
                info.preferred = false;
            }
            let (v, starred) = strip_star(v);
            info.preferred |= starred;
            (v.to_string(), info)
        })
        .collect()
}

fn add_group(c: &mut Contact, kind: GroupKind, cells: GroupCells) {
    match kind {
        GroupKind::Email => {
            for (value, info) in labelled_values(&cells) {
                // A phone word on an email (`Mobile`) is just a label.
                let free = info.free.or_else(|| info.kind.and(cells.label.clone()));
                let value = clean_email(&value);
                c.emails.push(Email { value, place: info.place, preferred: info.preferred, label: free });
            }
        }
        GroupKind::Phone => {
            for (value, info) in labelled_values(&cells) {
                c.phones.push(Phone {
                    value: clean_phone(&value),
                    kind: info.kind.unwrap_or(PhoneKind::Voice),
                    place: info.place,
                    preferred: info.preferred,
                    label: info.free,
                });
            }
        }
        GroupKind::Website => {
            for (value, info) in labelled_values(&cells) {
                c.urls.push(WebUrl { value, place: info.place, label: info.free });
            }
        }
        GroupKind::Address => {
            let info = cells.label.as_deref().map(parse_label).unwrap_or_default();
            let mut parts = cells.parts;
            if let Some(v) = cells.value {
                parts.push((AddrPart::Formatted, v));
            }
            if let Some(address) = assemble_address(info.place, info.free, &parts) {
                c.addresses.push(address);
            }
        }
        GroupKind::Event => {
            let label = cells.label.as_deref().map(|l| strip_star(l.trim()).0.to_string());
            let Some(value) = cells.value else { return };
            if label.as_deref().map(header_key).as_deref() == Some("birthday")
                && c.birthday.is_none()
                && PartialDate::parse(&value, DateOrder::MonthFirst).is_some()
                && c.take_birthday(&value, DateOrder::MonthFirst)
            {
                return;
            }
            if !is_default_noise(&value) {
                let field = match label {
                    Some(l) if !l.is_empty() => format!("Event ({l})"),
                    _ => "Event".to_string(),
                };
                c.extra.push(ExtraField { field, value });
            }
        }
        GroupKind::Other(name) => {
            let Some(value) = cells.value else { return };
            let field = match cells.label.as_deref().map(|l| strip_star(l.trim()).0) {
                Some(l) if !l.is_empty() => format!("{name} ({l})"),
                _ => name,
            };
            c.extra.push(ExtraField { field, value });
        }
    }
}

/// One address from its part columns; `None` when every part is empty.
fn assemble_address(
    place: Option<Place>,
    label: Option<String>,
    parts: &[(AddrPart, String)],
) -> Option<PostalAddress> {
    if parts.is_empty() {
        return None;
    }
    let joined = |part: AddrPart| -> Option<String> {
        let values: Vec<&str> = parts.iter().filter(|(p, _)| *p == part).map(|(_, v)| v.as_str()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    };
    let formatted = joined(AddrPart::Formatted);
    let mut address = PostalAddress {
        place,
        po_box: joined(AddrPart::PoBox),
        extended: joined(AddrPart::Extended),
        street: joined(AddrPart::Street),
        city: joined(AddrPart::City),
        region: joined(AddrPart::Region),
        postal_code: joined(AddrPart::PostalCode),
        country: joined(AddrPart::Country),
        label: formatted.clone().or(label),
    };
    let structured = address.po_box.is_some()
        || address.extended.is_some()
        || address.street.is_some()
        || address.city.is_some()
        || address.region.is_some()
        || address.postal_code.is_some()
        || address.country.is_some();
    if !structured {
        // Only the formatted text: keep it as the street so it is not lost.
        let f = formatted?;
        address.street =
            Some(f.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(", "));
    }
    Some(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(header: &str) -> Role {
        classify(header)
    }

    #[test]
    fn header_keys_ignore_case_spaces_hyphens_and_punctuation() {
        assert_eq!(header_key("E-mail Address"), "emailaddress");
        assert_eq!(header_key("  email address "), "emailaddress");
        assert_eq!(header_key("E-Mail-Adresse"), "emailadresse");
        assert_eq!(header_key("first_name"), "firstname");
        assert_eq!(header_key("Business Country/Region"), "businesscountryregion");
        assert_eq!(header_key("Telefon (privat)"), header_key("Telefon privat"));
        // Umlauts and the U+FFFD of a lossy re-encoding read the same.
        assert_eq!(header_key("Telefon geschäftlich"), header_key("Telefon gesch\u{FFFD}ftlich"));
        assert_eq!(header_tokens("Mobil-Tel.-Nr."), ["mobil", "tel", "nr"]);
    }

    #[test]
    fn e_mail_and_email_headers_are_the_same_column() {
        assert_eq!(role("E-mail 1 - Value"), role("Email 1 - Value"));
        assert_eq!(
            role("Email 1 - Value"),
            Role::Group { kind: GroupKind::Email, n: 1, attr: GroupAttr::Value }
        );
        assert_eq!(role("E-mail Address"), role("Email Address"));
    }

    #[test]
    fn google_numbered_groups() {
        assert_eq!(
            role("Phone 3 - Label"),
            Role::Group { kind: GroupKind::Phone, n: 3, attr: GroupAttr::Label }
        );
        assert_eq!(role("Phone 3 - Type"), role("Phone 3 - Label"));
        assert_eq!(
            role("Address 2 - Postal Code"),
            Role::Group { kind: GroupKind::Address, n: 2, attr: GroupAttr::Part(AddrPart::PostalCode) }
        );
        assert_eq!(role("Organization 1 - Name"), Role::Organization);
        assert_eq!(role("Organization 1 - Title"), Role::Title);
        assert_eq!(role("Organization 1 - Symbol"), Role::Extra);
        assert_eq!(
            role("Relation 1 - Value"),
            Role::Group { kind: GroupKind::Other("Relation".into()), n: 1, attr: GroupAttr::Value }
        );
        assert_eq!(role("IM 1 - Service"), Role::Extra);
    }

    #[test]
    fn outlook_title_is_the_prefix_and_job_title_the_title() {
        assert_eq!(role("Title"), Role::Prefix);
        assert_eq!(role("Job Title"), Role::Title);
        assert_eq!(role("Name Prefix"), Role::Prefix);
        assert_eq!(role("Anrede"), Role::Prefix);
    }

    #[test]
    fn phones_by_header_words() {
        let phone = |kind, place| Role::Phone { kind, place, preferred: false, label: None };
        assert_eq!(role("Mobile Phone"), phone(PhoneKind::Mobile, None));
        assert_eq!(role("Business Phone 2"), phone(PhoneKind::Voice, Some(Place::Work)));
        assert_eq!(role("Home Fax"), phone(PhoneKind::Fax, Some(Place::Home)));
        assert_eq!(role("Pager Number"), phone(PhoneKind::Pager, None));
        assert_eq!(role("Telefon geschäftlich"), phone(PhoneKind::Voice, Some(Place::Work)));
        assert_eq!(role("Tel. privat"), phone(PhoneKind::Voice, Some(Place::Home)));
        assert_eq!(role("Mobiltelefon"), phone(PhoneKind::Mobile, None));
        assert_eq!(role("Mobil-Tel.-Nr."), phone(PhoneKind::Mobile, None));
        assert_eq!(role("Fax (geschäftlich)"), phone(PhoneKind::Fax, Some(Place::Work)));
        assert_eq!(role("Phone Number"), phone(PhoneKind::Voice, None));
        assert!(matches!(role("Primary Phone"), Role::Phone { preferred: true, .. }));
    }

    #[test]
    fn emails_and_their_metadata() {
        assert_eq!(role("Primary Email"), Role::Email { place: None, preferred: true });
        assert_eq!(role("Primäre E-Mail-Adresse"), Role::Email { place: None, preferred: true });
        assert_eq!(role("E-mail 2 Address"), Role::Email { place: None, preferred: false });
        assert_eq!(role("E-Mail 2: Adresse"), Role::Email { place: None, preferred: false });
        assert_eq!(role("Email Work"), Role::Email { place: Some(Place::Work), preferred: false });
        assert_eq!(role("E-mail Type"), Role::Ignore);
        assert_eq!(role("E-mail Display Name"), Role::EmailDisplayName);
        assert_eq!(role("E-Mail: Angezeigter Name"), Role::EmailDisplayName);
    }

    #[test]
    fn addresses_by_place_and_part() {
        let adr = |place, part| Role::Address { place, part };
        assert_eq!(role("Business Street 2"), adr(Some(Place::Work), AddrPart::Street));
        assert_eq!(role("Home Country/Region"), adr(Some(Place::Home), AddrPart::Country));
        assert_eq!(role("Business Address PO Box"), adr(Some(Place::Work), AddrPart::PoBox));
        assert_eq!(role("Home ZipCode"), adr(Some(Place::Home), AddrPart::PostalCode));
        assert_eq!(role("Land/Region geschäftlich"), adr(Some(Place::Work), AddrPart::Country));
        assert_eq!(role("Bundesland/Kanton privat"), adr(Some(Place::Home), AddrPart::Region));
        assert_eq!(role("Privat: PLZ"), adr(Some(Place::Home), AddrPart::PostalCode));
        assert_eq!(role("Arbeitsadresse Strasse"), adr(Some(Place::Work), AddrPart::Street));
        assert_eq!(role("Weiterer Ort"), adr(Some(Place::Other), AddrPart::City));
        assert_eq!(role("City"), adr(None, AddrPart::City));
        // Outlook's `Ort` is the office location, not a city.
        assert_eq!(role("Ort"), Role::Extra);
    }

    #[test]
    fn outlook_home_address_is_formatted_only_beside_street_columns() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let outlook = classify_columns(&names(&["Home Address", "Home Street"]));
        assert_eq!(outlook[0].role, Role::Address { place: Some(Place::Home), part: AddrPart::Formatted });
        let thunderbird = classify_columns(&names(&["Home Address", "Home City"]));
        assert_eq!(thunderbird[0].role, Role::Address { place: Some(Place::Home), part: AddrPart::Street });
    }

    #[test]
    fn birth_day_is_a_day_number_beside_birth_year() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(classify_columns(&names(&["Birth Year", "Birth Day"]))[1].role, Role::BirthDayOfMonth);
        assert_eq!(classify_columns(&names(&["Geburtsjahr", "Geburtstag"]))[1].role, Role::BirthDayOfMonth);
        assert_eq!(classify_columns(&names(&["Geburtstag"]))[0].role, Role::Birthday);
    }

    #[test]
    fn look_alike_headers_stay_extra() {
        for h in [
            "Phonetic First Name",
            "Given Name Yomi",
            "Surname Yomi",
            "Screen Name",
            "Manager's Name",
            "File As",
            "IMAddress",
            "Custom 1",
            "Organizational ID Number",
            "Maiden Name",
        ] {
            assert_eq!(role(h), Role::Extra, "{h}");
        }
        assert_eq!(role(""), Role::Ignore);
    }

    #[test]
    fn generic_headers() {
        assert_eq!(role("Contact First Name"), Role::Given);
        assert_eq!(role("last_name"), Role::Family);
        assert_eq!(role("Company Name"), Role::Organization);
        assert_eq!(role("Name"), Role::FormattedName);
    }

    #[test]
    fn a_row_of_data_is_not_a_header() {
        let row = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!looks_like_header(&row(&["John Doe", "John", "Doe", "john@doe.invalid"])));
        assert!(!looks_like_header(&row(&["1", "2", "3"])));
        assert!(looks_like_header(&row(&["First Name", "Last Name"])));
    }

    #[test]
    fn dates() {
        // The forms themselves are PartialDate::parse's table test; here: what a cell becomes.
        let birthday = |value: &str| {
            let mut c = Contact::default();
            set_birthday(&mut c, value, "Birthday");
            (c.birthday, c.birthday_text)
        };
        let ymd = |y, m, d| Some(PartialDate { year: y, month: Some(m), day: Some(d) });
        assert_eq!(birthday("4/15/1980"), (ymd(Some(1980), 4, 15), Some("4/15/1980".into())));
        assert_eq!(birthday(" --12-25"), (ymd(None, 12, 25), Some("--12-25".into())));
        for empty in ["", "  ", "0/0/00", "00.00.0000", "0.0.00"] {
            assert_eq!(birthday(empty), (None, None), "{empty:?}");
        }
        for text in ["15-Jan-24", "1980-02-30", "13/13/1980", "sometime in May", "--13-01"] {
            assert_eq!(birthday(text), (None, Some(text.to_string())), "{text:?}");
        }
        let mut c = Contact::default();
        set_birthday(&mut c, "1980-04-15", "Birthday");
        set_birthday(&mut c, "1981-01-01", "Event 1 - Value");
        assert_eq!(c.extra[0].value, "1981-01-01", "a second birthday is kept as an extra field");
    }

    #[test]
    fn labels() {
        let l = parse_label("* Home");
        assert_eq!((l.place, l.kind, l.preferred, l.free), (Some(Place::Home), None, true, None));
        let l = parse_label("Work Fax");
        assert_eq!((l.place, l.kind), (Some(Place::Work), Some(PhoneKind::Fax)));
        let l = parse_label("Mobile");
        assert_eq!((l.place, l.kind), (None, Some(PhoneKind::Mobile)));
        let l = parse_label("Google Voice");
        assert_eq!((l.place, l.kind, l.free.as_deref()), (None, None, Some("Google Voice")));
    }

    #[test]
    fn multi_values_and_primary_marks() {
        let cells = GroupCells {
            label: Some("* Work".into()),
            value: Some("a@x ::: b@x :::  ::: c@x".into()),
            parts: vec![],
        };
        let values = labelled_values(&cells);
        let got: Vec<(&str, bool)> = values.iter().map(|(v, l)| (v.as_str(), l.preferred)).collect();
        assert_eq!(got, [("a@x", true), ("b@x", false), ("c@x", false)]);
        assert!(values.iter().all(|(_, l)| l.place == Some(Place::Work)));
    }

    #[test]
    fn delimiter_is_counted_outside_quotes() {
        assert_eq!(sniff_delimiter(b"a,b,c\n"), b',');
        assert_eq!(sniff_delimiter(b"a;b;c\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\tc\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a,b,c\";\"d,e\";f\n"), b';');
        assert_eq!(sniff_delimiter(b"single\n"), b',');
        // Only the first line counts.
        assert_eq!(sniff_delimiter(b"a,b\nc;d;e;f\n"), b',');
    }

    #[test]
    fn charset_detection() {
        assert_eq!(detect_charset(b"\xEF\xBB\xBFName", true), (UTF_8, CharsetHow::Bom));
        assert_eq!(detect_charset(b"\xFF\xFEN\0a\0", true), (UTF_16LE, CharsetHow::Bom));
        assert_eq!(detect_charset(b"N\0a\0m\0e\0,\0E\0", true), (UTF_16LE, CharsetHow::Utf16Zeros));
        assert_eq!(detect_charset("Müller".as_bytes(), true), (UTF_8, CharsetHow::ValidUtf8));
        // A character cut by the sniffing window is still UTF-8.
        assert_eq!(detect_charset(&"é".as_bytes()[..1], false), (UTF_8, CharsetHow::ValidUtf8));
        let (enc, how) = detect_charset(b"Vorname,Nachname\nJ\xFCrgen,M\xFCller Stra\xDFe\n", true);
        assert_eq!(how, CharsetHow::Guessed);
        assert_eq!(enc.decode_without_bom_handling(b"\xFC").0, "ü");
    }

    /// Reads one byte at a time, to cross every chunk boundary.
    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 >= self.0.len() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[self.1];
            self.1 += 1;
            Ok(1)
        }
    }

    #[test]
    fn decoding_reader_handles_split_characters_and_crlf() {
        let bytes: Vec<u8> = "\u{FEFF}Zoë,€\r\nb\r".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let mut out = String::new();
        decoding_reader(Box::new(Trickle(bytes, 0)), UTF_16LE).read_to_string(&mut out).unwrap();
        assert_eq!(out, "Zoë,€\nb\r");
    }

    #[test]
    fn tracking_reader_finds_record_starts() {
        // Decoded text: CRLF is LF already, a CR is a line end of its own.
        let text = "h1,h2\n\n\"a\rb\",c\r   \n,\r\nlast";
        let starts = LineStarts::default();
        let mut r = TrackingReader::new(text.as_bytes(), b',', starts.clone(), 1);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(Vec::from(starts.lock().unwrap().clone()), [1, 3, 5, 6, 8]);
    }
}
