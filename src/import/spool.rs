//! The records of an import run and what it read of the account, in a temporary SQLite
//! database rather than in memory, so that an import of a million contacts runs in flat memory.
//!
//! Records are stored as they are read (numbered from 0 in input order, with their person key,
//! the initial they are searched by and whether they carry a photo); the account contacts
//! sharing a key with a record, and for `merge` their details, as they are read. Planning then takes the records in
//! windows of whole person groups ([`RecordSpool::windows`]): records of one person far apart
//! in the input are still one group.

use std::collections::BTreeSet;
use std::io;

use rusqlite::{params, OptionalExtension};

use crate::dedup;
use crate::import::account::crawl_prefix;
use crate::import::plan::AccountSnapshot;
use crate::import::read::InputRecord;
use crate::temp_db::{failed, json_failed, TempDb};
use crate::wire::{ContactDetail, ContactSummary};

/// Records planned and run together at most (a group larger than this is one window).
pub const WINDOW_RECORDS: usize = 2_000;

const SCHEMA: &str = "
CREATE TABLE records (idx INTEGER PRIMARY KEY, key TEXT, prefix TEXT, photo INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE account (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, id TEXT NOT NULL, data BLOB NOT NULL, UNIQUE (key, id));
CREATE TABLE details (id TEXT PRIMARY KEY, data BLOB NOT NULL, has_picture INTEGER);
CREATE TABLE listing (first INTEGER NOT NULL, idx INTEGER NOT NULL, line TEXT NOT NULL, PRIMARY KEY (first, idx));
";

pub struct RecordSpool {
    db: TempDb,
    len: usize,
    indexed: bool,
}

impl RecordSpool {
    pub fn new() -> io::Result<RecordSpool> {
        Ok(RecordSpool { db: TempDb::new(SCHEMA)?, len: 0, indexed: false })
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores the next record (its photo already in the photo spool).
    pub fn push(&mut self, record: &InputRecord) -> io::Result<()> {
        debug_assert!(!self.indexed, "records are all stored before the account is read");
        let valid = record.valid();
        let key = valid.and_then(|m| m.person_key.as_deref());
        let prefix = valid.and_then(|m| crawl_prefix(&m.contact));
        let photo = valid.is_some() && record.photo.is_some();
        let data = serde_json::to_vec(record).map_err(json_failed)?;
        self.db
            .conn()
            .prepare_cached("INSERT INTO records (idx, key, prefix, photo, data) VALUES (?1, ?2, ?3, ?4, ?5)")
            .and_then(|mut s| s.execute(params![self.len as i64, key, prefix, photo, data]))
            .map_err(failed)?;
        self.len += 1;
        Ok(())
    }

    /// Ends the reading: indexes the records by person key.
    pub fn seal(&mut self) -> io::Result<()> {
        if !self.indexed {
            self.db
                .conn()
                .execute_batch("CREATE INDEX records_key ON records (key, idx);")
                .map_err(failed)?;
            self.indexed = true;
        }
        Ok(())
    }

    /// Record `i`.
    pub fn get(&self, i: usize) -> io::Result<InputRecord> {
        let data: Vec<u8> = self
            .db
            .conn()
            .prepare_cached("SELECT data FROM records WHERE idx = ?1")
            .and_then(|mut s| s.query_row([i as i64], |r| r.get(0)))
            .map_err(failed)?;
        serde_json::from_slice(&data).map_err(json_failed)
    }

    /// The crawl prefixes of the valid records: the first folded letter of their search names.
    pub fn prefixes(&self) -> io::Result<BTreeSet<String>> {
        self.strings("SELECT DISTINCT prefix FROM records WHERE key IS NOT NULL AND prefix IS NOT NULL", [])
    }

    fn strings(&self, sql: &str, args: impl rusqlite::Params) -> io::Result<BTreeSet<String>> {
        let mut statement = self.db.conn().prepare(sql).map_err(failed)?;
        let rows = statement.query_map(args, |r| r.get::<_, String>(0)).map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    /// Records with no person key: invalid (nothing to plan for them).
    pub fn unkeyed(&self) -> io::Result<usize> {
        let n: i64 = self
            .db
            .conn()
            .query_row("SELECT COUNT(*) FROM records WHERE key IS NULL", [], |r| r.get(0))
            .map_err(failed)?;
        Ok(n as usize)
    }

    /// Keeps the account entries whose person key a record has (others are irrelevant to this
    /// import), each once per key, in the order found.
    pub fn keep_account(&mut self, entries: impl IntoIterator<Item = ContactSummary>) -> io::Result<()> {
        debug_assert!(self.indexed);
        for entry in entries {
            let Some(key) = dedup::key_of_summary(&entry) else { continue };
            let data = serde_json::to_vec(&entry).map_err(json_failed)?;
            self.db
                .conn()
                .prepare_cached(
                    "INSERT OR IGNORE INTO account (key, id, data) SELECT ?1, ?2, ?3 \
                     WHERE EXISTS (SELECT 1 FROM records WHERE key = ?1)",
                )
                .and_then(|mut s| s.execute(params![key, entry.id, data]))
                .map_err(failed)?;
        }
        Ok(())
    }

    /// Account contacts kept, the candidates records may merge into.
    pub fn candidates(&self) -> io::Result<u64> {
        let n: i64 =
            self.db.conn().query_row("SELECT COUNT(*) FROM account", [], |r| r.get(0)).map_err(failed)?;
        Ok(n as u64)
    }

    /// Up to `limit` candidates after position `after`: (position, cid, whether an input photo
    /// could go to it, so that its picture must be known).
    pub fn candidates_after(&self, after: i64, limit: usize) -> io::Result<Vec<(i64, String, bool)>> {
        let mut statement = self
            .db
            .conn()
            .prepare_cached(
                "SELECT a.seq, a.id, EXISTS (SELECT 1 FROM records r WHERE r.key = a.key AND r.photo = 1) \
                 FROM account a WHERE a.seq > ?1 ORDER BY a.seq LIMIT ?2",
            )
            .map_err(failed)?;
        let rows = statement
            .query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    /// Stores a candidate's details, and whether it has a picture when that was asked.
    pub fn put_detail(&mut self, detail: &ContactDetail, has_picture: Option<bool>) -> io::Result<()> {
        let data = serde_json::to_vec(detail).map_err(json_failed)?;
        self.db
            .conn()
            .prepare_cached("INSERT OR REPLACE INTO details (id, data, has_picture) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![detail.id, data, has_picture]))
            .map(|_| ())
            .map_err(failed)
    }

    /// The keyed records cut into windows of whole groups: record numbers by person key (then
    /// input order), a window ending at a key change once it holds `limit` records. With
    /// `grouped` false (`--on-duplicate create`), each record is its own group anyway.
    /// Memory: 4 bytes per record.
    pub fn windows(&self, limit: usize) -> io::Result<Vec<Vec<u32>>> {
        let mut statement = self
            .db
            .conn()
            .prepare("SELECT idx, key FROM records WHERE key IS NOT NULL ORDER BY key, idx")
            .map_err(failed)?;
        let mut rows = statement.query([]).map_err(failed)?;
        let mut windows: Vec<Vec<u32>> = Vec::new();
        let mut current: Vec<u32> = Vec::new();
        let mut last_key: Option<String> = None;
        while let Some(row) = rows.next().map_err(failed)? {
            let idx: i64 = row.get(0).map_err(failed)?;
            let key = row.get_ref(1).map_err(failed)?.as_str().map_err(|e| failed(e.into()))?;
            let new_group = last_key.as_deref() != Some(key);
            if new_group && current.len() >= limit.max(1) {
                windows.push(std::mem::take(&mut current));
            }
            if new_group {
                last_key = Some(key.to_string());
            }
            current.push(idx as u32);
        }
        if !current.is_empty() {
            windows.push(current);
        }
        Ok(windows)
    }

    /// What the plan of a window needs of the account: the contacts with these keys and their
    /// details.
    pub fn snapshot_of<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> io::Result<AccountSnapshot> {
        let mut snapshot = AccountSnapshot::default();
        let mut by_key = self
            .db
            .conn()
            .prepare_cached("SELECT data FROM account WHERE key = ?1 ORDER BY seq")
            .map_err(failed)?;
        let mut detail = self
            .db
            .conn()
            .prepare_cached("SELECT data, has_picture FROM details WHERE id = ?1")
            .map_err(failed)?;
        for key in keys {
            let rows = by_key.query_map([key], |r| r.get::<_, Vec<u8>>(0)).map_err(failed)?;
            let mut list = Vec::new();
            for data in rows {
                let summary: ContactSummary =
                    serde_json::from_slice(&data.map_err(failed)?).map_err(json_failed)?;
                let found = detail
                    .query_row([&summary.id], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Option<bool>>(1)?)))
                    .optional()
                    .map_err(failed)?;
                if let Some((data, has_picture)) = found {
                    let d: ContactDetail = serde_json::from_slice(&data).map_err(json_failed)?;
                    if let Some(has) = has_picture {
                        snapshot.has_picture.insert(summary.id.clone(), has);
                    }
                    snapshot.details.insert(summary.id.clone(), d);
                }
                list.push(summary);
            }
            if !list.is_empty() {
                snapshot.by_key.insert(key.to_string(), list);
            }
        }
        Ok(snapshot)
    }

    /// Stores a line of the dry-run listing: `first` orders the groups (their first record),
    /// `record` the lines within.
    pub fn put_listing(&mut self, first: usize, record: usize, line: &str) -> io::Result<()> {
        self.db
            .conn()
            .prepare_cached("INSERT INTO listing (first, idx, line) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![first as i64, record as i64, line]))
            .map(|_| ())
            .map_err(failed)
    }

    /// Writes the listing's lines in order.
    pub fn write_listing(&mut self, out: &mut dyn io::Write) -> io::Result<()> {
        let mut statement =
            self.db.conn().prepare("SELECT line FROM listing ORDER BY first, idx").map_err(failed)?;
        let mut rows = statement.query([]).map_err(failed)?;
        while let Some(row) = rows.next().map_err(failed)? {
            let line = row.get_ref(0).map_err(failed)?.as_str().map_err(|e| failed(e.into()))?;
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}
