//! An account in memory, for unit tests of what runs over a [`Remote`] (import's snapshot and
//! executor, export's enumeration and reads, `check`): the sandbox's behaviour without a server.
//!
//! Like the sandbox: search terms are read and matched by [`crate::wire::search`]; pages are
//! sorted by folded last name (nickname, else company, for nameless contacts), first name, then
//! id; `addcontact` and `adddevice` parameters go through their wire forms (so they are trimmed and
//! validated as the server reads them); `addcontact` stores `emailperso` as the contact's first
//! email device; unknown ids answer "data not found". [`super::conformance`] holds both to that.
//!
//! For tests, beyond the sandbox: a page cap with or without paging ([`MemoryRemote::set_paging`]),
//! summaries without the nickname/company they matched on ([`MemoryRemote::set_send_names`]), a
//! bound on pages followed, and a fault hook ([`MemoryRemote::with_faults`]) that sees every call
//! and may refuse it, lose its answer (after applying a write: the ambiguous case) or answer a
//! page of its own.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::{ready, Future};
use std::sync::{Mutex, MutexGuard};

use super::Remote;
use crate::client::limits::DEFAULT_PAGES_PER_SEARCH;
use crate::client::{ApiError, CallStats, WithWarnings};
use crate::wire::search::{fold, parse_term, searchable_names};
use crate::wire::{
    param, Action, ContactDetail, ContactPage, ContactSummary, Device, DeviceSubtype, DeviceType, ErrorCode,
    ImageType, NewContact, NewDevice, Picture, PrivacyRefusal, RequestError, ServiceError,
};

/// One call, as the fault hook sees it (before anything is applied).
#[derive(Debug, Clone, Copy)]
pub enum Call<'a> {
    Find { search: &'a str, page: Option<u32> },
    GetContact(&'a str),
    GetPicture(&'a str),
    AddContact(&'a NewContact),
    AddDevice(&'a NewDevice),
    AddPicture(&'a str),
}

impl Call<'_> {
    pub fn action(&self) -> Action {
        match self {
            Call::Find { .. } => Action::FindContactList,
            Call::GetContact(_) => Action::GetContact,
            Call::GetPicture(_) => Action::GetPicture,
            Call::AddContact(_) => Action::AddContact,
            Call::AddDevice(_) => Action::AddDevice,
            Call::AddPicture(_) => Action::AddPicture,
        }
    }
}

/// What the fault hook makes of a call.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Fail with this error; nothing is applied.
    Refuse(ApiError),
    /// Apply the call, then lose its answer: a write comes back ambiguous (it *was* applied),
    /// a read as a transport error.
    LoseAnswer,
    /// Answer this page instead (`findcontactlist` only): a server that misreports its pages.
    Page(ContactPage),
}

type FaultHook = dyn Fn(&Call<'_>) -> Option<Fault> + Send + Sync;

/// An in-memory account (see the module documentation).
pub struct MemoryRemote {
    state: Mutex<State>,
    faults: Option<Box<FaultHook>>,
}

struct State {
    contacts: HashMap<String, Stored>,
    /// Listed, but unreadable (see [`MemoryRemote::set_not_found`]).
    not_found: HashSet<String>,
    /// Ids handed out by `addcontact` and `adddevice`.
    next_id: u64,
    page_size: Option<u32>,
    paging: bool,
    send_names: bool,
    max_pages: u32,
    stats: CallStats,
}

struct Stored {
    detail: ContactDetail,
    picture: Option<Picture>,
}

impl Default for MemoryRemote {
    fn default() -> MemoryRemote {
        MemoryRemote::new()
    }
}

impl MemoryRemote {
    /// An empty account, uncapped pages, paging honoured.
    pub fn new() -> MemoryRemote {
        MemoryRemote {
            state: Mutex::new(State {
                contacts: HashMap::new(),
                not_found: HashSet::new(),
                next_id: 1,
                page_size: None,
                paging: true,
                send_names: true,
                max_pages: DEFAULT_PAGES_PER_SEARCH,
                stats: CallStats::default(),
            }),
            faults: None,
        }
    }

    /// An account holding `contacts` (their ids kept).
    pub fn with_contacts(contacts: Vec<ContactDetail>) -> MemoryRemote {
        let remote = MemoryRemote::new();
        remote.set_contacts(contacts);
        remote
    }

    /// Every call goes through `hook` first (see [`Fault`]).
    pub fn with_faults(mut self, hook: impl Fn(&Call<'_>) -> Option<Fault> + Send + Sync + 'static) -> Self {
        self.faults = Some(Box::new(hook));
        self
    }

    /// Replaces the account's contacts with `contacts`; the pictures of the ids still there stay.
    pub fn set_contacts(&self, contacts: Vec<ContactDetail>) {
        let mut state = self.lock();
        let mut old = std::mem::take(&mut state.contacts);
        state.contacts = contacts
            .into_iter()
            .map(|d| {
                let picture = old.remove(&d.id).and_then(|s| s.picture);
                (d.id.clone(), Stored { detail: d, picture })
            })
            .collect();
    }

    /// These contacts stay listed, but `getcontact` answers "data not found" for them (as the
    /// sandbox's `--not-found-rate` does at random).
    pub fn set_not_found(&self, ids: &[String]) {
        self.lock().not_found = ids.iter().cloned().collect();
    }

    /// Gives a contact a picture as stored (no check), as `sandbox seed` can.
    pub fn set_picture(&self, cid: &str, picture: Picture) {
        if let Some(stored) = self.lock().contacts.get_mut(cid) {
            stored.picture = Some(picture);
        }
    }

    /// Pages of at most `page_size` entries (`None`: everything on page 1); `paging`: whether the
    /// `page` parameter is honoured (else every request gets page 1).
    pub fn set_paging(&self, page_size: Option<u32>, paging: bool) {
        let mut state = self.lock();
        (state.page_size, state.paging) = (page_size, paging);
    }

    /// Whether summaries carry the nickname and company of nameless contacts (the sandbox's do).
    pub fn set_send_names(&self, send_names: bool) {
        self.lock().send_names = send_names;
    }

    /// What [`Remote::max_pages`] answers.
    pub fn set_max_pages(&self, max_pages: u32) {
        self.lock().max_pages = max_pages;
    }

    /// Every contact as stored, by id.
    pub fn contacts(&self) -> BTreeMap<String, ContactDetail> {
        self.lock().contacts.iter().map(|(id, s)| (id.clone(), s.detail.clone())).collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts the call and asks the hook what becomes of it.
    fn fault(&self, call: &Call<'_>) -> Option<Fault> {
        *self.lock().stats.calls.entry(call.action().name()).or_default() += 1;
        self.faults.as_ref().and_then(|hook| hook(call))
    }

    /// Runs a call: applies it unless the hook refuses it, and loses its answer if told to.
    fn call<T>(
        &self,
        call: Call<'_>,
        apply: impl FnOnce(&mut State) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let fault = self.fault(&call);
        self.apply(call.action(), fault, apply)
    }

    fn apply<T>(
        &self,
        action: Action,
        fault: Option<Fault>,
        apply: impl FnOnce(&mut State) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        match fault {
            Some(Fault::Refuse(error)) => Err(error),
            Some(Fault::Page(_)) | None => apply(&mut self.lock()),
            Some(Fault::LoseAnswer) => {
                let mut state = self.lock();
                let applied = apply(&mut state);
                if action.is_write() {
                    state.stats.ambiguous += 1;
                }
                applied.and(Err(lost_answer(action)))
            }
        }
    }

    fn find(&self, search: &str, page: Option<u32>) -> Result<ContactPage, ApiError> {
        let call = Call::Find { search, page };
        match self.fault(&call) {
            Some(Fault::Page(answer)) => Ok(answer),
            fault => self.apply(call.action(), fault, |state| state.find(search, page)),
        }
    }
}

impl State {
    fn find(&self, search: &str, page: Option<u32>) -> Result<ContactPage, ApiError> {
        let refuse = |e: RequestError| service(Action::FindContactList, e.into());
        let term = parse_term(search).map_err(refuse)?;
        let page = match page {
            Some(0) if self.paging => return Err(refuse(RequestError::invalid(param::PAGE, "0"))),
            Some(p) if self.paging => p,
            _ => 1,
        };
        let mut hits: Vec<(SortKey, &ContactDetail)> = self
            .contacts
            .values()
            .map(|s| &s.detail)
            .filter(|d| {
                let names = searchable_names(
                    d.firstname.as_deref(),
                    d.lastname.as_deref(),
                    d.nickname.as_deref(),
                    d.company.as_deref(),
                );
                crate::wire::search::matches(&term, &names)
            })
            .map(|d| (sort_key(d), d))
            .collect();
        hits.sort_by(|a, b| a.0.cmp(&b.0));
        let total = hits.len() as u32;
        let (skip, take, pages) = match self.page_size {
            Some(size) => {
                let size = size.max(1);
                ((page - 1).saturating_mul(size) as usize, size as usize, total.div_ceil(size).max(1))
            }
            // Uncapped: everything is on page 1; later pages are empty.
            None if page == 1 => (0, usize::MAX, 1),
            None => (0, 0, 1),
        };
        let entries = hits.into_iter().skip(skip).take(take).map(|(_, d)| self.summary(d)).collect();
        Ok(ContactPage { total, pages, page, entries })
    }

    /// A listing entry as the sandbox sends it: nickname and company only for nameless contacts.
    fn summary(&self, d: &ContactDetail) -> ContactSummary {
        let nameless = d.firstname.is_none() && d.lastname.is_none();
        let alt = |s: &Option<String>| if nameless && self.send_names { s.clone() } else { None };
        ContactSummary {
            id: d.id.clone(),
            firstname: d.firstname.clone(),
            lastname: d.lastname.clone(),
            nickname: alt(&d.nickname),
            company: alt(&d.company),
        }
    }

    fn stored(&mut self, action: Action, cid: &str) -> Result<&mut Stored, ApiError> {
        self.contacts.get_mut(cid).ok_or_else(|| not_found(action, cid))
    }

    fn new_id(&mut self) -> String {
        loop {
            let id = self.next_id.to_string();
            self.next_id += 1;
            if !self.contacts.contains_key(&id) {
                return id;
            }
        }
    }

    fn add_contact(&mut self, contact: &NewContact) -> Result<String, ApiError> {
        let refuse = |e: ServiceError| service(Action::AddContact, e);
        let query: HashMap<String, String> =
            contact.to_query().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        if !contact.has_identity() {
            return Err(refuse(ServiceError::missing_identity()));
        }
        let c = NewContact::from_query(&query).map_err(|e| refuse(e.into()))?;
        if let Some(b) = c.birthday.as_deref().filter(|b| crate::wire::date::parse(b).is_none()) {
            return Err(refuse(RequestError::invalid(param::BIRTHDAY, b).into()));
        }
        let id = self.new_id();
        let mut detail = ContactDetail {
            id: id.clone(),
            firstname: c.firstname,
            lastname: c.lastname,
            nickname: c.nickname,
            company: c.company,
            function: c.function,
            department: c.department,
            civility: c.civility,
            birthday: c.birthday,
            ..ContactDetail::default()
        };
        if let Some(email) = c.emailperso {
            let device_id = self.new_id();
            detail.devices.push(device(device_id, DeviceType::Email, DeviceSubtype::Internet, 1, email));
        }
        self.contacts.insert(id.clone(), Stored { detail, picture: None });
        Ok(id)
    }

    fn add_device(&mut self, request: &NewDevice) -> Result<(), ApiError> {
        let query: HashMap<String, String> =
            request.to_query().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let d = NewDevice::from_query(&query).map_err(|e| service(Action::AddDevice, e.into()))?;
        let device_id = self.new_id();
        let stored = self.stored(Action::AddDevice, &d.cid)?;
        stored.detail.devices.push(device(device_id, d.kind, d.subtype, d.order, d.value));
        Ok(())
    }

    fn add_picture(&mut self, cid: &str, bytes: &[u8]) -> Result<(), ApiError> {
        let refuse = |message: &str| {
            let error = ServiceError {
                code: ErrorCode::InvalidParameter,
                subtype: param::FILE.into(),
                message: message.into(),
            };
            service(Action::AddPicture, error)
        };
        if bytes.is_empty() {
            return Err(service(Action::AddPicture, RequestError::Missing(param::FILE).into()));
        }
        let kind = ImageType::sniff(bytes)
            .ok_or_else(|| refuse("'file' is invalid: not a JPEG, GIF or BMP image."))?;
        let media_id = self.new_id();
        let stored = self.stored(Action::AddPicture, cid)?;
        stored.picture =
            Some(Picture { id: Some(media_id), content: bytes.to_vec(), image_type: Some(kind) });
        Ok(())
    }
}

/// The sandbox's listing order: folded last name (else nickname, else company), folded first
/// name, then id (numeric order for numeric ids).
type SortKey = (String, String, usize, String);

fn sort_key(d: &ContactDetail) -> SortKey {
    let nonblank = |s: &Option<String>| s.as_deref().filter(|v| !v.trim().is_empty()).map(fold);
    let (first, last) = (nonblank(&d.firstname), nonblank(&d.lastname));
    let alt = match (&first, &last) {
        (None, None) => nonblank(&d.nickname).or_else(|| nonblank(&d.company)),
        _ => None,
    };
    (last.or(alt).unwrap_or_default(), first.unwrap_or_default(), d.id.len(), d.id.clone())
}

fn device(id: String, kind: DeviceType, subtype: DeviceSubtype, order: u32, value: String) -> Device {
    // The API has no info-type parameter: devices added through it are personal.
    Device { id, kind, subtype, info_type: Some("perso".into()), order, display: true, value }
}

fn service(action: Action, error: ServiceError) -> ApiError {
    ApiError::Service { action, error }
}

/// "Data not found", as the sandbox answers it for an unknown contact id.
pub fn not_found(action: Action, cid: &str) -> ApiError {
    service(action, ServiceError::not_found(cid))
}

/// A call sent whose answer never came back (the ambiguous case for a write).
pub fn lost_answer(action: Action) -> ApiError {
    ApiError::Transport {
        action,
        message: "the connection dropped before the answer (memory fault)".into(),
        ambiguous: action.is_write(),
    }
}

/// The privacy refusal: the account owner has not granted access (fatal).
pub fn privacy_refusal() -> ApiError {
    ApiError::Privacy(PrivacyRefusal {
        code: -3,
        detail: "PrivacyAccessDeniedException".into(),
        url: "http://privacy.memory.invalid/consent".into(),
    })
}

impl Remote for MemoryRemote {
    fn find_contacts(
        &self,
        search: &str,
        page: Option<u32>,
    ) -> impl Future<Output = Result<ContactPage, ApiError>> + Send {
        ready(self.find(search, page))
    }

    fn read_contact(
        &self,
        cid: &str,
    ) -> impl Future<Output = Result<WithWarnings<ContactDetail>, ApiError>> + Send {
        let read = self.call(Call::GetContact(cid), |state| match state.not_found.contains(cid) {
            true => Err(not_found(Action::GetContact, cid)),
            false => Ok(state.stored(Action::GetContact, cid)?.detail.clone()),
        });
        ready(read.map(|value| WithWarnings { value, warnings: Vec::new() }))
    }

    fn get_picture(&self, cid: &str) -> impl Future<Output = Result<Option<Picture>, ApiError>> + Send {
        ready(
            self.call(Call::GetPicture(cid), |state| {
                Ok(state.stored(Action::GetPicture, cid)?.picture.clone())
            }),
        )
    }

    fn add_contact(&self, contact: &NewContact) -> impl Future<Output = Result<String, ApiError>> + Send {
        ready(self.call(Call::AddContact(contact), |state| state.add_contact(contact)))
    }

    fn add_device(&self, device: &NewDevice) -> impl Future<Output = Result<(), ApiError>> + Send {
        ready(self.call(Call::AddDevice(device), |state| state.add_device(device)))
    }

    fn add_picture(
        &self,
        cid: &str,
        bytes: &[u8],
        _image_type: ImageType,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        // Like the sandbox, the bytes say what the image is, not the declared type.
        ready(self.call(Call::AddPicture(cid), |state| state.add_picture(cid, bytes)))
    }

    fn max_pages(&self) -> u32 {
        self.lock().max_pages
    }

    fn stats(&self) -> CallStats {
        self.lock().stats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_remote_passes_the_conformance_suite() {
        let remote = MemoryRemote::new();
        remote.set_paging(Some(super::super::conformance::PAGE_SIZE), true);
        super::super::conformance::run(&remote).await;
    }
}
