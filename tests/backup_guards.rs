//! Backups never destroy data (issues 8 and 9), end to end: the real binary against the real
//! sandbox over HTTP on 127.0.0.1 (and the embedded sandbox where the issue used it).
//!
//! - a token without an endpoint is a usage error, and a backup of one source is never written
//!   over by another (the embedded sandbox standing in for a lost endpoint);
//! - "most of the backup disappearing" is refused even within `--max-delete`;
//! - a `.vcf` this tool did not write is never replaced without `--force`;
//! - one import or export per account at a time, and a killed run leaves no stale lock;
//! - listed contacts that answer "data not found" keep their cards (both layouts).

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{text, TestServer};
use serde_json::Value;

/// A temporary home for one test: the embedded sandbox's data and the run locks.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `orange-contacts <args>` with nothing from the caller's environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = common::command();
        c.args(args)
            .env("ORANGE_CONTACTS_DATA_DIR", self.path("data"))
            .env("ORANGE_CONTACTS_STATE_DIR", self.path("state"));
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// A command against `server` as `user` (token in a file).
    fn remote(&self, server: &TestServer, user: &str, args: &[&str]) -> Command {
        let token = self.path(&format!("{user}.token"));
        if !token.exists() {
            std::fs::write(&token, server.token(user)).unwrap();
        }
        let mut c = self.command(args);
        c.args(["--endpoint", &server.endpoint, "--token-file"]).arg(token).args([
            "--rate",
            "0",
            "--concurrency",
            "8",
        ]);
        c
    }

    /// `export PATH ARGS` against `server` with a JSON report.
    fn export(&self, server: &TestServer, user: &str, path: &Path, args: &[&str]) -> (Output, Value) {
        let report = self.path(&format!("report-{}.json", rand::random::<u32>()));
        let mut all = vec!["export", path.to_str().unwrap(), "--report", report.to_str().unwrap()];
        all.extend_from_slice(args);
        let out = self.remote(server, user, &all).output().unwrap();
        let json = std::fs::read_to_string(&report)
            .map(|s| serde_json::from_str(&s).unwrap())
            .unwrap_or(Value::Null);
        (out, json)
    }
}

/// `n` people with distinct names (`first` names them) and a phone each.
fn people(first: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Family{i:04};{first}{i:04};;;\r\nFN:{first}{i:04} Family{i:04}\r\n\
                 TEL;TYPE=CELL:+336{i:08}\r\nEND:VCARD\r\n"
            )
        })
        .collect()
}

/// Seeds `vcf` into `db` for `user` (`sandbox seed`).
fn seed(home: &Home, db: &Path, user: &str, vcf: &str) {
    let file = home.path(&format!("seed-{}.vcf", rand::random::<u32>()));
    std::fs::write(&file, vcf).unwrap();
    let out =
        home.run(&["sandbox", "seed", "--db", db.to_str().unwrap(), "--user", user, file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
}

/// Every file below `path` (or `path` itself) with its bytes.
fn snapshot(path: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    if path.is_file() {
        return [(path.to_path_buf(), std::fs::read(path).unwrap())].into();
    }
    std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect()
}

/// `server` restarted over its database with `--not-found-rate RATE` (on another port: a backup of
/// it records another source).
fn with_unreliable_reads(server: TestServer, rate: &str, seed: &str) -> TestServer {
    let (dir, db) = server.stop();
    TestServer::start_on(dir, db, &["--not-found-rate", rate, "--fault-seed", seed])
}

/// Issue 8, item 1: the cron job whose environment lost ORANGE_CONTACTS_ENDPOINT. A token without
/// an endpoint is a usage error (flag, file or environment), and nothing is touched.
#[test]
fn issue8_item1_a_token_without_an_endpoint_is_a_usage_error() {
    let home = Home::new();
    let backup = home.path("backup");
    std::fs::create_dir(&backup).unwrap();
    std::fs::write(
        backup.join("orange-contacts-1.vcf"),
        "BEGIN:VCARD\r\nUID:orange-contacts-1\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let before = snapshot(&backup);
    let tok = home.path("tok");
    std::fs::write(&tok, "B64tok+en/=|ted=1\n").unwrap();
    let dir = backup.to_str().unwrap();
    let runs = [
        home.command(&["export", dir, "--quick", "-q", "--token-file", tok.to_str().unwrap()])
            .output()
            .unwrap(),
        home.command(&["export", dir, "-q", "--token", "B64tok+en/=|ted=1"]).output().unwrap(),
        home.command(&["export", dir, "-q"])
            .env("ORANGE_CONTACTS_TOKEN", "B64tok+en/=|ted=1")
            .output()
            .unwrap(),
        home.command(&["import", "-q", "--token-file", tok.to_str().unwrap(), tok.to_str().unwrap()])
            .output()
            .unwrap(),
    ];
    for out in &runs {
        assert_eq!(out.status.code(), Some(2), "{}", text(out));
        let err = common::stderr(out);
        assert!(err.contains("without an endpoint") && err.contains("--endpoint"), "{err}");
        assert!(!err.contains("tok+en"), "the token is never printed: {err}");
    }
    assert_eq!(snapshot(&backup), before);
    assert!(!home.path("data").exists(), "the embedded sandbox was not even opened");
}

/// Issue 8, item 1: a backup of the real account (33 cards) and the embedded sandbox (6 other
/// people, same ids 1–6) standing in for it. Refused before any call, in both layouts, until
/// --allow-other-source; and even then the share guard stops 27 deletions of 33 (which passed
/// the default --max-delete 50), writing nothing — cards 1–6 are not overwritten.
#[test]
fn issue8_item1_the_embedded_sandbox_never_writes_over_a_backup_of_an_endpoint() {
    let home = Home::new();
    let server = TestServer::start(&[]);
    seed(&home, &server.db, "alice", &people("Real", 33));
    let db = home.path("data").join("sandbox.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    seed(&home, &db, "local", &people("Sandbox", 6));
    for path in [home.path("backup"), home.path("backup.vcf")] {
        let p = path.to_str().unwrap();
        let (out, _) = home.export(&server, "alice", &path, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let before = snapshot(&path);

        let out = home.run(&["export", p, "--quick", "-q"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = common::stderr(&out);
        assert!(err.contains(&format!("is a backup of {}", server.endpoint)), "{err}");
        assert!(err.contains("embedded sandbox") && err.contains("--allow-other-source"), "{err}");
        assert_eq!(snapshot(&path), before, "{p}: nothing touched");

        let out = home.run(&["export", p, "-q", "--allow-other-source"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = common::stderr(&out);
        assert!(err.contains("27 of the backup's 33") && err.contains("--max-delete-percent"), "{err}");
        assert_eq!(snapshot(&path), before, "{p}: cards of ids 1-6 not overwritten, none deleted");
    }
    // The backup still names its source.
    let meta = std::fs::read_to_string(home.path("backup").join(".orange-contacts.json")).unwrap();
    assert!(meta.contains(&server.endpoint) && !meta.contains("B64"), "{meta}");
}

/// Issue 8, item 2: `export phone60.vcf` over a 60-card phone export replaced it. Refused now
/// (exit 1, the file as it was), replaced only with --force; and the deletion guards apply to
/// single files exactly as to vdirs.
#[test]
fn issue8_item2_export_never_replaces_a_vcf_it_did_not_write() {
    let home = Home::new();
    let server = TestServer::start(&[]);
    seed(&home, &server.db, "alice", &people("Anne", 4));
    let phone = home.path("phone60.vcf");
    let phone_export = people("Phone", 60)
        .replace("VERSION:3.0\r\n", "VERSION:3.0\r\nPRODID:-//Google Inc.//Android//EN\r\n");
    std::fs::write(&phone, &phone_export).unwrap();
    let (out, _) = home.export(&server, "alice", &phone, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = common::stderr(&out);
    assert!(err.contains("not written by orange-contacts") && err.contains("--force"), "{err}");
    assert!(err.contains("PRODID -//Google Inc.//Android//EN"), "{err}");
    assert_eq!(std::fs::read_to_string(&phone).unwrap(), phone_export);

    let (out, report) = home.export(&server, "alice", &phone, &["--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report["summary"]["written"], 4);
    assert_eq!(common::count_cards(&std::fs::read_to_string(&phone).unwrap()), 4);
    let (out, report) = home.export(&server, "alice", &phone, &[]);
    assert_eq!(out.status.code(), Some(0), "its own file now: {}", text(&out));
    assert_eq!(report["summary"]["unchanged"], 4);
    // The markers are not contact data: reading the backup back reports nothing about them.
    let out = home.run(&["inspect", phone.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains("X-ORANGE-CONTACTS-SOURCE") && !text(&out).contains("PRODID"),
        "{}",
        text(&out)
    );

    // A single file loses at most --max-delete cards and half of itself, as a vdir does.
    seed(&home, &server.db, "bob", &people("Bob", 1));
    let before = std::fs::read(&phone).unwrap();
    for (args, flag) in [
        (&["--allow-other-source", "--max-delete", "2"][..], "--max-delete 2"),
        (&["--allow-other-source"][..], "--max-delete-percent 50"),
    ] {
        let (out, report) = home.export(&server, "bob", &phone, args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(common::stderr(&out).contains(flag), "{}", text(&out));
        assert_eq!(report["summary"]["deleted"], 0);
        assert_eq!(std::fs::read(&phone).unwrap(), before);
    }
}

/// Issue 9, item 3: two imports of one file started together duplicated the account. One run per
/// account: the second refuses with a clear message, the account holds each contact once.
#[test]
fn issue9_item3_two_imports_at_once_create_each_contact_once() {
    let home = Home::new();
    let server = TestServer::start(&["--latency-ms", "10"]);
    let file = home.path("c200.vcf");
    std::fs::write(&file, people("Twice", 200)).unwrap();
    let f = file.to_str().unwrap();
    let spawn = || {
        home.remote(&server, "alice", &["import", f, "-q"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let codes: Vec<Option<i32>> = outs.iter().map(|o| o.status.code()).collect();
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(1)),
        "{codes:?}: {}{}",
        text(&outs[0]),
        text(&outs[1])
    );
    let refused = outs.iter().find(|o| o.status.code() == Some(1)).unwrap();
    let err = common::stderr(refused);
    assert!(
        err.contains("another orange-contacts run is using the account") && err.contains("import (process"),
        "{err}"
    );
    assert!(!err.contains("B64"), "no token in the message: {err}");

    let backup = home.path("count.vcf");
    let (out, report) = home.export(&server, "alice", &backup, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report["summary"]["contacts"], 200, "each contact once");
    assert!(std::fs::read_dir(home.path("state")).unwrap().next().is_none(), "released locks are removed");
}

/// Issue 9, item 3: an import waits for nobody while an export of the same account runs — it
/// refuses; after the export is killed with SIGKILL, the lock is gone with it.
#[test]
fn issue9_item3_a_running_export_locks_its_account_and_a_killed_one_leaves_no_stale_lock() {
    let home = Home::new();
    let server = TestServer::start(&["--latency-ms", "20"]);
    seed(&home, &server.db, "alice", &people("Anne", 3));
    seed(&home, &server.db, "bob", &people("Bob", 3));
    let backup = home.path("backup");
    let mut export = home
        .remote(&server, "alice", &["export", backup.to_str().unwrap(), "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(export.try_wait().unwrap().is_none(), "the export finished too early for this test");
    let sample = home.path("one.vcf");
    std::fs::write(&sample, people("New", 1)).unwrap();
    let import = |user: &str| {
        home.remote(&server, user, &["import", sample.to_str().unwrap(), "-q"]).output().unwrap()
    };
    let out = import("alice");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(common::stderr(&out).contains("export (process"), "{}", text(&out));
    let out = import("bob");
    assert_eq!(out.status.code(), Some(0), "another account is not locked: {}", text(&out));
    export.kill().unwrap();
    export.wait().unwrap();
    let out = import("alice");
    assert_eq!(out.status.code(), Some(0), "no stale lock after kill -9: {}", text(&out));
}

/// Issue 9, item 4: a server that lists 60 contacts and answers "data not found" for most of
/// them. Export used to delete their cards (exit 0); their cards are kept now, each is an error,
/// exit 3 — in a vdir and in a single file.
#[test]
fn issue9_item4_listed_contacts_that_answer_not_found_keep_their_cards() {
    let home = Home::new();
    let server = TestServer::start(&[]);
    seed(&home, &server.db, "alice", &people("Anne", 60));
    let (vdir, file) = (home.path("backup"), home.path("backup.vcf"));
    for path in [&vdir, &file] {
        let (out, _) = home.export(&server, "alice", path, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let (vdir_before, file_before) = (snapshot(&vdir), std::fs::read_to_string(&file).unwrap());
    // The same account on a server whose reads disagree with its listing (another port: the
    // backup's recorded source changes, which --allow-other-source says is intended).
    let server = with_unreliable_reads(server, "0.75", "8");
    let mut file_errors = 0;
    for path in [&vdir, &file] {
        let (out, report) = home.export(&server, "alice", path, &["--quick", "--allow-other-source"]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        let s = &report["summary"];
        let errors = s["errors"].as_u64().unwrap();
        assert!(errors > 20, "{s}");
        assert_eq!(s["contacts"].as_u64().unwrap() + errors, 60, "{s}");
        assert_eq!(s["deleted"], 0);
        assert_eq!(report["kept"].as_array().unwrap().len() as u64, errors);
        assert!(common::stderr(&out).contains("data not found"), "{}", text(&out));
        file_errors = errors;
    }
    let after = snapshot(&vdir);
    let only_cards = |m: &BTreeMap<PathBuf, Vec<u8>>| {
        m.iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "vcf"))
            .map(|(p, b)| (p.clone(), b.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(only_cards(&after), only_cards(&vdir_before), "every card as it was");
    let text_after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(common::count_cards(&text_after), 60);
    // Read cards now name the new server, kept ones still the old one: each kept verbatim.
    let unfolded = |t: &str| t.replace("\r\n ", "");
    let old_cards: Vec<String> =
        unfolded(&file_before).split_inclusive("END:VCARD\r\n").map(String::from).collect();
    let kept = old_cards.iter().filter(|c| unfolded(&text_after).contains(c.as_str())).count();
    assert_eq!(kept as u64, file_errors, "each unreadable contact's card kept verbatim");
    // The next run, on the same server, needs no flag: the file is a backup of this source too.
    let (out, _) = home.export(&server, "alice", &file, &["--quick"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

/// Issue 9, item 4 (single file): a few unreadable contacts among many used to make export refuse
/// the whole file, so changed cards were never written. Now the changed cards are written and
/// the unreadable contacts keep their previous cards inside the new file.
#[test]
fn issue9_item4_a_few_unreadable_contacts_no_longer_stop_a_single_file_backup() {
    let home = Home::new();
    let server = TestServer::start(&[]);
    seed(&home, &server.db, "alice", &people("Anne", 200));
    let file = home.path("all.vcf");
    let (out, _) = home.export(&server, "alice", &file, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = std::fs::read_to_string(&file).unwrap();
    // 60 contacts get a new email (merged by import).
    let changes: String = (0..60)
        .map(|i| format!("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Family{i:04};Anne{i:04};;;\r\nEMAIL:changed{i}@example.org\r\nEND:VCARD\r\n"))
        .collect();
    let changes_file = home.path("changes.vcf");
    std::fs::write(&changes_file, changes).unwrap();
    let out =
        home.remote(&server, "alice", &["import", changes_file.to_str().unwrap(), "-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let server = with_unreliable_reads(server, "0.05", "3");
    let (out, report) = home.export(&server, "alice", &file, &["--quick", "--allow-other-source"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let errors = report["summary"]["errors"].as_u64().unwrap();
    assert!(errors > 0 && errors < 40, "{}", report["summary"]);
    assert!(report.get("refused").is_none(), "{report}");
    let after = std::fs::read_to_string(&file).unwrap();
    assert_eq!(common::count_cards(&after), 200, "no card dropped");
    let unreadable: Vec<&Value> =
        report["contacts"].as_array().unwrap().iter().filter(|c| c["status"] == "error").collect();
    let changed_and_unreadable = unreadable
        .iter()
        .filter(|c| c["name"].as_str().unwrap()[4..8].parse::<usize>().unwrap() < 60)
        .count() as u64;
    assert_eq!(
        after.matches("changed").count() as u64,
        60 - changed_and_unreadable,
        "every readable changed card is written"
    );
    for c in unreadable {
        let uid = c["uid"].as_str().unwrap();
        let old = before
            .split_inclusive("END:VCARD\r\n")
            .find(|card| card.contains(&format!("UID:{uid}\r\n")))
            .unwrap();
        assert!(after.contains(old), "{uid}: its previous card, verbatim");
    }
}
