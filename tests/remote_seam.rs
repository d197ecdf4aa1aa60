//! The one seam to the account (issue 10): the [`Remote`] conformance suite against the real
//! sandbox over HTTP (the same suite runs against `MemoryRemote` in the unit tests, so the fake
//! cannot drift from the server), and what a run stopped by the disk tells the user.

use crate::common;

use common::{client, rt, TestServer};
use orange_contacts::remote::conformance;

/// The suite over `serve --page-size 3`, through the HTTP client.
#[test]
fn the_sandbox_over_http_passes_the_remote_conformance_suite() {
    let page_size = conformance::PAGE_SIZE.to_string();
    let server = TestServer::start(&["--page-size", &page_size]);
    let api = client(&server, "conformance");
    rt().block_on(conformance::run(&api));
}

/// Issue 10, item 3: a vdir export stopped by the disk after some cards were replaced says so
/// (it used to say "nothing written", as if the account had failed before any write).
#[test]
fn a_vdir_write_failure_after_some_cards_says_how_many_were_written() {
    use orange_contacts::wire::NewContact;

    let server = TestServer::start(&[]);
    let api = client(&server, "disk");
    rt().block_on(async {
        for i in 0..5 {
            let person = NewContact {
                firstname: Some(format!("Person{i}")),
                lastname: Some("Martin".into()),
                emailperso: Some(format!("person{i}@example.org")),
                ..NewContact::default()
            };
            api.add_contact(&person).await.unwrap();
        }
    });
    let book = server.dir.path().join("book");
    let first = server.cli("disk", "export", &["--quick", book.to_str().unwrap()]).output().unwrap();
    assert!(first.status.success(), "{}", common::text(&first));
    let card_of = |name: &str| {
        std::fs::read_dir(&book)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains(&format!("FN:{name} Martin"))))
            .unwrap_or_else(|| panic!("no card of {name}"))
    };
    // Person0 and Person1 lose their cards (rewritten next time); Person2's becomes a folder,
    // which no card may replace: the run stops there, after two cards.
    let (zero, one, two) = (card_of("Person0"), card_of("Person1"), card_of("Person2"));
    std::fs::remove_file(&zero).unwrap();
    std::fs::remove_file(&one).unwrap();
    std::fs::remove_file(&two).unwrap();
    std::fs::create_dir(&two).unwrap();

    let out = server.cli("disk", "export", &["--quick", book.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
    assert!(zero.is_file() && one.is_file(), "the two cards were written: {stderr}");
    assert!(!stderr.contains("nothing written"), "two cards were written: {stderr}");
    assert!(stderr.contains("2 card(s) had been written"), "{stderr}");
    assert!(stderr.contains(&*two.to_string_lossy()), "the failing card is named: {stderr}");
}

/// Found by the executor's unit tests (issue 10, item 1): with `--on-duplicate create`, an
/// `addcontact` whose answer was lost adopted a namesake that was in the account before the run,
/// and gave it the record's devices a second time. Over the sandbox's faults: every person
/// already there once, imported again with `create`.
#[test]
fn a_lost_addcontact_under_on_duplicate_create_never_adopts_an_older_namesake() {
    let server = TestServer::start(&[]);
    let file = server.dir.path().join("people.vcf");
    let cards: String = (0..40)
        .map(|i| {
            format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Martin;Person{i:02};;;\r\nFN:Person{i:02} Martin\r\n\
                 TEL;TYPE=CELL:+3361234{i:04}\r\nEMAIL;TYPE=WORK:person{i}@example.org\r\nEND:VCARD\r\n"
            )
        })
        .collect();
    std::fs::write(&file, cards).unwrap();
    let (out, first) = common::import(&server, "namesakes", &[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    let old: Vec<String> =
        first["records"].as_array().unwrap().iter().map(|r| r["cid"].to_string()).collect();

    let (dir, db) = server.stop();
    let faulty = ["--fail-rate", "0.3", "--fault-seed", FAULT_SEED];
    let server = TestServer::start_on(dir, db, &faulty);
    let args = ["--on-duplicate", "create", "--concurrency", "1", file.to_str().unwrap()];
    let (out, again) = common::import(&server, "namesakes", &args);
    assert!(again["summary"]["ambiguous_writes_checked"].as_u64().unwrap() > 0, "{}", common::text(&out));
    let api = client(&server, "namesakes");
    for (i, record) in again["records"].as_array().unwrap().iter().enumerate() {
        assert_ne!(record["cid"].to_string(), old[i], "record {i} adopted the older namesake: {record}");
        let older = common::contacts_named(&api, &format!("Person{i:02}"))
            .into_iter()
            .find(|c| format!("\"{}\"", c.id) == old[i])
            .unwrap();
        assert_eq!(older.devices.len(), 2, "Person{i:02}'s older contact is as it was: {older:?}");
    }
}

const FAULT_SEED: &str = "1";
