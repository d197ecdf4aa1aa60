//! The people `inspect` has already seen, in bounded memory whatever the input size.
//!
//! A key is a 64-bit hash of a person key. The latest keys live in a hash map; when it is full
//! they are sorted and written to a temporary file as one run, and a fixed-size Bloom filter
//! remembers every key written. A key the map does not hold is looked up in the runs only when
//! the filter says it may be there, so almost every new key costs no read at all, and a lookup
//! reads one 4 KB block per run (an in-memory fence of every block's first key finds it).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;

/// Keys kept in memory before a spill: 7/8 of 2^18 buckets, so the map never grows past
/// 2^18 × 17 bytes (4.5 MB).
const RECENT_KEYS: usize = (1 << 18) / 8 * 7;
/// Bloom filter size in bits (4 MB): under 0.2 % false positives up to 2 million spilled keys,
/// and still correct (only slower) beyond.
const BLOOM_BITS: usize = 1 << 25;
const BLOOM_HASHES: u64 = 4;
/// Entries per block of a run (one 4 KB page is read per run and lookup), bytes per entry.
const BLOCK_ENTRIES: usize = 256;
const ENTRY_BYTES: usize = 16;

pub struct SeenKeys {
    recent: HashMap<u64, u64>,
    recent_limit: usize,
    /// Created at the first spill: small inputs never pay for it.
    spilled: Option<Spilled>,
}

struct Spilled {
    file: File,
    end: u64,
    runs: Vec<Run>,
    bloom: Vec<u64>,
}

/// One sorted run of (key, record) entries in the spill file.
struct Run {
    offset: u64,
    entries: usize,
    /// The first key of every block.
    fences: Vec<u64>,
}

impl Default for SeenKeys {
    fn default() -> Self {
        SeenKeys::with_limit(RECENT_KEYS)
    }
}

impl SeenKeys {
    /// Keeps at most `recent_limit` keys in memory (tests use a small one to exercise spills).
    pub fn with_limit(recent_limit: usize) -> SeenKeys {
        SeenKeys { recent: HashMap::with_capacity(recent_limit), recent_limit, spilled: None }
    }

    /// The record that first had `key`, or `None` (and `record` is remembered as its first).
    pub fn first_seen(&mut self, key: u64, record: u64) -> std::io::Result<Option<u64>> {
        if let Some(&first) = self.recent.get(&key) {
            return Ok(Some(first));
        }
        if let Some(spilled) = &self.spilled {
            if let Some(first) = spilled.find(key)? {
                return Ok(Some(first));
            }
        }
        if self.recent.len() >= self.recent_limit {
            self.spill()?;
        }
        self.recent.insert(key, record);
        Ok(None)
    }

    fn spill(&mut self) -> std::io::Result<()> {
        let spilled = match &mut self.spilled {
            Some(s) => s,
            None => self.spilled.insert(Spilled {
                file: tempfile::tempfile()?,
                end: 0,
                runs: Vec::new(),
                bloom: vec![0; BLOOM_BITS / 64],
            }),
        };
        let mut entries: Vec<(u64, u64)> = self.recent.drain().collect();
        entries.sort_unstable();
        let mut out = BufWriter::new(&spilled.file);
        let mut fences = Vec::with_capacity(entries.len().div_ceil(BLOCK_ENTRIES));
        for (i, &(key, record)) in entries.iter().enumerate() {
            if i % BLOCK_ENTRIES == 0 {
                fences.push(key);
            }
            out.write_all(&key.to_le_bytes())?;
            out.write_all(&record.to_le_bytes())?;
            for bit in bloom_bits(key) {
                spilled.bloom[bit / 64] |= 1 << (bit % 64);
            }
        }
        out.flush()?;
        drop(out);
        spilled.runs.push(Run { offset: spilled.end, entries: entries.len(), fences });
        spilled.end += (entries.len() * ENTRY_BYTES) as u64;
        Ok(())
    }
}

impl Spilled {
    fn find(&self, key: u64) -> std::io::Result<Option<u64>> {
        if !bloom_bits(key).all(|bit| self.bloom[bit / 64] & (1 << (bit % 64)) != 0) {
            return Ok(None);
        }
        let mut block = vec![0u8; BLOCK_ENTRIES * ENTRY_BYTES];
        for run in &self.runs {
            // The block whose first key is the last one not above `key`.
            let Some(b) = run.fences.partition_point(|&f| f <= key).checked_sub(1) else { continue };
            let first = b * BLOCK_ENTRIES;
            let n = BLOCK_ENTRIES.min(run.entries - first);
            let bytes = &mut block[..n * ENTRY_BYTES];
            self.file.read_exact_at(bytes, run.offset + (first * ENTRY_BYTES) as u64)?;
            let entry = |i: usize| {
                let e = &bytes[i * ENTRY_BYTES..(i + 1) * ENTRY_BYTES];
                let word = |w: &[u8]| u64::from_le_bytes(w.try_into().expect("8 bytes"));
                (word(&e[..8]), word(&e[8..]))
            };
            let (mut lo, mut hi) = (0, n);
            while lo < hi {
                let mid = (lo + hi) / 2;
                let (k, record) = entry(mid);
                match k.cmp(&key) {
                    std::cmp::Ordering::Equal => return Ok(Some(record)),
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                }
            }
        }
        Ok(None)
    }
}

/// The filter bits of a key (double hashing on the two halves of the 64-bit hash).
fn bloom_bits(key: u64) -> impl Iterator<Item = usize> {
    let (h1, h2) = (key, key.rotate_left(32) | 1);
    (0..BLOOM_HASHES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) as usize) % BLOOM_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spread-out keys, as hashes are.
    fn key(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i >> 7)
    }

    #[test]
    fn repeats_are_found_in_memory_and_in_spilled_runs() {
        let mut seen = SeenKeys::with_limit(1000);
        for i in 0..10_000 {
            assert_eq!(seen.first_seen(key(i), i + 1).unwrap(), None, "key {i}");
        }
        assert_eq!(seen.spilled.as_ref().map(|s| s.runs.len()), Some(9));
        assert!(seen.recent.len() <= 1000);
        // Every key again, in another order: each names the record that first had it.
        for i in (0..10_000).rev() {
            assert_eq!(seen.first_seen(key(i), 20_000 + i).unwrap(), Some(i + 1), "key {i}");
        }
        // Keys never seen are new, even after many spills.
        for i in 10_000..12_000 {
            assert_eq!(seen.first_seen(key(i), i + 1).unwrap(), None, "key {i}");
        }
    }

    #[test]
    fn a_small_input_never_spills() {
        let mut seen = SeenKeys::default();
        for i in 0..50_000 {
            seen.first_seen(key(i), i).unwrap();
        }
        assert!(seen.spilled.is_none());
        assert_eq!(seen.first_seen(key(7), 99).unwrap(), Some(7));
    }
}
