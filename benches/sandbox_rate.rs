//! The sandbox's request ceiling on loopback: `getcontact` and `addcontact` requests per second,
//! with N concurrent keep-alive clients, client and server sharing this machine.
//!
//! Run: `cargo bench --bench sandbox_rate` (optional args: `-- SECONDS CONCURRENCY`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orange_contacts::sandbox::{self, store::Store, SandboxConfig};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let seconds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(5);
    let concurrency: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(16);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("bench.db");
        let token = Store::open(&db).unwrap().token_for("bench").unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle =
            sandbox::start(SandboxConfig { db, ..SandboxConfig::default() }, listener).await.unwrap();
        let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();

        // One contact to read back.
        let url = |pairs: &[(&str, &str)]| {
            let mut u = url::Url::parse(&handle.endpoint).unwrap();
            u.query_pairs_mut().extend_pairs(pairs).append_pair("token", &token);
            u.to_string()
        };
        let body = http
            .get(url(&[("action", "addcontact"), ("lastname", "Bench"), ("firstname", "Read")]))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let cid = body.split("<id>").nth(1).and_then(|s| s.split("</id>").next()).expect("id").to_string();

        println!("sandbox request rate, {concurrency} concurrent clients, {seconds}s each, 2 shared cores");
        for (label, target) in [
            ("getcontact", url(&[("action", "getcontact"), ("cid", &cid)])),
            (
                "addcontact",
                url(&[
                    ("action", "addcontact"),
                    ("lastname", "Load"),
                    ("firstname", "Test"),
                    ("emailperso", "load@example.com"),
                ]),
            ),
            ("findcontactlist", url(&[("action", "findcontactlist"), ("search", "rea")])),
        ] {
            let done = Arc::new(AtomicU64::new(0));
            let errors = Arc::new(AtomicU64::new(0));
            let stop_at = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let (http, target, done, errors) =
                    (http.clone(), target.clone(), done.clone(), errors.clone());
                tasks.push(tokio::spawn(async move {
                    while Instant::now() < stop_at {
                        match http.get(&target).send().await {
                            Ok(r) if r.status().is_success() => {
                                let text = r.text().await.unwrap_or_default();
                                if text.contains("<result>0</result>") {
                                    done.fetch_add(1, Ordering::Relaxed);
                                } else {
                                    errors.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            _ => {
                                errors.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let elapsed = started.elapsed().as_secs_f64();
            let n = done.load(Ordering::Relaxed);
            println!(
                "{label:<16} {:>8.0} req/s  ({n} ok, {} errors in {elapsed:.1}s)",
                n as f64 / elapsed,
                errors.load(Ordering::Relaxed)
            );
        }
        handle.shutdown().await;
    });
}
