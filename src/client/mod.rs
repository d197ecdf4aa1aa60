//! The HTTP client of the Personal Contacts API: one typed async method per action, over
//! `crate::wire` (request parameters out, `wire::parse` for the answers).
//!
//! What it owns: URL building (every value percent-encoded, so opaque tokens with `+ / = |`
//! survive), optional HTTP Basic service credentials, pacing and retries (see [`pacer`]), the
//! mapping of every outcome to an [`ApiError`], and keeping the user token out of every message
//! (see [`redact`]).
//!
//! Retry policy. Reads are retried on transport errors, HTTP 5xx, 429 and unreadable answers.
//! Writes are retried only when the server certainly did not apply them: a connection that never
//! opened, a 429, a 503 refusal, or another 5xx that carries a body (the server answered that it
//! failed; for a service error body, only when the code is not about the request itself). A write
//! whose request went out but whose answer was lost, timed out, came back empty behind a 5xx or a
//! gateway's 502/504, or came back as an unreadable success, is *ambiguous*: it may have been
//! applied, so it is returned to the caller ([`ApiError::is_ambiguous`]) to check the account
//! before sending it again.
//!
//! Every answer's body is parsed whatever the HTTP status (the real service sent its privacy
//! refusal with a 500); the status decides only what to do when the body says nothing usable.
//!
//! Bounded against broken or hostile servers ([`limits`]): an answer is read incrementally up to
//! a size cap (over it, the call fails as unreadable, never retried); unreadable answers are
//! counted across all calls, and after [`AnswerLimits::unreadable_in_a_row`] of them with no
//! readable answer in between the endpoint is declared broken: every pending and later call fails
//! at once with one fatal [`ApiError::Broken`]. Answers the server itself marks as failed (5xx,
//! 429) are the retry policy's business and neither count nor reset. Calls are counted the same
//! way: after [`AnswerLimits::failed_calls_in_a_row`] calls that the server failed to the end
//! (5xx, timeouts and lost answers, 429 after every wait, each after its retries) with no call
//! answered in between, the endpoint is declared failing ([`ApiError::Failing`], fatal): a dead
//! server costs a few calls' retries, not every record's.

pub mod fatal;
pub mod limits;
mod pacer;
mod redact;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde::Serialize;
use url::Url;

use crate::wire::parse::{self, WireError};
use crate::wire::{
    param, Action, ContactDetail, ContactPage, ErrorCode, ImageType, NewContact, NewDevice, Picture,
    PrivacyRefusal, ServiceError,
};

pub use fatal::Fatal;
pub use limits::AnswerLimits;
pub use pacer::{rate_period, BACKOFF_BASE, BACKOFF_CAP, RETRY_AFTER_CAP};
pub use redact::{redact, REDACTED};

use pacer::Pacer;
use redact::{redact_secrets, register_secret};

/// How to reach the API and how hard to push it.
#[derive(Clone)]
pub struct ClientConfig {
    /// The PersonalContactsV1URL (`http(s)://host/…/PersonalContacts/V1`).
    pub endpoint: String,
    pub token: String,
    /// HTTP Basic `SERVICE_ID`, `SERVICE_PWD`.
    pub service_auth: Option<(String, String)>,
    /// Calls per second, all clones together; `None` = unlimited.
    pub rate: Option<f64>,
    /// Calls in flight at once, all clones together.
    pub concurrency: usize,
    /// Per-call (per HTTP request) timeout.
    pub timeout: Duration,
    /// Retries of a failed call (see the module's retry policy).
    pub retries: u32,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("endpoint", &redact(&self.endpoint))
            .field("token", &REDACTED)
            .field("service_auth", &self.service_auth.as_ref().map(|(id, _)| (id.as_str(), REDACTED)))
            .field("rate", &self.rate)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

/// Counters since the client was built, over all clones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallStats {
    /// Method calls per action name (one per call, however many HTTP requests it took).
    pub calls: BTreeMap<&'static str, u64>,
    /// Extra HTTP requests made by retries (throttled ones included).
    pub retries: u64,
    /// Answers that were HTTP 429 (each one made the client wait).
    pub throttled: u64,
    /// Write calls that ended ambiguous (maybe applied).
    pub ambiguous: u64,
}

impl CallStats {
    /// HTTP requests sent (or attempted) in all.
    pub fn requests(&self) -> u64 {
        self.calls.values().sum::<u64>() + self.retries
    }
}

/// A value read from an answer, with what reading it had to repair (bytes that were not valid in
/// the answer's encoding, …): the value is usable, the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithWarnings<T> {
    pub value: T,
    pub warnings: Vec<String>,
}

/// Why a call failed. Messages never contain the user token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The service answered with an error code (the code is authoritative).
    #[error("{action}: service error {}{}", error.code, service_detail(error))]
    Service { action: Action, error: ServiceError },
    /// The user has not granted this service access to their contacts: send them to `url`.
    #[error("the user has not granted access to their contacts ({} {}); consent URL: {}", .0.code, .0.detail, .0.url)]
    Privacy(PrivacyRefusal),
    /// The request failed in transit (connection dropped, timeout, …). `ambiguous`: a write went
    /// out and no answer came back, so it may have been applied.
    #[error("{action}: {message}{}", if *ambiguous { " (the write may have been applied)" } else { "" })]
    Transport { action: Action, message: String, ambiguous: bool },
    /// The endpoint could not be reached at all (no connection opened), even after retries.
    #[error("{action}: cannot reach the endpoint: {message}")]
    Unreachable { action: Action, message: String },
    /// The server kept answering 429 after every allowed wait.
    #[error("{action}: still throttled (HTTP 429) after {waits} waits")]
    Throttled { action: Action, waits: u32, retry_after: Option<Duration> },
    /// An HTTP error status with no readable API answer in the body (401, 404, 503, …).
    #[error("{action}: HTTP {status}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Http { action: Action, status: u16, message: String },
    /// The answer could not be read as the action's response.
    #[error("{action}: unreadable answer (HTTP {status}): {message}")]
    Malformed { action: Action, status: u16, message: String },
    /// The answer was larger than the limit for the action ([`AnswerLimits`]); only its start
    /// was read. For `findcontactlist` this means many matches: the listing refines the search.
    #[error(
        "{action}: unreadable answer (HTTP {status}): the answer is larger than {limit}, the limit for \
         {action} answers (raise it with {raised_by})"
    )]
    TooLarge { action: Action, status: u16, limit: String, raised_by: &'static str },
    /// `count` answers in a row could not be read (garbage, HTML, a wrong encoding, over the size
    /// limit) with no readable one in between: the endpoint is not the API, or is broken, and no
    /// further call is sent. `last` is the last of those errors.
    #[error(
        "{action}: the endpoint does not answer as the Personal Contacts API ({count} unreadable answers \
         in a row; the last: {last}); no more calls are sent"
    )]
    Broken { action: Action, count: u32, last: String },
    /// `count` calls in a row failed after all their tries because the server failed (5xx,
    /// timeouts, lost answers, 429 to the end) with no call answered in between: the server is
    /// down or overloaded, and no further call is sent. `last` is the last of those errors.
    #[error(
        "{action}: the endpoint failed {count} calls in a row, each after its retries (the last: {last}); \
         no more calls are sent: run again once it answers (ORANGE_CONTACTS_MAX_FAILED_CALLS sets the count)"
    )]
    Failing { action: Action, count: u32, last: String },
    /// The client could not be built from its configuration.
    #[error("client configuration: {0}")]
    Config(String),
}

fn service_detail(e: &ServiceError) -> String {
    match (e.subtype.is_empty(), e.message.is_empty()) {
        (_, false) if !e.subtype.is_empty() => format!(" [subtype {}]: {}", e.subtype, e.message),
        (_, false) => format!(": {}", e.message),
        (false, true) => format!(" [subtype {}]", e.subtype),
        (true, true) => String::new(),
    }
}

impl ApiError {
    /// The error as reports and messages show it: token-free.
    pub fn redacted(&self) -> String {
        redact(&self.to_string())
    }

    /// A write was sent and no usable answer came back: it may have been applied. Check the
    /// account (e.g. `findcontactlist`) before sending it again.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            ApiError::Transport { ambiguous, .. } => *ambiguous,
            ApiError::Malformed { action, .. } | ApiError::TooLarge { action, .. } => action.is_write(),
            _ => false,
        }
    }

    /// No later call can succeed either: stop the run (see [`Fatal`], the one rule).
    pub fn is_fatal(&self) -> bool {
        Fatal::of(self).is_some()
    }

    /// The service error code, when the service answered with one.
    pub fn service_code(&self) -> Option<ErrorCode> {
        match self {
            ApiError::Service { error, .. } => Some(error.code),
            _ => None,
        }
    }
}

/// A Personal Contacts API client. Cheap to clone; clones share the rate limiter, the concurrency
/// cap, the connection pool and the statistics.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    endpoint: Url,
    token: String,
    service_auth: Option<(String, String)>,
    retries: u32,
    pacer: Pacer,
    limits: AnswerLimits,
    unreadable: Mutex<Streak>,
    failed_calls: Mutex<Streak>,
    stats: Mutex<CallStats>,
}

/// Failures of one kind in a row, across all calls (unreadable answers, calls the server
/// failed), and whether they reached their limit: the endpoint is then declared broken or
/// failing, for good.
#[derive(Default)]
struct Streak {
    in_a_row: u32,
    /// The last failure's error, once `in_a_row` reached the limit.
    tripped: Option<String>,
}

impl Streak {
    fn reset(&mut self) {
        self.in_a_row = 0;
    }

    /// Counts `error`; at `limit`, the streak trips on it.
    fn count(&mut self, error: &ApiError, limit: u32) {
        self.in_a_row = self.in_a_row.saturating_add(1);
        if self.in_a_row >= limit && self.tripped.is_none() {
            self.tripped = Some(error.to_string());
        }
    }
}

impl ApiError {
    /// The server failed the call, rather than refused or misread it: what
    /// [`AnswerLimits::failed_calls_in_a_row`] counts. (A connection that never opened is
    /// already fatal, [`Fatal::Unreachable`].)
    fn is_server_failure(&self) -> bool {
        match self {
            ApiError::Http { status, .. } => *status >= 500,
            ApiError::Transport { .. } | ApiError::Throttled { .. } => true,
            _ => false,
        }
    }
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient").field("endpoint", &redact(self.inner.endpoint.as_str())).finish()
    }
}

/// Extra 429 waits a call may make beyond its `retries` (throttling is expected under load and is
/// not a failure, but it must end).
const EXTRA_THROTTLED_WAITS: u32 = 20;

/// Answer bytes kept in an error message.
const SNIPPET_CHARS: usize = 160;
/// Answer bytes searched for secrets before the snippet is cut: room for a secret written with
/// every character escaped, right at the cut.
const SNIPPET_SCAN_CHARS: usize = 4096;

/// An answer's body as text, and what decoding it had to repair.
struct Answer {
    text: String,
    /// Set when bytes invalid in the answer's encoding were replaced by U+FFFD.
    repaired: Option<String>,
}

impl Answer {
    fn warnings(&self) -> Vec<String> {
        self.repaired.iter().cloned().collect()
    }
}

/// A parser of the answer's text, for actions whose answer needs no decoding note.
fn text<T>(parse: impl Fn(&str) -> Result<T, WireError>) -> impl Fn(&Answer) -> Result<T, WireError> {
    move |answer| parse(&answer.text)
}

/// What one HTTP attempt came to.
enum Attempt<T> {
    /// Final: success, or an error retrying cannot fix (or that must not be retried).
    Done(Result<T, ApiError>),
    /// Worth another try; `error` is returned if the budget runs out.
    Retry { error: ApiError, retry_after: Option<Duration>, throttled: bool },
}

/// The endpoint as a URL: `http` or `https`, with a host. The error quotes it redacted.
pub fn endpoint_url(endpoint: &str) -> Result<Url, String> {
    let shown = || redact(endpoint.trim());
    let url = Url::parse(endpoint.trim())
        .map_err(|e| format!("endpoint {:?} is not a URL ({e}): write http://… or https://…", shown()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("endpoint {:?} is not an http(s) URL: write http://… or https://…", shown()));
    }
    Ok(url)
}

impl ApiClient {
    /// A client with the answer limits of the environment ([`AnswerLimits::from_env`]).
    pub fn new(config: ClientConfig) -> Result<ApiClient, ApiError> {
        let limits = AnswerLimits::from_env().map_err(ApiError::Config)?;
        ApiClient::with_limits(config, limits)
    }

    pub fn with_limits(config: ClientConfig, limits: AnswerLimits) -> Result<ApiClient, ApiError> {
        let endpoint = endpoint_url(&config.endpoint).map_err(ApiError::Config)?;
        if config.token.trim().is_empty() {
            return Err(ApiError::Config("the user token is empty".into()));
        }
        if config.timeout.is_zero() {
            return Err(ApiError::Config("the timeout must be more than 0 s".into()));
        }
        let pacer = Pacer::new(config.rate, config.concurrency).map_err(ApiError::Config)?;
        // A connect timeout shorter than the whole-request timeout, so a connection that never
        // opens is reported as such (certainly not sent) rather than as an ambiguous timeout.
        let connect_timeout = config.timeout.mul_f64(0.8).min(Duration::from_secs(10));
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(connect_timeout)
            .user_agent(concat!("orange-contacts/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Config(redact(&error_chain(&e.without_url()))))?;
        let token = config.token.trim().to_string();
        register_secret(&token);
        if let Some((id, pwd)) = &config.service_auth {
            use base64::Engine as _;
            register_secret(pwd);
            // The Authorization header's value, should a server echo the request's headers.
            register_secret(&base64::engine::general_purpose::STANDARD.encode(format!("{id}:{pwd}")));
        }
        Ok(ApiClient {
            inner: Arc::new(Inner {
                http,
                endpoint,
                token,
                service_auth: config.service_auth,
                retries: config.retries,
                pacer,
                limits,
                unreadable: Mutex::new(Streak::default()),
                failed_calls: Mutex::new(Streak::default()),
                stats: Mutex::new(CallStats::default()),
            }),
        })
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> CallStats {
        self.inner.stats.lock().expect("stats lock").clone()
    }

    /// What the user reads about `error`: for a fatal one, what happened and what to do (see
    /// [`fatal::explain`]), token-free.
    pub fn explain(&self, error: &ApiError) -> String {
        fatal::explain(error, self.inner.endpoint.as_str(), self.inner.service_auth.is_some())
    }

    /// What this client spends on one server at most.
    pub fn limits(&self) -> AnswerLimits {
        self.inner.limits
    }

    /// `findcontactlist`: one page of contacts whose first or last name starts with `search`
    /// (sent as given: quote complex terms with `wire::search::quote_term`). `page` uses the
    /// sandbox's paging extension; `None` asks for the server's first page.
    pub async fn find_contacts(&self, search: &str, page: Option<u32>) -> Result<ContactPage, ApiError> {
        let mut query = vec![(param::SEARCH, search.to_string())];
        if let Some(p) = page {
            query.push((param::PAGE, p.to_string()));
        }
        self.get(Action::FindContactList, &query, text(parse::contact_page)).await
    }

    /// `getcontact`, with what reading the answer had to repair (bytes invalid in its encoding,
    /// whose characters became U+FFFD).
    pub async fn read_contact(&self, cid: &str) -> Result<WithWarnings<ContactDetail>, ApiError> {
        let query = [(param::CID, cid.to_string())];
        let parse = |answer: &Answer| {
            let value = parse::contact_detail(&answer.text, cid)?;
            Ok(WithWarnings { value, warnings: answer.warnings() })
        };
        self.get(Action::GetContact, &query, parse).await
    }

    /// `addcontact`: the new contact's id.
    pub async fn add_contact(&self, contact: &NewContact) -> Result<String, ApiError> {
        self.get(Action::AddContact, &contact.to_query(), text(parse::added_contact)).await
    }

    /// `adddevice`.
    pub async fn add_device(&self, device: &NewDevice) -> Result<(), ApiError> {
        self.get(Action::AddDevice, &device.to_query(), text(parse::ok)).await
    }

    /// `getpicture`: `None` when the contact has no picture.
    pub async fn get_picture(&self, cid: &str) -> Result<Option<Picture>, ApiError> {
        let query = [(param::CID, cid.to_string())];
        self.get(Action::GetPicture, &query, text(parse::picture)).await
    }

    /// `addpicture`: a multipart POST (`action`, `cid`, `token`, and `file` named
    /// `picture.jpg|gif|bmp` with its content type).
    pub async fn add_picture(&self, cid: &str, bytes: &[u8], image_type: ImageType) -> Result<(), ApiError> {
        let inner = &self.inner;
        let build = |http: &reqwest::Client| {
            let file = reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name(format!("picture.{}", image_type.extension()))
                .mime_str(image_type.mime())
                .expect("static image MIME types parse");
            let form = reqwest::multipart::Form::new()
                .text(param::ACTION, Action::AddPicture.name())
                .text(param::CID, cid.to_string())
                .text(param::TOKEN, inner.token.clone())
                .part(param::FILE, file);
            self.authorize(http.post(inner.endpoint.clone())).multipart(form)
        };
        self.call(Action::AddPicture, build, text(parse::ok)).await
    }

    /// The GET URL of an action: the endpoint, then `action`, the parameters, and `token` last, all
    /// form-urlencoded.
    fn url(&self, action: Action, query: &[(&str, String)]) -> Url {
        let mut url = self.inner.endpoint.clone();
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair(param::ACTION, action.name());
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
            pairs.append_pair(param::TOKEN, &self.inner.token);
        }
        url
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.inner.service_auth {
            Some((id, pwd)) => request.basic_auth(id, Some(pwd)),
            None => request,
        }
    }

    async fn get<T>(
        &self,
        action: Action,
        query: &[(&str, String)],
        parse: impl Fn(&Answer) -> Result<T, WireError>,
    ) -> Result<T, ApiError> {
        let url = self.url(action, query);
        self.call(action, |http| self.authorize(http.get(url.clone())), parse).await
    }

    /// One call: attempts paced by the shared pacer, retried per the module's policy.
    async fn call<T>(
        &self,
        action: Action,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        parse: impl Fn(&Answer) -> Result<T, WireError>,
    ) -> Result<T, ApiError> {
        *self.lock_stats().calls.entry(action.name()).or_default() += 1;
        let retries = self.inner.retries;
        let throttle_budget = if retries == 0 { 0 } else { retries + EXTRA_THROTTLED_WAITS };
        let (mut failures, mut waits) = (0u32, 0u32);
        loop {
            let attempt = {
                let _slot = self.inner.pacer.acquire().await;
                match self.broken(action).or_else(|| self.failing(action)) {
                    Some(stopped) => return Err(stopped),
                    None => self.attempt(action, &build, &parse).await,
                }
            };
            let (error, retry_after, throttled) = match attempt {
                Attempt::Done(result) => {
                    if result.as_ref().is_err_and(ApiError::is_ambiguous) {
                        self.lock_stats().ambiguous += 1;
                    }
                    return self.settle(action, result);
                }
                Attempt::Retry { error, retry_after, throttled } => (error, retry_after, throttled),
            };
            if throttled {
                self.lock_stats().throttled += 1;
                waits += 1;
                if waits > throttle_budget {
                    return self
                        .settle(action, Err(ApiError::Throttled { action, waits: waits - 1, retry_after }));
                }
                // Everyone slows down, not only this call.
                self.inner.pacer.pause_for(retry_after.unwrap_or(BACKOFF_BASE).min(RETRY_AFTER_CAP));
            } else {
                failures += 1;
                if failures > retries {
                    return self.settle(action, Err(error));
                }
            }
            self.lock_stats().retries += 1;
            tokio::time::sleep(pacer::backoff(failures + waits.min(4) - 1, retry_after)).await;
        }
    }

    async fn attempt<T>(
        &self,
        action: Action,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        parse: &impl Fn(&Answer) -> Result<T, WireError>,
    ) -> Attempt<T> {
        let response = match build(&self.inner.http).send().await {
            Ok(r) => r,
            Err(e) => return self.transport_failure(action, &e),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(pacer::parse_retry_after);
        let limit = self.inner.limits.answer_bytes(action);
        let answer = match read_body(response, limit).await {
            Ok(Some(bytes)) => decode_body(&bytes),
            Ok(None) => {
                // Not retried: the same server would most likely send the same again.
                let error = ApiError::TooLarge {
                    action,
                    status: status.as_u16(),
                    limit: limits::mebibytes(limit),
                    raised_by: AnswerLimits::raised_by(action),
                };
                if action == Action::FindContactList {
                    // Many matches, not a broken endpoint: the listing refines such a search
                    // (`crate::listing`), so it neither counts toward the broken-endpoint
                    // limit nor resets it.
                    return Attempt::Done(Err(error));
                }
                return self.judge(action, status, false, Attempt::Done(Err(error)));
            }
            // The headers came but the body was cut: the request certainly reached the server.
            Err(e) => return self.transport_failure(action, &e),
        };
        let parsed = parse(&answer);
        let readable = !matches!(parsed, Err(WireError::Malformed(_)));
        let attempt = self.classify(action, status, retry_after, &answer.text, parsed);
        self.judge(action, status, readable, attempt)
    }

    /// Counts an answer that could not be read, or resets the count on one that could; declares
    /// the endpoint broken (and turns this attempt into [`ApiError::Broken`]) at the limit.
    /// Answers the server itself marks as failed (5xx, 429) neither count nor reset.
    fn judge<T>(
        &self,
        action: Action,
        status: StatusCode,
        readable: bool,
        attempt: Attempt<T>,
    ) -> Attempt<T> {
        let mut unreadable = self.inner.unreadable.lock().expect("unreadable lock");
        if readable {
            unreadable.reset();
            return attempt;
        }
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return attempt;
        }
        let (Attempt::Done(Err(error)) | Attempt::Retry { error, .. }) = &attempt else { return attempt };
        unreadable.count(error, self.inner.limits.unreadable_in_a_row);
        drop(unreadable);
        match self.broken(action) {
            Some(broken) => Attempt::Done(Err(broken)),
            None => attempt,
        }
    }

    /// The error every call gets once the endpoint was declared broken.
    fn broken(&self, action: Action) -> Option<ApiError> {
        let last = self.inner.unreadable.lock().expect("unreadable lock").tripped.clone()?;
        Some(ApiError::Broken { action, count: self.inner.limits.unreadable_in_a_row, last })
    }

    /// A call's last word: an answered call resets the failed calls in a row, one the server
    /// failed counts, and at the limit it becomes [`ApiError::Failing`].
    fn settle<T>(&self, action: Action, result: Result<T, ApiError>) -> Result<T, ApiError> {
        let mut failed = self.inner.failed_calls.lock().expect("failed calls lock");
        let error = match result {
            Err(error) if error.is_server_failure() => error,
            Err(ApiError::Broken { .. } | ApiError::Malformed { .. } | ApiError::TooLarge { .. }) => {
                return result; // the unreadable answers' own count
            }
            answered => {
                failed.reset();
                return answered;
            }
        };
        failed.count(&error, self.inner.limits.failed_calls_in_a_row);
        drop(failed);
        // A write that may have been applied stays ambiguous, so that its caller checks the
        // account for it (that check then meets the failing endpoint like every later call).
        if error.is_ambiguous() {
            return Err(error);
        }
        Err(self.failing(action).unwrap_or(error))
    }

    /// The error every call gets once the endpoint was declared failing.
    fn failing(&self, action: Action) -> Option<ApiError> {
        let last = self.inner.failed_calls.lock().expect("failed calls lock").tripped.clone()?;
        Some(ApiError::Failing { action, count: self.inner.limits.failed_calls_in_a_row, last })
    }

    /// A request that failed before any answer: never connected (safe to retry, even a write),
    /// or lost after sending (a write is then ambiguous).
    fn transport_failure<T>(&self, action: Action, e: &reqwest::Error) -> Attempt<T> {
        let message = redact(&error_chain(e));
        if e.is_connect() {
            return Attempt::Retry {
                error: ApiError::Unreachable { action, message },
                retry_after: None,
                throttled: false,
            };
        }
        let message = if e.is_timeout() { format!("timed out: {message}") } else { message };
        if action.is_write() {
            Attempt::Done(Err(ApiError::Transport { action, message, ambiguous: true }))
        } else {
            Attempt::Retry {
                error: ApiError::Transport { action, message, ambiguous: false },
                retry_after: None,
                throttled: false,
            }
        }
    }

    fn classify<T>(
        &self,
        action: Action,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &str,
        parsed: Result<T, WireError>,
    ) -> Attempt<T> {
        let code = status.as_u16();
        let write = action.is_write();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let error = ApiError::Throttled { action, waits: 0, retry_after };
            return Attempt::Retry { error, retry_after, throttled: true };
        }
        if status == StatusCode::SERVICE_UNAVAILABLE && !matches!(parsed, Err(WireError::Privacy(_))) {
            // A refusal: the request was not processed.
            let error = ApiError::Http { action, status: code, message: self.snippet(body) };
            return Attempt::Retry { error, retry_after, throttled: false };
        }
        match parsed {
            Ok(value) => Attempt::Done(Ok(value)),
            Err(WireError::Privacy(refusal)) => Attempt::Done(Err(ApiError::Privacy(PrivacyRefusal {
                // Verbatim but for the secrets: the user is sent there.
                url: redact_secrets(&refusal.url),
                detail: redact(&refusal.detail),
                ..refusal
            }))),
            Err(WireError::Service(error)) => {
                let error = ServiceError {
                    message: redact(&error.message),
                    subtype: redact(&error.subtype),
                    ..error
                };
                // Codes about the request itself fail the same way every time; a server-side
                // failure reported with a 5xx may pass on a later try (and was not applied).
                let transient = status.is_server_error()
                    && !matches!(
                        error.code,
                        ErrorCode::UnknownAction
                            | ErrorCode::MissingParameter
                            | ErrorCode::InvalidParameter
                            | ErrorCode::InvalidUser
                    )
                    && !matches!(error.code, ErrorCode::Other(n) if n < 0);
                let error = ApiError::Service { action, error };
                if transient {
                    Attempt::Retry { error, retry_after, throttled: false }
                } else {
                    Attempt::Done(Err(error))
                }
            }
            Err(WireError::Malformed(why)) => {
                let message = redact(&why);
                if status.is_client_error() {
                    // 401, 403, 404, …: the answer is the status itself.
                    return Attempt::Done(Err(ApiError::Http {
                        action,
                        status: code,
                        message: self.snippet(body),
                    }));
                }
                if status.is_server_error() {
                    // The server itself answered "failed" (500 with a body): not applied, worth
                    // another try. An empty answer, or a gateway's 502/504, may sit in front of a
                    // write that did happen.
                    let gateway = matches!(status, StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT);
                    if write && (gateway || body.trim().is_empty()) {
                        let message = format!("HTTP {code} with no answer from the service");
                        return Attempt::Done(Err(ApiError::Transport { action, message, ambiguous: true }));
                    }
                    let error = ApiError::Http { action, status: code, message: self.snippet(body) };
                    return Attempt::Retry { error, retry_after, throttled: false };
                }
                let error = ApiError::Malformed { action, status: code, message };
                if write {
                    // A success status with an unreadable body may hide a success: ambiguous.
                    Attempt::Done(Err(error))
                } else {
                    Attempt::Retry { error, retry_after, throttled: false }
                }
            }
        }
    }

    /// The start of an answer's body for an error message, redacted before it is cut (a secret
    /// cut in two would no longer be recognised).
    fn snippet(&self, body: &str) -> String {
        let head: String = body.chars().take(SNIPPET_SCAN_CHARS).collect();
        let flat = redact(&head.split_whitespace().collect::<Vec<_>>().join(" "));
        let mut s: String = flat.chars().take(SNIPPET_CHARS).collect();
        if flat.chars().count() > SNIPPET_CHARS {
            s.push('…');
        }
        s
    }

    fn lock_stats(&self) -> std::sync::MutexGuard<'_, CallStats> {
        self.inner.stats.lock().expect("stats lock")
    }
}

/// A reqwest error and its causes, without the URL (it holds the token).
fn error_chain(e: &reqwest::Error) -> String {
    let mut message = String::new();
    let mut current: Option<&dyn std::error::Error> = Some(e);
    let mut first = true;
    while let Some(err) = current {
        let text = match err.downcast_ref::<reqwest::Error>() {
            // Display of a reqwest::Error appends " for url (…)": rebuild it without.
            Some(re) => {
                let s = re.to_string();
                match re.url() {
                    Some(u) => s.replace(&format!(" for url ({u})"), ""),
                    None => s,
                }
            }
            None => err.to_string(),
        };
        if !message.contains(&text) {
            if !first {
                message.push_str(": ");
            }
            message.push_str(&text);
            first = false;
        }
        current = err.source();
    }
    redact(&message)
}

/// The body, read chunk by chunk; `None` as soon as it is known to exceed `limit` bytes (from
/// `Content-Length` before reading, else when the bytes read pass it). Dropping the response
/// then closes the connection: the rest is never read.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let declared = response.content_length();
    if declared.is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut body = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// The body as text: UTF-8 unless the XML declaration names another encoding encoding_rs knows.
/// Bytes invalid in that encoding become U+FFFD, and the answer says so.
fn decode_body(bytes: &[u8]) -> Answer {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
    let declared = head.find("encoding=").and_then(|i| {
        let rest = &head[i + "encoding=".len()..];
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        rest[1..].split(quote).next().map(str::to_string)
    });
    match declared.and_then(|label| encoding_rs::Encoding::for_label(label.trim().as_bytes())) {
        Some(enc) if enc != encoding_rs::UTF_8 => {
            let (text, _, had_errors) = enc.decode(bytes);
            let repaired = had_errors.then(|| {
                format!("the answer is not valid {}: undecodable bytes were replaced by U+FFFD", enc.name())
            });
            Answer { text: text.into_owned(), repaired }
        }
        _ => match std::str::from_utf8(bytes) {
            Ok(text) => Answer { text: text.to_string(), repaired: None },
            Err(e) => {
                let invalid = bytes.utf8_chunks().filter(|c| !c.invalid().is_empty()).count();
                let repaired = format!(
                    "the answer is not valid UTF-8 ({invalid} invalid byte sequence(s), the first at byte {}): \
                     they were replaced by U+FFFD",
                    e.valid_up_to()
                );
                Answer { text: String::from_utf8_lossy(bytes).into_owned(), repaired: Some(repaired) }
            }
        },
    }
}

#[cfg(test)]
mod tests;
