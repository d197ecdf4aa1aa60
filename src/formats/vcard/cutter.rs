//! The streaming card cutter: input lines → cards (BEGIN … END, nested AGENT cards, text outside
//! cards), handed out in batches that any thread parses.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use super::decode::{decode_card, trim_eol, DecodeContext};
use super::parse::parse_card;
use crate::formats::decode::open_utf8_stream;
use crate::formats::{shorten, Chunk, Record};
use crate::model::ExtraField;

/// A card bigger than this is not parsed (its lines are skipped up to its end).
pub const MAX_CARD_BYTES: usize = 64 * 1024 * 1024;
/// A single line longer than this is cut (what is beyond is dropped).
const MAX_LINE_BYTES: usize = MAX_CARD_BYTES;
/// Lines outside cards quoted in warnings.
const GARBAGE_SAMPLES: usize = 3;
/// Finished cards leave the reader in batches of about this many raw bytes (or [`BATCH_CARDS`]
/// cards): big enough to be worth handing to another thread, small enough to bound memory.
const BATCH_BYTES: usize = 256 * 1024;
const BATCH_CARDS: usize = 1024;

/// Iterator over the cards of a vCard stream. See the module documentation.
pub struct VcardReader {
    source_name: String,
    /// The raw input until the first `next()` sniffs it.
    raw: Option<Box<dyn Read + Send>>,
    input: Option<BufReader<Box<dyn Read + Send>>>,
    ctx: DecodeContext,
    /// File line number of the line in `line`.
    line_no: usize,
    line: Vec<u8>,
    line_cut: bool,
    cards: usize,
    card: Option<CardBuf>,
    agent: Agent,
    garbage: Garbage,
    /// The last finished card, held until we know whether text follows it.
    held: Option<FinishedCard>,
    /// Finished cards waiting to leave in a batch, in order, and their total raw size.
    batch: Vec<FinishedCard>,
    batch_bytes: usize,
    /// Records that follow the batch: an I/O failure, or a file without any card.
    tail: Vec<Record>,
    /// Parsed records not yet returned by the iterator.
    ready: VecDeque<Record>,
    done: bool,
    /// Raw-card buffers given back by parsed batches, and the ones taken from there for reuse:
    /// allocating and freeing one per card, on different threads, costs more than the cutting.
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
    spare_here: Vec<Vec<u8>>,
}

/// Raw-card buffers kept for reuse at most, and the largest kept (bigger ones are photo cards).
const SPARE_BUFFERS: usize = 2048;
const SPARE_BUFFER_BYTES: usize = 4096;

/// Consecutive cards cut from one input, not parsed yet: [`CardBatch::parse`] turns them into
/// records on whichever thread calls it.
pub struct CardBatch {
    cards: Vec<FinishedCard>,
    source_name: Arc<str>,
    ctx: DecodeContext,
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl CardBatch {
    /// Decodes, parses and maps every card, in order.
    pub fn parse(self) -> Vec<Record> {
        let mut text = String::new();
        let mut buffers = Vec::with_capacity(self.cards.len());
        let records = self
            .cards
            .into_iter()
            .map(|card| {
                let (record, mut raw) = parse_finished(card, &self.source_name, &self.ctx, &mut text);
                if raw.capacity() <= SPARE_BUFFER_BYTES {
                    raw.clear();
                    buffers.push(raw);
                }
                record
            })
            .collect();
        let mut spare = self.spare.lock().unwrap_or_else(|p| p.into_inner());
        let room = SPARE_BUFFERS.saturating_sub(spare.len());
        spare.extend(buffers.into_iter().take(room));
        records
    }
}

/// A card cut out of the input, not parsed yet.
struct FinishedCard {
    /// 1-based card number in the input (the record's source is `<file>#<number>`).
    number: usize,
    /// The whole card: normalised BEGIN line, raw lines, END line.
    raw: Vec<u8>,
    begin_line: usize,
    warnings: Vec<String>,
    extra: Vec<ExtraField>,
    oversized: bool,
}

/// The card being collected.
struct CardBuf {
    /// A normalised `BEGIN:VCARD` line, then the raw lines up to (not including) END.
    raw: Vec<u8>,
    begin_line: usize,
    warnings: Vec<String>,
    extra: Vec<ExtraField>,
    oversized: bool,
}

/// Nested `AGENT:BEGIN:VCARD` handling.
enum Agent {
    None,
    /// Saw an `AGENT:BEGIN:VCARD` line: nested card if the next line is not a folded
    /// continuation (3.0 writes the nested card folded into the AGENT value).
    Candidate {
        line: Vec<u8>,
        line_no: usize,
    },
    Nested {
        raw: Vec<u8>,
        depth: usize,
        first_line: usize,
    },
}

#[derive(Default)]
struct Garbage {
    lines: usize,
    first_line: usize,
    last_line: usize,
    samples: Vec<String>,
}

impl Garbage {
    fn add(&mut self, line_no: usize, text: &[u8]) {
        if self.lines == 0 {
            self.first_line = line_no;
        }
        self.lines += 1;
        self.last_line = line_no;
        if self.samples.len() < GARBAGE_SAMPLES {
            self.samples.push(shorten(&String::from_utf8_lossy(text), 60));
        }
    }

    fn describe(&self) -> String {
        let span = if self.first_line == self.last_line {
            format!("line {}", self.first_line)
        } else {
            format!("lines {}-{}", self.first_line, self.last_line)
        };
        let quoted: Vec<String> = self.samples.iter().map(|s| format!("{s:?}")).collect();
        let more = if self.lines > self.samples.len() { ", …" } else { "" };
        format!("{span}: {} line(s) outside any vCard ignored: {}{more}", self.lines, quoted.join(", "))
    }
}

/// How a card ended.
enum CardEnd {
    End,
    NextBegin,
    Eof,
}

impl VcardReader {
    pub fn new(reader: impl Read + Send + 'static, source_name: String) -> VcardReader {
        VcardReader {
            source_name,
            raw: Some(Box::new(reader)),
            input: None,
            ctx: DecodeContext::default(),
            line_no: 0,
            line: Vec::with_capacity(256),
            line_cut: false,
            cards: 0,
            card: None,
            agent: Agent::None,
            garbage: Garbage::default(),
            held: None,
            batch: Vec::new(),
            batch_bytes: 0,
            tail: Vec::new(),
            ready: VecDeque::new(),
            done: false,
            spare: Arc::default(),
            spare_here: Vec::new(),
        }
    }

    /// Cuts the next batch of cards (or returns the records that end the input); `None` at the
    /// end. The records of the chunks, in order, are the records of the input.
    pub fn cut_chunk(&mut self) -> Option<Chunk> {
        if self.input.is_none() && !self.done {
            if let Err(e) = self.open() {
                self.fail(format!("{}: cannot read: {e}", self.source_name));
            }
        }
        while !self.done && self.batch_bytes < BATCH_BYTES && self.batch.len() < BATCH_CARDS {
            match self.read_line() {
                Ok(true) => self.process_line(),
                Ok(false) => self.finish_input(),
                Err(e) => {
                    let msg = format!("{}: read error after line {}: {e}", self.source_name, self.line_no);
                    self.fail(msg);
                }
            }
        }
        if !self.batch.is_empty() {
            self.batch_bytes = 0;
            let batch = CardBatch {
                cards: std::mem::take(&mut self.batch),
                source_name: self.source_name.as_str().into(),
                ctx: self.ctx,
                spare: self.spare.clone(),
            };
            return Some(Chunk::cards(batch));
        }
        (!self.tail.is_empty()).then(|| Chunk::records(std::mem::take(&mut self.tail)))
    }

    /// Reads the next line into `self.line`; `false` at end of input.
    fn read_line(&mut self) -> io::Result<bool> {
        self.line.clear();
        self.line_cut = false;
        let input = self.input.as_mut().expect("input opened");
        loop {
            let available = match input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            let (chunk, found) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..=i], true),
                None => (available, false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.line.len());
            if chunk.len() > room {
                self.line_cut = true;
            }
            self.line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let n = chunk.len();
            input.consume(n);
            if found {
                break;
            }
        }
        if self.line.is_empty() && !self.line_cut {
            return Ok(false);
        }
        self.line_no += 1;
        Ok(true)
    }

    fn open(&mut self) -> io::Result<()> {
        let raw = self.raw.take().expect("opened once");
        let (utf8, info) = open_utf8_stream(raw)?;
        self.ctx.guessed_charset = info.guessed_charset;
        self.input = Some(BufReader::with_capacity(64 * 1024, utf8));
        Ok(())
    }

    fn push_batch(&mut self, card: FinishedCard) {
        self.batch_bytes += card.raw.len();
        self.batch.push(card);
    }

    /// An I/O failure: flush what we have and report it as a failed record.
    fn fail(&mut self, message: String) {
        self.finish_input();
        self.cards += 1;
        self.tail.push(Record {
            source: format!("{}#{}", self.source_name, self.cards),
            contact: Err(message),
            warnings: Vec::new(),
        });
        self.done = true;
    }

    fn process_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        self.process(&line);
        self.line = line;
    }

    fn process(&mut self, line: &[u8]) {
        // Concatenated exports: a BOM at the start of a later file.
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        if self.line_cut {
            if let Some(card) = self.card.as_mut() {
                card.warnings.push(format!("line {}: longer than {MAX_LINE_BYTES} bytes, cut", self.line_no));
            }
        }
        // Nested AGENT card states first.
        match std::mem::replace(&mut self.agent, Agent::None) {
            Agent::None => {}
            Agent::Candidate { line: agent_line, line_no } => {
                if matches!(line.first(), Some(b' ' | b'\t')) {
                    // Folded 3.0 AGENT value: an ordinary property.
                    self.append_to_card(&agent_line);
                } else {
                    let mut raw = agent_line;
                    raw.drain(..raw.iter().position(|&b| b == b':').map_or(0, |i| i + 1));
                    self.agent = Agent::Nested { raw, depth: 1, first_line: line_no };
                    self.nested_line(line);
                    return;
                }
            }
            nested @ Agent::Nested { .. } => {
                self.agent = nested;
                self.nested_line(line);
                return;
            }
        }

        if self.card.is_none() {
            if is_keyword_line(line, b"BEGIN", true) {
                self.start_card();
            } else if !line.trim_ascii().is_empty() {
                let line_no = self.line_no;
                self.garbage.add(line_no, trim_eol(line));
            }
            return;
        }
        if is_keyword_line(line, b"END", false) {
            self.finish_card(CardEnd::End);
        } else if is_keyword_line(line, b"BEGIN", false) {
            self.finish_card(CardEnd::NextBegin);
            self.start_card();
        } else if is_agent_begin(line) {
            self.agent = Agent::Candidate { line: line.to_vec(), line_no: self.line_no };
        } else {
            self.append_to_card(line);
        }
    }

    fn nested_line(&mut self, line: &[u8]) {
        let Agent::Nested { raw, depth, first_line } = &mut self.agent else { return };
        if is_keyword_line(line, b"BEGIN", false) || is_agent_begin(line) {
            *depth += 1;
        } else if is_keyword_line(line, b"END", false) {
            *depth -= 1;
        }
        if raw.len() < MAX_CARD_BYTES {
            raw.extend_from_slice(line);
        }
        if *depth > 0 {
            return;
        }
        let (raw, first_line) = (std::mem::take(raw), *first_line);
        self.agent = Agent::None;
        let name = nested_card_name(&raw, &self.ctx);
        let line_no = self.line_no;
        if let Some(card) = self.card.as_mut() {
            card.warnings.push(format!(
                "lines {first_line}-{line_no}: nested AGENT vCard skipped (kept as an extra field)"
            ));
            card.extra.push(ExtraField { field: "AGENT".into(), value: name });
        }
    }

    fn append_to_card(&mut self, line: &[u8]) {
        let Some(card) = self.card.as_mut() else { return };
        if card.raw.len() + line.len() > MAX_CARD_BYTES {
            card.oversized = true;
            return;
        }
        card.raw.extend_from_slice(line);
    }

    fn start_card(&mut self) {
        if let Some(held) = self.held.take() {
            self.push_batch(held);
        }
        let mut warnings = Vec::new();
        if self.garbage.lines > 0 {
            warnings.push(std::mem::take(&mut self.garbage).describe());
        }
        if self.spare_here.is_empty() {
            std::mem::swap(&mut self.spare_here, &mut self.spare.lock().unwrap_or_else(|p| p.into_inner()));
        }
        let mut raw = self.spare_here.pop().unwrap_or_else(|| Vec::with_capacity(1024));
        // The BEGIN line as calcard wants it, whatever its case or blanks were.
        raw.extend_from_slice(b"BEGIN:VCARD\r\n");
        self.card =
            Some(CardBuf { raw, begin_line: self.line_no, warnings, extra: Vec::new(), oversized: false });
    }

    fn finish_card(&mut self, end: CardEnd) {
        // An AGENT line waiting for its next line belongs to the card as it stands.
        match std::mem::replace(&mut self.agent, Agent::None) {
            Agent::Candidate { line, .. } => self.append_to_card(&line),
            Agent::Nested { first_line, .. } => {
                if let Some(card) = self.card.as_mut() {
                    card.warnings.push(format!(
                        "line {first_line}: nested AGENT vCard never ended; the rest of the card was skipped"
                    ));
                }
            }
            Agent::None => {}
        }
        let Some(mut card) = self.card.take() else { return };
        self.cards += 1;
        match end {
            CardEnd::End => {}
            CardEnd::NextBegin => card.warnings.push(format!(
                "card starting at line {} has no END:VCARD (ended by the BEGIN:VCARD at line {})",
                card.begin_line, self.line_no
            )),
            CardEnd::Eof => card
                .warnings
                .push(format!("card starting at line {} has no END:VCARD (file ends)", card.begin_line)),
        }
        if !card.raw.ends_with(b"\n") {
            card.raw.extend_from_slice(b"\r\n");
        }
        card.raw.extend_from_slice(b"END:VCARD\r\n");
        let finished = FinishedCard {
            number: self.cards,
            raw: card.raw,
            begin_line: card.begin_line,
            warnings: card.warnings,
            extra: card.extra,
            oversized: card.oversized,
        };
        if let Some(held) = self.held.replace(finished) {
            self.push_batch(held);
        }
    }

    fn finish_input(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        if self.card.is_some() {
            self.finish_card(CardEnd::Eof);
        }
        let mut no_card_error = None;
        if self.garbage.lines > 0 {
            let text = std::mem::take(&mut self.garbage).describe();
            match self.held.as_mut() {
                Some(last) => last.warnings.push(text),
                None if self.cards == 0 => {
                    no_card_error = Some(Record {
                        source: self.source_name.clone(),
                        contact: Err(format!(
                            "{}: no vCard found (no BEGIN:VCARD line); {text}",
                            self.source_name
                        )),
                        warnings: Vec::new(),
                    });
                }
                None => {}
            }
        }
        if let Some(held) = self.held.take() {
            self.push_batch(held);
        }
        self.tail.extend(no_card_error);
    }
}

/// Decodes, parses and maps one cut card.
/// Gives the card's raw buffer back for reuse.
fn parse_finished(
    card: FinishedCard,
    source_name: &str,
    ctx: &DecodeContext,
    text: &mut String,
) -> (Record, Vec<u8>) {
    let FinishedCard { number, raw, begin_line, mut warnings, mut extra, oversized } = card;
    // Made here, not while cutting: the string is then freed on the thread that allocated it.
    let source = format!("{source_name}#{number}");
    if oversized {
        let contact = Err(format!(
            "{source_name}: card at line {begin_line} is larger than {} MB, skipped",
            MAX_CARD_BYTES >> 20
        ));
        return (Record { source, contact, warnings }, raw);
    }
    // Decoding and parsing must never take the file down: a panic becomes this card's error.
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let decoded = decode_card(&raw, begin_line, ctx, text, &mut warnings);
        parse_card(decoded, &mut warnings)
    }));
    let contact = match parsed {
        Ok(Ok(mut contact)) => {
            contact.extra.append(&mut extra);
            Ok(contact)
        }
        Ok(Err(reason)) => Err(format!("{source}: {reason}")),
        Err(_) => {
            text.clear();
            Err(format!("{source}: the vCard parser failed on this card"))
        }
    };
    (Record { source, contact, warnings }, raw)
}

impl Iterator for VcardReader {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        while self.ready.is_empty() {
            let chunk = self.cut_chunk()?;
            self.ready.extend(chunk.parse());
        }
        self.ready.pop_front()
    }
}

/// `BEGIN:VCARD` / `END:VCARD`, any case, blanks allowed around the words and the colon
/// (`BEGIN:VCARD ` from ical4j's samples). Leading blanks only when `allow_indent` (inside a
/// card an indented line is a folded continuation).
fn is_keyword_line(line: &[u8], keyword: &[u8], allow_indent: bool) -> bool {
    let Some(&first) = line.first() else { return false };
    let indented = matches!(first, b' ' | b'\t');
    if line.len() > 64 || !(first.eq_ignore_ascii_case(&keyword[0]) || (allow_indent && indented)) {
        return false;
    }
    let rest = line.trim_ascii();
    if rest.len() < keyword.len() || !rest[..keyword.len()].eq_ignore_ascii_case(keyword) {
        return false;
    }
    let rest = rest[keyword.len()..].trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b":") else { return false };
    rest.trim_ascii().eq_ignore_ascii_case(b"VCARD")
}

/// `[group.]AGENT[;params]:BEGIN:VCARD`.
fn is_agent_begin(line: &[u8]) -> bool {
    let t = line.trim_ascii_end();
    if t.len() < 17 || t.len() > 256 || !t[t.len() - 5..].eq_ignore_ascii_case(b"VCARD") {
        return false;
    }
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return false;
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else { return false };
    let head = &line[..colon];
    let name = head.split(|&b| b == b';').next().unwrap_or(head);
    let name = name.rsplit(|&b| b == b'.').next().unwrap_or(name).trim_ascii();
    name.eq_ignore_ascii_case(b"AGENT") && is_keyword_line(&line[colon + 1..], b"BEGIN", true)
}

/// A short description of a nested AGENT card: its name when it can be read.
fn nested_card_name(raw: &[u8], ctx: &DecodeContext) -> String {
    let mut out = String::new();
    let mut ignored = Vec::new();
    // `raw` starts with the nested BEGIN line (value part of the AGENT line).
    let text = decode_card(raw, 0, ctx, &mut out, &mut ignored);
    let parsed = catch_unwind(AssertUnwindSafe(|| parse_card(text, &mut ignored)));
    match parsed {
        Ok(Ok(contact)) if !contact.display_name().is_empty() => {
            format!("nested vCard: {}", contact.display_name())
        }
        _ => "nested vCard".to_string(),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_lines() {
        assert!(is_keyword_line(b"BEGIN:VCARD\r\n", b"BEGIN", false));
        assert!(is_keyword_line(b"begin:vcard \n", b"BEGIN", false));
        assert!(is_keyword_line(b"END:vCard", b"END", false));
        assert!(!is_keyword_line(b" END:VCARD\n", b"END", false));
        assert!(!is_keyword_line(b"BEGIN:VCAR\n", b"BEGIN", true));
        assert!(is_agent_begin(b"AGENT:BEGIN:VCARD\r\n"));
        assert!(is_agent_begin(b"item1.agent;VALUE=vcard:begin:vcard\n"));
        assert!(!is_agent_begin(b"NOTE:BEGIN:VCARD\n"));
    }
}
