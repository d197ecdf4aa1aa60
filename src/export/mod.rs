//! Export: enumerate every contact of the account ([`enumerate`]), read each one with its
//! picture (`getcontact` + `getpicture`), map it back to the model ([`crate::mapping::from_api`]),
//! render it ([`crate::formats::vcard_write`]) and write one `.vcf` file or a vdir ([`vdir`]),
//! with a JSON report. `check` ([`check`]) compares local vCards with the account.
//!
//! Repeatable: cards carry no timestamps and are sorted by folded name then id, so an unchanged
//! account gives byte-identical output; in a vdir only changed files are rewritten.
//! Safe: writes are atomic; a PATH holding something this tool did not write, or a backup of
//! another source, is refused before any call ([`backup`]); then one pure decision ([`guard`])
//! says which cards are written, kept or deleted, or refuses the whole update.

pub mod api;
pub mod backup;
pub mod check;
pub mod enumerate;
pub mod guard;
pub mod vdir;

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::atomic_file::{self, Accept};
use crate::client::WithWarnings;
use crate::commands::{EXIT_FATAL, EXIT_OK, EXIT_PARTIAL};
use crate::formats::vcard_write::{write_card_marked, VcardVersion};
use crate::source::Source;
use crate::wire::search::fold;
use crate::wire::{ContactDetail, Picture};
pub use enumerate::{AccountError, Directory, Enumeration};

/// The reads export and check make: a [`Directory`] plus `getcontact` and `getpicture`.
pub trait Account: Directory {
    /// The contact, with what reading its answer had to repair (see [`Fetched::warnings`]).
    fn get_contact(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<WithWarnings<ContactDetail>, AccountError>> + Send;
    /// `Ok(None)`: the contact has no picture (normal).
    fn get_picture(&self, id: &str) -> impl Future<Output = Result<Option<Picture>, AccountError>> + Send;
    /// API calls made so far through this account.
    fn api_calls(&self) -> u64;
}

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
    pub quiet: bool,
    /// `--quick`: list with [`enumerate::quick_alphabet`] and the backup's own initials.
    pub quick: bool,
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

/// One contact as read from the account.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub id: String,
    pub detail: ContactDetail,
    pub picture: Option<Picture>,
    /// What reading it had to repair (an answer not valid in its encoding, …): exported, but the
    /// user is told.
    pub warnings: Vec<String>,
}

/// Why a listed contact was not read.
#[derive(Debug, Clone)]
pub struct FetchProblem {
    pub id: String,
    pub message: String,
    /// The read answered "data not found". Export still counts it as an error and keeps the
    /// contact's card (listed yet unreadable is conflicting evidence); `check` skips it.
    pub gone: bool,
}

/// Reads every id (getcontact, then getpicture when `photos`), `concurrency` at a time.
/// A fatal error stops everything; others are returned per contact.
pub async fn fetch_all<A: Account>(
    account: &A,
    ids: Vec<String>,
    photos: bool,
    concurrency: usize,
    on_done: &(dyn Fn() + Sync),
) -> Result<(Vec<Fetched>, Vec<FetchProblem>), AccountError> {
    let mut futs = Vec::with_capacity(ids.len());
    for id in ids {
        futs.push(async move {
            let r = async {
                let detail = account.get_contact(&id).await?;
                let picture = if photos { account.get_picture(&id).await? } else { None };
                Ok::<_, AccountError>((detail, picture))
            }
            .await;
            on_done();
            (id, r)
        });
    }
    let mut results = stream::iter(futs).buffer_unordered(concurrency.max(1));
    let mut fetched = Vec::new();
    let mut problems = Vec::new();
    while let Some((id, r)) = results.next().await {
        match r {
            Ok((WithWarnings { value: mut detail, warnings }, picture)) => {
                if detail.id.is_empty() {
                    detail.id = id.clone();
                }
                fetched.push(Fetched { id, detail, picture, warnings });
            }
            Err(e) if e.fatal => return Err(e),
            Err(e) => problems.push(FetchProblem { id, message: e.message, gone: e.gone }),
        }
    }
    Ok((fetched, problems))
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

/// Renders contacts as cards, each followed by `marks` (see [`backup`]), sorted by folded display
/// name then id (the stable file order).
pub fn render(fetched: &[Fetched], version: VcardVersion, marks: &[(&str, &str)]) -> Vec<Card> {
    let mut cards: Vec<(String, Card)> = fetched
        .iter()
        .map(|f| {
            let contact = crate::mapping::from_api(&f.detail, f.picture.as_ref());
            let uid = vdir::uid_for_id(&f.id);
            let name = contact.display_name();
            let text = write_card_marked(&contact, version, &uid, marks);
            let photo = contact.photo.is_some();
            let warnings = f.warnings.clone();
            (fold(&name), Card { id: f.id.clone(), uid, name, photo, text, warnings })
        })
        .collect();
    cards.sort_by(|a, b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
    cards.into_iter().map(|(_, c)| c).collect()
}

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
    /// Exported, but reading it had to repair something (see [`Fetched::warnings`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnumerationReport {
    pub complete: bool,
    /// `--quick`: CJK ideographs were searched only as the initials of the names already backed
    /// up, so a new contact whose name starts with another one is not listed.
    pub quick: bool,
    pub paging: enumerate::Paging,
    #[serde(flatten)]
    pub stats: enumerate::EnumStats,
    pub incomplete: Vec<enumerate::IncompletePrefix>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
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
    pub contacts: Vec<ContactEntry>,
}

impl ExportReport {
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        crate::report::write_json_atomic(path, self)
    }

    /// The lines printed at the end of a run (stderr).
    pub fn human(&self) -> String {
        let s = &self.summary;
        let mut out = format!(
            "exported {} contact(s) to {} ({} written, {} unchanged, {} deleted, {} error(s)); \
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
        for c in self.contacts.iter().filter(|c| c.status == "error") {
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
        for c in &self.contacts {
            for w in &c.warnings {
                out.push_str(&format!("  warning: contact {} ({}): {w}\n", c.id, c.name));
            }
        }
        out
    }
}

/// The outcome of an export: the report and the exit code (0 complete, 3 incomplete listing or
/// unreadable contacts, 1 refused by a guard).
pub struct ExportRun {
    pub report: ExportReport,
    pub exit_code: u8,
}

/// Runs an export. `Err` for fatal API errors and for a PATH it may not write (see
/// [`backup::admit`]): nothing was written then.
pub async fn export<A: Account>(account: &A, opts: &ExportOptions) -> Result<ExportRun, AccountError> {
    let started = Instant::now();
    if opts.layout == Layout::File {
        // Before the listing: a FIFO or a device would block or lose the backup, after minutes.
        atomic_file::check_destination(&opts.path, Accept::FileOnly).map_err(|e| {
            AccountError::new(format!("cannot write the export to {}: {e}", opts.path.display()), true)
        })?;
    }

    let fatal = |what: &str, e: &dyn std::fmt::Display| AccountError::new(format!("{what}{e}"), true);
    // Before any call: what is at PATH, and may this run write there?
    let existing = backup::inspect(&opts.path, opts.layout)
        .map_err(|e| fatal("cannot read the existing backup: ", &e))?;
    let admission =
        backup::admit(&opts.path, &existing, &opts.source, opts.overrides).map_err(|r| fatal("", &r))?;
    let old = match (&admission, existing) {
        (backup::Admission::Update { .. }, backup::Existing::Backup(b)) => b,
        _ => backup::Backup::default(),
    };
    let recorded = opts.source.record();
    let mut notes = Vec::new();
    match admission {
        backup::Admission::Update { adopted: true, .. } => notes.push(format!(
            "{} had no source recorded (written by an earlier version): recorded {}",
            opts.path.display(),
            recorded.describe()
        )),
        backup::Admission::Update { other_source: true, .. } => notes.push(format!(
            "--allow-other-source: {} was a backup of {}; it is now one of {}",
            opts.path.display(),
            old.sources.iter().map(|s| s.describe()).collect::<Vec<_>>().join(" and "),
            recorded.describe()
        )),
        _ => {}
    }

    let alphabet = if opts.quick {
        let initials = vdir::name_initials(&opts.path, opts.layout).map_err(|e| {
            AccountError::new(format!("--quick needs the existing backup's names: {e:#}"), true)
        })?;
        enumerate::quick_alphabet(&initials)
    } else {
        enumerate::alphabet()
    };
    let searching = crate::progress::counter(opts.quiet, "listing: ", "searches");
    let listing =
        enumerate::enumerate_with(account, alphabet, opts.concurrency, &|n| searching.set_position(n as u64))
            .await;
    searching.finish_and_clear();
    let listing = listing?;

    let ids: Vec<String> = listing.contacts.keys().cloned().collect();
    let fetching = crate::progress::bar(opts.quiet, ids.len() as u64, "contacts");
    let fetched = fetch_all(account, ids, opts.photos, opts.concurrency, &|| fetching.inc(1)).await;
    fetching.finish_and_clear();
    let (fetched, problems) = fetched?;

    let source_line = recorded.to_line();
    let marks: &[(&str, &str)] = match opts.layout {
        Layout::Dir => &[("PRODID", backup::PRODID)],
        Layout::File => &[("PRODID", backup::PRODID), (backup::SOURCE_PROPERTY, &source_line)],
    };
    let cards = render(&fetched, opts.version, marks);
    let read: BTreeSet<String> = cards.iter().map(|c| c.uid.clone()).collect();
    let unreadable: BTreeSet<String> = problems.iter().map(|p| vdir::uid_for_id(&p.id)).collect();
    let existing: BTreeSet<String> = old.cards.keys().cloned().collect();
    let evidence = guard::Evidence {
        existing: &existing,
        read: &read,
        unreadable: &unreadable,
        listing_complete: listing.is_complete(),
    };
    let decision = guard::decide(evidence, opts.limits);
    let name_of = |id: &str| listing.contacts.get(id).map(summary_name).unwrap_or_default();
    // How the report names a backup card: its file in a vdir, its UID in a single file.
    let shown = |uid: &String| match opts.layout {
        Layout::Dir => vdir::file_name(uid),
        Layout::File => uid.clone(),
    };

    let mut contacts: Vec<ContactEntry> = Vec::new();
    let (mut refused, mut deleted) = (None, Vec::new());
    let kept: Vec<String>;
    let mut written_uids: HashSet<String> = HashSet::new();
    match decision {
        Err(refusal) => {
            refused = Some(refusal.to_string());
            notes.clear(); // nothing was recorded either
            kept = existing.iter().filter(|u| !read.contains(*u)).map(shown).collect();
        }
        Ok(plan) => {
            kept = plan.keep.iter().map(|(u, _)| shown(u)).collect();
            match opts.layout {
                Layout::Dir => {
                    let named: Vec<(String, Vec<u8>)> = cards
                        .iter()
                        .map(|c| (vdir::file_name(&c.uid), c.text.clone().into_bytes()))
                        .collect();
                    let delete: Vec<String> = plan.delete.iter().map(shown).collect();
                    let out =
                        vdir::apply_vdir(&opts.path, &backup::vdir_metadata(&recorded), &named, &delete)
                            .map_err(|e| fatal("cannot write the vdir: ", &e))?;
                    let files: HashSet<&String> = out.written.iter().collect();
                    written_uids = cards
                        .iter()
                        .filter(|c| files.contains(&vdir::file_name(&c.uid)))
                        .map(|c| c.uid.clone())
                        .collect();
                    deleted = out.deleted;
                }
                Layout::File => {
                    let mut ordered: Vec<((String, String), &str)> =
                        cards.iter().map(|c| ((fold(&c.name), c.id.clone()), c.text.as_str())).collect();
                    for (uid, _) in &plan.keep {
                        let card = &old.cards[uid];
                        let id = vdir::id_from_uid(uid).unwrap_or_else(|| uid.clone());
                        ordered.push(((fold(&card.name), id), card.text.as_str()));
                    }
                    ordered.sort_by(|a, b| a.0.cmp(&b.0));
                    let body: String = ordered.iter().map(|(_, text)| *text).collect();
                    vdir::write_if_changed(&opts.path, body.as_bytes())
                        .map_err(|e| fatal("cannot write the export: ", &e))?;
                    written_uids = cards
                        .iter()
                        .filter(|c| old.cards.get(&c.uid).map(|o| o.text.as_str()) != Some(c.text.as_str()))
                        .map(|c| c.uid.clone())
                        .collect();
                    deleted = plan.delete.clone();
                }
            }
        }
    }
    for c in &cards {
        contacts.push(ContactEntry {
            id: c.id.clone(),
            uid: c.uid.clone(),
            name: c.name.clone(),
            status: if refused.is_some() {
                "refused"
            } else if written_uids.contains(&c.uid) {
                "written"
            } else {
                "unchanged"
            },
            file: (opts.layout == Layout::Dir).then(|| vdir::file_name(&c.uid)),
            photo: c.photo,
            error: None,
            warnings: c.warnings.clone(),
        });
    }
    for p in &problems {
        let uid = vdir::uid_for_id(&p.id);
        let what = if p.gone { "listed, but reading it answered \"data not found\"" } else { "not read" };
        let fate = if existing.contains(&uid) { "its previous card is kept" } else { "it has no card yet" };
        contacts.push(ContactEntry {
            id: p.id.clone(),
            uid,
            name: name_of(&p.id),
            status: "error",
            file: None,
            photo: false,
            error: Some(format!("{what} ({}); {fate}", p.message)),
            warnings: Vec::new(),
        });
    }

    let exit_code = if refused.is_some() {
        EXIT_FATAL
    } else if !listing.is_complete() || !problems.is_empty() {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    };
    let summary = ExportSummary {
        contacts: cards.len(),
        written: written_uids.len(),
        unchanged: if refused.is_some() { 0 } else { cards.len() - written_uids.len() },
        deleted: deleted.len(),
        errors: problems.len(),
        photos: cards.iter().filter(|c| c.photo).count(),
        searches: listing.stats.searches,
        pages_followed: listing.stats.pages_followed,
        truncated_resolved: listing.stats.truncated_resolved,
        incomplete_prefixes: listing.incomplete.len(),
        api_calls: account.api_calls(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    let report = ExportReport {
        path: opts.path.display().to_string(),
        layout: match opts.layout {
            Layout::File => "file",
            Layout::Dir => "dir",
        },
        version: match opts.version {
            VcardVersion::V3 => "3.0",
            VcardVersion::V4 => "4.0",
        },
        source: recorded.describe(),
        summary,
        enumeration: EnumerationReport {
            complete: listing.is_complete(),
            quick: opts.quick,
            paging: listing.paging,
            stats: listing.stats.clone(),
            incomplete: listing.incomplete.clone(),
        },
        refused,
        notes,
        deleted,
        kept,
        contacts,
    };
    Ok(ExportRun { report, exit_code })
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
    use super::enumerate::tests::MemoryDirectory;
    use super::*;
    use crate::wire::{ContactPage, ContactSummary, Device, DeviceSubtype, DeviceType, ImageType};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    struct MemoryAccount {
        dir: Mutex<MemoryDirectory>,
        details: Mutex<HashMap<String, ContactDetail>>,
        pictures: HashMap<String, Picture>,
        calls: AtomicU64,
    }

    impl MemoryAccount {
        fn new(details: Vec<ContactDetail>, page_size: Option<u32>) -> MemoryAccount {
            let acc = MemoryAccount {
                dir: Mutex::new(MemoryDirectory {
                    contacts: vec![],
                    page_size,
                    paging: true,
                    send_names: true,
                }),
                details: Mutex::new(HashMap::new()),
                pictures: HashMap::new(),
                calls: AtomicU64::new(0),
            };
            acc.set(details);
            acc
        }
        fn set(&self, details: Vec<ContactDetail>) {
            self.dir.lock().unwrap().contacts = details
                .iter()
                .map(|d| ContactSummary {
                    id: d.id.clone(),
                    firstname: d.firstname.clone(),
                    lastname: d.lastname.clone(),
                    nickname: d.nickname.clone(),
                    company: d.company.clone(),
                })
                .collect();
            *self.details.lock().unwrap() = details.into_iter().map(|d| (d.id.clone(), d)).collect();
        }
        /// Still listed, but `getcontact` answers "data not found" for them.
        fn unreadable(&self, ids: &[String]) {
            let mut details = self.details.lock().unwrap();
            for id in ids {
                details.remove(id);
            }
        }
    }

    impl Directory for MemoryAccount {
        fn find(
            &self,
            search: &str,
            page: Option<u32>,
        ) -> impl Future<Output = Result<ContactPage, AccountError>> + Send {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let r = self.dir.lock().unwrap().answer(search, page);
            async move { r }
        }
    }

    impl Account for MemoryAccount {
        fn get_contact(
            &self,
            id: &str,
        ) -> impl Future<Output = Result<WithWarnings<ContactDetail>, AccountError>> + Send {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let r = self.details.lock().unwrap().get(id).cloned().ok_or(AccountError {
                message: "data not found".into(),
                fatal: false,
                gone: true,
            });
            async move { r.map(|value| WithWarnings { value, warnings: Vec::new() }) }
        }
        fn get_picture(
            &self,
            id: &str,
        ) -> impl Future<Output = Result<Option<Picture>, AccountError>> + Send {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let r = Ok(self.pictures.get(id).cloned());
            async move { r }
        }
        fn api_calls(&self) -> u64 {
            self.calls.load(Ordering::Relaxed)
        }
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
            quiet: true,
            quick: false,
        }
    }

    #[test]
    fn quick_listing_finds_what_the_backup_holds_with_a_twentieth_of_the_searches() {
        let tmp = tempfile::tempdir().unwrap();
        for layout in [Layout::Dir, Layout::File] {
            let path = tmp.path().join(if layout == Layout::Dir { "book" } else { "book.vcf" });
            let acc = MemoryAccount::new(
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
            assert_eq!(again.exit_code, EXIT_OK);
            assert_eq!((again.report.summary.contacts, again.report.summary.deleted), (3, 0));
            assert_eq!(again.report.summary.searches, quick_searches + 2);
            assert_eq!(again.report.summary.written, 0, "the backup is unchanged");
        }
    }

    fn small_run<A: Account>(acc: &A, o: &ExportOptions) -> ExportRun {
        futures::executor::block_on(export(acc, o)).unwrap()
    }

    #[test]
    fn vdir_export_is_repeatable_and_deletes_vanished_within_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("book");
        let mut acc = MemoryAccount::new(people(12), Some(5));
        acc.pictures.insert(
            "c3".into(),
            Picture {
                id: None,
                content: vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
                image_type: Some(ImageType::Jpeg),
            },
        );
        let o = opts(&d, Layout::Dir);
        let first = small_run(&acc, &o);
        assert_eq!(first.exit_code, EXIT_OK, "{}", first.report.human());
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
        acc.set(people(10));
        let third = small_run(&acc, &o);
        assert_eq!(third.report.summary.deleted, 2);
        acc.set(people(2));
        let mut strict = o.clone();
        strict.limits.max_delete = 5;
        strict.limits.max_delete_percent = 100;
        let fourth = small_run(&acc, &strict);
        assert_eq!(fourth.exit_code, EXIT_FATAL);
        assert!(fourth.report.refused.as_deref().unwrap().contains("--max-delete"));
        assert_eq!(vdir::list_own_cards(&d).unwrap().len(), 10);
        // Empty listing: refused whatever the limit.
        acc.set(vec![]);
        let fifth = small_run(&acc, &o);
        assert_eq!(fifth.exit_code, EXIT_FATAL);
        assert_eq!(vdir::list_own_cards(&d).unwrap().len(), 10);
    }

    #[test]
    fn single_file_is_sorted_and_byte_identical() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("all.vcf");
        let acc = MemoryAccount::new(
            vec![detail("2", "Zoé", "Zola"), detail("10", "Émile", "Albert"), detail("1", "émile", "Albert")],
            None,
        );
        let o = opts(&f, Layout::File);
        let first = small_run(&acc, &o);
        assert_eq!(first.exit_code, EXIT_OK);
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
        let acc = MemoryAccount::new(people(3), None);
        small_run(&acc, &opts(&d, Layout::Dir));
        // Ten people named exactly "Li", a cap of 3 and no paging: the listing cannot complete.
        acc.set(
            (0..10)
                .map(|i| detail(&format!("l{i}"), "Li", ""))
                .map(|mut d| {
                    d.lastname = None;
                    d
                })
                .collect(),
        );
        {
            let mut dir = acc.dir.lock().unwrap();
            dir.page_size = Some(3);
            dir.paging = false;
        }
        let run = small_run(&acc, &opts(&d, Layout::Dir));
        assert_eq!(run.exit_code, EXIT_PARTIAL, "{}", run.report.human());
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
            let acc = MemoryAccount::new(people(60), None);
            let o = fast(&path, layout);
            assert_eq!(small_run(&acc, &o).exit_code, EXIT_OK);
            let before = snapshot(&path);
            acc.unreadable(&ids(0..45));
            let run = small_run(&acc, &o);
            let s = &run.report.summary;
            assert_eq!(run.exit_code, EXIT_PARTIAL, "{layout:?}: {}", run.report.human());
            assert_eq!((s.contacts, s.errors, s.deleted), (15, 45, 0), "{layout:?}");
            assert_eq!(run.report.kept.len(), 45, "{layout:?}");
            assert_eq!(snapshot(&path), before, "{layout:?}: every card as it was");
            let errors: Vec<&ContactEntry> =
                run.report.contacts.iter().filter(|c| c.status == "error").collect();
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
        let acc = MemoryAccount::new(people(20), None);
        let o = fast(&f, Layout::File);
        assert_eq!(small_run(&acc, &o).exit_code, EXIT_OK);
        let old_cards = match backup::judge_file(&std::fs::read_to_string(&f).unwrap()) {
            backup::Existing::Backup(b) => b.cards,
            other => panic!("{other:?}"),
        };
        // Ten contacts change their email, then three of them (and one unchanged) are unreadable.
        let mut changed = people(20);
        for d in &mut changed[..10] {
            d.devices[0].value = format!("new-{}", d.devices[0].value);
        }
        acc.set(changed);
        acc.unreadable(&["c0".into(), "c1".into(), "c2".into(), "c15".into()]);
        let run = small_run(&acc, &o);
        let s = &run.report.summary;
        assert_eq!(run.exit_code, EXIT_PARTIAL, "{}", run.report.human());
        assert_eq!((s.contacts, s.written, s.unchanged, s.errors, s.deleted), (16, 7, 9, 4, 0));
        assert!(run.report.refused.is_none());
        let text = std::fs::read_to_string(&f).unwrap();
        let new_cards = match backup::judge_file(&text) {
            backup::Existing::Backup(b) => b.cards,
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
        let acc = MemoryAccount::new(people(4), None);
        let err = futures::executor::block_on(export(&acc, &fast(&f, Layout::File))).err().unwrap();
        assert!(err.fatal && err.message.contains("not written by orange-contacts"), "{}", err.message);
        assert!(err.message.contains("--force"), "{}", err.message);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), phone);
        assert_eq!(acc.api_calls(), 0, "refused before any call");
        // The same for a folder of someone else's cards.
        let d = tmp.path().join("khard");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("friend.vcf"), &phone[..80]).unwrap();
        assert!(futures::executor::block_on(export(&acc, &fast(&d, Layout::Dir))).is_err());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        // --force: replaced (the file) or written into (the folder, its file untouched).
        let forced = |o: ExportOptions| ExportOptions {
            overrides: backup::Overrides { force: true, ..o.overrides },
            ..o
        };
        assert_eq!(small_run(&acc, &forced(fast(&f, Layout::File))).exit_code, EXIT_OK);
        assert_eq!(std::fs::read_to_string(&f).unwrap().matches("BEGIN:VCARD").count(), 4);
        assert_eq!(small_run(&acc, &forced(fast(&d, Layout::Dir))).exit_code, EXIT_OK);
        assert!(d.join("friend.vcf").exists());
        // Now they are this tool's backups: no --force needed any more.
        assert_eq!(small_run(&acc, &fast(&f, Layout::File)).exit_code, EXIT_OK);
        assert_eq!(small_run(&acc, &fast(&d, Layout::Dir)).exit_code, EXIT_OK);
    }

    /// Issue 8, item 1: a backup remembers its source; another source never writes over it
    /// without --allow-other-source, and "most of the backup disappearing" is refused.
    #[test]
    fn a_backup_of_another_source_is_refused_and_so_is_losing_most_of_it() {
        let tmp = tempfile::tempdir().unwrap();
        // The real account: 33 people. The "sandbox": 6 other people with the ids c0..c5.
        let real = MemoryAccount::new(people(33), None);
        let sandbox_people: Vec<ContactDetail> =
            (0..6).map(|i| detail(&format!("c{i}"), &format!("Sandbox{i}"), "Person")).collect();
        let sandbox = MemoryAccount::new(sandbox_people, None);
        for layout in [Layout::Dir, Layout::File] {
            let path = tmp.path().join(if layout == Layout::Dir { "backup" } else { "backup.vcf" });
            let o = fast(&path, layout);
            assert_eq!(small_run(&real, &o).exit_code, EXIT_OK);
            let before = snapshot(&path);
            let other = ExportOptions {
                source: Source::embedded(Path::new("/tmp/sandbox.db"), "local"),
                ..o.clone()
            };
            let err = futures::executor::block_on(export(&sandbox, &other)).err().unwrap();
            assert!(err.message.contains("--allow-other-source"), "{}", err.message);
            assert!(err.message.contains("http://memory.invalid/PersonalContacts/V1"), "{}", err.message);
            assert_eq!(snapshot(&path), before, "{layout:?}: nothing touched");
            // Allowed to change source, the share guard still stops 27 deletions of 33 (the
            // absolute default of 50 would not), and nothing at all is written.
            let allowed = ExportOptions {
                overrides: backup::Overrides { allow_other_source: true, ..o.overrides },
                ..other.clone()
            };
            let run = small_run(&sandbox, &allowed);
            assert_eq!(run.exit_code, EXIT_FATAL, "{layout:?}");
            let refused = run.report.refused.as_deref().unwrap();
            assert!(
                refused.contains("27 of the backup's 33") && refused.contains("--max-delete-percent"),
                "{refused}"
            );
            assert_eq!(snapshot(&path), before, "{layout:?}: cards c0..c5 not overwritten");
            assert!(run.report.contacts.iter().all(|c| c.status == "refused"));
            // The same account losing most of its contacts is refused too, until allowed.
            real.set(people(10));
            assert_eq!(small_run(&real, &o).exit_code, EXIT_FATAL);
            assert_eq!(snapshot(&path), before);
            let all =
                ExportOptions { limits: guard::Limits { max_delete_percent: 100, ..o.limits }, ..o.clone() };
            let run = small_run(&real, &all);
            assert_eq!((run.exit_code, run.report.summary.deleted), (EXIT_OK, 23));
            real.set(people(33));
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
