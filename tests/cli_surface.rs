//! What a command-line tool is expected to ship (issue 11, "Fit people's habits"), tested on the
//! real binary: usage errors caught by clap's value parsers (exit 2, before any work, secrets never
//! echoed), shell completions and man pages, a help sentence for every option and examples and exit
//! codes for every command, `--version` with the commit, `serve`'s first line being exactly the
//! endpoint URL, and a closed standard output (`| head`) ending quietly with 0.

use crate::common;

use std::io::{BufRead, BufReader, Read as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory as _;
use common::TestServer;
use orange_contacts::cli::Cli;

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/android-2.1.vcf");

/// `orange-contacts` with the embedded sandbox in `data_dir` and no connection settings from the
/// environment.
fn tool(data_dir: &Path) -> Command {
    let mut c = common::command();
    c.env("ORANGE_CONTACTS_DATA_DIR", data_dir);
    c
}

/// Runs `cmd` to its end, killed after 30 s (a value accepted by mistake may start a server that
/// never stops): the output, with `status.code()` `None` when killed.
fn run_bounded(mut cmd: Command) -> Output {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn usage_errors_exit_2_from_clap_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let db = dir.path().join("serve.db");
    let db = db.to_str().unwrap();
    let out = dir.path().join("backup.vcf");
    let out = out.to_str().unwrap();
    let serve = |extra: &[&'static str]| {
        let mut args = vec!["serve", "--db", db, "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        args
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["import", "--rate", "-1", SAMPLE], "--rate"),
        (vec!["import", "--rate=-1", SAMPLE], "--rate"),
        (vec!["import", "--rate", "NaN", SAMPLE], "--rate"),
        (vec!["import", "--rate", "1e-300", SAMPLE], "--rate"),
        (vec!["import", "--concurrency", "0", SAMPLE], "--concurrency"),
        (vec!["import", "--concurrency", "-1", SAMPLE], "--concurrency"),
        (vec!["check", "--concurrency", "100000000", SAMPLE], "--concurrency"),
        (vec!["import", "--timeout", "0", SAMPLE], "--timeout"),
        (vec!["import", "--timeout", "-5", SAMPLE], "--timeout"),
        (vec!["import", "--timeout", "NaN", SAMPLE], "--timeout"),
        (vec!["export", "--timeout", "1e30", out], "--timeout"),
        (vec!["import", "--region", "XX", SAMPLE], "--region"),
        (vec!["import", "--region", "FRA", SAMPLE], "--region"),
        (vec!["inspect", "--region", "ZZ", SAMPLE], "--region"),
        (vec!["check", "--region", "33", SAMPLE], "--region"),
        (
            vec!["import", "--endpoint", "127.0.0.1:8080/PersonalContacts/V1", "--token", "tok", SAMPLE],
            "--endpoint",
        ),
        (
            vec!["export", "--endpoint", "localhost:8080/PersonalContacts/V1", "--token", "tok", out],
            "--endpoint",
        ),
        (vec!["check", "--endpoint", "ftp://h/PersonalContacts/V1", "--token", "tok", SAMPLE], "--endpoint"),
        (vec!["import", "--service-auth", "no-colon", SAMPLE], "--service-auth"),
        (vec!["check", "--service-auth", " :pwd", SAMPLE], "--service-auth"),
        (serve(&["--fail-rate", "1.5"]), "--fail-rate"),
        (serve(&["--fail-rate", "-0.1"]), "--fail-rate"),
        (serve(&["--fail-rate", "NaN"]), "--fail-rate"),
        (serve(&["--not-found-rate", "2"]), "--not-found-rate"),
        (serve(&["--page-size", "0"]), "--page-size"),
        (serve(&["--max-rps", "0"]), "--max-rps"),
        (serve(&["--service-auth", "no-colon"]), "--service-auth"),
        (vec!["man", "no-such-command"], "COMMAND"),
    ];
    let mut failures = Vec::new();
    for (args, option) in &cases {
        let mut cmd = tool(&data);
        cmd.args(args);
        let output = run_bounded(cmd);
        let stderr = text(&output.stderr);
        // clap's message, naming the option: the value parser refused it, not the command later.
        let refused_by_clap = output.status.code() == Some(2)
            && stderr.starts_with("error: invalid value")
            && stderr.contains(option)
            && output.stdout.is_empty();
        let touched = [data.join("sandbox.db"), db.into(), out.into()].into_iter().filter(|p| p.exists());
        let touched: Vec<_> = touched.inspect(|p| std::fs::remove_file(p).unwrap()).collect();
        if !refused_by_clap || !touched.is_empty() {
            failures.push(format!("{args:?}: exit {:?}, wrote {touched:?}: {stderr}", output.status.code()));
        }
    }
    assert!(failures.is_empty(), "not usage errors before any work:\n{}", failures.join("\n"));
    // What the rules let through still works: a region in lower case, `--rate 0` (unlimited).
    let mut cmd = tool(&data);
    cmd.args(["inspect", "-q", "--region", "be", SAMPLE]);
    let output = run_bounded(cmd);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let mut cmd = tool(&data);
    cmd.args(["import", "-q", "--dry-run", "--rate", "0", "--timeout", "0.5", "--concurrency", "1", SAMPLE]);
    let output = run_bounded(cmd);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

#[test]
fn malformed_service_auth_and_endpoint_errors_never_show_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.db");
    let secret = "pa55wordWithoutColon";
    let endpoint = "ftp://h/PersonalContacts/V1?token=B64tokenSecret";
    let mut runs = Vec::new();
    let mut flag = tool(dir.path());
    flag.args(["import", "--service-auth", secret, SAMPLE]);
    runs.push(("--service-auth", flag));
    let mut env = tool(dir.path());
    env.env("ORANGE_CONTACTS_SERVICE_AUTH", secret).args(["check", SAMPLE]);
    runs.push(("ORANGE_CONTACTS_SERVICE_AUTH", env));
    let mut serve = tool(dir.path());
    serve.args(["serve", "--listen", "127.0.0.1:0", "--service-auth", secret, "--db"]).arg(&db);
    runs.push(("serve --service-auth", serve));
    let mut url = tool(dir.path());
    url.args(["import", "--token", "tok", "--endpoint", endpoint, SAMPLE]);
    runs.push(("--endpoint", url));
    for (what, cmd) in runs {
        let output = run_bounded(cmd);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains("--service-auth") || stderr.contains("--endpoint"), "{what}: {stderr}");
        assert!(!stderr.contains(secret) && !stderr.contains("B64tokenSecret"), "{what} echoed: {stderr}");
    }
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    let commands: Vec<String> = Cli::command().get_subcommands().map(|c| c.get_name().to_string()).collect();
    assert!(commands.len() >= 8, "{commands:?}");
    for shell in ["bash", "zsh", "fish"] {
        let output = tool(dir.path()).args(["completions", shell]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{shell}: {}", text(&output.stderr));
        let script = text(&output.stdout);
        for name in &commands {
            assert!(script.contains(name.as_str()), "{shell} completion lacks the command {name}");
        }
        for flag in ["endpoint", "token-file", "on-duplicate", "max-delete", "fail-rate"] {
            assert!(script.contains(flag), "{shell} completion lacks --{flag}");
        }
        let file = dir.path().join(format!("completion.{shell}"));
        std::fs::write(&file, &output.stdout).unwrap();
        // Each shell checks its own script's syntax, where it is installed (bash always is).
        let checked = Command::new(shell).arg("-n").arg(&file).output();
        match checked {
            Ok(o) => assert!(o.status.success(), "{shell} -n: {}", text(&o.stderr)),
            Err(_) => assert_ne!(shell, "bash", "bash is needed"),
        }
    }
    let output = tool(dir.path()).args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "an unknown shell is a usage error");
}

#[test]
fn man_pages_of_the_tool_and_of_each_command() {
    let dir = tempfile::tempdir().unwrap();
    let output = tool(dir.path()).arg("man").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let page = text(&output.stdout);
    assert!(page.contains(".TH orange-contacts 1"), "{page}");
    // roff writes a hyphen as `\-`.
    for name in Cli::command().get_subcommands().map(|c| c.get_name().to_string()) {
        assert!(page.contains(&format!("orange\\-contacts\\-{name}(1)")), "the page lacks {name}: {page}");
    }
    assert!(page.contains("Exit codes:") && page.contains("ORANGE_CONTACTS_DATA_DIR"), "{page}");

    let output = tool(dir.path()).args(["man", "import"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let page = text(&output.stdout);
    assert!(page.contains(".TH orange-contacts-import 1"), "{page}");
    for option in ["\\-\\-on\\-duplicate", "\\-\\-endpoint", "\\-\\-region", "Exit codes:"] {
        assert!(page.contains(option), "orange-contacts-import(1) lacks {option}: {page}");
    }
    let output = tool(dir.path()).args(["man", "sandbox-token"]).output().unwrap();
    assert!(text(&output.stdout).contains(".TH orange-contacts-sandbox-token 1"));
}

/// Every command below `cmd` (itself included), the generated `help` commands aside.
fn all_commands(cmd: &clap::Command) -> Vec<clap::Command> {
    let mut found = vec![cmd.clone()];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        found.extend(all_commands(sub));
    }
    found
}

#[test]
fn every_option_has_help_and_every_command_examples_and_exit_codes() {
    let mut cli = Cli::command();
    cli.build();
    let mut missing = Vec::new();
    for cmd in all_commands(&cli) {
        for arg in cmd.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
            let help = arg.get_help().or(arg.get_long_help()).map(|h| h.to_string()).unwrap_or_default();
            if help.trim().is_empty() {
                missing.push(format!("{} {}", cmd.get_name(), arg.get_id()));
            }
        }
        let long = cmd.get_after_long_help().map(|h| h.to_string()).unwrap_or_default();
        assert!(
            long.contains("Examples:\n  orange-contacts "),
            "{}: no examples in its long help",
            cmd.get_name()
        );
        assert!(long.contains("Exit codes:\n  0 "), "{}: no exit codes in its long help", cmd.get_name());
        assert!(long.contains("  2  usage error"), "{}: exit code 2 not said", cmd.get_name());
        // Every command that may use or serve the embedded sandbox says where it lives.
        if !matches!(cmd.get_name(), "completions" | "man") {
            assert!(
                long.contains("ORANGE_CONTACTS_DATA_DIR"),
                "{}: ORANGE_CONTACTS_DATA_DIR not said",
                cmd.get_name()
            );
        }
    }
    assert!(missing.is_empty(), "options without a help sentence: {missing:?}");

    // And the real binary shows it.
    let dir = tempfile::tempdir().unwrap();
    for name in cli.get_subcommands().map(|c| c.get_name().to_string()).filter(|n| n != "help") {
        let output = tool(dir.path()).args([name.as_str(), "--help"]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{name} --help");
        assert!(text(&output.stdout).contains("Exit codes:"), "{name} --help: {}", text(&output.stdout));
    }
}

#[test]
fn option_names_stay_as_scripts_know_them() {
    let cli = Cli::command();
    let contract: &[(&str, &[&str])] = &[
        (
            "import",
            &[
                "format",
                "on-duplicate",
                "dry-run",
                "report",
                "region",
                "endpoint",
                "token",
                "token-file",
                "service-auth",
                "rate",
                "concurrency",
                "timeout",
                "retries",
                "quiet",
                "verbose",
            ],
        ),
        ("inspect", &["format", "report", "region", "quiet", "verbose"]),
        (
            "export",
            &["layout", "vcard", "no-photos", "max-delete", "quick", "report", "endpoint", "token-file"],
        ),
        ("check", &["format", "report", "region", "endpoint", "token-file", "quiet"]),
        (
            "serve",
            &[
                "db",
                "listen",
                "page-size",
                "no-paging",
                "max-rps",
                "fail-rate",
                "latency-ms",
                "service-auth",
                "max-picture-bytes",
                "fault-seed",
            ],
        ),
    ];
    for (command, options) in contract {
        let cmd = cli.find_subcommand(command).unwrap_or_else(|| panic!("no command {command}"));
        let longs: Vec<&str> = cmd.get_arguments().filter_map(|a| a.get_long()).collect();
        for option in *options {
            assert!(longs.contains(option), "{command} lost --{option}: {longs:?}");
        }
    }
    for sandbox in ["token", "seed", "deny", "allow"] {
        let cmd = cli.find_subcommand("sandbox").and_then(|s| s.find_subcommand(sandbox)).unwrap();
        let longs: Vec<&str> = cmd.get_arguments().filter_map(|a| a.get_long()).collect();
        assert!(longs.contains(&"db") && longs.contains(&"user"), "sandbox {sandbox}: {longs:?}");
    }
}

#[test]
fn version_says_the_version_and_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let output = tool(dir.path()).arg("--version").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let shown = text(&output.stdout);
    assert!(shown.starts_with(&format!("orange-contacts {} (commit ", env!("CARGO_PKG_VERSION"))), "{shown}");
    // The commit of this checkout, or `unknown` where git cannot tell (a copy without .git).
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| text(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    assert_eq!(shown.trim_end(), format!("orange-contacts {} (commit {head})", env!("CARGO_PKG_VERSION")));
}

#[test]
fn serve_prints_exactly_the_endpoint_url_as_its_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tool(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("sandbox.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The sentence is written right after the URL; what stderr holds by the time we stop the server.
    std::thread::sleep(Duration::from_millis(200));
    let _ = child.kill();
    let mut said = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut said);
    let _ = child.wait();
    let line = first.strip_suffix('\n').expect("a whole line");
    let url = url::Url::parse(line).unwrap_or_else(|e| panic!("first line {line:?}: {e}"));
    assert_eq!(url.as_str(), line, "nothing but the URL");
    assert_eq!(
        (url.scheme(), url.host_str(), url.path()),
        ("http", Some("127.0.0.1"), "/PersonalContacts/V1")
    );
    assert!(url.port().is_some_and(|p| p != 0), "{line}");
    assert!(said.contains("listening on") && said.contains(line), "stderr: {said}");
}

/// A pipe whose reader is already gone: every write to it fails with EPIPE, as when `head` has
/// exited.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

#[test]
fn a_closed_stdout_ends_quietly_with_0() {
    let server = TestServer::start(&[]);
    let data = tempfile::tempdir().unwrap();
    let db = server.db.to_str().unwrap().to_string();
    let mut runs: Vec<(&str, Command)> = Vec::new();
    let mut check = server.cli("alice", "check", &[SAMPLE]);
    check.env("ORANGE_CONTACTS_DATA_DIR", data.path());
    runs.push(("check FILE | head", check));
    let mut inspect = tool(data.path());
    inspect.args(["inspect", "-q", "--report", "-", SAMPLE]);
    runs.push(("inspect --report - | head", inspect));
    // A report larger than the writer's buffer: the failing write is serde_json's, not the flush.
    let mut big = tool(data.path());
    big.args(["inspect", "-q", "--report", "-"])
        .arg(common::corpus("vcard30/folkerkinzel_largefile_1000_cards.vcf"));
    runs.push(("inspect --report - (1000 records) | head", big));
    let mut dry_run = tool(data.path());
    dry_run.args(["import", "-q", "--dry-run", SAMPLE]);
    runs.push(("import --dry-run | head", dry_run));
    let mut token = tool(data.path());
    token.args(["sandbox", "token", "--db", &db, "--user", "alice"]);
    runs.push(("sandbox token | head -0", token));
    for (name, args) in [
        ("completions bash | head -1", &["completions", "bash"][..]),
        ("man | head", &["man"][..]),
        ("--version | head -0", &["--version"][..]),
        ("--help | head -0", &["--help"][..]),
    ] {
        let mut cmd = tool(data.path());
        cmd.args(args);
        runs.push((name, cmd));
    }
    let mut failures = Vec::new();
    for (name, mut cmd) in runs {
        let output = cmd.stdin(Stdio::null()).stdout(closed_pipe()).stderr(Stdio::piped()).output().unwrap();
        let stderr = text(&output.stderr);
        if output.status.code() != Some(0) || stderr.contains("error") || stderr.contains("panicked") {
            failures.push(format!("{name}: exit {:?}: {stderr}", output.status.code()));
        }
    }
    assert!(failures.is_empty(), "not quiet with 0:\n{}", failures.join("\n"));
}
