//! Byte-level decoding of contact files into UTF-8 text, before any parser sees them.
//!
//! calcard parses a `&str`, and the CSV reader wants text too, but real exports come as UTF-16
//! (with or without BOM), UTF-8 with a BOM, or in a legacy charset (Shift_JIS, windows-1252,
//! ISO-8859-x). What both readers share lives here:
//!
//! - [`detect_utf16`]: UTF-16 by BOM or by its NUL bytes (also what `--format auto` looks at);
//! - [`open_utf8_stream`]: a streaming reader that transcodes UTF-16 and strips the BOM, and
//!   guesses the file's legacy charset from its first 64 KB (used by the vCard reader);
//! - `TranscodingReader`: any charset → UTF-8 while reading (the CSV reader's every charset).
//!
//! A vCard's lines are decoded card by card, by their own `CHARSET`, in `vcard/decode.rs`.

use std::io::{self, Cursor, Read};

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE};

/// How much of a file is looked at to detect UTF-16 and guess a legacy charset.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// UTF-16 flavour of a byte buffer: by BOM, else by its NUL bytes ([`utf16_by_nul_bytes`]).
pub fn detect_utf16(prefix: &[u8]) -> Option<&'static Encoding> {
    if prefix.starts_with(&[0xFF, 0xFE]) {
        return Some(UTF_16LE);
    }
    if prefix.starts_with(&[0xFE, 0xFF]) {
        return Some(UTF_16BE);
    }
    utf16_by_nul_bytes(prefix)
}

/// UTF-16 without a BOM, told by the NUL bytes it leaves: every ASCII character (the syntax,
/// digits, spaces, line ends) is a code unit whose high byte is 0. The one rule of the vCard
/// reader, the CSV reader and `--format auto`; looks at the first 4 KB.
///
/// UTF-16 when the NULs of one side (high bytes) are in at least a third of the code units, and
/// the other side (low bytes) has at most a tenth as many:
/// - a third, not more: a Cyrillic, Greek or CJK address book keeps a NUL high byte in each of
///   its ASCII characters only, about 35 % of them for names and notes in Russian (the CSV
///   reader asked 40 % and read such a file as UTF-8 full of NULs);
/// - a tenth of the other side: a low byte is 0 only in rare characters (U+0100, U+0400,
///   U+3000), while a binary or zero-filled file has NULs on both sides and is not UTF-16;
/// - fewer than 4 code units tell nothing (no contact file is that short).
///
/// Every UTF-16 file of the tests (corpus and hand-made: 88 % to 100 % NUL high bytes, none on
/// the other side) passes both this rule and the CSV reader's former one (40 %, and under 5 % of
/// the code units on the other side), so the choice changes nothing for them.
pub fn utf16_by_nul_bytes(prefix: &[u8]) -> Option<&'static Encoding> {
    let sample = &prefix[..prefix.len().min(4096) & !1];
    let units = sample.len() / 2;
    if units < 4 {
        return None;
    }
    let (mut even, mut odd) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        even += usize::from(pair[0] == 0);
        odd += usize::from(pair[1] == 0);
    }
    if even * 3 >= units && odd * 10 <= even {
        Some(UTF_16BE)
    } else if odd * 3 >= units && even * 10 <= odd {
        Some(UTF_16LE)
    } else {
        None
    }
}

/// What [`open_utf8_stream`] learnt about the file.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamInfo {
    /// `Some("UTF-16LE")` / `Some("UTF-16BE")` when the file was transcoded.
    pub transcoded_from: Option<&'static str>,
    /// The legacy charset guessed from the non-UTF-8 lines of the first 64 KB, if any.
    pub guessed_charset: Option<&'static Encoding>,
}

/// Wraps a byte stream so it yields UTF-8 (for UTF-16 input) without a BOM, and guesses the
/// charset of its non-UTF-8 lines. Reads at most [`SNIFF_BYTES`] ahead.
pub fn open_utf8_stream(mut reader: Box<dyn Read + Send>) -> io::Result<(Box<dyn Read + Send>, StreamInfo)> {
    let mut info = StreamInfo::default();
    let prefix = read_prefix(&mut reader)?;
    if let Some(enc) = detect_utf16(&prefix) {
        info.transcoded_from = Some(enc.name());
        let chained: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(reader));
        let mut utf8: Box<dyn Read + Send> = Box::new(TranscodingReader::new(chained, enc));
        // The transcoder emits U+FEFF for a BOM (decoding without BOM handling keeps the NUL
        // detection path and the BOM path alike): strip it like a UTF-8 BOM.
        let mut head = read_prefix(&mut utf8)?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            head.drain(..3);
        }
        return Ok((cr_to_lf_if_needed(head, utf8), info));
    }
    let mut prefix = prefix;
    if prefix.starts_with(b"\xEF\xBB\xBF") {
        prefix.drain(..3);
    }
    info.guessed_charset = guess_legacy_charset(&prefix, prefix.len() < SNIFF_BYTES);
    Ok((cr_to_lf_if_needed(prefix, reader), info))
}

/// Chains the sniffed prefix back in front of the rest; a file with CR line ends and no LF at
/// all (classic Mac OS) gets its CRs turned into LFs, so that it has lines.
fn cr_to_lf_if_needed(prefix: Vec<u8>, rest: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    let cr_only = memchr::memchr(b'\n', &prefix).is_none() && memchr::memchr(b'\r', &prefix).is_some();
    let chained = Box::new(Cursor::new(prefix).chain(rest));
    if cr_only {
        Box::new(CrToLf(chained))
    } else {
        chained
    }
}

struct CrToLf(Box<dyn Read + Send>);

impl Read for CrToLf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        buf[..n].iter_mut().filter(|b| **b == b'\r').for_each(|b| *b = b'\n');
        Ok(n)
    }
}

fn read_prefix(reader: &mut Box<dyn Read + Send>) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    reader.by_ref().take(SNIFF_BYTES as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// chardetng's guess over the lines of `buf` that are not UTF-8; `None` when every line is.
/// `complete` says `buf` is the whole input (else its last, possibly cut, line is skipped).
pub fn guess_legacy_charset(buf: &[u8], complete: bool) -> Option<&'static Encoding> {
    let mut detector = chardetng::EncodingDetector::new();
    let mut fed = false;
    let mut lines = buf.split_inclusive(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        if !complete && lines.peek().is_none() {
            break;
        }
        if std::str::from_utf8(line).is_err() {
            detector.feed(line, false);
            fed = true;
        }
    }
    if !fed {
        return None;
    }
    detector.feed(b"", true);
    Some(detector.guess(None, false))
}

/// A `Read` adapter that transcodes any encoding_rs encoding to UTF-8 (the vCard reader's UTF-16
/// path and the CSV reader's every non-UTF-8 charset).
pub(crate) struct TranscodingReader {
    inner: Box<dyn Read + Send>,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    input_done: bool,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    finished: bool,
}

impl TranscodingReader {
    /// For input whose BOM was already taken off.
    pub(crate) fn new(inner: Box<dyn Read + Send>, enc: &'static Encoding) -> Self {
        Self::with_decoder(inner, enc.new_decoder_without_bom_handling())
    }

    /// For input that may still start with a BOM: it is removed.
    pub(crate) fn with_bom_removal(inner: Box<dyn Read + Send>, enc: &'static Encoding) -> Self {
        Self::with_decoder(inner, enc.new_decoder_with_bom_removal())
    }

    fn with_decoder(inner: Box<dyn Read + Send>, decoder: encoding_rs::Decoder) -> Self {
        TranscodingReader {
            inner,
            decoder,
            input: vec![0; 16 * 1024],
            in_start: 0,
            in_end: 0,
            input_done: false,
            output: vec![0; 3 * 16 * 1024 + 16],
            out_start: 0,
            out_end: 0,
            finished: false,
        }
    }
}

impl Read for TranscodingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            if self.in_start == self.in_end && !self.input_done {
                let n = self.inner.read(&mut self.input)?;
                self.in_start = 0;
                self.in_end = n;
                self.input_done = n == 0;
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.in_start..self.in_end],
                &mut self.output,
                self.input_done,
            );
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            if self.input_done && result == encoding_rs::CoderResult::InputEmpty {
                self.finished = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_detection() {
        assert_eq!(detect_utf16(b"\xFF\xFEB\0"), Some(UTF_16LE));
        assert_eq!(detect_utf16(b"\0B\0E\0G\0I\0N"), Some(UTF_16BE));
        assert_eq!(detect_utf16(b"B\0E\0G\0I\0N\0"), Some(UTF_16LE));
        assert_eq!(detect_utf16(b"BEGIN:VCARD\r\n"), None);
    }

    fn le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn be(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn utf16_by_nul_bytes_table() {
        let russian = "Мария,Смирнова,соседка, 12.03\r\n"; // 11 of 31 characters ASCII: 35 %
        let mostly_russian = "Иван Петрович,Петров,Коллега\r\n"; // 5 of 30: 17 %
        let mut two_sided = le("abcdefghi");
        two_sided.extend([0, 0, 0, 0]); // 11 code units, 2 with a NUL low byte: more than a tenth
        let mut one_in_ten = le("abcdefghi");
        one_in_ten.extend([0, 0]); // 10 code units, 1 with a NUL low byte: a tenth
        let mut utf8_first = "x".repeat(4096).into_bytes();
        utf8_first.extend(le("BEGIN:VCARD\r\n"));
        let cases: [(&str, Vec<u8>, Option<&'static Encoding>); 14] = [
            ("ASCII, little-endian", le("BEGIN:VCARD\r\n"), Some(UTF_16LE)),
            ("ASCII, big-endian", be("BEGIN:VCARD\r\n"), Some(UTF_16BE)),
            ("Cyrillic between a third and 40 %", le(russian), Some(UTF_16LE)),
            ("the same, big-endian", be(russian), Some(UTF_16BE)),
            ("under a third", le(mostly_russian), None),
            ("exactly a third", le("aЖЖbЖЖ"), Some(UTF_16LE)),
            ("four code units", le("abcd"), Some(UTF_16LE)),
            ("three code units", le("abc"), None),
            ("the other side over a tenth", two_sided, None),
            ("the other side at a tenth", one_in_ten, Some(UTF_16LE)),
            ("UTF-8", "Zoë,Ångström\r\n".as_bytes().to_vec(), None),
            ("UTF-8 with stray NULs", b"FN:Ab\0c\0\r\nN:x;y\r\n".to_vec(), None),
            ("zero-filled", vec![0; 64], None),
            ("UTF-16 after the first 4 KB", utf8_first, None),
        ];
        for (case, bytes, expected) in cases {
            assert_eq!(utf16_by_nul_bytes(&bytes), expected, "{case}");
        }
    }

    /// The stream's bytes, and what was learnt about them.
    fn stream(bytes: &[u8]) -> (Vec<u8>, StreamInfo) {
        let (mut reader, info) = open_utf8_stream(Box::new(Cursor::new(bytes.to_vec()))).unwrap();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        (out, info)
    }

    #[test]
    fn whole_text() {
        let (t, info) = stream(b"\xEF\xBB\xBFa,b\n");
        assert_eq!((t.as_slice(), info.transcoded_from, info.guessed_charset), (&b"a,b\n"[..], None, None));
        let (t, info) = stream(b"\xFF\xFEa\0,\0b\0");
        assert_eq!((t.as_slice(), info.transcoded_from), (&b"a,b"[..], Some("UTF-16LE")));
        // Legacy lines are decoded by the card decoder, with the charset guessed here.
        let (t, info) = stream(b"name\nJos\xe9\n");
        let charset = info.guessed_charset.expect("a guess for the non-UTF-8 line");
        assert_eq!(charset.decode_without_bom_handling(&t).0, "name\nJos\u{e9}\n");
    }
}
