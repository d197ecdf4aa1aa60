//! The import pipeline: records (already read and mapped) → account snapshot → plan → execution
//! → reconcile report.
//!
//! ```text
//! read::read_all ─▶ account::snapshot ─▶ plan::Plan::build ─▶ execute::execute ─▶ Report
//!                                               └─ --dry-run prints the plan and stops here
//! ```

pub mod account;
pub mod execute;
pub mod inspect;
pub mod plan;
pub mod read;
mod seen_keys;
pub mod spool;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::client::ApiError;
use crate::interrupt::Interrupt;
use crate::mapping::Dropped;
use crate::progress::{in_phase, Phase, Progress};
use crate::remote::Remote;
use crate::report::{Outcome, RecordReport, Report};

use execute::{StepResult, Stopped, Written};
use plan::{Action, OnDuplicate, Plan, PlanOptions};
use read::{InputRecord, Inputs, PhotoSpool};
use spool::RecordSpool;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub on_duplicate: OnDuplicate,
    pub dry_run: bool,
    pub region: String,
    pub concurrency: usize,
    /// Set by Ctrl-C: stop starting records, finish those in flight.
    pub interrupt: Interrupt,
    /// Make a thumbnail of each record's photo for the report (the HTML report shows them).
    pub thumbnails: bool,
    /// Records planned and run together, about (whole person groups): what memory holds.
    pub window: usize,
}

/// What stopped an import run; the records it did not reach fail with it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call no later call can get past: privacy refusal, bad token, endpoint gone or broken.
    #[error(transparent)]
    Api(ApiError),
    /// A photo could not be read back from the run's temporary file ([`read::PhotoSpool`]).
    #[error("cannot read the photo back from its temporary file: {0}")]
    Spool(std::io::Error),
    /// The run's temporary database of records and account contacts failed.
    #[error("cannot use the run's temporary database: {0}")]
    Spill(std::io::Error),
}

impl Error {
    /// Whether the run stops: a spool that cannot be read fails every later photo too.
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::Api(e) => e.is_fatal(),
            Error::Spool(_) | Error::Spill(_) => true,
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Error {
        Error::Api(e)
    }
}

/// What an import run produced.
pub struct ImportRun {
    pub report: Report,
    /// The records, which hold the plan's listing.
    records: RecordSpool,
    /// The listing's last line (empty when nothing was planned).
    listing_totals: String,
    /// The error that stopped the run.
    pub fatal: Option<Error>,
    /// Non-fatal notes about reading the account.
    pub warnings: Vec<String>,
    /// Ctrl-C stopped the run before every record was reached.
    pub interrupted: bool,
}

impl ImportRun {
    /// Writes the plan as `--dry-run` prints it: one line per record, by person in the order
    /// each first appears, then the invalid records, then the totals.
    pub fn write_listing(&mut self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        self.records.write_listing(out)?;
        out.write_all(self.listing_totals.as_bytes())
    }
}

/// Why records that got no result were not reached.
enum NotReached<'a> {
    /// Nothing more to say (the invalid records have their own reason).
    Plain,
    /// An error stopped the run.
    Fatal(&'a Error),
    /// Ctrl-C came while the account was read.
    Interrupted,
}

/// Imports the records of `inputs` into the account behind `remote`: reading the account is
/// [`Phase::AccountSearch`] (and [`Phase::AccountRead`] for `merge`), writing is
/// [`Phase::Importing`], one step per record. A stop requested through `opts.interrupt` ends the
/// run cleanly: records not reached are [`Outcome::NotAttempted`].
///
/// Records are planned and run in windows of whole person groups (about `opts.window` records
/// each, read back from the run's [`RecordSpool`]), and each record's report line goes to the
/// report's file as its window ends: memory does not grow with the input. The error returned
/// is a failure of the run's temporary files.
pub async fn run<R: Remote>(
    inputs: Inputs,
    remote: &R,
    opts: &ImportOptions,
    progress: &dyn Progress,
    started: Instant,
) -> std::io::Result<ImportRun> {
    let Inputs { mut records, photos, .. } = inputs;
    let mut report = Report::new(records.len())?;
    let mut run = ImportRun {
        report: Report::new(0)?,
        records: RecordSpool::new()?,
        listing_totals: String::new(),
        fatal: None,
        warnings: vec![],
        interrupted: false,
    };
    let read = account::snapshot(remote, &mut records, opts.on_duplicate, opts.concurrency, progress);
    // Nothing is written while the account is read: a stop then simply drops the reads.
    let read = tokio::select! {
        found = read => Some(found),
        () = opts.interrupt.requested() => None,
    };
    let written = Written::default();
    let stopped = Stopped::default();
    match read {
        Some(Ok(warnings)) => {
            run.warnings = warnings;
            let windows =
                Windows { photos: &photos, remote, opts, progress, written: &written, stopped: &stopped };
            let (totals, calls) = plan_and_run(&windows, &mut records, &mut report).await?;
            if opts.dry_run {
                run.listing_totals = totals;
                report.summary.minimum_calls = calls as u64;
            }
            run.fatal = stopped.into_fatal();
            let reason = run.fatal.as_ref().map_or(NotReached::Plain, NotReached::Fatal);
            report_the_rest(&records, &photos, opts, reason, &mut report)?;
        }
        Some(Err(Error::Spill(e))) => return Err(e),
        Some(Err(e)) => {
            report_the_rest(&records, &photos, opts, NotReached::Fatal(&e), &mut report)?;
            run.fatal = Some(e);
        }
        None => {
            progress.finish();
            report_the_rest(&records, &photos, opts, NotReached::Interrupted, &mut report)?;
            run.interrupted = true;
        }
    }
    let stats = remote.stats();
    let s = &mut report.summary;
    s.api_calls = stats.calls.values().sum();
    s.calls_by_action = stats.calls.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    s.retries = stats.retries;
    s.throttled = stats.throttled;
    s.ambiguous_writes_checked = written.ambiguous_checked.load(Ordering::Relaxed);
    s.elapsed_ms = started.elapsed().as_millis();
    s.dry_run = opts.dry_run;
    if !opts.dry_run {
        s.minimum_calls = written.minimum_calls();
    }
    report.tally();
    run.interrupted |= opts.interrupt.is_requested() && report.count(Outcome::NotAttempted) > 0;
    run.report = report;
    run.records = records;
    Ok(run)
}

/// What every window of a run shares: where it writes, how, and what stops it.
struct Windows<'a, R> {
    photos: &'a PhotoSpool,
    remote: &'a R,
    opts: &'a ImportOptions,
    progress: &'a dyn Progress,
    written: &'a Written,
    stopped: &'a Stopped,
}

/// Plans and runs (or, for a dry run, lists) the keyed records window by window, putting each
/// record's line in `report`. Returns the listing's totals line and the calls the plan makes.
async fn plan_and_run<R: Remote>(
    run: &Windows<'_, R>,
    records: &mut RecordSpool,
    report: &mut Report,
) -> std::io::Result<(String, usize)> {
    let (opts, progress) = (run.opts, run.progress);
    let invalid = records.unkeyed()?;
    let windows = records.windows(opts.window)?;
    let records_len = records.len();
    let work = run_windows(run, windows, records, report);
    let (counts, calls) = if opts.dry_run {
        work.await?
    } else {
        let total = Some(records_len as u64);
        in_phase(progress, Phase::Importing, total, async {
            progress.advance(invalid as u64);
            (0..invalid).for_each(|_| progress.count(Outcome::Invalid.as_str()));
            work.await
        })
        .await?
    };
    if opts.dry_run {
        for i in 0..records.len() {
            if !report.has(i) {
                records.put_listing(records.len(), i, &plan::invalid_line(&records.get(i)?))?;
            }
        }
    }
    Ok((plan::listing_totals(counts, invalid, calls), calls))
}

/// The windows of [`plan_and_run`]; returns the plan's step counts and calls, summed.
async fn run_windows<R: Remote>(
    run: &Windows<'_, R>,
    windows: Vec<Vec<u32>>,
    records: &mut RecordSpool,
    report: &mut Report,
) -> std::io::Result<((usize, usize, usize, usize), usize)> {
    let Windows { photos, remote, opts, progress, written, stopped } = *run;
    let plan_opts = PlanOptions { on_duplicate: opts.on_duplicate, region: opts.region.clone() };
    let mut counts = (0, 0, 0, 0);
    let mut calls = 0;
    for mut window in windows {
        // Input order within the window: groups in order of first appearance, steps in order.
        window.sort_unstable();
        let local: Vec<InputRecord> =
            window.iter().map(|&i| records.get(i as usize)).collect::<Result<_, _>>()?;
        let keys: BTreeSet<&str> =
            local.iter().filter_map(|r| r.valid().and_then(|m| m.person_key.as_deref())).collect();
        let snapshot = records.snapshot_of(keys)?;
        let plan = Plan::build(&local, &snapshot, &plan_opts);
        let c = plan.counts();
        counts = (counts.0 + c.0, counts.1 + c.1, counts.2 + c.2, counts.3 + c.3);
        calls += plan.calls();
        let results = if opts.dry_run {
            for group in &plan.groups {
                let first = window[group.steps[0].record] as usize;
                for (r, line) in plan.display_group(group, &local) {
                    records.put_listing(first, window[r] as usize, &line)?;
                }
            }
            planned_results(&plan)
        } else {
            execute::execute(&plan, &local, photos, remote, opts, progress, written, stopped).await
        };
        for result in &results {
            let record = &local[result.record];
            let not_merged = plan.not_merged.get(&result.record);
            let line = report_line(record, Some(result), not_merged, &NotReached::Plain, photos, opts);
            report.put(window[result.record] as usize, &line)?;
        }
    }
    Ok((counts, calls))
}

/// Puts the line of every record that has none yet: the invalid ones, and those the run did not
/// reach.
fn report_the_rest(
    records: &RecordSpool,
    photos: &PhotoSpool,
    opts: &ImportOptions,
    reason: NotReached<'_>,
    report: &mut Report,
) -> std::io::Result<()> {
    for i in 0..records.len() {
        if !report.has(i) {
            let line = report_line(&records.get(i)?, None, None, &reason, photos, opts);
            report.put(i, &line)?;
        }
    }
    Ok(())
}

/// Why a record is [`Outcome::NotAttempted`] after Ctrl-C.
pub const INTERRUPTED: &str = "not attempted: the run was interrupted (Ctrl-C)";

/// The outcomes a dry run predicts, with what each record would add.
fn planned_results(plan: &Plan) -> Vec<StepResult> {
    let mut results = Vec::new();
    for group in &plan.groups {
        let cid = match &group.target {
            plan::Target::Existing(cid) => Some(cid.clone()),
            plan::Target::New => None,
        };
        for step in &group.steps {
            let (outcome, added) = match &step.action {
                Action::Create { devices, photo, .. } => {
                    (Outcome::Created, would_add(&["contact".to_string()], devices, *photo))
                }
                Action::Add { fields, devices, photo } => {
                    (Outcome::Merged, would_add(fields, devices, *photo))
                }
                Action::Unchanged => (Outcome::Unchanged, vec![]),
                Action::Skip => (Outcome::Skipped, vec![]),
            };
            results.push(StepResult { record: step.record, outcome, cid: cid.clone(), added, error: None });
        }
    }
    results
}

/// `first`: `contact` for a record that creates one, else the fields it gives the contact.
fn would_add(first: &[String], devices: &[crate::mapping::PlannedDevice], photo: bool) -> Vec<String> {
    let mut added = first.to_vec();
    added.extend(devices.iter().map(|d| format!("{}:{}", d.kind.as_str(), d.value)));
    if photo {
        added.push("photo".into());
    }
    added
}

/// A `data:` URI of a thumbnail of the record's photo (none when it cannot be made).
fn thumbnail(record: &InputRecord, photos: &PhotoSpool) -> Option<String> {
    use base64::Engine as _;
    let photo = record.photo.as_ref()?;
    let small = photos.read(photo).ok().and_then(|bytes| crate::photo::thumbnail(&bytes))?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(small);
    Some(format!("data:image/jpeg;base64,{encoded}"))
}

/// The report line of a record: its result, or why it has none (invalid, not reached).
fn report_line(
    record: &InputRecord,
    result: Option<&StepResult>,
    not_merged: Option<&Vec<Dropped>>,
    reason: &NotReached<'_>,
    photos: &PhotoSpool,
    opts: &ImportOptions,
) -> RecordReport {
    let mut dropped = record.mapped.as_ref().map(|m| m.dropped.clone()).unwrap_or_default();
    if let Some(kept) = not_merged {
        dropped.extend(kept.iter().cloned());
    }
    let (outcome, cid, added, error) = match (result, reason) {
        (Some(r), _) => (r.outcome, r.cid.clone(), r.added.clone(), r.error.clone()),
        (None, _) if record.error.is_some() => (Outcome::Invalid, None, vec![], record.error.clone()),
        (None, NotReached::Interrupted) if record.valid().is_some() => {
            (Outcome::NotAttempted, None, vec![], Some(INTERRUPTED.to_string()))
        }
        (None, NotReached::Fatal(e)) => {
            (Outcome::NotAttempted, None, vec![], Some(format!("not attempted: {e}")))
        }
        (None, _) => (Outcome::NotAttempted, None, vec![], Some("not attempted".into())),
    };
    RecordReport {
        source: record.source.clone(),
        name: record.name.clone(),
        outcome,
        cid,
        added,
        dropped,
        warnings: record.warnings.clone(),
        error,
        thumbnail: if opts.thumbnails { thumbnail(record, photos) } else { None },
    }
}
