//! `busgate-bench`: Busgate's benchmarks, measured in one run on one machine, each against a
//! hello-world baseline measured in the same run (so the ratios are what to compare between
//! machines, not the absolute numbers).
//!
//! 1. Handler latency per interface, in-process: `busgate_edge::handle` on a signed request
//!    (in-memory store with the demo catalogue), with the Lambda glue's Request → Inbound →
//!    Outbound → Response conversion, vs a hello-world handler doing the same conversion.
//! 2. Local mode requests/s over loopback (seat query, create order) with a bounded number of
//!    concurrent connections, vs a bare hyper hello-world server in the same process.
//! 3. Process start to ready: every function binary against a fake Lambda Runtime API, spawn →
//!    first `GET …/invocation/next` and → first answer, vs `hello-lambda` (a lambda_http
//!    hello-world) and `hello-sdk` (the same plus aws-config, DynamoDB and SQS clients).
//! 4. Store calls (= DynamoDB calls) and queue sends (= SQS calls) per request, per interface.
//! 5. The size of each release binary (and of `target/lambda/*/bootstrap` when packaged), vs
//!    `hello-sdk`.
//!
//! With `--json`, every figure is printed as one JSON object on stdout (the markdown goes to
//! stderr), with issue 16's goals checked under `"goals"`.
//!
//! Run: `cargo build --release --workspace --bins && target/release/busgate-bench [--json]`
//! (`--help` for the knobs). Loopback only; every phase is bounded in count and time.

/// Markdown output: stdout, or stderr under `--json` (stdout then carries the JSON alone).
macro_rules! md {
    ($($t:tt)*) => {
        if $crate::json_mode() { eprintln!($($t)*) } else { println!($($t)*) }
    };
}

mod lambda_start;
mod latency;
mod throughput;

use serde_json::{json, Value};

static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn json_mode() -> bool {
    JSON.load(std::sync::atomic::Ordering::Relaxed)
}

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Knobs (all bounded).
#[derive(Debug, Clone)]
pub struct Options {
    /// Timed calls per interface in the latency phase (order interfaces: per chain).
    pub iterations: usize,
    /// Calls of the hello-world handler.
    pub hello_iterations: usize,
    /// Duration of each throughput measurement (one row of one round).
    pub duration: Duration,
    /// Throughput rounds: each measures every row once, the hyper baseline first.
    pub rounds: usize,
    /// Concurrent client connections in the throughput phase.
    pub concurrency: usize,
    /// Process starts per binary.
    pub starts: usize,
    /// The Cargo target directory (`lambda/*/bootstrap` is looked for there).
    pub target_dir: PathBuf,
    /// Where the binaries are (`<target>/release` unless `--bin-dir`).
    pub bin_dir: PathBuf,
    pub skip: Vec<String>,
    /// Print every figure as one JSON object on stdout (the markdown goes to stderr).
    pub json: bool,
}

fn usage() -> ! {
    eprintln!(
        "busgate-bench [--iterations N] [--secs S] [--rounds R] [--concurrency C] [--starts N] [--target-dir DIR] [--bin-dir DIR] [--skip latency|throughput|start|sizes]... [--json]\n\
         Defaults: 2000 iterations, 5 throughput rounds of 1 s per row, 32 connections, 15 starts, target/ of the workspace, binaries in <target>/release.\n\
         --json: every figure as one JSON object on stdout (the markdown on stderr), with the goals of issue 16 checked."
    );
    std::process::exit(2)
}

fn options() -> Options {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("bench/ is in the workspace").to_path_buf();
    let mut o = Options {
        iterations: 2000,
        hello_iterations: 20_000,
        duration: Duration::from_secs(1),
        rounds: 5,
        concurrency: 32,
        starts: 15,
        target_dir: std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace.join("target")),
        bin_dir: PathBuf::new(),
        skip: Vec::new(),
        json: false,
    };
    let mut bin_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--iterations" => o.iterations = value().parse().unwrap_or_else(|_| usage()),
            "--secs" => o.duration = Duration::from_secs_f64(value().parse().unwrap_or_else(|_| usage())),
            "--rounds" => o.rounds = value().parse().unwrap_or_else(|_| usage()),
            "--concurrency" => o.concurrency = value().parse().unwrap_or_else(|_| usage()),
            "--starts" => o.starts = value().parse().unwrap_or_else(|_| usage()),
            "--target-dir" => o.target_dir = PathBuf::from(value()),
            "--bin-dir" => bin_dir = Some(PathBuf::from(value())),
            "--skip" => o.skip.push(value()),
            "--json" => o.json = true,
            _ => usage(),
        }
    }
    o.bin_dir = bin_dir.unwrap_or_else(|| o.target_dir.join("release"));
    o.iterations = o.iterations.clamp(10, 100_000);
    o.hello_iterations = (o.iterations * 10).clamp(1000, 200_000);
    o.duration = o.duration.clamp(Duration::from_millis(200), Duration::from_secs(30));
    o.concurrency = o.concurrency.clamp(1, 256);
    o.rounds = o.rounds.clamp(1, 50);
    o.starts = o.starts.clamp(1, 100);
    o
}

/// Summary statistics of samples (durations in microseconds; also the throughput rounds' ratios).
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
    JSON.store(opts.json, std::sync::atomic::Ordering::Relaxed);
    let measured_at = chrono::Utc::now();
    md!("# Busgate benchmarks\n");
    md!("Measured {} in one run of `busgate-bench`.\n", measured_at.format("%Y-%m-%d %H:%M UTC"));
    let machine = machine();
    md!("Machine: {machine}\n");
    // Served requests log as `busgate local` logs them (its filter and format), to a file.
    let log_path = std::env::temp_dir().join(format!("busgate-bench-{}.log", std::process::id()));
    busgate_cli::local::init_logging(std::sync::Arc::new(std::fs::File::create(&log_path).expect("the bench's log file")), false);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    let skip = |s: &str| opts.skip.iter().any(|x| x == s);
    let mut report = serde_json::Map::new();
    report.insert("measured_at".into(), json!(measured_at.to_rfc3339()));
    report.insert("machine".into(), json!(machine));
    if !skip("latency") {
        let (hello, handlers) = rt.block_on(latency::run(&opts));
        report.insert("hello_handler".into(), hello);
        report.insert("handlers".into(), handlers);
    }
    if !skip("throughput") {
        report.insert("local".into(), rt.block_on(throughput::run(&opts)));
    }
    if !skip("start") {
        report.insert("start".into(), rt.block_on(lambda_start::run(&opts)));
    }
    if !skip("sizes") {
        report.insert("sizes".into(), sizes(&opts));
    }
    let log = std::fs::read(&log_path).unwrap_or_default();
    let lines = log.iter().filter(|&&b| b == b'\n').count();
    let _ = std::fs::remove_file(&log_path);
    md!(
        "Logging on throughout, as `busgate local` logs (`BUSGATE_LOG`, default `warn,busgate=info`: a line per answered \
         request), to a file: {lines} lines, {} bytes this run.\n",
        log.len()
    );
    report.insert("log".into(), json!({"lines": lines, "bytes": log.len()}));
    let goals = goals(&report);
    print_goals(&goals);
    report.insert("goals".into(), Value::Array(goals));
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&Value::Object(report)).expect("JSON renders"));
    }
}

/// One goal of issue 16's table: the figure, its bound, and whether this run meets it
/// (`null` when the phase it needs was skipped or could not run).
fn goal(what: &str, value: Option<f64>, bound: &str, limit: f64, met: impl Fn(f64, f64) -> bool) -> Value {
    json!({"goal": what, "value": value, "bound": format!("{bound} {limit}"), "met": value.map(|v| met(v, limit))})
}

fn goals(report: &serde_json::Map<String, Value>) -> Vec<Value> {
    let le = |v: f64, l: f64| v <= l;
    let ge = |v: f64, l: f64| v >= l;
    let handler = |name: &str, field: &str| -> Option<f64> {
        report.get("handlers")?.as_array()?.iter().find(|h| h["interface"] == name)?.get(field)?.as_f64()
    };
    let local = |row: &str| report.get("local")?.get(row)?.get("x_hyper")?.as_f64();
    let mut out = vec![
        goal("DynamoDB calls per create order, warm (median)", handler("orders-create", "store_calls_median"), "<=", 1.0, le),
        goal("DynamoDB calls per create order, cold (max)", handler("orders-create", "store_calls_max"), "<=", 2.0, le),
        goal("DynamoDB calls per confirm (max)", handler("orders-confirm", "store_calls_max"), "<=", 2.0, le),
        goal("DynamoDB calls per refunds-apply (max)", handler("refunds-apply", "store_calls_max"), "<=", 2.0, le),
        goal("local mode create order requests/s x hyper hello", local("create_order"), ">=", 0.10, ge),
        goal("local mode seat query requests/s x hyper hello", local("seat_query"), ">=", 0.5, ge),
        goal(
            "lines handler median x seats handler median",
            handler("lines", "median_us").zip(handler("seats", "median_us")).map(|(l, s)| l / s),
            "<=",
            5.0,
            le,
        ),
    ];
    let start = report.get("start").and_then(|s| s.get("binaries")).and_then(Value::as_array);
    let worst_start =
        start.and_then(|rows| rows.iter().filter(|r| r["http"] == true).filter_map(|r| r["first_response_x_hello_sdk"].as_f64()).reduce(f64::max));
    out.push(goal("HTTP function start to first answer x hello-sdk (worst function)", worst_start, "<=", 1.0, le));
    let sizes = report.get("sizes").and_then(|s| s.get("binaries")).and_then(Value::as_array);
    for (arch, field) in [("x86_64", "host_x_hello_sdk"), ("arm64 bundle", "bootstrap_x_hello_sdk")] {
        let worst = sizes.and_then(|rows| rows.iter().filter(|r| r["function"] == true).filter_map(|r| r[field].as_f64()).reduce(f64::max));
        out.push(goal(&format!("release binary size x hello-sdk, {arch} (largest function)"), worst, "<=", 1.0, le));
    }
    out
}

fn print_goals(goals: &[Value]) {
    md!("## Goals (issue 16)\n");
    md!("| goal | this run | bound | met |");
    md!("|---|---:|---|---|");
    for g in goals {
        let value = g["value"].as_f64().map(|v| format!("{v:.3}")).unwrap_or_else(|| "not measured".into());
        let met = match g["met"].as_bool() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        md!("| {} | {value} | {} | {met} |", g["goal"].as_str().unwrap_or_default(), g["bound"].as_str().unwrap_or_default());
    }
    md!();
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

/// `hello-sdk` as issue 16 defines the baseline (LTO, opt-level 3: `cargo build --profile
/// baseline -p busgate-bench --bin hello-sdk`), if built; the goals are measured against it.
/// `target/release/hello-sdk` (the functions' own profile) is shown beside it.
pub fn baseline_hello_sdk(opts: &Options) -> Option<PathBuf> {
    Some(opts.target_dir.join("baseline").join("hello-sdk")).filter(|p| p.exists())
}

/// The function crates (`functions/<name>`), sorted.
pub fn function_names() -> Vec<String> {
    let functions_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    let mut names: Vec<String> = std::fs::read_dir(&functions_dir)
        .map(|d| d.filter_map(|e| e.ok()).filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// 5. Release binary sizes, each function against `hello-sdk` (and `hello-lambda`).
fn sizes(opts: &Options) -> Value {
    md!("## 5. Release binary sizes\n");
    let names = function_names();
    let release = &opts.bin_dir;
    let size = |p: PathBuf| std::fs::metadata(p).ok().map(|m| m.len());
    let host = |name: &str| size(release.join(name));
    let bootstrap = |name: &str| size(opts.target_dir.join("lambda").join(name).join("bootstrap"));
    let baseline = baseline_hello_sdk(opts);
    let (sdk_host, sdk_boot) = (baseline.clone().and_then(size).or_else(|| host("hello-sdk")), bootstrap("hello-sdk"));
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let shown_dir = opts.bin_dir.strip_prefix(workspace).unwrap_or(&opts.bin_dir).display().to_string();
    let lambda_arch = names.iter().find_map(|n| elf_arch(&opts.target_dir.join("lambda").join(n).join("bootstrap"))).unwrap_or("packaged");
    let host_arch = names.iter().find_map(|n| elf_arch(&release.join(n))).unwrap_or(std::env::consts::ARCH);
    md!(
        "Baseline `hello-sdk` {}: {} on {host_arch}; in the {lambda_arch} bundle: {}. The release profile's `hello-sdk` is listed below too.\n",
        if baseline.is_some() {
            "(issue 16's definition: LTO, opt-level 3, `target/baseline/hello-sdk`)"
        } else {
            "(the release profile: `target/baseline/hello-sdk` not built)"
        },
        show(sdk_host),
        show(sdk_boot)
    );
    md!("| binary | {shown_dir}/<name> ({host_arch}) | × hello-sdk | target/lambda/<name>/bootstrap ({lambda_arch}) | × hello-sdk |");
    md!("|---|---:|---:|---:|---:|");
    let ratio = |v: Option<u64>, base: Option<u64>| v.zip(base).map(|(v, b)| v as f64 / b as f64);
    let shown_ratio = |r: Option<f64>| r.map(|r| format!("{r:.2}×")).unwrap_or_else(|| "–".into());
    let mut rows = Vec::new();
    for name in names.iter().map(String::as_str).chain(["busgate", "hello-lambda", "hello-sdk", "busgate-bench"]) {
        let (h, b) = (host(name), bootstrap(name));
        let (hx, bx) = (ratio(h, sdk_host), ratio(b, sdk_boot));
        md!("| {name} | {} | {} | {} | {} |", show(h), shown_ratio(hx), show(b), shown_ratio(bx));
        rows.push(json!({
            "binary": name, "function": names.iter().any(|n| n == name),
            "host_bytes": h, "host_x_hello_sdk": hx, "bootstrap_bytes": b, "bootstrap_x_hello_sdk": bx,
        }));
    }
    let built: Vec<u64> = names.iter().filter_map(|n| host(n)).collect();
    if !built.is_empty() {
        md!(
            "\n{} function binaries built; largest {}, smallest {}, total {}.",
            built.len(),
            human(*built.iter().max().unwrap_or(&0)),
            human(*built.iter().min().unwrap_or(&0)),
            human(built.iter().sum())
        );
    }
    md!();
    json!({
        "host_arch": host_arch, "bundle_arch": lambda_arch, "baseline": if baseline.is_some() { "hello-sdk, LTO, opt-level 3" } else { "hello-sdk, release profile" },
        "hello_sdk_host_bytes": sdk_host, "hello_sdk_bootstrap_bytes": sdk_boot, "binaries": rows,
    })
}

fn show(v: Option<u64>) -> String {
    v.map(|b| format!("{} ({b} B)", human(b))).unwrap_or_else(|| "not built".into())
}
