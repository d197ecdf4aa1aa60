//! Match keys: how import recognises that an input record is already on the account, and that a
//! device is already on a contact. Pure functions over model, wire and mapping types.
//!
//! - people match by their folded name ([`person_key`]): "first last" when either is present,
//!   else the nickname, else the company — the same precedence the server's search uses;
//! - phones match by E.164 ([`phone_key`]), emails case-insensitively ([`email_key`]), URLs
//!   without scheme, case and trailing slash ([`url_key`]).
//!
//! Phone parsing with `phonenumber` costs tens of microseconds per number (plus a one-off
//! metadata load), so [`phone_key`] answers obvious forms (`+33…`, French national `0X…`) without
//! it and memoises the rest per thread.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use phonenumber::country;

use crate::wire::search::{fold, fold_into};
use crate::wire::{ContactDetail, ContactSummary, DeviceType, NewContact};

/// Characters people put inside phone numbers that carry no digit.
fn is_phone_punctuation(c: char) -> bool {
    c.is_whitespace() || matches!(c, '.' | '-' | '/' | '\u{2010}'..='\u{2015}' | '\u{00A0}' | '\u{202F}')
}

/// The E.164 form of a phone number (`+33612345678`), reading numbers without a country code in
/// `region` (ISO 3166 alpha-2, e.g. `FR`). `06 12 34 56 78`, `0033 6 12 34 56 78` and
/// `+33 (0)6 12-34-56-78` all give `+33612345678` in `FR`. An extension is kept as `;ext=N`.
/// Numbers the library cannot read fall back to their digits (with a leading `+` kept), so equal
/// strings still match. `None` when there is no digit at all.
pub fn phone_key(value: &str, region: &str) -> Option<String> {
    if let Some(fast) = phone_key_fast(value, region) {
        return Some(fast);
    }
    thread_local! {
        static CACHE: RefCell<HashMap<(String, String), Option<String>>> = RefCell::new(HashMap::new());
    }
    let key = (region.to_string(), value.to_string());
    if let Some(hit) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return hit;
    }
    let computed = phone_key_slow(value, region);
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= 50_000 {
            cache.clear(); // bounded memory on huge imports; a miss only costs a parse
        }
        cache.insert(key, computed.clone());
    });
    computed
}

/// Shapes that need no library: `+` followed by digits and punctuation only (no `(0)` trunk
/// prefix) with a plausible length, and French national numbers `0[1-9]` + 8 digits in `FR`.
fn phone_key_fast(value: &str, region: &str) -> Option<String> {
    let trimmed = value.trim();
    let mut digits = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if digits.is_empty() => {}
            c if is_phone_punctuation(c) => {}
            _ => return None,
        }
    }
    if trimmed.starts_with('+') {
        // A leading 0 after the country code is a trunk prefix the library strips: leave it to it.
        let cc_then_zero = digits.as_bytes().get(country_code_len(&digits)) == Some(&b'0');
        if (8..=15).contains(&digits.len()) && !digits.starts_with('0') && !cc_then_zero {
            return Some(format!("+{digits}"));
        }
        return None;
    }
    if region.eq_ignore_ascii_case("FR")
        && digits.len() == 10
        && digits.starts_with('0')
        && !digits.starts_with("00")
    {
        return Some(format!("+33{}", &digits[1..]));
    }
    None
}

/// Length of the ITU country calling code `digits` starts with (1 to 3 digits; the assignment is
/// prefix-free, so the leading digits decide).
fn country_code_len(digits: &str) -> usize {
    let two: u32 = digits.get(..2).and_then(|d| d.parse().ok()).unwrap_or(0);
    match two / 10 {
        1 | 7 => 1,
        _ if matches!(
            two,
            20 | 27 | 30..=34 | 36 | 39 | 40 | 41 | 43..=49 | 51..=58 | 60..=66 | 81 | 82 | 84 | 86 | 90..=95 | 98
        ) =>
        {
            2
        }
        _ => 3,
    }
}

/// The region `region` names for phone numbers: an ISO 3166 alpha-2 code the phone number library
/// knows (`FR`, `fr`, ` Fr `), else `None`.
pub fn region_id(region: &str) -> Option<country::Id> {
    region.trim().to_ascii_uppercase().parse::<country::Id>().ok()
}

fn phone_key_slow(value: &str, region: &str) -> Option<String> {
    let id = region_id(region);
    if let Ok(number) = phonenumber::parse(id, value) {
        let mut key = number.format().mode(phonenumber::Mode::E164).to_string();
        if let Some(ext) = number.extension().filter(|e| !e.is_empty()) {
            key.push_str(";ext=");
            key.push_str(ext);
        }
        if key.len() > 1 {
            return Some(key);
        }
    }
    let trimmed = value.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    Some(if trimmed.starts_with('+') { format!("+{digits}") } else { digits })
}

/// Email match key: trimmed, lower case, a `mailto:` prefix removed.
pub fn email_key(value: &str) -> String {
    let lower = value.trim().to_lowercase();
    match lower.strip_prefix("mailto:") {
        Some(rest) => rest.trim().to_string(),
        None => lower,
    }
}

/// URL match key: trimmed, lower case, without `http://`/`https://` and trailing slashes.
pub fn url_key(value: &str) -> String {
    let lower = value.trim().to_lowercase();
    let no_scheme =
        lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")).unwrap_or(&lower);
    no_scheme.trim_end_matches('/').to_string()
}

/// The match key of a device value of that type (`None` for a phone without digits, or for a
/// type this tool does not write).
pub fn device_key(kind: &DeviceType, value: &str, region: &str) -> Option<String> {
    match kind {
        DeviceType::Phone => phone_key(value, region),
        DeviceType::Email => Some(email_key(value)).filter(|k| !k.is_empty()),
        DeviceType::Url => Some(url_key(value)).filter(|k| !k.is_empty()),
        DeviceType::Other(_) => None,
    }
}

/// The identity two devices share when they are the same line or address: the type and its
/// [`device_key`] (the trimmed value where no key applies). The subtype is left out on purpose: a
/// number stored as `voice` is the same line when the input says mobile.
pub fn device_identity(kind: &DeviceType, value: &str, region: &str) -> String {
    let key = device_key(kind, value, region).unwrap_or_else(|| value.trim().to_string());
    format!("{}:{key}", kind.as_str())
}

/// Among same-name account contacts, the one sharing the most devices with what a record
/// brings (`wanted`: their [`device_identity`]), each shared identity counted once; on a tie,
/// the first listed. `detail` gives a candidate as read (one not read shares nothing). Import's
/// plan and `check` both pick their contact with it.
pub fn best_candidate<'c, 'd, C>(
    candidates: &'c [C],
    wanted: &HashSet<String>,
    detail: impl Fn(&C) -> Option<&'d ContactDetail>,
    region: &str,
) -> Option<&'c C> {
    if candidates.len() <= 1 {
        return candidates.first();
    }
    let shared = |c: &C| {
        detail(c).map_or(0, |d| {
            let identities = d.devices.iter().map(|dev| device_identity(&dev.kind, &dev.value, region));
            identities.filter(|i| wanted.contains(i)).collect::<HashSet<String>>().len()
        })
    };
    let mut best: Option<(&C, usize)> = None;
    for c in candidates {
        let n = shared(c);
        if best.is_none_or(|(_, most)| n > most) {
            best = Some((c, n));
        }
    }
    best.map(|(c, _)| c)
}

/// The normalised name a contact is matched by: folded `first last` when either is present,
/// else the folded nickname, else the folded company; `None` when all are blank.
pub fn person_key(
    firstname: Option<&str>,
    lastname: Option<&str>,
    nickname: Option<&str>,
    company: Option<&str>,
) -> Option<String> {
    // `first last`, built in one string: this runs for every input record.
    let mut key = String::with_capacity(firstname.map_or(0, str::len) + lastname.map_or(0, str::len) + 1);
    for part in [firstname, lastname].into_iter().flatten() {
        let start = key.len();
        if start > 0 {
            key.push(' ');
        }
        let before = key.len();
        fold_into(&mut key, part);
        if key.len() == before {
            key.truncate(start); // the part folded to nothing
        }
    }
    if !key.is_empty() {
        return Some(key);
    }
    let folded = |s: Option<&str>| s.map(fold).filter(|s| !s.is_empty());
    folded(nickname).or_else(|| folded(company))
}

/// [`person_key`] of what `addcontact` would send.
pub fn key_of_new(c: &NewContact) -> Option<String> {
    person_key(c.firstname.as_deref(), c.lastname.as_deref(), c.nickname.as_deref(), c.company.as_deref())
}

/// [`person_key`] of a `findcontactlist` entry.
pub fn key_of_summary(c: &ContactSummary) -> Option<String> {
    person_key(c.firstname.as_deref(), c.lastname.as_deref(), c.nickname.as_deref(), c.company.as_deref())
}

/// [`person_key`] of a `getcontact` answer.
pub fn key_of_detail(c: &ContactDetail) -> Option<String> {
    person_key(c.firstname.as_deref(), c.lastname.as_deref(), c.nickname.as_deref(), c.company.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_national_and_international_forms_agree() {
        let want = Some("+33612345678".to_string());
        for v in [
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "0612345678",
            "+33 6 12 34 56 78",
            "+33612345678",
            "0033 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "+33 06 12 34 56 78",
            " (06) 12 34 56 78 ",
        ] {
            assert_eq!(phone_key(v, "FR"), want, "{v}");
        }
        // Same number read in another region is another number.
        assert_ne!(phone_key("06 12 34 56 78", "DE"), want);
        assert_eq!(phone_key("+33 6 12 34 56 78", "DE"), want);
    }

    #[test]
    fn fast_path_agrees_with_the_library() {
        for (v, region) in [
            ("0612345678", "FR"),
            ("01 23 45 67 89", "FR"),
            ("+1 415 555 2671", "FR"),
            ("+44 20 7946 0958", "US"),
            ("+49 30 1234567", "FR"),
        ] {
            let fast = phone_key_fast(v, region).unwrap_or_else(|| panic!("no fast path for {v}"));
            assert_eq!(Some(fast), phone_key_slow(v, region), "{v}");
        }
        // Shapes the fast path must leave to the library.
        for v in ["+33 (0)6 12 34 56 78", "+33 06 12 34 56 78", "0033612345678", "06 12 34 56 78 ext 12"] {
            assert_eq!(phone_key_fast(v, "FR"), None, "{v}");
        }
    }

    #[test]
    fn other_regions_and_extensions() {
        assert_eq!(phone_key("(415) 555-2671", "US").as_deref(), Some("+14155552671"));
        assert_eq!(phone_key("+1 415-555-2671", "FR").as_deref(), Some("+14155552671"));
        assert_eq!(phone_key("030 1234567", "DE").as_deref(), Some("+49301234567"));
        let ext = phone_key("01 23 45 67 89 ext. 12", "FR").unwrap();
        assert!(ext.starts_with("+33123456789"), "{ext}");
        assert_ne!(Some(ext), phone_key("01 23 45 67 89", "FR"));
    }

    #[test]
    fn unparsable_numbers_fall_back_to_digits() {
        // Service codes are not real numbers; all that matters is that equal digits match.
        assert_eq!(phone_key("*123#", "FR"), phone_key("123", "FR"));
        assert!(!phone_key("*123#", "FR").unwrap().contains("ext"));
        assert_eq!(phone_key("no number here", "FR"), None);
        assert_eq!(phone_key("", "FR"), None);
        // Unknown region: no panic, still a key.
        assert_eq!(phone_key("+33 6 12 34 56 78", "ZZ").as_deref(), Some("+33612345678"));
        assert!(phone_key("12", "ZZ").is_some());
    }

    #[test]
    fn email_and_url_keys() {
        assert_eq!(email_key("  John.Doe@Example.COM "), "john.doe@example.com");
        assert_eq!(email_key("MAILTO:a@b.fr"), "a@b.fr");
        assert_eq!(url_key("HTTPS://www.Example.com/"), "www.example.com");
        assert_eq!(url_key("http://example.com/path//"), "example.com/path");
        assert_eq!(url_key("example.com"), url_key("https://example.com/"));
    }

    #[test]
    fn person_keys_follow_the_search_precedence() {
        assert_eq!(
            person_key(Some(" Émile "), Some("ZOLA"), Some("Mimile"), None).as_deref(),
            Some("emile zola")
        );
        assert_eq!(person_key(None, Some("Zola"), None, Some("X")).as_deref(), Some("zola"));
        assert_eq!(person_key(Some(""), Some("  "), Some("Mimile"), Some("X")).as_deref(), Some("mimile"));
        assert_eq!(person_key(None, None, None, Some("Orange SA")).as_deref(), Some("orange sa"));
        assert_eq!(person_key(Some("A"), Some("B"), None, None).as_deref(), Some("a b"));
        assert_eq!(person_key(Some(" \u{301} "), Some("Zoë  Ann"), None, None).as_deref(), Some("zoe ann"));
        assert_eq!(person_key(Some("Jo"), Some(" "), None, None).as_deref(), Some("jo"));
        assert_eq!(person_key(None, None, Some(" "), None), None);

        let new = NewContact {
            firstname: Some("Jean".into()),
            lastname: Some("Dupont".into()),
            ..Default::default()
        };
        let summary = ContactSummary {
            id: "c1".into(),
            firstname: Some("JEAN".into()),
            lastname: Some("Dupont ".into()),
            ..Default::default()
        };
        let detail = ContactDetail {
            firstname: Some("jean".into()),
            lastname: Some("dupont".into()),
            ..Default::default()
        };
        assert_eq!(key_of_new(&new), key_of_summary(&summary));
        assert_eq!(key_of_new(&new), key_of_detail(&detail));
    }

    #[test]
    fn best_candidate_counts_each_shared_device_once_and_keeps_the_first_on_a_tie() {
        let contact = |id: &str, phones: &[&str]| ContactDetail {
            id: id.into(),
            devices: phones
                .iter()
                .map(|p| crate::wire::Device {
                    id: format!("d{p}"),
                    kind: DeviceType::Phone,
                    subtype: crate::wire::DeviceSubtype::Mobile,
                    info_type: None,
                    order: 1,
                    display: true,
                    value: p.to_string(),
                })
                .collect(),
            ..ContactDetail::default()
        };
        let wanted: HashSet<String> = ["0611111111", "0622222222"]
            .iter()
            .map(|p| device_identity(&DeviceType::Phone, p, "FR"))
            .collect();
        let twice = contact("twice", &["0611111111", "+33611111111"]);
        let both = contact("both", &["+33 6 11 11 11 11", "06 22 22 22 22"]);
        let none = contact("none", &[]);
        let pick = |list: &[&ContactDetail]| {
            best_candidate(list, &wanted, |c: &&ContactDetail| Some(*c), "FR").map(|c| c.id.clone())
        };
        assert_eq!(pick(&[&twice, &both]).as_deref(), Some("both"));
        assert_eq!(pick(&[&none, &twice]).as_deref(), Some("twice"));
        assert_eq!(pick(&[&twice, &twice.clone()]).as_deref(), Some("twice"), "a tie: the first");
        let unread = best_candidate(&["a", "b"], &wanted, |_| None::<&ContactDetail>, "FR");
        assert_eq!(unread, Some(&"a"), "none read: the first");
    }

    #[test]
    fn device_identity_compares_by_key_and_type() {
        let id = |kind: DeviceType, value: &str| device_identity(&kind, value, "FR");
        assert_eq!(id(DeviceType::Phone, "06 12 34 56 78"), id(DeviceType::Phone, "+33612345678"));
        assert_ne!(id(DeviceType::Phone, "06 12 34 56 78"), id(DeviceType::Phone, "0612345679"));
        assert_ne!(id(DeviceType::Phone, "0612345678"), id(DeviceType::Url, "0612345678"));
        assert_eq!(id(DeviceType::Email, "A@B.fr "), id(DeviceType::Email, "a@b.FR"));
        assert_eq!(id(DeviceType::Url, "https://Example.com/"), id(DeviceType::Url, "example.com"));
    }
}
