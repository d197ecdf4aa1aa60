//! Progress display on stderr (indicatif), shown only when stderr is a terminal and the user did
//! not ask for quiet: cron jobs and pipes get no escape sequences.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

fn visible(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// A bar of known length with rate and ETA: `{bar} 12/300 records  40/s  ETA 7s`.
pub fn bar(quiet: bool, len: u64, unit: &str) -> ProgressBar {
    if !visible(quiet) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  ETA {{eta}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// A counter for work of unknown length: `⠋ listing: 1200 searches  300/s`.
pub fn counter(quiet: bool, label: &str, unit: &str) -> ProgressBar {
    if !visible(quiet) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    let template = format!("{{spinner}} {label}{{pos}} {unit}  {{per_sec}}");
    bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
