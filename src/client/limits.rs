//! What the client will spend on one server: bytes per answer, unreadable answers in a row, pages
//! per search. A broken or hostile endpoint must cost bounded memory and time (docs/limits.md,
//! section "Server answers", says how a user raises each one).

use crate::wire::{Action, ContactPage};

/// Largest XML answer read, by default: a `findcontactlist` page of a few thousand entries or a
/// `getcontact` with hundreds of devices fits many times over.
pub const DEFAULT_ANSWER_BYTES: usize = 4 * MIB;
/// Largest picture expected, by default: the picture size import sends
/// ([`crate::mapping::DEFAULT_MAX_PICTURE_BYTES`]) and the sandbox's default `--max-picture-bytes`.
pub const DEFAULT_PICTURE_BYTES: usize = crate::mapping::DEFAULT_MAX_PICTURE_BYTES;
/// Unreadable answers in a row, across all calls, after which the endpoint is declared broken:
/// two calls' worth of tries at the default `--retries 5`.
pub const DEFAULT_UNREADABLE_IN_A_ROW: u32 = 12;
/// Calls in a row, across all calls, that failed after all their tries because the server
/// failed (5xx, timeouts, answers lost, throttled to the end), after which the endpoint is
/// declared failing: a dead server costs a few calls' retries, not every record's.
pub const DEFAULT_FAILED_CALLS_IN_A_ROW: u32 = 10;
/// Most pages followed for one search, whatever the server claims.
pub const DEFAULT_PAGES_PER_SEARCH: u32 = 1000;

/// Room for the XML around a picture's base64 in a `getpicture` answer.
const PICTURE_ENVELOPE_BYTES: usize = 64 * 1024;
const MIB: usize = 1024 * 1024;

/// The environment variables that raise the limits.
pub const ENV_ANSWER_MB: &str = "ORANGE_CONTACTS_MAX_ANSWER_MB";
pub const ENV_PICTURE_MB: &str = "ORANGE_CONTACTS_MAX_PICTURE_MB";
pub const ENV_UNREADABLE: &str = "ORANGE_CONTACTS_MAX_UNREADABLE";
pub const ENV_PAGES: &str = "ORANGE_CONTACTS_MAX_PAGES";
pub const ENV_FAILED_CALLS: &str = "ORANGE_CONTACTS_MAX_FAILED_CALLS";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerLimits {
    /// Bytes of one answer, except `getpicture`.
    pub answer_bytes: usize,
    /// Bytes of one picture (its `getpicture` answer may hold that in base64, plus the XML).
    pub picture_bytes: usize,
    /// Unreadable answers in a row before every call fails as "endpoint broken".
    pub unreadable_in_a_row: u32,
    /// Calls failed by the server in a row before every call fails as "endpoint failing".
    pub failed_calls_in_a_row: u32,
    /// Pages followed per search.
    pub pages_per_search: u32,
}

impl Default for AnswerLimits {
    fn default() -> AnswerLimits {
        AnswerLimits {
            answer_bytes: DEFAULT_ANSWER_BYTES,
            picture_bytes: DEFAULT_PICTURE_BYTES,
            unreadable_in_a_row: DEFAULT_UNREADABLE_IN_A_ROW,
            failed_calls_in_a_row: DEFAULT_FAILED_CALLS_IN_A_ROW,
            pages_per_search: DEFAULT_PAGES_PER_SEARCH,
        }
    }
}

impl AnswerLimits {
    /// The defaults, raised or lowered by the environment variables that are set. A value that is
    /// not a positive number is an error naming the variable.
    pub fn from_env() -> Result<AnswerLimits, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<AnswerLimits, String> {
        let mut limits = AnswerLimits::default();
        let number = |name: &str| -> Result<Option<f64>, String> {
            let Some(raw) = get(name).filter(|v| !v.trim().is_empty()) else { return Ok(None) };
            match raw.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n > 0.0 => Ok(Some(n)),
                _ => Err(format!("{name} must be a positive number (got {raw:?})")),
            }
        };
        let megabytes = |n: f64| (n * MIB as f64).min(usize::MAX as f64) as usize;
        let count = |n: f64| n.max(1.0).min(u32::MAX as f64) as u32;
        if let Some(n) = number(ENV_ANSWER_MB)? {
            limits.answer_bytes = megabytes(n);
        }
        if let Some(n) = number(ENV_PICTURE_MB)? {
            limits.picture_bytes = megabytes(n);
        }
        if let Some(n) = number(ENV_UNREADABLE)? {
            limits.unreadable_in_a_row = count(n);
        }
        if let Some(n) = number(ENV_FAILED_CALLS)? {
            limits.failed_calls_in_a_row = count(n);
        }
        if let Some(n) = number(ENV_PAGES)? {
            limits.pages_per_search = count(n);
        }
        Ok(limits)
    }

    /// The most bytes read of an answer to `action`: a `getpicture` answer carries the picture in
    /// base64 (4 bytes per 3), and may be larger than other answers.
    pub fn answer_bytes(&self, action: Action) -> usize {
        match action {
            Action::GetPicture => {
                let base64 = self.picture_bytes.div_ceil(3).saturating_mul(4);
                base64.saturating_add(PICTURE_ENVELOPE_BYTES)
            }
            _ => self.answer_bytes,
        }
    }

    /// The variable that raises the answer limit of `action`.
    pub fn raised_by(action: Action) -> &'static str {
        match action {
            Action::GetPicture => ENV_PICTURE_MB,
            _ => ENV_ANSWER_MB,
        }
    }
}

/// The last page of a search worth asking for, given its first page: what `total-data` needs at
/// the first page's size, no more than the server's `nbpage`, and never more than `max_pages`. A
/// server claiming a million pages of one entry each is followed `max_pages` pages at most.
pub fn pages_to_follow(first: &ContactPage, max_pages: u32) -> u32 {
    let per_page = first.entries.len().max(1) as u64;
    let needed = u64::from(first.total).div_ceil(per_page).max(1);
    needed.min(u64::from(first.pages)).min(u64::from(max_pages.max(1))) as u32
}

/// A size in MiB for messages (`4 MiB`, `1.4 MiB`).
pub fn mebibytes(bytes: usize) -> String {
    let mib = bytes as f64 / MIB as f64;
    if mib.fract() == 0.0 {
        format!("{mib:.0} MiB")
    } else {
        format!("{mib:.1} MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ContactSummary;

    #[test]
    fn limits_from_the_environment() {
        let none = AnswerLimits::from_lookup(|_| None).unwrap();
        assert_eq!(none, AnswerLimits::default());
        let set = AnswerLimits::from_lookup(|name| {
            Some(
                match name {
                    ENV_ANSWER_MB => "16",
                    ENV_PICTURE_MB => "0.5",
                    ENV_UNREADABLE => "3",
                    ENV_FAILED_CALLS => "40",
                    _ => " ",
                }
                .to_string(),
            )
        })
        .unwrap();
        assert_eq!(set.answer_bytes, 16 * MIB);
        assert_eq!(set.picture_bytes, MIB / 2);
        assert_eq!(set.unreadable_in_a_row, 3);
        assert_eq!(set.failed_calls_in_a_row, 40);
        assert_eq!(set.pages_per_search, DEFAULT_PAGES_PER_SEARCH, "blank is unset");
        for bad in ["0", "-1", "lots", "NaN", "inf"] {
            let err = AnswerLimits::from_lookup(|n| (n == ENV_PAGES).then(|| bad.to_string())).unwrap_err();
            assert!(err.contains(ENV_PAGES), "{err}");
        }
    }

    #[test]
    fn picture_answers_may_hold_the_picture_in_base64() {
        let limits = AnswerLimits::default();
        assert_eq!(limits.answer_bytes(Action::GetContact), 4 * MIB);
        // 1 MiB of picture: 1,398,104 bytes of base64, and the XML around it.
        assert_eq!(limits.answer_bytes(Action::GetPicture), 1_398_104 + 64 * 1024);
        let big = AnswerLimits { picture_bytes: 9 * MIB, ..limits };
        assert_eq!(big.answer_bytes(Action::GetPicture), 12 * MIB + 64 * 1024);
        assert_eq!(mebibytes(4 * MIB), "4 MiB");
        assert_eq!(mebibytes(3 * MIB / 2), "1.5 MiB");
    }

    fn page(entries: usize, total: u32, pages: u32) -> ContactPage {
        let entries =
            (0..entries).map(|i| ContactSummary { id: i.to_string(), ..Default::default() }).collect();
        ContactPage { total, pages, page: 1, entries }
    }

    #[test]
    fn pages_follow_total_data_within_a_maximum() {
        assert_eq!(pages_to_follow(&page(50, 120, 3), 1000), 3);
        assert_eq!(pages_to_follow(&page(50, 120, 1_000_000), 1000), 3, "nbpage beyond what total needs");
        assert_eq!(pages_to_follow(&page(1, 1_000_000, 1_000_000), 1000), 1000, "the hard maximum");
        assert_eq!(pages_to_follow(&page(1, 3, 1_000_000), 1000), 3);
        assert_eq!(pages_to_follow(&page(50, 120, 2), 1000), 2, "no more than nbpage");
        assert_eq!(pages_to_follow(&page(0, 5, 9), 1000), 5, "an empty first page counts as one entry");
        assert_eq!(pages_to_follow(&page(10, 0, 1), 0), 1);
    }
}
