//! Execution: runs a [`Plan`] against the account and records each record's outcome.
//!
//! Groups run concurrently (the client's limiter and semaphore pace the calls); the steps of one
//! group run in order, since later records write to the contact the first one creates. Writes are
//! not idempotent, so an unanswered write is never blindly re-sent: the account is checked first
//! (is there a new contact with this name? does the contact hold this device? this picture?).
//! A fatal error (privacy refusal, bad token, endpoint gone) stops the run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use futures::stream::{self, StreamExt};

use crate::client::ApiError;
use crate::dedup;
use crate::import::account::search_name;
use crate::import::plan::{Action, GroupPlan, Plan, Target};
use crate::import::read::{InputRecord, PhotoSpool, SpooledPhoto};
use crate::import::{Error, ImportOptions};
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

/// Runs the plan. Returns every planned record's result, and the fatal error that stopped the
/// run, if any (records not reached then fail with that reason).
pub async fn execute<R: Remote>(
    plan: &Plan,
    records: &[InputRecord],
    photos: &PhotoSpool,
    remote: &R,
    opts: &ImportOptions,
    progress: &dyn Progress,
    written: &Written,
) -> (Vec<StepResult>, Option<Error>) {
    let fatal: Mutex<Option<Error>> = Mutex::new(None);
    let stop = AtomicBool::new(false);
    let region = opts.region.as_str();
    let ctx = Ctx { records, photos, remote, region, written, stop: &stop, fatal: &fatal };
    let results: Vec<Vec<StepResult>> = stream::iter(&plan.groups)
        .map(|group| {
            let ctx = &ctx;
            async move {
                let out = run_group(ctx, group).await;
                progress.advance(group.steps.len() as u64);
                out
            }
        })
        .buffer_unordered(opts.concurrency.max(1) * 2)
        .collect()
        .await;
    let fatal = fatal.into_inner().unwrap_or_else(|p| p.into_inner());
    (results.into_iter().flatten().collect(), fatal)
}

struct Ctx<'a, R> {
    records: &'a [InputRecord],
    photos: &'a PhotoSpool,
    remote: &'a R,
    region: &'a str,
    written: &'a Written,
    stop: &'a AtomicBool,
    fatal: &'a Mutex<Option<Error>>,
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
        if ctx.stop.load(Ordering::SeqCst) {
            result.error = Some("not attempted: the run stopped on a fatal error".into());
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
                let message = ctx.fail(e);
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
async fn write_once<T>(
    ctx: &Ctx<'_, impl Remote>,
    send: impl AsyncFn() -> Result<T, ApiError>,
    landed: impl AsyncFn() -> Result<Option<T>, ApiError>,
) -> Result<T, ApiError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match send().await {
            Ok(value) => return Ok(value),
            Err(e) if e.is_ambiguous() && attempt < AMBIGUOUS_ATTEMPTS => {
                ctx.written.ambiguous_checked.fetch_add(1, Ordering::Relaxed);
                if let Some(value) = landed().await? {
                    return Ok(value);
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// `addcontact`; an unanswered one landed if the account now has a contact with the same person
/// key that it did not have before the run (`known_ids`): that contact is adopted.
async fn create_contact(
    ctx: &Ctx<'_, impl Remote>,
    contact: &NewContact,
    known_ids: &[String],
) -> Result<String, ApiError> {
    let send = async || ctx.remote.add_contact(contact).await;
    // A planned contact always has a name (its person key): no name, nothing to look for.
    let id = match (search_name(contact), dedup::key_of_new(contact)) {
        (Some(name), Some(key)) => {
            let landed = async || {
                let found = ctx.remote.find_all_contacts(&quote_term(name.trim())).await?;
                let new = |s: &ContactSummary| !known_ids.contains(&s.id);
                Ok(found
                    .into_iter()
                    .find(|s| new(s) && dedup::key_of_summary(s).as_ref() == Some(&key))
                    .map(|s| s.id))
            };
            write_once(ctx, send, landed).await?
        }
        _ => send().await?,
    };
    ctx.written.contacts.fetch_add(1, Ordering::Relaxed);
    Ok(id)
}

/// `adddevice`; an unanswered one landed if the contact now holds the device.
async fn add_device(ctx: &Ctx<'_, impl Remote>, cid: &str, device: &PlannedDevice) -> Result<(), ApiError> {
    let request = device.to_new_device(cid);
    let wanted = dedup::device_identity(&device.kind, &device.value, ctx.region);
    let landed = async || {
        let detail = ctx.remote.get_contact(cid).await?;
        let held =
            detail.devices.iter().any(|d| dedup::device_identity(&d.kind, &d.value, ctx.region) == wanted);
        Ok(held.then_some(()))
    };
    write_once(ctx, async || ctx.remote.add_device(&request).await, landed).await?;
    ctx.written.devices.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// `addpicture`; an unanswered one landed if the contact's picture is now these bytes.
async fn add_picture(ctx: &Ctx<'_, impl Remote>, cid: &str, photo: &SpooledPhoto) -> Result<(), Error> {
    let bytes = ctx.photos.read(photo).map_err(Error::Spool)?;
    let landed = async || {
        let picture = ctx.remote.get_picture(cid).await?;
        Ok(picture.is_some_and(|p| p.content == bytes).then_some(()))
    };
    write_once(ctx, async || ctx.remote.add_picture(cid, &bytes, photo.image_type).await, landed).await?;
    ctx.written.photos.fetch_add(1, Ordering::Relaxed);
    Ok(())
}
