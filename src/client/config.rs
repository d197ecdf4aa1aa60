//! From command-line connection arguments to a [`ClientConfig`]: the token (flag, environment or
//! file), the service credentials, and the pacing numbers.

use std::path::PathBuf;

use anyhow::{bail, Context};

use super::ClientConfig;
use crate::cli::ConnectionArgs;

/// The user token: `token` if given (trimmed), else the first line of `token_file` (trimmed),
/// else `None`. An empty token, or an unreadable or empty file, is an error naming its source.
pub fn resolve_token(token: Option<String>, token_file: Option<PathBuf>) -> anyhow::Result<Option<String>> {
    if let Some(token) = token {
        let token = token.trim().to_string();
        if token.is_empty() {
            bail!("the token given with --token (or ORANGE_CONTACTS_TOKEN) is empty");
        }
        return Ok(Some(token));
    }
    let Some(path) = token_file else { return Ok(None) };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    let first = text.lines().next().unwrap_or("").trim().trim_start_matches('\u{feff}').trim();
    if first.is_empty() {
        bail!("the token file {} is empty (the token must be on its first line)", path.display());
    }
    Ok(Some(first.to_string()))
}

/// The client configuration for `endpoint` and `token` from the connection arguments, whose
/// values clap has already checked (`cli::values`). `default_rate` applies when `--rate` is absent
/// (the caller's default: 10/s for a remote endpoint, `None` for the embedded sandbox).
/// `--rate 0` means unlimited.
pub fn client_config_from_args(
    args: &ConnectionArgs,
    endpoint: String,
    token: String,
    default_rate: Option<f64>,
) -> ClientConfig {
    ClientConfig {
        endpoint,
        token,
        service_auth: args.service_auth.clone().map(|auth| (auth.id, auth.password)),
        rate: args.rate.or(default_rate).filter(|r| *r != 0.0),
        concurrency: args.concurrency,
        timeout: args.timeout,
        retries: args.retries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::cli::values::ServiceAuth;

    fn args() -> ConnectionArgs {
        ConnectionArgs {
            endpoint: None,
            token: None,
            token_file: None,
            service_auth: None,
            rate: None,
            concurrency: 4,
            timeout: Duration::from_secs(30),
            retries: 5,
        }
    }

    #[test]
    fn token_from_flag_file_or_nothing() {
        assert_eq!(resolve_token(Some(" abc+/=|x \n".into()), None).unwrap().as_deref(), Some("abc+/=|x"));
        assert!(resolve_token(Some("  ".into()), None).is_err());
        assert_eq!(resolve_token(None, None).unwrap(), None);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token.txt");
        std::fs::write(&file, "\u{feff}  B64x+y/z=|ted=1 \r\nsecond line\n").unwrap();
        assert_eq!(resolve_token(None, Some(file.clone())).unwrap().as_deref(), Some("B64x+y/z=|ted=1"));
        std::fs::write(&file, "\n\n").unwrap();
        let err = resolve_token(None, Some(file.clone())).unwrap_err().to_string();
        assert!(err.contains("token.txt") && err.contains("empty"), "{err}");
        let missing = dir.path().join("nope.txt");
        let err = format!("{:#}", resolve_token(None, Some(missing)).unwrap_err());
        assert!(err.contains("nope.txt"), "{err}");
    }

    #[test]
    fn config_from_args() {
        let mut a = args();
        a.service_auth = Some(ServiceAuth { id: "SVC".into(), password: "pa:ss".into() });
        a.timeout = Duration::from_millis(2500);
        let c = client_config_from_args(&a, "http://h/V1".into(), "t".into(), Some(10.0));
        assert_eq!(c.service_auth, Some(("SVC".into(), "pa:ss".into())));
        assert_eq!(c.rate, Some(10.0));
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!((c.concurrency, c.retries), (4, 5));

        a.rate = Some(0.0);
        assert_eq!(
            client_config_from_args(&a, "e".into(), "t".into(), Some(10.0)).rate,
            None,
            "0 = unlimited"
        );
        a.rate = None;
        assert_eq!(client_config_from_args(&a, "e".into(), "t".into(), None).rate, None);
        a.rate = Some(2.0);
        assert_eq!(client_config_from_args(&a, "e".into(), "t".into(), Some(10.0)).rate, Some(2.0));
    }
}
