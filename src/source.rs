//! Which account a run talks to, without its secret: the endpoint (or the embedded sandbox's
//! database and user) and a digest of the token. It names the run lock ([`crate::run_lock`]) and
//! is what a backup records as its source ([`crate::export::backup`]).
//!
//! The API has no "who am I" call, so an account is known only by the token that reaches it:
//! within one endpoint, the account is a SHA-256 of the token, and a backup records it as an
//! HMAC-SHA256 of that digest under a random salt of its own (a backup's copy reveals nothing
//! that would let anyone test a token against another backup). A renewed token of the same
//! account therefore looks like another account (see docs/backups.md).

use std::fmt::Write as _;
use std::path::Path;

use ring::{digest, hmac};
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
    /// The embedded sandbox's user, or `hmac-sha256:SALT:MAC` for an endpoint's account.
    pub account: String,
}

const ACCOUNT_DOMAIN: &[u8] = b"orange-contacts account v1";
const LOCK_DOMAIN: &[u8] = b"orange-contacts lock v1";
const HMAC_SCHEME: &str = "hmac-sha256";
const SALT_BYTES: usize = 8;
const MAC_BYTES: usize = 16;

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

    /// What a backup of this account records. `previous`: the source the backup recorded before;
    /// when it is this account, its salt is kept so that an unchanged account writes identical bytes.
    pub fn record(&self, previous: Option<&RecordedSource>) -> RecordedSource {
        let account = match &self.user {
            Some(user) => user.clone(),
            None => match previous.filter(|p| self.is_recorded_as(p)) {
                Some(p) => p.account.clone(),
                None => self.account_mac(&rand::random::<[u8; SALT_BYTES]>()),
            },
        };
        RecordedSource { kind: self.kind, location: self.location.clone(), account }
    }

    /// Whether `recorded` names this very account (same kind, place and token or user).
    pub fn is_recorded_as(&self, recorded: &RecordedSource) -> bool {
        if recorded.kind != self.kind || recorded.location != self.location {
            return false;
        }
        match &self.user {
            Some(user) => &recorded.account == user,
            None => {
                let Some(salt) = recorded
                    .account
                    .strip_prefix(HMAC_SCHEME)
                    .and_then(|r| r.strip_prefix(':'))
                    .and_then(|r| r.split(':').next())
                    .and_then(unhex)
                else {
                    return false;
                };
                // Not a secret comparison worth a constant-time compare: the stored MAC is public.
                self.account_mac(&salt) == recorded.account
            }
        }
    }

    fn account_mac(&self, salt: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, salt);
        let mac = hmac::sign(&key, &self.account);
        format!("{HMAC_SCHEME}:{}:{}", hex(salt), hex(&mac.as_ref()[..MAC_BYTES]))
    }
}

impl RecordedSource {
    /// For messages, as [`Source::describe`] (an endpoint's account digest is not shown).
    pub fn describe(&self) -> String {
        match self.kind {
            SourceKind::EmbeddedSandbox => {
                format!("the embedded sandbox {} (user '{}')", self.location, self.account)
            }
            SourceKind::Endpoint => self.location.clone(),
        }
    }

    /// One line: `KIND ACCOUNT LOCATION` (the location last: it may hold spaces).
    pub fn to_line(&self) -> String {
        format!("{} {} {}", self.kind.name(), self.account, self.location)
    }

    /// Back from [`RecordedSource::to_line`].
    pub fn from_line(line: &str) -> Option<RecordedSource> {
        let mut parts = line.trim().splitn(3, ' ');
        let kind = match parts.next()? {
            "endpoint" => SourceKind::Endpoint,
            "embedded-sandbox" => SourceKind::EmbeddedSandbox,
            _ => return None,
        };
        let account = parts.next().filter(|a| !a.is_empty())?.to_string();
        let location = parts.next().filter(|l| !l.is_empty())?.to_string();
        Some(RecordedSource { kind, location, account })
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

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_its_endpoint_and_token_and_never_shows_the_token() {
        let token = "B64abc+def/ghi=|ted=1";
        let a = Source::endpoint("http://u:pw@127.0.0.1:8080/PersonalContacts/V1/?token=x#f", token);
        assert_eq!(a.location, "http://127.0.0.1:8080/PersonalContacts/V1");
        let recorded = a.record(None);
        assert!(!format!("{recorded:?}{a:?}").contains("ghi"), "{recorded:?}");
        assert!(recorded.account.starts_with("hmac-sha256:"), "{recorded:?}");
        assert!(a.is_recorded_as(&recorded));
        // The salt is kept once recorded: the same line again, byte for byte.
        assert_eq!(a.record(Some(&recorded)), recorded);
        // Another salt, same account: still recognised.
        assert!(a.is_recorded_as(&a.record(None)));
        let other_token = Source::endpoint("http://127.0.0.1:8080/PersonalContacts/V1", "another");
        let other_port = Source::endpoint("http://127.0.0.1:8081/PersonalContacts/V1", token);
        for other in [&other_token, &other_port] {
            assert!(!other.is_recorded_as(&recorded));
            assert_ne!(other.record(Some(&recorded)).account, recorded.account);
            assert_ne!(other.lock_name(), a.lock_name());
        }
        assert_eq!(
            a.lock_name(),
            Source::endpoint("http://127.0.0.1:8080/PersonalContacts/V1", token).lock_name()
        );
        let sandbox = Source::embedded(Path::new("/data/sandbox.db"), "local");
        assert_eq!(sandbox.record(None).account, "local");
        assert!(sandbox.is_recorded_as(&sandbox.record(None)));
        assert!(!sandbox.is_recorded_as(&recorded) && !a.is_recorded_as(&sandbox.record(None)));
        assert!(!Source::embedded(Path::new("/data/sandbox.db"), "bob").is_recorded_as(&sandbox.record(None)));
        assert_eq!(sandbox.describe(), "the embedded sandbox /data/sandbox.db (user 'local')");
    }

    #[test]
    fn a_recorded_source_survives_its_line() {
        for r in [
            Source::endpoint("https://h/PersonalContacts/V1", "t").record(None),
            Source::embedded(Path::new("/a dir/with spaces/sandbox.db"), "local").record(None),
        ] {
            assert_eq!(RecordedSource::from_line(&r.to_line()), Some(r));
        }
        assert_eq!(RecordedSource::from_line("nonsense"), None);
        assert_eq!(RecordedSource::from_line("endpoint onlyaccount"), None);
        let tampered =
            RecordedSource::from_line("endpoint hmac-sha256:zz:00 https://h/PersonalContacts/V1").unwrap();
        assert!(!Source::endpoint("https://h/PersonalContacts/V1", "t").is_recorded_as(&tampered));
    }
}
