//! vCard reading: hand-written cards for each phone/client quirk, the shared corpus, the
//! `read_path` dispatcher, and bounded-memory streaming.

use crate::common;

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use orange_contacts::formats::vcard::VcardReader;
use orange_contacts::formats::{read_path, Format, Record};
use orange_contacts::model::{Contact, PartialDate, PhoneKind, Photo, Place};

fn read(bytes: impl Into<Vec<u8>>) -> Vec<Record> {
    VcardReader::new(Cursor::new(bytes.into()), "t.vcf".to_string()).collect()
}

fn one(bytes: impl Into<Vec<u8>>) -> (Contact, Vec<String>) {
    let records = read(bytes);
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = records.into_iter().next().unwrap();
    assert_eq!(r.source, "t.vcf#1");
    (r.contact.expect("card read"), r.warnings)
}

fn extra<'a>(c: &'a Contact, field: &str) -> Vec<&'a str> {
    c.extra.iter().filter(|e| e.field.eq_ignore_ascii_case(field)).map(|e| e.value.as_str()).collect()
}

/// A tiny "JPEG": the magic bytes plus filler, enough for sniffing and byte comparison.
fn fake_jpeg() -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'];
    b.extend((0..300u32).map(|i| (i * 7 % 251) as u8));
    b.extend([0xFF, 0xD9]);
    b
}

fn qp(s: &str) -> String {
    s.bytes().map(|b| format!("={b:02X}")).collect()
}

#[test]
fn android_21_quoted_printable_utf8_and_latin1_with_soft_breaks() {
    let fn_qp = qp("Jürgen Müller – Ärztin");
    let (a, b) = fn_qp.split_at(30); // a soft break in the middle, continuation not indented
    let card = format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\n\
         N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{};{};;;\r\n\
         FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{a}=\r\n{b}\r\n\
         NOTE;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Fran=E7oise=\r\n d=E9j=E0 vu\r\n\
         ADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;{};M=C3=BCnchen;;80331;Deutschland\r\n\
         TEL;CELL;PREF:+49 170 1234567\r\n\
         END:VCARD\r\n",
        qp("Müller"),
        qp("Jürgen"),
        qp("Straße 1"),
    );
    let (c, warnings) = one(card);
    assert_eq!(c.family.as_deref(), Some("Müller"));
    assert_eq!(c.given.as_deref(), Some("Jürgen"));
    assert_eq!(c.formatted_name.as_deref(), Some("Jürgen Müller – Ärztin"));
    assert_eq!(c.notes, vec!["Françoise déjà vu".to_string()]);
    let adr = &c.addresses[0];
    assert_eq!(adr.street.as_deref(), Some("Straße 1"));
    assert_eq!(adr.city.as_deref(), Some("München"));
    assert_eq!(adr.postal_code.as_deref(), Some("80331"));
    assert_eq!(adr.country.as_deref(), Some("Deutschland"));
    assert_eq!(adr.place, Some(Place::Home));
    assert_eq!(c.phones.len(), 1);
    assert_eq!(c.phones[0].kind, PhoneKind::Mobile);
    assert!(c.phones[0].preferred);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn quoted_printable_without_charset_holding_utf8_is_not_mojibake() {
    let card = format!(
        "BEGIN:VCARD\nVERSION:2.1\nFN;ENCODING=QUOTED-PRINTABLE:{}\nN;QUOTED-PRINTABLE:{};Zo=C3=AB\nEND:VCARD\n",
        qp("Zoë Ærø"),
        qp("Ærø")
    );
    let (c, _) = one(card);
    assert_eq!(c.formatted_name.as_deref(), Some("Zoë Ærø"));
    assert_eq!(c.family.as_deref(), Some("Ærø"));
    assert_eq!(c.given.as_deref(), Some("Zoë"));
    // Latin-1 bytes without CHARSET stay Latin-1 (calcard's default).
    let (c, _) = one("BEGIN:VCARD\nVERSION:2.1\nFN;ENCODING=QUOTED-PRINTABLE:Fran=E7ois\nEND:VCARD\n");
    assert_eq!(c.formatted_name.as_deref(), Some("François"));
}

#[test]
fn bare_params_folded_base64_photo_blank_line_and_android_nickname() {
    let jpeg = fake_jpeg();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&jpeg);
    let folded: Vec<&str> = b64.as_bytes().chunks(72).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let card = format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John;;;\r\n\
         TEL;CELL;PREF:+33612345678\r\nTEL;WORK;FAX:+33199999999\r\nTEL;HOME;VOICE:+33122222222\r\n\
         TEL;PAGER:123\r\nEMAIL;PREF;INTERNET:john@example.com\r\nEMAIL;WORK:jd@work.example\r\n\
         PHOTO;ENCODING=BASE64;JPEG:{}\r\n\r\n\
         X-ANDROID-CUSTOM:vnd.android.cursor.item/nickname;Jojo;1;;;;;;;;;;;;;\r\n\
         X-ANDROID-CUSTOM:vnd.android.cursor.item/contact_event;2001-01-01;0;Party;;;;;;;;;;;;\r\n\
         END:VCARD\r\n",
        folded.join("\r\n ")
    );
    let (c, _) = one(card);
    let kinds: Vec<(&str, PhoneKind, Option<Place>, bool)> =
        c.phones.iter().map(|p| (p.value.as_str(), p.kind, p.place, p.preferred)).collect();
    assert_eq!(
        kinds,
        vec![
            ("+33612345678", PhoneKind::Mobile, None, true),
            ("+33199999999", PhoneKind::Fax, Some(Place::Work), false),
            ("+33122222222", PhoneKind::Voice, Some(Place::Home), false),
            ("123", PhoneKind::Pager, None, false),
        ]
    );
    assert_eq!(c.emails[0].value, "john@example.com");
    assert!(c.emails[0].preferred);
    assert_eq!(c.emails[1].place, Some(Place::Work));
    assert!(!c.emails[1].preferred);
    match &c.photo {
        Some(Photo::Inline { bytes, media_type }) => {
            assert_eq!(bytes, &jpeg);
            assert_eq!(media_type.as_deref(), Some("image/jpeg"));
        }
        other => panic!("photo: {other:?}"),
    }
    assert_eq!(c.nickname.as_deref(), Some("Jojo"));
    let custom = extra(&c, "X-ANDROID-CUSTOM");
    assert_eq!(custom.len(), 1, "{:?}", c.extra);
    assert!(custom[0].starts_with("vnd.android.cursor.item/contact_event;2001-01-01"));
}

#[test]
fn ios_30_groups_and_apple_labels() {
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 16.0//EN\r\n\
        N:Appleseed;Johnny;;;\r\nFN:Johnny Appleseed\r\nORG:Acme Inc.;Sales;EMEA\r\nTITLE:Boss\r\n\
        item1.EMAIL;type=INTERNET;type=pref:johnny@example.com\r\nitem1.X-ABLabel:_$!<Other>!$_\r\n\
        item2.EMAIL;type=INTERNET:j@club.example\r\nitem2.X-ABLabel:Club\r\n\
        item3.TEL:+1 555 0100\r\nitem3.X-ABLabel:_$!<Mobile>!$_\r\n\
        item4.TEL:+1 555 0101\r\nitem4.X-ABLabel:iPhone\r\n\
        item5.TEL;type=HOME:+1 555 0102\r\nitem5.X-ABLabel:_$!<HomeFAX>!$_\r\n\
        item6.URL;type=pref:https://example.com\r\nitem6.X-ABLabel:_$!<HomePage>!$_\r\n\
        item7.X-ABLabel:Orphan label\r\nitem7.X-ABDATE:2010-05-05\r\n\
        X-ABShowAs:COMPANY\r\nBDAY;value=date:1975-02-24\r\nNOTE:Line one\\nLine two\\, with comma\r\n\
        END:VCARD\r\n";
    let (c, warnings) = one(card);
    assert_eq!(c.organization.as_deref(), Some("Acme Inc."));
    // Two units below the company: both carried in the one department, and the report says so.
    assert_eq!(c.department.as_deref(), Some("Sales, EMEA"));
    assert!(warnings.len() == 1 && warnings[0].contains("ORG units"), "{warnings:?}");
    assert_eq!(c.title.as_deref(), Some("Boss"));
    assert_eq!(c.emails[0].place, Some(Place::Other));
    assert_eq!(c.emails[0].label, None);
    assert!(c.emails[0].preferred);
    assert_eq!(c.emails[1].label.as_deref(), Some("Club"));
    assert_eq!(c.phones[0].kind, PhoneKind::Mobile);
    assert_eq!(c.phones[0].label, None);
    assert_eq!(c.phones[1].kind, PhoneKind::Mobile);
    assert_eq!((c.phones[2].kind, c.phones[2].place), (PhoneKind::Fax, Some(Place::Home)));
    assert_eq!(c.urls[0].value, "https://example.com");
    assert_eq!(c.urls[0].label.as_deref(), Some("HomePage"));
    assert_eq!(c.birthday, Some(PartialDate { year: Some(1975), month: Some(2), day: Some(24) }));
    assert_eq!(c.notes, vec!["Line one\nLine two, with comma".to_string()]);
    assert_eq!(extra(&c, "X-ABLabel"), vec!["Orphan label"]);
    assert_eq!(extra(&c, "X-ABDATE"), vec!["2010-05-05"]);
    assert!(extra(&c, "X-ABShowAs").is_empty());
    assert!(extra(&c, "PRODID").is_empty());
}

#[test]
fn vcard_40_data_uri_photo_tel_uri_partial_birthday_and_extras() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR0123456789";
    let b64 = base64::engine::general_purpose::STANDARD.encode(png);
    let card = format!(
        "BEGIN:VCARD\nVERSION:4.0\nKIND:individual\nFN:Jane Roe\nN:Roe;Jane;;Dr.;\n\
         PHOTO:data:image/png;base64,{b64}\n\
         TEL;VALUE=uri;TYPE=\"voice,cell\";PREF=1:tel:+33-6-12-34-56-78\n\
         TEL;VALUE=uri;TYPE=work:tel:+1-555-0100;ext=12\n\
         BDAY:--0415\nANNIVERSARY:20090808T1430-0500\nGENDER:F\nIMPP;PREF=1:xmpp:jane@example.com\n\
         CATEGORIES:friends,work\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\n\
         X-ORANGE-MARITALSTATUS:2\nREV:20240101T000000Z\nEND:VCARD\n"
    );
    let (c, _) = one(card);
    assert_eq!(c.prefix.as_deref(), Some("Dr."));
    match &c.photo {
        Some(Photo::Inline { bytes, media_type }) => {
            assert_eq!(bytes.as_slice(), png);
            assert_eq!(media_type.as_deref(), Some("image/png"));
        }
        other => panic!("photo: {other:?}"),
    }
    assert_eq!(c.phones[0].value, "+33-6-12-34-56-78");
    assert_eq!(c.phones[0].kind, PhoneKind::Mobile);
    assert!(c.phones[0].preferred);
    assert_eq!(c.phones[1].value, "+1-555-0100;ext=12");
    assert_eq!(c.phones[1].place, Some(Place::Work));
    assert_eq!(c.birthday, Some(PartialDate { year: None, month: Some(4), day: Some(15) }));
    assert_eq!(c.categories, vec!["friends".to_string(), "work".to_string()]);
    assert_eq!(c.uid.as_deref(), Some("urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"));
    assert_eq!(c.marital_status, Some(2));
    assert_eq!(extra(&c, "ANNIVERSARY").len(), 1);
    assert_eq!(extra(&c, "GENDER"), vec!["F"]);
    assert_eq!(extra(&c, "IMPP"), vec!["xmpp:jane@example.com"]);
    assert!(extra(&c, "KIND").is_empty() && extra(&c, "REV").is_empty());
}

#[test]
fn photo_forms_uri_invalid_base64_and_unlabelled_base64() {
    let (c, _) =
        one("BEGIN:VCARD\nVERSION:3.0\nFN:A\nPHOTO;VALUE=uri:https://example.com/a.jpg\nEND:VCARD\n");
    assert_eq!(c.photo, Some(Photo::Uri("https://example.com/a.jpg".into())));
    let (c, _) =
        one("BEGIN:VCARD\nVERSION:3.0\nFN:A\nPHOTO;ENCODING=b;TYPE=JPEG:@@@not base64@@@\nEND:VCARD\n");
    assert!(matches!(c.photo, Some(Photo::Unreadable(_))), "{:?}", c.photo);
    // Thunderbird: base64 with no ENCODING param at all.
    let b64 = base64::engine::general_purpose::STANDARD.encode(fake_jpeg());
    let (c, _) = one(format!("BEGIN:VCARD\nVERSION:3.0\nFN:A\nPHOTO:{b64}\nEND:VCARD\n"));
    assert!(matches!(&c.photo, Some(Photo::Inline { bytes, .. }) if *bytes == fake_jpeg()));
}

#[test]
fn birthday_text_that_is_no_date_is_kept_as_text() {
    let (c, _) = one("BEGIN:VCARD\nVERSION:3.0\nFN:A\nBDAY:sometime in spring\nEND:VCARD\n");
    assert_eq!(c.birthday, None);
    assert_eq!(c.birthday_text.as_deref(), Some("sometime in spring"));
}

#[test]
fn missing_end_is_recovered_and_the_next_card_kept() {
    let records = read(
        "BEGIN:VCARD\nVERSION:3.0\nFN:First\nTEL:1\nBEGIN:VCARD\nVERSION:3.0\nFN:Second\nEND:VCARD\n\
         BEGIN:VCARD\nVERSION:3.0\nFN:Third\n",
    );
    let names: Vec<String> = records.iter().map(|r| r.contact.as_ref().unwrap().display_name()).collect();
    assert_eq!(names, ["First", "Second", "Third"]);
    let sources: Vec<&str> = records.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(sources, ["t.vcf#1", "t.vcf#2", "t.vcf#3"]);
    assert_eq!(records[0].contact.as_ref().unwrap().phones[0].value, "1");
    assert!(records[0].warnings.iter().any(|w| w.contains("no END:VCARD") && w.contains("line 5")));
    assert!(records[1].warnings.is_empty(), "{:?}", records[1].warnings);
    assert!(records[2].warnings.iter().any(|w| w.contains("no END:VCARD") && w.contains("file ends")));
}

#[test]
fn text_outside_cards_is_reported_on_the_next_or_last_card() {
    let records = read(
        "junk before\nBEGIN:VCARD\nFN:A\nEND:VCARD\n\nstray 1\nstray 2\nbegin:vcard\nFN:B\nend:vcard\ntrailer\n",
    );
    assert_eq!(records.len(), 2);
    assert!(records[0].warnings.iter().any(|w| w.contains("line 1") && w.contains("junk before")));
    let w1 = records[1].warnings.join(" | ");
    assert!(w1.contains("lines 6-7") && w1.contains("stray 1"), "{w1}");
    assert!(w1.contains("trailer"), "{w1}");
}

#[test]
fn a_file_without_any_card_is_one_error_naming_it() {
    let records = read("VERSION:3.0\nFN:Nobody\nEND:VCARD\n");
    assert_eq!(records.len(), 1);
    let err = records[0].contact.as_ref().unwrap_err();
    assert!(err.contains("t.vcf") && err.contains("no vCard"), "{err}");
    // Empty input (or a BOM alone) has no records at all.
    assert!(read("").is_empty());
    assert!(read("\u{feff}\r\n").is_empty());
}

#[test]
fn nul_bytes_are_removed() {
    let (c, warnings) = one(&b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ab\0c\0\r\nEND:VCARD\r\n"[..]);
    assert_eq!(c.formatted_name.as_deref(), Some("Abc"));
    assert!(warnings.iter().any(|w| w.contains("NUL")), "{warnings:?}");
}

#[test]
fn nested_agent_card_does_not_end_the_outer_card() {
    let records = read(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Outer;Olga\r\nAGENT:BEGIN:VCARD\r\nVERSION:2.1\r\nN:Inner;Igor\r\n\
         FN:Igor Inner\r\nEND:VCARD\r\nTEL:444\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:2.1\r\nFN:Next\r\nEND:VCARD\r\n",
    );
    assert_eq!(records.len(), 2, "{records:#?}");
    let outer = records[0].contact.as_ref().unwrap();
    assert_eq!(outer.family.as_deref(), Some("Outer"));
    assert_eq!(outer.phones[0].value, "444");
    assert_eq!(extra(outer, "AGENT"), vec!["nested vCard: Igor Inner"]);
    assert!(records[0].warnings.iter().any(|w| w.contains("lines 4-8") && w.contains("AGENT")));
    assert_eq!(records[1].contact.as_ref().unwrap().display_name(), "Next");
    // 3.0: the nested card folded into the AGENT value is an ordinary property.
    let (c, _) = one(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Boss\nAGENT:BEGIN:VCARD\n VERSION:3.0\n FN:Assistant\n END:VCARD\nTEL:1\nEND:VCARD\n",
    );
    assert_eq!(c.phones[0].value, "1");
    assert_eq!(extra(&c, "AGENT").len(), 1);
}

#[test]
fn bom_crlf_and_lf_read_the_same() {
    let lf = "BEGIN:VCARD\nVERSION:3.0\nN:Doe;Jane\nFN:Jane Doe\nEMAIL;TYPE=home:j@example.com\nNOTE:a\n  folded note\nEND:VCARD\n";
    let crlf = format!("\u{feff}{}", lf.replace('\n', "\r\n"));
    let (a, _) = one(lf);
    let (b, _) = one(crlf);
    assert_eq!(a, b);
    assert_eq!(a.notes, vec!["a folded note".to_string()]);
    // Whitespace after BEGIN/END and lower case (ical4j_whitespace_after_begin.vcf).
    let (c, _) = one("BEGIN:VCARD \nFN:Dirk\nEnd:vCard \n");
    assert_eq!(c.formatted_name.as_deref(), Some("Dirk"));
}

#[test]
fn concatenated_files_with_boms_and_classic_mac_line_ends() {
    let records =
        read("\u{feff}BEGIN:VCARD\r\nFN:One\r\nEND:VCARD\r\n\u{feff}BEGIN:VCARD\r\nFN:Two\r\nEND:VCARD\r\n");
    let names: Vec<String> = records.iter().map(|r| r.contact.as_ref().unwrap().display_name()).collect();
    assert_eq!(names, ["One", "Two"]);
    assert!(records.iter().all(|r| r.warnings.is_empty()));
    let records = read(
        "BEGIN:VCARD\rVERSION:3.0\rFN:Mac\rNOTE:folded\r  note\rEND:VCARD\rBEGIN:VCARD\rFN:Two\rEND:VCARD\r",
    );
    assert_eq!(records.len(), 2);
    let c = records[0].contact.as_ref().unwrap();
    assert_eq!(c.formatted_name.as_deref(), Some("Mac"));
    assert_eq!(c.notes, vec!["folded note".to_string()]);
}

#[test]
fn windows_1252_file_is_decoded_per_line_with_a_warning() {
    let (c, warnings) = one(&b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:M\xfcller;Fran\xe7oise\r\nFN:Fran\xe7oise M\xfcller\r\nNOTE:caf\xc3\xa9\r\nEND:VCARD\r\n"[..]);
    assert_eq!(c.formatted_name.as_deref(), Some("Françoise Müller"));
    assert_eq!(c.family.as_deref(), Some("Müller"));
    // The UTF-8 line of the same file stays UTF-8.
    assert_eq!(c.notes, vec!["café".to_string()]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("lines 3, 4") && warnings[0].contains("windows-1252"), "{warnings:?}");
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut units: Vec<u16> = Vec::new();
    if bom {
        units.push(0xFEFF);
    }
    units.extend(text.encode_utf16());
    units.iter().flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() }).collect()
}

#[test]
fn utf16_files_with_and_without_bom() {
    let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Ľudovít;Zoë\r\nFN:Zoë Ľudovít 東京\r\nEND:VCARD\r\n";
    for (be, bom) in [(false, true), (true, true), (false, false), (true, false)] {
        let (c, warnings) = one(utf16(text, be, bom));
        assert_eq!(c.formatted_name.as_deref(), Some("Zoë Ľudovít 東京"), "be={be} bom={bom}");
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}

#[test]
fn shift_jis_21_raw_and_quoted_printable() {
    let (name, _, _) = encoding_rs::SHIFT_JIS.encode("山田;太郎");
    let (adr, _, _) = encoding_rs::SHIFT_JIS.encode("東京都渋谷区");
    let mut card = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=SHIFT_JIS:".to_vec();
    card.extend_from_slice(&name);
    card.extend_from_slice(b"\r\nADR;HOME;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:;;");
    card.extend(adr.iter().flat_map(|b| format!("={b:02X}").into_bytes()));
    card.extend_from_slice(b";;;;\r\nEND:VCARD\r\n");
    let (c, warnings) = one(card);
    assert_eq!(c.family.as_deref(), Some("山田"));
    assert_eq!(c.given.as_deref(), Some("太郎"));
    assert_eq!(c.addresses[0].street.as_deref(), Some("東京都渋谷区"));
    assert!(warnings.is_empty(), "declared charsets need no warning: {warnings:?}");
}

#[test]
fn invalid_utf8_in_utf8_quoted_printable_goes_to_extra() {
    let (c, warnings) =
        one("BEGIN:VCARD\nVERSION:2.1\nFN:Ok\nNOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:bad =C3=28 bytes\nEND:VCARD\n");
    assert!(c.notes.is_empty());
    assert_eq!(extra(&c, "NOTE").len(), 1);
    assert!(warnings.iter().any(|w| w.contains("NOTE")), "{warnings:?}");
}

/// Yields the input a few bytes at a time (short reads must not change anything).
struct Trickle {
    data: Vec<u8>,
    pos: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn short_reads_give_the_same_records() {
    let path = common::corpus("vcard21/ezvcard_John_Doe_ANDROID.vcf");
    let data = std::fs::read(&path).unwrap();
    let whole: Vec<Record> = VcardReader::new(Cursor::new(data.clone()), "x".into()).collect();
    let trickled: Vec<Record> = VcardReader::new(Trickle { data, pos: 0 }, "x".into()).collect();
    assert!(whole.len() >= 6);
    assert_eq!(format!("{whole:?}"), format!("{trickled:?}"));
}

/// Generates `cards` cards on the fly (never holding the stream), counting bytes handed out.
struct CardGenerator {
    next: usize,
    cards: usize,
    pending: Vec<u8>,
    pos: usize,
    produced: Arc<AtomicUsize>,
}

const PHOTO_EVERY: usize = 100;

fn generated_card(i: usize) -> String {
    let mut card = format!(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{};Jos=C3=A9{i};;;\r\n\
         FN:José{i} Müller\r\nTEL;CELL;PREF:+33 6 12 {:02} {:02} {:02}\r\nEMAIL;HOME:jose{i}@example.com\r\n\
         item1.URL:https://example.com/{i}\r\nitem1.X-ABLabel:_$!<HomePage>!$_\r\nNOTE:{}\r\n",
        qp("Müller"),
        i % 100,
        i / 100 % 100,
        i / 10000 % 100,
        "lorem ipsum ".repeat(8),
    );
    if i.is_multiple_of(PHOTO_EVERY) {
        let photo = base64::engine::general_purpose::STANDARD.encode(vec![0x5Au8; 6000]);
        card.push_str("PHOTO;ENCODING=BASE64;JPEG:");
        for chunk in photo.as_bytes().chunks(76) {
            card.push_str(std::str::from_utf8(chunk).unwrap());
            card.push_str("\r\n ");
        }
        card.push_str("\r\n\r\n");
    }
    card.push_str("END:VCARD\r\n");
    card
}

impl Read for CardGenerator {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.pending.len() {
            if self.next == self.cards {
                return Ok(0);
            }
            self.pending = generated_card(self.next).into_bytes();
            self.pos = 0;
            self.next += 1;
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        self.produced.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }
}

/// About 30 MB of cards read through the reader: every card comes out, and the reader never
/// reads further ahead than its fixed buffers (64 KB sniff + 64 KB BufReader), one parse batch
/// (256 KB of cards) and the card being cut, so memory stays bounded whatever the file size.
#[test]
fn streams_30_mb_in_bounded_memory() {
    let cards = 65_000;
    let total: usize = (0..cards).map(|i| generated_card(i).len()).sum();
    assert!(total > 28_000_000, "generated {total} bytes");
    let produced = Arc::new(AtomicUsize::new(0));
    let gen = CardGenerator { next: 0, cards, pending: Vec::new(), pos: 0, produced: produced.clone() };
    let reader = VcardReader::new(gen, "big.vcf".into());
    let mut consumed = 0usize; // bytes of the cards already returned
    let mut max_ahead = 0usize;
    let mut count = 0usize;
    for (i, record) in reader.enumerate() {
        let c = record.contact.unwrap_or_else(|e| panic!("card {i}: {e}"));
        assert_eq!(c.given.as_deref(), Some(format!("José{i}").as_str()));
        assert_eq!(c.family.as_deref(), Some("Müller"));
        assert_eq!(c.photo.is_some(), i.is_multiple_of(PHOTO_EVERY));
        assert_eq!(record.source, format!("big.vcf#{}", i + 1));
        consumed += generated_card(i).len();
        let ahead = produced.load(Ordering::Relaxed) - consumed;
        max_ahead = max_ahead.max(ahead);
        count += 1;
    }
    assert_eq!(count, cards);
    assert_eq!(produced.load(Ordering::Relaxed), total);
    // 64 KB sniff prefix + 64 KB read buffer + one batch + the cards around it.
    let bound = 64 * 1024 + 64 * 1024 + 256 * 1024 + 2 * 16 * 1024;
    assert!(max_ahead <= bound, "read {max_ahead} bytes ahead of the cards returned (bound {bound})");
}

#[test]
fn chunks_parsed_on_other_threads_give_the_same_records_in_the_same_order() {
    let mut data = std::fs::read(common::corpus("vcard30/folkerkinzel_largefile_1000_cards.vcf")).unwrap();
    for i in 0..3000 {
        data.extend_from_slice(generated_card(i).as_bytes());
        if i % 500 == 0 {
            data.extend_from_slice(b"stray text between cards\r\n");
        }
    }
    let one: Vec<Record> = VcardReader::new(Cursor::new(data.clone()), "p".into()).collect();
    // The import's way: chunks cut on one thread, parsed on others, finishing in any order.
    let mut reader = VcardReader::new(Cursor::new(data), "p".into());
    let chunks: Vec<_> = std::iter::from_fn(|| reader.cut_chunk()).collect();
    assert!(chunks.len() > 4, "{} chunks", chunks.len());
    let parsed: Vec<Vec<Record>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks.into_iter().rev().map(|c| scope.spawn(move || c.parse())).collect();
        let mut parsed: Vec<Vec<Record>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        parsed.reverse();
        parsed
    });
    let chunked: Vec<Record> = parsed.into_iter().flatten().collect();
    assert_eq!(one.len(), 4000);
    assert_eq!(format!("{one:?}"), format!("{chunked:?}"));
    assert_eq!(chunked[3999].source, "p#4000");
    assert!(chunked[1001].warnings.iter().any(|w| w.contains("stray text")));
}

fn corpus_files(folder: &str) -> Vec<PathBuf> {
    let dir = common::corpus_dir().join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("vcf" | "vcard")))
        .collect();
    files.sort();
    files
}

fn read_file(path: &Path) -> Vec<Record> {
    read_path(path, Format::Auto).unwrap_or_else(|e| panic!("{}: {e:#}", path.display())).collect()
}

#[test]
fn corpus_well_formed_folders_read_every_file() {
    for folder in ["vcard21", "vcard30", "vcard40"] {
        let files = corpus_files(folder);
        assert!(files.len() >= 10, "{folder}: {} files", files.len());
        for path in files {
            let reader = read_path(&path, Format::Auto).unwrap();
            assert_eq!(reader.format, Format::Vcard, "{}", path.display());
            let records: Vec<Record> = reader.collect();
            assert!(!records.is_empty(), "{}: no record", path.display());
            for r in &records {
                assert!(r.contact.is_ok(), "{}: {:?}", r.source, r.contact);
                assert!(r.source.starts_with(&path.display().to_string()), "{}", r.source);
            }
        }
    }
}

#[test]
fn corpus_malformed_folder_never_panics_and_fails_only_cardless_files() {
    let files = corpus_files("malformed");
    assert!(files.len() >= 30);
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let records = read_file(&path);
        let errors: Vec<&String> = records.iter().filter_map(|r| r.contact.as_ref().err()).collect();
        match name.as_str() {
            "eds_vcard_7.vcf" | "monica_broken_vcard_stub.vcard" => {
                assert_eq!(records.len(), 1, "{name}");
                assert!(errors.len() == 1 && errors[0].contains(&name), "{name}: {errors:?}");
            }
            "folkerkinzel_empty_bom_only.vcf" => assert!(records.is_empty(), "{name}"),
            _ => {
                assert!(!records.is_empty(), "{name}: no record");
                assert!(errors.is_empty(), "{name}: {errors:?}");
            }
        }
    }
}

fn names_of(rel: &str) -> Vec<String> {
    read_file(&common::corpus(rel)).iter().map(|r| r.contact.as_ref().unwrap().display_name()).collect()
}

#[test]
fn corpus_files_decode_to_the_right_names() {
    // Raw Shift_JIS lines (CHARSET=SHIFT_JIS, no encoding) and QP Shift_JIS address.
    let records = read_file(&common::corpus("malformed/aosp_v21_japanese_2.vcf"));
    let c = records[0].contact.as_ref().unwrap();
    assert_eq!(c.formatted_name.as_deref(), Some("安藤 ロイド 1"));
    assert_eq!((c.family.as_deref(), c.given.as_deref()), (Some("安藤"), Some("ロイド1")));
    assert_eq!(c.addresses[0].extended.as_deref(), Some("東京都渋谷区桜丘町26-1セルリアンタワー6階"));
    assert_eq!(c.notes, vec!["メモ".to_string()]);
    // UTF-16BE without BOM.
    assert_eq!(names_of("malformed/roundcube_utf-16be_sample.vcf"), ["Ǽgean ĽdaMonté"]);
    // UTF-16LE with BOM.
    assert_eq!(names_of("malformed/folkerkinzel_v3_utf16le_bom.vcf"), ["Folker Kinzel", "KMS Außenstelle"]);
    // A fold that splits a UTF-8 sequence.
    let greek = names_of("vcard30/kcontacts_vcard9.vcf");
    assert!(greek[0].starts_with("βγδεαβγδ1βγδεαβγδ1"), "{greek:?}");
    assert!(!greek[0].contains('\u{fffd}'));
    // Raw windows-1252 byte on lines that declare CHARSET=windows-1252 (so no warning).
    let records = read_file(&common::corpus("malformed/roundcube_johndoe_windows-1252.vcf"));
    assert_eq!(records[0].contact.as_ref().unwrap().display_name(), "John Doë");
    assert!(records[0].warnings.is_empty(), "{:?}", records[0].warnings);
    // Raw Latin-1 bytes without any CHARSET: decoded, with a warning naming the lines.
    let records = read_file(&common::corpus("malformed/tine20_HerrFalkMuenchen.vcf"));
    assert_eq!(records[0].contact.as_ref().unwrap().display_name(), "München, Falk");
    assert!(records[0].warnings.iter().any(|w| w.starts_with("lines 3, 4") && w.contains("not UTF-8")));
    // Raw windows-1253 (Greek), guessed for the file.
    assert_eq!(names_of("malformed/folkerkinzel_greek_windows-1253.vcf"), ["Βαγγέλης"]);
    // Trailing blanks after BEGIN / END.
    assert_eq!(names_of("malformed/ical4j_whitespace_after_begin.vcf"), ["Dirk"]);
    // Nested bare BEGIN:VCARD lines (Android test file): three cards, stray lines reported.
    let records = read_file(&common::corpus("malformed/aosp_v21_nest.vcf"));
    assert_eq!(records.len(), 3);
    assert!(records[2].warnings.iter().any(|w| w.contains("TEL:1")));
    // Stray text before the first card.
    let records = read_file(&common::corpus("malformed/tine20_contacts_encoding_prefix.vcf"));
    assert_eq!(records.len(), 2);
    assert!(records[0].warnings[0].contains("ENCODING:UTF-8"));
    // Bare QUOTED-PRINTABLE param (Evolution 2.1).
    assert_eq!(names_of("vcard21/eds_vcard_5.vcf"), ["十城目管理大型知座"]);
    // 1000 cards.
    assert_eq!(names_of("vcard30/folkerkinzel_largefile_1000_cards.vcf").len(), 1000);
    // iOS: CR CR LF line ends, item groups, big photo.
    let records = read_file(&common::corpus("vcard30/ezvcard_John_Doe_IPHONE.vcf"));
    let c = records[0].contact.as_ref().unwrap();
    assert!(matches!(&c.photo, Some(Photo::Inline { media_type: Some(t), .. }) if t == "image/jpeg"));
    // 4.0 partial birthday written --04-16.
    let records = read_file(&common::corpus("vcard40/davx5_vcard4.vcf"));
    let bday = records[0].contact.as_ref().unwrap().birthday;
    assert_eq!(bday, Some(PartialDate { year: None, month: Some(4), day: Some(16) }));
}

#[test]
fn read_path_errors_name_the_file_and_auto_sniffs() {
    let err = read_path(Path::new("/nonexistent/dir/contacts.vcf"), Format::Auto).unwrap_err();
    assert!(format!("{err:#}").contains("/nonexistent/dir/contacts.vcf"), "{err:#}");
    let dir = tempfile::tempdir().unwrap();
    // Content decides, whatever the name says.
    let p = dir.path().join("contacts.txt");
    std::fs::write(&p, "\u{feff}\r\n  BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n").unwrap();
    let r = read_path(&p, Format::Auto).unwrap();
    assert_eq!(r.format, Format::Vcard);
    assert_eq!(r.collect::<Vec<_>>().len(), 1);
    let p = dir.path().join("contacts.txt");
    std::fs::write(&p, utf16("BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n", false, true)).unwrap();
    assert_eq!(read_path(&p, Format::Auto).unwrap().format, Format::Vcard);
    let p = dir.path().join("contacts.csv");
    std::fs::write(&p, "First Name,Last Name\nAda,Lovelace\n").unwrap();
    assert_eq!(read_path(&p, Format::Auto).unwrap().format, Format::Csv);
    // Forcing vCard on a card-less file gives the naming error record.
    let records: Vec<Record> = read_path(&p, Format::Vcard).unwrap().collect();
    assert!(records[0].contact.as_ref().unwrap_err().contains("contacts.csv"));
    // A .vcf name with stray text first is still a vCard file.
    let p = dir.path().join("x.vcf");
    std::fs::write(&p, "VERSION:3.0\nFN:No begin\n").unwrap();
    assert_eq!(read_path(&p, Format::Auto).unwrap().format, Format::Vcard);
}
