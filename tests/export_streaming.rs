//! Export and check with flat memory (issue 12): the output is byte-identical to what the export
//! wrote before it streamed (the golden fixtures of `tests/fixtures/export_golden/`, written by the
//! code as it was), and the spill paths, forced with tiny limits, give the same results.
//!
//! The fixtures are regenerated with `ORANGE_CONTACTS_BLESS=1` (only when the output is meant to
//! change). The one thing normalized is the sandbox's ephemeral port, recorded in the backup's
//! source (always 5 digits on Linux, so the card folding does not move).

use crate::common;

use std::path::{Path, PathBuf};

use common::{text, TestServer};
use serde_json::Value;

fn golden() -> PathBuf {
    common::fixtures().join("export_golden")
}

fn bless() -> bool {
    std::env::var_os("ORANGE_CONTACTS_BLESS").is_some()
}

/// The ephemeral endpoint as a fixed one of the same length.
fn normalize(bytes: &[u8], server: &TestServer) -> Vec<u8> {
    let port = url::Url::parse(&server.endpoint).unwrap().port().unwrap().to_string();
    assert_eq!(port.len(), 5, "the folding of the source line depends on the port's length");
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    text.replace(&format!("127.0.0.1:{port}/"), "127.0.0.1:00000/").into_bytes()
}

/// The JSON report with what changes from run to run (the time, the temporary path) fixed.
fn normalize_report(report: &Value, server: &TestServer, path: &Path) -> String {
    let mut r = report.clone();
    r["summary"]["elapsed_ms"] = Value::from(0);
    r["path"] = Value::from(path.file_name().unwrap().to_str().unwrap());
    let text = serde_json::to_string_pretty(&r).unwrap() + "\n";
    String::from_utf8(normalize(text.as_bytes(), server)).unwrap()
}

/// Every file at `path` (the file, or the folder's files) with its normalized bytes, sorted.
fn files_at(path: &Path, server: &TestServer) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| {
                (e.file_name().into_string().unwrap(), normalize(&std::fs::read(e.path()).unwrap(), server))
            })
            .collect()
    } else {
        vec![(
            path.file_name().unwrap().to_str().unwrap().to_string(),
            normalize(&std::fs::read(path).unwrap(), server),
        )]
    };
    files.sort();
    files
}

/// Compares (or, blessing, writes) `actual` with the fixture folder `name`.
fn assert_golden(name: &str, actual: &[(String, Vec<u8>)]) {
    let dir = golden().join(name);
    if bless() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, bytes) in actual {
            std::fs::write(dir.join(file), bytes).unwrap();
        }
        return;
    }
    let mut expected: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap()))
        .collect();
    expected.sort();
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(actual), names(&expected), "{name}: the same files");
    for ((file, bytes), (_, want)) in actual.iter().zip(&expected) {
        assert!(
            bytes == want,
            "{name}/{file} differs from the golden output:\n--- actual\n{}\n--- expected\n{}",
            String::from_utf8_lossy(bytes),
            String::from_utf8_lossy(want)
        );
    }
}

/// The golden account: samples and corpus cards (three with photos, every kind of field) and 40
/// people sharing five folded names (ties broken by id), seeded in a fixed order so ids are too.
fn golden_server() -> TestServer {
    let server = TestServer::start(&[]);
    let seed = std::fs::read_to_string(golden().join("seed.vcf")).unwrap();
    server.seed("golden", &seed);
    server
}

/// `export PATH --report … EXTRA`, the cards kept in memory up to `memory_mb` (the default when
/// `None`; `Some(0)`: in the temporary folder from the start).
fn export(
    server: &TestServer,
    path: &Path,
    extra: &[&str],
    memory_mb: Option<u32>,
) -> (std::process::Output, Value) {
    let report = server.dir.path().join(format!("report-{}.json", rand::random::<u32>()));
    let mut args = vec![path.to_str().unwrap(), "--report", report.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut cmd = server.cli("golden", "export", &args);
    if let Some(mb) = memory_mb {
        cmd.env("ORANGE_CONTACTS_TEMP_MEMORY_MB", mb.to_string());
    }
    let out = cmd.output().unwrap();
    let json =
        std::fs::read_to_string(&report).map(|s| serde_json::from_str(&s).unwrap()).unwrap_or(Value::Null);
    (out, json)
}

/// Issue 12 acceptance: export output is byte-identical to today's for the same account, to a
/// single file and to a vdir, and so is the report (its time aside); a second run over the backup
/// writes nothing and leaves every byte as it was.
#[test]
fn issue12_export_output_is_byte_identical_to_the_golden_backups() {
    byte_identical_to_the_golden_backups(None);
}

/// The same with the cards in the temporary folder from the first one (the path of a large
/// account, `ORANGE_CONTACTS_TEMP_MEMORY_MB=0`): the same bytes, the same report.
#[test]
fn issue12_export_through_the_spill_on_disk_is_byte_identical_to_the_golden_backups() {
    byte_identical_to_the_golden_backups(Some(0));
}

fn byte_identical_to_the_golden_backups(memory_mb: Option<u32>) {
    let server = golden_server();
    for (name, layout) in [("file", "file"), ("vdir", "dir")] {
        let path = server.dir.path().join(if layout == "file" { "golden.vcf" } else { "golden" });
        let (out, report) = export(&server, &path, &["--layout", layout], memory_mb);
        assert!(out.status.success(), "{}", text(&out));
        let written = files_at(&path, &server);
        assert_golden(name, &written);
        let report_text = normalize_report(&report, &server, &path);
        assert_golden(&format!("{name}-report"), &[("report.json".into(), report_text.into_bytes())]);
        // Again, over the backup: nothing to write, the same bytes.
        let (again, report) = export(&server, &path, &["--layout", layout], memory_mb);
        assert!(again.status.success(), "{}", text(&again));
        assert_eq!(report["summary"]["written"], 0, "{report}");
        assert_eq!(report["summary"]["unchanged"], 66, "{report}");
        assert!(files_at(&path, &server) == written, "{name}: the second run changed the backup");
    }
}

/// Issue 12: a temporary folder that cannot take the cards (here: missing, with the cards sent
/// there from the first) stops the export before anything is written, naming the folder's
/// problem; a memory limit that is not a number is refused the same way. The backup is as it was.
#[test]
fn issue12_a_temporary_folder_that_cannot_take_the_cards_stops_the_export_before_writing() {
    let server = golden_server();
    let path = server.dir.path().join("golden.vcf");
    let (out, _) = export(&server, &path, &[], None);
    assert!(out.status.success(), "{}", text(&out));
    let before = std::fs::read(&path).unwrap();
    let missing = server.dir.path().join("no-such-tmp");
    for (memory, tmpdir) in [("0", missing.as_path()), ("many", server.dir.path())] {
        let args = [path.to_str().unwrap()];
        let out = server
            .cli("golden", "export", &args)
            .env("ORANGE_CONTACTS_TEMP_MEMORY_MB", memory)
            .env("TMPDIR", tmpdir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let err = common::stderr(&out);
        assert!(err.contains("cannot keep the cards in the temporary folder"), "{err}");
        assert!(memory == "0" || err.contains("ORANGE_CONTACTS_TEMP_MEMORY_MB"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before, "the backup as it was");
    }
}
