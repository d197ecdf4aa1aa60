//! The API's behaviour, one function per action, speaking only `crate::wire` types and the store.
//! HTTP concerns (auth, rate limit, faults, multipart) stay in `sandbox::mod`.
//!
//! Checks run in this order, and a request that fails one writes nothing:
//! action (1 unknown / 2 missing) → token (2 missing / 5 unknown) → consent (privacy refusal) →
//! parameters (2 missing / 4 invalid) → data (100 not found, including another user's contact).

use std::collections::HashMap;

use crate::wire::search::parse_term;
use crate::wire::{
    param, render, Action, ErrorCode, ImageType, NewContact, NewDevice, PrivacyRefusal, RequestError,
    ServiceError,
};

use super::store::{Store, StoreResult, User};

/// The consent URL of the privacy refusal (`family`, not the template's `familly`).
const PRIVACY_URL: &str =
    "http://privacy.sandbox.invalid/privacy/interaction.do?family=contact&serviceId=SANDBOX";

/// Server settings the handlers need.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub page_size: Option<u32>,
    pub paging: bool,
    pub max_picture_bytes: usize,
}

/// A request as the HTTP layer collected it. Its `Debug` hides the token.
#[derive(Default)]
pub struct Request {
    /// Query and form parameters (first occurrence wins).
    pub params: HashMap<String, String>,
    /// The multipart `file` field (at most `max_picture_bytes + 1` bytes kept).
    pub file: Option<Vec<u8>>,
    /// The file was longer than what was kept.
    pub file_truncated: bool,
    /// `--not-found-rate` picked this `getcontact`: answer "data not found" whatever the store holds.
    pub phantom_not_found: bool,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never in a log line, even a debugging one.
        let params: std::collections::BTreeMap<&str, &str> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), if k == param::TOKEN { "[REDACTED]" } else { v.as_str() }))
            .collect();
        f.debug_struct("Request")
            .field("params", &params)
            .field("file", &self.file.as_ref().map(Vec::len))
            .field("file_truncated", &self.file_truncated)
            .field("phantom_not_found", &self.phantom_not_found)
            .finish()
    }
}

/// What happened, for the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Error(ErrorCode),
    Privacy,
}

/// The answer to send: HTTP status and XML body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub outcome: Outcome,
}

impl Reply {
    fn ok(body: String) -> Reply {
        Reply { status: 200, body, outcome: Outcome::Ok }
    }
}

/// A refusal on the way to an answer.
enum Refusal {
    Service(ServiceError),
    Privacy(PrivacyRefusal),
}

impl From<RequestError> for Refusal {
    fn from(e: RequestError) -> Refusal {
        Refusal::Service(e.into())
    }
}

fn service(code: ErrorCode, subtype: &str, message: impl Into<String>) -> Refusal {
    Refusal::Service(ServiceError { code, subtype: subtype.to_string(), message: message.into() })
}

fn not_found(cid: &str) -> Refusal {
    Refusal::Service(ServiceError::not_found(cid))
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

type Answer = Result<String, Refusal>;

/// Handles one API request. `Err` only for a store failure (an internal error, HTTP 500).
pub fn handle(store: &Store, limits: &Limits, req: &Request) -> StoreResult<Reply> {
    let raw_action = req.params.get(param::ACTION).map(|s| s.trim()).unwrap_or("");
    let action = Action::from_name(raw_action);
    match answer(store, limits, req, raw_action, action) {
        Ok(Ok(body)) => Ok(Reply::ok(body)),
        Ok(Err(Refusal::Service(e))) => {
            // Service errors travel inside an xpage with HTTP 200 (docs/api.md).
            Ok(Reply {
                status: 200,
                outcome: Outcome::Error(e.code),
                body: render::service_error(action, &e),
            })
        }
        Ok(Err(Refusal::Privacy(p))) => {
            Ok(Reply { status: 500, outcome: Outcome::Privacy, body: render::privacy_refusal(&p) })
        }
        Err(e) => Err(e),
    }
}

fn answer(
    store: &Store,
    limits: &Limits,
    req: &Request,
    raw_action: &str,
    action: Option<Action>,
) -> StoreResult<Answer> {
    let action = match action {
        Some(a) => a,
        None if raw_action.is_empty() => return Ok(Err(RequestError::Missing(param::ACTION).into())),
        None => {
            return Ok(Err(service(
                ErrorCode::UnknownAction,
                param::ACTION,
                format!("The command '{}' is unknown.", clip(raw_action)),
            )))
        }
    };
    let token = req.params.get(param::TOKEN).map(String::as_str).unwrap_or("");
    if token.is_empty() {
        return Ok(Err(RequestError::Missing(param::TOKEN).into()));
    }
    // Never echo the token: it is a credential.
    let Some(user) = store.user_by_token(token)? else {
        return Ok(Err(service(ErrorCode::InvalidUser, param::TOKEN, "The user token is incorrect.")));
    };
    if user.denied {
        let attributes = if action.is_write() { ",add" } else { ",see" };
        return Ok(Err(Refusal::Privacy(PrivacyRefusal {
            code: -3,
            detail: "PrivacyAccessDeniedException".into(),
            url: format!("{PRIVACY_URL}&attributes={attributes}"),
        })));
    }
    match action {
        Action::FindContactList => find_contact_list(store, limits, user, &req.params),
        Action::GetContact if req.phantom_not_found => {
            Ok(required(&req.params, param::CID).and_then(|cid| Err(not_found(cid))))
        }
        Action::GetContact => get_contact(store, user, &req.params),
        Action::AddContact => add_contact(store, user, &req.params),
        Action::AddDevice => add_device(store, user, &req.params),
        Action::GetPicture => get_picture(store, user, &req.params),
        Action::AddPicture => add_picture(store, limits, user, req),
    }
}

fn required<'a>(params: &'a HashMap<String, String>, name: &'static str) -> Result<&'a str, Refusal> {
    params.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()).ok_or(RequestError::Missing(name).into())
}

fn find_contact_list(
    store: &Store,
    limits: &Limits,
    user: User,
    params: &HashMap<String, String>,
) -> StoreResult<Answer> {
    // The seed makes `search` mandatory; a missing or blank term is code 2, a wildcard code 4.
    let term = match params
        .get(param::SEARCH)
        .ok_or(RequestError::Missing(param::SEARCH))
        .and_then(|s| parse_term(s))
    {
        Ok(t) => t,
        Err(e) => return Ok(Err(e.into())),
    };
    let page = if limits.paging {
        match params.get(param::PAGE).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => 1,
            Some(p) => match p.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => return Ok(Err(RequestError::invalid(param::PAGE, p).into())),
            },
        }
    } else {
        1
    };
    let (limit, offset) = match limits.page_size {
        Some(size) => (Some(size), (page - 1).saturating_mul(size)),
        // Uncapped: everything is on page 1; later pages are empty.
        None if page == 1 => (None, 0),
        None => (Some(0), 0),
    };
    let found = store.find(user.id, &term, limit, offset)?;
    let pages = match limits.page_size {
        Some(size) => found.total.div_ceil(size.max(1)).max(1),
        None => 1,
    };
    Ok(Ok(render::contact_page(&crate::wire::ContactPage {
        total: found.total,
        pages,
        page,
        entries: found.entries,
    })))
}

fn get_contact(store: &Store, user: User, params: &HashMap<String, String>) -> StoreResult<Answer> {
    let cid = match required(params, param::CID) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    Ok(match store.contact(user.id, cid)? {
        Some(detail) => Ok(render::contact_detail(&detail)),
        None => Err(not_found(cid)),
    })
}

/// A birthday must be a real calendar date written `YYYY-MM-DD`.
fn valid_birthday(s: &str) -> bool {
    crate::wire::date::parse(s).is_some()
}

fn add_contact(store: &Store, user: User, params: &HashMap<String, String>) -> StoreResult<Answer> {
    // "At least one of these four fields must be present": a missing parameter (code 2), checked
    // on the raw parameters so that it comes before an invalid `civility` (4), as missing
    // parameters do in every other method.
    let present = |name: &str| params.get(name).is_some_and(|v| !v.trim().is_empty());
    if ![param::LASTNAME, param::FIRSTNAME, param::NICKNAME, param::COMPANY].into_iter().any(present) {
        return Ok(Err(Refusal::Service(ServiceError::missing_identity())));
    }
    let contact = match NewContact::from_query(params) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e.into())),
    };
    if let Some(b) = contact.birthday.as_deref().filter(|b| !valid_birthday(b)) {
        return Ok(Err(RequestError::invalid(param::BIRTHDAY, b).into()));
    }
    let cid = store.add_contact(user.id, &contact)?;
    Ok(Ok(render::added_contact(&cid)))
}

fn add_device(store: &Store, user: User, params: &HashMap<String, String>) -> StoreResult<Answer> {
    let device = match NewDevice::from_query(params) {
        Ok(d) => d,
        Err(e) => return Ok(Err(e.into())),
    };
    Ok(if store.add_device(user.id, &device)? {
        Ok(render::ok(Action::AddDevice))
    } else {
        Err(not_found(&device.cid))
    })
}

fn get_picture(store: &Store, user: User, params: &HashMap<String, String>) -> StoreResult<Answer> {
    let cid = match required(params, param::CID) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    Ok(match store.picture(user.id, cid)? {
        Some(picture) => Ok(render::picture(picture.as_ref())),
        None => Err(not_found(cid)),
    })
}

fn add_picture(store: &Store, limits: &Limits, user: User, req: &Request) -> StoreResult<Answer> {
    let cid = match required(&req.params, param::CID) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let Some(bytes) = req.file.as_deref().filter(|b| !b.is_empty()) else {
        return Ok(Err(RequestError::Missing(param::FILE).into()));
    };
    if req.file_truncated || bytes.len() > limits.max_picture_bytes {
        return Ok(Err(service(
            ErrorCode::InvalidParameter,
            param::FILE,
            format!("'file' is invalid: larger than {} bytes.", limits.max_picture_bytes),
        )));
    }
    let Some(kind) = ImageType::sniff(bytes) else {
        return Ok(Err(service(
            ErrorCode::InvalidParameter,
            param::FILE,
            "'file' is invalid: not a JPEG, GIF or BMP image.",
        )));
    };
    Ok(if store.set_picture(user.id, cid, bytes, kind)? {
        Ok(render::ok(Action::AddPicture))
    } else {
        Err(not_found(cid))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { page_size: None, paging: true, max_picture_bytes: 100 };

    fn setup() -> (tempfile::TempDir, Store, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let token = store.token_for("alice").unwrap();
        (dir, store, token)
    }

    fn call(store: &Store, limits: &Limits, token: &str, pairs: &[(&str, &str)]) -> Reply {
        let mut params: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        params.insert("token".into(), token.into());
        handle(store, limits, &Request { params, ..Default::default() }).unwrap()
    }

    #[test]
    fn birthday_must_be_a_real_iso_date() {
        assert!(valid_birthday("1951-01-01"));
        assert!(valid_birthday("2000-02-29"));
        for bad in ["1951-1-1", "1951-02-30", "01/01/1951", "1951-01-01T00:00", "--0415", "abcd-ef-gh"] {
            assert!(!valid_birthday(bad), "{bad}");
        }
    }

    #[test]
    fn rejected_writes_leave_nothing() {
        let (_d, store, token) = setup();
        for pairs in [
            vec![("action", "addcontact"), ("nickname", "x"), ("civility", "7")],
            vec![("action", "addcontact"), ("nickname", "x"), ("birthday", "1951-13-01")],
            vec![("action", "addcontact"), ("function", "boss")],
        ] {
            let r = call(&store, &LIMITS, &token, &pairs);
            assert!(matches!(r.outcome, Outcome::Error(_)), "{pairs:?}");
        }
        let r = call(&store, &LIMITS, &token, &[("action", "findcontactlist"), ("search", "x")]);
        assert!(r.body.contains("total-data=\"0\""), "{}", r.body);
    }

    #[test]
    fn request_debug_hides_the_token() {
        let (_d, _store, token) = setup();
        let params = HashMap::from([("token".to_string(), token.clone()), ("cid".into(), "7".into())]);
        let shown = format!("{:?}", Request { params, file: Some(vec![1, 2, 3]), ..Request::default() });
        assert!(!shown.contains(&token), "{shown}");
        assert!(shown.contains("[REDACTED]") && shown.contains("\"7\""), "{shown}");
    }

    #[test]
    fn missing_identity_is_reported_before_an_invalid_civility() {
        // docs/api.md: parameters are checked for presence (2) before validity (4).
        let (_d, store, token) = setup();
        let r = call(&store, &LIMITS, &token, &[("action", "addcontact"), ("civility", "7")]);
        assert_eq!(r.outcome, Outcome::Error(ErrorCode::MissingParameter), "{}", r.body);
        let r =
            call(&store, &LIMITS, &token, &[("action", "addcontact"), ("nickname", " "), ("civility", "x")]);
        assert_eq!(r.outcome, Outcome::Error(ErrorCode::MissingParameter), "{}", r.body);
        let r =
            call(&store, &LIMITS, &token, &[("action", "addcontact"), ("nickname", "x"), ("civility", "7")]);
        assert_eq!(r.outcome, Outcome::Error(ErrorCode::InvalidParameter), "{}", r.body);
    }

    #[test]
    fn paging_caps_entries_and_reports_totals() {
        let (_d, store, token) = setup();
        for name in ["Aa", "Ab", "Ac", "Ad", "Ae"] {
            call(&store, &LIMITS, &token, &[("action", "addcontact"), ("lastname", name)]);
        }
        let capped = Limits { page_size: Some(2), ..LIMITS };
        let r =
            call(&store, &capped, &token, &[("action", "findcontactlist"), ("search", "a"), ("page", "3")]);
        assert!(r.body.contains("total-data=\"5\" nbpage=\"3\" page=\"3\" nbentries=\"1\""), "{}", r.body);
        assert!(r.body.contains("<lastname>Ae</lastname>"));
        let r =
            call(&store, &capped, &token, &[("action", "findcontactlist"), ("search", "a"), ("page", "0")]);
        assert_eq!(r.outcome, Outcome::Error(ErrorCode::InvalidParameter));
        let no_paging = Limits { paging: false, ..capped };
        let r = call(
            &store,
            &no_paging,
            &token,
            &[("action", "findcontactlist"), ("search", "a"), ("page", "3")],
        );
        assert!(r.body.contains("page=\"1\" nbentries=\"2\""), "{}", r.body);
        let r = call(&store, &LIMITS, &token, &[("action", "findcontactlist"), ("search", "a")]);
        assert!(r.body.contains("total-data=\"5\" nbpage=\"1\" page=\"1\" nbentries=\"5\""), "{}", r.body);
    }
}
