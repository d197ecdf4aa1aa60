//! The mapping rules of docs/mapping.md, one test per rule, plus a round trip through what a
//! server stores (`to_api` → the `getcontact`/`getpicture` a server would answer → `from_api`).

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, RgbImage};
use orange_contacts::dedup;
use orange_contacts::mapping::{from_api, reason, to_api, Dropped, Mapped, MappingOptions, PlannedDevice};
use orange_contacts::model::{
    Contact, Email, ExtraField, PartialDate, Phone, PhoneKind, Photo, Place, PostalAddress, WebUrl,
};
use orange_contacts::wire::{
    Address, Civility, ContactDetail, Device, DeviceSubtype, DeviceType, ImageType, Picture,
};

fn map(c: &Contact) -> Mapped {
    to_api(c, &MappingOptions::default())
}

fn person(given: &str, family: &str) -> Contact {
    Contact { given: Some(given.into()), family: Some(family.into()), ..Contact::default() }
}

fn email(value: &str, place: Option<Place>, preferred: bool) -> Email {
    Email { value: value.into(), place, preferred, label: None }
}

fn phone(value: &str, kind: PhoneKind, place: Option<Place>, preferred: bool) -> Phone {
    Phone { value: value.into(), kind, place, preferred, label: None }
}

fn dropped_fields(m: &Mapped) -> Vec<(&str, &str)> {
    m.dropped.iter().map(|d| (&*d.field, &*d.reason)).collect()
}

fn has_drop(m: &Mapped, field: &str, reason: &str) -> bool {
    m.dropped.iter().any(|d| d.field == field && d.reason == reason)
}

fn devices(m: &Mapped, kind: DeviceType) -> Vec<(DeviceSubtype, u32, &str)> {
    m.devices
        .iter()
        .filter(|d| d.kind == kind)
        .map(|d| (d.subtype.clone(), d.order, d.value.as_str()))
        .collect()
}

fn png_bytes() -> Vec<u8> {
    let img =
        DynamicImage::ImageRgb8(RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 90])));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn names_and_work_fields() {
    let c = Contact {
        given: Some(" Jean ".into()),
        family: Some("Dupont".into()),
        nickname: Some("Jeannot".into()),
        organization: Some("Orange".into()),
        department: Some("R&D".into()),
        title: Some("Ingénieur".into()),
        formatted_name: Some("Jean Dupont".into()),
        ..Contact::default()
    };
    let m = map(&c);
    assert_eq!(m.contact.firstname.as_deref(), Some("Jean"));
    assert_eq!(m.contact.lastname.as_deref(), Some("Dupont"));
    assert_eq!(m.contact.nickname.as_deref(), Some("Jeannot"));
    assert_eq!(m.contact.company.as_deref(), Some("Orange"));
    assert_eq!(m.contact.department.as_deref(), Some("R&D"));
    assert_eq!(m.contact.function.as_deref(), Some("Ingénieur"));
    assert_eq!(m.invalid, None);
    // FN equal to the names loses nothing: not reported.
    assert!(m.dropped.is_empty(), "{:?}", m.dropped);
    assert!(m.notes.is_empty(), "{:?}", m.notes);
}

#[test]
fn civility_table() {
    let cases = [
        ("Mr", Some(Civility::Mr)),
        ("Mr.", Some(Civility::Mr)),
        ("M.", Some(Civility::Mr)),
        ("monsieur", Some(Civility::Mr)),
        ("Herr", Some(Civility::Mr)),
        ("Sr.", Some(Civility::Mr)),
        ("MRS", Some(Civility::Mrs)),
        ("Ms.", Some(Civility::Mrs)),
        ("Mme", Some(Civility::Mrs)),
        ("Madame", Some(Civility::Mrs)),
        ("Frau", Some(Civility::Mrs)),
        ("Miss", Some(Civility::Miss)),
        ("Mlle.", Some(Civility::Miss)),
        ("Mademoiselle", Some(Civility::Miss)),
        ("Fräulein", Some(Civility::Miss)),
    ];
    for (prefix, want) in cases {
        let m = map(&Contact { prefix: Some(prefix.into()), ..person("A", "B") });
        assert_eq!(m.contact.civility, want, "{prefix}");
        assert!(m.dropped.is_empty(), "{prefix}: {:?}", m.dropped);
    }
    for prefix in ["Dr", "Prof.", "Mx"] {
        let m = map(&Contact { prefix: Some(prefix.into()), ..person("A", "B") });
        assert_eq!(m.contact.civility, None, "{prefix}");
        assert_eq!(
            m.dropped,
            vec![Dropped { field: "N (prefix)".into(), value: prefix.into(), reason: reason::PREFIX.into() }]
        );
    }
    // A civility with a title: the civility is kept, the title reported.
    let m = map(&Contact { prefix: Some("Mme Dr.".into()), ..person("A", "B") });
    assert_eq!(m.contact.civility, Some(Civility::Mrs));
    assert_eq!(m.dropped[0].value, "Dr.");
}

#[test]
fn suffix_is_dropped() {
    let m = map(&Contact { suffix: Some("Jr.".into()), ..person("John", "Smith") });
    assert!(has_drop(&m, "N (suffix)", reason::SUFFIX));
}

#[test]
fn additional_names_are_appended_to_the_firstname() {
    let m = map(&Contact { additional: Some("Pierre".into()), ..person("Jean", "Dupont") });
    assert_eq!(m.contact.firstname.as_deref(), Some("Jean Pierre"));
    assert_eq!(m.notes.len(), 1);
    assert!(m.notes[0].contains("Pierre"));
}

#[test]
fn birthdays() {
    let full = PartialDate { year: Some(1980), month: Some(4), day: Some(15) };
    assert_eq!(
        map(&Contact { birthday: Some(full), ..person("A", "B") }).contact.birthday.as_deref(),
        Some("1980-04-15")
    );

    let no_year = PartialDate { year: None, month: Some(4), day: Some(15) };
    let m = map(&Contact { birthday: Some(no_year), ..person("A", "B") });
    assert_eq!(m.contact.birthday, None);
    assert_eq!(
        m.dropped,
        vec![Dropped {
            field: "BDAY".into(),
            value: "--04-15".into(),
            reason: reason::PARTIAL_BIRTHDAY.into()
        }]
    );

    let no_day = PartialDate { year: Some(1980), month: Some(4), day: None };
    assert_eq!(map(&Contact { birthday: Some(no_day), ..person("A", "B") }).dropped[0].value, "1980-04");

    let impossible = PartialDate { year: Some(1981), month: Some(2), day: Some(29) };
    let m = map(&Contact { birthday: Some(impossible), ..person("A", "B") });
    assert_eq!(m.contact.birthday, None);
    assert!(has_drop(&m, "BDAY", reason::INVALID_BIRTHDAY));

    let m = map(&Contact { birthday_text: Some("sometime in May".into()), ..person("A", "B") });
    assert!(has_drop(&m, "BDAY", reason::BIRTHDAY_TEXT));
}

#[test]
fn names_derived_from_fn_when_n_is_empty() {
    let m = map(&Contact { formatted_name: Some("Jean de La Fontaine".into()), ..Contact::default() });
    assert_eq!(m.contact.firstname.as_deref(), Some("Jean de La"));
    assert_eq!(m.contact.lastname.as_deref(), Some("Fontaine"));
    assert_eq!(m.notes, vec!["name derived from FN".to_string()]);
    assert_eq!(m.invalid, None);
    assert!(m.dropped.is_empty());

    let m = map(&Contact { formatted_name: Some("Smith, John".into()), ..Contact::default() });
    assert_eq!(
        (m.contact.firstname.as_deref(), m.contact.lastname.as_deref()),
        (Some("John"), Some("Smith"))
    );

    let m = map(&Contact { formatted_name: Some("Madonna".into()), ..Contact::default() });
    assert_eq!((m.contact.firstname.as_deref(), m.contact.lastname.as_deref()), (None, Some("Madonna")));

    // A company card (FN = ORG) stays a company, no person invented.
    let m = map(&Contact {
        formatted_name: Some("Orange SA".into()),
        organization: Some("Orange SA".into()),
        ..Contact::default()
    });
    assert_eq!((m.contact.firstname.as_ref(), m.contact.lastname.as_ref()), (None, None));
    assert_eq!(m.contact.company.as_deref(), Some("Orange SA"));
    assert!(m.notes.is_empty() && m.dropped.is_empty() && m.invalid.is_none());
}

#[test]
fn fn_different_from_the_names_is_reported() {
    let m = map(&Contact { formatted_name: Some("Bobby S.".into()), ..person("Robert", "Smith") });
    assert!(has_drop(&m, "FN", reason::FORMATTED_NAME));
    // Reordered or punctuated forms of the same names are not.
    for fn_ in ["Smith, Robert", "SMITH Robert", "Dr. Robert Smith"] {
        let c = Contact {
            formatted_name: Some(fn_.into()),
            prefix: Some("Dr.".into()),
            ..person("Robert", "Smith")
        };
        assert!(!map(&c).dropped.iter().any(|d| d.field == "FN"), "{fn_}");
    }
}

#[test]
fn records_without_identity_are_invalid() {
    let link = WebUrl { value: "https://example.org/who".into(), place: None, label: None };
    let only_a_link = Contact { urls: vec![link], ..Contact::default() };
    let m = map(&only_a_link);
    assert_eq!(m.invalid.as_deref(), Some(reason::NO_IDENTITY));
    assert_eq!(m.contact.nickname, None);

    let blank = Contact {
        given: Some("  ".into()),
        family: Some("\t\r\n".into()),
        nickname: Some("\u{7}".into()),
        formatted_name: Some("someone@example.com".into()),
        ..Contact::default()
    };
    assert_eq!(map(&blank).invalid.as_deref(), Some(reason::NO_IDENTITY));

    let phone_fn = Contact { formatted_name: Some("+33 6 12 34 56 78".into()), ..Contact::default() };
    assert_eq!(map(&phone_fn).invalid.as_deref(), Some(reason::NO_IDENTITY));

    // One identity field is enough.
    assert_eq!(map(&Contact { nickname: Some("Zed".into()), ..Contact::default() }).invalid, None);
}

#[test]
fn values_are_trimmed_and_control_characters_removed() {
    let c = Contact {
        given: Some("\u{feff} Jean\u{7}".into()),
        family: Some("Du\r\npont  ".into()),
        organization: Some("  Orange \t SA ".into()),
        ..Contact::default()
    };
    let m = map(&c);
    assert_eq!(m.contact.firstname.as_deref(), Some("Jean"));
    assert_eq!(m.contact.lastname.as_deref(), Some("Du pont"));
    assert_eq!(m.contact.company.as_deref(), Some("Orange SA"));
}

#[test]
fn emailperso_is_the_preferred_personal_address() {
    let c = Contact {
        emails: vec![
            email("work@corp.example", Some(Place::Work), true),
            email("first@home.example", None, false),
            email("pref@home.example", Some(Place::Home), true),
        ],
        ..person("A", "B")
    };
    let m = map(&c);
    assert_eq!(m.contact.emailperso.as_deref(), Some("pref@home.example"));
    // Others become devices numbered after emailperso, preferred first.
    assert_eq!(
        devices(&m, DeviceType::Email),
        vec![
            (DeviceSubtype::Internet, 2, "work@corp.example"),
            (DeviceSubtype::Internet, 3, "first@home.example")
        ]
    );
    assert!(has_drop(&m, "EMAIL;TYPE=WORK", reason::PLACE));
    assert!(!m.dropped.iter().any(|d| d.field == "EMAIL;TYPE=HOME"), "{:?}", m.dropped);

    // Without a preferred one: the first personal or unqualified one, in source order.
    let c = Contact {
        emails: vec![email("w@corp.example", Some(Place::Work), false), email("x@example.com", None, false)],
        ..person("A", "B")
    };
    assert_eq!(map(&c).contact.emailperso.as_deref(), Some("x@example.com"));

    // Only work addresses: no emailperso, devices from order 1.
    let c = Contact {
        emails: vec![
            email("w1@corp.example", Some(Place::Work), false),
            email("w2@corp.example", Some(Place::Work), false),
        ],
        ..person("A", "B")
    };
    let m = map(&c);
    assert_eq!(m.contact.emailperso, None);
    assert_eq!(devices(&m, DeviceType::Email).iter().map(|d| d.1).collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn phone_subtypes_and_order() {
    let c = Contact {
        phones: vec![
            phone("01 23 45 67 89", PhoneKind::Voice, None, false),
            phone("06 12 34 56 78", PhoneKind::Mobile, None, true),
            phone("01 23 45 67 80", PhoneKind::Fax, None, false),
            phone("01 23 45 67 81", PhoneKind::Video, None, false),
            phone("01 23 45 67 82", PhoneKind::Other, None, false),
            phone("01 23 45 67 83", PhoneKind::Pager, None, false),
        ],
        urls: vec![
            WebUrl { value: "https://a.example".into(), place: None, label: None },
            WebUrl {
                value: "https://b.example".into(),
                place: Some(Place::Work),
                label: Some("blog".into()),
            },
        ],
        ..person("A", "B")
    };
    let m = map(&c);
    assert_eq!(
        devices(&m, DeviceType::Phone),
        vec![
            (DeviceSubtype::Mobile, 1, "06 12 34 56 78"),
            (DeviceSubtype::Voice, 2, "01 23 45 67 89"),
            (DeviceSubtype::Fax, 3, "01 23 45 67 80"),
            (DeviceSubtype::Video, 4, "01 23 45 67 81"),
            (DeviceSubtype::Voice, 5, "01 23 45 67 82"),
            (DeviceSubtype::Voice, 6, "01 23 45 67 83"),
        ]
    );
    assert!(has_drop(&m, "TEL;TYPE=PAGER", reason::PAGER));
    assert_eq!(
        devices(&m, DeviceType::Url),
        vec![(DeviceSubtype::Web, 1, "https://a.example"), (DeviceSubtype::Web, 2, "https://b.example")]
    );
    assert!(has_drop(&m, "URL;TYPE=WORK", reason::PLACE));
    assert!(has_drop(&m, "URL label", reason::LABEL));
    // Every planned device is acceptable to adddevice (type/subtype table, order ≥ 1).
    for d in &m.devices {
        assert!(d.subtype.allowed_for(&d.kind) && d.order >= 1, "{d:?}");
    }
    let nd = m.devices[0].to_new_device("c6");
    assert_eq!((nd.cid.as_str(), nd.order, nd.value.as_str()), ("c6", 1, "06 12 34 56 78"));
}

#[test]
fn home_and_work_on_devices_are_reported() {
    let c = Contact {
        phones: vec![
            phone("0612345678", PhoneKind::Mobile, Some(Place::Home), false),
            phone("0123456789", PhoneKind::Voice, Some(Place::Work), false),
            phone("0123456788", PhoneKind::Voice, Some(Place::Other), false),
        ],
        emails: vec![
            email("a@home.example", Some(Place::Home), false),
            email("b@home.example", Some(Place::Home), false),
        ],
        ..person("A", "B")
    };
    let m = map(&c);
    let drops = dropped_fields(&m);
    assert!(drops.contains(&("TEL;TYPE=HOME", reason::PLACE)), "{drops:?}");
    assert!(drops.contains(&("TEL;TYPE=WORK", reason::PLACE)), "{drops:?}");
    // The first home email is emailperso (home is what "perso" means); the second loses it.
    assert_eq!(m.dropped.iter().filter(|d| d.field == "EMAIL;TYPE=HOME").count(), 1);
    assert_eq!(m.dropped.iter().find(|d| d.field == "EMAIL;TYPE=HOME").unwrap().value, "b@home.example");
    assert_eq!(drops.len(), 3, "{drops:?}");
}

#[test]
fn duplicate_devices_collapse() {
    let c = Contact {
        emails: vec![
            email("Jean@Example.com", None, false),
            email("jean@example.com ", Some(Place::Work), false),
            email("other@example.com", None, false),
            email("OTHER@example.com", None, false),
        ],
        phones: vec![
            phone("06 12 34 56 78", PhoneKind::Mobile, None, false),
            phone("+33 6 12 34 56 78", PhoneKind::Mobile, None, false),
            phone("0033612345678", PhoneKind::Voice, None, false),
            phone("n/a", PhoneKind::Voice, None, false),
        ],
        urls: vec![
            WebUrl { value: "https://example.com/".into(), place: None, label: None },
            WebUrl { value: "http://EXAMPLE.com".into(), place: None, label: None },
        ],
        ..person("A", "B")
    };
    let m = map(&c);
    assert_eq!(m.contact.emailperso.as_deref(), Some("Jean@Example.com"));
    assert_eq!(devices(&m, DeviceType::Email), vec![(DeviceSubtype::Internet, 2, "other@example.com")]);
    assert_eq!(devices(&m, DeviceType::Phone), vec![(DeviceSubtype::Mobile, 1, "06 12 34 56 78")]);
    assert_eq!(devices(&m, DeviceType::Url).len(), 1);
    assert_eq!(m.notes.iter().filter(|n| n.starts_with("duplicate")).count(), 5, "{:?}", m.notes);
    // A collapsed duplicate loses no home/work: the kept one carries none here.
    assert!(!m.dropped.iter().any(|d| d.reason == reason::PLACE), "{:?}", m.dropped);
    assert!(has_drop(&m, "TEL", reason::PHONE_NO_DIGITS));
}

#[test]
fn unsendable_fields_are_reported_with_reasons() {
    let c = Contact {
        addresses: vec![PostalAddress {
            place: Some(Place::Home),
            street: Some("24, Fascination Street".into()),
            city: Some("London".into()),
            ..PostalAddress::default()
        }],
        notes: vec!["met at the conference".into()],
        categories: vec!["friends".into(), "work".into()],
        extra: vec![
            ExtraField { field: "IMPP".into(), value: "xmpp:a@b".into() },
            ExtraField { field: "ANNIVERSARY".into(), value: "2001-06-01".into() },
        ],
        marital_status: Some(2),
        ..person("A", "B")
    };
    let m = map(&c);
    assert_eq!(
        m.dropped,
        vec![
            Dropped {
                field: "ADR;TYPE=HOME".into(),
                value: "24, Fascination Street, London".into(),
                reason: reason::ADDRESS.into()
            },
            Dropped {
                field: "NOTE".into(),
                value: "met at the conference".into(),
                reason: reason::NOTE.into()
            },
            Dropped {
                field: "CATEGORIES".into(),
                value: "friends,work".into(),
                reason: reason::CATEGORIES.into()
            },
            Dropped {
                field: "maritalstatus".into(),
                value: "2".into(),
                reason: reason::MARITAL_STATUS.into()
            },
            Dropped { field: "IMPP".into(), value: "xmpp:a@b".into(), reason: reason::EXTRA.into() },
            Dropped { field: "ANNIVERSARY".into(), value: "2001-06-01".into(), reason: reason::EXTRA.into() },
        ]
    );
    // Dropped goes into the JSON report as it is.
    let json = serde_json::to_value(&m.dropped[0]).unwrap();
    assert_eq!(json["field"], "ADR;TYPE=HOME");
    assert_eq!(json["reason"], reason::ADDRESS);
}

#[test]
fn photos() {
    let png = png_bytes();
    let m = map(&Contact {
        photo: Some(Photo::Inline { bytes: png, media_type: Some("image/png".into()) }),
        ..person("A", "B")
    });
    let p = m.photo.expect("photo planned");
    assert_eq!(p.image_type, ImageType::Jpeg);
    assert_eq!(p.converted_from.as_deref(), Some("png"));
    assert!(m.notes.iter().any(|n| n.contains("photo converted")));

    let m = map(&Contact { photo: Some(Photo::Uri("https://x.example/p.jpg".into())), ..person("A", "B") });
    assert!(m.photo.is_none());
    assert!(has_drop(&m, "PHOTO", reason::PHOTO_LINK));

    let m = map(&Contact { photo: Some(Photo::Unreadable("bad base64".into())), ..person("A", "B") });
    assert!(has_drop(&m, "PHOTO", reason::PHOTO_UNREADABLE));

    let m = map(&Contact {
        photo: Some(Photo::Inline { bytes: b"garbage".to_vec(), media_type: None }),
        ..person("A", "B")
    });
    assert!(m.photo.is_none());
    assert!(m.dropped[0].reason.starts_with("photo is not a readable image"), "{:?}", m.dropped);
}

#[test]
fn contact_key_equals_the_key_of_what_is_sent() {
    for c in [
        Contact { additional: Some("Pierre".into()), ..person("Jean", "Dupont") },
        Contact { formatted_name: Some("Émile Zola".into()), ..Contact::default() },
        Contact { organization: Some("Orange".into()), ..Contact::default() },
        Contact::default(),
    ] {
        let key = dedup::key_of_new(&orange_contacts::mapping::identity(&c));
        assert_eq!(key, dedup::key_of_new(&map(&c).contact), "{c:?}");
    }
    let zola = Contact { formatted_name: Some("Émile Zola".into()), ..Contact::default() };
    assert_eq!(dedup::key_of_new(&orange_contacts::mapping::identity(&zola)).as_deref(), Some("emile zola"));
}

/// The seed's getcontact sample, read back.
#[test]
fn from_api_reads_the_seed_sample() {
    let detail = ContactDetail {
        id: "1".into(),
        firstname: Some("Robert".into()),
        lastname: Some("Smith".into()),
        civility: Some(Civility::Unknown),
        maritalstatus: Some(0),
        birthday: Some("1951-01-01".into()),
        company: Some("Custland Ltd".into()),
        devices: vec![
            device(
                "1400761728",
                DeviceType::Email,
                DeviceSubtype::Internet,
                "pro",
                1,
                "rob516.smith@custlandcy.com",
            ),
            device("1295666158", DeviceType::Phone, DeviceSubtype::Voice, "perso", 1, "0123456789"),
            device("1400732085", DeviceType::Url, DeviceSubtype::Web, "perso", 1, "www.robsmith516.com"),
        ],
        addresses: vec![Address {
            info_type: Some("home".into()),
            streetline1: Some("24, Fascination Street".into()),
            streetline2: Some("Appt 34".into()),
            zip_code: Some("766546".into()),
            city: Some("London".into()),
            state: Some("England".into()),
            country: None,
        }],
        ..ContactDetail::default()
    };
    let c = from_api(&detail, None);
    assert_eq!(c.formatted_name.as_deref(), Some("Robert Smith"));
    assert_eq!((c.given.as_deref(), c.family.as_deref()), (Some("Robert"), Some("Smith")));
    assert_eq!(c.organization.as_deref(), Some("Custland Ltd"));
    assert_eq!(c.prefix, None);
    assert_eq!(c.marital_status, None);
    assert_eq!(c.birthday, Some(PartialDate { year: Some(1951), month: Some(1), day: Some(1) }));
    assert_eq!(c.emails, vec![email("rob516.smith@custlandcy.com", Some(Place::Work), false)]);
    // Device `perso` is what the API stores for any device it could not label: no place.
    assert_eq!(c.phones, vec![phone("0123456789", PhoneKind::Voice, None, false)]);
    assert_eq!(c.urls, vec![WebUrl { value: "www.robsmith516.com".into(), place: None, label: None }]);
    assert_eq!(
        c.addresses,
        vec![PostalAddress {
            place: Some(Place::Home),
            street: Some("24, Fascination Street\nAppt 34".into()),
            postal_code: Some("766546".into()),
            city: Some("London".into()),
            region: Some("England".into()),
            ..PostalAddress::default()
        }]
    );
    assert_eq!(c.photo, None);
}

#[test]
fn from_api_civility_subtypes_preference_and_fallback_names() {
    let detail = ContactDetail {
        id: "c6".into(),
        nickname: Some("Zed".into()),
        civility: Some(Civility::Miss),
        maritalstatus: Some(3),
        birthday: Some("not a date".into()),
        devices: vec![
            device("2", DeviceType::Phone, DeviceSubtype::Fax, "pro", 2, "0123456780"),
            device("1", DeviceType::Phone, DeviceSubtype::Mobile, "", 1, "0612345678"),
            device("3", DeviceType::Phone, DeviceSubtype::Video, "", 3, "0123456781"),
            device(
                "4",
                DeviceType::Other("media".into()),
                DeviceSubtype::Other("picture".into()),
                "perso",
                1,
                "x",
            ),
        ],
        ..ContactDetail::default()
    };
    let c = from_api(&detail, None);
    assert_eq!(c.formatted_name.as_deref(), Some("Zed"));
    assert_eq!(c.prefix.as_deref(), Some("Miss"));
    assert_eq!(c.marital_status, Some(3));
    assert_eq!(c.birthday_text.as_deref(), Some("not a date"));
    let phones: Vec<(&str, PhoneKind, bool)> =
        c.phones.iter().map(|p| (p.value.as_str(), p.kind, p.preferred)).collect();
    assert_eq!(
        phones,
        vec![
            ("0612345678", PhoneKind::Mobile, true),
            ("0123456780", PhoneKind::Fax, false),
            ("0123456781", PhoneKind::Video, false)
        ]
    );
    assert!(c.extra.is_empty(), "the media device is the picture, not an extra field");

    let company_only =
        ContactDetail { id: "9".into(), company: Some("Orange".into()), ..ContactDetail::default() };
    assert_eq!(from_api(&company_only, None).formatted_name.as_deref(), Some("Orange"));
}

fn device(id: &str, kind: DeviceType, subtype: DeviceSubtype, info: &str, order: u32, value: &str) -> Device {
    Device {
        id: id.into(),
        kind,
        subtype,
        info_type: (!info.is_empty()).then(|| info.to_string()),
        order,
        display: true,
        value: value.into(),
    }
}

/// What a server stores from the calls `to_api` plans: emailperso as the first personal email
/// device, each adddevice as a device, the uploaded picture.
fn as_stored(m: &Mapped) -> (ContactDetail, Option<Picture>) {
    let mut devices = Vec::new();
    if let Some(e) = &m.contact.emailperso {
        devices.push(device("0", DeviceType::Email, DeviceSubtype::Internet, "perso", 1, e));
    }
    for (i, d) in m.devices.iter().enumerate() {
        let PlannedDevice { kind, subtype, order, value } = d.clone();
        devices.push(device(&(i + 1).to_string(), kind, subtype, "", order, &value));
    }
    let c = &m.contact;
    let detail = ContactDetail {
        id: "1".into(),
        firstname: c.firstname.clone(),
        lastname: c.lastname.clone(),
        nickname: c.nickname.clone(),
        company: c.company.clone(),
        function: c.function.clone(),
        department: c.department.clone(),
        civility: c.civility,
        maritalstatus: Some(0),
        birthday: c.birthday.clone(),
        devices,
        addresses: vec![],
    };
    let picture = m.photo.as_ref().map(|p| Picture {
        id: Some("m1".into()),
        content: p.bytes.clone(),
        image_type: Some(p.image_type),
    });
    (detail, picture)
}

#[test]
fn round_trip_keeps_what_the_api_can_carry() {
    let gif = {
        let img = DynamicImage::ImageRgb8(RgbImage::from_fn(8, 8, |x, _| image::Rgb([x as u8 * 30, 0, 0])));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Gif).unwrap();
        out.into_inner()
    };
    let input = Contact {
        uid: Some("urn:uuid:1".into()),
        formatted_name: Some("Mme Marie Curie".into()),
        prefix: Some("Mme".into()),
        given: Some("Marie".into()),
        family: Some("Curie".into()),
        nickname: Some("Manya".into()),
        organization: Some("Institut du Radium".into()),
        department: Some("Physique".into()),
        title: Some("Directrice".into()),
        birthday: Some(PartialDate { year: Some(1867), month: Some(11), day: Some(7) }),
        emails: vec![
            email("marie@home.example", Some(Place::Home), true),
            email("curie@radium.example", None, false),
        ],
        phones: vec![
            phone("01 23 45 67 89", PhoneKind::Voice, None, false),
            phone("06 12 34 56 78", PhoneKind::Mobile, None, true),
            phone("01 23 45 67 80", PhoneKind::Fax, None, false),
        ],
        urls: vec![WebUrl { value: "https://radium.example".into(), place: None, label: None }],
        photo: Some(Photo::Inline { bytes: gif.clone(), media_type: Some("image/gif".into()) }),
        ..Contact::default()
    };
    let m = map(&input);
    assert_eq!(m.invalid, None);
    assert!(m.dropped.is_empty(), "{:?}", m.dropped);
    let (detail, picture) = as_stored(&m);
    let back = from_api(&detail, picture.as_ref());

    assert_eq!(back.formatted_name.as_deref(), Some("Marie Curie"));
    for (got, want) in [
        (&back.prefix, Some("Mrs")),
        (&back.given, Some("Marie")),
        (&back.family, Some("Curie")),
        (&back.nickname, Some("Manya")),
        (&back.organization, Some("Institut du Radium")),
        (&back.department, Some("Physique")),
        (&back.title, Some("Directrice")),
    ] {
        assert_eq!(got.as_deref(), want);
    }
    assert_eq!(back.birthday, input.birthday);
    // emailperso comes back as the first, preferred email; `perso` is no home/work label.
    assert_eq!(
        back.emails,
        vec![email("marie@home.example", None, true), email("curie@radium.example", None, false)]
    );
    // Phones come back preferred first: the API keeps the order, not the source position.
    assert_eq!(
        back.phones,
        vec![
            phone("06 12 34 56 78", PhoneKind::Mobile, None, true),
            phone("01 23 45 67 89", PhoneKind::Voice, None, false),
            phone("01 23 45 67 80", PhoneKind::Fax, None, false),
        ]
    );
    assert_eq!(back.urls, input.urls);
    assert_eq!(back.photo, Some(Photo::Inline { bytes: gif, media_type: Some("image/gif".into()) }));

    // And mapping it again plans the same calls: the round trip is stable.
    let again = map(&back);
    assert_eq!(again.contact, m.contact);
    assert_eq!(again.devices, m.devices);
    assert_eq!(again.photo, m.photo);
}
