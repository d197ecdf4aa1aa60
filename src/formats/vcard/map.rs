//! A parsed card → [`Contact`]: every property to its field, or to `extra` with its reason.

use calcard::vcard::{VCard, VCardEntry, VCardKind, VCardParameterName, VCardProperty, VCardValue};

use super::params::{apple_label, label_phone, label_place, Types};
use super::parse::raw_value;
use super::photo::photo_of;
use super::values::{
    component, entry_text, field_name, name_component, nonempty, owned_nonempty, value_text,
};
use crate::formats::shorten;
use crate::model::{Contact, DateOrder, Email, ExtraField, Phone, PhoneKind, Place, PostalAddress, WebUrl};

/// Extra-field values longer than this are shortened (they only feed the report).
const MAX_EXTRA_CHARS: usize = 300;

/// Maps a parsed card to a [`Contact`]; whatever has no place goes to `extra`.
pub fn map_card(card: VCard, text: &str, warnings: &mut Vec<String>) -> Contact {
    let labels = apple_labels(&card.entries);
    let date_ordinals = date_ordinals(&card.entries);
    let mut m =
        Mapper { contact: Contact::default(), text, date_ordinal: None, warnings, labels, seen_n: false };
    for (i, mut e) in card.entries.into_iter().enumerate() {
        m.date_ordinal = date_ordinals.get(i).copied().flatten();
        m.entry(&mut e);
    }
    m.unused_labels();
    m.contact
}

/// The contact being built from one card, and what its steps share.
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
    /// An N was read: a later one is ignored.
    seen_n: bool,
}

impl Mapper<'_> {
    /// One property to its field: the table of contents of the mapping.
    fn entry(&mut self, e: &mut VCardEntry) {
        match &e.name {
            VCardProperty::Begin | VCardProperty::End | VCardProperty::Version | VCardProperty::Prodid => {}
            VCardProperty::Rev => {}
            VCardProperty::Kind => self.kind(e),
            VCardProperty::Fn => self.formatted_name(e),
            VCardProperty::N => self.name(e),
            VCardProperty::Nickname => self.nickname(e),
            VCardProperty::Org => self.organisation(e),
            VCardProperty::Title => self.title(e),
            VCardProperty::Bday => self.birthday(e),
            VCardProperty::Email => self.email(e),
            VCardProperty::Tel => self.phone(e),
            VCardProperty::Url => self.url(e),
            VCardProperty::Adr => self.address(e),
            VCardProperty::Photo => self.photo(e),
            VCardProperty::Note => self.note(e),
            VCardProperty::Categories => self.categories(e),
            VCardProperty::Uid => self.uid(e),
            VCardProperty::Other(name) => self.extension(name, e),
            _ => self.extra_entry(e),
        }
    }

    /// KIND: an individual is what every contact is; a group or an organisation is not carried.
    fn kind(&mut self, e: &VCardEntry) {
        if !matches!(e.values.first(), Some(VCardValue::Kind(VCardKind::Individual)) | None) {
            self.extra_entry(e);
        }
    }

    fn formatted_name(&mut self, e: &mut VCardEntry) {
        if self.contact.formatted_name.is_none() {
            self.contact.formatted_name = self.text_of(e);
        }
    }

    /// N: the first one only.
    fn name(&mut self, e: &mut VCardEntry) {
        if std::mem::replace(&mut self.seen_n, true) || self.undecodable(e) {
            return;
        }
        self.contact.family = name_component(e, 0);
        self.contact.given = name_component(e, 1);
        self.contact.additional = name_component(e, 2);
        self.contact.prefix = name_component(e, 3);
        self.contact.suffix = name_component(e, 4);
    }

    /// The API has one nickname field: every nickname (`Nick1,Nick2`, several NICKNAME lines)
    /// goes into it, joined by `, `, each once.
    fn nickname(&mut self, e: &VCardEntry) {
        for v in e.values.iter().filter_map(value_text).filter_map(|v| nonempty(&v)) {
            let nickname = self.contact.nickname.get_or_insert_with(String::new);
            if !nickname.split(", ").any(|n| n.eq_ignore_ascii_case(&v)) {
                if !nickname.is_empty() {
                    nickname.push_str(", ");
                }
                nickname.push_str(&v);
            }
        }
    }

    /// ORG: the organisation, and its units as the one department.
    fn organisation(&mut self, e: &mut VCardEntry) {
        if self.undecodable(e) {
            return;
        }
        let org = component(e, 0);
        let dept: Vec<String> = (1..e.values.len()).filter_map(|i| component(e, i)).collect();
        if self.contact.organization.is_none() && self.contact.department.is_none() {
            self.contact.organization = org;
            self.contact.department = nonempty(&dept.join(", "));
            if dept.len() > 1 {
                self.warnings.push(format!(
                    "ORG units {dept:?} sent as the one department {:?}: the API has a single department field",
                    dept.join(", ")
                ));
            }
        } else {
            self.extra_entry(e);
        }
    }

    fn title(&mut self, e: &mut VCardEntry) {
        if self.contact.title.is_none() {
            self.contact.title = self.text_of(e);
        } else {
            self.extra_entry(e);
        }
    }

    /// BDAY, read from the text as written (see [`Mapper::written`]).
    fn birthday(&mut self, e: &VCardEntry) {
        if self.contact.birthday.is_some() || self.contact.birthday_text.is_some() {
            // A second form of the same date (ALTID pair) or a conflicting one.
            self.extra_entry(e);
            return;
        }
        let written = match e.values.first() {
            Some(VCardValue::PartialDateTime(_)) => self.written(e),
            Some(v) => value_text(v),
            None => None,
        };
        if let Some(written) = written {
            self.contact.take_birthday(&written, DateOrder::Iso);
        }
    }

    fn email(&mut self, e: &mut VCardEntry) {
        let Some(value) = self.text_of(e) else { return };
        let types = Types::of(e);
        let label = self.group_label(e);
        let (place, label) = place_or_label(types.place(), label);
        let preferred = types.pref;
        self.contact.emails.push(Email { value, place, preferred, label });
    }

    /// TEL: kind and place from TYPE, else from an iOS label.
    fn phone(&mut self, e: &mut VCardEntry) {
        let Some(value) = self.text_of(e) else { return };
        let value = match value.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("tel:") => value[4..].trim().to_string(),
            _ => value,
        };
        if value.is_empty() {
            return;
        }
        let types = Types::of(e);
        let mut place = types.place();
        let mut kind = types.phone_kind();
        let mut label = self.group_label(e);
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
        self.contact.phones.push(Phone { value, kind, place, preferred, label });
    }

    fn url(&mut self, e: &mut VCardEntry) {
        let Some(value) = self.text_of(e) else {
            if e.values.first().is_some_and(|v| matches!(v, VCardValue::Binary(_))) {
                self.extra_entry(e);
            }
            return;
        };
        let label = self.group_label(e);
        let (place, label) = place_or_label(Types::of(e).place(), label);
        self.contact.urls.push(WebUrl { value, place, label });
    }

    /// ADR: its seven components; an address with all of them empty is no address.
    fn address(&mut self, e: &mut VCardEntry) {
        if self.undecodable(e) {
            return;
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
            return;
        }
        let label = self.group_label(e).or_else(|| {
            e.parameters(&VCardParameterName::Label).find_map(|v| v.as_text()).and_then(nonempty)
        });
        (adr.place, adr.label) = place_or_label(adr.place, label);
        self.contact.addresses.push(adr);
    }

    /// PHOTO: the first one ([`photo_of`]).
    fn photo(&mut self, e: &mut VCardEntry) {
        if self.contact.photo.is_none() {
            self.contact.photo = photo_of(e);
        } else {
            self.extra_entry(e);
        }
    }

    fn note(&mut self, e: &mut VCardEntry) {
        if let Some(n) = self.text_of(e) {
            self.contact.notes.push(n);
        }
    }

    /// CATEGORIES: every item of every line, each once.
    fn categories(&mut self, e: &VCardEntry) {
        for v in &e.values {
            let items: Vec<String> = match v {
                VCardValue::Component(parts) => parts.clone(),
                other => value_text(other).into_iter().collect(),
            };
            for item in items.iter().filter_map(|s| nonempty(s)) {
                if !self.contact.categories.contains(&item) {
                    self.contact.categories.push(item);
                }
            }
        }
    }

    fn uid(&mut self, e: &mut VCardEntry) {
        if self.contact.uid.is_none() {
            self.contact.uid = self.text_of(e);
        }
    }

    /// `X-` properties: the few this tool knows, the others not carried.
    fn extension(&mut self, name: &str, e: &VCardEntry) {
        let upper = name.to_ascii_uppercase();
        match upper.as_str() {
            "X-ABLABEL" => {} // see `unused_labels`
            "X-ABSHOWAS" => {}
            "X-ORANGE-CONTACTS-SOURCE" => {} // where an export came from (export::backup), like PRODID
            "X-ORANGE-MARITALSTATUS" => {
                let text = entry_text(e);
                match text.trim().parse::<u8>() {
                    Ok(v) => self.contact.marital_status = Some(v),
                    Err(_) => self.extra(name, text),
                }
            }
            "X-ANDROID-CUSTOM" => {
                let text = entry_text(e);
                let mut parts = text.split(';');
                let mime = parts.next().unwrap_or("").trim();
                let value = parts.next().and_then(nonempty);
                if mime.eq_ignore_ascii_case("vnd.android.cursor.item/nickname") && value.is_some() {
                    if self.contact.nickname.is_none() {
                        self.contact.nickname = value;
                    } else if self.contact.nickname != value {
                        self.extra(name, text);
                    }
                } else {
                    self.extra(name, text);
                }
            }
            _ => self.extra_entry(e),
        }
    }

    /// Labels no property claimed (their group has no mapped property) are not carried.
    fn unused_labels(&mut self) {
        let unused: Vec<String> =
            self.labels.iter().filter(|(_, _, used)| !used).map(|(_, l, _)| l.clone()).collect();
        for label in unused {
            self.extra("X-ABLabel", apple_label(&label));
        }
    }
}

// What the steps read entries and report fields with.
impl Mapper<'_> {
    /// A field not carried: to `extra`, its value shortened (it only feeds the report).
    fn extra(&mut self, field: impl Into<String>, value: impl AsRef<str>) {
        let value = value.as_ref().trim();
        if value.is_empty() {
            return;
        }
        self.contact.extra.push(ExtraField { field: field.into(), value: shorten(value, MAX_EXTRA_CHARS) });
    }

    /// The whole entry not carried, under its property name.
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

    /// Whether the entry's value is bytes its charset could not decode: it is then reported and
    /// dropped ([`Mapper::text_of`]).
    fn undecodable(&mut self, e: &mut VCardEntry) -> bool {
        let binary = matches!(e.values.first(), Some(VCardValue::Binary(_)));
        if binary {
            self.text_of(e);
        }
        binary
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

/// The card's `X-ABLabel`s by group, none used yet.
fn apple_labels(entries: &[VCardEntry]) -> Vec<(String, String, bool)> {
    entries
        .iter()
        .filter(|e| matches!(&e.name, VCardProperty::Other(n) if n.eq_ignore_ascii_case("X-ABLabel")))
        .filter_map(|e| Some((e.group.clone()?, entry_text(e), false)))
        .collect()
}

/// A label that only says home / work / other is the value's place (unless TYPE gave one), not
/// a label.
fn place_or_label(place: Option<Place>, label: Option<String>) -> (Option<Place>, Option<String>) {
    match label.as_deref().and_then(label_place) {
        Some(p) => (place.or(Some(p)), None),
        None => (place, label),
    }
}
