//! One set of assertions over the [`Remote`] trait, run against every implementation (in the
//! manner of rclone's `fstests.Run`): the in-memory [`super::memory::MemoryRemote`] at unit-test
//! speed, and the sandbox over HTTP through [`crate::client::ApiClient`] (`tests/remote_seam.rs`).
//! What the fake answers is thereby what the server answers, for everything import, export and
//! `check` rely on: search semantics, paging, "data not found", refused writes, and what a write
//! stores.
//!
//! [`run`] needs an empty account whose pages hold [`PAGE_SIZE`] entries, paging honoured
//! (`serve --page-size 3`). It panics on the first difference, naming it.

use super::Remote;
use crate::client::ApiError;
use crate::wire::{
    Civility, ContactSummary, DeviceSubtype, DeviceType, ErrorCode, ImageType, NewContact, NewDevice,
};

/// The page size the account under test must have.
pub const PAGE_SIZE: u32 = 3;

/// An id no account under test has.
const UNKNOWN_ID: &str = "999999999";

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1];
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";

/// Runs every check, in order, on an empty account.
pub async fn run<R: Remote>(remote: &R) {
    empty_account(remote).await;
    let ids = add_people(remote).await;
    search_semantics(remote).await;
    paging(remote).await;
    not_found(remote).await;
    round_trips(remote, &ids).await;
    pictures(remote, &ids).await;
    refused_writes(remote).await;
    calls_are_counted(remote).await;
}

/// Ids of what [`add_people`] created.
struct People {
    zola: String,
}

fn named(first: &str, last: &str) -> NewContact {
    NewContact { firstname: Some(first.into()), lastname: Some(last.into()), ..NewContact::default() }
}

fn names(entries: &[ContactSummary]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            [&e.firstname, &e.lastname, &e.nickname, &e.company]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn code<T: std::fmt::Debug>(result: Result<T, ApiError>, what: &str) -> ErrorCode {
    match result {
        Err(e) => e.service_code().unwrap_or_else(|| panic!("{what}: not a service error: {e}")),
        Ok(v) => panic!("{what}: accepted ({v:?}), expected a service error"),
    }
}

async fn find_names<R: Remote>(remote: &R, search: &str) -> Vec<String> {
    let page = remote.find_contacts(search, None).await.unwrap_or_else(|e| panic!("find {search:?}: {e}"));
    assert!(page.entries.len() as u32 <= page.total, "find {search:?}: {page:?}");
    names(&page.entries)
}

async fn empty_account<R: Remote>(remote: &R) {
    let page = remote.find_contacts("a", None).await.unwrap();
    assert_eq!(
        (page.total, page.pages, page.page, page.entries.len()),
        (0, 1, 1, 0),
        "empty account: {page:?}"
    );
}

async fn add_people<R: Remote>(remote: &R) -> People {
    let zola = NewContact {
        nickname: Some("Mimile".into()),
        company: Some("L'Aurore".into()),
        function: Some("Writer".into()),
        department: Some("Letters".into()),
        emailperso: Some("emile@example.org".into()),
        birthday: Some("1840-04-02".into()),
        civility: Some(Civility::Mr),
        ..named("Émile", "Zola")
    };
    let zola = remote.add_contact(&zola).await.expect("addcontact Zola");
    let mut others = vec![
        named("Jean Pierre", "Dupont"),
        named("jean-pierre", "Durand"),
        NewContact { nickname: Some("Zed".into()), ..NewContact::default() },
        NewContact { company: Some("Orange SA".into()), ..NewContact::default() },
        NewContact { lastname: Some("  Lee  ".into()), ..NewContact::default() },
    ];
    // The Martins, out of order: the listing sorts them (two Annes: by creation).
    others.extend(["Lucie", "anne", "Bruno", "Anne", "Chloé"].map(|first| named(first, "Martin")));
    for c in &others {
        remote.add_contact(c).await.unwrap_or_else(|e| panic!("addcontact {c:?}: {e}"));
    }
    People { zola }
}

async fn search_semantics<R: Remote>(remote: &R) {
    // Folded (case, accents) prefixes of the first or the last name.
    assert_eq!(find_names(remote, "EMI").await, ["Émile Zola"]);
    assert_eq!(find_names(remote, "zol").await, ["Émile Zola"]);
    // A named contact is not found by its nickname or company.
    assert!(find_names(remote, "mimile").await.is_empty());
    assert!(find_names(remote, "l'aur").await.is_empty());
    // A complex term between quotes; without them, the same term.
    assert_eq!(find_names(remote, "\"Jean Pi\"").await, ["Jean Pierre Dupont"]);
    assert_eq!(find_names(remote, "jean pi").await, ["Jean Pierre Dupont"]);
    assert_eq!(find_names(remote, "jean").await, ["Jean Pierre Dupont", "jean-pierre Durand"]);
    assert_eq!(find_names(remote, "jean-").await, ["jean-pierre Durand"]);
    // Nameless contacts: by nickname, else company, which their entries carry.
    assert_eq!(find_names(remote, "ze").await, ["Zed"]);
    assert_eq!(find_names(remote, "ORA").await, ["Orange SA"]);
    // Values are stored trimmed.
    assert_eq!(find_names(remote, "lee").await, ["Lee"]);
    // A wildcard is an invalid parameter, a blank term a missing one.
    assert_eq!(code(remote.find_contacts("Or*", None).await, "search Or*"), ErrorCode::InvalidParameter);
    assert_eq!(code(remote.find_contacts("  ", None).await, "blank search"), ErrorCode::MissingParameter);
}

async fn paging<R: Remote>(remote: &R) {
    let sorted = ["anne Martin", "Anne Martin", "Bruno Martin", "Chloé Martin", "Lucie Martin"];
    let first = remote.find_contacts("martin", None).await.unwrap();
    assert_eq!((first.total, first.pages, first.page), (5, 2, 1), "{first:?}");
    assert_eq!(names(&first.entries), sorted[..3]);
    let second = remote.find_contacts("martin", Some(2)).await.unwrap();
    assert_eq!((second.total, second.pages, second.page), (5, 2, 2), "{second:?}");
    assert_eq!(names(&second.entries), sorted[3..]);
    let beyond = remote.find_contacts("martin", Some(3)).await.unwrap();
    assert_eq!((beyond.page, beyond.entries.len()), (3, 0), "past the last page: {beyond:?}");
    assert_eq!(code(remote.find_contacts("martin", Some(0)).await, "page 0"), ErrorCode::InvalidParameter);
    let all = remote.find_matches("martin").await.unwrap();
    assert!(all.complete(), "{all:?}");
    assert_eq!(names(&all.entries), sorted);
    assert_eq!(names(&remote.find_all_contacts("\"jean pierre\"").await.unwrap()), ["Jean Pierre Dupont"]);
}

async fn not_found<R: Remote>(remote: &R) {
    let gone = ErrorCode::DataNotFound;
    assert_eq!(code(remote.read_contact(UNKNOWN_ID).await, "getcontact"), gone);
    assert_eq!(code(remote.get_picture(UNKNOWN_ID).await, "getpicture"), gone);
    let device = NewDevice {
        cid: UNKNOWN_ID.into(),
        kind: DeviceType::Phone,
        subtype: DeviceSubtype::Mobile,
        order: 1,
        value: "0612345678".into(),
    };
    assert_eq!(code(remote.add_device(&device).await, "adddevice"), gone);
    assert_eq!(code(remote.add_picture(UNKNOWN_ID, JPEG, ImageType::Jpeg).await, "addpicture"), gone);
    let error = remote.read_contact(UNKNOWN_ID).await.unwrap_err();
    assert!(!error.is_fatal() && !error.is_ambiguous(), "{error}");
}

/// A device as compared: everything but its id.
type DeviceShape = (DeviceType, DeviceSubtype, Option<String>, u32, bool, String);

async fn devices_of<R: Remote>(remote: &R, cid: &str) -> Vec<DeviceShape> {
    let detail = remote.get_contact(cid).await.unwrap();
    detail
        .devices
        .into_iter()
        .map(|d| (d.kind, d.subtype, d.info_type, d.order, d.display, d.value))
        .collect()
}

async fn round_trips<R: Remote>(remote: &R, people: &People) {
    let read = remote.read_contact(&people.zola).await.unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let d = read.value;
    assert_eq!(d.id, people.zola);
    assert_eq!(
        (d.firstname.as_deref(), d.lastname.as_deref(), d.nickname.as_deref(), d.company.as_deref()),
        (Some("Émile"), Some("Zola"), Some("Mimile"), Some("L'Aurore"))
    );
    assert_eq!((d.function.as_deref(), d.department.as_deref()), (Some("Writer"), Some("Letters")));
    assert_eq!((d.birthday.as_deref(), d.civility), (Some("1840-04-02"), Some(Civility::Mr)));
    let perso = Some("perso".to_string());
    let email =
        (DeviceType::Email, DeviceSubtype::Internet, perso.clone(), 1, true, "emile@example.org".into());
    let devices = devices_of(remote, &people.zola).await;
    assert_eq!(devices, std::slice::from_ref(&email), "emailperso is the first email device");

    let phone = NewDevice {
        cid: people.zola.clone(),
        kind: DeviceType::Phone,
        subtype: DeviceSubtype::Mobile,
        order: 1,
        value: "+33 6 12 34 56 78".into(),
    };
    remote.add_device(&phone).await.unwrap();
    let url = NewDevice {
        kind: DeviceType::Url,
        subtype: DeviceSubtype::Web,
        order: 1,
        value: "https://zola.example.org/".into(),
        ..phone.clone()
    };
    remote.add_device(&url).await.unwrap();
    let phone = (DeviceType::Phone, DeviceSubtype::Mobile, perso.clone(), 1, true, phone.value);
    let url = (DeviceType::Url, DeviceSubtype::Web, perso, 1, true, url.value);
    assert_eq!(devices_of(remote, &people.zola).await, [email, phone, url], "devices in the order added");
}

async fn pictures<R: Remote>(remote: &R, people: &People) {
    let cid = people.zola.as_str();
    assert_eq!(remote.get_picture(cid).await.unwrap(), None, "no picture yet");
    remote.add_picture(cid, JPEG, ImageType::Jpeg).await.unwrap();
    let picture = remote.get_picture(cid).await.unwrap().expect("a picture");
    assert_eq!((picture.content.as_slice(), picture.image_type), (JPEG, Some(ImageType::Jpeg)));
    assert!(picture.id.is_some(), "a media id");
    // Replaced; its type is what the bytes are, not what the client declared.
    remote.add_picture(cid, GIF, ImageType::Jpeg).await.unwrap();
    let picture = remote.get_picture(cid).await.unwrap().expect("a picture");
    assert_eq!((picture.content.as_slice(), picture.image_type), (GIF, Some(ImageType::Gif)));
    let refused = remote.add_picture(cid, b"not an image at all", ImageType::Jpeg).await;
    assert_eq!(code(refused, "addpicture of garbage"), ErrorCode::InvalidParameter);
    assert_eq!(remote.get_picture(cid).await.unwrap().unwrap().content, GIF, "the refused one wrote nothing");
}

async fn refused_writes<R: Remote>(remote: &R) {
    let nameless = NewContact { function: Some("Refused".into()), ..NewContact::default() };
    assert_eq!(
        code(remote.add_contact(&nameless).await, "addcontact without a name"),
        ErrorCode::MissingParameter
    );
    let blank = NewContact { lastname: Some("   ".into()), ..NewContact::default() };
    assert_eq!(
        code(remote.add_contact(&blank).await, "addcontact with a blank name"),
        ErrorCode::MissingParameter
    );
    let bad_date = NewContact { birthday: Some("1951-13-01".into()), ..named("Refused", "Refused") };
    assert_eq!(
        code(remote.add_contact(&bad_date).await, "addcontact, bad birthday"),
        ErrorCode::InvalidParameter
    );
    assert!(find_names(remote, "refused").await.is_empty(), "refused writes store nothing");
    let page = remote.find_contacts("zola", None).await.unwrap();
    let device = NewDevice {
        cid: page.entries[0].id.clone(),
        kind: DeviceType::Phone,
        subtype: DeviceSubtype::Web,
        order: 1,
        value: "0612345678".into(),
    };
    assert_eq!(code(remote.add_device(&device).await, "adddevice phone/web"), ErrorCode::InvalidParameter);
    assert_eq!(devices_of(remote, &device.cid).await.len(), 3, "the refused device was not added");
}

async fn calls_are_counted<R: Remote>(remote: &R) {
    let count = |r: &R, action: &str| r.stats().calls.get(action).copied().unwrap_or(0);
    let before = (count(remote, "findcontactlist"), count(remote, "getcontact"), count(remote, "addcontact"));
    remote.find_contacts("zola", None).await.unwrap();
    let id = remote.add_contact(&named("Counted", "Once")).await.unwrap();
    remote.get_contact(&id).await.unwrap();
    let after = (count(remote, "findcontactlist"), count(remote, "getcontact"), count(remote, "addcontact"));
    assert_eq!(after, (before.0 + 1, before.1 + 1, before.2 + 1), "one call each");
    assert!(remote.stats().requests() >= after.0 + after.1 + after.2);
}
