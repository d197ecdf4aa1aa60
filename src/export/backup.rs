//! What an export finds at its PATH before it reads the account, and whether it may write there:
//! nothing yet, a backup this tool wrote (and from which source), or something else.
//!
//! - Every card this tool writes carries [`PRODID`]. A single file also says in each card where
//!   it came from ([`SOURCE_PROPERTY`], see [`RecordedSource::to_line`]), so the file itself
//!   tells, wherever it is copied; a vdir says it in [`VDIR_METADATA`], a hidden file that vdir
//!   readers ignore.
//! - Backups written before these markers existed are recognised by their UIDs
//!   (`orange-contacts-*`, no PRODID): they are adopted and their source recorded from now on.
//! - A file (or folder) this tool did not write is never replaced (written into) without
//!   `--force`; a backup of another source never without `--allow-other-source`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::vdir::{for_each_own_card, UID_PREFIX};
use crate::export::Layout;
use crate::source::{RecordedSource, Source};

/// The PRODID of every card this tool writes (no version: an upgrade alone rewrites nothing).
pub const PRODID: &str = "-//orange-contacts//export//EN";
/// The source of a single-file backup, in each of its cards.
pub const SOURCE_PROPERTY: &str = "X-ORANGE-CONTACTS-SOURCE";
/// The source of a vdir backup.
pub const VDIR_METADATA: &str = ".orange-contacts.json";

/// What is at PATH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// Nothing, an empty file or an empty folder.
    Nothing,
    /// A backup this tool wrote.
    Backup(Backup),
    /// Anything else (`why` says what gave it away).
    Foreign { why: String },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backup {
    /// The sources it recorded, distinct (none: written before sources were recorded).
    pub sources: Vec<RecordedSource>,
    /// How many cards it holds (distinct UIDs); the cards went to an [`OldCards`].
    pub cards: usize,
}

/// A card of the backup. `text` (single file only) is the card as it is in the file, kept verbatim
/// when its contact cannot be read this time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OldCard {
    pub name: String,
    pub text: String,
}

/// Where the cards of a backup go as it is read, one at a time (the export's spill; a map in
/// tests). Of a UID seen twice, the last card counts.
pub trait OldCards {
    /// Returns whether `uid` is new.
    fn add(&mut self, uid: &str, card: OldCard) -> io::Result<bool>;
}

impl OldCards for BTreeMap<String, OldCard> {
    fn add(&mut self, uid: &str, card: OldCard) -> io::Result<bool> {
        Ok(self.insert(uid.to_string(), card).is_none())
    }
}

/// What the user allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--force`: write over something this tool did not write.
    pub force: bool,
    /// `--allow-other-source`: write over a backup of another source.
    pub allow_other_source: bool,
}

/// How the export may go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Nothing there to keep (or something else replaced under `--force`).
    Fresh,
    /// A backup of this account (`adopted`: it had no source recorded; `other_source`: of
    /// another source, allowed by `--allow-other-source`).
    Update { adopted: bool, other_source: bool },
}

/// Why the export was refused before it read the account (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Foreign { path: String, why: String },
    OtherSource { path: String, recorded: Vec<String>, current: String },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Foreign { path, why } => write!(
                f,
                "{path} was not written by orange-contacts ({why}): refusing to write over it; give \
                 another PATH, or --force to write there anyway"
            ),
            Refused::OtherSource { path, recorded, current } => write!(
                f,
                "{path} is a backup of {}, and this run reads {current}: refusing to write one source's \
                 backup over another's (did the endpoint setting get lost?). If this is intended (the \
                 service moved to another address, say), run again with --allow-other-source",
                recorded.join(" and ")
            ),
        }
    }
}

/// The decision, before any call to the account (the table is in the tests).
pub fn admit(path: &Path, existing: &Existing, current: &Source, o: Overrides) -> Result<Admission, Refused> {
    let path = path.display().to_string();
    match existing {
        Existing::Nothing => Ok(Admission::Fresh),
        Existing::Foreign { .. } if o.force => Ok(Admission::Fresh),
        Existing::Foreign { why } => Err(Refused::Foreign { path, why: why.clone() }),
        Existing::Backup(b) if b.sources.is_empty() => {
            Ok(Admission::Update { adopted: true, other_source: false })
        }
        // Several sources only after an allowed change of source, with old cards kept: it is a
        // backup of each of them.
        Existing::Backup(b) if b.sources.iter().any(|s| current.is_recorded_as(s)) => {
            Ok(Admission::Update { adopted: false, other_source: false })
        }
        Existing::Backup(_) if o.allow_other_source => {
            Ok(Admission::Update { adopted: false, other_source: true })
        }
        Existing::Backup(b) => Err(Refused::OtherSource {
            path,
            recorded: b.sources.iter().map(RecordedSource::describe).collect(),
            current: current.describe(),
        }),
    }
}

/// Looks at PATH for `layout`, handing the backup's cards to `cards` (all of them, or some when
/// it turns out not to be a backup). An I/O error (unreadable file) is an error, not a guess.
pub fn inspect(path: &Path, layout: Layout, cards: &mut dyn OldCards) -> io::Result<Existing> {
    match layout {
        Layout::Dir => inspect_vdir(path, cards),
        Layout::File => inspect_file(path, cards),
    }
}

fn inspect_file(path: &Path, cards: &mut dyn OldCards) -> io::Result<Existing> {
    if crate::atomic_file::is_stdout(path) {
        return Ok(Existing::Nothing); // `-`: standard output holds no previous backup
    }
    let open = || match fs::File::open(path) {
        Ok(f) => Ok(Some(io::BufReader::new(f))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let Some(reader) = open()? else { return Ok(Existing::Nothing) };
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    // Read twice, keeping one card at a time: its shape first, then its cards.
    let shape = read_cards(reader, &mut |_| Ok(true)).map_err(named)?;
    if let Some(judged) = shape.judged() {
        return Ok(judged);
    }
    let Some(reader) = open()? else { return Ok(Existing::Nothing) };
    judge_cards(reader, cards).map_err(named)
}

/// A single file's text judged card by card (see the module's rules), with its cards by UID.
pub fn judge_file(text: &str) -> (Existing, BTreeMap<String, OldCard>) {
    let mut cards = BTreeMap::new();
    let shape = read_cards(text.as_bytes(), &mut |_| Ok(true)).expect("memory reads");
    if let Some(judged) = shape.judged() {
        return (judged, cards);
    }
    let judged = judge_cards(text.as_bytes(), &mut cards).expect("memory reads");
    (judged, cards)
}

/// What a first pass over a file says, before any card is judged.
struct Shape {
    utf8: bool,
    blank: bool,
    /// Text outside any card, or a card that does not end.
    broken: Option<String>,
}

impl Shape {
    /// What the file is when its shape alone says it (`None`: judge its cards).
    fn judged(self) -> Option<Existing> {
        if !self.utf8 {
            return Some(Existing::Foreign { why: "it is not UTF-8 text".into() });
        }
        if self.blank {
            return Some(Existing::Nothing);
        }
        self.broken.map(|why| Existing::Foreign { why })
    }
}

/// The cards of a file whose shape is sound, judged one by one and handed to `cards`.
fn judge_cards(reader: impl io::BufRead, cards: &mut dyn OldCards) -> io::Result<Existing> {
    let mut backup = Backup::default();
    let mut foreign = None;
    let mut n = 0;
    read_cards(reader, &mut |card| {
        n += 1;
        let props = Properties::of(&card);
        let uid = props.get("UID").unwrap_or_default();
        let name = props.get("FN").filter(|f| *f != uid).unwrap_or_default();
        let ours = match props.get("PRODID") {
            Some(p) => p == PRODID,
            None => uid.starts_with(UID_PREFIX),
        };
        if !ours || !uid.starts_with(UID_PREFIX) {
            let shown = if name.is_empty() { String::new() } else { format!(" ({name})") };
            let what = match props.get("PRODID") {
                Some(p) if p != PRODID => format!("PRODID {p}"),
                _ => "neither this tool's PRODID nor an orange-contacts UID".to_string(),
            };
            foreign = Some(format!("card {n}{shown} has {what}"));
            return Ok(false);
        }
        if let Some(source) = props.get(SOURCE_PROPERTY) {
            match RecordedSource::from_line(&source) {
                Some(s) if !backup.sources.contains(&s) => backup.sources.push(s),
                Some(_) => {}
                None => {
                    foreign = Some(format!("card {n} has an unreadable {SOURCE_PROPERTY}"));
                    return Ok(false);
                }
            }
        }
        if cards.add(&uid, OldCard { name, text: card })? {
            backup.cards += 1;
        }
        Ok(true)
    })?;
    Ok(match foreign {
        Some(why) => Existing::Foreign { why },
        None => Existing::Backup(backup),
    })
}

fn inspect_vdir(dir: &Path, cards: &mut dyn OldCards) -> io::Result<Existing> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    };
    let mut metadata = false;
    let mut first_other: Option<String> = None;
    let mut others = 0usize;
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name == VDIR_METADATA {
            metadata = true;
        } else if !name.ends_with(".tmp") {
            others += 1;
            if first_other.as_ref().is_none_or(|f| name < *f) {
                first_other = Some(name);
            }
        }
    }
    let mut count = 0usize;
    for_each_own_card(dir, &mut |n| {
        let uid = n.strip_suffix(".vcf").unwrap_or(&n);
        count += usize::from(cards.add(uid, OldCard::default())?);
        Ok(())
    })?;
    if metadata {
        let path = dir.join(VDIR_METADATA);
        let text = fs::read_to_string(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        return Ok(match serde_json::from_str::<VdirMetadata>(&text) {
            Ok(m) => Existing::Backup(Backup { sources: vec![m.source], cards: count }),
            Err(e) => Existing::Foreign { why: format!("its {VDIR_METADATA} cannot be read: {e}") },
        });
    }
    if count > 0 {
        return Ok(Existing::Backup(Backup { sources: vec![], cards: count }));
    }
    Ok(match first_other {
        None => Existing::Nothing,
        Some(first) => Existing::Foreign {
            why: format!(
                "it holds {others} file(s) such as {first:?}, no card of this tool and no {VDIR_METADATA}"
            ),
        },
    })
}

/// The vdir's record of its source.
#[derive(Debug, Serialize, Deserialize)]
struct VdirMetadata {
    written_by: String,
    source: RecordedSource,
}

/// The bytes of [`VDIR_METADATA`] for `source`.
pub fn vdir_metadata(source: &RecordedSource) -> Vec<u8> {
    let meta = VdirMetadata { written_by: "orange-contacts".into(), source: source.clone() };
    let mut bytes = serde_json::to_vec_pretty(&meta).expect("plain data serializes");
    bytes.push(b'\n');
    bytes
}

/// Reads a vCard file line by line, handing each card (its line endings as they are) to `card`,
/// which answers whether to go on; one card is held at a time. Says the file's shape: whether it
/// is UTF-8, blank, or broken (text outside any card, a card that does not end).
fn read_cards(
    mut reader: impl io::BufRead,
    card: &mut dyn FnMut(String) -> io::Result<bool>,
) -> io::Result<Shape> {
    let mut shape = Shape { utf8: true, blank: true, broken: None };
    let mut current = String::new();
    let mut depth = 0usize;
    let mut raw = Vec::new();
    let mut n = 0usize;
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        n += 1;
        let Ok(line) = std::str::from_utf8(&raw) else {
            shape.utf8 = false;
            continue; // the rest only tells whether it is UTF-8
        };
        if !shape.utf8 {
            continue;
        }
        shape.blank &= line.trim().is_empty();
        if shape.broken.is_some() {
            continue;
        }
        let bare = line.trim_end_matches(['\r', '\n']);
        if bare.eq_ignore_ascii_case("BEGIN:VCARD") {
            depth += 1;
        }
        if depth == 0 {
            if !bare.trim().is_empty() {
                shape.broken = Some(format!("line {n} is outside any vCard"));
            }
            continue;
        }
        current.push_str(line);
        if bare.eq_ignore_ascii_case("END:VCARD") {
            depth -= 1;
            if depth == 0 {
                if !current.ends_with('\n') {
                    current.push_str("\r\n");
                }
                if !card(std::mem::take(&mut current))? {
                    return Ok(shape);
                }
            }
        }
    }
    if depth > 0 && shape.broken.is_none() {
        shape.broken = Some("its last card has no END:VCARD".into());
    }
    Ok(shape)
}

/// A card's top-level properties, unfolded, values unescaped (first occurrence of each name).
struct Properties(Vec<(String, String)>);

impl Properties {
    fn of(card: &str) -> Properties {
        let unfolded = card.replace("\r\n ", "").replace("\r\n\t", "").replace("\n ", "").replace("\n\t", "");
        let props = unfolded
            .lines()
            .filter_map(|line| {
                let (head, value) = line.split_once(':')?;
                let name = head.split(';').next()?;
                let name = name.rsplit('.').next()?; // `item1.TEL`
                Some((name.to_ascii_uppercase(), unescape(value)))
            })
            .collect();
        Properties(props)
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_string())
    }
}

/// vCard TEXT unescaping: `\\`, `\,`, `\;`, `\n`.
fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(lines: &[&str]) -> String {
        let mut s = String::from("BEGIN:VCARD\r\nVERSION:3.0\r\n");
        for l in lines {
            s.push_str(l);
            s.push_str("\r\n");
        }
        s + "END:VCARD\r\n"
    }

    fn ours(id: &str, source: Option<&RecordedSource>) -> String {
        let uid = format!("UID:{UID_PREFIX}{id}");
        let prodid = format!("PRODID:{PRODID}");
        let src = source.map(|s| format!("{SOURCE_PROPERTY}:{}", s.to_line().replace(',', "\\,")));
        let mut lines = vec!["FN:Anne Martin", uid.as_str(), prodid.as_str()];
        if let Some(s) = &src {
            lines.push(s);
        }
        card(&lines)
    }

    fn alice() -> Source {
        Source::endpoint("http://127.0.0.1:8080/PersonalContacts/V1", "alice-token")
    }

    #[test]
    fn a_file_is_ours_only_if_every_card_is() {
        let recorded = alice().record();
        let legacy = card(&["FN:Old Export", "UID:orange-contacts-9"]);
        let file = ours("1", Some(&recorded)) + &legacy;
        let (Existing::Backup(b), cards) = judge_file(&file) else { panic!("{:?}", judge_file(&file)) };
        assert_eq!(b.sources, vec![recorded.clone()]);
        assert_eq!(cards.keys().collect::<Vec<_>>(), ["orange-contacts-1", "orange-contacts-9"]);
        assert_eq!(b.cards, 2);
        assert_eq!(cards["orange-contacts-9"].text, legacy);
        assert_eq!(cards["orange-contacts-9"].name, "Old Export");

        let phone = card(&["FN:Zoé", "TEL:+33612345678"]);
        let apple = card(&["PRODID:-//Apple Inc.//iOS 17//EN", "FN:A", "UID:orange-contacts-3"]);
        for (text, why) in [
            (phone.repeat(60), "card 1 (Zoé) has neither this tool's PRODID nor an orange-contacts UID"),
            (ours("1", Some(&recorded)) + &apple, "card 2 (A) has PRODID -//Apple Inc.//iOS 17//EN"),
            ("hello\n".to_string(), "line 1 is outside any vCard"),
            (ours("1", None).replace("END:VCARD\r\n", ""), "its last card has no END:VCARD"),
        ] {
            assert_eq!(judge_file(&text).0, Existing::Foreign { why: why.into() }, "{text}");
        }
        assert_eq!(judge_file(" \r\n").0, Existing::Nothing);
        // LF line endings and folded lines are read too.
        let folded = "BEGIN:VCARD\nVERSION:3.0\nUID:orange-con\n tacts-7\nPRODID:-//orange-contacts//export//EN\nEND:VCARD";
        let (Existing::Backup(_), cards) = judge_file(folded) else { panic!() };
        assert!(cards.contains_key("orange-contacts-7"));
        assert!(cards["orange-contacts-7"].text.ends_with("END:VCARD\r\n"));
    }

    /// (what is at PATH, flags) → go on or refuse.
    #[test]
    fn admission_table() {
        let me = alice();
        let mine = me.record();
        let other = Source::embedded(Path::new("/home/u/.local/share/orange-contacts/sandbox.db"), "local");
        let theirs = other.record();
        let backup = |sources: Vec<RecordedSource>| Existing::Backup(Backup { sources, cards: 0 });
        let foreign = Existing::Foreign { why: "card 1 has UID \"\"".into() };
        let none = Overrides::default();
        let force = Overrides { force: true, ..none };
        let allow = Overrides { allow_other_source: true, ..none };
        let update = |adopted, other_source| Ok(Admission::Update { adopted, other_source });
        let p = Path::new("b.vcf");
        let rows: Vec<(&Existing, Overrides, Result<Admission, ()>)> = vec![
            (&Existing::Nothing, none, Ok(Admission::Fresh)),
            (&foreign, none, Err(())),
            (&foreign, allow, Err(())),
            (&foreign, force, Ok(Admission::Fresh)),
        ];
        for (existing, o, expected) in rows {
            assert_eq!(admit(p, existing, &me, o).map_err(|_| ()), expected, "{existing:?} {o:?}");
        }
        let cases = [
            (backup(vec![]), none, update(true, false)),
            (backup(vec![mine.clone()]), none, update(false, false)),
            (backup(vec![theirs.clone()]), none, Err(())),
            (backup(vec![theirs.clone()]), force, Err(())),
            (backup(vec![theirs.clone()]), allow, update(false, true)),
            (backup(vec![mine.clone(), theirs.clone()]), none, update(false, false)),
        ];
        for (existing, o, expected) in cases {
            assert_eq!(admit(p, &existing, &me, o).map_err(|_| ()), expected, "{existing:?} {o:?}");
        }
        let message = admit(p, &backup(vec![theirs]), &me, none).unwrap_err().to_string();
        assert!(
            message.contains("the embedded sandbox /home/u/.local/share/orange-contacts/sandbox.db")
                && message.contains("http://127.0.0.1:8080/PersonalContacts/V1")
                && message.contains("--allow-other-source"),
            "{message}"
        );
        let message = admit(p, &foreign, &me, none).unwrap_err().to_string();
        assert!(
            message.contains("not written by orange-contacts") && message.contains("--force"),
            "{message}"
        );
    }

    #[test]
    fn a_vdir_is_ours_by_its_metadata_or_its_card_names() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("book");
        assert_eq!(inspect_vdir(&d, &mut BTreeMap::new()).unwrap(), Existing::Nothing);
        fs::create_dir(&d).unwrap();
        fs::write(d.join(".orange-contacts-1.vcf.abc.tmp"), "stray").unwrap();
        assert_eq!(inspect_vdir(&d, &mut BTreeMap::new()).unwrap(), Existing::Nothing);
        fs::write(d.join("friend.vcf"), "BEGIN:VCARD\r\nEND:VCARD\r\n").unwrap();
        assert!(
            matches!(inspect_vdir(&d, &mut BTreeMap::new()).unwrap(), Existing::Foreign { why } if why.contains("friend.vcf"))
        );
        fs::write(d.join("orange-contacts-1.vcf"), "x").unwrap();
        let mut cards = BTreeMap::new();
        let Existing::Backup(b) = inspect_vdir(&d, &mut cards).unwrap() else { panic!() };
        assert!(b.sources.is_empty() && b.cards == 1 && cards.contains_key("orange-contacts-1"));
        let recorded = alice().record();
        fs::write(d.join(VDIR_METADATA), vdir_metadata(&recorded)).unwrap();
        let Existing::Backup(b) = inspect_vdir(&d, &mut BTreeMap::new()).unwrap() else { panic!() };
        assert_eq!(b.sources, vec![recorded]);
        fs::write(d.join(VDIR_METADATA), "{").unwrap();
        assert!(matches!(inspect_vdir(&d, &mut BTreeMap::new()).unwrap(), Existing::Foreign { .. }));
    }
}
