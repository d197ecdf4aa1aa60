//! Exported vCards are valid and say no more than the account knows (issue 8, items 8 and 9).
//! The corpus is imported into a real sandbox (`serve`) with the tool, exported, and the backup
//! read by independent readers (the strict RFC 2426 validator, vobject), checked and re-imported.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{corpus_dir, vobject_reads, TestServer};
use serde_json::Value;

/// The strict vCard 3.0 validator, pinned in `.ci/run`.
const VALIDATOR: &str = "vcard==1.0.0";

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every vCard file of the corpus (2.1, 3.0 and 4.0).
fn corpus_vcards() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["vcard21", "vcard30", "vcard40"]
        .iter()
        .flat_map(|d| std::fs::read_dir(corpus_dir().join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vcf"))
        .collect();
    files.sort();
    files
}

/// Imports the whole vCard corpus into `user`'s account through the API (`import`), as a user
/// would. Returns how many contacts it created.
fn import_corpus(server: &TestServer, user: &str) -> u64 {
    let report = server.dir.path().join(format!("import-corpus-{user}.json"));
    let files = corpus_vcards();
    let mut args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    args.extend(["-q", "--report", report.to_str().unwrap()]);
    let out = server.cli(user, "import", &args).output().unwrap();
    // 3: a few corpus cards have no name at all and are invalid (listed in the report).
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", common::text(&out));
    let outcomes = &json(&report)["summary"]["outcomes"];
    assert_eq!(outcomes["failed"], 0, "{outcomes}");
    let created = outcomes["created"].as_u64().unwrap();
    assert!(created > 1000, "{outcomes}");
    created
}

/// What only `sandbox seed` can write, as a real account can hold it: work devices (`pro`), home
/// ones (stored `perso`), a URL without a scheme, a phone extension, addresses, marital status.
/// Latin-1 text, so the strict validator can read its card.
const SEEDED: &str = "BEGIN:VCARD\r\nVERSION:4.0\r\nN:Lefèvre;Hélène;;Mme;\r\nFN:Hélène Lefèvre\r\n\
ORG:Société Générale;Crédit\r\nTITLE:Ingénieure\r\nBDAY:19510101\r\n\
EMAIL;TYPE=work:helene@societe.example\r\nEMAIL;TYPE=home:helene@maison.example\r\n\
TEL;VALUE=uri;TYPE=\"work,voice\":tel:+1-418-656-9254;ext=102\r\nTEL;TYPE=\"home,cell\":06 12 34 56 78\r\n\
URL;TYPE=work:www.societe.example\r\n\
ADR;TYPE=home:;Appt 34;24\\, rue de la Paix;Paris;Île-de-France;75002;France\r\n\
ADR;TYPE=work:;;1 place Été;Lyon;;69001;France\r\nX-ORANGE-MARITALSTATUS:2\r\nEND:VCARD\r\n";

/// Exports `user`'s account to `name` (in the server's folder) as vCard `version`.
fn export(server: &TestServer, user: &str, name: &str, version: &str) -> PathBuf {
    let file = server.dir.path().join(name);
    let out =
        server.cli(user, "export", &[file.to_str().unwrap(), "--vcard", version, "-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    file
}

/// The cards of an exported file.
fn cards(path: &Path) -> Vec<String> {
    let content = std::fs::read_to_string(path).unwrap();
    content.split_inclusive("END:VCARD\r\n").map(str::to_string).collect()
}

/// The unfolded device lines (EMAIL, TEL, URL) of a card.
fn device_lines(card: &str) -> Vec<String> {
    card.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| {
            ["EMAIL", "TEL", "URL"]
                .iter()
                .any(|p| l.starts_with(&format!("{p};")) || l.starts_with(&format!("{p}:")))
        })
        .map(str::to_string)
        .collect()
}

/// Runs the strict RFC 2426 validator (PyPI `vcard`, the `vcard` command's entry point through
/// `python3`, so a pip script folder off PATH does not matter) over files of one card each: it
/// stops trusting a file after its first error, so one card per file names every failing card.
fn strict_v3_validator(files: &[PathBuf]) -> Output {
    let installed = Command::new("python3").args(["-c", "import vcard.vcard"]).output();
    assert!(
        installed.as_ref().is_ok_and(|o| o.status.success()),
        "the strict vCard 3.0 validator is missing: install it with `python3 -m pip install {VALIDATOR}` \
         (.ci/run does): {installed:?}"
    );
    Command::new("python3")
        .args(["-c", "import sys; from vcard.vcard import main; sys.exit(main())"])
        .args(files)
        .output()
        .unwrap()
}

/// Item 8: every exported 3.0 card is RFC 2426 (no CHARSET, no TYPE on URL, a TEL value that is a
/// phone number, URL values that are URIs), checked by the strict validator on every card whose
/// text is Latin-1 (the validator rejects any character above U+00FF, its own limit); the 4.0
/// export of the same account still reads in vobject.
#[test]
fn item8_every_latin1_v3_card_of_the_corpus_export_passes_the_strict_rfc2426_validator() {
    let server = TestServer::start(&[]);
    let created = import_corpus(&server, "alice");
    server.seed("alice", SEEDED);
    let dir = server.dir.path();
    let v3 = export(&server, "alice", "corpus-3.0.vcf", "3.0");
    let all = cards(&v3);
    assert_eq!(all.len() as u64, created + 1);

    let latin1: Vec<&String> = all.iter().filter(|c| c.chars().all(|ch| u32::from(ch) <= 0xFF)).collect();
    let one_card_files: Vec<PathBuf> = latin1
        .iter()
        .enumerate()
        .map(|(i, card)| {
            let f = dir.join(format!("card-{i:05}.vcf"));
            std::fs::write(&f, card).unwrap();
            f
        })
        .collect();
    eprintln!(
        "strict RFC 2426 validator over {} of {} exported 3.0 cards (the Latin-1 ones)",
        latin1.len(),
        all.len()
    );
    // The corpus export has 1,000+ Latin-1 cards; the seeded one (addresses, work devices, an
    // extension, a URL without scheme) is among them.
    assert!(latin1.len() >= 1000, "only {} Latin-1 cards", latin1.len());
    assert!(latin1.iter().any(|c| c.contains("Hélène Lefèvre\r\n")), "seeded card not exported");

    let out = strict_v3_validator(&one_card_files);
    let failing: BTreeSet<&str> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("File: "))
        .map(|f| f.trim())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|f| {
            one_card_files.iter().position(|p| p.to_str() == Some(f)).map_or("?", |i| latin1[i].as_str())
        })
        .collect();
    assert!(
        out.status.success() && failing.is_empty(),
        "{} of {} cards fail the strict validator:\n{}\nfirst failing cards:\n{}",
        failing.len(),
        latin1.len(),
        String::from_utf8_lossy(&out.stdout).chars().take(4000).collect::<String>(),
        failing.iter().take(3).cloned().collect::<String>()
    );

    let seeded =
        latin1.iter().find(|c| c.contains("\r\nFN:Hélène Lefèvre\r\n")).expect("seeded card exported");
    assert!(seeded.contains("\r\nTEL;TYPE=VOICE,WORK,PREF:+1-418-656-9254 x102\r\n"), "{seeded}");
    assert!(seeded.contains("\r\nURL:http://www.societe.example\r\n"), "{seeded}");
    assert!(seeded.contains("\r\nADR;TYPE=home:"), "{seeded}");

    // 4.0: the same account, every card read by vobject.
    let v4 = export(&server, "alice", "corpus-4.0.vcf", "4.0");
    assert_eq!(vobject_reads(&[&v4]), all.len());
}

/// `check` of `backup` against `user`'s account: in sync, and no card noted "not carried".
fn assert_checks_without_not_carried(server: &TestServer, user: &str, backup: &Path) {
    let report = server.dir.path().join(format!("check-{user}.json"));
    let out = server
        .cli(user, "check", &[backup.to_str().unwrap(), "--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    let report = json(&report);
    let noted: Vec<String> = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["note"].as_str().is_some_and(|n| n.contains("not carried")))
        .map(|e| format!("{} [{}]", e["name"], e["note"]))
        .collect();
    assert!(
        noted.is_empty(),
        "{}: {} card(s) noted not carried:\n{}",
        backup.display(),
        noted.len(),
        noted.join("\n")
    );
    assert_eq!(report["summary"]["same"], report["summary"]["local_cards"], "{}", report["summary"]);
}

/// Re-imports `backup` into `user`'s own account; returns every dropped field of the report.
fn reimport(server: &TestServer, user: &str, backup: &Path) -> (Value, Vec<Value>) {
    let report = server.dir.path().join(format!("reimport-{user}.json"));
    let out = server
        .cli(user, "import", &[backup.to_str().unwrap(), "-q", "--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    let report = json(&report);
    let dropped = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["dropped"].as_array().unwrap().clone())
        .collect();
    (report["summary"].clone(), dropped)
}

/// Item 9: a fresh backup of an account filled through the API says nothing the account does not
/// know. Every device the API added is `perso`; exported as HOME, each came back as a "not
/// carried: home/work" note in `check` and a dropped field on re-import.
#[test]
fn item9_a_fresh_backup_checks_without_not_carried_and_reimports_with_nothing_dropped() {
    let server = TestServer::start(&[]);
    let created = import_corpus(&server, "alice");
    for version in ["3.0", "4.0"] {
        let backup = export(&server, "alice", &format!("backup-{version}.vcf"), version);
        assert_checks_without_not_carried(&server, "alice", &backup);
        let (summary, dropped) = reimport(&server, "alice", &backup);
        assert_eq!(summary["outcomes"]["unchanged"], created, "{version}: {summary}");
        assert!(
            dropped.is_empty(),
            "{version}: re-import dropped {} field(s) the backup invented: {:?}",
            dropped.len(),
            &dropped[..dropped.len().min(5)]
        );
        assert_eq!(summary["fields_dropped"], 0, "{summary}");

        let homes: Vec<String> =
            cards(&backup).iter().flat_map(|c| device_lines(c)).filter(|l| l.contains("HOME")).collect();
        assert!(
            homes.is_empty(),
            "{version}: {} device(s) labelled HOME by export, e.g. {:?}",
            homes.len(),
            &homes[..homes.len().min(3)]
        );
    }
}

/// Item 9: a device the account labelled `pro` is exported WORK; a `perso` one (a seeded HOME
/// device included: the honest price) carries no home/work; addresses keep theirs. `check` of
/// the backup has no "not carried" note, and re-importing it drops only what the account holds.
#[test]
fn item9_devices_say_work_for_pro_and_no_home_or_work_for_perso() {
    let server = TestServer::start(&[]);
    server.seed("bob", SEEDED);
    for version in ["3.0", "4.0"] {
        let backup = export(&server, "bob", &format!("bob-{version}.vcf"), version);
        let card = cards(&backup).pop().unwrap();
        let devices = device_lines(&card);
        let (email_work, tel_work, tel_home, url) = if version == "3.0" {
            (
                "EMAIL;TYPE=INTERNET,WORK,PREF:helene@societe.example",
                "TEL;TYPE=VOICE,WORK,PREF:+1-418-656-9254 x102",
                "TEL;TYPE=CELL:06 12 34 56 78",
                "URL:http://www.societe.example",
            )
        } else {
            (
                "EMAIL;TYPE=WORK;PREF=1:helene@societe.example",
                "TEL;TYPE=VOICE,WORK;PREF=1:+1-418-656-9254\\;ext=102",
                "TEL;TYPE=CELL:06 12 34 56 78",
                "URL;TYPE=WORK:http://www.societe.example",
            )
        };
        let home_email = if version == "3.0" {
            "EMAIL;TYPE=INTERNET:helene@maison.example"
        } else {
            "EMAIL:helene@maison.example"
        };
        for expected in [email_work, home_email, tel_work, tel_home, url] {
            assert!(devices.iter().any(|l| l == expected), "{version}: {expected:?} missing in {devices:#?}");
        }
        assert!(!devices.iter().any(|l| l.contains("HOME")), "{version}: {devices:#?}");
        let adr_home = if version == "3.0" { "\r\nADR;TYPE=home:" } else { "\r\nADR;TYPE=HOME:" };
        assert!(card.contains(adr_home), "{version}: {card}");

        assert_checks_without_not_carried(&server, "bob", &backup);
        let (summary, dropped) = reimport(&server, "bob", &backup);
        assert_eq!(summary["outcomes"]["unchanged"], 1, "{summary}");
        // What the account itself holds and the API cannot write; nothing the backup made up.
        let held = [
            "EMAIL;TYPE=WORK",
            "TEL;TYPE=WORK",
            "URL;TYPE=WORK",
            "ADR;TYPE=HOME",
            "ADR;TYPE=WORK",
            "maritalstatus",
        ];
        let invented: Vec<&Value> =
            dropped.iter().filter(|d| !held.contains(&d["field"].as_str().unwrap_or(""))).collect();
        assert!(invented.is_empty(), "{version}: {invented:?}");
    }
}
