//! Row → contact: the cells of one data row, by their columns' roles, become one [`Contact`].

use std::collections::BTreeMap;

use super::header::{header_key, AddrPart, Column, GroupAttr, GroupKind, Role};
use crate::formats::shorten;
use crate::model::{
    Contact, DateOrder, Email, ExtraField, PartialDate, Phone, PhoneKind, Photo, Place, PostalAddress, WebUrl,
};

/// Google's separator of several values in one cell.
const MULTI_SEPARATOR: &str = ":::";

/// The cells of one numbered Google group in one row.
#[derive(Debug, Default)]
struct GroupCells {
    label: Option<String>,
    value: Option<String>,
    parts: Vec<(AddrPart, String)>,
}

pub(super) fn build_contact(
    columns: &[Column],
    row: &csv::StringRecord,
    warnings: &mut Vec<String>,
    source: &str,
) -> Contact {
    let mut c = Contact::default();
    let mut groups: BTreeMap<(GroupKind, u32), GroupCells> = BTreeMap::new();
    let mut fixed_addresses: BTreeMap<Option<Place>, Vec<(AddrPart, String)>> = BTreeMap::new();
    let (mut birth_year, mut birth_month, mut birth_day) = (None::<String>, None::<String>, None::<String>);
    let mut email_display_names = Vec::new();

    for (i, raw) in row.iter().enumerate() {
        let value = raw.trim();
        if value.is_empty() {
            continue;
        }
        let Some(column) = columns.get(i) else {
            c.extra.push(ExtraField { field: format!("column {}", i + 1), value: value.to_string() });
            continue;
        };
        let header = column.header.as_str();
        let single = |slot: &mut Option<String>, extra: &mut Vec<ExtraField>| {
            if slot.is_none() {
                *slot = Some(value.to_string());
            } else {
                extra.push(ExtraField { field: header.to_string(), value: value.to_string() });
            }
        };
        match &column.role {
            Role::Ignore => {}
            Role::EmailDisplayName => email_display_names.push(value),
            Role::Extra => {
                if !is_default_noise(value) {
                    let field =
                        if header.is_empty() { format!("column {}", i + 1) } else { header.to_string() };
                    c.extra.push(ExtraField { field, value: value.to_string() });
                }
            }
            Role::FormattedName => single(&mut c.formatted_name, &mut c.extra),
            Role::Prefix => single(&mut c.prefix, &mut c.extra),
            Role::Given => single(&mut c.given, &mut c.extra),
            Role::Additional => single(&mut c.additional, &mut c.extra),
            Role::Family => single(&mut c.family, &mut c.extra),
            Role::Suffix => single(&mut c.suffix, &mut c.extra),
            Role::Nickname => single(&mut c.nickname, &mut c.extra),
            Role::Organization => single(&mut c.organization, &mut c.extra),
            Role::Department => single(&mut c.department, &mut c.extra),
            Role::Title => single(&mut c.title, &mut c.extra),
            Role::Birthday => set_birthday(&mut c, value, header),
            Role::BirthYear => birth_year = Some(value.to_string()),
            Role::BirthMonth => birth_month = Some(value.to_string()),
            Role::BirthDayOfMonth => birth_day = Some(value.to_string()),
            Role::Notes => c.notes.push(value.to_string()),
            Role::Photo => set_photo(&mut c, value, header),
            Role::Categories => add_categories(&mut c.categories, value),
            Role::Email { place, preferred } => {
                for v in split_multi(value) {
                    let (v, starred) = strip_star(v);
                    c.emails.push(Email {
                        value: clean_email(v),
                        place: *place,
                        preferred: *preferred || starred,
                        label: None,
                    });
                }
            }
            Role::Phone { kind, place, preferred, label } => {
                for v in split_multi(value) {
                    let (v, starred) = strip_star(v);
                    c.phones.push(Phone {
                        value: clean_phone(v),
                        kind: *kind,
                        place: *place,
                        preferred: *preferred || starred,
                        label: label.map(str::to_string),
                    });
                }
            }
            Role::Url { place } => {
                for v in split_multi(value) {
                    c.urls.push(WebUrl { value: v.to_string(), place: *place, label: None });
                }
            }
            Role::Address { place, part } => {
                fixed_addresses.entry(*place).or_default().push((*part, value.to_string()))
            }
            Role::Group { kind, n, attr } => {
                let cells = groups.entry((kind.clone(), *n)).or_default();
                match attr {
                    GroupAttr::Label => cells.label = Some(value.to_string()),
                    GroupAttr::Value => cells.value = Some(value.to_string()),
                    GroupAttr::Part(part) => cells.parts.push((*part, value.to_string())),
                }
            }
        }
    }

    set_birthday_from_parts(&mut c, birth_year, birth_month, birth_day, warnings, source);
    recover_exchange_addresses(&mut c, &email_display_names, warnings, source);
    for (place, parts) in fixed_addresses {
        if let Some(address) = assemble_address(place, None, &parts) {
            c.addresses.push(address);
        }
    }
    for ((kind, _), cells) in groups {
        add_group(&mut c, kind, cells);
    }
    c
}

/// Outlook exports an Exchange contact's address as an X.500 path (`/o=ExchangeLabs/ou=…`) with
/// the SMTP address only in the display name (`Jane Doe (jane@example.com)`): take it from there,
/// in column order, or report the path as dropped.
fn recover_exchange_addresses(
    c: &mut Contact,
    display_names: &[&str],
    warnings: &mut Vec<String>,
    source: &str,
) {
    if !c.emails.iter().any(|e| is_x500(&e.value)) {
        return;
    }
    let known: Vec<String> = c.emails.iter().map(|e| e.value.to_lowercase()).collect();
    let mut candidates = display_names
        .iter()
        .filter_map(|d| address_in_display_name(d))
        .filter(|a| !known.contains(&a.to_lowercase()));
    let mut kept = Vec::with_capacity(c.emails.len());
    for mut email in std::mem::take(&mut c.emails) {
        if !is_x500(&email.value) {
            kept.push(email);
            continue;
        }
        match candidates.next() {
            Some(address) => {
                warnings.push(format!(
                    "{source}: Exchange address {} replaced by {address} from its display name",
                    email.value
                ));
                email.value = address.to_string();
                kept.push(email);
            }
            None => c
                .extra
                .push(ExtraField { field: "E-mail Address (Exchange)".to_string(), value: email.value }),
        }
    }
    c.emails = kept;
}

fn is_x500(value: &str) -> bool {
    value.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("/o="))
}

/// `Jane Doe (jane@example.com)` → `jane@example.com`.
fn address_in_display_name(display: &str) -> Option<&str> {
    let open = display.rfind('(')?;
    let inner = display[open + 1..].strip_suffix(')')?.trim();
    (inner.contains('@') && !inner.contains(char::is_whitespace)).then_some(inner)
}

/// `mailto:` links are addresses too.
fn clean_email(value: &str) -> String {
    match value.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("mailto:") => value[7..].trim().to_string(),
        _ => value.to_string(),
    }
}

/// Spreadsheet tricks that keep a leading `+` or `0`: `'+33 6…` and `="0612…"`; a `tel:` prefix.
fn clean_phone(value: &str) -> String {
    let v = value.trim();
    let v = v.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')).unwrap_or(v);
    let v = match v.strip_prefix('\'') {
        Some(rest) if rest.starts_with(|c: char| c == '+' || c == '(' || c.is_ascii_digit()) => rest,
        _ => v,
    };
    let v = match v.get(..4) {
        Some(p) if p.eq_ignore_ascii_case("tel:") => &v[4..],
        _ => v,
    };
    v.trim().to_string()
}

/// Google's ` ::: ` multi-value cells, empty members skipped.
fn split_multi(value: &str) -> impl Iterator<Item = &str> {
    value.split(MULTI_SEPARATOR).map(str::trim).filter(|v| !v.is_empty())
}

/// A leading `* ` marks Google's primary value / system group.
fn strip_star(value: &str) -> (&str, bool) {
    match value.strip_prefix('*') {
        Some(rest) => (rest.trim_start(), true),
        None => (value, false),
    }
}

/// Outlook's placeholders for "not set" (`Normal`, `Aus`, `0/0/00`, `Keine Angabe`, …): not
/// worth reporting as dropped data.
fn is_default_noise(value: &str) -> bool {
    let lower = value.trim().to_lowercase();
    matches!(
        lower.as_str(),
        "normal" | "aus" | "false" | "off" | "unspecified" | "keine angabe" | "smtp" | "ex" | "0"
    ) || is_zero_placeholder(&lower)
}

/// `0/0/00`, `00.00.0000`, `0`: Outlook's empty date.
fn is_zero_placeholder(s: &str) -> bool {
    s.contains('0') && s.chars().all(|c| matches!(c, '0' | '/' | '.' | '-'))
}

fn add_categories(categories: &mut Vec<String>, value: &str) {
    for item in value.split(MULTI_SEPARATOR).flat_map(|v| v.split(';')) {
        let (name, _) = strip_star(item.trim());
        // Google puts every contact in its `* myContacts` system group: not a user category.
        if name.is_empty() || header_key(name) == "mycontacts" {
            continue;
        }
        if !categories.iter().any(|c| c == name) {
            categories.push(name.to_string());
        }
    }
}

fn set_photo(c: &mut Contact, value: &str, header: &str) {
    if c.photo.is_some() {
        c.extra.push(ExtraField { field: header.to_string(), value: value.to_string() });
        return;
    }
    let lower = value.to_ascii_lowercase();
    c.photo = Some(if lower.starts_with("http://") || lower.starts_with("https://") {
        Photo::Uri(value.to_string())
    } else if let Some(rest) = lower.strip_prefix("data:") {
        use base64::Engine as _;
        match rest.split_once(',') {
            Some((meta, _)) if meta.ends_with(";base64") => {
                let data = &value[value.len() - (rest.len() - meta.len() - 1)..];
                let media_type = meta.trim_end_matches(";base64");
                match base64::engine::general_purpose::STANDARD.decode(data.trim()) {
                    Ok(bytes) => Photo::Inline {
                        bytes,
                        media_type: (!media_type.is_empty()).then(|| media_type.to_string()),
                    },
                    Err(e) => Photo::Unreadable(format!("bad base64 in data: URI: {e}")),
                }
            }
            _ => Photo::Unreadable("data: URI without base64 content".to_string()),
        }
    } else {
        Photo::Unreadable(format!("`{}` is neither a URL nor a data: URI", shorten(value, 60)))
    });
}

/// Blank, or an all-zero placeholder (`0/0/00`, `00.00.0000`) that Outlook writes for "none".
fn is_empty_date(value: &str) -> bool {
    let s = value.trim();
    s.is_empty() || is_zero_placeholder(s)
}

fn set_birthday(c: &mut Contact, value: &str, header: &str) {
    if !is_empty_date(value) && !c.take_birthday(value, DateOrder::MonthFirst) {
        c.extra.push(ExtraField { field: header.to_string(), value: value.to_string() });
    }
}

/// Thunderbird's `Birth Year` / `Birth Month` / `Birth Day` columns.
fn set_birthday_from_parts(
    c: &mut Contact,
    year: Option<String>,
    month: Option<String>,
    day: Option<String>,
    warnings: &mut Vec<String>,
    source: &str,
) {
    if year.is_none() && month.is_none() && day.is_none() {
        return;
    }
    let text = [("year", &year), ("month", &month), ("day", &day)]
        .iter()
        .filter_map(|(name, v)| v.as_deref().map(|v| format!("{name} {v}")))
        .collect::<Vec<_>>()
        .join(", ");
    if c.birthday.is_some() || c.birthday_text.is_some() {
        warnings.push(format!("{source}: birthday parts {text} ignored: a birthday column was already read"));
        return;
    }
    // Whether the numbers make a date is PartialDate::new's rule; a year column that holds no
    // year (`0`, `70000`, text) makes none.
    let y = year.as_deref().and_then(|s| s.trim().parse::<u16>().ok());
    let year_ok = year.is_none() || y.is_some_and(|y| (1..=9999).contains(&y));
    let part = |s: &Option<String>| s.as_deref().and_then(|s| s.trim().parse::<u8>().ok());
    c.birthday = match (part(&month), part(&day)) {
        (Some(m), Some(d)) if year_ok => PartialDate::new(y, Some(m), Some(d)),
        _ => None,
    };
    c.birthday_text = Some(text);
}

/// What a Google label (or `* Home`) says about a value.
#[derive(Debug, Default, PartialEq)]
struct LabelInfo {
    place: Option<Place>,
    kind: Option<PhoneKind>,
    preferred: bool,
    /// The label itself when it is not one of the known words.
    free: Option<String>,
}

fn parse_label(raw: &str) -> LabelInfo {
    let (text, preferred) = strip_star(raw.trim());
    let mut info = LabelInfo { preferred, ..LabelInfo::default() };
    let (place, kind) = match header_key(text).as_str() {
        "" => (None, None),
        "home" | "privat" | "private" | "personal" => (Some(Place::Home), None),
        "work" | "business" | "office" | "geschftlich" | "geschaftlich" | "dienstlich" | "arbeit" => {
            (Some(Place::Work), None)
        }
        "other" | "andere" | "anderes" | "weitere" => (Some(Place::Other), None),
        "mobile" | "cell" | "mobil" | "handy" | "mobiltelefon" => (None, Some(PhoneKind::Mobile)),
        "homemobile" => (Some(Place::Home), Some(PhoneKind::Mobile)),
        "workmobile" | "businessmobile" => (Some(Place::Work), Some(PhoneKind::Mobile)),
        "pager" | "workpager" => (None, Some(PhoneKind::Pager)),
        "homefax" | "faxprivat" => (Some(Place::Home), Some(PhoneKind::Fax)),
        "workfax" | "businessfax" | "faxgeschftlich" => (Some(Place::Work), Some(PhoneKind::Fax)),
        "fax" => (None, Some(PhoneKind::Fax)),
        "otherfax" => (Some(Place::Other), Some(PhoneKind::Fax)),
        "main" => {
            info.free = Some(text.to_string());
            (None, Some(PhoneKind::Voice))
        }
        _ => {
            info.free = Some(text.to_string());
            (None, None)
        }
    };
    info.place = place;
    info.kind = kind;
    info
}

/// Pairs the values of a ` ::: ` cell with the labels of its label cell (same count), else gives
/// every value the whole label.
fn labelled_values(cells: &GroupCells) -> Vec<(String, LabelInfo)> {
    let Some(value) = cells.value.as_deref() else { return Vec::new() };
    let values: Vec<&str> = split_multi(value).collect();
    let labels: Vec<&str> =
        cells.label.as_deref().map(|l| l.split(MULTI_SEPARATOR).map(str::trim).collect()).unwrap_or_default();
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let label =
                if labels.len() == values.len() { labels[i] } else { cells.label.as_deref().unwrap_or("") };
            let mut info = parse_label(label);
            // `* Home` on a multi-value cell marks only its first value primary.
            if labels.len() != values.len() && i > 0 {
                info.preferred = false;
            }
            let (v, starred) = strip_star(v);
            info.preferred |= starred;
            (v.to_string(), info)
        })
        .collect()
}

fn add_group(c: &mut Contact, kind: GroupKind, cells: GroupCells) {
    match kind {
        GroupKind::Email => {
            for (value, info) in labelled_values(&cells) {
                // A phone word on an email (`Mobile`) is just a label.
                let free = info.free.or_else(|| info.kind.and(cells.label.clone()));
                let value = clean_email(&value);
                c.emails.push(Email { value, place: info.place, preferred: info.preferred, label: free });
            }
        }
        GroupKind::Phone => {
            for (value, info) in labelled_values(&cells) {
                c.phones.push(Phone {
                    value: clean_phone(&value),
                    kind: info.kind.unwrap_or(PhoneKind::Voice),
                    place: info.place,
                    preferred: info.preferred,
                    label: info.free,
                });
            }
        }
        GroupKind::Website => {
            for (value, info) in labelled_values(&cells) {
                c.urls.push(WebUrl { value, place: info.place, label: info.free });
            }
        }
        GroupKind::Address => {
            let info = cells.label.as_deref().map(parse_label).unwrap_or_default();
            let mut parts = cells.parts;
            if let Some(v) = cells.value {
                parts.push((AddrPart::Formatted, v));
            }
            if let Some(address) = assemble_address(info.place, info.free, &parts) {
                c.addresses.push(address);
            }
        }
        GroupKind::Event => {
            let label = cells.label.as_deref().map(|l| strip_star(l.trim()).0.to_string());
            let Some(value) = cells.value else { return };
            if label.as_deref().map(header_key).as_deref() == Some("birthday")
                && c.birthday.is_none()
                && PartialDate::parse(&value, DateOrder::MonthFirst).is_some()
                && c.take_birthday(&value, DateOrder::MonthFirst)
            {
                return;
            }
            if !is_default_noise(&value) {
                let field = match label {
                    Some(l) if !l.is_empty() => format!("Event ({l})"),
                    _ => "Event".to_string(),
                };
                c.extra.push(ExtraField { field, value });
            }
        }
        GroupKind::Other(name) => {
            let Some(value) = cells.value else { return };
            let field = match cells.label.as_deref().map(|l| strip_star(l.trim()).0) {
                Some(l) if !l.is_empty() => format!("{name} ({l})"),
                _ => name,
            };
            c.extra.push(ExtraField { field, value });
        }
    }
}

/// One address from its part columns; `None` when every part is empty.
fn assemble_address(
    place: Option<Place>,
    label: Option<String>,
    parts: &[(AddrPart, String)],
) -> Option<PostalAddress> {
    if parts.is_empty() {
        return None;
    }
    let joined = |part: AddrPart| -> Option<String> {
        let values: Vec<&str> = parts.iter().filter(|(p, _)| *p == part).map(|(_, v)| v.as_str()).collect();
        (!values.is_empty()).then(|| values.join(", "))
    };
    let formatted = joined(AddrPart::Formatted);
    let mut address = PostalAddress {
        place,
        po_box: joined(AddrPart::PoBox),
        extended: joined(AddrPart::Extended),
        street: joined(AddrPart::Street),
        city: joined(AddrPart::City),
        region: joined(AddrPart::Region),
        postal_code: joined(AddrPart::PostalCode),
        country: joined(AddrPart::Country),
        label: formatted.clone().or(label),
    };
    let structured = address.po_box.is_some()
        || address.extended.is_some()
        || address.street.is_some()
        || address.city.is_some()
        || address.region.is_some()
        || address.postal_code.is_some()
        || address.country.is_some();
    if !structured {
        // Only the formatted text: keep it as the street so it is not lost.
        let f = formatted?;
        address.street =
            Some(f.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(", "));
    }
    Some(address)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        // The forms themselves are PartialDate::parse's table test; here: what a cell becomes.
        let birthday = |value: &str| {
            let mut c = Contact::default();
            set_birthday(&mut c, value, "Birthday");
            (c.birthday, c.birthday_text)
        };
        let ymd = |y, m, d| Some(PartialDate { year: y, month: Some(m), day: Some(d) });
        assert_eq!(birthday("4/15/1980"), (ymd(Some(1980), 4, 15), Some("4/15/1980".into())));
        assert_eq!(birthday(" --12-25"), (ymd(None, 12, 25), Some("--12-25".into())));
        for empty in ["", "  ", "0/0/00", "00.00.0000", "0.0.00"] {
            assert_eq!(birthday(empty), (None, None), "{empty:?}");
        }
        for text in ["15-Jan-24", "1980-02-30", "13/13/1980", "sometime in May", "--13-01"] {
            assert_eq!(birthday(text), (None, Some(text.to_string())), "{text:?}");
        }
        let mut c = Contact::default();
        set_birthday(&mut c, "1980-04-15", "Birthday");
        set_birthday(&mut c, "1981-01-01", "Event 1 - Value");
        assert_eq!(c.extra[0].value, "1981-01-01", "a second birthday is kept as an extra field");
    }

    #[test]
    fn birthday_parts_table() {
        let ymd = |y, m, d| PartialDate::new(y, Some(m), Some(d));
        let s = |v: &str| Some(v.to_string());
        let cases = [
            ((s("1970"), s("11"), s("15")), ymd(Some(1970), 11, 15)),
            ((None, s("11"), s("15")), ymd(None, 11, 15)),
            ((s(" 1970 "), s("+1"), s(" 05")), ymd(Some(1970), 1, 5)),
            ((s("1604"), s("2"), s("29")), ymd(None, 2, 29)),
            ((s("1970"), s("2"), s("30")), None),
            ((s("1970"), s("13"), s("1")), None),
            ((s("1970"), s("0"), s("1")), None),
            ((s("1970"), s("1"), s("0")), None),
            ((s("1970"), s("1"), s("32")), None),
            ((s("1970"), s("256"), s("1")), None),
            ((s("1970"), s("1"), s("300")), None),
            ((s("0"), s("1"), s("1")), None),
            ((s("10000"), s("1"), s("1")), None),
            ((s("70000"), s("1"), s("1")), None),
            ((s("abc"), s("1"), s("1")), None),
            ((s("1970"), s("1"), None), None),
            ((None, s("1"), None), None),
        ];
        for ((year, month, day), expected) in cases {
            let case = format!("{year:?} {month:?} {day:?}");
            let mut c = Contact::default();
            set_birthday_from_parts(&mut c, year, month, day, &mut Vec::new(), "t.csv:2");
            assert_eq!(c.birthday, expected, "{case}");
            assert!(c.birthday_text.is_some(), "{case}: the parts as written");
        }
        let mut c = Contact::default();
        set_birthday_from_parts(&mut c, s("1970"), s("11"), None, &mut Vec::new(), "t.csv:2");
        assert_eq!(c.birthday_text.as_deref(), Some("year 1970, month 11"));
    }

    #[test]
    fn labels() {
        let l = parse_label("* Home");
        assert_eq!((l.place, l.kind, l.preferred, l.free), (Some(Place::Home), None, true, None));
        let l = parse_label("Work Fax");
        assert_eq!((l.place, l.kind), (Some(Place::Work), Some(PhoneKind::Fax)));
        let l = parse_label("Mobile");
        assert_eq!((l.place, l.kind), (None, Some(PhoneKind::Mobile)));
        let l = parse_label("Google Voice");
        assert_eq!((l.place, l.kind, l.free.as_deref()), (None, None, Some("Google Voice")));
    }

    #[test]
    fn multi_values_and_primary_marks() {
        let cells = GroupCells {
            label: Some("* Work".into()),
            value: Some("a@x ::: b@x :::  ::: c@x".into()),
            parts: vec![],
        };
        let values = labelled_values(&cells);
        let got: Vec<(&str, bool)> = values.iter().map(|(v, l)| (v.as_str(), l.preferred)).collect();
        assert_eq!(got, [("a@x", true), ("b@x", false), ("c@x", false)]);
        assert!(values.iter().all(|(_, l)| l.place == Some(Place::Work)));
    }
}
