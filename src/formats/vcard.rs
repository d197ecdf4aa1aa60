//! Streaming vCard 2.1/3.0/4.0 reader: bytes → one [`Record`] per card, in bounded memory.
//!
//! calcard parses a whole `&str` and loses the card after a missing `END:VCARD`, so this reader
//! cuts the input itself, line by line: a card runs from a `BEGIN:VCARD` line to its
//! `END:VCARD` (or to the next `BEGIN:VCARD` / end of file, with a warning). Each card's raw
//! lines are decoded to UTF-8 by [`decode`](super::decode), parsed by calcard and mapped to a
//! [`Contact`]. Cut cards leave the reader in [`CardBatch`]es of at most 256 KB / 1024 cards
//! ([`VcardReader::cut_chunk`]), which any thread can parse: the import parses them on all cores
//! while this reader cuts the next ones. Memory is bounded by the read buffers, the batches in
//! flight and the card being cut, whatever the file size.
//!
//! Text outside any card is reported as a warning on the next card (or on the last card when
//! nothing follows), or as one error record when the file holds no card at all. A 2.1 `AGENT`
//! property holding a nested vCard (`AGENT:BEGIN:VCARD` … `END:VCARD` on separate lines) is
//! skipped as a whole and kept as an extra field, so it does not end its outer card.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use calcard::vcard::{
    VCard, VCardEntry, VCardKind, VCardParameterName, VCardParameterValue, VCardProperty, VCardType,
    VCardValue,
};
use calcard::{Entry, Parser};

use super::decode::{self, DecodeContext};
use super::Record;
use crate::model::{
    Contact, DateOrder, Email, ExtraField, Phone, PhoneKind, Photo, Place, PostalAddress, WebUrl,
};
use crate::wire::ImageType;

/// A card bigger than this is not parsed (its lines are skipped up to its end).
pub const MAX_CARD_BYTES: usize = 64 * 1024 * 1024;
/// A single line longer than this is cut (what is beyond is dropped).
const MAX_LINE_BYTES: usize = MAX_CARD_BYTES;
/// Extra-field values longer than this are shortened (they only feed the report).
const MAX_EXTRA_CHARS: usize = 300;
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
    pub fn cut_chunk(&mut self) -> Option<super::Chunk> {
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
            return Some(super::Chunk::cards(batch));
        }
        (!self.tail.is_empty()).then(|| super::Chunk::records(std::mem::take(&mut self.tail)))
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
        let (utf8, info) = decode::open_utf8_stream(raw)?;
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
        let decoded = decode::decode_card(&raw, begin_line, ctx, text, &mut warnings);
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

fn trim_eol(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
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
    let text = decode::decode_card(raw, 0, ctx, &mut out, &mut ignored);
    let parsed = catch_unwind(AssertUnwindSafe(|| parse_card(text, &mut ignored)));
    match parsed {
        Ok(Ok(contact)) if !contact.display_name().is_empty() => {
            format!("nested vCard: {}", contact.display_name())
        }
        _ => "nested vCard".to_string(),
    }
}

/// Parses one card's text with calcard and maps it. `Err` when no card could be read.
pub fn parse_card(text: &str, warnings: &mut Vec<String>) -> Result<Contact, String> {
    let text = version_first(text);
    let mut parser = Parser::new(&text);
    let mut card: Option<VCard> = None;
    // calcard always makes progress; the bound only guards against a surprise.
    for _ in 0..text.len() + 16 {
        match parser.entry() {
            Entry::VCard(v) => match card.as_mut() {
                None => card = Some(v),
                Some(c) => c.entries.extend(v.entries),
            },
            Entry::InvalidLine(l) => warnings.push(format!("unreadable line ignored: {:?}", shorten(&l, 80))),
            Entry::Eof => break,
            Entry::UnterminatedComponent(c) => warnings.push(format!("unterminated {c}")),
            Entry::UnexpectedComponentEnd { .. } => warnings.push("unexpected END line".to_string()),
            _ => warnings.push("unexpected non-vCard component ignored".to_string()),
        }
    }
    let card = card.ok_or_else(|| "no vCard could be read from this card's lines".to_string())?;
    Ok(map_card(card, &text, warnings))
}

/// The card's text with its VERSION line right after BEGIN. calcard reads a card as 4.0 until
/// a VERSION line says otherwise, and reads values (dates, media types) by that version, so a
/// 3.0 card whose VERSION comes last (KDE sorts properties by name) would be read as 4.0.
fn version_first(text: &str) -> Cow<'_, str> {
    let mut lines = text.split_inclusive('\n');
    let Some(begin) = lines.next() else { return Cow::Borrowed(text) };
    let is_version = |line: &str| property_value(line, "VERSION").is_some();
    if lines.next().is_none_or(is_version) {
        return Cow::Borrowed(text);
    }
    let Some(version) = text.split_inclusive('\n').skip(2).find(|l| is_version(l)) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push_str(begin);
    out.push_str(version.trim_end());
    out.push_str("\r\n");
    let mut moved = false;
    for line in text.split_inclusive('\n').skip(1) {
        if !moved && std::ptr::eq(line, version) {
            moved = true;
            continue;
        }
        out.push_str(line);
    }
    Cow::Owned(out)
}

/// The value of a `[group.]NAME[;params]:value` line when its property is `name`.
fn property_value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    if line.starts_with([' ', '\t']) {
        return None;
    }
    let colon = line.find(':')?;
    let prop = line[..colon].split(';').next()?.rsplit('.').next()?;
    prop.trim().eq_ignore_ascii_case(name).then(|| &line[colon + 1..])
}

/// The raw value of the `nth` (from 0) `name` property in a card's text, unfolded and trimmed:
/// the text as the file wrote it.
fn raw_value(text: &str, name: &str, nth: usize) -> Option<String> {
    let mut lines = text.lines();
    let mut seen = 0;
    while let Some(line) = lines.next() {
        let Some(value) = property_value(line, name) else { continue };
        if seen < nth {
            seen += 1;
            continue;
        }
        let mut out = value.to_string();
        for fold in lines.take_while(|l| l.starts_with([' ', '\t'])) {
            out.push_str(&fold[1..]);
        }
        return Some(out.trim().to_string());
    }
    None
}

// ---------------------------------------------------------------------------------------------
// calcard → Contact

/// What an entry's TYPE values and bare 2.1 params (`TEL;CELL;PREF`) say, read without
/// allocating (this runs for every TEL/EMAIL/URL/ADR).
#[derive(Debug, Default, Clone, Copy)]
struct Types {
    home: bool,
    work: bool,
    other: bool,
    pref: bool,
    cell: bool,
    fax: bool,
    pager: bool,
    video: bool,
}

impl Types {
    fn of(e: &VCardEntry) -> Types {
        let mut t = Types::default();
        for p in &e.params {
            match (&p.name, &p.value) {
                (VCardParameterName::Pref, _) => t.pref = true,
                (VCardParameterName::Type, VCardParameterValue::Type(x)) => match x {
                    VCardType::Home => t.home = true,
                    VCardType::Work => t.work = true,
                    VCardType::Cell => t.cell = true,
                    VCardType::Fax => t.fax = true,
                    VCardType::Pager => t.pager = true,
                    VCardType::Video => t.video = true,
                    _ => {}
                },
                (VCardParameterName::Type, v) => {
                    if let Some(text) = v.as_text() {
                        text.split(',').for_each(|tok| t.token(tok.trim()));
                    }
                }
                (VCardParameterName::Other(name), VCardParameterValue::Null) => t.token(name),
                _ => {}
            }
        }
        t
    }

    fn token(&mut self, tok: &str) {
        let is = |name: &str| tok.eq_ignore_ascii_case(name);
        if is("home") {
            self.home = true;
        } else if is("work") {
            self.work = true;
        } else if is("other") {
            self.other = true;
        } else if is("pref") {
            self.pref = true;
        } else if is("cell") || is("mobile") || is("x-mobil") || is("x-mobile") || is("iphone") {
            self.cell = true;
        } else if is("fax") {
            self.fax = true;
        } else if is("pager") {
            self.pager = true;
        } else if is("video") {
            self.video = true;
        }
    }

    fn place(&self) -> Option<Place> {
        if self.home {
            Some(Place::Home)
        } else if self.work {
            Some(Place::Work)
        } else if self.other {
            Some(Place::Other)
        } else {
            None
        }
    }

    fn phone_kind(&self) -> PhoneKind {
        if self.fax {
            PhoneKind::Fax
        } else if self.pager {
            PhoneKind::Pager
        } else if self.cell {
            PhoneKind::Mobile
        } else if self.video {
            PhoneKind::Video
        } else {
            PhoneKind::Voice
        }
    }
}

/// `_$!<HomePage>!$_` → `HomePage`; other labels unchanged.
pub fn apple_label(label: &str) -> &str {
    let l = label.trim();
    l.strip_prefix("_$!<").and_then(|s| s.strip_suffix(">!$_")).unwrap_or(l)
}

/// Text of one value; `None` for binary data.
fn value_text(v: &VCardValue) -> Option<String> {
    Some(match v {
        VCardValue::Text(s) => s.clone(),
        VCardValue::Component(parts) => parts.join(","),
        VCardValue::Integer(i) => i.to_string(),
        VCardValue::Float(f) => f.to_string(),
        VCardValue::Boolean(b) => b.to_string(),
        VCardValue::PartialDateTime(p) => format_partial(p),
        VCardValue::Binary(_) => return None,
        other => other.as_text()?.to_string(),
    })
}

fn format_partial(p: &calcard::common::PartialDateTime) -> String {
    let mut s = String::new();
    match p.year {
        Some(y) => s.push_str(&format!("{y:04}")),
        None => s.push_str("--"),
    }
    if let Some(m) = p.month {
        if p.year.is_some() {
            s.push('-');
        }
        s.push_str(&format!("{m:02}"));
    }
    if let Some(d) = p.day {
        s.push_str(&format!("-{d:02}"));
    }
    if let (Some(h), Some(mi)) = (p.hour, p.minute) {
        s.push_str(&format!("T{h:02}:{mi:02}"));
        if let Some(sec) = p.second {
            s.push_str(&format!(":{sec:02}"));
        }
    }
    s
}

/// All values of an entry as report text (structured values joined by `;`).
fn entry_text(e: &VCardEntry) -> String {
    let parts: Vec<String> = e
        .values
        .iter()
        .map(|v| match v {
            VCardValue::Binary(d) => format!(
                "<{} bytes{}>",
                d.data.len(),
                d.content_type.as_deref().map(|t| format!(" {t}")).unwrap_or_default()
            ),
            other => value_text(other).unwrap_or_default(),
        })
        .collect();
    parts.join(";")
}

fn shorten(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max_chars).collect();
        out.push('…');
        out
    }
}

/// `s` trimmed, reusing its allocation when it needs no trimming.
fn owned_nonempty(s: String) -> Option<String> {
    // ASCII blanks first (fast, the common case), then any Unicode white space.
    let t = s.trim_ascii();
    if t.len() == s.len()
        && !t.is_empty()
        && !t.ends_with(char::is_whitespace)
        && !t.starts_with(char::is_whitespace)
    {
        return Some(s);
    }
    let t = t.trim();
    if t.is_empty() {
        None
    } else if t.len() == s.len() {
        Some(s)
    } else {
        Some(t.to_string())
    }
}

fn nonempty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Name as the report shows it: `N`, `X-ABLabel`, …
fn field_name(e: &VCardEntry) -> String {
    e.name.as_str().to_string()
}

struct Mapper<'a> {
    contact: Contact,
    /// The card's text, for values that must be read as written.
    text: &'a str,
    /// The entry being mapped, when it holds a date calcard parsed: the how-many-th property
    /// of its name it is, to find the date as written.
    date_ordinal: Option<usize>,
    warnings: &'a mut Vec<String>,
    /// `X-ABLabel` by group (matched ignoring ASCII case), and whether a property used it.
    labels: Vec<(String, String, bool)>,
}

impl Mapper<'_> {
    fn extra(&mut self, field: impl Into<String>, value: impl AsRef<str>) {
        let value = value.as_ref().trim();
        if value.is_empty() {
            return;
        }
        self.contact.extra.push(ExtraField { field: field.into(), value: shorten(value, MAX_EXTRA_CHARS) });
    }

    fn extra_entry(&mut self, e: &VCardEntry) {
        let text = self.written(e).unwrap_or_else(|| entry_text(e));
        let name = field_name(e);
        self.extra(name, text);
    }

    /// A date entry's value as the card wrote it: calcard reads dates by the card's version,
    /// and its 4.0 reading is not ISO 8601's (`1983-02-03` becomes 1983-02).
    fn written(&self, e: &VCardEntry) -> Option<String> {
        raw_value(self.text, e.name.as_str(), self.date_ordinal?)
    }

    /// The text value of a text property (taken out of the entry); binary (undecodable) →
    /// extra + warning.
    fn text_of(&mut self, e: &mut VCardEntry) -> Option<String> {
        if let Some(VCardValue::Binary(d)) = e.values.first() {
            let name = field_name(e);
            self.warnings.push(format!("{name}: value is not valid text in its charset, dropped"));
            let lossy = String::from_utf8_lossy(&d.data).into_owned();
            self.extra(name, lossy);
            return None;
        }
        if let [VCardValue::Text(t)] = e.values.as_mut_slice() {
            return owned_nonempty(std::mem::take(t));
        }
        let parts: Vec<String> = e.values.iter().filter_map(value_text).collect();
        nonempty(&parts.join(","))
    }

    /// The `X-ABLabel` of the entry's group, marked used.
    fn group_label(&mut self, e: &VCardEntry) -> Option<String> {
        let group = e.group.as_deref()?;
        let slot = self.labels.iter_mut().find(|(g, _, _)| g.eq_ignore_ascii_case(group))?;
        slot.2 = true;
        nonempty(apple_label(&slot.1))
    }
}

fn component(e: &mut VCardEntry, i: usize) -> Option<String> {
    match e.values.get_mut(i)? {
        VCardValue::Text(t) => owned_nonempty(std::mem::take(t)),
        VCardValue::Component(parts) => {
            let parts: Vec<&str> = parts.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
            nonempty(&parts.join(", "))
        }
        v => nonempty(&value_text(v)?),
    }
}

/// Name components: comma lists joined by a space (`Q.,Public` → `Q. Public`).
fn name_component(e: &mut VCardEntry, i: usize) -> Option<String> {
    match e.values.get_mut(i)? {
        VCardValue::Text(t) => owned_nonempty(std::mem::take(t)),
        VCardValue::Component(parts) => {
            let parts: Vec<&str> = parts.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
            nonempty(&parts.join(" "))
        }
        v => nonempty(&value_text(v)?),
    }
}

/// Media type from a photo's params: `MEDIATYPE`, `TYPE=JPEG`, `TYPE=image/png`, bare `;JPEG`.
fn declared_media_type(e: &VCardEntry) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    for p in &e.params {
        match (&p.name, &p.value) {
            (VCardParameterName::Mediatype | VCardParameterName::Type, v) => {
                if let Some(t) = v.as_text() {
                    candidates.push(t.to_string());
                }
            }
            (VCardParameterName::Other(n), VCardParameterValue::Null) => candidates.push(n.clone()),
            _ => {}
        }
    }
    candidates.iter().find_map(|c| media_type_name(c))
}

fn media_type_name(t: &str) -> Option<String> {
    let t = t.trim().to_ascii_lowercase();
    Some(
        match t.as_str() {
            "jpeg" | "jpg" | "pjpeg" => "image/jpeg",
            "png" => "image/png",
            "gif" => "image/gif",
            "bmp" => "image/bmp",
            "webp" => "image/webp",
            "tiff" | "tif" => "image/tiff",
            _ if t.starts_with("image/") => return Some(t),
            _ => return None,
        }
        .to_string(),
    )
}

/// Media type by magic bytes: the API's own formats as [`ImageType::sniff`] knows them, plus the
/// ones phones also export (converted to JPEG before sending).
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if let Some(accepted) = ImageType::sniff(bytes) {
        Some(accepted.mime())
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() > 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("image/tiff")
    } else {
        None
    }
}

fn lenient_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    ENGINE
        .decode(cleaned.as_bytes())
        .ok()
        .or_else(|| general_purpose::URL_SAFE_NO_PAD.decode(cleaned.trim_end_matches('=')).ok())
}

fn photo_of(e: &mut VCardEntry) -> Option<Photo> {
    let declared = declared_media_type(e);
    match e.values.first_mut()? {
        VCardValue::Binary(d) => {
            if d.data.is_empty() {
                return None;
            }
            let media_type = d
                .content_type
                .as_deref()
                .and_then(media_type_name)
                .or(declared)
                .or_else(|| sniff_image(&d.data).map(str::to_string));
            Some(Photo::Inline { bytes: std::mem::take(&mut d.data), media_type })
        }
        v => {
            let text = value_text(v)?;
            let t = text.trim();
            if t.is_empty() {
                return None;
            }
            let lower = t.get(..8).unwrap_or(t).to_ascii_lowercase();
            if lower.starts_with("data:") {
                // calcard did not accept it (e.g. `data:base64\,…` without a media type).
                let body = &t[5..];
                let Some(comma) = body.find(',') else {
                    return Some(Photo::Unreadable("malformed data: URI".into()));
                };
                let meta = body[..comma].trim_end_matches('\\');
                if !meta.to_ascii_lowercase().contains("base64") {
                    return Some(Photo::Unreadable("data: URI is not base64".into()));
                }
                return Some(match lenient_base64(&body[comma + 1..]) {
                    Some(bytes) if !bytes.is_empty() => {
                        let media_type = meta
                            .split(';')
                            .next()
                            .and_then(media_type_name)
                            .or(declared)
                            .or_else(|| sniff_image(&bytes).map(str::to_string));
                        Photo::Inline { bytes, media_type }
                    }
                    _ => Photo::Unreadable("data: URI holds invalid base64".into()),
                });
            }
            if let Some(colon) = t.find(':') {
                let scheme = &t[..colon];
                if !scheme.is_empty()
                    && scheme.len() <= 10
                    && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                {
                    return Some(Photo::Uri(t.to_string()));
                }
            }
            // Base64 without ENCODING (Thunderbird), or base64 calcard rejected.
            match lenient_base64(t) {
                Some(bytes) => Some(match sniff_image(&bytes) {
                    Some(sniffed) => {
                        Photo::Inline { media_type: declared.or_else(|| Some(sniffed.to_string())), bytes }
                    }
                    None => Photo::Unreadable("PHOTO data is not a recognised image".into()),
                }),
                None => Some(Photo::Unreadable("PHOTO value is neither base64 image data nor a link".into())),
            }
        }
    }
}

/// For each entry holding a date calcard parsed, the how-many-th property of its name it is
/// (from 0), to find its text as written; `None` for the others. Empty when there are none.
fn date_ordinals(entries: &[VCardEntry]) -> Vec<Option<usize>> {
    let is_date = |e: &VCardEntry| e.values.iter().any(|v| matches!(v, VCardValue::PartialDateTime(_)));
    if !entries.iter().any(is_date) {
        return Vec::new();
    }
    let ordinal = |i: usize, e: &VCardEntry| entries[..i].iter().filter(|p| p.name == e.name).count();
    entries.iter().enumerate().map(|(i, e)| is_date(e).then(|| ordinal(i, e))).collect()
}

/// Maps a parsed card to a [`Contact`]; whatever has no place goes to `extra`.
pub fn map_card(card: VCard, text: &str, warnings: &mut Vec<String>) -> Contact {
    let labels = card
        .entries
        .iter()
        .filter(|e| matches!(&e.name, VCardProperty::Other(n) if n.eq_ignore_ascii_case("X-ABLabel")))
        .filter_map(|e| Some((e.group.clone()?, entry_text(e), false)))
        .collect();
    let date_ordinals = date_ordinals(&card.entries);
    let mut m = Mapper { contact: Contact::default(), text, date_ordinal: None, warnings, labels };
    let mut seen_n = false;

    for (i, mut e) in card.entries.into_iter().enumerate() {
        let e = &mut e;
        m.date_ordinal = date_ordinals.get(i).copied().flatten();
        match &e.name {
            VCardProperty::Begin | VCardProperty::End | VCardProperty::Version | VCardProperty::Prodid => {}
            VCardProperty::Rev => {}
            VCardProperty::Kind => {
                if !matches!(e.values.first(), Some(VCardValue::Kind(VCardKind::Individual)) | None) {
                    m.extra_entry(e);
                }
            }
            VCardProperty::Fn => {
                if m.contact.formatted_name.is_none() {
                    m.contact.formatted_name = m.text_of(e);
                }
            }
            VCardProperty::N => {
                if seen_n {
                    continue;
                }
                seen_n = true;
                if let Some(VCardValue::Binary(_)) = e.values.first() {
                    m.text_of(e);
                    continue;
                }
                m.contact.family = name_component(e, 0);
                m.contact.given = name_component(e, 1);
                m.contact.additional = name_component(e, 2);
                m.contact.prefix = name_component(e, 3);
                m.contact.suffix = name_component(e, 4);
            }
            VCardProperty::Nickname => {
                // The API has one nickname field: every nickname (`Nick1,Nick2`, several
                // NICKNAME lines) goes into it, joined by `, `, each once.
                for v in e.values.iter().filter_map(value_text).filter_map(|v| nonempty(&v)) {
                    let nickname = m.contact.nickname.get_or_insert_with(String::new);
                    if !nickname.split(", ").any(|n| n.eq_ignore_ascii_case(&v)) {
                        if !nickname.is_empty() {
                            nickname.push_str(", ");
                        }
                        nickname.push_str(&v);
                    }
                }
            }
            VCardProperty::Org => {
                if let Some(VCardValue::Binary(_)) = e.values.first() {
                    m.text_of(e);
                    continue;
                }
                let org = component(e, 0);
                let dept: Vec<String> = (1..e.values.len()).filter_map(|i| component(e, i)).collect();
                if m.contact.organization.is_none() && m.contact.department.is_none() {
                    m.contact.organization = org;
                    m.contact.department = nonempty(&dept.join(", "));
                    if dept.len() > 1 {
                        m.warnings.push(format!(
                            "ORG units {dept:?} sent as the one department {:?}: the API has a single department field",
                            dept.join(", ")
                        ));
                    }
                } else {
                    m.extra_entry(e);
                }
            }
            VCardProperty::Title => {
                if m.contact.title.is_none() {
                    m.contact.title = m.text_of(e);
                } else {
                    m.extra_entry(e);
                }
            }
            VCardProperty::Bday => {
                if m.contact.birthday.is_some() || m.contact.birthday_text.is_some() {
                    // A second form of the same date (ALTID pair) or a conflicting one.
                    m.extra_entry(e);
                    continue;
                }
                let written = match e.values.first() {
                    Some(VCardValue::PartialDateTime(_)) => m.written(e),
                    Some(v) => value_text(v),
                    None => None,
                };
                if let Some(written) = written {
                    m.contact.take_birthday(&written, DateOrder::Iso);
                }
            }
            VCardProperty::Email => {
                let Some(value) = m.text_of(e) else { continue };
                let types = Types::of(e);
                let mut place = types.place();
                let mut label = m.group_label(e);
                if let Some(p) = label.as_deref().and_then(label_place) {
                    place = place.or(Some(p));
                    label = None;
                }
                let preferred = types.pref;
                m.contact.emails.push(Email { value, place, preferred, label });
            }
            VCardProperty::Tel => {
                let Some(value) = m.text_of(e) else { continue };
                let value = match value.get(..4) {
                    Some(p) if p.eq_ignore_ascii_case("tel:") => value[4..].trim().to_string(),
                    _ => value,
                };
                if value.is_empty() {
                    continue;
                }
                let types = Types::of(e);
                let mut place = types.place();
                let mut kind = types.phone_kind();
                let mut label = m.group_label(e);
                if let Some(l) = label.clone() {
                    let (lk, lp, consumed) = label_phone(&l);
                    if let Some(k) = lk {
                        if kind == PhoneKind::Voice {
                            kind = k;
                        }
                    }
                    place = place.or(lp);
                    if consumed {
                        label = None;
                    }
                }
                let preferred = types.pref;
                m.contact.phones.push(Phone { value, kind, place, preferred, label });
            }
            VCardProperty::Url => {
                let Some(value) = m.text_of(e) else {
                    if e.values.first().is_some_and(|v| matches!(v, VCardValue::Binary(_))) {
                        m.extra_entry(e);
                    }
                    continue;
                };
                let mut place = Types::of(e).place();
                let mut label = m.group_label(e);
                if let Some(p) = label.as_deref().and_then(label_place) {
                    place = place.or(Some(p));
                    label = None;
                }
                m.contact.urls.push(WebUrl { value, place, label });
            }
            VCardProperty::Adr => {
                if let Some(VCardValue::Binary(_)) = e.values.first() {
                    m.text_of(e);
                    continue;
                }
                let mut adr = PostalAddress {
                    place: Types::of(e).place(),
                    po_box: component(e, 0),
                    extended: component(e, 1),
                    street: component(e, 2),
                    city: component(e, 3),
                    region: component(e, 4),
                    postal_code: component(e, 5),
                    country: component(e, 6),
                    label: None,
                };
                if adr == (PostalAddress { place: adr.place, ..PostalAddress::default() }) {
                    continue;
                }
                adr.label = m.group_label(e).or_else(|| {
                    e.parameters(&VCardParameterName::Label).find_map(|v| v.as_text()).and_then(nonempty)
                });
                if let Some(p) = adr.label.as_deref().and_then(label_place) {
                    adr.place = adr.place.or(Some(p));
                    adr.label = None;
                }
                m.contact.addresses.push(adr);
            }
            VCardProperty::Photo => {
                if m.contact.photo.is_none() {
                    m.contact.photo = photo_of(e);
                } else {
                    m.extra_entry(e);
                }
            }
            VCardProperty::Note => {
                if let Some(n) = m.text_of(e) {
                    m.contact.notes.push(n);
                }
            }
            VCardProperty::Categories => {
                for v in &e.values {
                    let items: Vec<String> = match v {
                        VCardValue::Component(parts) => parts.clone(),
                        other => value_text(other).into_iter().collect(),
                    };
                    for item in items.iter().filter_map(|s| nonempty(s)) {
                        if !m.contact.categories.contains(&item) {
                            m.contact.categories.push(item);
                        }
                    }
                }
            }
            VCardProperty::Uid => {
                if m.contact.uid.is_none() {
                    m.contact.uid = m.text_of(e);
                }
            }
            VCardProperty::Other(name) => {
                let upper = name.to_ascii_uppercase();
                match upper.as_str() {
                    "X-ABLABEL" => {} // consumed below if no property used it
                    "X-ABSHOWAS" => {}
                    "X-ORANGE-CONTACTS-SOURCE" => {} // where an export came from (export::backup), like PRODID
                    "X-ORANGE-MARITALSTATUS" => {
                        let text = entry_text(e);
                        match text.trim().parse::<u8>() {
                            Ok(v) => m.contact.marital_status = Some(v),
                            Err(_) => m.extra(name.clone(), text),
                        }
                    }
                    "X-ANDROID-CUSTOM" => {
                        let text = entry_text(e);
                        let mut parts = text.split(';');
                        let mime = parts.next().unwrap_or("").trim();
                        let value = parts.next().and_then(nonempty);
                        if mime.eq_ignore_ascii_case("vnd.android.cursor.item/nickname") && value.is_some() {
                            if m.contact.nickname.is_none() {
                                m.contact.nickname = value;
                            } else if m.contact.nickname != value {
                                m.extra(name.clone(), text);
                            }
                        } else {
                            m.extra(name.clone(), text);
                        }
                    }
                    _ => m.extra_entry(e),
                }
            }
            _ => m.extra_entry(e),
        }
    }

    // Labels no property claimed (their group has no mapped property) are reported.
    let unused: Vec<String> =
        m.labels.iter().filter(|(_, _, used)| !used).map(|(_, l, _)| l.clone()).collect();
    for label in unused {
        m.extra("X-ABLabel", apple_label(&label));
    }
    m.contact
}

/// A label that only says home / work / other.
fn label_place(label: &str) -> Option<Place> {
    match label.trim().to_ascii_lowercase().as_str() {
        "home" => Some(Place::Home),
        "work" => Some(Place::Work),
        "other" => Some(Place::Other),
        _ => None,
    }
}

/// What an iOS phone label says: (kind, place, fully understood).
fn label_phone(label: &str) -> (Option<PhoneKind>, Option<Place>, bool) {
    match label.trim().to_ascii_lowercase().as_str() {
        "mobile" | "iphone" | "cell" => (Some(PhoneKind::Mobile), None, true),
        "homefax" | "home fax" => (Some(PhoneKind::Fax), Some(Place::Home), true),
        "workfax" | "work fax" => (Some(PhoneKind::Fax), Some(Place::Work), true),
        "otherfax" | "other fax" | "fax" => (Some(PhoneKind::Fax), None, true),
        "pager" => (Some(PhoneKind::Pager), None, true),
        "home" => (None, Some(Place::Home), true),
        "work" => (None, Some(Place::Work), true),
        "other" => (None, Some(Place::Other), true),
        _ => (None, None, false),
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

    #[test]
    fn a_card_reads_the_same_wherever_its_version_line_stands() {
        let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
        let props = [
            "BDAY:2019-02-10T00:00:33".to_string(),
            "N:Kde;Anne;;;".to_string(),
            format!("PHOTO;ENCODING=b;TYPE=PNG:{png}"),
            "TEL;TYPE=CELL:+33 6 12 34 56 78".to_string(),
        ];
        let card = |version_at: usize| {
            let mut lines: Vec<&str> = props.iter().map(String::as_str).collect();
            lines.insert(version_at, "VERSION:3.0");
            format!("BEGIN:VCARD\r\n{}\r\nEND:VCARD\r\n", lines.join("\r\n"))
        };
        let read = |text: &str| parse_card(text, &mut Vec::new()).unwrap();
        let first = read(&card(0));
        assert_eq!(first.birthday_text.as_deref(), Some("2019-02-10T00:00:33"));
        for at in 1..=props.len() {
            assert_eq!(read(&card(at)), first, "VERSION as property {at}");
        }
        assert!(matches!(version_first(&card(0)), Cow::Borrowed(_)), "nothing to move");
        assert_eq!(version_first(&card(4)), card(0));
    }

    #[test]
    fn apple_labels() {
        assert_eq!(apple_label("_$!<HomePage>!$_"), "HomePage");
        assert_eq!(apple_label("iPhone"), "iPhone");
    }
}
