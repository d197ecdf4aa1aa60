//! The configuration file: `[profile.NAME]` tables of settings, read whole and checked whole (an
//! unknown key or a bad value in any profile is an error naming the file, the line and the key:
//! a typo must not fall back to a default silently). Values pass the flags' parsers
//! (`cli::values`). Paths may start with `~/`; a relative path is relative to the file's folder.
//!
//! Messages never quote the file's text: a line may hold a secret where none belongs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{ConfigFile, Layer, Secret, Setting};
use crate::cli::values::{
    parse_choice, parse_concurrency, parse_endpoint, parse_max_delete_percent, parse_rate, parse_region,
    parse_timeout, parse_whole,
};
use crate::commands::UsageError;

/// The keys of a profile, as the documentation lists them.
pub const PROFILE_KEYS: &[&str] = &[
    "endpoint",
    "token_file",
    "token_command",
    "service_auth_file",
    "service_auth_command",
    "rate",
    "concurrency",
    "timeout",
    "retries",
    "region",
    "export",
];

/// The keys of a profile's `[profile.NAME.export]` table.
pub const EXPORT_KEYS: &[&str] =
    &["path", "layout", "vcard", "photos", "max_delete", "max_delete_percent", "report"];

/// `$XDG_CONFIG_HOME/orange-contacts/config.toml`, else `~/.config/orange-contacts/config.toml`
/// (on every platform: the place vdirsyncer and rclone users look). `None` without a home folder.
pub fn default_config_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).filter(|p| p.is_absolute());
    let base = xdg.or_else(|| dirs::home_dir().map(|home| home.join(".config")))?;
    Some(base.join("orange-contacts").join("config.toml"))
}

/// Reads the file `named` (flag or environment), else the one at the default place if it exists,
/// and gives every profile it defines. A file named but missing or unreadable is an error (exit
/// 1); what it says that makes no sense is a usage error (exit 2). A file that others may read
/// or write draws a warning on stderr, as ssh gives.
pub(super) fn load(
    named: Option<&Setting<PathBuf>>,
) -> anyhow::Result<(ConfigFile, BTreeMap<String, Layer>)> {
    let path = match named {
        Some(setting) => Some(setting.value.clone()),
        None => default_config_path(),
    };
    let Some(path) = path else { return Ok((ConfigFile { path: None, read: false }, BTreeMap::new())) };
    let text = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if named.is_none() && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((ConfigFile { path: Some(path), read: false }, BTreeMap::new()));
        }
        Err(e) => {
            let by = named.map(|s| format!(" (given by {})", s.origin)).unwrap_or_default();
            return Err(e)
                .with_context(|| format!("cannot read the configuration file {}{by}", path.display()));
        }
    };
    warn_if_others_may_access(&path);
    let text = String::from_utf8(text)
        .map_err(|_| UsageError(format!("{}: the configuration file is not UTF-8 text", path.display())))?;
    let profiles = parse(&text, &path)?;
    Ok((ConfigFile { path: Some(path), read: true }, profiles))
}

/// The warning for a file whose mode lets the group or others read or write it: it names the
/// token's file or command (and whoever may write it chooses what runs and where the token goes).
#[cfg(unix)]
fn warn_if_others_may_access(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let Ok(meta) = std::fs::metadata(path) else { return };
    let mode = meta.permissions().mode() & 0o777;
    // Only a regular file: `--config /dev/null` (no profiles) is fine as it is.
    if meta.is_file() && mode & 0o077 != 0 {
        eprintln!(
            "warning: the configuration file {} may be read or written by others (mode {mode:04o}): \
             run chmod 600 {}",
            path.display(),
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_others_may_access(_path: &Path) {}

/// Every profile of the file's text, or every problem found (each with its line).
fn parse(text: &str, file: &Path) -> Result<BTreeMap<String, Layer>, UsageError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let doc = DeTable::parse(text).map_err(|e| {
        // The message alone: the error's display shows the line, which may hold a secret.
        let line = e.span().map(|s| format!(":{}", line_of(s.start))).unwrap_or_default();
        UsageError(format!("{}{line}: not valid TOML: {}", file.display(), e.message().trim()))
    })?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut problems: Vec<(usize, String)> = Vec::new();
    let mut profiles = BTreeMap::new();
    for (key, value) in doc.get_ref() {
        if key.get_ref() != "profile" {
            let why = format!("unknown key `{}` (the file holds [profile.NAME] tables)", key.get_ref());
            problems.push((key.span().start, why));
            continue;
        }
        let Some(table) = value.get_ref().as_table() else {
            problems.push((value.span().start, "`profile` must hold [profile.NAME] tables".into()));
            continue;
        };
        for (name, body) in table {
            let name = name.get_ref().to_string();
            let mut reader = Reader { dir, section: format!("[profile.{name}]"), problems: &mut problems };
            match body.get_ref().as_table() {
                Some(body) => {
                    let layer = reader.profile(body);
                    profiles.insert(name, layer);
                }
                None => reader.problem(body, "must be a table of settings".into()),
            }
        }
    }
    if problems.is_empty() {
        return Ok(profiles);
    }
    problems.sort();
    let lines: Vec<String> =
        problems.iter().map(|(at, why)| format!("{}:{}: {why}", file.display(), line_of(*at))).collect();
    Err(UsageError(lines.join("\n")))
}

/// Reads one profile's table, noting each problem rather than stopping at the first.
struct Reader<'a> {
    dir: &'a Path,
    /// `[profile.NAME]` or `[profile.NAME.export]`, for the messages.
    section: String,
    problems: &'a mut Vec<(usize, String)>,
}

type Value<'i> = Spanned<DeValue<'i>>;

impl Reader<'_> {
    fn problem(&mut self, at: &Value<'_>, why: String) {
        self.problems.push((at.span().start, format!("{}: {why}", self.section)));
    }

    /// `key`'s value through `parse`, or a problem naming the key (never quoting the value).
    fn value<T>(
        &mut self,
        key: &'static str,
        at: &Value<'_>,
        parse: impl FnOnce(&DeValue<'_>) -> Result<T, String>,
    ) -> Option<(T, &'static str)> {
        match parse(at.get_ref()) {
            Ok(v) => Some((v, key)),
            Err(why) => {
                self.problem(at, format!("{key}: {why}"));
                None
            }
        }
    }

    fn profile(&mut self, table: &DeTable<'_>) -> Layer {
        let mut layer = Layer::default();
        let (mut token_keys, mut auth_keys) = (Vec::new(), Vec::new());
        let dir = self.dir.to_path_buf();
        for (key, at) in table {
            let v = at.get_ref();
            match key.get_ref().as_ref() {
                "endpoint" => layer.endpoint = self.value("endpoint", at, |v| parse_endpoint(&text(v)?)),
                "token_file" => {
                    token_keys.push(at);
                    layer.token = self.value("token_file", at, |v| Ok(Secret::File(path(v, &dir)?)));
                }
                "token_command" => {
                    token_keys.push(at);
                    layer.token = self.value("token_command", at, |v| Ok(Secret::Command(command(v)?)));
                }
                "service_auth_file" => {
                    auth_keys.push(at);
                    layer.service_auth =
                        self.value("service_auth_file", at, |v| Ok(Secret::File(path(v, &dir)?)));
                }
                "service_auth_command" => {
                    auth_keys.push(at);
                    layer.service_auth =
                        self.value("service_auth_command", at, |v| Ok(Secret::Command(command(v)?)));
                }
                "rate" => layer.rate = self.value("rate", at, |v| parse_rate(&number(v)?)),
                "concurrency" => {
                    layer.concurrency = self.value("concurrency", at, |v| parse_concurrency(&number(v)?))
                }
                "timeout" => layer.timeout = self.value("timeout", at, |v| parse_timeout(&number(v)?)),
                "retries" => layer.retries = self.value("retries", at, |v| parse_whole(&number(v)?)),
                "region" => layer.region = self.value("region", at, |v| parse_region(&text(v)?)),
                "export" => match v.as_table() {
                    Some(export) => self.export(export, &mut layer),
                    None => self.problem(at, "export: must be a table ([profile.NAME.export])".into()),
                },
                other => {
                    let why = format!("unknown key `{other}` (known keys: {})", PROFILE_KEYS.join(", "));
                    self.problems.push((key.span().start, format!("{}: {why}", self.section)));
                }
            }
        }
        for (keys, what) in [
            (token_keys, "token_file or token_command"),
            (auth_keys, "service_auth_file or service_auth_command"),
        ] {
            // Keys come in name order: the problem is on the later line.
            if let Some(second) = keys.iter().max_by_key(|at| at.span().start).filter(|_| keys.len() > 1) {
                self.problem(second, format!("give {what}, not both"));
            }
        }
        layer
    }

    fn export(&mut self, table: &DeTable<'_>, layer: &mut Layer) {
        let inner = format!("{}.export]", self.section.trim_end_matches(']'));
        let outer = std::mem::replace(&mut self.section, inner);
        let dir = self.dir.to_path_buf();
        for (key, at) in table {
            match key.get_ref().as_ref() {
                "path" => layer.export_path = self.value("export.path", at, |v| path(v, &dir)),
                "layout" => layer.layout = self.value("export.layout", at, |v| parse_choice(&text(v)?)),
                "vcard" => layer.vcard = self.value("export.vcard", at, |v| parse_choice(&number(v)?)),
                "photos" => layer.photos = self.value("export.photos", at, boolean),
                "max_delete" => {
                    layer.max_delete = self.value("export.max_delete", at, |v| parse_whole(&number(v)?))
                }
                "max_delete_percent" => {
                    layer.max_delete_percent =
                        self.value("export.max_delete_percent", at, |v| parse_max_delete_percent(&number(v)?))
                }
                "report" => {
                    layer.export_report = self.value("export.report", at, |v| {
                        let report = path(v, &dir)?;
                        crate::report::ReportFormat::for_path(&report).map(|_| report)
                    })
                }
                other => {
                    let why = format!("unknown key `{other}` (known keys: {})", EXPORT_KEYS.join(", "));
                    self.problems.push((key.span().start, format!("{}: {why}", self.section)));
                }
            }
        }
        self.section = outer;
    }
}

fn text(v: &DeValue<'_>) -> Result<String, String> {
    v.as_str().map(str::to_string).ok_or_else(|| format!("must be a string, not {}", v.type_str()))
}

/// A number as the flags read it: its text (`2.5`, `10`), or a string holding one (`"4.0"`).
fn number(v: &DeValue<'_>) -> Result<String, String> {
    match v {
        DeValue::Integer(i) if i.radix() == 10 => Ok(i.as_str().to_string()),
        DeValue::Float(f) => Ok(f.as_str().to_string()),
        DeValue::String(s) => Ok(s.to_string()),
        other => Err(format!("must be a decimal number, not {}", other.type_str())),
    }
}

fn boolean(v: &DeValue<'_>) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| format!("must be true or false, not {}", v.type_str()))
}

/// A command and its arguments, run without a shell: `["pass", "show", "orange"]`.
fn command(v: &DeValue<'_>) -> Result<Vec<String>, String> {
    let shape = "must be a list of strings, the program then its arguments: [\"pass\", \"show\", \"orange\"]";
    let items = v.as_array().ok_or(shape)?;
    let argv: Vec<String> =
        items.iter().map(|i| i.get_ref().as_str().map(str::to_string)).collect::<Option<_>>().ok_or(shape)?;
    match argv.first() {
        Some(program) if !program.trim().is_empty() => Ok(argv),
        _ => Err("the program to run is missing (the list is empty)".into()),
    }
}

/// A path: `~` and `~/…` are in the home folder; a relative path is relative to `dir`.
fn path(v: &DeValue<'_>, dir: &Path) -> Result<PathBuf, String> {
    let written = text(v)?;
    if written.trim().is_empty() {
        return Err("is empty".into());
    }
    let home = || dirs::home_dir().ok_or_else(|| "starts with ~ but there is no home folder".to_string());
    let path = match written.strip_prefix('~') {
        Some("") => home()?,
        Some(rest) if rest.starts_with('/') => home()?.join(rest.trim_start_matches('/')),
        _ => PathBuf::from(&written),
    };
    Ok(if path.is_relative() { dir.join(path) } else { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles(text: &str) -> Result<BTreeMap<String, Layer>, String> {
        parse(text, Path::new("/etc/x/config.toml")).map_err(|e| e.0)
    }

    #[test]
    fn the_documented_shape_is_read() {
        let p = profiles(
            r#"
[profile.default]
endpoint = "https://api.example/PersonalContacts/V1"
token_file = "~/.config/orange-contacts/token"
[profile.work]
endpoint = "http://127.0.0.1:8080/PersonalContacts/V1"
token_command = ["pass", "show", "orange/work"]
rate = 5
timeout = 2.5
[profile.work.export]
path = "backup"
vcard = "4.0"
photos = false
"#,
        )
        .unwrap();
        let home = dirs::home_dir().unwrap();
        let default = &p["default"];
        assert_eq!(
            default.token,
            Some((Secret::File(home.join(".config/orange-contacts/token")), "token_file"))
        );
        let work = &p["work"];
        assert_eq!(
            work.token,
            Some((
                Secret::Command(vec!["pass".into(), "show".into(), "orange/work".into()]),
                "token_command"
            ))
        );
        assert_eq!(work.rate, Some((5.0, "rate")));
        assert_eq!(work.timeout, Some((std::time::Duration::from_millis(2500), "timeout")));
        assert_eq!(work.export_path, Some((PathBuf::from("/etc/x/backup"), "export.path")));
        assert_eq!(work.vcard, Some((crate::formats::vcard_write::VcardVersion::V4, "export.vcard")));
        assert_eq!(work.photos, Some((false, "export.photos")));
    }

    #[test]
    fn every_problem_is_named_with_its_line_and_no_value() {
        let err = profiles(
            "[profile.a]\nrat = 5\ntoken = \"B64secret\"\nrate = -1\nconcurrency = 0\n[profile.a.export]\nlayot = \"dir\"\nvcard = 4\n",
        )
        .unwrap_err();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 6, "{err}");
        assert!(lines[0].starts_with("/etc/x/config.toml:2: [profile.a]: unknown key `rat`"), "{err}");
        assert!(lines[1].starts_with("/etc/x/config.toml:3: [profile.a]: unknown key `token`"), "{err}");
        assert!(lines[2].contains(":4: [profile.a]: rate: must be 0"), "{err}");
        assert!(lines[3].contains(":5: [profile.a]: concurrency: must be a whole number from 1"), "{err}");
        assert!(lines[4].contains(":7: [profile.a.export]: unknown key `layot`"), "{err}");
        assert!(lines[5].contains(":8: [profile.a.export]: export.vcard: must be one of: 3.0, 4.0"), "{err}");
        assert!(!err.contains("B64secret"), "{err}");

        let err = profiles("[profile.a]\ntoken = B64secret\n").unwrap_err();
        assert!(err.starts_with("/etc/x/config.toml:2: not valid TOML"), "{err}");
        assert!(!err.contains("B64secret"), "{err}");
        let err = profiles("[profile.a]\ntoken_file = \"t\"\ntoken_command = [\"x\"]\n").unwrap_err();
        assert!(err.contains(":3: [profile.a]: give token_file or token_command, not both"), "{err}");
        let err = profiles("[profiles.a]\n").unwrap_err();
        assert!(err.contains(":1: unknown key `profiles`"), "{err}");
        let err = profiles("[profile.a]\ntoken_command = []\n").unwrap_err();
        assert!(err.contains("token_command: the program to run is missing"), "{err}");
    }
}
