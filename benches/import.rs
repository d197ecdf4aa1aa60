//! Import benchmarks, side by side in one run on this machine (client and sandbox share the cores):
//!
//! 1. the sandbox's own ceiling for `addcontact` (N concurrent raw HTTP clients);
//! 2. an unlimited import of 3,000 contacts (2 phones, 2 emails, 10% with a photo): contacts/s,
//!    calls/s, and API calls per contact versus the minimum (1 addcontact + 1 per extra device +
//!    1 per photo);
//! 3. `--rate R` against a sandbox started with `--max-rps R`: calls/s and refusals.
//!
//! Run: `cargo bench --bench import` (optional args: `-- CONTACTS RATE`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orange_contacts::client::{ApiClient, ClientConfig};
use orange_contacts::formats::Record;
use orange_contacts::import::{
    self,
    plan::OnDuplicate,
    read::{InputRecord, Inputs},
    ImportOptions,
};
use orange_contacts::mapping::MappingOptions;
use orange_contacts::model::{Contact, Email, Phone, PhoneKind, Photo, Place};
use orange_contacts::progress::Silent;
use orange_contacts::sandbox::{self, store::Store, SandboxConfig, SandboxHandle};

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let contacts = args.first().copied().unwrap_or(3000) as usize;
    let rate = args.get(1).copied().unwrap_or(100) as u32;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();

        // 1. The sandbox's own ceiling.
        let (server, token) = start(dir.path().join("ceiling.db"), None).await;
        let ceiling = addcontact_ceiling(&server, &token, 8, Duration::from_secs(3)).await;
        println!("sandbox addcontact ceiling: {ceiling:.0} req/s (8 raw HTTP clients, 3 s)");
        server.shutdown().await;

        // 2. Unlimited import.
        let (server, token) = start(dir.path().join("unlimited.db"), None).await;
        let client = new_client(&server, token, None, 8);
        let records = generate(contacts);
        let started = Instant::now();
        let run = import::run(records, &client, &options(8), &Silent, started).await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        let s = &run.report.summary;
        println!(
            "unlimited import: {contacts} contacts in {secs:.2}s = {:.0} contacts/s, {:.0} calls/s ({:.0}% of the ceiling); outcomes {:?}",
            contacts as f64 / secs,
            s.api_calls as f64 / secs,
            100.0 * s.api_calls as f64 / secs / ceiling,
            s.outcomes
        );
        println!(
            "calls per contact: {:.3} (minimum {:.3}, overhead {:.3}; goal <= +0.05); calls by action {:?}",
            s.calls_per_contact.unwrap_or(0.0),
            s.minimum_calls_per_contact.unwrap_or(0.0),
            s.calls_per_contact.unwrap_or(0.0) - s.minimum_calls_per_contact.unwrap_or(0.0),
            s.calls_by_action
        );
        let started = Instant::now();
        let rerun = import::run(generate(contacts), &client, &options(8), &Silent, started).await.unwrap();
        println!(
            "re-run of the same import: {:?} in {:.2}s, {} calls",
            rerun.report.summary.outcomes,
            started.elapsed().as_secs_f64(),
            rerun.report.summary.api_calls - s.api_calls
        );
        server.shutdown().await;

        // 3. Rate-limited import against a server allowance of the same rate.
        let (server, token) = start(dir.path().join("rate.db"), Some(rate)).await;
        let client = new_client(&server, token, Some(rate as f64), 8);
        let n = (rate as usize * 8).min(contacts); // about 30 s of calls at 4 calls per contact
        let started = Instant::now();
        let run = import::run(generate(n), &client, &options(8), &Silent, started).await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        let s = &run.report.summary;
        let body = reqwest::get(format!("{}/_sandbox/stats", base(&server.endpoint))).await.unwrap().text().await.unwrap();
        let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
        println!(
            "--rate {rate} vs --max-rps {rate}: {} calls in {secs:.1}s = {:.1} calls/s ({:.3} R); server refusals (429): {}; client saw {} throttled",
            s.api_calls,
            s.api_calls as f64 / secs,
            s.api_calls as f64 / secs / rate as f64,
            stats["rejected"]["rate_limited"],
            s.throttled
        );
        server.shutdown().await;
    });
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

async fn addcontact_ceiling(server: &SandboxHandle, token: &str, concurrency: usize, span: Duration) -> f64 {
    let mut u = url::Url::parse(&server.endpoint).unwrap();
    u.query_pairs_mut()
        .append_pair("action", "addcontact")
        .append_pair("lastname", "Ceiling")
        .append_pair("token", token);
    let target = u.to_string();
    let http = reqwest::Client::new();
    let done = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + span;
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, target, done) = (http.clone(), target.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < stop_at {
                    if http.get(&target).send().await.is_ok_and(|r| r.status().is_success()) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// `n` distinct people: 2 phones, a home and a work email, a photo on every tenth.
fn generate(n: usize) -> Inputs {
    let jpeg = {
        let img = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 128]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    };
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
