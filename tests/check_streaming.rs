//! `check` in flat memory (issue 12): its listing and its JSON, HTML and CSV reports are
//! byte-identical to what `check` wrote before it streamed (the golden fixtures of
//! `tests/fixtures/check_golden/`, written by the code as it was), whether its temporary database
//! stays in memory or goes to the temporary folder at once; and its peak memory does not grow with
//! the account.
//!
//! The fixtures are regenerated with `ORANGE_CONTACTS_BLESS=1` (only when the output is meant to
//! change). What is normalized: the run's time (`elapsed_ms`), the test's temporary folder (in the
//! cards' sources) and the sandbox's ephemeral port.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{card, text, TestServer};

fn golden() -> PathBuf {
    common::fixtures().join("check_golden")
}

fn bless() -> bool {
    std::env::var_os("ORANGE_CONTACTS_BLESS").is_some()
}

/// What changes from run to run fixed: the time, the temporary folder, the port.
fn normalize(bytes: &[u8], server: &TestServer) -> Vec<u8> {
    let port = url::Url::parse(&server.endpoint).unwrap().port().unwrap().to_string();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let text = text
        .replace(server.dir.path().to_str().unwrap(), "DIR")
        .replace(&format!("127.0.0.1:{port}/"), "127.0.0.1:00000/");
    common::zero_elapsed(&text).into_bytes()
}

/// Compares (or, blessing, writes) `bytes` with the fixture `name`.
fn assert_golden(name: &str, bytes: &[u8]) {
    let path = golden().join(name);
    if bless() {
        std::fs::create_dir_all(golden()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        return;
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes == want,
        "{name} differs from the golden output:\n--- actual\n{}\n--- expected\n{}",
        String::from_utf8_lossy(bytes),
        String::from_utf8_lossy(&want)
    );
}

/// The golden account (the export's: samples and corpus cards with photos and every kind of
/// field, 40 people sharing five folded names) and local files that give every kind of line:
///
/// - `backup.vcf`, the account's export, with a phone changed (`*`), a card removed (`-`), a new
///   card (`+`), a card with no identity (`=`, the whole card not carried) and a card that cannot
///   be read (`!`);
/// - `seed.vcf`, the phone file the account was seeded from: each of its cards is the same
///   contact as one of the backup's (merged duplicates), with what the API cannot carry;
/// - a path that does not exist (`!`).
fn golden_setup() -> (TestServer, Vec<PathBuf>) {
    let server = TestServer::start(&[]);
    let seed = std::fs::read_to_string(common::fixtures().join("export_golden").join("seed.vcf")).unwrap();
    server.seed("golden", &seed);
    let local = server.dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    let backup = local.join("backup.vcf");
    let out = server.cli("golden", "export", &[backup.to_str().unwrap(), "-q"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let exported = std::fs::read_to_string(&backup).unwrap();
    let mut cards: Vec<String> = exported.split_inclusive("END:VCARD\r\n").map(str::to_string).collect();
    assert!(cards.len() > 40, "{} cards", cards.len());
    let changed = cards.iter().position(|c| c.contains("+33600000031")).unwrap();
    cards[changed] = cards[changed].replace("+33600000031", "+33699999931");
    let removed = cards.iter().position(|c| c.contains("+33600000035")).unwrap();
    cards.remove(removed);
    cards.push(card(&["N:Nouveau;Nina;;;", "FN:Nina Nouveau", "EMAIL:nina@example.org"]));
    cards.push(card(&["NOTE:nobody at all"]));
    cards.push("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken Card\r\nN:Card;Broken\r\nBEGIN:VCARD\r\n".into());
    std::fs::write(&backup, cards.concat()).unwrap();
    // The phone file without its two identical J. Doe cards: a card matching two contacts equally
    // well by name and devices took the one read first, which was not always the same before.
    let all: Vec<&str> = seed.split_inclusive("END:VCARD").collect();
    let phone_cards: Vec<&str> =
        all.iter().copied().filter(|c| !c.contains(":J. Doe\n") && !c.contains(":J. Doe\r\n")).collect();
    assert_eq!(phone_cards.len(), all.len() - 2, "two J. Doe cards left out");
    let phone = local.join("seed.vcf");
    std::fs::write(&phone, phone_cards.concat()).unwrap();
    let not_cards = local.join("notes.vcf");
    std::fs::write(&not_cards, "shopping list\nbread\nmilk\n").unwrap();
    let missing = local.join("missing.vcf");
    // A contact only in the account (`-`).
    server.seed("golden", &card(&["N:Compte;Seul;;;", "FN:Seul Compte", "TEL:0102030405"]));
    (server, vec![backup, phone, not_cards, missing])
}

/// `check FILES… EXTRA` (the database in memory up to `memory_mb`; `Some(0)`: in the temporary
/// folder from the start).
fn check(server: &TestServer, files: &[PathBuf], extra: &[&str], memory_mb: Option<u32>) -> Output {
    let mut args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    args.extend_from_slice(extra);
    let mut cmd = server.cli("golden", "check", &args);
    if let Some(mb) = memory_mb {
        cmd.env("ORANGE_CONTACTS_TEMP_MEMORY_MB", mb.to_string());
    }
    cmd.output().unwrap()
}

/// Issue 12 acceptance: the listing (stdout) and the JSON, HTML and CSV reports of `check`, with
/// and without `--one-way`, byte for byte as before.
#[test]
fn issue12_check_output_is_byte_identical_to_the_golden_listing_and_reports() {
    byte_identical_to_the_golden_check(None);
}

/// The same with the temporary database in the temporary folder from the first card (the path
/// of a large account).
#[test]
fn issue12_check_through_the_database_on_disk_is_byte_identical_to_the_golden_output() {
    byte_identical_to_the_golden_check(Some(0));
}

fn byte_identical_to_the_golden_check(memory_mb: Option<u32>) {
    let (server, files) = golden_setup();
    for (name, extra) in [("both-ways", &[][..]), ("one-way", &["--one-way"][..])] {
        let mut listing: Option<Vec<u8>> = None;
        for format in ["json", "html", "csv"] {
            let report = server.dir.path().join(format!("{name}.{format}"));
            let mut args = vec!["--report", report.to_str().unwrap()];
            args.extend_from_slice(extra);
            let out = check(&server, &files, &args, memory_mb);
            assert_eq!(out.status.code(), Some(3), "{}", text(&out));
            let stdout = normalize(&out.stdout, &server);
            match &listing {
                None => listing = Some(stdout),
                Some(first) => assert_eq!(
                    String::from_utf8_lossy(first).lines().collect::<Vec<_>>(),
                    String::from_utf8_lossy(&stdout).lines().collect::<Vec<_>>(),
                    "{name}: the listing of the {format} run"
                ),
            }
            assert_golden(&format!("{name}.{format}"), &normalize(&std::fs::read(&report).unwrap(), &server));
        }
        assert_golden(&format!("{name}.stdout.txt"), listing.as_deref().unwrap());
    }
    // -q: the differences only.
    let out = check(&server, &files, &["-q"], memory_mb);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_golden("quiet.stdout.txt", &normalize(&out.stdout, &server));
}

/// Peak resident set of a `check` of `file` against `user`'s account.
fn check_peak_rss_kb(server: &TestServer, user: &str, file: &Path) -> u64 {
    let report = server.dir.path().join(format!("check-{user}.json"));
    let mut cmd =
        server.cli(user, "check", &["-q", file.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    // The temporary databases in the temporary folder from the start: what is measured is what
    // grows with the account, not the 16 MiB of cache each may hold in memory by default.
    cmd.env("ORANGE_CONTACTS_TEMP_MEMORY_MB", "0");
    let run = common::run_measured(&mut cmd, None);
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        json["entries"].as_array().unwrap().len() as u64,
        json["summary"]["local_cards"].as_u64().unwrap()
    );
    run.peak_rss_kb
}

/// Issue 12: memory does not grow with the account. A check of 40,000 local cards against an
/// account of 40,000 contacts (each read, mapped, fetched, matched and compared, one card only
/// local) peaks within a few MB of the same check at a tenth of the size (before, it held every
/// card, every contact and every entry: 32 MB at 4,000, 129 MB at 40,000).
#[test]
fn issue12_check_memory_stays_flat_as_the_account_grows() {
    const GROWTH_BOUND_KB: u64 = 30 * 1024;
    let server = TestServer::start(&[]);
    let mut peaks = Vec::new();
    for (user, n) in [("few", 4_000), ("many", 40_000)] {
        let cards: String = (0..n).map(common::person).collect();
        server.seed(user, &cards);
        // One card more locally: the check has a difference to list, and so a report to check.
        let file = server.dir.path().join(format!("{user}.vcf"));
        std::fs::write(&file, cards + &card(&["N:Nouveau;Nina;;;", "FN:Nina Nouveau"])).unwrap();
        peaks.push(check_peak_rss_kb(&server, user, &file));
    }
    eprintln!("check: {} MB for 4,000 contacts, {} MB for 40,000", peaks[0] / 1024, peaks[1] / 1024);
    assert!(
        peaks[1] < peaks[0] + GROWTH_BOUND_KB,
        "check: {} MB for 40,000 contacts, {} MB for 4,000",
        peaks[1] / 1024,
        peaks[0] / 1024
    );
}
