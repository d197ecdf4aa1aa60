//! The one-way flow (issue 10), read from the source tree: the command line (`cli`, `commands`)
//! is the top and nothing below it imports it; the sandbox server shares only `wire` with the
//! rest of the crate.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The modules at the top: everything else in `src/` is below them and must not import them.
const TOP: &[&str] = &["cli", "commands"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file below `dir` (or `dir` itself, a file), sorted.
fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            files.extend(rust_files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            files.push(p);
        }
    }
    files.sort();
    files
}

/// The crate's top-level modules, each with its files: `src/x.rs` and `src/x/…`.
fn modules() -> Vec<(String, Vec<PathBuf>)> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if (p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
            && !matches!(name.as_str(), "lib" | "main")
        {
            names.insert(name);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let mut files = Vec::new();
            for p in [src().join(format!("{name}.rs")), src().join(&name)] {
                if p.exists() {
                    files.extend(rust_files(&p));
                }
            }
            (name, files)
        })
        .collect()
}

/// The code of a file without its comments (a doc comment may name any module).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| l.split_once("//").map_or(l, |(code, _)| code)).collect::<Vec<_>>().join("\n")
}

/// The top-level modules a file's code names through `crate::`: `crate::cli::X`, and each
/// member of a group, `crate::{cli, wire::Y}`.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        // `orange_crate::` or `my_crate::` are not this crate.
        if code[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = code[at + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // The group's members at depth 0: `{cli, wire::{a, b}, model}`.
            let (mut depth, mut member_start) = (0usize, true);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => member_start = true,
                    c if member_start && !c.is_whitespace() => {
                        found.insert(ident(&group[i..]));
                        member_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.remove("");
    found
}

fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().to_string_lossy().replace('\\', "/")
}

/// Every `(file, module)` where a file of a module below the top imports `cli` or `commands`, and
/// where a file of the sandbox names a module other than `wire`.
fn violations() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (module, files) in modules() {
        if TOP.contains(&module.as_str()) {
            continue;
        }
        for file in files {
            for named in crate_modules(&code(&file)) {
                let wrong = if module == "sandbox" { named != "wire" } else { TOP.contains(&named.as_str()) };
                if wrong {
                    found.push((relative(&file), named));
                }
            }
        }
    }
    found
}

#[test]
fn nothing_below_the_command_line_imports_it_and_the_sandbox_shares_only_wire() {
    let found: Vec<String> =
        violations().iter().map(|(file, named)| format!("{file} imports crate::{named}")).collect();
    assert!(
        found.is_empty(),
        "imports against the one-way flow (cli and commands on top; the sandbox uses only crate::wire):\n{}",
        found.join("\n")
    );
}

/// The scanner itself: it sees every form an import takes, and only this crate's paths.
#[test]
fn the_scanner_reads_paths_and_groups() {
    let seen = |code: &str| crate_modules(code).into_iter().collect::<Vec<_>>();
    assert_eq!(seen("use crate::cli::Layout;"), ["cli"]);
    assert_eq!(seen("use crate::{cli, wire::{a, b}, model::X};"), ["cli", "model", "wire"]);
    assert_eq!(seen("let x = crate::commands::EXIT_OK;"), ["commands"]);
    assert_eq!(seen("use crate:: {\n    model,\n    wire,\n};"), ["model", "wire"]);
    assert_eq!(seen("use my_crate::cli; use crate::wire::x;"), ["wire"]);
    assert_eq!(code_of("let a = 1; // crate::cli here is prose"), "let a = 1; ");
    // Every module below the top is scanned, whatever its name (a new one included).
    let names: Vec<String> = modules().into_iter().map(|(name, _)| name).collect();
    for expected in ["client", "dedup", "export", "formats", "import", "mapping", "sandbox", "wire"] {
        assert!(names.iter().any(|n| n == expected), "{expected} not scanned: {names:?}");
    }
}

fn code_of(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.rs");
    std::fs::write(&file, text).unwrap();
    code(&file)
}

/// One test binary: every file of `tests/` is a module of `tests/tests.rs` (with `autotests =
/// false`, a file left out would never run), and the tool is started only through
/// `common::command`, which isolates it from the developer's own configuration and account.
#[test]
fn every_test_file_is_a_module_of_the_one_binary_and_runs_the_tool_isolated() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let root = std::fs::read_to_string(tests.join("tests.rs")).unwrap();
    let listed: BTreeSet<String> = root
        .lines()
        .filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';').map(str::to_string))
        .collect();
    let mut missing = Vec::new();
    let mut unisolated = Vec::new();
    for file in rust_files(&tests) {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let top_level = file.parent() == Some(tests.as_path());
        if top_level && name != "tests" && !listed.contains(&name) {
            missing.push(name);
        }
        let in_common = file.starts_with(tests.join("common"));
        // Spelt in two halves so that this file does not name itself.
        let direct = [concat!("Command::new(", "bin())"), concat!("Command::new(", "common::bin())")];
        if !in_common && direct.iter().any(|d| code(&file).contains(d)) {
            unisolated.push(relative(&file));
        }
    }
    assert!(missing.is_empty(), "add `mod NAME;` to tests/tests.rs for: {missing:?}");
    assert!(unisolated.is_empty(), "start the tool with common::command(): {unisolated:?}");
}

/// Typed errors below the command line (issue 10): each stage says how it failed with its own
/// enum; `anyhow` (one message, no kinds) is for `commands/` and `main`, where errors are told.
#[test]
fn anyhow_only_in_the_commands() {
    let mut found = Vec::new();
    for (module, files) in modules() {
        if module == "commands" {
            continue;
        }
        for file in files {
            if code(&file).contains("anyhow") {
                found.push(relative(&file));
            }
        }
    }
    assert!(found.is_empty(), "return a typed error (thiserror) instead of anyhow in: {found:?}");
}
