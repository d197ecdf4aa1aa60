//! Which charset a CSV file is in, and the reader that transcodes it to UTF-8 with LF line ends.

use std::io::{self, Read};

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

use crate::formats::decode::{utf16_by_nul_bytes, TranscodingReader};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CharsetHow {
    Bom,
    Utf16Zeros,
    ValidUtf8,
    Guessed,
}

impl CharsetHow {
    pub(super) fn describe(self) -> &'static str {
        match self {
            CharsetHow::Bom => "byte order mark",
            CharsetHow::Utf16Zeros => "no byte order mark, but its zero bytes say UTF-16",
            CharsetHow::ValidUtf8 => "valid UTF-8",
            CharsetHow::Guessed => "not UTF-8; charset guessed from its bytes",
        }
    }
}

pub(super) fn detect_charset(prefix: &[u8], at_eof: bool) -> (&'static Encoding, CharsetHow) {
    if let Some((encoding, _)) = Encoding::for_bom(prefix) {
        return (encoding, CharsetHow::Bom);
    }
    if let Some(encoding) = utf16_by_nul_bytes(prefix) {
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

/// Transcodes any encoding_rs charset to UTF-8 while reading (BOM removed, bad bytes → U+FFFD),
/// and turns CRLF into LF so multi-line values read the same whichever system wrote the file.
pub(super) fn decoding_reader(
    inner: Box<dyn Read + Send>,
    encoding: &'static Encoding,
) -> CrlfToLf<TranscodingReader> {
    CrlfToLf::new(TranscodingReader::with_bom_removal(inner, encoding))
}

/// Turns CRLF into LF while reading; a lone CR is kept.
pub(super) struct CrlfToLf<R> {
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
#[cfg(test)]
mod tests {
    use super::*;

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
}
