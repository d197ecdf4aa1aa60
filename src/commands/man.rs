//! `orange-contacts man [COMMAND]`: the man page (roff) of the tool, or of one command
//! (`man import` is `orange-contacts-import(1)`, as the tool's page refers to it), generated from the clap
//! definitions: name, synopsis, description, options, commands, then the long help's examples and
//! exit codes kept as written (no filling), and the version.

use std::io::Write as _;

use clap::CommandFactory as _;
use roff::{roman, Roff};

use crate::cli::{man_pages, Cli, ManArgs, VERSION};
use crate::commands::EXIT_OK;

pub fn run(args: ManArgs) -> anyhow::Result<u8> {
    let cmd = match &args.command {
        None => {
            let mut cli = Cli::command().disable_help_subcommand(true);
            cli.build();
            cli
        }
        // The name was checked by clap (`ManArgs`).
        Some(name) => man_pages().into_iter().find(|(n, _)| n == name).expect("a page of the tool").1,
    };
    let page = render(cmd)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&page)?;
    out.flush()?;
    Ok(EXIT_OK)
}

fn render(cmd: clap::Command) -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    let has_options = cmd.get_arguments().any(|a| !a.is_hide_set());
    let has_commands = cmd.get_subcommands().any(|c| !c.is_hide_set());
    let after_help = cmd.get_after_long_help().map(|h| h.to_string());
    let man = clap_mangen::Man::new(cmd);
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    if has_options {
        man.render_options_section(&mut page)?;
    }
    if has_commands {
        man.render_subcommands_section(&mut page)?;
    }
    let mut roff = Roff::new();
    if let Some(text) = after_help {
        // `.nf`: example lines and tables stay as they are in `--help`.
        roff.control("SH", ["EXAMPLES AND EXIT CODES"]).control("nf", []);
        for line in text.lines() {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
    }
    roff.control("SH", ["VERSION"]).text([roman(VERSION)]);
    roff.to_writer(&mut page)?;
    Ok(page)
}
