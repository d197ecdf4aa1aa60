//! The export's JSON report (`--report`) and the lines printed at the end of a run.

use std::io;
use std::path::Path;
use std::rc::Rc;

use serde::{Serialize, Serializer};

use super::{vdir, Spill};
use crate::listing;
use crate::report::{serialize_streamed, Row, Tabular};

#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportSummary {
    pub contacts: usize,
    pub written: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub errors: usize,
    pub photos: usize,
    pub searches: usize,
    pub pages_followed: usize,
    pub truncated_resolved: usize,
    pub incomplete_prefixes: usize,
    pub api_calls: u64,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactEntry {
    pub id: String,
    pub uid: String,
    pub name: String,
    /// `written`, `unchanged`, `refused` (read, but the update was refused) or `error` (listed
    /// but not read, "data not found" included; its previous card is kept).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub photo: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Exported, but reading it had to repair something (see [`super::Fetched::warnings`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The report's contacts: one entry per card read, in the file order, then one per contact
/// listed but not read. The entries of the cards read are made as they are shown, from the
/// export's spill (a million of them are never all in memory; the JSON report streams them).
#[derive(Clone)]
pub struct ContactList {
    cards: Rc<Spill>,
    /// The update was refused: every card read is `refused`.
    refused: bool,
    /// A vdir: each entry names its file.
    files: bool,
    unread: Vec<ContactEntry>,
}

impl ContactList {
    pub fn new(cards: Rc<Spill>, refused: bool, files: bool, unread: Vec<ContactEntry>) -> ContactList {
        ContactList { cards, refused, files, unread }
    }

    /// Every entry, in order, to `f`; the first error, `f`'s or the spill's, ends the list.
    pub fn for_each(&self, mut f: impl FnMut(ContactEntry) -> io::Result<()>) -> io::Result<()> {
        self.cards.for_each_card(|c| {
            f(ContactEntry {
                status: match (self.refused, c.written) {
                    (true, _) => "refused",
                    (false, true) => "written",
                    (false, false) => "unchanged",
                },
                file: self.files.then(|| vdir::file_name(&c.uid)),
                id: c.id,
                uid: c.uid,
                name: c.name,
                photo: c.photo,
                error: None,
                warnings: c.warnings,
            })
        })?;
        self.unread.iter().cloned().try_for_each(f)
    }

    /// Every entry, in memory (tests and `Debug`; the reports stream them with `for_each`).
    pub fn to_vec(&self) -> Vec<ContactEntry> {
        let mut all = Vec::new();
        self.for_each(|c| {
            all.push(c);
            Ok(())
        })
        .expect("the export's spill reads back");
        all
    }

    /// The contacts listed but not read (status `error`).
    pub fn unread(&self) -> &[ContactEntry] {
        &self.unread
    }
}

impl std::fmt::Debug for ContactList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.to_vec()).finish()
    }
}

impl Serialize for ContactList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_streamed(serializer, None, |each| self.for_each(each))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EnumerationReport {
    pub complete: bool,
    /// `--quick`: CJK ideographs were searched only as the initials of the names already backed
    /// up, so a new contact whose name starts with another one is not listed.
    pub quick: bool,
    pub paging: listing::Paging,
    #[serde(flatten)]
    pub stats: listing::EnumStats,
    pub incomplete: Vec<listing::IncompletePrefix>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// `--dry-run`: nothing was written or deleted; `written` and `deleted` say what would be.
    pub dry_run: bool,
    pub path: String,
    pub layout: &'static str,
    pub version: &'static str,
    /// Where the cards came from, as the backup records it (no token).
    pub source: String,
    pub summary: ExportSummary,
    pub enumeration: EnumerationReport,
    /// Why the update was refused (then nothing was written or deleted), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What the user should know about the backup itself (its source recorded or changed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub deleted: Vec<String>,
    /// Cards of contacts not read this time (unreadable, not listed, or deletion refused), kept
    /// as they were.
    pub kept: Vec<String>,
    pub contacts: ContactList,
}

impl ExportReport {
    /// Writes the report in the format `path`'s extension names.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::report::write_report(path, self)
    }

    /// The lines printed at the end of a run (stderr).
    pub fn human(&self) -> String {
        let s = &self.summary;
        let (head, [written, deleted], tail) = match self.dry_run {
            false => ("exported", ["written", "deleted"], ""),
            true => ("dry run: would export", ["to write", "to delete"], "; nothing was written"),
        };
        let mut out = format!(
            "{head} {} contact(s) to {} ({} {written}, {} unchanged, {} {deleted}, {} error(s)){tail}; \
             {} API calls in {:.1}s\n",
            s.contacts,
            self.path,
            s.written,
            s.unchanged,
            s.deleted,
            s.errors,
            s.api_calls,
            s.elapsed_ms as f64 / 1000.0
        );
        let e = &self.enumeration;
        out.push_str(&format!(
            "listing: {} searches over {} alphabet entries, {} page(s) followed, {} refinement(s), \
             {}/{} truncated answer(s) resolved, paging {:?}: {}\n",
            e.stats.searches,
            e.stats.alphabet,
            e.stats.pages_followed,
            e.stats.refinements,
            e.stats.truncated_resolved,
            e.stats.truncated,
            e.paging,
            if e.complete {
                "complete".to_string()
            } else {
                format!("{} prefix(es) INCOMPLETE", e.incomplete.len())
            }
        ));
        if e.quick {
            out.push_str(
                "quick listing: CJK ideographs searched only as initials of names already backed up; \
                 run without --quick now and then to find new ones\n",
            );
        }
        for p in &e.incomplete {
            out.push_str(&format!(
                "  incomplete prefix {:?}: {} of {} found ({})\n",
                p.prefix,
                p.found,
                p.expected.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                p.reason
            ));
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        if let Some(r) = &self.refused {
            out.push_str(&format!("refused: {r}\n"));
        }
        for c in self.contacts.unread() {
            out.push_str(&format!(
                "  error: contact {} ({}): {}\n",
                c.id,
                c.name,
                c.error.as_deref().unwrap_or("")
            ));
        }
        out.push_str(&self.warning_lines());
        out
    }

    /// One line per contact warning (also shown by a quiet run).
    pub fn warning_lines(&self) -> String {
        let mut out = String::new();
        let read = self.contacts.for_each(|c| {
            for w in &c.warnings {
                out.push_str(&format!("  warning: contact {} ({}): {w}\n", c.id, c.name));
            }
            Ok(())
        });
        if let Err(e) = read {
            out.push_str(&format!("  warning: the contacts' warnings could not be read back: {e}\n"));
        }
        out
    }
}

impl Tabular for ExportReport {
    fn title(&self) -> &'static str {
        "export report"
    }

    fn summary(&self) -> serde_json::Value {
        let mut summary = serde_json::to_value(&self.summary).unwrap_or_default();
        if let Some(fields) = summary.as_object_mut() {
            fields.insert("path".into(), self.path.clone().into());
            fields.insert("complete listing".into(), self.enumeration.complete.into());
            if let Some(refused) = &self.refused {
                fields.insert("refused".into(), refused.clone().into());
            }
            if !self.notes.is_empty() {
                fields.insert("notes".into(), self.notes.clone().into());
            }
        }
        summary
    }

    fn outcomes(&self) -> Vec<&'static str> {
        vec!["written", "unchanged", "refused", "error"]
    }

    fn columns(&self) -> &'static [&'static str] {
        &["id", "name", "status", "file", "photo", "error", "warnings"]
    }

    fn for_each_row(&self, each: &mut dyn FnMut(Row) -> io::Result<()>) -> io::Result<()> {
        self.contacts.for_each(|c| {
            each(Row {
                outcome: c.status,
                cells: vec![
                    c.id,
                    c.name,
                    c.status.to_string(),
                    c.file.unwrap_or_default(),
                    if c.photo { "yes" } else { "" }.to_string(),
                    c.error.unwrap_or_default(),
                    c.warnings.join("\n"),
                ],
                thumbnail: None,
            })
        })
    }
}
