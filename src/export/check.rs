//! `check`: compares local vCards (a phone export, a backup file or a vdir) with the account,
//! writing nothing, in the style of `rclone check --combined`:
//! `=` same, `+` only local, `-` only in the account, `*` differs (with the fields), `!` error.
//!
//! Each local card is mapped exactly as `import` would send it ([`crate::mapping::to_api`]) and
//! compared with the account contact it matches: the account id from a UID this tool wrote
//! (`orange-contacts-<id>`), else the dedup person key ([`crate::dedup::key_of_new`]) with the
//! most devices in common. What the API cannot carry (addresses, notes, …) is not a difference:
//! such cards are `=` with a "not carried: …" note, unless the account contact already holds it
//! (a WORK phone, an address: a fresh backup has no such note). Several local cards matching one
//! account contact (duplicates merged by import) are compared together for devices.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize, Serializer};

use crate::client::ApiError;
use crate::dedup;
use crate::dedup::device_identity;
use crate::export::{fetch_each, summary_name, vdir, FetchProblem, FetchStop, Fetched};
use crate::formats::{self, Format};
use crate::listing::{self, Enumeration, IncompletePrefix};
use crate::mapping::{self, reason, Dropped, Mapped, MappingOptions};
use crate::model::PartialDate;
use crate::progress::Progress;
use crate::remote::Remote;
use crate::report::{serialize_streamed, Row, Tabular};
use crate::temp_db::{failed, json_failed, TempDb};
use crate::wire::{Civility, ContactDetail, DeviceType, NewContact};

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    pub format: Format,
    pub region: String,
    pub concurrency: usize,
    /// `--one-way`: only local → account; account contacts absent locally are not listed (the
    /// check after a migration: is everything of the phone in the account?).
    pub one_way: bool,
    /// `--quick`: list with [`listing::quick_alphabet`] and the local cards' initials, as
    /// `export --quick` does with the backup's.
    pub quick: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    #[serde(rename = "=")]
    Same,
    #[serde(rename = "+")]
    OnlyLocal,
    #[serde(rename = "-")]
    OnlyAccount,
    #[serde(rename = "*")]
    Differ,
    #[serde(rename = "!")]
    Error,
}

impl Status {
    pub fn symbol(self) -> char {
        match self {
            Status::Same => '=',
            Status::OnlyLocal => '+',
            Status::OnlyAccount => '-',
            Status::Differ => '*',
            Status::Error => '!',
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckEntry {
    pub status: Status,
    pub name: String,
    /// The local card (`file#n`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The account contact id, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What differs (`*`) or what went wrong (`!`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
    /// For `=`: what the card has that the API cannot carry, and merged duplicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CheckEntry {
    /// One line of the combined listing.
    pub fn line(&self) -> String {
        let mut s = format!("{} {}", self.status.symbol(), self.name);
        match (&self.source, &self.id) {
            (Some(src), Some(id)) => s.push_str(&format!(" ({src} ↔ {id})")),
            (Some(src), None) => s.push_str(&format!(" ({src})")),
            (None, Some(id)) => s.push_str(&format!(" (account {id})")),
            (None, None) => {}
        }
        if !self.differences.is_empty() {
            s.push_str(&format!(": {}", self.differences.join("; ")));
        }
        if let Some(note) = &self.note {
            s.push_str(&format!(" [{note}]"));
        }
        s
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckSummary {
    pub local_cards: usize,
    pub account_contacts: usize,
    pub same: usize,
    pub only_local: usize,
    pub only_account: usize,
    pub differ: usize,
    pub errors: usize,
    pub searches: usize,
    pub incomplete_prefixes: usize,
    pub api_calls: u64,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub summary: CheckSummary,
    /// `--one-way`: account contacts absent locally were not listed.
    pub one_way: bool,
    /// `--quick`: CJK ideographs were searched only as the initials of the local cards' names.
    pub quick: bool,
    pub incomplete: Vec<IncompletePrefix>,
    /// In the listing's order, streamed from the check's temporary database.
    pub entries: CheckEntries,
}

impl CheckReport {
    pub fn in_sync(&self) -> bool {
        let s = &self.summary;
        s.only_local + s.only_account + s.differ + s.errors == 0 && self.incomplete.is_empty()
    }

    /// The closing line: counts, and "N differences found" as rclone says it.
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let differences = s.only_local + s.only_account + s.differ + s.errors;
        let only_account = match self.one_way {
            true => "account contacts absent locally not listed (--one-way)".to_string(),
            false => format!("{} only in account", s.only_account),
        };
        let quick = match self.quick {
            true => " (quick listing: CJK ideographs searched only as the local names' initials)",
            false => "",
        };
        format!(
            "{} local card(s), {} account contact(s){quick}: {} same, {} only local, {only_account}, {} differ, \
             {} error(s) — {}",
            s.local_cards,
            s.account_contacts,
            s.same,
            s.only_local,
            s.differ,
            s.errors,
            if differences == 0 && self.incomplete.is_empty() {
                "in sync".to_string()
            } else if self.incomplete.is_empty() {
                format!("{differences} difference(s) found")
            } else {
                format!(
                    "{differences} difference(s) found; the account listing is INCOMPLETE ({} prefix(es))",
                    self.incomplete.len()
                )
            }
        )
    }

    /// Writes the report in the format `path`'s extension names.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::report::write_report(path, self)
    }
}

impl Status {
    /// The status as a word, for the report's table and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Same => "same",
            Status::OnlyLocal => "only local",
            Status::OnlyAccount => "only in account",
            Status::Differ => "differ",
            Status::Error => "error",
        }
    }
}

impl Tabular for CheckReport {
    fn title(&self) -> &'static str {
        "check report"
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::to_value(&self.summary).unwrap_or_default()
    }

    fn outcomes(&self) -> Vec<&'static str> {
        [Status::Same, Status::OnlyLocal, Status::OnlyAccount, Status::Differ, Status::Error]
            .map(Status::as_str)
            .to_vec()
    }

    fn columns(&self) -> &'static [&'static str] {
        &["status", "name", "source", "id", "differences", "note"]
    }

    fn for_each_row(&self, each: &mut dyn FnMut(Row) -> io::Result<()>) -> io::Result<()> {
        self.entries.for_each(|e| {
            each(Row {
                outcome: e.status.as_str(),
                cells: vec![
                    e.status.as_str().to_string(),
                    e.name,
                    e.source.unwrap_or_default(),
                    e.id.unwrap_or_default(),
                    e.differences.join("\n"),
                    e.note.unwrap_or_default(),
                ],
                thumbnail: None,
            })
        })
    }
}

/// Every entry of a check in the listing's order (by folded name, then local card, then account
/// id), read from the check's temporary database as they are shown: the entries of a million
/// contacts are never all in memory (issue 12).
#[derive(Clone)]
pub struct CheckEntries {
    work: Rc<Work>,
    len: usize,
}

impl CheckEntries {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entry, in order, to `f`.
    pub fn for_each(&self, f: impl FnMut(CheckEntry) -> io::Result<()>) -> io::Result<()> {
        self.work.for_each_entry(f)
    }

    /// Every entry, in memory (tests).
    pub fn to_vec(&self) -> io::Result<Vec<CheckEntry>> {
        let mut all = Vec::with_capacity(self.len);
        self.for_each(|e| {
            all.push(e);
            Ok(())
        })?;
        Ok(all)
    }
}

impl std::fmt::Debug for CheckEntries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckEntries({} entries)", self.len)
    }
}

/// The JSON report's `entries`, streamed from the database.
impl Serialize for CheckEntries {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_streamed(serializer, Some(self.len), |each| self.for_each(each))
    }
}

/// What comparing needs of a valid local card, as mapped for import (kept in the database).
#[derive(Serialize, Deserialize)]
struct Mapping {
    contact: NewContact,
    /// [`local_devices`].
    devices: Vec<String>,
    photo: bool,
    dropped: Vec<Dropped>,
}

/// A valid local card, read back from the database.
struct Local {
    source: String,
    name: String,
    mapping: Mapping,
}

impl Local {
    fn devices(&self) -> HashSet<String> {
        self.mapping.devices.iter().cloned().collect()
    }
}

/// An account contact as read, read back from the database.
struct AccountContact {
    id: String,
    detail: ContactDetail,
    picture: bool,
}

/// What the check keeps between its steps, in a [`TempDb`] (in memory while small, then in the
/// temporary folder, as the export's cards): the valid local cards, the account's contacts
/// (by id and by person key), which card matched which contact, and the entries (in the order of
/// the listing: by folded name, then local card, then account id; `seq`, the order they were
/// made in, breaks the rare ties). Text compares byte by byte, as Rust's `String` does.
const SCHEMA: &str = "
    CREATE TABLE locals(n INTEGER PRIMARY KEY, source TEXT NOT NULL, name TEXT NOT NULL,
        uid_id TEXT, key TEXT, body TEXT NOT NULL);
    CREATE TABLE account(id TEXT PRIMARY KEY, key TEXT, picture INTEGER NOT NULL, body TEXT NOT NULL);
    CREATE INDEX account_by_key ON account(key, id);
    CREATE TABLE matches(id TEXT NOT NULL, n INTEGER NOT NULL);
    CREATE INDEX matches_by_id ON matches(id, n);
    CREATE TABLE entries(seq INTEGER PRIMARY KEY, sort_name TEXT NOT NULL, source TEXT NOT NULL,
        id TEXT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX entries_order ON entries(sort_name, source, id, seq);";

/// Local cards and account contacts read back per query while matching and comparing.
const BATCH: i64 = 1000;

/// Entries counted by status as they are made, for the summary.
#[derive(Default)]
struct Tally {
    entries: usize,
    same: usize,
    only_local: usize,
    only_account: usize,
    differ: usize,
    errors: usize,
    /// Errors of local files or records (counted among the local cards).
    local_errors: usize,
    /// Local cards read (the invalid ones included).
    locals: usize,
    contacts: usize,
}

struct Work {
    db: TempDb,
    tally: RefCell<Tally>,
}

fn to_json<T: Serialize>(value: &T) -> io::Result<String> {
    serde_json::to_string(value).map_err(json_failed)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn local_of(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Local> {
    let body: String = row.get(at + 2)?;
    Ok(Local { source: row.get(at)?, name: row.get(at + 1)?, mapping: from_json(&body)? })
}

fn contact_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<AccountContact> {
    let body: String = row.get(2)?;
    Ok(AccountContact { id: row.get(0)?, picture: row.get(1)?, detail: from_json(&body)? })
}

impl Work {
    fn new() -> io::Result<Work> {
        Ok(Work { db: TempDb::new(SCHEMA)?, tally: RefCell::default() })
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> io::Result<()> {
        self.db.conn().prepare_cached(sql).and_then(|mut s| s.execute(params)).map(|_| ()).map_err(failed)
    }

    fn add_local(
        &self,
        source: &str,
        name: &str,
        uid: Option<&str>,
        mapped: &Mapped,
        region: &str,
    ) -> io::Result<()> {
        let mut devices: Vec<String> = local_devices(&mapped.contact, mapped, region).into_iter().collect();
        devices.sort();
        let mapping = Mapping {
            contact: mapped.contact.clone(),
            devices,
            photo: mapped.photo.is_some(),
            dropped: mapped.dropped.clone(),
        };
        let body = to_json(&mapping)?;
        let uid_id = uid.and_then(vdir::id_from_uid);
        let key = dedup::key_of_new(&mapped.contact);
        self.execute(
            "INSERT INTO locals(source, name, uid_id, key, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![source, name, uid_id, key, body],
        )
    }

    fn add_contact(&self, f: &Fetched) -> io::Result<()> {
        let body = to_json(&f.detail)?;
        let key = dedup::key_of_detail(&f.detail);
        self.tally.borrow_mut().contacts += 1;
        self.execute(
            "INSERT OR REPLACE INTO account(id, key, picture, body) VALUES (?1, ?2, ?3, ?4)",
            params![f.id, key, f.picture.is_some(), body],
        )
    }

    fn add_match(&self, id: &str, n: i64) -> io::Result<()> {
        self.execute("INSERT INTO matches(id, n) VALUES (?1, ?2)", params![id, n])
    }

    fn add_entry(&self, e: &CheckEntry) -> io::Result<()> {
        {
            let mut t = self.tally.borrow_mut();
            t.entries += 1;
            match e.status {
                Status::Same => t.same += 1,
                Status::OnlyLocal => t.only_local += 1,
                Status::OnlyAccount => t.only_account += 1,
                Status::Differ => t.differ += 1,
                Status::Error => {
                    t.errors += 1;
                    t.local_errors += usize::from(e.source.is_some());
                }
            }
        }
        let body = to_json(e)?;
        let sort_name = crate::wire::search::fold(&e.name);
        let (source, id) = (e.source.as_deref().unwrap_or(""), e.id.as_deref().unwrap_or(""));
        self.execute(
            "INSERT INTO entries(sort_name, source, id, body) VALUES (?1, ?2, ?3, ?4)",
            params![sort_name, source, id, body],
        )
    }

    /// Up to [`BATCH`] local cards after number `after`: (number, UID's account id, person key, card).
    #[allow(clippy::type_complexity)]
    fn locals_after(&self, after: i64) -> io::Result<Vec<(i64, Option<String>, Option<String>, Local)>> {
        let conn = self.db.conn();
        let mut st = conn
            .prepare_cached(
                "SELECT n, uid_id, key, source, name, body FROM locals WHERE n > ?1 ORDER BY n LIMIT ?2",
            )
            .map_err(failed)?;
        let rows = st
            .query_map(params![after, BATCH], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, local_of(r, 3)?)))
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn has_contact(&self, id: &str) -> io::Result<bool> {
        let conn = self.db.conn();
        let found = conn
            .prepare_cached("SELECT 1 FROM account WHERE id = ?1")
            .and_then(|mut st| st.query_row([id], |_| Ok(())).optional());
        found.map(|f| f.is_some()).map_err(failed)
    }

    /// The ids of the contacts of person key `key`, in id order.
    fn ids_of_key(&self, key: &str) -> io::Result<Vec<String>> {
        let conn = self.db.conn();
        let mut st =
            conn.prepare_cached("SELECT id FROM account WHERE key = ?1 ORDER BY id").map_err(failed)?;
        let rows = st.query_map([key], |r| r.get(0)).map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    fn contacts_of_key(&self, key: &str) -> io::Result<Vec<AccountContact>> {
        let conn = self.db.conn();
        let mut st = conn
            .prepare_cached("SELECT id, picture, body FROM account WHERE key = ?1 ORDER BY id")
            .map_err(failed)?;
        let rows = st.query_map([key], contact_of).map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    /// Up to [`BATCH`] account contacts after id `after` (from the first with `None`), in id order.
    fn contacts_after(&self, after: Option<&str>) -> io::Result<Vec<AccountContact>> {
        let conn = self.db.conn();
        let mut st = conn
            .prepare_cached(
                "SELECT id, picture, body FROM account WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(failed)?;
        let rows = st.query_map(params![after, BATCH], contact_of).map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    /// The local cards matched to the contacts from `first` to `last` (ids), by contact, each
    /// group in the cards' order.
    fn members(&self, first: &str, last: &str) -> io::Result<HashMap<String, Vec<Local>>> {
        let conn = self.db.conn();
        let mut st = conn
            .prepare_cached(
                "SELECT m.id, l.source, l.name, l.body FROM matches m JOIN locals l ON l.n = m.n \
                 WHERE m.id >= ?1 AND m.id <= ?2 ORDER BY m.id, m.n",
            )
            .map_err(failed)?;
        let rows = st.query_map(params![first, last], |r| Ok((r.get::<_, String>(0)?, local_of(r, 1)?)));
        let mut groups: HashMap<String, Vec<Local>> = HashMap::new();
        for row in rows.map_err(failed)? {
            let (id, local) = row.map_err(failed)?;
            groups.entry(id).or_default().push(local);
        }
        Ok(groups)
    }

    /// The entries in the listing's order, to `f`.
    fn for_each_entry(&self, mut f: impl FnMut(CheckEntry) -> io::Result<()>) -> io::Result<()> {
        let conn = self.db.conn();
        let mut st =
            conn.prepare("SELECT body FROM entries ORDER BY sort_name, source, id, seq").map_err(failed)?;
        let mut rows = st.query([]).map_err(failed)?;
        while let Some(row) = rows.next().map_err(failed)? {
            let body = row.get_ref(0).and_then(|v| v.as_str().map_err(Into::into)).map_err(failed)?;
            f(serde_json::from_str(body).map_err(json_failed)?)?;
        }
        Ok(())
    }
}

/// The check's temporary database failed (the temporary folder full): the run stops, as when the
/// listing's does.
fn store_failed(e: io::Error) -> ApiError {
    ApiError::Config(format!("the check's temporary database: {e}"))
}

/// Runs a check: read the local cards, list and fetch the account, match each card to a
/// contact, compare. `Err` only for a fatal API error (or a temporary folder that cannot take
/// the check's database). Cards, contacts and entries wait in a temporary database between the
/// steps ([`Work`]), never all in memory.
pub async fn check<R: Remote>(
    remote: &R,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Result<CheckReport, ApiError> {
    let started = Instant::now();
    let mapping_opts = MappingOptions { region: opts.region.clone(), ..MappingOptions::default() };
    let work = Work::new().map_err(store_failed)?;
    let initials = read_locals(&work, &opts.paths, opts.format, &mapping_opts).map_err(store_failed)?;
    let alphabet = match opts.quick {
        true => listing::quick_alphabet(&initials),
        false => listing::alphabet(),
    };
    let listing = listing::enumerate_with(remote, alphabet, opts.concurrency, progress).await?;
    let keep = |f: Fetched| work.add_contact(&f);
    let ids = listing.contacts.ids();
    let problems = match fetch_each(remote, ids, true, opts.concurrency, progress, keep).await {
        Ok(problems) => problems,
        Err(FetchStop::Api(e)) => return Err(e),
        Err(FetchStop::Sink(e)) => return Err(store_failed(e)),
    };
    match_locals(&work, &opts.region).map_err(store_failed)?;
    compare_all(&work, &mapping_opts, opts.one_way).map_err(store_failed)?;
    for e in problem_entries(&problems, &listing).chain(listing.incomplete.iter().map(incomplete_entry)) {
        work.add_entry(&e).map_err(store_failed)?;
    }
    let summary = summarize(&work.tally.borrow(), &listing, remote.stats().requests(), started);
    let len = work.tally.borrow().entries;
    Ok(CheckReport {
        summary,
        one_way: opts.one_way,
        quick: opts.quick,
        incomplete: listing.incomplete,
        entries: CheckEntries { work: Rc::new(work), len },
    })
}

/// Reads the local cards, mapped as import would send them, into `work`: a card the API cannot
/// carry at all is an `=` entry, unreadable files and records `!` entries. Returns the
/// initials a quick listing must search for every local card to be found.
fn read_locals(
    work: &Work,
    paths: &[PathBuf],
    format: Format,
    mapping_opts: &MappingOptions,
) -> io::Result<HashSet<String>> {
    let mut initials = HashSet::new();
    for file in formats::paths::expand_paths(paths) {
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                work.add_entry(&error_entry(e.clone(), Some(e), None))?;
                continue;
            }
        };
        let records = match formats::read_path(&file, format) {
            Ok(r) => r,
            Err(e) => {
                let src = file.display().to_string();
                work.add_entry(&error_entry(src.clone(), Some(src), Some(format!("{e:#}"))))?;
                continue;
            }
        };
        for record in records {
            let contact = match record.contact {
                Err(e) => {
                    work.add_entry(&error_entry(record.source.clone(), Some(record.source), Some(e)))?;
                    continue;
                }
                Ok(contact) => contact,
            };
            let (name, mapped) = (contact.display_name(), mapping::to_api(&contact, mapping_opts));
            let c = &mapped.contact;
            initials.extend(listing::initials_of(
                c.firstname.as_deref(),
                c.lastname.as_deref(),
                c.nickname.as_deref(),
                c.company.as_deref(),
            ));
            work.tally.borrow_mut().locals += 1;
            match &mapped.invalid {
                Some(why) => work.add_entry(&uncarried_entry(name, record.source, why))?,
                None => work.add_local(
                    &record.source,
                    &name,
                    contact.uid.as_deref(),
                    &mapped,
                    &mapping_opts.region,
                )?,
            }
        }
    }
    Ok(initials)
}

/// The contact a card is of: the id in a UID this tool wrote, else the same-name contact that
/// shares the most devices with it (the first by id on a tie).
fn matching(
    work: &Work,
    l: &Local,
    uid_id: Option<&str>,
    key: Option<&str>,
    region: &str,
) -> io::Result<Option<String>> {
    if let Some(id) = uid_id {
        if work.has_contact(id)? {
            return Ok(Some(id.to_string()));
        }
    }
    let Some(key) = key else { return Ok(None) };
    let ids = work.ids_of_key(key)?;
    if ids.len() <= 1 {
        return Ok(ids.into_iter().next());
    }
    let candidates = work.contacts_of_key(key)?;
    let wanted = l.devices();
    let order: Vec<usize> = (0..candidates.len()).collect();
    let detail = |i: &usize| candidates.get(*i).map(|c| &c.detail);
    let best = dedup::best_candidate(&order, &wanted, detail, region);
    Ok(best.map(|i| candidates[*i].id.clone()))
}

/// Matches each valid local card to the account contact it is of (several cards may match one:
/// duplicates merged by import); cards matching none become `+` entries.
fn match_locals(work: &Work, region: &str) -> io::Result<()> {
    let mut after = 0;
    loop {
        let batch = work.locals_after(after)?;
        let Some(last) = batch.last() else { return Ok(()) };
        after = last.0;
        for (n, uid_id, key, l) in batch {
            match matching(work, &l, uid_id.as_deref(), key.as_deref(), region)? {
                Some(id) => work.add_match(&id, n)?,
                None => work.add_entry(&CheckEntry {
                    status: Status::OnlyLocal,
                    name: l.name,
                    source: Some(l.source),
                    id: None,
                    differences: vec![],
                    note: None,
                })?,
            }
        }
    }
}

/// Each account contact with the cards matched to it, compared (`-` when none is, unless
/// `one_way`), a batch of contacts at a time.
fn compare_all(work: &Work, mapping_opts: &MappingOptions, one_way: bool) -> io::Result<()> {
    let mut after: Option<String> = None;
    loop {
        let batch = work.contacts_after(after.as_deref())?;
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else { return Ok(()) };
        let mut groups = work.members(&first.id, &last.id)?;
        after = Some(last.id.clone());
        for f in &batch {
            match groups.remove(&f.id) {
                Some(members) => {
                    for e in compare(f, &members, mapping_opts) {
                        work.add_entry(&e)?;
                    }
                }
                None if one_way => {}
                None => work.add_entry(&only_in_account(f))?,
            }
        }
    }
}

/// A card the API cannot carry at all: the same as nothing (`=`), with the reason.
fn uncarried_entry(name: String, source: String, invalid: &str) -> CheckEntry {
    CheckEntry {
        status: Status::Same,
        name,
        source: Some(source),
        id: None,
        differences: vec![],
        note: Some(format!("not carried: the whole card ({invalid})")),
    }
}

fn only_in_account(f: &AccountContact) -> CheckEntry {
    CheckEntry {
        status: Status::OnlyAccount,
        name: detail_name(&f.detail),
        source: None,
        id: Some(f.id.clone()),
        differences: vec![],
        note: None,
    }
}

/// The entries of the local cards `members` matched to the account contact `f`.
fn compare(f: &AccountContact, members: &[Local], mapping_opts: &MappingOptions) -> Vec<CheckEntry> {
    let region = mapping_opts.region.as_str();
    let in_account = account_devices(&f.detail, region);
    let held = held_by_account(&f.detail, mapping_opts);
    let union: HashSet<String> = members.iter().flat_map(|l| l.mapping.devices.iter().cloned()).collect();
    let any_local_photo = members.iter().any(|l| l.mapping.photo);
    let mut entries = Vec::with_capacity(members.len());
    for (n, l) in members.iter().enumerate() {
        // A merged duplicate may lack (or contradict) a field another card of the group set:
        // the account holds one value, so that is not a difference of this card.
        let (fields, kept): (Vec<FieldDiff>, Vec<FieldDiff>) =
            field_differences(&l.mapping.contact, &f.detail).into_iter().partition(|d| {
                !members.iter().enumerate().any(|(j, other)| {
                    j != n && field_differences(&other.mapping.contact, &f.detail).iter().all(|o| o.0 != d.0)
                })
            });
        let mut diffs: Vec<String> = fields.iter().map(show_field).collect();
        let mine = l.devices();
        let mut missing: Vec<&String> = mine.difference(&in_account).collect();
        missing.sort();
        diffs.extend(missing.into_iter().map(|d| format!("{} not in the account", show_device(d))));
        if l.mapping.photo && !f.picture {
            diffs.push("photo not in the account".into());
        }
        if n == 0 {
            let mut extra: Vec<&String> = in_account.difference(&union).collect();
            extra.sort();
            diffs.extend(extra.into_iter().map(|d| format!("{} only in the account", show_device(d))));
            if f.picture && !any_local_photo {
                diffs.push("photo only in the account".into());
            }
        }
        let note = compare_note(l, &held, region, members.len(), &kept);
        entries.push(CheckEntry {
            status: if diffs.is_empty() { Status::Same } else { Status::Differ },
            name: l.name.clone(),
            source: Some(l.source.clone()),
            id: Some(f.id.clone()),
            differences: diffs,
            note,
        });
    }
    entries
}

/// What a compared card's line notes: fields not carried, merged duplicates, fields another
/// card of the group gave the account.
fn compare_note(
    l: &Local,
    held: &[Dropped],
    region: &str,
    members: usize,
    kept: &[FieldDiff],
) -> Option<String> {
    let mut parts = Vec::new();
    let not_carried = not_carried(&l.mapping.dropped, held, region);
    if !not_carried.is_empty() {
        parts.push(format!("not carried: {}", not_carried.join(", ")));
    }
    if members > 1 {
        parts.push(format!("same contact as {} other local card(s)", members - 1));
    }
    if !kept.is_empty() {
        let names: Vec<&str> = kept.iter().map(|d| d.0).collect();
        parts.push(format!("account keeps another card's {}", names.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Listed contacts that could not be read (those deleted meanwhile are skipped).
fn problem_entries<'a>(
    problems: &'a [FetchProblem],
    listing: &'a Enumeration,
) -> impl Iterator<Item = CheckEntry> + 'a {
    problems.iter().filter(|p| !p.gone).map(|p| {
        let name = listing.contacts.get(&p.id).as_ref().map(summary_name).unwrap_or_default();
        error_entry(name, None, Some(format!("account contact {}: {}", p.id, p.message)))
    })
}

fn incomplete_entry(p: &IncompletePrefix) -> CheckEntry {
    CheckEntry {
        status: Status::Error,
        name: format!("listing prefix {:?}", p.prefix),
        source: None,
        id: None,
        differences: vec![format!(
            "only {} of {} contacts found: contacts missing from the listing are not compared ({})",
            p.found,
            p.expected.map(|e| e.to_string()).unwrap_or_else(|| "?".into()),
            p.reason
        )],
        note: None,
    }
}

fn summarize(t: &Tally, listing: &Enumeration, api_calls: u64, started: Instant) -> CheckSummary {
    CheckSummary {
        local_cards: t.locals + t.local_errors,
        account_contacts: t.contacts,
        same: t.same,
        only_local: t.only_local,
        only_account: t.only_account,
        differ: t.differ,
        errors: t.errors,
        searches: listing.stats.searches,
        incomplete_prefixes: listing.incomplete.len(),
        api_calls,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

fn error_entry(name: String, source: Option<String>, message: Option<String>) -> CheckEntry {
    CheckEntry {
        status: Status::Error,
        name,
        source,
        id: None,
        differences: message.into_iter().collect(),
        note: None,
    }
}

fn detail_name(d: &ContactDetail) -> String {
    let s = crate::wire::ContactSummary {
        id: d.id.clone(),
        firstname: d.firstname.clone(),
        lastname: d.lastname.clone(),
        nickname: d.nickname.clone(),
        company: d.company.clone(),
    };
    summary_name(&s)
}

/// Device identities a local card would have in the account (its `emailperso` included).
fn local_devices(contact: &NewContact, mapped: &Mapped, region: &str) -> HashSet<String> {
    let mut set: HashSet<String> =
        mapped.devices.iter().map(|d| device_identity(&d.kind, &d.value, region)).collect();
    if let Some(email) = &contact.emailperso {
        set.insert(device_identity(&DeviceType::Email, email, region));
    }
    set
}

fn account_devices(d: &ContactDetail, region: &str) -> HashSet<String> {
    d.devices
        .iter()
        .filter(|dv| matches!(dv.kind, DeviceType::Email | DeviceType::Phone | DeviceType::Url))
        .filter(|dv| !dv.value.trim().is_empty())
        .map(|dv| device_identity(&dv.kind, &dv.value, region))
        .collect()
}

fn show_device(identity: &str) -> String {
    match identity.split_once(':') {
        Some((kind, value)) => format!("{kind} {value}"),
        None => identity.to_string(),
    }
}

fn norm(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A field whose value differs: (name, local value, account value), values normalised.
type FieldDiff = (&'static str, String, String);

/// The `addcontact` fields that differ between what import would send and the account.
fn field_differences(local: &NewContact, account: &ContactDetail) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    let pairs = [
        ("firstname", &local.firstname, &account.firstname),
        ("lastname", &local.lastname, &account.lastname),
        ("nickname", &local.nickname, &account.nickname),
        ("company", &local.company, &account.company),
        ("function", &local.function, &account.function),
        ("department", &local.department, &account.department),
    ];
    for (name, l, a) in pairs {
        if norm(l) != norm(a) {
            diffs.push((name, norm(l).unwrap_or("").to_string(), norm(a).unwrap_or("").to_string()));
        }
    }
    let date = |s: &Option<String>| {
        norm(s)
            .map(|v| PartialDate::from_iso(v).and_then(|d| d.to_iso()).unwrap_or_else(|| v.to_string()))
            .unwrap_or_default()
    };
    if date(&local.birthday) != date(&account.birthday) {
        diffs.push(("birthday", date(&local.birthday), date(&account.birthday)));
    }
    let civ = |c: Option<Civility>| match c {
        Some(Civility::Mr) => "Mr",
        Some(Civility::Mrs) => "Mrs",
        Some(Civility::Miss) => "Miss",
        Some(Civility::Unknown) | None => "",
    };
    if civ(local.civility) != civ(account.civility) {
        diffs.push(("civility", civ(local.civility).into(), civ(account.civility).into()));
    }
    diffs
}

fn show_field(d: &FieldDiff) -> String {
    format!("{} {:?} ≠ {:?}", d.0, d.1, d.2)
}

/// What the account contact holds of what import cannot write (the home/work of its devices, its
/// addresses, its marital status): what the same mapping drops of the account's own contact. A
/// card saying the same loses nothing to the account, so that is not "not carried" (a backup of
/// the account checks without such notes).
fn held_by_account(detail: &ContactDetail, opts: &MappingOptions) -> Vec<Dropped> {
    mapping::to_api(&mapping::from_api(detail, None), opts).dropped
}

/// Whether two dropped values are the same: device values compare by their match key (a 3.0
/// backup writes a phone extension ` x102` where the account stores `;ext=102`).
fn same_dropped(a: &Dropped, b: &Dropped, region: &str) -> bool {
    if a.field != b.field || a.reason != b.reason {
        return false;
    }
    let kind = match a.field.split(';').next() {
        Some("TEL") => DeviceType::Phone,
        Some("EMAIL") => DeviceType::Email,
        Some("URL") => DeviceType::Url,
        _ => return a.value == b.value,
    };
    device_identity(&kind, &a.value, region) == device_identity(&kind, &b.value, region)
}

/// What of a card the API cannot carry and the account does not already hold, in words,
/// de-duplicated.
fn not_carried(dropped: &[Dropped], held: &[Dropped], region: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    for d in dropped.iter().filter(|d| !held.iter().any(|h| same_dropped(d, h, region))) {
        let words = match &*d.reason {
            reason::ADDRESS => "addresses".to_string(),
            reason::NOTE => "notes".to_string(),
            reason::CATEGORIES => "categories".to_string(),
            reason::MARITAL_STATUS => "marital status".to_string(),
            reason::PLACE => "home/work of devices".to_string(),
            reason::LABEL => "labels".to_string(),
            reason::FORMATTED_NAME => "display name".to_string(),
            reason::SUFFIX => "name suffix".to_string(),
            reason::PREFIX => "name prefix".to_string(),
            reason::PARTIAL_BIRTHDAY | reason::INVALID_BIRTHDAY | reason::BIRTHDAY_TEXT => {
                "birthday".to_string()
            }
            reason::PAGER => "pager type".to_string(),
            reason::PHOTO_LINK | reason::PHOTO_UNREADABLE => "photo".to_string(),
            _ => d.field.to_string(),
        };
        out.insert(words);
    }
    out.into_iter().collect()
}
