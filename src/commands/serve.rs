//! `orange-contacts serve`: runs the API sandbox until SIGTERM or Ctrl-C.
//!
//! The first stdout line is exactly the endpoint URL (`http://127.0.0.1:PORT/PersonalContacts/V1`,
//! flushed at once), so scripts and tests can start the server on port 0 and read where it went;
//! everything else goes to stderr.

use std::io::Write as _;
use std::time::Duration;

use anyhow::Context as _;

use crate::cli::ServeArgs;
use crate::commands::EXIT_OK;
use crate::sandbox::{self, SandboxConfig};

pub fn run(args: ServeArgs) -> anyhow::Result<u8> {
    let config = SandboxConfig {
        db: args.db,
        page_size: args.page_size,
        paging: !args.no_paging,
        max_rps: args.max_rps,
        fail_rate: args.fail_rate,
        not_found_rate: args.not_found_rate,
        latency: Duration::from_millis(args.latency_ms),
        service_auth: args.service_auth.map(|auth| (auth.id, auth.password)),
        max_picture_bytes: args.max_picture_bytes,
        fault_seed: args.fault_seed,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let handle = sandbox::start(config, listener).await?;
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", handle.endpoint)?;
            out.flush()?;
        }
        // Not `eprintln!`, which panics when stderr is closed.
        let _ = writeln!(
            std::io::stderr(),
            "orange-contacts sandbox listening on {} (SIGTERM or Ctrl-C stops it)",
            handle.endpoint
        );
        wait_for_stop_signal().await;
        handle.shutdown().await;
        Ok(EXIT_OK)
    })
}

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
