//! `inspect`: the import's reading path on its own, with no network. Streams every record
//! through the same reading and mapping code as `import`, and tells what would be carried, what
//! would not, which records are invalid and which repeat a person already seen in the input.
//!
//! Memory stays flat whatever the input size: records are not kept, the person keys already
//! seen are hashed and kept in bounded memory ([`SeenKeys`] spills to a temporary file), and the
//! per-record JSON lines go straight to the report file.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::atomic_file::AtomicFile;
use crate::formats::Format;
use crate::import::read::{for_each_record, InputError, InputRecord};
use crate::import::seen_keys::SeenKeys;
use crate::mapping::{Dropped, MappingOptions};
use crate::report::{create_report, dropped_line, write_table, ReportFormat, Row, Tabular};
use crate::wire::DeviceType;

#[derive(Debug, Clone, Default, Serialize)]
pub struct InspectSummary {
    pub records: u64,
    pub valid: u64,
    pub invalid: u64,
    /// Valid records whose person was already seen earlier in the input (an import merges them).
    pub duplicates_in_input: u64,
    /// Records per carried field (`lastname`, `emailperso`, `phone`, `photo`, …).
    pub coverage: BTreeMap<String, u64>,
    /// Values per field the API cannot carry.
    pub not_carried: BTreeMap<String, u64>,
    pub warnings: u64,
    /// About whole inputs: an empty file, a folder with no card.
    pub input_warnings: Vec<String>,
    /// Calls an import into an empty account would need at least.
    pub minimum_calls: u64,
    pub bytes_read: u64,
    pub elapsed_ms: u128,
}

#[derive(Debug, Serialize)]
struct InspectLine<'a> {
    source: &'a str,
    name: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_of_record: Option<u64>,
    calls: usize,
    dropped: &'a [Dropped],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// Why an inspection stopped.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("cannot write the report {}: {source}", path.display())]
    Report { path: PathBuf, source: std::io::Error },
}

/// Inspects `files`, streaming per-record lines to `report` (JSON) when given.
pub fn inspect(
    files: &[PathBuf],
    format: Format,
    opts: &MappingOptions,
    report: Option<&Path>,
    mut on_record: impl FnMut(&InputRecord),
) -> Result<InspectSummary, InspectError> {
    let started = Instant::now();
    let report_error = |source: std::io::Error| InspectError::Report {
        path: report.map(Path::to_path_buf).unwrap_or_default(),
        source,
    };
    let mut summary = InspectSummary::default();
    let mut seen = SeenKeys::default();
    let mut coverage = Coverage::default();
    let mut out = match report {
        Some(path) => Some(Sink::open(path).map_err(report_error)?),
        None => None,
    };
    summary.input_warnings = for_each_record(files, format, opts, |record| {
        summary.records += 1;
        summary.warnings += record.warnings.len() as u64;
        let mut duplicate_of = None;
        let mut calls = 0;
        let status = match record.valid() {
            None => {
                summary.invalid += 1;
                INVALID
            }
            Some(m) => {
                summary.valid += 1;
                coverage.count(m);
                let key_hash = m.person_key.as_ref().map(|k| {
                    let mut h = DefaultHasher::new();
                    k.hash(&mut h);
                    h.finish()
                });
                let first = match key_hash {
                    Some(h) => seen.first_seen(h, summary.records).map_err(|e| {
                        std::io::Error::other(format!("cannot keep the index of people seen: {e}"))
                    })?,
                    None => None,
                };
                match first {
                    Some(first) => {
                        summary.duplicates_in_input += 1;
                        duplicate_of = Some(first);
                        DUPLICATE
                    }
                    _ => {
                        calls = 1 + m.devices.len() + usize::from(m.photo.is_some());
                        summary.minimum_calls += calls as u64;
                        VALID
                    }
                }
            }
        };
        let dropped: &[Dropped] = record.mapped.as_ref().map(|m| m.dropped.as_slice()).unwrap_or(&[]);
        for d in dropped {
            bump(&mut summary.not_carried, &d.field);
        }
        if let Some(sink) = out.as_mut() {
            let line = InspectLine {
                source: &record.source,
                name: &record.name,
                status,
                duplicate_of_record: duplicate_of,
                calls,
                dropped,
                warnings: &record.warnings,
                error: record.error.as_deref(),
            };
            sink.record(summary.records, &line)?;
        }
        on_record(record);
        Ok(())
    })?;
    summary.coverage = coverage.into_map();
    summary.bytes_read = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    summary.elapsed_ms = started.elapsed().as_millis();
    if let Some(sink) = out {
        sink.finish(&summary).map_err(report_error)?;
    }
    Ok(summary)
}

/// Where the per-record lines go: the JSON report itself, streamed as records are read (`-`
/// prints them as they come); or, for an HTML or CSV report, which can only be written whole, a
/// temporary file (unlinked at once: nothing is left behind) read back at the end. The report's
/// file is created first either way, so that a report that cannot be written stops the run
/// before anything is read.
enum Sink {
    Json(AtomicFile),
    Table { file: AtomicFile, format: ReportFormat, lines: std::io::BufWriter<std::fs::File> },
}

impl Sink {
    fn open(path: &Path) -> std::io::Result<Sink> {
        match create_report(path)? {
            (mut file, ReportFormat::Json) => {
                file.write_all(b"{\"records\": [\n")?;
                Ok(Sink::Json(file))
            }
            (file, format) => {
                Ok(Sink::Table { file, format, lines: std::io::BufWriter::new(tempfile::tempfile()?) })
            }
        }
    }

    /// The `n`-th record's line (from 1).
    fn record(&mut self, n: u64, line: &InspectLine<'_>) -> std::io::Result<()> {
        match self {
            Sink::Json(w) => {
                if n > 1 {
                    w.write_all(b",\n")?;
                }
                serde_json::to_writer(&mut *w, line)?;
            }
            Sink::Table { lines, .. } => {
                serde_json::to_writer(&mut *lines, line)?;
                lines.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn finish(self, summary: &InspectSummary) -> std::io::Result<()> {
        match self {
            Sink::Json(mut w) => {
                w.write_all(b"\n],\n\"summary\": ")?;
                serde_json::to_writer_pretty(&mut w, summary)?;
                w.write_all(b"}\n")?;
                w.commit()
            }
            Sink::Table { mut file, format, lines } => {
                let lines = lines.into_inner().map_err(|e| e.into_error())?;
                write_table(&mut file, format, &InspectTable { summary, lines })?;
                file.commit()
            }
        }
    }
}

/// The inspection as an HTML or CSV report: its summary, and a row per record read back from
/// the sink's temporary file.
struct InspectTable<'a> {
    summary: &'a InspectSummary,
    lines: std::fs::File,
}

/// A record's line as read back ([`InspectLine`], owned).
#[derive(Deserialize)]
struct InspectRow {
    source: String,
    name: String,
    status: String,
    #[serde(default)]
    duplicate_of_record: Option<u64>,
    calls: usize,
    dropped: Vec<Dropped>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    error: Option<String>,
}

/// The statuses of [`InspectLine`], in the order the report's filters show them.
const VALID: &str = "valid";
const DUPLICATE: &str = "duplicate";
const INVALID: &str = "invalid";
const STATUSES: [&str; 3] = [VALID, DUPLICATE, INVALID];

impl Tabular for InspectTable<'_> {
    fn title(&self) -> &'static str {
        "inspection report"
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::to_value(self.summary).unwrap_or_default()
    }

    fn outcomes(&self) -> Vec<&'static str> {
        STATUSES.to_vec()
    }

    fn columns(&self) -> &'static [&'static str] {
        &["source", "name", "status", "duplicate of record", "calls", "not carried", "warnings", "error"]
    }

    fn for_each_row(&self, each: &mut dyn FnMut(Row) -> std::io::Result<()>) -> std::io::Result<()> {
        use std::io::{BufRead, Seek};
        (&self.lines).seek(std::io::SeekFrom::Start(0))?;
        for line in std::io::BufReader::new(&self.lines).lines() {
            let r: InspectRow = serde_json::from_str(&line?)?;
            let outcome = STATUSES.into_iter().find(|s| *s == r.status).unwrap_or(INVALID);
            each(Row {
                outcome,
                cells: vec![
                    r.source,
                    r.name,
                    r.status,
                    r.duplicate_of_record.map(|n| n.to_string()).unwrap_or_default(),
                    r.calls.to_string(),
                    r.dropped.iter().map(dropped_line).collect::<Vec<_>>().join("\n"),
                    r.warnings.join("\n"),
                    r.error.unwrap_or_default(),
                ],
                thumbnail: None,
            })?;
        }
        Ok(())
    }
}

/// Records per carried field, counted in an array while reading (this runs on the thread that
/// puts records back in order, so per-record map lookups would slow every core's output) and
/// written into the summary's map at the end.
#[derive(Default)]
struct Coverage([u64; COVERAGE_FIELDS.len()]);

const COVERAGE_FIELDS: [&str; 14] = [
    "lastname",
    "firstname",
    "nickname",
    "company",
    "department",
    "function",
    "birthday",
    "civility",
    "emailperso",
    "photo",
    "device:email",
    "device:phone",
    "device:url",
    "device:other",
];

impl Coverage {
    fn count(&mut self, m: &crate::mapping::Mapped) {
        let c = &m.contact;
        let present = [
            c.lastname.is_some(),
            c.firstname.is_some(),
            c.nickname.is_some(),
            c.company.is_some(),
            c.department.is_some(),
            c.function.is_some(),
            c.birthday.is_some(),
            c.civility.is_some(),
            c.emailperso.is_some(),
            m.photo.is_some(),
        ];
        for (n, present) in self.0.iter_mut().zip(present) {
            *n += u64::from(present);
        }
        for d in &m.devices {
            let device = match d.kind {
                DeviceType::Email => 0,
                DeviceType::Phone => 1,
                DeviceType::Url => 2,
                DeviceType::Other(_) => 3,
            };
            self.0[present.len() + device] += 1;
        }
    }

    /// The fields present at least once, by name.
    fn into_map(self) -> BTreeMap<String, u64> {
        COVERAGE_FIELDS.iter().zip(self.0).filter(|(_, n)| *n > 0).map(|(f, n)| (f.to_string(), n)).collect()
    }
}

/// Counts one more `name`, allocating its key only the first time.
fn bump(counts: &mut BTreeMap<String, u64>, name: &str) {
    match counts.get_mut(name) {
        Some(n) => *n += 1,
        None => {
            counts.insert(name.to_string(), 1);
        }
    }
}

impl InspectSummary {
    /// The human summary for stderr.
    pub fn human(&self) -> String {
        let mut s = format!(
            "{} records: {} valid, {} invalid, {} repeat a person seen earlier; an import into an empty account needs at least {} calls; {} warnings; {:.1}s\n",
            self.records, self.valid, self.invalid, self.duplicates_in_input, self.minimum_calls, self.warnings,
            self.elapsed_ms as f64 / 1000.0
        );
        for warning in &self.input_warnings {
            s.push_str(&format!("warning: {warning}\n"));
        }
        if !self.coverage.is_empty() {
            let cov: Vec<String> = self.coverage.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.push_str(&format!("carried: {}\n", cov.join(", ")));
        }
        if !self.not_carried.is_empty() {
            let nc: Vec<String> = self.not_carried.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.push_str(&format!("not carried by the API: {}\n", nc.join(", ")));
        }
        s
    }
}
