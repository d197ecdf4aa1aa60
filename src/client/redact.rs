//! Keeping the user token out of every message: the token travels in query strings (and a
//! multipart field), and HTTP library errors like to quote the URL.

/// What a redacted secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces the value of every `token=` parameter in `s` (any case, in URLs, query strings and
/// form bodies) with `[REDACTED]`. The value ends at `&`, `;`, whitespace, a quote or a closing
/// bracket.
pub fn redact(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("token=").map(|i| from + i) {
        let value_start = found + "token=".len();
        // Only a whole parameter name: `mytoken=` is left alone.
        let starts_name = found == 0
            || !lower[..found].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
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

/// Removes one known secret from messages: the `token=` values (see [`redact`]) and any literal
/// occurrence of the secret itself, raw or percent-encoded the ways a URL builder may write it.
#[derive(Clone)]
pub(crate) struct Scrubber {
    forms: Vec<String>,
}

impl Scrubber {
    pub(crate) fn new(secrets: &[&str]) -> Scrubber {
        let mut forms = Vec::new();
        for secret in secrets {
            // A very short secret would match ordinary words; `token=` redaction still covers it.
            if secret.len() < 6 {
                continue;
            }
            let form_encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            let percent_encoded = form_encoded.replace('+', "%20");
            for form in [secret.to_string(), form_encoded, percent_encoded] {
                if !forms.contains(&form) {
                    forms.push(form);
                }
            }
        }
        // Longest first, so an encoded form is not half-replaced through a shorter one.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        Scrubber { forms }
    }

    pub(crate) fn scrub(&self, s: &str) -> String {
        self.scrub_literal(&redact(s))
    }

    /// Only the literal secret: for text that must otherwise stay verbatim (a consent URL).
    pub(crate) fn scrub_literal(&self, s: &str) -> String {
        let mut out = s.to_string();
        for form in &self.forms {
            if out.contains(form.as_str()) {
                out = out.replace(form.as_str(), REDACTED);
            }
        }
        out
    }
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scrubber({} forms)", self.forms.len())
    }
}

#[cfg(test)]
mod tests {
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
    fn scrubber_removes_literal_and_encoded_secret() {
        let token = "B64ab+c/d=|sau=|ted=1208277300|sig+/=";
        let s = Scrubber::new(&[token]);
        let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        for leak in [
            format!("body echoed {token} here"),
            format!("path /x/{encoded}/y"),
            format!("path /x/{}/y", encoded.replace('+', "%20")),
        ] {
            let clean = s.scrub(&leak);
            assert!(!clean.contains(token) && !clean.contains(&encoded), "{clean}");
            assert!(clean.contains(REDACTED));
        }
        assert_eq!(Scrubber::new(&["abc"]).scrub("abc token=abc"), "abc token=[REDACTED]");
    }
}
