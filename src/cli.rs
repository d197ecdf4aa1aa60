//! Command-line surface: clap structures only (validated values, no I/O). Names here are a
//! contract that external checks script; keep them stable.

pub mod help;
pub mod values;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::export::Layout;
use crate::formats::vcard_write::VcardVersion;
use crate::formats::Format;
use crate::import::plan::OnDuplicate;
use values::{
    parse_concurrency, parse_endpoint, parse_max_delete_percent, parse_probability, parse_rate, parse_region,
    parse_report_path, parse_service_auth, parse_stats_interval, parse_timeout, parse_whole,
    secret_value_parser, ServiceAuth,
};

/// `--version`: the crate's version and the commit it was built from (`unknown` outside a git
/// checkout, see `build.rs`).
pub const VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ORANGE_CONTACTS_COMMIT"), ")");

#[derive(Debug, Parser)]
#[command(
    name = "orange-contacts",
    version = VERSION,
    about = "Move address books in and out of the Orange Personal Contacts API",
    after_long_help = help::MAIN
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import vCard/CSV files into the account (deduplicated, rate-limited, with a reconcile report).
    #[command(after_long_help = help::IMPORT)]
    Import(ImportArgs),
    /// Read and map files exactly as `import` would, with no network.
    #[command(after_long_help = help::INSPECT)]
    Inspect(InspectArgs),
    /// Export the whole account to a .vcf file or a vdir folder (one .vcf per contact).
    #[command(after_long_help = help::EXPORT)]
    Export(ExportArgs),
    /// Compare local vCards with the account without writing anything.
    #[command(after_long_help = help::CHECK)]
    Check(CheckArgs),
    /// Run the Personal Contacts API sandbox server.
    #[command(after_long_help = help::SERVE)]
    Serve(ServeArgs),
    /// Administer a sandbox database (tokens, seeding, consent).
    #[command(after_long_help = help::SANDBOX)]
    Sandbox(SandboxArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_long_help = help::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print a man page (roff): the tool's, or a command's.
    #[command(after_long_help = help::MAN)]
    Man(ManArgs),
    /// Show the settings a command would use, and where each comes from (secrets never shown).
    #[command(after_long_help = help::CONFIG)]
    Config(ConfigArgs),
}

/// Which configuration file and profile give the settings the command line and the environment
/// do not (see `docs/config.md`). Their variables are read with the connection's, in
/// `commands::settings`.
#[derive(Debug, Clone, Default, Args)]
pub struct ProfileArgs {
    /// The configuration file [env: ORANGE_CONTACTS_CONFIG] [default:
    /// $XDG_CONFIG_HOME/orange-contacts/config.toml, i.e. ~/.config/orange-contacts/config.toml,
    /// if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The profile of the configuration file to use, [profile.NAME] [env: ORANGE_CONTACTS_PROFILE]
    /// [default: `default`, if the file has it].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// How records are mapped to the API.
#[derive(Debug, Clone, Default, Args)]
pub struct MappingArgs {
    /// Region for phone numbers written without a country code (ISO 3166 alpha-2 code, e.g. FR, BE)
    /// [default: the profile's `region`, else FR].
    #[arg(long, value_name = "CC", value_parser = parse_region)]
    pub region: Option<String>,
}

/// How to reach the API. Each setting comes from its flag, else its environment variable, else
/// the profile, else its default (the environment is read in `commands::settings`, so that each
/// value's origin is known). With neither an endpoint nor a token, commands use the embedded
/// sandbox; a token (or service credentials) without an endpoint is a usage error.
#[derive(Clone, Default, Args)]
pub struct ConnectionArgs {
    /// The PersonalContactsV1URL, e.g. http://127.0.0.1:8080/PersonalContacts/V1 (http:// or
    /// https://) [env: ORANGE_CONTACTS_ENDPOINT; else the profile's `endpoint`]. With none, the
    /// embedded sandbox in $ORANGE_CONTACTS_DATA_DIR is used.
    #[arg(long, value_name = "URL", value_parser = secret_value_parser(parse_endpoint))]
    pub endpoint: Option<String>,
    /// The user token [env: ORANGE_CONTACTS_TOKEN] (prefer a token file or the profile's
    /// `token_command`: a command line is visible to others).
    #[arg(long, conflicts_with = "token_file", value_name = "TOKEN")]
    pub token: Option<String>,
    /// Read the user token from this file (first line) [env: ORANGE_CONTACTS_TOKEN_FILE; else the
    /// profile's `token_file` or `token_command`].
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// HTTP Basic service credentials SERVICE_ID:SERVICE_PWD, if the endpoint requires them [env:
    /// ORANGE_CONTACTS_SERVICE_AUTH; else the profile's `service_auth_file` or
    /// `service_auth_command`].
    #[arg(long, value_name = "ID:PASSWORD", value_parser = secret_value_parser(parse_service_auth))]
    pub service_auth: Option<ServiceAuth>,
    /// Maximum API calls per second, all calls together; 0 = unlimited [default: the profile's
    /// `rate`, else 10; unlimited on the embedded sandbox].
    #[arg(long, value_name = "PER_SECOND", value_parser = parse_rate, allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Maximum calls in flight at once (1 to 1024) [default: the profile's `concurrency`, else 4].
    #[arg(long, value_name = "N", value_parser = parse_concurrency, allow_negative_numbers = true)]
    pub concurrency: Option<usize>,
    /// Per-call timeout in seconds (decimals allowed, at most a day) [default: the profile's
    /// `timeout`, else 30].
    #[arg(long, value_name = "SECONDS", value_parser = parse_timeout, allow_negative_numbers = true)]
    pub timeout: Option<Duration>,
    /// Retries of a failed read (and of a write refused before it was applied) [default: the
    /// profile's `retries`, else 5].
    #[arg(long, value_name = "N", value_parser = parse_whole::<u32>)]
    pub retries: Option<u32>,
}

/// Secrets stay out of `{:?}`: a debug print of the arguments must not leak the token.
impl std::fmt::Debug for ConnectionArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |present: bool| if present { Some("[REDACTED]") } else { None };
        f.debug_struct("ConnectionArgs")
            .field("endpoint", &self.endpoint.as_deref().map(crate::client::redact))
            .field("token", &hidden(self.token.is_some()))
            .field("token_file", &self.token_file)
            .field("service_auth", &hidden(self.service_auth.is_some()))
            .field("rate", &self.rate)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, Args)]
pub struct Verbosity {
    /// No progress bar and no summary, errors only.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more (each record's outcome).
    #[arg(short, long)]
    pub verbose: bool,
    /// When stderr is not a terminal (cron, a pipe), print a progress line this often (`30s`,
    /// `1m`, `0` for never); a terminal gets a progress bar instead, `-q` neither.
    #[arg(long, value_name = "INTERVAL", default_value = "1m", value_parser = parse_stats_interval)]
    pub stats: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// vCard or CSV files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The files' format; `auto` tells vCard from CSV by their content.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// What to do with a record that matches a contact of the account (same name, or a shared
    /// phone or email).
    #[arg(long, value_enum, default_value_t = OnDuplicate::Merge)]
    pub on_duplicate: OnDuplicate,
    /// Print the plan (creates, merges, skips, invalid, calls) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the reconcile report here, in the format its extension names: .json, .html (a page
    /// with filters and photo thumbnails) or .csv (one row per record); `-`: JSON on standard
    /// output.
    #[arg(long, value_name = "PATH", value_parser = parse_report_path)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// vCard or CSV files; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The files' format; `auto` tells vCard from CSV by their content.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Write the inspection report here, in the format its extension names: .json (streamed as
    /// the records are read), .html or .csv (one row per record); `-`: JSON on standard output.
    #[arg(long, value_name = "PATH", value_parser = parse_report_path)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// A path ending in .vcf (one file), `-` (one file to standard output) or a folder (vdir)
    /// [default: the profile's export `path`].
    #[arg(value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// One file or a vdir [default: the profile's export `layout`, else a file when PATH ends in
    /// .vcf or is `-`, else a vdir].
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,
    /// The vCard version written [default: the profile's export `vcard`, else 3.0].
    #[arg(long = "vcard", value_enum)]
    pub version: Option<VcardVersion>,
    /// Leave photos out of the cards (no getpicture calls) [default: the profile's export
    /// `photos`, else photos are written].
    #[arg(long)]
    pub no_photos: bool,
    /// Delete at most this many cards of contacts that disappeared (vdir files or cards of the
    /// single file); beyond it the whole update is refused and nothing is written [default: the
    /// profile's export `max_delete`, else 50].
    #[arg(long, value_name = "N", value_parser = parse_whole::<usize>)]
    pub max_delete: Option<usize>,
    /// Delete at most this share (0-100) of the backup's cards in one run; beyond it the whole
    /// update is refused (most of a backup vanishing usually means the wrong account); 100 turns
    /// this check off [default: the profile's export `max_delete_percent`, else 50].
    #[arg(long, value_name = "P", value_parser = parse_max_delete_percent)]
    pub max_delete_percent: Option<u8>,
    /// Write over a backup of another source (another endpoint, account or token, or the embedded
    /// sandbox); the backup then records this run's source.
    #[arg(long)]
    pub allow_other_source: bool,
    /// Write PATH even if orange-contacts did not write what is there: a single file (a phone's
    /// export, say) is replaced; a folder gets this tool's cards beside its other files.
    #[arg(long)]
    pub force: bool,
    /// List the account with about 1,100 searches instead of 22,100: CJK ideographs only as the
    /// initials of names already in the backup. A new contact whose name starts with another CJK
    /// ideograph is missed until a run without --quick.
    #[arg(long)]
    pub quick: bool,
    /// Do everything but write: list, read and decide as a real run, then print what would be
    /// written, left unchanged and deleted (and what a deletion guard would refuse); PATH is not
    /// touched and no lock is taken.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the export report here, in the format its extension names: .json, .html or .csv (one
    /// row per contact); `-`: JSON on standard output [default: the profile's export `report`].
    #[arg(long, value_name = "PATH", value_parser = parse_report_path)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// vCard files or vdir folders [default: the profile's export `path`].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The files' format; `auto` tells vCard from CSV by their content.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Write the check report here, in the format its extension names: .json, .html or .csv (one
    /// row per card or contact); `-`: JSON on standard output (the listing then goes to stderr).
    #[arg(long, value_name = "PATH", value_parser = parse_report_path)]
    pub report: Option<PathBuf>,
    /// Only local → account: is every local card in the account? Account contacts absent
    /// locally are not listed as `-` (the check after importing a phone's export).
    #[arg(long)]
    pub one_way: bool,
    /// List the account with about 1,100 searches instead of 22,100, as `export --quick`: CJK
    /// ideographs only as the initials of the local cards' names (an account contact whose name
    /// starts with another CJK ideograph is not seen).
    #[arg(long)]
    pub quick: bool,
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// SQLite database file (created if missing).
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// HOST:PORT to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub listen: String,
    /// Cap the entries of one findcontactlist response, at least 1 (total-data still tells the truth).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
    /// Ignore the `page` request parameter (always answer page 1), as a server without paging.
    #[arg(long)]
    pub no_paging: bool,
    /// Answer HTTP 429 beyond this many requests per second, at least 1 (GCRA, burst = rate).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_rps: Option<u32>,
    /// Probability of an injected fault per request, 0 to 1 (refusal, lost response, HTTP 500).
    #[arg(
        long,
        default_value = "0",
        value_name = "P",
        value_parser = parse_probability,
        allow_negative_numbers = true
    )]
    pub fail_rate: f64,
    /// Probability that a getcontact of an existing contact answers error 100 (data not found)
    /// anyway: a server whose listing and reads disagree.
    #[arg(
        long,
        default_value_t = 0.0,
        value_name = "P",
        value_parser = parse_probability,
        allow_negative_numbers = true
    )]
    pub not_found_rate: f64,
    /// Delay every response by this many milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// Require HTTP Basic service credentials ID:PASSWORD.
    #[arg(long, value_name = "ID:PASSWORD", value_parser = secret_value_parser(parse_service_auth))]
    pub service_auth: Option<ServiceAuth>,
    /// Largest accepted picture, in bytes.
    #[arg(long, default_value_t = 1024 * 1024, value_name = "BYTES")]
    pub max_picture_bytes: usize,
    /// Seed for the fault injector's random choices (reproducible runs).
    #[arg(long, value_name = "N")]
    pub fault_seed: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub command: SandboxCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SandboxCommand {
    /// Create the user if needed and print a token (last line of stdout).
    #[command(after_long_help = help::SANDBOX)]
    Token(SandboxUserArgs),
    /// Write contacts from a vCard file straight into the store (addresses, marital status too).
    #[command(after_long_help = help::SANDBOX)]
    Seed {
        #[command(flatten)]
        user: SandboxUserArgs,
        /// The vCard file whose cards become the user's contacts.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// The user has not granted this service access: every call answers the privacy refusal.
    #[command(after_long_help = help::SANDBOX)]
    Deny(SandboxUserArgs),
    /// Undo `deny`.
    #[command(after_long_help = help::SANDBOX)]
    Allow(SandboxUserArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SandboxUserArgs {
    /// The sandbox's SQLite database file (created if missing), as given to `serve --db`.
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// The sandbox user (any name; created on first use).
    #[arg(long, value_name = "NAME")]
    pub user: String,
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Print the resolved settings, each with where it comes from (flag, environment, profile or
    /// default), without connecting, reading a token or running a command; secrets are never shown.
    #[command(after_long_help = help::CONFIG)]
    Show(ConfigShowArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ConfigShowArgs {
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// The command whose page to print, as the tool's page names it (`import`, `sandbox-token`)
    /// [default: the tool's own page].
    #[arg(value_name = "COMMAND", value_parser = parse_page_name)]
    pub command: Option<String>,
}

/// Every command with a man page, by the page's name without the tool's (`orange-contacts-import`
/// is `import`, `orange-contacts-sandbox-token` is `sandbox-token`), in the built command tree
/// (bin names set, no `help` command).
pub fn man_pages() -> Vec<(String, clap::Command)> {
    use clap::CommandFactory as _;
    fn walk(cmd: &clap::Command, pages: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands() {
            let page = sub.get_display_name().unwrap_or(sub.get_name());
            let name = page.strip_prefix("orange-contacts-").unwrap_or(page);
            pages.push((name.to_string(), sub.clone()));
            walk(sub, pages);
        }
    }
    let mut cli = Cli::command().disable_help_subcommand(true);
    cli.build();
    let mut pages = Vec::new();
    walk(&cli, &mut pages);
    pages
}

fn parse_page_name(s: &str) -> Result<String, String> {
    let pages = man_pages();
    match pages.iter().any(|(name, _)| name == s) {
        true => Ok(s.to_string()),
        false => {
            let names: Vec<&str> = pages.iter().map(|(name, _)| name.as_str()).collect();
            Err(format!("is not a command (one of: {})", names.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_the_arguments_never_shows_secrets() {
        let cli = Cli::parse_from([
            "orange-contacts",
            "import",
            "--token",
            "B64tok+en/=|ted=1",
            "--service-auth",
            "SVC:pass+word",
            "x.vcf",
        ]);
        let shown = format!("{cli:?}");
        assert!(!shown.contains("tok+en") && !shown.contains("pass+word"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }
}
