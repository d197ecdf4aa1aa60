//! Errors that say what to do (issue 11): one fatal condition is one message, not one per record,
//! and the run stops there with every record not yet done "not attempted"; a file that is not
//! contacts is an error naming it, an empty one a warning, a vdir given to `import` its cards;
//! `check --one-way` and `--quick`; `export --dry-run` touching nothing. Every run is the real
//! binary against the real sandbox on 127.0.0.1 (or a port nobody listens on, a name that does
//! not resolve, the sandbox spoken to in TLS).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{self, text, TestServer};
use serde_json::Value;

/// A token shaped like the service's: it must appear in no message.
const TOKEN: &str = "B64ZmF0YWw+/=|sau=|ted=1208277300|SiGnAtUrE+/aBc=";

fn card(first: &str, last: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nN:{last};{first};;;\r\nFN:{first} {last}\r\nEMAIL:{first}.{last}@example.org\r\nEND:VCARD\r\n")
}

/// `n` cards, `Person<i> Martin`.
fn cards(dir: &Path, n: usize) -> PathBuf {
    let file = dir.join(format!("cards-{n}.vcf"));
    let body: String = (0..n).map(|i| card(&format!("Person{i}"), "Martin")).collect();
    std::fs::write(&file, body).unwrap();
    file
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `orange-contacts <cmd> <args…> --endpoint ENDPOINT --token TOKEN --rate 0 --retries 1`, isolated
/// ([`common::command`]), its state folder in `dir`.
fn against(endpoint: &str, token: &str, dir: &Path, cmd: &str, args: &[&str]) -> Output {
    common::command()
        .arg(cmd)
        .args(args)
        .args(["--endpoint", endpoint, "--token", token, "--rate", "0", "--retries", "1"])
        .env("ORANGE_CONTACTS_STATE_DIR", dir.join("state"))
        .output()
        .unwrap()
}

/// Imports 300 cards into `endpoint`: the run's output and its report's outcome counts.
fn import_300(endpoint: &str, token: &str) -> (Output, BTreeMap<String, u64>, Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = cards(dir.path(), 300);
    let report = dir.path().join("report.json");
    let out = against(
        endpoint,
        token,
        dir.path(),
        "import",
        &[file.to_str().unwrap(), "--report", report.to_str().unwrap()],
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap_or_default())
        .unwrap_or_else(|e| panic!("no report ({e}): {}", text(&out)));
    let counts = json["summary"]["outcomes"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect();
    (out, counts, json)
}

/// One fatal condition: exit 1, at most 3 lines on stderr (the counts, the error), the error
/// saying `says`, the token nowhere, and all 300 records "not attempted" in the report.
fn assert_one_message(endpoint: &str, token: &str, says: &str) -> String {
    let (out, counts, report) = import_300(endpoint, token);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(err.lines().count() <= 3, "{} lines:\n{err}", err.lines().count());
    assert!(err.contains(says), "expected {says:?} in:\n{err}");
    assert!(!err.contains("SiGnAtUrE") && !err.contains(token), "token leaked:\n{err}");
    assert_eq!(counts, BTreeMap::from([("not_attempted".to_string(), 300)]), "{err}");
    assert_eq!(report["records"].as_array().unwrap().len(), 300, "every record is in the report");
    assert!(report["records"][299]["error"].as_str().unwrap().starts_with("not attempted"));
    err.lines().find(|l| l.starts_with("error:")).unwrap().to_string()
}

#[test]
fn connection_refused_is_one_message() {
    let line =
        assert_one_message("http://127.0.0.1:1/PersonalContacts/V1", TOKEN, "cannot connect to 127.0.0.1:1");
    assert!(line.contains("is the server running"), "{line}");
    eprintln!("{line}");
}

#[test]
fn an_unknown_host_is_one_message() {
    let line = assert_one_message(
        "http://no-such-host.invalid/PersonalContacts/V1",
        TOKEN,
        "cannot find the host no-such-host.invalid",
    );
    eprintln!("{line}");
}

#[test]
fn tls_spoken_to_a_plain_http_port_is_one_message() {
    let server = TestServer::start(&[]);
    let https = server.endpoint.replacen("http://", "https://", 1);
    let line = assert_one_message(&https, TOKEN, "TLS handshake");
    assert!(line.contains(&format!("write the endpoint with http:// ({})", server.endpoint)), "{line}");
    eprintln!("{line}");
}

#[test]
fn a_wrong_path_404_is_one_message() {
    let server = TestServer::start(&[]);
    let wrong = format!("{}/Contacts/V1", server.base_url());
    let line = assert_one_message(&wrong, TOKEN, "HTTP 404");
    assert!(line.contains("is the endpoint …/PersonalContacts/V1?"), "{line}");
    eprintln!("{line}");
}

#[test]
fn a_401_asks_for_service_credentials_in_one_message() {
    let server = TestServer::start(&["--service-auth", "SVC:s3cr3t-pwd"]);
    let token = server.token("alice");
    let line = assert_one_message(
        &server.endpoint,
        &token,
        "this endpoint needs service credentials: --service-auth",
    );
    assert!(line.contains("service_auth_file"), "{line}");
    eprintln!("{line}");
}

#[test]
fn a_refused_token_is_one_message() {
    let server = TestServer::start(&[]);
    let line = assert_one_message(&server.endpoint, TOKEN, "the token was refused");
    assert!(line.contains("get a new one"), "{line}");
    eprintln!("{line}");
}

#[test]
fn a_privacy_refusal_is_one_message_with_the_consent_url() {
    let server = TestServer::start(&[]);
    let token = server.token("carol");
    assert!(server.sandbox_cmd(&["deny", "--user", "carol"]).status.success());
    let line = assert_one_message(
        &server.endpoint,
        &token,
        "Grant it here, then run again: http://privacy.sandbox.invalid/",
    );
    eprintln!("{line}");
}

/// `export` and `check` stop at the first fatal error too, with the same message.
#[test]
fn export_and_check_stop_with_one_message() {
    let server = TestServer::start(&["--service-auth", "SVC:s3cr3t-pwd"]);
    let token = server.token("alice");
    let dir = tempfile::tempdir().unwrap();
    let local = cards(dir.path(), 20);
    let backup = dir.path().join("backup");
    for endpoint in [server.endpoint.clone(), "http://127.0.0.1:1/PersonalContacts/V1".into()] {
        let export = against(&endpoint, &token, dir.path(), "export", &[backup.to_str().unwrap()]);
        let check = against(&endpoint, &token, dir.path(), "check", &[local.to_str().unwrap()]);
        for out in [&export, &check] {
            let err = stderr(out);
            assert_eq!(out.status.code(), Some(1), "{}", text(out));
            assert!(err.lines().count() <= 2, "{err}");
            assert!(err.contains("service credentials") || err.contains("cannot connect"), "{err}");
            eprintln!("{}", err.trim_end());
        }
        assert!(!backup.exists(), "nothing written");
    }
}

#[test]
fn a_file_that_is_not_contacts_is_an_error_naming_it() {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let jpeg = dir.path().join("holiday.jpg");
    let mut bytes = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01".to_vec();
    bytes.extend((0..20_000u32).map(|i| (i * 7 % 251) as u8));
    std::fs::write(&jpeg, &bytes).unwrap();
    let pdf = dir.path().join("contacts.csv");
    std::fs::write(&pdf, b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n").unwrap();
    for (file, what) in [(&jpeg, "a JPEG image"), (&pdf, "a PDF document")] {
        let out = server.cli("alice", "import", &[file.to_str().unwrap()]).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            err.starts_with(&format!("error: {} is not a contacts file: it is {what}", file.display())),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        eprintln!("{}", err.trim_end());
    }
    let out = common::command().args(["inspect", jpeg.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn an_empty_file_is_a_warning() {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.vcf");
    std::fs::write(&empty, b"").unwrap();
    let other = cards(dir.path(), 2);
    let out =
        server.cli("alice", "import", &[empty.to_str().unwrap(), other.to_str().unwrap()]).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        err.contains(&format!("warning: {} is empty: no contact read from it", empty.display())),
        "{err}"
    );
    assert!(err.contains("2 created"), "{err}");
}

#[test]
fn a_vdir_given_to_import_is_read_as_its_cards() {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let vdir = dir.path().join("book");
    std::fs::create_dir(&vdir).unwrap();
    for (i, name) in ["Ann", "Bob", "Cyd"].iter().enumerate() {
        std::fs::write(vdir.join(format!("{i}.vcf")), card(name, "Folder")).unwrap();
    }
    std::fs::write(vdir.join(".hidden.vcf"), card("Hidden", "Folder")).unwrap();
    std::fs::write(vdir.join("notes.txt"), "not a card").unwrap();
    let (out, report) = common::import(&server, "alice", &[vdir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report["summary"]["outcomes"]["created"], 3, "{}", text(&out));
    let sources: Vec<&str> =
        report["records"].as_array().unwrap().iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert!(sources[0].ends_with("0.vcf#1") && sources[2].ends_with("2.vcf#1"), "{sources:?}");
}

/// A sandbox where alice holds the `n` cards of [`cards`], and a folder (holding that file).
fn alice_with(n: usize) -> (TestServer, tempfile::TempDir, PathBuf) {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = cards(dir.path(), n);
    let (out, _) = common::import(&server, "alice", &[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    (server, dir, file)
}

/// The migration check: a phone's export against an account that holds more.
#[test]
fn check_one_way_lists_no_account_only_contacts() {
    let (server, dir, _) = alice_with(6);
    let phone = dir.path().join("phone.vcf");
    std::fs::write(&phone, card("Person1", "Martin") + &card("Person4", "Martin")).unwrap();

    let both_ways = server.cli("alice", "check", &[phone.to_str().unwrap(), "--quick"]).output().unwrap();
    assert_eq!(both_ways.status.code(), Some(3), "{}", text(&both_ways));
    let listing = String::from_utf8_lossy(&both_ways.stdout);
    assert_eq!(listing.lines().filter(|l| l.starts_with("- ")).count(), 4, "{listing}");

    let report = dir.path().join("check.json");
    let one_way = server
        .cli(
            "alice",
            "check",
            &[phone.to_str().unwrap(), "--one-way", "--quick", "--report", report.to_str().unwrap()],
        )
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&one_way.stdout);
    assert_eq!(one_way.status.code(), Some(0), "{}", text(&one_way));
    assert!(!listing.lines().any(|l| l.starts_with("- ")), "{listing}");
    assert_eq!(listing.lines().filter(|l| l.starts_with("= ")).count(), 2, "{listing}");
    assert!(listing.contains("in sync"), "{listing}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!((json["one_way"].as_bool(), json["quick"].as_bool()), (Some(true), Some(true)));

    // A card missing from the account is still a difference.
    std::fs::write(&phone, card("Person1", "Martin") + &card("Nobody", "Here")).unwrap();
    let out = server.cli("alice", "check", &[phone.to_str().unwrap(), "--one-way"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.starts_with("+ Nobody Here")));
}

/// `check --quick` searches as `export --quick` does: about a twentieth of a full listing.
#[test]
fn check_quick_searches_a_twentieth_and_finds_the_same() {
    let (server, dir, local) = alice_with(5);
    let searches = |extra: &[&str]| {
        let report = dir.path().join(format!("check-{}.json", extra.len()));
        let mut args = vec![local.to_str().unwrap(), "--report", report.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = server.cli("alice", "check", &args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        (json["summary"]["searches"].as_u64().unwrap(), json["summary"]["same"].as_u64().unwrap())
    };
    let (full, same_full) = searches(&[]);
    let (quick, same_quick) = searches(&["--quick"]);
    assert_eq!((same_full, same_quick), (5, 5));
    assert!(quick * 15 < full, "{quick} vs {full}");
}

/// Every file under `dir` (or the file itself) with its bytes.
fn snapshot(path: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if path.is_file() {
        out.insert(path.to_path_buf(), std::fs::read(path).unwrap());
        return out;
    }
    for entry in std::fs::read_dir(path).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            out.insert(p.clone(), std::fs::read(&p).unwrap());
        }
    }
    out
}

#[test]
fn export_dry_run_says_what_it_would_do_and_touches_nothing() {
    let (server, dir, _) = alice_with(4);
    let vdir = dir.path().join("book");
    let file = dir.path().join("book.vcf");
    for path in [&vdir, &file] {
        let out = server.cli("alice", "export", &[path.to_str().unwrap(), "--quick"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    // Since the backups: a new contact, and (in the vdir) a card of a contact gone.
    let more = dir.path().join("more.vcf");
    std::fs::write(&more, card("Zoe", "Nouvelle")).unwrap();
    let (out, _) = common::import(&server, "alice", &[more.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let some_card = snapshot(&vdir).into_iter().find(|(p, _)| p.to_string_lossy().ends_with(".vcf")).unwrap();
    let gone = String::from_utf8(some_card.1).unwrap();
    let uid_line = gone.lines().find(|l| l.starts_with("UID:")).unwrap().to_string();
    let gone = gone.replace(&uid_line, "UID:orange-contacts-gone99");
    std::fs::write(vdir.join("orange-contacts-gone99.vcf"), gone).unwrap();

    let state = dir.path().join("state");
    for (path, deletes) in [(&vdir, true), (&file, false)] {
        let before = snapshot(path);
        let out = server
            .cli("alice", "export", &[path.to_str().unwrap(), "--quick", "--dry-run"])
            .env("ORANGE_CONTACTS_STATE_DIR", &state)
            .output()
            .unwrap();
        let (listing, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(snapshot(path), before, "the backup is byte-identical, no leftovers");
        assert!(!state.exists() || std::fs::read_dir(&state).unwrap().next().is_none(), "no lock left");
        assert_eq!(listing.lines().filter(|l| l.starts_with("would write")).count(), 1, "{listing}");
        assert!(
            listing.lines().any(|l| l.starts_with("would write") && l.ends_with("Zoe Nouvelle")),
            "{listing}"
        );
        let would_delete = listing.lines().any(|l| l == "would delete  orange-contacts-gone99.vcf");
        assert_eq!(would_delete, deletes, "{listing}");
        let (deleted, unchanged) = if deletes { (1, 4) } else { (0, 4) };
        assert!(
            err.contains(&format!(
                "dry run: would export 5 contact(s) to {} (1 to write, {unchanged} unchanged, {deleted} to delete, \
                 0 error(s)); nothing was written",
                path.display()
            )),
            "{err}"
        );
    }

    // The guards still say what they would refuse.
    let before = snapshot(&vdir);
    let out = server
        .cli("alice", "export", &[vdir.to_str().unwrap(), "--quick", "--dry-run", "--max-delete", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("more than --max-delete 0"), "{}", text(&out));
    assert_eq!(snapshot(&vdir), before);

    // The same run for real then does what the dry run said.
    let out = server.cli("alice", "export", &[vdir.to_str().unwrap(), "--quick"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stderr(&out).contains("1 written, 4 unchanged, 1 deleted"), "{}", text(&out));
}
