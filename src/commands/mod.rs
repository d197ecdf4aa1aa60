//! One thin function per subcommand: parse-level arguments in, a shared operation called, an
//! exit code out. Exit codes: 0 success, 1 fatal, 2 usage, 3 partial (records invalid or failed,
//! or differences found by `check`).

pub mod sandbox;
pub mod serve;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub const EXIT_OK: u8 = 0;
pub const EXIT_FATAL: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_PARTIAL: u8 = 3;

pub fn run(cli: Cli) -> ExitCode {
    let result: anyhow::Result<u8> = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Import(_) | Command::Inspect(_) | Command::Export(_) | Command::Check(_) => {
            Err(anyhow::anyhow!("not implemented yet"))
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FATAL)
        }
    }
}
