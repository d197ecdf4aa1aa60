//! Scale benchmark: the commands that talk to the account, on a big address book, with the peak
//! memory of each (issue 12).
//!
//! Generates N contacts (1–3 phones and an email each, a photo on 1 in 50), starts the sandbox
//! (`orange-contacts serve` on an ephemeral port, a child process) and runs the release binary
//! against it with `--rate 0`, one command per phase:
//!
//! 1. `import` of the file into the empty account;
//! 2. the same `import` again (nothing to do);
//! 3. `export` to a `.vcf` file;
//! 4. `export` to a vdir;
//! 5. `check` of the exported file against the account.
//!
//! For each phase it prints the wall time, the client's peak resident set (its `VmHWM`,
//! read until it exits) and the sandbox's over that phase (`VmHWM`, reset before each phase), and verifies the
//! result by the phase's JSON report (every contact created, then unchanged, exported, and the
//! same in `check`) and by the files written.
//!
//! Run: `cargo bench --bench scale` (100,000 contacts), `cargo bench --bench scale -- 10000`,
//! optional second argument: the client's `--concurrency` (default 8); `SCALE_BENCH_BIN=PATH`
//! measures another build of the binary; `SCALE_BENCH_SKIP=vdir` leaves phases out (keys: import,
//! reimport, file, vdir, check). Work files go to a
//! temporary folder under `target/bench-data/` (deleted at the end).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tests/common/peak.rs"]
mod peak;

use base64::Engine;
use serde_json::Value;

/// The binary measured: this build's, or `SCALE_BENCH_BIN` (another build, e.g. before a change).
fn bin() -> PathBuf {
    std::env::var_os("SCALE_BENCH_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_orange-contacts").into(), PathBuf::from)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let contacts = args.first().copied().unwrap_or(100_000);
    let concurrency = args.get(1).copied().unwrap_or(8);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&root).unwrap();
    let dir = tempfile::tempdir_in(&root).unwrap();
    let work = dir.path();

    let input = work.join("contacts.vcf");
    let photos = generate(&input, contacts);
    let mb = std::fs::metadata(&input).unwrap().len() as f64 / 1e6;
    println!("scale bench: {contacts} contacts ({photos} photos, {mb:.1} MB), --rate 0 --concurrency {concurrency}");

    let server = Sandbox::start(work);
    let token_file = work.join("bench.token");
    std::fs::write(&token_file, server.token()).unwrap();
    let client = |cmd: &str, args: &[&Path]| {
        let mut c = Command::new(bin());
        c.arg(cmd)
            .args(args)
            .args(["--quiet", "--endpoint", &server.endpoint, "--token-file"])
            .arg(&token_file)
            .args(["--rate", "0", "--concurrency", &concurrency.to_string()])
            .env("ORANGE_CONTACTS_STATE_DIR", work.join("state"))
            .env("ORANGE_CONTACTS_DATA_DIR", work.join("data"))
            .env("XDG_CONFIG_HOME", work.join("config"))
            .env_remove("ORANGE_CONTACTS_TOKEN")
            .env_remove("ORANGE_CONTACTS_ENDPOINT")
            .env_remove("ORANGE_CONTACTS_CONFIG")
            .env_remove("ORANGE_CONTACTS_PROFILE");
        c
    };
    let report = |name: &str| work.join(format!("{name}.json"));
    let (backup, vdir) = (work.join("backup.vcf"), work.join("vdir"));
    let n = contacts as u64;

    println!("| phase | wall | client peak RSS | sandbox peak RSS | verified |");
    println!("|---|---:|---:|---:|---|");
    let phases: [(&str, Command, PathBuf); 5] = [
        ("import", client("import", &[&input, Path::new("--report"), &report("import")]), report("import")),
        (
            "re-import",
            client("import", &[&input, Path::new("--report"), &report("reimport")]),
            report("reimport"),
        ),
        (
            "export to a file",
            client("export", &[&backup, Path::new("--report"), &report("export")]),
            report("export"),
        ),
        (
            "export to a vdir",
            client("export", &[&vdir, Path::new("--report"), &report("vdir")]),
            report("vdir"),
        ),
        ("check", client("check", &[&backup, Path::new("--report"), &report("check")]), report("check")),
    ];
    // `SCALE_BENCH_SKIP=vdir,check`: phases left out (by their key: import, reimport, file, vdir,
    // check), e.g. the vdir export, which takes the longest at a million. Later phases only need
    // the import and, for check, the file.
    let skip = std::env::var("SCALE_BENCH_SKIP").unwrap_or_default();
    let keys = ["import", "reimport", "file", "vdir", "check"];
    let mut failed = false;
    for (i, (name, mut cmd, report_path)) in phases.into_iter().enumerate() {
        if skip.split(',').any(|k| k.trim() == keys[i]) {
            println!("| {name} | skipped (SCALE_BENCH_SKIP) | | | |");
            continue;
        }
        server.reset_peak();
        let run = run_measured(&mut cmd, &work.join(format!("phase{i}.log")));
        let server_kb = server.peak_kb();
        let report = read_summary(&report_path)
            .unwrap_or_else(|| panic!("{name}: no report (exit {:?}); see {}", run.code, run.log.display()));
        let s = &report["summary"];
        let verified = match i {
            0 => expect(
                name,
                &report,
                &[("created", &s["outcomes"]["created"], n), ("invalid", &s["outcomes"]["invalid"], 0)],
            ),
            1 => expect(
                name,
                &report,
                &[("unchanged", &s["outcomes"]["unchanged"], n), ("created", &s["outcomes"]["created"], 0)],
            ),
            2 => {
                let cards = count_cards(&backup);
                expect(
                    name,
                    &report,
                    &[
                        ("contacts", &s["contacts"], n),
                        ("written", &s["written"], n),
                        ("cards in the file", &Value::from(cards), n),
                        ("photos", &s["photos"], photos as u64),
                    ],
                )
            }
            3 => {
                let files = std::fs::read_dir(&vdir)
                    .unwrap()
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "vcf"))
                    .count();
                expect(
                    name,
                    &report,
                    &[
                        ("contacts", &s["contacts"], n),
                        ("written", &s["written"], n),
                        ("files", &Value::from(files), n),
                    ],
                )
            }
            _ => expect(
                name,
                &report,
                &[
                    ("same", &s["same"], n),
                    ("differ", &s["differ"], 0),
                    ("only_local", &s["only_local"], 0),
                    ("only_account", &s["only_account"], 0),
                ],
            ),
        };
        let verified = match (verified, run.code) {
            (Ok(v), Some(0)) => v,
            (Ok(v), code) => format!("**exit {code:?}** ({v})"),
            (Err(e), code) => format!("{e} (exit {code:?})"),
        };
        failed |= verified.contains("**");
        println!(
            "| {name} | {:.1} s | {:.0} MB | {:.0} MB | {verified} |",
            run.elapsed.as_secs_f64(),
            run.peak_rss_kb as f64 / 1024.0,
            server_kb as f64 / 1024.0
        );
    }
    if failed {
        drop(server);
        eprintln!("some results were wrong; the work files are kept in {}", dir.keep().display());
        std::process::exit(1);
    }
}

/// The report's `summary`, and its records only when the file is small: a report of a million
/// records would take gigabytes as a `Value` (the records are skipped while parsing).
fn read_summary(path: &Path) -> Option<Value> {
    #[derive(serde::Deserialize)]
    struct Head {
        summary: Value,
    }
    let file = File::open(path).ok()?;
    if file.metadata().ok()?.len() < 64 << 20 {
        return serde_json::from_reader(std::io::BufReader::new(file)).ok();
    }
    let head: Head = serde_json::from_reader(std::io::BufReader::new(file)).ok()?;
    Some(serde_json::json!({ "summary": head.summary }))
}

/// Checks each (what, reported, wanted): what was checked, or what was not as wanted (then the
/// summary and the first failed record go to stderr, and the bench goes on to the next phase).
fn expect(phase: &str, report: &Value, checks: &[(&str, &Value, u64)]) -> Result<String, String> {
    let wrong: Vec<String> = checks
        .iter()
        .filter(|(_, got, want)| got.as_u64() != Some(*want))
        .map(|(what, got, want)| format!("{what} {got}, not {want}"))
        .collect();
    if wrong.is_empty() {
        return Ok(checks
            .iter()
            .map(|(what, _, want)| format!("{what} {want}"))
            .collect::<Vec<_>>()
            .join(", "));
    }
    eprintln!("{phase}: summary {}", report["summary"]);
    let records = report["records"].as_array().or(report["entries"].as_array());
    if let Some(failed) =
        records.into_iter().flatten().find(|r| r["outcome"] == "failed" || r["status"] == "error")
    {
        let text = failed.to_string();
        eprintln!("{phase}: first failed record {}", &text[..text.len().min(600)]);
    }
    Err(format!("**FAILED**: {}", wrong.join(", ")))
}

fn count_cards(path: &Path) -> u64 {
    let text = std::fs::read(path).unwrap();
    memchr::memmem::find_iter(&text, b"BEGIN:VCARD").count() as u64
}

/// Writes `n` distinct people as vCard 3.0 (unique names, phones and emails: nothing merges), a
/// 64×64 JPEG on every 50th; returns the number of photos.
fn generate(path: &Path, n: usize) -> usize {
    let jpeg = {
        let img = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 128]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        base64::engine::general_purpose::STANDARD.encode(out.into_inner())
    };
    let mut out = BufWriter::new(File::create(path).unwrap());
    let mut photos = 0;
    for i in 0..n {
        // Names start with 26 letters, as a real address book's do: the account is listed with one
        // search per initial, and one initial holding every contact makes an answer over the
        // client's limit (4 MiB) from about 20,000 contacts on.
        let letter = char::from(b'A' + (i % 26) as u8);
        let (given, family) = (format!("{letter}ndré{i}"), format!("{letter}ubois{}", i % 7919));
        write!(out, "BEGIN:VCARD\r\nVERSION:3.0\r\nN:{family};{given};;;\r\nFN:{given} {family}\r\n")
            .unwrap();
        write!(
            out,
            "TEL;TYPE=CELL:+33 6 {:02} {:02} {:02} {:02}\r\n",
            i / 1_000_000 % 100,
            i / 10_000 % 100,
            i / 100 % 100,
            i % 100
        )
        .unwrap();
        if i % 3 >= 1 {
            write!(
                out,
                "TEL;TYPE=HOME:+33 1 {:02} {:02} {:02} {:02}\r\n",
                i / 1_000_000 % 100,
                i / 10_000 % 100,
                i / 100 % 100,
                i % 100
            )
            .unwrap();
        }
        if i % 3 == 2 {
            write!(
                out,
                "TEL;TYPE=WORK:+33 9 {:02} {:02} {:02} {:02}\r\n",
                i / 1_000_000 % 100,
                i / 10_000 % 100,
                i / 100 % 100,
                i % 100
            )
            .unwrap();
        }
        write!(out, "EMAIL;TYPE=INTERNET:p{i}@example.fr\r\n").unwrap();
        if i % 50 == 0 {
            write!(out, "PHOTO;ENCODING=b;TYPE=JPEG:{jpeg}\r\n").unwrap();
            photos += 1;
        }
        out.write_all(b"END:VCARD\r\n").unwrap();
    }
    out.flush().unwrap();
    photos
}

/// `orange-contacts serve` on 127.0.0.1:0 over a fresh database, as a child process.
struct Sandbox {
    child: Child,
    db: PathBuf,
    endpoint: String,
}

impl Sandbox {
    fn start(work: &Path) -> Sandbox {
        use std::io::BufRead;
        let db = work.join("sandbox.db");
        let mut child = Command::new(bin())
            .args(["serve", "--db"])
            .arg(&db)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(File::create(work.join("serve.log")).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let endpoint = line.trim_end().to_string();
        assert!(endpoint.starts_with("http://"), "serve's first line is not its endpoint: {line:?}");
        Sandbox { child, db, endpoint }
    }

    fn token(&self) -> String {
        let out = Command::new(bin())
            .args(["sandbox", "token", "--db"])
            .arg(&self.db)
            .args(["--user", "bench"])
            .output()
            .unwrap();
        assert!(out.status.success(), "sandbox token: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().last().unwrap().trim().to_string()
    }

    /// Resets the server's peak resident set (`VmHWM`) to its current one.
    fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").unwrap();
    }

    fn peak_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Measured {
    code: Option<i32>,
    elapsed: Duration,
    peak_rss_kb: u64,
    log: PathBuf,
}

/// Runs `cmd` to its end (output to `log`) and measures its wall time and peak resident set.
// The child is reaped by `peak::wait_with_peak`.
#[allow(clippy::zombie_processes)]
fn run_measured(cmd: &mut Command, log: &Path) -> Measured {
    let started = Instant::now();
    let out = File::create(log).unwrap();
    let child = cmd.stdout(out.try_clone().unwrap()).stderr(out).spawn().unwrap();
    let (status, peak_rss_kb) = peak::wait_with_peak(child.id() as libc::pid_t);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Measured { code, elapsed: started.elapsed(), peak_rss_kb, log: log.to_path_buf() }
}
