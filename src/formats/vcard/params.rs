//! What TYPE parameters and Apple labels say about a value: home / work, phone kind, preference.

use calcard::vcard::{VCardEntry, VCardParameterName, VCardParameterValue, VCardType};

use crate::model::{PhoneKind, Place};

/// What an entry's TYPE values and bare 2.1 params (`TEL;CELL;PREF`) say, read without
/// allocating (this runs for every TEL/EMAIL/URL/ADR).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Types {
    home: bool,
    work: bool,
    other: bool,
    pub(super) pref: bool,
    cell: bool,
    fax: bool,
    pager: bool,
    video: bool,
}

impl Types {
    pub(super) fn of(e: &VCardEntry) -> Types {
        let mut t = Types::default();
        for p in &e.params {
            match (&p.name, &p.value) {
                (VCardParameterName::Pref, _) => t.pref = true,
                (VCardParameterName::Type, VCardParameterValue::Type(x)) => match x {
                    VCardType::Home => t.home = true,
                    VCardType::Work => t.work = true,
                    VCardType::Cell => t.cell = true,
                    VCardType::Fax => t.fax = true,
                    VCardType::Pager => t.pager = true,
                    VCardType::Video => t.video = true,
                    _ => {}
                },
                (VCardParameterName::Type, v) => {
                    if let Some(text) = v.as_text() {
                        text.split(',').for_each(|tok| t.token(tok.trim()));
                    }
                }
                (VCardParameterName::Other(name), VCardParameterValue::Null) => t.token(name),
                _ => {}
            }
        }
        t
    }

    fn token(&mut self, tok: &str) {
        let is = |name: &str| tok.eq_ignore_ascii_case(name);
        if is("home") {
            self.home = true;
        } else if is("work") {
            self.work = true;
        } else if is("other") {
            self.other = true;
        } else if is("pref") {
            self.pref = true;
        } else if is("cell") || is("mobile") || is("x-mobil") || is("x-mobile") || is("iphone") {
            self.cell = true;
        } else if is("fax") {
            self.fax = true;
        } else if is("pager") {
            self.pager = true;
        } else if is("video") {
            self.video = true;
        }
    }

    pub(super) fn place(&self) -> Option<Place> {
        if self.home {
            Some(Place::Home)
        } else if self.work {
            Some(Place::Work)
        } else if self.other {
            Some(Place::Other)
        } else {
            None
        }
    }

    pub(super) fn phone_kind(&self) -> PhoneKind {
        if self.fax {
            PhoneKind::Fax
        } else if self.pager {
            PhoneKind::Pager
        } else if self.cell {
            PhoneKind::Mobile
        } else if self.video {
            PhoneKind::Video
        } else {
            PhoneKind::Voice
        }
    }
}

/// `_$!<HomePage>!$_` → `HomePage`; other labels unchanged.
pub fn apple_label(label: &str) -> &str {
    let l = label.trim();
    l.strip_prefix("_$!<").and_then(|s| s.strip_suffix(">!$_")).unwrap_or(l)
}

/// A label that only says home / work / other.
pub(super) fn label_place(label: &str) -> Option<Place> {
    match label.trim().to_ascii_lowercase().as_str() {
        "home" => Some(Place::Home),
        "work" => Some(Place::Work),
        "other" => Some(Place::Other),
        _ => None,
    }
}

/// What an iOS phone label says: (kind, place, fully understood).
pub(super) fn label_phone(label: &str) -> (Option<PhoneKind>, Option<Place>, bool) {
    match label.trim().to_ascii_lowercase().as_str() {
        "mobile" | "iphone" | "cell" => (Some(PhoneKind::Mobile), None, true),
        "homefax" | "home fax" => (Some(PhoneKind::Fax), Some(Place::Home), true),
        "workfax" | "work fax" => (Some(PhoneKind::Fax), Some(Place::Work), true),
        "otherfax" | "other fax" | "fax" => (Some(PhoneKind::Fax), None, true),
        "pager" => (Some(PhoneKind::Pager), None, true),
        "home" => (None, Some(Place::Home), true),
        "work" => (None, Some(Place::Work), true),
        "other" => (None, Some(Place::Other), true),
        _ => (None, None, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apple_labels() {
        assert_eq!(apple_label("_$!<HomePage>!$_"), "HomePage");
        assert_eq!(apple_label("iPhone"), "iPhone");
    }
}
