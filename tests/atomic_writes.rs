//! What the tool writes never replaces what it should not, and leaves nothing behind: symlinks
//! are followed to the file they name, FIFOs, devices and descriptors are written in place (reports)
//! or refused (backups), `-` is standard output, a full disk or a kill mid-write leaves the previous
//! backup byte-identical, and the next successful run removes the temporaries a killed run left.
//! The real binary against the real sandbox server over HTTP on 127.0.0.1.
#![cfg(unix)]

use crate::common;

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{symlink, FileTypeExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::Value;

/// A sandbox with `n` contacts for alice (`Person000 Martin`, …) and a token file for her.
fn account(n: usize) -> (TestServer, PathBuf) {
    let server = TestServer::start(&[]);
    let token = server.dir.path().join("alice.token");
    fs::write(&token, server.token("alice")).unwrap();
    let vcf: String = (0..n)
        .map(|i| {
            format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Martin;Person{i:03};;;\r\nFN:Person{i:03} Martin\r\n\
                 EMAIL;TYPE=HOME:person{i:03}@example.org\r\nTEL;TYPE=CELL:+336123450{i:02}\r\nEND:VCARD\r\n"
            )
        })
        .collect();
    let seed = server.dir.path().join("seed.vcf");
    fs::write(&seed, vcf).unwrap();
    let out = server.sandbox_cmd(&["seed", "--user", "alice", seed.to_str().unwrap()]);
    assert!(out.status.success(), "seed: {}", common::text(&out));
    (server, token)
}

/// `orange-contacts <cmd> <args…>` against the server, in `cwd` (where a stray `-` file would land).
fn command(server: &TestServer, token: &Path, cwd: &Path, cmd: &str, args: &[&str]) -> Command {
    let mut c = common::command();
    c.current_dir(cwd)
        .arg(cmd)
        .args(args)
        .args(["--endpoint", &server.endpoint, "--token-file"])
        .arg(token)
        .args(["--rate", "0", "--concurrency", "8"])
        .env("ORANGE_CONTACTS_STATE_DIR", server.dir.path().join("state"))
        .stdin(Stdio::null());
    c
}

/// `inspect`, with no network, in `cwd`.
fn inspect(cwd: &Path, args: &[&str]) -> Command {
    let mut c = common::command();
    c.current_dir(cwd).arg("inspect").args(args).stdin(Stdio::null());
    c
}

/// Runs `c` to its end, or kills it after `limit` (None then): an old binary blocked on a FIFO
/// must fail the test, not hang it.
fn output_within(mut c: Command, limit: Duration) -> Option<Output> {
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let mut child =
        c.stdout(File::create(&out_path).unwrap()).stderr(File::create(&err_path).unwrap()).spawn().unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(Output {
                status,
                stdout: fs::read(&out_path).unwrap(),
                stderr: fs::read(&err_path).unwrap(),
            });
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

/// The names in `dir` shaped like this tool's temporaries (`.<name>.XXXXXX.tmp`).
fn temporaries(dir: &Path) -> Vec<String> {
    names(dir).into_iter().filter(|n| n.starts_with('.') && n.ends_with(".tmp")).collect()
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(st.success());
}

fn is_fifo(path: &Path) -> bool {
    fs::symlink_metadata(path).unwrap().file_type().is_fifo()
}

/// Reads the FIFO `path` to its end on a thread; the bytes arrive on the channel.
fn read_fifo(path: &Path) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut bytes).unwrap();
        let _ = tx.send(bytes);
    });
    rx
}

/// A character device that is safe to hand to any binary, old or new: a `null` node made in `dir`
/// when we may (root), else `/dev/null` (which an old binary could only replace as root). None when
/// neither is safe.
fn char_device(dir: &Path) -> Option<PathBuf> {
    let node = dir.join("null");
    let made = Command::new("mknod").arg(&node).args(["c", "1", "3"]).stderr(Stdio::null()).status();
    if made.is_ok_and(|s| s.success()) {
        return Some(node);
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(PathBuf::from("/dev/null"));
    }
    eprintln!("skipped the character device: cannot make one, and /dev/null is not safe to test as root");
    None
}

/// Limits the size of any file the child writes to `bytes` (RLIMIT_FSIZE, what `ulimit -f` sets):
/// a full disk that always works, without privileges. With SIGXFSZ ignored, the write past the
/// limit fails with EFBIG, as one fails with ENOSPC on a full disk; with the default action, the
/// kernel kills the process right in that write, as abruptly as kill -9.
fn limit_file_size(c: &mut Command, bytes: u64, kill: bool) {
    // SAFETY: setrlimit and signal are async-signal-safe; nothing else runs in the closure.
    unsafe {
        c.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, if kill { libc::SIG_DFL } else { libc::SIG_IGN });
            Ok(())
        });
    }
}

/// Item 3 (issue 8): `export bk/link.vcf` with `link.vcf → ../sync/real.vcf` used to turn the
/// link into a regular file and leave `real.vcf` as it was.
#[test]
fn issue8_item3_writing_to_a_symlink_replaces_its_target_and_the_link_survives() {
    let (server, token) = account(3);
    let root = server.dir.path().join("home");
    let (bk, sync) = (root.join("bk"), root.join("sync"));
    fs::create_dir_all(&bk).unwrap();
    fs::create_dir_all(&sync).unwrap();
    fs::write(sync.join("real.vcf"), fs::read(common::samples().join("iphone-3.0.vcf")).unwrap()).unwrap();
    fs::set_permissions(sync.join("real.vcf"), fs::Permissions::from_mode(0o640)).unwrap();
    symlink("../sync/real.vcf", bk.join("link.vcf")).unwrap();
    symlink("../sync/report.json", bk.join("report.json")).unwrap(); // dangling: created
    symlink("link.vcf", bk.join("again.vcf")).unwrap(); // a chain

    // --force: the link's target is a phone's export, which the ownership guard protects.
    let out =
        command(&server, &token, &root, "export", &["bk/link.vcf", "--force", "--report", "bk/report.json"])
            .output()
            .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    for (link, to) in [("link.vcf", "../sync/real.vcf"), ("report.json", "../sync/report.json")] {
        let meta = fs::symlink_metadata(bk.join(link)).unwrap();
        assert!(meta.file_type().is_symlink(), "{link} is no longer a link");
        assert_eq!(fs::read_link(bk.join(link)).unwrap(), Path::new(to));
    }
    let real = fs::read(sync.join("real.vcf")).unwrap();
    assert_eq!(common::count_cards(&String::from_utf8_lossy(&real)), 3, "the link's target holds the export");
    assert!(String::from_utf8_lossy(&real).contains("FN:Person002 Martin"));
    assert_eq!(fs::metadata(sync.join("real.vcf")).unwrap().permissions().mode() & 0o777, 0o640);
    let report: Value = serde_json::from_slice(&fs::read(sync.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["summary"]["contacts"], 3);
    assert_eq!(names(&bk), ["again.vcf", "link.vcf", "report.json"]);
    assert_eq!(names(&sync), ["real.vcf", "report.json"], "temporaries live and go in the target's folder");

    // Through the chain, the same file; unchanged, so not rewritten.
    let out = command(&server, &token, &root, "export", &["bk/again.vcf", "--quick"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    assert_eq!(fs::read(sync.join("real.vcf")).unwrap(), real);
    assert!(fs::symlink_metadata(bk.join("again.vcf")).unwrap().file_type().is_symlink());
}

/// Item 3 (issue 8): `--report /dev/stdout` as root replaced the system's `/dev/stdout` link with
/// a regular file. A report goes *into* a FIFO, a character device or a descriptor, which stay
/// what they were. (The real `/dev/stdout` is never touched here: `/proc/self/fd/1` and
/// `/dev/fd/1` are the same descriptor one link further, and an old binary cannot create files
/// in procfs.)
#[test]
fn issue8_item3_a_report_to_a_fifo_a_device_or_a_descriptor_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::samples().join("iphone-3.0.vcf");
    let input = input.to_str().unwrap();

    let fifo = dir.path().join("report.fifo");
    mkfifo(&fifo);
    let received = read_fifo(&fifo);
    let out = output_within(
        inspect(dir.path(), &[input, "--report", fifo.to_str().unwrap(), "-q"]),
        Duration::from_secs(60),
    )
    .expect("inspect --report FIFO did not finish");
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    assert!(is_fifo(&fifo), "the FIFO was replaced");
    let bytes = received.recv_timeout(Duration::from_secs(10)).expect("nothing came through the FIFO");
    let report: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(report["summary"]["records"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(names(dir.path()), ["report.fifo"]);

    if let Some(device) = char_device(dir.path()) {
        let out = inspect(dir.path(), &[input, "--report", device.to_str().unwrap(), "-q"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
        assert!(
            fs::symlink_metadata(&device).unwrap().file_type().is_char_device(),
            "the device was replaced"
        );
    }

    for descriptor in ["/proc/self/fd/1", "/dev/fd/1"] {
        let out = inspect(dir.path(), &[input, "--report", descriptor, "-q"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{descriptor}: {}", common::text(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{descriptor}: stdout is not the report ({e}): {}", common::text(&out))
        });
        assert!(report["summary"]["records"].as_u64().unwrap() > 0);
    }
}

/// Item 3 (issue 8): a backup is a regular file; a FIFO (reading the previous backup from it
/// blocked the export for ever) or a device is refused before any listing, and stays.
#[test]
fn issue8_item3_a_backup_to_a_fifo_or_a_device_is_refused_and_left_alone() {
    let (server, token) = account(2);
    let dir = server.dir.path().join("out");
    fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("backup.vcf");
    mkfifo(&fifo);
    let mut targets = vec![fifo.clone()];
    targets.extend(char_device(&dir));
    for target in &targets {
        let c = command(&server, &token, &dir, "export", &[target.to_str().unwrap(), "--layout", "file"]);
        let out = output_within(c, Duration::from_secs(90))
            .unwrap_or_else(|| panic!("export {} hung", target.display()));
        assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&*target.to_string_lossy()) && err.contains("not a regular file"), "{err}");
        let kind = fs::symlink_metadata(target).unwrap().file_type();
        assert!(kind.is_fifo() || kind.is_char_device(), "{} was replaced", target.display());
    }
    assert_eq!(searches(&server), 0, "refused before the listing");
}

/// `findcontactlist` calls the server answered so far.
fn searches(server: &TestServer) -> u64 {
    let url = format!("{}/_sandbox/stats", server.base_url());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let body = rt.block_on(async { reqwest::get(&url).await.unwrap().text().await.unwrap() });
    let stats: Value = serde_json::from_str(&body).unwrap();
    stats["requests"]["findcontactlist"].as_u64().unwrap_or_else(|| panic!("{stats}"))
}

/// Item 3 (issue 8): `-` is standard output for `--report` (import, inspect, export, check) and
/// for a single-file export; then nothing else goes to stdout. `export -` has no previous backup:
/// `--quick` (which reads it), `--layout dir` and `--report -` are usage errors.
#[test]
fn issue8_item3_dash_is_standard_output_for_reports_and_a_single_file_export() {
    let (server, token) = account(4);
    let cwd = server.dir.path().join("cwd");
    fs::create_dir_all(&cwd).unwrap();
    let report = cwd.join("export.json");

    let out = command(&server, &token, &cwd, "export", &["-", "--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    assert_eq!(common::count_cards(&String::from_utf8_lossy(&out.stdout)), 4, "{}", common::text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("BEGIN:VCARD\r\n"), "only cards on stdout");
    let json: Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    assert_eq!((json["path"].as_str(), json["layout"].as_str()), (Some("-"), Some("file")));
    assert_eq!(json["summary"]["written"], 4);
    // The same bytes as a file export.
    let file = cwd.join("all.vcf");
    let out2 = command(&server, &token, &cwd, "export", &[file.to_str().unwrap(), "-q"]).output().unwrap();
    assert_eq!(out2.status.code(), Some(0), "{}", common::text(&out2));
    assert_eq!(fs::read(&file).unwrap(), out.stdout);

    for (args, says) in [
        (vec!["-", "--quick"], "--quick"),
        (vec!["-", "--layout", "dir"], "vdir"),
        (vec!["-", "--report", "-"], "both"),
    ] {
        let out = command(&server, &token, &cwd, "export", &args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", common::text(&out));
        assert!(
            out.stdout.is_empty() && String::from_utf8_lossy(&out.stderr).contains(says),
            "{}",
            common::text(&out)
        );
    }

    let out = command(&server, &token, &cwd, "export", &[file.to_str().unwrap(), "--report", "-", "--quick"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    let json: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", common::text(&out)));
    assert_eq!(json["summary"]["contacts"], 4);

    let out =
        command(&server, &token, &cwd, "check", &[file.to_str().unwrap(), "--report", "-"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    let json: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", common::text(&out)));
    assert!(json["entries"].as_array().is_some_and(|e| e.len() == 4), "{json}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("= Person000 Martin") && err.contains("4 same"),
        "the listing moved to stderr: {err}"
    );

    let sample = common::samples().join("vcard-4.0.vcf");
    let out =
        command(&server, &token, &cwd, "import", &[sample.to_str().unwrap(), "--dry-run", "--report", "-"])
            .output()
            .unwrap();
    assert!(out.status.code().is_some_and(|c| c == 0 || c == 3), "{}", common::text(&out));
    let json: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", common::text(&out)));
    assert_eq!(json["summary"]["dry_run"], true);

    let out = inspect(&cwd, &[sample.to_str().unwrap(), "--report", "-"]).output().unwrap();
    assert!(out.status.code().is_some_and(|c| c == 0 || c == 3), "{}", common::text(&out));
    let json: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", common::text(&out)));
    assert!(json["records"].as_array().is_some_and(|r| !r.is_empty()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("records:"), "the summary stays on stderr");

    assert_eq!(names(&cwd), ["all.vcf", "export.json"], "no file named `-`");
}

/// An account of 60 contacts and its previous backups, written by this tool: the single file
/// `backup/all.vcf` and the vdir `vdir/`, each with the first contact's card out of date (an
/// earlier version of that contact), so that the next export has something to write.
struct PreviousBackups {
    server: TestServer,
    token: PathBuf,
    dir: PathBuf,
    file: PathBuf,
    vd: PathBuf,
    /// The single file's bytes.
    old: Vec<u8>,
    /// The vdir's out-of-date card's bytes.
    old_card: Vec<u8>,
}

/// The vdir card the previous backup holds out of date.
const OLD_CARD: &str = "orange-contacts-1.vcf";

impl PreviousBackups {
    fn new() -> PreviousBackups {
        let (server, token) = account(60);
        let dir = server.dir.path().join("backup");
        let vd = server.dir.path().join("vdir");
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("all.vcf");
        for target in [&file, &vd] {
            let out =
                command(&server, &token, &dir, "export", &[target.to_str().unwrap(), "-q"]).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
        }
        // An earlier version of contact 1: its name changed since.
        let outdate = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap().replace("Person000", "Personne000");
        let old = outdate(fs::read(&file).unwrap()).into_bytes();
        let old_card = outdate(fs::read(vd.join(OLD_CARD)).unwrap()).into_bytes();
        assert!(old != fs::read(&file).unwrap() && old_card != fs::read(vd.join(OLD_CARD)).unwrap());
        fs::write(&file, &old).unwrap();
        fs::write(vd.join(OLD_CARD), &old_card).unwrap();
        PreviousBackups { server, token, dir, file, vd, old, old_card }
    }

    /// Exports to the file, then the vdir, each run given `args`.
    fn export_both(&self, args: &[&str], limit: impl Fn(&mut Command, u64)) -> Vec<Output> {
        // 4096 bytes: a part of the 60 cards; 64: not even the vdir's first card.
        [(&self.file, 4096), (&self.vd, 64)]
            .into_iter()
            .map(|(target, bytes)| {
                let mut c =
                    command(&self.server, &self.token, &self.dir, "export", &[target.to_str().unwrap()]);
                c.args(args);
                limit(&mut c, bytes);
                c.output().unwrap()
            })
            .collect()
    }

    fn assert_unchanged(&self) {
        assert_eq!(fs::read(&self.file).unwrap(), self.old, "the previous backup is byte-identical");
        assert_eq!(fs::read(self.vd.join(OLD_CARD)).unwrap(), self.old_card);
    }

    /// A run with room again: the new backups are written.
    fn export_successfully(&self, args: &[&str]) {
        for out in self.export_both(args, |_, _| {}) {
            assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
            assert!(out.stderr.is_empty(), "{}", common::text(&out));
        }
        assert_eq!(common::count_cards(&String::from_utf8_lossy(&fs::read(&self.file).unwrap())), 60);
    }
}

/// Item 4 (issue 8): a full disk (EFBIG past RLIMIT_FSIZE, as ENOSPC) while writing the new
/// backup: the run fails naming the path, the previous backup is byte-identical, and no
/// temporary is left, in a single file as in a vdir (whose first new card cannot be written).
#[test]
fn issue8_item4_a_full_disk_leaves_the_previous_backup_byte_identical_and_no_temporaries() {
    let b = PreviousBackups::new();
    let outs = b.export_both(&["-q", "--quick"], |c, bytes| limit_file_size(c, bytes, false));
    for (out, target) in outs.iter().zip([&b.file, &b.vd]) {
        assert_eq!(out.status.code(), Some(1), "{}", common::text(out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&*target.to_string_lossy()) && err.contains("File too large"), "{err}");
    }
    b.assert_unchanged();
    assert_eq!(names(&b.dir), ["all.vcf"], "no temporary left");
    assert!(temporaries(&b.vd).is_empty(), "{:?}", names(&b.vd));

    b.export_successfully(&["-q"]);
    assert_eq!(names(&b.dir), ["all.vcf"]);
    assert!(temporaries(&b.vd).is_empty(), "{:?}", names(&b.vd));
}

/// Items 4 (issue 8) and 9 (issue 9): an export killed while it writes (SIGXFSZ in the write,
/// as abrupt as kill -9) leaves the previous backup byte-identical and its temporary, a full copy
/// of the contacts, behind; the next successful run of the same target removes it — also when
/// that run finds the backup unchanged — and removes only this tool's temporaries of that target,
/// never one a concurrent run holds (locked) or another program's.
#[test]
fn issue8_item4_issue9_item9_temporaries_of_a_killed_export_are_removed_by_the_next_successful_run() {
    let b = PreviousBackups::new();
    for out in b.export_both(&["-q", "--quick"], |c, bytes| limit_file_size(c, bytes, true)) {
        assert_eq!(out.status.signal(), Some(libc::SIGXFSZ), "killed while writing: {}", common::text(&out));
    }
    b.assert_unchanged();
    let left = temporaries(&b.dir);
    assert!(left.len() == 1 && left[0].starts_with(".all.vcf."), "{:?}", names(&b.dir));
    let stale = fs::metadata(b.dir.join(&left[0])).unwrap();
    assert_eq!(stale.len(), 4096, "cut in the middle of the write");
    assert_eq!(stale.permissions().mode() & 0o777, 0o600);
    let left = temporaries(&b.vd);
    assert!(left.len() == 1 && left[0].starts_with(".orange-contacts-"), "{:?}", names(&b.vd));

    b.export_successfully(&["-q"]);
    assert_eq!(names(&b.dir), ["all.vcf"], "the killed run's temporary is gone");
    assert!(temporaries(&b.vd).is_empty(), "{:?}", names(&b.vd));

    // Killed runs' leftovers beside an unchanged backup, a concurrent run's temporary (locked)
    // and other programs' files: only the leftovers go.
    let ours = [".all.vcf.Ab3dE9.tmp"];
    let ours_in_vdir = [".orange-contacts-gone.vcf.Zz9yX8.tmp", ".orange-contacts-old.vcf.000000.tmp"];
    let foreign =
        [".all.vcf.abc.tmp", ".notes.txt.Ab3dE9.tmp", "all.vcf.Ab3dE9.tmp", ".all.vcf.Ab3dE9.tmp.part"];
    let foreign_in_vdir = [".orange-contacts-x.vcf.abcdefg.tmp", ".other.vcf.Ab3dE9.tmp"];
    for n in ours.iter().chain(&foreign) {
        fs::write(b.dir.join(n), "x").unwrap();
    }
    for n in ours_in_vdir.iter().chain(&foreign_in_vdir) {
        fs::write(b.vd.join(n), "x").unwrap();
    }
    let busy = b.dir.join(".all.vcf.BusyR1.tmp");
    fs::write(&busy, "being written").unwrap();
    let held = File::open(&busy).unwrap();
    held.lock().unwrap();
    let unchanged = fs::read(&b.file).unwrap();
    b.export_successfully(&["-q", "--quick"]);
    assert_eq!(fs::read(&b.file).unwrap(), unchanged);
    let mut expected: Vec<String> = foreign.iter().map(|s| s.to_string()).collect();
    expected.extend([".all.vcf.BusyR1.tmp".to_string(), "all.vcf".to_string()]);
    expected.sort();
    assert_eq!(names(&b.dir), expected);
    let left = names(&b.vd);
    for n in &ours_in_vdir {
        assert!(!left.contains(&n.to_string()), "{n} left: {left:?}");
    }
    for n in &foreign_in_vdir {
        assert!(left.contains(&n.to_string()), "{n} is not ours: {left:?}");
    }
    drop(held);
}
