//! One card's text → calcard's parse → [`Contact`].

use std::borrow::Cow;

use calcard::vcard::VCard;
use calcard::{Entry, Parser};

use super::map::map_card;
use crate::formats::shorten;
use crate::model::Contact;

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
    // One pass over the head's bytes (this runs on every line of a card with a date): the
    // property is what follows the last `.` before the first `;` (or the `:`).
    let (mut name_start, mut name_end) = (0, None);
    for (i, b) in line.bytes().enumerate() {
        match b {
            b':' => {
                let prop = &line[name_start..name_end.unwrap_or(i)];
                return prop.trim().eq_ignore_ascii_case(name).then(|| &line[i + 1..]);
            }
            b';' if name_end.is_none() => name_end = Some(i),
            b'.' if name_end.is_none() => name_start = i + 1,
            _ => {}
        }
    }
    None
}

/// The raw value of the `nth` (from 0) `name` property in a card's text, unfolded and trimmed:
/// the text as the file wrote it.
pub(super) fn raw_value(text: &str, name: &str, nth: usize) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_value_reads_group_name_and_params() {
        assert_eq!(property_value("BDAY:1980-01-02\r\n", "BDAY"), Some("1980-01-02\r\n"));
        assert_eq!(property_value("item1.bday;VALUE=date:1980", "BDAY"), Some("1980"));
        assert_eq!(property_value("a.b.BDAY;X=a.b:c:d", "BDAY"), Some("c:d"));
        assert_eq!(property_value("BDAY : x", "BDAY"), Some(" x"));
        assert_eq!(property_value("\u{a0}BDAY:x", "BDAY"), Some("x"));
        assert_eq!(property_value("BDAY;a.b:x", "b"), None);
        assert_eq!(property_value(" BDAY:x", "BDAY"), None);
        assert_eq!(property_value("BDAYX:x", "BDAY"), None);
        assert_eq!(property_value("BDAY", "BDAY"), None);
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
}
