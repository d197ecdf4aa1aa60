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

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::client::ApiError;
use crate::interrupt::Interrupt;
use crate::progress::{in_phase, Phase, Progress};
use crate::remote::Remote;
use crate::report::{Outcome, RecordReport, Report};

use execute::{StepResult, Written};
use plan::{Action, OnDuplicate, Plan, PlanOptions};
use read::{InputRecord, Inputs};

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
}

impl Error {
    /// Whether the run stops: a spool that cannot be read fails every later photo too.
    pub fn is_fatal(&self) -> bool {
        match self {
            Error::Api(e) => e.is_fatal(),
            Error::Spool(_) => true,
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
    /// The plan as `--dry-run` prints it.
    pub plan_listing: String,
    /// The error that stopped the run.
    pub fatal: Option<Error>,
    /// Non-fatal notes about reading the account.
    pub warnings: Vec<String>,
    /// Ctrl-C stopped the run before every record was reached.
    pub interrupted: bool,
}

/// Imports `records` into the account behind `remote`: reading the account is
/// [`Phase::AccountSearch`] (and [`Phase::AccountRead`] for `merge`), writing is
/// [`Phase::Importing`], one step per record. A stop requested through `opts.interrupt` ends the
/// run cleanly: records not reached are [`Outcome::NotAttempted`].
pub async fn run<R: Remote>(
    inputs: Inputs,
    remote: &R,
    opts: &ImportOptions,
    progress: &dyn Progress,
    started: Instant,
) -> ImportRun {
    let Inputs { records, photos, .. } = inputs;
    let read = account::snapshot(remote, &records, opts.on_duplicate, opts.concurrency, progress);
    // Nothing is written while the account is read: a stop then simply drops the reads.
    let (snapshot, warnings) = tokio::select! {
        found = read => match found {
            Ok(found) => found,
            Err(e) => return not_attempted(&records, Error::Api(e), remote, started),
        },
        () = opts.interrupt.requested() => {
            progress.finish();
            return interrupted_before_writing(&records, remote, started);
        }
    };
    let plan = Plan::build(
        &records,
        &snapshot,
        &PlanOptions { on_duplicate: opts.on_duplicate, region: opts.region.clone() },
    );
    let plan_listing = plan.display(&records).to_string();
    let written = Written::default();
    let (results, fatal) = if opts.dry_run {
        (planned_results(&plan), None)
    } else {
        let total = Some(records.len() as u64);
        in_phase(progress, Phase::Importing, total, async {
            progress.advance(plan.invalid.len() as u64);
            plan.invalid.iter().for_each(|_| progress.count(Outcome::Invalid.as_str()));
            execute::execute(&plan, &records, &photos, remote, opts, progress, &written).await
        })
        .await
    };
    let mut report = build_report(&records, &plan, &results, fatal.as_ref(), remote, &written, started);
    report.summary.dry_run = opts.dry_run;
    if opts.dry_run {
        report.summary.minimum_calls = plan.calls() as u64;
    }
    report.tally();
    if opts.thumbnails {
        add_thumbnails(&mut report, &records, &photos);
    }
    let interrupted = opts.interrupt.is_requested() && report.count(Outcome::NotAttempted) > 0;
    ImportRun { report, plan_listing, fatal, warnings, interrupted }
}

/// The run when reading the account failed (a fatal error): nothing planned, every valid record
/// not attempted.
fn not_attempted(records: &[InputRecord], error: Error, remote: &impl Remote, started: Instant) -> ImportRun {
    let report =
        build_report(records, &Plan::default(), &[], Some(&error), remote, &Written::default(), started);
    ImportRun {
        report,
        plan_listing: String::new(),
        fatal: Some(error),
        warnings: vec![],
        interrupted: false,
    }
}

/// The run when Ctrl-C came while the account was read: nothing written, every valid record not
/// attempted.
fn interrupted_before_writing(records: &[InputRecord], remote: &impl Remote, started: Instant) -> ImportRun {
    let results: Vec<StepResult> = (0..records.len())
        .filter(|&i| records[i].valid().is_some())
        .map(|record| StepResult {
            record,
            outcome: Outcome::NotAttempted,
            cid: None,
            added: vec![],
            error: Some(INTERRUPTED.to_string()),
        })
        .collect();
    let report =
        build_report(records, &Plan::default(), &results, None, remote, &Written::default(), started);
    ImportRun { report, plan_listing: String::new(), fatal: None, warnings: vec![], interrupted: true }
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

/// A `data:` URI of a thumbnail of each record's photo (left out when it cannot be made).
fn add_thumbnails(report: &mut Report, records: &[InputRecord], photos: &read::PhotoSpool) {
    use base64::Engine as _;
    for (line, record) in report.records.iter_mut().zip(records) {
        let Some(photo) = &record.photo else { continue };
        let Some(small) = photos.read(photo).ok().and_then(|bytes| crate::photo::thumbnail(&bytes)) else {
            continue;
        };
        let encoded = base64::engine::general_purpose::STANDARD.encode(small);
        line.thumbnail = Some(format!("data:image/jpeg;base64,{encoded}"));
    }
}

fn build_report(
    records: &[InputRecord],
    plan: &Plan,
    results: &[StepResult],
    fatal: Option<&Error>,
    remote: &impl Remote,
    written: &Written,
    started: Instant,
) -> Report {
    let by_record: HashMap<usize, &StepResult> = results.iter().map(|r| (r.record, r)).collect();
    let mut report = Report::default();
    for (i, record) in records.iter().enumerate() {
        let mut dropped = record.mapped.as_ref().map(|m| m.dropped.clone()).unwrap_or_default();
        if let Some(kept) = plan.not_merged.get(&i) {
            dropped.extend(kept.iter().cloned());
        }
        let line = match by_record.get(&i) {
            Some(r) => RecordReport {
                source: record.source.clone(),
                name: record.name.clone(),
                outcome: r.outcome,
                cid: r.cid.clone(),
                added: r.added.clone(),
                dropped,
                warnings: record.warnings.clone(),
                error: r.error.clone(),
                thumbnail: None,
            },
            None if record.error.is_some() => RecordReport {
                source: record.source.clone(),
                name: record.name.clone(),
                outcome: Outcome::Invalid,
                cid: None,
                added: vec![],
                dropped,
                warnings: record.warnings.clone(),
                error: record.error.clone(),
                thumbnail: None,
            },
            None => RecordReport {
                source: record.source.clone(),
                name: record.name.clone(),
                outcome: Outcome::NotAttempted,
                cid: None,
                added: vec![],
                dropped,
                warnings: record.warnings.clone(),
                error: Some(match fatal {
                    Some(e) => format!("not attempted: {e}"),
                    None => "not attempted".into(),
                }),
                thumbnail: None,
            },
        };
        report.records.push(line);
    }
    let stats = remote.stats();
    let s = &mut report.summary;
    s.api_calls = stats.calls.values().sum();
    s.calls_by_action = stats.calls.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    s.retries = stats.retries;
    s.throttled = stats.throttled;
    s.minimum_calls = written.minimum_calls();
    s.ambiguous_writes_checked = written.ambiguous_checked.load(Ordering::Relaxed);
    s.elapsed_ms = started.elapsed().as_millis();
    report.tally();
    report
}
