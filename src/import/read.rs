//! Reading stage shared by `import` and `inspect`: files → records → mapped API calls.
//!
//! A file that cannot be opened is fatal (nothing has been written yet); a record that cannot be
//! read or mapped becomes an invalid [`InputRecord`], never an abort.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};

use crate::formats::{self, Chunk, Format, Record};
use crate::import::spool::RecordSpool;
use crate::mapping::{self, Mapped, MappingOptions};
use crate::photo::PlannedPhoto;
use crate::wire::ImageType;

/// One input record after reading and mapping.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct InputRecord {
    pub source: String,
    pub name: String,
    pub warnings: Vec<String>,
    /// The API calls this record maps to (absent when the record could not be read at all).
    pub mapped: Option<Mapped>,
    /// Why the record cannot be imported: unreadable, or mapped as invalid.
    pub error: Option<String>,
    /// The photo to upload, once moved out of memory into the run's [`PhotoSpool`].
    pub photo: Option<SpooledPhoto>,
}

impl InputRecord {
    pub fn from_record(record: Record, opts: &MappingOptions) -> InputRecord {
        match record.contact {
            Ok(contact) => {
                let mapped = mapping::to_api(&contact, opts);
                let error = mapped.invalid.clone();
                let mut warnings = record.warnings;
                warnings.extend(mapped.warnings.iter().cloned());
                let named_after_a_device = contact.nickname.as_deref().is_none_or(|n| n.trim().is_empty())
                    && mapped.contact.nickname.is_some();
                let name = match &mapped.contact.nickname {
                    // No name of its own: the one it is imported under (its phone or email).
                    Some(nickname) if named_after_a_device => nickname.clone(),
                    _ => contact.display_name(),
                };
                InputRecord {
                    source: record.source,
                    name,
                    warnings,
                    mapped: Some(mapped),
                    error,
                    photo: None,
                }
            }
            Err(reason) => InputRecord {
                source: record.source,
                name: String::new(),
                warnings: record.warnings,
                mapped: None,
                error: Some(reason),
                photo: None,
            },
        }
    }

    /// The mapped calls of a valid record.
    pub fn valid(&self) -> Option<&Mapped> {
        self.mapped.as_ref().filter(|_| self.error.is_none())
    }
}

/// Chunks between the reader and the consumer at most: enough to keep every core busy, few
/// enough to bound memory (a chunk is at most 256 KB of cards or 512 CSV rows).
const CHUNKS_IN_FLIGHT_PER_THREAD: usize = 3;

/// Streams every record of every file, mapped, to `each`, in input order.
///
/// One thread cuts the input into chunks; a pool of one worker per core parses and maps whole
/// chunks (parsing and mapping are most of the cost); the calling thread puts the chunks back
/// in order and runs `each`. Chunks in flight are capped, so memory does not grow with the file
/// even when one chunk is slow (a card with a big photo).
///
/// `each` borrows every record and takes what it keeps (`std::mem::take`); the rest goes back
/// to the worker that built it to be dropped there: the allocator frees memory on the thread
/// that allocated it several times faster than on another one, and this path is dominated by
/// small allocations.
pub fn for_each_record(
    files: &[PathBuf],
    format: Format,
    opts: &MappingOptions,
    mut each: impl FnMut(&mut InputRecord) -> std::io::Result<()>,
) -> Result<Vec<String>, InputError> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut warnings = Vec::new();
    for given in files {
        // A folder (a vdir) is its `.vcf` files, as `check` reads it.
        let expanded = formats::paths::expand_paths(std::slice::from_ref(given));
        if expanded.is_empty() {
            warnings.push(format!("{} holds no .vcf file: nothing read from it", given.display()));
        }
        for path in expanded {
            let path = path.map_err(InputError::Folder)?;
            // Its message names the file.
            let reader = formats::read_path(&path, format)?;
            let mut records = 0u64;
            let mut counted = |record: &mut InputRecord| {
                records += 1;
                each(record)
            };
            run_pool(reader, opts, workers, &mut counted).map_err(|stop| match stop {
                Stop::Consumer(source) => InputError::Consumer { path: path.clone(), source },
                Stop::Worker => InputError::Worker { path: path.clone() },
            })?;
            if records == 0 {
                warnings.push(empty_input(&path));
            }
        }
    }
    Ok(warnings)
}

/// Why reading the input files stopped (a bad record never stops it: it becomes an invalid one).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read the folder {0}")]
    Folder(String),
    /// The file cannot be opened or is not contacts; the message names it.
    #[error(transparent)]
    Open(#[from] formats::ReadError),
    /// What was done with the records failed (the photo spool, a report being written).
    #[error("while reading {}: {source}", path.display())]
    Consumer { path: PathBuf, source: std::io::Error },
    #[error("while reading {}: internal error: a reading worker failed (please report it)", path.display())]
    Worker { path: PathBuf },
    #[error("cannot create a temporary file for photos: {0}")]
    Spool(std::io::Error),
}

/// Why [`run_pool`] stopped early.
enum Stop {
    Consumer(std::io::Error),
    Worker,
}

/// The warning for an input that gave no record: empty, or (CSV) a header alone.
fn empty_input(path: &std::path::Path) -> String {
    let empty = path.as_os_str() != "-" && std::fs::metadata(path).is_ok_and(|m| m.len() == 0);
    match empty {
        true => format!("{} is empty: no contact read from it", path.display()),
        false => format!("{} holds no contact", path.display()),
    }
}

fn run_pool(
    mut reader: formats::RecordReader,
    opts: &MappingOptions,
    workers: usize,
    each: &mut impl FnMut(&mut InputRecord) -> std::io::Result<()>,
) -> Result<(), Stop> {
    let in_flight = workers * CHUNKS_IN_FLIGHT_PER_THREAD;
    std::thread::scope(|scope| {
        // A slot is taken by the reader before it sends a chunk and given back once the chunk's
        // records went through `each`; when the consumer stops (an error), every channel closes
        // and the threads end.
        let (slot_taken, slots) = sync_channel::<()>(in_flight);
        let (chunk_tx, chunk_rx) = sync_channel::<(usize, Chunk)>(in_flight);
        // `Err` when a worker panicked outside the per-record guards: its chunk is lost, so the
        // run must stop (waiting for that chunk would hang).
        type ChunkResult = Result<Vec<InputRecord>, ()>;
        let (mapped_tx, mapped_rx) = sync_channel::<(usize, usize, ChunkResult)>(in_flight);
        scope.spawn(move || {
            for seq in 0.. {
                let Some(chunk) = reader.cut_chunk() else { break };
                if slot_taken.send(()).is_err() || chunk_tx.send((seq, chunk)).is_err() {
                    break;
                }
            }
        });
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let mut returns = Vec::with_capacity(workers);
        for worker in 0..workers {
            let (chunk_rx, mapped_tx) = (chunk_rx.clone(), mapped_tx.clone());
            let (returned_tx, returned) = std::sync::mpsc::channel::<Vec<InputRecord>>();
            returns.push(returned_tx);
            scope.spawn(move || loop {
                // Records `each` is done with, dropped here where they were allocated.
                returned.try_iter().for_each(drop);
                let next = chunk_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((seq, chunk)) = next else { break };
                let mapped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    chunk.parse().into_iter().map(|r| map_one(r, opts)).collect()
                }));
                let failed = mapped.is_err();
                if mapped_tx.send((seq, worker, mapped.map_err(|_| ()))).is_err() || failed {
                    break;
                }
            });
        }
        drop((chunk_rx, mapped_tx));
        let mut waiting: BTreeMap<usize, (usize, Vec<InputRecord>)> = BTreeMap::new();
        let mut next = 0;
        for (seq, worker, mapped) in mapped_rx {
            let Ok(mapped) = mapped else {
                return Err(Stop::Worker);
            };
            waiting.insert(seq, (worker, mapped));
            while let Some((worker, mut records)) = waiting.remove(&next) {
                for record in &mut records {
                    each(record).map_err(Stop::Consumer)?;
                }
                // A worker that already ended leaves its records to be dropped here.
                let _ = returns[worker].send(records);
                next += 1;
                let _ = slots.recv();
            }
        }
        Ok(())
    })
}

/// Maps one record; a panic in the mapping (an image decoder on hostile bytes, say) makes that
/// record invalid instead of ending the run.
fn map_one(record: Record, opts: &MappingOptions) -> InputRecord {
    let (source, warnings) = (record.source.clone(), record.warnings.clone());
    let mapped =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| InputRecord::from_record(record, opts)));
    mapped.unwrap_or_else(|_| InputRecord {
        source,
        name: String::new(),
        warnings,
        mapped: None,
        error: Some("internal error while mapping this record (please report it)".into()),
        photo: None,
    })
}

/// The records of an import run, in a temporary database ([`RecordSpool`]), with their photos
/// moved to a temporary file: neither a million records nor a phone export of a few gigabytes
/// of photos is held in memory.
pub struct Inputs {
    pub records: RecordSpool,
    pub photos: PhotoSpool,
    /// About whole inputs: an empty file, a folder with no card.
    pub warnings: Vec<String>,
}

impl Inputs {
    /// Takes records (photos still in their mapping) and spools the photos.
    pub fn new(records: impl IntoIterator<Item = InputRecord>) -> std::io::Result<Inputs> {
        let mut inputs =
            Inputs { records: RecordSpool::new()?, photos: PhotoSpool::new()?, warnings: Vec::new() };
        for mut record in records {
            inputs.push(&mut record)?;
        }
        Ok(inputs)
    }

    /// Stores `record`, which goes back to its reading worker to be dropped there.
    fn push(&mut self, record: &mut InputRecord) -> std::io::Result<()> {
        if let Some(photo) = record.mapped.as_mut().and_then(|m| m.photo.take()) {
            record.photo = Some(self.photos.put(photo)?);
        }
        self.records.push(record)
    }
}

/// Reads every record of every file into the run's spools (the import needs them all to
/// deduplicate).
pub fn read_all(files: &[PathBuf], format: Format, opts: &MappingOptions) -> Result<Inputs, InputError> {
    let mut inputs = Inputs::new([]).map_err(InputError::Spool)?;
    inputs.warnings = for_each_record(files, format, opts, |r| inputs.push(r))?;
    Ok(inputs)
}

/// A photo kept in the spool: its place there and what the upload needs to know.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpooledPhoto {
    pub image_type: ImageType,
    /// The source format when the photo was converted to JPEG.
    pub converted_from: Option<String>,
    offset: u64,
    len: usize,
}

/// An anonymous temporary file holding the photos of a run (deleted by the OS when closed).
pub struct PhotoSpool {
    file: Mutex<std::fs::File>,
    end: u64,
}

impl PhotoSpool {
    pub fn new() -> std::io::Result<PhotoSpool> {
        let file = tempfile::tempfile()?;
        Ok(PhotoSpool { file: Mutex::new(file), end: 0 })
    }

    fn put(&mut self, photo: PlannedPhoto) -> std::io::Result<SpooledPhoto> {
        let file = self.file.get_mut().unwrap_or_else(|p| p.into_inner());
        file.seek(SeekFrom::Start(self.end))?;
        file.write_all(&photo.bytes)?;
        let spooled = SpooledPhoto {
            image_type: photo.image_type,
            converted_from: photo.converted_from,
            offset: self.end,
            len: photo.bytes.len(),
        };
        self.end += photo.bytes.len() as u64;
        Ok(spooled)
    }

    /// The bytes of a spooled photo.
    pub fn read(&self, photo: &SpooledPhoto) -> std::io::Result<Vec<u8>> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.seek(SeekFrom::Start(photo.offset))?;
        let mut bytes = vec![0; photo.len];
        file.read_exact(&mut bytes)?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vCard file of `cards` cards, big enough to make many chunks.
    fn cards_file(cards: usize) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".vcf").tempfile().unwrap();
        for i in 0..cards {
            write!(file, "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Name{i};Given{i}\r\nTEL:+33 6 12 34 {:02} {:02}\r\nEND:VCARD\r\n", i % 100, i / 100 % 100).unwrap();
        }
        file
    }

    #[test]
    fn records_come_out_in_input_order_across_workers() {
        let file = cards_file(5000);
        let mut sources = Vec::new();
        for_each_record(&[file.path().to_path_buf()], Format::Auto, &MappingOptions::default(), |r| {
            assert!(r.valid().is_some(), "{r:?}");
            sources.push(std::mem::take(&mut r.source));
            Ok(())
        })
        .unwrap();
        let want: Vec<String> = (1..=5000).map(|n| format!("{}#{n}", file.path().display())).collect();
        assert_eq!(sources, want);
    }

    #[test]
    fn an_error_in_the_consumer_stops_every_thread() {
        let file = cards_file(20_000);
        let mut seen = 0;
        let err =
            for_each_record(&[file.path().to_path_buf()], Format::Auto, &MappingOptions::default(), |_| {
                seen += 1;
                if seen == 1500 {
                    return Err(std::io::Error::other("stop here"));
                }
                Ok(())
            })
            .unwrap_err();
        assert!(
            matches!(&err, InputError::Consumer { source, .. } if source.to_string() == "stop here"),
            "{err}"
        );
        assert!(err.to_string().starts_with("while reading"), "{err}");
        assert_eq!(seen, 1500);
    }
}
