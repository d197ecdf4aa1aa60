//! The integration tests, one binary with a module per topic (ripgrep's shape): one link, and the
//! helpers of `common` shared by all. Each module talks to the real sandbox (`serve`, a child on
//! an ephemeral port) or runs the real binary; `architecture` checks that every file here is listed.

mod common;

mod architecture;
mod atomic_writes;
mod backup_guards;
mod check_streaming;
mod cli_surface;
mod client;
mod config;
mod conformance;
mod csv;
mod export;
mod export_streaming;
mod fatal_errors;
mod formats_split;
mod hostile_input;
mod hostile_server;
mod import;
mod import_fidelity;
mod import_streaming;
mod mapping;
mod over_cap;
mod progress;
mod reimport_memory;
mod remote_seam;
mod reports;
mod sandbox;
mod temp_files;
mod vcard;
mod vcard_output;
