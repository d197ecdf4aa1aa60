//! What the import needs to know of the account before planning, read with as few calls as
//! possible: one `findcontactlist` per distinct first letter of the input's names (not one per
//! record), following pages, whatever `--on-duplicate` says; then, for `merge`, `getcontact`
//! (and `getpicture`) only for the contacts that records may merge into.

use std::collections::{BTreeSet, HashMap, HashSet};

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::client::ApiError;
use crate::dedup;
use crate::import::plan::AccountSnapshot;
use crate::import::plan::OnDuplicate;
use crate::import::read::InputRecord;
use crate::progress::{in_phase, Phase, Progress};
use crate::remote::{Matches, Remote};
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
/// then by full name where a server capped its answer; for `merge`, the candidates' details.
/// Even `--on-duplicate create` searches: an unanswered `addcontact` is resolved by what is new
/// since (`GroupPlan::known_ids`), which needs what was there. Returns the snapshot and the
/// problems met that do not stop the import.
///
/// The searches are [`Phase::AccountSearch`] of `progress` (their number is known before the
/// first: one per initial), the reads [`Phase::AccountRead`].
pub async fn snapshot(
    remote: &impl Remote,
    records: &[InputRecord],
    on_duplicate: OnDuplicate,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<(AccountSnapshot, Vec<String>), ApiError> {
    let valid: Vec<&NewContact> = records.iter().filter_map(|r| r.valid()).map(|m| &m.contact).collect();
    let wanted_keys: HashSet<String> = valid.iter().filter_map(|c| dedup::key_of_new(c)).collect();
    let mut snapshot = AccountSnapshot::default();
    let prefixes: BTreeSet<String> = valid.iter().filter_map(|c| crawl_prefix(c)).collect();
    let mut capped = BTreeSet::new();
    progress.start(Phase::AccountSearch, Some(prefixes.len() as u64));
    for (prefix, matches) in search_all(remote, prefixes, concurrency, progress).await? {
        if !matches.complete() {
            capped.insert(prefix);
        }
        index(&mut snapshot.by_key, &wanted_keys, matches.entries);
    }
    // A capped page the server would not turn: look each affected name up by its full text.
    let names: BTreeSet<String> = valid
        .iter()
        .filter(|c| crawl_prefix(c).is_some_and(|p| capped.contains(&p)))
        .filter_map(|c| search_name(c).map(|n| quote_term(n.trim())))
        .collect();
    let mut warnings = Vec::new();
    progress.grow(names.len() as u64);
    for (name, matches) in search_all(remote, names, concurrency, progress).await? {
        if !matches.complete() {
            warnings.push(format!(
                "the server capped the search {name} and ignored paging: same-name contacts beyond the cap may be duplicated"
            ));
        }
        index(&mut snapshot.by_key, &wanted_keys, matches.entries);
    }
    progress.finish();
    if on_duplicate == OnDuplicate::Merge {
        read_candidates(remote, records, &mut snapshot, concurrency, progress).await?;
    }
    Ok((snapshot, warnings))
}

/// Every match of each term, `concurrency` searches at a time.
async fn search_all(
    remote: &impl Remote,
    terms: BTreeSet<String>,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<Vec<(String, Matches)>, ApiError> {
    stream::iter(terms)
        .map(|t| async move {
            let found = remote.find_matches(&t).await.map(|m| (t, m));
            progress.advance(1);
            found
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await
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
    entries: Vec<ContactSummary>,
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
