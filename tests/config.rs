//! Configuration profiles (issue 11), through the real binary: which file and profile, the
//! precedence flag > environment > profile > default of every setting (`config show`, and real
//! runs against the sandbox over HTTP), token and service-credential commands (run, never
//! echoed), and the file's errors and warnings.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{text, TestServer};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/android-2.1.vcf");

/// A home folder for one test: `HOME`, `XDG_CONFIG_HOME`, the embedded sandbox's data and the run
/// locks all inside it, and nothing of the caller's `ORANGE_CONTACTS_*` variables.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn home(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// The file at the default place, `$XDG_CONFIG_HOME/orange-contacts/config.toml`, mode 0600.
    fn default_config(&self) -> PathBuf {
        self.path("xdg/orange-contacts/config.toml")
    }

    fn write_config(&self, text: &str) -> PathBuf {
        let path = self.default_config();
        write_private(&path, text);
        path
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = common::command();
        c.args(args)
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.path("xdg"))
            .env("ORANGE_CONTACTS_DATA_DIR", self.path("data"))
            .env("ORANGE_CONTACTS_STATE_DIR", self.path("state"));
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// A shell script in the home folder, executable.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        chmod(&path, 0o700);
        path
    }
}

fn write_private(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    chmod(path, 0o600);
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `config show`'s lines, by setting name: `name: value (origin)` → `value (origin)`.
fn shown(out: &Output) -> BTreeMap<String, String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(name, rest)| (name.to_string(), rest.to_string()))
        .collect()
}

/// A case's flags and environment variables.
type Flags<'a> = &'a [&'a str];
type Env<'a> = &'a [(&'a str, &'a str)];

/// A setting of the table: how each layer gives it, and what `config show` says for each.
struct Row {
    /// Its line in `config show`.
    name: &'static str,
    /// The flag and its value (empty: no flag).
    flag: &'static [&'static str],
    /// The environment variable and its value.
    env: Option<(&'static str, &'static str)>,
    /// Its line in `[profile.default]`, or in `[profile.default.export]` for `export.*`.
    profile: Option<&'static str>,
    /// What is shown when the flag, the variable, the profile or nothing gives it (`{home}` is
    /// the home folder; an empty default is decided by the run: the rate's depends on the endpoint).
    shown: [&'static str; 4],
}

const ROWS: &[Row] = &[
    Row {
        name: "endpoint",
        flag: &["--endpoint", "http://127.0.0.1:1/PersonalContacts/V1"],
        env: Some(("ORANGE_CONTACTS_ENDPOINT", "http://127.0.0.2:2/PersonalContacts/V1")),
        profile: Some(r#"endpoint = "http://127.0.0.3:3/PersonalContacts/V1""#),
        shown: [
            "http://127.0.0.1:1/PersonalContacts/V1 (--endpoint)",
            "http://127.0.0.2:2/PersonalContacts/V1 (ORANGE_CONTACTS_ENDPOINT)",
            "http://127.0.0.3:3/PersonalContacts/V1 (endpoint in profile 'default')",
            "none",
        ],
    },
    Row {
        name: "token",
        flag: &["--token-file", "/t/flag.token"],
        env: Some(("ORANGE_CONTACTS_TOKEN_FILE", "/t/env.token")),
        profile: Some(r#"token_command = ["/t/token.sh", "orange"]"#),
        shown: [
            "file /t/flag.token (--token-file)",
            "file /t/env.token (ORANGE_CONTACTS_TOKEN_FILE)",
            r#"command ["/t/token.sh", "orange"] (token_command in profile 'default')"#,
            "none",
        ],
    },
    Row {
        name: "service_auth",
        flag: &["--service-auth", "SVCFLAG:pw1"],
        env: Some(("ORANGE_CONTACTS_SERVICE_AUTH", "SVCENV:pw2")),
        profile: Some(r#"service_auth_file = "~/service""#),
        shown: [
            "SVCFLAG:[REDACTED] (--service-auth)",
            "SVCENV:[REDACTED] (ORANGE_CONTACTS_SERVICE_AUTH)",
            "file {home}/service (service_auth_file in profile 'default')",
            "none",
        ],
    },
    Row {
        name: "rate",
        flag: &["--rate", "0"],
        env: None,
        profile: Some("rate = 2.5"),
        shown: ["unlimited (--rate)", "", "2.5 (rate in profile 'default')", ""],
    },
    Row {
        name: "concurrency",
        flag: &["--concurrency", "3"],
        env: None,
        profile: Some("concurrency = 6"),
        shown: ["3 (--concurrency)", "", "6 (concurrency in profile 'default')", "4 (default)"],
    },
    Row {
        name: "timeout",
        flag: &["--timeout", "1.5"],
        env: None,
        profile: Some("timeout = 12"),
        shown: ["1.5 (--timeout)", "", "12 (timeout in profile 'default')", "30 (default)"],
    },
    Row {
        name: "retries",
        flag: &["--retries", "1"],
        env: None,
        profile: Some("retries = 0"),
        shown: ["1 (--retries)", "", "0 (retries in profile 'default')", "5 (default)"],
    },
    Row {
        name: "region",
        flag: &["--region", "be"],
        env: None,
        profile: Some(r#"region = "de""#),
        shown: ["BE (--region)", "", "DE (region in profile 'default')", "FR (default)"],
    },
    Row {
        name: "export.path",
        flag: &[],
        env: None,
        profile: Some(r#"path = "backup/contacts""#),
        shown: [
            "",
            "",
            "{home}/xdg/orange-contacts/backup/contacts (export.path in profile 'default')",
            "none",
        ],
    },
    Row {
        name: "export.layout",
        flag: &[],
        env: None,
        profile: Some(r#"layout = "dir""#),
        shown: [
            "",
            "",
            "dir (export.layout in profile 'default')",
            "by the path (a file for .vcf or -, else a vdir) (default)",
        ],
    },
    Row {
        name: "export.vcard",
        flag: &[],
        env: None,
        profile: Some("vcard = 4.0"),
        shown: ["", "", "4.0 (export.vcard in profile 'default')", "3.0 (default)"],
    },
    Row {
        name: "export.photos",
        flag: &[],
        env: None,
        profile: Some("photos = false"),
        shown: ["", "", "false (export.photos in profile 'default')", "true (default)"],
    },
    Row {
        name: "export.max_delete",
        flag: &[],
        env: None,
        profile: Some("max_delete = 7"),
        shown: ["", "", "7 (export.max_delete in profile 'default')", "50 (default)"],
    },
    Row {
        name: "export.max_delete_percent",
        flag: &[],
        env: None,
        profile: Some("max_delete_percent = 100"),
        shown: ["", "", "100 (export.max_delete_percent in profile 'default')", "50 (default)"],
    },
    Row {
        name: "export.report",
        flag: &[],
        env: None,
        profile: Some(r#"report = "~/report.json""#),
        shown: ["", "", "{home}/report.json (export.report in profile 'default')", "none"],
    },
];

/// Each setting from its flag, its variable, the profile or its default, in every combination of
/// the layers that give it (8 runs: setting `j` of run `i` is given by the layers of mask
/// `(i + j) % 8`, so each run mixes origins), through `config show` of the real binary.
#[test]
fn config_precedence_table_flag_then_environment_then_profile_then_default() {
    let home = Home::new();
    let mut failures = Vec::new();
    for run in 0..8 {
        let mut args = vec!["config", "show"];
        let mut env = Vec::new();
        let (mut profile, mut export) = (Vec::new(), Vec::new());
        let mut expected = Vec::new();
        for (j, row) in ROWS.iter().enumerate() {
            let mask = (run + j) % 8;
            let with_flag = mask & 1 != 0 && !row.flag.is_empty();
            let with_env = mask & 2 != 0 && row.env.is_some();
            let with_profile = mask & 4 != 0 && row.profile.is_some();
            if with_flag {
                args.extend_from_slice(row.flag);
            }
            if with_env {
                env.push(row.env.unwrap());
            }
            if with_profile {
                let lines = if row.name.starts_with("export.") { &mut export } else { &mut profile };
                lines.push(row.profile.unwrap());
            }
            let layer = [with_flag, with_env, with_profile].iter().position(|given| *given).unwrap_or(3);
            expected.push((row, layer, format!("flag {with_flag}, env {with_env}, profile {with_profile}")));
        }
        home.write_config(&format!(
            "[profile.default]\n{}\n[profile.default.export]\n{}\n",
            profile.join("\n"),
            export.join("\n")
        ));
        let mut cmd = home.command(&args);
        cmd.envs(env.iter().copied());
        let out = cmd.output().unwrap();
        // A token without an endpoint is shown too, then refused (exit 2) as the commands would.
        assert!(matches!(out.status.code(), Some(0 | 2)), "run {run}: {}", text(&out));
        let lines = shown(&out);
        for (row, layer, given) in expected {
            let want = match (row.shown[layer], row.name) {
                ("", "rate") if lines["endpoint"] == "none" => {
                    "unlimited (default on the embedded sandbox)".into()
                }
                ("", "rate") => "10 (default for an endpoint)".into(),
                (want, _) => want.replace("{home}", &home.home()),
            };
            if lines.get(row.name) != Some(&want) {
                failures.push(format!(
                    "run {run}, {} ({given}): shown {:?}, expected {want:?}",
                    row.name,
                    lines.get(row.name)
                ));
            }
        }
        assert!(
            !text(&out).contains("pw1") && !text(&out).contains("pw2"),
            "a password shown: {}",
            text(&out)
        );
    }
    assert!(failures.is_empty(), "precedence not kept:\n{}", failures.join("\n"));
}

/// A token has several forms in a layer: the strongest layer's wins whatever its form; two forms
/// in one layer are ambiguous (exit 2). The token itself is never shown.
#[test]
fn token_forms_follow_the_same_precedence_and_are_never_shown() {
    let home = Home::new();
    home.write_config("[profile.default]\nendpoint = \"http://127.0.0.1:1/PersonalContacts/V1\"\ntoken_file = \"~/profile.token\"\n");
    let cases: &[(Flags<'_>, Env<'_>, Option<&str>)] = &[
        (
            &["--token", "B64tok+en/=|flag"],
            &[("ORANGE_CONTACTS_TOKEN_FILE", "/t/env.token")],
            Some("[REDACTED] (--token)"),
        ),
        (
            &["--token-file", "/t/flag.token"],
            &[("ORANGE_CONTACTS_TOKEN", "B64tok+en/=|env")],
            Some("file /t/flag.token (--token-file)"),
        ),
        (&[], &[("ORANGE_CONTACTS_TOKEN", "B64tok+en/=|env")], Some("[REDACTED] (ORANGE_CONTACTS_TOKEN)")),
        (&[], &[], Some("file {home}/profile.token (token_file in profile 'default')")),
        (
            &[],
            &[("ORANGE_CONTACTS_TOKEN", "B64tok+en/=|env"), ("ORANGE_CONTACTS_TOKEN_FILE", "/t/env.token")],
            None,
        ),
        (&["--token", "B64tok+en/=|flag", "--token-file", "/t/flag.token"], &[], None),
    ];
    for (flags, env, want) in cases {
        let mut args = vec!["config", "show"];
        args.extend_from_slice(flags);
        let mut cmd = home.command(&args);
        cmd.envs(env.iter().copied());
        let out = cmd.output().unwrap();
        assert!(!text(&out).contains("tok+en"), "{flags:?} {env:?}: the token shown: {}", text(&out));
        match want {
            Some(want) => {
                assert_eq!(out.status.code(), Some(0), "{flags:?} {env:?}: {}", text(&out));
                assert_eq!(shown(&out)["token"], want.replace("{home}", &home.home()), "{flags:?} {env:?}");
            }
            None => assert_eq!(out.status.code(), Some(2), "{flags:?} {env:?}: ambiguous: {}", text(&out)),
        }
    }
}

/// Which profile: `--profile`, else `ORANGE_CONTACTS_PROFILE`, else `default` if the file has it.
/// Which file: `--config`, else `ORANGE_CONTACTS_CONFIG`, else the XDG place.
#[test]
fn profile_and_file_choice_follow_the_same_precedence() {
    let home = Home::new();
    home.write_config(
        "[profile.default]\nregion = \"BE\"\n[profile.a]\nregion = \"DE\"\n[profile.b]\nregion = \"IT\"\n",
    );
    let env_file = home.path("env.toml");
    write_private(&env_file, "[profile.default]\nregion = \"US\"\n");
    let flag_file = home.path("flag.toml");
    write_private(&flag_file, "[profile.default]\nregion = \"CH\"\n");
    let (env_path, flag_path) = (env_file.to_str().unwrap(), flag_file.to_str().unwrap());
    let cases: &[(Flags<'_>, Env<'_>, &str, &str)] = &[
        (&[], &[], "default (default)", "BE (region in profile 'default')"),
        (
            &[],
            &[("ORANGE_CONTACTS_PROFILE", "b")],
            "b (ORANGE_CONTACTS_PROFILE)",
            "IT (region in profile 'b')",
        ),
        (
            &["--profile", "a"],
            &[("ORANGE_CONTACTS_PROFILE", "b")],
            "a (--profile)",
            "DE (region in profile 'a')",
        ),
        (
            &[],
            &[("ORANGE_CONTACTS_CONFIG", env_path)],
            "default (default)",
            "US (region in profile 'default')",
        ),
        (
            &["--config", flag_path],
            &[("ORANGE_CONTACTS_CONFIG", env_path)],
            "default (default)",
            "CH (region in profile 'default')",
        ),
        (&["--region", "fr", "--profile", "a"], &[], "a (--profile)", "FR (--region)"),
    ];
    for (flags, env, profile, region) in cases {
        let mut args = vec!["config", "show"];
        args.extend_from_slice(flags);
        let mut cmd = home.command(&args);
        cmd.envs(env.iter().copied());
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{flags:?} {env:?}: {}", text(&out));
        let lines = shown(&out);
        assert_eq!(
            (lines["profile"].as_str(), lines["region"].as_str()),
            (*profile, *region),
            "{flags:?} {env:?}"
        );
    }
    // No file at the default place: no profile, the defaults, no error.
    std::fs::remove_file(home.default_config()).unwrap();
    let out = home.run(&["config", "show"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(shown(&out)["profile"], "none");
    assert!(shown(&out)["config"].ends_with("config.toml (not found)"), "{}", text(&out));
}

#[test]
fn an_unknown_profile_is_an_error_naming_the_file_and_its_profiles() {
    let home = Home::new();
    let file = home.write_config("[profile.default]\n[profile.work]\n");
    for (args, env) in [
        (vec!["inspect", "-q", "--profile", "wrok", SAMPLE], None),
        (vec!["inspect", "-q", SAMPLE], Some("wrok")),
    ] {
        let mut cmd = home.command(&args);
        if let Some(name) = env {
            cmd.env("ORANGE_CONTACTS_PROFILE", name);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = common::stderr(&out);
        assert!(err.contains("no profile 'wrok'") && err.contains(&file.display().to_string()), "{err}");
        assert!(err.contains("its profiles: default, work"), "{err}");
    }
    // Named, with no file at all.
    std::fs::remove_file(&file).unwrap();
    let out = home.run(&["import", "-q", "--profile", "work", SAMPLE]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(common::stderr(&out).contains("does not exist"), "{}", text(&out));
    assert!(!home.path("data").exists(), "nothing opened");
}

/// Typos and bad values never fall back to a default: each is named with the file, its line and
/// its key (values unquoted), before anything is read or opened (exit 2).
#[test]
fn an_unknown_key_or_a_bad_value_is_an_error_naming_the_key_and_the_file() {
    let home = Home::new();
    let file = home.write_config(
        "[profile.default]\nendpoint = \"http://127.0.0.1:1/PersonalContacts/V1\"\nrat = 5\ntoken = \"B64secret+/=\"\n\
         [profile.other]\nconcurrency = 0\n[profile.other.export]\nmax_delete_percent = 101\n",
    );
    let out = home.run(&["import", "-q", SAMPLE]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = common::stderr(&out);
    let at = |line: u32| format!("{}:{line}: ", file.display());
    assert!(err.contains(&format!("{}[profile.default]: unknown key `rat`", at(3))), "{err}");
    assert!(err.contains(&format!("{}[profile.default]: unknown key `token`", at(4))), "{err}");
    assert!(
        err.contains(&format!("{}[profile.other]: concurrency: must be a whole number from 1", at(6))),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}[profile.other.export]: export.max_delete_percent: must be", at(8))),
        "{err}"
    );
    assert!(!err.contains("B64secret"), "a value quoted: {err}");
    assert!(!home.path("data").exists() && !home.path("state").exists(), "nothing opened");
    // Not TOML at all: the line, never its text.
    home.write_config("[profile.default]\ntoken = B64secret+/=\n");
    let out = home.run(&["inspect", "-q", SAMPLE]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(common::stderr(&out).contains(&format!("{}not valid TOML", at(2))), "{}", text(&out));
    assert!(!common::stderr(&out).contains("B64secret"), "{}", text(&out));
}

#[test]
fn an_unreadable_config_is_an_error_naming_it() {
    let home = Home::new();
    let folder = home.path("folder.toml");
    std::fs::create_dir(&folder).unwrap();
    let out = home.run(&["inspect", "-q", "--config", folder.to_str().unwrap(), SAMPLE]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        common::stderr(&out).contains(&format!("cannot read the configuration file {}", folder.display())),
        "{}",
        text(&out)
    );
    let missing = home.path("missing.toml");
    let out =
        home.command(&["inspect", "-q", SAMPLE]).env("ORANGE_CONTACTS_CONFIG", &missing).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = common::stderr(&out);
    assert!(err.contains(&missing.display().to_string()) && err.contains("ORANGE_CONTACTS_CONFIG"), "{err}");
    // The default place unreadable is an error too (only a missing file there is no file).
    std::fs::create_dir_all(home.default_config()).unwrap();
    let out = home.run(&["inspect", "-q", SAMPLE]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

/// As ssh does: a file others may read or write draws a warning, with `-q` too; 0600 does not.
#[test]
fn a_config_readable_by_others_draws_a_warning() {
    let home = Home::new();
    let file = home.write_config("[profile.default]\nregion = \"BE\"\n");
    let out = home.run(&["inspect", "-q", SAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!common::stderr(&out).contains("warning"), "{}", text(&out));
    for mode in [0o644, 0o640, 0o606] {
        chmod(&file, mode);
        let out = home.run(&["inspect", "-q", SAMPLE]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let want = format!(
            "warning: the configuration file {} may be read or written by others (mode {mode:04o}): run chmod 600",
            file.display()
        );
        assert!(common::stderr(&out).contains(&want), "{mode:o}: {}", text(&out));
    }
}

/// A profile that gives endpoint and token is a normal remote connection; a token from the
/// profile without any endpoint is the usage error a flag's is; an endpoint from the
/// environment completes a profile's token.
#[test]
fn a_profile_gives_the_connection_and_keeps_the_token_needs_an_endpoint_rule() {
    let home = Home::new();
    let server = TestServer::start(&[]);
    let token = server.token_file("alice");
    home.write_config(&format!(
        "[profile.default]\nendpoint = \"{}\"\ntoken_file = \"{}\"\nrate = 0\n[profile.lost]\ntoken_file = \"{}\"\n",
        server.endpoint,
        token.display(),
        token.display()
    ));
    let report = home.path("report.json");
    let out = home.run(&["import", "--report", report.to_str().unwrap(), SAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!common::stderr(&out).contains("embedded sandbox"), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert!(json["summary"]["outcomes"]["created"].as_u64().unwrap() > 0, "{json}");
    assert!(!home.path("data").exists(), "the embedded sandbox was not opened");

    let out = home.run(&["import", "-q", "--profile", "lost", SAMPLE]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = common::stderr(&out);
    assert!(
        err.contains("a token (token_file in profile 'lost' of ") && err.contains("without an endpoint"),
        "{err}"
    );
    assert!(!home.path("data").exists(), "the embedded sandbox was not opened");

    let out = home
        .command(&["import", "-q", "--profile", "lost", "--rate", "0", SAMPLE])
        .env("ORANGE_CONTACTS_ENDPOINT", &server.endpoint)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the environment's endpoint with the profile's token: {}",
        text(&out)
    );
}

/// `token_command` and `service_auth_command` run at start-up and their output is never echoed
/// (stdout, stderr, report, backup); `config show` runs neither; a failing command's error says
/// which command and its exit status, not what it printed.
#[test]
fn token_command_is_run_and_never_echoed() {
    let home = Home::new();
    let server = TestServer::start(&["--service-auth", "SVC:S3rvicePwd"]);
    let token = server.token("alice");
    let marker = home.path("token-command-ran");
    let script = home.script("token.sh", &format!("touch '{}'\nprintf '%s\\n' '{token}'", marker.display()));
    let auth = home.script("auth.sh", "echo SVC:S3rvicePwd");
    let failing = home.script("failing.sh", &format!("printf '%s\\n' '{token}'\nexit 3"));
    let backup = home.path("backup");
    home.write_config(&format!(
        "[profile.default]\nendpoint = \"{}\"\ntoken_command = [\"{}\"]\nservice_auth_command = [\"{}\"]\nrate = 0\n\
         [profile.default.export]\npath = \"{}\"\nreport = \"~/export.json\"\n\
         [profile.broken]\nendpoint = \"{}\"\ntoken_command = [\"{}\", \"--flag\"]\n",
        server.endpoint,
        script.display(),
        auth.display(),
        backup.display(),
        server.endpoint,
        failing.display()
    ));

    let out = home.run(&["config", "show"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!marker.exists(), "config show ran the token command");
    assert!(!text(&out).contains(&token) && !text(&out).contains("S3rvicePwd"), "{}", text(&out));

    let report = home.path("import.json");
    let out = home.run(&["import", "-v", "--report", report.to_str().unwrap(), SAMPLE]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(marker.exists(), "the token command was run");
    let out_export = home.run(&["export", "--quick", "-v"]);
    assert_eq!(out_export.status.code(), Some(0), "{}", text(&out_export));
    let mut written = vec![
        std::fs::read_to_string(&report).unwrap(),
        std::fs::read_to_string(home.path("export.json")).unwrap(),
    ];
    for entry in std::fs::read_dir(&backup).unwrap() {
        written.push(std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(written.len() > 3, "the profile's export path and report were written");
    for shown in [text(&out), text(&out_export)].iter().chain(&written) {
        assert!(!shown.contains(&token), "the token echoed: {shown}");
        assert!(!shown.contains("S3rvicePwd"), "the service password echoed: {shown}");
    }

    let out = home.run(&["import", "-q", "--profile", "broken", SAMPLE]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = common::stderr(&out);
    let command = format!("token command [\"{}\", \"--flag\"]", failing.display());
    assert!(err.contains(&command) && err.contains("exit status: 3"), "{err}");
    assert!(err.contains("token_command in profile 'broken'"), "{err}");
    assert!(!text(&out).contains(&token), "the failing command's output echoed: {}", text(&out));
}

/// A token command that never finishes (a password manager waiting for a passphrase nobody
/// types, from cron) is stopped after the time allowed, with an error saying what to do, instead
/// of hanging the run forever; the run reaches no account. A command that prints its token and
/// exits in time is unaffected by the limit.
#[test]
fn a_token_command_that_hangs_is_stopped_with_an_error() {
    let home = Home::new();
    let server = TestServer::start(&[]);
    let token = server.token("alice");
    let hangs = home.script("hangs.sh", &format!("printf '%s\\n' '{token}'\nexec sleep 600"));
    let quick = home.script("quick.sh", &format!("sleep 0.2\nprintf '%s\\n' '{token}'"));
    home.write_config(&format!(
        "[profile.default]\nendpoint = \"{0}\"\ntoken_command = [\"{1}\"]\nrate = 0\n\
         [profile.quick]\nendpoint = \"{0}\"\ntoken_command = [\"{2}\"]\nrate = 0\n",
        server.endpoint,
        hangs.display(),
        quick.display()
    ));
    // An import of the sample with the profile's token command given `seconds`.
    let import = |profile: &str, seconds: &str| {
        home.command(&["import", "-q", "--profile", profile, SAMPLE])
            .env("ORANGE_CONTACTS_SECRET_COMMAND_TIMEOUT", seconds)
            .output()
            .unwrap()
    };
    let started = std::time::Instant::now();
    let out = import("default", "1");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "the run waited for the command");
    let err = common::stderr(&out);
    assert!(err.contains(&format!("token command [\"{}\"]", hangs.display())), "{err}");
    assert!(err.contains("did not finish within 1 s") && err.contains("Unlock it first"), "{err}");
    assert!(!text(&out).contains(&token), "{}", text(&out));
    assert_eq!(server.stats()["requests"]["findcontactlist"], 0, "the run reached the account");

    let out = import("quick", "1");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = import("default", "soon");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        common::stderr(&out).contains("ORANGE_CONTACTS_SECRET_COMMAND_TIMEOUT=\"soon\""),
        "{}",
        text(&out)
    );
}

/// The export options a cron line would repeat come from the profile's export table; a flag
/// still wins for one run; `check` with no PATH checks the profile's backup.
#[test]
fn export_takes_its_path_and_options_from_the_profile_and_a_flag_wins() {
    let home = Home::new();
    let server = TestServer::start(&[]);
    common::import(&server, "alice", &[SAMPLE]);
    let backup = home.path("backup");
    home.write_config(&format!(
        "[profile.default]\nendpoint = \"{}\"\ntoken_file = \"{}\"\nrate = 0\n[profile.default.export]\npath = \"{}\"\nvcard = \"4.0\"\nmax_delete = 0\n",
        server.endpoint,
        server.token_file("alice").display(),
        backup.display()
    ));
    let versions = || -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(&backup)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "vcf"))
            .map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .find(|l| l.starts_with("VERSION:"))
                    .unwrap()
                    .to_string()
            })
            .collect();
        found.dedup();
        found
    };
    let out = home.run(&["export", "--quick", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(versions(), ["VERSION:4.0"]);
    let out = home.run(&["export", "--quick", "-q", "--vcard", "3.0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(versions(), ["VERSION:3.0"]);
    let out = home.run(&["check", "-q", "--format", "vcard"]);
    assert_eq!(out.status.code(), Some(0), "check of the profile's backup: {}", text(&out));

    // The profile's max_delete = 0: a card whose contact is gone is refused; a flag allows it.
    let card = std::fs::read_dir(&backup)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "vcf"))
        .unwrap();
    let card = std::fs::read_to_string(&card).unwrap();
    let uid = card.lines().find_map(|l| l.strip_prefix("UID:")).unwrap().to_string();
    std::fs::write(backup.join("orange-contacts-999999.vcf"), card.replace(&uid, "orange-contacts-999999"))
        .unwrap();
    let out = home.run(&["export", "--quick", "-q"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(common::stderr(&out).contains("--max-delete"), "{}", text(&out));
    let out = home.run(&["export", "--quick", "-q", "--max-delete", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!backup.join("orange-contacts-999999.vcf").exists());

    // Neither PATH nor a profile's path: a usage error.
    home.write_config("[profile.default]\n");
    let out = home.run(&["export", "-q"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(common::stderr(&out).contains("PATH"), "{}", text(&out));
}

/// The example file of the documentation is one the tool reads.
#[test]
fn the_documented_example_file_is_valid() {
    let home = Home::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.example.toml");
    let copy = home.path("config.toml");
    write_private(&copy, &std::fs::read_to_string(example).unwrap());
    for profile in ["default", "work"] {
        let out = home.run(&["config", "show", "--config", copy.to_str().unwrap(), "--profile", profile]);
        assert_eq!(out.status.code(), Some(0), "{profile}: {}", text(&out));
    }
}
