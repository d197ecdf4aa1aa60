//! `sandbox seed`: a contact read from a vCard as the sandbox's store keeps it, with every field
//! the API can show, including those the API itself cannot write (addresses, marital status). The
//! names, civility and phone subtypes follow the same rules as [`super::to_api`].

use super::{clean, clean_opt, parse_civility, phone_subtype};
use crate::model::{Contact, Photo, Place, PostalAddress};
use crate::wire::{Address, ContactDetail, Device, DeviceSubtype, DeviceType, ImageType};

/// A picture the store accepts: bytes and their sniffed format.
pub type StoredPicture = (Vec<u8>, ImageType);

/// A contact ready for the sandbox store's `insert_contacts`, or `None` when it has nothing to
/// name it by (no name, nickname, organisation or formatted name).
pub fn to_stored(contact: &Contact) -> Option<(ContactDetail, Option<StoredPicture>)> {
    let mut detail = ContactDetail {
        firstname: clean_opt(&contact.given),
        lastname: clean_opt(&contact.family),
        nickname: clean_opt(&contact.nickname),
        company: clean_opt(&contact.organization),
        function: clean_opt(&contact.title),
        department: clean_opt(&contact.department),
        civility: clean_opt(&contact.prefix).and_then(|prefix| parse_civility(&prefix).0),
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
        detail.lastname = Some(clean(&contact.display_name())?);
    }
    for (i, e) in contact.emails.iter().enumerate() {
        detail.devices.extend(device(DeviceType::Email, DeviceSubtype::Internet, e.place, i, &e.value));
    }
    for (i, p) in contact.phones.iter().enumerate() {
        detail.devices.extend(device(DeviceType::Phone, phone_subtype(p.kind), p.place, i, &p.value));
    }
    for (i, u) in contact.urls.iter().enumerate() {
        detail.devices.extend(device(DeviceType::Url, DeviceSubtype::Web, u.place, i, &u.value));
    }
    detail.addresses = contact.addresses.iter().filter_map(address).collect();
    let picture = match &contact.photo {
        Some(Photo::Inline { bytes, .. }) => ImageType::sniff(bytes).map(|kind| (bytes.clone(), kind)),
        _ => None,
    };
    Some((detail, picture))
}

/// The `info-type` the API shows on a device: `pro` for work, `perso` for everything else.
fn info_type(place: Option<Place>) -> &'static str {
    match place {
        Some(Place::Work) => "pro",
        _ => "perso",
    }
}

/// A device with a value, numbered by its place among the devices of its type.
fn device(
    kind: DeviceType,
    subtype: DeviceSubtype,
    place: Option<Place>,
    index: usize,
    value: &str,
) -> Option<Device> {
    Some(Device {
        id: String::new(),
        kind,
        subtype,
        info_type: Some(info_type(place).to_string()),
        order: index as u32 + 1,
        display: true,
        value: clean(value)?,
    })
}

/// ADR → address: street's first line is streetline1; further lines, the extended address and the
/// PO box make streetline2.
fn address(a: &PostalAddress) -> Option<Address> {
    let street = a.street.as_deref().unwrap_or("");
    let mut lines = street.lines().filter_map(clean);
    let streetline1 = lines.next();
    let rest: Vec<String> = lines.chain(clean_opt(&a.extended)).chain(clean_opt(&a.po_box)).collect();
    let out = Address {
        info_type: match a.place {
            Some(Place::Home) => Some("home".into()),
            Some(Place::Work) => Some("pro".into()),
            Some(Place::Other) => Some("other".into()),
            None => None,
        },
        streetline1,
        streetline2: (!rest.is_empty()).then(|| rest.join(", ")),
        zip_code: clean_opt(&a.postal_code),
        city: clean_opt(&a.city),
        state: clean_opt(&a.region),
        country: clean_opt(&a.country),
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
    use crate::mapping::{to_api, MappingOptions, CIVILITY_WORDS};
    use crate::model::{Email, PartialDate, Phone, PhoneKind};
    use crate::wire::Civility;

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

    /// Seeding and importing read a prefix and a phone kind by one rule: a seeded "Herr" is Mr,
    /// as an imported one is (the seed once had a shorter table of its own).
    #[test]
    fn civility_and_phone_subtypes_are_those_of_the_import() {
        let person = |prefix: &str| Contact {
            given: Some("A".into()),
            family: Some("B".into()),
            prefix: Some(prefix.into()),
            ..Default::default()
        };
        let spelled = CIVILITY_WORDS
            .iter()
            .flat_map(|(word, _)| [word.to_string(), format!("{}.", word.to_uppercase())]);
        let others = ["Herr", "Fräulein", "Señora", "Mme Dr.", "Dr. Mlle", "Dr", "Prof.", "Mx", "Mr, Mrs"];
        for prefix in spelled.chain(others.map(String::from)) {
            let imported = to_api(&person(&prefix), &MappingOptions::default()).contact.civility;
            let seeded = to_stored(&person(&prefix)).unwrap().0.civility;
            assert_eq!(seeded, imported, "{prefix}");
        }
        assert_eq!(to_stored(&person("Herr")).unwrap().0.civility, Some(Civility::Mr));
        assert_eq!(to_stored(&person("Fräulein")).unwrap().0.civility, Some(Civility::Miss));

        let kinds = [
            PhoneKind::Mobile,
            PhoneKind::Voice,
            PhoneKind::Fax,
            PhoneKind::Video,
            PhoneKind::Pager,
            PhoneKind::Other,
        ];
        for kind in kinds {
            let phone =
                Phone { value: "0612345678".into(), kind, place: None, preferred: false, label: None };
            let contact = Contact { phones: vec![phone], ..person("Mr") };
            let imported = &to_api(&contact, &MappingOptions::default()).devices[0].subtype;
            let seeded = &to_stored(&contact).unwrap().0.devices[0].subtype;
            assert_eq!(seeded, imported, "{kind:?}");
        }
    }
}
