//! `busgate`: local mode, signing tools and the operator's back office.

use clap::{Parser, Subcommand};

mod sign;

#[derive(Parser)]
#[command(name = "busgate", version, about = "Busgate: a custom bus operator's gateway to Fliggy")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute the signatures Qimen and TOP expect (for debugging a mismatch).
    #[command(subcommand)]
    Sign(sign::SignCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign(cmd) => sign::run(cmd),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
