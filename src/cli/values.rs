//! The rules for option values, as plain parsers (`&str` in, a valid value or a message out), so a
//! bad value is a usage error (exit code 2) before any work starts, and the same rules can check
//! values read from elsewhere (a configuration file). Clap calls them directly (its message quotes
//! the value) or, for values that may hold a secret, through [`secret_value_parser`] (never quotes
//! the value).

use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;

/// Longest per-call timeout accepted: anything longer is surely a typo.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);
/// Most calls in flight accepted (a semaphore and buffers are sized by it).
pub const MAX_CONCURRENCY: usize = 1024;

/// HTTP Basic service credentials `SERVICE_ID:SERVICE_PWD`. Its `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAuth {
    pub id: String,
    pub password: String,
}

impl std::fmt::Debug for ServiceAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAuth")
            .field("id", &self.id)
            .field("password", &crate::client::REDACTED)
            .finish()
    }
}

/// `SERVICE_ID:SERVICE_PWD`: split at the first `:` (the password may hold more), the id trimmed
/// and not empty. The message never quotes the value: it holds the password.
pub fn parse_service_auth(s: &str) -> Result<ServiceAuth, String> {
    let (id, password) =
        s.split_once(':').ok_or("must be SERVICE_ID:SERVICE_PWD (no ':' found; the value is not shown)")?;
    if id.trim().is_empty() {
        return Err("the SERVICE_ID is empty (expected SERVICE_ID:SERVICE_PWD)".into());
    }
    Ok(ServiceAuth { id: id.trim().to_string(), password: password.to_string() })
}

/// An `http://` or `https://` URL with a host, trimmed (the message quotes it redacted).
pub fn parse_endpoint(s: &str) -> Result<String, String> {
    crate::client::endpoint_url(s)?;
    Ok(s.trim().to_string())
}

/// Calls per second: `0` (unlimited) or a rate the pacer can keep (one call a day to one a
/// nanosecond).
pub fn parse_rate(s: &str) -> Result<f64, String> {
    match parse_number(s)? {
        0.0 => Ok(0.0),
        r if r < 0.0 => Err("must be 0 (unlimited) or a positive number of calls per second".into()),
        r => crate::client::rate_period(r).map(|_| r),
    }
}

/// At least one call in flight, at most [`MAX_CONCURRENCY`].
pub fn parse_concurrency(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from 1 to {MAX_CONCURRENCY}")),
    }
}

/// A positive duration ([`parse_duration`]), at most [`MAX_TIMEOUT`].
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    parse_duration(s)
        .ok()
        .filter(|t| !t.is_zero() && *t <= MAX_TIMEOUT)
        .ok_or_else(|| format!("must be a positive number of seconds, at most {}", MAX_TIMEOUT.as_secs()))
}

/// How often `--stats` prints a line: a duration ([`parse_duration`]), `0` for never.
pub fn parse_stats_interval(s: &str) -> Result<Duration, String> {
    parse_duration(s).and_then(|d| match d {
        d if d.is_zero() || d >= Duration::from_millis(100) => Ok(d),
        _ => Err("must be 0 (off) or at least 100ms".into()),
    })
}

/// A duration: a number (decimals allowed) with an optional unit, `ms`, `s` (the default), `m`
/// or `h`: `30`, `1.5s`, `500ms`, `1m`, `2h`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err("must be a duration: a number with ms, s, m or h (e.g. 30s, 1m)".into()),
    };
    let secs =
        parse_number(number).map_err(|_| "must be a duration: a number with ms, s, m or h (e.g. 30s, 1m)")?;
    // Not `from_secs_f64`: it panics on negative, NaN and what a Duration cannot hold.
    Duration::try_from_secs_f64(secs * scale).map_err(|_| "must be a duration of 0 or more".to_string())
}

/// A probability, from 0 to 1.
pub fn parse_probability(s: &str) -> Result<f64, String> {
    match parse_number(s)? {
        p if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err("must be a probability from 0 to 1".into()),
    }
}

/// An ISO 3166 alpha-2 region the phone number library knows, in upper case (`fr` → `FR`).
pub fn parse_region(s: &str) -> Result<String, String> {
    crate::dedup::region_id(s).map(|id| id.as_ref().to_string()).ok_or_else(|| {
        "is not an ISO 3166 alpha-2 region code known for phone numbers (e.g. FR, BE, US)".into()
    })
}

/// A whole number, 0 or more, that fits `T` (`--retries`, `--max-delete`).
pub fn parse_whole<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.trim().parse::<T>().map_err(|_| "must be a whole number, 0 or more".to_string())
}

/// A share of a backup, in percent: 0 to 100.
pub fn parse_max_delete_percent(s: &str) -> Result<u8, String> {
    match s.trim().parse::<u8>() {
        Ok(p) if p <= 100 => Ok(p),
        _ => Err("must be a whole number from 0 to 100".into()),
    }
}

/// One of the names an option of `T` takes on the command line (`--layout dir`, `--vcard 4.0`),
/// for the same value read from elsewhere.
pub fn parse_choice<T: clap::ValueEnum>(s: &str) -> Result<T, String> {
    T::from_str(s.trim(), false).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        format!("must be one of: {}", names.join(", "))
    })
}

/// A finite decimal number.
fn parse_number(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err("must be a number".into()),
    }
}

/// Clap's parser for a value that may hold a secret: a bad value is a usage error that names the
/// option and says what is wrong, without quoting the value (clap's own message would).
pub fn secret_value_parser<T, F>(parse: F) -> SecretValueParser<F>
where
    T: Clone + Send + Sync + 'static,
    F: Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static,
{
    SecretValueParser(parse)
}

#[derive(Clone)]
pub struct SecretValueParser<F>(F);

impl<T, F> TypedValueParser for SecretValueParser<F>
where
    T: Clone + Send + Sync + 'static,
    F: Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        let name = arg.map_or_else(|| "the value".to_string(), |a| format!("'{a}'"));
        let parsed = match value.to_str() {
            Some(text) => (self.0)(text),
            None => Err("is not valid UTF-8".to_string()),
        };
        parsed.map_err(|why| {
            cmd.clone().error(ErrorKind::ValueValidation, format!("invalid value for {name}: {why}"))
        })
    }
}

/// A `--report` path whose extension names a format the reports are written in (`.json`,
/// `.html`, `.csv`; `-` is JSON on standard output): see [`crate::report::ReportFormat`].
pub fn parse_report_path(s: &str) -> Result<std::path::PathBuf, String> {
    let path = std::path::PathBuf::from(s);
    crate::report::ReportFormat::for_path(&path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("0"), Ok(0.0));
        assert_eq!(parse_rate(" 2.5 "), Ok(2.5));
        for bad in ["-1", "NaN", "inf", "1e-300", "1e12", "ten", ""] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn concurrency_and_timeouts() {
        assert_eq!(parse_concurrency("4"), Ok(4));
        for bad in ["0", "-1", "1.5", "1025", "99999999999999999999"] {
            assert!(parse_concurrency(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_timeout("2.5"), Ok(Duration::from_millis(2500)));
        for bad in ["0", "-3", "NaN", "inf", "1e30", "86401", "1e-12"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_auth_never_quotes_the_value() {
        let auth = parse_service_auth(" SVC :pa:ss").unwrap();
        assert_eq!(auth, ServiceAuth { id: "SVC".into(), password: "pa:ss".into() });
        assert!(!format!("{auth:?}").contains("pa:ss"));
        let err = parse_service_auth("no-colon-secret").unwrap_err();
        assert!(!err.contains("no-colon-secret"), "{err}");
        assert!(parse_service_auth(" :pwd").is_err());
    }

    #[test]
    fn regions_and_endpoints() {
        assert_eq!(parse_region(" be").as_deref(), Ok("BE"));
        for bad in ["", "XX", "FRA", "ZZ", "33"] {
            assert!(parse_region(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_endpoint(" http://127.0.0.1:1/V1 ").as_deref(), Ok("http://127.0.0.1:1/V1"));
        for bad in ["127.0.0.1:8080/PersonalContacts/V1", "localhost:8080", "ftp://h/V1", "http://", ""] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
        let err = parse_endpoint("h/V1?token=B64secret").unwrap_err();
        assert!(!err.contains("B64secret"), "{err}");
    }

    #[test]
    fn whole_numbers_shares_and_choices() {
        assert_eq!(parse_whole::<u32>(" 7 "), Ok(7));
        for bad in ["-1", "1.5", "x", "99999999999"] {
            assert!(parse_whole::<u32>(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_max_delete_percent("100"), Ok(100));
        assert!(parse_max_delete_percent("101").is_err());
        use crate::formats::Format;
        assert_eq!(parse_choice::<Format>(" csv"), Ok(Format::Csv));
        assert_eq!(parse_choice::<Format>("vcf").unwrap_err(), "must be one of: auto, vcard, csv");
    }

    #[test]
    fn durations_and_stats_intervals() {
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration(" 1.5s "), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        for bad in ["", "m", "1d", "-1s", "NaN", "1 m x", "1e30h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_stats_interval("0"), Ok(Duration::ZERO));
        assert_eq!(parse_stats_interval("1s"), Ok(Duration::from_secs(1)));
        assert!(parse_stats_interval("10ms").is_err());
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
    }

    #[test]
    fn probabilities() {
        assert_eq!(parse_probability("0.5"), Ok(0.5));
        assert_eq!(parse_probability("1"), Ok(1.0));
        for bad in ["-0.1", "1.01", "NaN"] {
            assert!(parse_probability(bad).is_err(), "{bad}");
        }
    }
}
