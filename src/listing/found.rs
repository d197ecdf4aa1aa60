//! The contacts a listing has found ([`super`]), kept in a [`TempDb`] (in memory while small,
//! then in the temporary folder) rather than in a map: a listing of a
//! million contacts stays small in memory (issue 12). The folded searchable names are indexed, so
//! "how many contacts found so far match this prefix" is a range query, not a walk over them all.

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rusqlite::{params, OptionalExtension};

use crate::temp_db::{failed, TempDb};
use crate::wire::search::{fold, searchable_names};
use crate::wire::ContactSummary;

const SCHEMA: &str = "
    CREATE TABLE found(id TEXT PRIMARY KEY, firstname TEXT, lastname TEXT, nickname TEXT, company TEXT);
    CREATE TABLE names(name BLOB NOT NULL, id TEXT NOT NULL);
    CREATE INDEX names_by_name ON names(name);";

/// Ids read per query by [`Found::ids`].
const IDS_PER_QUERY: usize = 1000;

pub struct Found {
    db: Mutex<TempDb>,
    /// Contacts found: kept as they are added, since SQLite counts a table's rows by reading
    /// them all (the listing's refinement budget asks for it at every batch of searches).
    len: AtomicUsize,
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Found({} contacts)", self.len())
    }
}

fn summary_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<ContactSummary> {
    Ok(ContactSummary {
        id: row.get(0)?,
        firstname: row.get(1)?,
        lastname: row.get(2)?,
        nickname: row.get(3)?,
        company: row.get(4)?,
    })
}

impl Found {
    /// With the cache of [`crate::temp_db::ENV_MEMORY_MB`].
    pub fn new() -> io::Result<Found> {
        Ok(Found { db: Mutex::new(TempDb::new(SCHEMA)?), len: AtomicUsize::new(0) })
    }

    /// Whose pages past `bytes` go to the temporary folder.
    pub fn with_memory_limit(bytes: u64) -> io::Result<Found> {
        Ok(Found { db: Mutex::new(TempDb::with_memory_limit(SCHEMA, bytes)?), len: AtomicUsize::new(0) })
    }

    /// Adds `s` unless its id was found already (the first summary of an id stays).
    pub fn insert(&self, s: &ContactSummary) -> io::Result<()> {
        let db = self.db.lock().unwrap();
        let conn = db.conn();
        let added = conn
            .prepare_cached(
                "INSERT OR IGNORE INTO found(id, firstname, lastname, nickname, company) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut st| st.execute(params![s.id, s.firstname, s.lastname, s.nickname, s.company]))
            .map_err(failed)?;
        if added == 1 {
            self.len.fetch_add(1, Ordering::Relaxed);
            let names = searchable_names(
                s.firstname.as_deref(),
                s.lastname.as_deref(),
                s.nickname.as_deref(),
                s.company.as_deref(),
            );
            let mut folded: Vec<String> = names.into_iter().map(fold).collect();
            folded.sort();
            folded.dedup();
            let mut st =
                conn.prepare_cached("INSERT INTO names(name, id) VALUES (?1, ?2)").map_err(failed)?;
            for name in &folded {
                st.execute(params![name.as_bytes(), s.id]).map_err(failed)?;
            }
        }
        Ok(())
    }

    /// Contacts known to match the folded `term`: those found whose folded names start with it,
    /// plus the ids of `direct` (a server may not send the names it matched on).
    pub fn count_matching(&self, term: &str, direct: &HashSet<String>) -> io::Result<usize> {
        // Every name starting with `term` sorts from `term` to `term` + 0xFF (no UTF-8 byte).
        let mut upper = term.as_bytes().to_vec();
        upper.push(0xFF);
        let db = self.db.lock().unwrap();
        let conn = db.conn();
        let mut st = conn
            .prepare_cached("SELECT DISTINCT id FROM names WHERE name >= ?1 AND name < ?2")
            .map_err(failed)?;
        let mut rows = st.query(params![term.as_bytes(), upper]).map_err(failed)?;
        let mut n = direct.len();
        while let Some(row) = rows.next().map_err(failed)? {
            let id = row.get_ref(0).and_then(|v| v.as_str().map_err(Into::into)).map_err(failed)?;
            n += usize::from(!direct.contains(id));
        }
        Ok(n)
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The summary of `id`, if it was found.
    pub fn get(&self, id: &str) -> Option<ContactSummary> {
        let db = self.db.lock().unwrap();
        let conn = db.conn();
        let found = conn
            .prepare_cached("SELECT id, firstname, lastname, nickname, company FROM found WHERE id = ?1")
            .and_then(|mut st| st.query_row([id], summary_of).optional());
        found.ok().flatten()
    }

    /// Every id, in order, a thousand read at a time.
    pub fn ids(&self) -> Ids<'_> {
        Ids { found: self, batch: Vec::new().into_iter(), after: None, left: self.len() }
    }

    /// The ids after `after` (all from the first when `None`), at most [`IDS_PER_QUERY`].
    fn ids_after(&self, after: Option<&str>) -> Vec<String> {
        let db = self.db.lock().unwrap();
        let conn = db.conn();
        let read = conn
            .prepare_cached("SELECT id FROM found WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2")
            .and_then(|mut st| {
                st.query_map(params![after, IDS_PER_QUERY as i64], |r| r.get::<_, String>(0))?.collect()
            });
        read.unwrap_or_default()
    }

    /// Every summary, in id order, read [`IDS_PER_QUERY`] at a time: a listing of a million
    /// contacts is never all in memory (collected at once, it weighed about 190 bytes a contact:
    /// most of a re-import's peak).
    pub fn into_values(self) -> Values {
        Values { db: self.db.into_inner().unwrap(), batch: Vec::new().into_iter(), after: None, done: false }
    }
}

/// The summaries after `after` (all from the first when `None`), at most `limit`, in id order.
fn summaries_after(db: &TempDb, after: Option<&str>, limit: usize) -> rusqlite::Result<Vec<ContactSummary>> {
    let conn = db.conn();
    let mut st = conn.prepare_cached(
        "SELECT id, firstname, lastname, nickname, company FROM found \
         WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = st.query_map(params![after, limit as i64], summary_of)?;
    rows.collect()
}

/// [`Found::into_values`].
pub struct Values {
    db: TempDb,
    batch: std::vec::IntoIter<ContactSummary>,
    after: Option<String>,
    done: bool,
}

impl Iterator for Values {
    type Item = ContactSummary;

    fn next(&mut self) -> Option<ContactSummary> {
        if self.batch.len() == 0 && !self.done {
            // A failed read ends the values, as it did when they were read at once.
            let batch = summaries_after(&self.db, self.after.as_deref(), IDS_PER_QUERY).unwrap_or_default();
            self.done = batch.len() < IDS_PER_QUERY;
            self.batch = batch.into_iter();
        }
        let next = self.batch.next()?;
        self.after = Some(next.id.clone());
        Some(next)
    }
}

/// [`Found::ids`].
pub struct Ids<'a> {
    found: &'a Found,
    batch: std::vec::IntoIter<String>,
    after: Option<String>,
    left: usize,
}

impl Iterator for Ids<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.left == 0 {
            return None;
        }
        if self.batch.len() == 0 {
            self.batch = self.found.ids_after(self.after.as_deref()).into_iter();
        }
        let id = self.batch.next()?;
        self.after = Some(id.clone());
        self.left -= 1;
        Some(id)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Ids<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, first: &str, last: &str) -> ContactSummary {
        ContactSummary {
            id: id.into(),
            firstname: Some(first.into()),
            lastname: Some(last.into()),
            ..Default::default()
        }
    }

    #[test]
    fn counts_by_folded_prefix_and_lists_every_id_in_the_cache_and_on_disk() {
        for limit in [u64::MAX, 200, 0] {
            let found = Found::with_memory_limit(limit).unwrap();
            for i in 0..2500 {
                found.insert(&person(&format!("c{i:04}"), &format!("Émile{}", i % 3), "Zola")).unwrap();
            }
            found.insert(&person("c0001", "Other", "Name")).unwrap(); // the first summary stays
            assert_eq!(found.len(), 2500);
            assert_eq!(found.get("c0001").unwrap().firstname.as_deref(), Some("Émile1"));
            let none = HashSet::new();
            assert_eq!(found.count_matching("emile", &none).unwrap(), 2500, "limit {limit}");
            assert_eq!(found.count_matching("emile1", &none).unwrap(), 833);
            assert_eq!(found.count_matching("zo", &none).unwrap(), 2500, "each contact once");
            assert_eq!(found.count_matching("emile10", &none).unwrap(), 0);
            let direct: HashSet<String> = ["c0001".to_string(), "x".to_string()].into();
            assert_eq!(found.count_matching("emile1", &direct).unwrap(), 834);
            let ids: Vec<String> = found.ids().collect();
            assert_eq!(ids.len(), 2500);
            assert!(ids.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(found.ids().len(), 2500);
            // Read back in batches of a thousand, in id order, each summary as first found.
            let values: Vec<ContactSummary> = found.into_values().collect();
            assert_eq!(values.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), ids, "limit {limit}");
            assert_eq!(values[1].firstname.as_deref(), Some("Émile1"));
        }
    }

    /// `len` counts each id once, as the table holds it: a summary found again is not counted.
    #[test]
    fn len_counts_each_contact_once() {
        let found = Found::with_memory_limit(0).unwrap();
        for id in ["a", "b", "a"] {
            found.insert(&person(id, "Ann", "Lee")).unwrap();
        }
        let rows: i64 = found
            .db
            .lock()
            .unwrap()
            .conn()
            .query_row("SELECT count(*) FROM found", [], |r| r.get(0))
            .unwrap();
        assert_eq!((found.len(), rows), (2, 2));
    }

    /// The values come a thousand at a time, never all at once: collected whole they weighed
    /// about 190 bytes a contact, most of a re-import's peak at a million.
    #[test]
    fn values_are_read_a_thousand_at_a_time() {
        let found = Found::with_memory_limit(0).unwrap();
        for i in 0..2500 {
            found.insert(&person(&format!("c{i:04}"), "Ann", "Lee")).unwrap();
        }
        let mut values = found.into_values();
        assert_eq!(values.next().unwrap().id, "c0000");
        assert_eq!(values.batch.len(), IDS_PER_QUERY - 1, "one batch held, not every value");
        assert_eq!(values.count(), 2499);
    }
}
