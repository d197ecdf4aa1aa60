//! Progress of long runs, one interface for import, export, check and inspect: the library says
//! which [`Phase`] starts (with its total when known) and how many steps are done; the command
//! picks the display. [`Terminal`] draws on stderr (indicatif), only when stderr is a terminal
//! and the user did not ask for quiet: cron jobs and pipes get no escape sequences. [`Silent`]
//! shows nothing (tests, benchmarks).
//!
//! A new display (a plain statistics line, say) implements [`Progress`]; a new phase is one more
//! [`Phase`] with its words.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// The steps of a run, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading input files (`inspect`).
    Reading,
    /// Searching the account for every contact (export, check).
    Listing,
    /// Reading each listed contact (export, check).
    Fetching,
    /// Writing the records to the account (import).
    Importing,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Reading => "reading",
            Phase::Listing => "listing",
            Phase::Fetching => "fetching",
            Phase::Importing => "importing",
        }
    }

    /// What one step is.
    pub fn unit(self) -> &'static str {
        match self {
            Phase::Reading | Phase::Importing => "records",
            Phase::Listing => "searches",
            Phase::Fetching => "contacts",
        }
    }
}

/// Where a run reports its progress. Called from concurrent tasks.
pub trait Progress: Sync {
    /// `phase` starts (ending the previous one); `total`: its steps, when known.
    fn start(&self, phase: Phase, total: Option<u64>);
    /// `n` more steps of the current phase are done.
    fn advance(&self, n: u64);
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

/// Shows nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: Phase, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// indicatif on stderr: a bar with rate and ETA when the total is known
/// (`importing: {bar} 12/300 records  40/s  ETA 7s`), else a counter
/// (`⠋ listing: 1200 searches  300/s`).
pub struct Terminal {
    visible: bool,
    bar: Mutex<ProgressBar>,
}

impl Terminal {
    /// Hidden when `quiet` or when stderr is not a terminal.
    pub fn new(quiet: bool) -> Terminal {
        Terminal {
            visible: !quiet && std::io::stderr().is_terminal(),
            bar: Mutex::new(ProgressBar::hidden()),
        }
    }

    fn bar(&self) -> MutexGuard<'_, ProgressBar> {
        self.bar.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Progress for Terminal {
    fn start(&self, phase: Phase, total: Option<u64>) {
        if !self.visible {
            return;
        }
        let (label, unit) = (phase.label(), phase.unit());
        let (bar, template) = match total {
            Some(len) => (
                ProgressBar::new(len),
                format!("{label}: {{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  ETA {{eta}}"),
            ),
            None => (ProgressBar::new_spinner(), format!("{{spinner}} {label}: {{pos}} {unit}  {{per_sec}}")),
        };
        bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
        bar.enable_steady_tick(Duration::from_millis(200));
        std::mem::replace(&mut *self.bar(), bar).finish_and_clear();
    }

    fn advance(&self, n: u64) {
        if self.visible {
            self.bar().inc(n);
        }
    }

    fn finish(&self) {
        if self.visible {
            self.bar().finish_and_clear();
        }
    }

    fn suspend(&self, print: &mut dyn FnMut()) {
        // A clone shares the bar: printing does not hold the lock other tasks advance through.
        let bar = self.bar().clone();
        bar.suspend(print)
    }
}
