//! One import or export per account at a time: an OS advisory lock (`flock`) on a file named
//! after the account ([`Source::lock_name`]) in the user's state directory, like vdirsyncer's
//! status path. Two imports of one file at once would both see the contacts missing and both
//! create them; two exports would race on the same backup.
//!
//! The kernel releases the lock when the process ends, however it ends (`kill -9` included), so a
//! lock is never stale. The holder removes its file before releasing it, and a run that locked a
//! file which is no longer the one at the path tries again: a file left by a killed run is simply
//! locked and reused.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use crate::source::Source;

/// Why a run could not take its account's lock.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot {what} {}: {source}", path.display())]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error(
        "another orange-contacts run is using the account {account} ({holder}): wait until it ends, then \
         run again (the lock {} is released when that process ends, even if it is killed)",
        path.display()
    )]
    Held { account: String, holder: String, path: PathBuf },
}

impl LockError {
    fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LockError {
        let path = path.to_path_buf();
        move |source| LockError::Io { what, path, source }
    }
}

/// Held for the whole run; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    file: File,
    path: PathBuf,
}

/// Takes the lock of `source`'s account in `dir` (created if needed), or fails at once naming the
/// run that holds it. `command` says what this run is, for the message another run would print.
pub fn acquire(dir: &Path, source: &Source, command: &str) -> Result<RunLock, LockError> {
    fs::create_dir_all(dir).map_err(LockError::io("create the state directory", dir))?;
    let path = dir.join(format!("{}.lock", source.lock_name()));
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(LockError::io("open the lock file", &path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = holder_of(&mut file);
                return Err(LockError::Held {
                    account: source.describe(),
                    holder: if holder.is_empty() { "just starting".into() } else { holder },
                    path,
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(LockError::io("lock", &path)(e));
            }
        }
        if !still_at(&file, &path) {
            // Its holder removed it between our open and our lock: lock the current one.
            continue;
        }
        file.set_len(0).map_err(LockError::io("write the lock file", &path))?;
        // One write, so that a reader sees all of it or nothing.
        let _ = file.write_all(format!("{command} (process {})", std::process::id()).as_bytes());
        return Ok(RunLock { file, path });
    }
}

/// What the run holding `file` says it is. Its holder writes that just after taking the lock, so
/// an empty file is read again for a moment before the run is called "just starting".
fn holder_of(file: &mut File) -> String {
    use std::io::Seek;
    for _ in 0..50 {
        let mut holder = String::new();
        let _ = file.rewind().and_then(|()| file.read_to_string(&mut holder));
        if !holder.trim().is_empty() {
            return holder.trim().to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    String::new()
}

/// The open `file` is the one `path` names now (not a file removed by the previous holder).
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at(_file: &File, _path: &Path) -> bool {
    true
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still held (see `still_at`); the lock goes with the descriptor. Elsewhere
        // than on Unix an open file cannot be removed, and the file stays for the next run.
        if cfg!(unix) {
            let _ = fs::remove_file(&self.path);
        }
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_run_per_account_and_the_lock_goes_with_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let alice = Source::endpoint("http://127.0.0.1:1/PersonalContacts/V1", "alice-token");
        let bob = Source::endpoint("http://127.0.0.1:1/PersonalContacts/V1", "bob-token");
        let first = acquire(dir.path(), &alice, "import").unwrap();
        let err = format!("{:#}", acquire(dir.path(), &alice, "export").unwrap_err());
        assert!(err.contains("another orange-contacts run") && err.contains("import (process"), "{err}");
        assert!(!err.contains("alice-token"), "{err}");
        let other_account = acquire(dir.path(), &bob, "import").unwrap();
        drop(first);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "the released lock file is removed");
        let again = acquire(dir.path(), &alice, "export").unwrap();
        drop((again, other_account));
        // A file left behind (a killed run) is locked and reused.
        fs::write(dir.path().join(format!("{}.lock", alice.lock_name())), "import (process 1)").unwrap();
        drop(acquire(dir.path(), &alice, "import").unwrap());
    }
}
