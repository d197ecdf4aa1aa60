//! Writing exports to disk safely: stable file-system-safe UIDs and names, atomic writes
//! (temporary file in the same folder, fsync, rename), the vdir update (only changed files are
//! rewritten) and the mass-deletion guard (`--max-delete`, empty listing).
//!
//! Conventions follow vdirsyncer's vdir spec: one `.vcf` per contact, temporary files end in
//! `.tmp` and are ignored by readers. Only files this tool names (`orange-contacts-*.vcf`) are
//! ever deleted; anything else in the folder is left alone.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::atomic_file;
use crate::cli::Layout;
use crate::formats::{self, Format};
use crate::wire::search::{fold, searchable_names};

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

/// Why a write that would delete cards was refused (nothing was deleted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The account listing came back empty while the backup holds cards.
    EmptyListing { existing: usize },
    /// More cards would go than `--max-delete` allows.
    TooManyDeletes { would_delete: usize, max_delete: usize },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::EmptyListing { existing } => write!(
                f,
                "the account listing came back empty but the backup holds {existing} card(s): refusing to delete them"
            ),
            Refusal::TooManyDeletes { would_delete, max_delete } => write!(
                f,
                "{would_delete} card(s) of vanished contacts would be deleted, more than --max-delete {max_delete}: \
                 deleted nothing (raise --max-delete if this is intended)"
            ),
        }
    }
}

/// What a vdir update did.
#[derive(Debug, Clone, Default)]
pub struct VdirOutcome {
    pub written: Vec<String>,
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
    /// Files of vanished contacts kept because deletion was refused or not allowed.
    pub kept: Vec<String>,
    pub refused: Option<Refusal>,
}

/// Brings `dir` in line with `cards` (file name → bytes): writes new and changed files
/// atomically, leaves identical ones untouched, and removes this tool's files whose contact is
/// gone, unless more than `max_delete` would go or the listing is empty (then nothing is
/// deleted and `refused` says why). `allow_delete = false` (incomplete enumeration, failed
/// fetches) keeps every existing file. `protect` names files to keep in any case.
pub fn sync_vdir(
    dir: &Path,
    cards: &[(String, Vec<u8>)],
    protect: &HashSet<String>,
    max_delete: usize,
    allow_delete: bool,
) -> io::Result<VdirOutcome> {
    fs::create_dir_all(dir)?;
    let existing = list_own_cards(dir)?;
    let wanted: HashSet<&str> = cards.iter().map(|(n, _)| n.as_str()).collect();
    let vanished: Vec<String> =
        existing.iter().filter(|n| !wanted.contains(n.as_str()) && !protect.contains(*n)).cloned().collect();

    let mut out = VdirOutcome::default();
    // (When deleting is not allowed anyway, there is nothing to refuse.)
    if allow_delete && cards.is_empty() && !existing.is_empty() {
        out.refused = Some(Refusal::EmptyListing { existing: existing.len() });
    } else if allow_delete && vanished.len() > max_delete {
        out.refused = Some(Refusal::TooManyDeletes { would_delete: vanished.len(), max_delete });
    }

    for (name, bytes) in cards {
        if !is_safe_name(name) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("unsafe file name {name:?}")));
        }
        let path = dir.join(name);
        match fs::read(&path) {
            Ok(old) if old == *bytes => out.unchanged.push(name.clone()),
            _ => {
                atomic_file::write_in_batch(&path, bytes)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                out.written.push(name.clone());
            }
        }
    }

    if out.refused.is_none() && allow_delete {
        for name in vanished {
            let path = dir.join(&name);
            fs::remove_file(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            out.deleted.push(name);
        }
        sync_dir(dir);
    } else {
        out.kept = vanished;
    }
    // What killed runs left: the temporaries of our cards (the cards written now are swept here).
    atomic_file::remove_stale_temporaries_in(dir, |n| n.to_str().is_some_and(is_card_name));
    Ok(out)
}

/// This tool's cards in a vdir: regular files (not symlinks) named `orange-contacts-*.vcf`;
/// `.tmp` files, hidden files and other names are ignored.
pub fn list_own_cards(dir: &Path) -> io::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", dir.display()))),
    };
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
        if !is_card_name(&name) {
            continue;
        }
        if entry.file_type()?.is_file() {
            names.insert(name);
        }
    }
    Ok(names)
}

/// A name this tool gives its cards: `orange-contacts-*.vcf`.
pub fn is_card_name(name: &str) -> bool {
    name.starts_with(UID_PREFIX) && name.ends_with(".vcf") && is_safe_name(name)
}

/// The UIDs of this tool's cards in an existing single-file export (none if it does not exist,
/// or is `-`, standard output).
pub fn uids_in_file(path: &Path) -> io::Result<BTreeSet<String>> {
    if atomic_file::is_stdout(path) {
        return Ok(BTreeSet::new());
    }
    let text = match fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let unfolded = text.replace("\r\n ", "").replace("\n ", "");
    Ok(unfolded
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            (name.eq_ignore_ascii_case("UID") && value.trim().starts_with(UID_PREFIX))
                .then(|| value.trim().to_string())
        })
        .collect())
}

/// The initials a backup's names are found by (the folded first character of each searchable
/// name, see [`crate::wire::search::searchable_names`]): what `export --quick` searches beyond
/// its reduced alphabet, so that every contact already backed up is listed again. Nothing when
/// there is no backup yet; an error when a card cannot be read (its contact might then be missed
/// and its card deleted).
pub fn name_initials(path: &Path, layout: Layout) -> anyhow::Result<HashSet<String>> {
    let files: Vec<PathBuf> = match layout {
        Layout::File if path.exists() => vec![path.to_path_buf()],
        Layout::Dir if path.is_dir() => list_own_cards(path)?.into_iter().map(|n| path.join(n)).collect(),
        _ => Vec::new(),
    };
    let mut initials = HashSet::new();
    for file in files {
        for record in formats::read_path(&file, Format::Vcard)? {
            let c = record.contact.map_err(anyhow::Error::msg)?; // the message names the card
            let names = searchable_names(
                c.given.as_deref(),
                c.family.as_deref(),
                c.nickname.as_deref(),
                c.organization.as_deref(),
            );
            initials.extend(names.iter().filter_map(|n| fold(n).chars().next()).map(String::from));
        }
    }
    Ok(initials)
}

/// What a single-file export did.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    pub written: bool,
    /// Cards of the previous file whose contact is gone.
    pub dropped: usize,
    pub refused: Option<Refusal>,
}

/// Replaces the single-file export at `path` with `bytes` (atomically, and only if different),
/// unless that would drop more than `max_delete` cards of the previous file or the listing is
/// empty while the previous file had cards: then the previous file stays as it was.
pub fn write_single_file(
    path: &Path,
    bytes: &[u8],
    new_uids: &HashSet<String>,
    max_delete: usize,
) -> io::Result<FileOutcome> {
    if atomic_file::is_stdout(path) {
        // Standard output: no previous file to compare with or to guard.
        atomic_file::write(path, bytes)
            .map_err(|e| io::Error::new(e.kind(), format!("standard output: {e}")))?;
        return Ok(FileOutcome { written: true, ..Default::default() });
    }
    let old = uids_in_file(path)?;
    let dropped = old.iter().filter(|u| !new_uids.contains(*u)).count();
    let mut out = FileOutcome { dropped, ..Default::default() };
    if new_uids.is_empty() && !old.is_empty() {
        out.refused = Some(Refusal::EmptyListing { existing: old.len() });
        return Ok(out);
    }
    if dropped > max_delete {
        out.refused = Some(Refusal::TooManyDeletes { would_delete: dropped, max_delete });
        return Ok(out);
    }
    if fs::read(path).ok().as_deref() == Some(bytes) {
        atomic_file::remove_stale_temporaries(path); // (a write sweeps them too)
        return Ok(out);
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    atomic_file::write(path, bytes)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    out.written = true;
    Ok(out)
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
        let out = sync_vdir(&vdir, &cards, &HashSet::new(), 50, true).unwrap();
        assert_eq!(out.written.len(), 4);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "nothing written beside the vdir");
        assert_eq!(fs::read_dir(&vdir).unwrap().count(), 4);
        assert!(sync_vdir(&vdir, &[("../x.vcf".into(), vec![])], &HashSet::new(), 50, true).is_err());
    }

    fn card(n: &str) -> (String, Vec<u8>) {
        (
            file_name(&uid_for_id(n)),
            format!("BEGIN:VCARD\r\nUID:{}\r\nEND:VCARD\r\n", uid_for_id(n)).into_bytes(),
        )
    }

    #[test]
    fn vdir_rewrites_only_changed_files_and_deletes_vanished_within_limit() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("notes.txt"), "mine").unwrap();
        fs::write(d.join("other.vcf"), "not ours").unwrap();
        fs::write(d.join(".orange-contacts-9.vcf.abc.tmp"), "stray").unwrap();
        let first = sync_vdir(d, &[card("1"), card("2"), card("3")], &HashSet::new(), 50, true).unwrap();
        assert_eq!(first.written.len(), 3);
        let mut changed = card("2");
        changed.1.extend_from_slice(b"x");
        let second = sync_vdir(d, &[card("1"), changed], &HashSet::new(), 50, true).unwrap();
        assert_eq!(second.unchanged, vec![file_name(&uid_for_id("1"))]);
        assert_eq!(second.written, vec![file_name(&uid_for_id("2"))]);
        assert_eq!(second.deleted, vec![file_name(&uid_for_id("3"))]);
        assert!(d.join("notes.txt").exists() && d.join("other.vcf").exists());
        assert!(d.join(".orange-contacts-9.vcf.abc.tmp").exists(), ".tmp files are not ours to judge");
    }

    #[test]
    fn max_delete_and_empty_listing_refuse_and_delete_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let all: Vec<_> = (0..10).map(|i| card(&i.to_string())).collect();
        sync_vdir(d, &all, &HashSet::new(), 50, true).unwrap();
        let out = sync_vdir(d, &all[..3], &HashSet::new(), 5, true).unwrap();
        assert_eq!(out.refused, Some(Refusal::TooManyDeletes { would_delete: 7, max_delete: 5 }));
        assert!(out.deleted.is_empty());
        assert_eq!(list_own_cards(d).unwrap().len(), 10);
        let out = sync_vdir(d, &[], &HashSet::new(), 1000, true).unwrap();
        assert_eq!(out.refused, Some(Refusal::EmptyListing { existing: 10 }));
        assert_eq!(list_own_cards(d).unwrap().len(), 10);
        // Not allowed (incomplete enumeration): kept, not refused.
        let out = sync_vdir(d, &all[..9], &HashSet::new(), 50, false).unwrap();
        assert!(out.refused.is_none() && out.deleted.is_empty() && out.kept.len() == 1);
        // Protected files survive.
        let protect: HashSet<String> = [all[9].0.clone()].into();
        let out = sync_vdir(d, &all[..9], &protect, 50, true).unwrap();
        assert!(out.deleted.is_empty());
        let out = sync_vdir(d, &all[..9], &HashSet::new(), 50, true).unwrap();
        assert_eq!(out.deleted.len(), 1);
    }

    #[test]
    fn single_file_guard_and_unchanged_detection() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("all.vcf");
        let body =
            |ids: &[&str]| ids.iter().map(|i| String::from_utf8(card(i).1).unwrap()).collect::<String>();
        let uids = |ids: &[&str]| ids.iter().map(|i| uid_for_id(i)).collect::<HashSet<_>>();
        let a = ["1", "2", "3", "4"];
        assert!(write_single_file(&p, body(&a).as_bytes(), &uids(&a), 0).unwrap().written);
        assert_eq!(uids_in_file(&p).unwrap().len(), 4);
        assert!(!write_single_file(&p, body(&a).as_bytes(), &uids(&a), 0).unwrap().written);
        let out = write_single_file(&p, body(&a[..1]).as_bytes(), &uids(&a[..1]), 2).unwrap();
        assert_eq!(out.refused, Some(Refusal::TooManyDeletes { would_delete: 3, max_delete: 2 }));
        let out = write_single_file(&p, b"", &HashSet::new(), 100).unwrap();
        assert_eq!(out.refused, Some(Refusal::EmptyListing { existing: 4 }));
        assert_eq!(fs::read_to_string(&p).unwrap(), body(&a));
        let out = write_single_file(&p, body(&a[..3]).as_bytes(), &uids(&a[..3]), 2).unwrap();
        assert!(out.written && out.dropped == 1);
    }
}
