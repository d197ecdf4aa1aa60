//! Reports a person can read (issue 11): `--report PATH` in the format its extension names
//! (JSON, a self-contained HTML page checked in a real headless Chromium, CSV), for import,
//! check and export; the grouped stderr summary of import; the dry-run plan in words.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use crate::common::{self, samples, stderr, text, TestServer};

fn run(server: &TestServer, user: &str, cmd: &str, args: &[&str]) -> Output {
    server.cli(user, cmd, args).output().unwrap()
}

/// A small PNG as a vCard 3.0 PHOTO line.
fn photo_line() -> String {
    let image = image::RgbImage::from_fn(120, 90, |x, y| image::Rgb([(x * 2) as u8, (y * 2) as u8, 128]));
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    format!("PHOTO;ENCODING=b;TYPE=PNG:{}", base64::engine::general_purpose::STANDARD.encode(png))
}

/// Cards with every outcome a single run can give: created (one with a photo, one with a
/// hostile name, one whose name is a spreadsheet formula), merged, unchanged, invalid.
fn mixed_cards(dir: &Path) -> PathBuf {
    let card = |body: &str| format!("BEGIN:VCARD\r\nVERSION:3.0\r\n{body}END:VCARD\r\n");
    let cards = [
        card("FN:Anne Martin\r\nN:Martin;Anne;;;\r\nTEL;TYPE=CELL:+33612345678\r\nADR;TYPE=HOME:;;1 rue A;Paris;;75001;France\r\nNOTE:hello\r\n"),
        // The same person with a new phone: merged.
        card("FN:Anne Martin\r\nN:Martin;Anne;;;\r\nTEL;TYPE=CELL:+33612345678\r\nTEL;TYPE=HOME:+33140000000\r\n"),
        // Nothing new: unchanged.
        card("FN:Anne Martin\r\nN:Martin;Anne;;;\r\nTEL;TYPE=CELL:+33612345678\r\n"),
        card(&format!("FN:Paul Photo\r\nN:Photo;Paul;;;\r\nEMAIL:paul@example.org\r\n{}\r\n", photo_line())),
        card("FN:<script>document.title='pwned'</script><img src=x onerror=alert(1)>\r\nN:;<script>x</script>;;;\r\nEMAIL:evil@example.org\r\n"),
        card("FN:=HYPERLINK(\"http://evil.example\",\"x\")\r\nEMAIL:formula@example.org\r\n"),
        // No name, no device: invalid.
        card("NOTE:nobody\r\n"),
    ];
    let path = dir.join("mixed.vcf");
    std::fs::write(&path, cards.concat()).unwrap();
    path
}

const MIXED_OUTCOMES: [&str; 7] =
    ["created", "merged", "unchanged", "created", "created", "created", "invalid"];

// ---------------------------------------------------------------------------------------------
// 1. The format by extension.

#[test]
fn report_format_is_chosen_by_extension() {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = samples().join("android-2.1.vcf");
    let file = file.to_str().unwrap();
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_string();

    let out = run(&server, "u", "import", &["--dry-run", file, "--report", &at("r.json")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(at("r.json")).unwrap()).unwrap();
    assert_eq!(json["records"].as_array().unwrap().len(), 7);
    assert!(json["records"][0].get("thumbnail").is_none(), "the JSON report is as it was");

    let out = run(&server, "u", "import", &["--dry-run", file, "--report", &at("r.HTML")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(at("r.HTML")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..80.min(html.len())]);
    assert_eq!(html.matches("<tr class=").count(), 7);

    let out = run(&server, "u", "import", &["--dry-run", file, "--report", &at("r.csv")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = csv_rows(&at("r.csv"));
    assert_eq!(rows.len(), 8, "a heading and one row per record");
    assert_eq!(rows[0][..3], ["source", "name", "outcome"]);

    // `-`: JSON on standard output.
    let out = run(&server, "u", "import", &["--dry-run", file, "--report", "-"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["records"], 7);

    // An unknown extension, or none: a usage error naming the formats, before anything runs.
    for bad in ["r.txt", "report"] {
        for cmd in [vec!["import", file], vec!["check", file], vec!["export", &at("out.vcf")]] {
            let mut args = cmd[1..].to_vec();
            let path = at(bad);
            args.extend(["--report", &path]);
            let out = run(&server, "u", cmd[0], &args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{cmd:?} {bad}: {err}");
            assert!(err.contains(".json") && err.contains(".html") && err.contains(".csv"), "{err}");
            assert!(!Path::new(&path).exists());
        }
    }
    assert!(!Path::new(&at("out.vcf")).exists(), "nothing exported");
}

#[test]
fn check_and_export_reports_in_html_and_csv() {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = samples().join("android-2.1.vcf");
    let out = run(&server, "u", "import", &[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_string();

    let out = run(&server, "u", "export", &[&at("backup.vcf"), "--report", &at("export.csv")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = csv_rows(&at("export.csv"));
    assert_eq!(rows[0][..3], ["id", "name", "status"]);
    assert_eq!(rows.len(), 7, "a heading and one row per contact (6 after the merge)");
    assert!(rows[1..].iter().all(|r| r[2] == "written"), "{rows:?}");

    let out = run(&server, "u", "export", &[&at("backup.vcf"), "--report", &at("export.html")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(at("export.html")).unwrap();
    assert_eq!(html.matches("data-outcome=\"unchanged\"").count(), 6, "a second run rewrites nothing");

    let out = run(&server, "u", "check", &[&at("backup.vcf"), "--report", &at("check.csv")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = csv_rows(&at("check.csv"));
    assert_eq!(rows[0][..2], ["status", "name"]);
    assert_eq!(rows.len(), 7);
    assert!(rows[1..].iter().all(|r| r[0] == "same"), "{rows:?}");
    let out = run(&server, "u", "check", &[&at("backup.vcf"), "--report", &at("check.html")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(at("check.html")).unwrap();
    assert_eq!(html.matches("data-outcome=\"same\"").count(), 6);
    // The listing still goes to stdout beside a file report.
    assert!(text(&out).contains("in sync"));
}

/// `inspect --report` writes HTML and CSV too (it wrote JSON whatever the name, so `r.html` was a
/// JSON file): one row per record, in input order, with the statuses and what is not carried of
/// the JSON report of the same input; an unknown extension is refused before anything is read.
#[test]
fn inspect_reports_in_html_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let cards = mixed_cards(dir.path());
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let inspect = |report: &str| {
        let out = common::command()
            .args(["inspect", "-q", cards.to_str().unwrap(), "--report", report])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "an invalid card: {}", stderr(&out));
    };
    inspect(&at("r.json"));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(at("r.json")).unwrap()).unwrap();
    let records = json["records"].as_array().unwrap();
    let statuses: Vec<&str> = records.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"duplicate") && statuses.contains(&"invalid"), "{statuses:?}");

    inspect(&at("r.csv"));
    let rows = csv_rows(&at("r.csv"));
    assert_eq!(rows[0][..3], ["source", "name", "status"]);
    assert_eq!(rows.len(), 1 + records.len(), "a heading and one row per record");
    assert_eq!(rows[1..].iter().map(|r| r[2].as_str()).collect::<Vec<_>>(), statuses);
    for (row, record) in rows[1..].iter().zip(records) {
        assert_eq!(row[0], record["source"].as_str().unwrap(), "input order");
        let dropped = record["dropped"].as_array().unwrap();
        assert!(dropped.iter().all(|d| row[5].contains(d["field"].as_str().unwrap())), "{row:?} {record}");
    }

    inspect(&at("r.html"));
    let html = std::fs::read_to_string(at("r.html")).unwrap();
    assert!(html.contains("<title>orange-contacts inspection report</title>"), "an HTML page");
    for status in ["valid", "duplicate", "invalid"] {
        let expected = statuses.iter().filter(|s| **s == status).count();
        assert_eq!(html.matches(&format!("data-outcome=\"{status}\"")).count(), expected, "{status}");
    }

    // A report that cannot be written stops the run before anything is read, whatever its format.
    let missing = at("no-such-folder/r.html");
    let out = common::command()
        .args(["inspect", "-v", cards.to_str().unwrap(), "--report", &missing])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no-such-folder") && !stderr(&out).contains("ok "), "{}", stderr(&out));

    let out = common::command()
        .args(["inspect", cards.to_str().unwrap(), "--report", &at("r.txt")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown report format .txt"), "{}", stderr(&out));
}

fn csv_rows(path: &str) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap();
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&bytes[..]);
    reader.records().map(|r| r.unwrap().iter().map(str::to_string).collect()).collect()
}

#[test]
fn csv_report_quotes_fields_and_neutralises_formulas() {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cards = mixed_cards(dir.path());
    let report = dir.path().join("r.csv");
    let out = run(&server, "u", "import", &[cards.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "an invalid card: {}", stderr(&out));
    let bytes = std::fs::read_to_string(&report).unwrap();
    assert!(bytes.contains("\r\n"), "RFC 4180 line ends");
    let rows = csv_rows(report.to_str().unwrap());
    assert_eq!(rows.len(), 1 + MIXED_OUTCOMES.len());
    let outcomes: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(outcomes, MIXED_OUTCOMES);
    let formula = &rows[6][1];
    assert_eq!(formula, "'=HYPERLINK(\"http://evil.example\",\"x\")");
    assert!(rows.iter().flatten().all(|cell| !cell.starts_with(['=', '+', '-', '@'])), "{rows:?}");
    // What was not carried, with the reason, in one cell.
    assert!(rows[1][5].contains("ADR") && rows[1][5].contains("NOTE"), "{:?}", rows[1]);
}

// ---------------------------------------------------------------------------------------------
// 2. The HTML report in a real headless browser.

/// The Chromium to test the page with; a missing one fails the test (CI installs it) unless
/// `ORANGE_CONTACTS_SKIP_BROWSER=1` says to skip.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"].iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| Path::new(dir).join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("ORANGE_CONTACTS_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("skipped: no chromium, and ORANGE_CONTACTS_SKIP_BROWSER=1");
            return None;
        }
        panic!(
            "the HTML report is tested in a headless Chromium, and none is installed: install it \
             (`apt-get install chromium`, as .ci/run does), or set ORANGE_CONTACTS_SKIP_BROWSER=1 to skip"
        );
    }
    found
}

/// The page's DOM once loaded (with `#selftest`), as headless Chromium dumps it.
fn dump_dom(browser: &Path, page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}#selftest", page.display());
    let mut child = Command::new(browser);
    // Its own process group: a browser that hangs is killed with every process it started.
    std::os::unix::process::CommandExt::process_group(&mut child, 0);
    let mut child = child
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--dump-dom"])
        .args(["--virtual-time-budget=5000", "--disable-extensions", "--disable-background-networking"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            // SAFETY: kill(2) on the group this test created; no memory is involved.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// What the page's `#selftest` wrote into `<pre id="selftest">`.
fn selftest(dom: &str) -> Value {
    let start = dom.find("<pre id=\"selftest\">").unwrap_or_else(|| panic!("no selftest output: {dom}"));
    let body = &dom[start + "<pre id=\"selftest\">".len()..];
    let body = &body[..body.find("</pre>").unwrap()];
    let json = body.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("selftest output is not JSON ({e}): {body}"))
}

#[test]
fn html_report_works_in_a_headless_browser() {
    let Some(browser) = chromium() else { return };
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cards = mixed_cards(dir.path());
    let page = dir.path().join("report.html");
    let out = run(&server, "u", "import", &[cards.to_str().unwrap(), "--report", page.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "an invalid card: {}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing fetched from anywhere.
    for external in ["http://", "https://", "src=\"//", "href="] {
        let outside_names = html.replace("http://evil.example", "").replace("evil@example.org", "");
        assert!(!outside_names.contains(external), "{external} in the page");
    }

    let dom = dump_dom(&browser, &page);
    let result = selftest(&dom);
    assert_eq!(result["errors"], serde_json::json!([]), "script errors: {result}");
    assert_eq!(result["rows"], MIXED_OUTCOMES.len(), "every record is shown: {result}");
    let filters = result["filters"].as_object().unwrap();
    assert_eq!(filters[""].as_array().unwrap().len(), MIXED_OUTCOMES.len(), "`all` shows every record");
    for outcome in ["created", "merged", "unchanged", "skipped", "invalid", "failed"] {
        let shown = filters[outcome].as_array().unwrap_or_else(|| panic!("no filter {outcome}: {result}"));
        let expected = MIXED_OUTCOMES.iter().filter(|o| **o == outcome).count();
        assert_eq!(shown.len(), expected, "filter {outcome}: {result}");
        assert!(shown.iter().all(|o| o == outcome), "filter {outcome} shows {shown:?}");
    }
    // The photo's thumbnail is a real image the browser decoded.
    assert_eq!((result["images"].as_u64(), result["images_loaded"].as_u64()), (Some(1), Some(1)), "{result}");
    // The hostile name is text: the title is untouched, no element came from it.
    assert!(dom.contains("<title>orange-contacts import report</title>"), "title changed");
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;")
    );
    assert_eq!(dom.matches("<script").count(), 3, "only the page's own scripts");
    assert_eq!(dom.matches("<img").count(), 1, "only the thumbnail");
}

// ---------------------------------------------------------------------------------------------
// 3. The stderr summary: fields not carried and reading warnings, grouped.

#[test]
fn import_summary_groups_fields_not_carried_and_reading_warnings() {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    // Two cards with a Latin-1 line each: one kind of warning, twice.
    let latin = dir.path().join("latin.vcf");
    std::fs::write(
        &latin,
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ren\xe9 A\r\nEMAIL:a@x.org\r\nNOTE:n\r\nEND:VCARD\r\n\
          BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jos\xe9 B\r\nEMAIL:b@x.org\r\nADR:;;1 rue;X;;1;FR\r\nNOTE:m\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let sample = samples().join("android-2.1.vcf");
    let (out, report) = common::import(&server, "u", &[latin.to_str().unwrap(), sample.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // The counts the report holds, by property, the most frequent first.
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for record in report["records"].as_array().unwrap() {
        for d in record["dropped"].as_array().unwrap() {
            let field = d["field"].as_str().unwrap();
            let property = field.split(';').next().unwrap().split(" (").next().unwrap();
            *counts.entry(property.to_string()).or_default() += 1;
        }
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let expected: Vec<String> = counts.iter().map(|(f, n)| format!("{f} {n}")).collect();
    let line = format!("not carried: {}\n", expected.join(", "));
    assert!(err.contains(&line), "expected {line:?} in:\n{err}");
    assert!(counts.iter().any(|(f, n)| f == "NOTE" && *n >= 3), "{counts:?}");
    assert!(err.contains("2 reading warning(s):\n      2  not UTF-8, decoded as windows-1252\n"), "{err}");
    assert!(!err.contains("latin.vcf#1: line 3"), "per record only with -v:\n{err}");

    let out = run(&server, "v", "import", &["-v", latin.to_str().unwrap()]);
    let err = stderr(&out);
    assert!(err.contains("latin.vcf#1: line 3: not UTF-8, decoded as windows-1252"), "{err}");
    assert!(err.contains("latin.vcf#2: line 9: not UTF-8, decoded as windows-1252"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// 4. The dry-run plan, in words.

#[test]
fn dry_run_plan_says_what_each_addcontact_will_carry_and_which_contact_a_merge_targets() {
    let server = TestServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.vcf");
    std::fs::write(&first, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anne Martin\r\nN:Martin;Anne;;;\r\nTEL;TYPE=CELL:+33612345678\r\nEND:VCARD\r\n").unwrap();
    let (out, report) = common::import(&server, "u", &[first.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cid = report["records"][0]["cid"].as_str().unwrap().to_string();

    let second = dir.path().join("second.vcf");
    std::fs::write(
        &second,
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anne Martin\r\nN:Martin;Anne;;;\r\nTEL;TYPE=CELL:+33612345678\r\n\
         TEL;TYPE=CELL:+33698765432\r\nEMAIL:anne@example.org\r\nEND:VCARD\r\n\
         BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Max Mustermann\r\nN:Mustermann;Max;;;\r\nORG:ACME\r\nBDAY:1970-01-02\r\n\
         TEL;TYPE=CELL:+33611111111\r\nTEL;TYPE=CELL:+33622222222\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let out = run(&server, "u", "import", &["--dry-run", second.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = text(&out);
    assert!(plan.contains("will add 2 devices ("), "{plan}");
    assert!(plan.contains(&format!(") to cid {cid} 'Anne Martin'")), "{plan}");
    assert!(
        plan.contains("will create 'Max Mustermann' (company ACME, birthday 1970-01-02) with 2 devices"),
        "{plan}"
    );
}
