//! Where the API calls go: the endpoint and token resolved from flags, environment and profile
//! ([`super::settings`]), or, with neither, the embedded sandbox — an in-process sandbox server
//! over a SQLite file in the user's data directory, with a local user — so a first run needs no
//! account. A token (or service credentials) without an endpoint is a usage error, wherever each
//! came from: it means an endpoint setting was lost, and the sandbox would silently stand in for
//! the real account.
//!
//! Secrets are read here, once, at start-up ([`target`]): a token file's first line, or a token
//! command's first line of output. Neither is ever printed; a failing command's error says which
//! command failed and how, not what it printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::cli::values::{parse_service_auth, ServiceAuth};
use crate::client::{ApiClient, ClientConfig};
use crate::commands::settings::{Secret, Setting, Settings};
use crate::commands::UsageError;
use crate::sandbox::{self, SandboxConfig, SandboxHandle};
use crate::source::Source;

/// Calls per second when nothing says otherwise, for a real endpoint.
pub const DEFAULT_RATE: f64 = 10.0;
/// The embedded sandbox's user.
pub const EMBEDDED_USER: &str = "local";

/// Where a run's calls go, its secrets read.
pub enum Target {
    Remote { endpoint: String, token: String, service_auth: Option<ServiceAuth> },
    Embedded,
}

pub struct Connection {
    pub client: ApiClient,
    /// The account reached (for the run lock and the backup's source).
    pub source: Source,
    /// Kept alive for the run when the embedded sandbox serves it.
    pub embedded: Option<SandboxHandle>,
}

impl Connection {
    pub async fn close(self) {
        if let Some(handle) = self.embedded {
            handle.shutdown().await;
        }
    }
}

/// The embedded sandbox's folder: `$ORANGE_CONTACTS_DATA_DIR`, else the platform data directory.
pub fn data_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("ORANGE_CONTACTS_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|d| d.join("orange-contacts"))
        .context("no data directory: set ORANGE_CONTACTS_DATA_DIR or give --endpoint")
}

/// Where run locks live: `$ORANGE_CONTACTS_STATE_DIR`, else `$XDG_STATE_HOME/orange-contacts`
/// (`~/.local/state/orange-contacts`), else the platform's local data directory.
pub fn state_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("ORANGE_CONTACTS_STATE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("orange-contacts"))
        .context("no state directory for the run lock: set ORANGE_CONTACTS_STATE_DIR")
}

/// The endpoint, or `None` for the embedded sandbox; a token or service credentials with no
/// endpoint is a usage error naming where they came from.
pub fn endpoint(settings: &Settings) -> Result<Option<&Setting<String>>, UsageError> {
    if let Some(endpoint) = &settings.endpoint {
        return Ok(Some(endpoint));
    }
    let given = match (&settings.token, &settings.service_auth) {
        (Some(token), _) => format!("a token ({})", settings.describe(&token.origin)),
        (None, Some(auth)) => format!("service credentials ({})", settings.describe(&auth.origin)),
        (None, None) => return Ok(None),
    };
    Err(UsageError(format!(
        "{given} given without an endpoint: give --endpoint URL (or ORANGE_CONTACTS_ENDPOINT, or \
         `endpoint` in the profile) too. The embedded sandbox is used only when neither a token \
         nor an endpoint is given"
    )))
}

/// Where the run goes, with its token and service credentials read (a file, a command): called
/// at start-up, before any other work.
pub fn target(settings: &Settings) -> anyhow::Result<Target> {
    let Some(endpoint) = endpoint(settings)? else { return Ok(Target::Embedded) };
    let token = settings.token.as_ref().context(
        "no token: give --token-file FILE (or ORANGE_CONTACTS_TOKEN_FILE, ORANGE_CONTACTS_TOKEN, or \
         token_file or token_command in the profile) with the endpoint",
    )?;
    let token = match read_secret(settings, token, "token", |text| Ok(text.to_string()))?.trim() {
        "" => bail!("the token given with {} is empty", settings.describe(&token.origin)),
        text => text.to_string(),
    };
    let service_auth = match &settings.service_auth {
        Some(auth) => Some(read_secret(settings, auth, "service credentials", parse_service_auth)?),
        None => None,
    };
    Ok(Target::Remote { endpoint: endpoint.value.clone(), token, service_auth })
}

/// A secret's value: as given (checked by the flag's parser), or the first line of its file or of
/// its command's output, through `parse`. Errors name the source, never the value.
fn read_secret<T: Clone>(
    settings: &Settings,
    secret: &Setting<Secret<T>>,
    what: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> anyhow::Result<T> {
    let origin = settings.describe(&secret.origin);
    let (text, from) = match &secret.value {
        Secret::Given(value) => return Ok(value.clone()),
        Secret::File(path) => {
            (read_file(path, what)?, format!("the {what} file {} ({origin})", path.display()))
        }
        Secret::Command(argv) => {
            (run_command(argv, what, &origin)?, format!("the {what} command {argv:?} ({origin})"))
        }
    };
    match first_line(&text) {
        "" => bail!("{from} gave nothing: the {what} must be on its first line"),
        line => parse(line).map_err(|why| anyhow::anyhow!("{from}: {why}")),
    }
}

fn read_file(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read the {what} file {}", path.display()))
}

/// How long a secret's command may run before it is killed ([`SECRET_COMMAND_TIMEOUT_ENV`]
/// changes it): long enough to type a passphrase at a prompt, short enough that a cron run
/// whose password manager waits for one ends with an error instead of hanging forever.
const SECRET_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
const SECRET_COMMAND_TIMEOUT_ENV: &str = "ORANGE_CONTACTS_SECRET_COMMAND_TIMEOUT";

/// The command's standard output. It runs without a shell, with no standard input (it must not
/// eat an import's `-`) and the terminal's stderr (a password manager's own messages). A failure
/// says the command and its exit status, never its output; one still running after
/// [`SECRET_COMMAND_TIMEOUT`] is killed.
fn run_command(argv: &[String], what: &str, origin: &str) -> anyhow::Result<String> {
    let (program, args) = argv.split_first().context("empty command")?;
    let timeout = secret_command_timeout()?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run the {what} command {argv:?} ({origin})"))?;
    // The output is read on its own thread (a command filling the pipe would never exit), so
    // that this one can watch the clock.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let (sent, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = sent.send(std::io::Read::read_to_end(&mut stdout, &mut bytes).map(|_| bytes));
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the command")? {
            break status;
        }
        if Instant::now() >= deadline {
            // Only the command itself: it shares the terminal's process group, so that a prompt
            // it shows can still read the terminal.
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the {what} command {argv:?} ({origin}) did not finish within {} s and was stopped: \
                 does it wait for a passphrase or an unlocked session? Unlock it first, or give the \
                 {what} in a file ({SECRET_COMMAND_TIMEOUT_ENV} sets the time allowed)",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if !status.success() {
        bail!("the {what} command {argv:?} ({origin}) failed: {status} (its output is not shown)");
    }
    // A program the command left running may still hold the pipe: it is waited for until the
    // deadline (and a moment, for a command that ended just before it).
    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1));
    let stdout = match output.recv_timeout(left) {
        Ok(read) => read.with_context(|| format!("cannot read the output of the {what} command {argv:?}"))?,
        Err(_) => bail!(
            "the {what} command {argv:?} ({origin}) exited but a program it started kept its output open"
        ),
    };
    String::from_utf8(stdout)
        .map_err(|_| anyhow::anyhow!("the {what} command {argv:?} ({origin}) printed text that is not UTF-8"))
}

/// [`SECRET_COMMAND_TIMEOUT`], or the whole seconds of [`SECRET_COMMAND_TIMEOUT_ENV`].
fn secret_command_timeout() -> anyhow::Result<Duration> {
    match std::env::var(SECRET_COMMAND_TIMEOUT_ENV) {
        Err(_) => Ok(SECRET_COMMAND_TIMEOUT),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => bail!("{SECRET_COMMAND_TIMEOUT_ENV}={v:?} is not a whole number of seconds above 0"),
        },
    }
}

/// A secret's line: the first, trimmed, without a byte-order mark.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim().trim_start_matches('\u{feff}').trim()
}

/// The client configuration for `endpoint` and `token` from the resolved settings, whose values
/// the flags' parsers have already checked. `default_rate` applies when no layer gives a rate
/// (10/s for a remote endpoint, `None` for the embedded sandbox); a rate of 0 means unlimited.
pub fn client_config(
    settings: &Settings,
    endpoint: String,
    token: String,
    service_auth: Option<ServiceAuth>,
    default_rate: Option<f64>,
) -> ClientConfig {
    ClientConfig {
        endpoint,
        token,
        service_auth: service_auth.map(|auth| (auth.id, auth.password)),
        rate: settings.rate.as_ref().map(|r| r.value).or(default_rate).filter(|r| *r != 0.0),
        concurrency: settings.concurrency.value,
        timeout: settings.timeout.value,
        retries: settings.retries.value,
    }
}

pub async fn connect(target: Target, settings: &Settings, quiet: bool) -> anyhow::Result<Connection> {
    match target {
        Target::Remote { endpoint, token, service_auth } => {
            let source = Source::endpoint(&endpoint, &token);
            let config = client_config(settings, endpoint, token, service_auth, Some(DEFAULT_RATE));
            Ok(Connection { client: ApiClient::new(config)?, source, embedded: None })
        }
        Target::Embedded => {
            let dir = data_dir()?;
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let db = dir.join("sandbox.db");
            let token = sandbox::store::Store::open(&db)
                .and_then(|store| store.token_for(EMBEDDED_USER))
                .with_context(|| format!("cannot open the embedded sandbox {}", db.display()))?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let handle =
                sandbox::start(SandboxConfig { db: db.clone(), ..SandboxConfig::default() }, listener)
                    .await?;
            if !quiet {
                eprintln!(
                    "no --endpoint given: using the embedded sandbox {} (user '{EMBEDDED_USER}')",
                    db.display()
                );
            }
            let config = client_config(settings, handle.endpoint.clone(), token, None, None);
            let source = Source::embedded(&db, EMBEDDED_USER);
            Ok(Connection { client: ApiClient::new(config)?, source, embedded: Some(handle) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{ConnectionArgs, ProfileArgs};
    use crate::commands::settings::{self, Layer, Origin};

    fn settings(connection: ConnectionArgs) -> Settings {
        let none = ProfileArgs { config: Some("/dev/null".into()), profile: None };
        settings::resolve(&none, Layer::default().with_connection(&connection), false).unwrap()
    }

    #[test]
    fn a_secret_is_the_first_line_of_its_file_trimmed() {
        assert_eq!(first_line("\u{feff}  B64x+y/z=|ted=1 \r\nsecond line\n"), "B64x+y/z=|ted=1");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token.txt");
        let s = settings(ConnectionArgs::default());
        let secret = |path: &Path| Setting {
            value: Secret::File(path.to_path_buf()),
            origin: Origin::Flag("--token-file"),
        };
        std::fs::write(&file, "  B64x+y/z=|ted=1 \n").unwrap();
        let read = read_secret(&s, &secret(&file), "token", |t| Ok(t.to_string())).unwrap();
        assert_eq!(read, "B64x+y/z=|ted=1");
        std::fs::write(&file, "\n\nB64late\n").unwrap();
        let err = read_secret(&s, &secret(&file), "token", |t| Ok(t.to_string())).unwrap_err().to_string();
        assert!(err.contains("token.txt") && err.contains("first line") && !err.contains("B64late"), "{err}");
        let err = format!(
            "{:#}",
            read_secret(&s, &secret(&dir.path().join("nope")), "token", |t| Ok(t.to_string())).unwrap_err()
        );
        assert!(err.contains("nope"), "{err}");
        // Credentials from a file pass the flag's parser, which never quotes them.
        std::fs::write(&file, "no-colon-secret\n").unwrap();
        let auth = Setting { value: Secret::File(file.clone()), origin: Origin::Flag("--service-auth") };
        let err = read_secret(&s, &auth, "service credentials", parse_service_auth).unwrap_err().to_string();
        assert!(err.contains("SERVICE_ID:SERVICE_PWD") && !err.contains("no-colon-secret"), "{err}");
    }

    #[test]
    fn an_empty_given_token_is_refused() {
        let s = settings(ConnectionArgs {
            endpoint: Some("http://127.0.0.1:1/V1".into()),
            token: Some("  ".into()),
            ..ConnectionArgs::default()
        });
        let err = target(&s).err().unwrap().to_string();
        assert!(err.contains("--token") && err.contains("empty"), "{err}");
    }

    #[test]
    fn client_config_rates() {
        let mut args = ConnectionArgs {
            service_auth: Some(parse_service_auth("SVC:pa:ss").unwrap()),
            ..Default::default()
        };
        let config = |args: &ConnectionArgs, default| {
            let s = settings(args.clone());
            let auth = s.service_auth.as_ref().map(|a| match &a.value {
                Secret::Given(auth) => auth.clone(),
                _ => unreachable!(),
            });
            client_config(&s, "e".into(), "t".into(), auth, default)
        };
        let c = config(&args, Some(10.0));
        assert_eq!(c.service_auth, Some(("SVC".into(), "pa:ss".into())));
        assert_eq!((c.rate, c.concurrency, c.retries), (Some(10.0), 4, 5));
        assert_eq!(c.timeout, std::time::Duration::from_secs(30));
        args.rate = Some(0.0);
        assert_eq!(config(&args, Some(10.0)).rate, None, "0 = unlimited");
        args.rate = None;
        assert_eq!(config(&args, None).rate, None);
        args.rate = Some(2.0);
        assert_eq!(config(&args, Some(10.0)).rate, Some(2.0));
    }
}
