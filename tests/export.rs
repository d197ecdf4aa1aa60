//! Export and check, end to end: the real binary against the real sandbox server over HTTP on
//! 127.0.0.1 (accounts seeded with `sandbox seed`, which also writes addresses and marital status).

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::crowded_names::{CROWDED_FIRSTS, CROWDED_LASTS};
use common::{card, text, vobject_reads, TestServer};
use serde_json::Value;

fn token_file(server: &TestServer, user: &str) -> PathBuf {
    server.token_file(user)
}

/// `orange-contacts <cmd> <args> --endpoint … --token-file … --rate 0`.
fn command(server: &TestServer, user: &str, cmd: &str, args: &[&str]) -> Command {
    server.cli(user, cmd, args)
}

fn run(server: &TestServer, user: &str, cmd: &str, args: &[&str]) -> Output {
    command(server, user, cmd, args).output().unwrap()
}

/// Runs `export` with a JSON report; returns the output and the report.
fn export(server: &TestServer, user: &str, path: &Path, args: &[&str]) -> (Output, Value) {
    let report = server.dir.path().join(format!("export-{}.json", rand::random::<u32>()));
    let mut all: Vec<&str> = vec![path.to_str().unwrap(), "--report", report.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run(server, user, "export", &all);
    let json =
        std::fs::read_to_string(&report).map(|s| serde_json::from_str(&s).unwrap()).unwrap_or(Value::Null);
    (out, json)
}

/// A multilingual account: Latin with and without accents, Greek, Cyrillic, Arabic, Hebrew,
/// Chinese, Japanese, Korean, Devanagari, Thai, names starting with digits and punctuation,
/// contacts with only a company or only a nickname, and many people sharing first letters (so
/// that a page cap of 7 truncates). Returns the file and the expected display names.
fn multilingual(n_total: usize) -> (String, BTreeSet<String>) {
    let named: &[(&str, &str)] = &[
        ("Émile", "Zola"),
        ("Ørjan", "Ødegård"),
        ("Łukasz", "Żółć"),
        ("Þóra", "Ægisdóttir"),
        ("Γιώργος", "Παπαδόπουλος"),
        ("Иван", "Петров"),
        ("محمد", "علي"),
        ("דוד", "כהן"),
        ("伟", "王"),
        ("娜", "李"),
        ("太郎", "山田"),
        ("さくら", ""),
        ("カタカナ", "ヤマダ"),
        ("민준", "김"),
        ("अमित", "शर्मा"),
        ("สมชาย", ""),
        ("3M", ""),
        ("", "'t Hooft"),
        ("", "(Home)"),
        ("-dash", ""),
        ("Jean Pierre", "Dupont"),
        ("jean-pierre", "Durand"),
    ];
    let (firsts, lasts) = (CROWDED_FIRSTS, CROWDED_LASTS);
    let mut vcf = String::new();
    let mut names = BTreeSet::new();
    let push = |first: &str, last: &str, extra: &[&str], vcf: &mut String, names: &mut BTreeSet<String>| {
        let fn_ = [first, last].iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join(" ");
        let n = format!("N:{last};{first};;;");
        let f = format!("FN:{fn_}");
        let mut fields = vec![n.as_str(), f.as_str()];
        fields.extend_from_slice(extra);
        vcf.push_str(&card(&fields));
        names.insert(fn_);
    };
    for (f, l) in named {
        push(f, l, &["TEL;TYPE=CELL:+33612345678"], &mut vcf, &mut names);
    }
    vcf.push_str(&card(&["N:;;;;", "FN:Orange SA", "ORG:Orange SA"]));
    names.insert("Orange SA".into());
    vcf.push_str(&card(&["N:;;;;", "FN:中国银行", "ORG:中国银行"]));
    names.insert("中国银行".into());
    vcf.push_str(&card(&["N:;;;;", "FN:Zed", "NICKNAME:Zed"]));
    names.insert("Zed".into());
    // Every (first, last) pair distinct; no exact first or last name more than 4 times (a
    // capped server without paging cannot separate more people of one exact name than a page).
    let compounds = ["", "-Claire", "-Sophie", "-Louise", "-Marie", "-Rose", "-Lou", "-Jeanne"];
    let mut i = 0;
    while names.len() < n_total {
        assert!(
            i < 60 * compounds.len(),
            "multilingual() supports up to {} contacts",
            25 + 60 * compounds.len()
        );
        let email = format!("EMAIL:p{i}@example.org");
        let first = format!("{}{}", firsts[i % firsts.len()], compounds[i / 60]);
        push(&first, lasts[(i / 2) % lasts.len()], &[email.as_str()], &mut vcf, &mut names);
        i += 1;
    }
    (vcf, names)
}

fn fns_in(vcf: &str) -> BTreeSet<String> {
    vcf.replace("\r\n ", "")
        .lines()
        .filter_map(|l| l.split_once(':').filter(|(k, _)| k.starts_with("FN")).map(|(_, v)| v.to_string()))
        .collect()
}

#[test]
fn capped_pages_are_followed_or_refined_until_every_contact_is_found() {
    let (vcf, names) = multilingual(100);
    for extra in [&["--page-size", "7"][..], &["--page-size", "7", "--no-paging"][..]] {
        let server = TestServer::start(extra);
        server.seed("alice", &vcf);
        let file = server.dir.path().join("all.vcf");
        let (out, report) = export(&server, "alice", &file, &[]);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", text(&out));
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(common::count_cards(&written), names.len(), "{extra:?}");
        assert_eq!(fns_in(&written), names, "{extra:?}");
        let s = &report["summary"];
        assert_eq!(s["contacts"], names.len(), "{extra:?}");
        assert_eq!(s["incomplete_prefixes"], 0);
        assert!(report["enumeration"]["complete"].as_bool().unwrap());
        assert!(s["truncated_resolved"].as_u64().unwrap() > 0, "{report}");
        if extra.contains(&"--no-paging") {
            assert_eq!(report["enumeration"]["paging"], "ignored");
            assert!(report["enumeration"]["refinements"].as_u64().unwrap() > 0);
        } else {
            assert_eq!(report["enumeration"]["paging"], "honoured");
            assert!(s["pages_followed"].as_u64().unwrap() > 0);
        }
        let searches = s["searches"].as_u64().unwrap();
        eprintln!(
            "{extra:?}: {} contacts, {searches} searches ({:.1} per contact), {} API calls",
            names.len(),
            searches as f64 / names.len() as f64,
            s["api_calls"]
        );
        // The fixed cost is the alphabet (about 22,100 entries, 21,000 of them CJK); what a cap
        // adds must stay small.
        let alphabet = report["enumeration"]["alphabet"].as_u64().unwrap();
        assert!(searches < alphabet + 2_000, "{searches} searches for an alphabet of {alphabet}");
    }
}

#[test]
fn repeated_exports_are_byte_identical_and_read_by_vobject() {
    let server = TestServer::start(&[]);
    let (vcf, names) = multilingual(30);
    server.seed("alice", &vcf);
    // Fields only `sandbox seed` can write: addresses and marital status.
    server.seed(
        "alice",
        &card(&[
            "N:Smith;Robert;;Mr;",
            "FN:Robert Smith",
            "ORG:Custland Ltd;Sales",
            "TITLE:Buyer",
            "BDAY:1951-01-01",
            "EMAIL;TYPE=WORK:rob516.smith@custlandcy.com",
            "TEL;TYPE=HOME,VOICE:0123456789",
            "URL:www.robsmith516.com",
            "ADR;TYPE=HOME:;Appt 34;24\\, Fascination Street;London;England;766546;UK",
            "X-ORANGE-MARITALSTATUS:2",
        ]),
    );
    let dir = server.dir.path();
    let file = dir.join("all.vcf");
    let (out, first) = export(&server, "alice", &file, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(first["summary"]["contacts"], names.len() + 1);
    let bytes = std::fs::read(&file).unwrap();
    let (out, second) = export(&server, "alice", &file, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "second export differs");
    assert_eq!(second["summary"]["written"], 0);
    assert_eq!(second["summary"]["unchanged"], names.len() + 1);

    let content = String::from_utf8(bytes).unwrap();
    let robert =
        content.split("END:VCARD\r\n").find(|c| c.contains("FN:Robert Smith")).unwrap().replace("\r\n ", "");
    for expected in [
        "N:Smith;Robert;;Mr;",
        "ORG:Custland Ltd;Sales",
        "TITLE:Buyer",
        "BDAY:1951-01-01",
        "X-ORANGE-MARITALSTATUS:2",
        "Fascination Street",
        ";London;England;766546;UK",
        "EMAIL;TYPE=INTERNET,WORK:rob516.smith@custlandcy.com",
        // Seeded HOME is stored `perso`, which says nothing: no home/work is written for it.
        "TEL;TYPE=VOICE:0123456789",
    ] {
        assert!(robert.contains(expected), "{expected:?} missing in\n{robert}");
    }
    // No timestamp or version anywhere: every card's PRODID is the same constant.
    assert!(!content.contains("REV:"));
    assert_eq!(content.matches("\r\nPRODID:").count(), common::count_cards(&content));
    assert_eq!(
        content.matches("\r\nPRODID:-//orange-contacts//export//EN\r\n").count(),
        common::count_cards(&content)
    );

    // vdir: one file per contact, unchanged files untouched on a second run.
    let vd = dir.join("book");
    let (out, r1) = export(&server, "alice", &vd, &["--vcard", "4.0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(r1["summary"]["written"], names.len() + 1);
    let listing = |d: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap()))
            .collect();
        v.sort();
        v
    };
    let before = listing(&vd);
    assert_eq!(before.len(), names.len() + 2, "the cards and the backup's .orange-contacts.json");
    let cards: Vec<&(String, Vec<u8>)> =
        before.iter().filter(|(n, _)| n != ".orange-contacts.json").collect();
    assert!(cards.iter().all(|(n, _)| n.starts_with("orange-contacts-") && n.ends_with(".vcf")));
    let (out, r2) = export(&server, "alice", &vd, &["--vcard", "4.0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(r2["summary"]["written"], 0);
    assert_eq!(listing(&vd), before);
    let v4 = cards.iter().map(|(_, b)| String::from_utf8_lossy(b).into_owned()).collect::<String>();
    assert!(v4.contains("VERSION:4.0") && v4.contains("X-ORANGE-MARITALSTATUS:2"));

    vobject_reads(&[&file, &vd]);
}

#[test]
fn samples_round_trip_through_a_fresh_account_and_check_in_sync() {
    let server = TestServer::start(&[]);
    let files: Vec<PathBuf> = ["android-2.1.vcf", "iphone-3.0.vcf", "vcard-4.0.vcf"]
        .iter()
        .map(|f| common::samples().join(f))
        .collect();
    let mut args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    args.push("-q");
    let out = run(&server, "alice", "import", &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Right after importing, check reports only what the API cannot carry.
    let mut check_args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let report = server.dir.path().join("check.json");
    check_args.extend(["--report", report.to_str().unwrap()]);
    let out = run(&server, "alice", "check", &check_args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().filter(|l| !l.is_empty()).all(|l| l.starts_with("= ") || l.contains("in sync")),
        "{stdout}"
    );
    assert!(stdout.contains("not carried: "), "{stdout}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["summary"]["differ"], 0);

    let a = server.dir.path().join("a.vcf");
    let (out, _) = export(&server, "alice", &a, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&server, "bob", "import", &[a.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let b = server.dir.path().join("b.vcf");
    let (out, _) = export(&server, "bob", &b, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // UIDs come from account ids, which a fresh account assigns anew, and each card names its
    // source account; everything else is equal.
    let without_uid = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .replace("\r\n ", "")
            .lines()
            .filter(|l| !l.starts_with("UID:") && !l.starts_with("X-ORANGE-CONTACTS-SOURCE:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_uid(&a), without_uid(&b));
    assert!(common::count_cards(&std::fs::read_to_string(&a).unwrap()) >= 10);

    // A backup of the account checks in sync with it.
    let out = run(&server, "alice", "check", &[a.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn check_reports_only_local_only_in_account_and_differences() {
    let server = TestServer::start(&[]);
    let (vcf, _) = multilingual(30);
    server.seed("alice", &vcf);
    let file = server.dir.path().join("backup.vcf");
    let (out, _) = export(&server, "alice", &file, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&server, "alice", "check", &[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("in sync"));

    // + a card only in the file, * a changed phone number, - a contact only in the account.
    let mut local = std::fs::read_to_string(&file).unwrap();
    local.push_str(&card(&["N:Nouveau;Nina;;;", "FN:Nina Nouveau", "EMAIL:nina@example.org"]));
    let changed = local.replacen("+33612345678", "+33699999999", 1);
    assert_ne!(changed, local);
    std::fs::write(&file, changed).unwrap();
    server.seed("alice", &card(&["N:Compte;Seul;;;", "FN:Seul Compte", "TEL:0102030405"]));

    let report = server.dir.path().join("check.json");
    let out = run(&server, "alice", "check", &[file.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("+ Nina Nouveau")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("- Seul Compte")), "{stdout}");
    let star: Vec<&str> = stdout.lines().filter(|l| l.starts_with("* ")).collect();
    assert_eq!(star.len(), 1, "{stdout}");
    assert!(
        star[0].contains("+33699999999 not in the account")
            && star[0].contains("+33612345678 only in the account"),
        "{stdout}"
    );
    assert!(stdout.contains("3 difference(s) found"), "{stdout}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        (json["summary"]["only_local"].as_u64(), json["summary"]["only_account"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(json["summary"]["differ"], 1);
}

#[test]
fn max_delete_and_empty_listing_refuse_and_keep_every_card() {
    let server = TestServer::start(&[]);
    let (vcf, names) = multilingual(30);
    server.seed("alice", &vcf);
    server.seed("bob", &card(&["N:Seul;Bob;;;", "FN:Bob Seul"]));
    let _ = token_file(&server, "carol"); // an empty account
    let vd = server.dir.path().join("book");
    let (out, _) = export(&server, "alice", &vd, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let count = || {
        std::fs::read_dir(&vd)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("orange-contacts-"))
            .count()
    };
    assert_eq!(count(), names.len());
    let before = std::fs::read_dir(&vd).unwrap().count();

    // Bob's account into the same folder (another source, allowed): every card of Alice's would
    // go, more than allowed: the whole update is refused, nothing written.
    let (out, report) = export(&server, "bob", &vd, &["--allow-other-source", "--max-delete", "5"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-delete"), "{}", text(&out));
    assert_eq!(report["summary"]["deleted"], 0);
    assert_eq!(count(), names.len(), "nothing written, none deleted");
    assert_eq!(std::fs::read_dir(&vd).unwrap().count(), before);

    // An empty listing never empties a backup.
    let (out, _) = export(&server, "carol", &vd, &["--allow-other-source", "--max-delete", "100000"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"), "{}", text(&out));
    assert_eq!(count(), names.len());
    let file = server.dir.path().join("all.vcf");
    let (out, _) = export(&server, "alice", &file, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = std::fs::read(&file).unwrap();
    let (out, _) = export(&server, "carol", &file, &["--allow-other-source"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // Within both limits, vanished contacts' cards are removed.
    let limits = ["--allow-other-source", "--max-delete", "1000", "--max-delete-percent", "100"];
    let (out, report) = export(&server, "bob", &vd, &limits);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report["summary"]["deleted"], names.len());
    assert_eq!(count(), 1);
}

#[test]
fn a_killed_export_leaves_the_previous_backup_intact() {
    // Slow answers: the export is still running when it is killed.
    let server = TestServer::start(&["--latency-ms", "20"]);
    server.seed("alice", &card(&["N:Martin;Anne;;;", "FN:Anne Martin"]));
    let file = server.dir.path().join("backup").join("all.vcf");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let old = std::fs::read(common::samples().join("iphone-3.0.vcf")).unwrap();
    std::fs::write(&file, &old).unwrap();
    let vd = server.dir.path().join("vdir");
    std::fs::create_dir_all(&vd).unwrap();
    std::fs::write(vd.join("orange-contacts-old.vcf"), &old).unwrap();

    for target in [&file, &vd] {
        // --force: the old file is a phone export, which export otherwise refuses to replace.
        let mut child = command(&server, "alice", "export", &[target.to_str().unwrap(), "-q", "--force"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        assert!(child.try_wait().unwrap().is_none(), "export finished too early to test a kill");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert_eq!(std::fs::read(&file).unwrap(), old);
    let names: Vec<String> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["all.vcf"], "no partial or temporary file left");
    let names: Vec<String> =
        std::fs::read_dir(&vd).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, ["orange-contacts-old.vcf"]);
    assert_eq!(std::fs::read(vd.join("orange-contacts-old.vcf")).unwrap(), old);
}

/// `--quick` for nightly runs: after a full export, a quick one lists the same multilingual
/// account (CJK names included, through the backup's initials) with about 1,100 searches.
#[test]
fn quick_export_lists_the_backed_up_account_with_a_twentieth_of_the_searches() {
    let server = TestServer::start(&[]);
    let (vcf, names) = multilingual(30);
    server.seed("alice", &vcf);
    let vd = server.dir.path().join("book");
    let (out, full) = export(&server, "alice", &vd, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (out, quick) = export(&server, "alice", &vd, &["--quick"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("quick listing"), "{}", text(&out));
    assert_eq!(quick["enumeration"]["quick"], true);
    assert_eq!(quick["summary"]["contacts"], names.len());
    assert_eq!(quick["summary"]["deleted"], 0);
    assert_eq!(quick["summary"]["written"], 0, "{}", quick["summary"]);
    let searches = |r: &Value| r["summary"]["searches"].as_u64().unwrap();
    assert!(
        searches(&quick) * 15 < searches(&full),
        "quick {} vs full {}",
        searches(&quick),
        searches(&full)
    );
}
