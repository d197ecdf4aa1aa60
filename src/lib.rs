//! orange-contacts: move address books in and out of the Orange Personal Contacts API.
//!
//! Data flows one way:
//!
//! ```text
//! formats (vCard, CSV) → model::Contact → mapping → import::plan → remote (API calls) → report
//! remote (listing, getcontact, getpicture) → mapping → formats::vcard_write → files   (export)
//! ```
//!
//! `remote::Remote` is the one seam to the account: `client` implements it over HTTP,
//! `remote::memory` in memory for unit tests. Below `commands`, nothing imports `cli` or
//! `commands`: stages return typed errors and outcomes, and `commands` turns them into exit codes.
//! `wire` is the protocol both the `client` and the `sandbox` server speak; they share nothing else.

pub mod atomic_file;
pub mod cli;
pub mod client;
pub mod commands;
pub mod dedup;
pub mod export;
pub mod formats;
pub mod import;
pub mod interrupt;
pub mod listing;
pub mod mapping;
pub mod model;
pub mod photo;
pub mod progress;
pub mod remote;
pub mod report;
pub mod run_lock;
pub mod sandbox;
pub mod source;
pub mod temp_db;
pub mod wire;
