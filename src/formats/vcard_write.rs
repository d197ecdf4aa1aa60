//! vCard 3.0 / 4.0 writer for export: one [`Contact`] → one card, through calcard's writer
//! (CRLF, folding at 75 octets without splitting a UTF-8 character, backslash escaping).
//!
//! calcard converts between versions only syntactically, so this module builds the card for the
//! target version itself (see docs/backups.md and calcard-evaluation.md §1/§5):
//! - preference is `TYPE=PREF` in 3.0 and `PREF=1` in 4.0; `TYPE=INTERNET` only in 3.0;
//! - photos are `ENCODING=b;TYPE=JPEG` in 3.0 and an unescaped `data:image/jpeg;base64,…` URI in
//!   4.0 (calcard would write `base64\,`, which strict readers take literally);
//! - no `CHARSET` parameter in 3.0 (a vCard 2.1 parameter RFC 2426 does not have; calcard's
//!   3.0 mode adds it to non-ASCII text, so text entries go through its 4.0 mode, see [`write_card`]);
//! - `TYPE` on URL only in 4.0 (RFC 2426 gives URL no parameters), and a URL without a scheme
//!   gets `http://` (URL is a URI in both versions);
//! - a 3.0 TEL is a phone number, not text: the tel-URI extension `;ext=102` is written ` x102`
//!   (4.0 keeps it, escaped as text);
//! - no REV, PRODID or other timestamps, so an unchanged account exports byte-identical files;
//! - carriage returns and other control characters are removed from text values.

use std::borrow::Cow;

use base64::Engine;
use calcard::common::{Data, PartialDateTime};
use calcard::vcard::{
    VCard, VCardEntry, VCardParameter, VCardParameterValue, VCardProperty, VCardType, VCardValue,
    VCardVersion,
};

use crate::model::{Contact, PartialDate, PhoneKind, Photo, Place};

/// The vCard version written (`--vcard`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VcardVersion {
    /// vCard 3.0 (RFC 2426), what most address books read.
    #[value(name = "3.0")]
    V3,
    /// vCard 4.0 (RFC 6350).
    #[value(name = "4.0")]
    V4,
}

/// Property carrying the API's marital status code (the API has no vCard equivalent).
pub const MARITAL_STATUS_PROPERTY: &str = "X-ORANGE-MARITALSTATUS";

/// Renders one card. `uid` is written verbatim as the UID property.
pub fn write_card(contact: &Contact, version: VcardVersion, uid: &str) -> String {
    write_card_marked(contact, version, uid, &[])
}

/// [`write_card`] followed by `marks`, text properties saying who wrote the card and from where
/// (`PRODID`, `X-…`; see `export::backup`).
pub fn write_card_marked(
    contact: &Contact,
    version: VcardVersion,
    uid: &str,
    marks: &[(&str, &str)],
) -> String {
    let v4 = version == VcardVersion::V4;
    let mut card = build(contact, v4, uid);
    card.entries
        .extend(marks.iter().map(|(name, value)| text_entry(VCardProperty::Other(name.to_string()), value)));
    let mut out = String::with_capacity(512);
    let version = if v4 { VCardVersion::V4_0 } else { VCardVersion::V3_0 };
    out.push_str(&format!("BEGIN:VCARD\r\nVERSION:{version}\r\n"));
    for entry in &card.entries {
        // calcard's 3.0 mode differs from its 4.0 mode in three things only: dates, binary values,
        // and a `CHARSET=UTF-8` on non-ASCII text, which RFC 2426 does not define (strict readers
        // reject it). So only entries with a date or binary value are written in its 3.0 mode.
        let legacy = !v4
            && entry
                .values
                .iter()
                .any(|v| matches!(v, VCardValue::PartialDateTime(_) | VCardValue::Binary(_)));
        entry.write_to(&mut out, !legacy).expect("writing to a String cannot fail");
    }
    out.push_str("END:VCARD\r\n");
    out
}

fn build(c: &Contact, v4: bool, uid: &str) -> VCard {
    let mut entries = Vec::new();
    let mut groups = 0usize;

    let fn_ = c.display_name();
    entries.push(text_entry(VCardProperty::Fn, if fn_.is_empty() { uid } else { &fn_ }));
    entries.push(VCardEntry {
        group: None,
        name: VCardProperty::N,
        params: vec![],
        values: [&c.family, &c.given, &c.additional, &c.prefix, &c.suffix]
            .into_iter()
            .map(|s| VCardValue::Text(clean(s.as_deref().unwrap_or(""))))
            .collect(),
    });
    if let Some(nick) = nonblank(&c.nickname) {
        entries.push(text_entry(VCardProperty::Nickname, nick));
    }
    if nonblank(&c.organization).is_some() || nonblank(&c.department).is_some() {
        let mut values = vec![VCardValue::Text(clean(c.organization.as_deref().unwrap_or("")))];
        if let Some(dept) = nonblank(&c.department) {
            values.push(VCardValue::Text(clean(dept)));
        }
        entries.push(VCardEntry { group: None, name: VCardProperty::Org, params: vec![], values });
    }
    if let Some(title) = nonblank(&c.title) {
        entries.push(text_entry(VCardProperty::Title, title));
    }
    if let Some(bday) = c.birthday.filter(|d| d.month.is_some() || d.year.is_some()) {
        entries.push(VCardEntry {
            group: None,
            name: VCardProperty::Bday,
            params: vec![],
            values: vec![VCardValue::PartialDateTime(date(bday))],
        });
    }

    for email in c.emails.iter().filter(|e| !e.value.trim().is_empty()) {
        let mut params = Vec::new();
        if !v4 {
            params.push(type_text("INTERNET"));
        }
        push_place(&mut params, email.place);
        push_pref(&mut params, email.preferred, v4);
        push_labelled(
            &mut entries,
            &mut groups,
            text_entry(VCardProperty::Email, email.value.trim()).with_params(params),
            email.label.as_deref(),
        );
    }
    for phone in c.phones.iter().filter(|p| !p.value.trim().is_empty()) {
        let mut params = Vec::new();
        match phone.kind {
            PhoneKind::Mobile => params.push(VCardParameter::typ(VCardType::Cell)),
            PhoneKind::Voice => params.push(VCardParameter::typ(VCardType::Voice)),
            PhoneKind::Fax => params.push(VCardParameter::typ(VCardType::Fax)),
            PhoneKind::Video => params.push(VCardParameter::typ(VCardType::Video)),
            PhoneKind::Pager => params.push(VCardParameter::typ(VCardType::Pager)),
            PhoneKind::Other => {}
        }
        push_place(&mut params, phone.place);
        push_pref(&mut params, phone.preferred, v4);
        let value = if v4 { Cow::Borrowed(phone.value.trim()) } else { phone_number_v3(&phone.value) };
        push_labelled(
            &mut entries,
            &mut groups,
            text_entry(VCardProperty::Tel, &value).with_params(params),
            phone.label.as_deref(),
        );
    }
    for url in c.urls.iter().filter(|u| !u.value.trim().is_empty()) {
        let mut params = Vec::new();
        if v4 {
            push_place(&mut params, url.place);
        }
        push_labelled(
            &mut entries,
            &mut groups,
            text_entry(VCardProperty::Url, &with_scheme(&url.value)).with_params(params),
            url.label.as_deref(),
        );
    }
    for adr in &c.addresses {
        let parts =
            [&adr.po_box, &adr.extended, &adr.street, &adr.city, &adr.region, &adr.postal_code, &adr.country];
        if parts.iter().all(|p| nonblank(p).is_none()) {
            continue;
        }
        let mut params = Vec::new();
        if v4 {
            push_place(&mut params, adr.place);
        } else {
            // Lower case, as RFC 2426 writes ADR types: strict 3.0 readers compare them as written.
            match adr.place {
                Some(Place::Home) => params.push(type_text("home")),
                Some(Place::Work) => params.push(type_text("work")),
                Some(Place::Other) | None => {}
            }
        }
        let entry = VCardEntry {
            group: None,
            name: VCardProperty::Adr,
            params,
            values: parts.iter().map(|p| VCardValue::Text(clean(p.as_deref().unwrap_or("")))).collect(),
        };
        push_labelled(&mut entries, &mut groups, entry, adr.label.as_deref());
    }
    for note in c.notes.iter().filter(|n| !n.trim().is_empty()) {
        entries.push(text_entry(VCardProperty::Note, note));
    }
    let categories: Vec<String> =
        c.categories.iter().map(|s| clean(s)).filter(|s| !s.trim().is_empty()).collect();
    if !categories.is_empty() {
        entries.push(VCardEntry {
            group: None,
            name: VCardProperty::Categories,
            params: vec![],
            values: categories.into_iter().map(VCardValue::Text).collect(),
        });
    }
    if let Some(code) = c.marital_status {
        entries.push(text_entry(VCardProperty::Other(MARITAL_STATUS_PROPERTY.into()), &code.to_string()));
    }
    match &c.photo {
        Some(Photo::Inline { bytes, media_type }) if !bytes.is_empty() => {
            let mime = media_type.clone().or_else(|| sniff_mime(bytes).map(str::to_string));
            let value = if v4 {
                // An unescaped data: URI (RFC 6350 §6.2.4 example); calcard would escape the comma.
                let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                VCardValue::Text(format!("data:{};base64,{b64}", mime.unwrap_or_default()))
            } else {
                VCardValue::Binary(Data { content_type: mime, data: bytes.clone() })
            };
            entries.push(VCardEntry {
                group: None,
                name: VCardProperty::Photo,
                params: vec![],
                values: vec![value],
            });
        }
        Some(Photo::Uri(uri)) if !uri.trim().is_empty() => {
            let mut entry = text_entry(VCardProperty::Photo, uri.trim());
            if !v4 {
                entry.params.push(VCardParameter::value(calcard::vcard::VCardValueType::Uri));
            }
            entries.push(entry);
        }
        _ => {}
    }
    entries.push(text_entry(VCardProperty::Uid, uid));
    VCard { entries }
}

/// A phone number as vCard 3.0 writes it: TEL's value there is a phone number, not text, so a
/// backslash-escaped `;ext=102` (the tel-URI form) would be read with its backslash. The
/// extension is written ` x102`, which phone parsers (and this tool's matching) read back as the
/// same extension.
fn phone_number_v3(value: &str) -> Cow<'_, str> {
    let value = value.trim();
    let Some(at) = value.to_ascii_lowercase().find(";ext=") else { return Cow::Borrowed(value) };
    let (number, extension) = (value[..at].trim_end(), value[at + ";ext=".len()..].trim());
    if extension.is_empty() {
        Cow::Borrowed(number)
    } else {
        Cow::Owned(format!("{number} x{extension}"))
    }
}

/// A URL's value is a URI in vCard 3.0 and 4.0: one stored without a scheme (`www.example.org`,
/// as people type it) gets `http://`, the scheme browsers assume for it.
fn with_scheme(value: &str) -> Cow<'_, str> {
    let value = value.trim();
    // RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":".
    let has_scheme = value.split_once(':').is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if has_scheme {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("http://{value}"))
    }
}

fn nonblank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Line breaks become `\n` (written `\n`), other control characters go.
fn clean(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n").chars().filter(|c| *c == '\n' || !c.is_control()).collect()
}

fn text_entry(name: VCardProperty, value: &str) -> VCardEntry {
    VCardEntry { group: None, name, params: vec![], values: vec![VCardValue::Text(clean(value))] }
}

fn type_text(t: &str) -> VCardParameter {
    VCardParameter::typ(VCardParameterValue::Text(t.to_string()))
}

fn push_place(params: &mut Vec<VCardParameter>, place: Option<Place>) {
    match place {
        Some(Place::Home) => params.push(VCardParameter::typ(VCardType::Home)),
        Some(Place::Work) => params.push(VCardParameter::typ(VCardType::Work)),
        Some(Place::Other) | None => {}
    }
}

fn push_pref(params: &mut Vec<VCardParameter>, preferred: bool, v4: bool) {
    if preferred {
        params.push(if v4 { VCardParameter::pref(1u32) } else { type_text("PREF") });
    }
}

/// A free label goes into an Apple-style `itemN.X-ABLabel` beside its property.
fn push_labelled(
    entries: &mut Vec<VCardEntry>,
    groups: &mut usize,
    mut entry: VCardEntry,
    label: Option<&str>,
) {
    match label.map(str::trim).filter(|l| !l.is_empty()) {
        Some(label) => {
            *groups += 1;
            let group = format!("item{groups}");
            entry.group = Some(group.clone());
            entries.push(entry);
            let mut lab = text_entry(VCardProperty::Other("X-ABLabel".into()), label);
            lab.group = Some(group);
            entries.push(lab);
        }
        None => entries.push(entry),
    }
}

fn date(d: PartialDate) -> PartialDateTime {
    PartialDateTime { year: d.year, month: d.month, day: d.day, ..Default::default() }
}

fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    crate::wire::ImageType::sniff(bytes)
        .map(|t| t.mime())
        .or_else(|| bytes.starts_with(b"\x89PNG\r\n\x1a\n").then_some("image/png"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Email, Phone, PostalAddress, WebUrl};
    use calcard::vcard::VCardParameterName;

    const JPEG: &[u8] =
        &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

    fn sample() -> Contact {
        Contact {
            prefix: Some("Mr".into()),
            given: Some("Jean-Noël".into()),
            family: Some("Dupont; Durand, fils".into()),
            nickname: Some("JN".into()),
            organization: Some("Orange".into()),
            department: Some("R&D".into()),
            title: Some("Ingénieur".into()),
            birthday: Some(PartialDate { year: Some(1951), month: Some(1), day: Some(2) }),
            emails: vec![Email {
                value: "jn@example.org".into(),
                place: Some(Place::Work),
                preferred: true,
                label: None,
            }],
            phones: vec![
                Phone {
                    value: "+33 6 12 34 56 78".into(),
                    kind: PhoneKind::Mobile,
                    place: Some(Place::Home),
                    preferred: true,
                    label: None,
                },
                Phone {
                    value: "0123456789".into(),
                    kind: PhoneKind::Fax,
                    place: None,
                    preferred: false,
                    label: None,
                },
            ],
            urls: vec![WebUrl { value: "http://example.org/a,b;c".into(), place: None, label: None }],
            addresses: vec![PostalAddress {
                place: Some(Place::Home),
                street: Some("24, Fascination Street\nAppt 34".into()),
                city: Some("London".into()),
                postal_code: Some("766546".into()),
                region: Some("England".into()),
                ..Default::default()
            }],
            notes: vec!["a note with\r\nline break; and, punctuation \\ backslash".into()],
            marital_status: Some(2),
            photo: Some(Photo::Inline { bytes: JPEG.repeat(20), media_type: Some("image/jpeg".into()) }),
            ..Default::default()
        }
    }

    fn lines(card: &str) -> Vec<&str> {
        card.strip_suffix("\r\n").unwrap().split("\r\n").collect()
    }

    fn unfold(card: &str) -> String {
        card.replace("\r\n ", "")
    }

    #[test]
    fn lines_are_crlf_and_folded_at_75_octets_without_splitting_characters() {
        let mut c = sample();
        c.notes = vec!["日本語のとても長いメモ".repeat(10), "é".repeat(100)];
        for version in [VcardVersion::V3, VcardVersion::V4] {
            let card = write_card(&c, version, "orange-contacts-1");
            assert!(card.ends_with("END:VCARD\r\n"));
            assert!(!card.replace("\r\n", "").contains('\n'), "bare LF in {card}");
            assert!(!card.replace("\r\n", "").contains('\r'), "bare CR in {card}");
            for line in lines(&card) {
                assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
                assert!(!line.is_empty());
            }
            // Folding never split a UTF-8 sequence: each physical line is valid UTF-8 by
            // construction of &str; the unfolded text must contain the notes intact.
            assert!(unfold(&card).contains(&"日本語のとても長いメモ".repeat(10)));
            assert!(unfold(&card).contains(&"é".repeat(100)));
        }
    }

    #[test]
    fn text_is_escaped_and_utf8() {
        let card = unfold(&write_card(&sample(), VcardVersion::V3, "u1"));
        assert!(card.contains(":Dupont\\; Durand\\, fils;Jean-Noël;;Mr;\r\n"), "{card}");
        assert!(
            card.contains("\r\nNOTE:a note with\\nline break\\; and\\, punctuation \\\\ backslash\r\n"),
            "{card}"
        );
        assert!(card.contains("ORG:Orange;R&D\r\n"), "{card}");
        assert!(card.contains("TITLE:Ingénieur\r\n"), "{card}");
        assert!(card.contains("N:Dupont\\; Durand\\, fils;Jean-Noël;;Mr;\r\n"), "{card}");
        assert!(card.contains("BDAY:1951-01-02\r\n"), "{card}");
        assert!(card.contains("X-ORANGE-MARITALSTATUS:2\r\n"), "{card}");
        assert!(card.contains("UID:u1\r\n"), "{card}");
        assert!(!card.contains("REV") && !card.contains("PRODID"), "{card}");
        // URL values are URIs: not escaped.
        assert!(card.contains("URL:http://example.org/a,b;c\r\n"), "{card}");
    }

    #[test]
    fn v3_uses_type_pref_internet_and_encoding_b_photo() {
        let card = unfold(&write_card(&sample(), VcardVersion::V3, "u1"));
        assert!(card.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n"), "{card}");
        assert!(card.contains("EMAIL;TYPE=INTERNET,WORK,PREF:jn@example.org\r\n"), "{card}");
        assert!(card.contains("TEL;TYPE=CELL,HOME,PREF:+33 6 12 34 56 78\r\n"), "{card}");
        assert!(card.contains("TEL;TYPE=FAX:0123456789\r\n"), "{card}");
        assert!(card.contains("PHOTO;ENCODING=b;TYPE=JPEG:/9j/"), "{card}");
        assert!(!card.contains("PREF=1"));
    }

    #[test]
    fn v4_uses_pref_1_and_unescaped_data_uri_photo() {
        let card = unfold(&write_card(&sample(), VcardVersion::V4, "u1"));
        assert!(card.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"), "{card}");
        assert!(card.contains("EMAIL;TYPE=WORK;PREF=1:jn@example.org\r\n"), "{card}");
        assert!(card.contains("TEL;TYPE=CELL,HOME;PREF=1:+33 6 12 34 56 78\r\n"), "{card}");
        assert!(card.contains("PHOTO:data:image/jpeg;base64,/9j/"), "{card}");
        assert!(!card.contains("base64\\,"));
        assert!(!card.contains("INTERNET") && !card.contains("CHARSET"), "{card}");
        assert!(card.contains("BDAY:19510102\r\n"), "{card}");
    }

    #[test]
    fn round_trips_through_calcard_parser() {
        let c = sample();
        for version in [VcardVersion::V3, VcardVersion::V4] {
            let text = write_card(&c, version, "orange-contacts-42");
            let card = VCard::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
            let get = |p: VCardProperty| card.property(&p).unwrap_or_else(|| panic!("{p:?} missing\n{text}"));
            assert_eq!(get(VCardProperty::Uid).values[0].as_text(), Some("orange-contacts-42"));
            let n: Vec<_> = get(VCardProperty::N).values.iter().map(|v| v.as_text().unwrap_or("")).collect();
            assert_eq!(n, ["Dupont; Durand, fils", "Jean-Noël", "", "Mr", ""]);
            let note = get(VCardProperty::Note).values[0].as_text().unwrap().to_string();
            assert_eq!(note, "a note with\nline break; and, punctuation \\ backslash");
            let photo = get(VCardProperty::Photo).values[0].as_binary().expect("photo binary");
            assert_eq!(photo.data, JPEG.repeat(20));
            assert_eq!(photo.content_type.as_deref(), Some("image/jpeg"));
            let bday = get(VCardProperty::Bday).values[0].as_partial_date_time().unwrap();
            assert_eq!((bday.year, bday.month, bday.day), (Some(1951), Some(1), Some(2)));
            let tels: Vec<_> = card.properties(&VCardProperty::Tel).collect();
            assert_eq!(tels.len(), 2);
            let prefs = tels[0]
                .params
                .iter()
                .filter(|p| {
                    p.name == VCardParameterName::Pref
                        || matches!(&p.value, VCardParameterValue::Text(t) if t.eq_ignore_ascii_case("pref"))
                })
                .count();
            assert_eq!(prefs, 1, "{text}");
            let adr: Vec<_> =
                get(VCardProperty::Adr).values.iter().map(|v| v.as_text().unwrap_or("")).collect();
            assert_eq!(adr, ["", "", "24, Fascination Street\nAppt 34", "London", "England", "766546", ""]);
        }
    }

    #[test]
    fn gif_photo_in_v3_and_labels_grouped() {
        let mut c = Contact { given: Some("A".into()), ..Default::default() };
        c.photo = Some(Photo::Inline { bytes: b"GIF89a\x01\x00\x01\x00".to_vec(), media_type: None });
        c.emails.push(Email {
            value: "a@b.c".into(),
            place: None,
            preferred: false,
            label: Some("Club".into()),
        });
        let card = unfold(&write_card(&c, VcardVersion::V3, "u"));
        assert!(card.contains("PHOTO;ENCODING=b;TYPE=GIF:R0lGOD"), "{card}");
        assert!(card.contains("item1.EMAIL;TYPE=INTERNET:a@b.c\r\nitem1.X-ABLabel:Club\r\n"), "{card}");
    }

    /// Item 8 (issue 8): RFC 2426 has no CHARSET parameter and no TYPE on URL, and its TEL value
    /// is not text; strict readers write ADR types in lower case.
    #[test]
    fn v3_has_no_charset_no_url_type_and_plain_phone_extensions() {
        let mut c = sample();
        c.formatted_name = Some("Jean-Noël Dupont".into());
        c.urls = vec![
            WebUrl { value: "www.example.org".into(), place: Some(Place::Work), label: None },
            WebUrl { value: "https://example.org/x".into(), place: Some(Place::Home), label: None },
        ];
        c.phones[1].value = "+1-418-656-9254;ext=102".into();
        let v3 = unfold(&write_card(&c, VcardVersion::V3, "u1"));
        assert!(!v3.contains("CHARSET"), "{v3}");
        assert!(v3.contains("\r\nFN:Jean-Noël Dupont\r\n"), "{v3}");
        assert!(v3.contains("\r\nURL:http://www.example.org\r\nURL:https://example.org/x\r\n"), "{v3}");
        assert!(v3.contains("\r\nTEL;TYPE=FAX:+1-418-656-9254 x102\r\n"), "{v3}");
        assert!(v3.contains("\r\nADR;TYPE=home:;;24\\, Fascination Street"), "{v3}");
        // 4.0 keeps TYPE on URL and the extension as escaped text; its ADR types stay as calcard writes them.
        let v4 = unfold(&write_card(&c, VcardVersion::V4, "u1"));
        assert!(v4.contains("\r\nURL;TYPE=WORK:http://www.example.org\r\n"), "{v4}");
        assert!(v4.contains("\r\nTEL;TYPE=FAX:+1-418-656-9254\\;ext=102\r\n"), "{v4}");
        assert!(v4.contains("\r\nADR;TYPE=HOME:"), "{v4}");
        // The extension survives the round trip: the written form matches the stored one.
        let key = |v: &str| crate::dedup::phone_key(v, "FR");
        assert_eq!(key("+1-418-656-9254 x102"), key("+1-418-656-9254;ext=102"));
        assert_eq!(key("+1-418-656-9254 x102").as_deref(), Some("+14186569254;ext=102"));
    }

    #[test]
    fn phone_extensions_and_url_schemes() {
        assert_eq!(phone_number_v3(" 0123456789 "), "0123456789");
        assert_eq!(phone_number_v3("+1 555 1234 ;EXT= 55"), "+1 555 1234 x55");
        assert_eq!(phone_number_v3("+1 555 1234;ext="), "+1 555 1234");
        assert_eq!(with_scheme("www.x.org"), "http://www.x.org");
        assert_eq!(with_scheme(" http://x.org "), "http://x.org");
        assert_eq!(with_scheme("mailto:a@b.c"), "mailto:a@b.c");
        assert_eq!(with_scheme("ftp+x.y-z:q"), "ftp+x.y-z:q");
        assert_eq!(with_scheme("websi.te/a:b"), "http://websi.te/a:b");
    }

    #[test]
    fn same_contact_renders_identically() {
        let a = write_card(&sample(), VcardVersion::V3, "u");
        let b = write_card(&sample(), VcardVersion::V3, "u");
        assert_eq!(a, b);
    }
}
