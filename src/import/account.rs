//! What the import needs to know of the account before planning, read with as few calls as
//! possible: one `findcontactlist` per distinct first letter of the input's names (not one per
//! record), following pages, whatever `--on-duplicate` says; then, for `merge`, `getcontact`
//! (and `getpicture`) only for the contacts that records may merge into.

use std::collections::{BTreeSet, HashMap, HashSet};

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::client::ApiError;
use crate::dedup;
use crate::export::enumerate;
use crate::import::plan::AccountSnapshot;
use crate::import::plan::OnDuplicate;
use crate::import::read::InputRecord;
use crate::progress::{in_phase, Phase, Progress};
use crate::remote::Remote;
use crate::wire::search::{fold, quote_term};
use crate::wire::{ContactSummary, NewContact};

/// The name a contact is searched by: the first of last name, first name, nickname, company.
pub fn search_name(contact: &NewContact) -> Option<&str> {
    [&contact.lastname, &contact.firstname, &contact.nickname, &contact.company]
        .into_iter()
        .filter_map(|f| f.as_deref())
        .find(|s| !fold(s).is_empty())
}

/// First folded character of the search name: the crawl prefix of a record.
fn crawl_prefix(contact: &NewContact) -> Option<String> {
    search_name(contact).and_then(|n| fold(n).chars().next()).map(String::from)
}

/// Reads the account contacts that share a person key with the input: searches by initial,
/// resolved like export's listing where an answer is capped or over the size limit
/// ([`enumerate::enumerate_initials`]); for `merge`, the candidates' details. Even
/// `--on-duplicate create` searches: an unanswered `addcontact` is resolved by what is new since
/// (`GroupPlan::known_ids`), which needs what was there. Returns the snapshot and the problems
/// met that do not stop the import.
///
/// The searches are [`Phase::AccountSearch`] of `progress` (their number is known before the
/// first: one per initial, refinements add to it), the reads [`Phase::AccountRead`].
pub async fn snapshot(
    remote: &impl Remote,
    records: &[InputRecord],
    on_duplicate: OnDuplicate,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<(AccountSnapshot, Vec<String>), ApiError> {
    let valid: Vec<&NewContact> = records.iter().filter_map(|r| r.valid()).map(|m| &m.contact).collect();
    let wanted_keys: HashSet<String> = valid.iter().filter_map(|c| dedup::key_of_new(c)).collect();
    let initials: BTreeSet<String> = valid.iter().filter_map(|c| crawl_prefix(c)).collect();
    let found =
        enumerate::enumerate_initials(remote, initials.into_iter().collect(), concurrency, progress).await?;
    let mut snapshot = AccountSnapshot::default();
    index(&mut snapshot.by_key, &wanted_keys, found.contacts.into_values());
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
        read_candidates(remote, records, &mut snapshot, concurrency, progress).await?;
    }
    Ok((snapshot, warnings))
}

/// `getcontact` for every candidate, and `getpicture` where an input photo could go.
async fn read_candidates(
    remote: &impl Remote,
    records: &[InputRecord],
    snapshot: &mut AccountSnapshot,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<(), ApiError> {
    let photo_keys: HashSet<String> = records
        .iter()
        .filter(|r| r.photo.is_some())
        .filter_map(|r| r.valid())
        .filter_map(|m| m.person_key.clone())
        .collect();
    let candidates: Vec<(String, bool)> = snapshot
        .by_key
        .iter()
        .flat_map(|(key, list)| {
            let want_picture = photo_keys.contains(key);
            list.iter().map(move |c| (c.id.clone(), want_picture))
        })
        .collect();
    let total = Some(candidates.len() as u64);
    let reads = stream::iter(candidates)
        .map(|(cid, want_picture)| async move {
            let detail = remote.get_contact(&cid).await?;
            let picture = if want_picture { Some(remote.get_picture(&cid).await?.is_some()) } else { None };
            progress.advance(1);
            Ok::<_, ApiError>((cid, detail, picture))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<_>>();
    let fetched = in_phase(progress, Phase::AccountRead, total, reads).await?;
    for (cid, detail, picture) in fetched {
        if let Some(has) = picture {
            snapshot.has_picture.insert(cid.clone(), has);
        }
        snapshot.details.insert(cid, detail);
    }
    Ok(())
}

/// Files the entries whose person key the input has; others are irrelevant to this import.
fn index(
    by_key: &mut HashMap<String, Vec<ContactSummary>>,
    wanted: &HashSet<String>,
    entries: impl IntoIterator<Item = ContactSummary>,
) {
    for entry in entries {
        let Some(key) = dedup::key_of_summary(&entry) else { continue };
        if !wanted.contains(&key) {
            continue;
        }
        let list = by_key.entry(key).or_default();
        if !list.iter().any(|e| e.id == entry.id) {
            list.push(entry);
        }
    }
}
