//! Import benchmarks, side by side in one run on this machine (client and sandbox share the cores):
//!
//! 1. per concurrency C (default 4, the CLI's default, then 8): the sandbox's own ceilings with C
//!    raw HTTP clients, one task each, so the import is compared with the same number of calls in
//!    flight: `addcontact` alone, and the import's own calls (addcontact, 3 adddevice, addpicture
//!    on every tenth), with the CPU time and context switches per call;
//! 2. an unlimited import at C of 3,000 contacts (2 phones, 2 emails, 10% with a photo): contacts/s,
//!    calls/s as a share of both ceilings, CPU share, CPU time and context switches per call, and
//!    API calls per contact versus the minimum (1 addcontact + 1 per extra device + 1 per photo);
//!    then the same import again (nothing to do);
//! 3. `--rate R` against a sandbox started with `--max-rps R`: calls/s and refusals (concurrency 8).
//!
//! Run: `cargo bench --bench import` (optional args: `-- CONTACTS RATE [CONCURRENCY...]`, default
//! `3000 100 4 8`; RATE 0 skips step 3). The load average is printed at the start and the end:
//! wall-clock ratios mean little when other work holds the cores; CPU time and context switches
//! per call do not depend on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orange_contacts::client::{ApiClient, ClientConfig};
use orange_contacts::formats::Record;
use orange_contacts::import::{
    self,
    plan::OnDuplicate,
    read::{InputRecord, Inputs},
    ImportOptions, ImportRun,
};
use orange_contacts::mapping::MappingOptions;
use orange_contacts::model::{Contact, Email, Phone, PhoneKind, Photo, Place};
use orange_contacts::progress::Silent;
use orange_contacts::sandbox::{self, store::Store, SandboxConfig, SandboxHandle};
use orange_contacts::wire::{param, parse, Action, DeviceSubtype, DeviceType, NewContact, NewDevice};

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let contacts = args.first().copied().unwrap_or(3000) as usize;
    let rate = args.get(1).copied().unwrap_or(100) as u32;
    let concurrencies: Vec<usize> = match args.get(2..) {
        Some(rest) if !rest.is_empty() => rest.iter().map(|c| *c as usize).collect(),
        _ => vec![DEFAULT_CONCURRENCY, 8],
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let on_main = std::env::var_os("ORANGE_CONTACTS_BENCH_ON_MAIN_THREAD").is_some_and(|v| v == "1");
    println!(
        "the import runs {}",
        if on_main { "on the main thread (block_on)" } else { "as a spawned task" }
    );
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!("load average at start: {}", load_average());

        // 1 and 2, per concurrency: the sandbox's own ceilings with as many raw HTTP clients as
        // the import has calls in flight, then the unlimited import.
        let mut last = None;
        for (round, &concurrency) in concurrencies.iter().enumerate() {
            let db = |what: &str| dir.path().join(format!("{what}-{round}.db"));
            let (server, token) = start(db("ceiling"), None).await;
            let ceiling = raw_ceiling(&server, &token, concurrency, Workload::AddContact, CEILING_SPAN).await;
            server.shutdown().await;
            let (server, token) = start(db("same-calls"), None).await;
            let (cpu_before, switches_before) = (cpu_seconds(), context_switches());
            let same_calls = raw_ceiling(&server, &token, concurrency, Workload::SameCalls, CEILING_SPAN).await;
            let raw_requests = same_calls * CEILING_SPAN.as_secs_f64();
            let raw_cpu = (cpu_seconds() - cpu_before) / raw_requests;
            let raw_switches = context_switches().saturating_sub(switches_before) as f64 / raw_requests;
            server.shutdown().await;
            println!(
                "concurrency {concurrency}: sandbox ceiling with {concurrency} raw HTTP clients, {} s each: \
                 addcontact {ceiling:.0} req/s; the import's calls (addcontact, 3 adddevice, addpicture on \
                 every tenth) {same_calls:.0} req/s, CPU {:.0} us and {raw_switches:.1} context switches per call",
                CEILING_SPAN.as_secs(),
                raw_cpu * 1e6
            );

            let (server, token) = start(db("unlimited"), None).await;
            let client = new_client(&server, token, None, concurrency);
            let records = generate(contacts);
            let (cpu_before, switches_before) = (cpu_seconds(), context_switches());
            let started = Instant::now();
            let run = run_import(records, &client, concurrency, started).await;
            let secs = started.elapsed().as_secs_f64();
            let cpu = cpu_seconds() - cpu_before;
            let switches = context_switches().saturating_sub(switches_before);
            let s = &run.report.summary;
            let calls_per_sec = s.api_calls as f64 / secs;
            println!(
                "concurrency {concurrency}: unlimited import: {contacts} contacts in {secs:.2}s = {:.0} contacts/s, \
                 {calls_per_sec:.0} calls/s = {:.2}x the addcontact ceiling, {:.2}x the same-calls ceiling; \
                 CPU {cpu:.2}s = {:.0}% of {cores} cores, {:.0} us and {:.1} context switches per call; outcomes {:?}",
                contacts as f64 / secs,
                calls_per_sec / ceiling,
                calls_per_sec / same_calls,
                100.0 * cpu / secs / cores as f64,
                cpu * 1e6 / s.api_calls as f64,
                switches as f64 / s.api_calls as f64,
                s.outcomes
            );
            println!(
                "concurrency {concurrency}: calls per contact: {:.3} (minimum {:.3}, overhead {:.3}; goal <= +0.05); \
                 calls by action {:?}",
                s.calls_per_contact.unwrap_or(0.0),
                s.minimum_calls_per_contact.unwrap_or(0.0),
                s.calls_per_contact.unwrap_or(0.0) - s.minimum_calls_per_contact.unwrap_or(0.0),
                s.calls_by_action
            );
            if let Some((server, _, _)) = last.replace((server, client, s.api_calls)) {
                server.shutdown().await;
            }
        }

        // Re-run of the last import: nothing to do.
        let (server, client, calls) = last.expect("at least one concurrency");
        let concurrency = *concurrencies.last().unwrap();
        let records = generate(contacts);
        let started = Instant::now();
        let rerun = run_import(records, &client, concurrency, started).await;
        println!(
            "concurrency {concurrency}: re-run of the same import: {:?} in {:.2}s, {} calls",
            rerun.report.summary.outcomes,
            started.elapsed().as_secs_f64(),
            rerun.report.summary.api_calls - calls
        );
        server.shutdown().await;

        // 3. Rate-limited import against a server allowance of the same rate (0: skipped).
        if rate == 0 {
            return;
        }
        let (server, token) = start(dir.path().join("rate.db"), Some(rate)).await;
        let client = new_client(&server, token, Some(rate as f64), 8);
        let n = (rate as usize * 8).min(contacts); // about 30 s of calls at 4 calls per contact
        let records = generate(n);
        let started = Instant::now();
        let run = run_import(records, &client, 8, started).await;
        let secs = started.elapsed().as_secs_f64();
        let s = &run.report.summary;
        let body = reqwest::get(format!("{}/_sandbox/stats", base(&server.endpoint))).await.unwrap().text().await.unwrap();
        let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
        println!(
            "concurrency 8: --rate {rate} vs --max-rps {rate}: {} calls in {secs:.1}s = {:.1} calls/s ({:.3} R); server refusals (429): {}; client saw {} throttled",
            s.api_calls,
            s.api_calls as f64 / secs,
            s.api_calls as f64 / secs / rate as f64,
            stats["rejected"]["rate_limited"],
            s.throttled
        );
        server.shutdown().await;
        println!("load average at the end: {}", load_average());
    });
}

/// `--concurrency` when nothing says otherwise (the CLI's default).
const DEFAULT_CONCURRENCY: usize = 4;
/// How long each ceiling is measured.
const CEILING_SPAN: Duration = Duration::from_secs(3);

/// The process's CPU time (user + system, all threads: client and sandbox together).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and
    // 13th, in clock ticks (100 per second on Linux).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = after.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    fields.get(11).zip(fields.get(12)).map_or(0.0, |(u, s)| (u + s) / 100.0)
}

/// Context switches of all the process's threads so far: each hand-off of a call between threads
/// (client task, connection tasks, the sandbox's database threads) costs one, so their number per
/// call counts the hops of a round trip whatever the machine's load.
fn context_switches() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map_or_else(|_| "?".into(), |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Runs the import as the CLI does (`commands::on_workers`): a task of the runtime's worker pool.
/// With `ORANGE_CONTACTS_BENCH_ON_MAIN_THREAD=1`, as the CLI did before: polled by `block_on` on
/// the main thread, which every answer must wake (the comparison of docs/benchmarks.md).
async fn run_import(records: Inputs, client: &ApiClient, concurrency: usize, started: Instant) -> ImportRun {
    if std::env::var_os("ORANGE_CONTACTS_BENCH_ON_MAIN_THREAD").is_some_and(|v| v == "1") {
        return import::run(records, client, &options(concurrency), &Silent, started).await.unwrap();
    }
    let client = client.clone();
    let work = async move { import::run(records, &client, &options(concurrency), &Silent, started).await };
    tokio::spawn(work).await.unwrap().unwrap()
}

fn options(concurrency: usize) -> ImportOptions {
    ImportOptions {
        on_duplicate: OnDuplicate::Merge,
        dry_run: false,
        region: "FR".into(),
        concurrency,
        interrupt: Default::default(),
        thumbnails: false,
        window: import::spool::WINDOW_RECORDS,
    }
}

async fn start(db: std::path::PathBuf, max_rps: Option<u32>) -> (SandboxHandle, String) {
    let token = Store::open(&db).unwrap().token_for("bench").unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle =
        sandbox::start(SandboxConfig { db, max_rps, ..SandboxConfig::default() }, listener).await.unwrap();
    (handle, token)
}

fn new_client(server: &SandboxHandle, token: String, rate: Option<f64>, concurrency: usize) -> ApiClient {
    ApiClient::new(ClientConfig {
        endpoint: server.endpoint.clone(),
        token,
        service_auth: None,
        rate,
        concurrency,
        timeout: Duration::from_secs(30),
        retries: 5,
    })
    .unwrap()
}

fn base(endpoint: &str) -> String {
    let u = url::Url::parse(endpoint).unwrap();
    format!("http://{}:{}", u.host_str().unwrap(), u.port().unwrap())
}

/// What the raw HTTP clients of a ceiling send.
#[derive(Clone, Copy, PartialEq)]
enum Workload {
    /// `addcontact` only, the sandbox's most expensive write.
    AddContact,
    /// The import's calls for the generated people: `addcontact` (with the home email), an
    /// `adddevice` for each other phone and email, `addpicture` on every tenth.
    SameCalls,
}

/// Successful requests per second of `concurrency` raw keep-alive clients (one task each) over
/// `span`: what the sandbox serves on this machine with the least client-side work.
async fn raw_ceiling(
    server: &SandboxHandle,
    token: &str,
    concurrency: usize,
    workload: Workload,
    span: Duration,
) -> f64 {
    let endpoint = url::Url::parse(&server.endpoint).unwrap();
    let photo = jpeg();
    let http = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let next_person = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + span;
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, done, next_person, photo) =
                (http.clone(), done.clone(), next_person.clone(), photo.clone());
            let (endpoint, token) = (endpoint.clone(), token.to_string());
            tokio::spawn(async move {
                let url = |action: Action, query: &[(&'static str, String)]| {
                    let mut u = endpoint.clone();
                    u.query_pairs_mut()
                        .append_pair(param::ACTION, action.name())
                        .extend_pairs(query)
                        .append_pair(param::TOKEN, &token);
                    u.to_string()
                };
                let send = async |request: reqwest::RequestBuilder| -> Option<String> {
                    let answer =
                        request.send().await.ok().filter(|r| r.status().is_success())?.text().await.ok()?;
                    done.fetch_add(1, Ordering::Relaxed);
                    Some(answer)
                };
                let contact_only = url(Action::AddContact, &[(param::LASTNAME, "Ceiling".into())]);
                while Instant::now() < stop_at {
                    if workload == Workload::AddContact {
                        send(http.get(&contact_only)).await;
                        continue;
                    }
                    let i = next_person.fetch_add(1, Ordering::Relaxed);
                    let contact = NewContact {
                        firstname: Some(format!("Prénom{i}")),
                        lastname: Some(format!("Nom{}", i % 7919)),
                        emailperso: Some(format!("p{i}@example.fr")),
                        ..NewContact::default()
                    };
                    let Some(answer) = send(http.get(url(Action::AddContact, &contact.to_query()))).await
                    else {
                        continue;
                    };
                    let cid = parse::added_contact(&answer).unwrap();
                    let devices = [
                        (DeviceType::Phone, DeviceSubtype::Mobile, format!("+336{i:08}")),
                        (DeviceType::Phone, DeviceSubtype::Voice, format!("+331{i:08}")),
                        (DeviceType::Email, DeviceSubtype::Internet, format!("p{i}@work.example.com")),
                    ];
                    for (order, (kind, subtype, value)) in devices.into_iter().enumerate() {
                        let device =
                            NewDevice { cid: cid.clone(), kind, subtype, order: order as u32 + 1, value };
                        send(http.get(url(Action::AddDevice, &device.to_query()))).await;
                    }
                    if i % 10 == 0 {
                        let file = reqwest::multipart::Part::bytes(photo.clone())
                            .file_name("picture.jpg")
                            .mime_str("image/jpeg")
                            .unwrap();
                        let form = reqwest::multipart::Form::new()
                            .text(param::ACTION, Action::AddPicture.name())
                            .text(param::CID, cid)
                            .text(param::TOKEN, token.clone())
                            .part(param::FILE, file);
                        send(http.post(endpoint.as_str()).multipart(form)).await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// A 64×64 JPEG.
fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// `n` distinct people: 2 phones, a home and a work email, a photo on every tenth.
fn generate(n: usize) -> Inputs {
    let jpeg = jpeg();
    let opts = MappingOptions::default();
    let records = (0..n).map(|i| {
        let contact = Contact {
            given: Some(format!("Prénom{i}")),
            family: Some(format!("Nom{}", i % 7919)),
            phones: vec![
                Phone {
                    value: format!("06{:08}", i),
                    kind: PhoneKind::Mobile,
                    place: None,
                    preferred: true,
                    label: None,
                },
                Phone {
                    value: format!("01{:08}", i),
                    kind: PhoneKind::Voice,
                    place: Some(Place::Home),
                    preferred: false,
                    label: None,
                },
            ],
            emails: vec![
                Email {
                    value: format!("p{i}@example.fr"),
                    place: Some(Place::Home),
                    preferred: false,
                    label: None,
                },
                Email {
                    value: format!("p{i}@work.example.com"),
                    place: Some(Place::Work),
                    preferred: false,
                    label: None,
                },
            ],
            photo: (i % 10 == 0)
                .then(|| Photo::Inline { bytes: jpeg.clone(), media_type: Some("image/jpeg".into()) }),
            ..Contact::default()
        };
        InputRecord::from_record(
            Record { source: format!("bench#{}", i + 1), contact: Ok(contact), warnings: vec![] },
            &opts,
        )
    });
    Inputs::new(records).unwrap()
}
