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
    /// Play Fliggy against a deployment (local or AWS) and report every check.
    Sim(SimArgs),
    /// The operator's back office: catalogue, outbox, cases, notices, refund.
    #[command(flatten)]
    Admin(busgate_cli::admin::cli::AdminCli),
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

#[derive(Args)]
struct SimArgs {
    /// Base URL of the deployment (local mode, or the stack's ApiBaseUrl).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base_url: String,
    /// The Qimen app secret the deployment verifies with.
    #[arg(long, env = "BUSGATE_QIMEN_SECRET", default_value = busgate_cli::local::DEMO_QIMEN_SECRET, hide_env_values = true)]
    secret: String,
    /// A Fenbeitong token of the deployment (without one the notice check is skipped, except
    /// against local mode, where the demo token is tried).
    #[arg(long)]
    fenbeitong_token: Option<String>,
    /// How long to wait for an asynchronous issue or refund to be decided.
    #[arg(long, default_value = "30")]
    async_wait_secs: u64,
    /// A check that could not run (skipped) counts as a failure.
    #[arg(long)]
    strict: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn sim(args: SimArgs) -> Result<(), String> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let report = rt.block_on(busgate_cli::sim::run(busgate_cli::sim::SimOptions {
        base_url: args.base_url,
        qimen_secret: args.secret,
        fenbeitong_token: args.fenbeitong_token,
        wait_for_async: std::time::Duration::from_secs(args.async_wait_secs),
        // The method names the deployment was configured with (BUSGATE_METHOD_<PATH>).
        methods: busgate_cli::sim::SimOptions::methods_from_env(&|k| std::env::var(k).ok()),
        strict: args.strict,
    }));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    } else {
        print!("{}", report.table());
    }
    if report.passed() {
        Ok(())
    } else {
        let (failed, skipped) = (report.count(busgate_cli::sim::Outcome::Failed), report.count(busgate_cli::sim::Outcome::Skipped));
        Err(if failed == 0 { format!("{skipped} check(s) skipped (--strict)") } else { format!("{failed} check(s) failed") })
    }
}

fn init_logging() {
    use std::io::IsTerminal;
    busgate_cli::local::init_logging(std::io::stderr, std::io::stderr().is_terminal());
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
        Command::Sim(args) => sim(args),
        Command::Local(args) => tokio::runtime::Runtime::new().map_err(|e| e.to_string()).and_then(|rt| rt.block_on(local(args))),
        Command::Admin(cmd) => {
            if std::env::var_os("BUSGATE_LOG").is_some() {
                init_logging();
            }
            busgate_cli::admin::cli::run(cmd)
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
