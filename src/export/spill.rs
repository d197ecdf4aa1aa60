//! Where an export keeps its cards between reading and writing: a [`TempDb`] (in memory while
//! small, then in the temporary folder), so that memory stays flat whatever the size of the
//! account (issue 12). It holds every card read this run and
//! every card of the backup already there, and answers what the guard and the writers need: how
//! many, which backup cards were not read, the cards in the stable file order, which bytes changed.
//!
//! The file order is SQLite's `ORDER BY sort_name, id` over text compared byte by byte (the
//! default `BINARY` collation), which is Rust's `String` order: the order of [`super::render`].

use std::io;

use rusqlite::{params, OptionalExtension};

use super::Card;
use crate::temp_db::{failed, TempDb};
use crate::wire::search::fold;

const SCHEMA: &str = "
    CREATE TABLE cards(uid TEXT PRIMARY KEY, sort_name TEXT NOT NULL, id TEXT NOT NULL,
        name TEXT NOT NULL, photo INTEGER NOT NULL, warnings TEXT NOT NULL, body BLOB NOT NULL);
    CREATE INDEX cards_order ON cards(sort_name, id);
    CREATE TABLE old(uid TEXT PRIMARY KEY, sort_name TEXT NOT NULL, id TEXT NOT NULL,
        body BLOB NOT NULL, kept INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE written(uid TEXT PRIMARY KEY);";

pub struct Spill {
    db: TempDb,
}

/// A card read this run, as the report lists it.
#[derive(Debug, Clone)]
pub struct SpilledCard {
    pub id: String,
    pub uid: String,
    pub name: String,
    pub photo: bool,
    pub warnings: Vec<String>,
    /// Whether its bytes changed (were, or would be, written); see [`Spill::mark_written`].
    pub written: bool,
}

impl Spill {
    /// A spill with the cache of [`crate::temp_db::ENV_MEMORY_MB`] (an error names it when it
    /// is not a number).
    pub fn new() -> io::Result<Spill> {
        Ok(Spill { db: TempDb::new(SCHEMA)? })
    }

    /// A spill whose pages past `bytes` go to the temporary folder.
    pub fn with_memory_limit(bytes: u64) -> io::Result<Spill> {
        Ok(Spill { db: TempDb::with_memory_limit(SCHEMA, bytes)? })
    }

    /// A card of the backup already there (`text`: verbatim, single file only). A UID seen twice
    /// keeps its last card, as the file is read.
    pub fn add_old(&self, uid: &str, name: &str, text: &str) -> io::Result<()> {
        let id = super::vdir::id_from_uid(uid).unwrap_or_else(|| uid.to_string());
        self.db
            .conn()
            .prepare_cached("INSERT OR REPLACE INTO old(uid, sort_name, id, body) VALUES (?1, ?2, ?3, ?4)")
            .and_then(|mut s| s.execute(params![uid, fold(name), id, text.as_bytes()]))
            .map(|_| ())
            .map_err(failed)
    }

    /// Forgets the backup's cards (it is not updated: a fresh export, or one under `--force`).
    pub fn clear_old(&self) -> io::Result<()> {
        self.db.conn().execute("DELETE FROM old", []).map(|_| ()).map_err(failed)
    }

    pub fn add_card(&self, card: &Card) -> io::Result<()> {
        let warnings = serde_json::to_string(&card.warnings).expect("strings serialize");
        self.db
            .conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO cards(uid, sort_name, id, name, photo, warnings, body) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    card.uid,
                    fold(&card.name),
                    card.id,
                    card.name,
                    card.photo,
                    warnings,
                    card.text.as_bytes()
                ])
            })
            .map(|_| ())
            .map_err(failed)
    }

    fn count(&self, sql: &str) -> io::Result<usize> {
        self.db.conn().query_row(sql, [], |r| r.get::<_, i64>(0)).map(|n| n as usize).map_err(failed)
    }

    pub fn old_count(&self) -> io::Result<usize> {
        self.count("SELECT count(*) FROM old")
    }

    pub fn card_count(&self) -> io::Result<usize> {
        self.count("SELECT count(*) FROM cards")
    }

    pub fn photo_count(&self) -> io::Result<usize> {
        self.count("SELECT count(*) FROM cards WHERE photo")
    }

    pub fn written_count(&self) -> io::Result<usize> {
        self.count("SELECT count(*) FROM written")
    }

    pub fn has_old(&self, uid: &str) -> io::Result<bool> {
        self.db
            .conn()
            .query_row("SELECT 1 FROM old WHERE uid = ?1", [uid], |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
            .map_err(failed)
    }

    /// The backup's cards whose contact was not read this run, by UID.
    pub fn not_read(&self) -> io::Result<Vec<String>> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare("SELECT uid FROM old WHERE uid NOT IN (SELECT uid FROM cards) ORDER BY uid")
            .map_err(failed)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(failed)?;
        rows.collect::<Result<_, _>>().map_err(failed)
    }

    /// The backup's cards kept as they were (written again into a single file).
    pub fn mark_kept<'a>(&self, uids: impl IntoIterator<Item = &'a String>) -> io::Result<()> {
        let conn = self.db.conn();
        let mut stmt = conn.prepare_cached("UPDATE old SET kept = 1 WHERE uid = ?1").map_err(failed)?;
        for uid in uids {
            stmt.execute([uid]).map_err(failed)?;
        }
        Ok(())
    }

    /// A card whose bytes changed (written, or `--dry-run`: to be).
    pub fn mark_written(&self, uid: &str) -> io::Result<()> {
        self.db
            .conn()
            .prepare_cached("INSERT OR IGNORE INTO written(uid) VALUES (?1)")
            .and_then(|mut s| s.execute([uid]))
            .map(|_| ())
            .map_err(failed)
    }

    /// Single file: every card read whose text is not the backup's card of the same UID.
    pub fn mark_written_unless_in_backup(&self) -> io::Result<()> {
        self.db
            .conn()
            .execute(
                "INSERT OR IGNORE INTO written(uid) SELECT c.uid FROM cards c WHERE NOT EXISTS \
                 (SELECT 1 FROM old o WHERE o.uid = c.uid AND o.body = c.body)",
                [],
            )
            .map(|_| ())
            .map_err(failed)
    }

    /// The single file's cards in its stable order: the cards read and the backup's kept cards,
    /// by folded name then id, each as its bytes to `f`, which answers whether to go on.
    pub fn for_each_file_card(&self, f: &mut dyn FnMut(&[u8]) -> io::Result<bool>) -> io::Result<()> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare(
                "SELECT body FROM (SELECT sort_name, id, body FROM cards \
                 UNION ALL SELECT sort_name, id, body FROM old WHERE kept) ORDER BY sort_name, id",
            )
            .map_err(failed)?;
        let mut rows = stmt.query([]).map_err(failed)?;
        while let Some(row) = rows.next().map_err(failed)? {
            if !f(row.get_ref(0).and_then(|v| v.as_blob().map_err(Into::into)).map_err(failed)?)? {
                break;
            }
        }
        Ok(())
    }

    /// The cards read, in the file order: UID and bytes (a vdir's files).
    pub fn for_each_body(&self, mut f: impl FnMut(&str, &[u8]) -> io::Result<()>) -> io::Result<()> {
        let conn = self.db.conn();
        let mut stmt = conn.prepare("SELECT uid, body FROM cards ORDER BY sort_name, id").map_err(failed)?;
        let mut rows = stmt.query([]).map_err(failed)?;
        while let Some(row) = rows.next().map_err(failed)? {
            let uid = row.get_ref(0).and_then(|v| v.as_str().map_err(Into::into)).map_err(failed)?;
            f(uid, row.get_ref(1).and_then(|v| v.as_blob().map_err(Into::into)).map_err(failed)?)?;
        }
        Ok(())
    }

    /// The cards read, in the file order, as the report lists them (after the writing); the
    /// first error, `f`'s or the spill's, ends the reading.
    pub fn for_each_card(&self, mut f: impl FnMut(SpilledCard) -> io::Result<()>) -> io::Result<()> {
        let conn = self.db.conn();
        let mut stmt = conn
            .prepare(
                "SELECT c.id, c.uid, c.name, c.photo, c.warnings, w.uid IS NOT NULL FROM cards c \
                 LEFT JOIN written w ON w.uid = c.uid ORDER BY c.sort_name, c.id",
            )
            .map_err(failed)?;
        let mut rows = stmt.query([]).map_err(failed)?;
        while let Some(row) = rows.next().map_err(failed)? {
            let warnings: String = row.get(4).map_err(failed)?;
            let card = SpilledCard {
                id: row.get(0).map_err(failed)?,
                uid: row.get(1).map_err(failed)?,
                name: row.get(2).map_err(failed)?,
                photo: row.get(3).map_err(failed)?,
                warnings: serde_json::from_str(&warnings).unwrap_or_default(),
                written: row.get(5).map_err(failed)?,
            };
            f(card)?;
        }
        Ok(())
    }
}

/// The backup's cards go straight to the spill.
impl super::backup::OldCards for &Spill {
    fn add(&mut self, uid: &str, card: super::backup::OldCard) -> io::Result<bool> {
        let new = !self.has_old(uid)?;
        self.add_old(uid, &card.name, &card.text)?;
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(id: &str, name: &str, text: &str) -> Card {
        let uid = crate::export::vdir::uid_for_id(id);
        Card { id: id.into(), uid, name: name.into(), photo: false, text: text.into(), warnings: vec![] }
    }

    fn file_order(spill: &Spill) -> String {
        let mut out = Vec::new();
        spill
            .for_each_file_card(&mut |b| {
                out.extend_from_slice(b);
                Ok(true)
            })
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The file order of [`super::super::render`] (folded name, then id as text), the backup's
    /// kept cards among them, whether the cards stay in the cache or go to disk half-way.
    #[test]
    fn cards_come_back_in_the_file_order_in_memory_and_on_disk() {
        for limit in [u64::MAX, 40, 0] {
            let spill = Spill::with_memory_limit(limit).unwrap();
            let mut old_cards = &spill;
            use crate::export::backup::{OldCard, OldCards};
            old_cards
                .add(
                    &crate::export::vdir::uid_for_id("5"),
                    OldCard { name: "Bob".into(), text: "[old 5]".into() },
                )
                .unwrap();
            old_cards
                .add(
                    &crate::export::vdir::uid_for_id("7"),
                    OldCard { name: "Zed".into(), text: "[old 7]".into() },
                )
                .unwrap();
            for c in [
                card("2", "Zoé", "[2]"),
                card("10", "émile", "[10]"),
                card("1", "Émile", "[1]"),
                card("3", "bob", "[3]"),
            ] {
                spill.add_card(&c).unwrap();
            }
            assert_eq!(spill.not_read().unwrap(), ["orange-contacts-5", "orange-contacts-7"]);
            assert_eq!(file_order(&spill), "[3][1][10][2]");
            spill.mark_kept(&["orange-contacts-5".to_string()]).unwrap();
            assert_eq!(file_order(&spill), "[3][old 5][1][10][2]", "limit {limit}");
            spill.mark_written_unless_in_backup().unwrap();
            assert_eq!(spill.written_count().unwrap(), 4);
            let mut names = Vec::new();
            spill
                .for_each_card(|c| {
                    names.push((c.name, c.written));
                    Ok(())
                })
                .unwrap();
            assert_eq!(names[0], ("bob".to_string(), true));
            assert_eq!((spill.card_count().unwrap(), spill.old_count().unwrap()), (4, 2));
        }
    }
}
