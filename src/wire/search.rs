//! `findcontactlist` search semantics, shared so the client's enumeration and the sandbox agree:
//! a search term is folded (case, accents, whitespace) and matched as a prefix of a first or
//! last name (a contact with neither is matched by nickname, else company).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::RequestError;

/// Folds a name or search term for comparison: NFKD, combining marks removed, lower case,
/// runs of whitespace collapsed to one space, trimmed. `Émile  Zola` → `emile zola`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(&mut out, s);
    out
}

/// Appends [`fold`]`(s)` to `out` (building a key from several parts without a string each).
pub fn fold_into(out: &mut String, s: &str) {
    // ASCII has nothing to decompose and no combining marks: skipping the NFKD iterator gives the
    // same string, and most names folded on import (every record, several times) are ASCII.
    if s.is_ascii() {
        fold_ascii(s, out)
    } else {
        fold_chars(s.nfkd().filter(|c| !is_combining_mark(*c)), out)
    }
}

/// [`fold_chars`] of an ASCII string, byte by byte (lower case of ASCII is ASCII).
fn fold_ascii(s: &str, out: &mut String) {
    let start = out.len();
    let mut pending_space = false;
    for b in s.bytes() {
        // `char::is_whitespace`, not `u8::is_ascii_whitespace`: it counts U+000B too.
        if char::from(b).is_whitespace() {
            pending_space = out.len() > start;
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(char::from(b.to_ascii_lowercase()));
    }
}

/// Lower case, whitespace runs collapsed to one space, trimmed; appended to `out`.
fn fold_chars(chars: impl Iterator<Item = char>, out: &mut String) {
    let start = out.len();
    let mut pending_space = false;
    for c in chars {
        if c.is_whitespace() {
            pending_space = out.len() > start;
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.extend(c.to_lowercase());
    }
}

/// Reads a `search=` value as the seed describes it: complex strings between double quotes
/// (`"complex string"`), wildcards (`*`) forbidden. Returns the folded prefix to match.
pub fn parse_term(raw: &str) -> Result<String, RequestError> {
    let trimmed = raw.trim();
    let unquoted = trimmed.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(trimmed);
    if unquoted.contains('*') {
        return Err(RequestError::invalid(super::param::SEARCH, raw));
    }
    let term = fold(unquoted);
    if term.is_empty() {
        return Err(RequestError::Missing(super::param::SEARCH));
    }
    Ok(term)
}

/// Quotes a search term for the wire when it is "complex" (contains whitespace or a quote-free
/// punctuation the server could misread). Plain terms are sent as they are.
pub fn quote_term(term: &str) -> String {
    if term.chars().any(|c| c.is_whitespace() || c == '"') {
        format!("\"{}\"", term.replace('"', ""))
    } else {
        term.to_string()
    }
}

/// The names a search term is matched against: first and last name, or, for a contact with
/// neither, the nickname, else the company.
pub fn searchable_names<'a>(
    firstname: Option<&'a str>,
    lastname: Option<&'a str>,
    nickname: Option<&'a str>,
    company: Option<&'a str>,
) -> Vec<&'a str> {
    let present = |s: Option<&'a str>| s.filter(|v| !v.trim().is_empty());
    let names: Vec<&str> = [present(firstname), present(lastname)].into_iter().flatten().collect();
    if !names.is_empty() {
        return names;
    }
    present(nickname).or(present(company)).into_iter().collect()
}

/// Whether a contact with these names matches a folded term.
pub fn matches(term: &str, names: &[&str]) -> bool {
    names.iter().any(|n| fold(n).starts_with(term))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_fold_is_the_char_fold() {
        for s in [
            "",
            " ",
            "Anne",
            "  ANNE   de  la Tour ",
            "a\tb\r\nc",
            "a\x0bb\x0cc",
            "O'Brien-Smith 2",
            "\x7f\x01x",
        ] {
            let (mut fast, mut slow) = (String::from("k "), String::from("k "));
            fold_ascii(s, &mut fast);
            fold_chars(s.chars(), &mut slow);
            assert_eq!(fast, slow, "{s:?}");
        }
    }

    #[test]
    fn fold_removes_case_accents_and_extra_space() {
        assert_eq!(fold("  Émile   ZOLA "), "emile zola");
        assert_eq!(fold("Ærøskøbing"), "ærøskøbing");
        assert_eq!(fold("Ψυχή"), "ψυχη");
        // Appending folds the new part on its own (no leading space from what is already there).
        let mut key = String::from("jean");
        fold_into(&mut key, "  Émile ");
        assert_eq!(key, "jeanemile");
    }

    #[test]
    fn ascii_fast_path_folds_like_nfkd() {
        let all_ascii: String = (0u8..128).map(char::from).collect();
        let slow = |s: &str| {
            let mut out = String::new();
            fold_chars(s.nfkd().filter(|c| !is_combining_mark(*c)), &mut out);
            out
        };
        for s in [all_ascii.as_str(), " \t Jean-Pierre\r\n  O'BRIEN \x0b", "", "   "] {
            assert_eq!(fold(s), slow(s), "{s:?}");
        }
    }

    #[test]
    fn parse_term_handles_quotes_and_wildcards() {
        assert_eq!(parse_term("\"Jean Pi\"").unwrap(), "jean pi");
        assert_eq!(parse_term("Orange").unwrap(), "orange");
        assert!(matches!(parse_term("Or*"), Err(RequestError::Invalid { .. })));
        assert!(matches!(parse_term("  "), Err(RequestError::Missing(_))));
        assert!(matches!(parse_term("\"\""), Err(RequestError::Missing(_))));
    }

    #[test]
    fn company_only_contacts_match_by_company() {
        let names = searchable_names(None, None, None, Some("Orange SA"));
        assert!(matches("ora", &names));
        let names = searchable_names(Some("Ann"), None, None, Some("Orange SA"));
        assert!(!matches("ora", &names));
    }
}
