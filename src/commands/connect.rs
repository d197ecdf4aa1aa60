//! Where the API calls go: the endpoint and token given (flags, environment, token file), or,
//! with no endpoint, the embedded sandbox — an in-process sandbox server over a SQLite file in the
//! user's data directory, with a local user — so a first run needs no account.

use std::path::PathBuf;

use anyhow::Context;

use crate::cli::ConnectionArgs;
use crate::client::config::{client_config_from_args, resolve_token};
use crate::client::ApiClient;
use crate::sandbox::{self, SandboxConfig, SandboxHandle};

/// Calls per second when nothing says otherwise, for a real endpoint.
pub const DEFAULT_RATE: f64 = 10.0;
/// The embedded sandbox's user.
pub const EMBEDDED_USER: &str = "local";

pub struct Connection {
    pub client: ApiClient,
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

pub async fn connect(args: &ConnectionArgs, quiet: bool) -> anyhow::Result<Connection> {
    match &args.endpoint {
        Some(endpoint) => {
            let token = resolve_token(args.token.clone(), args.token_file.clone())?
                .context("no token: give --token-file FILE (or ORANGE_CONTACTS_TOKEN) with --endpoint")?;
            let config = client_config_from_args(args, endpoint.clone(), token, Some(DEFAULT_RATE));
            Ok(Connection { client: ApiClient::new(config)?, embedded: None })
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
            Ok(Connection { client: ApiClient::new(config)?, embedded: Some(handle) })
        }
    }
}
