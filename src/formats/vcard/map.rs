//! A parsed card → [`Contact`]: every property to its field, or to `extra` with its reason.

use calcard::vcard::{VCard, VCardEntry, VCardKind, VCardParameterName, VCardProperty, VCardValue};

use super::params::{apple_label, label_phone, label_place, Types};
use super::parse::raw_value;
use super::photo::photo_of;
use super::values::{
    component, entry_text, field_name, name_component, nonempty, owned_nonempty, shorten, value_text,
};
use crate::model::{Contact, DateOrder, Email, ExtraField, Phone, PhoneKind, PostalAddress, WebUrl};

/// Extra-field values longer than this are shortened (they only feed the report).
const MAX_EXTRA_CHARS: usize = 300;

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
