//! The JSON report: the report's data as it is, pretty-printed.

use std::io::{self, Write};

use serde::Serialize;

pub fn write<T: Serialize>(out: &mut impl Write, report: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::from)?;
    out.write_all(b"\n")
}
