//! Export: the whole account to one `.vcf` file or a vdir, with a JSON report. [`export`] runs
//! the steps in order, each one function:
//!
//! 1. admit the path ([`backup`]): what is there, and may this run write it? Before any call;
//! 2. list every contact ([`crate::listing`]; `--quick` with the backup's initials);
//! 3. fetch each one with its picture ([`fetch`]);
//! 4. render it ([`crate::mapping::from_api`], [`crate::formats::vcard_write`]);
//! 5. guard: one pure decision ([`guard`]) says which cards are written, kept or deleted, or
//!    refuses the whole update;
//! 6. write the file or the vdir ([`vdir`]), atomically;
//! 7. report ([`report`]) and the [`Outcome`]: complete, incomplete or refused.
//!
//! `check` ([`check`]) compares local vCards with the account over the same listing and fetch.
//!
//! Repeatable: cards carry no timestamps and are sorted by folded name then id, so an unchanged
//! account gives byte-identical output; in a vdir only changed files are rewritten.

pub mod backup;
pub mod check;
pub mod fetch;
pub mod guard;
pub mod report;
pub mod spill;
pub mod vdir;

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::atomic_file::{self, Accept};
use crate::client::ApiError;
use crate::formats::vcard_write::{write_card_marked, VcardVersion};
use crate::listing::{self, Enumeration};
use crate::progress::Progress;
use crate::remote::Remote;
use crate::source::{RecordedSource, Source};
use crate::wire::search::fold;
pub use fetch::{fetch_all, fetch_each, FetchProblem, FetchStop, Fetched};
pub use report::{ContactEntry, ContactList, EnumerationReport, ExportReport, ExportSummary};
pub use spill::Spill;

/// How an export is written (`--layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// One .vcf file holding every card.
    File,
    /// A vdir: one .vcf per contact.
    Dir,
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub path: PathBuf,
    pub layout: Layout,
    pub version: VcardVersion,
    pub photos: bool,
    /// The account read, recorded in the backup.
    pub source: Source,
    pub overrides: backup::Overrides,
    pub limits: guard::Limits,
    pub concurrency: usize,
    /// `--quick`: list with [`listing::quick_alphabet`] and the backup's own initials.
    pub quick: bool,
    /// `--dry-run`: every step but the writing (step 6 says what it would write and delete).
    pub dry_run: bool,
}

/// `--layout`, else a path ending in `.vcf` (or `-`, standard output) is one file and anything
/// else a vdir.
pub fn resolve_layout(path: &Path, layout: Option<Layout>) -> Layout {
    layout.unwrap_or_else(|| {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("vcf")) || atomic_file::is_stdout(path) {
            Layout::File
        } else {
            Layout::Dir
        }
    })
}

/// How an export that ran to its end went (the report says the details).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every contact listed and read: the backup is the account.
    Complete,
    /// Written, but the listing was incomplete or contacts were unreadable (their cards kept).
    Incomplete,
    /// The guard refused the update: nothing was written or deleted.
    Refused(guard::Refusal),
}

/// An export that ran to its end.
pub struct ExportRun {
    pub report: ExportReport,
    pub outcome: Outcome,
}

/// Why an export stopped before its report, and what it left at PATH.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A fatal API error (refused token or consent, endpoint unreachable or broken).
    #[error("{}", .0.redacted())]
    Account(ApiError),
    /// PATH holds something this run may not write over; nothing was asked of the account.
    #[error("{0}")]
    Refused(backup::Refused),
    /// PATH could not be checked, read or written.
    #[error("{}", disk_failure(path, *access, source))]
    Backup { path: PathBuf, access: Access, source: io::Error },
}

/// What an export was doing with its PATH when the disk failed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Checking, before the listing, that PATH can take a file (not a FIFO, a device, …).
    Check,
    /// Reading the backup already there.
    Read,
    /// Keeping the cards in the temporary folder between reading and writing (PATH is as it was).
    Temporary,
    /// Reading the backup's names for `--quick`.
    Names,
    /// Replacing the single file (atomic: it is as it was).
    WriteFile,
    /// Updating the vdir: `written` cards were replaced (each one whole) and `deleted` removed
    /// before the failure.
    WriteVdir { written: usize, deleted: usize },
}

impl Error {
    /// Whether PATH is as it was: no card written or deleted.
    pub fn nothing_written(&self) -> bool {
        !matches!(self, Error::Backup { access: Access::WriteVdir { written, deleted }, .. } if written + deleted > 0)
    }
}

fn disk_failure(path: &Path, access: Access, e: &io::Error) -> String {
    match access {
        Access::Check => format!("cannot write the export to {}: {e}", path.display()),
        Access::Read => format!("cannot read the existing backup: {e}"),
        Access::Temporary => format!("cannot keep the cards in the temporary folder: {e}"),
        Access::Names => format!("--quick needs the existing backup's names: {e}"),
        Access::WriteFile => format!("cannot write the export: {e}"),
        Access::WriteVdir { written: 0, deleted: 0 } => format!("cannot write the vdir: {e}"),
        Access::WriteVdir { written, deleted } => format!(
            "cannot write the vdir: {e}; {written} card(s) had been written (each one whole) and {deleted} \
             deleted before that, the other cards are as they were"
        ),
    }
}

/// Runs an export (the steps of the module documentation). `Err` when it stopped before its
/// report: a fatal API error, or a PATH it may not (or cannot) write; [`Error::nothing_written`]
/// says whether PATH is as it was. The cards read and the backup's cards wait in a [`Spill`]
/// between the steps, never all in memory.
pub async fn export<R: Remote>(
    remote: &R,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<ExportRun, Error> {
    let started = Instant::now();
    let spill = Spill::new().map_err(|source| temporary(opts, source))?;
    let target = admit(opts, &spill)?;
    let listing = list(remote, opts, progress).await?;
    let ids = listing.contacts.ids();
    let source_line = target.recorded.to_line();
    let marks = marks(opts.layout, &source_line);
    let keep = |f: Fetched| spill.add_card(&render_one(&f, opts.version, &marks));
    let problems = match fetch_each(remote, ids, opts.photos, opts.concurrency, progress, keep).await {
        Ok(problems) => problems,
        Err(FetchStop::Api(e)) => return Err(Error::Account(e)),
        Err(FetchStop::Sink(e)) => return Err(temporary(opts, e)),
    };
    let not_read = spill.not_read().map_err(|e| temporary(opts, e))?;
    let update = match decide(&target, &spill, &not_read, &problems, &listing, opts.limits) {
        Ok(Ok(plan)) => write(opts, &spill, &plan)?,
        Ok(Err(refusal)) => Update::refused(refusal, &not_read, opts.layout),
        Err(e) => return Err(temporary(opts, e)),
    };
    let outcome = match &update.refused {
        Some(refusal) => Outcome::Refused(refusal.clone()),
        None if !listing.is_complete() || !problems.is_empty() => Outcome::Incomplete,
        None => Outcome::Complete,
    };
    let spill = std::rc::Rc::new(spill);
    let run = Run { opts, target: &target, listing: &listing, spill: &spill, problems: &problems, update };
    let report = run.report(remote.stats().requests(), started).map_err(|e| temporary(opts, e))?;
    Ok(ExportRun { report, outcome })
}

/// The spill failed (the temporary folder full or unwritable): PATH is as it was.
fn temporary(opts: &ExportOptions, source: io::Error) -> Error {
    Error::Backup { path: opts.path.clone(), access: Access::Temporary, source }
}

/// What PATH holds and what this run records there, decided before any call.
struct Target {
    /// The backup being updated (empty for a fresh one); its cards are in the spill.
    old: backup::Backup,
    recorded: RecordedSource,
    /// What the user should know about the backup itself (its source recorded or changed).
    notes: Vec<String>,
}

/// The properties every card ends with (see [`backup`]): a single file says its source
/// (`source_line`) in each card, a vdir in its metadata file.
fn marks(layout: Layout, source_line: &str) -> Vec<(&'static str, &str)> {
    match layout {
        Layout::Dir => vec![("PRODID", backup::PRODID)],
        Layout::File => vec![("PRODID", backup::PRODID), (backup::SOURCE_PROPERTY, source_line)],
    }
}

/// Step 1: may this run write PATH, and what backup is there (its cards into `spill`)? Nothing
/// is written.
fn admit(opts: &ExportOptions, spill: &Spill) -> Result<Target, Error> {
    let failed = |access| move |source| Error::Backup { path: opts.path.clone(), access, source };
    if opts.layout == Layout::File {
        // Before the listing: a FIFO or a device would block or lose the backup, after minutes.
        atomic_file::check_destination(&opts.path, Accept::FileOnly).map_err(failed(Access::Check))?;
    }
    let mut old_cards = spill;
    let existing = backup::inspect(&opts.path, opts.layout, &mut old_cards).map_err(failed(Access::Read))?;
    let admission =
        backup::admit(&opts.path, &existing, &opts.source, opts.overrides).map_err(Error::Refused)?;
    let old = match (&admission, existing) {
        (backup::Admission::Update { .. }, backup::Existing::Backup(b)) => b,
        _ => {
            spill.clear_old().map_err(|e| temporary(opts, e))?;
            backup::Backup::default()
        }
    };
    let recorded = opts.source.record();
    let notes = admission_notes(&admission, &opts.path, &old, &recorded);
    Ok(Target { old, recorded, notes })
}

fn admission_notes(
    admission: &backup::Admission,
    path: &Path,
    old: &backup::Backup,
    recorded: &RecordedSource,
) -> Vec<String> {
    match admission {
        backup::Admission::Update { adopted: true, .. } => vec![format!(
            "{} had no source recorded (written by an earlier version): recorded {}",
            path.display(),
            recorded.describe()
        )],
        backup::Admission::Update { other_source: true, .. } => vec![format!(
            "--allow-other-source: {} was a backup of {}; it is now one of {}",
            path.display(),
            old.sources.iter().map(|s| s.describe()).collect::<Vec<_>>().join(" and "),
            recorded.describe()
        )],
        _ => Vec::new(),
    }
}

/// Step 2: every contact of the account.
async fn list<R: Remote>(
    remote: &R,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<Enumeration, Error> {
    let alphabet = if opts.quick {
        let initials = vdir::name_initials(&opts.path, opts.layout).map_err(|source| Error::Backup {
            path: opts.path.clone(),
            access: Access::Names,
            source,
        })?;
        listing::quick_alphabet(&initials)
    } else {
        listing::alphabet()
    };
    listing::enumerate_with(remote, alphabet, opts.concurrency, progress).await.map_err(Error::Account)
}

/// One rendered card.
#[derive(Debug, Clone)]
pub struct Card {
    pub id: String,
    pub uid: String,
    pub name: String,
    pub photo: bool,
    pub text: String,
    pub warnings: Vec<String>,
}

/// Step 4: contacts as cards, each followed by `marks` (see [`backup`]), sorted by folded
/// display name then id (the stable file order).
pub fn render(fetched: &[Fetched], version: VcardVersion, marks: &[(&str, &str)]) -> Vec<Card> {
    let mut cards: Vec<(String, Card)> =
        fetched.iter().map(|f| render_one(f, version, marks)).map(|c| (fold(&c.name), c)).collect();
    cards.sort_by(|a, b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
    cards.into_iter().map(|(_, c)| c).collect()
}

/// Step 4 for one contact (the [`Spill`] keeps the cards in the order of [`render`]).
pub fn render_one(f: &Fetched, version: VcardVersion, marks: &[(&str, &str)]) -> Card {
    let contact = crate::mapping::from_api(&f.detail, f.picture.as_ref());
    let uid = vdir::uid_for_id(&f.id);
    let name = contact.display_name();
    let text = write_card_marked(&contact, version, &uid, marks);
    let photo = contact.photo.is_some();
    Card { id: f.id.clone(), uid, name, photo, text, warnings: f.warnings.clone() }
}

/// Step 5: the guard's decision over what the backup holds (`not_read`: its cards whose contact
/// was not read) and what this run read. `Err`: the spill failed.
fn decide(
    target: &Target,
    spill: &Spill,
    not_read: &[String],
    problems: &[FetchProblem],
    listing: &Enumeration,
    limits: guard::Limits,
) -> io::Result<Result<guard::Plan, guard::Refusal>> {
    let unreadable: BTreeSet<String> = problems.iter().map(|p| vdir::uid_for_id(&p.id)).collect();
    let evidence = guard::Evidence {
        existing: target.old.cards,
        read: spill.card_count()?,
        not_read,
        unreadable: &unreadable,
        listing_complete: listing.is_complete(),
    };
    Ok(guard::decide(evidence, limits))
}

/// What became of the backup's cards (the cards whose bytes changed are marked in the spill).
struct Update {
    /// Why the whole update was refused (then nothing was written or deleted).
    refused: Option<guard::Refusal>,
    deleted: Vec<String>,
    /// Backup cards of contacts not read this time, as the report names them.
    kept: Vec<String>,
}

impl Update {
    fn refused(refusal: guard::Refusal, not_read: &[String], layout: Layout) -> Update {
        let kept = not_read.iter().map(|u| shown(u, layout)).collect();
        Update { refused: Some(refusal), deleted: Vec::new(), kept }
    }
}

/// How the report names a backup card: its file in a vdir, its UID in a single file.
fn shown(uid: &str, layout: Layout) -> String {
    match layout {
        Layout::Dir => vdir::file_name(uid),
        Layout::File => uid.to_string(),
    }
}

/// Step 6: what the guard allowed, written (`--dry-run`: only found, nothing touched).
fn write(opts: &ExportOptions, spill: &Spill, plan: &guard::Plan) -> Result<Update, Error> {
    let deleted = match opts.layout {
        Layout::Dir => write_vdir(opts, spill, plan)?,
        Layout::File => write_file(opts, spill, plan)?,
    };
    let kept = plan.keep.iter().map(|(u, _)| shown(u, opts.layout)).collect();
    Ok(Update { refused: None, deleted, kept })
}

/// The spill's cards as a vdir's files, in the file order.
impl vdir::VdirCards for Spill {
    fn each(&self, card: &mut dyn FnMut(&str, &[u8]) -> io::Result<()>) -> io::Result<()> {
        self.for_each_body(|uid, body| card(&vdir::file_name(uid), body))
    }
}

/// The changed cards and the metadata replaced one by one, then the deletions.
fn write_vdir(opts: &ExportOptions, spill: &Spill, plan: &guard::Plan) -> Result<Vec<String>, Error> {
    let path = &opts.path;
    let delete: Vec<String> = plan.delete.iter().map(|u| vdir::file_name(u)).collect();
    let metadata = backup::vdir_metadata(&opts.source.record());
    let mut written = |name: &str| spill.mark_written(name.strip_suffix(".vcf").unwrap_or(name));
    let out = match opts.dry_run {
        true => vdir::preview_vdir(path, spill, &delete, &mut written),
        false => vdir::apply_vdir(path, &metadata, spill, &delete, &mut written),
    };
    let out = out.map_err(|e| Error::Backup {
        path: path.to_path_buf(),
        access: Access::WriteVdir { written: e.done.written, deleted: e.done.deleted.len() },
        source: e.source,
    })?;
    Ok(out.deleted)
}

/// The new cards and the kept old ones, in the stable order, replacing the file at once (streamed
/// from the spill into the temporary file, after a first pass finds whether anything changed).
fn write_file(opts: &ExportOptions, spill: &Spill, plan: &guard::Plan) -> Result<Vec<String>, Error> {
    let path = &opts.path;
    spill.mark_kept(plan.keep.iter().map(|(u, _)| u)).map_err(|e| temporary(opts, e))?;
    if !opts.dry_run {
        let mut cards = |chunk: &mut dyn FnMut(&[u8]) -> io::Result<bool>| spill.for_each_file_card(chunk);
        vdir::write_streamed_if_changed(path, &mut cards).map_err(|source| Error::Backup {
            path: path.to_path_buf(),
            access: Access::WriteFile,
            source,
        })?;
    }
    spill.mark_written_unless_in_backup().map_err(|e| temporary(opts, e))?;
    Ok(plan.delete.clone())
}

/// Everything step 7 reports on.
struct Run<'a> {
    opts: &'a ExportOptions,
    target: &'a Target,
    listing: &'a Enumeration,
    spill: &'a std::rc::Rc<Spill>,
    problems: &'a [FetchProblem],
    update: Update,
}

impl Run<'_> {
    /// Step 7: the report.
    fn report(self, api_calls: u64, started: Instant) -> io::Result<ExportReport> {
        let (opts, listing) = (self.opts, self.listing);
        let refused = self.update.refused.is_some();
        let contacts_read = self.spill.card_count()?;
        let written = self.spill.written_count()?;
        let summary = ExportSummary {
            contacts: contacts_read,
            written,
            unchanged: if refused { 0 } else { contacts_read - written },
            deleted: self.update.deleted.len(),
            errors: self.problems.len(),
            photos: self.spill.photo_count()?,
            searches: listing.stats.searches,
            pages_followed: listing.stats.pages_followed,
            truncated_resolved: listing.stats.truncated_resolved,
            incomplete_prefixes: listing.incomplete.len(),
            api_calls,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        let contacts = self.contact_entries()?;
        Ok(ExportReport {
            dry_run: opts.dry_run,
            path: opts.path.display().to_string(),
            layout: match opts.layout {
                Layout::File => "file",
                Layout::Dir => "dir",
            },
            version: match opts.version {
                VcardVersion::V3 => "3.0",
                VcardVersion::V4 => "4.0",
            },
            source: self.target.recorded.describe(),
            summary,
            enumeration: EnumerationReport {
                complete: listing.is_complete(),
                quick: opts.quick,
                paging: listing.paging,
                stats: listing.stats.clone(),
                incomplete: listing.incomplete.clone(),
            },
            refused: self.update.refused.map(|r| r.to_string()),
            // A refused update recorded nothing either.
            notes: if refused { Vec::new() } else { self.target.notes.clone() },
            deleted: self.update.deleted,
            kept: self.update.kept,
            contacts,
        })
    }

    /// One entry per card read, then one per contact listed but not read.
    fn contact_entries(&self) -> io::Result<ContactList> {
        let unread = self.problems.iter().map(|p| self.problem_entry(p)).collect::<io::Result<_>>()?;
        let refused = self.update.refused.is_some();
        Ok(ContactList::new(self.spill.clone(), refused, self.opts.layout == Layout::Dir, unread))
    }

    fn problem_entry(&self, p: &FetchProblem) -> io::Result<ContactEntry> {
        let uid = vdir::uid_for_id(&p.id);
        let what = if p.gone { "listed, but reading it answered \"data not found\"" } else { "not read" };
        let fate = if self.spill.has_old(&uid)? { "its previous card is kept" } else { "it has no card yet" };
        Ok(ContactEntry {
            id: p.id.clone(),
            uid,
            name: self.listing.contacts.get(&p.id).as_ref().map(summary_name).unwrap_or_default(),
            status: "error",
            file: None,
            photo: false,
            error: Some(format!("{what} ({}); {fate}", p.message)),
            warnings: Vec::new(),
        })
    }
}

/// A readable name for a listing entry.
pub fn summary_name(s: &crate::wire::ContactSummary) -> String {
    let names = crate::wire::search::searchable_names(
        s.firstname.as_deref(),
        s.lastname.as_deref(),
        s.nickname.as_deref(),
        s.company.as_deref(),
    );
    names.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;
    use crate::remote::memory::MemoryRemote;
    use crate::wire::{ContactDetail, Device, DeviceSubtype, DeviceType, ImageType, Picture};

    /// An account of `details`, pages capped at `page_size`, paging honoured.
    fn account(details: Vec<ContactDetail>, page_size: Option<u32>) -> MemoryRemote {
        let remote = MemoryRemote::with_contacts(details);
        remote.set_paging(page_size, true);
        remote
    }

    fn detail(id: &str, first: &str, last: &str) -> ContactDetail {
        ContactDetail {
            id: id.into(),
            firstname: Some(first.into()),
            lastname: Some(last.into()),
            devices: vec![Device {
                id: format!("d{id}"),
                kind: DeviceType::Email,
                subtype: DeviceSubtype::Internet,
                info_type: Some("perso".into()),
                order: 1,
                display: true,
                value: format!("{first}@example.org"),
            }],
            ..Default::default()
        }
    }

    fn people(n: usize) -> Vec<ContactDetail> {
        (0..n).map(|i| detail(&format!("c{i}"), &format!("Anne{i:03}"), "Martin")).collect()
    }

    fn opts(path: &Path, layout: Layout) -> ExportOptions {
        ExportOptions {
            path: path.to_path_buf(),
            layout,
            version: VcardVersion::V3,
            photos: true,
            source: Source::endpoint("http://memory.invalid/PersonalContacts/V1", "token"),
            overrides: backup::Overrides::default(),
            limits: guard::Limits { max_delete: 50, max_delete_percent: 50 },
            concurrency: 4,
            quick: false,
            dry_run: false,
        }
    }

    #[test]
    fn quick_listing_finds_what_the_backup_holds_with_a_twentieth_of_the_searches() {
        let tmp = tempfile::tempdir().unwrap();
        for layout in [Layout::Dir, Layout::File] {
            let path = tmp.path().join(if layout == Layout::Dir { "book" } else { "book.vcf" });
            let acc = account(
                vec![
                    detail("1", "Anne", "Martin"),
                    detail("2", "美咲", "佐藤"),
                    detail("3", "Иван", "Петров"),
                ],
                None,
            );
            let quick = ExportOptions { quick: true, ..opts(&path, layout) };
            // No backup yet: the CJK-named contact is not found (and the report says it was quick).
            let first = small_run(&acc, &quick);
            assert_eq!(first.report.summary.contacts, 2);
            assert!(first.report.enumeration.quick && first.report.human().contains("quick listing"));
            let quick_searches = first.report.summary.searches;
            // A full export finds everyone; a quick one then lists the same, searching the backup's
            // CJK initials (佐, 美) on top of the reduced alphabet.
            let full = small_run(&acc, &opts(&path, layout));
            assert_eq!(full.report.summary.contacts, 3);
            assert!(
                quick_searches * 15 < full.report.summary.searches,
                "{quick_searches} vs {}",
                full.report.summary.searches
            );
            let again = small_run(&acc, &quick);
            assert_eq!(again.outcome, Outcome::Complete);
            assert_eq!((again.report.summary.contacts, again.report.summary.deleted), (3, 0));
            assert_eq!(again.report.summary.searches, quick_searches + 2);
            assert_eq!(again.report.summary.written, 0, "the backup is unchanged");
        }
    }

    fn small_run(acc: &MemoryRemote, o: &ExportOptions) -> ExportRun {
        futures::executor::block_on(export(acc, o, &Silent)).unwrap()
    }

    fn was_refused(run: &ExportRun) -> bool {
        matches!(run.outcome, Outcome::Refused(_))
    }

    #[test]
    fn vdir_export_is_repeatable_and_deletes_vanished_within_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("book");
        let acc = account(people(12), Some(5));
        acc.set_picture(
            "c3",
            Picture {
                id: None,
                content: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
                image_type: Some(ImageType::Jpeg),
            },
        );
        let o = opts(&d, Layout::Dir);
        let first = small_run(&acc, &o);
        assert_eq!(first.outcome, Outcome::Complete, "{}", first.report.human());
        assert_eq!((first.report.summary.contacts, first.report.summary.written), (12, 12));
        assert_eq!(first.report.summary.photos, 1);
        let snapshot: Vec<(PathBuf, Vec<u8>)> = {
            let mut v: Vec<_> = std::fs::read_dir(&d)
                .unwrap()
                .map(|e| e.unwrap().path())
                .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(snapshot.len(), 13, "12 cards and the backup's metadata");
        let second = small_run(&acc, &o);
        assert_eq!((second.report.summary.written, second.report.summary.unchanged), (0, 12));
        for (p, bytes) in &snapshot {
            assert_eq!(&std::fs::read(p).unwrap(), bytes);
        }
        // Two contacts vanish: deleted. Then 8 vanish with --max-delete 5: refused, nothing deleted.
        acc.set_contacts(people(10));
        let third = small_run(&acc, &o);
        assert_eq!(third.report.summary.deleted, 2);
        acc.set_contacts(people(2));
        let mut strict = o.clone();
        strict.limits.max_delete = 5;
        strict.limits.max_delete_percent = 100;
        let fourth = small_run(&acc, &strict);
        assert!(was_refused(&fourth));
        assert!(fourth.report.refused.as_deref().unwrap().contains("--max-delete"));
        assert_eq!(vdir::list_own_cards(&d).unwrap().len(), 10);
        // Empty listing: refused whatever the limit.
        acc.set_contacts(vec![]);
        let fifth = small_run(&acc, &o);
        assert!(was_refused(&fifth));
        assert_eq!(vdir::list_own_cards(&d).unwrap().len(), 10);
    }

    #[test]
    fn single_file_is_sorted_and_byte_identical() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("all.vcf");
        let acc = account(
            vec![detail("2", "Zoé", "Zola"), detail("10", "Émile", "Albert"), detail("1", "émile", "Albert")],
            None,
        );
        let o = opts(&f, Layout::File);
        let first = small_run(&acc, &o);
        assert_eq!(first.outcome, Outcome::Complete);
        let text = std::fs::read_to_string(&f).unwrap();
        let uids: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("UID:")).collect();
        assert_eq!(uids, ["orange-contacts-1", "orange-contacts-10", "orange-contacts-2"]);
        let second = small_run(&acc, &o);
        assert_eq!((second.report.summary.written, second.report.summary.unchanged), (0, 3));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), text);
    }

    #[test]
    fn incomplete_listing_deletes_nothing_and_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("book");
        let acc = account(people(3), None);
        small_run(&acc, &opts(&d, Layout::Dir));
        // Ten people named exactly "Li", a cap of 3 and no paging: the listing cannot complete.
        acc.set_contacts(
            (0..10)
                .map(|i| detail(&format!("l{i}"), "Li", ""))
                .map(|mut d| {
                    d.lastname = None;
                    d
                })
                .collect(),
        );
        acc.set_paging(Some(3), false);
        let run = small_run(&acc, &opts(&d, Layout::Dir));
        assert_eq!(run.outcome, Outcome::Incomplete, "{}", run.report.human());
        assert!(!run.report.enumeration.complete);
        assert_eq!(run.report.summary.incomplete_prefixes, 1);
        assert_eq!(run.report.summary.deleted, 0);
        assert_eq!(run.report.kept.len(), 3);
        assert!(run.report.human().contains("INCOMPLETE"));
    }

    /// [`opts`] with the quick listing: these tests' names are all Latin, 20 times fewer searches.
    fn fast(path: &Path, layout: Layout) -> ExportOptions {
        ExportOptions { quick: true, ..opts(path, layout) }
    }

    fn snapshot(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<PathBuf> = if path.is_dir() {
            std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()).collect()
        } else {
            vec![path.to_path_buf()]
        };
        files.sort();
        files.into_iter().map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect()
    }

    fn ids(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("c{i}")).collect()
    }

    /// Issue 9, item 4: 60 listed, 45 of them answer "data not found". Their cards stay, each is
    /// an error, the exit code is 3 — in both layouts.
    #[test]
    fn listed_but_not_found_contacts_keep_their_cards_and_count_as_errors() {
        let tmp = tempfile::tempdir().unwrap();
        for layout in [Layout::Dir, Layout::File] {
            let path = tmp.path().join(if layout == Layout::Dir { "book" } else { "book.vcf" });
            let acc = account(people(60), None);
            let o = fast(&path, layout);
            assert_eq!(small_run(&acc, &o).outcome, Outcome::Complete);
            let before = snapshot(&path);
            acc.set_not_found(&ids(0..45));
            let run = small_run(&acc, &o);
            let s = &run.report.summary;
            assert_eq!(run.outcome, Outcome::Incomplete, "{layout:?}: {}", run.report.human());
            assert_eq!((s.contacts, s.errors, s.deleted), (15, 45, 0), "{layout:?}");
            assert_eq!(run.report.kept.len(), 45, "{layout:?}");
            assert_eq!(snapshot(&path), before, "{layout:?}: every card as it was");
            let errors: Vec<ContactEntry> =
                run.report.contacts.to_vec().into_iter().filter(|c| c.status == "error").collect();
            assert_eq!(errors.len(), 45);
            assert!(errors[0].error.as_deref().unwrap().contains("previous card is kept"), "{errors:?}");
        }
    }

    /// Issue 9, item 4 (single file): a few unreadable contacts no longer stop the whole file;
    /// the changed cards are written and the unreadable ones keep their old cards in place.
    #[test]
    fn single_file_keeps_old_cards_of_unreadable_contacts_and_writes_the_changed_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("all.vcf");
        let acc = account(people(20), None);
        let o = fast(&f, Layout::File);
        assert_eq!(small_run(&acc, &o).outcome, Outcome::Complete);
        let old_cards = match backup::judge_file(&std::fs::read_to_string(&f).unwrap()) {
            (backup::Existing::Backup(_), cards) => cards,
            other => panic!("{other:?}"),
        };
        // Ten contacts change their email, then three of them (and one unchanged) are unreadable.
        let mut changed = people(20);
        for d in &mut changed[..10] {
            d.devices[0].value = format!("new-{}", d.devices[0].value);
        }
        acc.set_contacts(changed);
        acc.set_not_found(&["c0".into(), "c1".into(), "c2".into(), "c15".into()]);
        let run = small_run(&acc, &o);
        let s = &run.report.summary;
        assert_eq!(run.outcome, Outcome::Incomplete, "{}", run.report.human());
        assert_eq!((s.contacts, s.written, s.unchanged, s.errors, s.deleted), (16, 7, 9, 4, 0));
        assert!(run.report.refused.is_none());
        let text = std::fs::read_to_string(&f).unwrap();
        let new_cards = match backup::judge_file(&text) {
            (backup::Existing::Backup(_), cards) => cards,
            other => panic!("{other:?}"),
        };
        assert_eq!(new_cards.len(), 20, "the unreadable contacts' cards are still in the file");
        for id in ["c0", "c1", "c2", "c15"] {
            let uid = vdir::uid_for_id(id);
            assert_eq!(new_cards[&uid], old_cards[&uid], "{id}: its old card, verbatim");
        }
        assert_eq!(text.matches("new-Anne").count(), 7, "the 7 readable changed cards are written");
        // Still in sorted order: the kept cards sit where they were.
        let uids: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("UID:")).collect();
        let expected: Vec<String> = (0..20).map(|i| vdir::uid_for_id(&format!("c{i}"))).collect();
        assert_eq!(uids, expected);
    }

    /// Issue 8, item 2: a `.vcf` this tool did not write (a phone's export) is never replaced
    /// without --force, and nothing is asked of the account.
    #[test]
    fn a_file_this_tool_did_not_write_is_refused_unless_forced() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("phone60.vcf");
        let phone: String = (0..60)
            .map(|i| {
                format!("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {i}\r\nTEL:+3361234{i:04}\r\nEND:VCARD\r\n")
            })
            .collect();
        std::fs::write(&f, &phone).unwrap();
        let acc = account(people(4), None);
        let err = futures::executor::block_on(export(&acc, &fast(&f, Layout::File), &Silent)).err().unwrap();
        let message = err.to_string();
        assert!(
            matches!(err, Error::Refused(_)) && message.contains("not written by orange-contacts"),
            "{message}"
        );
        assert!(message.contains("--force") && err.nothing_written(), "{message}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), phone);
        assert_eq!(acc.stats().requests(), 0, "refused before any call");
        // The same for a folder of someone else's cards.
        let d = tmp.path().join("khard");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("friend.vcf"), &phone[..80]).unwrap();
        assert!(futures::executor::block_on(export(&acc, &fast(&d, Layout::Dir), &Silent)).is_err());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        // --force: replaced (the file) or written into (the folder, its file untouched).
        let forced = |o: ExportOptions| ExportOptions {
            overrides: backup::Overrides { force: true, ..o.overrides },
            ..o
        };
        assert_eq!(small_run(&acc, &forced(fast(&f, Layout::File))).outcome, Outcome::Complete);
        assert_eq!(std::fs::read_to_string(&f).unwrap().matches("BEGIN:VCARD").count(), 4);
        assert_eq!(small_run(&acc, &forced(fast(&d, Layout::Dir))).outcome, Outcome::Complete);
        assert!(d.join("friend.vcf").exists());
        // Now they are this tool's backups: no --force needed any more.
        assert_eq!(small_run(&acc, &fast(&f, Layout::File)).outcome, Outcome::Complete);
        assert_eq!(small_run(&acc, &fast(&d, Layout::Dir)).outcome, Outcome::Complete);
    }

    /// Issue 8, item 1: a backup remembers its source; another source never writes over it
    /// without --allow-other-source, and "most of the backup disappearing" is refused.
    #[test]
    fn a_backup_of_another_source_is_refused_and_so_is_losing_most_of_it() {
        let tmp = tempfile::tempdir().unwrap();
        // The real account: 33 people. The "sandbox": 6 other people with the ids c0..c5.
        let real = account(people(33), None);
        let sandbox_people: Vec<ContactDetail> =
            (0..6).map(|i| detail(&format!("c{i}"), &format!("Sandbox{i}"), "Person")).collect();
        let sandbox = account(sandbox_people, None);
        for layout in [Layout::Dir, Layout::File] {
            let path = tmp.path().join(if layout == Layout::Dir { "backup" } else { "backup.vcf" });
            let o = fast(&path, layout);
            assert_eq!(small_run(&real, &o).outcome, Outcome::Complete);
            let before = snapshot(&path);
            let other = ExportOptions {
                source: Source::embedded(Path::new("/tmp/sandbox.db"), "local"),
                ..o.clone()
            };
            let err = futures::executor::block_on(export(&sandbox, &other, &Silent)).err().unwrap();
            let message = err.to_string();
            assert!(
                matches!(err, Error::Refused(_)) && message.contains("--allow-other-source"),
                "{message}"
            );
            assert!(message.contains("http://memory.invalid/PersonalContacts/V1"), "{message}");
            assert_eq!(snapshot(&path), before, "{layout:?}: nothing touched");
            // Allowed to change source, the share guard still stops 27 deletions of 33 (the
            // absolute default of 50 would not), and nothing at all is written.
            let allowed = ExportOptions {
                overrides: backup::Overrides { allow_other_source: true, ..o.overrides },
                ..other.clone()
            };
            let run = small_run(&sandbox, &allowed);
            assert!(was_refused(&run), "{layout:?}");
            let refused = run.report.refused.as_deref().unwrap();
            assert!(
                refused.contains("27 of the backup's 33") && refused.contains("--max-delete-percent"),
                "{refused}"
            );
            assert_eq!(snapshot(&path), before, "{layout:?}: cards c0..c5 not overwritten");
            assert!(run.report.contacts.to_vec().iter().all(|c| c.status == "refused"));
            // The same account losing most of its contacts is refused too, until allowed.
            real.set_contacts(people(10));
            assert!(was_refused(&small_run(&real, &o)));
            assert_eq!(snapshot(&path), before);
            let all =
                ExportOptions { limits: guard::Limits { max_delete_percent: 100, ..o.limits }, ..o.clone() };
            let run = small_run(&real, &all);
            assert_eq!((&run.outcome, run.report.summary.deleted), (&Outcome::Complete, 23));
            real.set_contacts(people(33));
        }
    }

    #[test]
    fn layout_follows_the_extension() {
        assert_eq!(resolve_layout(Path::new("a/b.VCF"), None), Layout::File);
        assert_eq!(resolve_layout(Path::new("a/b"), None), Layout::Dir);
        assert_eq!(resolve_layout(Path::new("a/b.vcf"), Some(Layout::Dir)), Layout::Dir);
        assert_eq!(resolve_layout(Path::new("-"), None), Layout::File);
    }
}
