//! The mapping between the format-agnostic [`Contact`] and the Personal Contacts API, both ways.
//!
//! [`to_api`] decides what one input record becomes: the `addcontact` parameters, the
//! `adddevice` calls, the `addpicture` upload, and — with a reason each — everything the API
//! cannot carry. [`from_api`] reads a `getcontact` (+ `getpicture`) answer back into a
//! [`Contact`] for export. Both are pure; the rules, with their reasons, are in `docs/mapping.md`.

mod stored;

use std::borrow::Cow;
use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::dedup;
use crate::model::{Contact, Email, PartialDate, Phone, PhoneKind, Photo, Place, PostalAddress, WebUrl};
use crate::photo;
pub use crate::photo::PlannedPhoto;
use crate::wire::search::fold;
use crate::wire::{
    Address, Civility, ContactDetail, Device, DeviceSubtype, DeviceType, ImageType, NewContact, NewDevice,
    Picture,
};
pub use stored::{to_stored, StoredPicture};

/// Largest picture sent by default (the sandbox's default limit too).
pub const DEFAULT_MAX_PICTURE_BYTES: usize = 1024 * 1024;

/// The reasons [`Dropped`] entries carry, shared so reports and tests name them identically.
pub mod reason {
    pub const NO_IDENTITY: &str = "no name, nickname or company";
    pub const PLACE: &str = "the API cannot record home/work on a device";
    pub const LABEL: &str = "the API has no device labels";
    pub const PAGER: &str = "the API has no pager subtype; sent as a voice number";
    pub const PHONE_NO_DIGITS: &str = "phone number has no digits";
    pub const PARTIAL_BIRTHDAY: &str = "API birthday needs a full date";
    pub const INVALID_BIRTHDAY: &str = "not a valid calendar date";
    pub const BIRTHDAY_TEXT: &str = "birthday is not a readable date";
    pub const PREFIX: &str = "no civility code for this prefix; the API has no title field";
    pub const SUFFIX: &str = "the API has no name suffix field";
    pub const FORMATTED_NAME: &str = "the API has no display name; export rebuilds it from the names";
    pub const ADDRESS: &str = "the API cannot write addresses (addcontact/adddevice take none)";
    pub const NOTE: &str = "the API has no notes field";
    pub const CATEGORIES: &str = "the API has no groups or categories";
    pub const EXTRA: &str = "the API has no field for it";
    pub const MARITAL_STATUS: &str = "the API cannot write the marital status";
    pub const PHOTO_LINK: &str = "photo is a link; not downloaded";
    pub const PHOTO_UNREADABLE: &str = "photo is unreadable";
}

/// Settings of the mapping that come from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingOptions {
    /// Region (ISO 3166 alpha-2) for phone numbers written without a country code.
    pub region: String,
    /// Largest picture to upload; bigger ones are downscaled.
    pub max_picture_bytes: usize,
}

impl Default for MappingOptions {
    fn default() -> Self {
        MappingOptions { region: "FR".to_string(), max_picture_bytes: DEFAULT_MAX_PICTURE_BYTES }
    }
}

/// One `adddevice` call, before the contact id is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PlannedDevice {
    pub kind: DeviceType,
    pub subtype: DeviceSubtype,
    /// 1-based display order within the device type.
    pub order: u32,
    pub value: String,
}

impl PlannedDevice {
    pub fn to_new_device(&self, cid: &str) -> NewDevice {
        NewDevice {
            cid: cid.to_string(),
            kind: self.kind.clone(),
            subtype: self.subtype.clone(),
            order: self.order,
            value: self.value.clone(),
        }
    }
}

/// Something the input had that the API cannot carry, for the report. Field names and reasons
/// are mostly constants: `Cow` spares an allocation for each of the many entries a file makes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dropped {
    /// vCard-style name of what was dropped: `ADR;TYPE=HOME`, `TEL;TYPE=WORK`, `NOTE`, `PHOTO`, …
    pub field: Cow<'static, str>,
    pub value: String,
    pub reason: Cow<'static, str>,
}

impl Dropped {
    fn new(
        field: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Dropped {
        Dropped { field: field.into(), value: value.into(), reason: reason.into() }
    }
}

/// What one input record becomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapped {
    /// `addcontact` parameters (the id comes from the server).
    pub contact: NewContact,
    /// `adddevice` calls, in order: emails, phones, urls.
    pub devices: Vec<PlannedDevice>,
    /// Moved to the run's photo spool before a record is spooled itself.
    #[serde(skip)]
    pub photo: Option<PlannedPhoto>,
    pub dropped: Vec<Dropped>,
    /// Remarks on how values were mapped (no data lost): `name derived from FN`, duplicates
    /// collapsed, photo converted.
    pub notes: Vec<String>,
    /// What the user should know about this record's mapping (a name made up from a phone
    /// number): the report shows these with the record.
    pub warnings: Vec<String>,
    /// Why the record cannot be sent at all (then nothing should be called for it).
    pub invalid: Option<String>,
    /// The name the record is matched by, [`dedup::key_of_new`] of `contact`: computed once here,
    /// where records are mapped in parallel, rather than by each consumer.
    pub person_key: Option<String>,
}

/// Maps one input record to API calls. Never fails: what cannot be sent goes to `dropped`, and a
/// record that cannot be sent at all has `invalid` set.
pub fn to_api(c: &Contact, opts: &MappingOptions) -> Mapped {
    let mut m = Mapped {
        contact: NewContact::default(),
        devices: Vec::with_capacity(c.emails.len() + c.phones.len() + c.urls.len()),
        photo: None,
        dropped: Vec::new(),
        notes: Vec::new(),
        warnings: Vec::new(),
        invalid: None,
        person_key: None,
    };

    let names = name_fields(c);
    if names.derived_from_fn {
        m.notes.push("name derived from FN".to_string());
    }
    if let Some(additional) = &names.appended_additional {
        m.notes.push(format!("additional name {additional:?} appended to firstname"));
    }
    if let (Some(from), Some(nickname)) = (names.nickname_from, &names.nickname) {
        m.warnings.push(format!(
            "no name, nickname or company: imported under the nickname {nickname:?}, its {from}"
        ));
    }
    m.contact.firstname = names.firstname;
    m.contact.lastname = names.lastname;
    m.contact.nickname = names.nickname;
    m.contact.company = names.company;
    m.contact.department = clean_opt(&c.department);
    m.contact.function = clean_opt(&c.title);

    if !names.derived_from_fn {
        if let Some(fn_) = clean_opt(&c.formatted_name) {
            if !formatted_name_is_rebuilt(&fn_, c) {
                m.dropped.push(Dropped::new("FN", fn_, reason::FORMATTED_NAME));
            }
        }
    }

    if let Some(prefix) = clean_opt(&c.prefix) {
        let (civility, rest) = parse_civility(&prefix);
        m.contact.civility = civility;
        if let Some(rest) = rest {
            m.dropped.push(Dropped::new("N (prefix)", rest, reason::PREFIX));
        }
    }
    if let Some(suffix) = clean_opt(&c.suffix) {
        m.dropped.push(Dropped::new("N (suffix)", suffix, reason::SUFFIX));
    }

    // A birthday that is not sent is reported as the source wrote it.
    let written = clean_opt(&c.birthday_text);
    match (&c.birthday, written) {
        (Some(b), written) => match b.to_iso() {
            Some(iso) => m.contact.birthday = Some(iso),
            None => {
                let reason =
                    if b.is_complete() { reason::INVALID_BIRTHDAY } else { reason::PARTIAL_BIRTHDAY };
                m.dropped.push(Dropped::new("BDAY", written.unwrap_or_else(|| show_partial_date(b)), reason))
            }
        },
        (None, Some(text)) => m.dropped.push(Dropped::new("BDAY", text, reason::BIRTHDAY_TEXT)),
        (None, None) => {}
    }

    map_emails(c, &mut m);
    map_phones(c, &opts.region, &mut m);
    map_urls(c, &mut m);
    map_photo(c, opts.max_picture_bytes, &mut m);
    drop_unsendable(c, &mut m);

    if !m.contact.has_identity() {
        m.invalid = Some(reason::NO_IDENTITY.to_string());
    }
    m.person_key = dedup::key_of_new(&m.contact);
    m
}

/// The four identifying `addcontact` fields `to_api` would send (everything else default): the
/// name a contact is matched by, without mapping the rest of it.
pub fn identity(c: &Contact) -> NewContact {
    let n = name_fields(c);
    NewContact {
        firstname: n.firstname,
        lastname: n.lastname,
        nickname: n.nickname,
        company: n.company,
        ..NewContact::default()
    }
}

/// Reads a `getcontact` answer (and the contact's picture) back into a [`Contact`].
pub fn from_api(d: &ContactDetail, picture: Option<&Picture>) -> Contact {
    let text = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let mut c = Contact {
        given: text(&d.firstname),
        family: text(&d.lastname),
        nickname: text(&d.nickname),
        organization: text(&d.company),
        department: text(&d.department),
        title: text(&d.function),
        prefix: match d.civility {
            Some(Civility::Mr) => Some("Mr".to_string()),
            Some(Civility::Mrs) => Some("Mrs".to_string()),
            Some(Civility::Miss) => Some("Miss".to_string()),
            Some(Civility::Unknown) | None => None,
        },
        // 0 is "unknown": nothing to export.
        marital_status: d.maritalstatus.filter(|m| *m != 0),
        ..Contact::default()
    };
    if let Some(b) = text(&d.birthday) {
        match PartialDate::from_iso(&b) {
            Some(date) => c.birthday = Some(date),
            None => c.birthday_text = Some(b),
        }
    }

    // Devices by type, in display order (stable for equal orders). The first of a type is the
    // preferred one when the type has several and it has order 1: the API has no other notion of
    // preference, and marking a lone device preferred would only add noise to exported cards.
    let mut devices: Vec<&Device> = d.devices.iter().filter(|dv| !dv.value.trim().is_empty()).collect();
    devices.sort_by_key(|dv| dv.order);
    let count = |kind: &DeviceType| devices.iter().filter(|dv| &dv.kind == kind).count();
    let (n_email, n_phone) = (count(&DeviceType::Email), count(&DeviceType::Phone));
    let mut seen_types: HashSet<&DeviceType> = HashSet::new();
    for dv in devices {
        let first_of_type = seen_types.insert(&dv.kind);
        let preferred = |n: usize| first_of_type && dv.order == 1 && n > 1;
        let value = dv.value.trim().to_string();
        let place = device_place_of(dv.info_type.as_deref());
        match &dv.kind {
            DeviceType::Email => {
                c.emails.push(Email { value, place, preferred: preferred(n_email), label: None })
            }
            DeviceType::Phone => c.phones.push(Phone {
                value,
                kind: match dv.subtype {
                    DeviceSubtype::Mobile => PhoneKind::Mobile,
                    DeviceSubtype::Fax => PhoneKind::Fax,
                    DeviceSubtype::Video => PhoneKind::Video,
                    DeviceSubtype::Voice => PhoneKind::Voice,
                    _ => PhoneKind::Other,
                },
                place,
                preferred: preferred(n_phone),
                label: None,
            }),
            DeviceType::Url => c.urls.push(WebUrl { value, place, label: None }),
            // The picture shows up as a `media` device on some servers; it comes via getpicture.
            DeviceType::Other(kind) if kind.eq_ignore_ascii_case("media") => {}
            DeviceType::Other(kind) => c.extra.push(crate::model::ExtraField {
                field: format!("device {kind}/{}", dv.subtype.request_str()),
                value,
            }),
        }
    }

    c.addresses = d.addresses.iter().filter_map(address_from_api).collect();

    if let Some(p) = picture.filter(|p| !p.content.is_empty()) {
        let media_type = p.image_type.or_else(|| ImageType::sniff(&p.content)).map(|t| t.mime().to_string());
        c.photo = Some(Photo::Inline { bytes: p.content.clone(), media_type });
    }

    let full: Vec<&str> = [&c.given, &c.family].into_iter().filter_map(|s| s.as_deref()).collect();
    c.formatted_name = if full.is_empty() {
        c.nickname.clone().or_else(|| c.organization.clone())
    } else {
        Some(full.join(" "))
    };
    c
}

// ---------------------------------------------------------------------------------------------
// Names

struct NameFields {
    firstname: Option<String>,
    lastname: Option<String>,
    nickname: Option<String>,
    company: Option<String>,
    derived_from_fn: bool,
    appended_additional: Option<String>,
    /// What the nickname was made from when the record has no name at all.
    nickname_from: Option<&'static str>,
}

fn name_fields(c: &Contact) -> NameFields {
    let mut given = clean_opt(&c.given);
    let mut family = clean_opt(&c.family);
    let mut nickname = clean_opt(&c.nickname);
    let company = clean_opt(&c.organization);
    let additional = clean_opt(&c.additional);
    let mut derived_from_fn = false;

    if given.is_none() && family.is_none() && additional.is_none() {
        if let Some(fn_) = clean_opt(&c.formatted_name) {
            if let Some((first, last)) = split_formatted_name(&fn_, nickname.as_deref(), company.as_deref()) {
                given = first;
                family = Some(last);
                derived_from_fn = true;
            }
        }
    }

    // The API has no middle-name field: the additional names go after the given name, where a
    // person reading the firstname expects them (`Jean Pierre`), rather than being lost.
    let mut appended_additional = None;
    if let Some(add) = additional {
        given = Some(match given {
            Some(g) => format!("{g} {add}"),
            None => add.clone(),
        });
        appended_additional = Some(add);
    }

    // Nothing names the record, but a phone shows such a contact by its number: so does the
    // API's, as its nickname. Deterministic, so the next run finds it by the same name.
    let mut nickname_from = None;
    if given.is_none() && family.is_none() && nickname.is_none() && company.is_none() {
        if let Some((name, from)) = name_from_devices(c) {
            nickname = Some(name);
            nickname_from = Some(from);
        }
    }

    NameFields {
        firstname: given,
        lastname: family,
        nickname,
        company,
        derived_from_fn,
        appended_additional,
        nickname_from,
    }
}

/// A name for a record that has none: its first phone number with digits, else its first
/// email address, each preferred first then in source order, as sent.
fn name_from_devices(c: &Contact) -> Option<(String, &'static str)> {
    // `min_by_key` keeps the first of equal keys: preferred first, then source order.
    let phone = c
        .phones
        .iter()
        .filter(|p| p.value.chars().any(|ch| ch.is_ascii_digit()))
        .filter_map(|p| Some((!p.preferred, clean(&p.value)?)))
        .min_by_key(|(not_preferred, _)| *not_preferred);
    if let Some((_, phone)) = phone {
        return Some((phone, "phone number"));
    }
    let email = c
        .emails
        .iter()
        .filter_map(|e| Some((!e.preferred, clean(&e.value)?)))
        .min_by_key(|(not_preferred, _)| *not_preferred);
    email.map(|(_, email)| (email, "email address"))
}

/// Names from a display name when N is empty: `Smith, John` → (John, Smith); `Jean de la
/// Fontaine` → (Jean de la, Fontaine); `Madonna` → (-, Madonna). A display name that is only the
/// company or nickname (company cards), an email address or a phone number is not a person's
/// name and gives nothing.
fn split_formatted_name(
    fn_: &str,
    nickname: Option<&str>,
    company: Option<&str>,
) -> Option<(Option<String>, String)> {
    if fn_.contains('@') || !fn_.chars().any(char::is_alphabetic) {
        return None;
    }
    let key = compact(fn_);
    if [nickname, company].into_iter().flatten().any(|other| compact(other) == key) {
        return None;
    }
    if let Some((last, first)) = fn_.split_once(',') {
        let (last, first) = (clean(last), clean(first));
        return last.map(|l| (first, l));
    }
    let mut words: Vec<&str> = fn_.split_whitespace().collect();
    let last = words.pop()?.to_string();
    let first = (!words.is_empty()).then(|| words.join(" "));
    Some((first, last))
}

/// Whether export would rebuild an equivalent FN from what the API keeps, so dropping FN loses
/// nothing. Compared folded and without punctuation or spaces.
fn formatted_name_is_rebuilt(fn_: &str, c: &Contact) -> bool {
    // Most cards spell FN as `given [additional] family` exactly: no need to fold anything.
    let usual = [&c.given, &c.additional, &c.family].map(|s| s.as_deref().map_or("", str::trim));
    if spelled_by(fn_, usual.into_iter().filter(|s| !s.is_empty())) {
        return true;
    }
    let key = compact(fn_);
    // `compact` works character by character, so the key of a concatenation is the
    // concatenation of the keys: each part is folded once, and no candidate string is built.
    fn raw(s: &Option<String>) -> &str {
        s.as_deref().unwrap_or("")
    }
    let (g, a, f) = (compact(raw(&c.given)), compact(raw(&c.additional)), compact(raw(&c.family)));
    let (p, s) = (compact(raw(&c.prefix)), compact(raw(&c.suffix)));
    let orders: [(&[&str], &[&Option<String>]); 8] = [
        (&[&g, &a, &f], &[&c.given, &c.additional, &c.family]),
        (&[&g, &f], &[&c.given, &c.family]),
        (&[&f, &g, &a], &[&c.family, &c.given, &c.additional]),
        (&[&f, &g], &[&c.family, &c.given]),
        (&[&p, &g, &a, &f, &s], &[&c.prefix, &c.given, &c.additional, &c.family, &c.suffix]),
        (&[&p, &g, &f, &s], &[&c.prefix, &c.given, &c.family, &c.suffix]),
        (&[&p, &g, &f], &[&c.prefix, &c.given, &c.family]),
        (&[&g, &f, &s], &[&c.given, &c.family, &c.suffix]),
    ];
    let spells_key = |parts: &[&str]| {
        let mut rest = key.as_str();
        for part in parts {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    };
    let any_present = |fields: &[&Option<String>]| fields.iter().any(|f| !raw(f).is_empty());
    orders.iter().any(|(parts, fields)| any_present(fields) && spells_key(parts))
        || [&c.nickname, &c.organization].into_iter().any(|v| !raw(v).is_empty() && compact(raw(v)) == key)
}

/// Whether `text` is the non-empty `parts` joined by single spaces (and is not empty).
fn spelled_by<'a>(text: &str, parts: impl Iterator<Item = &'a str>) -> bool {
    let mut rest = text;
    for (i, part) in parts.enumerate() {
        if i > 0 {
            let Some(r) = rest.strip_prefix(' ') else { return false };
            rest = r;
        }
        let Some(r) = rest.strip_prefix(part) else { return false };
        rest = r;
    }
    rest.is_empty() && !text.is_empty()
}

/// Folded, with only letters and digits kept: the comparison key for display names.
fn compact(s: &str) -> String {
    fold(s).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Reads a name prefix into a civility code. Returns the code of the first recognised word and
/// the words that are not civilities (`Dr`, `Prof`), which the API cannot keep.
pub(crate) fn parse_civility(prefix: &str) -> (Option<Civility>, Option<String>) {
    let mut civility = None;
    let mut rest = Vec::new();
    for word in prefix.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()) {
        match civility_of(word) {
            Some(code) if civility.is_none() => civility = Some(code),
            Some(_) => {} // a second civility word says nothing more
            None => rest.push(word),
        }
    }
    (civility, (!rest.is_empty()).then(|| rest.join(" ")))
}

/// The prefix words that name a civility, folded (lower case, no accents) and without dots: the
/// one table import, `check` and `sandbox seed` read prefixes with. English, French, German,
/// Spanish, Italian and Dutch forms.
pub const CIVILITY_WORDS: &[(&str, Civility)] = &[
    ("mr", Civility::Mr),
    ("m", Civility::Mr),
    ("mister", Civility::Mr),
    ("monsieur", Civility::Mr),
    ("herr", Civility::Mr),
    ("sr", Civility::Mr),
    ("senor", Civility::Mr),
    ("sig", Civility::Mr),
    ("signor", Civility::Mr),
    ("signore", Civility::Mr),
    ("dhr", Civility::Mr),
    ("mrs", Civility::Mrs),
    ("ms", Civility::Mrs),
    ("mme", Civility::Mrs),
    ("madame", Civility::Mrs),
    ("frau", Civility::Mrs),
    ("sra", Civility::Mrs),
    ("senora", Civility::Mrs),
    ("sigra", Civility::Mrs),
    ("signora", Civility::Mrs),
    ("mevr", Civility::Mrs),
    ("miss", Civility::Miss),
    ("mlle", Civility::Miss),
    ("mademoiselle", Civility::Miss),
    ("srta", Civility::Miss),
    ("senorita", Civility::Miss),
    ("signorina", Civility::Miss),
    ("fraulein", Civility::Miss),
    ("frl", Civility::Miss),
];

/// One prefix word, case-, accent- and dot-insensitive ([`CIVILITY_WORDS`]).
fn civility_of(word: &str) -> Option<Civility> {
    let w: String = fold(word).chars().filter(|c| *c != '.').collect();
    CIVILITY_WORDS.iter().find(|(known, _)| *known == w).map(|(_, civility)| *civility)
}

// ---------------------------------------------------------------------------------------------
// Devices

fn place_field(property: &'static str, place: Option<Place>) -> Option<Cow<'static, str>> {
    let field = match (property, place?) {
        (_, Place::Other) => return None,
        ("TEL", Place::Home) => "TEL;TYPE=HOME",
        ("TEL", Place::Work) => "TEL;TYPE=WORK",
        ("EMAIL", Place::Home) => "EMAIL;TYPE=HOME",
        ("EMAIL", Place::Work) => "EMAIL;TYPE=WORK",
        ("ADR", Place::Home) => "ADR;TYPE=HOME",
        ("ADR", Place::Work) => "ADR;TYPE=WORK",
        (_, Place::Home) => return Some(format!("{property};TYPE=HOME").into()),
        (_, Place::Work) => return Some(format!("{property};TYPE=WORK").into()),
    };
    Some(field.into())
}

/// Records the home/work distinction and the label a device value loses.
fn drop_place_and_label(
    m: &mut Mapped,
    property: &'static str,
    place: Option<Place>,
    label: &Option<String>,
    value: &str,
) {
    if let Some(field) = place_field(property, place) {
        m.dropped.push(Dropped::new(field, value, reason::PLACE));
    }
    if let Some(label) = clean_opt(label) {
        let field = match property {
            "TEL" => Cow::Borrowed("TEL label"),
            "EMAIL" => Cow::Borrowed("EMAIL label"),
            "URL" => Cow::Borrowed("URL label"),
            _ => Cow::Owned(format!("{property} label")),
        };
        m.dropped.push(Dropped::new(field, label, reason::LABEL));
    }
}

/// The match keys of one record's devices of a type. Usually a handful, where a list beats a
/// hash set; a hash set takes over past a few dozen (a hostile card with thousands of emails).
#[derive(Default)]
struct Keys {
    few: Vec<String>,
    many: HashSet<String>,
}

impl Keys {
    const FEW: usize = 32;

    /// `false` when `key` was already there.
    fn insert(&mut self, key: String) -> bool {
        if self.few.len() < Self::FEW {
            let fresh = !self.few.contains(&key);
            if fresh {
                self.few.push(key);
            }
            return fresh;
        }
        !self.few.contains(&key) && self.many.insert(key)
    }
}

/// Preferred first, then source order.
fn by_preference<T>(items: &mut [(usize, bool, T)]) {
    items.sort_by_key(|(idx, preferred, _)| (!*preferred, *idx));
}

fn map_emails(c: &Contact, m: &mut Mapped) {
    let mut emails: Vec<(usize, bool, (&Email, String))> = c
        .emails
        .iter()
        .enumerate()
        .filter_map(|(i, e)| clean(&e.value).map(|v| (i, e.preferred, (e, v))))
        .collect();
    by_preference(&mut emails);

    // emailperso: the first personal (or unqualified) address, preferred first. A work address
    // never goes there: the parameter's name says personal.
    let perso = emails.iter().position(|(_, _, (e, _))| matches!(e.place, None | Some(Place::Home)));
    let mut seen = Keys::default();
    if let Some(pos) = perso {
        let (_, _, (e, value)) = emails.remove(pos);
        seen.insert(dedup::email_key(&value));
        if let Some(label) = clean_opt(&e.label) {
            m.dropped.push(Dropped::new("EMAIL label", label, reason::LABEL));
        }
        m.contact.emailperso = Some(value);
    }

    // When emailperso is set, servers list it as the first email device: number the others after it.
    let mut order = if m.contact.emailperso.is_some() { 2 } else { 1 };
    for (_, _, (e, value)) in emails {
        if !seen.insert(dedup::email_key(&value)) {
            m.notes.push(format!("duplicate email {value} collapsed"));
            continue;
        }
        drop_place_and_label(m, "EMAIL", e.place, &e.label, &value);
        m.devices.push(PlannedDevice {
            kind: DeviceType::Email,
            subtype: DeviceSubtype::Internet,
            order,
            value,
        });
        order += 1;
    }
}

fn map_phones(c: &Contact, region: &str, m: &mut Mapped) {
    let mut phones: Vec<(usize, bool, (&Phone, String))> = c
        .phones
        .iter()
        .enumerate()
        .filter_map(|(i, p)| clean(&p.value).map(|v| (i, p.preferred, (p, v))))
        .collect();
    by_preference(&mut phones);
    let mut seen = Keys::default();
    let mut order = 1;
    for (_, _, (p, value)) in phones {
        let Some(key) = dedup::phone_key(&value, region) else {
            m.dropped.push(Dropped::new("TEL", value, reason::PHONE_NO_DIGITS));
            continue;
        };
        if !seen.insert(key) {
            m.notes.push(format!("duplicate phone {value} collapsed"));
            continue;
        }
        if p.kind == PhoneKind::Pager {
            m.dropped.push(Dropped::new("TEL;TYPE=PAGER", value.clone(), reason::PAGER));
        }
        let subtype = phone_subtype(p.kind);
        drop_place_and_label(m, "TEL", p.place, &p.label, &value);
        m.devices.push(PlannedDevice { kind: DeviceType::Phone, subtype, order, value });
        order += 1;
    }
}

/// The API's subtype for a kind of phone line: the one rule import and `sandbox seed` follow.
/// The API has no pager or other subtype: those are voice numbers (import reports the pager).
pub(crate) fn phone_subtype(kind: PhoneKind) -> DeviceSubtype {
    match kind {
        PhoneKind::Mobile => DeviceSubtype::Mobile,
        PhoneKind::Fax => DeviceSubtype::Fax,
        PhoneKind::Video => DeviceSubtype::Video,
        PhoneKind::Voice | PhoneKind::Pager | PhoneKind::Other => DeviceSubtype::Voice,
    }
}

fn map_urls(c: &Contact, m: &mut Mapped) {
    let mut seen = Keys::default();
    let mut order = 1;
    for u in &c.urls {
        let Some(value) = clean(&u.value) else { continue };
        if !seen.insert(dedup::url_key(&value)) {
            m.notes.push(format!("duplicate url {value} collapsed"));
            continue;
        }
        drop_place_and_label(m, "URL", u.place, &u.label, &value);
        m.devices.push(PlannedDevice { kind: DeviceType::Url, subtype: DeviceSubtype::Web, order, value });
        order += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Photo and what cannot be sent

fn map_photo(c: &Contact, max_bytes: usize, m: &mut Mapped) {
    match &c.photo {
        None => {}
        Some(Photo::Inline { bytes, media_type }) => {
            match photo::prepare(bytes, media_type.as_deref(), max_bytes) {
                Ok(p) => {
                    if let Some(from) = &p.converted_from {
                        m.notes.push(format!("photo converted to JPEG from {from}"));
                    }
                    m.photo = Some(p);
                }
                Err(e) => {
                    let what = match media_type {
                        Some(t) => format!("{} bytes, {t}", bytes.len()),
                        None => format!("{} bytes", bytes.len()),
                    };
                    m.dropped.push(Dropped::new("PHOTO", what, e));
                }
            }
        }
        Some(Photo::Uri(uri)) => m.dropped.push(Dropped::new("PHOTO", uri.trim(), reason::PHOTO_LINK)),
        Some(Photo::Unreadable(why)) => {
            m.dropped.push(Dropped::new("PHOTO", why.as_str(), reason::PHOTO_UNREADABLE))
        }
    }
}

fn drop_unsendable(c: &Contact, m: &mut Mapped) {
    for a in &c.addresses {
        let parts = [&a.po_box, &a.extended, &a.street, &a.postal_code, &a.city, &a.region, &a.country];
        let line: Vec<String> = parts.into_iter().filter_map(clean_opt).collect();
        let line = if line.is_empty() { clean_opt(&a.label).unwrap_or_default() } else { line.join(", ") };
        if !line.is_empty() {
            let field = place_field("ADR", a.place).unwrap_or(Cow::Borrowed("ADR"));
            m.dropped.push(Dropped::new(field, line, reason::ADDRESS));
        }
    }
    for note in c.notes.iter().filter_map(|n| clean(n)) {
        m.dropped.push(Dropped::new("NOTE", note, reason::NOTE));
    }
    let categories: Vec<String> = c.categories.iter().filter_map(|s| clean(s)).collect();
    if !categories.is_empty() {
        m.dropped.push(Dropped::new("CATEGORIES", categories.join(","), reason::CATEGORIES));
    }
    if let Some(status) = c.marital_status {
        m.dropped.push(Dropped::new("maritalstatus", status.to_string(), reason::MARITAL_STATUS));
    }
    for x in &c.extra {
        m.dropped.push(Dropped::new(x.field.clone(), clean(&x.value).unwrap_or_default(), reason::EXTRA));
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/// A value as sent: control characters removed (newlines and tabs become spaces), whitespace
/// runs collapsed, trimmed; `None` when nothing is left.
pub(crate) fn clean(s: &str) -> Option<String> {
    // Most values are already clean: copy them as they are rather than character by character.
    if is_clean(s) {
        Some(s.to_string())
    } else {
        clean_chars(s)
    }
}

/// Whether [`clean_chars`] would give `s` back unchanged: not empty, no blank at either end,
/// single inner spaces, no other whitespace, controls or invisible characters.
fn is_clean(s: &str) -> bool {
    // Byte by byte while ASCII (most values): the same test without decoding characters.
    let mut after_space = true;
    for &b in s.as_bytes() {
        if !b.is_ascii() {
            return is_clean_chars(s);
        }
        if !(b' '..0x7f).contains(&b) || (b == b' ' && after_space) {
            return false;
        }
        after_space = b == b' ';
    }
    !after_space
}

fn is_clean_chars(s: &str) -> bool {
    let mut after_space = true;
    s.chars().all(|c| {
        let ok = if c.is_ascii() {
            (' '..'\x7f').contains(&c) && !(c == ' ' && after_space)
        } else {
            !(c.is_whitespace() || c.is_control() || matches!(c, '\u{feff}' | '\u{200b}'))
        };
        after_space = c == ' ';
        ok
    }) && !after_space
}

fn clean_chars(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        if matches!(c, '\u{feff}' | '\u{200b}') {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    (!out.is_empty()).then_some(out)
}

pub(crate) fn clean_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().and_then(clean)
}

/// `--04-15`, `1980-04`, `1980`, … as vCard writes partial dates.
fn show_partial_date(d: &PartialDate) -> String {
    let y = d.year.map(|y| format!("{y:04}")).unwrap_or_else(|| "-".to_string());
    match (d.month, d.day) {
        (Some(m), Some(day)) => format!("{y}-{m:02}-{day:02}"),
        (Some(m), None) => format!("{y}-{m:02}"),
        (None, Some(day)) => format!("{y}--{day:02}"),
        (None, None) => y,
    }
}

/// `info-type` of a device or address: `perso`/`home` → Home, `pro`/`work` → Work.
fn place_of(info_type: Option<&str>) -> Option<Place> {
    match info_type?.trim().to_ascii_lowercase().as_str() {
        "perso" | "home" | "personal" | "personnel" => Some(Place::Home),
        "pro" | "work" | "professional" | "professionnel" | "business" => Some(Place::Work),
        "other" | "autre" => Some(Place::Other),
        _ => None,
    }
}

/// `info-type` of a device. `perso` is what the API stores for every device `adddevice` wrote
/// (the method has no info-type parameter), so it cannot tell a home number from one nobody
/// labelled: it gives no place, lest every exported device say HOME. `pro` is a real label.
/// Addresses keep [`place_of`]: no API method writes them, so their `info-type` was chosen.
fn device_place_of(info_type: Option<&str>) -> Option<Place> {
    match place_of(info_type) {
        Some(Place::Home) if !info_type?.trim().eq_ignore_ascii_case("home") => None,
        place => place,
    }
}

fn address_from_api(a: &Address) -> Option<PostalAddress> {
    let text = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let lines: Vec<String> = [text(&a.streetline1), text(&a.streetline2)].into_iter().flatten().collect();
    let address = PostalAddress {
        place: place_of(a.info_type.as_deref()),
        street: (!lines.is_empty()).then(|| lines.join("\n")),
        postal_code: text(&a.zip_code),
        city: text(&a.city),
        region: text(&a.state),
        country: text(&a.country),
        ..PostalAddress::default()
    };
    let empty = PostalAddress { place: address.place, ..PostalAddress::default() };
    (address != empty).then_some(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_clean_test_is_the_char_test() {
        for s in [
            "", " ", "a", " a", "a ", "a b", "a  b", "a\tb", "a\x7f", "~", "x\u{a0}", "é", "Zoë Å", "a é",
            "é ",
        ] {
            assert_eq!(is_clean(s), is_clean_chars(s), "{s:?}");
        }
    }

    #[test]
    fn clean_removes_controls_and_collapses_space() {
        assert_eq!(clean("  a\u{0}b \r\n\t c  ").as_deref(), Some("a b c"));
        assert_eq!(clean("\u{feff}x\u{200b}y").as_deref(), Some("xy"));
        assert_eq!(clean(" \u{7} \n"), None);
    }

    #[test]
    fn civility_words() {
        assert_eq!(parse_civility("M."), (Some(Civility::Mr), None));
        assert_eq!(parse_civility("Sra."), (Some(Civility::Mrs), None));
        assert_eq!(parse_civility("Dr. Mlle"), (Some(Civility::Miss), Some("Dr.".to_string())));
        assert_eq!(parse_civility("Prof. Dr."), (None, Some("Prof. Dr.".to_string())));
        assert_eq!(parse_civility("Mr, Mrs"), (Some(Civility::Mr), None));
    }

    #[test]
    fn formatted_name_split() {
        let split = |s| split_formatted_name(s, None, Some("ACME"));
        assert_eq!(split("Jean Dupont"), Some((Some("Jean".into()), "Dupont".into())));
        assert_eq!(split("Dupont ,  Jean"), Some((Some("Jean".into()), "Dupont".into())));
        assert_eq!(split(", Jean"), None);
        assert_eq!(split("acme"), None);
        assert_eq!(split("a@b.fr"), None);
        assert_eq!(split("06 12 34 56 78"), None);
    }

    #[test]
    fn only_additional_name_is_not_doubled_by_fn() {
        let c = Contact {
            additional: Some("Pierre".into()),
            formatted_name: Some("Pierre".into()),
            ..Contact::default()
        };
        let n = name_fields(&c);
        assert_eq!((n.firstname.as_deref(), n.lastname.as_deref()), (Some("Pierre"), None));
        assert!(!n.derived_from_fn);
    }

    #[test]
    fn partial_dates_are_shown_as_vcard_writes_them() {
        let d = |year, month, day| PartialDate { year, month, day };
        assert_eq!(show_partial_date(&d(None, Some(4), Some(5))), "--04-05");
        assert_eq!(show_partial_date(&d(Some(1980), Some(4), None)), "1980-04");
        assert_eq!(show_partial_date(&d(Some(1980), None, None)), "1980");
        assert_eq!(show_partial_date(&d(None, None, Some(9))), "---09");
    }

    #[test]
    fn a_record_with_only_a_phone_or_an_email_is_named_after_it() {
        let phone = |value: &str, preferred| Phone {
            value: value.into(),
            kind: PhoneKind::Mobile,
            place: None,
            preferred,
            label: None,
        };
        let email = |value: &str| Email { value: value.into(), place: None, preferred: false, label: None };
        let c = Contact {
            phones: vec![
                phone("no digits", true),
                phone(" 06 12 34 56 78", false),
                phone("0700000000", true),
            ],
            emails: vec![email("a@example.org")],
            ..Contact::default()
        };
        let m = to_api(&c, &MappingOptions::default());
        assert_eq!(m.invalid, None);
        assert_eq!(m.contact.nickname.as_deref(), Some("0700000000"), "the preferred number with digits");
        assert!(m.warnings[0].contains("phone number"), "{:?}", m.warnings);
        assert_eq!(identity(&c).nickname, m.contact.nickname, "matched by the name it is sent with");

        let c = Contact { emails: vec![email("\u{200b}"), email(" b@example.org ")], ..Contact::default() };
        let m = to_api(&c, &MappingOptions::default());
        assert_eq!(m.contact.nickname.as_deref(), Some("b@example.org"));
        assert!(m.warnings[0].contains("email address"), "{:?}", m.warnings);

        // A record with a name of its own is left as it is.
        let c = Contact {
            organization: Some("ACME".into()),
            emails: vec![email("b@example.org")],
            ..Contact::default()
        };
        let m = to_api(&c, &MappingOptions::default());
        assert_eq!((m.contact.nickname, m.warnings.len()), (None, 0));
    }

    #[test]
    fn info_types() {
        assert_eq!(place_of(Some(" PERSO ")), Some(Place::Home));
        assert_eq!(place_of(Some("pro")), Some(Place::Work));
        assert_eq!(place_of(Some("work")), Some(Place::Work));
        assert_eq!(place_of(Some("x")), None);
        assert_eq!(place_of(None), None);
        // Devices: `perso` is the API's default, not a label.
        assert_eq!(device_place_of(Some(" PERSO ")), None);
        assert_eq!(device_place_of(Some("personal")), None);
        assert_eq!(device_place_of(Some("home")), Some(Place::Home));
        assert_eq!(device_place_of(Some("pro")), Some(Place::Work));
        assert_eq!(device_place_of(Some("other")), Some(Place::Other));
        assert_eq!(device_place_of(None), None);
    }

    #[test]
    fn device_keys_are_unique_past_the_small_list() {
        let mut keys = Keys::default();
        for round in 0..2 {
            for i in 0..100 {
                assert_eq!(keys.insert(format!("k{i}")), round == 0, "k{i} round {round}");
            }
        }
    }

    #[test]
    fn clean_copies_clean_values_and_fixes_the_others_alike() {
        let samples = [
            "Jean Dupont",
            "Hélène Lefèvre",
            "佐藤 美咲",
            "",
            " ",
            "  lead",
            "trail ",
            "two  spaces",
            "tab\there",
            "nbsp\u{a0}inside",
            "zero\u{200b}width",
            "\u{feff}bom",
            "ctrl\u{85}x",
            "del\x7f",
            "a",
            "ß",
            "line\r\nbreak",
        ];
        for s in samples {
            // The copy taken for clean values is exactly what the character pass gives.
            if is_clean(s) {
                assert_eq!(clean_chars(s).as_deref(), Some(s), "{s:?}");
            }
            assert_eq!(clean(s), clean_chars(s), "{s:?}");
        }
        assert!(is_clean("Hélène Lefèvre") && is_clean("佐藤 美咲"));
        assert!(!is_clean("two  spaces") && !is_clean("nbsp\u{a0}inside") && !is_clean(""));
    }
}
