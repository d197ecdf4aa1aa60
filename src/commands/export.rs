//! `orange-contacts export PATH`: the whole account to one .vcf file or a vdir (see
//! [`crate::export`]). Exit codes: 0 complete, 3 incomplete listing or unreadable contacts
//! (their cards kept), 1 fatal, another run on the account, or refused by a guard (PATH not
//! written by this tool, another source, `--max-delete`, `--max-delete-percent`, empty listing),
//! 2 usage (`export -` with `--quick`, `--layout dir` or `--report -`).

use crate::atomic_file::is_stdout;
use crate::cli::ExportArgs;
use crate::commands::connect::{connect, state_dir};
use crate::commands::{runtime, EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE};
use crate::export::backup::Overrides;
use crate::export::guard::Limits;
use crate::export::{export, resolve_layout, ExportOptions, Layout, Outcome};
use crate::progress::Terminal;

pub fn run(args: ExportArgs) -> anyhow::Result<u8> {
    if let Some(why) = stdout_conflict(&args) {
        eprintln!("error: {why}");
        return Ok(EXIT_USAGE);
    }
    let quiet = args.verbosity.quiet;
    runtime()?.block_on(async {
        let connection = connect(&args.connection, quiet).await?;
        let _lock = crate::run_lock::acquire(&state_dir()?, &connection.source, "export")?;
        let opts = ExportOptions {
            layout: resolve_layout(&args.path, args.layout),
            path: args.path.clone(),
            version: args.version,
            photos: !args.no_photos,
            source: connection.source.clone(),
            overrides: Overrides { force: args.force, allow_other_source: args.allow_other_source },
            limits: Limits { max_delete: args.max_delete, max_delete_percent: args.max_delete_percent },
            concurrency: args.connection.concurrency.max(1),
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
        if let Some(path) = &args.report {
            run.report.write_json(path)?;
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
fn stdout_conflict(args: &ExportArgs) -> Option<&'static str> {
    if !is_stdout(&args.path) {
        None
    } else if args.layout == Some(Layout::Dir) {
        Some("a vdir cannot go to standard output (`-`): give a folder, or drop --layout dir")
    } else if args.quick {
        Some("--quick searches the names of the previous backup, and standard output (`-`) has none: drop --quick, or export to a file")
    } else if args.report.as_deref().is_some_and(is_stdout) {
        Some("the export and its report cannot both go to standard output (`-`): give --report a file")
    } else {
        None
    }
}
