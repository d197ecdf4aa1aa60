//! Export: enumerate every contact of the account, fetch each one with its picture, write
//! vCards to one file or a vdir.

pub mod enumerate;
pub mod vdir;
