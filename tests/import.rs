//! Import, end to end: the real binary against the real sandbox server over HTTP on 127.0.0.1.

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{client, contacts_named, corpus_dir, import, outcome_of, rt, TestServer};
use orange_contacts::remote::Remote as _;
use serde_json::Value;

fn outcomes(report: &Value) -> BTreeMap<String, u64> {
    report["summary"]["outcomes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

#[test]
fn android_sample_is_imported_and_a_rerun_changes_nothing() {
    let server = TestServer::start(&[]);
    let file = common::samples().join("android-2.1.vcf");
    let (out, report) = import(&server, "alice", &[file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let counts = outcomes(&report);
    assert_eq!(report["records"].as_array().unwrap().len(), 7, "every card reported once");
    assert_eq!(counts["invalid"], 0);
    assert_eq!(counts["failed"], 0);
    // Jean Martin appears twice: created once, the second card merged into it.
    assert_eq!(counts["created"], 6);
    assert_eq!(counts["merged"], 1);
    let second = outcome_of(&report, "#5");
    assert_eq!(second["outcome"], "merged");
    assert_eq!(second["cid"], outcome_of(&report, "#2")["cid"]);
    // Addresses and notes cannot be carried: named in `dropped`.
    let helene = outcome_of(&report, "#1");
    let dropped: Vec<&str> =
        helene["dropped"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert!(dropped.iter().any(|f| f.to_lowercase().contains("adr") || f.contains("address")), "{dropped:?}");
    assert!(helene["added"].as_array().unwrap().iter().any(|a| a == "photo"));

    let api = client(&server, "alice");
    let jean = contacts_named(&api, "\"Jean\"");
    assert_eq!(jean.len(), 1, "Jean Martin exactly once");
    let phones: HashSet<&str> = jean[0].devices.iter().map(|d| d.value.as_str()).collect();
    assert_eq!(phones.len(), jean[0].devices.len(), "no device twice: {:?}", jean[0].devices);
    assert!(jean[0].devices.iter().any(|d| d.value.contains("04 78 11 22 33")), "merged home phone");

    let (out, report) = import(&server, "alice", &[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let counts = outcomes(&report);
    assert_eq!((counts["created"], counts["merged"]), (0, 0), "re-run writes nothing: {counts:?}");
    assert_eq!(counts["unchanged"], 7);
    assert_eq!(report["summary"]["calls_by_action"].get("addcontact"), None);
    assert_eq!(report["summary"]["calls_by_action"].get("adddevice"), None);
}

#[test]
fn a_record_without_any_name_is_invalid_and_named_in_the_report() {
    let server = TestServer::start(&[]);
    let file = server.dir.path().join("nameless.vcf");
    std::fs::write(
        &file,
        "BEGIN:VCARD\r\nVERSION:2.1\r\nURL:https://example.org/inconnu\r\nNOTE:inconnu\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Lee\r\nN:Lee;Ann;;;\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let (out, report) = import(&server, "nameless", &[file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "partial: {stderr}");
    let bad = outcome_of(&report, "nameless.vcf#1");
    assert_eq!(bad["outcome"], "invalid");
    assert!(bad["error"].as_str().unwrap().contains("name"), "{bad}");
    assert!(stderr.contains("nameless.vcf#1"), "the summary names the record: {stderr}");
    assert_eq!(outcome_of(&report, "nameless.vcf#2")["outcome"], "created");
}

#[test]
fn files_of_one_run_are_deduplicated_across_formats() {
    let server = TestServer::start(&[]);
    let android = common::samples().join("android-2.1.vcf");
    let iphone = common::samples().join("iphone-3.0.vcf");
    let (out, report) = import(&server, "bob", &[android.to_str().unwrap(), iphone.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Hélène Lefèvre is in both files: the iPhone card merges into the Android one.
    let ios_helene = outcome_of(&report, "iphone-3.0.vcf#1");
    assert_eq!(ios_helene["outcome"], "merged");
    let api = client(&server, "bob");
    let helene = contacts_named(&api, "lefevre");
    assert_eq!(helene.len(), 1);
    assert!(helene[0].devices.iter().any(|d| d.value == "helene@perso-example.net"));
    // Non-Latin names are found by their own script.
    assert_eq!(contacts_named(&api, "Παπαδόπουλος").len(), 1);
    assert_eq!(contacts_named(&api, "山田").len(), 1);
}

#[test]
fn dry_run_plans_through_the_same_code_and_writes_nothing() {
    let server = TestServer::start(&[]);
    let file = common::samples().join("iphone-3.0.vcf");
    let (out, report) = import(&server, "carol", &["--dry-run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("create"), "{stdout}");
    assert!(stdout.contains("plan: 6 create"), "{stdout}");
    assert_eq!(report["summary"]["dry_run"], true);
    let s = server.stats();
    assert_eq!(s["requests"].get("addcontact").and_then(Value::as_u64).unwrap_or(0), 0);
    assert_eq!(s["requests"].get("adddevice").and_then(Value::as_u64).unwrap_or(0), 0);
}

#[test]
fn skip_and_create_policies() {
    let server = TestServer::start(&[]);
    let file = common::samples().join("vcard-4.0.vcf");
    let f = file.to_str().unwrap();
    let (out, _) = import(&server, "dan", &[f]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, report) = import(&server, "dan", &["--on-duplicate", "skip", f]);
    assert_eq!(outcomes(&report)["skipped"], 2);
    let (_, report) = import(&server, "dan", &["--on-duplicate", "create", f]);
    assert_eq!(outcomes(&report)["created"], 2);
    assert_eq!(contacts_named(&client(&server, "dan"), "rousseau").len(), 2);
}

#[test]
fn png_photo_is_converted_to_jpeg() {
    let server = TestServer::start(&[]);
    let file = common::samples().join("vcard-4.0.vcf");
    let (_, report) = import(&server, "erin", &[file.to_str().unwrap()]);
    let camille = outcome_of(&report, "#1");
    assert!(
        camille["added"].as_array().unwrap().iter().any(|a| a.as_str().unwrap().starts_with("photo")),
        "{camille}"
    );
    let api = client(&server, "erin");
    let cid = camille["cid"].as_str().unwrap().to_string();
    let picture = rt().block_on(api.get_picture(&cid)).unwrap().expect("picture stored");
    assert!(picture.content.starts_with(&[0xFF, 0xD8, 0xFF]), "stored as JPEG");
}

/// A generated phone export: `n` people, each with two phones and an email.
fn generated_export(dir: &Path, n: usize) -> PathBuf {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Nom{i:04};Prénom{i:04};;;\r\nFN:Prénom{i:04} Nom{i:04}\r\nTEL;TYPE=CELL:06 {:02} {:02} {:02} {:02}\r\nTEL;TYPE=HOME:01 {:02} {:02} {:02} {:02}\r\nEMAIL;TYPE=WORK:p{i}@example.com\r\nEND:VCARD\r\n",
            i / 100 % 100, i % 100, 11, 22, i / 100 % 100, i % 100, 33, 44
        ));
    }
    let path = dir.join(format!("generated-{n}.vcf"));
    std::fs::write(&path, s).unwrap();
    path
}

/// The generated people in the account, with their device counts, asserting on the way that
/// nobody is there twice and nobody holds a device twice.
fn generated_people(server: &TestServer, user: &str) -> Vec<usize> {
    let api = client(server, user);
    rt().block_on(async {
        let page = api.find_contacts("nom", None).await.unwrap();
        let mut names = HashSet::new();
        let mut devices = Vec::new();
        for e in &page.entries {
            assert!(names.insert(e.lastname.clone()), "{:?} twice", e.lastname);
            let d = api.get_contact(&e.id).await.unwrap();
            let values: HashSet<&str> = d.devices.iter().map(|d| d.value.as_str()).collect();
            assert_eq!(values.len(), d.devices.len(), "a device twice on {:?}: {:?}", e.lastname, d.devices);
            devices.push(d.devices.len());
        }
        devices
    })
}

/// No generated person twice and no device twice on anyone.
fn assert_generated_at_most_once(server: &TestServer, user: &str, n: usize) {
    let people = generated_people(server, user);
    assert!(people.len() <= n, "{} contacts for {n} people", people.len());
}

/// Every generated person exactly once, with exactly its three devices and none twice.
fn assert_generated_complete(server: &TestServer, user: &str, n: usize) {
    let people = generated_people(server, user);
    assert_eq!(people.len(), n, "each person exactly once");
    assert!(people.iter().all(|&d| d == 3), "all devices of everyone: {people:?}");
}

#[test]
fn injected_faults_neither_lose_nor_duplicate() {
    let server = TestServer::start(&["--fail-rate", "0.2", "--fault-seed", "7"]);
    let file = generated_export(server.dir.path(), 60);
    let f = file.to_str().unwrap().to_string();
    let (out, report) = import(&server, "faults", &["--retries", "8", &f]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0) | Some(3)), "{stderr}");
    let counts = outcomes(&report);
    assert_eq!(counts.values().sum::<u64>(), 60, "every record reported: {counts:?}");
    assert!(server.stats()["faults_injected"].as_u64().unwrap() > 10);
    assert!(report["summary"]["ambiguous_writes_checked"].as_u64().unwrap() > 0, "lost responses were met");

    // Check the account on the same database without faults: nobody twice, no device twice.
    let (dir, db) = server.stop();
    let clean = TestServer::start_on(dir, db, &[]);
    assert_generated_at_most_once(&clean, "faults", 60);
    // A re-run completes whatever the faults left undone, still without doubles.
    let (out, _) = import(&clean, "faults", &[&f]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_generated_complete(&clean, "faults", 60);
}

#[test]
fn killed_import_rerun_ends_with_everyone_once() {
    let server = TestServer::start(&["--latency-ms", "2"]);
    let file = generated_export(server.dir.path(), 150);
    let token_file = server.dir.path().join("kill.token");
    std::fs::write(&token_file, server.token("kill")).unwrap();
    let mut child = common::command()
        .args(["import", "-q", "--endpoint", &server.endpoint, "--token-file"])
        .arg(&token_file)
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = server.stats();
        let writes = s["requests"].get("adddevice").and_then(Value::as_u64).unwrap_or(0);
        if writes >= 40 {
            break;
        }
        assert!(Instant::now() < deadline, "import made no progress: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL mid-import
    child.wait().unwrap();
    let partial = server.stats()["requests"]["addcontact"].as_u64().unwrap();
    assert!(partial < 150, "killed before the end ({partial} addcontact)");
    let (out, report) = import(&server, "kill", &[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let counts = outcomes(&report);
    assert_eq!(counts["created"] + counts["merged"] + counts["unchanged"], 150, "{counts:?}");
    assert_generated_complete(&server, "kill", 150);
}

#[test]
fn rate_matched_to_the_server_allowance_gets_no_refusals() {
    let server = TestServer::start(&["--max-rps", "40"]);
    let file = generated_export(server.dir.path(), 30);
    let token_file = server.dir.path().join("rate.token");
    std::fs::write(&token_file, server.token("rate")).unwrap();
    let out = common::command()
        .args(["import", "-q", "--rate", "40", "--endpoint", &server.endpoint, "--token-file"])
        .arg(&token_file)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let s = server.stats();
    assert_eq!(s["rejected"]["rate_limited"].as_u64().unwrap(), 0, "{s}");
    assert_generated_complete(&server, "rate", 30);
}

#[test]
fn privacy_refusal_is_fatal_and_names_the_consent_url_but_never_the_token() {
    let server = TestServer::start(&[]);
    let token = server.token("frank");
    let deny = server.sandbox_cmd(&["deny", "--user", "frank"]);
    assert!(deny.status.success());
    let (out, report) =
        import(&server, "frank", &[common::samples().join("vcard-4.0.vcf").to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interaction.do"), "consent URL printed: {stderr}");
    let everything = format!("{stderr}{}{report}", String::from_utf8_lossy(&out.stdout));
    for needle in
        [token.clone(), token.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D").replace('|', "%7C")]
    {
        assert!(!everything.contains(&needle), "token leaked");
    }
    assert!(report["records"].as_array().unwrap().iter().all(|r| r["outcome"] == "failed"));
}

#[test]
fn token_never_appears_in_output_or_report_even_on_transport_errors() {
    let dir = tempfile::tempdir().unwrap();
    let token = "B64abc+def/ghi=|sau=|ted=1208272500|sig+/=";
    let report = dir.path().join("r.json");
    // Nothing listens on port 9: every call fails at the transport level.
    let out = common::command()
        .args([
            "import",
            "--retries",
            "1",
            "--endpoint",
            "http://127.0.0.1:9/PersonalContacts/V1",
            "--token",
            token,
        ])
        .arg("--report")
        .arg(&report)
        .arg(common::samples().join("vcard-4.0.vcf"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&report).unwrap_or_default()
    );
    assert!(!all.contains("ghi"), "token leaked: {all}");
    assert!(!all.contains("sig%2B") && !all.contains("sig+"), "token leaked: {all}");
}

#[test]
fn embedded_sandbox_runs_with_no_endpoint() {
    let data = tempfile::tempdir().unwrap();
    let run = || {
        common::command()
            .args(["import"])
            .arg(common::samples().join("vcard-4.0.vcf"))
            .env("ORANGE_CONTACTS_DATA_DIR", data.path())
            .output()
            .unwrap()
    };
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("embedded sandbox"), "{stderr}");
    assert!(stderr.contains("2 created"), "{stderr}");
    let stderr = String::from_utf8_lossy(&run().stderr).to_string();
    assert!(stderr.contains("2 unchanged"), "persistent across runs: {stderr}");
}

#[test]
fn stdin_and_csv_samples() {
    let server = TestServer::start(&[]);
    let google = common::samples().join("google-contacts.csv");
    let outlook = common::samples().join("outlook-contacts.csv");
    let (out, report) = import(&server, "gina", &[google.to_str().unwrap(), outlook.to_str().unwrap()]);
    assert!(matches!(out.status.code(), Some(0) | Some(3)), "{}", String::from_utf8_lossy(&out.stderr));
    let counts = outcomes(&report);
    assert_eq!(counts["failed"], 0, "{counts:?}");
    assert!(counts["created"] >= 15, "{counts:?}");
    for r in report["records"].as_array().unwrap() {
        let src = r["source"].as_str().unwrap();
        assert!(src.contains(".csv:"), "CSV records are named file:line: {src}");
    }

    let token_file = server.dir.path().join("stdin.token");
    std::fs::write(&token_file, server.token("henry")).unwrap();
    let mut child = common::command()
        .args(["import", "--endpoint", &server.endpoint, "--token-file"])
        .arg(&token_file)
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(common::samples().join("vcard-4.0.vcf")).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_corpus_file_is_read_without_a_crash() {
    let mut files = Vec::new();
    let mut stack = vec![corpus_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "PROVENANCE.md" {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 100, "corpus found: {}", files.len());
    for file in files {
        let out = common::command().args(["inspect", "-q"]).arg(&file).output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0) | Some(3)),
            "{}: exit {:?}: {}",
            file.display(),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn corpus_vcards_import_into_the_sandbox() {
    let server = TestServer::start(&[]);
    let dir = corpus_dir();
    let files: Vec<String> = ["vcard21", "vcard30", "vcard40"]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "vcf"))
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let (out, report) = import(&server, "ivan", &args);
    assert!(matches!(out.status.code(), Some(0) | Some(3)), "{}", String::from_utf8_lossy(&out.stderr));
    let counts = outcomes(&report);
    assert_eq!(counts["failed"], 0, "{counts:?}");
    assert!(counts["created"] > 50, "{counts:?}");
    let sources: HashSet<&str> =
        report["records"].as_array().unwrap().iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert_eq!(sources.len(), report["records"].as_array().unwrap().len(), "every record once");
}

/// `inspect` tells, with no network, which records repeat a person seen earlier (across files,
/// whatever the case, accents or spacing), which are invalid, and what would not be carried.
#[test]
fn inspect_reports_repeats_invalid_records_and_what_is_not_carried() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("phone.vcf");
    std::fs::write(
        &first,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;José\r\nTEL;TYPE=HOME:06 12 34 56 78\r\nNOTE:met in Lyon\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nURL:https://example.org/who\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nN:Durand;Anne\r\nEMAIL:anne@example.org\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let second = dir.path().join("google.csv");
    std::fs::write(&second, "First Name,Last Name,Phone 1 - Value\r\n  jose , MULLER,+33 6 12 34 56 78\r\n")
        .unwrap();
    let report = dir.path().join("inspect.json");
    let out = common::command()
        .args(["inspect", "-q"])
        .arg(&first)
        .arg(&second)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let summary = &report["summary"];
    assert_eq!(summary["records"], 4);
    assert_eq!(summary["invalid"], 1);
    assert_eq!(summary["duplicates_in_input"], 1);
    assert_eq!(summary["not_carried"]["NOTE"], 1);
    assert_eq!(summary["not_carried"]["TEL;TYPE=HOME"], 1);
    let coverage = &summary["coverage"];
    assert_eq!((coverage["firstname"].as_u64(), coverage["lastname"].as_u64()), (Some(3), Some(3)));
    assert_eq!((coverage["device:phone"].as_u64(), coverage["emailperso"].as_u64()), (Some(2), Some(1)));
    assert!(coverage.get("company").is_none(), "{coverage}");
    // José Müller (1 + phone) and Anne Durand (emailperso only): the repeat costs nothing.
    assert_eq!(summary["minimum_calls"], 3);
    let records = report["records"].as_array().unwrap();
    let statuses: Vec<&str> = records.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["valid", "invalid", "valid", "duplicate"]);
    assert_eq!(records[3]["duplicate_of_record"], 1);
    assert!(records[3]["source"].as_str().unwrap().ends_with("google.csv:2"), "{}", records[3]);
}
