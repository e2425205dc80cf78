//! `busgate-bench`: Busgate's benchmarks, measured in one run on one machine, each against a
//! hello-world baseline measured in the same run (so the ratios are what to compare between
//! machines, not the absolute numbers).
//!
//! 1. Handler latency per interface, in-process: `busgate_edge::handle` on a signed request
//!    (in-memory store with the demo catalogue), with the Lambda glue's Request → Inbound →
//!    Outbound → Response conversion, vs a hello-world handler doing the same conversion.
//! 2. Local mode requests/s over loopback (seat query, create order) with a bounded number of
//!    concurrent connections, vs a bare hyper hello-world server in the same process.
//! 3. Process start to ready: a function binary (`target/release/seats`) against a fake
//!    Lambda Runtime API, spawn → first `GET …/invocation/next`, vs a hello-world lambda_http
//!    binary (`target/release/hello-lambda`, this crate's second binary).
//! 4. Store calls (= DynamoDB calls) and queue sends (= SQS calls) per request, per interface.
//! 5. The size of each release binary (and of `target/lambda/*/bootstrap` when packaged).
//!
//! Run: `cargo build --release -p busgate-bench -p seats && cargo run --release -p busgate-bench`
//! (`--help` for the knobs). Loopback only; every phase is bounded in count and time.

mod lambda_start;
mod latency;
mod throughput;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Knobs (all bounded).
#[derive(Debug, Clone)]
pub struct Options {
    /// Timed calls per interface in the latency phase (order interfaces: per chain).
    pub iterations: usize,
    /// Calls of the hello-world handler.
    pub hello_iterations: usize,
    /// Duration of each throughput measurement.
    pub duration: Duration,
    /// Concurrent client connections in the throughput phase.
    pub concurrency: usize,
    /// Process starts per binary.
    pub starts: usize,
    /// The Cargo target directory (`lambda/*/bootstrap` is looked for there).
    pub target_dir: PathBuf,
    /// Where the binaries are (`<target>/release` unless `--bin-dir`).
    pub bin_dir: PathBuf,
    /// The function binary whose start is measured.
    pub function: String,
    pub skip: Vec<String>,
}

fn usage() -> ! {
    eprintln!(
        "busgate-bench [--iterations N] [--secs S] [--concurrency C] [--starts N] [--target-dir DIR] [--bin-dir DIR] [--function NAME] [--skip latency|throughput|start|sizes]...\n\
         Defaults: 2000 iterations, 3 s per throughput run, 32 connections, 15 starts, target/ of the workspace, binaries in <target>/release, function seats."
    );
    std::process::exit(2)
}

fn options() -> Options {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("bench/ is in the workspace").to_path_buf();
    let mut o = Options {
        iterations: 2000,
        hello_iterations: 20_000,
        duration: Duration::from_secs(3),
        concurrency: 32,
        starts: 15,
        target_dir: std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target")),
        bin_dir: PathBuf::new(),
        function: "seats".into(),
        skip: Vec::new(),
    };
    let mut bin_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--iterations" => o.iterations = value().parse().unwrap_or_else(|_| usage()),
            "--secs" => o.duration = Duration::from_secs_f64(value().parse().unwrap_or_else(|_| usage())),
            "--concurrency" => o.concurrency = value().parse().unwrap_or_else(|_| usage()),
            "--starts" => o.starts = value().parse().unwrap_or_else(|_| usage()),
            "--target-dir" => o.target_dir = PathBuf::from(value()),
            "--bin-dir" => bin_dir = Some(PathBuf::from(value())),
            "--function" => o.function = value(),
            "--skip" => o.skip.push(value()),
            _ => usage(),
        }
    }
    o.bin_dir = bin_dir.unwrap_or_else(|| o.target_dir.join("release"));
    o.iterations = o.iterations.clamp(10, 100_000);
    o.hello_iterations = (o.iterations * 10).clamp(1000, 200_000);
    o.duration = o.duration.clamp(Duration::from_millis(200), Duration::from_secs(30));
    o.concurrency = o.concurrency.clamp(1, 256);
    o.starts = o.starts.clamp(1, 100);
    o
}

/// Summary statistics of durations, in microseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub n: usize,
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
    pub mean: f64,
}

impl Stats {
    pub fn of(samples: &mut [f64]) -> Stats {
        if samples.is_empty() {
            return Stats::default();
        }
        samples.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Stats { n: samples.len(), median: at(0.5), p90: at(0.9), p99: at(0.99), mean: samples.iter().sum::<f64>() / samples.len() as f64 }
    }
}

fn first_line(path: &str, prefix: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()?.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.split_once(':')).map(|(_, v)| v.trim().to_string())
}

/// The machine, as the README records it.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = first_line("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown CPU".into());
    let mem = first_line("/proc/meminfo", "MemTotal").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default();
    let rustc = std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "rustc not found".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_default();
    format!(
        "{cpus} CPUs (nproc), {model}; memory {mem}; Linux {kernel}; load average at start {load}; {rustc}; bench built {}",
        if cfg!(debug_assertions) { "in DEBUG (numbers are not representative: use --release)" } else { "release" }
    )
}

fn main() {
    let opts = options();
    println!("# Busgate benchmarks\n");
    println!("Measured {} in one run of `busgate-bench`.\n", chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"));
    println!("Machine: {}\n", machine());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let skip = |s: &str| opts.skip.iter().any(|x| x == s);
    if !skip("latency") {
        rt.block_on(latency::run(&opts));
    }
    if !skip("throughput") {
        rt.block_on(throughput::run(&opts));
    }
    if !skip("start") {
        rt.block_on(lambda_start::run(&opts));
    }
    if !skip("sizes") {
        sizes(&opts);
    }
}

/// The machine of an ELF executable (`e_machine`), if it is one.
fn elf_arch(path: &Path) -> Option<&'static str> {
    use std::io::Read;
    let mut head = [0u8; 20];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    if &head[..4] != b"\x7fELF" {
        return None;
    }
    Some(match u16::from_le_bytes([head[18], head[19]]) {
        0x3E => "x86_64",
        0xB7 => "aarch64",
        _ => "other ELF",
    })
}

fn human(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// 5. Release binary sizes.
fn sizes(opts: &Options) {
    println!("## 5. Release binary sizes\n");
    let functions_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    let mut names: Vec<String> = std::fs::read_dir(&functions_dir)
        .map(|d| d.filter_map(|e| e.ok()).filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    let mut rows = Vec::new();
    let release = &opts.bin_dir;
    for name in names.iter().map(String::as_str).chain(["busgate", "hello-lambda", "busgate-bench"]) {
        let host = std::fs::metadata(release.join(name)).ok().map(|m| m.len());
        let bootstrap = std::fs::metadata(opts.target_dir.join("lambda").join(name).join("bootstrap")).ok().map(|m| m.len());
        rows.push((name.to_string(), host, bootstrap));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let shown_dir = opts.bin_dir.strip_prefix(workspace).unwrap_or(&opts.bin_dir).display().to_string();
    let lambda_arch = names.iter().find_map(|n| elf_arch(&opts.target_dir.join("lambda").join(n).join("bootstrap"))).unwrap_or("packaged");
    let host_arch = names.iter().find_map(|n| elf_arch(&release.join(n))).unwrap_or(std::env::consts::ARCH);
    println!("| binary | {shown_dir}/<name> ({host_arch}) | target/lambda/<name>/bootstrap ({lambda_arch}) |");
    println!("|---|---:|---:|");
    let show = |v: Option<u64>| v.map(|b| format!("{} ({b} B)", human(b))).unwrap_or_else(|| "not built".into());
    for (name, host, bootstrap) in &rows {
        println!("| {name} | {} | {} |", show(*host), show(*bootstrap));
    }
    let built: Vec<u64> = rows.iter().filter(|(n, _, _)| names.contains(n)).filter_map(|(_, h, _)| *h).collect();
    if !built.is_empty() {
        println!(
            "\n{} function binaries built; largest {}, smallest {}, total {}.",
            built.len(),
            human(*built.iter().max().unwrap_or(&0)),
            human(*built.iter().min().unwrap_or(&0)),
            human(built.iter().sum())
        );
    }
    if let (Some(f), Some(h)) =
        (rows.iter().find(|r| r.0 == opts.function).and_then(|r| r.1), rows.iter().find(|r| r.0 == "hello-lambda").and_then(|r| r.1))
    {
        println!("`{}` is {:.2}× the hello-world lambda_http binary.", opts.function, f as f64 / h as f64);
    }
    println!();
}
