//! `busgate`: local mode, signing tools and the operator's back office.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod sign;

#[derive(Parser)]
#[command(name = "busgate", version, about = "Busgate: a custom bus operator's gateway to Fliggy")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every interface locally on an embedded store, with demo data.
    Local(LocalArgs),
    /// Compute the signatures Qimen and TOP expect (for debugging a mismatch).
    #[command(subcommand)]
    Sign(sign::SignCommand),
}

#[derive(Args)]
struct LocalArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "BUSGATE_ADDR")]
    addr: SocketAddr,
    /// Folder of the embedded store (kept across restarts).
    #[arg(long, default_value = ".busgate", env = "BUSGATE_DATA")]
    data: PathBuf,
    /// Do not load the demo operator into an empty store.
    #[arg(long)]
    no_demo: bool,
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("BUSGATE_LOG").unwrap_or_else(|_| EnvFilter::new("warn,busgate=info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn local(args: LocalArgs) -> Result<(), String> {
    init_logging();
    let env = |k: &str| std::env::var(k).ok();
    let opts = busgate_cli::local::LocalOptions {
        addr: args.addr,
        data: args.data.clone(),
        demo: !args.no_demo,
        sweep_every: std::time::Duration::from_secs(60),
    };
    let running = busgate_cli::local::start(opts, &env).await?;
    println!("{}", busgate_cli::local::banner(&running, &args.data));
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    running.stop();
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign(cmd) => sign::run(cmd),
        Command::Local(args) => tokio::runtime::Runtime::new().map_err(|e| e.to_string()).and_then(|rt| rt.block_on(local(args))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
