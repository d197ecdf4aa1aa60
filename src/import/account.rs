//! What the import needs to know of the account before planning, read with as few calls as
//! possible: one `findcontactlist` per distinct first letter of the input's names (not one per
//! record), following pages, whatever `--on-duplicate` says; then, for `merge`, `getcontact`
//! (and `getpicture`) only for the contacts that records may merge into.

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::client::ApiError;
use crate::import::plan::OnDuplicate;
use crate::import::spool::RecordSpool;
use crate::import::Error;
use crate::listing;
use crate::progress::{in_phase, Phase, Progress};
use crate::remote::Remote;
use crate::wire::search::{fold, quote_term};
use crate::wire::NewContact;

/// The name a contact is searched by: the first of last name, first name, nickname, company.
pub fn search_name(contact: &NewContact) -> Option<&str> {
    [&contact.lastname, &contact.firstname, &contact.nickname, &contact.company]
        .into_iter()
        .filter_map(|f| f.as_deref())
        .find(|s| !fold(s).is_empty())
}

/// First folded character of the search name: the crawl prefix of a record.
pub fn crawl_prefix(contact: &NewContact) -> Option<String> {
    search_name(contact).and_then(|n| fold(n).chars().next()).map(String::from)
}

/// Reads the account contacts that share a person key with the input into the run's spool:
/// searches by initial, resolved like export's listing where an answer is capped or over the
/// size limit ([`listing::enumerate_initials`]); for `merge`, the candidates' details. Even
/// `--on-duplicate create` searches: an unanswered `addcontact` is resolved by what is new since
/// (`GroupPlan::known_ids`), which needs what was there. Returns the problems met that do not
/// stop the import.
///
/// The searches are [`Phase::AccountSearch`] of `progress` (their number is known before the
/// first: one per initial, refinements add to it), the reads [`Phase::AccountRead`].
pub async fn snapshot(
    remote: &impl Remote,
    spool: &mut RecordSpool,
    on_duplicate: OnDuplicate,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<Vec<String>, Error> {
    spool.seal().map_err(Error::Spill)?;
    let initials = spool.prefixes().map_err(Error::Spill)?;
    let found =
        listing::enumerate_initials(remote, initials.into_iter().collect(), concurrency, progress).await?;
    spool.keep_account(found.contacts.into_values()).map_err(Error::Spill)?;
    let warnings = found
        .incomplete
        .iter()
        .map(|p| {
            format!(
                "the account search {} is incomplete ({}): same-name contacts it did not find may be duplicated",
                quote_term(&p.prefix),
                p.reason
            )
        })
        .collect();
    if on_duplicate == OnDuplicate::Merge {
        read_candidates(remote, spool, concurrency, progress).await?;
    }
    Ok(warnings)
}

/// Candidates read between two looks at the spool.
const CANDIDATES_PER_BATCH: usize = 1024;

/// `getcontact` for every candidate, and `getpicture` where an input photo could go, stored in
/// the spool as they come.
async fn read_candidates(
    remote: &impl Remote,
    spool: &mut RecordSpool,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<(), Error> {
    let total = Some(spool.candidates().map_err(Error::Spill)?);
    let reads = async {
        let mut after = 0;
        loop {
            let batch = spool.candidates_after(after, CANDIDATES_PER_BATCH).map_err(Error::Spill)?;
            let Some(last) = batch.last() else { break };
            after = last.0;
            let fetched: Vec<_> = stream::iter(batch)
                .map(|(_, cid, want_picture)| async move {
                    let detail = remote.get_contact(&cid).await?;
                    let picture =
                        if want_picture { Some(remote.get_picture(&cid).await?.is_some()) } else { None };
                    progress.advance(1);
                    Ok::<_, ApiError>((detail, picture))
                })
                .buffer_unordered(concurrency.max(1))
                .try_collect()
                .await?;
            for (detail, picture) in fetched {
                spool.put_detail(&detail, picture).map_err(Error::Spill)?;
            }
        }
        Ok(())
    };
    in_phase(progress, Phase::AccountRead, total, reads).await
}
