//! Execution: runs a [`Plan`] against the account and records each record's outcome.
//!
//! Groups run concurrently (the client's limiter and semaphore pace the calls); the steps of one
//! group run in order, since later records write to the contact the first one creates. Writes are
//! not idempotent, so an unanswered write is never blindly re-sent: the account is checked first
//! (is there a new contact with this name? does the contact hold this device? this picture?).
//! A fatal error (privacy refusal, bad token, endpoint gone) stops the run.

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use futures::stream::{FuturesUnordered, StreamExt};

use crate::client::ApiError;
use crate::dedup;
use crate::import::account::search_name;
use crate::import::plan::{Action, GroupPlan, Plan, Target};
use crate::import::read::{InputRecord, PhotoSpool, SpooledPhoto};
use crate::import::{Error, ImportOptions};
use crate::interrupt::Interrupt;
use crate::mapping::PlannedDevice;
use crate::progress::Progress;
use crate::remote::Remote;
use crate::report::Outcome;
use crate::wire::search::quote_term;
use crate::wire::{ContactSummary, NewContact};

/// How many times an unanswered write is checked and re-sent before the record fails.
const AMBIGUOUS_ATTEMPTS: u32 = 4;

/// What executing one record did.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub record: usize,
    pub outcome: Outcome,
    pub cid: Option<String>,
    pub added: Vec<String>,
    pub error: Option<String>,
}

/// Counters of what was written, for the report's minimum-calls figure.
#[derive(Debug, Default)]
pub struct Written {
    pub contacts: AtomicU64,
    pub devices: AtomicU64,
    pub photos: AtomicU64,
    pub ambiguous_checked: AtomicU64,
}

impl Written {
    pub fn minimum_calls(&self) -> u64 {
        self.contacts.load(Ordering::Relaxed)
            + self.devices.load(Ordering::Relaxed)
            + self.photos.load(Ordering::Relaxed)
    }
}

/// What stops a run, kept across the plans it runs one after the other (its windows).
#[derive(Debug, Default)]
pub struct Stopped {
    fatal: Mutex<Option<Error>>,
    stop: AtomicBool,
}

impl Stopped {
    /// The fatal error that stopped the run, if any.
    pub fn into_fatal(self) -> Option<Error> {
        self.fatal.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs the plan (of `records`, which its steps number). Returns every planned record's result;
/// a fatal error goes to `stopped`, and records not reached then are not attempted with that
/// reason, in this plan and the later ones run with the same `stopped`.
#[allow(clippy::too_many_arguments)]
pub async fn execute<R: Remote>(
    plan: &Plan,
    records: &[InputRecord],
    photos: &PhotoSpool,
    remote: &R,
    opts: &ImportOptions,
    progress: &dyn Progress,
    written: &Written,
    stopped: &Stopped,
) -> Vec<StepResult> {
    let (fatal, stop) = (&stopped.fatal, &stopped.stop);
    let region = opts.region.as_str();
    let created = Mutex::new(HashSet::new());
    let interrupt = &opts.interrupt;
    let ctx = Ctx { records, photos, remote, region, written, created: &created, stop, fatal, interrupt };
    // Up to twice the concurrency of groups at once, started in plan order. A plain
    // `FuturesUnordered` of named futures rather than `stream::iter(..).map(closure)`: a closure
    // taking `&GroupPlan` made the run's future not provably `Send` (rustc's higher-ranked
    // lifetime check), and the CLI runs it as a spawned task.
    let limit = opts.concurrency.max(1) * 2;
    let mut groups = plan.groups.iter();
    let mut running = FuturesUnordered::new();
    let mut results = Vec::with_capacity(records.len());
    loop {
        while running.len() < limit {
            let Some(group) = groups.next() else { break };
            running.push(run_counted_group(&ctx, group, progress));
        }
        let Some(out) = running.next().await else { break };
        results.extend(out);
    }
    results
}

/// [`run_group`], then its records counted in `progress`.
async fn run_counted_group(
    ctx: &Ctx<'_, impl Remote>,
    group: &GroupPlan,
    progress: &dyn Progress,
) -> Vec<StepResult> {
    let out = run_group(ctx, group).await;
    out.iter().for_each(|r| progress.count(r.outcome.as_str()));
    progress.advance(group.steps.len() as u64);
    out
}

struct Ctx<'a, R> {
    records: &'a [InputRecord],
    photos: &'a PhotoSpool,
    remote: &'a R,
    region: &'a str,
    written: &'a Written,
    /// Contacts this run created (or adopted): never the answer to another lost `addcontact`.
    created: &'a Mutex<HashSet<String>>,
    stop: &'a AtomicBool,
    fatal: &'a Mutex<Option<Error>>,
    /// Ctrl-C: records not started yet are not attempted.
    interrupt: &'a Interrupt,
}

impl<R> Ctx<'_, R> {
    /// Turns an error into a step failure message, stopping the run when it is fatal.
    fn fail(&self, error: Error) -> String {
        let message = error.to_string();
        if error.is_fatal() {
            self.stop.store(true, Ordering::SeqCst);
            let mut slot = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert(error);
        }
        message
    }

    /// The error that stopped the run, as records not attempted quote it.
    fn fatal_message(&self) -> String {
        let slot = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref().map_or_else(|| "the run stopped on a fatal error".into(), |e| e.to_string())
    }
}

async fn run_group(ctx: &Ctx<'_, impl Remote>, group: &GroupPlan) -> Vec<StepResult> {
    let mut cid = match &group.target {
        Target::Existing(cid) => Some(cid.clone()),
        Target::New => None,
    };
    let mut results = Vec::with_capacity(group.steps.len());
    let mut group_error: Option<String> = None;
    for step in &group.steps {
        let mut result = StepResult {
            record: step.record,
            outcome: Outcome::Failed,
            cid: cid.clone(),
            added: vec![],
            error: None,
        };
        if let Some(e) = &group_error {
            result.error = Some(format!("not attempted: {e}"));
            results.push(result);
            continue;
        }
        if ctx.interrupt.is_requested() {
            result.outcome = Outcome::NotAttempted;
            result.error = Some(crate::import::INTERRUPTED.into());
            results.push(result);
            continue;
        }
        if ctx.stop.load(Ordering::SeqCst) {
            result.outcome = Outcome::NotAttempted;
            result.error = Some(format!("not attempted: {}", ctx.fatal_message()));
            results.push(result);
            continue;
        }
        let record = &ctx.records[step.record];
        let outcome = match &step.action {
            Action::Skip => Ok(Outcome::Skipped),
            Action::Unchanged => Ok(Outcome::Unchanged),
            Action::Create { contact, devices, photo } => {
                match create_contact(ctx, contact, &group.known_ids).await {
                    Ok(id) => {
                        result.added.push("contact".into());
                        result.cid = Some(id.clone());
                        cid = Some(id.clone());
                        let photo = photo.then_some(record.photo.as_ref()).flatten();
                        add_all(ctx, &id, devices, photo, &mut result.added).await.map(|_| Outcome::Created)
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Action::Add { fields, devices, photo } => {
                let id = cid.clone().expect("a merge step has a target");
                // Carried by the group's `addcontact`, which succeeded since there is a target.
                result.added.extend(fields.iter().cloned());
                let photo = photo.then_some(record.photo.as_ref()).flatten();
                add_all(ctx, &id, devices, photo, &mut result.added).await.map(|_| Outcome::Merged)
            }
        };
        match outcome {
            Ok(o) => result.outcome = o,
            Err(e) => {
                let fatal = e.is_fatal();
                let message = ctx.fail(e);
                // The error that stops the run refused this record's first call: nothing of it
                // was written, as for the records after it.
                if fatal && result.added.is_empty() {
                    result.outcome = Outcome::NotAttempted;
                    result.error = Some(format!("not attempted: {message}"));
                    results.push(result);
                    continue;
                }
                if cid.is_none() {
                    group_error = Some(format!("the contact could not be created: {message}"));
                }
                result.error = Some(message);
            }
        }
        results.push(result);
    }
    results
}

async fn add_all(
    ctx: &Ctx<'_, impl Remote>,
    cid: &str,
    devices: &[PlannedDevice],
    photo: Option<&SpooledPhoto>,
    added: &mut Vec<String>,
) -> Result<(), Error> {
    for device in devices {
        add_device(ctx, cid, device).await?;
        added.push(format!("{}:{}", device.kind.as_str(), device.value));
    }
    if let Some(photo) = photo {
        add_picture(ctx, cid, photo).await?;
        added.push(match &photo.converted_from {
            Some(from) => format!("photo (converted from {from})"),
            None => "photo".into(),
        });
    }
    Ok(())
}

/// Sends a write, which is not idempotent: after an unanswered attempt (ambiguous, it may have
/// been applied), `landed` looks for it in the account — its result, if it did land — before it
/// is sent again, at most [`AMBIGUOUS_ATTEMPTS`] times in all.
///
/// `send` and `landed` are closures returning futures rather than async closures (`AsyncFn`),
/// whose futures borrow the closure: rustc could not prove those `Send` for every lifetime, and
/// the run's future must be `Send` (it is a spawned task).
async fn write_once<T, Sent, Landed>(
    ctx: &Ctx<'_, impl Remote>,
    send: impl Fn() -> Sent,
    landed: impl Fn() -> Landed,
) -> Result<T, ApiError>
where
    Sent: Future<Output = Result<T, ApiError>>,
    Landed: Future<Output = Result<Option<T>, ApiError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match send().await {
            Ok(value) => return Ok(value),
            Err(e) if e.is_ambiguous() && attempt < AMBIGUOUS_ATTEMPTS => {
                ctx.written.ambiguous_checked.fetch_add(1, Ordering::Relaxed);
                match landed().await {
                    Ok(Some(value)) => return Ok(value),
                    Ok(None) => {}
                    // Whether it landed cannot be told: the write's own error, which says it may
                    // have been applied, and never "not attempted" (even when the check met the
                    // error that stops the run: the next call meets it again).
                    Err(_) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// `addcontact`; an unanswered one landed if the account now has a contact with the same person
/// key that it did not have before the run (`known_ids`) and that this run did not create for
/// another record: that contact is adopted.
async fn create_contact(
    ctx: &Ctx<'_, impl Remote>,
    contact: &NewContact,
    known_ids: &[String],
) -> Result<String, ApiError> {
    let send = || ctx.remote.add_contact(contact);
    // A planned contact always has a name (its person key): no name, nothing to look for.
    let id = match (search_name(contact), dedup::key_of_new(contact)) {
        (Some(name), Some(key)) => {
            let key = &key;
            let landed = move || async move {
                let found = ctx.remote.find_all_contacts(&quote_term(name.trim())).await?;
                let created = ctx.created.lock().unwrap_or_else(|p| p.into_inner());
                let new = |s: &ContactSummary| !known_ids.contains(&s.id) && !created.contains(&s.id);
                Ok(found
                    .into_iter()
                    .find(|s| new(s) && dedup::key_of_summary(s).as_ref() == Some(key))
                    .map(|s| s.id))
            };
            write_once(ctx, send, landed).await?
        }
        _ => send().await?,
    };
    ctx.created.lock().unwrap_or_else(|p| p.into_inner()).insert(id.clone());
    ctx.written.contacts.fetch_add(1, Ordering::Relaxed);
    Ok(id)
}

/// `adddevice`; an unanswered one landed if the contact now holds the device.
async fn add_device(ctx: &Ctx<'_, impl Remote>, cid: &str, device: &PlannedDevice) -> Result<(), ApiError> {
    let request = device.to_new_device(cid);
    let wanted = dedup::device_identity(&device.kind, &device.value, ctx.region);
    let wanted = &wanted;
    let landed = move || async move {
        let detail = ctx.remote.get_contact(cid).await?;
        let held =
            detail.devices.iter().any(|d| dedup::device_identity(&d.kind, &d.value, ctx.region) == *wanted);
        Ok(held.then_some(()))
    };
    let request = &request;
    write_once(ctx, || ctx.remote.add_device(request), landed).await?;
    ctx.written.devices.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// `addpicture`; an unanswered one landed if the contact's picture is now these bytes.
async fn add_picture(ctx: &Ctx<'_, impl Remote>, cid: &str, photo: &SpooledPhoto) -> Result<(), Error> {
    let bytes = ctx.photos.read(photo).map_err(Error::Spool)?;
    let bytes = &bytes;
    let landed = move || async move {
        let picture = ctx.remote.get_picture(cid).await?;
        Ok(picture.is_some_and(|p| p.content == *bytes).then_some(()))
    };
    write_once(ctx, || ctx.remote.add_picture(cid, bytes, photo.image_type), landed).await?;
    ctx.written.photos.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The executor's recovery after unanswered writes, over an in-memory account whose fault hook
/// loses answers (after applying the write, or before), refuses writes, or stops the run.
#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::Arc;
    use std::time::Instant;

    use super::*;
    use crate::formats::Record;
    use crate::import::plan::OnDuplicate;
    use crate::import::read::Inputs;
    use crate::import::{run, ImportRun};
    use crate::mapping::MappingOptions;
    use crate::model::{Contact, Email, Phone, PhoneKind, Photo, Place};
    use crate::progress::Silent;
    use crate::remote::memory::{lost_answer, privacy_refusal, Call, Fault, MemoryRemote};
    use crate::wire::{Action, ContactDetail, ErrorCode, ServiceError};

    fn jpeg() -> Vec<u8> {
        let img = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8 * 16, y as u8 * 16, 128]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    /// `Person<i> Martin`, a mobile and an email, and a photo if asked.
    fn person(i: usize, photo: bool) -> InputRecord {
        let contact = Contact {
            given: Some(format!("Person{i}")),
            family: Some("Martin".into()),
            phones: vec![Phone {
                value: format!("06 12 34 56 {i:02}"),
                kind: PhoneKind::Mobile,
                place: None,
                preferred: false,
                label: None,
            }],
            emails: vec![Email {
                value: format!("person{i}@example.org"),
                place: Some(Place::Work),
                preferred: false,
                label: None,
            }],
            photo: photo.then(|| Photo::Inline { bytes: jpeg(), media_type: Some("image/jpeg".into()) }),
            ..Contact::default()
        };
        let record = Record { source: format!("test#{}", i + 1), contact: Ok(contact), warnings: vec![] };
        InputRecord::from_record(record, &MappingOptions::default())
    }

    fn people(n: usize) -> Vec<InputRecord> {
        (0..n).map(|i| person(i, false)).collect()
    }

    fn options(on_duplicate: OnDuplicate, concurrency: usize) -> ImportOptions {
        ImportOptions {
            on_duplicate,
            dry_run: false,
            region: "FR".into(),
            concurrency,
            interrupt: Interrupt::default(),
            thumbnails: false,
            window: crate::import::spool::WINDOW_RECORDS,
        }
    }

    fn import(remote: &MemoryRemote, records: Vec<InputRecord>, on_duplicate: OnDuplicate) -> ImportRun {
        let opts = options(on_duplicate, 4);
        let inputs = Inputs::new(records).unwrap();
        futures::executor::block_on(run(inputs, remote, &opts, &Silent, Instant::now())).unwrap()
    }

    fn assert_send<T: Send>(_: &T) {}

    /// The CLI runs the import as a task of the runtime's worker pool (`tokio::spawn`), which
    /// needs its future to be `Send`.
    #[test]
    fn the_import_run_future_is_send() {
        let remote = MemoryRemote::new();
        let opts = options(OnDuplicate::Merge, 4);
        let future = run(Inputs::new(people(1)).unwrap(), &remote, &opts, &Silent, Instant::now());
        assert_send(&future);
    }

    fn calls(remote: &MemoryRemote, action: Action) -> u64 {
        remote.stats().calls.get(action.name()).copied().unwrap_or(0)
    }

    /// The account's contacts named `Person<i> Martin`, with the values of their devices.
    fn named(remote: &MemoryRemote, i: usize) -> Vec<ContactDetail> {
        let first = format!("Person{i}");
        remote.contacts().into_values().filter(|d| d.firstname.as_deref() == Some(&first)).collect()
    }

    fn values(d: &ContactDetail) -> Vec<&str> {
        d.devices.iter().map(|d| d.value.as_str()).collect()
    }

    /// A hook that answers `fault` for the `n`-th call (1-based) `matching`, and nothing else.
    fn nth(
        n: usize,
        matching: impl Fn(&Call<'_>) -> bool + Send + Sync + 'static,
        fault: impl Fn() -> Fault + Send + Sync + 'static,
    ) -> impl Fn(&Call<'_>) -> Option<Fault> + Send + Sync + 'static {
        let seen = AtomicUsize::new(0);
        move |call| (matching(call) && seen.fetch_add(1, Ordering::SeqCst) + 1 == n).then(&fault)
    }

    fn is(action: Action) -> impl Fn(&Call<'_>) -> bool + Send + Sync + 'static {
        move |call| call.action() == action
    }

    #[test]
    fn a_lost_addcontact_answer_adopts_the_contact_it_created() {
        let remote = MemoryRemote::new().with_faults(nth(1, is(Action::AddContact), || Fault::LoseAnswer));
        let run = import(&remote, people(1), OnDuplicate::Merge);
        let record = &run.report.record(0).unwrap();
        assert_eq!(record.outcome, Outcome::Created, "{record:?}");
        let created = named(&remote, 0);
        assert_eq!(created.len(), 1, "created once: {created:?}");
        assert_eq!(record.cid.as_deref(), Some(created[0].id.as_str()), "the contact found is adopted");
        assert_eq!(values(&created[0]), ["person0@example.org", "06 12 34 56 00"], "then given its devices");
        assert_eq!(calls(&remote, Action::AddContact), 1, "not sent again");
        assert_eq!(run.report.summary.ambiguous_writes_checked, 1);
    }

    /// The account cannot be asked whether a lost `addcontact` landed (the endpoint now refuses
    /// everything): the record failed, saying the write may have been applied, and is never
    /// reported as not attempted, since its contact may be in the account.
    #[test]
    fn a_lost_addcontact_whose_check_fails_is_failed_not_unattempted() {
        let lost = AtomicBool::new(false);
        let remote = MemoryRemote::new().with_faults(move |call| match call.action() {
            Action::AddContact if !lost.swap(true, Ordering::SeqCst) => Some(Fault::LoseAnswer),
            Action::FindContactList if lost.load(Ordering::SeqCst) => {
                Some(Fault::Refuse(ApiError::Failing {
                    action: Action::FindContactList,
                    count: 10,
                    last: "findcontactlist: HTTP 503".into(),
                }))
            }
            _ => None,
        });
        let run = import(&remote, people(1), OnDuplicate::Merge);
        let record = run.report.record(0).unwrap();
        assert_eq!(record.outcome, Outcome::Failed, "{record:?}");
        assert!(record.error.as_deref().unwrap_or("").contains("may have been applied"), "{record:?}");
        assert_eq!(named(&remote, 0).len(), 1, "it was applied");
    }

    #[test]
    fn a_lost_addcontact_that_did_not_land_is_sent_again() {
        let lost = || Fault::Refuse(lost_answer(Action::AddContact));
        let remote = MemoryRemote::new().with_faults(nth(1, is(Action::AddContact), lost));
        let run = import(&remote, people(1), OnDuplicate::Merge);
        assert_eq!(run.report.record(0).unwrap().outcome, Outcome::Created);
        assert_eq!(named(&remote, 0).len(), 1);
        assert_eq!(calls(&remote, Action::AddContact), 2, "looked for, not found, sent again");
        assert_eq!(run.report.summary.ambiguous_writes_checked, 1);
    }

    /// `--on-duplicate create` next to a namesake: the namesake is not the lost contact.
    #[test]
    fn a_lost_addcontact_does_not_adopt_a_namesake_that_was_there_before() {
        let lost = || Fault::Refuse(lost_answer(Action::AddContact));
        let remote = MemoryRemote::new().with_faults(nth(2, is(Action::AddContact), lost));
        let first = import(&remote, people(1), OnDuplicate::Merge);
        assert_eq!(first.report.record(0).unwrap().outcome, Outcome::Created);
        let run = import(&remote, people(1), OnDuplicate::Create);
        assert_eq!(run.report.record(0).unwrap().outcome, Outcome::Created);
        let both = named(&remote, 0);
        assert_eq!(both.len(), 2, "the new one was sent again, not confused with the old: {both:?}");
        assert_ne!(run.report.record(0).unwrap().cid, first.report.record(0).unwrap().cid);
    }

    /// `--on-duplicate create` with the same person twice in the input: the second one's lost
    /// `addcontact` is not the contact the first one just created.
    #[test]
    fn a_lost_addcontact_does_not_adopt_the_contact_another_record_created() {
        let lost = || Fault::Refuse(lost_answer(Action::AddContact));
        let remote = MemoryRemote::new().with_faults(nth(2, is(Action::AddContact), lost));
        let run = import(&remote, vec![person(0, false), person(0, false)], OnDuplicate::Create);
        let outcomes: Vec<Outcome> = run.report.records().map(|r| r.unwrap().outcome).collect();
        assert_eq!(outcomes, [Outcome::Created, Outcome::Created]);
        assert_eq!(named(&remote, 0).len(), 2, "two contacts, as asked");
        assert_ne!(run.report.record(0).unwrap().cid, run.report.record(1).unwrap().cid);
    }

    #[test]
    fn a_lost_adddevice_answer_is_not_sent_twice() {
        let remote = MemoryRemote::new().with_faults(nth(1, is(Action::AddDevice), || Fault::LoseAnswer));
        let run = import(&remote, people(1), OnDuplicate::Merge);
        assert_eq!(
            run.report.record(0).unwrap().outcome,
            Outcome::Created,
            "{:?}",
            run.report.record(0).unwrap()
        );
        assert_eq!(
            values(&named(&remote, 0)[0]),
            ["person0@example.org", "06 12 34 56 00"],
            "the phone once"
        );
        // Two devices (the work email, the phone): the first one's answer was lost, and found.
        assert_eq!(calls(&remote, Action::AddDevice), 2);
        assert_eq!(calls(&remote, Action::GetContact), 1, "the contact was checked");
    }

    #[test]
    fn a_lost_adddevice_that_did_not_land_is_sent_again() {
        let lost = || Fault::Refuse(lost_answer(Action::AddDevice));
        let remote = MemoryRemote::new().with_faults(nth(1, is(Action::AddDevice), lost));
        let run = import(&remote, people(1), OnDuplicate::Merge);
        assert_eq!(run.report.record(0).unwrap().outcome, Outcome::Created);
        assert_eq!(values(&named(&remote, 0)[0]), ["person0@example.org", "06 12 34 56 00"]);
        assert_eq!(calls(&remote, Action::AddDevice), 3, "the lost one twice");
    }

    #[test]
    fn a_lost_addpicture_answer_is_checked_by_its_bytes() {
        let remote = MemoryRemote::new().with_faults(nth(1, is(Action::AddPicture), || Fault::LoseAnswer));
        let run = import(&remote, vec![person(0, true)], OnDuplicate::Merge);
        assert_eq!(
            run.report.record(0).unwrap().outcome,
            Outcome::Created,
            "{:?}",
            run.report.record(0).unwrap()
        );
        assert!(run.report.record(0).unwrap().added.iter().any(|a| a == "photo"));
        assert_eq!((calls(&remote, Action::AddPicture), calls(&remote, Action::GetPicture)), (1, 1));
    }

    /// An answer that never comes, four times: the record fails, the run goes on.
    #[test]
    fn a_write_never_answered_fails_its_record_after_four_attempts() {
        let remote = MemoryRemote::new().with_faults(|call| match call {
            Call::AddDevice(d) if d.value.ends_with("01") => {
                Some(Fault::Refuse(lost_answer(Action::AddDevice)))
            }
            _ => None,
        });
        let run = import(&remote, people(3), OnDuplicate::Merge);
        let outcomes: Vec<Outcome> = run.report.records().map(|r| r.unwrap().outcome).collect();
        assert_eq!(outcomes, [Outcome::Created, Outcome::Failed, Outcome::Created]);
        assert!(run.report.record(1).unwrap().error.as_deref().unwrap().contains("may have been applied"));
        assert_eq!(calls(&remote, Action::AddDevice), 2 + (1 + AMBIGUOUS_ATTEMPTS as u64) + 2);
        assert!(run.fatal.is_none());
    }

    /// A write the server refuses (it certainly did not apply it) is not looked for nor re-sent.
    #[test]
    fn a_refused_write_fails_its_record_only() {
        let remote = MemoryRemote::new().with_faults(|call| match call {
            Call::AddDevice(d) if d.value.ends_with("01") => Some(Fault::Refuse(ApiError::Service {
                action: Action::AddDevice,
                error: ServiceError {
                    code: ErrorCode::InvalidParameter,
                    subtype: "value".into(),
                    message: "refused".into(),
                },
            })),
            _ => None,
        });
        let run = import(&remote, people(3), OnDuplicate::Merge);
        let outcomes: Vec<Outcome> = run.report.records().map(|r| r.unwrap().outcome).collect();
        assert_eq!(outcomes, [Outcome::Created, Outcome::Failed, Outcome::Created]);
        assert!(run.report.record(1).unwrap().error.as_deref().unwrap().contains("refused"));
        assert_eq!(calls(&remote, Action::AddDevice), 6, "sent once each");
        assert_eq!((run.report.summary.ambiguous_writes_checked, calls(&remote, Action::GetContact)), (0, 0));
        assert!(run.fatal.is_none());
    }

    /// A refusal no later call can pass (the privacy refusal) stops the run; the records not
    /// reached, and the one refused, are "not attempted" with it.
    #[test]
    fn a_fatal_refusal_stops_the_run() {
        let remote = MemoryRemote::new()
            .with_faults(nth(2, is(Action::AddContact), || Fault::Refuse(privacy_refusal())));
        let run = import(&remote, people(4), OnDuplicate::Merge);
        assert!(matches!(run.fatal, Some(Error::Api(ApiError::Privacy(_)))), "{:?}", run.fatal);
        assert_eq!(run.report.count(Outcome::Created), 1);
        assert_eq!(run.report.count(Outcome::NotAttempted), 3);
        assert_eq!(run.report.count(Outcome::Failed), 0);
        assert_eq!(calls(&remote, Action::AddContact), 2, "nothing sent after the refusal");
    }

    /// Killed after a contact was created but before its devices: the next run adds what is
    /// missing and creates nobody twice.
    #[test]
    fn an_import_killed_midway_resumes_without_duplicates() {
        let killed = Arc::new(AtomicUsize::new(0));
        let dead = killed.clone();
        let remote = MemoryRemote::new().with_faults(move |call| {
            // The third addcontact lands, then the process is gone: nothing answers any more.
            if dead.load(Ordering::SeqCst) >= 3 {
                return Some(Fault::Refuse(ApiError::Unreachable {
                    action: call.action(),
                    message: "killed".into(),
                }));
            }
            if call.action() == Action::AddContact {
                dead.fetch_add(1, Ordering::SeqCst);
            }
            None
        });
        let first = import(&remote, people(5), OnDuplicate::Merge);
        assert!(first.fatal.is_some());
        assert_eq!(remote.contacts().len(), 3);
        assert!(named(&remote, 2)[0].devices.is_empty(), "killed before its devices");

        killed.store(0, Ordering::SeqCst); // a new process
        let again = import(&remote, people(5), OnDuplicate::Merge);
        let outcomes: Vec<Outcome> = again.report.records().map(|r| r.unwrap().outcome).collect();
        assert!(again.fatal.is_none(), "{:?}", again.fatal);
        assert_eq!(
            outcomes,
            [Outcome::Unchanged, Outcome::Unchanged, Outcome::Merged, Outcome::Created, Outcome::Created]
        );
        for i in 0..5 {
            let found = named(&remote, i);
            assert_eq!(found.len(), 1, "Person{i} once: {found:?}");
            assert_eq!(values(&found[0]), [format!("person{i}@example.org"), format!("06 12 34 56 {i:02}")]);
        }
    }

    /// A photo that cannot be read back from the run's spool stops the run, and says so (it used
    /// to read "client configuration: …").
    #[test]
    fn an_unreadable_photo_spool_is_reported_as_such() {
        let remote = MemoryRemote::new();
        let opts = options(OnDuplicate::Merge, 1);
        let with_photo = Inputs::new(vec![person(0, true)]).unwrap();
        // The record's photo points into another spool than the run's (empty) one.
        let inputs = Inputs { photos: Inputs::new([]).unwrap().photos, ..with_photo };
        let run = futures::executor::block_on(run(inputs, &remote, &opts, &Silent, Instant::now())).unwrap();
        assert!(matches!(run.fatal, Some(Error::Spool(_))), "{:?}", run.fatal);
        let error = run.report.record(0).unwrap().error.unwrap();
        assert!(error.starts_with("cannot read the photo back from its temporary file"), "{error}");
        assert_eq!(run.report.record(0).unwrap().outcome, Outcome::Failed);
    }
}
