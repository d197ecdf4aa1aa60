//! Streaming vCard 2.1/3.0/4.0 reader: bytes → one [`Record`] per card, in bounded memory.
//!
//! calcard parses a whole `&str` and loses the card after a missing `END:VCARD`, so this reader
//! cuts the input itself, line by line: a card runs from a `BEGIN:VCARD` line to its
//! `END:VCARD` (or to the next `BEGIN:VCARD` / end of file, with a warning). Each card's raw
//! lines are decoded to UTF-8, parsed by calcard and mapped to a [`Contact`]. Cut cards leave
//! the reader in [`CardBatch`]es of at most 256 KB / 1024 cards ([`VcardReader::cut_chunk`]),
//! which any thread can parse: the import parses them on all cores while this reader cuts the
//! next ones. Memory is bounded by the read buffers, the batches in flight and the card being
//! cut, whatever the file size.
//!
//! Text outside any card is reported as a warning on the next card (or on the last card when
//! nothing follows), or as one error record when the file holds no card at all. A 2.1 `AGENT`
//! property holding a nested vCard (`AGENT:BEGIN:VCARD` … `END:VCARD` on separate lines) is
//! skipped as a whole and kept as an extra field, so it does not end its outer card.
//!
//! The steps, one a file: `cutter.rs` (lines → cards, batches), `decode.rs` (a card's raw lines
//! → UTF-8: charsets, split folds, quoted-printable), `parse.rs` (the text → calcard), `map.rs`
//! (calcard's card → contact, property by property), with the helpers it reads values through:
//! `params.rs` (TYPE parameters, Apple labels), `values.rs` (values as text), `photo.rs` (PHOTO
//! in its many spellings).
//!
//! [`Record`]: crate::formats::Record
//! [`Contact`]: crate::model::Contact

mod cutter;
mod decode;
mod map;
mod params;
mod parse;
mod photo;
mod values;

pub use self::cutter::{CardBatch, VcardReader, MAX_CARD_BYTES};
pub use self::map::map_card;
pub use self::params::apple_label;
pub use self::parse::parse_card;
pub use self::photo::sniff_image;
