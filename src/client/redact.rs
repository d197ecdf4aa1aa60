//! Keeping the user token (and the service password) out of every message: the token travels in
//! query strings (and a multipart field), HTTP library errors like to quote the URL, and a broken or
//! hostile server may echo it back in any encoding.
//!
//! [`redact`] is the one function text goes through before it leaves the program (stderr, reports,
//! error values). It knows the secrets because every [`crate::client::ApiClient`] registers its own
//! when it is built ([`register_secret`]): a process-wide list, since the places that print (the
//! commands, the reports) do not hold the client.

use std::sync::RwLock;

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this are not searched for literally (they would match ordinary words);
/// `token=` redaction still covers them.
const MIN_SECRET_LEN: usize = 6;

/// How many encodings may be stacked on one character: `%257C` is `|` percent-encoded twice,
/// `&amp;#124;` XML-escaped twice, `&#37;7C` a percent escape whose `%` is an XML reference.
const MAX_NESTING: u8 = 2;

/// Every registered secret, as bytes.
static SECRETS: RwLock<Vec<Vec<u8>>> = RwLock::new(Vec::new());

/// Adds a secret that [`redact`] removes from every text from now on, in this process.
pub fn register_secret(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| s == secret.as_bytes()) {
        secrets.push(secret.as_bytes().to_vec());
        // Longest first, so a secret containing another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `s` fit to leave the program: every registered secret replaced by `[REDACTED]` (see
/// [`redact_secrets`]), then every other `token=` parameter value (see [`redact_token_params`]).
/// Secrets first: a parameter value ends at a space, which may be inside a secret (`+` decoded).
pub fn redact(s: &str) -> String {
    redact_token_params(&redact_secrets(s))
}

/// Replaces the value of every `token=` parameter in `s` (any case, in URLs, query strings and
/// form bodies) with `[REDACTED]`. The value ends at `&`, `;`, whitespace, a quote or a closing
/// bracket. A value already redacted is left as it is (redacting twice changes nothing).
pub fn redact_token_params(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("token=").map(|i| from + i) {
        let value_start = found + "token=".len();
        // Only a whole parameter name: `mytoken=` is left alone.
        let starts_name = found == 0
            || !lower[..found].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if s[value_start..].starts_with(REDACTED) {
            from = value_start + REDACTED.len();
            continue;
        }
        let value_end = s[value_start..]
            .find(|c: char| c == '&' || c == ';' || c.is_whitespace() || "\"'<>)]}".contains(c))
            .map_or(s.len(), |i| value_start + i);
        if starts_name && value_end > value_start {
            out.push_str(&s[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        from = value_end.max(value_start);
    }
    out.push_str(&s[copied..]);
    out
}

/// Replaces every registered secret in `s`, however it was written: raw, percent-encoded (either
/// case, all or some characters, `+` or `%20` for a space), `+`-decoded (a `+` shown as a space),
/// XML-escaped (`&amp;`, `&#124;`, `&#x7C;`, …), and up to [`MAX_NESTING`] of these stacked; ASCII
/// letters in any case. Nothing else changes (a consent URL keeps its shape).
pub fn redact_secrets(s: &str) -> String {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    if secrets.is_empty() {
        return s.to_string();
    }
    let text = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (mut copied, mut at) = (0, 0);
    while at < text.len() {
        let found = secrets.iter().find_map(|secret| match_at(text, at, secret, 0));
        match found {
            Some(end) if s.is_char_boundary(at) && s.is_char_boundary(end) => {
                out.push_str(&s[copied..at]);
                out.push_str(REDACTED);
                copied = end;
                at = end;
            }
            _ => at += 1,
        }
    }
    out.push_str(&s[copied..]);
    out
}

/// Where a written form of `secret[k..]` starting at `text[at]` ends, if one does.
fn match_at(text: &[u8], at: usize, secret: &[u8], k: usize) -> Option<usize> {
    if k == secret.len() {
        return Some(at);
    }
    let mut found = None;
    for_each_unit(text, at, MAX_NESTING, &mut |decoded, next| {
        if found.is_none() && fits(decoded, &secret[k..]) {
            found = match_at(text, next, secret, k + decoded.len());
        }
    });
    found
}

/// Whether the bytes one unit of text stands for start `wanted` (ASCII case folded; a space for
/// a `+`, as a form decoder shows it).
fn fits(decoded: &[u8], wanted: &[u8]) -> bool {
    decoded.len() <= wanted.len()
        && decoded.iter().zip(wanted).all(|(&d, &w)| d.eq_ignore_ascii_case(&w) || (d == b' ' && w == b'+'))
}

/// Calls `f(bytes, next)` for every way the text at `at` can be read as one written character:
/// the byte itself, a `+` as a space, a percent escape, an XML character or entity reference (the
/// `%` or `&` of an escape may itself be escaped, `nesting` levels deep).
fn for_each_unit(text: &[u8], at: usize, nesting: u8, f: &mut dyn FnMut(&[u8], usize)) {
    let Some(&byte) = text.get(at) else { return };
    f(&[byte], at + 1);
    if byte == b'+' {
        f(b" ", at + 1);
    }
    if nesting == 0 {
        return;
    }
    for_each_unit(text, at, nesting - 1, &mut |decoded, next| match decoded {
        b"%" => {
            let hex = |i: usize| text.get(i).and_then(|c| (*c as char).to_digit(16));
            if let (Some(hi), Some(lo)) = (hex(next), hex(next + 1)) {
                f(&[(hi * 16 + lo) as u8], next + 2);
            }
        }
        b"&" => {
            if let Some((c, end)) = xml_reference(text, next) {
                let mut buf = [0u8; 4];
                f(c.encode_utf8(&mut buf).as_bytes(), end);
            }
        }
        _ => {}
    });
}

/// The character of an XML reference whose `&` is just before `at` (`amp;`, `#124;`, `#x7C;`),
/// and where it ends.
fn xml_reference(text: &[u8], at: usize) -> Option<(char, usize)> {
    let rest = &text[at.min(text.len())..];
    let semicolon = rest.iter().take(12).position(|&c| c == b';')?;
    let name = std::str::from_utf8(&rest[..semicolon]).ok()?;
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((c, at + semicolon + 1))
}

#[cfg(test)]
#[path = "../../tests/common/token_echoes.rs"]
mod token_echoes;

#[cfg(test)]
mod tests {
    use super::token_echoes::ECHOES;
    use super::*;

    #[test]
    fn redacts_token_values_everywhere() {
        assert_eq!(
            redact("GET http://h/V1?action=getcontact&token=B64abc%2B%2F%3D%7Csig&cid=1 failed"),
            "GET http://h/V1?action=getcontact&token=[REDACTED]&cid=1 failed"
        );
        assert_eq!(redact("TOKEN=abc"), "TOKEN=[REDACTED]");
        assert_eq!(redact("url (\"http://h/?token=s3cr3t\")"), "url (\"http://h/?token=[REDACTED]\")");
        assert_eq!(redact("a token=x b token=y"), "a token=[REDACTED] b token=[REDACTED]");
        assert_eq!(redact("mytoken=keep token="), "mytoken=keep token=");
        assert_eq!(redact("no secrets here"), "no secrets here");
        assert_eq!(redact("ünïcode token=ß&x=é"), "ünïcode token=[REDACTED]&x=é");
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        // Item 7 of issue 9: a config error showed `token=[REDACTED]]` after a second pass.
        let once = redact("endpoint \"ftp://h/V1?token=abc\" is not an http(s) URL");
        assert_eq!(once, "endpoint \"ftp://h/V1?token=[REDACTED]\" is not an http(s) URL");
        assert_eq!(redact(&once), once);
        assert_eq!(redact(&format!("{once:?}")), format!("{once:?}"));
    }

    #[test]
    fn secrets_are_found_in_every_encoding() {
        let token = "B64ab+c/d=|sau=|ted=1208277300|s1gR+/=";
        register_secret(token);
        for (how, echo) in ECHOES.iter().map(|(how, write)| (how, write(token))) {
            let text = format!("service says: bad token '{echo}' (retry)");
            let clean = redact(&text);
            assert_eq!(clean, "service says: bad token '[REDACTED]' (retry)", "{how}: {echo}");
        }
        // Whole in a parameter whose value a space would otherwise end.
        assert_eq!(redact(&format!("token={} x", token.replace('+', " "))), "token=[REDACTED] x");
        // Not a prefix of the token, not a different token.
        assert_eq!(redact("B64ab+c/d=|sau=|ted=12"), "B64ab+c/d=|sau=|ted=12");
        assert_eq!(redact("short secrets: abc"), "short secrets: abc");
    }

    #[test]
    fn secrets_of_another_alphabet_and_short_ones() {
        register_secret("pässwörd-ü|x");
        assert_eq!(redact("pw p%C3%A4ssw%c3%b6rd-%C3%BC%7cx!"), "pw [REDACTED]!");
        assert_eq!(redact("pw p&#228;ssw&#xF6;rd-&#252;|x"), "pw [REDACTED]");
        register_secret("abc");
        assert_eq!(redact("abc token=abc"), "abc token=[REDACTED]");
    }
}
