//! Conformance of `wire::parse` with the spec itself: every sample response in the seed
//! (`tests/fixtures/seed/personal-contacts-api.txt`, quirks included) is cut out of the text and read by the
//! parse function for its method, with the values the seed shows.

use std::path::Path;

use orange_contacts::wire::parse::{self, WireError};
use orange_contacts::wire::{Civility, DeviceSubtype, DeviceType, ErrorCode, ImageType};

/// The seed, carried by the repository (`tests/fixtures/seed`, provenance beside it).
fn seed_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed/personal-contacts-api.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every sample response: from each `<?xml` to the end of the `</xpage>` that follows it.
fn samples(seed: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = seed[from..].find("<?xml").map(|i| from + i) {
        let end = seed[start..].find("</xpage>").map(|i| start + i + "</xpage>".len()).expect("</xpage>");
        out.push(&seed[start..end]);
        from = end;
    }
    out
}

/// The sample whose `<command>` carries this action attribute (`ctcgetcontact`, …).
fn sample<'a>(all: &[&'a str], command_action: &str) -> Vec<&'a str> {
    let needle = format!("action=\"{command_action}\"");
    all.iter().copied().filter(|s| s.contains(&needle)).collect()
}

#[test]
fn seed_has_the_expected_samples() {
    let seed = seed_text();
    let all = samples(&seed);
    assert_eq!(all.len(), 7, "findcontactlist, getcontact ×2, addcontact, adddevice, getpicture, addpicture");
    for (action, count) in [
        ("ctcfindcontactlist", 1),
        ("ctcgetcontact", 2),
        ("ctcupdatecontact", 1),
        ("cdvupdatedevice", 1),
        ("ctcgetmedialist", 1),
        ("ctcaddmedia", 1),
    ] {
        assert_eq!(sample(&all, action).len(), count, "{action}");
    }
}

#[test]
fn findcontactlist_sample() {
    let seed = seed_text();
    let xml = sample(&samples(&seed), "ctcfindcontactlist")[0];
    assert!(!xml.contains("</command-list>"), "the seed's quirk this test exists for");
    let page = parse::contact_page(xml).unwrap();
    assert_eq!((page.total, page.pages, page.page), (2, 1, 1));
    let ids: Vec<&str> = page.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["1", "2"]);
    assert_eq!(page.entries[0].firstname.as_deref(), Some("Orange"));
    assert_eq!(page.entries[0].lastname.as_deref(), Some("World"));
    assert_eq!(page.entries[1].firstname.as_deref(), Some("Orange"));
    assert_eq!(page.entries[1].lastname.as_deref(), Some("Partner"));
}

fn check_robert_smith(detail: &orange_contacts::wire::ContactDetail) {
    assert_eq!(detail.id, "1");
    assert_eq!(detail.firstname.as_deref(), Some("Robert"));
    assert_eq!(detail.lastname.as_deref(), Some("Smith"));
    assert_eq!(detail.civility, Some(Civility::Unknown));
    assert_eq!(detail.maritalstatus, Some(0));
    assert_eq!(detail.birthday.as_deref(), Some("1951-01-01"));
    assert_eq!(detail.company.as_deref(), Some("Custland Ltd"));
    assert_eq!(detail.devices.len(), 3);
    let email = &detail.devices[0];
    assert_eq!((email.kind.clone(), email.subtype.clone()), (DeviceType::Email, DeviceSubtype::Internet));
    assert_eq!(email.value, "rob516.smith@custlandcy.com");
    assert_eq!(email.id, "1400761728");
    assert_eq!(email.info_type.as_deref(), Some("pro"));
    assert!(email.display);
    let phone = &detail.devices[1];
    assert_eq!((phone.kind.clone(), phone.subtype.clone()), (DeviceType::Phone, DeviceSubtype::Voice));
    assert_eq!(phone.value, "0123456789");
    assert_eq!(phone.info_type.as_deref(), Some("perso"));
    assert_eq!(phone.order, 1);
    let url = &detail.devices[2];
    assert_eq!((url.kind.clone(), url.subtype.clone()), (DeviceType::Url, DeviceSubtype::Web));
    assert_eq!(url.value, "www.robsmith516.com");
    assert!(!url.display, "display=\"false\"");
    assert_eq!(detail.addresses.len(), 1);
    let home = &detail.addresses[0];
    assert_eq!(home.info_type.as_deref(), Some("home"));
    assert_eq!(home.streetline1.as_deref(), Some("24, Fascination Street"));
    assert_eq!(home.streetline2.as_deref(), Some("Appt 34"));
    assert_eq!(home.zip_code.as_deref(), Some("766546"));
    assert_eq!(home.city.as_deref(), Some("London"));
    assert_eq!(home.state.as_deref(), Some("England"));
    assert_eq!(home.country, None);
}

#[test]
fn getcontact_samples_each_and_concatenated() {
    let seed = seed_text();
    let both = sample(&samples(&seed), "ctcgetcontact");
    for xml in &both {
        check_robert_smith(&parse::contact_detail(xml, "1").unwrap());
    }
    // The seed prints the two documents back to back (`</xpage><?xml …`): read as one body.
    // (The two copies are identical text: locate them by position, not by search.)
    let offset = |s: &str| s.as_ptr() as usize - seed.as_ptr() as usize;
    let start = offset(both[0]);
    let end = offset(both[1]) + both[1].len();
    let body = &seed[start..end];
    assert_eq!(body.matches("<?xml").count(), 2);
    check_robert_smith(&parse::contact_detail(body, "1").unwrap());
    // An id not in the answer falls back to the first <data>.
    check_robert_smith(&parse::contact_detail(body, "C1").unwrap());
}

#[test]
fn addcontact_sample() {
    let seed = seed_text();
    let xml = sample(&samples(&seed), "ctcupdatecontact")[0];
    assert_eq!(parse::added_contact(xml).unwrap(), "c6");
}

#[test]
fn adddevice_and_addpicture_samples() {
    let seed = seed_text();
    let all = samples(&seed);
    parse::ok(sample(&all, "cdvupdatedevice")[0]).unwrap();
    parse::ok(sample(&all, "ctcaddmedia")[0]).unwrap();
}

#[test]
fn getpicture_sample() {
    let seed = seed_text();
    let xml = sample(&samples(&seed), "ctcgetmedialist")[0];
    let picture = parse::picture(xml).unwrap().expect("the sample has a picture");
    assert!(picture.content.starts_with(&[0xFF, 0xD8, 0xFF]), "JPEG magic");
    assert!(picture.content.ends_with(&[0xFF, 0xD9]), "JPEG end marker: nothing lost in the whitespace");
    assert_eq!(picture.content.len(), 2491);
    assert_eq!(picture.id.as_deref(), Some("1429530340"));
    // The sample says gif over JPEG bytes: the server's typeImage is reported as sent.
    assert_eq!(picture.image_type, Some(ImageType::Gif));
    assert_eq!(ImageType::sniff(&picture.content), Some(ImageType::Jpeg));
}

#[test]
fn error_example_is_a_service_error() {
    let seed = seed_text();
    let start = seed.find("<command request=\"\" action=\"action\">").expect("error example");
    let end = start + seed[start..].find("</command>").unwrap() + "</command>".len();
    let xml = &seed[start..end];
    // As printed, type and result are placeholders ("yyy"): still a service error, code unknown.
    match parse::ok(xml) {
        Err(WireError::Service(e)) => {
            assert_eq!(e.code, ErrorCode::Other(0));
            assert_eq!(e.subtype, "xxx");
            assert_eq!(e.message, "message");
        }
        other => panic!("error example: {other:?}"),
    }
    // With the placeholders filled in as the table describes, it is a service error for each code.
    for (code, expected) in [
        (1, ErrorCode::UnknownAction),
        (2, ErrorCode::MissingParameter),
        (4, ErrorCode::InvalidParameter),
        (5, ErrorCode::InvalidUser),
        (100, ErrorCode::DataNotFound),
    ] {
        let filled = xml.replace("-yyy", &format!("-{code}")).replace("\"yyy\"", &format!("\"{code}\""));
        for result in [parse::ok(&filled), parse::contact_page(&filled).map(|_| ())] {
            match result {
                Err(WireError::Service(e)) => {
                    assert_eq!(e.code, expected);
                    assert_eq!(e.subtype, "xxx");
                    assert_eq!(e.message, "message");
                }
                other => panic!("code {code}: {other:?}"),
            }
        }
    }
}
