//! CSV reader against the real-world corpus (`tests/fixtures/corpus/csv/**`), the repository's sample
//! address books (`samples/*.csv`) and small hand-written files for each dialect and encoding.

use crate::common;

use std::io::{self, Read};
use std::path::Path;

use orange_contacts::formats::csv::{CsvReader, Dialect};
use orange_contacts::formats::Record;
use orange_contacts::model::{Contact, PartialDate, PhoneKind, Photo, Place};

fn read_bytes(bytes: impl Into<Vec<u8>>, name: &str) -> Vec<Record> {
    CsvReader::new(io::Cursor::new(bytes.into()), name.to_string()).expect("reader").collect()
}

fn read_file(path: &Path) -> (Dialect, Vec<Record>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let reader = CsvReader::new(file, name).expect("reader");
    let dialect = reader.dialect();
    (dialect, reader.collect())
}

fn corpus(rel: &str) -> (Dialect, Vec<Record>) {
    read_file(&common::corpus(&format!("csv/{rel}")))
}

fn sample(name: &str) -> Vec<Record> {
    read_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name)).1
}

fn contact(record: &Record) -> &Contact {
    record.contact.as_ref().unwrap_or_else(|e| panic!("{}: {e}", record.source))
}

fn emails(c: &Contact) -> Vec<&str> {
    c.emails.iter().map(|e| e.value.as_str()).collect()
}

fn phones(c: &Contact) -> Vec<(&str, PhoneKind, Option<Place>)> {
    c.phones.iter().map(|p| (p.value.as_str(), p.kind, p.place)).collect()
}

fn date(year: Option<u16>, month: u8, day: u8) -> Option<PartialDate> {
    Some(PartialDate { year, month: Some(month), day: Some(day) })
}

fn extra<'a>(c: &'a Contact, field: &str) -> Option<&'a str> {
    c.extra.iter().find(|x| x.field == field).map(|x| x.value.as_str())
}

/// Records per corpus file, counted by hand from the files (data rows, multi-line cells
/// included, blank lines excluded); `true` when every record is an error (no usable header).
const CORPUS: &[(&str, usize, bool)] = &[
    ("google/folkerkinzel_google_legacy_full.csv", 1, false),
    ("google/rolomind_google_current_subset.csv", 4, false),
    ("google/roundcube_gmail_legacy.csv", 1, false),
    ("google/tine20_google_contacts_legacy.csv", 5, false),
    ("outlook/folkerkinzel_google_outlook_csv_export.csv", 1, false),
    ("outlook/folkerkinzel_outlook365_sample.csv", 6, false),
    ("outlook/folkerkinzel_outlook365_web.csv", 1, false),
    ("outlook/tine20_outlook2007_de_replacement_chars.csv", 2, false),
    ("outlook/tine20_outlook2013_de_win1252.csv", 2, false),
    ("other/folkerkinzel_thunderbird_de_ansi.csv", 1, false),
    ("other/folkerkinzel_windows_live_mail_de.csv", 1, false),
    ("other/monica_single_contact_ragged.csv", 1, false),
    ("other/rolomind_linkedin_connections.csv", 5, false),
    ("other/roundcube_all_fields_bom.csv", 1, false),
    ("other/roundcube_thunderbird_plain.csv", 1, false),
    ("other/thunderbird_csv_no_header.csv", 2, true),
    ("other/thunderbird_export.csv", 2, false),
    ("other/thunderbird_quote.csv", 1, false),
    ("other/thunderbird_shiftjis_addressbook.csv", 1, false),
    ("other/thunderbird_tab_comma_mixed.csv", 4, true),
    ("other/thunderbird_utf16le_bom_addressbook.csv", 1, false),
    ("other/tine20_mac_addressbook_de.tsv.csv", 1, false),
    ("other/tine20_win1252_semicolon.csv", 4, false),
];

#[test]
fn every_corpus_file_reads_with_the_expected_record_count() {
    let root = common::corpus_dir().join("csv");
    let mut seen = 0;
    for dir in ["google", "outlook", "other"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let rel = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            let Some(&(_, count, all_errors)) = CORPUS.iter().find(|(f, _, _)| *f == rel) else {
                panic!("corpus file {rel} has no expected count in this test: add it");
            };
            let (_, records) = read_file(&path);
            assert_eq!(records.len(), count, "{rel}");
            for r in &records {
                assert_eq!(r.contact.is_err(), all_errors, "{rel}: {} {:?}", r.source, r.contact);
                assert!(r.source.contains(".csv:"), "{}", r.source);
            }
            seen += 1;
        }
    }
    assert_eq!(seen, CORPUS.len());
}

#[test]
fn google_legacy_full_export() {
    let (dialect, records) = corpus("google/folkerkinzel_google_legacy_full.csv");
    assert_eq!(dialect, Dialect::GoogleLegacy);
    let c = contact(&records[0]);
    assert_eq!(records[0].source, "folkerkinzel_google_legacy_full.csv:2");
    assert_eq!(c.formatted_name.as_deref(), Some("Dr. Max Middle Name Mustermann jr."));
    assert_eq!((c.given.as_deref(), c.family.as_deref()), (Some("Max"), Some("Mustermann")));
    assert_eq!((c.prefix.as_deref(), c.suffix.as_deref()), (Some("Dr."), Some("jr.")));
    assert_eq!(c.birthday, date(Some(1972), 1, 31));
    // ` ::: ` cells become several emails; `* Home` marks the primary one.
    assert_eq!(c.emails.len(), 11);
    let primary: Vec<_> = c.emails.iter().filter(|e| e.preferred).map(|e| e.value.as_str()).collect();
    assert_eq!(primary, ["privat@folker-kinzel.de"]);
    assert!(emails(c).contains(&"business2@folker.de"));
    assert!(phones(c).contains(&("Handy", PhoneKind::Mobile, None)));
    assert!(phones(c).contains(&("Fax privat", PhoneKind::Fax, Some(Place::Home))));
    assert_eq!(c.categories, ["Importiert am 29.3."], "the `* myContacts` system group is not a category");
    assert!(c.notes[0].starts_with("Kommentar ÄÄÄ"));
    assert_eq!(c.addresses.len(), 3);
    let work = c.addresses.iter().find(|a| a.place == Some(Place::Work)).unwrap();
    assert_eq!((work.street.as_deref(), work.city.as_deref()), (Some("Eisenbahnstraße"), Some("Leipzig")));
    assert_eq!(extra(c, "Relation (Spouse)"), Some("Petra"));
}

#[test]
fn google_legacy_roundcube_and_tine20() {
    let (_, records) = corpus("google/roundcube_gmail_legacy.csv");
    let c = contact(&records[0]);
    assert_eq!(c.notes, ["note\"note"]);
    assert_eq!(c.categories, ["Test"]);
    assert_eq!(
        phones(c),
        [
            ("pager", PhoneKind::Pager, None),
            ("mainphone", PhoneKind::Voice, None),
            ("homephone", PhoneKind::Voice, Some(Place::Home)),
            ("homefax", PhoneKind::Fax, Some(Place::Home)),
            ("mobile", PhoneKind::Mobile, None),
            ("workphone", PhoneKind::Voice, Some(Place::Work)),
            ("workfax", PhoneKind::Fax, Some(Place::Work)),
        ]
    );
    assert!(c.emails[0].preferred && c.emails[0].place == Some(Place::Home));

    let (_, records) = corpus("google/tine20_google_contacts_legacy.csv");
    let lines: Vec<&str> = records.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(
        lines,
        [
            "tine20_google_contacts_legacy.csv:2",
            "tine20_google_contacts_legacy.csv:3",
            "tine20_google_contacts_legacy.csv:4",
            "tine20_google_contacts_legacy.csv:5",
            "tine20_google_contacts_legacy.csv:6",
        ]
    );
    let axel = contact(&records[3]);
    assert_eq!(axel.categories, ["kunden"]);
    assert_eq!(emails(axel), ["abc@here.de"]);
}

#[test]
fn google_current_subset() {
    let (dialect, records) = corpus("google/rolomind_google_current_subset.csv");
    assert_eq!(dialect, Dialect::GoogleCurrent);
    let john = contact(&records[0]);
    assert_eq!((john.given.as_deref(), john.family.as_deref()), (Some("John"), Some("Doe")));
    assert_eq!((john.organization.as_deref(), john.title.as_deref()), (Some("Acme Corp"), Some("CEO")));
    assert_eq!(phones(john), [("+1-555-0123", PhoneKind::Voice, Some(Place::Work))]);
    // Only a formatted address: kept whole as the street.
    assert_eq!(john.addresses[0].street.as_deref(), Some("123 Main St, San Francisco, CA"));
    let alice = contact(&records[3]);
    assert_eq!(phones(alice), [("+1-555-0125", PhoneKind::Mobile, None)]);
}

#[test]
fn outlook_desktop_sample_from_microsoft() {
    let (dialect, records) = corpus("outlook/folkerkinzel_outlook365_sample.csv");
    assert_eq!(dialect, Dialect::Outlook);
    assert!(records[0].warnings.iter().any(|w| w.contains("windows-1252")), "{:?}", records[0].warnings);
    let anita = contact(&records[0]);
    assert_eq!(anita.birthday, date(Some(1981), 1, 20), "US M/D/Y");
    assert_eq!(emails(anita), ["Anita@contoso.com"]);
    assert_eq!(extra(anita, "Anniversary"), Some("6/3/2005"));
    let max = contact(&records[5]);
    assert_eq!(max.prefix.as_deref(), Some("Dr."), "Outlook's Title is the name prefix");
    assert_eq!(max.title.as_deref(), Some("Chef"));
    let other = max.addresses.iter().find(|a| a.place == Some(Place::Other)).unwrap();
    assert_eq!(other.region.as_deref(), Some("Thüringen"));
    assert_eq!(other.street.as_deref(), Some("Eichenweg, 76a, EG"));
}

#[test]
fn german_outlook_exports() {
    let (_, records) = corpus("outlook/tine20_outlook2013_de_win1252.csv");
    assert_eq!(records[1].source, "tine20_outlook2013_de_win1252.csv:4", "row 1 spans two lines");
    let weiss = contact(&records[1]);
    assert_eq!(weiss.family.as_deref(), Some("Weiß"));
    assert_eq!(
        phones(weiss),
        [
            ("040 6432131545", PhoneKind::Voice, Some(Place::Work)),
            ("040 6432131545", PhoneKind::Voice, Some(Place::Home)),
            ("0176 164321545", PhoneKind::Mobile, None),
        ]
    );
    // `0.0.00`, `Normal`, `Aus`, `Keine Angabe` are Outlook's "unset": neither dates nor extras.
    assert_eq!((weiss.birthday, weiss.birthday_text.as_deref()), (None, None));
    assert!(weiss.extra.iter().all(|x| x.field == "Initialen"), "{:?}", weiss.extra);

    // Umlauts of the headers replaced by U+FFFD still match.
    let (_, records) = corpus("outlook/tine20_outlook2007_de_replacement_chars.csv");
    let c = contact(&records[1]);
    assert_eq!(emails(c), ["email@example.org"]);
    assert!(phones(c).contains(&("tel_work", PhoneKind::Voice, Some(Place::Work))));
    assert!(phones(c).contains(&("+4923782112", PhoneKind::Fax, Some(Place::Work))));
}

#[test]
fn thunderbird_exports_in_several_encodings() {
    let (dialect, records) = corpus("other/thunderbird_utf16le_bom_addressbook.csv");
    assert_eq!(dialect, Dialect::Thunderbird);
    let c = contact(&records[0]);
    assert_eq!((c.formatted_name.as_deref(), emails(c)), (Some("John Doe"), vec!["johndoe@host.invalid"]));
    assert!(records[0].warnings[0].contains("UTF-16LE"));

    let (_, records) = corpus("other/thunderbird_shiftjis_addressbook.csv");
    let c = contact(&records[0]);
    assert_eq!((c.given.as_deref(), c.family.as_deref()), (Some("権兵衛"), Some("名無し")));
    assert!(records[0].warnings[0].contains("Shift_JIS"));

    let (_, records) = corpus("other/roundcube_thunderbird_plain.csv");
    let c = contact(&records[0]);
    assert_eq!(c.birthday, date(Some(1970), 11, 15), "Birth Year / Month / Day columns");
    assert!(c.emails[0].preferred, "Primary Email");

    let (_, records) = corpus("other/folkerkinzel_thunderbird_de_ansi.csv");
    let c = contact(&records[0]);
    assert_eq!(c.birthday, date(Some(1972), 1, 31), "Geburtsjahr / Geburtsmonat / Geburtstag");
    assert_eq!(emails(c), ["privat@folker-kinzel.de", "business@folker-kinzel.de"]);
    assert_eq!(c.notes, ["Kommentar für Maxl"]);

    let (_, records) = corpus("other/thunderbird_export.csv");
    let two = contact(&records[1]);
    assert_eq!(records[1].source, "thunderbird_export.csv:3");
    assert_eq!(two.title.as_deref(), Some("\"worker\""));
    assert_eq!(two.notes, ["here's some unicode text…"]);
    assert_eq!(extra(two, "Custom 4"), Some("custom\n4"));
}

#[test]
fn headerless_files_are_errors_naming_file_and_line() {
    let (dialect, records) = corpus("other/thunderbird_csv_no_header.csv");
    assert_eq!(dialect, Dialect::Unrecognised);
    let err = records[1].contact.as_ref().unwrap_err();
    assert!(
        err.contains("thunderbird_csv_no_header.csv:2") && err.contains("no recognisable header"),
        "{err}"
    );
}

#[test]
fn headerless_file_with_thunderbird_column_count_uses_its_order() {
    let mut row = vec![""; 36];
    row[0] = "Ada";
    row[1] = "Lovelace";
    row[4] = "ada@example.org";
    row[11] = "+44 20 7946 0000";
    row[29] = "1815";
    row[30] = "12";
    row[31] = "10";
    let text = format!("{}\n{}\n", row.join(","), row.join(","));
    let records = read_bytes(text, "tb.csv");
    assert_eq!(records.len(), 2);
    let c = contact(&records[0]);
    assert_eq!(records[0].source, "tb.csv:1");
    assert_eq!((c.given.as_deref(), c.family.as_deref()), (Some("Ada"), Some("Lovelace")));
    assert_eq!(emails(c), ["ada@example.org"]);
    assert_eq!(phones(c), [("+44 20 7946 0000", PhoneKind::Mobile, None)]);
    assert_eq!(c.birthday, date(Some(1815), 12, 10));
    assert!(records[0].warnings.iter().any(|w| w.contains("no header row")));
}

#[test]
fn localised_and_generic_headers() {
    let (_, records) = corpus("other/folkerkinzel_windows_live_mail_de.csv");
    let c = contact(&records[0]);
    assert_eq!((c.given.as_deref(), c.additional.as_deref()), (Some("Max"), Some("Middle Name")));
    assert_eq!(c.notes, ["Kommentar Äöü"], "semicolon-separated, UTF-8 with BOM");

    let (_, records) = corpus("other/tine20_mac_addressbook_de.tsv.csv");
    let c = contact(&records[0]);
    assert_eq!(c.birthday, date(Some(1999), 1, 1), "tab-separated, dd.mm.yy");
    assert_eq!(c.emails[0].place, Some(Place::Work));
    assert_eq!(c.addresses[0].street.as_deref(), Some("Musterstraße 1"));

    let (dialect, records) = corpus("other/rolomind_linkedin_connections.csv");
    assert_eq!(dialect, Dialect::Generic);
    assert!(contact(&records[2]).emails.is_empty());
    assert_eq!(extra(contact(&records[0]), "Connected On"), Some("15-Jan-24"));

    let (_, records) = corpus("other/roundcube_all_fields_bom.csv");
    let c = contact(&records[0]);
    assert_eq!(c.birthday, date(Some(1991), 1, 20), "20/01/1991 cannot be M/D/Y");
    assert_eq!(c.phones.len(), 13);

    let (_, records) = corpus("other/monica_single_contact_ragged.csv");
    let c = contact(&records[0]);
    assert_eq!(c.given.as_deref(), Some("Bono"));
    assert_eq!(extra(c, "column 29"), Some("bono@example.com"), "fields past the header are reported");
    assert!(records[0].warnings.iter().any(|w| w.contains("29 fields")));
}

#[test]
fn windows_1252_semicolon_corpus_file() {
    let (_, records) = corpus("other/tine20_win1252_semicolon.csv");
    let c = contact(&records[2]);
    assert_eq!((c.given.as_deref(), c.family.as_deref()), (Some("ÖzdemirÖ"), Some("Üglü")));
    assert_eq!(emails(c), ["oezdemir@ueglue.tu"]);
}

#[test]
fn google_sample_address_book() {
    let records = sample("google-contacts.csv");
    assert_eq!(records.len(), 12);
    assert!(records.iter().all(|r| r.contact.is_ok() && r.warnings.is_empty()));
    let amelie = contact(&records[0]);
    assert_eq!(amelie.given.as_deref(), Some("Amélie"));
    assert_eq!(amelie.birthday, date(None, 9, 3), "year-less ` --09-03`");
    assert!(
        matches!(&amelie.photo, Some(Photo::Uri(u)) if u.starts_with("https://lh3.googleusercontent.com/"))
    );
    assert_eq!(amelie.categories, ["Famille"]);
    let francois = contact(&records[1]);
    assert_eq!(records[1].source, "google-contacts.csv:5", "the first record spans lines 2-4");
    assert_eq!(
        emails(francois),
        ["francois.lefevre@example.com", "f.lefevre@example.org", "francois@lefevre.example"]
    );
    assert_eq!(
        phones(francois),
        [
            ("+33 1 44 44 22 22", PhoneKind::Voice, Some(Place::Work)),
            ("+33 6 98 76 54 32", PhoneKind::Mobile, None)
        ]
    );
    assert!(francois.phones[1].preferred);
    let zoe = contact(&records[2]);
    assert_eq!(
        phones(zoe),
        [
            ("07 61 23 45 67", PhoneKind::Mobile, None),
            ("01 45 67 89 10", PhoneKind::Voice, Some(Place::Home))
        ]
    );
    let bakery = contact(&records[11]);
    assert_eq!(
        (bakery.given.as_deref(), bakery.organization.as_deref()),
        (None, Some("Boulangerie Sainte-Anne"))
    );
    assert_eq!(bakery.display_name(), "Boulangerie Sainte-Anne");
}

#[test]
fn outlook_sample_address_book() {
    let records = sample("outlook-contacts.csv");
    assert_eq!(records.len(), 10);
    let prefixes: Vec<_> = records.iter().map(|r| contact(r).prefix.clone().unwrap_or_default()).collect();
    assert_eq!(prefixes, ["Mr.", "Mrs.", "Ms.", "Miss", "Dr.", "Mr.", "Ms.", "Mr.", "Mrs.", "Mr."]);
    let john = contact(&records[0]);
    assert_eq!(john.birthday, date(Some(1980), 4, 15));
    assert_eq!(john.categories, ["Clients", "VIP"]);
    assert_eq!(john.addresses[0].street.as_deref(), Some("One Acme Way, Building 4"));
    // E-mail Type/Display Name and Outlook's defaults (0/0/00, Normal, False, Unspecified) vanish.
    assert!(john.extra.is_empty(), "{:?}", john.extra);
    let patricia = contact(&records[2]);
    assert_eq!((patricia.birthday, patricia.birthday_text.as_deref()), (None, None), "0/0/00");
    assert_eq!(patricia.emails.len(), 2);
    let emily = contact(&records[3]);
    assert_eq!(emily.notes, ["Daughter of a colleague.\nPrefers text messages."]);
    assert_eq!(records[4].source, "outlook-contacts.csv:7", "Emily's notes span two lines");
    let linda = contact(&records[8]);
    assert_eq!(linda.birthday, date(Some(1984), 2, 29));
}

const GOOGLE_LEGACY: &str = "Name,Given Name,Family Name,Birthday,Group Membership,E-mail 1 - Type,E-mail 1 - Value,\
Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value,Organization 1 - Name,Organization 1 - Title\n\
Anne Martin,Anne,Martin, --12-25,* My Contacts ::: Amis,* Home ::: Work,anne@home.example ::: anne@work.example,\
Mobile,* 06 12 34 56 78 ::: 07 00 00 00 00,Work Fax,01 23 45 67 89,Orange,Chef de projet\n";

#[test]
fn google_legacy_multi_values_and_primary_marks() {
    let records = read_bytes(GOOGLE_LEGACY, "legacy.csv");
    let c = contact(&records[0]);
    assert_eq!(c.birthday, date(None, 12, 25));
    assert_eq!(c.categories, ["Amis"]);
    let got: Vec<_> = c.emails.iter().map(|e| (e.value.as_str(), e.place, e.preferred)).collect();
    assert_eq!(
        got,
        [("anne@home.example", Some(Place::Home), true), ("anne@work.example", Some(Place::Work), false)]
    );
    let got: Vec<_> = c.phones.iter().map(|p| (p.value.as_str(), p.kind, p.place, p.preferred)).collect();
    assert_eq!(
        got,
        [
            ("06 12 34 56 78", PhoneKind::Mobile, None, true),
            ("07 00 00 00 00", PhoneKind::Mobile, None, false),
            ("01 23 45 67 89", PhoneKind::Fax, Some(Place::Work), false),
        ]
    );
    assert_eq!((c.organization.as_deref(), c.title.as_deref()), (Some("Orange"), Some("Chef de projet")));
}

#[test]
fn google_current_hand_written() {
    let text = "First Name,Last Name,Name Prefix,Birthday,Photo,Labels,Email 1 - Label,Email 1 - Value,\
Phone 1 - Label,Phone 1 - Value,Relation 1 - Label,Relation 1 - Value,Custom Field 1 - Label,Custom Field 1 - Value\n\
Paul,Durand,M.,1980-04-15,https://lh3.googleusercontent.com/contacts/x,Famille ::: * myContacts,Work,paul@example.fr,\
Home,+33 1 02 03 04 05,Brother,Jacques,Badge,1234\n";
    let records = read_bytes(text, "current.csv");
    let c = contact(&records[0]);
    assert_eq!(c.prefix.as_deref(), Some("M."));
    assert_eq!(c.birthday, date(Some(1980), 4, 15));
    assert_eq!(c.photo, Some(Photo::Uri("https://lh3.googleusercontent.com/contacts/x".into())));
    assert_eq!(c.categories, ["Famille"]);
    assert_eq!(c.emails[0].place, Some(Place::Work));
    assert_eq!(phones(c), [("+33 1 02 03 04 05", PhoneKind::Voice, Some(Place::Home))]);
    assert_eq!(extra(c, "Relation (Brother)"), Some("Jacques"));
    assert_eq!(extra(c, "Custom Field (Badge)"), Some("1234"));
}

#[test]
fn outlook_hand_written_dates_and_prefix() {
    let text = "\"Title\",\"First Name\",\"Last Name\",\"Birthday\",\"Anniversary\",\"Mobile Phone\",\"Business Phone\",\"Home Phone\",\"Priority\"\r\n\
\"Mrs.\",\"Jane\",\"Doe\",\"4/15/1980\",\"0/0/00\",\"(555) 010-2000\",\"(555) 010-3000\",\"\",\"Normal\"\r\n\
\"Mr.\",\"John\",\"Roe\",\"0/0/00\",\"0/0/00\",\"\",\"\",\"(555) 010-4000\",\"Normal\"\r\n\
\"\",\"Odd\",\"Date\",\"sometime in May\",\"\",\"\",\"\",\"\",\"High\"\r\n";
    let records = read_bytes(text, "outlook.csv");
    assert_eq!(records.len(), 3);
    let jane = contact(&records[0]);
    assert_eq!(jane.prefix.as_deref(), Some("Mrs."));
    assert_eq!(jane.birthday, date(Some(1980), 4, 15));
    assert_eq!(
        phones(jane),
        [
            ("(555) 010-2000", PhoneKind::Mobile, None),
            ("(555) 010-3000", PhoneKind::Voice, Some(Place::Work))
        ]
    );
    assert!(jane.extra.is_empty(), "{:?}", jane.extra);
    let john = contact(&records[1]);
    assert_eq!((john.birthday, john.birthday_text.as_deref()), (None, None));
    assert_eq!(records[1].source, "outlook.csv:3");
    let odd = contact(&records[2]);
    assert_eq!(odd.birthday_text.as_deref(), Some("sometime in May"));
    assert_eq!(extra(odd, "Priority"), Some("High"));
}

#[test]
fn windows_1252_without_bom() {
    let mut bytes = b"First Name;Last Name;E-mail Address;Notes\n".to_vec();
    bytes.extend_from_slice(b"J\xe9r\xf4me;Dupr\xe9;jerome@example.fr;Caf\xe9 cr\xe8me \x80 5\n");
    let records = read_bytes(bytes, "ansi.csv");
    let c = contact(&records[0]);
    assert_eq!((c.given.as_deref(), c.family.as_deref()), (Some("Jérôme"), Some("Dupré")));
    assert_eq!(c.notes, ["Café crème € 5"]);
    assert!(records[0].warnings.iter().any(|w| w.contains("windows-1252")), "{:?}", records[0].warnings);
}

#[test]
fn utf16le_with_and_without_bom() {
    let text = "First Name,Last Name,Mobile Phone\r\nZoë,Ångström,+46 70 123 45 67\r\n";
    let with_bom: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain(text.encode_utf16().flat_map(|u| u.to_le_bytes())).collect();
    let without_bom: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    for bytes in [with_bom, without_bom] {
        let records = read_bytes(bytes, "utf16.csv");
        assert_eq!(records.len(), 1);
        let c = contact(&records[0]);
        assert_eq!((c.given.as_deref(), c.family.as_deref()), (Some("Zoë"), Some("Ångström")));
        assert_eq!(phones(c), [("+46 70 123 45 67", PhoneKind::Mobile, None)]);
        assert!(records[0].warnings[0].contains("UTF-16LE"));
    }
}

#[test]
fn generic_header_tab_separated() {
    let text = "Full Name\tE-mail\tTelephone\tCompany\tFavourite colour\nAda Lovelace\tada@example.org\t+44 20 7946 0000\tAnalytical Engines\tgreen\n";
    let records = read_bytes(text, "generic.tsv");
    let c = contact(&records[0]);
    assert_eq!(c.formatted_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(emails(c), ["ada@example.org"]);
    assert_eq!(phones(c), [("+44 20 7946 0000", PhoneKind::Voice, None)]);
    assert_eq!(c.organization.as_deref(), Some("Analytical Engines"));
    assert_eq!(extra(c, "Favourite colour"), Some("green"), "unmapped columns are reported");
}

#[test]
fn blank_lines_rows_without_fields_and_source_lines() {
    let text = "First Name,Email\n\nAnn,ann@example.org\n   \n,\nBob,bob@example.org\n\n";
    let records = read_bytes(text, "blank.csv");
    let sources: Vec<&str> = records.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(sources, ["blank.csv:3", "blank.csv:5", "blank.csv:6"]);
    // A row of empty fields is still a record, with nothing in it (the mapping rejects it).
    assert_eq!(contact(&records[1]), &Contact::default());
}

#[test]
fn empty_inputs_yield_no_records() {
    assert!(read_bytes(Vec::new(), "empty.csv").is_empty());
    assert!(read_bytes(b"\xEF\xBB\xBF".to_vec(), "bom.csv").is_empty());
    assert!(read_bytes("First Name,Last Name\n", "header-only.csv").is_empty());
}

/// Generates `rows` CSV rows lazily, so the test never holds the whole file.
struct Generated {
    rows: usize,
    next: usize,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if self.next == 0 {
                self.buf.extend_from_slice(b"First Name,Last Name,E-mail Address,Mobile Phone,Notes\n");
            } else if self.next <= self.rows {
                let n = self.next;
                self.buf.extend_from_slice(
                    format!(
                        "Prénom{n},Nom{n},p{n}@example.org,06 00 00 {:02} {:02},\"line one\nline two\"\n",
                        n % 100,
                        n / 100 % 100
                    )
                    .as_bytes(),
                );
            } else {
                return Ok(0);
            }
            self.next += 1;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn streams_many_records() {
    let rows = 20_000;
    let reader =
        CsvReader::new(Generated { rows, next: 0, buf: Vec::new(), pos: 0 }, "big.csv".into()).unwrap();
    let mut count = 0;
    for (i, record) in reader.enumerate() {
        let c = record.contact.unwrap();
        assert_eq!(c.given.as_deref(), Some(format!("Prénom{}", i + 1).as_str()));
        count += 1;
        if count == rows {
            // Every record spans two lines after the one-line header.
            assert_eq!(record.source, format!("big.csv:{}", 2 * rows));
        }
    }
    assert_eq!(count, rows);
}

/// An unclosed quote near the start of a large file.
struct UnclosedQuote(usize);

impl Read for UnclosedQuote {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        const HEAD: &[u8] = b"First Name,Notes\nAnn,\"never closed ";
        if self.0 < HEAD.len() {
            let n = out.len().min(HEAD.len() - self.0);
            out[..n].copy_from_slice(&HEAD[self.0..self.0 + n]);
            self.0 += n;
            return Ok(n);
        }
        if self.0 > 40 * 1024 * 1024 {
            return Ok(0);
        }
        let n = out.len().min(64 * 1024);
        out[..n].fill(b'x');
        self.0 += n;
        Ok(n)
    }
}

#[test]
fn an_unclosed_quote_is_an_error_record_not_unbounded_memory() {
    let records: Vec<Record> = CsvReader::new(UnclosedQuote(0), "quote.csv".into()).unwrap().collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].source, "quote.csv:2");
    let err = records[0].contact.as_ref().unwrap_err();
    assert!(err.contains("unclosed quote"), "{err}");
}

#[test]
fn exchange_x500_addresses_are_recovered_from_display_names() {
    let text = "First Name,Last Name,E-mail Address,E-mail Type,E-mail Display Name,E-mail 2 Address,E-mail 2 Type,E-mail 2 Display Name\n\
Jane,Doe,/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=abc123-jane,EX,Jane Doe (jane.doe@example.com),jane@home.example,SMTP,Jane Doe (jane@home.example)\n\
Ken,Lee,/O=ExchangeLabs/OU=Exchange/CN=Recipients/CN=ken,EX,Ken Lee,,,\n";
    let records = read_bytes(text, "exchange.csv");
    let jane = contact(&records[0]);
    assert_eq!(emails(jane), ["jane.doe@example.com", "jane@home.example"]);
    assert!(records[0].warnings.iter().any(|w| w.contains("Exchange address")));
    let ken = contact(&records[1]);
    assert!(ken.emails.is_empty());
    assert!(extra(ken, "E-mail Address (Exchange)").is_some_and(|v| v.starts_with("/O=ExchangeLabs")));
}

#[test]
fn excel_separator_hint_line() {
    let text = "sep=;\r\nFirst Name;Last Name;E-mail Address\r\nLéa;Roux;lea@example.fr\r\n";
    let records = read_bytes(text, "excel.csv");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].source, "excel.csv:3");
    let c = contact(&records[0]);
    assert_eq!((c.given.as_deref(), emails(c)), (Some("Léa"), vec!["lea@example.fr"]));
}

#[test]
fn a_first_row_holding_a_phone_number_is_data_not_a_header() {
    let records = read_bytes("John,Doe,Mobile,0612345678\n", "nohead.csv");
    assert_eq!(records.len(), 1);
    assert!(records[0].contact.as_ref().unwrap_err().contains("nohead.csv:1"));
}

#[test]
fn spreadsheet_phone_and_mailto_forms() {
    let text = "First Name,Mobile Phone,Home Phone,Business Phone,E-mail Address,Birth Year\n\
Eve,'+33 6 12 34 56 78,\"=\"\"0612345678\"\"\",tel:+33140000000,mailto:eve@example.org,1990\n";
    let records = read_bytes(text, "sheet.csv");
    let c = contact(&records[0]);
    let values: Vec<&str> = c.phones.iter().map(|p| p.value.as_str()).collect();
    assert_eq!(values, ["+33 6 12 34 56 78", "0612345678", "+33140000000"]);
    assert_eq!(emails(c), ["eve@example.org"]);
    assert_eq!((c.birthday, c.birthday_text.as_deref()), (None, Some("year 1990")));
}
