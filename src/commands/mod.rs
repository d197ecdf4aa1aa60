//! One thin function per subcommand: arguments in, a shared operation called, an exit code out.
//!
//! Exit codes: 0 success; 1 fatal (endpoint unreachable or broken, token refused, privacy refusal, bad
//! file, another run on the account, export guard); 2 usage (clap, whose value parsers in
//! `cli::values` check every value before any work, whichever layer gave it — flag, environment
//! or profile, see `settings` — or a token without an endpoint); 3 partial
//! (records invalid or failed, or `check` found differences); 130 interrupted (Ctrl-C: the run
//! stopped cleanly, see [`on_ctrl_c`]). A closed standard output (`| head`) is 0, quietly.

pub mod check;
pub mod completions;
pub mod config;
pub mod connect;
pub mod export;
pub mod import;
pub mod inspect;
pub mod man;
pub mod sandbox;
pub mod serve;
pub mod settings;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub const EXIT_OK: u8 = 0;
pub const EXIT_FATAL: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_PARTIAL: u8 = 3;
/// 128 + SIGINT, as a shell reports a process Ctrl-C ended.
pub const EXIT_INTERRUPTED: u8 = 130;

pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Import(args) => import::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Export(args) => export::run(args),
        Command::Check(args) => check::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
        Command::Config(args) => config::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // A reader that has seen enough (`| head`): not a failure, nothing to say (as ripgrep).
        Err(e) if is_broken_pipe(&e) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("error: {}", crate::client::redact(&format!("{e:#}")));
            ExitCode::from(if e.is::<UsageError>() { EXIT_USAGE } else { EXIT_FATAL })
        }
    }
}

/// Arguments that parse but do not make sense together: exit code 2, as clap's own errors.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Whether `error` comes from writing to a pipe whose reader has gone (EPIPE): Rust ignores
/// SIGPIPE, so such a write fails rather than ending the process. The write's error may be an
/// `io::Error` or one serde_json wrapped while writing a report.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == BrokenPipe)
            || e.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind)
                == Some(BrokenPipe)
    })
}

/// The runtime every network command runs on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Runs `work` on a new [`runtime`] as a task of its worker pool (`tokio::spawn`), not on the
/// calling thread (`block_on`): a future run by `block_on` is polled on the main thread, which
/// every answer from the pool's connection tasks must wake: a thread switch per wake-up, 1.6 more
/// context switches and about 20 µs more CPU per API call for an import (docs/benchmarks.md).
/// A panic in `work` goes on as the caller's.
pub fn on_workers<T: Send + 'static>(
    work: impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    runtime()?.block_on(async {
        match tokio::spawn(work).await {
            Ok(out) => out,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(e.into()),
        }
    })
}

/// Runs `work` to its end, or until Ctrl-C (then `None`: `work` is dropped where it stands). For
/// runs whose every write is atomic (export, check), so stopping at any await leaves each file
/// either as it was or whole.
pub async fn unless_interrupted<T>(work: impl std::future::Future<Output = T>) -> Option<T> {
    let interrupt = on_ctrl_c();
    tokio::select! {
        out = work => Some(out),
        () = interrupt.requested() => None,
    }
}

/// A stop request made by the first Ctrl-C (SIGINT) from now on: the run finishes what is in
/// flight and reports the rest as not attempted. A second Ctrl-C ends the process at once, with
/// [`EXIT_INTERRUPTED`] too. Needs the runtime.
pub fn on_ctrl_c() -> crate::interrupt::Interrupt {
    let interrupt = crate::interrupt::Interrupt::default();
    let requested = interrupt.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        requested.request();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    interrupt
}
