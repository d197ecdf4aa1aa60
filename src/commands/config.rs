//! `orange-contacts config show`: the settings a command would use, one `name: value (origin)`
//! line each, resolved as the commands resolve them ([`super::settings`]), without connecting,
//! reading a token file or running a token command. Secrets are never shown: a token given as
//! such is `[REDACTED]`, a file or a command is named. Exit codes: 0, or 2 when the settings make
//! no sense (the commands would stop the same way), after the lines.

use std::io::Write as _;

use crate::cli::{ConfigArgs, ConfigCommand};
use crate::client::{redact, REDACTED};
use crate::commands::connect::{self, DEFAULT_RATE};
use crate::commands::settings::{self, Layer, Origin, Secret, Setting, Settings};
use crate::commands::{EXIT_OK, EXIT_USAGE};

pub fn run(args: ConfigArgs) -> anyhow::Result<u8> {
    let ConfigCommand::Show(show) = args.command;
    let flags = Layer::default().with_mapping(&show.mapping).with_connection(&show.connection);
    let settings = settings::resolve(&show.profile, flags, true)?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", lines(&settings))?;
    out.flush()?;
    match connect::endpoint(&settings) {
        Ok(_) => Ok(EXIT_OK),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(EXIT_USAGE)
        }
    }
}

/// The listing: the file and profile, every setting, and where the commands would connect.
pub fn lines(s: &Settings) -> String {
    let mut out = String::new();
    let mut line = |name: &str, value: String, origin: Option<&Origin>| {
        let origin = origin.map(|o| format!(" ({o})")).unwrap_or_default();
        out.push_str(&format!("{name}: {value}{origin}\n"));
    };
    fn shown<T>(setting: &Option<Setting<T>>, show: impl Fn(&T) -> String) -> (String, Option<&Origin>) {
        match setting {
            Some(s) => (show(&s.value), Some(&s.origin)),
            None => ("none".to_string(), None),
        }
    }
    line("config", s.file.to_string(), None);
    let (profile, origin) = shown(&s.profile, |name| name.clone());
    line("profile", profile, origin);
    let (endpoint, origin) = shown(&s.endpoint, |e| redact(e));
    line("endpoint", endpoint, origin);
    let (token, origin) = shown(&s.token, |t| secret(t, |_| REDACTED.to_string()));
    line("token", token, origin);
    let (auth, origin) = shown(&s.service_auth, |a| secret(a, |auth| format!("{}:{REDACTED}", auth.id)));
    line("service_auth", auth, origin);
    let rate = |r: f64| if r == 0.0 { "unlimited".to_string() } else { r.to_string() };
    match &s.rate {
        Some(r) => line("rate", rate(r.value), Some(&r.origin)),
        None if s.endpoint.is_some() => {
            line("rate", format!("{} (default for an endpoint)", rate(DEFAULT_RATE)), None)
        }
        None => line("rate", "unlimited (default on the embedded sandbox)".into(), None),
    }
    line("concurrency", s.concurrency.value.to_string(), Some(&s.concurrency.origin));
    line("timeout", s.timeout.value.as_secs_f64().to_string(), Some(&s.timeout.origin));
    line("retries", s.retries.value.to_string(), Some(&s.retries.origin));
    line("region", s.region.value.clone(), Some(&s.region.origin));
    let e = &s.export;
    let (path, origin) = shown(&e.path, |p| p.display().to_string());
    line("export.path", path, origin);
    match &e.layout {
        Some(l) => line("export.layout", choice(&l.value), Some(&l.origin)),
        None => line(
            "export.layout",
            "by the path (a file for .vcf or -, else a vdir)".into(),
            Some(&Origin::Default),
        ),
    }
    line("export.vcard", choice(&e.vcard.value), Some(&e.vcard.origin));
    line("export.photos", e.photos.value.to_string(), Some(&e.photos.origin));
    line("export.max_delete", e.max_delete.value.to_string(), Some(&e.max_delete.origin));
    line(
        "export.max_delete_percent",
        e.max_delete_percent.value.to_string(),
        Some(&e.max_delete_percent.origin),
    );
    let (report, origin) = shown(&e.report, |p| p.display().to_string());
    line("export.report", report, origin);
    let connection = match connect::endpoint(s) {
        Ok(Some(endpoint)) => {
            format!("the endpoint {} (the token is read when a command runs)", redact(&endpoint.value))
        }
        Ok(None) => "the embedded sandbox in $ORANGE_CONTACTS_DATA_DIR".to_string(),
        Err(_) => "none: a token or service credentials without an endpoint".to_string(),
    };
    line("connection", connection, None);
    out
}

/// Where a secret is; a secret given as such shown by `given` (never its value).
fn secret<T>(s: &Secret<T>, given: impl Fn(&T) -> String) -> String {
    match s {
        Secret::Given(value) => given(value),
        Secret::File(path) => format!("file {}", path.display()),
        Secret::Command(argv) => format!("command {argv:?}"),
    }
}

/// The name the command line gives a choice (`dir`, `4.0`).
fn choice<T: clap::ValueEnum>(value: &T) -> String {
    value.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
}
