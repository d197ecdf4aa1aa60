//! The sandbox's persistent state: one SQLite file (WAL) holding users (token, consent flag),
//! their contacts, devices, addresses and pictures.
//!
//! Every write and its effects (a contact and its `emailperso` device, a seeded contact with all
//! its parts) happen in one `BEGIN IMMEDIATE` transaction, so a rejected or failed request leaves
//! nothing behind and concurrent writers queue on SQLite's lock instead of failing. Users are
//! isolated by `user_id` in every query: another user's contact id reads as "not found".
//!
//! Search keys are stored folded (`wire::search::fold`) in indexed columns, so a prefix search is
//! an index range scan even on large address books. Connections are pooled and statements cached
//! (`prepare_cached`), so a request costs little more than its SQL.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rand::Rng as _;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::wire::search::{fold, searchable_names};
use crate::wire::{
    Address, Civility, ContactDetail, ContactSummary, Device, DeviceSubtype, DeviceType, ImageType,
    NewContact, NewDevice, Picture,
};

/// Connections kept open at most (a request holds one for the length of its SQL only).
const POOL_SIZE: usize = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Bumped when the schema changes incompatibly.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE,
    denied INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS contacts(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    firstname TEXT, lastname TEXT, nickname TEXT, company TEXT,
    function TEXT, department TEXT,
    civility INTEGER, maritalstatus INTEGER, birthday TEXT,
    -- folded search keys (NULL when absent); fold_alt is nickname-else-company, only for
    -- contacts with neither first nor last name
    fold_first TEXT, fold_last TEXT, fold_alt TEXT,
    sort_last TEXT NOT NULL, sort_first TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_fold_first ON contacts(user_id, fold_first);
CREATE INDEX IF NOT EXISTS contacts_fold_last ON contacts(user_id, fold_last);
CREATE INDEX IF NOT EXISTS contacts_fold_alt ON contacts(user_id, fold_alt);
CREATE INDEX IF NOT EXISTS contacts_sort ON contacts(user_id, sort_last, sort_first, id);
CREATE TABLE IF NOT EXISTS devices(
    seq INTEGER PRIMARY KEY,
    id INTEGER NOT NULL UNIQUE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    kind TEXT NOT NULL, subtype TEXT NOT NULL, info_type TEXT,
    ord INTEGER NOT NULL, display INTEGER NOT NULL, value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_contact ON devices(contact_id, seq);
CREATE TABLE IF NOT EXISTS addresses(
    seq INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    info_type TEXT, streetline1 TEXT, streetline2 TEXT, zip_code TEXT, city TEXT, state TEXT, country TEXT
);
CREATE INDEX IF NOT EXISTS addresses_contact ON addresses(contact_id, seq);
CREATE TABLE IF NOT EXISTS pictures(
    contact_id INTEGER PRIMARY KEY REFERENCES contacts(id),
    media_id INTEGER NOT NULL,
    image_type TEXT NOT NULL,
    bytes BLOB NOT NULL
);
";

/// One contact to seed: everything it has, and its picture (bytes, sniffed format).
pub type SeedRow<'a> = (&'a ContactDetail, Option<(&'a [u8], ImageType)>);

/// A user known by token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    /// `sandbox deny`: every call answers the privacy refusal.
    pub denied: bool,
}

/// One page of search results plus the number of all matches.
#[derive(Debug, Clone, Default)]
pub struct Matches {
    pub total: u32,
    pub entries: Vec<ContactSummary>,
}

/// The sandbox database. Cheap to share behind an `Arc`; all methods are blocking (call them from
/// `spawn_blocking` in async code).
pub struct Store {
    path: PathBuf,
    idle: Mutex<Pool>,
    returned: Condvar,
    /// Serialises this process's writers before they reach SQLite: its busy handler backs off in
    /// millisecond sleeps, which would throttle concurrent writes. `busy_timeout` still arbitrates
    /// with other processes (the `sandbox` commands, a second server).
    writer: Mutex<()>,
}

struct Pool {
    connections: Vec<Connection>,
    /// Connections currently open (idle + lent out).
    open: usize,
}

/// What can go wrong with the sandbox's database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the folder {}: {source}", path.display())]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("opening sandbox database {}: {source}", path.display())]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("{}: database schema {version} is newer than this program's", path.display())]
    NewerSchema { path: PathBuf, version: i64 },
    #[error("{}: creating schema: {source}", path.display())]
    Schema { path: PathBuf, source: rusqlite::Error },
    #[error("{}: could not switch to WAL (got {mode})", path.display())]
    NotWal { path: PathBuf, mode: String },
    #[error("sandbox database: {0}")]
    Sql(#[from] rusqlite::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|source| StoreError::Folder { path: parent.to_path_buf(), source })?;
        }
        let mut conn = open_connection(path)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { path: path.to_path_buf(), version });
        }
        tx.execute_batch(SCHEMA).map_err(|source| StoreError::Schema { path: path.to_path_buf(), source })?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(Store {
            path: path.to_path_buf(),
            idle: Mutex::new(Pool { connections: vec![conn], open: 1 }),
            returned: Condvar::new(),
            writer: Mutex::new(()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a pooled connection (waiting for one when all are in use).
    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut conn = {
            let mut pool = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(c) = pool.connections.pop() {
                    break c;
                }
                if pool.open < POOL_SIZE {
                    pool.open += 1;
                    drop(pool);
                    match open_connection(&self.path) {
                        Ok(c) => break c,
                        Err(e) => {
                            self.idle.lock().unwrap_or_else(|e| e.into_inner()).open -= 1;
                            return Err(e);
                        }
                    }
                }
                pool = self.returned.wait(pool).unwrap_or_else(|e| e.into_inner());
            }
        };
        let result = f(&mut conn);
        let mut pool = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        pool.connections.push(conn);
        drop(pool);
        self.returned.notify_one();
        result
    }

    fn write<T>(&self, f: impl FnOnce(&Transaction) -> StoreResult<T>) -> StoreResult<T> {
        self.with_conn(|conn| {
            let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    fn read<T>(&self, f: impl FnOnce(&Transaction) -> StoreResult<T>) -> StoreResult<T> {
        self.with_conn(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// The token of `user`, creating the user (with a fresh token) if needed.
    pub fn token_for(&self, user: &str) -> StoreResult<String> {
        self.write(|tx| Ok(ensure_user(tx, user)?.1))
    }

    /// Records whether `user` has refused this service access (creating the user if needed).
    pub fn set_denied(&self, user: &str, denied: bool) -> StoreResult<()> {
        self.write(|tx| {
            let (id, _) = ensure_user(tx, user)?;
            tx.prepare_cached("UPDATE users SET denied = ?2 WHERE id = ?1")?.execute(params![id, denied])?;
            Ok(())
        })
    }

    /// The user a token belongs to.
    pub fn user_by_token(&self, token: &str) -> StoreResult<Option<User>> {
        self.with_conn(|conn| {
            Ok(conn
                .prepare_cached("SELECT id, denied FROM users WHERE token = ?1")?
                .query_row([token], |r| Ok(User { id: r.get(0)?, denied: r.get(1)? }))
                .optional()?)
        })
    }

    /// Stores a whole contact for `user` (seeding): names, civility, marital status, birthday,
    /// devices, addresses and picture. Ids in `detail` are ignored; returns the new contact id.
    pub fn insert_contact(
        &self,
        user: &str,
        detail: &ContactDetail,
        picture: Option<(&[u8], ImageType)>,
    ) -> StoreResult<String> {
        Ok(self.insert_contacts(user, &[(detail, picture)])?.remove(0))
    }

    /// [`Store::insert_contact`] for a batch, in one transaction (seeding large files quickly).
    pub fn insert_contacts(&self, user: &str, batch: &[SeedRow]) -> StoreResult<Vec<String>> {
        self.write(|tx| {
            let (user_id, _) = ensure_user(tx, user)?;
            batch.iter().map(|(detail, picture)| insert_full_contact(tx, user_id, detail, *picture)).collect()
        })
    }

    /// `addcontact`: the contact and its `emailperso` device in one transaction.
    pub fn add_contact(&self, user_id: i64, c: &NewContact) -> StoreResult<String> {
        self.write(|tx| {
            let fields = ContactFields {
                firstname: c.firstname.as_deref(),
                lastname: c.lastname.as_deref(),
                nickname: c.nickname.as_deref(),
                company: c.company.as_deref(),
                function: c.function.as_deref(),
                department: c.department.as_deref(),
                civility: c.civility,
                maritalstatus: None,
                birthday: c.birthday.as_deref(),
            };
            let cid = insert_contact_row(tx, user_id, &fields)?;
            if let Some(email) = &c.emailperso {
                insert_device(
                    tx,
                    cid,
                    &DeviceType::Email,
                    &DeviceSubtype::Internet,
                    Some("perso"),
                    1,
                    true,
                    email,
                )?;
            }
            Ok(cid.to_string())
        })
    }

    /// `adddevice`. `Ok(false)`: no such contact for this user (nothing written).
    pub fn add_device(&self, user_id: i64, d: &NewDevice) -> StoreResult<bool> {
        let Some(cid) = parse_id(&d.cid) else { return Ok(false) };
        self.write(|tx| {
            if !owns(tx, user_id, cid)? {
                return Ok(false);
            }
            // The API has no info-type parameter: devices added through it are personal.
            insert_device(tx, cid, &d.kind, &d.subtype, Some("perso"), d.order, true, &d.value)?;
            Ok(true)
        })
    }

    /// `addpicture`: replaces the contact's picture. `Ok(false)`: no such contact for this user.
    pub fn set_picture(&self, user_id: i64, cid: &str, bytes: &[u8], kind: ImageType) -> StoreResult<bool> {
        let Some(cid) = parse_id(cid) else { return Ok(false) };
        self.write(|tx| {
            if !owns(tx, user_id, cid)? {
                return Ok(false);
            }
            upsert_picture(tx, cid, bytes, kind)?;
            Ok(true)
        })
    }

    /// `getpicture`. `None`: no such contact; `Some(None)`: the contact has no picture.
    pub fn picture(&self, user_id: i64, cid: &str) -> StoreResult<Option<Option<Picture>>> {
        let Some(cid) = parse_id(cid) else { return Ok(None) };
        self.read(|tx| {
            if !owns(tx, user_id, cid)? {
                return Ok(None);
            }
            let pic = tx
                .prepare_cached("SELECT media_id, image_type, bytes FROM pictures WHERE contact_id = ?1")?
                .query_row([cid], |r| {
                    let media_id: i64 = r.get(0)?;
                    let kind: String = r.get(1)?;
                    let content: Vec<u8> = r.get(2)?;
                    Ok(Picture {
                        id: Some(media_id.to_string()),
                        image_type: ImageType::parse(&kind),
                        content,
                    })
                })
                .optional()?;
            Ok(Some(pic))
        })
    }

    /// `getcontact`: everything stored about one of the user's contacts.
    pub fn contact(&self, user_id: i64, cid: &str) -> StoreResult<Option<ContactDetail>> {
        let Some(id) = parse_id(cid) else { return Ok(None) };
        self.read(|tx| {
            let detail = tx
                .prepare_cached(
                    "SELECT firstname, lastname, nickname, company, function, department, civility, \
                     maritalstatus, birthday FROM contacts WHERE id = ?1 AND user_id = ?2",
                )?
                .query_row(params![id, user_id], |r| {
                    let civility: Option<u8> = r.get(6)?;
                    Ok(ContactDetail {
                        id: id.to_string(),
                        firstname: r.get(0)?,
                        lastname: r.get(1)?,
                        nickname: r.get(2)?,
                        company: r.get(3)?,
                        function: r.get(4)?,
                        department: r.get(5)?,
                        civility: civility.and_then(Civility::from_code),
                        maritalstatus: r.get(7)?,
                        birthday: r.get(8)?,
                        devices: Vec::new(),
                        addresses: Vec::new(),
                    })
                })
                .optional()?;
            let Some(mut detail) = detail else { return Ok(None) };
            let mut stmt = tx.prepare_cached(
                "SELECT id, kind, subtype, info_type, ord, display, value FROM devices \
                 WHERE contact_id = ?1 ORDER BY seq",
            )?;
            let devices = stmt.query_map([id], |r| {
                let device_id: i64 = r.get(0)?;
                let kind: String = r.get(1)?;
                let subtype: String = r.get(2)?;
                Ok(Device {
                    id: device_id.to_string(),
                    kind: DeviceType::parse(&kind),
                    subtype: DeviceSubtype::parse(&subtype),
                    info_type: r.get(3)?,
                    order: r.get(4)?,
                    display: r.get(5)?,
                    value: r.get(6)?,
                })
            })?;
            detail.devices = devices.collect::<Result<_, _>>()?;
            let mut stmt = tx.prepare_cached(
                "SELECT info_type, streetline1, streetline2, zip_code, city, state, country FROM addresses \
                 WHERE contact_id = ?1 ORDER BY seq",
            )?;
            let addresses = stmt.query_map([id], |r| {
                Ok(Address {
                    info_type: r.get(0)?,
                    streetline1: r.get(1)?,
                    streetline2: r.get(2)?,
                    zip_code: r.get(3)?,
                    city: r.get(4)?,
                    state: r.get(5)?,
                    country: r.get(6)?,
                })
            })?;
            detail.addresses = addresses.collect::<Result<_, _>>()?;
            Ok(Some(detail))
        })
    }

    /// `findcontactlist`: contacts whose first or last name (nickname, else company, for contacts
    /// with neither) starts with the folded `term`, sorted by folded last name, first name, id.
    /// `limit`/`offset` select one page; `total` counts every match.
    pub fn find(&self, user_id: i64, term: &str, limit: Option<u32>, offset: u32) -> StoreResult<Matches> {
        // Everything that starts with `term` sorts in [term, term + U+10FFFF) bytewise; one
        // index range scan per search key, united (an OR would let SQLite scan the whole user).
        let upper = format!("{term}\u{10FFFF}");
        self.read(|tx| {
            let total: Option<u32> = match limit {
                // Uncapped from the start: the rows themselves are the count.
                None if offset == 0 => None,
                _ => Some(
                    tx.prepare_cached(&format!("SELECT count(*) FROM ({MATCHING_IDS})"))?
                        .query_row(params![user_id, term, upper], |r| r.get(0))?,
                ),
            };
            let limit = limit.map(i64::from).unwrap_or(-1);
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT c.id, c.firstname, c.lastname, c.nickname, c.company \
                 FROM ({MATCHING_IDS}) m JOIN contacts c ON c.id = m.id \
                 ORDER BY c.sort_last, c.sort_first, c.id LIMIT ?4 OFFSET ?5"
            ))?;
            let rows = stmt.query_map(params![user_id, term, upper, limit, offset], |r| {
                let id: i64 = r.get(0)?;
                let firstname: Option<String> = r.get(1)?;
                let lastname: Option<String> = r.get(2)?;
                let nameless = firstname.is_none() && lastname.is_none();
                Ok(ContactSummary {
                    id: id.to_string(),
                    firstname,
                    lastname,
                    nickname: if nameless { r.get(3)? } else { None },
                    company: if nameless { r.get(4)? } else { None },
                })
            })?;
            let entries: Vec<ContactSummary> = rows.collect::<Result<_, _>>()?;
            Ok(Matches { total: total.unwrap_or(entries.len() as u32), entries })
        })
    }
}

/// Ids of the user's (?1) contacts with a search key in [?2, ?3).
const MATCHING_IDS: &str =
    "SELECT id FROM contacts WHERE user_id = ?1 AND fold_first >= ?2 AND fold_first < ?3 \
     UNION SELECT id FROM contacts WHERE user_id = ?1 AND fold_last >= ?2 AND fold_last < ?3 \
     UNION SELECT id FROM contacts WHERE user_id = ?1 AND fold_alt >= ?2 AND fold_alt < ?3";

fn open_connection(path: &Path) -> StoreResult<Connection> {
    let conn =
        Connection::open(path).map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers do not block the writer; NORMAL sync survives a killed process (not power loss).
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::NotWal { path: path.to_path_buf(), mode });
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

/// Contact ids are canonical decimal strings; anything else (`c6`, `01`, `+1`) names no contact,
/// since ids are compared as opaque strings.
fn parse_id(cid: &str) -> Option<i64> {
    let id: i64 = cid.trim().parse().ok()?;
    (id > 0 && id.to_string() == cid.trim()).then_some(id)
}

fn owns(tx: &Transaction, user_id: i64, cid: i64) -> StoreResult<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM contacts WHERE id = ?1 AND user_id = ?2")?
        .query_row(params![cid, user_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The user's id and token, creating the user if needed.
fn ensure_user(tx: &Transaction, name: &str) -> StoreResult<(i64, String)> {
    if let Some(found) = tx
        .prepare_cached("SELECT id, token FROM users WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
    {
        return Ok(found);
    }
    let token = new_token();
    tx.prepare_cached("INSERT INTO users(name, token) VALUES (?1, ?2)")?.execute(params![name, token])?;
    Ok((tx.last_insert_rowid(), token))
}

/// A token shaped like the real service's (`B64<base64>=|sau=|ted=<epoch>|<base64 sig>=`): opaque,
/// and always containing `+`, `/`, `=` and `|`, so a client that does not percent-encode it fails.
pub fn new_token() -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut rng = rand::rng();
    loop {
        let body: [u8; 23] = rng.random();
        let sig: [u8; 20] = rng.random();
        let (body, sig) = (b64.encode(body), b64.encode(sig));
        let both = format!("{body}{sig}");
        if both.contains('+') && both.contains('/') {
            let ted = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            return format!("B64{body}|sau=|ted={ted}|{sig}");
        }
    }
}

struct ContactFields<'a> {
    firstname: Option<&'a str>,
    lastname: Option<&'a str>,
    nickname: Option<&'a str>,
    company: Option<&'a str>,
    function: Option<&'a str>,
    department: Option<&'a str>,
    civility: Option<Civility>,
    maritalstatus: Option<u8>,
    birthday: Option<&'a str>,
}

fn insert_full_contact(
    tx: &Transaction,
    user_id: i64,
    detail: &ContactDetail,
    picture: Option<(&[u8], ImageType)>,
) -> StoreResult<String> {
    let fields = ContactFields {
        firstname: detail.firstname.as_deref(),
        lastname: detail.lastname.as_deref(),
        nickname: detail.nickname.as_deref(),
        company: detail.company.as_deref(),
        function: detail.function.as_deref(),
        department: detail.department.as_deref(),
        civility: detail.civility,
        maritalstatus: detail.maritalstatus,
        birthday: detail.birthday.as_deref(),
    };
    let cid = insert_contact_row(tx, user_id, &fields)?;
    for d in &detail.devices {
        insert_device(tx, cid, &d.kind, &d.subtype, d.info_type.as_deref(), d.order, d.display, &d.value)?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO addresses(contact_id, info_type, streetline1, streetline2, zip_code, city, state, country) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for a in &detail.addresses {
        stmt.execute(params![
            cid,
            a.info_type,
            a.streetline1,
            a.streetline2,
            a.zip_code,
            a.city,
            a.state,
            a.country
        ])?;
    }
    if let Some((bytes, kind)) = picture {
        upsert_picture(tx, cid, bytes, kind)?;
    }
    Ok(cid.to_string())
}

fn insert_contact_row(tx: &Transaction, user_id: i64, c: &ContactFields) -> StoreResult<i64> {
    let (first, last) = (nonblank(c.firstname), nonblank(c.lastname));
    let alt = if first.is_none() && last.is_none() {
        searchable_names(None, None, c.nickname, c.company).first().map(|n| fold(n))
    } else {
        None
    };
    let (fold_first, fold_last) = (first.map(fold), last.map(fold));
    tx.prepare_cached(
        "INSERT INTO contacts(user_id, firstname, lastname, nickname, company, function, department, civility, \
         maritalstatus, birthday, fold_first, fold_last, fold_alt, sort_last, sort_first) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        user_id,
        c.firstname,
        c.lastname,
        c.nickname,
        c.company,
        c.function,
        c.department,
        c.civility.map(Civility::code),
        c.maritalstatus,
        c.birthday,
        fold_first,
        fold_last,
        alt,
        fold_last.clone().or(alt.clone()).unwrap_or_default(),
        fold_first.clone().unwrap_or_default(),
    ])?;
    Ok(tx.last_insert_rowid())
}

fn nonblank(s: Option<&str>) -> Option<&str> {
    s.filter(|v| !v.trim().is_empty())
}

/// A large random numeric id, like the seed's `1400761728`.
fn random_id() -> i64 {
    rand::rng().random_range(1_000_000_000..=2_147_483_647)
}

#[allow(clippy::too_many_arguments)]
fn insert_device(
    tx: &Transaction,
    cid: i64,
    kind: &DeviceType,
    subtype: &DeviceSubtype,
    info_type: Option<&str>,
    order: u32,
    display: bool,
    value: &str,
) -> StoreResult<i64> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO devices(id, contact_id, kind, subtype, info_type, ord, display, value) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    loop {
        let id = random_id();
        // Stored in the request spelling (`mobile`); rendered as `cell`.
        let n = stmt.execute(params![
            id,
            cid,
            kind.as_str(),
            subtype.request_str(),
            info_type,
            order,
            display,
            value
        ])?;
        if n == 1 {
            return Ok(id);
        }
    }
}

fn upsert_picture(tx: &Transaction, cid: i64, bytes: &[u8], kind: ImageType) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO pictures(contact_id, media_id, image_type, bytes) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(contact_id) DO UPDATE SET media_id = excluded.media_id, \
         image_type = excluded.image_type, bytes = excluded.bytes",
    )?
    .execute(params![cid, random_id(), kind.as_str(), bytes])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::search::matches;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        (dir, store)
    }

    fn uid(store: &Store, name: &str) -> i64 {
        let token = store.token_for(name).unwrap();
        store.user_by_token(&token).unwrap().unwrap().id
    }

    #[test]
    fn only_canonical_ids_name_contacts() {
        assert_eq!(parse_id("12"), Some(12));
        for other in ["012", "+12", "c6", "C1", "", "-1", "0", "1e3", "99999999999999999999"] {
            assert_eq!(parse_id(other), None, "{other}");
        }
    }

    #[test]
    fn tokens_are_stable_and_contain_reserved_characters() {
        let (_d, s) = store();
        let t = s.token_for("alice").unwrap();
        assert_eq!(t, s.token_for("alice").unwrap());
        assert_ne!(t, s.token_for("bob").unwrap());
        for c in ['+', '/', '=', '|'] {
            assert!(t.contains(c), "{c} missing");
        }
        assert!(t.starts_with("B64") && t.contains("|sau=|ted="));
    }

    #[test]
    fn contacts_are_isolated_per_user() {
        let (_d, s) = store();
        let (alice, bob) = (uid(&s, "alice"), uid(&s, "bob"));
        let cid = s
            .add_contact(
                alice,
                &NewContact {
                    lastname: Some("Zola".into()),
                    emailperso: Some("z@x".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(s.contact(bob, &cid).unwrap().is_none());
        assert!(s.picture(bob, &cid).unwrap().is_none());
        assert!(!s
            .add_device(
                bob,
                &NewDevice {
                    cid: cid.clone(),
                    kind: DeviceType::Url,
                    subtype: DeviceSubtype::Web,
                    order: 1,
                    value: "x".into()
                }
            )
            .unwrap());
        let d = s.contact(alice, &cid).unwrap().unwrap();
        assert_eq!(d.devices.len(), 1);
        assert_eq!(d.devices[0].info_type.as_deref(), Some("perso"));
        assert_eq!(s.find(bob, "zo", None, 0).unwrap().total, 0);
        assert_eq!(s.find(alice, "zo", None, 0).unwrap().total, 1);
    }

    #[test]
    fn find_agrees_with_the_shared_search_semantics() {
        let (_d, s) = store();
        let u = uid(&s, "u");
        type Names<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let people: &[Names] = &[
            (Some("Émile"), Some("Zola"), None, None),
            (Some("emma"), Some("Bovary"), None, None),
            (None, Some("Ångström"), None, Some("Acme")),
            (None, None, Some("Zed"), Some("Zebra Inc")),
            (None, None, None, Some("Zebra Inc")),
            (Some("Jean Pierre"), Some("Élan"), None, None),
        ];
        for (f, l, n, c) in people {
            s.add_contact(
                u,
                &NewContact {
                    firstname: f.map(Into::into),
                    lastname: l.map(Into::into),
                    nickname: n.map(Into::into),
                    company: c.map(Into::into),
                    ..Default::default()
                },
            )
            .unwrap();
        }
        for term in ["e", "em", "z", "ze", "zeb", "a", "an", "ac", "jean p", "b", "x", "el"] {
            let expected =
                people.iter().filter(|(f, l, n, c)| matches(term, &searchable_names(*f, *l, *n, *c))).count()
                    as u32;
            let got = s.find(u, term, None, 0).unwrap();
            assert_eq!(got.total, expected, "term {term:?}");
            assert_eq!(got.entries.len() as u32, expected, "term {term:?}");
        }
        let page = s.find(u, "e", Some(1), 1).unwrap();
        assert_eq!(page.total, 3);
        assert_eq!(page.entries.len(), 1);
        // Sorted by folded last name: Bovary, Élan, Zola.
        assert_eq!(page.entries[0].lastname.as_deref(), Some("Élan"));
    }

    #[test]
    fn search_uses_the_folded_name_indexes() {
        let (_d, s) = store();
        let plan: Vec<String> = s
            .with_conn(|c| {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {MATCHING_IDS}"))?;
                let rows = stmt.query_map(params![1, "a", "b"], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .unwrap();
        let plan = plan.join("\n");
        for key in ["fold_first", "fold_last", "fold_alt"] {
            assert!(
                plan.contains(&format!("INDEX contacts_{key} (user_id=? AND {key}>? AND {key}<?)")),
                "{plan}"
            );
        }
    }

    #[test]
    fn prefix_search_stays_fast_on_a_large_book() {
        let (_d, s) = store();
        let u = uid(&s, "big");
        let details: Vec<ContactDetail> = (0..12_000u32)
            .map(|i| ContactDetail {
                firstname: Some(format!("F{:05}", (i * 7919) % 12_000)),
                lastname: Some(format!("L{i:05}")),
                ..Default::default()
            })
            .collect();
        let batch: Vec<_> = details.iter().map(|d| (d, None)).collect();
        s.insert_contacts("big", &batch).unwrap();
        let started = std::time::Instant::now();
        for _ in 0..20 {
            let m = s.find(u, "l001", None, 0).unwrap();
            assert_eq!(m.total, 100);
        }
        let per_query = started.elapsed() / 20;
        eprintln!("prefix search, 100 of 12,000 contacts: {per_query:?} per query");
        // An index range touches ~100 rows; a scan of 12,000 would be an order slower.
        assert!(per_query < std::time::Duration::from_millis(40), "{per_query:?} per query");
        let all = s.find(u, "l", Some(50), 11_990).unwrap();
        assert_eq!((all.total, all.entries.len()), (12_000, 10));
        assert_eq!(all.entries[9].lastname.as_deref(), Some("L11999"));
    }

    #[test]
    fn seeded_contact_keeps_everything_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let detail = ContactDetail {
            firstname: Some("Robert".into()),
            lastname: Some("Smith".into()),
            maritalstatus: Some(2),
            civility: Some(Civility::Mr),
            birthday: Some("1951-01-01".into()),
            devices: vec![Device {
                id: String::new(),
                kind: DeviceType::Phone,
                subtype: DeviceSubtype::Mobile,
                info_type: Some("pro".into()),
                order: 2,
                display: true,
                value: "+33 6".into(),
            }],
            addresses: vec![Address {
                info_type: Some("home".into()),
                city: Some("London".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        let cid = {
            let s = Store::open(&path).unwrap();
            s.insert_contact("alice", &detail, Some((gif, ImageType::Gif))).unwrap()
        };
        let s = Store::open(&path).unwrap();
        let alice = uid(&s, "alice");
        let got = s.contact(alice, &cid).unwrap().unwrap();
        assert_eq!(got.maritalstatus, Some(2));
        assert_eq!(got.civility, Some(Civility::Mr));
        assert_eq!(got.addresses, detail.addresses);
        assert_eq!(got.devices[0].subtype, DeviceSubtype::Mobile);
        assert!(got.devices[0].id.parse::<u64>().unwrap() >= 1_000_000_000);
        let pic = s.picture(alice, &cid).unwrap().unwrap().unwrap();
        assert_eq!(pic.content, gif);
        assert_eq!(pic.image_type, Some(ImageType::Gif));
    }
}
