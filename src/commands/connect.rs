//! Where the API calls go: the endpoint and token given (flags, environment, token file), or,
//! with neither, the embedded sandbox — an in-process sandbox server over a SQLite file in the
//! user's data directory, with a local user — so a first run needs no account. A token (or service
//! credentials) without an endpoint is a usage error: it means an endpoint setting was lost, and
//! the sandbox would silently stand in for the real account.

use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::cli::ConnectionArgs;
use crate::client::{ApiClient, ClientConfig};
use crate::commands::UsageError;
use crate::sandbox::{self, SandboxConfig, SandboxHandle};
use crate::source::Source;

/// Calls per second when nothing says otherwise, for a real endpoint.
pub const DEFAULT_RATE: f64 = 10.0;
/// The embedded sandbox's user.
pub const EMBEDDED_USER: &str = "local";

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

/// A token or service credentials given with no endpoint.
fn credentials_without_endpoint(args: &ConnectionArgs) -> Option<&'static str> {
    if args.endpoint.is_some() {
        return None;
    }
    if args.token_file.is_some() {
        Some("--token-file")
    } else if args.token.is_some() {
        Some("a token (--token or ORANGE_CONTACTS_TOKEN)")
    } else if args.service_auth.is_some() {
        Some("service credentials (--service-auth or ORANGE_CONTACTS_SERVICE_AUTH)")
    } else {
        None
    }
}

pub async fn connect(args: &ConnectionArgs, quiet: bool) -> anyhow::Result<Connection> {
    if let Some(given) = credentials_without_endpoint(args) {
        return Err(UsageError(format!(
            "{given} given without an endpoint: give --endpoint URL (or ORANGE_CONTACTS_ENDPOINT) too. \
             The embedded sandbox is used only when neither a token nor an endpoint is given"
        ))
        .into());
    }
    match &args.endpoint {
        Some(endpoint) => {
            let token = resolve_token(args.token.clone(), args.token_file.clone())?
                .context("no token: give --token-file FILE (or ORANGE_CONTACTS_TOKEN) with --endpoint")?;
            let source = Source::endpoint(endpoint, &token);
            let config = client_config_from_args(args, endpoint.clone(), token, Some(DEFAULT_RATE));
            Ok(Connection { client: ApiClient::new(config)?, source, embedded: None })
        }
        None => {
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
            let config = client_config_from_args(args, handle.endpoint.clone(), token, None);
            let source = Source::embedded(&db, EMBEDDED_USER);
            Ok(Connection { client: ApiClient::new(config)?, source, embedded: Some(handle) })
        }
    }
}

/// The user token: `token` if given (trimmed), else the first line of `token_file` (trimmed),
/// else `None`. An empty token, or an unreadable or empty file, is an error naming its source.
pub fn resolve_token(token: Option<String>, token_file: Option<PathBuf>) -> anyhow::Result<Option<String>> {
    if let Some(token) = token {
        let token = token.trim().to_string();
        if token.is_empty() {
            bail!("the token given with --token (or ORANGE_CONTACTS_TOKEN) is empty");
        }
        return Ok(Some(token));
    }
    let Some(path) = token_file else { return Ok(None) };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    let first = text.lines().next().unwrap_or("").trim().trim_start_matches('\u{feff}').trim();
    if first.is_empty() {
        bail!("the token file {} is empty (the token must be on its first line)", path.display());
    }
    Ok(Some(first.to_string()))
}

/// The client configuration for `endpoint` and `token` from the connection arguments, whose
/// values clap has already checked (`cli::values`). `default_rate` applies when `--rate` is absent
/// (the caller's default: 10/s for a remote endpoint, `None` for the embedded sandbox).
/// `--rate 0` means unlimited.
pub fn client_config_from_args(
    args: &ConnectionArgs,
    endpoint: String,
    token: String,
    default_rate: Option<f64>,
) -> ClientConfig {
    ClientConfig {
        endpoint,
        token,
        service_auth: args.service_auth.clone().map(|auth| (auth.id, auth.password)),
        rate: args.rate.or(default_rate).filter(|r| *r != 0.0),
        concurrency: args.concurrency,
        timeout: args.timeout,
        retries: args.retries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::cli::values::ServiceAuth;

    fn args() -> ConnectionArgs {
        ConnectionArgs {
            endpoint: None,
            token: None,
            token_file: None,
            service_auth: None,
            rate: None,
            concurrency: 4,
            timeout: Duration::from_secs(30),
            retries: 5,
        }
    }

    #[test]
    fn token_from_flag_file_or_nothing() {
        assert_eq!(resolve_token(Some(" abc+/=|x \n".into()), None).unwrap().as_deref(), Some("abc+/=|x"));
        assert!(resolve_token(Some("  ".into()), None).is_err());
        assert_eq!(resolve_token(None, None).unwrap(), None);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token.txt");
        std::fs::write(&file, "\u{feff}  B64x+y/z=|ted=1 \r\nsecond line\n").unwrap();
        assert_eq!(resolve_token(None, Some(file.clone())).unwrap().as_deref(), Some("B64x+y/z=|ted=1"));
        std::fs::write(&file, "\n\n").unwrap();
        let err = resolve_token(None, Some(file.clone())).unwrap_err().to_string();
        assert!(err.contains("token.txt") && err.contains("empty"), "{err}");
        let missing = dir.path().join("nope.txt");
        let err = format!("{:#}", resolve_token(None, Some(missing)).unwrap_err());
        assert!(err.contains("nope.txt"), "{err}");
    }

    #[test]
    fn config_from_args() {
        let mut a = args();
        a.service_auth = Some(ServiceAuth { id: "SVC".into(), password: "pa:ss".into() });
        a.timeout = Duration::from_millis(2500);
        let c = client_config_from_args(&a, "http://h/V1".into(), "t".into(), Some(10.0));
        assert_eq!(c.service_auth, Some(("SVC".into(), "pa:ss".into())));
        assert_eq!(c.rate, Some(10.0));
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!((c.concurrency, c.retries), (4, 5));

        a.rate = Some(0.0);
        assert_eq!(
            client_config_from_args(&a, "e".into(), "t".into(), Some(10.0)).rate,
            None,
            "0 = unlimited"
        );
        a.rate = None;
        assert_eq!(client_config_from_args(&a, "e".into(), "t".into(), None).rate, None);
        a.rate = Some(2.0);
        assert_eq!(client_config_from_args(&a, "e".into(), "t".into(), Some(10.0)).rate, Some(2.0));
    }
}
