//! The import report's lines, one per input record, kept in a temporary file rather than in
//! memory (a million records make gigabytes of lines): they are put as records finish, in any
//! order, and read back in input order. Memory is 16 bytes per record (where its line is).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::RecordReport;

/// Bytes gathered before they are written to the file.
const PENDING_BYTES: usize = 256 * 1024;

pub struct RecordLines {
    file: File,
    /// Bytes written to `file`, then those still in `pending`.
    end: u64,
    pending: Vec<u8>,
    /// Per record: the offset and length of its line; length 0 for a record not put yet.
    at: Vec<(u64, u32)>,
}

impl RecordLines {
    /// Room for `records` lines (records are numbered from 0).
    pub fn new(records: usize) -> io::Result<RecordLines> {
        Ok(RecordLines {
            file: tempfile::tempfile()?,
            end: 0,
            pending: Vec::new(),
            at: vec![(0, 0); records],
        })
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Whether record `i`'s line was put.
    pub fn has(&self, i: usize) -> bool {
        self.at[i].1 > 0
    }

    /// Stores record `i`'s line (the thumbnail too, which the JSON report leaves out).
    pub fn put(&mut self, i: usize, line: &RecordReport) -> io::Result<()> {
        let bytes = serde_json::to_vec(&(line, &line.thumbnail)).map_err(io::Error::other)?;
        let len = u32::try_from(bytes.len()).map_err(|_| io::Error::other("report line over 4 GB"))?;
        let written = self.end - self.pending.len() as u64;
        self.at[i] = (self.end, len);
        self.end += bytes.len() as u64;
        self.pending.extend_from_slice(&bytes);
        if self.pending.len() >= PENDING_BYTES {
            self.file.write_all_at(&self.pending, written)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Record `i`'s line.
    pub fn get(&self, i: usize) -> io::Result<RecordReport> {
        let (offset, len) = self.at[i];
        if len == 0 {
            return Err(io::Error::other(format!("internal error: no report line for record {}", i + 1)));
        }
        let written = self.end - self.pending.len() as u64;
        let mut bytes = vec![0; len as usize];
        if offset >= written {
            let start = (offset - written) as usize;
            bytes.copy_from_slice(&self.pending[start..start + len as usize]);
        } else {
            self.file.read_exact_at(&mut bytes, offset)?;
        }
        let (mut line, thumbnail): (RecordReport, Option<String>) =
            serde_json::from_slice(&bytes).map_err(io::Error::other)?;
        line.thumbnail = thumbnail;
        Ok(line)
    }

    /// Every line, in input order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = io::Result<RecordReport>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;

    fn line(n: usize) -> RecordReport {
        RecordReport {
            source: format!("f#{n}"),
            name: format!("Person {n}"),
            outcome: if n.is_multiple_of(2) { Outcome::Created } else { Outcome::Merged },
            cid: Some(n.to_string()),
            added: vec!["contact".into()],
            dropped: vec![],
            warnings: vec![],
            error: None,
            thumbnail: n.is_multiple_of(3).then(|| format!("data:{n}")),
        }
    }

    #[test]
    fn lines_put_in_any_order_come_back_in_input_order() {
        let n = 5000;
        let mut lines = RecordLines::new(n).unwrap();
        for i in (0..n).rev().step_by(2).chain((0..n).rev().skip(1).step_by(2)) {
            lines.put(i, &line(i)).unwrap();
        }
        let back: Vec<RecordReport> = lines.iter().map(Result::unwrap).collect();
        assert_eq!(back.len(), n);
        for (i, got) in back.iter().enumerate() {
            assert_eq!((got.source.as_str(), got.outcome), (line(i).source.as_str(), line(i).outcome));
            assert_eq!(got.thumbnail, line(i).thumbnail);
        }
    }
}
