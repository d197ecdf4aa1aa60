//! Records the commit the binary is built from, for `--version`: `git rev-parse --short HEAD`, or
//! `unknown` outside a git checkout (a source tarball) or without git.
//!
//! Reruns only when the checkout moves to another commit: when `HEAD` changes (another branch, a
//! detached checkout) or the ref it points to does (a new commit), found through git itself, so
//! worktrees (where `.git` is a file) and packed refs work too.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=ORANGE_CONTACTS_COMMIT={commit}");
    if commit == "unknown" {
        return;
    }
    let mut watched = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    // The branch HEAD names (none when detached), loose or packed.
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(git(&["rev-parse", "--git-path", &branch]));
        watched.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    }
    // Only files that exist: cargo reruns a script on every build for a missing one.
    for path in watched.into_iter().flatten().map(PathBuf::from).filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
