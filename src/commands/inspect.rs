//! `orange-contacts inspect`: the import's reading and mapping, with no network.

use crate::cli::InspectArgs;
use crate::commands::settings::{self, Layer};
use crate::commands::{EXIT_OK, EXIT_PARTIAL};
use crate::import::inspect::inspect;
use crate::mapping::MappingOptions;
use crate::progress::{for_stderr, Phase};

pub fn run(args: InspectArgs) -> anyhow::Result<u8> {
    // The profile's region too: inspect maps exactly as import would.
    let settings = settings::resolve(&args.profile, Layer::default().with_mapping(&args.mapping), false)?;
    let mapping = MappingOptions { region: settings.region.value, ..MappingOptions::default() };
    let progress = for_stderr(args.verbosity.quiet, args.verbosity.stats);
    progress.start(Phase::Reading, None);
    let verbose = args.verbosity.verbose;
    let summary = inspect(&args.files, args.format, &mapping, args.report.as_deref(), |record| {
        progress.advance(1);
        if verbose || record.error.is_some() {
            let status = if record.error.is_some() { "invalid" } else { "ok" };
            progress.suspend(&mut || {
                eprintln!(
                    "{status:<8} {}  {}  {}",
                    record.source,
                    record.name,
                    record.error.as_deref().unwrap_or("")
                )
            });
        }
    })?;
    progress.finish();
    if !args.verbosity.quiet {
        eprint!("{}", summary.human());
    }
    Ok(if summary.invalid > 0 { EXIT_PARTIAL } else { EXIT_OK })
}
