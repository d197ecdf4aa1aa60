//! The settings of a run, from four layers, strongest first: a flag, an environment variable, the
//! profile of the configuration file ([`profile`]), a built-in default. Each resolved value keeps
//! where it came from ([`Origin`]), for `config show` and for error messages. Values of every
//! layer pass the same parsers (`cli::values`), so a bad one is a usage error (exit 2) before any
//! work, whichever layer gave it.
//!
//! Secrets are only located here (a value, a file, a command: [`Secret`]); `connect` reads them
//! when a run needs them, and nothing here prints them.

mod profile;

pub use profile::default_config_path;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::values::{parse_endpoint, parse_service_auth, ServiceAuth};
use crate::cli::{ConnectionArgs, ExportArgs, MappingArgs, ProfileArgs};
use crate::commands::UsageError;
use crate::export::Layout;
use crate::formats::vcard_write::VcardVersion;

pub const DEFAULT_CONCURRENCY: usize = 4;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_RETRIES: u32 = 5;
pub const DEFAULT_MAX_DELETE: usize = 50;
pub const DEFAULT_MAX_DELETE_PERCENT: u8 = 50;
/// The profile used when none is named, if the file has it.
pub const DEFAULT_PROFILE: &str = "default";

/// The environment variables read, besides `ORANGE_CONTACTS_DATA_DIR` and `_STATE_DIR`.
pub const ENV_CONFIG: &str = "ORANGE_CONTACTS_CONFIG";
pub const ENV_PROFILE: &str = "ORANGE_CONTACTS_PROFILE";
pub const ENV_ENDPOINT: &str = "ORANGE_CONTACTS_ENDPOINT";
pub const ENV_TOKEN: &str = "ORANGE_CONTACTS_TOKEN";
pub const ENV_TOKEN_FILE: &str = "ORANGE_CONTACTS_TOKEN_FILE";
pub const ENV_SERVICE_AUTH: &str = "ORANGE_CONTACTS_SERVICE_AUTH";

/// Where a value was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, e.g. `--rate`.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// A key of a profile of the configuration file, e.g. `token_command`, `export.path`.
    Profile {
        profile: String,
        key: &'static str,
    },
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(name) | Origin::Env(name) => f.write_str(name),
            Origin::Profile { profile, key } => write!(f, "{key} in profile '{profile}'"),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A value and where it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// Where a secret is: given as such (flag or environment), in a file (its first line), or printed
/// by a command (its first line of output). Its `Debug` never shows a given secret.
#[derive(Clone, PartialEq)]
pub enum Secret<T> {
    Given(T),
    File(PathBuf),
    Command(Vec<String>),
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Given(_) => f.write_str(crate::client::REDACTED),
            Secret::File(path) => write!(f, "file {}", path.display()),
            Secret::Command(argv) => write!(f, "command {argv:?}"),
        }
    }
}

/// A value of one layer, with the name it was given under (flag, variable or key).
type Named<T> = Option<(T, &'static str)>;

/// What one layer (the flags, the environment or a profile) gives; `None` where it says nothing.
#[derive(Debug, Default, Clone)]
pub struct Layer {
    endpoint: Named<String>,
    token: Named<Secret<String>>,
    service_auth: Named<Secret<ServiceAuth>>,
    rate: Named<f64>,
    concurrency: Named<usize>,
    timeout: Named<Duration>,
    retries: Named<u32>,
    region: Named<String>,
    export_path: Named<PathBuf>,
    layout: Named<Layout>,
    vcard: Named<VcardVersion>,
    photos: Named<bool>,
    max_delete: Named<usize>,
    max_delete_percent: Named<u8>,
    export_report: Named<PathBuf>,
}

fn named<T: Clone>(value: &Option<T>, name: &'static str) -> Named<T> {
    value.clone().map(|v| (v, name))
}

impl Layer {
    /// The connection flags.
    pub fn with_connection(mut self, c: &ConnectionArgs) -> Layer {
        self.endpoint = named(&c.endpoint, "--endpoint");
        self.token = match (&c.token, &c.token_file) {
            (Some(token), _) => Some((Secret::Given(token.clone()), "--token")),
            (None, Some(file)) => Some((Secret::File(file.clone()), "--token-file")),
            (None, None) => None,
        };
        self.service_auth = c.service_auth.clone().map(|auth| (Secret::Given(auth), "--service-auth"));
        self.rate = named(&c.rate, "--rate");
        self.concurrency = named(&c.concurrency, "--concurrency");
        self.timeout = named(&c.timeout, "--timeout");
        self.retries = named(&c.retries, "--retries");
        self
    }

    /// `--region`.
    pub fn with_mapping(mut self, m: &MappingArgs) -> Layer {
        self.region = named(&m.region, "--region");
        self
    }

    /// The export flags a profile may also give.
    pub fn with_export(mut self, e: &ExportArgs) -> Layer {
        self.export_path = named(&e.path, "PATH");
        self.layout = named(&e.layout, "--layout");
        self.vcard = named(&e.version, "--vcard");
        self.photos = e.no_photos.then_some((false, "--no-photos"));
        self.max_delete = named(&e.max_delete, "--max-delete");
        self.max_delete_percent = named(&e.max_delete_percent, "--max-delete-percent");
        self.export_report = named(&e.report, "--report");
        self
    }

    /// The connection's environment variables, through `var` (which gives `None` for a variable
    /// unset or empty). Checked by the flags' parsers; two token variables at once are ambiguous.
    fn from_env(
        var: &impl Fn(&'static str) -> Result<Option<String>, UsageError>,
    ) -> Result<Layer, UsageError> {
        let invalid = |name: &str, flag: &str, why: String| {
            UsageError(format!("invalid value for {name} (as {flag}): {why}"))
        };
        let mut layer = Layer::default();
        if let Some(endpoint) = var(ENV_ENDPOINT)? {
            let endpoint =
                parse_endpoint(&endpoint).map_err(|why| invalid(ENV_ENDPOINT, "--endpoint", why))?;
            layer.endpoint = Some((endpoint, ENV_ENDPOINT));
        }
        layer.token = match (var(ENV_TOKEN)?, var(ENV_TOKEN_FILE)?) {
            (Some(_), Some(_)) => {
                return Err(UsageError(format!(
                    "both {ENV_TOKEN} and {ENV_TOKEN_FILE} are set: unset one of them"
                )))
            }
            (Some(token), None) => Some((Secret::Given(token), ENV_TOKEN)),
            (None, Some(file)) => Some((Secret::File(PathBuf::from(file)), ENV_TOKEN_FILE)),
            (None, None) => None,
        };
        if let Some(auth) = var(ENV_SERVICE_AUTH)? {
            let auth =
                parse_service_auth(&auth).map_err(|why| invalid(ENV_SERVICE_AUTH, "--service-auth", why))?;
            layer.service_auth = Some((Secret::Given(auth), ENV_SERVICE_AUTH));
        }
        Ok(layer)
    }
}

/// The configuration file a run looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// `None` when no file was named and there is no home folder to look in.
    pub path: Option<PathBuf>,
    /// Whether it was read (a file at the default place may well not exist).
    pub read: bool,
}

impl fmt::Display for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.read) {
            (Some(path), true) => write!(f, "{}", path.display()),
            (Some(path), false) => write!(f, "{} (not found)", path.display()),
            (None, _) => f.write_str("none (no home folder)"),
        }
    }
}

/// The export settings a profile may give.
#[derive(Debug, Clone)]
pub struct ExportSettings {
    pub path: Option<Setting<PathBuf>>,
    /// `None`: decided by the path (see `export::resolve_layout`).
    pub layout: Option<Setting<Layout>>,
    pub vcard: Setting<VcardVersion>,
    pub photos: Setting<bool>,
    pub max_delete: Setting<usize>,
    pub max_delete_percent: Setting<u8>,
    pub report: Option<Setting<PathBuf>>,
}

/// Every setting of a run, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub file: ConfigFile,
    /// The profile used, if any.
    pub profile: Option<Setting<String>>,
    pub endpoint: Option<Setting<String>>,
    pub token: Option<Setting<Secret<String>>>,
    pub service_auth: Option<Setting<Secret<ServiceAuth>>>,
    /// `None`: the connection's default (10 per second for an endpoint, unlimited on the embedded
    /// sandbox); `0` is unlimited.
    pub rate: Option<Setting<f64>>,
    pub concurrency: Setting<usize>,
    pub timeout: Setting<Duration>,
    pub retries: Setting<u32>,
    pub region: Setting<String>,
    pub export: ExportSettings,
}

impl Settings {
    /// Where `origin` is, for an error message: a profile's key also names the file.
    pub fn describe(&self, origin: &Origin) -> String {
        match (origin, &self.file.path) {
            (Origin::Profile { .. }, Some(path)) => format!("{origin} of {}", path.display()),
            _ => origin.to_string(),
        }
    }
}

/// An environment variable as the flags read it: unset or empty is absent; not UTF-8 is an error.
fn env_var(name: &'static str) -> Result<Option<String>, UsageError> {
    match std::env::var(name) {
        Ok(v) if v.is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(UsageError(format!("{name} is not valid UTF-8"))),
    }
}

/// The settings of a run: `flags` (what the command line gave), then the environment (the
/// connection's variables, read only when `connection` is true: `inspect` connects to nothing),
/// then the profile chosen by `profile_args`, then the defaults.
pub fn resolve(profile_args: &ProfileArgs, flags: Layer, connection: bool) -> anyhow::Result<Settings> {
    resolve_with(profile_args, flags, connection, &env_var)
}

fn resolve_with(
    profile_args: &ProfileArgs,
    flags: Layer,
    connection: bool,
    var: &impl Fn(&'static str) -> Result<Option<String>, UsageError>,
) -> anyhow::Result<Settings> {
    let config = match &profile_args.config {
        Some(path) => Some(Setting { value: path.clone(), origin: Origin::Flag("--config") }),
        None => {
            var(ENV_CONFIG)?.map(|p| Setting { value: PathBuf::from(p), origin: Origin::Env(ENV_CONFIG) })
        }
    };
    let (file, mut profiles) = profile::load(config.as_ref())?;
    let named_profile = match &profile_args.profile {
        Some(name) => Some(Setting { value: name.clone(), origin: Origin::Flag("--profile") }),
        None => var(ENV_PROFILE)?.map(|name| Setting { value: name, origin: Origin::Env(ENV_PROFILE) }),
    };
    let (profile, profile_layer) = match named_profile {
        Some(chosen) => match profiles.remove(&chosen.value) {
            Some(layer) => (Some(chosen), layer),
            None => return Err(unknown_profile(&chosen, &file, &profiles).into()),
        },
        None => match profiles.remove(DEFAULT_PROFILE) {
            Some(layer) => {
                (Some(Setting { value: DEFAULT_PROFILE.to_string(), origin: Origin::Default }), layer)
            }
            None => (None, Layer::default()),
        },
    };
    let env = if connection { Layer::from_env(var)? } else { Layer::default() };
    let profile_name = profile.as_ref().map(|p| p.value.clone()).unwrap_or_default();
    let layers = [(&flags, 0), (&env, 1), (&profile_layer, 2)];
    let origin = |layer: usize, name: &'static str| match layer {
        0 => Origin::Flag(name),
        1 => Origin::Env(name),
        _ => Origin::Profile { profile: profile_name.clone(), key: name },
    };
    // The strongest layer that gives the field.
    macro_rules! pick {
        ($field:ident) => {
            layers.iter().find_map(|(layer, rank)| {
                layer.$field.clone().map(|(value, name)| Setting { value, origin: origin(*rank, name) })
            })
        };
    }
    Ok(Settings {
        file,
        profile,
        endpoint: pick!(endpoint),
        token: pick!(token),
        service_auth: pick!(service_auth),
        rate: pick!(rate),
        concurrency: or_default(pick!(concurrency), DEFAULT_CONCURRENCY),
        timeout: or_default(pick!(timeout), DEFAULT_TIMEOUT),
        retries: or_default(pick!(retries), DEFAULT_RETRIES),
        region: or_default(pick!(region), crate::mapping::MappingOptions::default().region),
        export: ExportSettings {
            path: pick!(export_path),
            layout: pick!(layout),
            vcard: or_default(pick!(vcard), VcardVersion::V3),
            photos: or_default(pick!(photos), true),
            max_delete: or_default(pick!(max_delete), DEFAULT_MAX_DELETE),
            max_delete_percent: or_default(pick!(max_delete_percent), DEFAULT_MAX_DELETE_PERCENT),
            report: pick!(export_report),
        },
    })
}

fn or_default<T>(setting: Option<Setting<T>>, value: T) -> Setting<T> {
    setting.unwrap_or(Setting { value, origin: Origin::Default })
}

/// A named profile the file does not have: the error names the file and the profiles it has.
fn unknown_profile(
    chosen: &Setting<String>,
    file: &ConfigFile,
    others: &BTreeMap<String, Layer>,
) -> UsageError {
    let name = &chosen.value;
    let origin = &chosen.origin;
    let has = match others.keys().map(String::as_str).collect::<Vec<_>>() {
        names if names.is_empty() => "it has no profile".to_string(),
        names => format!("its profiles: {}", names.join(", ")),
    };
    UsageError(match (&file.path, file.read) {
        (Some(path), true) => format!("no profile '{name}' ({origin}) in {}: {has}", path.display()),
        (Some(path), false) => {
            format!(
                "no profile '{name}' ({origin}): the configuration file {} does not exist",
                path.display()
            )
        }
        (None, _) => {
            format!("no profile '{name}' ({origin}): no configuration file (no home folder; give --config)")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(
        vars: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&'static str) -> Result<Option<String>, UsageError> {
        move |name| Ok(vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn the_environment_is_checked_as_the_flags_are() {
        let err = Layer::from_env(&env(&[(ENV_TOKEN, "a"), (ENV_TOKEN_FILE, "b")])).unwrap_err().0;
        assert!(err.contains(ENV_TOKEN) && err.contains(ENV_TOKEN_FILE), "{err}");
        let err = Layer::from_env(&env(&[(ENV_SERVICE_AUTH, "no-colon-secret")])).unwrap_err().0;
        assert!(err.contains("--service-auth") && !err.contains("no-colon-secret"), "{err}");
        let err = Layer::from_env(&env(&[(ENV_ENDPOINT, "ftp://h/V1?token=B64secret")])).unwrap_err().0;
        assert!(err.contains(ENV_ENDPOINT) && !err.contains("B64secret"), "{err}");
    }

    #[test]
    fn the_environment_is_read_only_for_a_connection() {
        let none = ProfileArgs { config: Some("/dev/null".into()), profile: None };
        let vars = env(&[(ENV_ENDPOINT, "http://127.0.0.1:1/V1"), (ENV_PROFILE, "nope")]);
        // `inspect` connects to nothing: the endpoint variable is not its business. The profile's is.
        let err = resolve_with(&none, Layer::default(), false, &vars).unwrap_err().to_string();
        assert!(err.contains("no profile 'nope' (ORANGE_CONTACTS_PROFILE)"), "{err}");
        let vars = env(&[(ENV_ENDPOINT, "http://127.0.0.1:1/V1")]);
        assert_eq!(resolve_with(&none, Layer::default(), false, &vars).unwrap().endpoint, None);
        let s = resolve_with(&none, Layer::default(), true, &vars).unwrap();
        assert_eq!(s.endpoint.unwrap().origin, Origin::Env(ENV_ENDPOINT));
    }
}
