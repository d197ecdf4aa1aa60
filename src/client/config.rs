//! From command-line connection arguments to a [`ClientConfig`]: the token (flag, environment or
//! file), the service credentials, and the pacing numbers.

use std::path::PathBuf;
use std::time::Duration;

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

/// The client configuration for `endpoint` and `token` from the connection arguments.
/// `default_rate` applies when `--rate` is absent (the caller's default: 10/s for a remote
/// endpoint, `None` for the embedded sandbox). `--rate 0` means unlimited.
pub fn client_config_from_args(
    args: &ConnectionArgs,
    endpoint: String,
    token: String,
    default_rate: Option<f64>,
) -> anyhow::Result<ClientConfig> {
    let service_auth = match &args.service_auth {
        None => None,
        Some(s) => {
            // Never quote the value: it holds the password.
            let (id, pwd) =
                s.split_once(':').context("--service-auth must be SERVICE_ID:SERVICE_PWD (no ':' found)")?;
            if id.trim().is_empty() {
                bail!("--service-auth has an empty SERVICE_ID (expected SERVICE_ID:SERVICE_PWD)");
            }
            Some((id.trim().to_string(), pwd.to_string()))
        }
    };
    let rate = match args.rate.or(default_rate) {
        None => None,
        Some(0.0) => None,
        Some(r) if r.is_finite() && r > 0.0 => Some(r),
        Some(r) => {
            bail!("--rate must be a positive number of calls per second, or 0 for unlimited (got {r})")
        }
    };
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    // Not `from_secs_f64`: it panics beyond what a Duration holds (`--timeout 1e30`). Negative,
    // NaN, infinite and zero are refused here too.
    let Some(timeout) = Duration::try_from_secs_f64(args.timeout).ok().filter(|t| !t.is_zero()) else {
        bail!("--timeout must be a positive number of seconds (got {})", args.timeout);
    };
    Ok(ClientConfig {
        endpoint,
        token,
        service_auth,
        rate,
        concurrency: args.concurrency,
        timeout,
        retries: args.retries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ConnectionArgs {
        ConnectionArgs {
            endpoint: None,
            token: None,
            token_file: None,
            service_auth: None,
            rate: None,
            concurrency: 4,
            timeout: 30.0,
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
        a.service_auth = Some("SVC:pa:ss".into());
        a.timeout = 2.5;
        let c = client_config_from_args(&a, "http://h/V1".into(), "t".into(), Some(10.0)).unwrap();
        assert_eq!(c.service_auth, Some(("SVC".into(), "pa:ss".into())));
        assert_eq!(c.rate, Some(10.0));
        assert_eq!(c.timeout, Duration::from_millis(2500));
        assert_eq!((c.concurrency, c.retries), (4, 5));

        a.rate = Some(0.0);
        assert_eq!(client_config_from_args(&a, "e".into(), "t".into(), Some(10.0)).unwrap().rate, None);
        a.rate = None;
        assert_eq!(client_config_from_args(&a, "e".into(), "t".into(), None).unwrap().rate, None);
        a.rate = Some(-1.0);
        assert!(client_config_from_args(&a, "e".into(), "t".into(), None).is_err());
        a.rate = None;

        a.service_auth = Some("no-colon-secret".into());
        let err = client_config_from_args(&a, "e".into(), "t".into(), None).unwrap_err().to_string();
        assert!(!err.contains("no-colon-secret"), "the value is never quoted: {err}");
        a.service_auth = Some(":pwd".into());
        assert!(client_config_from_args(&a, "e".into(), "t".into(), None).is_err());
        a.service_auth = None;

        a.concurrency = 0;
        assert!(client_config_from_args(&a, "e".into(), "t".into(), None).is_err());
        a.concurrency = 1;
        a.timeout = 0.0;
        assert!(client_config_from_args(&a, "e".into(), "t".into(), None).is_err());
        a.timeout = 1e30;
        assert!(client_config_from_args(&a, "e".into(), "t".into(), None).is_err(), "no Duration holds it");
    }
}
