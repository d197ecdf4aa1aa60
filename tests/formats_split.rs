//! Defects found while splitting `src/formats/` into one concern a file (issue 10): each test
//! fails on the code before its fix.

use std::io::Cursor;

use orange_contacts::formats::csv::CsvReader;
use orange_contacts::formats::{read_path, Format, Record};

fn names(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| r.contact.as_ref().map(|c| c.display_name()).unwrap_or_else(|e| format!("error: {e}")))
        .collect()
}

/// A Russian address book: English headers, Cyrillic names and notes. A bit over a third of its
/// characters are ASCII (digits, punctuation, spaces, line ends).
fn russian_csv() -> String {
    let people = [
        ("Иван", "Петров", "коллега, тел. 8 495 123-45-67"),
        ("Мария", "Смирнова", "соседка, день рождения 12.03"),
        ("Алексей", "Кузнецов", "дача: 2 км от Звенигорода"),
    ];
    let mut text = String::from("First Name,Last Name,Notes\r\n");
    for i in 0..30 {
        let (given, family, notes) = people[i % 3];
        text.push_str(&format!("{given},{family},\"{notes}\"\r\n"));
    }
    text
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let unit = |u: u16| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() };
    text.encode_utf16().flat_map(unit).collect()
}

/// The CSV reader told UTF-16 without a BOM by its own rule (NUL high bytes in at least 40 % of
/// the code units), `--format auto` and the vCard reader by another (a third): a file between
/// the two, such as a Cyrillic address book, was sniffed as UTF-16, then read by the CSV reader
/// as UTF-8 full of NUL bytes (every row garbled or invalid). One rule now serves all three.
#[test]
fn utf16_without_bom_reads_alike_whichever_reader_sniffs_it() {
    let text = russian_csv();
    let ascii = text.chars().filter(char::is_ascii).count() as f64 / text.chars().count() as f64;
    assert!((0.34..0.40).contains(&ascii), "the case between the two rules: {ascii:.3} ASCII");
    let dir = tempfile::tempdir().unwrap();
    for big_endian in [false, true] {
        let bytes = utf16(&text, big_endian);
        let path = dir.path().join(if big_endian { "ru-be.csv" } else { "ru-le.csv" });
        std::fs::write(&path, &bytes).unwrap();
        let charset = if big_endian { "UTF-16BE" } else { "UTF-16LE" };
        let by_path: Vec<Record> = read_path(&path, Format::Auto).unwrap().collect();
        let by_reader: Vec<Record> =
            CsvReader::new(Cursor::new(bytes), path.display().to_string()).unwrap().collect();
        for records in [&by_path, &by_reader] {
            assert_eq!(records.len(), 30, "{charset}: {:?}", &records[..2]);
            assert_eq!(
                names(&records[..3]),
                ["Иван Петров", "Мария Смирнова", "Алексей Кузнецов"],
                "{charset}"
            );
            let notes = &records[0].contact.as_ref().unwrap().notes;
            assert_eq!(notes, &["коллега, тел. 8 495 123-45-67"], "{charset}");
            let warning = &records[0].warnings[0];
            assert!(warning.contains(&format!("read as {charset}")), "{charset}: {warning}");
        }
    }
}
