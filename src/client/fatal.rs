//! What stops a whole run, and what to tell the user about it: one rule for import, export and
//! check. An error no later call can get past (the endpoint cannot be reached, is not the API,
//! refuses the credentials or the token, or the user has not consented) is reported once, as
//! one message saying what to do, and the run stops: every record not yet done is "not
//! attempted", never one copy of the same message per record.

use url::Url;

use super::{redact, ApiError};
use crate::wire::ErrorCode;

/// Why no later call can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fatal {
    /// No connection opened (refused, no route, timed out connecting), after every retry.
    Unreachable,
    /// The endpoint's host name does not resolve.
    UnknownHost,
    /// The TLS handshake failed: `https://` to a plain-HTTP port, or a certificate refused.
    Tls,
    /// HTTP 404: the host answers, but the path is not the API's.
    NotFound,
    /// HTTP 401: the endpoint wants service credentials (or refused the ones given).
    Unauthorized,
    /// HTTP 403: the endpoint refused access.
    Forbidden,
    /// Service error 5 (invalid user), or a gateway's negative code: the token was refused.
    TokenRefused,
    /// The user has not granted this service access to their contacts.
    Privacy,
    /// The endpoint keeps answering what cannot be read as the API.
    Broken,
    /// The endpoint keeps failing calls (5xx, timeouts) after every retry.
    Failing,
    /// The client could not be built.
    Config,
}

impl Fatal {
    /// The fatal kind of `error`, or `None` when a later call may succeed.
    pub fn of(error: &ApiError) -> Option<Fatal> {
        match error {
            ApiError::Privacy(_) => Some(Fatal::Privacy),
            ApiError::Broken { .. } => Some(Fatal::Broken),
            ApiError::Failing { .. } => Some(Fatal::Failing),
            ApiError::Config(_) => Some(Fatal::Config),
            ApiError::Unreachable { message, .. } => Some(unreachable_kind(message)),
            // The gateway's -1 (`ServiceAuthenticationException`, with HTTP 401) is about the
            // service credentials; its other codes, and code 5, about the token.
            ApiError::Service { error, .. } => match error.code {
                ErrorCode::Other(-1) => Some(Fatal::Unauthorized),
                ErrorCode::InvalidUser => Some(Fatal::TokenRefused),
                ErrorCode::Other(n) if n < 0 => Some(Fatal::TokenRefused),
                _ => None,
            },
            ApiError::Http { status: 401, .. } => Some(Fatal::Unauthorized),
            ApiError::Http { status: 403, .. } => Some(Fatal::Forbidden),
            ApiError::Http { status: 404, .. } => Some(Fatal::NotFound),
            _ => None,
        }
    }
}

/// A connection that never opened: a name that does not resolve, a TLS handshake that failed, or
/// no answer at the address. Told from the HTTP library's message (its error kinds do not say).
fn unreachable_kind(message: &str) -> Fatal {
    let lower = message.to_ascii_lowercase();
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        Fatal::UnknownHost
    } else if ["tls", "certificate", "handshake", "corrupt message", "invalidcontenttype"]
        .iter()
        .any(|w| lower.contains(w))
    {
        Fatal::Tls
    } else {
        Fatal::Unreachable
    }
}

/// What the user reads about a fatal `error` met at `endpoint` (`service_auth`: whether service
/// credentials were sent): what happened and what to do, on one line, token-free. A non-fatal
/// error is shown as it is.
pub fn explain(error: &ApiError, endpoint: &str, service_auth: bool) -> String {
    let Some(kind) = Fatal::of(error) else { return redact(&error.to_string()) };
    let url = Url::parse(endpoint).ok();
    let shown = shown_endpoint(endpoint);
    let host = url
        .as_ref()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
        .unwrap_or_else(|| shown.clone());
    let cause = || redact(&last_cause(error));
    let text = match kind {
        Fatal::Unreachable => format!(
            "cannot connect to {host} ({}): is the server running, and is the endpoint {shown} right?",
            cause()
        ),
        Fatal::UnknownHost => format!(
            "cannot find the host {} of the endpoint {shown}: check its spelling and the network ({})",
            url.as_ref().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| host.clone()),
            cause()
        ),
        Fatal::Tls => {
            let hint = match url.as_ref().map(Url::scheme) {
                Some("https") => format!(
                    ": if {host} speaks plain HTTP, write the endpoint with http:// ({})",
                    shown.replacen("https://", "http://", 1)
                ),
                _ => String::new(),
            };
            format!("the TLS handshake with {host} failed ({}){hint}", cause())
        }
        Fatal::NotFound => format!(
            "{shown} answered HTTP 404 (not found): is the endpoint …/PersonalContacts/V1? \
             (the API's URL ends in /PersonalContacts/V1)"
        ),
        Fatal::Unauthorized if service_auth => format!(
            "{shown} refused the service credentials (HTTP 401): check --service-auth (or \
             ORANGE_CONTACTS_SERVICE_AUTH, or the profile's service_auth_file or service_auth_command)"
        ),
        Fatal::Unauthorized => format!(
            "{shown} answered HTTP 401 (unauthorized): this endpoint needs service credentials: \
             --service-auth SERVICE_ID:SERVICE_PWD (or ORANGE_CONTACTS_SERVICE_AUTH, or the \
             profile's service_auth_file or service_auth_command)"
        ),
        Fatal::Forbidden => format!(
            "{shown} answered HTTP 403 (forbidden): these service credentials or this token may not \
             use this endpoint"
        ),
        Fatal::TokenRefused => format!(
            "the token was refused ({}); get a new one (--token-file, ORANGE_CONTACTS_TOKEN_FILE, \
             or the profile's token_file or token_command)",
            redact(&error.to_string())
        ),
        Fatal::Privacy => match error {
            ApiError::Privacy(refusal) => format!(
                "the account owner has not granted this service access to their contacts ({}). \
                 Grant it here, then run again: {}",
                refusal.detail, refusal.url
            ),
            other => other.to_string(),
        },
        Fatal::Broken | Fatal::Failing | Fatal::Config => error.to_string(),
    };
    match error {
        // What the server said with its status may help (a gateway's reason), redacted.
        ApiError::Http { message, .. } if !message.is_empty() => {
            redact(&format!("{text} (it said: {message})"))
        }
        _ => redact(&text),
    }
}

/// The endpoint as messages show it: no query string nor credentials (a token may be there).
fn shown_endpoint(endpoint: &str) -> String {
    match Url::parse(endpoint.trim()) {
        Ok(mut url) => {
            url.set_query(None);
            url.set_fragment(None);
            let _ = url.set_username("");
            let _ = url.set_password(None);
            redact(url.as_str())
        }
        Err(_) => redact(endpoint),
    }
}

/// The innermost cause of a transport error's message (`tcp connect error: Connection refused
/// (os error 111)` → `connection refused (os error 111)`), else the whole message.
fn last_cause(error: &ApiError) -> String {
    let message = match error {
        ApiError::Unreachable { message, .. } | ApiError::Transport { message, .. } => message.as_str(),
        _ => return error.to_string(),
    };
    let last = message.rsplit(": ").find(|part| !part.trim().is_empty()).unwrap_or(message).trim();
    let mut chars = last.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Action;

    fn unreachable(message: &str) -> ApiError {
        ApiError::Unreachable { action: Action::FindContactList, message: message.into() }
    }

    #[test]
    fn connection_failures_are_told_apart_by_their_cause() {
        let refused = unreachable(
            "error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)",
        );
        assert_eq!(Fatal::of(&refused), Some(Fatal::Unreachable));
        let text = explain(&refused, "http://127.0.0.1:1/PersonalContacts/V1?token=abc", false);
        assert_eq!(
            text,
            "cannot connect to 127.0.0.1:1 (connection refused (os error 111)): is the server running, \
             and is the endpoint http://127.0.0.1:1/PersonalContacts/V1 right?"
        );
        let dns = unreachable("client error (Connect): dns error: failed to lookup address information");
        assert_eq!(Fatal::of(&dns), Some(Fatal::UnknownHost));
        let tls = unreachable("client error (Connect): received corrupt message of type InvalidContentType");
        assert_eq!(Fatal::of(&tls), Some(Fatal::Tls));
        assert!(explain(&tls, "https://h:8/PersonalContacts/V1", false)
            .ends_with("(http://h:8/PersonalContacts/V1)"));
    }

    #[test]
    fn http_statuses_say_what_to_fix() {
        let http =
            |status| ApiError::Http { action: Action::FindContactList, status, message: String::new() };
        assert!(explain(&http(404), "http://h/x", false).contains("is the endpoint …/PersonalContacts/V1?"));
        assert!(
            explain(&http(401), "http://h/x", false).contains("needs service credentials: --service-auth")
        );
        assert!(explain(&http(401), "http://h/x", true).contains("refused the service credentials"));
        assert_eq!(Fatal::of(&http(500)), None);
        let gateway = |code| ApiError::Service {
            action: Action::FindContactList,
            error: crate::wire::ServiceError {
                code: ErrorCode::Other(code),
                subtype: String::new(),
                message: "ServiceAuthenticationException".into(),
            },
        };
        assert_eq!(Fatal::of(&gateway(-1)), Some(Fatal::Unauthorized));
        assert_eq!(Fatal::of(&gateway(-2)), Some(Fatal::TokenRefused));
    }
}
