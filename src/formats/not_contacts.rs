//! Telling a file that is not contacts at all (a photo, a PDF, an archive, a program) from a
//! contacts file with bad records, by its first bytes: a known magic number, or NUL bytes in a
//! file that is not UTF-16. Such a file is an error naming it, not dozens of "invalid" CSV rows.

use super::decode::detect_utf16;

/// Magic numbers of files people pick by mistake, with what they are.
const MAGIC: &[(&[u8], &str)] = &[
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (b"\x89PNG\r\n\x1A\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an office document: export it as CSV or vCard)"),
    (b"\x1F\x8B", "a gzip archive"),
    (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
    (b"Rar!\x1A\x07", "a RAR archive"),
    (b"\x7FELF", "a program (ELF)"),
    (b"MZ", "a Windows program"),
    (b"SQLite format 3\0", "an SQLite database"),
    (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "an old Microsoft Office document (export it as CSV or vCard)"),
    (b"OggS", "an Ogg media file"),
    (b"ID3", "an MP3 file"),
];

/// Bytes looked at for NULs: enough to see a binary, little enough to be cheap.
const NUL_SCAN_BYTES: usize = 4096;

/// What the file whose first bytes are `prefix` is, when it is certainly not contacts.
pub fn not_contacts(prefix: &[u8]) -> Option<&'static str> {
    if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| prefix.starts_with(magic)) {
        // `BM` and `MZ` are also how a text may start: only with binary bytes after them.
        let short = prefix.len() >= 2 && matches!(&prefix[..2], b"BM" | b"MZ");
        if !short || has_nul(prefix) {
            return Some(what);
        }
    }
    // A vCard file with a stray NUL is still cards: its reader reports the bad line.
    let text = detect_utf16(prefix).is_some() || has_vcard_begin(prefix);
    (!text && has_nul(prefix)).then_some("a binary file (it holds NUL bytes)")
}

fn has_vcard_begin(prefix: &[u8]) -> bool {
    prefix.windows(b"BEGIN:VCARD".len()).any(|w| w.eq_ignore_ascii_case(b"BEGIN:VCARD"))
}

fn has_nul(prefix: &[u8]) -> bool {
    prefix[..prefix.len().min(NUL_SCAN_BYTES)].contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_are_told_and_texts_are_not() {
        assert_eq!(not_contacts(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), Some("a JPEG image"));
        assert_eq!(not_contacts(b"%PDF-1.7\n%\xE2\xE3"), Some("a PDF document"));
        assert_eq!(not_contacts(b"\x01\x02\0\0\x05"), Some("a binary file (it holds NUL bytes)"));
        assert_eq!(not_contacts(b"BEGIN:VCARD\r\nVERSION:3.0\r\n"), None);
        assert_eq!(not_contacts(b"MZ Name,Email\nAnn,a@b.c\n"), None, "a text starting with MZ");
        assert_eq!(not_contacts(b""), None);
        assert_eq!(not_contacts(b"BEGIN:VCARD\r\nFN:A\0nn\r\nEND:VCARD\r\n"), None, "cards with a stray NUL");
        let utf16: Vec<u8> = "BEGIN:VCARD\r\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(not_contacts(&utf16), None, "UTF-16 holds NULs and is text");
    }
}
