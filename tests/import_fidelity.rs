//! Imports carry every field the API can hold and report every field it cannot (issue 8, items
//! 5–7): the real binary against the real sandbox server over HTTP on 127.0.0.1.

use crate::common;

use common::{client, contacts_named, import, outcome_of, TestServer};
use orange_contacts::wire::ContactDetail;
use serde_json::Value;

/// Writes `text` as `name` in the server's folder.
fn input(server: &TestServer, name: &str, text: &str) -> String {
    let path = server.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// `BEGIN:VCARD` … `END:VCARD` around `lines` (one property a line).
fn card(lines: &[&str]) -> String {
    let mut out = String::from("BEGIN:VCARD\r\n");
    for line in lines {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("END:VCARD\r\n");
    out
}

fn field_list<'a>(record: &'a Value, key: &str) -> Vec<&'a str> {
    record[key].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

fn dropped_fields(record: &Value) -> Vec<(String, String, String)> {
    record["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap().to_string();
            (s("field"), s("value"), s("reason"))
        })
        .collect()
}

/// The one account contact the search finds.
fn the_contact(server: &TestServer, user: &str, search: &str) -> ContactDetail {
    let mut found = contacts_named(&client(server, user), search);
    assert_eq!(found.len(), 1, "{search}: {found:?}");
    found.remove(0)
}

fn assert_ok(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

// ---------------------------------------------------------------------------------------------
// Item 5: records of one run that are the same new person.

#[test]
fn item5_records_of_one_new_person_create_it_with_the_fields_of_all() {
    let server = TestServer::start(&[]);
    let file = input(
        &server,
        "max.vcf",
        &[
            card(&["VERSION:3.0", "N:Mustermann;Max;;;", "TEL;TYPE=CELL:+49 151 1111111"]),
            card(&[
                "VERSION:3.0",
                "N:Mustermann;Max;;;",
                "ORG:Beispiel AG",
                "TITLE:Prokurist",
                "BDAY:1970-05-06",
            ]),
            card(&[
                "VERSION:3.0",
                "N:MUSTERMANN;Max;;;",
                "ORG:beispiel ag",
                "NICKNAME:Maxi",
                "BDAY:1971-01-01",
            ]),
            card(&["VERSION:3.0", "N:Mustermann;Max;;;", "ORG:Andere GmbH"]),
        ]
        .concat(),
    );
    let (out, report) = import(&server, "max", &[&file]);
    assert_ok(&out);
    let outcomes = &report["summary"]["outcomes"];
    assert_eq!((outcomes["created"].as_u64(), outcomes["merged"].as_u64()), (Some(1), Some(2)), "{outcomes}");
    let second = outcome_of(&report, "max.vcf#2");
    assert_eq!(
        field_list(second, "added"),
        ["company:Beispiel AG", "function:Prokurist", "birthday:1970-05-06"]
    );
    assert!(dropped_fields(second).is_empty(), "{second}");
    // The same company in other letters is no conflict; the nickname is new; the birthday is.
    let third = outcome_of(&report, "max.vcf#3");
    assert_eq!(field_list(third, "added"), ["nickname:Maxi"]);
    let dropped = dropped_fields(third);
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert_eq!((dropped[0].0.as_str(), dropped[0].1.as_str()), ("birthday", "1971-01-01"));
    assert!(dropped[0].2.contains("already taken from") && dropped[0].2.contains("max.vcf#2"), "{dropped:?}");
    let fourth = outcome_of(&report, "max.vcf#4");
    assert_eq!(fourth["outcome"], "unchanged", "{fourth}");
    let dropped = dropped_fields(fourth);
    assert_eq!((dropped[0].0.as_str(), dropped[0].1.as_str()), ("company", "Andere GmbH"), "{dropped:?}");
    assert!(dropped[0].2.contains("max.vcf#2"), "{dropped:?}");

    let max = the_contact(&server, "max", "mustermann");
    assert_eq!(
        (max.company.as_deref(), max.function.as_deref(), max.birthday.as_deref(), max.nickname.as_deref()),
        (Some("Beispiel AG"), Some("Prokurist"), Some("1970-05-06"), Some("Maxi"))
    );
    let calls = &report["summary"]["calls_by_action"];
    assert_eq!((calls["addcontact"].as_u64(), calls["adddevice"].as_u64()), (Some(1), Some(1)), "{calls}");

    // A second run has nothing to add, and reports the same conflicts, now against the account.
    let (out, again) = import(&server, "max", &[&file]);
    assert_ok(&out);
    assert_eq!(again["summary"]["outcomes"]["unchanged"], 4, "{}", again["summary"]);
    assert_eq!(dropped_fields(outcome_of(&again, "max.vcf#2")), vec![]);
    let fields = |r: &Value| dropped_fields(r).into_iter().map(|d| (d.0, d.1)).collect::<Vec<_>>();
    assert_eq!(fields(outcome_of(&again, "max.vcf#3")), fields(third));
    assert_eq!(fields(outcome_of(&again, "max.vcf#4")), fields(fourth));
}

#[test]
fn item5_samples_carry_company_birthday_and_nickname_on_the_first_run() {
    let server = TestServer::start(&[]);
    let s = common::samples();
    let files: Vec<String> = ["android-2.1.vcf", "iphone-3.0.vcf", "google-contacts.csv"]
        .iter()
        .map(|f| s.join(f).to_str().unwrap().to_string())
        .collect();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let (out, report) = import(&server, "samples", &args);
    assert_ok(&out);
    // Jürgen Müller and Taro Yamada are in a vCard file first, then in the Google CSV.
    let mueller = outcome_of(&report, "google-contacts.csv:9");
    assert_eq!(mueller["outcome"], "merged");
    let added = field_list(mueller, "added");
    assert!(
        added.contains(&"company:Müller & Söhne GmbH") && added.contains(&"birthday:1969-11-02"),
        "{added:?}"
    );
    let yamada = outcome_of(&report, "google-contacts.csv:11");
    assert_eq!(field_list(yamada, "added"), ["nickname:Taro"]);

    let m = the_contact(&server, "samples", "müller");
    assert_eq!(
        (m.company.as_deref(), m.birthday.as_deref()),
        (Some("Müller & Söhne GmbH"), Some("1969-11-02"))
    );
    assert_eq!(the_contact(&server, "samples", "山田").nickname.as_deref(), Some("Taro"));

    // The first run said everything: a second one reports exactly the same fields not carried.
    let (out, again) = import(&server, "samples", &args);
    assert_ok(&out);
    assert_eq!(again["summary"]["outcomes"]["unchanged"], report["records"].as_array().unwrap().len());
    for (first, second) in
        report["records"].as_array().unwrap().iter().zip(again["records"].as_array().unwrap())
    {
        assert_eq!(dropped_fields(first), dropped_fields(second), "{}", first["source"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Item 6: full birthdays, whatever the version and wherever VERSION stands.

#[test]
fn item6_full_birthdays_are_sent_in_every_form_and_version() {
    let server = TestServer::start(&[]);
    // (family name, VERSION line or none, where it stands, BDAY line, the date the API gets)
    let cases: &[(&str, &str, bool, &str, &str)] = &[
        ("Quatre", "VERSION:4.0", true, "BDAY:1983-02-03", "1983-02-03"),
        ("Basique", "VERSION:4.0", true, "BDAY:19830203", "1983-02-03"),
        ("Horaire", "VERSION:4.0", true, "BDAY:2019-02-10T00:00:33", "2019-02-10"),
        ("Zone", "VERSION:4.0", true, "BDAY:1983-02-03T10:00:00+02:00", "1983-02-03"),
        ("Kde", "VERSION:3.0", false, "BDAY:1983-02-03", "1983-02-03"),
        ("Lekde", "VERSION:3.0", false, "BDAY:2019-02-10T00:00:33", "2019-02-10"),
        ("Trois", "VERSION:3.0", true, "BDAY;VALUE=date:1983-02-03", "1983-02-03"),
        ("Utc", "VERSION:3.0", true, "BDAY:20190210T000033Z", "2019-02-10"),
        ("Deux", "VERSION:2.1", true, "BDAY:1983-02-03Z", "1983-02-03"),
        ("Dernier", "VERSION:2.1", false, "BDAY:19830203", "1983-02-03"),
    ];
    let mut text = String::new();
    for (family, version, version_first, bday, _) in cases {
        let n = format!("N:{family};Anne;;;");
        let lines: Vec<&str> =
            if *version_first { vec![version, &n, bday] } else { vec![bday, &n, "UID:kde-1", version] };
        text.push_str(&card(&lines));
    }
    // Partial dates cannot be sent: the report quotes them as the file wrote them.
    text.push_str(&card(&["VERSION:4.0", "N:Partielle;Anne;;;", "BDAY:--0203"]));
    text.push_str(&card(&["VERSION:3.0", "N:Mois;Anne;;;", "BDAY:1983-02"]));
    // Other dates of a 4.0 card are quoted as written too.
    text.push_str(&card(&["VERSION:4.0", "N:Noces;Anne;;;", "ANNIVERSARY:2010-05-05"]));
    let file = input(&server, "dates.vcf", &text);
    let (out, report) = import(&server, "dates", &[&file]);
    assert_ok(&out);
    for (i, (family, _, _, bday, iso)) in cases.iter().enumerate() {
        let record = outcome_of(&report, &format!("dates.vcf#{}", i + 1));
        assert!(dropped_fields(record).is_empty(), "{bday}: {record}");
        let contact = the_contact(&server, "dates", family);
        assert_eq!(contact.birthday.as_deref(), Some(*iso), "{bday} ({family})");
    }
    let partial = |n: usize| dropped_fields(outcome_of(&report, &format!("dates.vcf#{n}")));
    let (first, second) = (partial(cases.len() + 1), partial(cases.len() + 2));
    assert_eq!((first[0].0.as_str(), first[0].1.as_str()), ("BDAY", "--0203"), "{first:?}");
    assert_eq!((second[0].0.as_str(), second[0].1.as_str()), ("BDAY", "1983-02"), "{second:?}");
    let anniversary = partial(cases.len() + 3);
    assert_eq!((anniversary[0].0.as_str(), anniversary[0].1.as_str()), ("ANNIVERSARY", "2010-05-05"));
    assert_eq!(the_contact(&server, "dates", "partielle").birthday, None);
}

// ---------------------------------------------------------------------------------------------
// Item 7: smaller losses the API could carry.

#[test]
fn item7_every_nickname_is_carried() {
    let server = TestServer::start(&[]);
    let file = input(
        &server,
        "nick.vcf",
        &card(&["VERSION:3.0", "N:Surnom;Paul;;;", "NICKNAME:Nick1,Nick2", "NICKNAME:Polo,nick1"]),
    );
    let (out, report) = import(&server, "nick", &[&file]);
    assert_ok(&out);
    assert!(dropped_fields(outcome_of(&report, "nick.vcf#1")).is_empty(), "{report}");
    assert_eq!(the_contact(&server, "nick", "surnom").nickname.as_deref(), Some("Nick1, Nick2, Polo"));
}

#[test]
fn item7_org_units_below_the_company_are_carried_and_reported() {
    let server = TestServer::start(&[]);
    let file =
        input(&server, "org.vcf", &card(&["VERSION:4.0", "N:Unite;Eve;;;", "ORG:Acme;Unit1;Unit2;Unit3"]));
    let (out, report) = import(&server, "org", &[&file]);
    assert_ok(&out);
    let eve = the_contact(&server, "org", "unite");
    assert_eq!(
        (eve.company.as_deref(), eve.department.as_deref()),
        (Some("Acme"), Some("Unit1, Unit2, Unit3"))
    );
    let warnings = field_list(outcome_of(&report, "org.vcf#1"), "warnings");
    assert!(warnings.iter().any(|w| w.contains("ORG units") && w.contains("Unit3")), "{warnings:?}");
}

#[test]
fn item7_a_card_with_no_name_is_imported_under_its_phone_or_email() {
    let server = TestServer::start(&[]);
    let file = input(
        &server,
        "nameless.vcf",
        &[
            card(&["VERSION:3.0", "TEL;TYPE=CELL:+33 6 12 34 56 78", "EMAIL:inconnu@example.org"]),
            card(&["VERSION:3.0", "EMAIL:quelquun@example.org"]),
            card(&["VERSION:3.0", "NOTE:nothing to call it by"]),
        ]
        .concat(),
    );
    let (out, report) = import(&server, "nameless", &[&file]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the third card is invalid: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let by_phone = outcome_of(&report, "nameless.vcf#1");
    assert_eq!(
        (by_phone["outcome"].as_str(), by_phone["name"].as_str()),
        (Some("created"), Some("+33 6 12 34 56 78"))
    );
    assert!(field_list(by_phone, "warnings").iter().any(|w| w.contains("phone number")), "{by_phone}");
    let by_email = outcome_of(&report, "nameless.vcf#2");
    assert_eq!(by_email["outcome"], "created");
    assert!(field_list(by_email, "warnings").iter().any(|w| w.contains("email address")), "{by_email}");
    assert_eq!(outcome_of(&report, "nameless.vcf#3")["outcome"], "invalid");

    let contact = the_contact(&server, "nameless", "\"+33 6 12 34 56 78\"");
    assert_eq!(
        (contact.firstname, contact.lastname, contact.nickname.as_deref()),
        (None, None, Some("+33 6 12 34 56 78"))
    );
    assert!(contact.devices.iter().any(|d| d.value == "inconnu@example.org"), "{:?}", contact.devices);
    assert_eq!(
        the_contact(&server, "nameless", "quelquun").nickname.as_deref(),
        Some("quelquun@example.org")
    );

    // Named the same way next time: found, not created again.
    let (_, again) = import(&server, "nameless", &[&file]);
    assert_eq!(again["summary"]["outcomes"]["unchanged"], 2, "{}", again["summary"]);
    assert_eq!(again["summary"]["outcomes"]["created"], 0);
}
