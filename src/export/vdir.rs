//! Writing exports to disk safely: stable file-system-safe UIDs and names, atomic writes
//! (temporary file in the same folder, fsync, rename) and the vdir update (only changed files are
//! rewritten). What may be written or deleted is decided before, by [`super::guard`].
//!
//! Conventions follow vdirsyncer's vdir spec: one `.vcf` per contact, temporary files end in
//! `.tmp` and are ignored by readers. Only files this tool names (`orange-contacts-*.vcf`) are
//! ever deleted; anything else in the folder is left alone.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic_file;
use crate::export::Layout;
use crate::formats::{self, Format};

/// Prefix of every UID and file name this tool writes.
pub const UID_PREFIX: &str = "orange-contacts-";
/// Longest encoded id kept verbatim in a UID; longer ones are shortened with a hash suffix so
/// the file name stays well under the usual 255-byte limit.
const MAX_ENCODED_ID: usize = 180;

/// The UID of the contact with API id `id`: `orange-contacts-<id>`, restricted to
/// `[A-Za-z0-9_.-]`. The encoding is injective (distinct ids never share a UID): characters outside
/// `[A-Za-z0-9.-]`, `_` included, become `_` + the hex of their UTF-8 bytes (`a/b` → `a_2Fb`).
pub fn uid_for_id(id: &str) -> String {
    let mut enc = String::with_capacity(id.len());
    for c in id.chars() {
        if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
            enc.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                enc.push_str(&format!("_{b:02X}"));
            }
        }
    }
    if enc.len() > MAX_ENCODED_ID {
        let mut cut = MAX_ENCODED_ID - 20;
        while !enc.is_char_boundary(cut) {
            cut -= 1;
        }
        enc = format!("{}-{:016x}", &enc[..cut], fnv1a64(id.as_bytes()));
    }
    format!("{UID_PREFIX}{enc}")
}

/// The API id back from a UID written by [`uid_for_id`] (None for other UIDs or shortened ones).
pub fn id_from_uid(uid: &str) -> Option<String> {
    let enc = uid.trim().strip_prefix(UID_PREFIX)?;
    let mut bytes = Vec::with_capacity(enc.len());
    let raw = enc.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'_' {
            let hex = std::str::from_utf8(raw.get(i + 1..i + 3)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    let id = String::from_utf8(bytes).ok()?;
    (uid_for_id(&id) == uid.trim()).then_some(id)
}

/// `<uid>.vcf`, for a UID made by [`uid_for_id`]. Refuses anything that is not a plain name.
pub fn file_name(uid: &str) -> String {
    assert!(is_safe_name(uid), "unsafe uid for a file name: {uid:?}");
    format!("{uid}.vcf")
}

/// A single path component of safe characters that cannot climb out of the folder.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 240
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn sync_dir(dir: &Path) {
    // Makes the rename durable; best effort (not supported everywhere).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// What a vdir update did (the names of the cards written go to its `written` callback).
#[derive(Debug, Clone, Default)]
pub struct VdirOutcome {
    pub written: usize,
    pub unchanged: usize,
    pub deleted: Vec<String>,
}

/// A vdir update stopped by an I/O error, with what it had done by then.
#[derive(Debug)]
pub struct ApplyError {
    pub done: VdirOutcome,
    pub source: io::Error,
}

/// The cards of a vdir update, handed one at a time (file name, bytes) to the writer: from
/// memory, or streamed from the export's spill (never all in memory at once).
pub trait VdirCards {
    fn each(&self, card: &mut dyn FnMut(&str, &[u8]) -> io::Result<()>) -> io::Result<()>;
}

impl VdirCards for Vec<(String, Vec<u8>)> {
    fn each(&self, card: &mut dyn FnMut(&str, &[u8]) -> io::Result<()>) -> io::Result<()> {
        self.iter().try_for_each(|(name, bytes)| card(name, bytes))
    }
}

/// Applies what the guard ([`super::guard`]) decided to `dir`: writes `metadata` (its
/// [`super::backup::VDIR_METADATA`]) and `cards` where their bytes changed, atomically (each one
/// named to `written`), and removes the files named in `delete` (this tool's names only), once
/// every card is written.
pub fn apply_vdir(
    dir: &Path,
    metadata: &[u8],
    cards: &dyn VdirCards,
    delete: &[String],
    written: &mut dyn FnMut(&str) -> io::Result<()>,
) -> Result<VdirOutcome, ApplyError> {
    let mut out = VdirOutcome::default();
    match update_vdir(dir, metadata, cards, delete, true, written, &mut out) {
        Ok(()) => Ok(out),
        Err(source) => Err(ApplyError { done: out, source }),
    }
}

/// What [`apply_vdir`] would do to `dir` (`export --dry-run`), through the same steps, touching
/// nothing: the same names refused, the same cards found changed or unchanged, the same deletions.
pub fn preview_vdir(
    dir: &Path,
    cards: &dyn VdirCards,
    delete: &[String],
    written: &mut dyn FnMut(&str) -> io::Result<()>,
) -> Result<VdirOutcome, ApplyError> {
    let mut out = VdirOutcome::default();
    match update_vdir(dir, &[], cards, delete, false, written, &mut out) {
        Ok(()) => Ok(out),
        Err(source) => Err(ApplyError { done: VdirOutcome::default(), source }),
    }
}

fn unsafe_name(name: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("unsafe file name {name:?}"))
}

fn update_vdir(
    dir: &Path,
    metadata: &[u8],
    cards: &dyn VdirCards,
    delete: &[String],
    apply: bool,
    written: &mut dyn FnMut(&str) -> io::Result<()>,
    out: &mut VdirOutcome,
) -> io::Result<()> {
    // Every name checked before anything is written (the cards' in a first pass over them).
    cards.each(&mut |name, _| if is_safe_name(name) { Ok(()) } else { Err(unsafe_name(name)) })?;
    if let Some(name) = delete.iter().find(|n| !is_safe_name(n)) {
        return Err(unsafe_name(name));
    }
    if apply {
        fs::create_dir_all(dir)?;
        // The folder says whose it is before its cards change.
        write_if_changed(&dir.join(super::backup::VDIR_METADATA), metadata)?;
    }
    cards.each(&mut |name, bytes| {
        let path = dir.join(name);
        if fs::read(&path).ok().as_deref() == Some(bytes) {
            out.unchanged += 1;
            return Ok(());
        }
        // No sweep per card (a folder read each): the folder is swept once below.
        if apply {
            atomic_file::write_in_batch(&path, bytes)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        }
        out.written += 1;
        written(name)
    })?;
    for name in delete {
        let path = dir.join(name);
        if apply {
            fs::remove_file(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        }
        out.deleted.push(name.clone());
    }
    if !apply {
        return Ok(());
    }
    if !delete.is_empty() {
        sync_dir(dir);
    }
    // What killed runs left: the temporaries of our cards (the cards written now are swept here).
    atomic_file::remove_stale_temporaries_in(dir, |n| n.to_str().is_some_and(is_card_name));
    Ok(())
}

/// Replaces `path` (`-`: standard output, always written) with `bytes` atomically unless it
/// already holds exactly them; `true` if written. An unchanged file still gets the stale
/// temporaries of killed runs removed (a write sweeps them too).
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    write_streamed_if_changed(path, &mut |chunk: Chunks<'_>| chunk(bytes).map(|_| ()))
}

/// Takes a file's bytes chunk by chunk, answering whether to go on.
pub type Chunks<'a> = &'a mut dyn FnMut(&[u8]) -> io::Result<bool>;
/// Hands a file's bytes, in order, to its [`Chunks`].
pub type EachChunk<'a> = &'a mut dyn FnMut(Chunks<'_>) -> io::Result<()>;

/// [`write_if_changed`] for bytes too many to hold: `each` hands them over in order, chunk by
/// chunk, to its argument (which answers whether to go on), and is called twice when the file is
/// there: once to compare (stopping at the first difference), once to write if they differ.
pub fn write_streamed_if_changed(path: &Path, each: EachChunk<'_>) -> io::Result<bool> {
    use std::io::Write as _;
    let write = |each: EachChunk<'_>| {
        let mut file = atomic_file::AtomicFile::create(path, atomic_file::Accept::FileOnly)?;
        each(&mut |chunk| file.write_all(chunk).map(|_| true))?;
        file.commit()
    };
    if atomic_file::is_stdout(path) {
        return write(each)
            .map(|_| true)
            .map_err(|e| io::Error::new(e.kind(), format!("standard output: {e}")));
    }
    if let Ok(old) = fs::File::open(path) {
        if same_bytes(old, each)? {
            atomic_file::remove_stale_temporaries(path);
            return Ok(false);
        }
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    write(each).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(true)
}

/// Whether `old` holds exactly the bytes `each` hands over (an unreadable file does not).
fn same_bytes(old: fs::File, each: EachChunk<'_>) -> io::Result<bool> {
    use std::io::Read as _;
    let mut old = io::BufReader::new(old);
    let mut same = true;
    let mut buf = Vec::new();
    each(&mut |chunk| {
        buf.resize(chunk.len(), 0);
        same = old.read_exact(&mut buf).is_ok() && buf == chunk;
        Ok(same)
    })?;
    Ok(same && old.read(&mut [0u8; 1]).is_ok_and(|n| n == 0))
}

/// A name this tool gives its cards: `orange-contacts-*.vcf`.
pub fn is_card_name(name: &str) -> bool {
    name.starts_with(UID_PREFIX) && name.ends_with(".vcf") && is_safe_name(name)
}

/// This tool's cards in a vdir: regular files (not symlinks) named `orange-contacts-*.vcf`;
/// `.tmp` files, hidden files and other names are ignored.
pub fn list_own_cards(dir: &Path) -> io::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for_each_own_card(dir, &mut |name| {
        names.insert(name);
        Ok(())
    })?;
    Ok(names)
}

/// [`list_own_cards`] one name at a time, in the folder's order (a million names are not held).
pub fn for_each_own_card(dir: &Path, card: &mut dyn FnMut(String) -> io::Result<()>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        if is_card_name(&name) && entry.file_type()?.is_file() {
            card(name)?;
        }
    }
    Ok(())
}

/// The initials a backup's names are found by (the folded first character of each searchable
/// name, see [`crate::wire::search::searchable_names`]): what `export --quick` searches beyond
/// its reduced alphabet, so that every contact already backed up is listed again. Nothing when
/// there is no backup yet; an error when a card cannot be read (its contact might then be missed
/// and its card deleted).
pub fn name_initials(path: &Path, layout: Layout) -> io::Result<HashSet<String>> {
    let files: Vec<PathBuf> = match layout {
        Layout::File if path.exists() => vec![path.to_path_buf()],
        Layout::Dir if path.is_dir() => list_own_cards(path)?.into_iter().map(|n| path.join(n)).collect(),
        _ => Vec::new(),
    };
    let mut initials = HashSet::new();
    for file in files {
        let records =
            formats::read_path(&file, Format::Vcard).map_err(|e| io::Error::other(format!("{e:#}")))?;
        for record in records {
            // The message names the card.
            let c = record.contact.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            initials.extend(crate::listing::initials_of(
                c.given.as_deref(),
                c.family.as_deref(),
                c.nickname.as_deref(),
                c.organization.as_deref(),
            ));
        }
    }
    Ok(initials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_safe_injective_and_reversible() {
        let ids = ["c6", "C1", "1", "../x", "/", "a/b", "a_b", "a b", "é", "..", ".", "x\0y", "ab_2F"];
        let uids: Vec<String> = ids.iter().map(|i| uid_for_id(i)).collect();
        let unique: HashSet<&String> = uids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{uids:?}");
        for (id, uid) in ids.iter().zip(&uids) {
            assert!(is_safe_name(uid), "{uid}");
            assert!(!uid.contains('/') && uid.starts_with(UID_PREFIX));
            assert_eq!(id_from_uid(uid).as_deref(), Some(*id));
        }
        assert_eq!(uid_for_id("c6"), "orange-contacts-c6");
        assert_eq!(uid_for_id("../x"), "orange-contacts-.._2Fx");
        let long = "x/".repeat(300);
        let u = uid_for_id(&long);
        assert!(is_safe_name(&file_name(&u)) && u.len() < 220, "{u}");
        assert_ne!(u, uid_for_id(&"x/".repeat(301)));
        assert_eq!(id_from_uid("something-else"), None);
    }

    #[test]
    fn hostile_ids_stay_inside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let vdir = dir.path().join("backup");
        let cards: Vec<(String, Vec<u8>)> = ["../escape", "/etc/passwd", "..", "sub/dir"]
            .iter()
            .map(|id| (file_name(&uid_for_id(id)), b"BEGIN:VCARD\r\nEND:VCARD\r\n".to_vec()))
            .collect();
        let out = apply_vdir(&vdir, b"{}", &cards, &[], &mut |_| Ok(())).unwrap();
        assert_eq!(out.written, 4);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "nothing written beside the vdir");
        assert_eq!(fs::read_dir(&vdir).unwrap().count(), 5, "4 cards and the metadata");
        let escaping = vec![("../x.vcf".to_string(), vec![])];
        assert!(apply_vdir(&vdir, b"{}", &escaping, &[], &mut |_| Ok(())).is_err());
        assert!(apply_vdir(&vdir, b"{}", &Vec::new(), &["../x.vcf".into()], &mut |_| Ok(())).is_err());
    }

    fn card(n: &str) -> (String, Vec<u8>) {
        (
            file_name(&uid_for_id(n)),
            format!("BEGIN:VCARD\r\nUID:{}\r\nEND:VCARD\r\n", uid_for_id(n)).into_bytes(),
        )
    }

    #[test]
    fn vdir_rewrites_only_changed_files_and_deletes_what_it_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("notes.txt"), "mine").unwrap();
        fs::write(d.join("other.vcf"), "not ours").unwrap();
        fs::write(d.join(".orange-contacts-9.vcf.abc.tmp"), "stray").unwrap();
        let first =
            apply_vdir(d, b"{}", &vec![card("1"), card("2"), card("3")], &[], &mut |_| Ok(())).unwrap();
        assert_eq!(first.written, 3);
        let mut changed = card("2");
        changed.1.extend_from_slice(b"x");
        let mut written = Vec::new();
        let second = apply_vdir(d, b"{}", &vec![card("1"), changed], &[card("3").0], &mut |n| {
            written.push(n.to_string());
            Ok(())
        })
        .unwrap();
        assert_eq!(second.unchanged, 1);
        assert_eq!(written, vec![file_name(&uid_for_id("2"))]);
        assert_eq!(second.deleted, vec![file_name(&uid_for_id("3"))]);
        assert_eq!(list_own_cards(d).unwrap().len(), 2);
        assert!(d.join("notes.txt").exists() && d.join("other.vcf").exists());
        assert!(d.join(".orange-contacts-9.vcf.abc.tmp").exists(), ".tmp files are not ours to judge");
    }

    #[test]
    fn a_file_is_rewritten_only_when_its_bytes_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("all.vcf");
        assert!(write_if_changed(&p, b"one").unwrap());
        assert!(!write_if_changed(&p, b"one").unwrap());
        assert!(write_if_changed(&p, b"two").unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"two");
        // Streamed in chunks: compared chunk by chunk, a shorter or longer file is a change.
        let chunks = |parts: &'static [&'static [u8]]| {
            move |f: &mut dyn FnMut(&[u8]) -> io::Result<bool>| {
                for part in parts {
                    if !f(part)? {
                        break;
                    }
                }
                Ok(())
            }
        };
        assert!(!write_streamed_if_changed(&p, &mut chunks(&[b"t", b"wo"])).unwrap());
        assert!(write_streamed_if_changed(&p, &mut chunks(&[b"tw"])).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"tw");
        assert!(write_streamed_if_changed(&p, &mut chunks(&[b"tw", b"o", b"!"])).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"two!");
        assert!(write_streamed_if_changed(&p, &mut chunks(&[b"tx", b"o!"])).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"txo!");
    }
}
