//! The one writer of the files the tool produces: backups, vdir cards and reports.
//!
//! A regular file is replaced atomically: written to `.<name>.XXXXXX.tmp` in the folder of the
//! file it replaces, flushed and synced, then renamed over it. A crash (kill -9 from cron, a full
//! disk) leaves either the old file or the new one, never a truncated one; at worst a stray
//! temporary, which readers ignore and the next successful write of the same file removes
//! ([`remove_stale_temporaries`]).
//!
//! What the path is decides how it is written:
//! - `-`: standard output.
//! - a symbolic link: followed to its end (relative targets against the link's folder, at most
//!   [`MAX_LINKS`] links); the file at the end is replaced atomically, in its own folder, and the
//!   link stays. A dangling link gets its target created (its folder must exist). A link in a
//!   sticky world-writable folder (`/tmp`) owned by someone else than us or the folder's owner is
//!   not followed: the kernel's `protected_symlinks` rule, which resolving links by hand would
//!   otherwise bypass.
//! - a FIFO, a character device (`/dev/null`, a terminal) or one of our descriptors
//!   (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`: written to that descriptor, as a shell does):
//!   written in place, never replaced or truncated, and only where [`Accept::FileOrStream`] (reports).
//!   A backup must be a regular file: its previous version is read and compared, and a backup
//!   written to `/dev/null` is lost.
//! - a folder, a block device or a socket: refused.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::NamedTempFile;

/// Symbolic links followed before giving up (the kernel's own limit).
pub const MAX_LINKS: usize = 40;
/// Random characters in a temporary file's name (`.<name>.XXXXXX.tmp`).
const RANDOM_CHARS: usize = 6;
const TMP_SUFFIX: &str = ".tmp";
/// Where file locks are not supported, a temporary counts as stale only when untouched this
/// long (a run still writing it keeps its modification time fresh).
const UNLOCKED_STALE_AFTER: Duration = Duration::from_secs(3600);

/// What a path may be besides a regular file (or `-`, standard output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Backups and vdir cards: regular files only.
    FileOnly,
    /// Reports: also FIFOs, character devices and our own descriptors, written in place.
    FileOrStream,
}

/// `-`: standard output.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Where the bytes for a path go.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    Stdout,
    /// One of our open descriptors (`/dev/stdout`, `/dev/fd/N`): written through a duplicate.
    #[cfg(unix)]
    Descriptor(std::os::fd::RawFd),
    /// A FIFO or character device, opened for writing as it is.
    Stream(PathBuf),
    /// A regular file, or nothing yet: replaced atomically. The end of any link chain.
    Replace(PathBuf),
}

fn refused(what: &str, why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("it is {what}, {why}"))
}

/// The folder a file lives in (`.` for a bare name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn resolve(path: &Path, accept: Accept) -> io::Result<Destination> {
    if is_stdout(path) {
        return Ok(Destination::Stdout);
    }
    let stream = |destination: Destination, what: &str| match accept {
        Accept::FileOrStream => Ok(destination),
        Accept::FileOnly => Err(refused(
            what,
            "not a regular file: backups are written only to regular files (or to standard output: `-`)",
        )),
    };
    let mut current = path.to_path_buf();
    for _ in 0..=MAX_LINKS {
        let meta = match fs::symlink_metadata(&current) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Destination::Replace(current)),
            Err(e) => return Err(e),
        };
        let kind = meta.file_type();
        if kind.is_file() {
            return Ok(Destination::Replace(current));
        }
        if kind.is_symlink() {
            let folder = folder_of(&current);
            #[cfg(unix)]
            if let Some(fd) = own_descriptor(&folder, &current) {
                return stream(Destination::Descriptor(fd), "a link to an open descriptor");
            }
            may_follow(&folder, &meta)?;
            current = folder.join(fs::read_link(&current)?);
            continue;
        }
        if kind.is_dir() {
            return Err(refused("a folder", "not a file"));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if kind.is_fifo() {
                return stream(Destination::Stream(current), "a FIFO");
            }
            if kind.is_char_device() {
                return stream(Destination::Stream(current), "a character device");
            }
            if kind.is_block_device() {
                return Err(refused("a block device", "never written to"));
            }
        }
        return Err(refused("a socket or another special file", "never written to"));
    }
    Err(io::Error::new(io::ErrorKind::InvalidInput, format!("more than {MAX_LINKS} symbolic links")))
}

/// `N` when `link` is `N` in our `/proc/self/fd` (reached as `/dev/stdout`, `/dev/fd/N`, …):
/// a descriptor, not a path to replace (its target may be a pipe, or a file opened to append).
#[cfg(unix)]
fn own_descriptor(folder: &Path, link: &Path) -> Option<std::os::fd::RawFd> {
    let fd = link.file_name()?.to_str()?.parse().ok()?;
    let ours = fs::canonicalize("/proc/self/fd").ok()?;
    (fs::canonicalize(folder).ok()? == ours).then_some(fd)
}

/// The kernel's `protected_symlinks` rule: in a sticky world-writable folder, follow only links
/// owned by us or by the folder's owner (else anyone could point our write at any file).
fn may_follow(folder: &Path, link: &Metadata) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let dir = fs::metadata(folder)?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if dir.mode() & 0o1002 == 0o1002 && link.uid() != me && link.uid() != dir.uid() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "a symbolic link in a world-writable sticky folder, owned by another user: not followed",
            ));
        }
    }
    let _ = (folder, link);
    Ok(())
}

/// Whether `path` is written in place rather than replaced: `-`, one of our descriptors
/// (`/dev/stdout`), a FIFO or a character device (`/dev/null`).
pub fn is_stream(path: &Path) -> bool {
    matches!(resolve(path, Accept::FileOrStream), Ok(d) if !matches!(d, Destination::Replace(_)))
}

/// Refuses what [`AtomicFile::create`] would refuse, writing nothing: for a run that reads the
/// previous file first (a FIFO would block it) or works long before it writes.
pub fn check_destination(path: &Path, accept: Accept) -> io::Result<()> {
    resolve(path, accept).map(|_| ())
}

enum Sink {
    Temporary { file: BufWriter<NamedTempFile>, target: PathBuf },
    InPlace(BufWriter<File>),
    Stdout(BufWriter<io::Stdout>),
}

/// A file being written. A regular file is replaced only on [`AtomicFile::commit`] (its
/// temporary vanishes if dropped before); a stream (standard output, a FIFO) is written as it goes.
pub struct AtomicFile {
    sink: Sink,
}

impl AtomicFile {
    pub fn create(path: &Path, accept: Accept) -> io::Result<AtomicFile> {
        let sink = match resolve(path, accept)? {
            Destination::Stdout => Sink::Stdout(BufWriter::new(io::stdout())),
            #[cfg(unix)]
            Destination::Descriptor(fd) => Sink::InPlace(BufWriter::new(duplicate(fd)?)),
            // No truncation: a character device has nothing to truncate, a FIFO no content.
            Destination::Stream(p) => {
                Sink::InPlace(BufWriter::new(fs::OpenOptions::new().write(true).open(p)?))
            }
            Destination::Replace(target) => {
                let file = create_temporary(&target).map_err(|e| {
                    let e = match e.kind() {
                        io::ErrorKind::NotFound => {
                            io::Error::new(e.kind(), format!("no folder {}", folder_of(&target).display()))
                        }
                        _ => e,
                    };
                    match target == path {
                        true => e,
                        false => {
                            io::Error::new(e.kind(), format!("{e} (the link leads to {})", target.display()))
                        }
                    }
                })?;
                Sink::Temporary { file: BufWriter::new(file), target }
            }
        };
        Ok(AtomicFile { sink })
    }

    /// Finishes the file: renames it over its target, then removes the target's stale
    /// temporaries. A replaced file keeps its permissions; a new one stays owner-only (0600):
    /// backups and reports hold personal data.
    pub fn commit(self) -> io::Result<()> {
        if let Some(target) = self.commit_unswept()? {
            let name = target.file_name().map(OsStr::to_os_string).unwrap_or_default();
            remove_stale_temporaries_in(&folder_of(&target), |n| n == name);
        }
        Ok(())
    }

    /// [`AtomicFile::commit`] without the sweep; returns the file replaced, if it was one.
    fn commit_unswept(self) -> io::Result<Option<PathBuf>> {
        match self.sink {
            Sink::Temporary { file, target } => {
                let tmp = file.into_inner().map_err(|e| e.into_error())?;
                if let Ok(meta) = fs::metadata(&target) {
                    tmp.as_file().set_permissions(meta.permissions())?;
                }
                tmp.as_file().sync_all()?;
                tmp.persist(&target).map_err(|e| e.error)?;
                sync_dir(&folder_of(&target));
                Ok(Some(target))
            }
            Sink::InPlace(mut w) => w.flush().map(|_| None),
            Sink::Stdout(mut w) => w.flush().map(|_| None),
        }
    }

    fn writer(&mut self) -> &mut dyn Write {
        match &mut self.sink {
            Sink::Temporary { file, .. } => file,
            Sink::InPlace(w) => w,
            Sink::Stdout(w) => w,
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

/// Makes the rename durable; best effort (not supported everywhere).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(unix)]
fn duplicate(fd: std::os::fd::RawFd) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: fcntl only reads `fd` (EBADF if it is not open); the new descriptor is ours alone.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` was just returned by fcntl and nothing else owns it.
    Ok(unsafe { File::from_raw_fd(new) })
}

/// A fresh `.<name>.XXXXXX.tmp` beside `target`, locked (flock) while it is written, so that a
/// concurrent run's [`remove_stale_temporaries`] leaves it alone.
fn create_temporary(target: &Path) -> io::Result<NamedTempFile> {
    let name =
        target.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let folder = folder_of(target);
    for _ in 0..3 {
        let tmp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(TMP_SUFFIX)
            .rand_bytes(RANDOM_CHARS)
            .tempfile_in(&folder)?;
        if tmp.as_file().lock().is_err() {
            return Ok(tmp); // no locks on this file system: sweeps go by age there
        }
        // A sweep may have removed it between its creation and the lock: take another.
        let opened = tmp.as_file().metadata()?;
        if fs::symlink_metadata(tmp.path()).is_ok_and(|named| same_file(&named, &opened)) {
            return Ok(tmp);
        }
        let _ = tmp.keep(); // the name may be someone else's now: close without removing
    }
    Err(io::Error::other("temporary files vanish as soon as they are created"))
}

fn same_file(a: &Metadata, b: &Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        true
    }
}

/// Replaces `path` with `bytes` (a regular file, or `-`: standard output), then removes its
/// stale temporaries.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path, Accept::FileOnly)?;
    file.write_all(bytes)?;
    file.commit()
}

/// [`write`] without the sweep: for many files of one folder (a vdir), swept once afterwards
/// with [`remove_stale_temporaries_in`] rather than once per file.
pub fn write_in_batch(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path, Accept::FileOnly)?;
    file.write_all(bytes)?;
    file.commit_unswept().map(|_| ())
}

/// Removes the stale temporaries of the file `path` (the end of its links): for a run that found
/// the file up to date and did not write it. Returns how many went.
pub fn remove_stale_temporaries(path: &Path) -> usize {
    match resolve(path, Accept::FileOnly) {
        Ok(Destination::Replace(target)) => match target.file_name() {
            Some(name) => remove_stale_temporaries_in(&folder_of(&target), |n| n == name),
            None => 0,
        },
        _ => 0,
    }
}

/// Removes, in `folder`, the stale temporaries this writer left for the files `is_target`
/// accepts: exactly `.<target>.XXXXXX.tmp`, regular files, not locked by a run writing them (or,
/// where locks are not supported, untouched for an hour). Best effort; returns how many went.
pub fn remove_stale_temporaries_in(folder: &Path, is_target: impl Fn(&OsStr) -> bool) -> usize {
    let Ok(entries) = fs::read_dir(folder) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if target_of_temporary(&name).is_some_and(&is_target) && remove_if_stale(&entry.path()) {
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(folder);
    }
    removed
}

/// `name` of a temporary named `.<name>.XXXXXX.tmp` (six ASCII letters or digits).
fn target_of_temporary(temporary: &OsStr) -> Option<&OsStr> {
    let bytes = temporary.as_encoded_bytes();
    let inner = bytes.strip_prefix(b".")?.strip_suffix(TMP_SUFFIX.as_bytes())?;
    let (head, random) = inner.split_at_checked(inner.len().checked_sub(RANDOM_CHARS)?)?;
    let target = head.strip_suffix(b".")?;
    if target.is_empty() || !random.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    // SAFETY: `target` is `temporary`'s encoding cut just before an ASCII '.', a valid boundary.
    Some(unsafe { OsStr::from_encoded_bytes_unchecked(target) })
}

fn remove_if_stale(path: &Path) -> bool {
    let Ok(listed) = fs::symlink_metadata(path) else { return false };
    if !listed.file_type().is_file() {
        return false;
    }
    let mut open = fs::OpenOptions::new();
    open.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never follow a link, never wait on a FIFO swapped in since the listing.
        open.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let Ok(file) = open.open(path) else { return false };
    let Ok(opened) = file.metadata() else { return false };
    if !same_file(&listed, &opened) {
        return false;
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return false, // a run is writing it
        Err(fs::TryLockError::Error(_)) => {
            let untouched = opened.modified().ok().and_then(|m| m.elapsed().ok());
            if untouched.is_none_or(|age| age <= UNLOCKED_STALE_AFTER) {
                return false;
            }
        }
    }
    // Still the file locked (not replaced meanwhile): remove it while holding the lock.
    fs::symlink_metadata(path).is_ok_and(|now| same_file(&now, &opened)) && fs::remove_file(path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_keeps_permissions_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("all.vcf");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
            fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
            write(&p, b"three").unwrap();
            assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        }
        assert_eq!(names(dir.path()), ["all.vcf"]);
    }

    #[test]
    fn an_unfinished_file_leaves_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("report.json");
        write(&p, b"old").unwrap();
        let mut file = AtomicFile::create(&p, Accept::FileOrStream).unwrap();
        file.write_all(b"half of the new").unwrap();
        drop(file);
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporary_names_are_recognised_exactly() {
        let target = |s: &str| target_of_temporary(OsStr::new(s)).map(|t| t.to_str().unwrap().to_string());
        assert_eq!(target(".all.vcf.aB3dE9.tmp").as_deref(), Some("all.vcf"));
        assert_eq!(target(".a.b.c.000000.tmp").as_deref(), Some("a.b.c"));
        for not_ours in [
            ".all.vcf.abc.tmp",
            ".all.vcf.aB3dE9x.tmp",
            ".all.vcf.aB-dE9.tmp",
            "all.vcf.aB3dE9.tmp",
            ".all.vcf.aB3dE9.tmp~",
            "..aB3dE9.tmp",
            ".aB3dE9.tmp",
        ] {
            assert_eq!(target(not_ours), None, "{not_ours}");
        }
    }

    #[test]
    fn a_sweep_removes_only_stale_temporaries_of_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let p = d.join("all.vcf");
        for name in [".all.vcf.aB3dE9.tmp", ".all.vcf.abc.tmp", ".other.vcf.aB3dE9.tmp", "all.vcf.aB3dE9.tmp"]
        {
            fs::write(d.join(name), "x").unwrap();
        }
        // A run writing the same file right now: its temporary is locked, and stays.
        let mut busy = AtomicFile::create(&p, Accept::FileOnly).unwrap();
        busy.write_all(b"being written").unwrap();
        write(&p, b"done").unwrap();
        let left = names(d);
        assert!(!left.contains(&".all.vcf.aB3dE9.tmp".to_string()), "{left:?}");
        for kept in [".all.vcf.abc.tmp", ".other.vcf.aB3dE9.tmp", "all.vcf.aB3dE9.tmp"] {
            assert!(left.contains(&kept.to_string()), "{kept} is not ours: {left:?}");
        }
        assert_eq!(left.iter().filter(|n| n.starts_with(".all.vcf.") && n.len() == 19).count(), 1);
        busy.commit().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"being written");
        assert_eq!(left.len() - 1, names(d).len(), "the finished run's temporary became all.vcf");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_followed_and_its_target_replaced() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::create_dir_all(d.join("bk")).unwrap();
        fs::create_dir_all(d.join("sync")).unwrap();
        fs::write(d.join("sync/real.vcf"), "old").unwrap();
        symlink("../sync/real.vcf", d.join("bk/link.vcf")).unwrap();
        symlink("link.vcf", d.join("bk/link2.vcf")).unwrap();
        write(&d.join("bk/link2.vcf"), b"new").unwrap();
        assert_eq!(fs::read_link(d.join("bk/link.vcf")).unwrap(), Path::new("../sync/real.vcf"));
        assert_eq!(fs::read_link(d.join("bk/link2.vcf")).unwrap(), Path::new("link.vcf"));
        assert_eq!(fs::read(d.join("sync/real.vcf")).unwrap(), b"new");
        assert_eq!(names(&d.join("sync")), ["real.vcf"]);
        // Dangling: the target is created; a loop is an error.
        symlink("../sync/new.vcf", d.join("bk/dangling.vcf")).unwrap();
        write(&d.join("bk/dangling.vcf"), b"first").unwrap();
        assert_eq!(fs::read(d.join("sync/new.vcf")).unwrap(), b"first");
        assert!(fs::symlink_metadata(d.join("bk/dangling.vcf")).unwrap().file_type().is_symlink());
        symlink("loop.vcf", d.join("bk/loop.vcf")).unwrap();
        let e = write(&d.join("bk/loop.vcf"), b"x").unwrap_err();
        assert!(e.to_string().contains("symbolic links"), "{e}");
        // The target's folder does not exist: the error says where the link leads.
        symlink("../nowhere/x.vcf", d.join("bk/lost.vcf")).unwrap();
        let e = write(&d.join("bk/lost.vcf"), b"x").unwrap_err();
        assert!(e.to_string().contains("nowhere"), "{e}");
    }

    /// Run as root only (it needs to give a link to another user).
    #[cfg(unix)]
    #[test]
    fn a_strangers_link_in_a_sticky_world_writable_folder_is_not_followed() {
        use std::os::unix::fs::{lchown, symlink, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("tmp");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let link = shared.join("report.json");
        symlink(&victim, &link).unwrap();
        if lchown(&link, Some(4242), Some(4242)).is_err() {
            eprintln!("skipped: cannot give a link to another user (not root)");
            return;
        }
        let e = write(&link, b"overwritten").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        // Our own link there is followed.
        lchown(&link, Some(unsafe { libc::geteuid() }), None).unwrap();
        write(&link, b"mine").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"mine");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn our_descriptors_are_written_in_place_and_backups_refuse_them() {
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.txt");
        fs::write(&log, "earlier lines\n").unwrap();
        let before = fs::metadata(&log).unwrap();
        let appending = fs::OpenOptions::new().append(true).open(&log).unwrap();
        for via in ["/proc/self/fd", "/dev/fd"] {
            let path = PathBuf::from(format!("{via}/{}", appending.as_raw_fd()));
            let mut f = AtomicFile::create(&path, Accept::FileOrStream).unwrap();
            f.write_all(format!("report via {via}\n").as_bytes()).unwrap();
            f.commit().unwrap();
            let e = check_destination(&path, Accept::FileOnly).unwrap_err();
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
        assert_eq!(
            fs::read_to_string(&log).unwrap(),
            "earlier lines\nreport via /proc/self/fd\nreport via /dev/fd\n"
        );
        assert!(same_file(&before, &fs::metadata(&log).unwrap()), "appended to, not replaced");
    }

    #[test]
    fn folders_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for accept in [Accept::FileOnly, Accept::FileOrStream] {
            let e = check_destination(dir.path(), accept).unwrap_err();
            assert!(e.to_string().contains("a folder"), "{e}");
        }
        assert_eq!(resolve(Path::new("-"), Accept::FileOnly).unwrap(), Destination::Stdout);
    }
}
