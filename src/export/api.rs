//! The export's view of the account through the real client: [`crate::client::ApiClient`] as a
//! [`Directory`] and [`Account`]. Errors keep the client's (token-free) message; fatal ones stop
//! the run, "data not found" on a read means the contact was deleted meanwhile.

use crate::client::{ApiClient, ApiError, WithWarnings};
use crate::export::{Account, AccountError, Directory};
use crate::wire::search::quote_term;
use crate::wire::{ContactDetail, ContactPage, ErrorCode, Picture};

fn convert(e: ApiError) -> AccountError {
    AccountError {
        message: crate::client::redact(&e.to_string()),
        fatal: e.is_fatal(),
        gone: e.service_code() == Some(ErrorCode::DataNotFound),
    }
}

impl Directory for ApiClient {
    async fn find(&self, search: &str, page: Option<u32>) -> Result<ContactPage, AccountError> {
        self.find_contacts(&quote_term(search), page).await.map_err(convert)
    }

    fn max_pages(&self) -> u32 {
        self.limits().pages_per_search
    }
}

impl Account for ApiClient {
    async fn get_contact(&self, id: &str) -> Result<WithWarnings<ContactDetail>, AccountError> {
        self.read_contact(id).await.map_err(convert)
    }

    async fn get_picture(&self, id: &str) -> Result<Option<Picture>, AccountError> {
        ApiClient::get_picture(self, id).await.map_err(convert)
    }

    fn api_calls(&self) -> u64 {
        self.stats().requests()
    }
}
