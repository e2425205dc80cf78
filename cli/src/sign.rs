//! `busgate sign top|spi` (being written).

#[derive(clap::Subcommand)]
pub enum SignCommand {}

pub fn run(cmd: SignCommand) -> Result<(), String> {
    match cmd {}
}
