//! The contact as this tool understands it: independent of vCard, CSV and the wire protocol.
//!
//! Readers (`formats`) produce it; `mapping` turns it into API calls and back; writers turn it
//! into vCards. Whatever a reader saw but has no field here goes to [`Contact::extra`], so the
//! report can name it as dropped instead of losing it silently.

/// Home / work distinction of vCard TYPE and CSV labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    Home,
    Work,
    Other,
}

/// A possibly partial date (vCard 4.0 `--0415`, Google CSV ` --12-25`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartialDate {
    pub year: Option<u16>,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl PartialDate {
    /// `YYYY-MM-DD` when the date is complete and valid.
    pub fn to_iso(&self) -> Option<String> {
        let (y, m, d) = (self.year?, self.month?, self.day?);
        let days_in_month = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            _ => return None,
        };
        (d >= 1 && d <= days_in_month).then(|| format!("{y:04}-{m:02}-{d:02}"))
    }

    /// Reads `YYYY-MM-DD` (what the API stores).
    pub fn from_iso(s: &str) -> Option<PartialDate> {
        let mut it = s.trim().splitn(3, '-');
        let year = it.next()?.parse().ok()?;
        let month = it.next()?.parse().ok()?;
        let day = it.next()?.get(..2)?.parse().ok()?;
        let d = PartialDate { year: Some(year), month: Some(month), day: Some(day) };
        d.to_iso().map(|_| d)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email {
    pub value: String,
    pub place: Option<Place>,
    pub preferred: bool,
    /// Free label (iOS `X-ABLabel`, CSV `E-mail 1 - Label`), when not a home/work one.
    pub label: Option<String>,
}

/// What kind of line a phone number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PhoneKind {
    Mobile,
    Voice,
    Fax,
    Video,
    Pager,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    /// As written in the source (a `tel:` URI prefix removed).
    pub value: String,
    pub kind: PhoneKind,
    pub place: Option<Place>,
    pub preferred: bool,
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebUrl {
    pub value: String,
    pub place: Option<Place>,
    pub label: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PostalAddress {
    pub place: Option<Place>,
    pub po_box: Option<String>,
    pub extended: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub label: Option<String>,
}

/// A photo as the source carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Photo {
    /// Inline bytes (base64 or `data:` URI), with the media type the source declared, if any.
    Inline { bytes: Vec<u8>, media_type: Option<String> },
    /// A link (`http…`), which this tool does not fetch.
    Uri(String),
    /// Present but unreadable (bad base64, …): the reason.
    Unreadable(String),
}

/// A field read from the source that the model has no place for (IMPP, ANNIVERSARY, X-…).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtraField {
    /// The source's name for it: `IMPP`, `X-ANDROID-CUSTOM`, `Anniversary`, …
    pub field: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// vCard UID, when the source had one.
    pub uid: Option<String>,
    /// FN / display name.
    pub formatted_name: Option<String>,
    pub prefix: Option<String>,
    pub given: Option<String>,
    pub additional: Option<String>,
    pub family: Option<String>,
    pub suffix: Option<String>,
    pub nickname: Option<String>,
    pub organization: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub birthday: Option<PartialDate>,
    /// Birthday text that could not be read as a date: reported as dropped.
    pub birthday_text: Option<String>,
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub urls: Vec<WebUrl>,
    pub addresses: Vec<PostalAddress>,
    pub photo: Option<Photo>,
    pub notes: Vec<String>,
    pub categories: Vec<String>,
    /// Marital status code as the API stores it (only `sandbox seed` and export use it).
    pub marital_status: Option<u8>,
    pub extra: Vec<ExtraField>,
}

impl Contact {
    /// The best human name for messages and reports: FN, else given + family, else nickname,
    /// else organization, else the first email.
    pub fn display_name(&self) -> String {
        let nonblank =
            |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(fn_) = nonblank(&self.formatted_name) {
            return fn_;
        }
        let parts: Vec<String> = [&self.given, &self.family].into_iter().filter_map(nonblank).collect();
        if !parts.is_empty() {
            return parts.join(" ");
        }
        nonblank(&self.nickname)
            .or_else(|| nonblank(&self.organization))
            .or_else(|| self.emails.first().map(|e| e.value.clone()))
            .unwrap_or_default()
    }
}
