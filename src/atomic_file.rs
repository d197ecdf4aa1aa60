//! Files replaced atomically: written to a temporary file in the same folder, flushed and synced,
//! then renamed over the target. A crash (kill -9 from cron, a full disk) leaves either the old
//! file or the new one, never a truncated one; at worst a stray `.<name>.*.tmp`, which readers
//! ignore. Backups, vdir cards and JSON reports all go through here.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written; it replaces its target only on [`AtomicFile::commit`], and vanishes if
/// dropped before.
pub struct AtomicFile {
    tmp: BufWriter<tempfile::NamedTempFile>,
    path: PathBuf,
    dir: PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = tempfile::Builder::new().prefix(&format!(".{base}.")).suffix(".tmp").tempfile_in(&dir)?;
        Ok(AtomicFile { tmp: BufWriter::new(tmp), path: path.to_path_buf(), dir })
    }

    /// Renames the finished file over the target. A replaced file keeps its permissions; a new
    /// one stays owner-only (0600): backups and reports hold personal data.
    pub fn commit(self) -> io::Result<()> {
        let tmp = self.tmp.into_inner().map_err(|e| e.into_error())?;
        if let Ok(meta) = fs::metadata(&self.path) {
            tmp.as_file().set_permissions(meta.permissions())?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        // Makes the rename durable; best effort (not supported everywhere).
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

/// Replaces `path` with `bytes` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn an_unfinished_file_leaves_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("report.json");
        write(&p, b"old").unwrap();
        let mut file = AtomicFile::create(&p).unwrap();
        file.write_all(b"half of the new").unwrap();
        drop(file);
        assert_eq!(fs::read(&p).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
