//! `orange-contacts export PATH`: the whole account to one .vcf file or a vdir (see
//! [`crate::export`]). Exit codes: 0 complete, 3 incomplete listing or unreadable contacts
//! (their cards kept), 1 fatal, another run on the account, or refused by a guard (PATH not
//! written by this tool, another source, `--max-delete`, `--max-delete-percent`, empty listing),
//! 2 usage (no PATH and none in the profile; `export -` with `--quick`, `--layout dir` or
//! `--report -`). Every option but `--quick`, `--force` and `--allow-other-source` may come from the
//! profile: the overrides of a guard are given on the run that needs them, never by default.

use std::io::Write as _;
use std::path::Path;

use crate::atomic_file::is_stdout;
use crate::cli::ExportArgs;
use crate::commands::connect::{connect, state_dir, target};
use crate::commands::settings::{self, Layer};
use crate::commands::{
    runtime, unless_interrupted, EXIT_FATAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE,
};
use crate::export::backup::Overrides;
use crate::export::guard::Limits;
use crate::export::{
    export, resolve_layout, Error as ExportError, ExportOptions, ExportReport, Layout, Outcome,
};
use crate::progress::for_stderr;

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
        // A dry run writes nothing and needs no lock.
        let _lock = match args.dry_run {
            true => None,
            false => Some(crate::run_lock::acquire(&state_dir()?, &connection.source, "export")?),
        };
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
            dry_run: args.dry_run,
        };
        let progress = for_stderr(quiet, args.verbosity.stats);
        let outcome = unless_interrupted(export(&connection.client, &opts, &*progress)).await;
        drop(progress);
        let Some(result) = outcome else {
            connection.close().await;
            match is_stdout(&path) {
                true => eprintln!("interrupted: the export stopped; what standard output got is incomplete"),
                false => eprintln!(
                    "interrupted: the export stopped; {} holds the previous backup (a folder: with the cards \
                     of this run written so far, each whole); no report written; run the same command again",
                    path.display()
                ),
            }
            return Ok(EXIT_INTERRUPTED);
        };
        let result = result.map_err(|e| {
            let what = if e.nothing_written() { "export stopped, nothing written" } else { "export stopped" };
            let why = match &e {
                ExportError::Account(api) => connection.client.explain(api),
                other => crate::client::redact(&other.to_string()),
            };
            format!("{what}: {why}")
        });
        connection.close().await;
        let run = match result {
            Ok(run) => run,
            Err(message) => {
                eprintln!("error: {message}");
                return Ok(EXIT_FATAL);
            }
        };
        let code = exit_code(&run.outcome);
        if let Some(path) = &report {
            run.report.write(path)?;
        }
        if args.dry_run {
            write_plan(&run.report, report.as_deref())?;
        }
        if args.verbosity.verbose {
            run.report.contacts.for_each(|c| {
                eprintln!("{:9} {} {}", c.status, c.id, c.name);
                Ok(())
            })?;
        }
        if !quiet || code != EXIT_OK {
            eprint!("{}", run.report.human());
        } else {
            eprint!("{}", run.report.warning_lines());
        }
        Ok(code)
    })
}

/// `--dry-run`: one line per card that would be written or deleted, on the listing's output.
fn write_plan(report: &ExportReport, report_path: Option<&Path>) -> std::io::Result<()> {
    let mut out = crate::report::listing_output(report_path);
    report.contacts.for_each(|c| match c.status {
        "written" => writeln!(out, "would write   {}  {}", c.file.as_deref().unwrap_or(&c.uid), c.name),
        _ => Ok(()),
    })?;
    for name in &report.deleted {
        writeln!(out, "would delete  {name}")?;
    }
    Ok(())
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
