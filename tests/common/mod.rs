//! Test harness shared by the integration tests: the fixtures' location and a real sandbox server
//! started as a child process (the same `serve` command users run), on an ephemeral port.
#![allow(dead_code)]

pub mod crowded_names;
pub mod hostile;
pub mod peak;

use std::io::{BufRead, BufReader, Read as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use orange_contacts::remote::Remote as _;

/// The corpus of public vCard/CSV files the tests read, carried by the repository
/// (`tests/fixtures/corpus`, provenance in its `PROVENANCE.md`): a fresh clone tests alone.
pub fn corpus_dir() -> PathBuf {
    fixtures().join("corpus")
}

/// `tests/fixtures`: everything the tests read from disk besides `samples/`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures")
}

/// A file of the corpus, by its path below `tests/fixtures/corpus`.
pub fn corpus(rel: &str) -> PathBuf {
    let p = corpus_dir().join(rel);
    assert!(p.exists(), "corpus file missing: {}", p.display());
    p
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_orange-contacts"))
}

/// `samples/`, the files the README's quick start imports.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The tool, isolated from the machine it runs on: nothing of the caller's `ORANGE_CONTACTS_*`
/// environment, and a configuration folder, embedded sandbox and state folder of its own (fresh
/// for each command), so a developer's own profile or account never reaches a test. A test that
/// needs them shared sets them again (later `env` calls win).
pub fn command() -> Command {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let own = isolation_root().join(RUNS.fetch_add(1, Ordering::Relaxed).to_string());
    let mut c = Command::new(bin());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ORANGE_CONTACTS_") {
            c.env_remove(name);
        }
    }
    c.env("XDG_CONFIG_HOME", own.join("config"))
        .env("ORANGE_CONTACTS_DATA_DIR", own.join("data"))
        .env("ORANGE_CONTACTS_STATE_DIR", own.join("state"));
    c
}

/// This test process's folder for `command`'s isolated homes, below cargo's scratch folder; the
/// folders of earlier runs are removed when the first command of a run asks for it.
fn isolation_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let all = Path::new(env!("CARGO_TARGET_TMPDIR")).join("isolated");
        if let Ok(entries) = std::fs::read_dir(&all) {
            for old in entries.flatten() {
                let stale = old
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > std::time::Duration::from_secs(3600)));
                if stale {
                    let _ = std::fs::remove_dir_all(old.path());
                }
            }
        }
        all.join(std::process::id().to_string())
    })
}

/// A finished command's exit status, stdout and stderr, for assertion messages.
/// `text` with the digits after each `marker` replaced by `0`.
fn zero_after(text: &str, marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        out.push('0');
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// A report's elapsed milliseconds (JSON, pretty or not, and HTML) as `0`: what the golden
/// reports fix.
pub fn zero_elapsed(text: &str) -> String {
    let text = zero_after(text, "\"elapsed_ms\": ");
    let text = zero_after(&text, "<th>elapsed ms</th><td>");
    zero_after(&text, "elapsed_ms\":")
}

/// A vCard of `Given<i> <X>amily<i>` (26 initials, as address books are) with one mobile.
pub fn person(i: usize) -> String {
    let family = format!("{}amily{i}", (b'A' + (i % 26) as u8) as char);
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:{family};Given{i}\r\nFN:Given{i} {family}\r\n\
         TEL;TYPE=CELL:+33 6 01 {:02} {:02} {:02}\r\nEMAIL:given{i}@example.org\r\nEND:VCARD\r\n",
        i / 10_000 % 100,
        i / 100 % 100,
        i % 100
    )
}

pub fn text(out: &std::process::Output) -> String {
    format!(
        "{:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A finished command's stderr.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A vCard 3.0 of `fields` (each a whole content line), CRLF line ends.
pub fn card(fields: &[&str]) -> String {
    let mut s = String::from("BEGIN:VCARD\r\nVERSION:3.0\r\n");
    for f in fields {
        s.push_str(f);
        s.push_str("\r\n");
    }
    s.push_str("END:VCARD\r\n");
    s
}

/// How many cards a vCard text holds.
pub fn count_cards(vcf: &str) -> usize {
    vcf.matches("BEGIN:VCARD").count()
}

/// A sandbox server process on 127.0.0.1:0 over a temporary database.
pub struct TestServer {
    pub endpoint: String,
    pub db: PathBuf,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl TestServer {
    pub fn start(extra_args: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sandbox.db");
        Self::start_on(dir, db, extra_args)
    }

    /// Starts a server over an existing database (persistence tests).
    pub fn start_on(dir: tempfile::TempDir, db: PathBuf, extra_args: &[&str]) -> TestServer {
        let mut child = command()
            .args(["serve", "--db"])
            .arg(&db)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn orange-contacts serve");
        // The server's stderr through the test's own (shown when the test fails, as its output).
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            stderr.lines().map_while(Result::ok).for_each(|line| eprintln!("serve: {line}"))
        });
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read serve's first line");
        // The first line is the endpoint URL, exactly.
        let endpoint = line.strip_suffix('\n').unwrap_or(&line).to_string();
        assert!(url::Url::parse(&endpoint).is_ok(), "serve's first line is not a URL: {line:?}");
        TestServer { endpoint, db, dir, child }
    }

    /// `http://127.0.0.1:PORT` (for `/_sandbox/stats`).
    pub fn base_url(&self) -> String {
        let u = url::Url::parse(&self.endpoint).unwrap();
        format!("{}://{}", u.scheme(), u.host_str().unwrap()) + &format!(":{}", u.port().unwrap())
    }

    /// A token for `user` (created if needed), through the `sandbox token` command.
    pub fn token(&self, user: &str) -> String {
        let out = command()
            .args(["sandbox", "token", "--db"])
            .arg(&self.db)
            .args(["--user", user])
            .output()
            .expect("run sandbox token");
        assert!(out.status.success(), "sandbox token failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().lines().last().expect("token line").trim().to_string()
    }

    /// A file holding `user`'s token (created on first use), for `--token-file`.
    pub fn token_file(&self, user: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{user}.token"));
        if !path.exists() {
            std::fs::write(&path, self.token(user)).unwrap();
        }
        path
    }

    /// `orange-contacts <cmd> <args…> --endpoint … --token-file … --rate 0` as `user`.
    pub fn cli(&self, user: &str, cmd: &str, args: &[&str]) -> Command {
        let mut c = command();
        c.arg(cmd)
            .args(args)
            .args(["--endpoint", &self.endpoint, "--token-file"])
            .arg(self.token_file(user))
            .args(["--rate", "0", "--concurrency", "8"])
            .env("ORANGE_CONTACTS_STATE_DIR", self.dir.path().join("state"));
        c
    }

    /// Runs `orange-contacts sandbox <args…> --db <db>`.
    pub fn sandbox_cmd(&self, args: &[&str]) -> std::process::Output {
        command().arg("sandbox").args(args).arg("--db").arg(&self.db).output().unwrap()
    }

    /// Seeds `user`'s account with the cards of `vcf` (and gives the user a token file).
    pub fn seed(&self, user: &str, vcf: &str) {
        let _ = self.token_file(user);
        let file = self.dir.path().join(format!("seed-{}.vcf", rand::random::<u32>()));
        std::fs::write(&file, vcf).unwrap();
        let out = self.sandbox_cmd(&["seed", "--user", user, file.to_str().unwrap()]);
        assert!(out.status.success(), "seed failed: {}", text(&out));
    }

    /// The sandbox's counters (`/_sandbox/stats`): calls per action, contacts, devices.
    pub fn stats(&self) -> serde_json::Value {
        let url = format!("{}/_sandbox/stats", self.base_url());
        let body = rt().block_on(async { reqwest::get(&url).await.unwrap().text().await.unwrap() });
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("stats {body:?}: {e}"))
    }

    /// Stops the server (SIGKILL), keeping its database for a restart.
    pub fn stop(mut self) -> (tempfile::TempDir, PathBuf) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        (dir, self.db.clone())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// Independent vCard readers the export tests check written files with.

/// Python's vobject parses every card of the files (and vdirs) with validation, no errors.
/// Returns how many cards it read.
pub fn vobject_reads(paths: &[&Path]) -> usize {
    let have =
        |py: &str| Command::new(py).args(["-c", "import vobject"]).output().is_ok_and(|o| o.status.success());
    if !have("python3") {
        let _ = Command::new("python3").args(["-m", "pip", "install", "--quiet", "vobject"]).output();
    }
    assert!(have("python3"), "python3 with vobject is needed (pip install vobject)");
    let script = r#"
import sys, glob, os, vobject
n = 0
for path in sys.argv[1:]:
    files = sorted(glob.glob(os.path.join(path, '*.vcf'))) if os.path.isdir(path) else [path]
    for f in files:
        with open(f, encoding='utf-8', newline='') as fh:
            data = fh.read()
        for card in vobject.readComponents(data, validate=True):
            assert card.fn.value, f
            if hasattr(card, 'photo'):
                assert len(card.photo.value) > 10, f
            n += 1
print(n)
"#;
    let out = Command::new("python3").arg("-c").arg(script).args(paths).output().unwrap();
    assert!(
        out.status.success(),
        "vobject failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(n > 0);
    n
}

// ---------------------------------------------------------------------------------------------
// Import runs and the account they leave (tests/import.rs, tests/import_fidelity.rs).

/// Runs `orange-contacts import` against `server` as `user`, returning the output and report.
pub fn import(server: &TestServer, user: &str, args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let token_file = server.dir.path().join(format!("{user}.token"));
    std::fs::write(&token_file, server.token(user)).unwrap();
    let report = server.dir.path().join(format!("report-{}.json", rand::random::<u32>()));
    let out = command()
        .arg("import")
        .args(args)
        .args(["--endpoint", &server.endpoint, "--token-file"])
        .arg(&token_file)
        .arg("--report")
        .arg(&report)
        .args(["--rate", "0"])
        .env("ORANGE_CONTACTS_STATE_DIR", server.dir.path().join("state"))
        .output()
        .unwrap();
    let json = std::fs::read_to_string(&report)
        .map(|s| serde_json::from_str(&s).unwrap())
        .unwrap_or(serde_json::Value::Null);
    (out, json)
}

/// The report line of the record whose source ends with `source_suffix`.
pub fn outcome_of<'a>(report: &'a serde_json::Value, source_suffix: &str) -> &'a serde_json::Value {
    report["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with(source_suffix))
        .unwrap_or_else(|| panic!("no record {source_suffix} in report"))
}

pub fn client(server: &TestServer, user: &str) -> orange_contacts::client::ApiClient {
    orange_contacts::client::ApiClient::new(orange_contacts::client::ClientConfig {
        endpoint: server.endpoint.clone(),
        token: server.token(user),
        service_auth: None,
        rate: None,
        concurrency: 4,
        timeout: std::time::Duration::from_secs(10),
        retries: 3,
    })
    .unwrap()
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

/// Every contact the search finds, with its devices, through the client.
pub fn contacts_named(
    client: &orange_contacts::client::ApiClient,
    search: &str,
) -> Vec<orange_contacts::wire::ContactDetail> {
    rt().block_on(async {
        let page = client.find_contacts(search, None).await.unwrap();
        assert_eq!(page.entries.len() as u32, page.total, "test searches must fit one page");
        let mut out = Vec::new();
        for e in page.entries {
            out.push(client.get_contact(&e.id).await.unwrap());
        }
        out
    })
}

// ---------------------------------------------------------------------------------------------
// Peak memory of a child process (tests/hostile_input.rs, tests/import_streaming.rs).

pub struct Measured {
    /// Exit code; `None` when a signal ended the process (an abort on a failed allocation).
    pub code: Option<i32>,
    pub peak_rss_kb: u64,
    pub stderr: String,
}

/// Runs `cmd` to its end and measures its own peak resident set; `data_cap` limits its data
/// segment (`RLIMIT_DATA`: heap and private writable mappings) like a memory-capped cron job.
// The child is reaped by `peak::wait_with_peak`.
#[allow(clippy::zombie_processes)]
pub fn run_measured(cmd: &mut Command, data_cap: Option<u64>) -> Measured {
    if let Some(cap) = data_cap {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let limit = libc::rlimit { rlim_cur: cap, rlim_max: cap };
                if libc::setrlimit(libc::RLIMIT_DATA, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    let (status, peak_rss_kb) = peak::wait_with_peak(child.id() as libc::pid_t);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Measured { code, peak_rss_kb, stderr: stderr.join().unwrap() }
}
