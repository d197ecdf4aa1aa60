//! `orange-contacts import`: read, map, plan, write, report.

use std::io::Write as _;
use std::time::Instant;

use crate::cli::ImportArgs;
use crate::client::ApiClient;
use crate::commands::connect::{connect, state_dir, target};
use crate::commands::settings::{self, Layer};
use crate::commands::{on_ctrl_c, on_workers, EXIT_FATAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL};
use crate::import::{self, read::read_all, ImportOptions};
use crate::mapping::MappingOptions;
use crate::progress::for_stderr;
use crate::report::{Outcome, Report, ReportFormat};

pub fn run(args: ImportArgs) -> anyhow::Result<u8> {
    let started = Instant::now();
    let quiet = args.verbosity.quiet;
    let flags = Layer::default().with_mapping(&args.mapping).with_connection(&args.connection);
    let settings = settings::resolve(&args.profile, flags, true)?;
    // The token (a file, a command) before the files are read: a wrong one stops the run at once.
    let target = target(&settings)?;
    let region = settings.region.value.clone();
    let mapping = MappingOptions { region: region.clone(), ..MappingOptions::default() };
    let inputs = read_all(&args.files, args.format, &mapping)?;
    for warning in &inputs.warnings {
        eprintln!("warning: {warning}");
    }
    on_workers(async move {
        let connection = connect(target, &settings, quiet).await?;
        // Two imports at once would both create what is missing: one run per account. A dry run
        // writes nothing and needs no lock.
        let _lock = match args.dry_run {
            true => None,
            false => Some(crate::run_lock::acquire(&state_dir()?, &connection.source, "import")?),
        };
        let progress = for_stderr(quiet || args.dry_run, args.verbosity.stats);
        let opts = ImportOptions {
            on_duplicate: args.on_duplicate,
            dry_run: args.dry_run,
            region,
            concurrency: settings.concurrency.value,
            interrupt: on_ctrl_c(),
            thumbnails: args
                .report
                .as_deref()
                .is_some_and(|p| ReportFormat::for_path(p) == Ok(ReportFormat::Html)),
            window: import_window(),
        };
        let run = import::run(inputs, &connection.client, &opts, &*progress, started).await;
        let mut run = run.map_err(|e| anyhow::anyhow!("the import's temporary files failed: {e}"))?;
        drop(progress);
        let fatal = run.fatal.as_ref().map(|e| fatal_message(&connection.client, e));
        connection.close().await;
        if args.dry_run {
            let mut out = std::io::BufWriter::new(crate::report::listing_output(args.report.as_deref()));
            run.write_listing(&mut out)?;
            out.flush()?;
        }
        for warning in &run.warnings {
            eprintln!("warning: {warning}");
        }
        if let Some(path) = &args.report {
            run.report.write(path)?;
        }
        if !quiet {
            let mut err = std::io::BufWriter::new(std::io::stderr().lock());
            run.report.write_human_summary(&mut err, args.verbosity.verbose)?;
            err.flush()?;
        }
        if run.interrupted {
            eprintln!("{}", interrupted_line(&run.report, args.report.is_some()));
            return Ok(EXIT_INTERRUPTED);
        }
        if let Some(fatal) = fatal {
            eprintln!("error: {fatal}");
            return Ok(EXIT_FATAL);
        }
        Ok(if run.report.has_problems() { EXIT_PARTIAL } else { EXIT_OK })
    })
}

/// Records planned and run together ([`ImportOptions::window`]): `ORANGE_CONTACTS_IMPORT_WINDOW`
/// sets it (the tests make it tiny to run many windows on a small input).
fn import_window() -> usize {
    std::env::var("ORANGE_CONTACTS_IMPORT_WINDOW")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(import::spool::WINDOW_RECORDS)
}

/// What an interrupted run did, and what to do next (printed even with `-q`).
fn interrupted_line(report: &Report, written: bool) -> String {
    let total = report.len();
    let done = total - report.count(Outcome::NotAttempted);
    let rest = if written { "; the report lists the rest as not done" } else { "" };
    format!("interrupted: {done} of {total} records done{rest}; run the same command again to continue")
}

/// What a user must do about an error that stopped the run (the client's one rule for API
/// errors, see [`crate::client::fatal`]).
fn fatal_message(client: &ApiClient, error: &import::Error) -> String {
    match error {
        import::Error::Api(e) => client.explain(e),
        other => format!("stopped: {other}"),
    }
}
