//! Measures how many `findcontactlist` calls export's enumeration makes on accounts of given
//! sizes, against the real sandbox server (in process, over loopback HTTP).
//!
//! ```sh
//! cargo run --release --example export_bench -- 100 1000 10000
//! cargo run --release --example export_bench -- --page-size 50 --no-paging 1000
//! ```
//!
//! Accounts are synthetic but shaped like real address books: mostly Latin names (accented or
//! not), some in other scripts, some company-only. Prints one line per size.

use std::time::Instant;

use orange_contacts::client::{ApiClient, ClientConfig};
use orange_contacts::listing::enumerate;
use orange_contacts::progress::Silent;
use orange_contacts::sandbox::{self, store::Store, SandboxConfig};
use orange_contacts::wire::ContactDetail;

const FIRST: &[&str] = &[
    "Anne",
    "Alain",
    "Bernard",
    "Camille",
    "Chloé",
    "Denis",
    "Élodie",
    "Émile",
    "François",
    "Gaëlle",
    "Hugo",
    "Inès",
    "Jean",
    "Jérôme",
    "Karim",
    "Léa",
    "Louis",
    "Manon",
    "Nicolas",
    "Océane",
    "Pierre",
    "Quentin",
    "Rémi",
    "Sophie",
    "Thomas",
    "Ulysse",
    "Valérie",
    "William",
    "Xavier",
    "Yasmine",
    "Zoé",
    "Søren",
    "Łucja",
    "Ægir",
];
const LAST: &[&str] = &[
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèbvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefèvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Øster",
    "Ødegaard",
    "Nguyễn",
    "O'Brien",
    "d'Artagnan",
];
const OTHER: &[(&str, &str)] = &[
    ("Иван", "Петров"),
    ("Γιώργος", "Παπαδόπουλος"),
    ("محمد", "علي"),
    ("伟", "王"),
    ("娜", "李"),
    ("太郎", "山田"),
    ("민준", "김"),
    ("דוד", "כהן"),
    ("अमित", "शर्मा"),
];

/// Deterministic pseudo-random numbers (no seed file, same account every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Syllables for surnames: three of them give 8,000 distinct names, so no exact name is shared
/// by more people than a page holds (a capped server without paging could not list them all).
const SYL: &[&str] = &[
    "ber", "do", "fa", "gan", "le", "mar", "ti", "nou", "ro", "sa", "vé", "chan", "del", "lu", "mo", "pi",
    "quel", "rey", "zo", "ø",
];

fn account(n: usize) -> Vec<ContactDetail> {
    let mut rng = Lcg(42);
    (0..n)
        .map(|i| {
            let mut d = ContactDetail::default();
            match rng.next(20) {
                0 => d.company = Some(format!("{} {} SARL", LAST[rng.next(LAST.len())], i)),
                1 | 2 => {
                    let (f, l) = OTHER[rng.next(OTHER.len())];
                    d.firstname = Some(format!("{f}{}", i % 97));
                    d.lastname = Some(format!("{l}{}", i % 89));
                }
                3..=9 => {
                    d.firstname = Some(FIRST[rng.next(FIRST.len())].to_string());
                    d.lastname = Some(LAST[rng.next(LAST.len())].to_string());
                }
                _ => {
                    let last: String = (0..3).map(|_| SYL[rng.next(SYL.len())]).collect();
                    let mut chars = last.chars();
                    let last: String =
                        chars.next().into_iter().flat_map(char::to_uppercase).chain(chars).collect();
                    d.firstname =
                        Some(format!("{}-{}", FIRST[rng.next(FIRST.len())], FIRST[rng.next(FIRST.len())]));
                    d.lastname = Some(last);
                }
            }
            d
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut page_size = None;
    let mut paging = true;
    let mut sizes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--page-size" => page_size = Some(args.next().expect("--page-size N").parse()?),
            "--no-paging" => paging = false,
            n => sizes.push(n.parse::<usize>()?),
        }
    }
    if sizes.is_empty() {
        sizes = vec![100, 1000, 10000];
    }
    println!("page size {page_size:?}, paging {paging}");
    println!("contacts  searches  per-contact  pages  refinements  truncated/resolved  complete  seconds");
    for n in sizes {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("bench.db");
        let store = Store::open(&db)?;
        let token = store.token_for("bench")?;
        for d in account(n) {
            store.insert_contact("bench", &d, None)?;
        }
        drop(store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let handle =
            sandbox::start(SandboxConfig { db, page_size, paging, ..SandboxConfig::default() }, listener)
                .await?;
        let client = ApiClient::new(ClientConfig {
            endpoint: handle.endpoint.clone(),
            token,
            service_auth: None,
            rate: None,
            concurrency: 8,
            timeout: std::time::Duration::from_secs(60),
            retries: 3,
        })?;
        let started = Instant::now();
        let e = enumerate(&client, 8, &Silent).await?;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{:>8}  {:>8}  {:>11.2}  {:>5}  {:>11}  {:>8}/{:<9}  {:>8}  {:>7.1}",
            e.contacts.len(),
            e.stats.searches,
            e.stats.searches as f64 / n as f64,
            e.stats.pages_followed,
            e.stats.refinements,
            e.stats.truncated,
            e.stats.truncated_resolved,
            e.is_complete(),
            secs
        );
        // Missing contacts are acceptable only when reported (a capped server without paging cannot
        // separate more people of one exact name than a page holds); a silent miss is a bug.
        assert!(e.contacts.len() == n || !e.is_complete(), "missed contacts without reporting it");
        if !e.is_complete() {
            println!("          incomplete prefixes reported: {}", e.incomplete.len());
        }
        handle.shutdown().await;
    }
    Ok(())
}
