//! The files an input path stands for: a file is itself, a folder (a vdir) its `.vcf` files.
//! The one rule of `import`, `inspect` and `check`.

use std::path::{Path, PathBuf};

/// Files to read: the paths given, with folders expanded to their `.vcf` files in name order
/// (hidden and `.tmp` files skipped, as vdir readers do). A folder that cannot be listed is an
/// `Err` naming it.
pub fn expand_paths(paths: &[PathBuf]) -> Vec<Result<PathBuf, String>> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(Ok(p.clone()));
            continue;
        }
        match std::fs::read_dir(p) {
            Ok(entries) => {
                let mut files: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|f| is_card_file(f)).collect();
                files.sort();
                out.extend(files.into_iter().map(Ok));
            }
            Err(e) => out.push(Err(format!("{}: {e}", p.display()))),
        }
    }
    out
}

fn is_card_file(f: &Path) -> bool {
    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.') && f.extension().is_some_and(|e| e.eq_ignore_ascii_case("vcf")) && f.is_file()
}
