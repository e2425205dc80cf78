//! The back office (`busgate_backoffice`: its commands, run by the CLI, local mode's
//! `/_local/admin` and the console) and the CLI's subcommands for it.

pub use busgate_backoffice::*;

pub mod cli;
