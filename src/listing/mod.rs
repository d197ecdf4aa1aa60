//! Finding every contact of an account through `findcontactlist`, the API's only listing call.
//!
//! The API has no "list all": `search` is mandatory, `*` is forbidden, and it matches the first
//! characters of a first or last name (folded by [`wire::search::fold`]; contacts with neither
//! are matched by nickname, else company). A server may also cap a page while `total-data` tells
//! the truth. So export searches every character of a broad alphabet ([`SCRIPTS`]) and, for each
//! search whose answer is short of its `total-data`:
//! 1. counts the contacts already found elsewhere that match it (often enough on its own);
//! 2. follows `page=2..nbpage` (an extension the sandbox honours) unless the server has shown it
//!    ignores `page` (same page back), no further than `total-data` needs and never more than
//!    [`Remote::max_pages`] pages ([`pages_to_follow`]); a server still short at that bound is
//!    reported incomplete rather than followed for as long as it answers;
//! 3. otherwise refines: searches prefix + next character, first the characters seen at that
//!    position in the names returned, then the alphabet of the same script(s), stopping as soon
//!    as `total-data` is reached; refinements that are short themselves recurse.
//!
//! A prefix still short after all this is reported in [`Enumeration::incomplete`] and export
//! treats the listing as incomplete (no deletions, exit code 3): completeness is never claimed
//! without `total-data` agreeing.

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

use futures::stream::{self, StreamExt};

mod found;
use crate::client::limits::pages_to_follow;
use crate::client::ApiError;
use crate::progress::{in_phase, Phase, Progress};
use crate::remote::Remote;
use crate::wire::search::{fold, quote_term, searchable_names};
use crate::wire::{ContactPage, ContactSummary};
pub use found::Found;

/// One named block of the search alphabet: inclusive code point ranges.
pub struct Script {
    pub name: &'static str,
    pub ranges: &'static [(char, char)],
}

/// The search alphabet, most common scripts first (the order only changes when names turn up,
/// not how many searches are made). Characters are deduplicated by their fold (`É` is `e`), and a
/// character whose fold starts with another entry's fold is covered by it (`ǅ` by `d`; every
/// Hangul syllable by its leading consonant jamo, since NFKD decomposes syllables: 19 searches
/// instead of 11,172). `*` and `"` cannot be searched (forbidden / quoting), nor whitespace.
///
/// Names whose first and last names (or nickname/company when both are missing) start with a
/// character outside these blocks are not found; the CJK block alone costs about 21,000 searches,
/// which dominates the cost of a small account (docs/backups.md).
pub const SCRIPTS: &[Script] = &[
    Script { name: "latin", ranges: &[('a', 'z')] },
    Script { name: "digits", ranges: &[('0', '9')] },
    Script {
        name: "punctuation",
        ranges: &[('!', '/'), (':', '@'), ('[', '`'), ('{', '~'), ('\u{A1}', '\u{BF}')],
    },
    Script {
        name: "latin-extended",
        ranges: &[('\u{C0}', '\u{24F}'), ('\u{1E00}', '\u{1EFF}'), ('\u{250}', '\u{2AF}')],
    },
    Script { name: "cyrillic", ranges: &[('\u{400}', '\u{52F}')] },
    Script { name: "greek", ranges: &[('\u{370}', '\u{3FF}'), ('\u{1F00}', '\u{1FFF}')] },
    Script {
        name: "arabic",
        ranges: &[('\u{620}', '\u{64A}'), ('\u{660}', '\u{669}'), ('\u{66E}', '\u{6FF}')],
    },
    Script { name: "hebrew", ranges: &[('\u{5D0}', '\u{5EA}'), ('\u{5F0}', '\u{5F2}')] },
    Script { name: "hiragana", ranges: &[('\u{3041}', '\u{309F}')] },
    Script { name: "katakana", ranges: &[('\u{30A0}', '\u{30FF}'), ('\u{FF66}', '\u{FF9D}')] },
    Script { name: "hangul", ranges: &[('\u{1100}', '\u{1112}'), ('\u{AC00}', '\u{D7A3}')] },
    Script { name: "devanagari", ranges: &[('\u{900}', '\u{97F}')] },
    Script { name: "thai", ranges: &[('\u{E01}', '\u{E5B}')] },
    Script { name: "armenian", ranges: &[('\u{531}', '\u{58F}')] },
    Script { name: "georgian", ranges: &[('\u{10A0}', '\u{10FF}')] },
    Script { name: "cjk", ranges: &[('\u{4E00}', '\u{9FFF}')] },
];

/// The characters of the alphabet as search terms (folded, deduplicated, prefix-covered entries
/// removed), in [`SCRIPTS`] order, each with the index of its script.
pub fn alphabet() -> Vec<(String, usize)> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut candidates = Vec::new();
    for (si, script) in SCRIPTS.iter().enumerate() {
        for &(lo, hi) in script.ranges {
            for c in lo..=hi {
                if c == '*' || c == '"' || c.is_whitespace() || c.is_control() {
                    continue;
                }
                let f = fold(&c.to_string());
                if f.is_empty() || f.contains('*') || f.contains('"') || f.contains(' ') {
                    continue;
                }
                candidates.push((f, si));
            }
        }
    }
    // Single-character folds first so they can cover longer ones whatever the script order.
    let singles: HashSet<String> =
        candidates.iter().filter(|(f, _)| f.chars().count() == 1).map(|(f, _)| f.clone()).collect();
    for (f, si) in candidates {
        let first: String = f.chars().next().into_iter().collect();
        if f.chars().count() > 1 && singles.contains(&first) {
            continue;
        }
        if seen.insert(f.clone()) {
            out.push((f, si));
        }
    }
    out
}

/// The alphabet of a quick listing (`export --quick`): every script but the CJK ideographs,
/// which are searched only among `initials` (those of the names already backed up): about 1,100
/// searches instead of 22,100.
pub fn quick_alphabet(initials: &HashSet<String>) -> Vec<(String, usize)> {
    alphabet().into_iter().filter(|(t, si)| SCRIPTS[*si].name != "cjk" || initials.contains(t)).collect()
}

/// The initials a contact is found by in a quick listing: the folded first character of each of
/// its searchable names (see [`crate::wire::search::searchable_names`]). What `--quick` searches
/// beyond its reduced alphabet: `export` takes them from the backup, `check` from the local cards.
pub fn initials_of(
    firstname: Option<&str>,
    lastname: Option<&str>,
    nickname: Option<&str>,
    company: Option<&str>,
) -> impl Iterator<Item = String> {
    let names = crate::wire::search::searchable_names(firstname, lastname, nickname, company);
    let initials: Vec<String> =
        names.iter().filter_map(|n| crate::wire::search::fold(n).chars().next()).map(String::from).collect();
    initials.into_iter()
}

/// Whether the server honoured the `page` request parameter, as far as we saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Paging {
    /// No page was ever truncated.
    NotNeeded,
    Honoured,
    Ignored,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EnumStats {
    /// Alphabet entries searched.
    pub alphabet: usize,
    /// `findcontactlist` calls, every page and refinement included.
    pub searches: usize,
    /// Requests for page 2 or later.
    pub pages_followed: usize,
    /// Refinement searches (prefix + next character).
    pub refinements: usize,
    /// Answers short of their `total-data`.
    pub truncated: usize,
    /// Truncated prefixes whose contacts were all found in the end.
    pub truncated_resolved: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct IncompletePrefix {
    pub prefix: String,
    /// The server's `total-data` (None when the search itself failed).
    pub expected: Option<u32>,
    pub found: usize,
    pub reason: String,
}

#[derive(Debug)]
pub struct Enumeration {
    /// Every contact found, by id (in a temporary database, not in memory: see [`Found`]).
    pub contacts: Found,
    pub stats: EnumStats,
    pub paging: Paging,
    pub incomplete: Vec<IncompletePrefix>,
}

impl Enumeration {
    pub fn is_complete(&self) -> bool {
        self.incomplete.is_empty()
    }
}

/// Longest prefix refinement goes to before giving up on a prefix.
const MAX_DEPTH: usize = 48;

/// Searches over the answer size limit refined in one listing, at most. A big account has a few
/// dozen (one per crowded initial, a few of their refinements); a server sending huge answers to
/// everything would otherwise be refined character after character, each answer read to the
/// limit (4 MiB).
const MAX_OVER_CAP: usize = 256;

/// Refinement searches one listing makes, at most: this many, plus [`REFINEMENTS_PER_CONTACT`]
/// for each contact found so far. Refining a crowded prefix finds contacts as it goes (a capped
/// account of a million needs well under one search per contact); a server claiming more than it
/// ever sends, on every prefix, would otherwise be refined down every prefix to [`MAX_DEPTH`].
const REFINEMENTS_BASE: usize = 10_000;
const REFINEMENTS_PER_CONTACT: usize = 10;

const PAGING_UNKNOWN: u8 = 0;
const PAGING_HONOURED: u8 = 1;
const PAGING_IGNORED: u8 = 2;

struct Walker<'a, R: Remote> {
    remote: &'a R,
    concurrency: usize,
    /// Searches of pass 1, one per term.
    first_searches: usize,
    /// What refinement appends to a prefix.
    alphabet: Vec<(String, usize)>,
    found: Found,
    incomplete: Mutex<Vec<IncompletePrefix>>,
    paging: AtomicU8,
    searches: AtomicUsize,
    pages_followed: AtomicUsize,
    refinements: AtomicUsize,
    truncated: AtomicUsize,
    resolved: AtomicUsize,
    /// Searches whose answer was over the size limit ([`MAX_OVER_CAP`]).
    over_cap: AtomicUsize,
    progress: &'a dyn Progress,
}

/// Finds every contact reachable through the alphabet. `concurrency` bounds searches in flight;
/// each search is a step of the [`Phase::Listing`] reported to `progress`. `Err` for a fatal API
/// error only.
pub async fn enumerate<R: Remote>(
    remote: &R,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<Enumeration, ApiError> {
    enumerate_with(remote, alphabet(), concurrency, progress).await
}

/// [`enumerate`] over a given alphabet ([`quick_alphabet`], or small ones in tests).
pub async fn enumerate_with<R: Remote>(
    remote: &R,
    alphabet: Vec<(String, usize)>,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<Enumeration, ApiError> {
    // One search per alphabet entry first; refinements and pages add to the total as they come.
    let total = Some(alphabet.len() as u64);
    let terms = alphabet.iter().map(|(t, _)| t.clone()).collect();
    in_phase(progress, Phase::Listing, total, walk(remote, terms, alphabet, concurrency, progress)).await
}

/// The contacts matching `initials` (folded first characters of names), found like [`enumerate`]
/// finds them (pages, refinement by the whole [`alphabet`], answers over the size limit) but
/// searching only these first: what import needs of the account ([`Phase::AccountSearch`]).
pub async fn enumerate_initials<R: Remote>(
    remote: &R,
    initials: Vec<String>,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<Enumeration, ApiError> {
    let total = Some(initials.len() as u64);
    let found = walk(remote, initials, alphabet(), concurrency, progress);
    in_phase(progress, Phase::AccountSearch, total, found).await
}

/// Searches every term of `terms`, then resolves the short answers, refining by `alphabet`.
async fn walk<R: Remote>(
    remote: &R,
    terms: Vec<String>,
    alphabet: Vec<(String, usize)>,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<Enumeration, ApiError> {
    let w = Walker {
        remote,
        concurrency: concurrency.max(1),
        first_searches: terms.len(),
        alphabet,
        found: Found::new().map_err(store_failed)?,
        incomplete: Mutex::new(Vec::new()),
        paging: AtomicU8::new(PAGING_UNKNOWN),
        searches: AtomicUsize::new(0),
        pages_followed: AtomicUsize::new(0),
        refinements: AtomicUsize::new(0),
        truncated: AtomicUsize::new(0),
        resolved: AtomicUsize::new(0),
        over_cap: AtomicUsize::new(0),
        progress,
    };

    // Pass 1: every alphabet entry once; collect what is short.
    let mut short: Vec<(String, ContactPage)> = Vec::new();
    let mut over_cap: Vec<(String, ApiError)> = Vec::new();
    let wr = &w;
    // Made as they are polled: 22,101 searches' futures at once would weigh tens of megabytes.
    let searches = terms.iter().cloned().map(|t| async move { (wr.search(&t, None).await, t) });
    let mut results = stream::iter(searches).buffer_unordered(w.concurrency);
    while let Some((res, term)) = results.next().await {
        match res {
            Ok(page) => {
                if is_short(&page) {
                    short.push((term, page));
                }
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e @ ApiError::TooLarge { .. }) => over_cap.push((term, e)),
            Err(e) => w.mark_incomplete(&term, None, 0, format!("search failed: {}", e.redacted())),
        }
    }
    drop(results);

    // Pass 2: resolve the short ones (after pass 1, so contacts found by other names count).
    short.sort_by(|a, b| a.0.cmp(&b.0));
    for (term, page) in short {
        w.resolve(term, page).await?;
    }
    over_cap.sort_by(|a, b| a.0.cmp(&b.0));
    for (term, error) in over_cap {
        w.resolve_over_cap(term, error).await?;
    }

    let paging = match w.paging.load(Ordering::Relaxed) {
        PAGING_HONOURED => Paging::Honoured,
        PAGING_IGNORED => Paging::Ignored,
        _ => Paging::NotNeeded,
    };
    let mut incomplete = w.incomplete.into_inner().unwrap();
    incomplete.sort_by(|a, b| a.prefix.cmp(&b.prefix));
    Ok(Enumeration {
        contacts: w.found,
        stats: EnumStats {
            alphabet: terms.len(),
            searches: w.searches.load(Ordering::Relaxed),
            pages_followed: w.pages_followed.load(Ordering::Relaxed),
            refinements: w.refinements.load(Ordering::Relaxed),
            truncated: w.truncated.load(Ordering::Relaxed),
            truncated_resolved: w.resolved.load(Ordering::Relaxed),
        },
        paging,
        incomplete,
    })
}

/// The listing's temporary database failed (the temporary folder full): the run stops.
fn store_failed(e: std::io::Error) -> ApiError {
    ApiError::Config(format!("the listing's temporary database: {e}"))
}

fn is_short(page: &ContactPage) -> bool {
    (page.entries.len() as u64) < u64::from(page.total)
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl<'a, R: Remote> Walker<'a, R> {
    /// One search for the folded `term` (quoted for the wire when complex).
    async fn search(&self, term: &str, page: Option<u32>) -> Result<ContactPage, ApiError> {
        let res = self.remote.find_contacts(&quote_term(term), page).await;
        // Pass 1 makes one search per term, all before any other: the rest were not in the
        // total.
        if self.searches.fetch_add(1, Ordering::Relaxed) >= self.first_searches {
            self.progress.grow(1);
        }
        self.progress.advance(1);
        let page = res?;
        for e in &page.entries {
            self.found.insert(e).map_err(store_failed)?;
        }
        Ok(page)
    }

    fn mark_incomplete(&self, prefix: &str, expected: Option<u32>, found: usize, reason: String) {
        self.incomplete.lock().unwrap().push(IncompletePrefix {
            prefix: prefix.to_string(),
            expected,
            found,
            reason,
        });
    }

    /// Ids known to match `term`: found anywhere whose names match, plus those a search under
    /// `term` returned (a server may not send the names it matched on).
    fn count_matching(&self, term: &str, direct: &HashSet<String>) -> usize {
        // A failed read counts nothing more: the prefix is refined or reported, never skipped.
        self.found.count_matching(term, direct).unwrap_or(direct.len())
    }

    /// The listing's refinement searches reached [`REFINEMENTS_BASE`] plus
    /// [`REFINEMENTS_PER_CONTACT`] per contact found: no prefix is refined further.
    fn refinements_spent(&self) -> bool {
        let budget =
            REFINEMENTS_BASE.saturating_add(REFINEMENTS_PER_CONTACT.saturating_mul(self.found.len()));
        self.refinements.load(Ordering::Relaxed) >= budget
    }

    /// Makes sure every contact matching `term` was found; `first` is its (short) first page:
    /// counted among those found elsewhere, else paged, else refined, else reported.
    fn resolve(&'a self, term: String, first: ContactPage) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            self.truncated.fetch_add(1, Ordering::Relaxed);
            let total = first.total as usize;
            let mut direct: HashSet<String> = first.entries.iter().map(|e| e.id.clone()).collect();
            let mut names: Vec<ContactSummary> = first.entries.clone();
            if self.count_matching(&term, &direct) >= total {
                self.resolved.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            if first.pages > 1
                && self.paging.load(Ordering::Relaxed) != PAGING_IGNORED
                && self.follow_pages(&term, &first, &mut direct, &mut names).await?
            {
                return Ok(());
            }
            if term.chars().count() >= MAX_DEPTH {
                let found = self.count_matching(&term, &direct);
                self.mark_incomplete(&term, Some(first.total), found, "prefix too long to refine".into());
                return Ok(());
            }
            let steps = self.refinement_steps(&term, &names);
            if self.refine(&term, total, &steps, &mut direct).await? {
                self.resolved.fetch_add(1, Ordering::Relaxed);
            } else {
                self.report_shortfall(&term, &first, &direct);
            }
            Ok(())
        })
    }

    /// A search whose answer was larger than the client's limit (many matches): page 2 is asked
    /// for its `total-data` (a server without page caps sends it with no entries, a capping one
    /// its second page), and with it the prefix is refined like a capped page. A server that
    /// answers page 2 as it did page 1 (it ignores paging) gives no total to check a refinement
    /// against: the prefix is reported incomplete, never claimed complete.
    fn resolve_over_cap(&'a self, term: String, error: ApiError) -> BoxFut<'a, Result<(), ApiError>> {
        Box::pin(async move {
            if self.over_cap.fetch_add(1, Ordering::Relaxed) >= MAX_OVER_CAP {
                let reason = format!(
                    "{}; more than {MAX_OVER_CAP} searches were over the limit, so this one was not refined",
                    error.redacted()
                );
                self.mark_incomplete(&term, None, 0, reason);
                return Ok(());
            }
            self.pages_followed.fetch_add(1, Ordering::Relaxed);
            match self.search(&term, Some(2)).await {
                // Its entries are in `found`, counted by name like any other.
                Ok(page) => {
                    let first = ContactPage { total: page.total, pages: 1, page: 1, entries: vec![] };
                    if (page.entries.len() as u64) < u64::from(page.total) {
                        self.resolve(term, first).await?;
                    }
                    Ok(())
                }
                Err(e) if e.is_fatal() => Err(e),
                Err(_) => {
                    // Refined all the same, so that import finds what it can, but never complete.
                    let mut direct = HashSet::new();
                    if term.chars().count() < MAX_DEPTH {
                        let steps = self.refinement_steps(&term, &[]);
                        self.refine(&term, usize::MAX, &steps, &mut direct).await?;
                    }
                    let reason = format!(
                        "{}; the server sent no total-data for page 2 either (it ignores paging), so \
                         the refinement of the prefix could not be checked",
                        error.redacted()
                    );
                    self.mark_incomplete(&term, None, self.count_matching(&term, &direct), reason);
                    Ok(())
                }
            }
        })
    }

    /// The paging extension: pages 2.. of `term` while they bring new contacts, within the bound.
    /// Returns whether that settled the prefix (all found, or reported as bounded).
    async fn follow_pages(
        &self,
        term: &str,
        first: &ContactPage,
        direct: &mut HashSet<String>,
        names: &mut Vec<ContactSummary>,
    ) -> Result<bool, ApiError> {
        let last = pages_to_follow(first, self.remote.max_pages());
        let mut honoured = true;
        for p in 2..=last {
            self.pages_followed.fetch_add(1, Ordering::Relaxed);
            match self.search(term, Some(p)).await {
                Ok(page) => {
                    let new = page.entries.iter().any(|e| !direct.contains(&e.id));
                    if page.page != p || !new {
                        honoured = false;
                        break;
                    }
                    direct.extend(page.entries.iter().map(|e| e.id.clone()));
                    names.extend(page.entries);
                }
                Err(e) if e.is_fatal() => return Err(e),
                // A server rejecting `page` does not page.
                Err(_) => {
                    honoured = false;
                    break;
                }
            }
        }
        let _ = self.paging.compare_exchange(
            PAGING_UNKNOWN,
            if honoured { PAGING_HONOURED } else { PAGING_IGNORED },
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        if !honoured {
            self.paging.store(PAGING_IGNORED, Ordering::Relaxed);
        }
        let found = self.count_matching(term, direct);
        if found >= first.total as usize {
            self.resolved.fetch_add(1, Ordering::Relaxed);
            return Ok(true);
        }
        if honoured && last < first.pages {
            // Every page brought new contacts and the server claims more: refining would only
            // multiply the searches such a server answers.
            let reason = format!(
                "paging stopped after {last} of the {} pages the server claims (total-data {}; at most {} \
                 pages per search, see docs/limits.md)",
                first.pages,
                first.total,
                self.remote.max_pages()
            );
            self.mark_incomplete(term, Some(first.total), found, reason);
            return Ok(true);
        }
        Ok(false)
    }

    /// What to append to `term`: stage A, the characters seen next in the names returned; then
    /// stage B, the rest of the alphabet of the scripts involved.
    fn refinement_steps(&self, term: &str, names: &[ContactSummary]) -> Vec<String> {
        let mut stage_a: BTreeSet<String> = BTreeSet::new();
        let mut scripts: BTreeSet<usize> = BTreeSet::new();
        if let Some(last) = term.chars().last() {
            scripts.extend(self.script_of(last));
        }
        if names.is_empty() {
            // No names to learn from (an answer over the size limit): names may go on with a
            // digit or punctuation as well as a letter of the prefix's script.
            scripts.extend(SCRIPTS.iter().position(|s| s.name == "digits"));
            scripts.extend(SCRIPTS.iter().position(|s| s.name == "punctuation"));
        }
        for s in names {
            for n in summary_names(s) {
                if let Some(next) = next_step(&fold(&n), term) {
                    if let Some(c) = next.chars().last() {
                        scripts.extend(self.script_of(c));
                    }
                    stage_a.insert(next);
                }
            }
        }
        let stage_b: Vec<String> = self
            .alphabet
            .iter()
            .filter(|(t, si)| scripts.contains(si) && t.chars().count() == 1)
            .map(|(t, _)| t.clone())
            .filter(|t| !stage_a.contains(t.as_str()))
            .collect();
        stage_a.into_iter().chain(stage_b).collect()
    }

    /// Searches `term` + each step, a batch at a time, resolving short answers in turn, until
    /// `total` contacts match `term`; returns whether they do.
    async fn refine(
        &'a self,
        term: &str,
        total: usize,
        steps: &[String],
        direct: &mut HashSet<String>,
    ) -> Result<bool, ApiError> {
        for batch in steps.chunks(self.concurrency * 2) {
            if self.refinements_spent() {
                return Ok(false);
            }
            // Collected first: futures from a lazy `map` here fail the compiler's `Send` check.
            let children: Vec<String> = batch.iter().map(|step| format!("{term}{step}")).collect();
            let mut searches = Vec::with_capacity(children.len());
            for child in children {
                searches.push(async move {
                    self.refinements.fetch_add(1, Ordering::Relaxed);
                    let r = self.search(&child, None).await;
                    (child, r)
                });
            }
            let answers: Vec<(String, Result<ContactPage, ApiError>)> =
                stream::iter(searches).buffer_unordered(self.concurrency).collect().await;
            for (child, r) in answers {
                match r {
                    Ok(page) => {
                        direct.extend(page.entries.iter().map(|e| e.id.clone()));
                        if is_short(&page) {
                            self.resolve(child, page).await?;
                        }
                    }
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(e @ ApiError::TooLarge { .. }) => self.resolve_over_cap(child, e).await?,
                    Err(e) => {
                        self.mark_incomplete(&child, None, 0, format!("search failed: {}", e.redacted()))
                    }
                }
            }
            // Children found by their own refinement are in `found`, counted by name.
            if self.count_matching(term, direct) >= total {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Reports `term` incomplete, unless its shortfall is already reported under longer prefixes.
    fn report_shortfall(&self, term: &str, first: &ContactPage, direct: &HashSet<String>) {
        let found = self.count_matching(term, direct);
        let below: usize = self
            .incomplete
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.prefix.starts_with(term) && p.prefix != term)
            .map(|p| p.expected.map_or(1, |e| (e as usize).saturating_sub(p.found)))
            .sum();
        if (first.total as usize).saturating_sub(found) <= below {
            return;
        }
        let reason = if self.refinements_spent() {
            format!(
                "the server capped the answer and ignores paging; the listing's refinement stopped after {} \
                 searches that found {} contacts in all (at most {REFINEMENTS_BASE} plus \
                 {REFINEMENTS_PER_CONTACT} per contact found: a server claiming more than it sends)",
                self.refinements.load(Ordering::Relaxed),
                self.found.len()
            )
        } else {
            "the server capped the answer and ignores paging; refinement by the next character did not \
             reach total-data (names equal to the prefix, or continuing outside the alphabet)"
                .into()
        };
        self.mark_incomplete(term, Some(first.total), found, reason);
    }

    fn script_of(&self, c: char) -> Option<usize> {
        let f = fold(&c.to_string());
        SCRIPTS
            .iter()
            .position(|s| s.ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&c)))
            .or_else(|| self.alphabet.iter().find(|(t, _)| *t == f).map(|(_, si)| *si))
    }
}

fn summary_names(s: &ContactSummary) -> Vec<String> {
    searchable_names(
        s.firstname.as_deref(),
        s.lastname.as_deref(),
        s.nickname.as_deref(),
        s.company.as_deref(),
    )
    .into_iter()
    .map(str::to_string)
    .collect()
}

/// The refinement step after `term` in the folded name `name`: its next character, or a space
/// and the character after it (a trailing space is not searchable: the server trims terms).
fn next_step(name: &str, term: &str) -> Option<String> {
    let rest = name.strip_prefix(term)?;
    let mut chars = rest.chars();
    match chars.next()? {
        ' ' => chars.next().map(|c| format!(" {c}")),
        '*' | '"' => None,
        c => Some(c.to_string()),
    }
}

#[cfg(test)]
#[path = "../../tests/common/crowded_names.rs"]
mod crowded_names;

#[cfg(test)]
pub(crate) mod tests {
    use super::crowded_names::{CROWDED_FIRSTS, CROWDED_LASTS};
    use super::*;
    use crate::progress::Silent;
    use crate::remote::memory::{privacy_refusal, Call, Fault, MemoryRemote};
    use crate::wire::{Action, ContactDetail};

    /// An account of these contacts with a page cap, paging honoured or not, and summaries with
    /// or without the nickname/company of nameless contacts.
    fn directory(
        contacts: &[ContactSummary],
        page_size: Option<u32>,
        paging: bool,
        send_names: bool,
    ) -> MemoryRemote {
        let remote = MemoryRemote::with_contacts(contacts.iter().map(detail_of).collect());
        remote.set_paging(page_size, paging);
        remote.set_send_names(send_names);
        remote
    }

    fn detail_of(s: &ContactSummary) -> ContactDetail {
        ContactDetail {
            id: s.id.clone(),
            firstname: s.firstname.clone(),
            lastname: s.lastname.clone(),
            nickname: s.nickname.clone(),
            company: s.company.clone(),
            ..ContactDetail::default()
        }
    }

    fn person(id: usize, first: Option<&str>, last: Option<&str>) -> ContactSummary {
        ContactSummary {
            id: format!("c{id}"),
            firstname: first.map(Into::into),
            lastname: last.map(Into::into),
            ..Default::default()
        }
    }

    /// A multilingual account: every script, digits, punctuation, company/nickname only.
    pub(crate) fn multilingual(n_extra: usize) -> Vec<ContactSummary> {
        let named: &[(Option<&str>, Option<&str>)] = &[
            (Some("Émile"), Some("Zola")),
            (Some("Ørjan"), Some("Ødegård")),
            (Some("Łukasz"), Some("Żółć")),
            (Some("Þóra"), Some("Ægisdóttir")),
            (Some("Γιώργος"), Some("Παπαδόπουλος")),
            (Some("Иван"), Some("Петров")),
            (Some("محمد"), Some("علي")),
            (Some("דוד"), Some("כהן")),
            (Some("伟"), Some("王")),
            (Some("娜"), Some("李")),
            (Some("太郎"), Some("山田")),
            (Some("さくら"), None),
            (Some("カタカナ"), Some("ヤマダ")),
            (Some("민준"), Some("김")),
            (Some("अमित"), Some("शर्मा")),
            (Some("สมชาย"), None),
            (Some("Արամ"), None),
            (Some("ნინო"), None),
            (Some("3M"), None),
            (None, Some("'t Hooft")),
            (None, Some("(Home)")),
            (Some("-dash"), None),
            (Some("Jean Pierre"), Some("Dupont")),
            (Some("jean-pierre"), Some("Durand")),
        ];
        let mut out: Vec<ContactSummary> =
            named.iter().enumerate().map(|(i, (f, l))| person(i, *f, *l)).collect();
        out.push(ContactSummary { id: "nick".into(), nickname: Some("Zed".into()), ..Default::default() });
        out.push(ContactSummary { id: "co".into(), company: Some("Orange SA".into()), ..Default::default() });
        out.push(ContactSummary {
            id: "co2".into(), company: Some("中国银行".into()), ..Default::default()
        });
        // Many people sharing first letters, to overflow capped pages.
        // (Each exact name at most 3 times: a capped server without paging cannot split more
        // people of one exact name than its page size.)
        let (firsts, lasts) = (CROWDED_FIRSTS, CROWDED_LASTS);
        for i in 0..n_extra {
            out.push(person(1000 + i, Some(firsts[i % firsts.len()]), Some(lasts[(i / 2) % lasts.len()])));
        }
        out
    }

    fn small_alphabet() -> Vec<(String, usize)> {
        // Everything the multilingual account needs, without the 21k CJK searches.
        let needed: HashSet<String> = multilingual(0)
            .iter()
            .flat_map(summary_names)
            .filter_map(|n| fold(&n).chars().next().map(|c| c.to_string()))
            .collect();
        quick_alphabet(&needed)
    }

    async fn run(dir: &MemoryRemote) -> Enumeration {
        enumerate_with(dir, small_alphabet(), 4, &Silent).await.unwrap()
    }

    fn ids(c: &[ContactSummary]) -> BTreeSet<String> {
        c.iter().map(|s| s.id.clone()).collect()
    }

    #[test]
    fn alphabet_is_deduplicated_by_fold_and_covers_hangul_by_jamo() {
        let a = alphabet();
        let terms: HashSet<&str> = a.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(terms.len(), a.len());
        assert!(terms.contains("a") && terms.contains("0") && terms.contains("'"));
        assert!(!terms.contains("é") && !terms.contains("*") && !terms.contains("\""));
        assert!(terms.contains("ø") && terms.contains("ß") && terms.contains("ł"));
        assert!(terms.contains("\u{1100}"), "leading jamo");
        assert!(!terms.contains("가"), "syllables covered by their jamo");
        assert!(terms.contains("王") && terms.contains("か") && !terms.contains("が"));
        let cjk = a.iter().filter(|(_, si)| SCRIPTS[*si].name == "cjk").count();
        assert_eq!(cjk, 0x9FFF - 0x4E00 + 1);
        // Every folded first character of the multilingual account is covered by an entry.
        for s in multilingual(0) {
            for n in summary_names(&s) {
                let f = fold(&n);
                assert!(a.iter().any(|(t, _)| f.starts_with(t.as_str())), "{n} not covered");
            }
        }
    }

    #[tokio::test]
    async fn finds_everyone_without_cap() {
        let all = multilingual(40);
        let dir = directory(&all, None, true, true);
        let e = run(&dir).await;
        assert_eq!(e.contacts.ids().collect::<BTreeSet<_>>(), ids(&all));
        assert!(e.is_complete());
        assert_eq!(e.paging, Paging::NotNeeded);
        assert_eq!(e.stats.searches, e.stats.alphabet);
    }

    #[tokio::test]
    async fn follows_pages_when_capped() {
        let all = multilingual(60);
        let dir = directory(&all, Some(7), true, true);
        let e = run(&dir).await;
        assert_eq!(e.contacts.ids().collect::<BTreeSet<_>>(), ids(&all));
        assert!(e.is_complete(), "{:?}", e.incomplete);
        assert!(e.stats.pages_followed > 0 && e.stats.truncated > 0);
        assert_eq!(e.stats.truncated, e.stats.truncated_resolved);
        assert_eq!(e.paging, Paging::Honoured);
    }

    #[tokio::test]
    async fn refines_when_server_ignores_paging() {
        let all = multilingual(60);
        for send_names in [true, false] {
            let dir = directory(&all, Some(7), false, send_names);
            let e = run(&dir).await;
            assert_eq!(e.contacts.ids().collect::<BTreeSet<_>>(), ids(&all));
            assert!(e.is_complete(), "{:?}", e.incomplete);
            assert_eq!(e.paging, Paging::Ignored);
            assert!(e.stats.refinements > 0);
        }
    }

    #[tokio::test]
    async fn reports_prefixes_that_cannot_be_completed() {
        // Ten contacts with the very same single name and a cap of 3 without paging: impossible.
        let all: Vec<ContactSummary> = (0..10).map(|i| person(i, Some("Li"), None)).collect();
        let dir = directory(&all, Some(3), false, true);
        let e = run(&dir).await;
        assert!(!e.is_complete());
        assert_eq!(e.contacts.len(), 3);
        let li = e.incomplete.iter().find(|p| p.prefix == "li").expect("li reported");
        assert_eq!((li.expected, li.found), (Some(10), 3));
    }

    #[tokio::test]
    async fn fatal_errors_stop_enumeration() {
        let refusing = MemoryRemote::with_contacts(multilingual(0).iter().map(detail_of).collect())
            .with_faults(|_| Some(Fault::Refuse(privacy_refusal())));
        let r = enumerate_with(&refusing, small_alphabet(), 2, &Silent).await;
        assert!(r.is_err());
    }

    /// A server claiming a million pages, each with one new contact (issue 9, item 10).
    fn endless_pages(total: u32) -> MemoryRemote {
        let remote = MemoryRemote::new().with_faults(move |call| {
            let Call::Find { search, page } = *call else { return None };
            let p = page.unwrap_or(1);
            let entries = if search == "a" { vec![person(p as usize, Some("Ann"), None)] } else { vec![] };
            let total = if search == "a" { total } else { 0 };
            Some(Fault::Page(ContactPage { total, pages: 1_000_000, page: p, entries }))
        });
        remote.set_max_pages(40);
        remote
    }

    fn searches(remote: &MemoryRemote) -> u64 {
        remote.stats().calls[Action::FindContactList.name()]
    }

    #[tokio::test]
    async fn endless_paging_is_bounded_and_reported_incomplete() {
        let alphabet = vec![("a".to_string(), 0), ("b".to_string(), 0)];
        let dir = endless_pages(1_000_000);
        let e = enumerate_with(&dir, alphabet.clone(), 2, &Silent).await.unwrap();
        assert_eq!(searches(&dir), 2 + 39, "the first page, then pages 2..=40");
        assert_eq!(e.contacts.len(), 40);
        let a = e.incomplete.iter().find(|p| p.prefix == "a").expect("a reported");
        assert_eq!((a.expected, a.found), (Some(1_000_000), 40));
        assert!(a.reason.contains("paging stopped after 40"), "{}", a.reason);
        // total-data bounds the pages too: three contacts need three pages, whatever nbpage says.
        let dir = endless_pages(3);
        let e = enumerate_with(&dir, alphabet, 2, &Silent).await.unwrap();
        assert_eq!(searches(&dir), 2 + 2);
        assert!(e.is_complete(), "{:?}", e.incomplete);
        assert_eq!(e.contacts.len(), 3);
    }

    #[test]
    fn next_step_skips_spaces() {
        assert_eq!(next_step("jean pierre", "jean").as_deref(), Some(" p"));
        assert_eq!(next_step("jean", "jean"), None);
        assert_eq!(next_step("jeanne", "jean").as_deref(), Some("n"));
        assert_eq!(next_step("paul", "jean"), None);
    }
}
