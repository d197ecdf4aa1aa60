//! The CSV text's structure before the csv crate parses it: the header line, Excel's `sep=` hint,
//! the delimiter, and the physical line each record starts on.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A header line longer than this is not a header (keeps the sniffing bounded).
const MAX_HEADER_BYTES: usize = 1024 * 1024;
/// One record may not exceed this many bytes: an unclosed quote would otherwise make the csv
/// crate buffer the whole rest of the file as one field.
const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;

/// The physical line where each record starts, in order (the csv crate counts a record that
/// follows blank lines from the first blank line).
pub(super) type LineStarts = Arc<Mutex<VecDeque<u64>>>;

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
pub(super) struct TrackingReader<R> {
    inner: R,
    delimiter: u8,
    starts: LineStarts,
    state: LexState,
    line: u64,
    record_bytes: u64,
    /// The text ended inside a quoted value.
    pub(super) ended_in_quote: Arc<AtomicBool>,
}

impl<R: Read> TrackingReader<R> {
    pub(super) fn new(inner: R, delimiter: u8, starts: LineStarts, first_line: u64) -> Self {
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
pub(super) fn read_header_line(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
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
pub(super) fn excel_separator_hint(line: &[u8]) -> Option<u8> {
    let line = std::str::from_utf8(line).ok()?.trim_end_matches(['\r', '\n']);
    let rest = line.strip_prefix("sep=").or_else(|| line.strip_prefix("SEP="))?;
    match rest.as_bytes() {
        [d] if !d.is_ascii_alphanumeric() && *d != b'"' => Some(*d),
        _ => None,
    }
}

/// The most frequent of `,` `;` TAB outside quotes in the header line (comma on a tie).
pub(super) fn sniff_delimiter(header: &[u8]) -> u8 {
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
#[cfg(test)]
mod tests {
    use super::*;

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
    fn tracking_reader_finds_record_starts() {
        // Decoded text: CRLF is LF already, a CR is a line end of its own.
        let text = "h1,h2\n\n\"a\rb\",c\r   \n,\r\nlast";
        let starts = LineStarts::default();
        let mut r = TrackingReader::new(text.as_bytes(), b',', starts.clone(), 1);
        io::copy(&mut r, &mut io::sink()).unwrap();
        assert_eq!(Vec::from(starts.lock().unwrap().clone()), [1, 3, 5, 6, 8]);
    }
}
