//! Reading-path benchmark: `inspect` (our whole reading + mapping path) versus `calcard` parsing
//! alone on the same synthetic phone export, and the peak memory of `orange-contacts inspect`.
//!
//! Wall time and CPU time (user + system) of each side, alternating, and their ratios.
//!
//! Run: `cargo bench --bench reading` (100 MB), `cargo bench --bench reading -- 1000` (adds a 1 GB
//! input for the memory figure), `cargo bench --bench reading -- --before /tmp/oc-before` (another
//! build of the binary in the same alternation). On one core: run the bench binary under
//! `taskset -c 0` (the `inspect` children inherit it). Inputs are generated once under
//! `target/bench-data/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    // `--before PATH`: another build of the binary, run in the same alternation (before/after).
    let before = args.windows(2).find(|w| w[0] == "--before").map(|w| PathBuf::from(&w[1]));
    let big = sizes.iter().copied().find(|&s| s > 100);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let file = generate(&dir, 100);
    let mb = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_orange-contacts"));

    // Each side runs in a fresh process state: calcard here, `inspect` as the command users run
    // (measuring it in this process after calcard's 200 MB of allocations would measure glibc's
    // raised mmap threshold too). Rounds alternate so both meet the same machine noise.
    println!("reading path on {} ({mb:.0} MB), {ROUNDS} alternating rounds", file.display());
    let mut sides: Vec<(String, Option<PathBuf>, Vec<Timed>)> = vec![
        ("calcard alone".into(), None, Vec::new()),
        ("inspect (ours)".into(), Some(ours.clone()), Vec::new()),
    ];
    if let Some(before) = before {
        sides.push(("inspect (--before)".into(), Some(before), Vec::new()));
    }
    let mut cards = 0;
    for _ in 0..ROUNDS {
        for (_, binary, times) in &mut sides {
            times.push(match binary {
                None => {
                    let (cpu, started) = (cpu_self(), Instant::now());
                    cards = calcard_alone(&file);
                    Timed { wall: started.elapsed(), cpu: cpu_self() - cpu }
                }
                Some(binary) => {
                    let run = run_inspect(binary, &file);
                    Timed { wall: run.elapsed, cpu: run.cpu }
                }
            });
        }
    }
    let (best, median) = (|v: &[Duration]| v[0], |v: &[Duration]| v[v.len() / 2]);
    let sorted = |times: &[Timed], f: fn(&Timed) -> Duration| {
        let mut v: Vec<Duration> = times.iter().map(f).collect();
        v.sort();
        v
    };
    let calcard_wall = sorted(&sides[0].2, |t| t.wall);
    let calcard_cpu = sorted(&sides[0].2, |t| t.cpu);
    for (name, _, times) in &sides {
        let (wall, cpu) = (sorted(times, |t| t.wall), sorted(times, |t| t.cpu));
        println!(
            "{name:<19} wall best {:>6.1} MB/s ({:>7.0} cards/s), median {:>6.1} MB/s; CPU (user+sys) best {:.2} s, median {:.2} s",
            mb / best(&wall).as_secs_f64(),
            cards as f64 / best(&wall).as_secs_f64(),
            mb / median(&wall).as_secs_f64(),
            best(&cpu).as_secs_f64(),
            median(&cpu).as_secs_f64(),
        );
    }
    for (name, _, times) in &sides[1..] {
        let (wall, cpu) = (sorted(times, |t| t.wall), sorted(times, |t| t.cpu));
        println!(
            "{name}: wall ratio calcard/inspect best {:.2}, median {:.2} (goal >= 0.8); CPU ratio inspect/calcard best {:.2}, median {:.2} (goal <= 1.5)",
            best(&calcard_wall).as_secs_f64() / best(&wall).as_secs_f64(),
            median(&calcard_wall).as_secs_f64() / median(&wall).as_secs_f64(),
            best(&cpu).as_secs_f64() / best(&calcard_cpu).as_secs_f64(),
            median(&cpu).as_secs_f64() / median(&calcard_cpu).as_secs_f64(),
        );
    }

    let mut inputs = vec![file];
    if let Some(size) = big {
        inputs.push(generate(&dir, size));
    }
    for input in inputs {
        let run = run_inspect(&ours, &input);
        let mb = std::fs::metadata(&input).unwrap().len() as f64 / 1e6;
        let rss: Vec<String> = run.rss_mb.iter().map(|m| format!("{m:.0}")).collect();
        println!(
            "peak RSS of `orange-contacts inspect` on {mb:.0} MB: {:.1} MB ({:.1} s); RSS every second, MB: {}",
            run.peak_kb as f64 / 1024.0,
            run.elapsed.as_secs_f64(),
            rss.join(" ")
        );
    }
}

/// One timed run of one side.
struct Timed {
    wall: Duration,
    /// User + system CPU time.
    cpu: Duration,
}

/// This process's user + system CPU time so far (calcard runs on this thread alone).
fn cpu_self() -> Duration {
    // SAFETY: plain FFI call with a valid pointer.
    let mut usage = unsafe { std::mem::zeroed::<libc::rusage>() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    cpu_of(&usage)
}

fn cpu_of(usage: &libc::rusage) -> Duration {
    let tv =
        |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

const ROUNDS: usize = 5;

/// What calcard does on its own: the whole file as one string, every entry parsed.
fn calcard_alone(path: &Path) -> u64 {
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let mut parser = calcard::Parser::new(&text);
    let mut cards = 0;
    loop {
        match parser.entry() {
            calcard::Entry::VCard(_) => cards += 1,
            calcard::Entry::Eof => break,
            _ => {}
        }
    }
    cards
}

struct InspectRun {
    elapsed: Duration,
    /// User + system CPU time of the child.
    cpu: Duration,
    peak_kb: u64,
    /// Resident set sampled once a second, to show whether it stays flat.
    rss_mb: Vec<f64>,
}

/// Runs `binary inspect -q input`, sampling its resident set (VmRSS, and VmHWM for the peak)
/// until it exits; the child is reaped by `wait4`, which also gives its CPU time.
#[allow(clippy::zombie_processes)]
fn run_inspect(binary: &Path, input: &Path) -> InspectRun {
    let started = Instant::now();
    let child = Command::new(binary).args(["inspect", "-q"]).arg(input).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let status_path = format!("/proc/{pid}/status");
    let (mut peak_kb, mut rss_mb, mut next_sample) = (0, Vec::new(), Duration::from_secs(1));
    let field = |status: &str, name: &str| -> Option<u64> {
        status.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()
    };
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            peak_kb = peak_kb.max(field(&status, "VmHWM:").unwrap_or(0));
            if started.elapsed() >= next_sample {
                rss_mb.push(field(&status, "VmRSS:").unwrap_or(0) as f64 / 1024.0);
                next_sample += Duration::from_secs(1);
            }
        }
        // SAFETY: plain FFI call with valid pointers; `child` is not waited for elsewhere.
        if unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) } == pid {
            let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            assert!(matches!(code, Some(0 | 3)), "inspect failed: {status}");
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    InspectRun { elapsed: started.elapsed(), cpu: cpu_of(&usage), peak_kb, rss_mb }
}

/// A synthetic phone export of about `mb` megabytes: 30% Android 2.1 (QP names with soft breaks,
/// bare params), 50% iOS 3.0 (item groups, labels), 20% vCard 4.0 (tel: URIs, partial birthdays),
/// 0.4% of cards with a 5–20 KB photo, 1% of cards repeating an earlier person.
fn generate(dir: &Path, mb: u64) -> PathBuf {
    let path = dir.join(format!("phone-export-{mb}mb.vcf"));
    if path.exists() {
        return path;
    }
    let tmp = path.with_extension("tmp");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap());
    let target = mb * 1_000_000;
    let mut written = 0u64;
    let mut i = 0u64;
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let qp = |s: &str| -> String {
        let enc: String = s.bytes().map(|b| format!("={b:02X}")).collect();
        let mut lines = Vec::new();
        let mut rest = enc.as_str();
        while rest.len() > 66 {
            lines.push(format!("{}=", &rest[..66]));
            rest = &rest[66..];
        }
        lines.push(rest.to_string());
        lines.join("\r\n")
    };
    let firsts = ["Hélène", "Jürgen", "François", "Zoë", "Łukasz", "Ana", "Søren", "Иван", "Γιώργος", "美咲"];
    let lasts =
        ["Lefèvre", "Müller", "Dubois", "García", "Nowak", "Øster", "Петров", "Παπαδάκης", "佐藤", "O'Brien"];
    while written < target {
        // 1 % of cards repeat a person met earlier (an export merged from two phones).
        let person = if i > 0 && rnd() % 100 == 0 { rnd() % i } else { i };
        let first = format!("{}{}", firsts[(person % 10) as usize], person % 997);
        let last = format!("{}{}", lasts[(person / 10 % 10) as usize], person / 997);
        let kind = rnd() % 10;
        let mut card = String::with_capacity(1024);
        if kind < 3 {
            card.push_str("BEGIN:VCARD\r\nVERSION:2.1\r\n");
            card.push_str(&format!(
                "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{};{};;;\r\n",
                qp(&last),
                qp(&first)
            ));
            card.push_str(&format!(
                "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{}\r\n",
                qp(&format!("{first} {last}"))
            ));
            for t in 0..(1 + rnd() % 4) {
                card.push_str(&format!(
                    "TEL;{}:06 {:02} {:02} {:02} {:02}\r\n",
                    ["CELL;PREF", "HOME", "WORK", "CELL"][t as usize],
                    rnd() % 100,
                    rnd() % 100,
                    rnd() % 100,
                    rnd() % 100
                ));
            }
            for e in 0..(1 + rnd() % 4) {
                card.push_str(&format!(
                    "EMAIL;{}:p{i}.{e}@example.com\r\n",
                    ["HOME", "WORK", "INTERNET", "HOME"][e as usize]
                ));
            }
            card.push_str(&format!(
                "ADR;HOME;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:;;{};Paris;;75002;France\r\n",
                qp(&format!("{} rue de la Paix", i % 200))
            ));
        } else if kind < 8 {
            card.push_str("BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//iPhone OS 17.5//EN\r\n");
            card.push_str(&format!(
                "N:{last};{first};;;\r\nFN:{first} {last}\r\nORG:Société {};Ventes;\r\n",
                i % 50
            ));
            for e in 0..(1 + rnd() % 4) {
                card.push_str(&format!("item{e}.EMAIL;type=INTERNET;type=pref:q{i}.{e}@example.org\r\nitem{e}.X-ABLabel:_$!<Other>!$_\r\n"));
            }
            for t in 0..(1 + rnd() % 4) {
                card.push_str(&format!(
                    "TEL;type={};type=VOICE:+33 6 {:02} {:02} {:02} {:02}\r\n",
                    ["CELL", "HOME", "WORK", "IPHONE"][t as usize],
                    rnd() % 100,
                    rnd() % 100,
                    rnd() % 100,
                    rnd() % 100
                ));
            }
            card.push_str("BDAY;value=date:1975-02-24\r\nNOTE:Rencontré à Lyon\\, très sympa\r\n");
        } else {
            card.push_str("BEGIN:VCARD\r\nVERSION:4.0\r\n");
            card.push_str(&format!(
                "FN:{first} {last}\r\nN:{last};{first};;;\r\nBDAY:--{:02}{:02}\r\n",
                1 + rnd() % 12,
                1 + rnd() % 28
            ));
            for t in 0..(1 + rnd() % 4) {
                card.push_str(&format!(
                    "TEL;VALUE=uri;TYPE={}:tel:+33-6-{:02}-{:02}-{:02}-{:02}\r\n",
                    ["cell", "home", "work", "voice"][t as usize],
                    rnd() % 100,
                    rnd() % 100,
                    rnd() % 100,
                    rnd() % 100
                ));
            }
            for e in 0..(1 + rnd() % 4) {
                card.push_str(&format!("EMAIL;TYPE=home:r{i}.{e}@example.net\r\n"));
            }
        }
        if rnd() % 1000 < 4 {
            let len = 5_000 + (rnd() % 15_000) as usize;
            let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE0];
            photo.extend((0..len).map(|_| rnd() as u8));
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(&photo);
            card.push_str("PHOTO;ENCODING=b;TYPE=JPEG:");
            for (n, chunk) in b64.as_bytes().chunks(74).enumerate() {
                if n > 0 {
                    card.push_str("\r\n ");
                }
                card.push_str(std::str::from_utf8(chunk).unwrap());
            }
            card.push_str("\r\n");
        }
        card.push_str("END:VCARD\r\n");
        out.write_all(card.as_bytes()).unwrap();
        written += card.len() as u64;
        i += 1;
    }
    out.flush().unwrap();
    drop(out);
    std::fs::rename(&tmp, &path).unwrap();
    path
}
