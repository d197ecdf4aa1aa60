//! The Personal Contacts API wire protocol: action and parameter names, error codes,
//! the typed requests and responses, and their XML forms.
//!
//! This is the only module the sandbox server and the HTTP client share. `render` turns the
//! typed responses into the XML the service sends (the sandbox uses it); `parse` reads that XML
//! back, tolerating the quirks of the spec's own samples (the client uses it). Neither side
//! reaches into the other. Decisions about the seed's ambiguities are in `docs/api.md`.

pub mod date;
pub mod parse;
pub mod render;
pub mod search;

use std::collections::HashMap;
use std::fmt;

/// Query/form parameter names, exactly as the seed spells them.
pub mod param {
    pub const ACTION: &str = "action";
    pub const TOKEN: &str = "token";
    pub const SEARCH: &str = "search";
    pub const CID: &str = "cid";
    pub const LASTNAME: &str = "lastname";
    pub const FIRSTNAME: &str = "firstname";
    pub const NICKNAME: &str = "nickname";
    pub const COMPANY: &str = "company";
    pub const FUNCTION: &str = "function";
    pub const DEPARTMENT: &str = "department";
    pub const EMAILPERSO: &str = "emailperso";
    pub const BIRTHDAY: &str = "birthday";
    pub const CIVILITY: &str = "civility";
    pub const TYPE: &str = "type";
    pub const SUBTYPE: &str = "subtype";
    pub const ORDER: &str = "order";
    pub const VALUE: &str = "value";
    pub const FILE: &str = "file";
    /// Paging extension (named after the response attributes; see docs/api.md).
    pub const PAGE: &str = "page";
}

/// The six documented methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    FindContactList,
    GetContact,
    AddContact,
    AddDevice,
    GetPicture,
    AddPicture,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::FindContactList,
        Action::GetContact,
        Action::AddContact,
        Action::AddDevice,
        Action::GetPicture,
        Action::AddPicture,
    ];

    /// The `action=` value a client sends.
    pub fn name(self) -> &'static str {
        match self {
            Action::FindContactList => "findcontactlist",
            Action::GetContact => "getcontact",
            Action::AddContact => "addcontact",
            Action::AddDevice => "adddevice",
            Action::GetPicture => "getpicture",
            Action::AddPicture => "addpicture",
        }
    }

    /// Reads an `action=` value. Besides the canonical names, accepts the seed's own
    /// multipart example spelling `add picture` (with a space).
    pub fn from_name(name: &str) -> Option<Action> {
        let name = name.trim();
        Action::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .or_else(|| (name == "add picture" || name == "add+picture").then_some(Action::AddPicture))
    }

    /// The `<command action="…">` attribute the seed's samples show for each method.
    pub fn command_action(self) -> &'static str {
        match self {
            Action::FindContactList => "ctcfindcontactlist",
            Action::GetContact => "ctcgetcontact",
            Action::AddContact => "ctcupdatecontact",
            Action::AddDevice => "cdvupdatedevice",
            Action::GetPicture => "ctcgetmedialist",
            Action::AddPicture => "ctcaddmedia",
        }
    }

    /// Whether the call changes the account (and so must not be blindly retried).
    pub fn is_write(self) -> bool {
        matches!(self, Action::AddContact | Action::AddDevice | Action::AddPicture)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Service error codes (`<error type="N">`, `<result>-N</result>`). The number is authoritative;
/// the seed's message column is shifted by one row, so messages here are realigned by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    UnknownAction,
    MissingParameter,
    InvalidParameter,
    InvalidUser,
    DataNotFound,
    Other(i32),
}

impl ErrorCode {
    pub fn from_code(code: i32) -> ErrorCode {
        // Saturating: `i32::MIN` comes from untrusted answers too, and `abs` would overflow.
        match code.saturating_abs() {
            1 => ErrorCode::UnknownAction,
            2 => ErrorCode::MissingParameter,
            4 => ErrorCode::InvalidParameter,
            5 => ErrorCode::InvalidUser,
            100 => ErrorCode::DataNotFound,
            n => ErrorCode::Other(n),
        }
    }

    pub fn code(self) -> i32 {
        match self {
            ErrorCode::UnknownAction => 1,
            ErrorCode::MissingParameter => 2,
            ErrorCode::InvalidParameter => 4,
            ErrorCode::InvalidUser => 5,
            ErrorCode::DataNotFound => 100,
            ErrorCode::Other(n) => n,
        }
    }

    /// The status column of the seed's table.
    pub fn status(self) -> &'static str {
        match self {
            ErrorCode::UnknownAction => "unknown action",
            ErrorCode::MissingParameter => "missing parameter",
            ErrorCode::InvalidParameter => "invalid parameter",
            ErrorCode::InvalidUser => "invalid user",
            ErrorCode::DataNotFound => "data not found",
            ErrorCode::Other(_) => "error",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.status())
    }
}

/// The error a server reports inside an `<xpage>` (service layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    pub code: ErrorCode,
    pub subtype: String,
    pub message: String,
}

impl ServiceError {
    /// Code 100 for a contact id the user does not have (another user's included).
    pub fn not_found(cid: &str) -> ServiceError {
        let cid: String = cid.chars().take(80).collect();
        ServiceError {
            code: ErrorCode::DataNotFound,
            subtype: param::CID.to_string(),
            message: format!("Data not found: no contact '{cid}'."),
        }
    }

    /// Code 2 for an `addcontact` with none of its four identifying fields.
    pub fn missing_identity() -> ServiceError {
        ServiceError {
            code: ErrorCode::MissingParameter,
            subtype: "lastname|firstname|nickname|company".to_string(),
            message: "One of 'lastname', 'firstname', 'nickname', 'company' is missing.".to_string(),
        }
    }
}

impl From<RequestError> for ServiceError {
    fn from(e: RequestError) -> ServiceError {
        let subtype = match &e {
            RequestError::Missing(p) => p.to_string(),
            RequestError::Invalid { param, .. } => param.to_string(),
        };
        ServiceError { code: e.code(), subtype, message: e.to_string() }
    }
}

/// The gateway's bare `<error><code>-3</code>…` refusal when the user has not granted access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyRefusal {
    pub code: i32,
    pub detail: String,
    /// The consent URL, XML-unescaped, exactly as the server sent it.
    pub url: String,
}

/// `addcontact` parameters. At least one of lastname/firstname/nickname/company is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewContact {
    pub lastname: Option<String>,
    pub firstname: Option<String>,
    pub nickname: Option<String>,
    pub company: Option<String>,
    pub function: Option<String>,
    pub department: Option<String>,
    pub emailperso: Option<String>,
    /// ISO 8601 date, `YYYY-MM-DD`.
    pub birthday: Option<String>,
    pub civility: Option<Civility>,
}

/// `civility`: 0 unknown, 1 Mr, 2 Mrs, 3 Miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Civility {
    Unknown = 0,
    Mr = 1,
    Mrs = 2,
    Miss = 3,
}

impl Civility {
    pub fn from_code(code: u8) -> Option<Civility> {
        match code {
            0 => Some(Civility::Unknown),
            1 => Some(Civility::Mr),
            2 => Some(Civility::Mrs),
            3 => Some(Civility::Miss),
            _ => None,
        }
    }
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Device types of `adddevice` / `getcontact`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum DeviceType {
    Email,
    Phone,
    Url,
    /// Anything else a server returns (`media` for pictures, …), kept verbatim.
    Other(String),
}

impl DeviceType {
    pub fn parse(s: &str) -> DeviceType {
        match s.trim().to_ascii_lowercase().as_str() {
            "email" => DeviceType::Email,
            "phone" => DeviceType::Phone,
            "url" => DeviceType::Url,
            _ => DeviceType::Other(s.trim().to_string()),
        }
    }
    pub fn as_str(&self) -> &str {
        match self {
            DeviceType::Email => "email",
            DeviceType::Phone => "phone",
            DeviceType::Url => "url",
            DeviceType::Other(s) => s,
        }
    }
}

/// Device subtypes. The seed spells the mobile subtype `mobile` for `adddevice` and `cell` in the
/// `getcontact` description: both read as [`DeviceSubtype::Mobile`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum DeviceSubtype {
    Internet,
    Voice,
    Mobile,
    Fax,
    Video,
    Web,
    Other(String),
}

impl DeviceSubtype {
    pub fn parse(s: &str) -> DeviceSubtype {
        match s.trim().to_ascii_lowercase().as_str() {
            "internet" => DeviceSubtype::Internet,
            "voice" => DeviceSubtype::Voice,
            "mobile" | "cell" => DeviceSubtype::Mobile,
            "fax" => DeviceSubtype::Fax,
            "video" => DeviceSubtype::Video,
            "web" => DeviceSubtype::Web,
            _ => DeviceSubtype::Other(s.trim().to_string()),
        }
    }
    /// The spelling a client sends to `adddevice` (the seed's adddevice table).
    pub fn request_str(&self) -> &str {
        match self {
            DeviceSubtype::Internet => "internet",
            DeviceSubtype::Voice => "voice",
            DeviceSubtype::Mobile => "mobile",
            DeviceSubtype::Fax => "fax",
            DeviceSubtype::Video => "video",
            DeviceSubtype::Web => "web",
            DeviceSubtype::Other(s) => s,
        }
    }
    /// The spelling a server emits in `getcontact` (the seed's getcontact table says `cell`).
    pub fn response_str(&self) -> &str {
        match self {
            DeviceSubtype::Mobile => "cell",
            other => other.request_str(),
        }
    }
    /// Whether this subtype is allowed for that device type (the seed's type/subtype table).
    pub fn allowed_for(&self, kind: &DeviceType) -> bool {
        matches!(
            (kind, self),
            (DeviceType::Email, DeviceSubtype::Internet)
                | (
                    DeviceType::Phone,
                    DeviceSubtype::Voice | DeviceSubtype::Mobile | DeviceSubtype::Fax | DeviceSubtype::Video
                )
                | (DeviceType::Url, DeviceSubtype::Web)
        )
    }
}

/// `adddevice` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub cid: String,
    pub kind: DeviceType,
    pub subtype: DeviceSubtype,
    /// Display order, 1-based.
    pub order: u32,
    pub value: String,
}

/// One entry of a `findcontactlist` answer (`<data view="shallow">`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContactSummary {
    /// Opaque, case-sensitive: `1`, `c6`, `C1` are all valid ids.
    pub id: String,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    /// Sent by the sandbox only for contacts with neither first nor last name.
    pub nickname: Option<String>,
    pub company: Option<String>,
}

/// A `findcontactlist` answer: one page of matches plus the server's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactPage {
    /// `total-data`: every match, not only this page's.
    pub total: u32,
    /// `nbpage`.
    pub pages: u32,
    /// `page` (1-based).
    pub page: u32,
    pub entries: Vec<ContactSummary>,
}

/// One device of a contact (`<device display id info-type order subtype type>value</device>`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Device {
    pub id: String,
    pub kind: DeviceType,
    pub subtype: DeviceSubtype,
    /// `perso`, `pro`, … as the server sent it.
    pub info_type: Option<String>,
    pub order: u32,
    pub display: bool,
    pub value: String,
}

/// One postal address (`<address info-type>` with street lines, zip code, city, state, country).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Address {
    pub info_type: Option<String>,
    pub streetline1: Option<String>,
    pub streetline2: Option<String>,
    pub zip_code: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
}

/// A `getcontact` answer (`<data view="deep">`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContactDetail {
    pub id: String,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub nickname: Option<String>,
    pub company: Option<String>,
    pub function: Option<String>,
    pub department: Option<String>,
    pub civility: Option<Civility>,
    /// Numeric code as stored; the API cannot write it (only `sandbox seed` can).
    pub maritalstatus: Option<u8>,
    /// As sent (ISO 8601 `YYYY-MM-DD`).
    pub birthday: Option<String>,
    pub devices: Vec<Device>,
    pub addresses: Vec<Address>,
}

/// Picture formats the API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ImageType {
    Jpeg,
    Gif,
    Bmp,
}

impl ImageType {
    /// Recognise an accepted image by its leading bytes (not by name or content type).
    pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageType::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageType::Gif)
        } else if bytes.len() > 14 && bytes.starts_with(b"BM") {
            Some(ImageType::Bmp)
        } else {
            None
        }
    }
    /// `typeImage` value: `gif`, `jpeg` or `bmp`.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpeg",
            ImageType::Gif => "gif",
            ImageType::Bmp => "bmp",
        }
    }
    pub fn parse(s: &str) -> Option<ImageType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" | "image/jpeg" => Some(ImageType::Jpeg),
            "gif" | "image/gif" => Some(ImageType::Gif),
            "bmp" | "image/bmp" => Some(ImageType::Bmp),
            _ => None,
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Gif => "image/gif",
            ImageType::Bmp => "image/bmp",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpg",
            ImageType::Gif => "gif",
            ImageType::Bmp => "bmp",
        }
    }
}

/// A `getpicture` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// The media device id (`<filename id>`), opaque.
    pub id: Option<String>,
    /// Decoded bytes of the `content` attribute.
    pub content: Vec<u8>,
    /// `typeImage`, when the server sent one the client understands.
    pub image_type: Option<ImageType>,
}

impl NewContact {
    /// Whether one of the four identifying fields is present and non-blank.
    pub fn has_identity(&self) -> bool {
        [&self.lastname, &self.firstname, &self.nickname, &self.company]
            .into_iter()
            .any(|f| f.as_deref().is_some_and(|s| !s.trim().is_empty()))
    }

    /// Query pairs (without `action` and `token`), omitting absent fields.
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let fields = [
            (param::LASTNAME, &self.lastname),
            (param::FIRSTNAME, &self.firstname),
            (param::NICKNAME, &self.nickname),
            (param::COMPANY, &self.company),
            (param::FUNCTION, &self.function),
            (param::DEPARTMENT, &self.department),
            (param::EMAILPERSO, &self.emailperso),
            (param::BIRTHDAY, &self.birthday),
        ];
        for (name, value) in fields {
            if let Some(v) = value {
                q.push((name, v.clone()));
            }
        }
        if let Some(c) = self.civility {
            q.push((param::CIVILITY, c.code().to_string()));
        }
        q
    }

    /// Reads the query pairs a server received. Validation of values (civility, birthday, identity)
    /// is the server's job; this only collects them. Empty values count as absent.
    pub fn from_query(q: &HashMap<String, String>) -> Result<NewContact, RequestError> {
        let get = |k: &str| q.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let civility = match get(param::CIVILITY) {
            None => None,
            Some(c) => Some(
                c.parse::<u8>()
                    .ok()
                    .and_then(Civility::from_code)
                    .ok_or_else(|| RequestError::invalid(param::CIVILITY, &c))?,
            ),
        };
        Ok(NewContact {
            lastname: get(param::LASTNAME),
            firstname: get(param::FIRSTNAME),
            nickname: get(param::NICKNAME),
            company: get(param::COMPANY),
            function: get(param::FUNCTION),
            department: get(param::DEPARTMENT),
            emailperso: get(param::EMAILPERSO),
            birthday: get(param::BIRTHDAY),
            civility,
        })
    }
}

impl NewDevice {
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        vec![
            (param::CID, self.cid.clone()),
            (param::TYPE, self.kind.as_str().to_string()),
            (param::SUBTYPE, self.subtype.request_str().to_string()),
            (param::ORDER, self.order.to_string()),
            (param::VALUE, self.value.clone()),
        ]
    }

    /// Reads and validates the query pairs a server received (type/subtype table, order ≥ 1).
    pub fn from_query(q: &HashMap<String, String>) -> Result<NewDevice, RequestError> {
        let need = |k: &'static str| {
            q.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).ok_or(RequestError::Missing(k))
        };
        let cid = need(param::CID)?;
        let kind_s = need(param::TYPE)?;
        let subtype_s = need(param::SUBTYPE)?;
        let order_s = need(param::ORDER)?;
        let value = need(param::VALUE)?;
        let kind = DeviceType::parse(&kind_s);
        if matches!(kind, DeviceType::Other(_)) {
            return Err(RequestError::invalid(param::TYPE, &kind_s));
        }
        let subtype = DeviceSubtype::parse(&subtype_s);
        if !subtype.allowed_for(&kind) {
            return Err(RequestError::invalid(param::SUBTYPE, &subtype_s));
        }
        let order = order_s
            .parse::<u32>()
            .ok()
            .filter(|o| *o >= 1)
            .ok_or_else(|| RequestError::invalid(param::ORDER, &order_s))?;
        Ok(NewDevice { cid, kind, subtype, order, value })
    }
}

/// Why a server refused a request's parameters: maps to codes 2 and 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    Missing(&'static str),
    Invalid { param: &'static str, value: String },
}

impl RequestError {
    pub fn invalid(param: &'static str, value: &str) -> RequestError {
        RequestError::Invalid { param, value: value.chars().take(80).collect() }
    }
    pub fn code(&self) -> ErrorCode {
        match self {
            RequestError::Missing(_) => ErrorCode::MissingParameter,
            RequestError::Invalid { .. } => ErrorCode::InvalidParameter,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Missing(p) => write!(f, "'{p}' is missing"),
            RequestError::Invalid { param, value } => write!(f, "'{param}' is invalid: {value:?}"),
        }
    }
}
