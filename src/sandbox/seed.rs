//! `sandbox seed`: turns a contact read from a vCard into what the store keeps, with every field
//! the API can show, including those the API itself cannot write (addresses, marital status).

use crate::model::{Contact, PhoneKind, Photo, Place, PostalAddress};
use crate::wire::{Address, Civility, ContactDetail, Device, DeviceSubtype, DeviceType, ImageType};

/// A picture the store accepts: bytes and their sniffed format.
pub type StoredPicture = (Vec<u8>, ImageType);

/// A contact ready for [`super::store::Store::insert_contact`], or `None` when it has nothing to
/// name it by (no name, nickname, organisation or formatted name).
pub fn to_stored(contact: &Contact) -> Option<(ContactDetail, Option<StoredPicture>)> {
    let mut detail = ContactDetail {
        firstname: nonblank(&contact.given),
        lastname: nonblank(&contact.family),
        nickname: nonblank(&contact.nickname),
        company: nonblank(&contact.organization),
        function: nonblank(&contact.title),
        department: nonblank(&contact.department),
        civility: contact.prefix.as_deref().and_then(civility),
        maritalstatus: contact.marital_status,
        birthday: contact.birthday.and_then(|b| b.to_iso()),
        ..Default::default()
    };
    if detail.firstname.is_none()
        && detail.lastname.is_none()
        && detail.nickname.is_none()
        && detail.company.is_none()
    {
        // A card with only FN (or only an email) is listed under that.
        let name = contact.display_name();
        if name.trim().is_empty() {
            return None;
        }
        detail.lastname = Some(name.trim().to_string());
    }
    for (i, e) in contact.emails.iter().enumerate() {
        detail.devices.push(device(DeviceType::Email, DeviceSubtype::Internet, e.place, i, &e.value));
    }
    for (i, p) in contact.phones.iter().enumerate() {
        let subtype = match p.kind {
            PhoneKind::Mobile => DeviceSubtype::Mobile,
            PhoneKind::Fax => DeviceSubtype::Fax,
            PhoneKind::Video => DeviceSubtype::Video,
            _ => DeviceSubtype::Voice,
        };
        detail.devices.push(device(DeviceType::Phone, subtype, p.place, i, &p.value));
    }
    for (i, u) in contact.urls.iter().enumerate() {
        detail.devices.push(device(DeviceType::Url, DeviceSubtype::Web, u.place, i, &u.value));
    }
    detail.addresses = contact.addresses.iter().filter_map(address).collect();
    let picture = match &contact.photo {
        Some(Photo::Inline { bytes, .. }) => ImageType::sniff(bytes).map(|kind| (bytes.clone(), kind)),
        _ => None,
    };
    Some((detail, picture))
}

fn nonblank(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Civility from an honorific prefix (English and French forms).
fn civility(prefix: &str) -> Option<Civility> {
    let p = prefix.trim().trim_end_matches('.').to_lowercase();
    match p.as_str() {
        "mr" | "m" | "monsieur" => Some(Civility::Mr),
        "mrs" | "ms" | "mme" | "madame" => Some(Civility::Mrs),
        "miss" | "mlle" | "mademoiselle" => Some(Civility::Miss),
        _ => None,
    }
}

fn info_type(place: Option<Place>) -> &'static str {
    match place {
        Some(Place::Work) => "pro",
        _ => "perso",
    }
}

fn device(
    kind: DeviceType,
    subtype: DeviceSubtype,
    place: Option<Place>,
    index: usize,
    value: &str,
) -> Device {
    Device {
        id: String::new(),
        kind,
        subtype,
        info_type: Some(info_type(place).to_string()),
        order: index as u32 + 1,
        display: true,
        value: value.trim().to_string(),
    }
}

/// ADR → address: street's first line is streetline1; further lines, the extended address and the
/// PO box make streetline2.
fn address(a: &PostalAddress) -> Option<Address> {
    let street = a.street.as_deref().unwrap_or("");
    let mut lines = street.lines().map(str::trim).filter(|l| !l.is_empty());
    let streetline1 = lines.next().map(str::to_string);
    let rest: Vec<String> =
        lines.map(str::to_string).chain(nonblank(&a.extended)).chain(nonblank(&a.po_box)).collect();
    let out = Address {
        info_type: match a.place {
            Some(Place::Home) => Some("home".into()),
            Some(Place::Work) => Some("pro".into()),
            Some(Place::Other) => Some("other".into()),
            None => None,
        },
        streetline1,
        streetline2: (!rest.is_empty()).then(|| rest.join(", ")),
        zip_code: nonblank(&a.postal_code),
        city: nonblank(&a.city),
        state: nonblank(&a.region),
        country: nonblank(&a.country),
    };
    let empty = out.streetline1.is_none()
        && out.streetline2.is_none()
        && out.zip_code.is_none()
        && out.city.is_none()
        && out.state.is_none()
        && out.country.is_none();
    (!empty).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Email, PartialDate, Phone};

    #[test]
    fn every_field_is_kept() {
        let contact = Contact {
            given: Some("Robert".into()),
            family: Some("Smith".into()),
            prefix: Some("Mr.".into()),
            organization: Some("Custland".into()),
            title: Some("CTO".into()),
            birthday: Some(PartialDate { year: Some(1951), month: Some(1), day: Some(1) }),
            marital_status: Some(1),
            emails: vec![Email {
                value: "r@x".into(),
                place: Some(Place::Work),
                preferred: true,
                label: None,
            }],
            phones: vec![
                Phone {
                    value: "06".into(),
                    kind: PhoneKind::Mobile,
                    place: None,
                    preferred: false,
                    label: None,
                },
                Phone {
                    value: "01".into(),
                    kind: PhoneKind::Pager,
                    place: Some(Place::Home),
                    preferred: false,
                    label: None,
                },
            ],
            addresses: vec![PostalAddress {
                place: Some(Place::Home),
                street: Some("24, Fascination Street\nBuilding B".into()),
                extended: Some("Appt 34".into()),
                postal_code: Some("766546".into()),
                city: Some("London".into()),
                region: Some("England".into()),
                country: Some("UK".into()),
                ..Default::default()
            }],
            photo: Some(Photo::Inline { bytes: b"GIF89a\x01\x00\x01\x00".to_vec(), media_type: None }),
            ..Default::default()
        };
        let (d, pic) = to_stored(&contact).unwrap();
        assert_eq!(d.civility, Some(Civility::Mr));
        assert_eq!(d.maritalstatus, Some(1));
        assert_eq!(d.birthday.as_deref(), Some("1951-01-01"));
        assert_eq!(d.function.as_deref(), Some("CTO"));
        assert_eq!(d.devices.len(), 3);
        assert_eq!(d.devices[0].info_type.as_deref(), Some("pro"));
        assert_eq!(d.devices[1].subtype, DeviceSubtype::Mobile);
        assert_eq!(d.devices[2].subtype, DeviceSubtype::Voice);
        assert_eq!(d.devices[2].order, 2);
        let a = &d.addresses[0];
        assert_eq!(a.info_type.as_deref(), Some("home"));
        assert_eq!(a.streetline1.as_deref(), Some("24, Fascination Street"));
        assert_eq!(a.streetline2.as_deref(), Some("Building B, Appt 34"));
        assert_eq!(a.state.as_deref(), Some("England"));
        assert_eq!(pic.unwrap().1, ImageType::Gif);
    }

    #[test]
    fn nameless_cards_fall_back_to_formatted_name_or_are_skipped() {
        let fn_only = Contact { formatted_name: Some("Dr Who".into()), ..Default::default() };
        assert_eq!(to_stored(&fn_only).unwrap().0.lastname.as_deref(), Some("Dr Who"));
        assert!(to_stored(&Contact::default()).is_none());
        let png = Contact {
            nickname: Some("n".into()),
            photo: Some(Photo::Inline { bytes: b"\x89PNG\r\n".to_vec(), media_type: None }),
            ..Default::default()
        };
        assert!(to_stored(&png).unwrap().1.is_none());
    }
}
