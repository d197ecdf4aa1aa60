//! Planning: pure data computed from the input records and a snapshot of the account.
//!
//! Records are grouped by person (same normalised name; among several same-name contacts in the
//! account, the one sharing an email or phone wins). Each group becomes one target contact: an
//! existing one, or a new one created by the group's first record with the single fields of all
//! its records (`TargetFields`). Every record gets exactly one [`Action`]. `--dry-run` prints
//! this plan; `execute` runs it. Nothing here does I/O.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::dedup;
use crate::import::read::InputRecord;
use crate::mapping::{Dropped, PlannedDevice};
use crate::wire::search::fold;
use crate::wire::{ContactDetail, ContactSummary, DeviceSubtype, DeviceType, NewContact};

/// What to do with a record whose person is already in the account (`--on-duplicate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnDuplicate {
    /// Add only the devices and photo the existing contact lacks.
    Merge,
    /// Leave the existing contact alone.
    Skip,
    /// Create a new contact anyway.
    Create,
}

/// What the account holds, as far as the plan needs it.
#[derive(Debug, Clone, Default)]
pub struct AccountSnapshot {
    /// Contacts found by the crawl, by person key.
    pub by_key: HashMap<String, Vec<ContactSummary>>,
    /// Full details of the candidates that records may merge into.
    pub details: HashMap<String, ContactDetail>,
    /// Whether a candidate already has a picture (fetched only where an input photo could go).
    pub has_picture: HashMap<String, bool>,
}

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub on_duplicate: OnDuplicate,
    pub region: String,
}

/// The contact a group writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A contact already in the account.
    Existing(String),
    /// A contact the group's first step creates.
    New,
}

/// What one record does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `addcontact` with `contact` — the record's fields, completed with the fields of the
    /// group's later records — then the record's devices and photo.
    Create { contact: Box<NewContact>, devices: Vec<PlannedDevice>, photo: bool },
    /// Add to the group's target only what it lacks. `fields` (`company:…`) are what this
    /// record gave the contact its group creates: they travel with that `addcontact`.
    Add { fields: Vec<String>, devices: Vec<PlannedDevice>, photo: bool },
    /// The target already holds everything this record can carry.
    Unchanged,
    /// `--on-duplicate skip`: the existing contact is left alone.
    Skip,
}

impl Action {
    /// API calls this action makes when nothing goes wrong.
    pub fn calls(&self) -> usize {
        match self {
            Action::Create { devices, photo, .. } => 1 + devices.len() + usize::from(*photo),
            Action::Add { devices, photo, .. } => devices.len() + usize::from(*photo),
            Action::Unchanged | Action::Skip => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Index into the input records.
    pub record: usize,
    pub action: Action,
}

/// One target contact and the records that write to it, in input order.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPlan {
    /// The person key shared by the group's records.
    pub key: String,
    pub target: Target,
    /// Account contacts with the same key, known before the run (an unanswered `addcontact` is
    /// resolved by looking for a contact with this key that is not one of these).
    pub known_ids: Vec<String>,
    /// The name of the existing contact the group writes to, as the account lists it.
    pub target_name: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub groups: Vec<GroupPlan>,
    /// Records that cannot be imported (their reason is in the record).
    pub invalid: Vec<usize>,
    /// Per record: its fields that its target holds otherwise, with the reason (see
    /// `TargetFields`).
    pub not_merged: HashMap<usize, Vec<Dropped>>,
}

impl Plan {
    /// Groups records by person and decides each record's action.
    pub fn build(records: &[InputRecord], snapshot: &AccountSnapshot, opts: &PlanOptions) -> Plan {
        let mut plan = Plan::default();
        let mut group_of_key: HashMap<String, usize> = HashMap::new();
        let mut members: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, record) in records.iter().enumerate() {
            let Some(key) = record.valid().and_then(|m| m.person_key.clone()) else {
                plan.invalid.push(i);
                continue;
            };
            let grouped = opts.on_duplicate != OnDuplicate::Create;
            match group_of_key.get(&key).filter(|_| grouped) {
                Some(&g) => members[g].1.push(i),
                None => {
                    group_of_key.insert(key.clone(), members.len());
                    members.push((key, vec![i]));
                }
            }
        }
        for (key, recs) in members {
            let group = plan_group(records, snapshot, opts, key, &recs, &mut plan.not_merged);
            plan.groups.push(group);
        }
        plan
    }

    /// Calls the plan makes when nothing goes wrong (the minimum to carry it).
    pub fn calls(&self) -> usize {
        self.groups.iter().flat_map(|g| &g.steps).map(|s| s.action.calls()).sum()
    }

    /// Number of steps of each kind: (create, add, unchanged, skip).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for step in self.groups.iter().flat_map(|g| &g.steps) {
            match step.action {
                Action::Create { .. } => c.0 += 1,
                Action::Add { .. } => c.1 += 1,
                Action::Unchanged => c.2 += 1,
                Action::Skip => c.3 += 1,
            }
        }
        c
    }

    /// The dry-run listing: one line per record, then totals.
    pub fn display<'a>(&'a self, records: &'a [InputRecord]) -> PlanDisplay<'a> {
        PlanDisplay { plan: self, records }
    }
}

/// The name the account lists `cid` under.
fn name_of(candidates: &[ContactSummary], cid: &str) -> Option<String> {
    let c = candidates.iter().find(|c| c.id == cid)?;
    let names = crate::wire::search::searchable_names(
        c.firstname.as_deref(),
        c.lastname.as_deref(),
        c.nickname.as_deref(),
        c.company.as_deref(),
    );
    Some(names.join(" ")).filter(|n| !n.is_empty())
}

fn plan_group(
    records: &[InputRecord],
    snapshot: &AccountSnapshot,
    opts: &PlanOptions,
    key: String,
    recs: &[usize],
    not_merged: &mut HashMap<usize, Vec<Dropped>>,
) -> GroupPlan {
    let candidates = snapshot.by_key.get(&key).map(Vec::as_slice).unwrap_or_default();
    let known_ids: Vec<String> = candidates.iter().map(|c| c.id.clone()).collect();
    let existing = match opts.on_duplicate {
        OnDuplicate::Create => None,
        OnDuplicate::Merge | OnDuplicate::Skip => {
            choose_candidate(candidates, records, recs, snapshot, &opts.region).map(str::to_string)
        }
    };
    let contact = |r: usize| &records[r].valid().expect("grouped records are valid").contact;
    let mut steps = Vec::with_capacity(recs.len());
    let mut known = KnownDevices::default();
    let mut has_picture = false;
    let mut fields = None;
    let target = match &existing {
        Some(cid) => {
            if opts.on_duplicate == OnDuplicate::Skip {
                let steps = recs.iter().map(|&record| Step { record, action: Action::Skip }).collect();
                let target_name = name_of(candidates, cid);
                return GroupPlan {
                    key,
                    target: Target::Existing(cid.clone()),
                    known_ids,
                    target_name,
                    steps,
                };
            }
            if let Some(detail) = snapshot.details.get(cid) {
                for d in &detail.devices {
                    known.hold(&d.kind, &d.value, d.order, &opts.region);
                }
                fields = Some(TargetFields::existing(detail));
            }
            has_picture = snapshot.has_picture.get(cid).copied().unwrap_or(false);
            Target::Existing(cid.clone())
        }
        None => {
            fields = Some(TargetFields::to_create(contact(recs[0]), &records[recs[0]].source));
            Target::New
        }
    };
    // The single fields first: a contact the group creates is created with all of them.
    let taken: Vec<Vec<String>> = recs
        .iter()
        .map(|&r| {
            let Some(fields) = fields.as_mut() else { return Vec::new() };
            let merge = fields.merge(contact(r), &records[r].source);
            if !merge.not_carried.is_empty() {
                not_merged.insert(r, merge.not_carried);
            }
            merge.taken
        })
        .collect();
    for ((n, &record), fields_taken) in recs.iter().enumerate().zip(taken) {
        let mapped = records[record].valid().expect("grouped records are valid");
        let photo = records[record].photo.is_some() && !has_picture;
        has_picture |= photo;
        let action = if n == 0 && target == Target::New {
            // The created contact gets the record's devices with the mapped orders; `addcontact`
            // carries emailperso itself, so it is not a separate device call.
            let devices: Vec<PlannedDevice> = all_devices(&mapped.contact, &mapped.devices)
                .into_iter()
                .filter(|d| known.hold(&d.kind, &d.value, d.order, &opts.region))
                .filter(|d| !is_emailperso(&mapped.contact, d))
                .collect();
            let contact = fields.as_ref().map_or_else(|| mapped.contact.clone(), |f| f.values.clone());
            Action::Create { contact: Box::new(contact), devices, photo }
        } else {
            let devices: Vec<PlannedDevice> = all_devices(&mapped.contact, &mapped.devices)
                .into_iter()
                .filter_map(|d| known.add(d, &opts.region))
                .collect();
            if devices.is_empty() && !photo && fields_taken.is_empty() {
                Action::Unchanged
            } else {
                Action::Add { fields: fields_taken, devices, photo }
            }
        };
        steps.push(Step { record, action });
    }
    let target_name = existing.as_deref().and_then(|cid| name_of(candidates, cid));
    GroupPlan { key, target, known_ids, target_name, steps }
}

/// The existing contact a group merges into: among its same-name contacts, the one sharing the
/// most emails/phones with the group's records ([`dedup::best_candidate`]).
fn choose_candidate<'a>(
    candidates: &'a [ContactSummary],
    records: &[InputRecord],
    recs: &[usize],
    snapshot: &AccountSnapshot,
    region: &str,
) -> Option<&'a str> {
    if candidates.len() <= 1 {
        return candidates.first().map(|c| c.id.as_str());
    }
    let wanted: HashSet<String> = recs
        .iter()
        .filter_map(|&r| records[r].valid())
        .flat_map(|m| all_devices(&m.contact, &m.devices))
        .map(|d| dedup::device_identity(&d.kind, &d.value, region))
        .collect();
    let detail = |c: &ContactSummary| snapshot.details.get(&c.id);
    dedup::best_candidate(candidates, &wanted, detail, region).map(|c| c.id.as_str())
}

/// The record's devices including its `emailperso` as an email device (for merging into a
/// contact that exists: there, the personal email is one more device).
fn all_devices(contact: &NewContact, devices: &[PlannedDevice]) -> Vec<PlannedDevice> {
    let mut all = Vec::with_capacity(devices.len() + 1);
    if let Some(email) = &contact.emailperso {
        all.push(PlannedDevice {
            kind: DeviceType::Email,
            subtype: DeviceSubtype::Internet,
            order: 1,
            value: email.clone(),
        });
    }
    all.extend(devices.iter().cloned());
    all
}

fn is_emailperso(contact: &NewContact, device: &PlannedDevice) -> bool {
    device.kind == DeviceType::Email && contact.emailperso.as_deref() == Some(device.value.as_str())
}

/// Devices a target holds or will hold, and the next free display order per type.
#[derive(Debug, Default)]
struct KnownDevices {
    keys: HashSet<String>,
    next_order: HashMap<String, u32>,
}

impl KnownDevices {
    /// Records a device the target has (or gets with this order); false when it was known.
    fn hold(&mut self, kind: &DeviceType, value: &str, order: u32, region: &str) -> bool {
        let fresh = self.keys.insert(dedup::device_identity(kind, value, region));
        let next = self.next_order.entry(kind.as_str().to_string()).or_insert(1);
        *next = (*next).max(order.saturating_add(1));
        fresh
    }

    /// A device to add after the target's own, numbered after them; None when already held.
    fn add(&mut self, mut device: PlannedDevice, region: &str) -> Option<PlannedDevice> {
        if !self.keys.insert(dedup::device_identity(&device.kind, &device.value, region)) {
            return None;
        }
        let next = self.next_order.entry(device.kind.as_str().to_string()).or_insert(1);
        device.order = *next;
        *next += 1;
        Some(device)
    }
}

type FieldOf = fn(&NewContact) -> Option<String>;
type TakeField = fn(&mut NewContact, &NewContact);

/// The single-valued `addcontact` fields (besides the names, which the group shares, and
/// emailperso, which is one more email device): name, value as text, and how a target takes
/// a record's value.
const SINGLE_FIELDS: [(&str, FieldOf, TakeField); 6] = [
    ("nickname", |c| c.nickname.clone(), |to, from| to.nickname.clone_from(&from.nickname)),
    ("company", |c| c.company.clone(), |to, from| to.company.clone_from(&from.company)),
    ("function", |c| c.function.clone(), |to, from| to.function.clone_from(&from.function)),
    ("department", |c| c.department.clone(), |to, from| to.department.clone_from(&from.department)),
    ("birthday", |c| c.birthday.clone(), |to, from| to.birthday.clone_from(&from.birthday)),
    ("civility", |c| c.civility.map(|c| c.code().to_string()), |to, from| to.civility = from.civility),
];

/// The single fields of a group's target and where each value came from: the one rule for
/// what a record can add to them. A contact this run creates takes, field by field, the first
/// value its records carry (it is created once, with all of them); a contact that exists keeps
/// its own, since the API cannot update one. A record's value that differs is not carried and
/// is reported with the reason.
#[derive(Debug)]
struct TargetFields {
    values: NewContact,
    /// The record each value was taken from; a field not listed holds the account's value.
    taken_from: Vec<(&'static str, String)>,
    /// The contact does not exist yet: its empty fields can still be filled.
    open: bool,
}

/// What one record's fields do to its target.
#[derive(Debug, Default)]
struct FieldMerge {
    /// Fields the target takes from this record, as `company:…`.
    taken: Vec<String>,
    not_carried: Vec<Dropped>,
}

impl TargetFields {
    fn existing(detail: &ContactDetail) -> TargetFields {
        let values = NewContact {
            nickname: detail.nickname.clone(),
            company: detail.company.clone(),
            function: detail.function.clone(),
            department: detail.department.clone(),
            birthday: detail.birthday.clone(),
            civility: detail.civility,
            ..NewContact::default()
        };
        TargetFields { values, taken_from: Vec::new(), open: false }
    }

    /// The contact `first` (the group's first record) creates.
    fn to_create(first: &NewContact, source: &str) -> TargetFields {
        let taken_from = SINGLE_FIELDS
            .iter()
            .filter(|(_, of, _)| of(first).is_some())
            .map(|(field, _, _)| (*field, source.to_string()))
            .collect();
        TargetFields { values: first.clone(), taken_from, open: true }
    }

    fn merge(&mut self, offered: &NewContact, source: &str) -> FieldMerge {
        let mut merge = FieldMerge::default();
        for (field, of, take) in SINGLE_FIELDS {
            let Some(value) = of(offered) else { continue };
            let reason = match of(&self.values) {
                Some(held) if fold(&held) == fold(&value) => continue,
                None if self.open => {
                    take(&mut self.values, offered);
                    self.taken_from.push((field, source.to_string()));
                    merge.taken.push(format!("{field}:{value}"));
                    continue;
                }
                Some(held) => match self.taken_from.iter().find(|(f, _)| *f == field) {
                    Some((_, from)) => format!("another {field} was already taken from {from}: {held:?}"),
                    None => format!("the contact exists with {field} {held:?}; the API cannot update it"),
                },
                None => format!("the contact exists without {field}; the API cannot update it"),
            };
            merge.not_carried.push(Dropped { field: field.into(), value, reason: reason.into() });
        }
        merge
    }
}

pub struct PlanDisplay<'a> {
    plan: &'a Plan,
    records: &'a [InputRecord],
}

impl fmt::Display for PlanDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (_, line) in self.plan.listing_lines(self.records) {
            f.write_str(&line)?;
        }
        f.write_str(&listing_totals(self.plan.counts(), self.plan.invalid.len(), self.plan.calls()))
    }
}

impl Plan {
    /// The dry-run listing, one line per record (with its number), saying in the future tense
    /// what the run will do: what each `addcontact` will carry, which existing contact (id and
    /// name) a merge will add to. Groups in plan order, then the invalid records.
    pub fn listing_lines(&self, records: &[InputRecord]) -> Vec<(usize, String)> {
        let mut lines: Vec<(usize, String)> =
            self.groups.iter().flat_map(|g| self.display_group(g, records)).collect();
        for &i in &self.invalid {
            lines.push((i, invalid_line(&records[i])));
        }
        lines
    }

    /// The listing's lines of one group (with each record's number).
    pub fn display_group(&self, group: &GroupPlan, records: &[InputRecord]) -> Vec<(usize, String)> {
        let mut lines = Vec::with_capacity(group.steps.len());
        {
            let created_by = group.steps.first().map(|s| records[s.record].source.as_str());
            let target = match (&group.target, &group.target_name) {
                (Target::Existing(cid), Some(name)) => format!("cid {cid} '{name}'"),
                (Target::Existing(cid), None) => format!("cid {cid}"),
                (Target::New, _) => format!("the contact created from {}", created_by.unwrap_or("?")),
            };
            for step in &group.steps {
                let r = &records[step.record];
                let (verb, detail) = match &step.action {
                    Action::Create { contact, devices, photo } => {
                        ("create", format!("will create {}", carried(contact, devices.len(), *photo)))
                    }
                    Action::Add { fields, devices, photo } => {
                        ("merge", format!("will add {} to {target}", additions(fields, devices, *photo)))
                    }
                    Action::Unchanged => {
                        ("unchanged", format!("will change nothing: {target} already has it all"))
                    }
                    Action::Skip => ("skip", format!("will leave {target} alone (--on-duplicate skip)")),
                };
                lines.push((step.record, format!("{verb:<9} {}  {:?}  {detail}\n", r.source, r.name)));
            }
        }
        lines
    }
}

/// The dry-run listing's line for a record that will not be imported.
pub fn invalid_line(r: &InputRecord) -> String {
    let why = r.error.as_deref().unwrap_or("");
    format!("{:<9} {}  {:?}  will not be imported: {why}\n", "invalid", r.source, r.name)
}

/// The dry-run listing's last line: the steps of each kind ([`Plan::counts`]), the invalid
/// records and the write calls.
pub fn listing_totals(
    (create, add, unchanged, skip): (usize, usize, usize, usize),
    invalid: usize,
    calls: usize,
) -> String {
    format!("plan: {create} create, {add} merge, {unchanged} unchanged, {skip} skip, {invalid} invalid; {calls} write calls\n")
}

/// What an `addcontact` will carry: `'Anne Martin' (company ACME, birthday 1980-05-01) with 2
/// devices and a photo`.
fn carried(contact: &NewContact, devices: usize, photo: bool) -> String {
    let name = [contact.firstname.as_deref(), contact.lastname.as_deref()]
        .into_iter()
        .flatten()
        .filter(|n| !n.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let nickname = contact.nickname.as_deref().filter(|n| !n.trim().is_empty());
    let who = match (name.is_empty(), nickname) {
        (false, _) => format!("'{name}'"),
        (true, Some(nickname)) => format!("'{nickname}'"),
        (true, None) => "a contact".to_string(),
    };
    let fields: Vec<String> = [
        ("nickname", if name.is_empty() { None } else { nickname }),
        ("company", contact.company.as_deref()),
        ("function", contact.function.as_deref()),
        ("department", contact.department.as_deref()),
        ("birthday", contact.birthday.as_deref()),
        ("email", contact.emailperso.as_deref()),
    ]
    .into_iter()
    .filter_map(|(what, value)| value.map(|v| format!("{what} {v}")))
    .collect();
    let fields = if fields.is_empty() { String::new() } else { format!(" ({})", fields.join(", ")) };
    format!("{who}{fields} with {}", devices_and_photo(devices, photo))
}

/// `2 devices and a photo`, `no device`.
fn devices_and_photo(devices: usize, photo: bool) -> String {
    let devices = match devices {
        0 => "no device".to_string(),
        1 => "1 device".to_string(),
        n => format!("{n} devices"),
    };
    if photo {
        format!("{devices} and a photo")
    } else {
        devices
    }
}

/// What a merge will add: `2 devices (phone:0612…, email:a@b.c), a photo and company ACME`.
fn additions(fields: &[String], devices: &[PlannedDevice], photo: bool) -> String {
    let mut parts = Vec::new();
    if !devices.is_empty() {
        let listed: Vec<String> =
            devices.iter().map(|d| format!("{}:{}", d.kind.as_str(), d.value)).collect();
        parts.push(format!("{} ({})", devices_and_photo(devices.len(), false), listed.join(", ")));
    }
    if photo {
        parts.push("a photo".to_string());
    }
    parts.extend(fields.iter().map(|f| f.replacen(':', " ", 1)));
    match parts.len() {
        0 => "nothing".to_string(),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{} and {last}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{self, MappingOptions};
    use crate::model::{Contact, Email, Phone, PhoneKind, Place};
    use crate::wire::Device;

    fn record(given: &str, family: &str, phones: &[&str], emails: &[&str]) -> InputRecord {
        let contact = Contact {
            given: Some(given.into()),
            family: Some(family.into()),
            phones: phones
                .iter()
                .map(|p| Phone {
                    value: p.to_string(),
                    kind: PhoneKind::Mobile,
                    place: None,
                    preferred: false,
                    label: None,
                })
                .collect(),
            emails: emails
                .iter()
                .map(|e| Email {
                    value: e.to_string(),
                    place: Some(Place::Home),
                    preferred: false,
                    label: None,
                })
                .collect(),
            ..Contact::default()
        };
        InputRecord {
            source: format!("test#{given}"),
            name: format!("{given} {family}"),
            warnings: vec![],
            mapped: Some(mapping::to_api(&contact, &MappingOptions::default())),
            error: None,
            photo: None,
        }
    }

    fn opts(on_duplicate: OnDuplicate) -> PlanOptions {
        PlanOptions { on_duplicate, region: "FR".into() }
    }

    fn existing(
        id: &str,
        first: &str,
        last: &str,
        devices: &[(&str, DeviceType, u32)],
    ) -> (ContactSummary, ContactDetail) {
        let summary = ContactSummary {
            id: id.into(),
            firstname: Some(first.into()),
            lastname: Some(last.into()),
            ..ContactSummary::default()
        };
        let detail = ContactDetail {
            id: id.into(),
            firstname: Some(first.into()),
            lastname: Some(last.into()),
            devices: devices
                .iter()
                .map(|(v, kind, order)| Device {
                    id: format!("d{v}"),
                    kind: kind.clone(),
                    subtype: if *kind == DeviceType::Phone {
                        DeviceSubtype::Mobile
                    } else {
                        DeviceSubtype::Internet
                    },
                    info_type: None,
                    order: *order,
                    display: true,
                    value: v.to_string(),
                })
                .collect(),
            ..ContactDetail::default()
        };
        (summary, detail)
    }

    fn snapshot_of(contacts: Vec<(ContactSummary, ContactDetail)>) -> AccountSnapshot {
        let mut s = AccountSnapshot::default();
        for (summary, detail) in contacts {
            let key = dedup::key_of_summary(&summary).unwrap();
            s.by_key.entry(key).or_default().push(summary);
            s.details.insert(detail.id.clone(), detail);
        }
        s
    }

    #[test]
    fn same_person_twice_in_the_input_is_created_once_and_merged() {
        let records = vec![
            record("Jean", "Martin", &["06 12 34 56 78"], &[]),
            record("JEAN", "Mártin", &["+33 6 12 34 56 78", "04 78 11 22 33"], &[]),
        ];
        let plan = Plan::build(&records, &AccountSnapshot::default(), &opts(OnDuplicate::Merge));
        assert_eq!(plan.groups.len(), 1);
        let steps = &plan.groups[0].steps;
        assert!(matches!(&steps[0].action, Action::Create { devices, .. } if devices.len() == 1));
        // The same mobile in international form is not added again; the home line is, after it.
        match &steps[1].action {
            Action::Add { devices, photo: false, .. } => {
                assert_eq!(devices.len(), 1);
                assert_eq!(devices[0].value, "04 78 11 22 33");
                assert_eq!(devices[0].order, 2);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(plan.calls(), 3);
    }

    #[test]
    fn an_existing_contact_gets_only_what_it_lacks() {
        let records = vec![record("Hélène", "Lefèvre", &["0612345678"], &["helene@example.fr"])];
        let snapshot = snapshot_of(vec![existing(
            "c6",
            "Helene",
            "Lefevre",
            &[("HELENE@example.fr", DeviceType::Email, 1), ("+33 6 12 34 56 78", DeviceType::Phone, 1)],
        )]);
        let plan = Plan::build(&records, &snapshot, &opts(OnDuplicate::Merge));
        assert_eq!(plan.groups[0].target, Target::Existing("c6".into()));
        assert_eq!(plan.groups[0].steps[0].action, Action::Unchanged);
        assert_eq!(plan.calls(), 0);

        let records = vec![record("Hélène", "Lefèvre", &["0612345678", "01 02 03 04 05"], &[])];
        let plan = Plan::build(&records, &snapshot, &opts(OnDuplicate::Merge));
        match &plan.groups[0].steps[0].action {
            Action::Add { devices, .. } => {
                assert_eq!(devices.len(), 1);
                assert_eq!(devices[0].order, 2, "numbered after the contact's own phone");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn among_namesakes_the_one_sharing_a_phone_wins() {
        let records = vec![record("Jean", "Martin", &["06 98 76 54 32"], &[])];
        let snapshot = snapshot_of(vec![
            existing("1", "Jean", "Martin", &[("01 11 11 11 11", DeviceType::Phone, 1)]),
            existing("2", "Jean", "Martin", &[("+33698765432", DeviceType::Phone, 1)]),
        ]);
        let plan = Plan::build(&records, &snapshot, &opts(OnDuplicate::Merge));
        assert_eq!(plan.groups[0].target, Target::Existing("2".into()));
        assert_eq!(plan.groups[0].known_ids, vec!["1".to_string(), "2".to_string()]);
    }

    /// Issue 10, item 6: import and `check` pick a namesake by one rule, each shared phone or
    /// email counted once (import used to count a device the account holds twice, twice).
    #[test]
    fn among_namesakes_a_device_held_twice_counts_once() {
        let records = vec![record("Jean", "Martin", &["06 98 76 54 32"], &["jean@example.org"])];
        let snapshot = snapshot_of(vec![
            existing(
                "1",
                "Jean",
                "Martin",
                &[("0698765432", DeviceType::Phone, 1), ("+33 6 98 76 54 32", DeviceType::Phone, 2)],
            ),
            existing(
                "2",
                "Jean",
                "Martin",
                &[("+33698765432", DeviceType::Phone, 1), ("jean@example.org", DeviceType::Email, 1)],
            ),
        ]);
        let plan = Plan::build(&records, &snapshot, &opts(OnDuplicate::Merge));
        assert_eq!(
            plan.groups[0].target,
            Target::Existing("2".into()),
            "two devices shared beat one held twice"
        );
    }

    #[test]
    fn skip_and_create_policies() {
        let records =
            vec![record("Jean", "Martin", &["06 98 76 54 32"], &[]), record("Jean", "Martin", &[], &[])];
        let snapshot = snapshot_of(vec![existing("1", "Jean", "Martin", &[])]);
        let plan = Plan::build(&records, &snapshot, &opts(OnDuplicate::Skip));
        assert!(plan.groups[0].steps.iter().all(|s| s.action == Action::Skip));
        let plan = Plan::build(&records, &snapshot, &opts(OnDuplicate::Create));
        assert_eq!(plan.groups.len(), 2, "create: no grouping");
        assert!(plan.groups.iter().all(|g| g.target == Target::New));
    }

    #[test]
    fn dry_run_plan_says_what_each_call_will_carry() {
        let mut first = record("Max", "Mustermann", &["0611111111", "0622222222"], &[]);
        let c = &mut first.mapped.as_mut().unwrap().contact;
        (c.company, c.birthday) = (Some("ACME".into()), Some("1970-01-02".into()));
        let anne = record("Anne", "Martin", &["0633333333", "0644444444"], &[]);
        let records = vec![first, anne];
        let snapshot = snapshot_of(vec![existing("17", "Anne", "Martin", &[])]);
        let plan = Plan::build(&records, &snapshot, &opts(OnDuplicate::Merge));
        let listing = plan.display(&records).to_string();
        assert!(
            listing
                .contains("will create 'Max Mustermann' (company ACME, birthday 1970-01-02) with 2 devices"),
            "{listing}"
        );
        assert!(
            listing
                .contains("will add 2 devices (phone:0633333333, phone:0644444444) to cid 17 'Anne Martin'"),
            "{listing}"
        );
    }

    #[test]
    fn invalid_records_are_kept_aside() {
        let mut bad = record("", "", &["0600000001"], &[]);
        bad.mapped = Some(mapping::to_api(&Contact::default(), &MappingOptions::default()));
        bad.error = bad.mapped.as_ref().unwrap().invalid.clone();
        assert!(bad.error.is_some());
        let records = vec![bad, record("Ann", "Lee", &[], &[])];
        let plan = Plan::build(&records, &AccountSnapshot::default(), &opts(OnDuplicate::Merge));
        assert_eq!(plan.invalid, vec![0]);
        assert_eq!(plan.groups.len(), 1);
        let listing = plan.display(&records).to_string();
        assert!(listing.contains("invalid"), "{listing}");
        assert!(listing.contains("plan: 1 create, 0 merge"), "{listing}");
    }

    #[test]
    fn a_new_contact_is_created_with_the_fields_of_all_its_records() {
        let mut first = record("Max", "Mustermann", &["0611111111"], &[]);
        first.mapped.as_mut().unwrap().contact.company = Some("ACME".into());
        let mut second = record("Max", "Mustermann", &[], &[]);
        let c = &mut second.mapped.as_mut().unwrap().contact;
        (c.company, c.function, c.birthday) =
            (Some("acme".into()), Some("Boss".into()), Some("1970-01-02".into()));
        let mut third = record("Max", "Mustermann", &[], &[]);
        let c = &mut third.mapped.as_mut().unwrap().contact;
        (c.company, c.birthday, c.nickname) =
            (Some("Other Corp".into()), Some("1971-01-01".into()), Some("Maxi".into()));
        let records = vec![first, second, third];
        let plan = Plan::build(&records, &AccountSnapshot::default(), &opts(OnDuplicate::Merge));
        let steps = &plan.groups[0].steps;
        let Action::Create { contact, .. } = &steps[0].action else { panic!("{:?}", steps[0]) };
        assert_eq!(
            (contact.company.as_deref(), contact.function.as_deref(), contact.birthday.as_deref()),
            (Some("ACME"), Some("Boss"), Some("1970-01-02")),
            "first value of each field"
        );
        assert_eq!(contact.nickname.as_deref(), Some("Maxi"));
        assert_eq!(
            steps[1].action,
            Action::Add {
                fields: vec!["function:Boss".into(), "birthday:1970-01-02".into()],
                devices: vec![],
                photo: false
            },
            "the same company in another case is no conflict"
        );
        assert!(matches!(&steps[2].action, Action::Add { fields, .. } if fields == &["nickname:Maxi"]));
        assert!(!plan.not_merged.contains_key(&1));
        let third: Vec<(&str, &str)> =
            plan.not_merged[&2].iter().map(|d| (d.field.as_ref(), d.value.as_str())).collect();
        assert_eq!(third, [("company", "Other Corp"), ("birthday", "1971-01-01")]);
        assert!(
            plan.not_merged[&2][0].reason.contains("already taken from test#Max"),
            "{:?}",
            plan.not_merged[&2]
        );
        assert_eq!(plan.calls(), 2, "one addcontact and the phone: the fields cost no call");
    }

    #[test]
    fn fields_an_existing_contact_keeps_are_reported() {
        let mut r = record("Ann", "Lee", &[], &[]);
        r.mapped.as_mut().unwrap().contact.birthday = Some("1980-04-15".into());
        let snapshot = snapshot_of(vec![existing("9", "Ann", "Lee", &[])]);
        let plan = Plan::build(&[r], &snapshot, &opts(OnDuplicate::Merge));
        let kept = &plan.not_merged[&0];
        assert_eq!(kept[0].field, "birthday");
        assert!(kept[0].reason.contains("cannot update"));
    }
}
