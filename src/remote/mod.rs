//! The one seam between the tool and an account: [`Remote`], the API's six actions plus the
//! page-following search built on them. Import (its account snapshot and its executor), export
//! (enumeration and reads) and `check` see the account only through it.
//!
//! Two implementations: the HTTP client [`ApiClient`] (pacing, retries, answer limits, token
//! redaction: see [`crate::client`]), and [`memory::MemoryRemote`], an in-memory account with the
//! sandbox's search semantics and optional page caps and fault hooks, for unit tests.
//! [`conformance`] is one set of assertions both pass (the second against the sandbox over HTTP,
//! in `tests/remote_seam.rs`), so the fake cannot drift from the server.
//!
//! Errors are the client's [`ApiError`] for both: what callers decide on (fatal, ambiguous,
//! "data not found") is the same whichever remote answered.

pub mod conformance;
pub mod memory;

use std::collections::HashSet;
use std::future::Future;

use crate::client::limits::pages_to_follow;
use crate::client::{ApiClient, ApiError, CallStats, WithWarnings};
use crate::wire::{ContactDetail, ContactPage, ContactSummary, ImageType, NewContact, NewDevice, Picture};

/// Every match of one search, gathered over the server's pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matches {
    pub entries: Vec<ContactSummary>,
    /// The server's `total-data`.
    pub total: u32,
}

impl Matches {
    /// Whether every match the server counted is in `entries`.
    pub fn complete(&self) -> bool {
        self.entries.len() as u64 >= u64::from(self.total)
    }
}

/// An account, as the API exposes it. Methods take `&self` and may run concurrently.
pub trait Remote: Sync {
    /// `findcontactlist`: one page of contacts whose first or last name (nickname, else company,
    /// for contacts with neither) starts with `search`, sent as given: quote complex terms with
    /// [`crate::wire::search::quote_term`]. `page` is the sandbox's paging extension; `None`
    /// asks for the first page.
    fn find_contacts(
        &self,
        search: &str,
        page: Option<u32>,
    ) -> impl Future<Output = Result<ContactPage, ApiError>> + Send;

    /// `getcontact`, with what reading the answer had to repair (bytes invalid in its encoding).
    fn read_contact(
        &self,
        cid: &str,
    ) -> impl Future<Output = Result<WithWarnings<ContactDetail>, ApiError>> + Send;

    /// `getpicture`: `None` when the contact has no picture.
    fn get_picture(&self, cid: &str) -> impl Future<Output = Result<Option<Picture>, ApiError>> + Send;

    /// `addcontact`: the new contact's id.
    fn add_contact(&self, contact: &NewContact) -> impl Future<Output = Result<String, ApiError>> + Send;

    /// `adddevice`.
    fn add_device(&self, device: &NewDevice) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// `addpicture`.
    fn add_picture(
        &self,
        cid: &str,
        bytes: &[u8],
        image_type: ImageType,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Most pages followed for one search, whatever the server claims.
    fn max_pages(&self) -> u32;

    /// Calls made so far through this remote.
    fn stats(&self) -> CallStats;

    /// `getcontact`, the contact only.
    fn get_contact(&self, cid: &str) -> impl Future<Output = Result<ContactDetail, ApiError>> + Send {
        async move { Ok(self.read_contact(cid).await?.value) }
    }

    /// Every match of `search` over all pages (page 1, then 2..nbpage), in the server's order,
    /// de-duplicated by id. Stops early when a server ignores `page` (nothing new comes back),
    /// once `total-data` entries are in hand, or after the pages `total-data` needs, at most
    /// [`Remote::max_pages`] ([`pages_to_follow`]). [`Matches::complete`] tells whether every
    /// match was obtained.
    fn find_matches(&self, search: &str) -> impl Future<Output = Result<Matches, ApiError>> + Send {
        async move {
            let first = self.find_contacts(search, None).await?;
            let last_page = pages_to_follow(&first, self.max_pages());
            let mut seen = HashSet::new();
            let mut all: Vec<ContactSummary> =
                first.entries.into_iter().filter(|e| seen.insert(e.id.clone())).collect();
            let mut page = 2;
            while page <= last_page && (all.len() as u32) < first.total {
                let next = self.find_contacts(search, Some(page)).await?;
                let before = all.len();
                for entry in next.entries {
                    if seen.insert(entry.id.clone()) {
                        all.push(entry);
                    }
                }
                if all.len() == before {
                    break; // paging ignored or exhausted: nothing new
                }
                page += 1;
            }
            Ok(Matches { entries: all, total: first.total })
        }
    }

    /// [`Remote::find_matches`], the entries only.
    fn find_all_contacts(
        &self,
        search: &str,
    ) -> impl Future<Output = Result<Vec<ContactSummary>, ApiError>> + Send {
        async move { Ok(self.find_matches(search).await?.entries) }
    }
}

impl Remote for ApiClient {
    fn find_contacts(
        &self,
        search: &str,
        page: Option<u32>,
    ) -> impl Future<Output = Result<ContactPage, ApiError>> + Send {
        ApiClient::find_contacts(self, search, page)
    }

    fn read_contact(
        &self,
        cid: &str,
    ) -> impl Future<Output = Result<WithWarnings<ContactDetail>, ApiError>> + Send {
        ApiClient::read_contact(self, cid)
    }

    fn get_picture(&self, cid: &str) -> impl Future<Output = Result<Option<Picture>, ApiError>> + Send {
        ApiClient::get_picture(self, cid)
    }

    fn add_contact(&self, contact: &NewContact) -> impl Future<Output = Result<String, ApiError>> + Send {
        ApiClient::add_contact(self, contact)
    }

    fn add_device(&self, device: &NewDevice) -> impl Future<Output = Result<(), ApiError>> + Send {
        ApiClient::add_device(self, device)
    }

    fn add_picture(
        &self,
        cid: &str,
        bytes: &[u8],
        image_type: ImageType,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        ApiClient::add_picture(self, cid, bytes, image_type)
    }

    fn max_pages(&self) -> u32 {
        self.limits().pages_per_search
    }

    fn stats(&self) -> CallStats {
        ApiClient::stats(self)
    }
}
