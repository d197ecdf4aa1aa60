use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = orange_contacts::cli::Cli::parse();
    orange_contacts::commands::run(cli)
}
