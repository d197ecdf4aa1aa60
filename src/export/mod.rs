//! Export: enumerate every contact of the account ([`enumerate`]), read each one with its
//! picture (`getcontact` + `getpicture`), map it back to the model ([`crate::mapping::from_api`]),
//! render it ([`crate::formats::vcard_write`]) and write one `.vcf` file or a vdir ([`vdir`]),
//! with a JSON report. `check` ([`check`]) compares local vCards with the account.
//!
//! Repeatable: cards carry no timestamps and are sorted by folded name then id, so an unchanged
//! account gives byte-identical output; in a vdir only changed files are rewritten.
//! Safe: writes are atomic; nothing is deleted when the listing is incomplete, a contact could not
//! be read, the listing is empty, or more than `--max-delete` cards would go.

pub mod api;
pub mod check;
pub mod enumerate;
pub mod vdir;

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::atomic_file::{self, Accept};
use crate::cli::{Layout, VcardVersion};
use crate::client::WithWarnings;
use crate::commands::{EXIT_FATAL, EXIT_OK, EXIT_PARTIAL};
use crate::formats::vcard_write::write_card;
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

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub path: PathBuf,
    pub layout: Layout,
    pub version: VcardVersion,
    pub photos: bool,
    pub max_delete: usize,
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
    /// Deleted between listing and reading: not an error.
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

/// Renders contacts as cards, sorted by folded display name then id (the stable file order).
pub fn render(fetched: &[Fetched], version: VcardVersion) -> Vec<Card> {
    let mut cards: Vec<(String, Card)> = fetched
        .iter()
        .map(|f| {
            let contact = crate::mapping::from_api(&f.detail, f.picture.as_ref());
            let uid = vdir::uid_for_id(&f.id);
            let name = contact.display_name();
            let text = write_card(&contact, version, &uid);
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
    /// `written`, `unchanged`, `error` (not exported; its previous card is kept) or `gone`.
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
    pub summary: ExportSummary,
    pub enumeration: EnumerationReport,
    /// Why deletions (or the whole single-file write) were refused, if they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    pub deleted: Vec<String>,
    /// Cards of contacts not found this time, kept because deleting was not safe.
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
/// unread contacts, 1 refused by a safety guard).
pub struct ExportRun {
    pub report: ExportReport,
    pub exit_code: u8,
}

/// Runs an export. `Err` only for fatal API errors (nothing was written then).
pub async fn export<A: Account>(account: &A, opts: &ExportOptions) -> Result<ExportRun, AccountError> {
    let started = Instant::now();
    if opts.layout == Layout::File {
        // Before the listing: a FIFO or a device would block or lose the backup, after minutes.
        atomic_file::check_destination(&opts.path, Accept::FileOnly).map_err(|e| {
            AccountError::new(format!("cannot write the export to {}: {e}", opts.path.display()), true)
        })?;
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

    let cards = render(&fetched, opts.version);
    let errors: Vec<&FetchProblem> = problems.iter().filter(|p| !p.gone).collect();
    let complete = listing.is_complete() && errors.is_empty();
    let name_of = |id: &str| listing.contacts.get(id).map(summary_name).unwrap_or_default();

    let mut contacts: Vec<ContactEntry> = Vec::new();
    let mut refused = None;
    let (mut deleted, mut kept) = (Vec::new(), Vec::new());
    let (written, unchanged);
    match opts.layout {
        Layout::Dir => {
            let named: Vec<(String, Vec<u8>)> =
                cards.iter().map(|c| (vdir::file_name(&c.uid), c.text.clone().into_bytes())).collect();
            let protect: HashSet<String> =
                errors.iter().map(|p| vdir::file_name(&vdir::uid_for_id(&p.id))).collect();
            let out = vdir::sync_vdir(&opts.path, &named, &protect, opts.max_delete, complete)
                .map_err(|e| AccountError::new(format!("cannot write the vdir: {e}"), true))?;
            let written_set: HashSet<&String> = out.written.iter().collect();
            for c in &cards {
                let file = vdir::file_name(&c.uid);
                contacts.push(ContactEntry {
                    id: c.id.clone(),
                    uid: c.uid.clone(),
                    name: c.name.clone(),
                    status: if written_set.contains(&file) { "written" } else { "unchanged" },
                    file: Some(file),
                    photo: c.photo,
                    error: None,
                    warnings: c.warnings.clone(),
                });
            }
            written = out.written.len();
            unchanged = out.unchanged.len();
            refused = out.refused.map(|r| r.to_string());
            deleted = out.deleted;
            kept = out.kept;
        }
        Layout::File => {
            let body: String = cards.iter().map(|c| c.text.as_str()).collect();
            let uids: HashSet<String> = cards.iter().map(|c| c.uid.clone()).collect();
            let old = vdir::uids_in_file(&opts.path)
                .map_err(|e| AccountError::new(format!("cannot read the previous export: {e}"), true))?;
            let dropping: Vec<String> = old.iter().filter(|u| !uids.contains(*u)).cloned().collect();
            let out = if !complete && !dropping.is_empty() {
                // Replacing the file would lose cards that may only be missing from this listing.
                refused = Some(format!(
                    "the listing is incomplete and replacing {} would drop {} card(s): the previous file is kept",
                    opts.path.display(),
                    dropping.len()
                ));
                kept = dropping;
                vdir::FileOutcome::default()
            } else {
                let out = vdir::write_single_file(&opts.path, body.as_bytes(), &uids, opts.max_delete)
                    .map_err(|e| AccountError::new(format!("cannot write the export: {e}"), true))?;
                if let Some(r) = &out.refused {
                    refused = Some(r.to_string());
                    kept = dropping;
                } else {
                    deleted = dropping;
                }
                out
            };
            let status = if out.written { "written" } else { "unchanged" };
            for c in &cards {
                contacts.push(ContactEntry {
                    id: c.id.clone(),
                    uid: c.uid.clone(),
                    name: c.name.clone(),
                    status,
                    file: None,
                    photo: c.photo,
                    error: None,
                    warnings: c.warnings.clone(),
                });
            }
            written = if out.written { cards.len() } else { 0 };
            unchanged = if out.written || out.refused.is_some() { 0 } else { cards.len() };
        }
    }
    for p in &problems {
        contacts.push(ContactEntry {
            id: p.id.clone(),
            uid: vdir::uid_for_id(&p.id),
            name: name_of(&p.id),
            status: if p.gone { "gone" } else { "error" },
            file: None,
            photo: false,
            error: Some(p.message.clone()),
            warnings: Vec::new(),
        });
    }

    let exit_code = if refused.is_some() {
        EXIT_FATAL
    } else if !complete {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    };
    let summary = ExportSummary {
        contacts: cards.len(),
        written,
        unchanged,
        deleted: deleted.len(),
        errors: errors.len(),
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
        summary,
        enumeration: EnumerationReport {
            complete: listing.is_complete(),
            quick: opts.quick,
            paging: listing.paging,
            stats: listing.stats.clone(),
            incomplete: listing.incomplete.clone(),
        },
        refused,
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
            max_delete: 50,
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
        assert_eq!(snapshot.len(), 12);
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
        strict.max_delete = 5;
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

    #[test]
    fn layout_follows_the_extension() {
        assert_eq!(resolve_layout(Path::new("a/b.VCF"), None), Layout::File);
        assert_eq!(resolve_layout(Path::new("a/b"), None), Layout::Dir);
        assert_eq!(resolve_layout(Path::new("a/b.vcf"), Some(Layout::Dir)), Layout::Dir);
        assert_eq!(resolve_layout(Path::new("-"), None), Layout::File);
    }
}
