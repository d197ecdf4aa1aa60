//! Command-line surface: clap structures only (validated values, no I/O). Names here are a
//! contract that external checks script; keep them stable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::export::Layout;
use crate::formats::vcard_write::VcardVersion;
use crate::formats::Format;
use crate::import::plan::OnDuplicate;

#[derive(Debug, Parser)]
#[command(
    name = "orange-contacts",
    version,
    about = "Move address books in and out of the Orange Personal Contacts API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import vCard/CSV files into the account (deduplicated, rate-limited, with a reconcile report).
    Import(ImportArgs),
    /// Read and map files exactly as `import` would, with no network.
    Inspect(InspectArgs),
    /// Export the whole account to a .vcf file or a vdir folder (one .vcf per contact).
    Export(ExportArgs),
    /// Compare local vCards with the account without writing anything.
    Check(CheckArgs),
    /// Run the Personal Contacts API sandbox server.
    Serve(ServeArgs),
    /// Administer a sandbox database (tokens, seeding, consent).
    Sandbox(SandboxArgs),
}

/// How to reach the API. With neither an endpoint nor a token, commands use the embedded sandbox;
/// a token (or service credentials) without an endpoint is a usage error.
#[derive(Clone, Args)]
pub struct ConnectionArgs {
    /// The PersonalContactsV1URL, e.g. http://127.0.0.1:8080/PersonalContacts/V1.
    #[arg(long, env = "ORANGE_CONTACTS_ENDPOINT")]
    pub endpoint: Option<String>,
    /// The user token (prefer --token-file or the environment: a command line is visible to others).
    #[arg(long, env = "ORANGE_CONTACTS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the user token from this file (first line).
    #[arg(long, conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// HTTP Basic service credentials SERVICE_ID:SERVICE_PWD, if the endpoint requires them.
    #[arg(long, env = "ORANGE_CONTACTS_SERVICE_AUTH", hide_env_values = true)]
    pub service_auth: Option<String>,
    /// Maximum API calls per second, all calls together [default: 10; unlimited on the embedded sandbox].
    #[arg(long)]
    pub rate: Option<f64>,
    /// Maximum calls in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Per-call timeout in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Retries of a failed read (and of a write refused before it was applied).
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
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

#[derive(Debug, Clone, Copy, Default, Args)]
pub struct Verbosity {
    /// No progress bar and no summary, errors only.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more (each record's outcome).
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// vCard or CSV files; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    #[arg(long, value_enum, default_value_t = OnDuplicate::Merge)]
    pub on_duplicate: OnDuplicate,
    /// Print the plan (creates, merges, skips, invalid, calls) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the reconcile report (JSON) here (`-`: standard output).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Region for phone numbers written without a country code (ISO 3166 code).
    #[arg(long, default_value = "FR")]
    pub region: String,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Write the inspection report (JSON) here (`-`: standard output).
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[arg(long, default_value = "FR")]
    pub region: String,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// A path ending in .vcf (one file), `-` (one file to standard output) or a folder (vdir).
    pub path: PathBuf,
    #[arg(long, value_enum)]
    pub layout: Option<Layout>,
    #[arg(long = "vcard", value_enum, default_value_t = VcardVersion::V3)]
    pub version: VcardVersion,
    #[arg(long)]
    pub no_photos: bool,
    /// Delete at most this many cards of contacts that disappeared (vdir files or cards of the
    /// single file); beyond it the whole update is refused and nothing is written.
    #[arg(long, default_value_t = 50)]
    pub max_delete: usize,
    /// Delete at most this share (0-100) of the backup's cards in one run; beyond it the whole
    /// update is refused (most of a backup vanishing usually means the wrong account); 100 turns
    /// this check off.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_delete_percent: u8,
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
    /// Write the export report (JSON) here (`-`: standard output).
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// vCard files or vdir folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    pub format: Format,
    /// Write the check report (JSON) here (`-`: standard output; the listing then goes to stderr).
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[arg(long, default_value = "FR")]
    pub region: String,
    #[command(flatten)]
    pub connection: ConnectionArgs,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// SQLite database file (created if missing).
    #[arg(long)]
    pub db: PathBuf,
    /// HOST:PORT to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Cap the entries of one findcontactlist response (total-data still tells the truth).
    #[arg(long)]
    pub page_size: Option<u32>,
    /// Ignore the `page` request parameter (always answer page 1), as a server without paging.
    #[arg(long)]
    pub no_paging: bool,
    /// Answer HTTP 429 beyond this many requests per second (GCRA, burst = rate).
    #[arg(long)]
    pub max_rps: Option<u32>,
    /// Probability of an injected fault per request (refusal, lost response, HTTP 500).
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Probability that a getcontact of an existing contact answers error 100 (data not found)
    /// anyway: a server whose listing and reads disagree.
    #[arg(long, default_value_t = 0.0)]
    pub not_found_rate: f64,
    /// Delay every response by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Require HTTP Basic service credentials ID:PASSWORD.
    #[arg(long)]
    pub service_auth: Option<String>,
    /// Largest accepted picture, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_picture_bytes: usize,
    /// Seed for the fault injector's random choices (reproducible runs).
    #[arg(long)]
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
    Token(SandboxUserArgs),
    /// Write contacts from a vCard file straight into the store (addresses, marital status too).
    Seed {
        #[command(flatten)]
        user: SandboxUserArgs,
        file: PathBuf,
    },
    /// The user has not granted this service access: every call answers the privacy refusal.
    Deny(SandboxUserArgs),
    /// Undo `deny`.
    Allow(SandboxUserArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SandboxUserArgs {
    #[arg(long)]
    pub db: PathBuf,
    #[arg(long)]
    pub user: String,
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
