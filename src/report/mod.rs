//! The reports: the import's reconcile report (every input record, what became of it, and every
//! field that could not be carried), and what every report shares: the format chosen by the
//! extension of `--report PATH` ([`ReportFormat`]) and one writer per format over the report's
//! data, built once: [`json`] (the data as it is), [`html`] and [`csv`] (its [`Tabular`] view).
//! The import's report is also summarised for humans on stderr.

pub mod csv;
pub mod html;
pub mod json;
pub mod lines;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic_file::Accept;
use crate::mapping::Dropped;
use lines::RecordLines;

/// What became of one input record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
    /// Why the record is invalid or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A small JPEG of the record's photo as a `data:` URI, for the HTML report only (the JSON
    /// report stays as it was).
    #[serde(skip)]
    pub thumbnail: Option<String>,
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

/// The whole reconcile report: the totals, and one line per input record kept in a temporary
/// file ([`RecordLines`]), tallied as each line is put: memory does not grow with the records.
pub struct Report {
    pub summary: Summary,
    lines: RecordLines,
    /// Fields not carried, by property ([`property_of`]), and reading warnings by kind.
    not_carried: BTreeMap<String, usize>,
    warning_kinds: BTreeMap<String, usize>,
}

impl Report {
    /// A report of `records` records, none put yet.
    pub fn new(records: usize) -> std::io::Result<Report> {
        let mut summary = Summary { records, ..Summary::default() };
        summary.outcomes = Outcome::ALL.iter().map(|o| (o.as_str(), 0)).collect();
        Ok(Report {
            summary,
            lines: RecordLines::new(records)?,
            not_carried: BTreeMap::new(),
            warning_kinds: BTreeMap::new(),
        })
    }

    /// Puts record `i`'s line (each record once), counting it in the totals.
    pub fn put(&mut self, i: usize, line: &RecordReport) -> std::io::Result<()> {
        debug_assert!(!self.lines.has(i), "record {i} reported twice");
        self.lines.put(i, line)?;
        *self.summary.outcomes.entry(line.outcome.as_str()).or_default() += 1;
        self.summary.fields_dropped += line.dropped.len();
        for d in &line.dropped {
            *self.not_carried.entry(property_of(&d.field).to_string()).or_default() += 1;
        }
        for w in &line.warnings {
            *self.warning_kinds.entry(warning_kind(w)).or_default() += 1;
        }
        Ok(())
    }

    /// Whether record `i`'s line was put.
    pub fn has(&self, i: usize) -> bool {
        self.lines.has(i)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Record `i`'s line.
    pub fn record(&self, i: usize) -> std::io::Result<RecordReport> {
        self.lines.get(i)
    }

    /// Every record's line, in input order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = std::io::Result<RecordReport>> + '_ {
        self.lines.iter()
    }

    /// Fills the per-contact ratios from the totals.
    pub fn tally(&mut self) {
        self.summary.records = self.lines.len();
        let written = self.count(Outcome::Created) + self.count(Outcome::Merged);
        if written > 0 {
            self.summary.calls_per_contact = Some(self.summary.api_calls as f64 / written as f64);
            self.summary.minimum_calls_per_contact = Some(self.summary.minimum_calls as f64 / written as f64);
        }
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.summary.outcomes.get(outcome.as_str()).copied().unwrap_or(0)
    }

    pub fn has_problems(&self) -> bool {
        Outcome::ALL.iter().any(|o| o.is_problem() && self.count(*o) > 0)
    }

    /// Writes the report in the format `path`'s extension names (see [`write_report`]).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        write_report(path, self)
    }

    /// The fields not carried, counted by vCard property (`ADR;TYPE=HOME` counts as `ADR`), the
    /// most frequent first.
    pub fn not_carried_by_field(&self) -> Vec<(String, usize)> {
        most_frequent_first(&self.not_carried)
    }

    /// The reading warnings, counted by kind ([`warning_kind`]), the most frequent first.
    pub fn warnings_by_kind(&self) -> Vec<(String, usize)> {
        most_frequent_first(&self.warning_kinds)
    }

    /// The human summary for stderr: one line of counts, then the problem records (all records
    /// with `verbose`), read back from the report's file as they are written.
    pub fn write_human_summary(&self, out: &mut dyn Write, verbose: bool) -> std::io::Result<()> {
        let mut head = String::new();
        let counts: Vec<String> = Outcome::ALL
            .iter()
            // Only a stopped run has records not attempted: other summaries stay as they were.
            .filter(|o| **o != Outcome::NotAttempted || self.count(**o) > 0)
            .map(|o| format!("{} {}", self.count(*o), o.label()))
            .collect();
        head.push_str(&format!("{} records: {}", self.len(), counts.join(", ")));
        let s = &self.summary;
        head.push_str(&format!("; {} API calls", s.api_calls));
        if let (Some(per), Some(min)) = (s.calls_per_contact, s.minimum_calls_per_contact) {
            head.push_str(&format!(" ({per:.2} per contact written, minimum {min:.2})"));
        }
        head.push_str(&format!("; {} fields not carried", s.fields_dropped));
        head.push_str(&format!("; {:.1}s", s.elapsed_ms as f64 / 1000.0));
        if s.dry_run {
            head.push_str(" (dry run: nothing written)");
        }
        head.push('\n');
        let not_carried = self.not_carried_by_field();
        if !not_carried.is_empty() {
            let groups: Vec<String> = not_carried.iter().map(|(field, n)| format!("{field} {n}")).collect();
            head.push_str(&format!("not carried: {}\n", groups.join(", ")));
        }
        let warnings = self.warnings_by_kind();
        if !warnings.is_empty() {
            let total: usize = warnings.iter().map(|(_, n)| n).sum();
            head.push_str(&format!("{total} reading warning(s):\n"));
            for (kind, n) in &warnings {
                head.push_str(&format!("  {n:>5}  {kind}\n"));
            }
        }
        // Records not attempted share the one error that stopped the run, printed once after
        // the summary: listed only with -v.
        let listed = |o: Outcome| verbose || (o.is_problem() && o != Outcome::NotAttempted);
        out.write_all(head.as_bytes())?;
        if !Outcome::ALL.iter().any(|o| listed(*o) && self.count(*o) > 0) {
            return Ok(());
        }
        for r in self.records() {
            let r = r?;
            if verbose {
                for warning in &r.warnings {
                    writeln!(out, "  warning   {}: {warning}", r.source)?;
                }
            }
            if listed(r.outcome) {
                write!(out, "  {:<9} {}", r.outcome.label(), r.source)?;
                if !r.name.is_empty() {
                    write!(out, "  {}", r.name)?;
                }
                if let Some(e) = &r.error {
                    write!(out, ": {e}")?;
                }
                writeln!(out)?;
            }
        }
        Ok(())
    }
}

/// The JSON report: `{"summary": …, "records": […]}`, the records streamed from their file.
impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeStruct as _};
        struct Lines<'a>(&'a RecordLines);
        impl Serialize for Lines<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeSeq as _;
                let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
                for line in self.0.iter() {
                    seq.serialize_element(&line.map_err(S::Error::custom)?)?;
                }
                seq.end()
            }
        }
        let mut report = serializer.serialize_struct("Report", 2)?;
        report.serialize_field("summary", &self.summary)?;
        report.serialize_field("records", &Lines(&self.lines))?;
        report.end()
    }
}

/// The items `for_each` gives (entries read back from a scratch database: export's contacts,
/// check's entries) serialized as a sequence of `len` items as they come, never collected. The
/// serializer's error is kept as it is; the reading's is told in words.
pub fn serialize_streamed<S: serde::Serializer, T: Serialize>(
    serializer: S,
    len: Option<usize>,
    for_each: impl FnOnce(&mut dyn FnMut(T) -> std::io::Result<()>) -> std::io::Result<()>,
) -> Result<S::Ok, S::Error> {
    use serde::ser::{Error as _, SerializeSeq as _};
    let mut seq = serializer.serialize_seq(len)?;
    let mut failed = None;
    let read = for_each(&mut |item| {
        seq.serialize_element(&item).map_err(|e| {
            failed = Some(e);
            std::io::Error::other("the report could not be written")
        })
    });
    if let Some(e) = failed {
        return Err(e);
    }
    read.map_err(S::Error::custom)?;
    seq.end()
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

/// The formats of `--report PATH`, told by PATH's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Html,
    Csv,
}

impl ReportFormat {
    /// The extensions understood, as the usage error lists them.
    pub const SUPPORTED: &'static str = ".json, .html (or .htm), .csv, or - for JSON on standard output";

    /// The format `path` asks for: its extension (any case). A stream without one of these
    /// extensions (`-`, `/dev/stdout`, `/dev/null`, a FIFO) gets JSON, as it always did.
    pub fn for_path(path: &Path) -> Result<ReportFormat, String> {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match extension.as_str() {
            "json" => Ok(ReportFormat::Json),
            "html" | "htm" => Ok(ReportFormat::Html),
            "csv" => Ok(ReportFormat::Csv),
            _ if crate::atomic_file::is_stream(path) => Ok(ReportFormat::Json),
            "" => Err(format!(
                "the report's format is told by its extension, and {} has none: use {}",
                path.display(),
                Self::SUPPORTED
            )),
            other => {
                Err(format!("unknown report format .{other} ({}): use {}", path.display(), Self::SUPPORTED))
            }
        }
    }
}

/// A report seen as a table, one row per record, for the HTML and CSV writers.
pub trait Tabular {
    /// What the report is about, as the page's heading says it: `import report`.
    fn title(&self) -> &'static str;
    /// The run's totals, as the JSON report holds them (an object).
    fn summary(&self) -> serde_json::Value;
    /// Every outcome a row may have, in the order the filters show them.
    fn outcomes(&self) -> Vec<&'static str>;
    /// The column headings; every row has one cell per heading.
    fn columns(&self) -> &'static [&'static str];
    /// Calls `each` with every row, in order, made as it is written: the reports keep their rows
    /// in files or scratch databases, never all in memory. The first error ends the rows.
    fn for_each_row(&self, each: &mut dyn FnMut(Row) -> std::io::Result<()>) -> std::io::Result<()>;
}

/// One record of a [`Tabular`] report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// One of [`Tabular::outcomes`]; what the filters select on.
    pub outcome: &'static str,
    /// One per column; a cell of several values has one per line.
    pub cells: Vec<String>,
    /// A `data:` URI of a small image shown with the row (HTML only).
    pub thumbnail: Option<String>,
}

/// Writes `report` to `path` in the format its extension names, atomically (temp file + rename:
/// a crash never leaves half a report); `-` writes JSON to standard output, and a FIFO or
/// character device is written in place (see [`crate::atomic_file`]).
pub fn write_report<T: Serialize + Tabular>(path: &Path, report: &T) -> std::io::Result<()> {
    let failed = |e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("cannot write the report {}: {e}", path.display()))
    };
    let (mut file, format) = create_report(path).map_err(failed)?;
    match format {
        ReportFormat::Json => json::write(&mut file, report),
        table => write_table(&mut file, table, report),
    }
    .map_err(failed)?;
    file.commit().map_err(failed)
}

/// The report file `path` names, not yet committed, and the format its extension names: for a
/// report written as its records come (inspect's JSON), or whose file must exist before they do.
pub fn create_report(path: &Path) -> std::io::Result<(crate::atomic_file::AtomicFile, ReportFormat)> {
    let format = ReportFormat::for_path(path)
        .map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))?;
    Ok((crate::atomic_file::AtomicFile::create(path, Accept::FileOrStream)?, format))
}

/// `report` as the HTML page or the CSV table `format` names (JSON is the report's data, not a
/// table: [`write_report`] writes it).
pub fn write_table(
    out: &mut impl std::io::Write,
    format: ReportFormat,
    report: &impl Tabular,
) -> std::io::Result<()> {
    match format {
        ReportFormat::Html => html::write(out, report),
        ReportFormat::Csv => csv::write(out, report),
        ReportFormat::Json => {
            Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "JSON is not a table"))
        }
    }
}

impl Tabular for Report {
    fn title(&self) -> &'static str {
        "import report"
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::to_value(&self.summary).unwrap_or_default()
    }

    fn outcomes(&self) -> Vec<&'static str> {
        Outcome::ALL.iter().map(|o| o.as_str()).collect()
    }

    fn columns(&self) -> &'static [&'static str] {
        &["source", "name", "outcome", "cid", "added", "not carried", "warnings", "error"]
    }

    fn for_each_row(&self, each: &mut dyn FnMut(Row) -> std::io::Result<()>) -> std::io::Result<()> {
        for r in self.records() {
            let r = r?;
            each(Row {
                outcome: r.outcome.as_str(),
                cells: vec![
                    r.source,
                    r.name,
                    r.outcome.as_str().to_string(),
                    r.cid.unwrap_or_default(),
                    r.added.join("\n"),
                    r.dropped.iter().map(dropped_line).collect::<Vec<_>>().join("\n"),
                    r.warnings.join("\n"),
                    r.error.unwrap_or_default(),
                ],
                thumbnail: r.thumbnail,
            })?;
        }
        Ok(())
    }
}

/// `ADR;TYPE=HOME (12 rue …): reason`, the value cut at [`VALUE_SHOWN`] characters.
pub(crate) fn dropped_line(d: &Dropped) -> String {
    const VALUE_SHOWN: usize = 60;
    let value = d.value.trim();
    if value.is_empty() {
        return format!("{}: {}", d.field, d.reason);
    }
    let shown: String = value.chars().take(VALUE_SHOWN).collect();
    let cut = if shown.len() < value.len() { "…" } else { "" };
    format!("{} ({shown}{cut}): {}", d.field, d.reason)
}

/// The property a dropped field is named by: `ADR` for `ADR;TYPE=HOME`, `N` for `N (prefix)`,
/// a CSV column as it is (`Phonetic First Name`).
fn property_of(field: &str) -> &str {
    let field = field.split(';').next().unwrap_or(field);
    field.split(" (").next().unwrap_or(field).trim()
}

/// Counts of each item, the most frequent first (ties by name).
fn most_frequent_first(counts: &BTreeMap<String, usize>) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = counts.iter().map(|(k, n)| (k.clone(), *n)).collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

/// What a reading warning says without where and about what: its location (`line 5:`,
/// `lines 3, 4:`, `file.csv:2:`, `card at line 3`) dropped, numbers shown as `N` and quoted or
/// bracketed values as `…`, so that the same problem on many records is counted as one kind.
pub fn warning_kind(warning: &str) -> String {
    let mut text = warning.trim();
    // A leading location: `<file>:<line>: `, `<file>: `, `line N: `, `lines N, M: `.
    while let Some((head, rest)) = text.split_once(": ") {
        let is_place = head.starts_with("line ")
            || head.starts_with("lines ")
            || head.contains('/')
            || head.contains(".csv")
            || head.contains(".vcf")
            || head.contains('#');
        if !is_place {
            break;
        }
        text = rest;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        // A count or a line number stands alone; `UTF-8` and `windows-1252` name a charset.
        let stands_alone = !out.ends_with(|p: char| p.is_alphanumeric() || p == '-' || p == '_');
        match c {
            '0'..='9' if stands_alone => {
                while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                    chars.next();
                }
                out.push('N');
            }
            '"' | '[' => {
                let close = if c == '"' { '"' } else { ']' };
                for next in chars.by_ref() {
                    if next == close {
                        break;
                    }
                }
                out.push('…');
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_of_one_kind_are_counted_together() {
        let same = [
            "line 5: not UTF-8, decoded as windows-1252",
            "lines 3, 4, 11, 13: not UTF-8, decoded as windows-1252",
        ];
        assert_eq!(warning_kind(same[0]), "not UTF-8, decoded as windows-1252");
        assert_eq!(warning_kind(same[0]), warning_kind(same[1]));
        assert_eq!(
            warning_kind("/x/outlook.csv:2: row has 89 fields, the header has 92"),
            "row has N fields, the header has N"
        );
        assert_eq!(
            warning_kind(
                "no name, nickname or company: imported under the nickname \"a@b.c\", its email address"
            ),
            "no name, nickname or company: imported under the nickname …, its email address"
        );
        assert_eq!(
            warning_kind("ORG: value is not valid text in its charset, dropped"),
            "ORG: value is not valid text in its charset, dropped"
        );
    }

    #[test]
    fn not_carried_fields_are_grouped_by_property() {
        let dropped =
            |field: &'static str| Dropped { field: field.into(), value: String::new(), reason: "r".into() };
        let record = |fields: Vec<Dropped>| RecordReport {
            source: "f#1".into(),
            name: "A".into(),
            outcome: Outcome::Created,
            cid: None,
            added: vec![],
            dropped: fields,
            warnings: vec![],
            error: None,
            thumbnail: None,
        };
        let mut report = Report::new(2).unwrap();
        report.put(0, &record(vec![dropped("ADR;TYPE=HOME"), dropped("NOTE")])).unwrap();
        report
            .put(1, &record(vec![dropped("ADR;TYPE=WORK"), dropped("ADR"), dropped("N (prefix)")]))
            .unwrap();
        assert_eq!(
            report.not_carried_by_field(),
            vec![("ADR".to_string(), 3), ("N".to_string(), 1), ("NOTE".to_string(), 1)]
        );
        let mut summary = Vec::new();
        report.write_human_summary(&mut summary, false).unwrap();
        assert!(String::from_utf8(summary).unwrap().contains("\nnot carried: ADR 3, N 1, NOTE 1\n"));
    }
}
