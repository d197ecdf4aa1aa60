//! Progress of long runs, one interface for import, export, check and inspect: the library says
//! which [`Phase`] starts (with its total when known), how many steps are done, and what became
//! of each record; the command picks the display with [`for_stderr`]. [`Terminal`] draws a bar on
//! stderr (indicatif) when stderr is a terminal; [`StatsLines`] prints one plain line per interval
//! when it is not (cron logs, pipes: no escape sequences), as rclone's `--stats`; [`Silent`] shows
//! nothing (`-q`, tests, benchmarks).
//!
//! A new display implements [`Progress`]; a new phase is one more [`Phase`] with its words.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

/// The steps of a run, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading input files (`inspect`).
    Reading,
    /// Searching the account for the input's names before an import.
    AccountSearch,
    /// Reading the account contacts records may merge into, before an import.
    AccountRead,
    /// Searching the account for every contact (export, check).
    Listing,
    /// Reading each listed contact (export, check).
    Fetching,
    /// Writing the records to the account (import).
    Importing,
}

impl Phase {
    /// The words shown before the bar (at most [`LABEL_WIDTH`] characters).
    pub fn label(self) -> &'static str {
        match self {
            Phase::Reading => "reading",
            Phase::AccountSearch => "reading account",
            Phase::AccountRead => "reading matches",
            Phase::Listing => "listing",
            Phase::Fetching => "fetching",
            Phase::Importing => "writing",
        }
    }

    /// What one step is.
    pub fn unit(self) -> &'static str {
        match self {
            Phase::Reading | Phase::Importing => "records",
            Phase::AccountSearch | Phase::Listing => "searches",
            Phase::AccountRead | Phase::Fetching => "contacts",
        }
    }

    /// The label as one word, for lines a script splits on spaces.
    pub fn key(self) -> String {
        self.label().replace(' ', "-")
    }
}

/// Width of the longest [`Phase::label`]: labels are padded to it so bars line up.
const LABEL_WIDTH: usize = 15;

/// Where a run reports its progress. Called from concurrent tasks.
pub trait Progress: Sync {
    /// `phase` starts (ending the previous one); `total`: its steps, when known.
    fn start(&self, phase: Phase, total: Option<u64>);
    /// `n` more steps of the current phase are done.
    fn advance(&self, n: u64);
    /// The current phase turned out to have `n` more steps than its total said (a search that
    /// needs refining).
    fn grow(&self, _n: u64) {}
    /// One more record of the current phase ended as `outcome` (`created`, `merged`, …).
    fn count(&self, _outcome: &'static str) {}
    /// The current phase is over.
    fn finish(&self);
    /// Runs `print` (a line on stderr) without tearing the display.
    fn suspend(&self, print: &mut dyn FnMut()) {
        print()
    }
}

/// Runs `work` as `phase` of `progress` (`total` steps, when known): started before it, finished
/// after it, whatever it returns.
pub async fn in_phase<T>(
    progress: &dyn Progress,
    phase: Phase,
    total: Option<u64>,
    work: impl Future<Output = T>,
) -> T {
    progress.start(phase, total);
    let out = work.await;
    progress.finish();
    out
}

/// The display for a command's stderr: nothing when `quiet`; a bar on a terminal; otherwise a
/// stats line every `stats` (nothing when it is zero).
pub fn for_stderr(quiet: bool, stats: Duration) -> Box<dyn Progress + Send> {
    if quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Terminal::new())
    } else if !stats.is_zero() {
        Box::new(StatsLines::new(stats))
    } else {
        Box::new(Silent)
    }
}

/// Shows nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: Phase, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// How many records of the current phase ended each way, in the order the outcomes first
/// appeared: `created 1000, merged 200, failed 3`.
#[derive(Debug, Default, Clone)]
struct Tally(Vec<(&'static str, u64)>);

impl Tally {
    fn add(&mut self, outcome: &'static str) {
        match self.0.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, n)) => *n += 1,
            None => self.0.push((outcome, 1)),
        }
    }

    fn line(&self) -> String {
        self.0.iter().map(|(o, n)| format!("{o} {n}")).collect::<Vec<_>>().join(", ")
    }
}

/// A rate with at most one decimal: `40.2/s`, `0.3/s`.
pub fn format_rate(per_sec: f64) -> String {
    let r = if per_sec.is_finite() && per_sec > 0.0 { per_sec } else { 0.0 };
    format!("{r:.1}/s")
}

/// A duration in at most two units, no spaces: `7s`, `1m34s`, `2h05m`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Steps left at `per_sec`, when it can tell.
fn eta(done: u64, total: u64, per_sec: f64) -> Option<Duration> {
    let left = total.saturating_sub(done) as f64;
    (per_sec > 0.0).then(|| Duration::try_from_secs_f64(left / per_sec).ok()).flatten()
}

/// One progress line as a script reads it (`key=value` separated by spaces):
/// `progress: phase=writing done=1234 total=5000 rate=40.2/s elapsed=31s eta=1m34s created=1000`.
/// `total` and `eta` are left out when unknown; `elapsed` counts from the start of the run.
pub fn stats_line(
    phase: Phase,
    done: u64,
    total: Option<u64>,
    phase_elapsed: Duration,
    run_elapsed: Duration,
    tally: &[(&'static str, u64)],
) -> String {
    let secs = phase_elapsed.as_secs_f64();
    let per_sec = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let mut line = format!("progress: phase={} done={done}", phase.key());
    if let Some(total) = total {
        line.push_str(&format!(" total={total}"));
    }
    line.push_str(&format!(" rate={} elapsed={}", format_rate(per_sec), format_duration(run_elapsed)));
    if let Some(left) = total.and_then(|t| eta(done, t, per_sec)) {
        line.push_str(&format!(" eta={}", format_duration(left)));
    }
    for (outcome, n) in tally {
        line.push_str(&format!(" {outcome}={n}"));
    }
    line
}

/// The current phase, as [`StatsLines`] prints it.
struct Current {
    phase: Option<Phase>,
    total: Option<u64>,
    done: u64,
    started: Instant,
    tally: Tally,
}

/// One plain line on stderr every interval while a phase runs ([`stats_line`]): a cron log shows
/// the run is alive, what it does and how far it is. A run shorter than the interval prints none.
pub struct StatsLines {
    current: Arc<Mutex<Current>>,
    /// Dropped to stop the printer.
    stop: Option<mpsc::Sender<()>>,
    printer: Option<JoinHandle<()>>,
}

impl StatsLines {
    pub fn new(interval: Duration) -> StatsLines {
        let current = Arc::new(Mutex::new(Current {
            phase: None,
            total: None,
            done: 0,
            started: Instant::now(),
            tally: Tally::default(),
        }));
        let (stop, stopped) = mpsc::channel::<()>();
        let shared = Arc::clone(&current);
        let run_started = Instant::now();
        let printer = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                let c = shared.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(phase) = c.phase {
                    let line = stats_line(
                        phase,
                        c.done,
                        c.total,
                        c.started.elapsed(),
                        run_started.elapsed(),
                        &c.tally.0,
                    );
                    eprintln!("{line}");
                }
            }
        });
        StatsLines { current, stop: Some(stop), printer: Some(printer) }
    }

    fn current(&self) -> MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for StatsLines {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(printer) = self.printer.take() {
            let _ = printer.join();
        }
    }
}

impl Progress for StatsLines {
    fn start(&self, phase: Phase, total: Option<u64>) {
        let mut c = self.current();
        *c = Current { phase: Some(phase), total, done: 0, started: Instant::now(), tally: Tally::default() };
    }

    fn advance(&self, n: u64) {
        self.current().done += n;
    }

    fn grow(&self, n: u64) {
        if let Some(total) = &mut self.current().total {
            *total += n;
        }
    }

    fn count(&self, outcome: &'static str) {
        self.current().tally.add(outcome);
    }

    fn finish(&self) {
        self.current().phase = None;
    }

    fn suspend(&self, print: &mut dyn FnMut()) {
        // Holding the state keeps a stats line from interleaving with the printed one.
        let _c = self.current();
        print()
    }
}

/// indicatif on stderr: a bar with rate and ETA when the total is known
/// (`writing         ████░░░░  1234/5000 records 40.2/s ETA 1m34s`, with the outcomes so far on
/// a second line while writing), else a counter (`⠋ listing 1200 searches 300.0/s 4s`).
pub struct Terminal {
    bar: Mutex<ProgressBar>,
    tally: Mutex<Tally>,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal { bar: Mutex::new(ProgressBar::hidden()), tally: Mutex::new(Tally::default()) }
    }

    fn bar(&self) -> MutexGuard<'_, ProgressBar> {
        self.bar.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for Terminal {
    fn default() -> Terminal {
        Terminal::new()
    }
}

/// The bar's style for `phase`: see [`Terminal`]. The first line fits 80 columns for totals up
/// to 999,999 (the unit test renders it).
pub fn bar_style(phase: Phase, total_known: bool) -> ProgressStyle {
    let (label, unit) = (phase.label(), phase.unit());
    let template = match (total_known, phase) {
        (true, Phase::Importing) => format!(
            "{label:<LABEL_WIDTH$} {{bar:20}} {{pos:>6}}/{{len}} {unit} {{rate}} ETA {{eta}}\n{:LABEL_WIDTH$} {{msg}}",
            ""
        ),
        (true, _) => format!("{label:<LABEL_WIDTH$} {{bar:20}} {{pos:>6}}/{{len}} {unit} {{rate}} ETA {{eta}}"),
        (false, _) => format!("{{spinner}} {label} {{pos}} {unit} {{rate}} {{elapsed_short}}"),
    };
    ProgressStyle::with_template(&template)
        .expect("valid template")
        .progress_chars("█▓░")
        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&format_rate(s.per_sec()));
        })
        .with_key("eta", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let left = s.len().and_then(|len| eta(s.pos(), len, s.per_sec()));
            let _ = w.write_str(&left.map_or_else(|| "-".to_string(), format_duration));
        })
        .with_key("elapsed_short", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&format_duration(s.elapsed()));
        })
}

impl Progress for Terminal {
    fn start(&self, phase: Phase, total: Option<u64>) {
        let bar = match total {
            Some(len) => ProgressBar::new(len),
            None => ProgressBar::new_spinner(),
        };
        bar.set_style(bar_style(phase, total.is_some()));
        bar.enable_steady_tick(Duration::from_millis(200));
        *self.tally.lock().unwrap_or_else(|p| p.into_inner()) = Tally::default();
        std::mem::replace(&mut *self.bar(), bar).finish_and_clear();
    }

    fn advance(&self, n: u64) {
        self.bar().inc(n);
    }

    fn grow(&self, n: u64) {
        self.bar().inc_length(n);
    }

    fn count(&self, outcome: &'static str) {
        let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        tally.add(outcome);
        self.bar().set_message(tally.line());
    }

    fn finish(&self) {
        self.bar().finish_and_clear();
    }

    fn suspend(&self, print: &mut dyn FnMut()) {
        // A clone shares the bar: printing does not hold the lock other tasks advance through.
        let bar = self.bar().clone();
        bar.suspend(print)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::{ProgressDrawTarget, TermLike};

    /// An 80-column terminal that keeps what indicatif writes.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(s.to_string());
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push(s.to_string());
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What the bar of `phase` draws with `pos` of `len` done and a message.
    fn rendered(phase: Phase, pos: u64, len: Option<u64>, msg: &str) -> Vec<String> {
        let screen = Screen::default();
        let bar = match len {
            Some(len) => ProgressBar::new(len),
            None => ProgressBar::new_spinner(),
        };
        bar.set_draw_target(ProgressDrawTarget::term_like(Box::new(screen.clone())));
        bar.set_style(bar_style(phase, len.is_some()));
        bar.set_message(msg.to_string());
        bar.set_position(pos);
        bar.force_draw();
        let lines = screen.0.lock().unwrap().clone();
        lines.into_iter().filter(|l| !l.is_empty()).collect()
    }

    #[test]
    fn every_bar_line_fits_80_columns() {
        let phases = [
            Phase::Reading,
            Phase::AccountSearch,
            Phase::AccountRead,
            Phase::Listing,
            Phase::Fetching,
            Phase::Importing,
        ];
        for phase in phases {
            assert!(phase.label().chars().count() <= LABEL_WIDTH, "{phase:?}");
            for len in [Some(999_999), Some(5000), None] {
                let lines =
                    rendered(phase, 123_456.min(len.unwrap_or(u64::MAX)), len, "created 99999, merged 99999");
                assert!(!lines.is_empty(), "{phase:?} drew nothing");
                let first = &lines[0];
                assert!(first.starts_with(phase.label()) || first.contains(phase.label()), "{first:?}");
                assert!(first.contains(phase.unit()), "{first:?}");
                let width = first.chars().count();
                assert!(width <= 80, "{phase:?} {len:?}: {width} columns: {first:?}");
            }
        }
    }

    #[test]
    fn the_writing_bar_shows_outcomes_on_its_second_line() {
        let lines = rendered(Phase::Importing, 10, Some(5000), "created 8, merged 1, failed 1");
        let text = lines.join("\n");
        assert!(text.contains("10/5000 records"), "{text}");
        assert!(text.contains("created 8, merged 1, failed 1"), "{text}");
    }

    #[test]
    fn rates_have_at_most_one_decimal() {
        assert_eq!(format_rate(40.234), "40.2/s");
        assert_eq!(format_rate(0.0), "0.0/s");
        assert_eq!(format_rate(f64::NAN), "0.0/s");
        assert_eq!(format_rate(1234.56), "1234.6/s");
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(format_duration(Duration::from_secs(7)), "7s");
        assert_eq!(format_duration(Duration::from_secs(94)), "1m34s");
        assert_eq!(format_duration(Duration::from_secs(7500)), "2h05m");
    }

    #[test]
    fn stats_lines_are_key_value_pairs() {
        let line = stats_line(
            Phase::Importing,
            1234,
            Some(5000),
            Duration::from_secs(10),
            Duration::from_secs(31),
            &[("created", 1000), ("merged", 200), ("failed", 34)],
        );
        assert_eq!(
            line,
            "progress: phase=writing done=1234 total=5000 rate=123.4/s elapsed=31s eta=30s created=1000 merged=200 failed=34"
        );
        let listing = stats_line(Phase::AccountSearch, 3, None, Duration::ZERO, Duration::from_secs(2), &[]);
        assert_eq!(listing, "progress: phase=reading-account done=3 rate=0.0/s elapsed=2s");
    }

    #[test]
    fn a_tally_counts_in_order_of_appearance() {
        let mut t = Tally::default();
        for o in ["merged", "created", "merged", "failed"] {
            t.add(o);
        }
        assert_eq!(t.line(), "merged 2, created 1, failed 1");
    }
}
