//! Progress and long runs (issue 11): the real binary against the real sandbox, slowed with
//! `serve --latency-ms`, stderr piped (so not a terminal).
//!
//! - `--stats INTERVAL` prints one parseable `progress:` line per interval for import (reading the
//!   account, writing with its outcome counts) and export (listing, fetching, with totals); none
//!   with `-q` or `--stats 0`;
//! - Ctrl-C (SIGINT) stops an import cleanly: exit 130, a line saying what was done, every record in
//!   the report (those not reached `not_attempted`), and the same command run again finishes the
//!   job with each contact once.
//!
//! The bar itself (an 80-column terminal) is rendered by the unit tests of `src/progress.rs`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::{self, stderr, text, TestServer};
use serde_json::Value;

/// `n` cards whose last names start with every letter in turn (so reading the account makes
/// several searches), each with a phone number.
fn cards(n: usize) -> String {
    (0..n)
        .map(|i| {
            let initial = (b'a' + (i % 26) as u8) as char;
            format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nN:{initial}ast{i};Given{i};;;\r\nFN:Given{i} {initial}ast{i}\r\n\
                 TEL;TYPE=CELL:+33 6 12 {:02} {:02} {:02}\r\nEND:VCARD\r\n",
                i / 10000,
                i / 100 % 100,
                i % 100
            )
        })
        .collect()
}

/// `orange-contacts <args>` against `server` as `user`, isolated ([`common::command`]), with
/// the caller's `--concurrency`.
fn command(server: &TestServer, user: &str, args: &[&str]) -> Command {
    let mut c = common::command();
    c.args(args)
        .args(["--endpoint", &server.endpoint, "--token-file"])
        .arg(server.token_file(user))
        .args(["--rate", "0"])
        .env("ORANGE_CONTACTS_STATE_DIR", server.dir.path().join("state"));
    c
}

/// The `key=value` pairs of a `progress:` line, or `None` for another line.
fn parse_stats(line: &str) -> Option<BTreeMap<String, String>> {
    let rest = line.strip_prefix("progress: ")?;
    let pairs = rest.split(' ').map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("not key=value: {kv:?} in {line:?}"));
        (k.to_string(), v.to_string())
    });
    Some(pairs.collect())
}

/// Checks what every stats line must hold and returns them parsed.
fn stats_lines(stderr: &str) -> Vec<BTreeMap<String, String>> {
    let lines: Vec<_> = stderr.lines().filter_map(parse_stats).collect();
    for l in &lines {
        for key in ["phase", "done", "rate", "elapsed"] {
            assert!(l.contains_key(key), "{key} missing: {l:?}");
        }
        let done: u64 = l["done"].parse().unwrap();
        if let Some(total) = l.get("total") {
            assert!(done <= total.parse::<u64>().unwrap(), "{l:?}");
        }
        let rate = l["rate"].strip_suffix("/s").unwrap_or_else(|| panic!("rate without /s: {l:?}"));
        let decimals = rate.split_once('.').map_or(0, |(_, d)| d.len());
        assert!(decimals <= 1 && rate.parse::<f64>().is_ok(), "rate {rate}: {l:?}");
    }
    lines
}

/// Item 2: an import into a slow sandbox with stderr piped prints `progress:` lines once a
/// second, for reading the account and for writing (with its total, ETA and outcome counts); with
/// `-q`, or `--stats 0`, none.
#[test]
fn issue11_stats_lines_show_a_long_import_is_alive_and_quiet_turns_them_off() {
    let server = TestServer::start(&["--latency-ms", "40"]);
    let file = server.dir.path().join("people.vcf");
    std::fs::write(&file, cards(160)).unwrap();
    let f = file.to_str().unwrap();
    let out =
        command(&server, "alice", &["import", f, "--stats", "1s", "--concurrency", "4"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines = stats_lines(&stderr(&out));
    let writing: Vec<_> = lines.iter().filter(|l| l["phase"] == "writing").collect();
    assert!(!writing.is_empty(), "no stats line while writing: {}", text(&out));
    for l in &writing {
        assert_eq!(l["total"], "160", "{l:?}");
        assert!(l.contains_key("eta") || l["done"] == "0", "{l:?}");
    }
    let last = writing.last().unwrap();
    assert!(last.contains_key("created"), "outcome counts while writing: {last:?}");
    assert!(!stderr(&out).contains('\u{1b}'), "no escape sequences when stderr is not a terminal");

    // Quiet, and --stats 0: the same import (all unchanged now, as slow to read) prints none.
    for flags in [&["-q"][..], &["--stats", "0"][..]] {
        let mut args = vec!["import", f, "--stats", "1s", "--concurrency", "1"];
        args.extend_from_slice(flags);
        if flags == ["--stats", "0"] {
            args.drain(2..4);
        }
        let out = command(&server, "alice", &args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", text(&out));
        assert!(stats_lines(&stderr(&out)).is_empty(), "{flags:?}: {}", text(&out));
    }
}

/// Item 1 and 2: the export listing has a total from the start (its number of searches is known
/// up front), and fetching has one; both show in the stats lines of a slow export.
#[test]
fn issue11_export_listing_and_fetching_show_their_totals() {
    let server = TestServer::start(&["--latency-ms", "15"]);
    server.seed("alice", &cards(60));
    let backup = server.dir.path().join("backup.vcf");
    let args = ["export", backup.to_str().unwrap(), "--quick", "--stats", "1s", "--concurrency", "4"];
    let out = command(&server, "alice", &args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines = stats_lines(&stderr(&out));
    let listing: Vec<_> = lines.iter().filter(|l| l["phase"] == "listing").collect();
    assert!(!listing.is_empty(), "no stats line while listing: {}", text(&out));
    for l in listing {
        let total: u64 =
            l.get("total").unwrap_or_else(|| panic!("listing without total: {l:?}")).parse().unwrap();
        assert!(total > 1000, "--quick makes about 1,100 searches: {l:?}");
    }
}

/// Item 3: Ctrl-C during a slow import: exit 130, a line saying how many records were done, the
/// report lists every record (those not reached as `not_attempted`); the same command again
/// finishes with each contact in the account once.
#[test]
fn issue11_ctrl_c_stops_an_import_cleanly_with_a_full_report_and_the_rerun_resumes() {
    const N: usize = 120;
    let server = TestServer::start(&["--latency-ms", "60"]);
    let file = server.dir.path().join("people.vcf");
    std::fs::write(&file, cards(N)).unwrap();
    let report = server.dir.path().join("report.json");
    let args = [
        "import",
        file.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--stats",
        "1s",
        "--concurrency",
        "2",
    ];
    let mut child =
        command(&server, "alice", &args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let (lines_rx, collector) = stderr_lines(&mut child);
    // Once some records are written (a stats line of the writing phase with done > 0).
    loop {
        let line = lines_rx.recv_timeout(Duration::from_secs(60)).expect("a writing stats line");
        if parse_stats(&line).is_some_and(|l| l["phase"] == "writing" && l["done"] != "0") {
            break;
        }
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    let err = collector.join().unwrap();
    assert_eq!(status.code(), Some(130), "exit 130 after Ctrl-C: {err}");

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let records = report["records"].as_array().unwrap();
    assert_eq!(records.len(), N, "every record is in the report");
    let outcome = |r: &Value| r["outcome"].as_str().unwrap().to_string();
    let not_done = records.iter().filter(|r| outcome(r) == "not_attempted").count();
    assert!(not_done > 0 && not_done < N, "some records done, some not: {not_done} not attempted");
    for r in records.iter().filter(|r| outcome(r) != "not_attempted") {
        assert_eq!(outcome(r), "created", "{r}");
    }
    assert_eq!(report["summary"]["outcomes"]["not_attempted"], not_done, "{}", report["summary"]);
    let line = format!(
        "interrupted: {} of {N} records done; the report lists the rest as not done; run the same command again to continue",
        N - not_done
    );
    assert!(err.contains(&line), "expected {line:?} in:\n{err}");

    // The same command again: the rest are created, the first ones found unchanged.
    let out = command(&server, "alice", &args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again: Value = serde_json::from_str(&std::fs::read_to_string(args[3]).unwrap()).unwrap();
    let outcomes = &again["summary"]["outcomes"];
    assert_eq!(outcomes["unchanged"], N - not_done, "{outcomes}");
    assert_eq!(outcomes["created"], not_done, "{outcomes}");
    assert_each_contact_once(&server, N);
}

/// The child's stderr line by line as it comes (to wait for a moment of the run), and all of it
/// once the child has ended.
fn stderr_lines(
    child: &mut std::process::Child,
) -> (mpsc::Receiver<String>, std::thread::JoinHandle<String>) {
    let (lines_tx, lines_rx) = mpsc::channel();
    let reader = BufReader::new(child.stderr.take().unwrap());
    let collector = std::thread::spawn(move || {
        let mut all = String::new();
        for line in reader.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (lines_rx, collector)
}

/// The account of `alice` holds `n` contacts, each name once.
fn assert_each_contact_once(server: &TestServer, n: usize) {
    let client = common::client(server, "alice");
    let mut by_id = BTreeMap::new();
    common::rt().block_on(async {
        for initial in 'a'..='z' {
            let page = client.find_contacts(&initial.to_string(), None).await.unwrap();
            assert_eq!(page.entries.len() as u32, page.total, "one page");
            for e in page.entries {
                by_id.insert(e.id.clone(), format!("{:?} {:?}", e.firstname, e.lastname));
            }
        }
    });
    let mut ids_by_name: BTreeMap<&String, usize> = BTreeMap::new();
    for name in by_id.values() {
        *ids_by_name.entry(name).or_default() += 1;
    }
    let duplicated: Vec<_> = ids_by_name.iter().filter(|(_, c)| **c > 1).collect();
    assert!(duplicated.is_empty(), "duplicated contacts: {duplicated:?}");
    assert_eq!(ids_by_name.len(), n, "{ids_by_name:?}");
}

/// Item 3 for backups: Ctrl-C during an export that would change the backup (here: while it lists
/// the account, after a second contact list was seeded) ends it with exit 130 and a line saying
/// the backup is the previous one; the file is byte-identical, no temporary file is left, the
/// lock is released, and the same command again completes.
#[test]
fn issue11_ctrl_c_stops_an_export_and_leaves_the_previous_backup() {
    let server = TestServer::start(&["--latency-ms", "15"]);
    server.seed("alice", &cards(30));
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.vcf");
    let args = ["export", backup.to_str().unwrap(), "--quick", "--stats", "1s", "--concurrency", "2"];
    let first = command(&server, "alice", &args).output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let before = std::fs::read(&backup).unwrap();
    server.seed("alice", &cards(40));

    let mut child =
        command(&server, "alice", &args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let (lines_rx, collector) = stderr_lines(&mut child);
    // Once the listing is under way (its first stats line).
    loop {
        let line = lines_rx.recv_timeout(Duration::from_secs(60)).expect("a listing stats line");
        if parse_stats(&line).is_some_and(|l| l["phase"] == "listing") {
            break;
        }
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    let err = collector.join().unwrap();
    assert_eq!(status.code(), Some(130), "exit 130 after Ctrl-C: {err}");
    assert!(
        err.contains("interrupted: the export stopped;") && err.contains("holds the previous backup"),
        "{err}"
    );
    assert_eq!(std::fs::read(&backup).unwrap(), before, "the previous backup is byte-identical");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names, ["backup.vcf"], "no temporary file left");

    let again = command(&server, "alice", &args).output().unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "the lock is released and the export completes: {}",
        text(&again)
    );
    assert_eq!(common::count_cards(&std::fs::read_to_string(&backup).unwrap()), 70);
}
