//! `check`: compares local vCards (a phone export, a backup file or a vdir) with the account,
//! writing nothing, in the style of `rclone check --combined`:
//! `=` same, `+` only local, `-` only in the account, `*` differs (with the fields), `!` error.
//!
//! Each local card is mapped exactly as `import` would send it ([`crate::mapping::to_api`]) and
//! compared with the account contact it matches: the account id from a UID this tool wrote
//! (`orange-contacts-<id>`), else the dedup person key ([`crate::dedup::key_of_new`]) with the
//! most devices in common. What the API cannot carry (addresses, notes, …) is not a difference:
//! such cards are `=` with a "not carried: …" note, unless the account contact already holds it
//! (a WORK phone, an address: a fresh backup has no such note). Several local cards matching one
//! account contact (duplicates merged by import) are compared together for devices.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::client::ApiError;
use crate::dedup;
use crate::dedup::device_identity;
use crate::export::{fetch_all, summary_name, vdir, FetchProblem, Fetched};
use crate::formats::{self, Format};
use crate::listing::{self, Enumeration, IncompletePrefix};
use crate::mapping::{self, reason, Dropped, Mapped, MappingOptions};
use crate::model::PartialDate;
use crate::progress::Progress;
use crate::remote::Remote;
use crate::report::{Row, Tabular};
use crate::wire::{Civility, ContactDetail, DeviceType, NewContact};

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub paths: Vec<PathBuf>,
    pub format: Format,
    pub region: String,
    pub concurrency: usize,
    /// `--one-way`: only local → account; account contacts absent locally are not listed (the
    /// check after a migration: is everything of the phone in the account?).
    pub one_way: bool,
    /// `--quick`: list with [`listing::quick_alphabet`] and the local cards' initials, as
    /// `export --quick` does with the backup's.
    pub quick: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    #[serde(rename = "=")]
    Same,
    #[serde(rename = "+")]
    OnlyLocal,
    #[serde(rename = "-")]
    OnlyAccount,
    #[serde(rename = "*")]
    Differ,
    #[serde(rename = "!")]
    Error,
}

impl Status {
    pub fn symbol(self) -> char {
        match self {
            Status::Same => '=',
            Status::OnlyLocal => '+',
            Status::OnlyAccount => '-',
            Status::Differ => '*',
            Status::Error => '!',
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckEntry {
    pub status: Status,
    pub name: String,
    /// The local card (`file#n`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The account contact id, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What differs (`*`) or what went wrong (`!`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<String>,
    /// For `=`: what the card has that the API cannot carry, and merged duplicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CheckEntry {
    /// One line of the combined listing.
    pub fn line(&self) -> String {
        let mut s = format!("{} {}", self.status.symbol(), self.name);
        match (&self.source, &self.id) {
            (Some(src), Some(id)) => s.push_str(&format!(" ({src} ↔ {id})")),
            (Some(src), None) => s.push_str(&format!(" ({src})")),
            (None, Some(id)) => s.push_str(&format!(" (account {id})")),
            (None, None) => {}
        }
        if !self.differences.is_empty() {
            s.push_str(&format!(": {}", self.differences.join("; ")));
        }
        if let Some(note) = &self.note {
            s.push_str(&format!(" [{note}]"));
        }
        s
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckSummary {
    pub local_cards: usize,
    pub account_contacts: usize,
    pub same: usize,
    pub only_local: usize,
    pub only_account: usize,
    pub differ: usize,
    pub errors: usize,
    pub searches: usize,
    pub incomplete_prefixes: usize,
    pub api_calls: u64,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub summary: CheckSummary,
    /// `--one-way`: account contacts absent locally were not listed.
    pub one_way: bool,
    /// `--quick`: CJK ideographs were searched only as the initials of the local cards' names.
    pub quick: bool,
    pub incomplete: Vec<IncompletePrefix>,
    pub entries: Vec<CheckEntry>,
}

impl CheckReport {
    pub fn in_sync(&self) -> bool {
        let s = &self.summary;
        s.only_local + s.only_account + s.differ + s.errors == 0 && self.incomplete.is_empty()
    }

    /// The closing line: counts, and "N differences found" as rclone says it.
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let differences = s.only_local + s.only_account + s.differ + s.errors;
        let only_account = match self.one_way {
            true => "account contacts absent locally not listed (--one-way)".to_string(),
            false => format!("{} only in account", s.only_account),
        };
        let quick = match self.quick {
            true => " (quick listing: CJK ideographs searched only as the local names' initials)",
            false => "",
        };
        format!(
            "{} local card(s), {} account contact(s){quick}: {} same, {} only local, {only_account}, {} differ, \
             {} error(s) — {}",
            s.local_cards,
            s.account_contacts,
            s.same,
            s.only_local,
            s.differ,
            s.errors,
            if differences == 0 && self.incomplete.is_empty() {
                "in sync".to_string()
            } else if self.incomplete.is_empty() {
                format!("{differences} difference(s) found")
            } else {
                format!(
                    "{differences} difference(s) found; the account listing is INCOMPLETE ({} prefix(es))",
                    self.incomplete.len()
                )
            }
        )
    }

    /// Writes the report in the format `path`'s extension names.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::report::write_report(path, self)
    }
}

impl Status {
    /// The status as a word, for the report's table and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Same => "same",
            Status::OnlyLocal => "only local",
            Status::OnlyAccount => "only in account",
            Status::Differ => "differ",
            Status::Error => "error",
        }
    }
}

impl Tabular for CheckReport {
    fn title(&self) -> &'static str {
        "check report"
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::to_value(&self.summary).unwrap_or_default()
    }

    fn outcomes(&self) -> Vec<&'static str> {
        [Status::Same, Status::OnlyLocal, Status::OnlyAccount, Status::Differ, Status::Error]
            .map(Status::as_str)
            .to_vec()
    }

    fn columns(&self) -> &'static [&'static str] {
        &["status", "name", "source", "id", "differences", "note"]
    }

    fn rows(&self) -> Vec<Row> {
        self.entries
            .iter()
            .map(|e| Row {
                outcome: e.status.as_str(),
                cells: vec![
                    e.status.as_str().to_string(),
                    e.name.clone(),
                    e.source.clone().unwrap_or_default(),
                    e.id.clone().unwrap_or_default(),
                    e.differences.join("\n"),
                    e.note.clone().unwrap_or_default(),
                ],
                thumbnail: None,
            })
            .collect()
    }
}

/// One local card as read and mapped.
struct Local {
    source: String,
    name: String,
    uid: Option<String>,
    mapped: Mapped,
}

/// Runs a check: read the local cards, list and fetch the account, match each card to a
/// contact, compare. `Err` only for a fatal API error.
pub async fn check<R: Remote>(
    remote: &R,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Result<CheckReport, ApiError> {
    let started = Instant::now();
    let mapping_opts = MappingOptions { region: opts.region.clone(), ..MappingOptions::default() };
    let (locals, mut entries) = read_locals(&opts.paths, opts.format, &mapping_opts);
    let alphabet = match opts.quick {
        true => listing::quick_alphabet(&local_initials(&locals)),
        false => listing::alphabet(),
    };
    let listing = listing::enumerate_with(remote, alphabet, opts.concurrency, progress).await?;
    let ids: Vec<String> = listing.contacts.ids().collect();
    let (fetched, problems) = fetch_all(remote, ids, true, opts.concurrency, progress).await?;
    let account = AccountIndex::new(&fetched);
    let groups = match_locals(&locals, &account, &opts.region, &mut entries);
    entries.extend(locals.iter().filter(|l| l.mapped.invalid.is_some()).map(uncarried_entry));
    for f in &fetched {
        match groups.get(f.id.as_str()) {
            Some(members) => entries.extend(compare(f, members, &locals, &mapping_opts)),
            None if opts.one_way => {}
            None => entries.push(only_in_account(f)),
        }
    }
    entries.extend(problem_entries(&problems, &listing));
    entries.extend(listing.incomplete.iter().map(incomplete_entry));
    sort_entries(&mut entries);
    let summary =
        summarize(&entries, locals.len(), fetched.len(), &listing, remote.stats().requests(), started);
    Ok(CheckReport {
        summary,
        one_way: opts.one_way,
        quick: opts.quick,
        incomplete: listing.incomplete,
        entries,
    })
}

/// The initials a quick listing must search for every local card to be found.
fn local_initials(locals: &[Local]) -> HashSet<String> {
    let names = |l: &Local| {
        let c = &l.mapped.contact;
        listing::initials_of(
            c.firstname.as_deref(),
            c.lastname.as_deref(),
            c.nickname.as_deref(),
            c.company.as_deref(),
        )
    };
    locals.iter().flat_map(names).collect()
}

/// The local cards, mapped as import would send them; unreadable files and records become
/// `!` entries.
fn read_locals(
    paths: &[PathBuf],
    format: Format,
    mapping_opts: &MappingOptions,
) -> (Vec<Local>, Vec<CheckEntry>) {
    let (mut locals, mut entries) = (Vec::new(), Vec::new());
    for file in formats::paths::expand_paths(paths) {
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                entries.push(error_entry(e.clone(), Some(e), None));
                continue;
            }
        };
        let records = match formats::read_path(&file, format) {
            Ok(r) => r,
            Err(e) => {
                let src = file.display().to_string();
                entries.push(error_entry(src.clone(), Some(src), Some(format!("{e:#}"))));
                continue;
            }
        };
        for record in records {
            match record.contact {
                Err(e) => entries.push(error_entry(record.source.clone(), Some(record.source), Some(e))),
                Ok(contact) => locals.push(Local {
                    name: contact.display_name(),
                    uid: contact.uid.clone(),
                    mapped: mapping::to_api(&contact, mapping_opts),
                    source: record.source,
                }),
            }
        }
    }
    (locals, entries)
}

/// The account's contacts by id and by person key.
struct AccountIndex<'a> {
    by_id: BTreeMap<&'a str, &'a Fetched>,
    by_key: HashMap<String, Vec<&'a str>>,
}

impl<'a> AccountIndex<'a> {
    fn new(fetched: &'a [Fetched]) -> AccountIndex<'a> {
        let by_id = fetched.iter().map(|f| (f.id.as_str(), f)).collect();
        let mut by_key: HashMap<String, Vec<&str>> = HashMap::new();
        for f in fetched {
            if let Some(k) = dedup::key_of_detail(&f.detail) {
                by_key.entry(k).or_default().push(f.id.as_str());
            }
        }
        AccountIndex { by_id, by_key }
    }

    /// The contact a card is of: the id in a UID this tool wrote, else the same-name contact
    /// that shares the most devices with it.
    fn matching(&self, l: &Local, region: &str) -> Option<&'a str> {
        let by_uid = l.uid.as_deref().and_then(vdir::id_from_uid);
        if let Some((id, _)) = by_uid.and_then(|id| self.by_id.get_key_value(id.as_str())) {
            return Some(id);
        }
        let candidates = self.by_key.get(&dedup::key_of_new(&l.mapped.contact)?)?;
        let wanted = local_devices(&l.mapped.contact, &l.mapped, region);
        let detail = |id: &&str| self.by_id.get(*id).map(|f| &f.detail);
        dedup::best_candidate(candidates, &wanted, detail, region).copied()
    }
}

/// Valid local cards grouped by the account contact they match (several: duplicates merged by
/// import); cards matching none become `+` entries.
fn match_locals<'a>(
    locals: &[Local],
    account: &AccountIndex<'a>,
    region: &str,
    entries: &mut Vec<CheckEntry>,
) -> BTreeMap<&'a str, Vec<usize>> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in locals.iter().enumerate().filter(|(_, l)| l.mapped.invalid.is_none()) {
        match account.matching(l, region) {
            Some(id) => groups.entry(id).or_default().push(i),
            None => entries.push(CheckEntry {
                status: Status::OnlyLocal,
                name: l.name.clone(),
                source: Some(l.source.clone()),
                id: None,
                differences: vec![],
                note: None,
            }),
        }
    }
    groups
}

/// A card the API cannot carry at all: the same as nothing (`=`), with the reason.
fn uncarried_entry(l: &Local) -> CheckEntry {
    CheckEntry {
        status: Status::Same,
        name: l.name.clone(),
        source: Some(l.source.clone()),
        id: None,
        differences: vec![],
        note: Some(format!(
            "not carried: the whole card ({})",
            l.mapped.invalid.as_deref().unwrap_or(reason::NO_IDENTITY)
        )),
    }
}

fn only_in_account(f: &Fetched) -> CheckEntry {
    CheckEntry {
        status: Status::OnlyAccount,
        name: detail_name(&f.detail),
        source: None,
        id: Some(f.id.clone()),
        differences: vec![],
        note: None,
    }
}

/// The entries of the local cards `members` matched to the account contact `f`.
fn compare(
    f: &Fetched,
    members: &[usize],
    locals: &[Local],
    mapping_opts: &MappingOptions,
) -> Vec<CheckEntry> {
    let region = mapping_opts.region.as_str();
    let in_account = account_devices(&f.detail, region);
    let held = held_by_account(&f.detail, mapping_opts);
    let union: HashSet<String> = members
        .iter()
        .flat_map(|i| local_devices(&locals[*i].mapped.contact, &locals[*i].mapped, region))
        .collect();
    let any_local_photo = members.iter().any(|i| locals[*i].mapped.photo.is_some());
    let mut entries = Vec::with_capacity(members.len());
    for (n, i) in members.iter().enumerate() {
        let l = &locals[*i];
        // A merged duplicate may lack (or contradict) a field another card of the group set:
        // the account holds one value, so that is not a difference of this card.
        let (fields, kept): (Vec<FieldDiff>, Vec<FieldDiff>) =
            field_differences(&l.mapped.contact, &f.detail).into_iter().partition(|d| {
                !members.iter().any(|j| {
                    j != i
                        && field_differences(&locals[*j].mapped.contact, &f.detail).iter().all(|o| o.0 != d.0)
                })
            });
        let mut diffs: Vec<String> = fields.iter().map(show_field).collect();
        let mine = local_devices(&l.mapped.contact, &l.mapped, region);
        let mut missing: Vec<&String> = mine.difference(&in_account).collect();
        missing.sort();
        diffs.extend(missing.into_iter().map(|d| format!("{} not in the account", show_device(d))));
        if l.mapped.photo.is_some() && f.picture.is_none() {
            diffs.push("photo not in the account".into());
        }
        if n == 0 {
            let mut extra: Vec<&String> = in_account.difference(&union).collect();
            extra.sort();
            diffs.extend(extra.into_iter().map(|d| format!("{} only in the account", show_device(d))));
            if f.picture.is_some() && !any_local_photo {
                diffs.push("photo only in the account".into());
            }
        }
        let note = compare_note(l, &held, region, members.len(), &kept);
        entries.push(CheckEntry {
            status: if diffs.is_empty() { Status::Same } else { Status::Differ },
            name: l.name.clone(),
            source: Some(l.source.clone()),
            id: Some(f.id.clone()),
            differences: diffs,
            note,
        });
    }
    entries
}

/// What a compared card's line notes: fields not carried, merged duplicates, fields another
/// card of the group gave the account.
fn compare_note(
    l: &Local,
    held: &[Dropped],
    region: &str,
    members: usize,
    kept: &[FieldDiff],
) -> Option<String> {
    let mut parts = Vec::new();
    let not_carried = not_carried(&l.mapped, held, region);
    if !not_carried.is_empty() {
        parts.push(format!("not carried: {}", not_carried.join(", ")));
    }
    if members > 1 {
        parts.push(format!("same contact as {} other local card(s)", members - 1));
    }
    if !kept.is_empty() {
        let names: Vec<&str> = kept.iter().map(|d| d.0).collect();
        parts.push(format!("account keeps another card's {}", names.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Listed contacts that could not be read (those deleted meanwhile are skipped).
fn problem_entries<'a>(
    problems: &'a [FetchProblem],
    listing: &'a Enumeration,
) -> impl Iterator<Item = CheckEntry> + 'a {
    problems.iter().filter(|p| !p.gone).map(|p| {
        let name = listing.contacts.get(&p.id).as_ref().map(summary_name).unwrap_or_default();
        error_entry(name, None, Some(format!("account contact {}: {}", p.id, p.message)))
    })
}

fn incomplete_entry(p: &IncompletePrefix) -> CheckEntry {
    CheckEntry {
        status: Status::Error,
        name: format!("listing prefix {:?}", p.prefix),
        source: None,
        id: None,
        differences: vec![format!(
            "only {} of {} contacts found: contacts missing from the listing are not compared ({})",
            p.found,
            p.expected.map(|e| e.to_string()).unwrap_or_else(|| "?".into()),
            p.reason
        )],
        note: None,
    }
}

/// By folded name, then local card, then account id.
fn sort_entries(entries: &mut [CheckEntry]) {
    entries.sort_by_cached_key(|e| {
        (
            crate::wire::search::fold(&e.name),
            e.source.clone().unwrap_or_default(),
            e.id.clone().unwrap_or_default(),
        )
    });
}

fn summarize(
    entries: &[CheckEntry],
    locals: usize,
    account_contacts: usize,
    listing: &Enumeration,
    api_calls: u64,
    started: Instant,
) -> CheckSummary {
    let count = |s: Status| entries.iter().filter(|e| e.status == s).count();
    CheckSummary {
        local_cards: locals
            + entries.iter().filter(|e| e.status == Status::Error && e.source.is_some()).count(),
        account_contacts,
        same: count(Status::Same),
        only_local: count(Status::OnlyLocal),
        only_account: count(Status::OnlyAccount),
        differ: count(Status::Differ),
        errors: count(Status::Error),
        searches: listing.stats.searches,
        incomplete_prefixes: listing.incomplete.len(),
        api_calls,
        elapsed_ms: started.elapsed().as_millis() as u64,
    }
}

fn error_entry(name: String, source: Option<String>, message: Option<String>) -> CheckEntry {
    CheckEntry {
        status: Status::Error,
        name,
        source,
        id: None,
        differences: message.into_iter().collect(),
        note: None,
    }
}

fn detail_name(d: &ContactDetail) -> String {
    let s = crate::wire::ContactSummary {
        id: d.id.clone(),
        firstname: d.firstname.clone(),
        lastname: d.lastname.clone(),
        nickname: d.nickname.clone(),
        company: d.company.clone(),
    };
    summary_name(&s)
}

/// Device identities a local card would have in the account (its `emailperso` included).
fn local_devices(contact: &NewContact, mapped: &Mapped, region: &str) -> HashSet<String> {
    let mut set: HashSet<String> =
        mapped.devices.iter().map(|d| device_identity(&d.kind, &d.value, region)).collect();
    if let Some(email) = &contact.emailperso {
        set.insert(device_identity(&DeviceType::Email, email, region));
    }
    set
}

fn account_devices(d: &ContactDetail, region: &str) -> HashSet<String> {
    d.devices
        .iter()
        .filter(|dv| matches!(dv.kind, DeviceType::Email | DeviceType::Phone | DeviceType::Url))
        .filter(|dv| !dv.value.trim().is_empty())
        .map(|dv| device_identity(&dv.kind, &dv.value, region))
        .collect()
}

fn show_device(identity: &str) -> String {
    match identity.split_once(':') {
        Some((kind, value)) => format!("{kind} {value}"),
        None => identity.to_string(),
    }
}

fn norm(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A field whose value differs: (name, local value, account value), values normalised.
type FieldDiff = (&'static str, String, String);

/// The `addcontact` fields that differ between what import would send and the account.
fn field_differences(local: &NewContact, account: &ContactDetail) -> Vec<FieldDiff> {
    let mut diffs = Vec::new();
    let pairs = [
        ("firstname", &local.firstname, &account.firstname),
        ("lastname", &local.lastname, &account.lastname),
        ("nickname", &local.nickname, &account.nickname),
        ("company", &local.company, &account.company),
        ("function", &local.function, &account.function),
        ("department", &local.department, &account.department),
    ];
    for (name, l, a) in pairs {
        if norm(l) != norm(a) {
            diffs.push((name, norm(l).unwrap_or("").to_string(), norm(a).unwrap_or("").to_string()));
        }
    }
    let date = |s: &Option<String>| {
        norm(s)
            .map(|v| PartialDate::from_iso(v).and_then(|d| d.to_iso()).unwrap_or_else(|| v.to_string()))
            .unwrap_or_default()
    };
    if date(&local.birthday) != date(&account.birthday) {
        diffs.push(("birthday", date(&local.birthday), date(&account.birthday)));
    }
    let civ = |c: Option<Civility>| match c {
        Some(Civility::Mr) => "Mr",
        Some(Civility::Mrs) => "Mrs",
        Some(Civility::Miss) => "Miss",
        Some(Civility::Unknown) | None => "",
    };
    if civ(local.civility) != civ(account.civility) {
        diffs.push(("civility", civ(local.civility).into(), civ(account.civility).into()));
    }
    diffs
}

fn show_field(d: &FieldDiff) -> String {
    format!("{} {:?} ≠ {:?}", d.0, d.1, d.2)
}

/// What the account contact holds of what import cannot write (the home/work of its devices, its
/// addresses, its marital status): what the same mapping drops of the account's own contact. A
/// card saying the same loses nothing to the account, so that is not "not carried" (a backup of
/// the account checks without such notes).
fn held_by_account(detail: &ContactDetail, opts: &MappingOptions) -> Vec<Dropped> {
    mapping::to_api(&mapping::from_api(detail, None), opts).dropped
}

/// Whether two dropped values are the same: device values compare by their match key (a 3.0
/// backup writes a phone extension ` x102` where the account stores `;ext=102`).
fn same_dropped(a: &Dropped, b: &Dropped, region: &str) -> bool {
    if a.field != b.field || a.reason != b.reason {
        return false;
    }
    let kind = match a.field.split(';').next() {
        Some("TEL") => DeviceType::Phone,
        Some("EMAIL") => DeviceType::Email,
        Some("URL") => DeviceType::Url,
        _ => return a.value == b.value,
    };
    device_identity(&kind, &a.value, region) == device_identity(&kind, &b.value, region)
}

/// What of a card the API cannot carry and the account does not already hold, in words,
/// de-duplicated.
fn not_carried(m: &Mapped, held: &[Dropped], region: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    for d in m.dropped.iter().filter(|d| !held.iter().any(|h| same_dropped(d, h, region))) {
        let words = match &*d.reason {
            reason::ADDRESS => "addresses".to_string(),
            reason::NOTE => "notes".to_string(),
            reason::CATEGORIES => "categories".to_string(),
            reason::MARITAL_STATUS => "marital status".to_string(),
            reason::PLACE => "home/work of devices".to_string(),
            reason::LABEL => "labels".to_string(),
            reason::FORMATTED_NAME => "display name".to_string(),
            reason::SUFFIX => "name suffix".to_string(),
            reason::PREFIX => "name prefix".to_string(),
            reason::PARTIAL_BIRTHDAY | reason::INVALID_BIRTHDAY | reason::BIRTHDAY_TEXT => {
                "birthday".to_string()
            }
            reason::PAGER => "pager type".to_string(),
            reason::PHOTO_LINK | reason::PHOTO_UNREADABLE => "photo".to_string(),
            _ => d.field.to_string(),
        };
        out.insert(words);
    }
    out.into_iter().collect()
}
