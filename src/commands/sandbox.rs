//! `orange-contacts sandbox token|seed|deny|allow`: administers a sandbox database directly
//! (no server needed; safe while one runs, SQLite arbitrates).

use std::io::Write as _;

use anyhow::Context as _;

use crate::cli::{SandboxArgs, SandboxCommand};
use crate::commands::{EXIT_OK, EXIT_PARTIAL};
use crate::formats::{self, Format};
use crate::mapping::{to_stored, StoredPicture};
use crate::sandbox::store::Store;
use crate::wire::ContactDetail;

/// Contacts written per transaction while seeding.
const SEED_BATCH: usize = 500;

type Pending = (String, (ContactDetail, Option<StoredPicture>));

/// Writes and empties the batch; returns how many contacts it held.
fn store_batch(store: &Store, user: &str, batch: &mut Vec<Pending>) -> anyhow::Result<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> =
        batch.iter().map(|(_, (d, p))| (d, p.as_ref().map(|(b, k)| (b.as_slice(), *k)))).collect();
    store
        .insert_contacts(user, &rows)
        .with_context(|| format!("storing records {} to {}", batch[0].0, batch[batch.len() - 1].0))?;
    let n = batch.len();
    batch.clear();
    Ok(n)
}

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
            let mut batch = Vec::with_capacity(SEED_BATCH);
            for record in records {
                let stored = match &record.contact {
                    Ok(contact) => to_stored(contact),
                    Err(why) => {
                        eprintln!("{}: skipped: {why}", record.source);
                        skipped += 1;
                        continue;
                    }
                };
                match stored {
                    Some(s) => batch.push((record.source, s)),
                    None => {
                        eprintln!("{}: skipped: no name, nickname or organisation", record.source);
                        skipped += 1;
                    }
                }
                if batch.len() == SEED_BATCH {
                    seeded += store_batch(&store, &user.user, &mut batch)?;
                }
            }
            seeded += store_batch(&store, &user.user, &mut batch)?;
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
