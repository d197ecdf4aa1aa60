//! Which account a run talks to, without its secret. It names the run lock ([`crate::run_lock`])
//! and is what a backup records as its source ([`crate::export::backup`]).
//!
//! The API has no "who am I" call. Two identities follow, for two purposes:
//! - the **run lock** is per account: the endpoint (or the embedded sandbox's database and user)
//!   and a SHA-256 of the token, so two accounts of one endpoint run side by side;
//! - a **backup's source** is where it came from, the endpoint URL without credentials, query
//!   or fragment (or the embedded sandbox's database and user), and no digest of the token: a
//!   token is renewed every few weeks, and a renewal must not make a cron backup refuse. Another
//!   account of the same endpoint writing over a backup is caught by the deletion guards instead
//!   (most of its cards would vanish), see docs/backups.md.

use std::fmt::Write as _;
use std::path::Path;

use ring::digest;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// An API endpoint given with `--endpoint` (a remote service or a `serve` sandbox).
    Endpoint,
    /// The in-process sandbox used when no endpoint is given.
    EmbeddedSandbox,
}

impl SourceKind {
    fn name(self) -> &'static str {
        match self {
            SourceKind::Endpoint => "endpoint",
            SourceKind::EmbeddedSandbox => "embedded-sandbox",
        }
    }
}

/// The account of a run. Its `Debug` shows no digest.
#[derive(Clone)]
pub struct Source {
    pub kind: SourceKind,
    /// The endpoint URL without credentials, query or fragment; or the embedded sandbox's
    /// database path (absolute).
    pub location: String,
    /// The embedded sandbox's user (it has no secret); `None` for an endpoint.
    user: Option<String>,
    /// SHA-256 of kind, location and token (or user): the account, never shown or stored as is.
    account: [u8; 32],
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("kind", &self.kind)
            .field("location", &self.location)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The source a backup recorded (`.orange-contacts.json` in a vdir, `X-ORANGE-CONTACTS-SOURCE`
/// in each card of a single file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedSource {
    pub kind: SourceKind,
    pub location: String,
    /// The embedded sandbox's user; `None` for an endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

const ACCOUNT_DOMAIN: &[u8] = b"orange-contacts account v1";
const LOCK_DOMAIN: &[u8] = b"orange-contacts lock v1";

impl Source {
    /// An endpoint reached with `token`.
    pub fn endpoint(endpoint: &str, token: &str) -> Source {
        let location = normalize_endpoint(endpoint);
        let account = account_digest(SourceKind::Endpoint, &location, token);
        Source { kind: SourceKind::Endpoint, location, user: None, account }
    }

    /// The embedded sandbox over the database `db`, as `user`.
    pub fn embedded(db: &Path, user: &str) -> Source {
        let location = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf()).display().to_string();
        let account = account_digest(SourceKind::EmbeddedSandbox, &location, user);
        Source { kind: SourceKind::EmbeddedSandbox, location, user: Some(user.to_string()), account }
    }

    /// For messages: `http://…/PersonalContacts/V1` or `the embedded sandbox /…/sandbox.db (user 'local')`.
    pub fn describe(&self) -> String {
        match &self.user {
            Some(user) => format!("the embedded sandbox {} (user '{user}')", self.location),
            None => self.location.clone(),
        }
    }

    /// The run lock's file name for this account: hex, no secret in it.
    pub fn lock_name(&self) -> String {
        let mut input = LOCK_DOMAIN.to_vec();
        input.extend_from_slice(&self.account);
        hex(&digest::digest(&digest::SHA256, &input).as_ref()[..16])
    }

    /// What a backup of this source records.
    pub fn record(&self) -> RecordedSource {
        RecordedSource { kind: self.kind, location: self.location.clone(), user: self.user.clone() }
    }

    /// Whether `recorded` names this source (same kind, place and, in the sandbox, user).
    pub fn is_recorded_as(&self, recorded: &RecordedSource) -> bool {
        *recorded == self.record()
    }
}

impl RecordedSource {
    /// For messages, as [`Source::describe`].
    pub fn describe(&self) -> String {
        match &self.user {
            Some(user) => format!("the embedded sandbox {} (user '{user}')", self.location),
            None => self.location.clone(),
        }
    }

    /// One line: `endpoint LOCATION` or `embedded-sandbox USER LOCATION` (the location last: it
    /// may hold spaces).
    pub fn to_line(&self) -> String {
        match &self.user {
            Some(user) => format!("{} {user} {}", self.kind.name(), self.location),
            None => format!("{} {}", self.kind.name(), self.location),
        }
    }

    /// Back from [`RecordedSource::to_line`].
    pub fn from_line(line: &str) -> Option<RecordedSource> {
        let (kind, rest) = line.trim().split_once(' ')?;
        let (kind, user, location) = match kind {
            "endpoint" => (SourceKind::Endpoint, None, rest),
            "embedded-sandbox" => {
                let (user, location) = rest.split_once(' ')?;
                (SourceKind::EmbeddedSandbox, Some(user.to_string()).filter(|u| !u.is_empty()), location)
            }
            _ => return None,
        };
        if kind == SourceKind::EmbeddedSandbox && user.is_none() || location.trim().is_empty() {
            return None;
        }
        Some(RecordedSource { kind, location: location.to_string(), user })
    }
}

fn account_digest(kind: SourceKind, location: &str, secret: &str) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in [ACCOUNT_DOMAIN, kind.name().as_bytes(), location.as_bytes(), secret.as_bytes()] {
        // Length-prefixed, so that no two different (location, secret) pairs hash alike.
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The endpoint as a backup records it: no user, password, query or fragment (where a token
/// could hide), no trailing `/`.
fn normalize_endpoint(endpoint: &str) -> String {
    match url::Url::parse(endpoint.trim()) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            url.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => crate::client::redact(endpoint.trim()).trim_end_matches('/').to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_its_endpoint_or_sandbox_and_never_shows_the_token() {
        let token = "B64abc+def/ghi=|ted=1";
        let a = Source::endpoint("http://u:pw@127.0.0.1:8080/PersonalContacts/V1/?token=x#f", token);
        assert_eq!(a.location, "http://127.0.0.1:8080/PersonalContacts/V1");
        let recorded = a.record();
        assert!(!format!("{recorded:?}{a:?}{}", recorded.to_line()).contains("ghi"), "{recorded:?}");
        assert!(a.is_recorded_as(&recorded));
        // A renewed token of the same endpoint is the same source (a cron backup goes on), but
        // another run lock only if it is another account.
        let renewed = Source::endpoint("http://127.0.0.1:8080/PersonalContacts/V1", "another");
        assert!(renewed.is_recorded_as(&recorded));
        assert_ne!(renewed.lock_name(), a.lock_name());
        let other_port = Source::endpoint("http://127.0.0.1:8081/PersonalContacts/V1", token);
        assert!(!other_port.is_recorded_as(&recorded));
        assert_ne!(other_port.lock_name(), a.lock_name());
        assert_eq!(
            a.lock_name(),
            Source::endpoint("http://127.0.0.1:8080/PersonalContacts/V1", token).lock_name()
        );
        let sandbox = Source::embedded(Path::new("/data/sandbox.db"), "local");
        assert_eq!(sandbox.record().user.as_deref(), Some("local"));
        assert!(sandbox.is_recorded_as(&sandbox.record()));
        assert!(!sandbox.is_recorded_as(&recorded) && !a.is_recorded_as(&sandbox.record()));
        assert!(!Source::embedded(Path::new("/data/sandbox.db"), "bob").is_recorded_as(&sandbox.record()));
        assert_eq!(sandbox.describe(), "the embedded sandbox /data/sandbox.db (user 'local')");
        assert_eq!(sandbox.record().describe(), sandbox.describe());
    }

    #[test]
    fn a_recorded_source_survives_its_line() {
        for r in [
            Source::endpoint("https://h/PersonalContacts/V1", "t").record(),
            Source::embedded(Path::new("/a dir/with spaces/sandbox.db"), "local").record(),
        ] {
            assert_eq!(RecordedSource::from_line(&r.to_line()), Some(r));
        }
        assert_eq!(RecordedSource::from_line("nonsense"), None);
        assert_eq!(RecordedSource::from_line("endpoint"), None);
        assert_eq!(RecordedSource::from_line("embedded-sandbox local"), None);
    }
}
