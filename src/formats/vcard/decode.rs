//! A cut card's raw lines → UTF-8 text calcard can parse.
//!
//! The stream was transcoded from UTF-16 and its legacy charset guessed already
//! ([`open_utf8_stream`](crate::formats::decode::open_utf8_stream)); what is left is line by line:
//! lines in a legacy charset (Shift_JIS, windows-1252, ISO-8859-x, by their `CHARSET` or the
//! file's guess), stray NUL bytes, folds that split a UTF-8 sequence, and QUOTED-PRINTABLE values
//! holding UTF-8 bytes without the `CHARSET` calcard then needs.

use encoding_rs::{Encoding, WINDOWS_1252};

/// The property head of a content line (`group.NAME;PARAM=…;PARAM`), as far as decoding
/// needs it.
#[derive(Debug, Default)]
struct Head<'a> {
    /// Byte offset of the `:` that ends the head.
    colon: usize,
    quoted_printable: bool,
    /// Byte range of a bare `QUOTED-PRINTABLE` param (2.1 allows it; calcard ignores it).
    bare_qp: Option<(usize, usize)>,
    charset: Option<&'a [u8]>,
}

impl<'a> Head<'a> {
    /// [`Head::parse`] for the UTF-8 fast path, which only needs QUOTED-PRINTABLE heads: `None`
    /// at once for continuation lines and lines whose head cannot name QUOTED-PRINTABLE.
    fn parse_if_params(line: &'a [u8]) -> Option<Head<'a>> {
        if matches!(line.first(), Some(b' ' | b'\t') | None) {
            return None;
        }
        // A quoted param value may hold a `:`; then the full parse finds the real one.
        let colon = memchr::memchr(b':', line)?;
        let head = &line[..colon];
        memchr::memchr(b';', head)?;
        // QUOTED-PRINTABLE and ENCODING=Q need a `Q`/`q` before it (or a `"` hides the colon).
        memchr::memchr3(b'Q', b'q', b'"', head)?;
        Head::parse(line)
    }

    /// `None` for a continuation line or a line without a `:`.
    fn parse(line: &'a [u8]) -> Option<Head<'a>> {
        match line.first() {
            Some(b' ' | b'\t') | None => return None,
            _ => {}
        }
        let mut in_quotes = false;
        let mut colon = None;
        for (i, &b) in line.iter().enumerate() {
            match b {
                b'"' => in_quotes = !in_quotes,
                b':' if !in_quotes => {
                    colon = Some(i);
                    break;
                }
                b'\n' => break,
                _ => {}
            }
        }
        let colon = colon?;
        let mut head = Head { colon, ..Head::default() };
        let text = &line[..colon];
        if !text.contains(&b';') {
            return Some(head);
        }
        let mut start = 0;
        for raw_param in text.split(|&b| b == b';') {
            let param_start = start;
            start += raw_param.len() + 1;
            if param_start == 0 {
                continue; // the property name
            }
            let param = raw_param.trim_ascii();
            let (name, value) = match param.iter().position(|&b| b == b'=') {
                Some(eq) => (param[..eq].trim_ascii(), Some(param[eq + 1..].trim_ascii())),
                None => (param, None),
            };
            match value {
                None if name.eq_ignore_ascii_case(b"QUOTED-PRINTABLE") => {
                    head.quoted_printable = true;
                    head.bare_qp = Some((param_start, param_start + raw_param.len()));
                }
                Some(v)
                    if name.eq_ignore_ascii_case(b"ENCODING")
                        && (v.eq_ignore_ascii_case(b"QUOTED-PRINTABLE") || v.eq_ignore_ascii_case(b"Q")) =>
                {
                    head.quoted_printable = true;
                }
                Some(v) if name.eq_ignore_ascii_case(b"CHARSET") => {
                    let v = v.strip_prefix(b"\"").unwrap_or(v);
                    let v = v.strip_suffix(b"\"").unwrap_or(v);
                    head.charset = Some(v);
                }
                _ => {}
            }
        }
        Some(head)
    }
}

/// Per-file state for [`decode_card`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct DecodeContext {
    /// The charset guessed for the file's non-UTF-8 lines ([`StreamInfo::guessed_charset`](crate::formats::decode::StreamInfo::guessed_charset)).
    pub(super) guessed_charset: Option<&'static Encoding>,
}

/// Line end excluded: the content of a line without its `\r\n`, `\n` or `\r\r\n`.
pub(super) fn trim_eol(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

/// End (exclusive) of the line starting at `pos`: after its `\n`, or the end of `raw`.
fn line_end(raw: &[u8], pos: usize) -> usize {
    match memchr::memchr(b'\n', &raw[pos..]) {
        Some(i) => pos + i + 1,
        None => raw.len(),
    }
}

/// Whether `bytes` ends inside a UTF-8 multibyte sequence (1 to 3 bytes of it present).
fn ends_in_partial_utf8(bytes: &[u8]) -> bool {
    for back in 1..=3.min(bytes.len()) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 == 0x80 {
            continue; // continuation byte: look further back for the lead byte
        }
        let needed = match b {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return false,
        };
        return back < needed;
    }
    false
}

/// Decodes a quoted-printable value (soft breaks already removed or not): `=XX` → byte.
fn qp_decode(value: &[u8], out: &mut Vec<u8>) {
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b == b'=' {
            // Soft line break: `=` then optional CR(s) then LF.
            let mut j = i + 1;
            while j < value.len() && value[j] == b'\r' {
                j += 1;
            }
            if j < value.len() && value[j] == b'\n' {
                i = j + 1;
                continue;
            }
            if i + 2 < value.len() {
                if let (Some(h), Some(l)) = (hex(value[i + 1]), hex(value[i + 2])) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
            }
            out.push(b);
        } else if b != b'\r' && b != b'\n' {
            out.push(b);
        }
        i += 1;
    }
}

/// Decodes the raw lines of one vCard to UTF-8 text: `raw` itself when it is UTF-8 and needs
/// no change (the common case, no copy), else the text written to `out`:
///
/// - a fold that splits a UTF-8 sequence is joined;
/// - UTF-8 lines are kept; other lines are decoded with their property's `CHARSET`, else the
///   file's guessed charset, else windows-1252 (with a warning naming the lines);
/// - a QUOTED-PRINTABLE value without `CHARSET` whose bytes are UTF-8 gets `CHARSET=UTF-8`
///   (calcard would decode it as Latin-1), or the file's guessed charset when it is not UTF-8;
///   a bare 2.1 `QUOTED-PRINTABLE` param becomes `ENCODING=QUOTED-PRINTABLE`, and blank lines
///   after a soft break are dropped.
///
/// `first_line` is the file line number of the first line of `raw`, for warnings.
pub(super) fn decode_card<'a>(
    raw: &'a [u8],
    first_line: usize,
    ctx: &DecodeContext,
    out: &'a mut String,
    warnings: &mut Vec<String>,
) -> &'a str {
    out.clear();
    let mut scratch = Scratch::default();
    if memchr::memchr(0, raw).is_some() {
        warnings.push(format!("card at line {first_line}: NUL bytes removed"));
        let cleaned: Vec<u8> = raw.iter().copied().filter(|&b| b != 0).collect();
        match std::str::from_utf8(&cleaned) {
            Ok(text) => {
                if !decode_utf8_body(text, ctx, out, &mut scratch) {
                    out.push_str(text);
                }
            }
            Err(_) => decode_mixed_body(&cleaned, first_line, ctx, out, warnings, &mut scratch),
        }
        return out;
    }
    match simdutf8::basic::from_utf8(raw) {
        Ok(text) => {
            if decode_utf8_body(text, ctx, out, &mut scratch) {
                out
            } else {
                text
            }
        }
        Err(_) => {
            decode_mixed_body(raw, first_line, ctx, out, warnings, &mut scratch);
            out
        }
    }
}

#[derive(Default)]
struct Scratch {
    joined: Vec<u8>,
    qp_raw: Vec<u8>,
    qp_bytes: Vec<u8>,
    /// Lines decoded with a guessed charset: (line, reason, charset).
    guessed: Vec<(usize, String, &'static str)>,
}

/// Fast path: the card is UTF-8. Writes it to `out`, rewriting QP property heads, only when
/// one needs rewriting (returns `true` then); else the text can be used as it is.
fn decode_utf8_body(text: &str, ctx: &DecodeContext, out: &mut String, scratch: &mut Scratch) -> bool {
    let raw = text.as_bytes();
    let mut copied = 0;
    let mut pos = 0;
    while pos < raw.len() {
        let end = line_end(raw, pos);
        let line = &raw[pos..end];
        if let Some(h) = Head::parse_if_params(line).filter(|h| h.quoted_printable) {
            if let Some(value_end) = gather_qp(raw, end, line, &h, ctx, scratch) {
                out.push_str(&text[copied..pos]);
                let mut ignored = Vec::new();
                write_qp(&h, &scratch.qp_raw, &Declared::None, ctx, out, &mut ignored);
                copied = value_end;
                pos = value_end;
                continue;
            }
        }
        pos = end;
    }
    if copied == 0 {
        return false;
    }
    out.push_str(&text[copied..]);
    true
}

/// Slow path: some lines are not UTF-8.
fn decode_mixed_body(
    raw: &[u8],
    first_line: usize,
    ctx: &DecodeContext,
    out: &mut String,
    warnings: &mut Vec<String>,
    scratch: &mut Scratch,
) {
    let mut pos = 0;
    let mut line_no = first_line;
    // CHARSET of the property the current line belongs to (for folded continuation lines).
    let mut prop_charset = Declared::None;
    let mut joined = std::mem::take(&mut scratch.joined);
    let mut guessed = Vec::new();
    while pos < raw.len() {
        let end = line_end(raw, pos);
        let mut line: &[u8] = &raw[pos..end];
        let this_line = line_no;
        pos = end;
        line_no += 1;

        let mut merged = false;
        if std::str::from_utf8(line).is_err() {
            // A fold inside a UTF-8 sequence: `…\xd0\r\n \xbb…` → `…\xd0\xbb…`.
            let mut partial = ends_in_partial_utf8(trim_eol(line));
            if partial {
                joined.clear();
                joined.extend_from_slice(line);
            }
            while partial && pos < raw.len() {
                let next = &raw[pos..line_end(raw, pos)];
                if !(matches!(next[0], b' ' | b'\t') && next.len() > 1 && next[1] & 0xC0 == 0x80) {
                    break;
                }
                let keep = trim_eol(&joined).len();
                joined.truncate(keep);
                joined.extend_from_slice(&next[1..]);
                pos += next.len();
                line_no += 1;
                merged = true;
                partial = ends_in_partial_utf8(trim_eol(&joined));
            }
            if merged {
                line = &joined;
            }
        }

        let head = Head::parse(line);
        if let Some(h) = &head {
            prop_charset = Declared::from_label(h.charset);
        }
        if let Some(h) = head.as_ref().filter(|h| h.quoted_printable && !merged) {
            if let Some(value_end) = gather_qp(raw, pos, line, h, ctx, scratch) {
                line_no += raw[pos..value_end].iter().filter(|&&b| b == b'\n').count();
                pos = value_end;
                let qp_raw = std::mem::take(&mut scratch.qp_raw);
                write_qp(h, &qp_raw, &prop_charset, ctx, out, &mut guessed);
                scratch.qp_raw = qp_raw;
                for g in guessed.drain(..) {
                    scratch.guessed.push((this_line, g.0, g.1));
                }
                continue;
            }
        }
        if let Some((why, enc)) = push_line(line, &prop_charset, ctx, out) {
            scratch.guessed.push((this_line, why, enc));
        }
    }
    scratch.joined = joined;
    report_guesses(&scratch.guessed, warnings);
}

/// One warning per kind of guess: `lines 3, 4, 9: not UTF-8, decoded as windows-1252`.
fn report_guesses(guessed: &[(usize, String, &'static str)], warnings: &mut Vec<String>) {
    let mut done = vec![false; guessed.len()];
    for i in 0..guessed.len() {
        if done[i] {
            continue;
        }
        let (_, why, enc) = &guessed[i];
        let mut lines = Vec::new();
        for j in i..guessed.len() {
            if !done[j] && guessed[j].1 == *why && guessed[j].2 == *enc {
                done[j] = true;
                lines.push(guessed[j].0.to_string());
            }
        }
        let label = if lines.len() == 1 { "line" } else { "lines" };
        warnings.push(format!("{label} {}: {why}, decoded as {enc}", lines.join(", ")));
    }
}

/// For a QUOTED-PRINTABLE property whose first line is `line` (ending at `after`): gathers
/// its value lines into `scratch.qp_raw` and returns where the value ends, when the property
/// needs rewriting (see [`decode_card`]); `None` when it can be copied as it is.
fn gather_qp(
    raw: &[u8],
    after: usize,
    line: &[u8],
    h: &Head<'_>,
    ctx: &DecodeContext,
    scratch: &mut Scratch,
) -> Option<usize> {
    let qp_raw = &mut scratch.qp_raw;
    qp_raw.clear();
    qp_raw.extend_from_slice(line);
    let mut value_end = after;
    let mut dropped_blank = false;
    while trim_eol(qp_raw).ends_with(b"=") && value_end < raw.len() {
        let mut next_start = value_end;
        while next_start < raw.len() && trim_eol(&raw[next_start..line_end(raw, next_start)]).is_empty() {
            next_start = line_end(raw, next_start);
        }
        if next_start >= raw.len() {
            break;
        }
        let next = &raw[next_start..line_end(raw, next_start)];
        if next_start > value_end {
            if looks_like_property(next) {
                break;
            }
            dropped_blank = true;
        }
        qp_raw.extend_from_slice(next);
        value_end = next_start + next.len();
    }
    let mut needs_charset = false;
    if h.charset.is_none() {
        scratch.qp_bytes.clear();
        qp_decode(&qp_raw[h.colon + 1..], &mut scratch.qp_bytes);
        needs_charset = !scratch.qp_bytes.is_ascii()
            && (std::str::from_utf8(&scratch.qp_bytes).is_ok() || ctx.guessed_charset.is_some());
    }
    (needs_charset || dropped_blank || h.bare_qp.is_some()).then_some(value_end)
}

/// Writes a gathered QP property with its head fixed (see [`gather_qp`]).
fn write_qp(
    h: &Head<'_>,
    qp_raw: &[u8],
    declared: &Declared,
    ctx: &DecodeContext,
    out: &mut String,
    guessed: &mut Vec<(String, &'static str)>,
) {
    let mut push = |bytes: &[u8], out: &mut String| {
        if let Some(g) = push_line(bytes, declared, ctx, out) {
            guessed.push(g);
        }
    };
    match h.bare_qp {
        Some((start, end)) => {
            push(&qp_raw[..start], out);
            out.push_str("ENCODING=QUOTED-PRINTABLE");
            push(&qp_raw[end..h.colon], out);
        }
        None => push(&qp_raw[..h.colon], out),
    }
    if h.charset.is_none() {
        let mut bytes = Vec::new();
        qp_decode(&qp_raw[h.colon + 1..], &mut bytes);
        if !bytes.is_ascii() {
            let charset = if std::str::from_utf8(&bytes).is_ok() {
                Some("UTF-8")
            } else {
                ctx.guessed_charset.map(|e| e.name())
            };
            if let Some(cs) = charset {
                out.push_str(";CHARSET=");
                out.push_str(cs);
            }
        }
    }
    push(&qp_raw[h.colon..], out);
}

/// `NAME:` / `group.NAME;…` at the start of a line (as opposed to a quoted-printable
/// continuation such as `=A4=C3 …`).
fn looks_like_property(line: &[u8]) -> bool {
    let end = line.iter().position(|&b| b == b':' || b == b';');
    match end {
        Some(end) if end > 0 => {
            line[..end].iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
        _ => false,
    }
}

/// The CHARSET a property declared.
enum Declared {
    None,
    /// A charset encoding_rs knows (UTF-8 excluded: a non-UTF-8 line then needs a guess).
    Known(&'static Encoding),
    /// UTF-8, or a label encoding_rs does not know (`CHARSET=Murks`).
    Unusable(String),
}

impl Declared {
    fn from_label(label: Option<&[u8]>) -> Declared {
        let Some(label) = label else { return Declared::None };
        match Encoding::for_label(label) {
            Some(e) if e != encoding_rs::UTF_8 && e != encoding_rs::REPLACEMENT => Declared::Known(e),
            _ => Declared::Unusable(String::from_utf8_lossy(label).into_owned()),
        }
    }
}

/// Appends one line, decoding it with its declared charset, or a guessed one when not
/// UTF-8: then returns (why, charset) for the warning.
fn push_line(
    line: &[u8],
    declared: &Declared,
    ctx: &DecodeContext,
    out: &mut String,
) -> Option<(String, &'static str)> {
    if let Ok(s) = std::str::from_utf8(line) {
        out.push_str(s);
        return None;
    }
    let enc = match declared {
        Declared::Known(e) => e,
        _ => ctx.guessed_charset.unwrap_or(WINDOWS_1252),
    };
    let (text, _) = enc.decode_without_bom_handling(line);
    out.push_str(&text);
    let why = match declared {
        Declared::Known(_) => return None,
        Declared::Unusable(cs) => format!("not {cs} as declared"),
        Declared::None => "not UTF-8".to_string(),
    };
    Some((why, enc.name()))
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;

    fn body(raw: &[u8], guessed: Option<&'static Encoding>) -> (String, Vec<String>) {
        let mut out = String::new();
        let mut w = Vec::new();
        let text = decode_card(raw, 2, &DecodeContext { guessed_charset: guessed }, &mut out, &mut w);
        (text.to_string(), w)
    }

    #[test]
    fn split_fold_is_joined() {
        let (out, w) = body(b"FN:\xce\xb1\xce\r\n \xb2x\r\nN:a\r\n", None);
        assert_eq!(out, "FN:\u{3b1}\u{3b2}x\r\nN:a\r\n");
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn charset_param_and_fallback() {
        let (out, w) = body(b"N;CHARSET=SHIFT_JIS:\x8eR\x93c\nFN:M\xfcller\n", None);
        assert_eq!(out, "N;CHARSET=SHIFT_JIS:\u{5c71}\u{7530}\nFN:M\u{fc}ller\n");
        assert_eq!(w, vec!["line 3: not UTF-8, decoded as windows-1252".to_string()]);
    }

    #[test]
    fn qp_without_charset_gets_utf8() {
        let (out, _) = body(b"FN;ENCODING=QUOTED-PRINTABLE:J=C3=BC=\r\nrgen\r\nTEL:1\r\n", None);
        assert_eq!(out, "FN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:J=C3=BC=\r\nrgen\r\nTEL:1\r\n");
        let (out, _) = body(b"FN;ENCODING=QUOTED-PRINTABLE:Iksi=F1ski\r\n", None);
        assert_eq!(out, "FN;ENCODING=QUOTED-PRINTABLE:Iksi=F1ski\r\n");
        let (out, _) = body(b"FN;QUOTED-PRINTABLE:Iksi=F1ski\r\n", Some(encoding_rs::WINDOWS_1250));
        assert_eq!(out, "FN;ENCODING=QUOTED-PRINTABLE;CHARSET=windows-1250:Iksi=F1ski\r\n");
        // A bare 2.1 QUOTED-PRINTABLE param is spelt out for calcard.
        let (out, _) = body(b"FN;CHARSET=UTF-8;QUOTED-PRINTABLE:=C3=A9\r\n", None);
        assert_eq!(out, "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=C3=A9\r\n");
    }
}
