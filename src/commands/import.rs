//! `orange-contacts import`: read, map, plan, write, report.

use std::io::Write as _;
use std::time::Instant;

use crate::cli::ImportArgs;
use crate::client::ApiError;
use crate::commands::connect::{connect, state_dir, target};
use crate::commands::settings::{self, Layer};
use crate::commands::{runtime, EXIT_FATAL, EXIT_OK, EXIT_PARTIAL};
use crate::import::{self, read::read_all, ImportOptions};
use crate::mapping::MappingOptions;
use crate::progress::Terminal;
use crate::report::ReportFormat;

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
    runtime()?.block_on(async {
        let connection = connect(target, &settings, quiet).await?;
        // Two imports at once would both create what is missing: one run per account. A dry run
        // writes nothing and needs no lock.
        let _lock = match args.dry_run {
            true => None,
            false => Some(crate::run_lock::acquire(&state_dir()?, &connection.source, "import")?),
        };
        let progress = Terminal::new(quiet || args.dry_run);
        let opts = ImportOptions {
            on_duplicate: args.on_duplicate,
            dry_run: args.dry_run,
            region,
            concurrency: settings.concurrency.value,
            thumbnails: args
                .report
                .as_deref()
                .is_some_and(|p| ReportFormat::for_path(p) == Ok(ReportFormat::Html)),
        };
        let run = import::run(inputs, &connection.client, &opts, &progress, started).await;
        connection.close().await;
        if args.dry_run {
            write!(crate::report::listing_output(args.report.as_deref()), "{}", run.plan_listing)?;
        }
        for warning in &run.warnings {
            eprintln!("warning: {warning}");
        }
        if let Some(path) = &args.report {
            run.report.write(path)?;
        }
        if !quiet {
            eprint!("{}", run.report.human_summary(args.verbosity.verbose));
        }
        if let Some(fatal) = &run.fatal {
            eprintln!("error: {}", fatal_message(fatal));
            return Ok(EXIT_FATAL);
        }
        Ok(if run.report.has_problems() { EXIT_PARTIAL } else { EXIT_OK })
    })
}

/// What a user must do about an error that stopped the run.
pub fn fatal_message(error: &import::Error) -> String {
    match error {
        import::Error::Api(ApiError::Privacy(refusal)) => format!(
            "the account owner has not granted this service access to their contacts ({}). Grant it here, then run again: {}",
            refusal.detail, refusal.url
        ),
        other => format!("stopped: {other}"),
    }
}
