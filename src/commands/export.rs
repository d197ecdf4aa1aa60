//! `orange-contacts export PATH`: the whole account to one .vcf file or a vdir (see
//! [`crate::export`]). Exit codes: 0 complete, 3 incomplete listing or unreadable contacts
//! (their cards kept), 1 fatal, another run on the account, or refused by a guard (PATH not
//! written by this tool, another source, `--max-delete`, `--max-delete-percent`, empty listing),
//! 2 usage (no PATH and none in the profile; `export -` with `--quick`, `--layout dir` or
//! `--report -`). Every option but `--quick`, `--force` and `--allow-other-source` may come from the
//! profile: the overrides of a guard are given on the run that needs them, never by default.

use std::path::Path;

use crate::atomic_file::is_stdout;
use crate::cli::ExportArgs;
use crate::commands::connect::{connect, state_dir, target};
use crate::commands::settings::{self, Layer};
use crate::commands::{runtime, EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE};
use crate::export::backup::Overrides;
use crate::export::guard::Limits;
use crate::export::{export, resolve_layout, ExportOptions, Layout, Outcome};
use crate::progress::Terminal;

pub fn run(args: ExportArgs) -> anyhow::Result<u8> {
    let flags = Layer::default().with_connection(&args.connection).with_export(&args);
    let settings = settings::resolve(&args.profile, flags, true)?;
    let export_settings = &settings.export;
    let Some(path) = export_settings.path.as_ref().map(|p| p.value.clone()) else {
        eprintln!("error: give the PATH to export to (or `path` in the profile's export table)");
        return Ok(EXIT_USAGE);
    };
    let layout = export_settings.layout.as_ref().map(|l| l.value);
    let report = export_settings.report.as_ref().map(|r| r.value.clone());
    if let Some(why) = stdout_conflict(&path, layout, args.quick, report.as_deref()) {
        eprintln!("error: {why}");
        return Ok(EXIT_USAGE);
    }
    let quiet = args.verbosity.quiet;
    let target = target(&settings)?;
    runtime()?.block_on(async {
        let connection = connect(target, &settings, quiet).await?;
        let _lock = crate::run_lock::acquire(&state_dir()?, &connection.source, "export")?;
        let opts = ExportOptions {
            layout: resolve_layout(&path, layout),
            path: path.clone(),
            version: export_settings.vcard.value,
            photos: export_settings.photos.value,
            source: connection.source.clone(),
            overrides: Overrides { force: args.force, allow_other_source: args.allow_other_source },
            limits: Limits {
                max_delete: export_settings.max_delete.value,
                max_delete_percent: export_settings.max_delete_percent.value,
            },
            concurrency: settings.concurrency.value.max(1),
            quick: args.quick,
        };
        let result = export(&connection.client, &opts, &Terminal::new(quiet)).await;
        connection.close().await;
        let run = match result {
            Ok(run) => run,
            Err(e) => {
                let what =
                    if e.nothing_written() { "export stopped, nothing written" } else { "export stopped" };
                eprintln!("error: {what}: {}", crate::client::redact(&e.to_string()));
                return Ok(EXIT_FATAL);
            }
        };
        let code = exit_code(&run.outcome);
        if let Some(path) = &report {
            run.report.write(path)?;
        }
        if args.verbosity.verbose {
            for c in &run.report.contacts {
                eprintln!("{:9} {} {}", c.status, c.id, c.name);
            }
        }
        if !quiet || code != EXIT_OK {
            eprint!("{}", run.report.human());
        } else {
            eprint!("{}", run.report.warning_lines());
        }
        Ok(code)
    })
}

/// 0 complete, 3 incomplete (listing or unreadable contacts), 1 refused by the guard.
fn exit_code(outcome: &Outcome) -> u8 {
    match outcome {
        Outcome::Complete => EXIT_OK,
        Outcome::Incomplete => EXIT_PARTIAL,
        Outcome::Refused(_) => EXIT_FATAL,
    }
}

/// `export -` writes one file to standard output, which holds no previous backup: what cannot
/// go with it.
fn stdout_conflict(
    path: &Path,
    layout: Option<Layout>,
    quick: bool,
    report: Option<&Path>,
) -> Option<&'static str> {
    if !is_stdout(path) {
        None
    } else if layout == Some(Layout::Dir) {
        Some("a vdir cannot go to standard output (`-`): give a folder, or drop --layout dir")
    } else if quick {
        Some("--quick searches the names of the previous backup, and standard output (`-`) has none: drop --quick, or export to a file")
    } else if report.is_some_and(is_stdout) {
        Some("the export and its report cannot both go to standard output (`-`): give --report a file")
    } else {
        None
    }
}
