//! The reconcile report: every input record, what became of it, and every field that could not
//! be carried. Built from the import's outcomes; written as JSON (`--report`) and summarised for
//! humans on stderr.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::atomic_file::Accept;
use crate::mapping::Dropped;

/// What became of one input record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A new contact was created from it.
    Created,
    /// It matched an existing contact (or an earlier record) and added devices or a photo to it.
    Merged,
    /// It matched an existing contact that already held everything it could carry.
    Unchanged,
    /// It matched an existing contact and `--on-duplicate skip` left that contact alone.
    Skipped,
    /// It could not be read or mapped (no name, unreadable card, …): nothing was sent.
    Invalid,
    /// A call failed; what was done before the failure is in `added`.
    Failed,
    /// Nothing was written for it: the run stopped before its turn (Ctrl-C, or an error no later
    /// call could get past: endpoint unreachable or not the API, credentials or token refused, no
    /// consent), or that error refused its first call. `error` says which; running the same
    /// command again (once it is fixed) continues with it.
    #[serde(rename = "not_attempted")]
    NotAttempted,
}

impl Outcome {
    pub const ALL: [Outcome; 7] = [
        Outcome::Created,
        Outcome::Merged,
        Outcome::Unchanged,
        Outcome::Skipped,
        Outcome::Invalid,
        Outcome::Failed,
        Outcome::NotAttempted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Merged => "merged",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
            Outcome::NotAttempted => "not_attempted",
        }
    }

    /// How the human summary names it.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::NotAttempted => "not attempted",
            other => other.as_str(),
        }
    }

    /// Whether this outcome makes the run exit with the "partial" code (a run that stopped
    /// exits with the fatal code anyway).
    pub fn is_problem(self) -> bool {
        matches!(self, Outcome::Invalid | Outcome::Failed | Outcome::NotAttempted)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of the report: one input record.
#[derive(Debug, Clone, Serialize)]
pub struct RecordReport {
    /// `<file>#<n>` (n-th vCard) or `<file>:<line>` (CSV).
    pub source: String,
    pub name: String,
    pub outcome: Outcome,
    /// The account contact it became or joined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// What this record wrote: `contact`, `email:…`, `phone:…`, `url:…`, `photo`.
    pub added: Vec<String>,
    /// Every field the API could not carry, with the reason.
    pub dropped: Vec<Dropped>,
    /// Reading problems that did not stop the record (invalid lines, charset guesses).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why the record is invalid or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Totals of a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub records: usize,
    /// Count per outcome, every outcome present (zero included).
    pub outcomes: BTreeMap<&'static str, usize>,
    pub dry_run: bool,
    /// Every API call made, all actions together (reads included).
    pub api_calls: u64,
    pub calls_by_action: BTreeMap<String, u64>,
    /// The fewest calls that could carry what was written: 1 addcontact per created contact,
    /// 1 per added device, 1 per added photo.
    pub minimum_calls: u64,
    /// `api_calls / (created + merged)` when anything was written.
    pub calls_per_contact: Option<f64>,
    pub minimum_calls_per_contact: Option<f64>,
    pub retries: u64,
    pub throttled: u64,
    /// Writes that went unanswered and were checked against the account before any re-send.
    pub ambiguous_writes_checked: u64,
    pub fields_dropped: usize,
    pub elapsed_ms: u128,
}

/// The whole reconcile report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub summary: Summary,
    pub records: Vec<RecordReport>,
}

impl Report {
    /// Fills the per-outcome counts and record totals from the records.
    pub fn tally(&mut self) {
        self.summary.records = self.records.len();
        self.summary.outcomes = Outcome::ALL.iter().map(|o| (o.as_str(), 0)).collect();
        for r in &self.records {
            *self.summary.outcomes.entry(r.outcome.as_str()).or_default() += 1;
        }
        self.summary.fields_dropped = self.records.iter().map(|r| r.dropped.len()).sum();
        let written = self.count(Outcome::Created) + self.count(Outcome::Merged);
        if written > 0 {
            self.summary.calls_per_contact = Some(self.summary.api_calls as f64 / written as f64);
            self.summary.minimum_calls_per_contact = Some(self.summary.minimum_calls as f64 / written as f64);
        }
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.records.iter().filter(|r| r.outcome == outcome).count()
    }

    pub fn has_problems(&self) -> bool {
        self.records.iter().any(|r| r.outcome.is_problem())
    }

    /// Writes the JSON report atomically (temp file + rename), so a crash never leaves half a
    /// report; `-` writes it to standard output.
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        write_json_atomic(path, self)
    }

    /// The human summary for stderr: one line of counts, then the problem records.
    pub fn human_summary(&self, verbose: bool) -> String {
        let mut out = String::new();
        let counts: Vec<String> = Outcome::ALL
            .iter()
            // Only a stopped run has records not attempted: other summaries stay as they were.
            .filter(|o| **o != Outcome::NotAttempted || self.count(**o) > 0)
            .map(|o| format!("{} {}", self.count(*o), o.label()))
            .collect();
        out.push_str(&format!("{} records: {}", self.records.len(), counts.join(", ")));
        let s = &self.summary;
        out.push_str(&format!("; {} API calls", s.api_calls));
        if let (Some(per), Some(min)) = (s.calls_per_contact, s.minimum_calls_per_contact) {
            out.push_str(&format!(" ({per:.2} per contact written, minimum {min:.2})"));
        }
        out.push_str(&format!("; {} fields not carried", s.fields_dropped));
        out.push_str(&format!("; {:.1}s", s.elapsed_ms as f64 / 1000.0));
        if s.dry_run {
            out.push_str(" (dry run: nothing written)");
        }
        out.push('\n');
        // Records not attempted share the one error that stopped the run, printed once after
        // the summary: listed only with -v.
        let listed = |o: Outcome| verbose || (o.is_problem() && o != Outcome::NotAttempted);
        for r in &self.records {
            if listed(r.outcome) {
                out.push_str(&format!("  {:<9} {}", r.outcome.label(), r.source));
                if !r.name.is_empty() {
                    out.push_str(&format!("  {}", r.name));
                }
                if let Some(e) = &r.error {
                    out.push_str(&format!(": {e}"));
                }
                out.push('\n');
            }
        }
        out
    }
}

/// Serialises `value` as pretty JSON to `path`: a file replaced atomically, `-` (standard
/// output), a FIFO or a character device (see [`crate::atomic_file`]).
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let failed = |e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("cannot write the report {}: {e}", path.display()))
    };
    let mut file = crate::atomic_file::AtomicFile::create(path, Accept::FileOrStream).map_err(failed)?;
    serde_json::to_writer_pretty(&mut file, value).map_err(std::io::Error::from)?;
    file.write_all(b"\n")?;
    file.commit().map_err(failed)
}

/// Where a command prints its listing (the dry-run plan, `check`'s lines): standard output,
/// unless `--report -` takes it, and then standard error.
pub fn listing_output(report: Option<&Path>) -> Box<dyn Write> {
    if report.is_some_and(crate::atomic_file::is_stdout) {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    }
}
