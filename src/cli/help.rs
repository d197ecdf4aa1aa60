//! The long help of each command (`--help`, and the man pages): examples, the exit codes, and
//! where the embedded sandbox keeps its data. The exit codes are decided in `commands`; the
//! README's table and `docs/backups.md` say the same.

/// Where the embedded sandbox lives (said by every command that may use or serve it).
macro_rules! data_dir {
    () => {
        "With no --endpoint, the embedded sandbox is used: an in-process sandbox server over
$ORANGE_CONTACTS_DATA_DIR/sandbox.db (by default the platform data folder, e.g.
~/.local/share/orange-contacts/sandbox.db), with the user 'local'.
"
    };
}

/// Where settings come from (said by every command that reads the configuration file).
macro_rules! config_file {
    () => {
        "Settings come from a flag, else its environment variable, else the profile of the
configuration file ($XDG_CONFIG_HOME/orange-contacts/config.toml, i.e.
~/.config/orange-contacts/config.toml, or --config FILE; the profile named by --profile or
$ORANGE_CONTACTS_PROFILE, else [profile.default]), else the built-in default. See docs/config.md;
`orange-contacts config show` prints what a command would use.
"
    };
}

/// The exit code every command shares.
macro_rules! exit_usage {
    () => {
        "  2  usage error: an unknown option or a value that makes no sense (nothing was done)
"
    };
}

/// After the exit codes: what a reader that stops early (`| head`) gets.
macro_rules! closed_output {
    () => {
        "A closed standard output (`| head`) ends the run quietly with 0.
"
    };
}

pub const MAIN: &str = concat!(
    "Examples:
  orange-contacts import phone.vcf contacts.csv --report report.json
  orange-contacts export ~/backup/contacts/
  orange-contacts check ~/backup/contacts/
  orange-contacts export --profile work -q            # endpoint, token and backup path from the profile
  orange-contacts config show --profile work
  orange-contacts serve --db /tmp/sandbox.db --listen 127.0.0.1:0
  orange-contacts completions bash > ~/.local/share/bash-completion/completions/orange-contacts
  orange-contacts man > orange-contacts.1

",
    data_dir!(),
    "
",
    config_file!(),
    "
Environment:
  ORANGE_CONTACTS_ENDPOINT      the PersonalContactsV1URL (--endpoint)
  ORANGE_CONTACTS_TOKEN         the user token (--token)
  ORANGE_CONTACTS_TOKEN_FILE    a file holding the user token (--token-file)
  ORANGE_CONTACTS_SERVICE_AUTH  SERVICE_ID:SERVICE_PWD (--service-auth)
  ORANGE_CONTACTS_CONFIG        the configuration file (--config)
  ORANGE_CONTACTS_PROFILE       the profile (--profile)
  ORANGE_CONTACTS_DATA_DIR      the embedded sandbox's folder

Exit codes:
  0  success
  1  fatal: endpoint unreachable or answering garbage, token refused, privacy refusal, unreadable
     file, a token command that failed, export guard tripped
",
    exit_usage!(),
    "  3  partial: some records invalid or failed (all in the report); check found differences
  130  interrupted: Ctrl-C stopped an import cleanly; run it again to continue
",
    closed_output!()
);

pub const IMPORT: &str = concat!(
    "Examples:
  orange-contacts import phone.vcf                      # into the embedded sandbox
  orange-contacts import --dry-run contacts.csv         # the plan, nothing written
  orange-contacts import --endpoint URL --token-file ~/.orange-token phone.vcf --report report.json
  orange-contacts import --profile work phone.vcf       # endpoint and token from the profile

",
    data_dir!(),
    config_file!(),
    "Running the same import twice creates nothing the second time (every record 'unchanged').
Progress: a bar on a terminal; otherwise a line every --stats interval (1m; 0 for none; -q none).

Exit codes:
  0  every record created, merged, unchanged or skipped
  1  fatal: endpoint unreachable or answering garbage, token refused, privacy refusal (the consent
     URL is printed), unreadable file
",
    exit_usage!(),
    "  3  partial: some records invalid or failed (all listed in the report)
  130  interrupted: Ctrl-C stopped the run cleanly (the report lists the records not done as
       not_attempted); the same command again continues without duplicates
",
    closed_output!()
);

pub const INSPECT: &str = concat!(
    "Examples:
  orange-contacts inspect phone.vcf
  orange-contacts inspect --report - contacts.csv | jq '.records[] | select(.dropped != [])'

Reads no network and no sandbox (ORANGE_CONTACTS_DATA_DIR is not used). The profile's `region`
applies, as for import (--config, --profile; see docs/config.md).

Exit codes:
  0  every record readable and mapped
  1  fatal: an unreadable file
",
    exit_usage!(),
    "  3  some records invalid (listed on stderr and in the report)
",
    closed_output!()
);

pub const EXPORT: &str = concat!(
    "Examples:
  orange-contacts export ~/backup/contacts.vcf             # one file, every card
  orange-contacts export ~/backup/contacts/                # a vdir: one .vcf per contact
  orange-contacts export - | gzip > contacts.vcf.gz         # one file to standard output
  orange-contacts export --endpoint URL --token-file ~/.orange-token ~/backup/contacts/ -q
  orange-contacts export --profile work --quick -q        # PATH, endpoint and token from the profile

",
    data_dir!(),
    config_file!(),
    "
Exit codes:
  0  every contact listed and written
  1  fatal (nothing written), or refused by a safety guard (--max-delete, empty listing)
",
    exit_usage!(),
    "  3  partial: listing incomplete or some contacts unreadable (nothing deleted)
",
    closed_output!()
);

pub const CHECK: &str = concat!(
    "Examples:
  orange-contacts check ~/backup/contacts.vcf
  orange-contacts check -q ~/backup/contacts/               # differences only
  orange-contacts check phone.vcf --report - | jq .summary

Listing: = same, + only local, - only in the account, * differ, ! unreadable. With no PATH, the
profile's export path is checked.

",
    data_dir!(),
    config_file!(),
    "
Exit codes:
  0  in sync (only '=')
  1  fatal: endpoint unreachable or answering garbage, token refused, privacy refusal
",
    exit_usage!(),
    "  3  differences (+ - * !) or an incomplete listing
",
    closed_output!()
);

pub const SERVE: &str = concat!(
    "Examples:
  orange-contacts serve --db /tmp/sandbox.db --listen 127.0.0.1:0
  orange-contacts serve --db \"$ORANGE_CONTACTS_DATA_DIR/sandbox.db\"   # the embedded sandbox's data
  orange-contacts serve --db /tmp/flaky.db --fail-rate 0.2 --fault-seed 7 --page-size 50

The first line of standard output is the endpoint URL (http://HOST:PORT/PersonalContacts/V1),
flushed at once; everything else goes to stderr. The embedded sandbox of the other commands is
$ORANGE_CONTACTS_DATA_DIR/sandbox.db: serving that file shows what they wrote.

Exit codes:
  0  stopped by SIGTERM or Ctrl-C
  1  fatal: cannot listen on the address, or cannot open the database
",
    exit_usage!(),
    closed_output!()
);

pub const SANDBOX: &str = concat!(
    "Examples:
  orange-contacts sandbox token --db /tmp/sandbox.db --user alice > /tmp/token
  orange-contacts sandbox seed --db /tmp/sandbox.db --user alice contacts.vcf
  orange-contacts sandbox deny --db /tmp/sandbox.db --user alice

The embedded sandbox of the other commands is $ORANGE_CONTACTS_DATA_DIR/sandbox.db, user 'local'.

Exit codes:
  0  done
  1  fatal: cannot open the database or read the file
",
    exit_usage!(),
    "  3  seed: some records skipped (listed on stderr)
",
    closed_output!()
);

pub const COMPLETIONS: &str = concat!(
    "Examples:
  orange-contacts completions bash > ~/.local/share/bash-completion/completions/orange-contacts
  orange-contacts completions zsh > ~/.zfunc/_orange-contacts
  orange-contacts completions fish > ~/.config/fish/completions/orange-contacts.fish

Exit codes:
  0  the script was printed
  1  it could not be written
",
    exit_usage!(),
    closed_output!()
);

pub const MAN: &str = concat!(
    "Examples:
  orange-contacts man > ~/.local/share/man/man1/orange-contacts.1
  orange-contacts man import > ~/.local/share/man/man1/orange-contacts-import.1
  orange-contacts man | man -l -

Exit codes:
  0  the page was printed
  1  it could not be written
",
    exit_usage!(),
    closed_output!()
);

pub const CONFIG: &str = concat!(
    "Examples:
  orange-contacts config show                            # the default profile, if any
  orange-contacts config show --profile work
  orange-contacts config show --config ./test.toml --rate 2

Each line is `name: value (origin)`: the origin is the flag, the environment variable, the key of
the profile, or `default`. Nothing is connected, no token file is read and no token command is
run; a token is never shown (`[REDACTED]`, or the file or command it comes from).

",
    config_file!(),
    "
",
    data_dir!(),
    "
Exit codes:
  0  the settings were printed
  1  the configuration file could not be read
",
    exit_usage!(),
    "     (also: an unknown key or profile, a bad value, a token without an endpoint)
",
    closed_output!()
);
