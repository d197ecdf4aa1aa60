//! `orange-contacts check PATH...`: compares local vCards with the account without writing
//! (see [`crate::export::check`]). Prints the combined listing (`=`, `+`, `-`, `*`, `!`) on stdout
//! (on stderr when `--report -` takes stdout), then a summary line. Exit codes: 0 in sync, 3
//! differences (or errors, or an incomplete listing), 1 fatal.

use std::io::Write as _;

use crate::cli::CheckArgs;
use crate::commands::connect::{connect, target};
use crate::commands::settings::{self, Layer};
use crate::commands::UsageError;
use crate::commands::{runtime, unless_interrupted, EXIT_FATAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL};
use crate::export::check::{check, CheckOptions, Status};
use crate::progress::for_stderr;

pub fn run(args: CheckArgs) -> anyhow::Result<u8> {
    let quiet = args.verbosity.quiet;
    let flags = Layer::default().with_mapping(&args.mapping).with_connection(&args.connection);
    let settings = settings::resolve(&args.profile, flags, true)?;
    // No PATH: the backup the profile's export writes.
    let paths = match (&args.paths[..], &settings.export.path) {
        ([], Some(path)) => vec![path.value.clone()],
        ([], None) => {
            return Err(UsageError(
                "give the vCard files or folders to check (or `path` in the profile's export table)".into(),
            )
            .into())
        }
        (paths, _) => paths.to_vec(),
    };
    let opts = CheckOptions {
        paths,
        format: args.format,
        region: settings.region.value.clone(),
        concurrency: settings.concurrency.value.max(1),
        one_way: args.one_way,
        quick: args.quick,
    };
    let target = target(&settings)?;
    runtime()?.block_on(async {
        let connection = connect(target, &settings, quiet).await?;
        let progress = for_stderr(quiet, args.verbosity.stats);
        let outcome = unless_interrupted(check(&connection.client, &opts, &*progress)).await;
        drop(progress);
        let Some(result) = outcome else {
            connection.close().await;
            eprintln!("interrupted: the check stopped before comparing everything; no report written");
            return Ok(EXIT_INTERRUPTED);
        };
        let result = result.map_err(|e| connection.client.explain(&e));
        connection.close().await;
        let report = match result {
            Ok(r) => r,
            Err(why) => {
                eprintln!("error: check stopped: {why}");
                return Ok(EXIT_FATAL);
            }
        };
        if let Some(path) = &args.report {
            report.write(path)?;
        }
        let mut listing = crate::report::listing_output(args.report.as_deref());
        report.entries.for_each(|entry| {
            // -q: differences only.
            match quiet && entry.status == Status::Same {
                true => Ok(()),
                false => writeln!(listing, "{}", entry.line()),
            }
        })?;
        if !quiet {
            writeln!(listing, "{}", report.summary_line())?;
        }
        Ok(if report.in_sync() { EXIT_OK } else { EXIT_PARTIAL })
    })
}
