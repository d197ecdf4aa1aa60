//! The Personal Contacts API sandbox: an HTTP server speaking the seed's protocol over a
//! persistent SQLite store, with the unreliability of a real service available on demand
//! (latency, rate limit, injected faults, HTTP Basic service authentication).
//!
//! This module owns the HTTP layer: routes (`/PersonalContacts/V1`, alias `/int/PersonalContacts/V1`,
//! `/_sandbox/stats`), parameter collection (query string, urlencoded or multipart body), and the
//! gates a request passes before `handlers` sees it: service auth (401) → rate limit (429) →
//! fault injection. The protocol is documented in `docs/api.md`.

pub mod faults;
pub mod handlers;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine as _;

use crate::wire::{param, render, Action, ErrorCode};
use faults::{Fault, FaultInjector, RateGate};
use handlers::{Limits, Outcome};
use store::Store;

/// The API path; `/int/…` (the 2008 integration path) is an alias.
pub const API_PATH: &str = "/PersonalContacts/V1";
pub const API_PATH_INT: &str = "/int/PersonalContacts/V1";
pub const STATS_PATH: &str = "/_sandbox/stats";

/// How much of a request body beyond the picture limit is read before giving up with HTTP 413.
const BODY_SLACK: usize = 64 * 1024 * 1024;

/// Server settings (the `serve` command's options). Its `Debug` hides the service password.
#[derive(Clone)]
pub struct SandboxConfig {
    pub db: PathBuf,
    /// Cap on entries per findcontactlist response (None: all on one page).
    pub page_size: Option<u32>,
    /// Honour the `page` request parameter (paging extension).
    pub paging: bool,
    /// GCRA allowance, requests per second with burst = rate (None: unlimited).
    pub max_rps: Option<u32>,
    /// Probability in [0, 1] of an injected fault per API request.
    pub fail_rate: f64,
    /// Probability in [0, 1] that a `getcontact` answers "data not found" for a contact that
    /// exists (listed, yet unreadable).
    pub not_found_rate: f64,
    /// Added before every API response.
    pub latency: Duration,
    /// Required HTTP Basic credentials (ID, PASSWORD).
    pub service_auth: Option<(String, String)>,
    pub max_picture_bytes: usize,
    pub fault_seed: Option<u64>,
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("db", &self.db)
            .field("page_size", &self.page_size)
            .field("paging", &self.paging)
            .field("max_rps", &self.max_rps)
            .field("fail_rate", &self.fail_rate)
            .field("not_found_rate", &self.not_found_rate)
            .field("latency", &self.latency)
            .field("service_auth", &self.service_auth.as_ref().map(|(id, _)| (id.as_str(), "[REDACTED]")))
            .field("max_picture_bytes", &self.max_picture_bytes)
            .field("fault_seed", &self.fault_seed)
            .finish()
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            db: PathBuf::from("sandbox.db"),
            page_size: None,
            paging: true,
            max_rps: None,
            fail_rate: 0.0,
            not_found_rate: 0.0,
            latency: Duration::ZERO,
            service_auth: None,
            max_picture_bytes: 1024 * 1024,
            fault_seed: None,
        }
    }
}

/// A running sandbox. Dropping it (or `shutdown`) stops the server.
pub struct SandboxHandle {
    /// `http://HOST:PORT/PersonalContacts/V1`.
    pub endpoint: String,
    /// `http://HOST:PORT`.
    pub base_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl SandboxHandle {
    /// Stops accepting connections, lets in-flight requests finish, and waits for the server.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Request counters served at `/_sandbox/stats`.
#[derive(Default)]
struct Stats {
    requests: HashMap<&'static str, AtomicU64>,
    rate_limited: AtomicU64,
    unauthorized: AtomicU64,
    privacy: AtomicU64,
    invalid: AtomicU64,
    invalid_user: AtomicU64,
    not_found: AtomicU64,
    faults: [AtomicU64; 3],
    internal_errors: AtomicU64,
}

const UNKNOWN_ACTION: &str = "unknown";

impl Stats {
    fn new() -> Stats {
        let mut requests: HashMap<&'static str, AtomicU64> =
            Action::ALL.iter().map(|a| (a.name(), AtomicU64::new(0))).collect();
        requests.insert(UNKNOWN_ACTION, AtomicU64::new(0));
        Stats { requests, ..Default::default() }
    }

    fn count_request(&self, action: Option<Action>) {
        let key = action.map(Action::name).unwrap_or(UNKNOWN_ACTION);
        if let Some(n) = self.requests.get(key) {
            n.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn count_outcome(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Ok => return,
            Outcome::Privacy => &self.privacy,
            Outcome::Error(ErrorCode::InvalidUser) => &self.invalid_user,
            Outcome::Error(ErrorCode::DataNotFound) => &self.not_found,
            Outcome::Error(_) => &self.invalid,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn to_json(&self) -> serde_json::Value {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let requests: BTreeMap<&str, u64> = self.requests.iter().map(|(k, v)| (*k, get(v))).collect();
        serde_json::json!({
            "requests": requests,
            "rejected": {
                "rate_limited": get(&self.rate_limited),
                "unauthorized": get(&self.unauthorized),
                "privacy": get(&self.privacy),
                "invalid": get(&self.invalid),
                "invalid_user": get(&self.invalid_user),
                "not_found": get(&self.not_found),
            },
            "faults_injected": self.faults.iter().map(get).sum::<u64>(),
            "faults": {
                "refused": get(&self.faults[0]),
                "response_lost": get(&self.faults[1]),
                "server_error": get(&self.faults[2]),
            },
            "internal_errors": get(&self.internal_errors),
        })
    }
}

struct App {
    store: Arc<Store>,
    limits: Limits,
    latency: Duration,
    /// The expected credentials of the `Authorization: Basic` header (base64), when service auth is on.
    basic_auth: Option<String>,
    gate: RateGate,
    faults: FaultInjector,
    /// Picks the `getcontact` requests answered "data not found" (`--not-found-rate`).
    phantom_not_found: FaultInjector,
    stats: Stats,
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("sandbox listener: {0}")]
    Listener(#[from] std::io::Error),
    #[error("internal error: the sandbox's database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Opens the store and serves the API on `listener` until the handle is shut down or dropped.
pub async fn start(
    config: SandboxConfig,
    listener: tokio::net::TcpListener,
) -> Result<SandboxHandle, StartError> {
    let db = config.db.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&db)).await??;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { addr.ip().to_string() };
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    let base_url = format!("http://{host}:{}", addr.port());
    let app = Arc::new(App {
        store: Arc::new(store),
        limits: Limits {
            page_size: config.page_size.filter(|n| *n > 0),
            paging: config.paging,
            max_picture_bytes: config.max_picture_bytes,
        },
        latency: config.latency,
        basic_auth: config
            .service_auth
            .as_ref()
            .map(|(id, pw)| base64::engine::general_purpose::STANDARD.encode(format!("{id}:{pw}"))),
        gate: RateGate::new(config.max_rps),
        faults: FaultInjector::new(config.fail_rate, config.fault_seed),
        // Its own sequence, so that adding it does not change which requests `--fail-rate` picks.
        phantom_not_found: FaultInjector::new(config.not_found_rate, config.fault_seed.map(|s| !s)),
        stats: Stats::new(),
    });
    let router = Router::new()
        .route(API_PATH, get(api).post(api))
        .route(API_PATH_INT, get(api).post(api))
        .route(STATS_PATH, get(stats))
        .layer(DefaultBodyLimit::max(config.max_picture_bytes.saturating_add(BODY_SLACK)))
        .with_state(app);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await
    });
    Ok(SandboxHandle {
        endpoint: format!("{base_url}{API_PATH}"),
        base_url,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

async fn stats(State(app): State<Arc<App>>) -> Response {
    axum::Json(app.stats.to_json()).into_response()
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml; charset=UTF-8")], body).into_response()
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], body).into_response()
}

/// Every API request: gates, parameter collection, then the action's handler.
async fn api(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    if !app.latency.is_zero() {
        tokio::time::sleep(app.latency).await;
    }
    if let Some(expected) = &app.basic_auth {
        let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if given.and_then(basic_credentials) != Some(expected.as_str()) {
            app.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
            let mut resp = xml(
                StatusCode::UNAUTHORIZED,
                render::gateway_error(-1, "ServiceAuthenticationException", None),
            );
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"PersonalContacts\""),
            );
            return resp;
        }
    }
    if let Err(wait) = app.gate.check() {
        app.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        let mut resp = plain(StatusCode::TOO_MANY_REQUESTS, "Too many requests\n");
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(faults::retry_after_secs(wait)));
        return resp;
    }
    let mut req = match collect(&app, request).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let action = req.params.get(param::ACTION).and_then(|a| Action::from_name(a));
    req.phantom_not_found = action == Some(Action::GetContact) && app.phantom_not_found.roll().is_some();
    app.stats.count_request(action);
    let fault = app.faults.roll();
    if let Some(f) = fault {
        app.stats.faults[f as usize].fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Some(Fault::Refuse) => {
            return plain(StatusCode::SERVICE_UNAVAILABLE, "Service temporarily unavailable\n")
        }
        Some(Fault::ServerError) => {
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error (injected fault)\n")
        }
        Some(Fault::LoseResponse) | None => {}
    }
    let work = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || handlers::handle(&app.store, &app.limits, &req))
    };
    let reply = match work.await {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => {
            app.stats.internal_errors.fetch_add(1, Ordering::Relaxed);
            eprintln!("sandbox: internal error on {}: {e:#}", action.map(Action::name).unwrap_or("?"));
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error\n");
        }
        Err(e) => {
            app.stats.internal_errors.fetch_add(1, Ordering::Relaxed);
            eprintln!("sandbox: handler panicked: {e}");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error\n");
        }
    };
    app.stats.count_outcome(reply.outcome);
    if fault == Some(Fault::LoseResponse) {
        return lost_response();
    }
    xml(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK), reply.body)
}

/// The credentials of an `Authorization` header of the Basic scheme. The scheme name is
/// case-insensitive (RFC 7235 §2.1: `basic`, `BASIC` are `Basic`), and any run of spaces may
/// separate it from the credentials.
fn basic_credentials(header: &str) -> Option<&str> {
    let (scheme, credentials) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("basic").then(|| credentials.trim_start())
}

/// A response whose body fails before its first byte: hyper then drops the connection without
/// flushing the buffered status line, so the client sees the connection close with no answer
/// although the request was processed and committed.
fn lost_response() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected fault",
        ))
    });
    let mut resp = Response::new(Body::from_stream(failing));
    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Gathers parameters from the query string and, for POST, from an urlencoded or multipart body.
/// Query parameters are read with form rules (`+` is a space), so an un-encoded token is garbled.
async fn collect(app: &App, request: axum::extract::Request) -> Result<handlers::Request, Response> {
    let mut req = handlers::Request::default();
    if let Some(q) = request.uri().query() {
        add_pairs(&mut req.params, url::form_urlencoded::parse(q.as_bytes()));
    }
    if request.method() != Method::POST {
        return Ok(req);
    }
    let content_type = content_type(request.headers());
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| plain_owned(StatusCode::BAD_REQUEST, format!("Malformed multipart body: {e}\n")))?;
        let keep = app.limits.max_picture_bytes.saturating_add(1);
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(multipart_error(e)),
            };
            let name = field.name().unwrap_or("").to_string();
            if name == param::FILE {
                let mut field = field;
                let mut bytes = Vec::new();
                // Keep one byte past the limit (enough to refuse it), drain the rest.
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            let room = keep.saturating_sub(bytes.len());
                            if chunk.len() > room {
                                req.file_truncated = true;
                            }
                            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        }
                        Ok(None) => break,
                        Err(e) => return Err(multipart_error(e)),
                    }
                }
                if req.file.is_none() {
                    req.file = Some(bytes);
                }
            } else {
                let text = field.text().await.map_err(multipart_error)?;
                req.params.entry(name).or_insert(text);
            }
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        // `to_bytes` ignores `DefaultBodyLimit` (only extractors read it): bound it here too, or a
        // form body of any size would be read into memory.
        let limit = app.limits.max_picture_bytes.saturating_add(BODY_SLACK);
        let body = axum::body::to_bytes(request.into_body(), limit)
            .await
            .map_err(|_| plain(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large\n"))?;
        add_pairs(&mut req.params, url::form_urlencoded::parse(&body));
    }
    Ok(req)
}

fn add_pairs<'a>(
    params: &mut HashMap<String, String>,
    pairs: impl Iterator<Item = (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>)>,
) {
    for (k, v) in pairs {
        params.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
}

fn content_type(headers: &HeaderMap) -> String {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").trim().to_ascii_lowercase()
}

fn plain_owned(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], body).into_response()
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> Response {
    let status = e.status();
    plain_owned(status, format!("Malformed multipart body: {}\n", e.body_text()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_scheme_is_case_insensitive() {
        // Issue 9, item 11: `basic` was refused.
        for header in ["Basic QUI6Yw==", "basic QUI6Yw==", "BASIC   QUI6Yw==", " bAsIc QUI6Yw== "] {
            assert_eq!(basic_credentials(header), Some("QUI6Yw=="), "{header:?}");
        }
        assert_eq!(basic_credentials("Bearer QUI6Yw=="), None);
        assert_eq!(basic_credentials("BasicQUI6Yw=="), None);
    }

    #[test]
    fn config_debug_hides_the_service_password() {
        let config = SandboxConfig {
            service_auth: Some(("SVC".into(), "s3cr3t-pwd".into())),
            ..SandboxConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t-pwd"), "{shown}");
        assert!(shown.contains("SVC") && shown.contains("[REDACTED]"), "{shown}");
    }
}
