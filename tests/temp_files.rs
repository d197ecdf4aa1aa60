//! Temporary files (issue 12): what import and export keep on disk while they run (records,
//! account contacts, cards) is unlinked as soon as it is created, so a run killed with SIGKILL
//! leaves nothing in the temporary folder. `ORANGE_CONTACTS_TEMP_MEMORY_MB=0` sends the
//! databases' pages to disk from the start, as a large account does.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;

/// `n` people with a mobile each.
fn people(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Family{i};Given{i}\r\nFN:Given{i} Family{i}\r\n\
                 TEL;TYPE=CELL:+33 6 12 {:02} {:02} {:02}\r\nEND:VCARD\r\n",
                i / 10_000 % 100,
                i / 100 % 100,
                i % 100
            )
        })
        .collect()
}

/// Runs `cmd` with its temporary folder in `tmp`, kills it with SIGKILL once the sandbox has
/// answered `calls` calls of `action`, and returns what is left in `tmp`.
fn killed_mid_run(
    server: &TestServer,
    mut cmd: Command,
    action: &str,
    calls: u64,
    tmp: &Path,
) -> Vec<String> {
    let mut child = cmd
        .env("TMPDIR", tmp)
        .env("ORANGE_CONTACTS_TEMP_MEMORY_MB", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while server.stats()["requests"][action].as_u64().unwrap_or(0) < calls {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it was killed");
        assert!(started.elapsed() < Duration::from_secs(60), "no {action} after a minute");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::read_dir(tmp).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

#[test]
fn issue12_a_killed_import_leaves_nothing_in_the_temporary_folder() {
    let server = TestServer::start(&["--latency-ms", "50"]);
    let file = server.dir.path().join("people.vcf");
    std::fs::write(&file, people(300)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cmd = server.cli("alice", "import", &["-q", file.to_str().unwrap()]);
    let left = killed_mid_run(&server, cmd, "addcontact", 10, tmp.path());
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

#[test]
fn issue12_a_killed_export_leaves_nothing_in_the_temporary_folder() {
    let server = TestServer::start(&["--latency-ms", "50"]);
    server.seed("alice", &people(300));
    let tmp = tempfile::tempdir().unwrap();
    let backup = server.dir.path().join("backup.vcf");
    let cmd = server.cli("alice", "export", &["-q", backup.to_str().unwrap()]);
    // Killed while it lists the account: the listing's contacts and the cards' spill are open.
    let left = killed_mid_run(&server, cmd, "findcontactlist", 20, tmp.path());
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    assert!(!backup.exists(), "a killed export writes no backup");
}
