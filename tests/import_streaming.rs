//! Import in flat memory (issue 12): records and account contacts spilled to a temporary
//! database, planned and run in windows of whole person groups, the report streamed in input
//! order. The real binary against the real sandbox; `ORANGE_CONTACTS_IMPORT_WINDOW` makes the
//! windows tiny so that a small input runs many of them.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use orange_contacts::remote::Remote as _;
use serde_json::Value;

/// A vCard of `Given<i> Family<i>` with one mobile (`variant` picks another number).
fn card(i: usize, variant: usize) -> String {
    card_of("Family", i, variant)
}

/// A vCard of `Given<i> <family><i>` with one mobile.
fn card_of(family: &str, i: usize, variant: usize) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:{family}{i};Given{i}\r\nFN:Given{i} {family}{i}\r\n\
         TEL;TYPE=CELL:+33 6 {variant:02} {:02} {:02} {:02}\r\nEND:VCARD\r\n",
        i / 10_000 % 100,
        i / 100 % 100,
        i % 100
    )
}

/// `people` people, then the first `repeats` of them again with another phone: a person's
/// two records are far apart in the input.
fn people_file(dir: &Path, people: usize, repeats: usize) -> std::path::PathBuf {
    let mut cards: String = (0..people).map(|i| card(i, 1)).collect();
    cards.extend((0..repeats).map(|i| card(i, 2)));
    let file = dir.join(format!("people-{people}-{repeats}.vcf"));
    std::fs::write(&file, cards).unwrap();
    file
}

fn records(report: &Value) -> &Vec<Value> {
    report["records"].as_array().unwrap_or_else(|| panic!("no records in {report}"))
}

/// The sources of the report's records, as `#<n>` numbers.
fn numbers(report: &Value) -> Vec<usize> {
    records(report)
        .iter()
        .map(|r| r["source"].as_str().unwrap().rsplit_once('#').unwrap().1.parse().unwrap())
        .collect()
}

/// The account's contacts, by `Given<i>`, with their phone numbers.
fn account(server: &TestServer, user: &str) -> BTreeMap<String, Vec<Vec<String>>> {
    let client = common::client(server, user);
    let all = common::rt().block_on(async {
        let mut all = Vec::new();
        for found in client.find_all_contacts("Family").await.unwrap() {
            all.push(client.get_contact(&found.id).await.unwrap());
        }
        all
    });
    let mut by_name: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for c in all {
        let mut phones: Vec<String> = c.devices.iter().map(|d| d.value.clone()).collect();
        phones.sort();
        by_name.entry(c.firstname.unwrap_or_default()).or_default().push(phones);
    }
    by_name
}

/// An import killed with SIGKILL in the middle, then run again: the second run's report lists
/// every record exactly once, in input order, each created, merged or unchanged, and the
/// account holds every person once with all the phones of their records.
#[test]
fn a_killed_import_run_again_reports_every_record_once_in_input_order() {
    let server = TestServer::start(&["--latency-ms", "50"]);
    let (people, repeats) = (300, 40);
    let file = people_file(server.dir.path(), people, repeats);
    let killed_report = server.dir.path().join("killed.json");
    let mut child = server
        .cli("alice", "import", &["-q", file.to_str().unwrap()])
        .arg("--report")
        .arg(&killed_report)
        .env("ORANGE_CONTACTS_IMPORT_WINDOW", "7")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once some contacts are written, long before all of them are.
    let started = Instant::now();
    loop {
        let created = server.stats()["requests"]["addcontact"].as_u64().unwrap_or(0);
        if created >= 10 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the import ended before it was killed");
        assert!(started.elapsed() < Duration::from_secs(60), "no contact written after a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let written_before = server.stats()["requests"]["addcontact"].as_u64().unwrap();
    assert!(written_before < people as u64, "killed after every contact was written");
    assert!(!killed_report.exists(), "a killed run leaves no half report");
    // What the killed run left (its last calls given time to land).
    std::thread::sleep(Duration::from_millis(500));
    let left = account(&server, "alice");
    assert!(!left.is_empty() && left.len() < people, "{} of {people} people written", left.len());

    let report = server.dir.path().join("again.json");
    let out = server
        .cli("alice", "import", &["-q", file.to_str().unwrap()])
        .arg("--report")
        .arg(&report)
        .env("ORANGE_CONTACTS_IMPORT_WINDOW", "7")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(numbers(&report), (1..=people + repeats).collect::<Vec<_>>(), "every record once, in order");
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for r in records(&report) {
        *outcomes.entry(r["outcome"].as_str().unwrap()).or_default() += 1;
    }
    assert!(outcomes.keys().all(|o| ["created", "merged", "unchanged"].contains(o)), "{outcomes:?}");
    for (i, line) in records(&report)[..people].iter().enumerate() {
        let was_there = left.contains_key(&format!("Given{i}"));
        assert_eq!(line["outcome"] == "created", !was_there, "Given{i} (there before: {was_there}): {line}");
    }
    assert_eq!(report["summary"]["records"], people + repeats);
    assert_eq!(report["summary"]["outcomes"]["created"], outcomes.get("created").copied().unwrap_or(0));

    let held = account(&server, "alice");
    assert_eq!(held.len(), people, "every person: {held:?}");
    for (name, contacts) in &held {
        assert_eq!(contacts.len(), 1, "{name} once: {contacts:?}");
    }
    for i in 0..repeats {
        let phones = &held[&format!("Given{i}")][0];
        assert_eq!(phones.len(), 2, "Given{i} has the phones of both its records: {phones:?}");
    }
}

/// Windows of two records: a person's records 60 records apart still make one group (the
/// first creates the contact, the second merges into it), and the dry-run listing and the
/// report are those of a run in one window.
#[test]
fn same_person_records_far_apart_merge_across_tiny_windows() {
    let server = TestServer::start(&[]);
    let (people, repeats) = (60, 5);
    let file = people_file(server.dir.path(), people, repeats);
    let dry_run = |window: &str| {
        let report = server.dir.path().join(format!("dry-{window}.json"));
        let out = server
            .cli("bob", "import", &["--dry-run", file.to_str().unwrap()])
            .arg("--report")
            .arg(&report)
            .env("ORANGE_CONTACTS_IMPORT_WINDOW", window)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::text(&out));
        let mut report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        report["summary"]["elapsed_ms"] = Value::Null;
        (String::from_utf8(out.stdout).unwrap(), report)
    };
    let (listing_tiny, report_tiny) = dry_run("2");
    let (listing_one, report_one) = dry_run("100000");
    assert_eq!(listing_tiny, listing_one, "the same dry-run listing");
    assert_eq!(report_tiny, report_one, "the same dry-run report");
    assert!(
        listing_tiny.ends_with("plan: 60 create, 5 merge, 0 unchanged, 0 skip, 0 invalid; 125 write calls\n")
    );

    let report = server.dir.path().join("import.json");
    let out = server
        .cli("bob", "import", &["-q", file.to_str().unwrap()])
        .arg("--report")
        .arg(&report)
        .env("ORANGE_CONTACTS_IMPORT_WINDOW", "2")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::text(&out));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let lines = records(&report);
    assert_eq!(numbers(&report), (1..=people + repeats).collect::<Vec<_>>());
    for i in 0..repeats {
        let (first, again) = (&lines[i], &lines[people + i]);
        assert_eq!((first["outcome"].as_str(), again["outcome"].as_str()), (Some("created"), Some("merged")));
        assert_eq!(first["cid"], again["cid"], "Given{i}'s second record joins its contact");
    }
    let held = account(&server, "bob");
    assert_eq!(held.len(), people);
    assert!(held.values().all(|c| c.len() == 1), "{held:?}");
    assert_eq!(held["Given0"][0].len(), 2);
}

/// Peak resident set of an `orange-contacts import` of `file` into `user`'s account.
fn import_peak_rss_kb(server: &TestServer, user: &str, file: &Path, args: &[&str]) -> u64 {
    let report = server.dir.path().join(format!("rss-{user}-{}.json", rand::random::<u32>()));
    let mut cmd: Command = server.cli(user, "import", &["-q"]);
    cmd.args(args).arg(file).arg("--report").arg(&report);
    let run = common::run_measured(&mut cmd, None);
    assert!(matches!(run.code, Some(0 | 2)), "{}", run.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(records(&report).len() as u64, report["summary"]["records"].as_u64().unwrap());
    run.peak_rss_kb
}

/// Memory does not grow with the input: a dry run of 40,000 records (each read, spooled,
/// planned, listed and reported) peaks within a few MB of the same run at a tenth of the size
/// (before, it grew by about 2 KB a record: 26 MB, then 111 MB). A dry re-import over a seeded
/// account is measured too and printed: its growth is the account search's (the answers parsed
/// whole, the walker's map of every contact found), which this slice does not change.
#[test]
fn import_memory_stays_flat_as_the_input_grows() {
    const GROWTH_BOUND_KB: u64 = 30 * 1024;
    let server = TestServer::start(&[]);
    let dir = server.dir.path();
    let (small, big) = (people_file(dir, 4_000, 0), people_file(dir, 40_000, 0));
    let dry = ["--dry-run"];
    let (dry_small, dry_big) =
        (import_peak_rss_kb(&server, "dry", &small, &dry), import_peak_rss_kb(&server, "dry", &big, &dry));
    eprintln!("dry run: {} MB for 4,000 records, {} MB for 40,000", dry_small / 1024, dry_big / 1024);
    // The accounts already hold every person (seeded): the dry re-import reads each one.
    // Names over 26 initials, as address books are: no single search answer holds them all.
    let spread = |people: usize| {
        let cards: String = (0..people)
            .map(|i| card_of(&format!("{}amily", (b'A' + (i % 26) as u8) as char), i, 1))
            .collect();
        let file = dir.join(format!("spread-{people}.vcf"));
        std::fs::write(&file, cards).unwrap();
        file
    };
    let (small, big) = (spread(2_000), spread(20_000));
    server.seed("few", &std::fs::read_to_string(&small).unwrap());
    server.seed("many", &std::fs::read_to_string(&big).unwrap());
    let again_small = import_peak_rss_kb(&server, "few", &small, &dry);
    let again_big = import_peak_rss_kb(&server, "many", &big, &dry);
    eprintln!("re-import: {} MB for 2,000 records, {} MB for 20,000", again_small / 1024, again_big / 1024);
    assert!(
        dry_big < dry_small + GROWTH_BOUND_KB,
        "dry run: {} MB for 40,000 records, {} MB for 4,000",
        dry_big / 1024,
        dry_small / 1024
    );
}
