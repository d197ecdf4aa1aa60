//! `orange-contacts sandbox token|seed|deny|allow`: administers a sandbox database directly
//! (no server needed; safe while one runs, SQLite arbitrates).

use std::io::Write as _;

use anyhow::Context as _;

use crate::cli::{SandboxArgs, SandboxCommand};
use crate::commands::{EXIT_OK, EXIT_PARTIAL};
use crate::formats::{self, Format};
use crate::sandbox::seed::to_stored;
use crate::sandbox::store::Store;

pub fn run(args: SandboxArgs) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match args.command {
        SandboxCommand::Token(u) => {
            let store = Store::open(&u.db)?;
            let token = store.token_for(&u.user)?;
            // The token is the point of this command; it goes to stdout only, as the last line.
            writeln!(out, "{token}")?;
        }
        SandboxCommand::Deny(u) => {
            Store::open(&u.db)?.set_denied(&u.user, true)?;
            writeln!(out, "user {:?}: access denied (every call answers the privacy refusal)", u.user)?;
        }
        SandboxCommand::Allow(u) => {
            Store::open(&u.db)?.set_denied(&u.user, false)?;
            writeln!(out, "user {:?}: access allowed", u.user)?;
        }
        SandboxCommand::Seed { user, file } => {
            let store = Store::open(&user.db)?;
            let records = formats::read_path(&file, Format::Vcard)
                .with_context(|| format!("reading {}", file.display()))?;
            let (mut seeded, mut skipped) = (0usize, 0usize);
            for record in records {
                let stored = match &record.contact {
                    Ok(contact) => to_stored(contact),
                    Err(why) => {
                        eprintln!("{}: skipped: {why}", record.source);
                        skipped += 1;
                        continue;
                    }
                };
                let Some((detail, picture)) = stored else {
                    eprintln!("{}: skipped: no name, nickname or organisation", record.source);
                    skipped += 1;
                    continue;
                };
                store
                    .insert_contact(&user.user, &detail, picture.as_ref().map(|(b, k)| (b.as_slice(), *k)))
                    .with_context(|| format!("{}: storing contact", record.source))?;
                seeded += 1;
            }
            writeln!(out, "seeded {seeded} contacts for user {:?} from {}", user.user, file.display())?;
            if skipped > 0 {
                writeln!(out, "skipped {skipped} records (see stderr)")?;
                out.flush()?;
                return Ok(EXIT_PARTIAL);
            }
        }
    }
    out.flush()?;
    Ok(EXIT_OK)
}
