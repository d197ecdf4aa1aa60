//! Scratch SQLite databases: what a run keeps between reading and writing (the import's records,
//! the contacts a listing found, the export's cards) so that memory stays flat whatever the size
//! of the account (issue 12).
//!
//! Each is SQLite's own temporary database (opened with an empty name): its pages live in a page
//! cache of [`ENV_MEMORY_MB`] (16 MiB by default) and go to a file of the temporary folder
//! ([`folder`]) once the cache is full. SQLite creates that file only when it needs it
//! and unlinks it at once, so nothing is left behind, not even by a killed run, and a small run
//! never touches the disk. One write transaction stays open for the database's life: nothing
//! is ever recovered from a scratch file, so nothing is synced or journaled.

use std::io;
use std::path::PathBuf;

use rusqlite::Connection;

/// Megabytes of page cache each temporary database keeps in memory before its pages go to the
/// temporary folder (`0`: a few pages; the tests use it to take the disk's path with a small
/// account).
pub const ENV_MEMORY_MB: &str = "ORANGE_CONTACTS_TEMP_MEMORY_MB";
const DEFAULT_MEMORY_BYTES: u64 = 16 * 1024 * 1024;

/// A scratch database; see the module's documentation.
pub struct TempDb {
    conn: Connection,
}

/// The cache size of [`ENV_MEMORY_MB`] (an error names it when it is not a number).
pub fn memory_limit() -> io::Result<u64> {
    match std::env::var(ENV_MEMORY_MB) {
        Err(_) => Ok(DEFAULT_MEMORY_BYTES),
        Ok(v) => v.trim().parse::<u64>().map(|mb| mb * 1024 * 1024).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{ENV_MEMORY_MB}={v:?} is not a whole number"),
            )
        }),
    }
}

/// The folder SQLite puts temporary files in, in its own order (`unixTempFileDir`):
/// `SQLITE_TMPDIR`, then `TMPDIR`, then `/tmp`. SQLite skips a folder it cannot write to and
/// tries the next (down to `/var/tmp`, `/tmp` and `.`) without a word; [`TempDb::new`] refuses
/// it instead, by name.
pub fn folder() -> PathBuf {
    std::env::var_os("SQLITE_TMPDIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// A failed statement of a temporary database (the temporary folder full, mostly); callers
/// say which database it was.
pub fn failed(e: rusqlite::Error) -> io::Error {
    io::Error::other(e)
}

/// A row that could not be turned into (or back from) the JSON a temporary database keeps it as.
pub fn json_failed(e: serde_json::Error) -> io::Error {
    io::Error::other(e)
}

impl TempDb {
    /// A database of `schema` with the cache of [`ENV_MEMORY_MB`].
    pub fn new(schema: &str) -> io::Result<TempDb> {
        TempDb::with_memory_limit(schema, memory_limit()?)
    }

    /// A database of `schema` whose pages past `bytes` go to the temporary folder.
    pub fn with_memory_limit(schema: &str, bytes: u64) -> io::Result<TempDb> {
        // SQLite falls back to another folder when its own cannot be used, and would only say so
        // once the cache is full: a folder that cannot take a file is refused here, by name.
        let folder = folder();
        tempfile::tempfile_in(&folder)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", folder.display())))?;
        let conn = Connection::open("").map_err(failed)?;
        let kib = (bytes / 1024).max(1);
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;
             PRAGMA cache_size = -{kib}; {schema} BEGIN;"
        ))
        .map_err(failed)?;
        Ok(TempDb { conn })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Far more data than the cache: it is all there (the pages went to the temporary folder).
    /// That nothing is left there after a killed run is the integration tests' (`temp_files`).
    #[test]
    fn holds_far_more_than_its_cache() {
        let db = TempDb::with_memory_limit("CREATE TABLE t(x BLOB NOT NULL);", 64 * 1024).unwrap();
        let blob = vec![7u8; 4000];
        for _ in 0..2000 {
            db.conn().execute("INSERT INTO t(x) VALUES (?1)", [&blob]).unwrap();
        }
        let total: i64 = db.conn().query_row("SELECT sum(length(x)) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(total, 8_000_000);
    }
}
