//! Reading stage shared by `import` and `inspect`: files → records → mapped API calls.
//!
//! A file that cannot be opened is fatal (nothing has been written yet); a record that cannot be
//! read or mapped becomes an invalid [`InputRecord`], never an abort.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context;

use crate::formats::{self, Format, Record};
use crate::mapping::{self, Mapped, MappingOptions};
use crate::photo::PlannedPhoto;
use crate::wire::ImageType;

/// One input record after reading and mapping.
#[derive(Debug, Clone)]
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
                InputRecord {
                    source: record.source,
                    name: contact.display_name(),
                    warnings: record.warnings,
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

/// Records mapped together: enough to keep every core busy, few enough to keep memory flat.
const MAP_BATCH: usize = 512;

/// Streams every record of every file, mapped, to `each`, in input order. Reading (cutting and
/// parsing cards) runs on its own thread while the previous batch is mapped, and mapping (names,
/// photo conversion, phone keys), which costs as much as parsing, is spread over the cores.
pub fn for_each_record(
    files: &[PathBuf],
    format: Format,
    opts: &MappingOptions,
    mut each: impl FnMut(InputRecord) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for path in files {
        let reader =
            formats::read_path(path, format).with_context(|| format!("cannot read {}", path.display()))?;
        std::thread::scope(|scope| {
            let (batches, received) = std::sync::mpsc::sync_channel::<Vec<Record>>(2);
            scope.spawn(move || {
                let mut reader = reader;
                loop {
                    let batch: Vec<Record> = reader.by_ref().take(MAP_BATCH).collect();
                    if batch.is_empty() || batches.send(batch).is_err() {
                        break; // the end, or the consumer stopped on an error
                    }
                }
            });
            for batch in received {
                for record in map_batch(batch, opts, threads) {
                    each(record)?;
                }
            }
            Ok::<(), anyhow::Error>(())
        })?;
    }
    Ok(())
}

/// Maps a batch of records on up to `threads` threads, keeping their order.
fn map_batch(batch: Vec<Record>, opts: &MappingOptions, threads: usize) -> Vec<InputRecord> {
    if threads <= 1 || batch.len() < 64 {
        return batch.into_iter().map(|r| map_one(r, opts)).collect();
    }
    let chunk = batch.len().div_ceil(threads);
    let mut chunks: Vec<Vec<Record>> = Vec::with_capacity(threads);
    let mut rest = batch;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        chunks.push(rest);
        rest = tail;
    }
    chunks.push(rest);
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| scope.spawn(move || c.into_iter().map(|r| map_one(r, opts)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("map_one contains panics")).collect()
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

/// The records of an import run, with their photos moved to a temporary file: a phone export
/// of a few gigabytes of photos is not held in memory.
pub struct Inputs {
    pub records: Vec<InputRecord>,
    pub photos: PhotoSpool,
}

impl Inputs {
    /// Takes records (photos still in their mapping) and spools the photos.
    pub fn new(records: impl IntoIterator<Item = InputRecord>) -> anyhow::Result<Inputs> {
        let mut inputs = Inputs { records: Vec::new(), photos: PhotoSpool::new()? };
        for record in records {
            inputs.push(record)?;
        }
        Ok(inputs)
    }

    fn push(&mut self, mut record: InputRecord) -> anyhow::Result<()> {
        if let Some(photo) = record.mapped.as_mut().and_then(|m| m.photo.take()) {
            record.photo = Some(self.photos.put(photo)?);
        }
        self.records.push(record);
        Ok(())
    }
}

/// Reads every record of every file (the import needs them all to deduplicate), photos spooled.
pub fn read_all(files: &[PathBuf], format: Format, opts: &MappingOptions) -> anyhow::Result<Inputs> {
    let mut inputs = Inputs::new([])?;
    for_each_record(files, format, opts, |r| inputs.push(r))?;
    Ok(inputs)
}

/// A photo kept in the spool: its place there and what the upload needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub fn new() -> anyhow::Result<PhotoSpool> {
        let file = tempfile::tempfile().context("cannot create a temporary file for photos")?;
        Ok(PhotoSpool { file: Mutex::new(file), end: 0 })
    }

    fn put(&mut self, photo: PlannedPhoto) -> anyhow::Result<SpooledPhoto> {
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
